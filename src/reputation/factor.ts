// The validator reputation factor: how a validator's reputation scales its stake into voting power
// (DESIGN.md section 1: voting power = stake x reputation). Defined here once; consensus, staking and the RPC all use it.
//
// Integer fixed point throughout, no floating point: a score and a factor are both scaled by 1,000,000.
//   SCORE_ONE  = 1_000_000n  the neutral score, what a new validator has; 0 is the worst; unbounded above.
//   FACTOR_ONE = 1_000_000n  the neutral factor: power = stake.
//
// The curve (s = score / SCORE_ONE, f = factor / FACTOR_ONE):
//   s <= 0      f = 1/2                        (a negative score is treated as 0)
//   0 <= s <= 1 f = 1/2 + s/2                  linear from 1/2 up to the neutral point
//   s >= 1      f = 1 + (s - 1) / (s + 1)      rational, saturating towards 2 and never reaching it
// Both pieces meet at s = 1 with f = 1 and the same slope 1/2 (d/ds of (s-1)/(s+1) at 1 is 2/(s+1)^2 = 1/2), so the
// curve has no kink at the neutral point. It is strictly increasing on [0, inf); the integer version (floor at each
// division) is monotone non-decreasing and stays within [FACTOR_ONE/2, 2*FACTOR_ONE), so no validator's factor is
// ever zero and no reputation more than doubles a stake.
//
//   score (x1e6)   factor (x1e6)
//   0              0.500000
//   0.25           0.625000
//   0.5            0.750000
//   1   (neutral)  1.000000
//   2              1.333333
//   3              1.500000
//   5              1.666666
//   9              1.800000
//   19             1.900000
//   -> infinity    -> 2 (exclusive)
import { AppError } from '../errors.ts';

export const FACTOR_ONE = 1_000_000n;
export const SCORE_ONE = 1_000_000n;
export const FACTOR_MIN = FACTOR_ONE / 2n;
export const FACTOR_MAX = 2n * FACTOR_ONE;

/** The reputation factor (fixed point, FACTOR_ONE = 1) of a validator-reputation score (fixed point, SCORE_ONE = 1). */
export function reputationFactor(score: bigint): bigint {
  if (score <= 0n) return FACTOR_MIN;
  if (score <= SCORE_ONE) {
    // 1/2 + s/2
    return FACTOR_MIN + (score * FACTOR_ONE) / (2n * SCORE_ONE);
  }
  // 1 + (s - 1)/(s + 1) = 1 + x / (x + 2) with x = s - 1
  const x = score - SCORE_ONE;
  return FACTOR_ONE + (FACTOR_ONE * x) / (x + 2n * SCORE_ONE);
}

/**
 * Voting power of a validator: stake (in uacc) x reputation factor, rounded down. A non-zero stake can still floor to
 * zero power only when it is a single uacc; callers that need a validator to keep at least one unit of power check that.
 */
export function votingPower(stake: bigint, score: bigint): bigint {
  if (stake < 0n) throw new AppError('INVALID_AMOUNT', `stake must not be negative, got ${stake}`);
  return (stake * reputationFactor(score)) / FACTOR_ONE;
}
