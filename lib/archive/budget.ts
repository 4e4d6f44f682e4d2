export interface BudgetInputs {
  /** The configured budget (ARCHIVE_TIME_BUDGET_MS) or the invocation's override. */
  readonly timeBudgetMs: number;
  /** What the Lambda runtime says is left of the invocation, when known. */
  readonly remainingMs: number | undefined;
  /** Kept free before the timeout for the final count, the report and the metrics flush. */
  readonly safetyMarginMs: number;
}

export interface RunBudget {
  /** Work stops being started after this. */
  readonly timeBudgetMs: number;
  /** The lease outlives the whole invocation, so a run killed at its timeout is never overlapped. */
  readonly leaseMs: number;
}

const LEASE_SLACK_MS = 60_000;

/** The run's effective budget: the configured one, but always well inside the Lambda timeout. */
export function planRunBudget(inputs: BudgetInputs): RunBudget {
  const ceiling =
    inputs.remainingMs === undefined ? Number.POSITIVE_INFINITY : inputs.remainingMs - inputs.safetyMarginMs;
  const timeBudgetMs = Math.max(0, Math.min(inputs.timeBudgetMs, ceiling));
  const lasts = inputs.remainingMs ?? inputs.timeBudgetMs + inputs.safetyMarginMs;
  return { timeBudgetMs, leaseMs: lasts + LEASE_SLACK_MS };
}
