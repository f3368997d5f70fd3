// Committee selection, settlement math and the review commitment, as pure functions (src/tasks/sampling.ts,
// src/tasks/tasks.ts, src/tasks/commitment.ts): exact thresholds, rejection sampling without modulo bias, weighted
// sampling without replacement (deterministic, exclusions honoured, frequencies within computed tolerances), and a
// property check over a real chain's agent pool.
import t from 'tap';
import { sha256 } from '../src/crypto/hash.ts';
import { toHex, u64be } from '../src/crypto/bytes.ts';
import { defaultAppParams } from '../src/state/params.ts';
import { SCORE_ONE } from '../src/reputation/factor.ts';
import { sampleWeighted, selectionWeight, uniformBelow, WEIGHT_REPUTATION_CAP } from '../src/tasks/sampling.ts';
import { committeeSeed, committeeSize, quorum, selectCommittee, verdictOf, weightedAgents, type Pool } from '../src/tasks/tasks.ts';
import { reviewCommitment, newReviewSalt, REVIEW_COMMITMENT_DOMAIN } from '../src/tasks/commitment.ts';
import { ACC, Driver, addr, registerAgents, tasksFixture } from './helpers/tasks.ts';
import { Rng } from './helpers/rng.ts';

t.test('quorum: ceil(size x min_reveal_bps / 10000), never below 1', async (t) => {
  t.equal(quorum(10, 5000n), 5);
  t.equal(quorum(3, 5000n), 2, '1.5 rounds up');
  t.equal(quorum(7, 6667n), 5, '4.6669 rounds up');
  t.equal(quorum(9, 6667n), 7, '6.0003 rounds up');
  t.equal(quorum(9, 6666n), 6, '5.9994 rounds up to 6');
  t.equal(quorum(100, 10_000n), 100);
  t.equal(quorum(5, 0n), 1, 'no verdict out of silence even at 0 bps');
  t.equal(quorum(0, 5000n), 1, 'an empty committee can never reach a verdict');
});

t.test('verdict thresholds: exactly 2/3 approves, one below rejects; exactly the quorum decides, one below does not', async (t) => {
  // 10 members, 50%: quorum 5.
  t.equal(verdictOf(10, 5, 4, 5000n), 'approved', 'quorum exactly, 4/5 >= 2/3');
  t.equal(verdictOf(10, 4, 4, 5000n), 'no_verdict', 'one reveal below the quorum, even unanimous');
  t.equal(verdictOf(10, 6, 4, 5000n), 'approved', '4 of 6 is exactly 2/3');
  t.equal(verdictOf(10, 6, 3, 5000n), 'rejected', '3 of 6: one approval below 2/3');
  t.equal(verdictOf(10, 9, 6, 5000n), 'approved', '6 of 9 exactly');
  t.equal(verdictOf(10, 9, 5, 5000n), 'rejected', '5 of 9');
  t.equal(verdictOf(3, 3, 2, 5000n), 'approved', '2 of 3 exactly');
  t.equal(verdictOf(3, 3, 1, 5000n), 'rejected');
  t.equal(verdictOf(3, 2, 2, 5000n), 'approved', 'quorum 2 of 3 reached');
  t.equal(verdictOf(3, 1, 1, 5000n), 'no_verdict', 'quorum 2 missed by one');
  t.equal(verdictOf(0, 0, 0, 5000n), 'no_verdict', 'empty committee');
  // Exhaustive cross-check against the rule written independently: the least q with q x 10000 >= n x bps (at least
  // 1); then approvals / revealed >= 2 / 3.
  let checked = 0;
  for (const bps of [0n, 1n, 3333n, 5000n, 6667n, 9999n, 10_000n]) {
    for (let n = 0; n <= 24; n++) {
      let q = 1;
      while (BigInt(q) * 10_000n < BigInt(n) * bps) q++;
      for (let r = 0; r <= n; r++) {
        for (let a = 0; a <= r; a++) {
          const expected = r < q ? 'no_verdict' : 3 * a >= 2 * r ? 'approved' : 'rejected';
          if (verdictOf(n, r, a, bps) !== expected) t.fail(`n=${n} r=${r} a=${a} bps=${bps}`);
          checked++;
        }
      }
    }
  }
  t.ok(checked > 10_000, `${checked} cases agree`);
});

t.test('committee size: committee_min + bounty / step, capped at committee_max', async (t) => {
  const p = { ...defaultAppParams().tasks, committee_min: 10n, committee_max: 100n, committee_bounty_step: 100n * ACC };
  t.equal(committeeSize(p, 0n), 10, 'benchmarks: the minimum');
  t.equal(committeeSize(p, 100n * ACC - 1n), 10);
  t.equal(committeeSize(p, 100n * ACC), 11);
  t.equal(committeeSize(p, 9_000n * ACC), 100, 'exactly the maximum');
  t.equal(committeeSize(p, 1_000_000n * ACC), 100, 'capped');
  t.equal(committeeSize({ ...p, committee_bounty_step: 0n }, 1_000_000n * ACC), 10, 'a zero step means no growth');
});

t.test('selection weight: a floor of one unit, the positive task score on top, capped at 10 units', async (t) => {
  t.equal(selectionWeight(0n), SCORE_ONE);
  t.equal(selectionWeight(-5n * SCORE_ONE), SCORE_ONE, 'a negative score is floored, not zeroed');
  t.equal(selectionWeight(SCORE_ONE / 2n), (3n * SCORE_ONE) / 2n);
  t.equal(selectionWeight(WEIGHT_REPUTATION_CAP), 10n * SCORE_ONE);
  t.equal(selectionWeight(1000n * SCORE_ONE), 10n * SCORE_ONE, 'capped');
});

const toBig = (b: Uint8Array): bigint => BigInt(`0x${toHex(b)}`);
const u32 = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

t.test('uniformBelow: in range, and rejection sampling (not a bare modulo) decides the value', async (t) => {
  const seed = sha256(new Uint8Array([1]));
  for (const n of [1n, 2n, 3n, 10n, 1n << 64n, (1n << 256n) - 1n]) {
    for (let label = 0; label < 50; label++) {
      const x = uniformBelow(seed, label, n);
      if (x < 0n || x >= n) t.fail(`out of range for n=${n}`);
    }
  }
  t.pass('always in [0, n)');
  t.throws(() => uniformBelow(seed, 0, 0n), /positive bound/);
  // n just above 2^255: half the 256-bit hashes are rejected. Find a label whose first hash is rejected and check the
  // value comes from the second hash, which a bare "hash mod n" would not give.
  const n = (1n << 255n) + 1n;
  const limit = (1n << 256n) - ((1n << 256n) % n);
  let found = 0;
  for (let label = 0; label < 64 && found < 5; label++) {
    const first = toBig(sha256(seed, u32(label), u32(0)));
    if (first < limit) {
      t.equal(uniformBelow(seed, label, n), first % n, `label ${label}: first hash accepted`);
      continue;
    }
    found++;
    const second = toBig(sha256(seed, u32(label), u32(1)));
    const expected = second < limit ? second % n : undefined;
    if (expected !== undefined) t.equal(uniformBelow(seed, label, n), expected, `label ${label}: first hash rejected, second used`);
    t.not(uniformBelow(seed, label, n), first % n, 'not the biased modulo of the rejected hash');
  }
  t.ok(found > 0, 'the rejection path was exercised');
});

const pool = (weights: bigint[]): Array<{ item: number; weight: bigint }> => weights.map((weight, item) => ({ item, weight }));

t.test('sampleWeighted: deterministic, without replacement, everyone when k >= pool, weight 0 never', async (t) => {
  const rng = new Rng(7);
  for (let run = 0; run < 300; run++) {
    const n = rng.int(1, 12);
    const weights = Array.from({ length: n }, () => (rng.chance(0.1) ? 0n : rng.bigint(1n, 10n * SCORE_ONE)));
    const k = rng.int(0, 14);
    const seed = rng.bytes(32);
    const a = sampleWeighted(pool(weights), k, seed).map((x) => x.item);
    const b = sampleWeighted(pool(weights), k, Uint8Array.from(seed)).map((x) => x.item);
    if (a.join() !== b.join()) t.fail('not deterministic');
    if (new Set(a).size !== a.length) t.fail('a member drawn twice');
    if (a.some((i) => weights[i] === 0n)) t.fail('a zero-weight item was drawn');
    const positive = weights.filter((w) => w > 0n).length;
    if (a.length !== Math.min(k, positive)) t.fail(`drew ${a.length}, expected ${Math.min(k, positive)}`);
  }
  t.pass('300 random pools');
  t.throws(() => sampleWeighted(pool([1n, -1n]), 1, new Uint8Array(32)), /negative/);
});

t.test('sampleWeighted: frequencies follow the weights (first seat, and inclusion in a pair) within 5 sigma', async (t) => {
  const weights = [1n, 2n, 3n, 4n, 10n].map((w) => w * SCORE_ONE);
  const total = weights.reduce((a, b) => a + b, 0n);
  const N = 20_000;
  const first = new Array(weights.length).fill(0);
  const inPair = new Array(weights.length).fill(0);
  for (let i = 0; i < N; i++) {
    const seed = sha256(u64be(BigInt(i)));
    first[sampleWeighted(pool(weights), 1, seed)[0].item]++;
    for (const x of sampleWeighted(pool(weights), 2, seed)) inPair[x.item]++;
  }
  // Test-side arithmetic only (floats are fine here): expected counts and a 5-sigma binomial tolerance.
  const w = weights.map((x) => Number(x) / Number(total));
  for (let i = 0; i < w.length; i++) {
    const expected = N * w[i];
    const tol = 5 * Math.sqrt(N * w[i] * (1 - w[i]));
    t.ok(Math.abs(first[i] - expected) <= tol, `first seat ${i}: ${first[i]} vs ${expected.toFixed(0)} +- ${tol.toFixed(0)}`);
    // Inclusion in 2 draws without replacement: p_i + sum_{j != i} p_j x p_i / (1 - p_j).
    let p = w[i];
    for (let j = 0; j < w.length; j++) if (j !== i) p += (w[j] * w[i]) / (1 - w[j]);
    const e2 = N * p;
    const tol2 = 5 * Math.sqrt(N * p * (1 - p));
    t.ok(Math.abs(inPair[i] - e2) <= tol2, `in a pair ${i}: ${inPair[i]} vs ${e2.toFixed(0)} +- ${tol2.toFixed(0)}`);
  }
});

t.test('committee selection over a real agent pool: deterministic given the beacon, never the executor or submitter', async (t) => {
  const d = await Driver.open(tasksFixture({ validators: 3, users: 8 }), t.teardown);
  await registerAgents(d, d.fx.users.slice(0, 7));
  const agents: Pool = await weightedAgents(d.app.store, d.params, d.time);
  t.equal(agents.length, 10, '3 genesis validators + 7 agents');
  const rng = new Rng(11);
  const counts = new Map<string, number>();
  const draws = 2_000;
  for (let i = 0; i < draws; i++) {
    const mix = rng.bytes(32);
    const executor = rng.pick(agents).item.address;
    const submitter = rng.chance(0.5) ? rng.pick(agents).item.address : addr(d.fx.users[7]);
    const size = rng.int(1, 12);
    const seed = committeeSeed(mix, BigInt(i + 1), 0);
    const c = selectCommittee(agents, [executor, submitter], size, seed);
    const again = selectCommittee(agents, [executor, submitter], size, committeeSeed(Uint8Array.from(mix), BigInt(i + 1), 0));
    const ids = c.map((m) => toHex(m.item.address));
    if (ids.join() !== again.map((m) => toHex(m.item.address)).join()) t.fail('same beacon, different committee');
    if (ids.includes(toHex(executor)) || ids.includes(toHex(submitter))) t.fail('executor or submitter drawn');
    if (new Set(ids).size !== ids.length) t.fail('a member twice');
    const eligible = agents.filter((a) => toHex(a.item.address) !== toHex(executor) && toHex(a.item.address) !== toHex(submitter)).length;
    if (ids.length !== Math.min(size, eligible)) t.fail('wrong size');
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  t.pass(`${draws} draws: deterministic, exclusions honoured, no repeats, size min(wanted, pool)`);
  t.equal(counts.size, 10, 'every agent gets drawn sometimes');
  // The seed binds the round and the task: another round or task gives another committee.
  const mix = new Uint8Array(32).fill(9);
  const order = (seed: Uint8Array): string => selectCommittee(agents, [], 10, seed).map((m) => toHex(m.item.address)).join();
  t.not(order(committeeSeed(mix, 1n, 0)), order(committeeSeed(mix, 1n, 1)), 'round changes the draw');
  t.not(order(committeeSeed(mix, 1n, 0)), order(committeeSeed(mix, 2n, 0)), 'task changes the draw');
  // Equal weights (no reputation yet): every agent equally likely on the first seat, within 5 sigma.
  const first = new Map<string, number>();
  const N = 5_000;
  for (let i = 0; i < N; i++) {
    const id = toHex(selectCommittee(agents, [], 1, committeeSeed(sha256(u64be(BigInt(i))), 1n, 0))[0].item.address);
    first.set(id, (first.get(id) ?? 0) + 1);
  }
  const p = 1 / agents.length;
  const tol = 5 * Math.sqrt(N * p * (1 - p));
  for (const [id, n] of first) t.ok(Math.abs(n - N * p) <= tol, `${id.slice(0, 8)}: ${n} vs ${N * p} +- ${tol.toFixed(0)}`);
});

t.test('review commitment: binds every field; fixed layout; the salt is 32 random bytes', async (t) => {
  const reviewer = new Uint8Array(20).fill(3);
  const salt = new Uint8Array(32).fill(5);
  const base = { taskId: 7n, round: 0, approve: true, salt, reviewer };
  const c = reviewCommitment(base);
  t.equal(c.length, 32);
  t.same(c, sha256(REVIEW_COMMITMENT_DOMAIN, u64be(7n), Uint8Array.of(0), Uint8Array.of(1), salt, reviewer), 'the documented bytes');
  const variants = [
    { ...base, taskId: 8n },
    { ...base, round: 1 },
    { ...base, approve: false },
    { ...base, salt: new Uint8Array(32).fill(6) },
    { ...base, reviewer: new Uint8Array(20).fill(4) },
  ];
  for (const v of variants) t.not(toHex(reviewCommitment(v)), toHex(c), 'each field changes the commitment');
  t.throws(() => reviewCommitment({ ...base, salt: new Uint8Array(31) }), { code: 'INVALID_FIELD' });
  t.throws(() => reviewCommitment({ ...base, reviewer: new Uint8Array(19) }), { code: 'INVALID_FIELD' });
  t.throws(() => reviewCommitment({ ...base, round: 2 }), { code: 'INVALID_FIELD' });
  const s1 = newReviewSalt();
  t.equal(s1.length, 32);
  t.not(toHex(s1), toHex(newReviewSalt()), 'fresh each time');
});


