// Agents, staking, slashing and rewards (issue 6) on a real LevelDB: every message's success and every rejection,
// the epoch validator set, downtime and double-sign slashing, the slash escrow, and rewards to signers.
// Every block the driver applies is followed by the supply invariant check.
import t from 'tap';
import { ErrorCodes, type ErrorCode } from '../src/errors.ts';
import { toHex } from '../src/crypto/bytes.ts';
import type { Event, Msg } from '../src/codec/types.ts';
import { getAccount, moduleAddress, ModuleAccount } from '../src/state/accounts.ts';
import { agents, getAgent, markCapabilitiesVerified } from '../src/state/agents.ts';
import { MAX_UNBONDING_ENTRIES, unbondings } from '../src/state/bonds.ts';
import { validators, JAILED_FOREVER } from '../src/state/validators.ts';
import { allSlashEscrows, restoreSlash, slash } from '../src/state/slashing.ts';
import { targetPowers } from '../src/state/staking.ts';
import { getSupply, supplyBreakdown } from '../src/state/economics.ts';
import { StateOverlay } from '../src/state/overlay.ts';
import { SCORE_ONE, votingPower } from '../src/reputation/factor.ts';
import { reputationScorer } from '../src/reputation/module.ts';
import { ACC, CAPS, CHAIN_ID, DAY, Driver, SECOND, addr, agentsFixture, duplicateVote, key } from './helpers/agents.ts';
import { blsKeyOf } from './helpers/chain.ts';

const code = (c: ErrorCode): number => ErrorCodes[c];
const register = (d: Driver, k = d.fx.users[0], over: Partial<{ bond: bigint; attestation: ReturnType<Driver['attest']> }> = {}): Msg => ({
  type: 'register_agent',
  value: { capabilities: CAPS, attestation: over.attestation ?? d.attest(k), bond: over.bond ?? d.params.agents.bond },
});
// One valid BLS key for every validator these tests create: they never propose, and a key need not be unique.
const TEST_BLS = blsKeyOf(key(250));
const stake = (amount: bigint, consensusPubKey: Uint8Array = new Uint8Array(0), moniker = '', blsPubKey: Uint8Array = TEST_BLS): Msg => ({
  type: 'stake',
  value: { amount, consensusPubKey, moniker, blsPubKey },
});
const unstake = (amount: bigint): Msg => ({ type: 'unstake', value: { amount } });
const events = (evs: readonly Event[], type: string): Array<Record<string, string>> =>
  evs.filter((e) => e.type === type).map((e) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value])));

t.test('register_agent: bond locked, fee burned, record written; capabilities claimed until the benchmark hook', async (t) => {
  const d = await Driver.open(agentsFixture(), t.teardown);
  const u = d.fx.users[0];
  const before = (await getAccount(d.app.store, addr(u))).balance;
  const burnedBefore = (await getSupply(d.app.store)).burned;
  const { result } = await d.run(u, register(d));
  t.equal(result.code, 0, result.log);
  const fee = result.gasUsed; // gas price 1
  const p = d.params.agents;
  t.equal((await getAccount(d.app.store, addr(u))).balance, before - p.bond - p.registration_fee - fee, 'bond + registration fee + gas left the balance');
  t.equal((await getSupply(d.app.store)).burned - burnedBefore, p.registration_fee + (fee - fee / 2n), 'the registration fee and half the gas fee burned');
  const a = (await getAgent(d.app.store, addr(u)))!;
  t.equal(a.bond, p.bond);
  t.equal(a.status, 'active');
  t.equal(a.attestationKind, 'authority');
  t.equal(a.attestationExpiresNs, d.time - SECOND + 30n * DAY, 'expiry from the attestation');
  t.same(a.capabilities, CAPS);
  t.equal(a.capabilitiesVerified, false, 'claimed');
  t.same(events(result.events, 'register_agent')[0].agent, toHex(addr(u)));
  const state = new StateOverlay(d.app.store);
  t.equal(await markCapabilitiesVerified(state, addr(u), d.time), true);
  t.equal((await getAgent(state, addr(u)))!.capabilitiesVerified, true, 'the benchmark hook verifies them');
  t.equal(await markCapabilitiesVerified(state, addr(d.fx.users[3]), d.time), false, 'no such agent');
  t.equal((await supplyBreakdown(d.app.store)).bonded, (BigInt(d.fx.genesis.validators.length) + 1n) * p.bond, 'bonded counts genesis validators and the new agent');
});

t.test('register_agent rejections: each code, and nothing but the fee and nonce changes', async (t) => {
  const d = await Driver.open(agentsFixture({ params: (p) => void (p.agents.max_tags = 2n) }), t.teardown);
  const [u0, u1, u2] = d.fx.users;
  const poor = key(77);
  const now = d.time + SECOND; // the block's time
  const rows: Array<[string, () => Msg, ErrorCode, ReturnType<typeof key>?]> = [
    ['bond too small', () => register(d, u0, { bond: d.params.agents.bond - 1n }), 'BOND_TOO_SMALL'],
    ['unknown authority', () => register(d, u0, { attestation: d.attest(u0, { authority: key(55) }) }), 'BAD_ATTESTATION'],
    ['bad signature', () => {
      const a = d.attest(u0);
      const report = Uint8Array.from(a.report);
      report[report.length - 1] ^= 1;
      return register(d, u0, { attestation: { ...a, report } });
    }, 'BAD_ATTESTATION'],
    ['expired attestation', () => register(d, u0, { attestation: d.attest(u0, { issuedNs: now - 10n * DAY, expiresNs: now - DAY }) }), 'ATTESTATION_EXPIRED'],
    ['attestation longer than allowed', () => register(d, u0, { attestation: d.attest(u0, { issuedNs: now, expiresNs: now + 91n * DAY }) }), 'ATTESTATION_EXPIRED'],
    ['attestation bound to another key', () => register(d, u0, { attestation: d.attest(u0, { agentPubKey: u1.publicKey }) }), 'ATTESTATION_MISMATCH'],
    ['attestation for another chain', () => register(d, u0, { attestation: d.attest(u0, { chainId: 'other-chain' }) }), 'ATTESTATION_MISMATCH'],
    ['unsupported kind', () => register(d, u0, { attestation: { kind: 'tdx', report: new Uint8Array([1, 2, 3]) } }), 'UNSUPPORTED_ATTESTATION'],
    ['too many tags', () => ({ type: 'register_agent', value: { capabilities: { ...CAPS, skills: ['a', 'b', 'c'] }, attestation: d.attest(u0), bond: d.params.agents.bond } }), 'INVALID_FIELD'],
    ['bond + fee above the balance', () => register(d, u2, { bond: 100_000n * ACC }), 'INSUFFICIENT_FUNDS', u2],
    ['a genesis validator registering again', () => register(d, d.fx.validators[0]), 'ALREADY_REGISTERED', d.fx.validators[0]],
  ];
  // The genesis validators hold no liquid balance: fund the one that tries to register again.
  await d.block([await d.tx(u1, { type: 'send', value: { to: addr(d.fx.validators[0]), amount: 1_000n * ACC } })]);
  void poor;
  for (const [name, msg, expected, signer] of rows) {
    const from = signer ?? u0;
    const agentsBefore = (await agents.all(d.app.store)).length;
    const bal = (await getAccount(d.app.store, addr(from))).balance;
    const { result } = await d.run(from, msg());
    t.equal(result.code, code(expected), `${name}: ${result.log}`);
    t.equal((await agents.all(d.app.store)).length, agentsBefore, `${name}: no agent written`);
    // (a validator also earns rewards every block: its balance is not compared)
    if (signer !== d.fx.validators[0]) t.equal((await getAccount(d.app.store, addr(from))).balance, bal - result.gasUsed, `${name}: only the gas was paid`);
  }
  t.equal((await d.run(u0, register(d))).result.code, 0, 'the same agent registers with a good message');
  t.equal((await d.run(u0, register(d))).result.code, code('ALREADY_REGISTERED'), 'double registration');
});

t.test('renew_attestation and expiry: an unattested agent cannot stake', async (t) => {
  const d = await Driver.open(agentsFixture(), t.teardown);
  const u = d.fx.users[0];
  t.equal((await d.run(d.fx.users[1], { type: 'renew_attestation', value: { attestation: d.attest(d.fx.users[1]) } })).result.code, code('NOT_AN_AGENT'), 'not an agent');
  t.equal((await d.run(u, register(d, u, { attestation: d.attest(u, { expiresNs: d.time + SECOND + 2n * DAY }) }))).result.code, 0);
  const later = d.time + 3n * DAY;
  t.equal((await d.run(u, stake(2_000n * ACC), { time: later })).result.code, code('NOT_AN_AGENT'), 'attestation expired: cannot stake');
  const renewed = await d.run(u, { type: 'renew_attestation', value: { attestation: d.attest(u) } });
  t.equal(renewed.result.code, 0, renewed.result.log);
  t.equal((await getAgent(d.app.store, addr(u)))!.attestationExpiresNs, d.time - SECOND + 30n * DAY);
  t.equal((await d.run(u, { type: 'renew_attestation', value: { attestation: d.attest(u, { agentPubKey: d.fx.users[1].publicKey }) } })).result.code, code('ATTESTATION_MISMATCH'));
  t.equal((await d.run(u, stake(2_000n * ACC))).result.code, 0, 'renewed: stakes');
});

t.test('stake: only agents; min stake; consensus key in use; power arrives at the epoch boundary as stake x factor', async (t) => {
  const d = await Driver.open(agentsFixture({ params: (p) => void (p.staking.epoch_blocks = 20n) }), t.teardown);
  const [u0, u1] = d.fx.users;
  t.equal((await d.run(u0, stake(5_000n * ACC))).result.code, code('NOT_AN_AGENT'), 'stake by a non-agent');
  await d.block([await d.tx(u0, register(d, u0)), await d.tx(u1, register(d, u1))]);
  t.equal((await d.run(u0, stake(d.params.staking.min_stake - 1n))).result.code, code('STAKE_TOO_SMALL'));
  t.equal((await d.run(u0, stake(5_000n * ACC, d.fx.validators[0].publicKey))).result.code, code('CONSENSUS_KEY_IN_USE'), "another validator's key");
  const consensus = key(60);
  const ok = await d.run(u0, stake(5_000n * ACC, consensus.publicKey, 'agent-zero'));
  t.equal(ok.result.code, 0, ok.result.log);
  t.equal((await d.run(u0, stake(1n, key(61).publicKey))).result.code, code('VALIDATOR_STATE'), 'the consensus key cannot change');
  t.equal((await d.run(u0, stake(1_000n * ACC))).result.code, 0, 'more stake on the same validator');
  const v = (await validators.get(d.app.store, addr(consensus)))!;
  t.equal(v.stake, 6_000n * ACC);
  t.ok(d.app.head().height < 20n);
  t.equal(v.power, 0n, 'no power before the epoch boundary');
  t.same(v.operator, addr(u0));
  t.equal(v.name, 'agent-zero');
  t.same((await getAgent(d.app.store, addr(u0)))!.validator, addr(consensus));
  const outs = await d.toEpoch();
  const last = outs[outs.length - 1];
  t.same(last.validatorUpdates.filter((u) => toHex(u.pubKey) === toHex(consensus.publicKey)), [{ pubKey: consensus.publicKey, power: 6_000n * ACC }], 'the epoch block hands the new validator to consensus');
  t.equal((await validators.get(d.app.store, addr(consensus)))!.power, 6_000n * ACC, 'power = stake x the neutral factor (a new validator has no validator reputation)');
  // The genesis validators signed every block: the boundary raises them to stake x their (higher) factor.
  for (const k of d.fx.validators) {
    const v = (await validators.get(d.app.store, addr(k)))!;
    const want = votingPower(v.stake, await reputationScorer(d.app.store, v, d.params, d.time));
    t.ok(want > v.stake, 'signing earned a factor above 1');
    t.same(last.validatorUpdates.filter((u) => toHex(u.pubKey) === toHex(k.publicKey)), [{ pubKey: k.publicKey, power: want }], 'genesis validator at stake x factor');
  }
  t.same(outs.slice(0, -1).flatMap((o) => o.validatorUpdates), [], 'no updates between boundaries');
  // An agent with no consensus key given validates with its own key.
  t.equal((await d.run(u1, stake(2_000n * ACC))).result.code, 0);
  t.ok(await validators.get(d.app.store, addr(u1)), 'consensus address = the agent address');
});

t.test('the set is the top max_validators by stake x reputation factor', async (t) => {
  const d = await Driver.open(agentsFixture({ validators: 3, params: (p) => void (p.staking.max_validators = 2n) }), t.teardown);
  const [v0, v1, v2] = d.fx.validators.map(addr);
  const params = d.params;
  // Neutral scores: all three have 1,000,000 ACC; the tie breaks by address and only two keep power.
  const neutral = await targetPowers(d.app.store, params, d.time, true, async () => SCORE_ONE);
  t.equal([...neutral.values()].filter((p) => p > 0n).length, 2, 'max_validators caps the set');
  // Reputation reorders: v2 with score 3 (factor 1.5) and v0 with score 0 (factor 0.5).
  const scores = new Map([[toHex(v0), 0n], [toHex(v1), SCORE_ONE], [toHex(v2), 3n * SCORE_ONE]]);
  const weighted = await targetPowers(d.app.store, params, d.time, true, async (_s, v) => scores.get(toHex(v.address))!);
  const stakeOf = 1_000_000n * ACC;
  t.equal(weighted.get(toHex(v2)), (stakeOf * 3n) / 2n, 'score 3: factor 1.5');
  t.equal(weighted.get(toHex(v1)), stakeOf, 'neutral: factor 1');
  t.equal(weighted.get(toHex(v0)), 0n, 'score 0 (factor 0.5) ranks last and is cut');
  // Between boundaries power only goes down: a higher score does not raise it.
  const between = await targetPowers(d.app.store, params, d.time, false, async () => 3n * SCORE_ONE);
  t.equal(between.get(toHex(v1)), stakeOf);
});

t.test('unstake: rejections, power drops at once, tokens return after the unbonding period', async (t) => {
  const d = await Driver.open(agentsFixture({ params: (p) => void (p.staking.unbonding_seconds = 2n * 86_400n) }), t.teardown);
  const v0 = d.fx.validators[0];
  const u = d.fx.users[0];
  t.equal((await d.run(u, unstake(1n))).result.code, code('VALIDATOR_STATE'), 'no validator');
  // Genesis validators hold no liquid balance: fund v0's gas.
  await d.block([await d.tx(u, { type: 'send', value: { to: addr(v0), amount: 100n * ACC } })]);
  const stakeOf = 1_000_000n * ACC;
  t.equal((await d.run(v0, unstake(stakeOf + 1n))).result.code, code('UNSTAKE_EXCEEDS_STAKE'));
  t.equal((await d.run(v0, unstake(stakeOf - 1n))).result.code, code('STAKE_TOO_SMALL'), 'would leave less than min_stake');
  const balBefore = (await getAccount(d.app.store, addr(v0))).balance;
  const { result, out } = await d.run(v0, unstake(400_000n * ACC));
  t.equal(result.code, 0, result.log);
  // 600,000 ACC x v0's factor as recorded at the last epoch boundary (1, or a little above from the blocks it
  // signed), below its power: at once.
  const v0Now = (await validators.get(d.app.store, addr(v0)))!;
  const dropped = votingPower(600_000n * ACC, await reputationScorer(d.app.store, v0Now, d.params, d.time));
  t.ok(dropped >= 600_000n * ACC && dropped < stakeOf);
  t.same(out.validatorUpdates.filter((u) => toHex(u.pubKey) === toHex(v0.publicKey)).map((u) => u.power), [dropped], 'power drops in the same block');
  t.equal((await supplyBreakdown(d.app.store)).unbonding, 400_000n * ACC);
  await d.block([], { time: d.time + DAY });
  t.equal((await unbondings.all(d.app.store)).length, 1, 'still unbonding after a day');
  const done = await d.block([], { time: d.time + DAY + SECOND });
  t.same(events(done.endBlockEvents, 'unbonding_complete').map((e) => [e.kind, e.amount]), [['stake', (400_000n * ACC).toString()]]);
  const gained = (await getAccount(d.app.store, addr(v0))).balance - balBefore;
  t.ok(gained >= 400_000n * ACC, 'the unstaked tokens are back (plus rewards)');
  t.equal((await unbondings.all(d.app.store)).length, 0);
});

t.test('deregister_agent: needs no stake; the bond returns after the unbonding period, then the agent may register again', async (t) => {
  const d = await Driver.open(agentsFixture({ params: (p) => void (p.agents.unbonding_seconds = 86_400n) }), t.teardown);
  const u = d.fx.users[0];
  t.equal((await d.run(u, { type: 'deregister_agent', value: {} })).result.code, code('NOT_AN_AGENT'));
  await d.run(u, register(d, u));
  await d.run(u, stake(2_000n * ACC));
  t.equal((await d.run(u, { type: 'deregister_agent', value: {} })).result.code, code('VALIDATOR_STATE'), 'unstake first');
  await d.run(u, unstake(2_000n * ACC));
  const { result } = await d.run(u, { type: 'deregister_agent', value: {} });
  t.equal(result.code, 0, result.log);
  const a = (await getAgent(d.app.store, addr(u)))!;
  t.equal(a.status, 'unbonding');
  t.equal(a.bond, 0n);
  t.equal((await d.run(u, register(d, u))).result.code, code('ALREADY_REGISTERED'), 'not while the bond unbonds');
  t.equal((await d.run(u, stake(2_000n * ACC))).result.code, code('NOT_AN_AGENT'), 'a leaving agent cannot stake');
  const bal = (await getAccount(d.app.store, addr(u))).balance;
  await d.block([], { time: d.time + DAY + SECOND });
  t.equal(await getAgent(d.app.store, addr(u)), undefined, 'the record is gone once the bond is back');
  t.ok((await getAccount(d.app.store, addr(u))).balance >= bal + d.params.agents.bond, 'bond returned');
  t.equal((await d.run(u, register(d, u))).result.code, 0, 'registers again');
  t.equal((await d.run(u, stake(2_000n * ACC))).result.code, 0, 'and comes back to its old validator');
});

t.test('downtime: missing too many blocks of the window slashes 1%, jails, and the validator leaves the set at once', async (t) => {
  const d = await Driver.open(agentsFixture({ params: (p) => { p.slashing.downtime_window_blocks = 10n; p.slashing.downtime_min_signed_bps = 5000n; p.slashing.downtime_jail_seconds = 60n; } }), t.teardown);
  const [v0, v1] = d.fx.validators;
  await d.block(); // block 1: no last commit
  const absent = async () => (await d.signedByAll()).map((v) => ({ ...v, signed: toHex(v.address) !== toHex(addr(v1)) }));
  let slashed: Record<string, string> | undefined;
  let outs = 0;
  while (slashed === undefined && outs < 20) {
    const out = await d.block([], { lastCommit: await absent() });
    outs++;
    slashed = events(out.beginBlockEvents, 'slash')[0];
    if (slashed !== undefined) {
      t.same(out.validatorUpdates, [{ pubKey: v1.publicKey, power: 0n }], 'removed from the set in the same block');
    }
  }
  t.ok(slashed, 'slashed for downtime');
  t.equal(outs, 10, 'slashed once a full window (10 blocks) is counted with more than 5 missed');
  t.equal(slashed!.kind, 'downtime');
  const stakeOf = 1_000_000n * ACC;
  const bond = d.params.agents.bond;
  t.equal(BigInt(slashed!.amount), stakeOf / 100n + bond / 100n, '1% of stake and bond');
  const v = (await validators.get(d.app.store, addr(v1)))!;
  t.equal(v.stake, stakeOf - stakeOf / 100n);
  t.ok(v.jailedUntilNs > d.time, 'jailed');
  t.equal(v.power, 0n);
  t.equal((await supplyBreakdown(d.app.store)).slashEscrow, BigInt(slashed!.amount));
  // Unjail: not before the term; then it rejoins at the next epoch.
  await d.block([await d.tx(d.fx.users[0], { type: 'send', value: { to: addr(v1), amount: 100n * ACC } })]);
  t.equal((await d.run(v1, { type: 'unjail', value: {} })).result.code, code('VALIDATOR_STATE'), 'jailed until the term ends');
  t.equal((await d.run(v0, { type: 'unjail', value: {} })).result.code, code('VALIDATOR_STATE'), 'not jailed');
  const { result, out: unjailed } = await d.run(v1, { type: 'unjail', value: {} }, { time: d.time + 61n * SECOND });
  t.equal(result.code, 0, result.log);
  const outsEpoch = [unjailed, ...(await d.toEpoch())];
  // Its missed blocks cost validator reputation: it comes back at its reduced stake x the factor recorded at the
  // boundary, below 1.
  const v1Back = (await validators.get(d.app.store, addr(v1)))!;
  const back = votingPower(stakeOf - stakeOf / 100n, await reputationScorer(d.app.store, v1Back, d.params, d.time));
  t.ok(back < stakeOf - stakeOf / 100n, 'the factor is below 1 after missing blocks');
  // (If the unjail block was itself a boundary, v1 joined there and rose at the next one, having signed since.)
  const ups = outsEpoch.flatMap((o) => o.validatorUpdates).filter((u) => toHex(u.pubKey) === toHex(v1.publicKey)).map((u) => u.power);
  t.ok(ups.length >= 1 && ups.every((p, i) => i === 0 || p >= ups[i - 1]), `joins at a boundary, only rises after (${ups.join(', ')})`);
  t.equal(ups[ups.length - 1], back, 'back in the set at the epoch');
});

t.test('double-sign evidence: 5% of stake, bond and later unbonding entries into the escrow; tombstoned for good', async (t) => {
  // (governance's voting period + timelock must stay shorter than the appeal window)
  const d = await Driver.open(agentsFixture({ params: (p) => { p.slashing.appeal_window_seconds = 86_400n; p.governance.voting_seconds = 3_600n; p.governance.timelock_seconds = 3_600n; } }), t.teardown);
  const [, v1] = d.fx.validators;
  await d.block([await d.tx(d.fx.users[0], { type: 'send', value: { to: addr(v1), amount: 100n * ACC } })]);
  await d.run(v1, unstake(100_000n * ACC)); // two blocks before the infraction: its power was gone by then, not answerable
  await d.run(v1, unstake(50_000n * ACC)); // one block before: the power update is not in force yet, so it voted: answerable
  const infraction = d.app.head().height + 1n;
  await d.block();
  await d.run(v1, unstake(200_000n * ACC)); // after the infraction: slashed too
  const stakeNow = (await validators.get(d.app.store, addr(v1)))!.stake;
  const ev = duplicateVote(v1, infraction, 700_000n * ACC, 2_700_000n * ACC, d.time);
  const out = await d.block([], { evidence: [ev] });
  const s = events(out.beginBlockEvents, 'slash')[0];
  t.equal(s.kind, 'double_sign');
  t.equal(s.tombstoned, 'true');
  const cut = (x: bigint) => (x * 500n) / 10_000n;
  t.equal(BigInt(s.amount), cut(stakeNow) + cut(d.params.agents.bond) + cut(50_000n * ACC) + cut(200_000n * ACC), 'stake, bond and the answerable unbonding entries');
  const v = (await validators.get(d.app.store, addr(v1)))!;
  t.equal(v.tombstoned, true);
  t.equal(v.jailedUntilNs, JAILED_FOREVER);
  t.equal(v.stake, stakeNow - cut(stakeNow));
  t.same(out.validatorUpdates, [{ pubKey: v1.publicKey, power: 0n }], 'out of the set');
  const entries = (await unbondings.all(d.app.store)).map(([, u]) => u.amount.toString()).sort();
  t.same(entries, [100_000n * ACC, 50_000n * ACC - cut(50_000n * ACC), 200_000n * ACC - cut(200_000n * ACC)].map(String).sort(), 'the earliest entry untouched, the others cut');
  // The same evidence again (or any other) for a tombstoned validator is ignored.
  const again = await d.block([], { evidence: [duplicateVote(v1, infraction, 1n, 1n, d.time)] });
  t.same(events(again.beginBlockEvents, 'slash'), []);
  t.equal(events(again.beginBlockEvents, 'evidence_ignored')[0].reason, 'already tombstoned');
  t.equal((await d.run(v1, { type: 'unjail', value: {} })).result.code, code('VALIDATOR_STATE'), 'a tombstoned validator never unjails');
  t.equal((await d.run(v1, stake(1_000n * ACC))).result.code, code('VALIDATOR_STATE'), 'nor takes new stake');
  t.equal((await d.run(v1, unstake(100_000n * ACC))).result.code, 0, 'but may withdraw what is left');
  // The escrow burns once the appeal window is over.
  const burned = (await getSupply(d.app.store)).burned;
  const end = await d.block([], { time: d.time + DAY + SECOND });
  t.equal(events(end.endBlockEvents, 'slash_burned')[0].amount, s.amount);
  t.ok((await getSupply(d.app.store)).burned >= burned + BigInt(s.amount));
  t.same(await allSlashEscrows(d.app.store), []);
});

t.test('slash hook and restoreSlash (the appeal governance runs)', async (t) => {
  const d = await Driver.open(agentsFixture(), t.teardown);
  const u = d.fx.users[0];
  await d.run(u, register(d, u));
  const state = new StateOverlay(d.app.store);
  const r = await slash(state, d.params, { height: 10n, time: d.time }, addr(u), 'fraudulent_result', 10n);
  t.equal(r.amount, (d.params.agents.bond * 1000n) / 10_000n, 'fraud: 10% of the bond');
  t.equal((await getAgent(state, addr(u)))!.bond, d.params.agents.bond - r.amount);
  const bal = (await getAccount(state, addr(u))).balance;
  const restored = await restoreSlash(state, r.escrowId!);
  t.equal(restored!.amount, r.amount);
  t.equal((await getAccount(state, addr(u))).balance, bal + r.amount, 'restored to the balance');
  t.equal(await restoreSlash(state, r.escrowId!), undefined, 'only once');
  t.same(await slash(state, d.params, { height: 10n, time: d.time }, addr(key(70)), 'missed_reveal', 10n), { escrowId: null, amount: 0n }, 'nothing at risk');
});

t.test('task infractions take from the agent bond only; consensus infractions from the validator stake too', async (t) => {
  const d = await Driver.open(agentsFixture(), t.teardown);
  const v = d.fx.validators[0]; // a genesis validator: an agent with a bond and a validator stake
  const before = (await validators.get(d.app.store, addr(v)))!.stake;
  const bond = (await getAgent(d.app.store, addr(v)))!.bond;
  const s = new StateOverlay(d.app.store);
  const r = await slash(s, d.params, { height: 10n, time: d.time }, addr(v), 'missed_reveal', 10n);
  t.equal(r.amount, (bond * d.params.slashing.severity_bps.missed_reveal) / 10_000n, 'missed reveal: its share of the bond');
  t.equal((await validators.get(s, addr(v)))!.stake, before, 'the validator stake untouched');
  const c = new StateOverlay(d.app.store);
  const dbl = await slash(c, d.params, { height: 10n, time: d.time }, addr(v), 'double_sign', 10n);
  const sev = d.params.slashing.severity_bps.double_sign;
  t.equal(dbl.amount, (before * sev) / 10_000n + (bond * sev) / 10_000n, 'double sign: stake and bond');
});

t.test('rewards: fees and the validators emission go to the signers of the previous block, pro rata to power', async (t) => {
  const d = await Driver.open(agentsFixture({ validators: 3 }), t.teardown);
  const [v0, v1, v2] = d.fx.validators;
  await d.block();
  const collector = moduleAddress(ModuleAccount.FEE_COLLECTOR);
  const bal = async (k: ReturnType<typeof key>) => (await getAccount(d.app.store, addr(k))).balance;
  const before = [await bal(v0), await bal(v1), await bal(v2)];
  const pot = (await getAccount(d.app.store, collector)).balance;
  const signed = (await d.signedByAll()).map((v) => ({ ...v, signed: toHex(v.address) !== toHex(addr(v2)) }));
  const out = await d.block([], { lastCommit: signed });
  const emitted = events(out.beginBlockEvents, 'emission').find((e) => e.pool === 'validators')!;
  const total = pot + BigInt(emitted.amount);
  const share = total / 2n; // two signers with equal power
  t.equal((await bal(v0)) - before[0], share);
  t.equal((await bal(v1)) - before[1], share);
  t.equal((await bal(v2)) - before[2], 0n, 'the absent validator earns nothing');
  t.equal((await getAccount(d.app.store, collector)).balance, total - 2n * share, 'the remainder waits');
  const rewardsPot = (await getAccount(d.app.store, moduleAddress(ModuleAccount.rewards('compute_providers')))).balance;
  t.ok(rewardsPot > 0n, 'the compute providers emission waits in its pot for the tasks module');
});

t.test('the set is never emptied: jailing the only validator keeps it and says so', async (t) => {
  const d = await Driver.open(agentsFixture({ validators: 1 }), t.teardown);
  const [v0] = d.fx.validators;
  await d.block();
  const out = await d.block([], { evidence: [duplicateVote(v0, 1n, 1n, 1n, d.time)] });
  t.equal(events(out.beginBlockEvents, 'slash')[0].kind, 'double_sign');
  t.same(out.validatorUpdates, []);
  t.equal(events(out.endBlockEvents, 'validator_set_kept').length, 1);
});

t.test('leaving stays answerable: the last validator cannot unstake, deregistering waits for the power to go, unstakes are capped', async (t) => {
  const one = await Driver.open(agentsFixture({ validators: 1 }), t.teardown);
  const [solo] = one.fx.validators;
  await one.block([await one.tx(one.fx.users[0], { type: 'send', value: { to: addr(solo), amount: 100n * ACC } })]);
  const last = await one.run(solo, unstake(1_000_000n * ACC));
  t.equal(last.result.code, code('VALIDATOR_STATE'), 'the only validator cannot take all its stake out');
  t.match(last.result.log, /last one that can hold power/);
  t.equal((await one.run(solo, unstake(1_000n * ACC))).result.code, 0, 'but may lower it while it stays eligible');

  const d = await Driver.open(agentsFixture(), t.teardown);
  const v1 = d.fx.validators[1];
  await d.block([await d.tx(d.fx.users[0], { type: 'send', value: { to: addr(v1), amount: 100n * ACC } })]);
  // In one block: unstake everything, then deregister. The power only goes at end-block, so the second is refused.
  const out = await d.block([await d.tx(v1, unstake(1_000_000n * ACC)), await d.tx(v1, { type: 'deregister_agent', value: {} })]);
  t.equal(out.txResults[0].code, 0, out.txResults[0].log);
  t.equal(out.txResults[1].code, code('VALIDATOR_STATE'));
  t.match(out.txResults[1].log, /still holds 1000000000000 voting power/);
  t.same(out.validatorUpdates, [{ pubKey: v1.publicKey, power: 0n }]);
  t.equal((await d.run(v1, { type: 'deregister_agent', value: {} })).result.code, 0, 'deregisters once out of the set');

  // At most MAX_UNBONDING_ENTRIES unstakes wait per owner.
  const v2 = d.fx.validators[2];
  await d.block([await d.tx(d.fx.users[0], { type: 'send', value: { to: addr(v2), amount: 100n * ACC } })]);
  for (let i = 0; i < MAX_UNBONDING_ENTRIES; i++) t.equal((await d.run(v2, unstake(1_000n * ACC))).result.code, 0);
  const capped = await d.run(v2, unstake(1_000n * ACC));
  t.equal(capped.result.code, code('TOO_MANY_UNBONDINGS'));
  t.match(capped.result.log, /already has 7 unstakes waiting/);
});

t.test('message validation: zero amounts, bad keys, bad tags are rejected at decode', async (t) => {
  const d = await Driver.open(agentsFixture(), t.teardown);
  const u = d.fx.users[0];
  const rows: Array<[string, Msg, ErrorCode]> = [
    ['zero stake', stake(0n), 'INVALID_AMOUNT'],
    ['zero unstake', unstake(0n), 'INVALID_AMOUNT'],
    ['short consensus key', stake(1n, new Uint8Array(31)), 'INVALID_FIELD'],
    ['bad moniker', stake(1n, new Uint8Array(0), 'tab\there'), 'INVALID_FIELD'],
    ['zero bond', { type: 'register_agent', value: { capabilities: CAPS, attestation: d.attest(u), bond: 0n } }, 'INVALID_AMOUNT'],
    ['upper-case tag', { type: 'register_agent', value: { capabilities: { ...CAPS, models: ['Llama'] }, attestation: d.attest(u), bond: 1n } }, 'INVALID_FIELD'],
    ['duplicate tag', { type: 'register_agent', value: { capabilities: { ...CAPS, skills: ['x', 'x'] }, attestation: d.attest(u), bond: 1n } }, 'INVALID_FIELD'],
    ['empty report', { type: 'register_agent', value: { capabilities: CAPS, attestation: { kind: 'authority', report: new Uint8Array(0) }, bond: 1n } }, 'INVALID_FIELD'],
    ['bad kind', { type: 'register_agent', value: { capabilities: CAPS, attestation: { kind: 'Bad Kind', report: new Uint8Array(1) }, bond: 1n } }, 'INVALID_FIELD'],
  ];
  for (const [name, msg, expected] of rows) {
    const { result } = await d.run(u, msg);
    t.equal(result.code, code(expected), `${name}: ${result.log}`);
    t.equal(result.gasUsed, 0n, `${name}: rejected before paying gas`);
  }
  t.equal(CHAIN_ID, 'test-chain');
});

t.test('an agent slashed to nothing is not stuck: deregistering or a fully slashed returning bond ends the record', async (t) => {
  const d = await Driver.open(agentsFixture({ params: (p) => { p.slashing.severity_bps.fraudulent_result = 10_000n; } }), t.teardown);
  const [u0, u1] = d.fx.users;
  await d.block([await d.tx(u0, register(d, u0)), await d.tx(u1, register(d, u1))]);
  // u0: slashed 100% while registered: it keeps its record with a zero bond (deregister_agent then deletes it at once).
  const s0 = new StateOverlay(d.app.store);
  t.equal((await slash(s0, d.params, { height: 2n, time: d.time }, addr(u0), 'fraudulent_result', 2n)).amount, d.params.agents.bond);
  t.equal((await getAgent(s0, addr(u0)))!.bond, 0n);
  // u1: deregisters first, then its returning bond is slashed 100% for an infraction before it left.
  const { result } = await d.run(u1, { type: 'deregister_agent', value: {} });
  t.equal(result.code, 0, result.log);
  const s1 = new StateOverlay(d.app.store);
  t.equal((await slash(s1, d.params, { height: 5n, time: d.time }, addr(u1), 'fraudulent_result', 1n)).amount, d.params.agents.bond);
  t.equal(await getAgent(s1, addr(u1)), undefined, 'the leaving agent with nothing left to return is gone');
  t.same(await unbondings.all(s1), []);
});

t.test('downtime threshold: signing fewer than min_signed_bps of the window is slashed (the minimum rounds up)', async (t) => {
  // window 10, 33.33%: at least 4 of 10 must be signed; 3 signed (7 missed) is slashed.
  const d = await Driver.open(agentsFixture({ params: (p) => { p.slashing.downtime_window_blocks = 10n; p.slashing.downtime_min_signed_bps = 3333n; } }), t.teardown);
  const v1 = addr(d.fx.validators[1]);
  await d.block();
  let slashedAt = 0;
  for (let i = 0; i < 10; i++) {
    const lastCommit = (await d.signedByAll()).map((v) => ({ ...v, signed: toHex(v.address) !== toHex(v1) || i < 3 }));
    const out = await d.block([], { lastCommit });
    if (events(out.beginBlockEvents, 'slash').length > 0) slashedAt = i + 1;
  }
  t.equal(slashedAt, 10, 'slashed when the window of 10 is full with 3 signed');
});
