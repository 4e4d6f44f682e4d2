import { planRunBudget } from './budget';

describe('run budget', () => {
  it('keeps the configured budget when the Lambda has time to spare', () => {
    expect(planRunBudget({ timeBudgetMs: 600_000, remainingMs: 900_000, safetyMarginMs: 60_000 })).toEqual({
      timeBudgetMs: 600_000,
      leaseMs: 960_000,
    });
  });

  it('stays inside the Lambda timeout, minus the safety margin, whatever the configuration says', () => {
    expect(
      planRunBudget({ timeBudgetMs: 600_000, remainingMs: 300_000, safetyMarginMs: 60_000 }).timeBudgetMs,
    ).toBe(240_000);
    expect(
      planRunBudget({ timeBudgetMs: 600_000, remainingMs: 30_000, safetyMarginMs: 60_000 }).timeBudgetMs,
    ).toBe(0);
  });

  it('holds the lease past the budget when the remaining time is unknown', () => {
    expect(planRunBudget({ timeBudgetMs: 100_000, remainingMs: undefined, safetyMarginMs: 10_000 })).toEqual({
      timeBudgetMs: 100_000,
      leaseMs: 170_000,
    });
  });
});
