import { loadConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics';
import { Budget, RateLimiter, slidingWait } from './rate-limiter';

const MINUTE = 60_000;
const budget = (limit: number, subject = 'key:a'): Budget => ({ subject, limit, windowMs: MINUTE });

describe('slidingWait (the two-bucket sliding window)', () => {
  it('lets one more through while the weighted count has room', () => {
    expect(slidingWait(3, MINUTE, 0, 2, 0)).toBe(0);
    expect(slidingWait(3, MINUTE, 30_000, 0, 4)).toBe(0); // 4 × ½ = 2, +1 fits
  });

  it('refuses at a window boundary after a full previous window, and says when the previous one has slid out enough', () => {
    expect(slidingWait(3, MINUTE, 1, 0, 3)).toBe(20_000 - 1); // 3 × (1 − t) + 1 ≤ 3 from t = ⅓
    expect(slidingWait(3, MINUTE, 0, 3, 0)).toBe(80_000); // next window, then a third of it
  });
});

describe('RateLimiter in memory', () => {
  let now = 0;
  const limiter = new RateLimiter(loadConfig({}), new Metrics(), () => now);
  const allowed = async (budgets: Budget[], times: number): Promise<number> => {
    let count = 0;
    for (let i = 0; i < times; i++) if ((await limiter.consume(budgets)).allowed) count++;
    return count;
  };

  it('no burst of twice the limit across a window boundary', async () => {
    now = 59_000;
    expect(await allowed([budget(3, 'key:b')], 5)).toBe(3);
    now = 60_001; // a fixed window would start afresh here
    expect(await allowed([budget(3, 'key:b')], 5)).toBe(0);
    now = 90_000; // half of the previous window slid out: 1.5 counted
    expect(await allowed([budget(3, 'key:b')], 5)).toBe(1);
    now = 180_000; // two windows later: all forgotten
    expect(await allowed([budget(3, 'key:b')], 5)).toBe(3);
  });

  it('all budgets or none: a refusal by one counts in no other', async () => {
    now = 1_000_000 * MINUTE;
    const user = budget(4, 'user:u');
    expect(await allowed([budget(2, 'key:c'), user], 3)).toBe(2);
    expect(await allowed([budget(2, 'key:d'), user], 3)).toBe(2);
    expect(await allowed([budget(2, 'key:e'), user], 3)).toBe(0); // the user's ceiling
    const refused = await limiter.consume([budget(2, 'key:e'), user]);
    expect(refused.retryAfterS).toBeGreaterThanOrEqual(1);
    expect(await allowed([budget(2, 'key:e')], 3)).toBe(2); // key:e was never counted
  });
});
