import t from 'tap';
import { FACTOR_MAX, FACTOR_MIN, FACTOR_ONE, SCORE_ONE, reputationFactor, votingPower } from '../src/reputation/factor.ts';
import { AppError } from '../src/errors.ts';
import { Rng } from './helpers/rng.ts';

t.test('exact values of the curve (the table in factor.ts)', async (t) => {
  const rows: [score: bigint, factor: bigint][] = [
    [-5_000_000n, 500_000n], // negative scores count as 0
    [0n, 500_000n],
    [1n, 500_000n], // 1/2 + 1e-6/2, floored
    [2n, 500_001n],
    [250_000n, 625_000n],
    [500_000n, 750_000n],
    [999_999n, 999_999n], // 500000 + 999999/2 = 999999.5 -> floor
    [1_000_000n, 1_000_000n], // neutral
    [1_000_001n, 1_000_000n], // 1 + 1/2000001 of a millionth: floors to neutral
    [2_000_000n, 1_333_333n], // 1 + 1/3
    [3_000_000n, 1_500_000n], // 1 + 2/4
    [5_000_000n, 1_666_666n], // 1 + 4/6
    [9_000_000n, 1_800_000n], // 1 + 8/10
    [19_000_000n, 1_900_000n], // 1 + 18/20
    [10n ** 30n, 1_999_999n], // saturates below 2
  ];
  for (const [score, factor] of rows) t.equal(reputationFactor(score), factor, `factor(${score})`);
});

t.test('bounds and neutral point', async (t) => {
  t.equal(FACTOR_MIN, FACTOR_ONE / 2n);
  t.equal(FACTOR_MAX, 2n * FACTOR_ONE);
  t.equal(reputationFactor(SCORE_ONE), FACTOR_ONE, 'a new validator has the neutral factor');
  const rng = new Rng(7);
  for (let i = 0; i < 2000; i++) {
    const score = rng.bigint(-(10n ** 7n), 10n ** 12n);
    const f = reputationFactor(score);
    if (f < FACTOR_MIN || f >= FACTOR_MAX) t.fail(`factor(${score}) = ${f} out of [1/2, 2)`);
  }
  t.pass('2000 random scores within [FACTOR_ONE/2, 2*FACTOR_ONE)');
});

t.test('monotone non-decreasing over a range (dense near the neutral point, sparse above)', async (t) => {
  let prev = reputationFactor(-1n);
  let violations = 0;
  for (let s = 0n; s <= 3n * SCORE_ONE; s += 997n) {
    const f = reputationFactor(s);
    if (f < prev) violations++;
    prev = f;
  }
  for (let s = 3n * SCORE_ONE; s <= 10n ** 10n; s += 99_991n * 37n) {
    const f = reputationFactor(s);
    if (f < prev) violations++;
    prev = f;
  }
  t.equal(violations, 0);
  // the curve is strictly increasing on [0, 3] at this resolution
  t.ok(reputationFactor(1_500_000n) > reputationFactor(1_000_000n));
  t.ok(reputationFactor(1_000_000n) > reputationFactor(500_000n));
});

t.test('votingPower = stake x factor / FACTOR_ONE, floored', async (t) => {
  const rows: [stake: bigint, score: bigint, power: bigint][] = [
    [1_000_000n, SCORE_ONE, 1_000_000n],
    [1_000_000n, 0n, 500_000n],
    [1_000_000n, 3_000_000n, 1_500_000n],
    [3n, 2_000_000n, 3n], // 3 x 1.333333 = 3.999999 -> 3
    [1n, 0n, 0n], // a single uacc at the worst score floors to zero
    [2n, 0n, 1n],
    [0n, 5_000_000n, 0n],
    [10n ** 15n, 10n ** 30n, (10n ** 15n * 1_999_999n) / 1_000_000n],
  ];
  for (const [stake, score, power] of rows) t.equal(votingPower(stake, score), power, `votingPower(${stake}, ${score})`);
  t.throws(() => votingPower(-1n, SCORE_ONE), AppError);
});
