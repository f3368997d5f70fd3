// The review-committee security figure (src/tasks/security.ts) and `agentcluster simulate --committee`: exact values
// against closed forms and hand computations, independent dynamic-programming recomputations on random inputs,
// the formatting of exact fractions, and the real binary.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  adversarialMembers,
  binomial,
  BPS_ONE,
  captureProbability,
  captureProbabilityFinite,
  captureThreshold,
  compareFractions,
  formatProbability,
  fraction,
  smallestSafeCommittee,
  smallestSafeCommitteeFrom,
  type Fraction,
} from '../src/tasks/security.ts';
import { runCli } from '../src/cli/index.ts';
import type { Io } from '../src/cli/command.ts';
import { AppError } from '../src/errors.ts';
import { Rng } from './helpers/rng.ts';

const BIN = fileURLToPath(new URL('../bin/agentcluster.ts', import.meta.url));

const eq = (x: Fraction, y: Fraction): boolean => compareFractions(x, y) === 0;
const str = (f: Fraction): string => `${f.num}/${f.den}`;

/** Independent recomputation of model (a): the distribution of adversarial seats by Pascal's rule, scaled by 10000^k. */
function binomialTailByDp(sBps: bigint, k: number): Fraction {
  let dp = [1n];
  for (let i = 0; i < k; i++) {
    const next = new Array<bigint>(dp.length + 1).fill(0n);
    dp.forEach((w, j) => {
      next[j] += w * (BPS_ONE - sBps);
      next[j + 1] += w * sBps;
    });
    dp = next;
  }
  const t = Math.ceil((2 * k) / 3);
  return fraction(dp.slice(t).reduce((a, b) => a + b, 0n), BPS_ONE ** BigInt(k));
}

/** Independent recomputation of model (b): ordered draws without replacement, over N (N-1) ... (N-k+1). */
function hypergeometricTailByDp(a: number, n: number, k: number): Fraction {
  let dp = [1n];
  let den = 1n;
  for (let i = 0; i < k; i++) {
    const next = new Array<bigint>(dp.length + 1).fill(0n);
    dp.forEach((w, j) => {
      next[j] += w * BigInt(Math.max(0, n - a - (i - j)));
      next[j + 1] += w * BigInt(Math.max(0, a - j));
    });
    dp = next;
    den *= BigInt(n - i);
  }
  const t = Math.ceil((2 * k) / 3);
  return fraction(dp.slice(t).reduce((x, y) => x + y, 0n), den);
}

t.test('captureThreshold is ceil(2k/3)', async (t) => {
  const rows: [number, number][] = [[1, 1], [2, 2], [3, 2], [4, 3], [5, 4], [6, 4], [7, 5], [10, 7], [11, 8], [12, 8], [30, 20], [99, 66], [100, 67]];
  for (const [k, want] of rows) t.equal(captureThreshold(k), want, `k = ${k}`);
  for (const k of [1, 2, 3, 10, 100, 1000, 9999]) {
    const th = captureThreshold(k);
    t.ok(3 * th >= 2 * k && 3 * (th - 1) < 2 * k, `k = ${k}: the least t with 3t >= 2k`);
  }
  for (const bad of [0, -3, 1.5, Number.NaN]) t.throws(() => captureThreshold(bad), AppError, `k = ${bad} refused`);
});

t.test('model (a): closed forms for k = 1, 2, 3 and the end points s = 0 and s = 1', async (t) => {
  const D = BPS_ONE;
  for (const s of [0n, 1n, 1000n, 2000n, 3300n, 3333n, 5000n, 6667n, 9999n, 10000n]) {
    t.ok(eq(captureProbability(s, 1), fraction(s, D)), `k = 1, threshold 1: P = s at ${s} bps`);
    t.ok(eq(captureProbability(s, 2), fraction(s * s, D * D)), `k = 2, threshold 2: P = s^2 at ${s} bps`);
    // k = 3, threshold 2: P = 3 s^2 (1-s) + s^3
    t.ok(eq(captureProbability(s, 3), fraction(3n * s * s * (D - s) + s ** 3n, D ** 3n)), `k = 3: P = 3s^2(1-s) + s^3 at ${s} bps`);
  }
  for (const k of [1, 2, 3, 10, 30, 100, 101]) {
    t.same(captureProbability(0n, k), { num: 0n, den: 1n }, `s = 0 never captures k = ${k}`);
    t.same(captureProbability(10_000n, k), { num: 1n, den: 1n }, `s = 1 always captures k = ${k}`);
  }
  t.throws(() => captureProbability(-1n, 10), AppError);
  t.throws(() => captureProbability(10_001n, 10), AppError);
});

t.test('hand-computed values', async (t) => {
  // s = 1/2, k = 3: 3/8 + 1/8
  t.same(captureProbability(5000n, 3), { num: 1n, den: 2n });
  // s = 1/2, k = 10, t = 7: (C(10,7) + C(10,8) + C(10,9) + C(10,10)) / 2^10 = (120 + 45 + 10 + 1) / 1024 = 11/64
  t.same(captureProbability(5000n, 10), { num: 11n, den: 64n });
  // s = 1/10, k = 10: (120*9^3 + 45*9^2 + 10*9 + 1) / 10^10 = 91216 / 10^10 = 5701 / 625,000,000
  t.same(captureProbability(1000n, 10), { num: 5701n, den: 625_000_000n });
  t.equal(formatProbability(captureProbability(1000n, 10)), '9.122e-6');
  // finite: N = 10, a = 5, k = 3, t = 2: (C(5,2) C(5,1) + C(5,3)) / C(10,3) = (50 + 10) / 120
  t.same(captureProbabilityFinite(5000n, 3, 10), { num: 1n, den: 2n });
  // finite: N = 6, a = round(0.3333 * 6) = 2, k = 3, t = 2: C(2,2) C(4,1) / C(6,3) = 4 / 20
  t.equal(adversarialMembers(3333n, 6), 2);
  t.same(captureProbabilityFinite(3333n, 3, 6), { num: 1n, den: 5n });
  // finite: the whole population sits: captured exactly when a >= t
  t.same(captureProbabilityFinite(7000n, 10, 10), { num: 1n, den: 1n }, 'a = 7 = t');
  t.same(captureProbabilityFinite(6000n, 10, 10), { num: 0n, den: 1n }, 'a = 6 < t');
  // rounding of a is half up: 0.25 * 2 = 0.5 -> 1; 0.2499 * 2 = 0.4998 -> 0
  t.equal(adversarialMembers(2500n, 2), 1);
  t.equal(adversarialMembers(2499n, 2), 0);
  t.equal(binomial(100n, 67n), 294692427022540894366527900n);
  t.throws(() => captureProbabilityFinite(1000n, 11, 10), /population of at least 11/);
});

t.test('the grid table (model (a)), exact values as printed', async (t) => {
  const want: Record<string, string[]> = {
    '1000': ['9.122e-6', '1.106e-13', '9.625e-43'],
    '2000': ['8.644e-4', '3.831e-8', '3.134e-24'],
    '3300': ['1.855e-2', '1.659e-4', '3.864e-12'],
  };
  for (const [s, row] of Object.entries(want)) {
    t.same([10, 30, 100].map((k) => formatProbability(captureProbability(BigInt(s), k))), row, `s = ${s} bps`);
  }
});

t.test('monotone in s', async (t) => {
  for (const k of [1, 3, 10, 11, 12, 30, 100]) {
    let prev = captureProbability(0n, k);
    let ok = true;
    for (let s = 50n; s <= 10_000n; s += 50n) {
      const p = captureProbability(s, k);
      if (compareFractions(p, prev) < 0) ok = false;
      prev = p;
    }
    t.ok(ok, `k = ${k}: P does not fall as s grows (steps of 50 bps)`);
    let prevF = captureProbabilityFinite(0n, k, 200);
    let okF = true;
    for (let s = 50n; s <= 10_000n; s += 50n) {
      const p = captureProbabilityFinite(s, k, 200);
      if (compareFractions(p, prevF) < 0) okF = false;
      prevF = p;
    }
    t.ok(okF, `k = ${k}, N = 200: the finite model does not fall as s grows`);
  }
});

t.test('model (b) tends to model (a): |P_N - P| <= k(k-1)/(2N)', async (t) => {
  // Sampling k of N with and without replacement differ only when a member repeats, which has probability at most
  // k(k-1)/(2N); s N is an integer here, so both models use the same share.
  for (const n of [1000, 1_000_000]) {
    for (const s of [1000n, 2000n, 3300n, 5000n]) {
      for (const k of [10, 30]) {
        const pa = captureProbability(s, k);
        const pb = captureProbabilityFinite(s, k, n);
        const diff = fraction(pa.num * pb.den - pb.num * pa.den < 0n ? pb.num * pa.den - pa.num * pb.den : pa.num * pb.den - pb.num * pa.den, pa.den * pb.den);
        const bound = fraction(BigInt(k * (k - 1)), BigInt(2 * n));
        t.ok(compareFractions(diff, bound) <= 0, `N = ${n}, s = ${s}, k = ${k}: ${formatProbability(diff)} <= ${formatProbability(bound)}`);
      }
    }
  }
  // and on this grid (s < 2/3) drawing without replacement is the safer model (not a theorem for every parameter)
  for (const s of [1000n, 2000n, 3300n, 5000n, 6000n]) {
    for (const k of [10, 11, 12, 30, 100]) {
      for (const n of [100, 1000]) t.ok(compareFractions(captureProbabilityFinite(s, k, n), captureProbability(s, k)) <= 0, `N = ${n}, s = ${s}, k = ${k}`);
    }
  }
});

t.test('property: random s and k against an independent recomputation; range; falls with k at a fixed residue', async (t) => {
  const rng = new Rng(20260709);
  let checked = 0;
  for (let i = 0; i < 150; i++) {
    const s = rng.bigint(0n, 10_000n);
    const k = rng.int(1, 60);
    const p = captureProbability(s, k);
    t.ok(p.num >= 0n && p.num <= p.den && p.den > 0n, `0 <= P <= 1 (s = ${s}, k = ${k})`);
    t.ok(eq(p, binomialTailByDp(s, k)), `closed sum = Pascal recomputation (s = ${s}, k = ${k}): ${str(p)}`);
    const n = rng.int(k, k + 40);
    const pf = captureProbabilityFinite(s, k, n);
    t.ok(pf.num >= 0n && pf.num <= pf.den, `0 <= P_N <= 1 (s = ${s}, k = ${k}, N = ${n})`);
    t.ok(eq(pf, hypergeometricTailByDp(adversarialMembers(s, n), n, k)), `hypergeometric sum = ordered-draw recomputation (s = ${s}, k = ${k}, N = ${n})`);
    checked++;
  }
  // P itself is not monotone in k (P(12) > P(11): same threshold 8, one more draw), but at a fixed residue of k mod 3
  // (a fixed pattern of threshold ratios, 2/3 for k = 3m) it falls as k grows when s < 1/2
  t.ok(compareFractions(captureProbability(3300n, 12), captureProbability(3300n, 11)) > 0, 'P(12) > P(11) at 33%');
  for (let i = 0; i < 150; i++) {
    const s = rng.bigint(0n, 4999n);
    const k = rng.int(1, 97);
    t.ok(compareFractions(captureProbability(s, k + 3), captureProbability(s, k)) <= 0, `P(k+3) <= P(k) for s = ${s} < 1/2, k = ${k}`);
    const m = rng.int(1, 32);
    t.ok(compareFractions(captureProbability(s, 3 * m + 3), captureProbability(s, 3 * m + 2)) >= 0, `P(3m+3) >= P(3m+2), m = ${m}`);
  }
  t.equal(checked, 150);
});

t.test('formatProbability: scientific notation from the exact fraction', async (t) => {
  const rows: [Fraction, string, number?][] = [
    [{ num: 0n, den: 1n }, '0'],
    [{ num: 1n, den: 1n }, '1.000e+0'],
    [{ num: 1n, den: 2n }, '5.000e-1'],
    [{ num: 1n, den: 3n }, '3.333e-1'],
    [{ num: 2n, den: 3n }, '6.667e-1'],
    [{ num: 99_995n, den: 100_000n }, '1.000e+0'], // 9999.5 rounds up and carries into the exponent
    [{ num: 99_994n, den: 100_000n }, '9.999e-1'],
    [{ num: 1n, den: 10n ** 50n }, '1.000e-50'],
    [{ num: 123_456_789n, den: 10n ** 9n }, '1.2e-1', 2],
    [{ num: 123_456_789n, den: 10n ** 9n }, '1e-1', 1],
    [{ num: 1n, den: 7n }, '1.42857e-1', 6],
    [{ num: 10n ** 400n - 1n, den: 10n ** 400n }, '1.000e+0'],
    [{ num: 3n, den: 10n ** 401n }, '3.000e-401'],
  ];
  for (const [f, want, sig] of rows) t.equal(formatProbability(f, sig), want, `${str(f)} with ${sig ?? 4} digits`);
  t.throws(() => formatProbability({ num: 1n, den: 0n }), AppError);
  t.throws(() => formatProbability({ num: 1n, den: 2n }, 0), AppError);
});

t.test('smallestSafeCommittee and smallestSafeCommitteeFrom', async (t) => {
  const micro = { num: 1n, den: 1_000_000n };
  for (const s of [1000n, 2000n, 2500n, 3300n]) {
    const k = smallestSafeCommittee(s, micro);
    t.not(k, null, `s = ${s}: some size in 10..100 is safe`);
    if (k === null) continue;
    t.ok(compareFractions(captureProbability(s, k), micro) <= 0, `s = ${s}: P(${k}) <= 1e-6`);
    for (let j = 10; j < k; j++) t.ok(compareFractions(captureProbability(s, j), micro) > 0, `s = ${s}: P(${j}) > 1e-6`);
    const from = smallestSafeCommitteeFrom(s, micro);
    t.ok(from !== null && from >= k, `s = ${s}: from ${from} >= ${k}`);
    if (from === null) continue;
    for (let j = from; j <= 100; j++) t.ok(compareFractions(captureProbability(s, j), micro) <= 0, `s = ${s}: every size from ${from} is safe (${j})`);
    if (from > 10) t.ok(compareFractions(captureProbability(s, from - 1), micro) > 0, `s = ${s}: ${from - 1} is not`);
  }
  t.equal(smallestSafeCommittee(1000n, micro), 13, 'measured: 13 at 10%');
  t.equal(smallestSafeCommittee(3300n, micro), 47, 'measured: 47 at 33%');
  t.equal(smallestSafeCommittee(1000n, { num: 1n, den: 1n }), 10, 'target 1: the minimum');
  t.equal(smallestSafeCommittee(1000n, { num: 0n, den: 1n }), null, 'target 0 with s > 0: none');
  t.equal(smallestSafeCommittee(0n, { num: 0n, den: 1n }), 10, 'target 0 with s = 0: the minimum');
  t.equal(smallestSafeCommittee(6700n, micro), null, 's = 67% > 2/3: none up to 100');
  const finite = smallestSafeCommittee(3300n, micro, 10, 100, 1000);
  t.ok(finite !== null && finite <= 47, `finite N = 1000: ${finite} <= 47`);
  t.equal(smallestSafeCommittee(10_000n, micro, 1, 2, 1), null, 'k = 1 of N = 1 is captured and k = 2 > N is not drawn');
  t.throws(() => smallestSafeCommitteeFrom(3300n, micro, 10, 100, 50), /larger than the population/);
});

interface Captured {
  io: Io;
  out: () => string;
  err: () => string;
}
function capture(): Captured {
  let out = '';
  let err = '';
  return { io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }, out: () => out, err: () => err };
}

interface Table {
  population: number | null;
  shares_bps: number[];
  sizes: number[];
  rows: Array<{ share_bps: number; share: string; adversarial_members?: number; cells: Array<{ k: number; threshold: number; p: string; p_finite?: string }> }>;
}

t.test('agentcluster simulate --committee (the real binary): the grid as one JSON object, exit 0', async (t) => {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // tap's loader hooks are not for the child
  const r = spawnSync(process.execPath, [BIN, 'simulate', '--committee'], { encoding: 'utf8', env });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stderr, '');
  const table = JSON.parse(r.stdout) as Table;
  t.same(table.shares_bps, [1000, 2000, 3300]);
  t.same(table.sizes, [10, 30, 100]);
  t.equal(table.population, null);
  t.same(table.rows.map((row) => row.share), ['10%', '20%', '33%']);
  t.same(
    table.rows.map((row) => row.cells.map((c) => [c.k, c.threshold, c.p])),
    [
      [[10, 7, '9.122e-6'], [30, 20, '1.106e-13'], [100, 67, '9.625e-43']],
      [[10, 7, '8.644e-4'], [30, 20, '3.831e-8'], [100, 67, '3.134e-24']],
      [[10, 7, '1.855e-2'], [30, 20, '1.659e-4'], [100, 67, '3.864e-12']],
    ],
  );
  t.notOk(JSON.stringify(table).includes('p_finite'), 'no finite model without --population');
});

t.test('agentcluster simulate --committee: --shares, --sizes, --population', async (t) => {
  const c = capture();
  t.equal(await runCli(['simulate', '--committee', '--shares', '3333,0', '--sizes', '11,12', '--population', '1000'], c.io), 0, c.err());
  const table = JSON.parse(c.out()) as Table;
  t.equal(table.population, 1000);
  t.same(table.rows.map((r) => [r.share_bps, r.share, r.adversarial_members]), [[3333, '33.33%', 333], [0, '0%', 0]]);
  const cells = table.rows[0].cells;
  t.same(cells.map((x) => [x.k, x.threshold]), [[11, 8], [12, 8]]);
  t.equal(cells[0].p, formatProbability(captureProbability(3333n, 11)));
  t.equal(cells[1].p_finite, formatProbability(captureProbabilityFinite(3333n, 12, 1000)));
  t.same(table.rows[1].cells.map((x) => [x.p, x.p_finite]), [['0', '0'], ['0', '0']]);
});

t.test('agentcluster simulate --committee: bad values get a usage error that says what to fix', async (t) => {
  const rows: [string[], RegExp][] = [
    [['--committee', '--shares', '10001'], /--shares must be a comma-separated list of 1 to 20 integers from 0 to 10000/],
    [['--committee', '--shares', '10%'], /--shares must be .* got '10%'/],
    [['--committee', '--shares', ''], /--shares must be/],
    [['--committee', '--sizes', '0'], /--sizes must be a comma-separated list of 1 to 20 integers from 1 to 1000/],
    [['--committee', '--sizes', '10,,30'], /--sizes must be/],
    [['--committee', '--sizes', '1001'], /--sizes must be/],
    [['--committee', '--population', '99'], /--population must be an integer from the largest committee size \(100\)/],
    [['--committee', '--population', 'x'], /--population must be/],
    [['--committee', '--validators', '4'], /runs no simulation; do not combine it with --validators/],
    [['--committee', '--byzantine', '1'], /do not combine it with --byzantine/],
    [['--committee', '--partition'], /do not combine it with --partition/],
    [['--validators', '4', '--shares', '1000'], /--shares only applies with --committee/],
    [['--validators', '4', '--population', '1000'], /--population only applies with --committee/],
    [[], /missing required option --validators N \(or pass --committee/],
  ];
  for (const [argv, msg] of rows) {
    const c = capture();
    const code = await runCli(['simulate', ...argv], c.io);
    t.equal(code, 2, `${argv.join(' ')}: usage exit code`);
    t.match(c.err(), msg, argv.join(' '));
    t.equal(c.out(), '', 'nothing on stdout');
  }
  const help = capture();
  t.equal(await runCli(['simulate', '--help'], help.io), 0);
  t.match(help.out(), /--committee\s+print the review-committee capture probabilities/);
  t.match(help.out(), /--shares BPS,\.\.\./);
});
