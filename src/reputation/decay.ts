// Exponential decay of reputation, exactly and deterministically in integer arithmetic (no floating point):
//
//   decay(value, elapsed, halfLife) = value x 2^(-elapsed / halfLife), rounded toward zero.
//
// elapsed = n x halfLife + r with 0 <= r < halfLife. The fraction f = r / halfLife is expanded into FRACTION_BITS
// binary digits by exact long division (f = sum of b_i 2^-i, the rest below 2^-FRACTION_BITS is dropped), and
//   2^(-f) = product over the set bits of 2^(-2^-i),
// each constant 2^(-2^-i) held at SCALE_BITS of precision (computed once below by repeated integer square roots from
// 1/2, so there is no table to mistype). The whole half-lives are then a shift: the multiplier M ~ 2^(-f) x 2^SCALE,
// and the result is sign(value) x ((|value| x M) >> (SCALE_BITS + n)): one truncation of the magnitude, so the
// rounding is toward zero and symmetric (decay(-v) = -decay(v)): a penalty decays exactly as a gain of the same size.
//
// Accuracy: M is within 2^-75 (relative) of the true 2^(-f) (the dropped fraction bits cost < ln2 x 2^-80, the floored
// constants and products < 2^-150), so for any |value| < 2^64 the result differs from the exact real value by less
// than one unit, and equals its truncation unless that value lies within |value| x 2^-75 above an integer. At a whole
// number of half-lives M is exactly 2^SCALE_BITS, so decay(v, n x halfLife) = sign(v) x (|v| >> n) exactly. The result
// is non-increasing in elapsed (in magnitude): distinct fractions differ by far more than the rounding error.
import { AppError } from '../errors.ts';

/** Binary digits of the fraction of a half-life that are used (the rest is below 2^-80 of a half-life). */
export const FRACTION_BITS = 80;
/** Precision of the constants and the multiplier: 2^-SCALE_BITS. */
export const SCALE_BITS = 160;
const GUARD_BITS = 32;

/** Floor of the square root of a non-negative bigint (Newton's method, exact). */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new AppError('INTERNAL', `isqrt of a negative number ${n}`);
  if (n < 2n) return n;
  // Start above the root: 2^ceil(bits/2) >= sqrt(n); Newton's iterates then decrease monotonically to the floor.
  let x = 1n << BigInt((n.toString(2).length + 1) >> 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** HALF_POWERS[i] = floor-ish 2^(-2^-i) x 2^SCALE_BITS for i = 1..FRACTION_BITS (index 0 unused: 1/2). */
const HALF_POWERS: readonly bigint[] = (() => {
  const g = BigInt(SCALE_BITS + GUARD_BITS);
  const out: bigint[] = [];
  let c = 1n << (g - 1n); // 2^-1 at scale 2^g
  out.push(c >> BigInt(GUARD_BITS));
  for (let i = 1; i <= FRACTION_BITS; i++) {
    // 2^(-2^-i) = sqrt(2^(-2^-(i-1))); each floor loses < 1 unit at scale 2^g, and errors shrink through the root.
    c = isqrt(c << g);
    out.push(c >> BigInt(GUARD_BITS));
  }
  return out;
})();

/** 2^(-r / halfLife) x 2^SCALE_BITS for 0 <= r < halfLife (rounded down at each step; see the header for bounds). */
export function fractionMultiplier(r: bigint, halfLife: bigint): bigint {
  if (halfLife <= 0n) throw new AppError('INTERNAL', `decay needs a positive half-life, got ${halfLife}; set reputation.half_life_seconds above 0`);
  if (r < 0n || r >= halfLife) throw new AppError('INTERNAL', `fraction remainder ${r} must be in [0, ${halfLife})`);
  const scale = BigInt(SCALE_BITS);
  let m = 1n << scale;
  let rem = r;
  for (let i = 1; i <= FRACTION_BITS && rem !== 0n; i++) {
    rem <<= 1n;
    if (rem >= halfLife) {
      rem -= halfLife;
      m = (m * HALF_POWERS[i]) >> scale;
    }
  }
  return m;
}

/**
 * value x 2^(-elapsed / halfLife), rounded toward zero (symmetric for negative values). `elapsed` and `halfLife` are in
 * one unit (ns in the state machine). elapsed <= 0 leaves the value unchanged (time never runs backwards on chain;
 * a reader asking about an earlier time gets the stored value).
 */
export function decay(value: bigint, elapsed: bigint, halfLife: bigint): bigint {
  if (halfLife <= 0n) throw new AppError('INTERNAL', `decay needs a positive half-life, got ${halfLife}; set reputation.half_life_seconds above 0`);
  if (value === 0n || elapsed <= 0n) return value;
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const n = elapsed / halfLife;
  // Past its bit length in halvings, any magnitude is below one unit: 0, without the arithmetic.
  if (n >= BigInt(magnitude.toString(2).length)) return 0n;
  const m = fractionMultiplier(elapsed % halfLife, halfLife);
  const out = (magnitude * m) >> (BigInt(SCALE_BITS) + n);
  return negative ? -out : out;
}
