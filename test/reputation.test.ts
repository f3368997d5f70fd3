// Reputation (issue 7, src/reputation) on a real LevelDB: the stored dimensions and their lazy decay, validator
// reputation from real blocks (signed, missed, double-sign evidence), the scorer and its effect on voting power at an
// epoch boundary, and the endorsement messages with every rejection and the anti-gaming rules.
import t from 'tap';
import { ErrorCodes, type ErrorCode } from '../src/errors.ts';
import { toHex } from '../src/crypto/bytes.ts';
import type { Event, Msg } from '../src/codec/types.ts';
import { Namespace } from '../src/state/repo.ts';
import { StateOverlay } from '../src/state/overlay.ts';
import { getAgent } from '../src/state/agents.ts';
import { validators } from '../src/state/validators.ts';
import type { HookContext } from '../src/state/module.ts';
import type { AppParams } from '../src/state/params.ts';
import type { BlockOutput } from '../src/state/executor.ts';
import { FACTOR_MIN, FACTOR_ONE, reputationFactor, SCORE_ONE, votingPower } from '../src/reputation/factor.ts';
import { decay } from '../src/reputation/decay.ts';
import { adjustReputation, DIMENSIONS, reputationOf, storedReputationOf } from '../src/reputation/reputation.ts';
import { reputationRecords, SUB_UNIT_BITS } from '../src/reputation/records.ts';
import { endorsementCredit, getEndorsement } from '../src/reputation/endorsements.ts';
import { operatorScore, reputationModule, reputationScorer } from '../src/reputation/module.ts';
import { reputationView } from '../src/reputation/view.ts';
import { ACC, DAY, Driver, SECOND, addr, agentsFixture, duplicateVote, key } from './helpers/agents.ts';
import type { KeyPair } from '../src/crypto/keys.ts';

const code = (c: ErrorCode): number => ErrorCodes[c];
const events = (evs: readonly Event[], type: string): Array<Record<string, string>> =>
  evs.filter((e) => e.type === type).map((e) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value])));
const endorse = (subject: Uint8Array): Msg => ({ type: 'endorse', value: { subject } });
const revoke = (subject: Uint8Array): Msg => ({ type: 'revoke_endorsement', value: { subject } });
const halfLife = (p: AppParams): bigint => p.reputation.half_life_seconds * SECOND;
const register = (d: Driver, k: KeyPair): Msg => ({
  type: 'register_agent',
  value: { capabilities: { cpuCores: 1, gpuMemoryMb: 0n, llmTokensPerSecond: 0n, models: [], skills: [] }, attestation: d.attest(k), bond: d.params.agents.bond },
});
async function registerAll(d: Driver, ks: KeyPair[]): Promise<void> {
  const out = await d.block(await Promise.all(ks.map((k) => d.tx(k, register(d, k)))));
  for (const r of out.txResults) if (r.code !== 0) throw new Error(`registration failed: ${r.log}`);
}
/** State writes of a block under a namespace. */
const writesIn = (out: BlockOutput, ns: number): number => out.state.filter((w) => w.key[0] === ns).length;
const social = async (d: Driver, a: KeyPair): Promise<bigint> => (await reputationOf(d.app.store, d.params, addr(a), d.time)).social;

t.test('stored dimensions: lazy decay on read and before each adjustment; social cannot be adjusted', async (t) => {
  const d = await Driver.open(agentsFixture({ validators: 1 }), t.teardown);
  const p = d.params;
  const h = halfLife(p);
  const who = addr(key(70));
  const t0 = d.time;
  t.same(await reputationOf(d.app.store, p, who, t0), { task: 0n, validator: 0n, compute: 0n, social: 0n }, 'no record: every dimension 0');
  t.same(Object.keys(await reputationOf(d.app.store, p, who, t0)), [...DIMENSIONS]);

  const s = new StateOverlay(d.app.store);
  await adjustReputation(s, p, who, 'task', 1_000_000n, t0);
  await adjustReputation(s, p, who, 'compute', -600_000n, t0);
  t.same(await reputationOf(s, p, who, t0), { task: 1_000_000n, validator: 0n, compute: -600_000n, social: 0n });
  t.same(await reputationOf(s, p, who, t0 + h), { task: 500_000n, validator: 0n, compute: -300_000n, social: 0n }, 'one half-life: halved, the penalty too');
  t.same(await storedReputationOf(s, p, who, t0 + h), { task: 500_000n, validator: 0n, compute: -300_000n }, 'the stored dimensions alone');
  t.same(await reputationOf(s, p, who, t0 + 2n * h), { task: 250_000n, validator: 0n, compute: -150_000n, social: 0n });
  t.equal((await reputationOf(s, p, who, t0 + h / 2n)).task, 707_106n, 'half a half-life: 1 / sqrt 2');

  // An adjustment decays first, then adds: 500,000 left after one half-life, minus 300,000.
  await adjustReputation(s, p, who, 'task', -300_000n, t0 + h);
  t.equal((await reputationOf(s, p, who, t0 + h)).task, 200_000n);
  t.equal((await reputationOf(s, p, who, t0 + 2n * h)).task, 100_000n, 'and decays from the new stamp');
  const rec = (await reputationRecords.get(s, who))!;
  t.equal(rec.task.updatedNs, t0 + h, 'stamped with the adjustment time');
  t.equal(rec.task.value, 200_000n << SUB_UNIT_BITS, 'stored with 20 more binary digits');
  t.equal(rec.compute.updatedNs, t0, 'other dimensions keep their stamps');

  // Many small steps do not lose a unit each to rounding (the stored sub-unit digits).
  const many = addr(key(71));
  for (let i = 0n; i < 1000n; i++) await adjustReputation(s, p, many, 'validator', 1n, t0 + i * SECOND);
  const after = (await reputationOf(s, p, many, t0 + 999n * SECOND)).validator;
  t.ok(after >= 999n && after <= 1000n, `1000 gains of 1 one second apart keep about 1000 (got ${after})`);

  // Stored values saturate at the int64 bound (about 8.8e12 score units) instead of failing the block.
  const huge = addr(key(73));
  await adjustReputation(s, p, huge, 'task', 1n << 62n, t0);
  await adjustReputation(s, p, huge, 'task', 1n << 62n, t0);
  t.equal((await reputationOf(s, p, huge, t0)).task, ((1n << 63n) - 1n) >> SUB_UNIT_BITS, 'saturated high');
  await adjustReputation(s, p, huge, 'compute', -(1n << 62n), t0);
  t.equal((await reputationOf(s, p, huge, t0)).compute, -(((1n << 63n) - 1n) >> SUB_UNIT_BITS), 'and low, symmetrically');

  // A zero delta writes nothing; social is not a stored dimension.
  const quiet = addr(key(72));
  await adjustReputation(s, p, quiet, 'task', 0n, t0);
  t.equal(await reputationRecords.get(s, quiet), undefined, 'zero delta: no record');
  await t.rejects(adjustReputation(s, p, quiet, 'social' as 'task', 1n, t0), { code: 'INTERNAL' }, 'social comes from endorsements only');
});

t.test('validator reputation from real blocks: +signed, -missed, -double_sign per evidence, to the operator', async (t) => {
  const fx = agentsFixture({
    validators: 3,
    params: (p) => {
      p.reputation.validator_signed = 1_000n;
      p.reputation.validator_missed = 7_000n;
      p.reputation.validator_double_sign = 2_000_000n;
      p.staking.epoch_blocks = 1000n; // keep the set still
    },
  });
  const d = await Driver.open(fx, t.teardown);
  const [v0, v1, v2] = fx.validators;
  const p = d.params;
  const h = halfLife(p);
  // An independent model of the stored values (sub-units), stepped with the decay the decay tests verify.
  const model = new Map<string, { value: bigint; at: bigint }>();
  const step = (k: KeyPair, delta: bigint, now: bigint): void => {
    const m = model.get(toHex(addr(k))) ?? { value: 0n, at: now };
    model.set(toHex(addr(k)), { value: decay(m.value, now - m.at, h) + (delta << SUB_UNIT_BITS), at: now });
  };
  const expected = (k: KeyPair, now: bigint): bigint => {
    const m = model.get(toHex(addr(k)));
    if (m === undefined) return 0n;
    const v = decay(m.value, now - m.at, h);
    return v < 0n ? -(-v >> SUB_UNIT_BITS) : v >> SUB_UNIT_BITS;
  };
  const check = async (label: string): Promise<void> => {
    for (const v of [v0, v1, v2]) t.equal((await reputationOf(d.app.store, p, addr(v), d.time)).validator, expected(v, d.time), `${label}: ${toHex(addr(v)).slice(0, 6)}`);
  };

  await d.block(); // the first block has no last commit
  await check('first block: nothing to count');
  for (let i = 0; i < 4; i++) {
    await d.block();
    for (const v of [v0, v1, v2]) step(v, 1_000n, d.time);
  }
  await check('four signed blocks');
  t.ok((await reputationOf(d.app.store, p, addr(v0), d.time)).validator > 3_990n);

  // v2 misses three blocks (one of them 10 minutes long).
  for (let i = 0; i < 3; i++) {
    const lastCommit = (await d.signedByAll()).map((c) => ({ ...c, signed: toHex(c.address) !== toHex(addr(v2)) }));
    await d.block([], { lastCommit, time: d.time + (i === 1 ? 600n * SECOND : SECOND) });
    step(v0, 1_000n, d.time);
    step(v1, 1_000n, d.time);
    step(v2, -7_000n, d.time);
  }
  await check('v2 missed three');
  t.ok((await reputationOf(d.app.store, p, addr(v2), d.time)).validator < 0n, 'missing outweighs signing');

  // Double-sign evidence: one penalty per evidence, with an event; the same block's commit still counts.
  const ev = duplicateVote(v1, d.app.head().height, 1_000_000n * ACC, 3_000_000n * ACC, d.time);
  const out = await d.block([], { evidence: [ev] });
  for (const v of [v0, v1, v2]) step(v, 1_000n, d.time);
  step(v1, -2_000_000n, d.time);
  await check('after evidence');
  const pen = events(out.beginBlockEvents, 'reputation_penalty');
  t.equal(pen.length, 1);
  t.same(pen[0], {
    agent: toHex(addr(v1)),
    validator: toHex(addr(v1)),
    dimension: 'validator',
    reason: 'double_sign',
    delta: '-2000000',
    score: expected(v1, d.time).toString(),
  });

  // Time alone decays every dimension toward zero, penalties included.
  const later = d.time + h;
  for (const v of [v0, v1, v2]) {
    const now = (await reputationOf(d.app.store, p, addr(v), d.time)).validator;
    const then = (await reputationOf(d.app.store, p, addr(v), later)).validator;
    t.ok(then === now / 2n || then === now / 2n - (now < 0n ? -1n : 1n), `one half-life later ${now} reads ${then}`);
  }
});

t.test('begin-block credits the operator agent, not the consensus address, and skips unknown validators', async (t) => {
  const d = await Driver.open(agentsFixture({ validators: 2 }), t.teardown);
  const [v0] = d.fx.validators;
  const operator = addr(d.fx.users[0]);
  const state = new StateOverlay(d.app.store);
  const rec = (await validators.get(state, addr(v0)))!;
  validators.set(state, addr(v0), { ...rec, operator });
  const stranger = addr(key(90));
  const ctx: HookContext = {
    chainId: 'x',
    height: 10n,
    time: d.time + SECOND,
    proposer: addr(v0),
    lastCommit: [
      { address: addr(v0), power: 1n, signed: true },
      { address: stranger, power: 1n, signed: false },
    ],
    evidence: [duplicateVote(v0, 9n, 1n, 2n, d.time)],
    state,
    params: d.params,
    events: [],
    validatorUpdates: [],
    randaoReveal: new Uint8Array(0),
  };
  await reputationModule.beginBlock!(ctx);
  const p = d.params.reputation;
  t.equal((await reputationOf(state, d.params, operator, ctx.time)).validator, p.validator_signed - p.validator_double_sign, 'the operator gains and pays');
  t.equal(await reputationRecords.get(state, addr(v0)), undefined, 'the consensus address holds nothing');
  t.equal(await reputationRecords.get(state, stranger), undefined, 'an address with no validator record is skipped');
});

t.test('the scorer: power = stake x factor(SCORE_ONE + validator dimension), recorded at epoch boundaries: reputation moves power only there, both ways; [1/2, 2)', async (t) => {
  const fx = agentsFixture({
    validators: 3,
    params: (p) => {
      p.reputation.validator_signed = 50_000n;
      p.reputation.validator_missed = 400_000n;
      p.staking.epoch_blocks = 5n;
    },
  });
  const d = await Driver.open(fx, t.teardown);
  const [v0, v1, v2] = fx.validators;
  const p = d.params;
  const stake = 1_000_000n * ACC;
  const record = async (k: KeyPair) => (await validators.get(d.app.store, addr(k)))!;
  const powerOf = async (k: KeyPair): Promise<bigint> => (await record(k)).power;
  const scorer = async (k: KeyPair): Promise<bigint> => reputationScorer(d.app.store, await record(k), p, d.time);
  /** The live score, from the decayed dimension. */
  const scoreOf = async (k: KeyPair): Promise<bigint> => {
    const dim = (await reputationOf(d.app.store, p, addr(k), d.time)).validator;
    return SCORE_ONE + dim < 0n ? 0n : SCORE_ONE + dim;
  };
  t.equal(await scorer(v0), SCORE_ONE, 'before any boundary: neutral');
  t.equal(await powerOf(v0), stake, 'genesis power = stake');

  // Up to the first boundary (height 5): reputation grows every block, the scorer and the power wait.
  const outs = await d.toEpoch();
  for (const o of outs.slice(0, -1)) t.same(o.validatorUpdates, [], 'no update between boundaries while scores rise');
  const boundary = outs[outs.length - 1];
  const want = votingPower(stake, await scoreOf(v0));
  t.ok(want > stake, `the boundary raises power above stake (${want})`);
  const sorted = (rows: Array<[string, bigint]>): Array<[string, bigint]> => rows.sort((x, y) => (x[0] < y[0] ? -1 : 1));
  t.same(
    sorted(boundary.validatorUpdates.map((u) => [toHex(u.pubKey), u.power])),
    sorted([v0, v1, v2].map((k) => [toHex(k.publicKey), want])),
    'every validator gets stake x factor(live score at the boundary)',
  );
  for (const k of [v0, v1, v2]) t.equal(await scorer(k), await scoreOf(k), 'at the boundary the scorer gives the live score');
  const recorded = await scorer(v2);

  // v2 misses blocks between boundaries: its live score falls, its power and scorer do not move until the boundary.
  for (let i = 0; i < 2; i++) {
    const lastCommit = (await d.signedByAll()).map((c) => ({ ...c, signed: toHex(c.address) !== toHex(addr(v2)) }));
    const miss = await d.block([], { lastCommit });
    t.same(miss.validatorUpdates, [], 'a missed block changes no power between boundaries');
  }
  t.ok((await scoreOf(v2)) < recorded, 'the live score fell');
  t.equal(await scorer(v2), recorded, 'the scorer keeps the recorded one');
  t.equal(await powerOf(v2), want);
  const next = await d.toEpoch();
  const lowered = votingPower(stake, await scoreOf(v2));
  t.ok(lowered < want, 'lower at the boundary');
  t.same(next.slice(0, -1).flatMap((o) => o.validatorUpdates), [], 'nothing before it');
  t.same(next[next.length - 1].validatorUpdates.filter((u) => toHex(u.pubKey) === toHex(v2.publicKey)).map((u) => u.power), [lowered], 'v2 falls at the boundary');
  t.ok((await powerOf(v0)) > want, 'while the others rose again');

  // A stake change between boundaries still lowers power at once, at the recorded factor.
  await d.block([await d.tx(d.fx.users[0], { type: 'send', value: { to: addr(v1), amount: 100n * ACC } })]);
  const un = await d.run(v1, { type: 'unstake', value: { amount: 400_000n * ACC } });
  t.equal(un.result.code, 0, un.result.log);
  t.same(un.out.validatorUpdates.map((u) => [toHex(u.pubKey), u.power]), [[toHex(v1.publicKey), votingPower(600_000n * ACC, await scorer(v1))]], 'unstake: 600,000 ACC x the recorded factor, in the same block');

  // Bounds: a huge score stays below 2x, a huge penalty floors at 1/2 (recorded by end-block at a boundary height).
  const s = new StateOverlay(d.app.store);
  await adjustReputation(s, p, addr(v0), 'validator', 10n ** 12n, d.time);
  await adjustReputation(s, p, addr(v1), 'validator', -(10n ** 12n), d.time);
  const ctx = (height: bigint): HookContext => ({
    chainId: 'x', height, time: d.time, proposer: addr(v0), lastCommit: [], evidence: [], state: s, params: p, events: [], validatorUpdates: [], randaoReveal: new Uint8Array(0),
  });
  await reputationModule.endBlock!(ctx(d.app.head().height * 5n + 1n));
  t.equal(await reputationScorer(s, await record(v0), p, d.time), await scorer(v0), 'end-block records nothing off a boundary');
  await reputationModule.endBlock!(ctx(d.app.head().height * 5n + 5n));
  const big = await reputationScorer(s, await record(v0), p, d.time);
  const low = await reputationScorer(s, await record(v1), p, d.time);
  t.equal(big, await operatorScore(s, p, addr(v0), d.time), 'recorded at a boundary: the live score then');
  t.ok(big > 10n ** 12n);
  t.ok(reputationFactor(big) < 2n * FACTOR_ONE && votingPower(stake, big) < 2n * stake, 'below twice the stake');
  t.equal(low, 0n, 'a negative score clamps at 0');
  t.equal(reputationFactor(low), FACTOR_MIN);
  t.equal(votingPower(stake, low), stake / 2n, 'half the stake at worst');
});

t.test('endorse: credit weighs the endorser reputation and holdings, fixed when given, decaying since; view', async (t) => {
  const fx = agentsFixture({ validators: 2, users: 4, params: (p) => void (p.reputation.validator_signed = 300_000n) });
  const d = await Driver.open(fx, t.teardown);
  const [v0, v1] = fx.validators;
  const [u0, u1] = fx.users;
  const p = d.params;
  await registerAll(d, [u0, u1]);
  for (let i = 0; i < 4; i++) await d.block(); // v0 and v1 pass one unit of validator reputation
  t.ok((await reputationOf(d.app.store, p, addr(v0), d.time)).validator >= SCORE_ONE);

  // A validator with >= 1 unit and bond + stake over endorsement_full_stake: the whole endorsement_credit.
  const { result, out } = await d.run(v0, endorse(addr(u0)));
  t.equal(result.code, 0, result.log);
  t.same(events(result.events, 'endorse'), [{ endorser: toHex(addr(v0)), subject: toHex(addr(u0)), credit: p.reputation.endorsement_credit.toString() }]);
  t.ok(writesIn(out, Namespace.ENDORSEMENT) === 2, 'stored under the given and the received keys');
  const e = (await getEndorsement(d.app.store, addr(v0), addr(u0)))!;
  t.equal(e.credit, p.reputation.endorsement_credit);
  t.equal(e.createdNs, d.time);
  t.equal(await social(d, u0), p.reputation.endorsement_credit, 'the subject holds it as social reputation');

  // Social reputation does not give endorsing weight: u0 (social only, bond only) endorses with 0 credit.
  const second = await d.run(u0, endorse(addr(u1)));
  t.equal(second.result.code, 0, second.result.log);
  t.equal(events(second.result.events, 'endorse')[0].credit, '0');
  t.equal(await social(d, u1), 0n);

  // The credit decays from when it was given.
  const h = halfLife(p);
  t.equal((await reputationOf(d.app.store, p, addr(u0), e.createdNs + h / 2n)).social, 70_710n, 'half a half-life later: 100000 / sqrt 2');
  t.equal((await reputationOf(d.app.store, p, addr(u0), e.createdNs + 3n * SECOND)).social, 99_999n, 'three seconds later: 99999.97, toward zero');

  // The formula: credit x min(1, rep) x min(1, holding / full), one floor.
  const s = new StateOverlay(d.app.store);
  const agentU1 = (await getAgent(s, addr(u1)))!;
  const full = p.reputation.endorsement_full_stake;
  t.equal(agentU1.bond * 10n, full, 'fixture: a bond is a tenth of full stake');
  await adjustReputation(s, p, addr(u1), 'task', 400_000n, d.time);
  t.equal(await endorsementCredit(s, p, agentU1, d.time), (100_000n * 400_000n * agentU1.bond) / (SCORE_ONE * full), '0.4 x 0.1 of the credit');
  await adjustReputation(s, p, addr(u1), 'compute', 4_000_000n, d.time);
  t.equal(await endorsementCredit(s, p, agentU1, d.time), 10_000n, 'reputation counts up to one unit');
  await adjustReputation(s, p, addr(u1), 'validator', -9_000_000n, d.time);
  t.equal(await endorsementCredit(s, p, agentU1, d.time), 0n, 'a net negative reputation gives nothing');
  t.equal(await endorsementCredit(s, { ...p, reputation: { ...p.reputation, endorsement_full_stake: 0n } }, (await getAgent(s, addr(v1)))!, d.time), 100_000n, 'full_stake 0: holdings do not weigh');

  // The view.
  const view = await reputationView(d.app.store, p, addr(u0), d.time);
  t.equal(view.isAgent, true);
  t.equal(view.dimensions.social, decay(p.reputation.endorsement_credit, d.time - e.createdNs, h), 'social in the view: decayed since given');
  t.same([view.received.count, view.received.counting], [1, 1]);
  t.equal(view.received.list[0].status, 'counts');
  t.same([view.given.count, view.given.slotsUsed, view.given.slotsMax], [1, 1, p.reputation.endorsement_max_per_endorser]);
  t.equal(view.validatorScore, SCORE_ONE, 'no validator reputation: neutral');
  t.equal(view.validatorFactor, FACTOR_ONE);
  const vv = await reputationView(d.app.store, p, addr(v0), d.time);
  t.ok(vv.validatorFactor > FACTOR_ONE && vv.validatorFactor < 2n * FACTOR_ONE);
  t.equal(vv.stored.validator.updatedNs, d.time, 'validator dimension stamped this block');
  t.equal(vv.stored.validator.score, vv.dimensions.validator, 'no time since the stamp: raw = decayed');
  t.equal(vv.stored.validator.raw >> SUB_UNIT_BITS, vv.stored.validator.score);
});

t.test('endorse and revoke rejections: each code, and nothing changes but fee and nonce', async (t) => {
  const fx = agentsFixture({ validators: 2, users: 5, params: (p) => void (p.reputation.endorsement_max_per_endorser = 2n) });
  const d = await Driver.open(fx, t.teardown);
  const [u0, u1, u2, u3, outsider] = fx.users;
  await registerAll(d, [u0, u1, u2, u3]);
  t.equal((await d.run(u0, endorse(addr(u1)))).result.code, 0);
  t.equal((await d.run(u0, endorse(addr(u2)))).result.code, 0);

  const rows: Array<[string, KeyPair, Msg, ErrorCode]> = [
    ['self', u0, endorse(addr(u0)), 'SELF_ENDORSEMENT'],
    ['signer not an agent', outsider, endorse(addr(u1)), 'NOT_AN_AGENT'],
    ['subject not an agent', u1, endorse(addr(outsider)), 'SUBJECT_NOT_AN_AGENT'],
    ['subject never seen', u1, endorse(addr(key(123))), 'SUBJECT_NOT_AN_AGENT'],
    ['twice', u0, endorse(addr(u1)), 'ENDORSEMENT_EXISTS'],
    ['over the cap', u0, endorse(addr(u3)), 'ENDORSEMENT_LIMIT'],
    ['revoke a missing one', u1, revoke(addr(u3)), 'ENDORSEMENT_NOT_FOUND'],
    ['revoke the reverse of a real one', u1, revoke(addr(u0)), 'ENDORSEMENT_NOT_FOUND'],
  ];
  for (const [label, from, msg, want] of rows) {
    const before = await d.app.store.entries(new Uint8Array([Namespace.ENDORSEMENT]));
    const { result, out } = await d.run(from, msg);
    t.equal(result.code, code(want), `${label}: ${want}`);
    t.match(result.log, /\w/, `${label}: says why`);
    t.equal(writesIn(out, Namespace.ENDORSEMENT), 0, `${label}: no endorsement written`);
    t.same(await d.app.store.entries(new Uint8Array([Namespace.ENDORSEMENT])), before, `${label}: endorsements unchanged`);
    t.equal(out.state.filter((w) => w.key[0] === Namespace.REPUTATION && toHex(w.key.subarray(1)) === toHex(addr(from))).length, 0, `${label}: no reputation of the signer written`);
  }

  // Revoke frees the slot.
  const r = await d.run(u0, revoke(addr(u1)));
  t.equal(r.result.code, 0, r.result.log);
  t.same(events(r.result.events, 'revoke_endorsement'), [{ endorser: toHex(addr(u0)), subject: toHex(addr(u1)) }]);
  t.equal(writesIn(r.out, Namespace.ENDORSEMENT), 2, 'both keys deleted');
  t.equal(await getEndorsement(d.app.store, addr(u0), addr(u1)), undefined);
  t.equal((await d.run(u0, endorse(addr(u3)))).result.code, 0, 'the freed slot takes a new endorsement');
  t.equal((await d.run(u0, endorse(addr(u1)))).result.code, code('ENDORSEMENT_LIMIT'), 'and the cap holds again');

  // Subjects and signers whose attestation expired are not active agents.
  await d.block([], { time: d.time + 31n * DAY });
  t.equal((await d.run(d.fx.validators[0], endorse(addr(u1)))).result.code, code('SUBJECT_NOT_AN_AGENT'), 'expired subject');
  t.equal((await d.run(u0, revoke(addr(u3)))).result.code, 0, 'an expired agent may still revoke what it gave');
});

t.test('anti-gaming: mutual pairs and triangles give nothing while they stand; longer rings are not detected', async (t) => {
  const fx = agentsFixture({ validators: 4, params: (p) => void (p.reputation.validator_signed = 300_000n) });
  const d = await Driver.open(fx, t.teardown);
  const [a, b, c, e] = fx.validators;
  const p = d.params;
  for (let i = 0; i < 4; i++) await d.block();
  const full = p.reputation.endorsement_credit;
  const run = async (from: KeyPair, msg: Msg): Promise<void> => {
    const { result } = await d.run(from, msg);
    if (result.code !== 0) throw new Error(result.log);
  };
  const socials = async (): Promise<bigint[]> => Promise.all([a, b, c, e].map((k) => social(d, k)));
  const h = halfLife(p);
  // The credit of from -> to decayed to now (each endorsement decays from its own block).
  const cr = async (from: KeyPair, to: KeyPair): Promise<bigint> => decay(full, d.time - (await getEndorsement(d.app.store, addr(from), addr(to)))!.createdNs, h);

  await run(a, endorse(addr(b)));
  t.same(await socials(), [0n, await cr(a, b), 0n, 0n], 'A -> B counts');
  await run(b, endorse(addr(a)));
  t.same(await socials(), [0n, 0n, 0n, 0n], 'A <-> B: neither counts');
  const view = await reputationView(d.app.store, p, addr(b), d.time);
  t.equal(view.received.list[0].status, 'mutual');
  t.equal(view.received.list[0].credit, 0n);
  t.equal(view.received.list[0].decayedCredit, await cr(a, b), 'the credit is kept, only not counted');
  await run(b, revoke(addr(a)));
  t.same(await socials(), [0n, await cr(a, b), 0n, 0n], 'breaking the pair restores A -> B');

  // Triangle A -> B -> C -> A.
  await run(b, endorse(addr(c)));
  t.same(await socials(), [0n, await cr(a, b), await cr(b, c), 0n], 'a chain counts');
  await run(c, endorse(addr(a)));
  t.same(await socials(), [0n, 0n, 0n, 0n], 'closing the triangle: none of its three edges counts');
  t.equal((await reputationView(d.app.store, p, addr(a), d.time)).received.list[0].status, 'triangle');
  // An edge into the triangle from outside still counts.
  await run(e, endorse(addr(a)));
  t.same(await socials(), [await cr(e, a), 0n, 0n, 0n], 'E -> A is outside the cycle');
  await run(c, revoke(addr(a)));
  t.same(await socials(), [await cr(e, a), await cr(a, b), await cr(b, c), 0n], 'breaking the triangle restores its edges');

  // A ring of four (A -> B -> C -> E -> A) is beyond the detected lengths: its edges count (documented limit).
  await run(c, endorse(addr(e)));
  t.same(await socials(), [await cr(e, a), await cr(a, b), await cr(b, c), await cr(c, e)], 'a 4-cycle counts');
});

t.test('endorsements follow registrations: inactive endorsers stop counting; a re-registered agent starts clean', async (t) => {
  const fx = agentsFixture({
    validators: 2,
    users: 2,
    params: (p) => {
      p.reputation.validator_signed = 300_000n;
      p.agents.unbonding_seconds = 3_600n;
    },
  });
  const d = await Driver.open(fx, t.teardown);
  const [v0] = fx.validators;
  const [u0, u1] = fx.users;
  const p = d.params;
  await registerAll(d, [u0, u1]);
  for (let i = 0; i < 4; i++) await d.block();
  t.equal((await d.run(v0, endorse(addr(u0)))).result.code, 0);
  t.equal((await d.run(u1, endorse(addr(u0)))).result.code, 0);
  t.equal((await d.run(u0, endorse(addr(u1)))).result.code, 0);
  const credit = p.reputation.endorsement_credit;
  const v0u0 = async (): Promise<bigint> => decay(credit, d.time - (await getEndorsement(d.app.store, addr(v0), addr(u0)))!.createdNs, halfLife(p));
  t.equal(await social(d, u0), await v0u0(), 'v0 -> u0 counts; u1 -> u0 is mutual (and worth 0 anyway)');

  // u1's attestation lapses: its endorsement is inactive (view says so); u0 -> u1 then counts again... for 0 credit.
  await d.block([], { time: d.time + 31n * DAY });
  const view = await reputationView(d.app.store, p, addr(u0), d.time);
  const byEndorser = Object.fromEntries(view.received.list.map((s) => [toHex(s.endorsement.endorser), s.status]));
  t.equal(byEndorser[toHex(addr(u1))], 'endorser_inactive');
  t.equal(byEndorser[toHex(addr(v0))], 'counts');
  t.equal(view.dimensions.social, await v0u0(), 'decayed since given');

  // u0 deregisters, its bond returns, it registers again: what it held and gave is stale.
  t.equal((await d.run(u0, { type: 'renew_attestation', value: { attestation: d.attest(u0) } })).result.code, 0);
  t.equal((await d.run(u0, { type: 'deregister_agent', value: {} })).result.code, 0);
  await d.block([], { time: d.time + 3_601n * SECOND });
  await d.block();
  t.equal(await getAgent(d.app.store, addr(u0)), undefined, 'the agent record is gone with its bond');
  t.equal((await d.run(u0, register(d, u0))).result.code, 0);
  t.equal(await social(d, u0), 0n, 'old endorsements of the earlier registration do not count');
  const again = await reputationView(d.app.store, p, addr(u0), d.time);
  t.same(again.received.list.map((s) => s.status), ['subject_reregistered', 'subject_reregistered'], 'both endorsements u0 held are stale');
  t.equal(again.given.slotsUsed, 0, 'stale given endorsements use no slot');
  // Re-endorsing replaces the stale record; endorsing anew clears the endorser's stale given ones.
  const re = await d.run(v0, endorse(addr(u0)));
  t.equal(re.result.code, 0, re.result.log);
  t.equal(await social(d, u0), credit, 'a fresh endorsement counts');
  t.equal((await getEndorsement(d.app.store, addr(v0), addr(u0)))!.createdNs, d.time, 'the stale record was replaced');
  t.not(await getEndorsement(d.app.store, addr(u0), addr(u1)), undefined, 'u0 -> u1 of the old registration is still stored');
  const fresh = await d.run(u0, endorse(addr(fx.validators[1])));
  t.equal(fresh.result.code, 0, fresh.result.log);
  t.equal(await getEndorsement(d.app.store, addr(u0), addr(u1)), undefined, 'and cleared when u0 endorses again');
});
