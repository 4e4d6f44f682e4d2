import type { ArchiveRules, ArchiveTypeRule } from '../config/archive';

const DAY_MS = 86_400_000;

/** The rule that decides for one saga type: its override, else the default. */
export function ruleFor(rules: ArchiveRules, sagaType: string): ArchiveTypeRule {
  return Object.hasOwn(rules.byType, sagaType)
    ? (rules.byType[sagaType] ?? rules.defaultRule)
    : rules.defaultRule;
}

/** Sagas of a rule whose last update is before this instant are past their hot retention. */
export function cutoffFor(rule: ArchiveTypeRule, now: number): Date {
  return new Date(now - rule.retentionDays * DAY_MS);
}

export interface SagaForEligibility {
  readonly sagaType: string;
  readonly currentStatus: string;
  readonly updatedAt: Date;
}

/** Whether a saga leaves PostgreSQL now: an archivable status, last updated before its type's cutoff. */
export function isEligible(saga: SagaForEligibility, rules: ArchiveRules, now: number): boolean {
  const rule = ruleFor(rules, saga.sagaType);
  return (
    (rule.statuses as readonly string[]).includes(saga.currentStatus) &&
    saga.updatedAt.getTime() < cutoffFor(rule, now).getTime()
  );
}

/**
 * The same decision as `isEligible`, shaped for one set-based query: per type
 * cutoffs and statuses, the default for every other type, and the latest
 * cutoff of all so the query can range-scan `updated_at`.
 */
export interface EligibilityCriteria {
  readonly typeRules: ReadonlyArray<{ saga_type: string; cutoff: string; statuses: readonly string[] }>;
  readonly defaultCutoff: string;
  readonly defaultStatuses: readonly string[];
  readonly latestCutoff: string;
  /** Restricts a run to these saga types (an operator's override); undefined = all. */
  readonly sagaTypes: readonly string[] | undefined;
}

export function eligibilityCriteria(
  rules: ArchiveRules,
  now: number,
  sagaTypes?: readonly string[],
): EligibilityCriteria {
  const defaultCutoff = cutoffFor(rules.defaultRule, now);
  const typeRules = Object.entries(rules.byType).map(([sagaType, rule]) => ({
    saga_type: sagaType,
    cutoff: cutoffFor(rule, now).toISOString(),
    statuses: rule.statuses,
  }));
  const latest = Math.max(defaultCutoff.getTime(), ...typeRules.map((rule) => Date.parse(rule.cutoff)));
  return {
    typeRules,
    defaultCutoff: defaultCutoff.toISOString(),
    defaultStatuses: rules.defaultRule.statuses,
    latestCutoff: new Date(latest).toISOString(),
    sagaTypes: sagaTypes && sagaTypes.length > 0 ? [...new Set(sagaTypes)] : undefined,
  };
}
