// Reputation decay (src/reputation/decay.ts): exact values at known points, the half-life properties, symmetry for
// penalties, monotonicity, and agreement with two independent high-precision references computed here by other
// means (a Taylor series of exp(-x ln 2), and bisection on the 2^k-th power for dyadic fractions).
import t from 'tap';
import { decay, fractionMultiplier, isqrt, SCALE_BITS } from '../src/reputation/decay.ts';
import { Rng } from './helpers/rng.ts';

const DAY_NS = 86_400n * 1_000_000_000n;
const H = 90n * DAY_NS; // the whitepaper's half-life, in ns as the state machine uses it

const abs = (x: bigint): bigint => (x < 0n ? -x : x);
const trunc = (num: bigint, shift: bigint): bigint => (num < 0n ? -(-num >> shift) : num >> shift); // toward zero

// ---------- reference 1: 2^(-e/H) = 2^-n x exp(-(r/H) ln 2), by series, at P bits ----------
const P = 320n;
const ONE = 1n << P;
const LN2 = (() => {
  // ln 2 = sum_{k>=1} 1 / (k 2^k); each term floored, P + 20 terms: error < 2^-(P-9)
  let s = 0n;
  for (let k = 1n; k <= P + 20n; k++) s += ONE / (k << k);
  return s;
})();

/** exp(-x) at scale 2^P for 0 <= x < 1 (x at scale 2^P), alternating Taylor series. */
function expNeg(x: bigint): bigint {
  let sum = ONE;
  let term = ONE;
  for (let k = 1n; term !== 0n; k++) {
    term = (term * x) / (k * ONE);
    sum += k % 2n === 1n ? -term : term;
  }
  return sum;
}

/** value x 2^(-e/H) at scale 2^P (a signed fixed-point number, error far below one unit). */
function reference(value: bigint, e: bigint, h: bigint): bigint {
  const n = e / h;
  const r = e % h;
  const m = expNeg((r * LN2) / h);
  return (value * m) >> n;
}

// ---------- reference 2: y = 2^(-a / 2^k) is the y with y^(2^k) = 2^-a, found by bisection ----------
const Q = 400n;
/** y^(2^k) for y at scale 2^Q, as a floating [mantissa in [2^(Q-1), 2^Q), exponent]: value = mantissa x 2^(exponent - Q). */
function powPow2(y: bigint, k: number): [bigint, bigint] {
  let m = y;
  let e = 0n;
  for (let i = 0; i < k; i++) {
    m = (m * m) >> Q;
    e *= 2n;
    // renormalise so a 2^-1023 does not underflow the fixed point
    while (m < 1n << (Q - 1n)) {
      m <<= 1n;
      e -= 1n;
    }
  }
  return [m, e];
}
/** 2^(-a / 2^k) at scale 2^Q for 0 <= a < 2^k, by bisection (y^(2^k) is increasing in y). */
function dyadicReference(a: bigint, k: number): bigint {
  const atMostTarget = (y: bigint): boolean => {
    const [m, e] = powPow2(y, k);
    // m x 2^(e - Q) <= 2^-a  <=>  m <= 2^(Q - a - e)
    const s = Q - a - e;
    return s >= Q ? true : s < Q - 1n ? false : m <= 1n << s;
  };
  let lo = 1n << (Q - 1n); // 1/2 <= 2^-(a/2^k) <= 1
  let hi = 1n << Q;
  while (hi - lo > 1n) {
    const mid = (lo + hi) >> 1n;
    if (atMostTarget(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

t.test('known points of the 90-day half-life (2^(-1/2), 2^(-1/3), 2^(-1/4)), rounded toward zero', async (t) => {
  t.equal(decay(1_000_000n, 45n * DAY_NS, H), 707_106n, '45 days: 1e6 / sqrt 2 = 707106.78');
  t.equal(decay(-1_000_000n, 45n * DAY_NS, H), -707_106n, 'a penalty decays alike (toward zero)');
  t.equal(decay(1_000_000n, 30n * DAY_NS, H), 793_700n, '30 days: 2^(-1/3) = 0.7937005259');
  t.equal(decay(1_000_000n, 22n * DAY_NS + DAY_NS / 2n, H), 840_896n, '22.5 days: 2^(-1/4) = 0.8408964153');
  t.equal(decay(1_000_000n, 90n * DAY_NS, H), 500_000n, 'one half-life');
  t.equal(decay(1_000_000n, 180n * DAY_NS, H), 250_000n, 'two');
  t.equal(decay(1_000_000n, 270n * DAY_NS, H), 125_000n, 'three');
  t.equal(decay(3n, H, H), 1n, '3/2 truncates to 1');
  t.equal(decay(-3n, H, H), -1n, '-3/2 truncates to -1 (not -2: symmetric)');
  t.equal(decay(1n, 1n, H), 0n, 'one unit decays below one unit at once: 0');
  t.equal(decay(0n, 5n * H, H), 0n);
  t.equal(decay(123n, 0n, H), 123n, 'no time: unchanged');
  t.equal(decay(123n, -5n, H), 123n, 'an earlier time reads the stored value');
  t.equal(decay((1n << 63n) - 1n, 64n * H, H), 0n, 'past the bit length: 0');
  t.equal(decay((1n << 63n) - 1n, 62n * H, H), 1n, '(2^63 - 1) >> 62');
  t.throws(() => decay(1n, 1n, 0n), { code: 'INTERNAL' }, 'a zero half-life is refused');
});

t.test('whole half-lives: exactly |v| >> n toward zero, so within one unit of v >> n', async (t) => {
  const rng = new Rng(7);
  for (let i = 0; i < 2000; i++) {
    const v = (BigInt(rng.u32()) << 31n) ^ BigInt(rng.u32());
    const value = rng.u32() % 2 === 0 ? v : -v;
    const n = BigInt(rng.u32() % 70);
    const h = [H, 1n, 7n, 3_600_000_000_000n][i % 4];
    const got = decay(value, n * h, h);
    const want = trunc(value, n);
    if (got !== want) t.fail(`decay(${value}, ${n} half-lives) = ${got}, want ${want}`);
    if (abs(got - (value >> n)) > 1n) t.fail(`more than one unit from ${value} >> ${n}`);
  }
  t.pass('2000 random values and half-life counts');
});

t.test('against exp(-x ln 2) at 320 bits: equal to the truncation of the exact value for random inputs', async (t) => {
  const rng = new Rng(11);
  let exactTruncations = 0;
  const N = 3000;
  for (let i = 0; i < N; i++) {
    const bits = BigInt(1 + (rng.u32() % 63));
    const v = ((BigInt(rng.u32()) << 32n) | BigInt(rng.u32())) & ((1n << bits) - 1n);
    const value = rng.u32() % 2 === 0 ? v : -v;
    const h = [H, BigInt(1 + (rng.u32() % 1000)), BigInt(rng.u32()) * 1_000_000_000n + 1n][i % 3];
    const e = (((BigInt(rng.u32()) << 32n) | BigInt(rng.u32())) % (h * 12n)) + 1n;
    const got = decay(value, e, h);
    const exact = reference(value, e, h); // scale 2^P
    // |got - exact| < 1 unit
    if (abs((got << P) - exact) >= ONE) t.fail(`decay(${value}, ${e}, ${h}) = ${got} is a unit or more from ${Number(exact >> (P - 20n)) / 2 ** 20}`);
    if (got === trunc(exact, P)) exactTruncations++;
    if (decay(-value, e, h) !== -got) t.fail(`not symmetric at ${value}, ${e}, ${h}`);
  }
  t.equal(exactTruncations, N, 'every result is the exact value rounded toward zero');
});

t.test('the fraction multiplier against bisection on the 2^k-th power (dyadic fractions of a half-life)', async (t) => {
  const scale = BigInt(SCALE_BITS);
  const rng = new Rng(3);
  const cases: Array<[bigint, number]> = [[1n, 1], [1n, 2], [3n, 2], [1n, 3], [5n, 3], [7n, 3], [1n, 10], [1023n, 10]];
  for (let i = 0; i < 8; i++) {
    const k = 1 + (rng.u32() % 10);
    cases.push([BigInt(rng.u32()) % (1n << BigInt(k)), k]);
  }
  for (const [a, k] of cases) {
    const h = H - (H % (1n << BigInt(k))); // divisible by 2^k so a/2^k of it is exact
    const m = fractionMultiplier((h >> BigInt(k)) * a, h); // scale 2^SCALE_BITS
    const ref = dyadicReference(a, k) >> (Q - scale); // scale 2^SCALE_BITS, floored
    t.ok(abs(m - ref) <= 1n << 85n, `2^(-${a}/2^${k}): multiplier within 2^-75 (relative) of the bisection reference`);
  }
});

t.test('monotone: the magnitude never grows with elapsed time, across half-life boundaries too', async (t) => {
  const rng = new Rng(5);
  for (let i = 0; i < 50; i++) {
    const value = ((BigInt(rng.u32()) << 30n) | BigInt(rng.u32())) * (i % 2 === 0 ? 1n : -1n);
    const times = Array.from({ length: 200 }, () => BigInt(rng.u32()) * 100_000_000n).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // and right around whole half-lives
    for (let n = 1n; n <= 4n; n++) times.push(n * H - 1n, n * H, n * H + 1n);
    times.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let prev = abs(value);
    for (const e of times) {
      const d = abs(decay(value, e, H));
      if (d > prev) t.fail(`|decay(${value}, ${e})| = ${d} > ${prev} at an earlier time`);
      prev = d;
    }
  }
  // consecutive nanoseconds on a short half-life, where every step matters
  let prev = 1n << 60n;
  for (let e = 0n; e < 3000n; e++) {
    const d = decay(1n << 60n, e, 1000n);
    if (d > prev) t.fail(`grew at ${e}`);
    prev = d;
  }
  t.pass('non-increasing');
});

t.test('lazy decay composes: decaying in two steps stays within two units of one step', async (t) => {
  const rng = new Rng(9);
  for (let i = 0; i < 1000; i++) {
    const value = BigInt(rng.u32()) * 1000n - 2_000_000_000_000n;
    const a = BigInt(rng.u32()) * 1_000_000n;
    const b = BigInt(rng.u32()) * 1_000_000n;
    const twoSteps = decay(decay(value, a, H), b, H);
    const oneStep = decay(value, a + b, H);
    if (abs(twoSteps - oneStep) > 2n) t.fail(`${value}: ${twoSteps} vs ${oneStep}`);
  }
  t.pass('1000 random splits');
});

t.test('isqrt is the exact floor square root', async (t) => {
  const rng = new Rng(13);
  for (let i = 0; i < 500; i++) {
    const n = (BigInt(rng.u32()) << BigInt(rng.u32() % 300)) + BigInt(rng.u32());
    const r = isqrt(n);
    if (!(r * r <= n && (r + 1n) * (r + 1n) > n)) t.fail(`isqrt(${n}) = ${r}`);
  }
  t.equal(isqrt(0n), 0n);
  t.equal(isqrt(1n), 1n);
  t.equal(isqrt(99n), 9n);
  t.throws(() => isqrt(-1n), { code: 'INTERNAL' });
});
