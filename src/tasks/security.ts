// Committee security figure (issue 7, item 9): the probability that an adversary captures a review committee.
//
// The committee. A task result is reviewed by a committee of k agents drawn at random, weighted by review
// reputation, without replacement; it is approved when at least 2/3 of the committee's revealed votes approve
// (DESIGN.md section 4: 10 to 100 members, approval needs 2/3). The tasks module's committee-size parameter
// (minimum 10, growing with the bounty up to 100) is chosen with this figure: `agentcluster simulate --committee`
// prints it, and `smallestSafeCommittee` answers "how large must k be for this share and this risk".
//
// Capture. The adversary holds a share s of the total review weight (every agent it controls, pooled). It captures
// the committee when it holds at least t = ceil(2k/3) of the k seats: its t votes are then at least 2/3 of any set
// of revealed votes that contains them, so it alone decides the outcome (it can approve a bad result against every
// honest vote, and reject a good one). Nothing here needs the honest members: the figure counts seats only.
//
// The two models (s is given in basis points, 0..10,000, so that everything is exact rational arithmetic):
//   (a) infinite population: every seat is adversarial independently with probability s, so the adversarial seats X
//       follow Binomial(k, s) and
//         P = sum_{j=t..k} C(k,j) s^j (1-s)^(k-j).
//       This is the limit of (b) when every member's weight is negligible against the total.
//   (b) finite population: N equally weighted members, a = round(s N) (half up) of them adversarial, k drawn without
//       replacement, so X follows Hypergeometric(N, a, k) and
//         P = sum_{j=t..min(k,a)} C(a,j) C(N-a,k-j) / C(N,k).
//       Drawing without replacement concentrates X around its mean, so (b) is usually below (a) for s < 2/3; both
//       agree to within k(k-1)/(2N) (the chance that k draws with replacement repeat a member).
// Both are computed exactly with bigint rationals (no floating point); `formatProbability` prints one in scientific
// notation, its digits derived from the exact fraction.
//
// Assumptions, and what the figure does not cover:
//   - Weights. The models treat review weight as divisible (a) or equal per member (b). With unequal weights and
//     sampling without replacement, drawing a heavy honest member removes its weight from the pool and raises the
//     adversary's share for the next seats: if no honest member holds more than a share w of the weight, each seat
//     is adversarial with probability at most s / (1 - (k-1) w), and the binomial figure at that share bounds the
//     capture probability. So the tasks module should cap a member's selection weight (w << 1/k), or use that
//     inflated share when it picks k. The bound holds however the adversary splits its own weight (many small
//     identities are its best play: its drawn members then remove little of its weight).
//   - Independence. Selection is assumed independent of the adversary: the randomness comes from the chain's beacon
//     and the adversary cannot bias it (a proposer can only withhold a block), nor re-draw committees until it wins.
//     Over many tasks the adversary captures about (number of tasks) x P committees: pick P for the whole horizon.
//   - Non-revealing members. Approval counts revealed votes only. The figure assumes every honest member reveals;
//     an honest member that does not reveal lowers the seats the adversary needs (2/3 of the revealed votes), so the
//     real risk is higher when honest members go silent, which the tasks module must penalise.
//   - Capture is full control. Blocking needs fewer seats: floor(k/3) + 1 adversarial seats deny the 2/3 approval
//     (a liveness attack on good results, answered by disputes); that is a different, larger probability.
//   - Non-monotone in k. t/k is exactly 2/3 for k = 3m and above it otherwise, so P(k) is not monotone: P(3m+3) >
//     P(3m+2) always (same threshold 2m+2, one more draw), e.g. 1.760e-2 for k = 12 against 8.243e-3 for k = 11 at
//     s = 33%. Within each residue class of k mod 3 it falls as k grows when s < 1/2, and a size k = 3m+2 is the
//     safest of its neighbours (checked for every s up to 66% in steps of 0.25% and k up to 101), a multiple of 3
//     the weakest. Hence `smallestSafeCommitteeFrom`, the size from which every larger one is safe too.
import { AppError } from '../errors.ts';

/** 10,000 basis points = 100% (the scale of `BPS` in src/state/params.ts). */
export const BPS_ONE = 10_000n;

/** An exact probability: num / den, reduced, with den > 0 and 0 <= num <= den. */
export interface Fraction {
  num: bigint;
  den: bigint;
}

export const ZERO: Fraction = { num: 0n, den: 1n };
export const ONE: Fraction = { num: 1n, den: 1n };

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** num / den, reduced. */
export function fraction(num: bigint, den: bigint): Fraction {
  if (den <= 0n) throw new AppError('INVALID_FIELD', `a fraction's denominator must be positive, got ${den}`);
  const g = gcd(num, den);
  return g <= 1n ? { num, den } : { num: num / g, den: den / g };
}

/** -1, 0 or 1 as x <, =, > y. */
export function compareFractions(x: Fraction, y: Fraction): number {
  const l = x.num * y.den;
  const r = y.num * x.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

function checkSize(name: string, k: number, min: number): void {
  if (!Number.isSafeInteger(k) || k < min) throw new AppError('INVALID_FIELD', `${name} must be an integer >= ${min}, got ${k}`);
}

function checkShare(sBps: bigint): void {
  if (sBps < 0n || sBps > BPS_ONE) throw new AppError('INVALID_FIELD', `the adversary's share must be 0..10000 bps, got ${sBps}`);
}

/** Seats the adversary needs to decide a committee of k alone: ceil(2k/3). */
export function captureThreshold(k: number): number {
  checkSize('the committee size', k, 1);
  return Math.ceil((2 * k) / 3); // exact: 2k < 2^54 and the division by 3 of a safe integer rounds correctly
}

/** C(n, r) exactly; 0 when r < 0 or r > n. */
export function binomial(n: bigint, r: bigint): bigint {
  if (r < 0n || r > n) return 0n;
  const rr = r > n - r ? n - r : r;
  let c = 1n;
  for (let i = 1n; i <= rr; i++) c = (c * (n - rr + i)) / i; // exact: c * (n-rr+i) is C(n-rr+i, i) * i
  return c;
}

/**
 * Model (a), infinite population: P(Binomial(k, s) >= ceil(2k/3)) with s = sBps / 10,000, exactly.
 * num = sum_{j=t..k} C(k,j) sBps^j (10000-sBps)^(k-j), den = 10000^k, then reduced.
 */
export function captureProbability(sBps: bigint, k: number): Fraction {
  checkShare(sBps);
  const t = captureThreshold(k);
  const K = BigInt(k);
  const h = BPS_ONE - sBps;
  let num = 0n;
  let c = binomial(K, BigInt(t)); // C(k, j), updated as j grows
  for (let j = BigInt(t); j <= K; j++) {
    num += c * sBps ** j * h ** (K - j);
    c = (c * (K - j)) / (j + 1n);
  }
  return fraction(num, BPS_ONE ** K);
}

/** The adversarial members of a population of N equally weighted ones: round(s N), half up. */
export function adversarialMembers(sBps: bigint, population: number): number {
  checkShare(sBps);
  checkSize('the population', population, 1);
  return Number((sBps * BigInt(population) + BPS_ONE / 2n) / BPS_ONE);
}

/**
 * Model (b), finite population: N equally weighted members, a = round(s N) adversarial, k drawn without replacement;
 * P(Hypergeometric(N, a, k) >= ceil(2k/3)) exactly. Needs k <= N.
 */
export function captureProbabilityFinite(sBps: bigint, k: number, population: number): Fraction {
  const t = captureThreshold(k);
  const a = adversarialMembers(sBps, population);
  if (k > population) throw new AppError('INVALID_FIELD', `a committee of ${k} cannot be drawn from a population of ${population}; use a population of at least ${k}`);
  const N = BigInt(population);
  const A = BigInt(a);
  const K = BigInt(k);
  const B = N - A;
  let num = 0n;
  let ca = binomial(A, BigInt(t)); // C(a, j), updated as j grows
  let cb = binomial(B, K - BigInt(t)); // C(N-a, k-j)
  for (let j = BigInt(t); j <= K && j <= A; j++) {
    num += ca * cb;
    ca = (ca * (A - j)) / (j + 1n); // C(a, j+1), exact
    // C(N-a, k-j-1), exact; while k-j > N-a the coefficient is 0 and cannot be stepped, so compute it afresh
    cb = cb === 0n ? binomial(B, K - j - 1n) : (cb * (K - j)) / (B - K + j + 1n);
  }
  return fraction(num, binomial(N, K));
}

function checkSearch(target: Fraction, min: number, max: number): void {
  checkSize('min', min, 1);
  checkSize('max', max, 1);
  if (target.den <= 0n || target.num < 0n) throw new AppError('INVALID_FIELD', `the target probability must be a non-negative fraction, got ${target.num}/${target.den}`);
}

function modelProbability(sBps: bigint, k: number, population: number | undefined): Fraction {
  return population === undefined ? captureProbability(sBps, k) : captureProbabilityFinite(sBps, k, population);
}

/**
 * The smallest committee size k in [min, max] whose capture probability (model (a), or model (b) when a population
 * is given) is at most `target`; null if none is. P is not monotone in k (see the header): a larger k can be above
 * the target again; `smallestSafeCommitteeFrom` gives the size from which every larger one is safe.
 */
export function smallestSafeCommittee(sBps: bigint, target: Fraction, min = 10, max = 100, population?: number): number | null {
  checkSearch(target, min, max);
  for (let k = min; k <= max && (population === undefined || k <= population); k++) {
    if (compareFractions(modelProbability(sBps, k, population), target) <= 0) return k;
  }
  return null;
}

/**
 * The smallest k in [min, max] such that every size in [k, max] has a capture probability of at most `target`; null
 * if max itself is above it. This is the floor to give a committee size that grows (with the bounty) up to max.
 */
export function smallestSafeCommitteeFrom(sBps: bigint, target: Fraction, min = 10, max = 100, population?: number): number | null {
  checkSearch(target, min, max);
  if (population !== undefined && max > population) throw new AppError('INVALID_FIELD', `max ${max} is larger than the population ${population}`);
  let found: number | null = null;
  for (let k = max; k >= min; k--) {
    if (compareFractions(modelProbability(sBps, k, population), target) > 0) break;
    found = k;
  }
  return found;
}

/** The number of decimal digits of n > 0. */
function digits(n: bigint): number {
  return n.toString().length;
}

/** num / den >= 10^e ? */
function atLeastPow10(num: bigint, den: bigint, e: number): boolean {
  return e >= 0 ? num >= den * 10n ** BigInt(e) : num * 10n ** BigInt(-e) >= den;
}

/**
 * The probability in scientific notation with `significant` digits (default 4), e.g. "8.600e-6", "1.000e+0", and
 * "0" for zero. The mantissa is num / den scaled by a power of ten and rounded half up, all in bigint.
 */
export function formatProbability(p: Fraction, significant = 4): string {
  if (!Number.isSafeInteger(significant) || significant < 1 || significant > 100) {
    throw new AppError('INVALID_FIELD', `significant digits must be 1..100, got ${significant}`);
  }
  if (p.den <= 0n || p.num < 0n) throw new AppError('INVALID_FIELD', `not a probability: ${p.num}/${p.den}`);
  if (p.num === 0n) return '0';
  // exponent e with 10^e <= p < 10^(e+1)
  let e = digits(p.num) - digits(p.den);
  if (!atLeastPow10(p.num, p.den, e)) e -= 1;
  // mantissa m = round(p * 10^(significant-1-e)), in [10^(significant-1), 10^significant]
  const shift = significant - 1 - e;
  const scaledNum = shift >= 0 ? p.num * 10n ** BigInt(shift) : p.num;
  const scaledDen = shift >= 0 ? p.den : p.den * 10n ** BigInt(-shift);
  let m = (2n * scaledNum + scaledDen) / (2n * scaledDen);
  if (m === 10n ** BigInt(significant)) {
    m /= 10n;
    e += 1;
  }
  const s = m.toString();
  const mantissa = significant === 1 ? s : `${s[0]}.${s.slice(1)}`;
  return `${mantissa}e${e >= 0 ? '+' : '-'}${Math.abs(e)}`;
}
