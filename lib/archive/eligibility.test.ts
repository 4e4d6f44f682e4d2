import { cutoffFor, eligibilityCriteria, isEligible, ruleFor } from './eligibility';

const NOW = Date.UTC(2026, 9, 1);
const DAY = 86_400_000;
const rules = {
  defaultRule: { retentionDays: 90, statuses: ['COMPLETED', 'COMPENSATED', 'FAILED'] as const },
  byType: { PAYMENT_COMPLETION: { retentionDays: 30, statuses: ['COMPLETED'] as const } },
};

describe('archive eligibility', () => {
  it('takes terminal sagas whose last update is older than the retention', () => {
    const saga = {
      sagaType: 'ORDER_CREATION',
      currentStatus: 'COMPLETED',
      updatedAt: new Date(NOW - 90 * DAY - 1),
    };
    expect(isEligible(saga, rules, NOW)).toBe(true);
    expect(isEligible({ ...saga, updatedAt: new Date(NOW - 90 * DAY) }, rules, NOW)).toBe(false);
    expect(isEligible({ ...saga, currentStatus: 'IN_PROGRESS' }, rules, NOW)).toBe(false);
  });

  it('applies a saga type its own retention and statuses', () => {
    const payment = {
      sagaType: 'PAYMENT_COMPLETION',
      currentStatus: 'COMPLETED',
      updatedAt: new Date(NOW - 31 * DAY),
    };
    expect(isEligible(payment, rules, NOW)).toBe(true);
    expect(isEligible({ ...payment, currentStatus: 'FAILED' }, rules, NOW)).toBe(false);
    expect(ruleFor(rules, 'constructor')).toBe(rules.defaultRule);
  });

  it('shapes the rules for one query, with the latest cutoff to range-scan on', () => {
    const criteria = eligibilityCriteria(rules, NOW, ['ORDER_CREATION', 'ORDER_CREATION']);
    expect(criteria).toEqual({
      typeRules: [
        {
          saga_type: 'PAYMENT_COMPLETION',
          cutoff: new Date(NOW - 30 * DAY).toISOString(),
          statuses: ['COMPLETED'],
        },
      ],
      defaultCutoff: cutoffFor(rules.defaultRule, NOW).toISOString(),
      defaultStatuses: ['COMPLETED', 'COMPENSATED', 'FAILED'],
      latestCutoff: new Date(NOW - 30 * DAY).toISOString(),
      sagaTypes: ['ORDER_CREATION'],
    });
  });
});
