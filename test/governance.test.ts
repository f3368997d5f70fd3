// Governance (issue 8) on the real state machine and LevelDB: the tally thresholds exactly at and one uacc off
// quorum, two thirds and a half; the voting end and the timelock to the nanosecond; every kind passing and
// executing; atomic execution failures; deposits returned and burned; vote replacement and weight read at the tally;
// every rejection code. Vote weights are exact because the tests choose the validators' stakes and the agents' bonds.
// Driver.block checks the supply invariant after every block. Parameter-value rejections: governance-params.test.ts.
import t from 'tap';
import { ErrorCodes, type ErrorCode } from '../src/errors.ts';
import { toHex } from '../src/crypto/bytes.ts';
import { formatTime } from '../src/codec/time.ts';
import type { Msg, TallyResult } from '../src/codec/types.ts';
import { getAccount, moduleAddress, ModuleAccount } from '../src/state/accounts.ts';
import { validators, JAILED_FOREVER } from '../src/state/validators.ts';
import { allSlashEscrows } from '../src/state/slashing.ts';
import { getSupply, supplyBreakdown } from '../src/state/economics.ts';
import { paramsRecord, readParams } from '../src/state/executor.ts';
import { isCritical, isCriticalParam, judge, minDeposit, totalVotingWeight, votingWeight } from '../src/state/governance/module.ts';
import { getGovState, votesOf } from '../src/state/governance/store.ts';
import { BPS, SLASH_APPEAL_MARGIN_SECONDS } from '../src/state/params.ts';
import { DAY, Driver, SECOND, addr, duplicateVote, key } from './helpers/agents.ts';
import {
  ACC,
  NO_ACTION,
  TIMELOCK_SECONDS,
  VOTING_SECONDS,
  castVotes,
  checkCirculating,
  deposit,
  dryRun,
  events,
  fundValidators,
  govFixture,
  heldSupply,
  okBlock,
  paramChanges,
  proposal,
  proposalMsg,
  registerMsg,
  sendMsg,
  submit,
  toExecution,
  toTally,
  voteMsg,
} from './helpers/gov.ts';

const code = (c: ErrorCode): number => ErrorCodes[c];
const TREASURY = moduleAddress(ModuleAccount.TREASURY);
const balance = async (d: Driver, a: Uint8Array): Promise<bigint> => (await getAccount(d.app.store, a)).balance;
const tally = (yes: bigint, no: bigint, abstain: bigint, veto: bigint, totalWeight: bigint): TallyResult => ({ yes, no, abstain, veto, totalWeight });
const upgrade = (name: string, height: bigint) => ({ upgrade: { name, height, info: 'https://example.org/releases' } });

// ---------------------------------------------------------------------------------------------------------------
// The tally rules, pure
// ---------------------------------------------------------------------------------------------------------------

t.test('judge: quorum, veto, standard and critical thresholds at the exact boundary and one uacc off', async (t) => {
  type Row = [string, TallyResult, boolean, bigint, bigint, 'passed' | 'rejected' | 'vetoed', RegExp?];
  const Q = 1000n; // 10%
  const V = 3334n;
  const rows: Row[] = [
    ['quorum exactly reached', tally(1000n, 0n, 0n, 0n, 10_000n), false, Q, V, 'passed'],
    ['quorum one uacc short', tally(999n, 0n, 0n, 0n, 10_000n), false, Q, V, 'rejected', /^quorum not reached: 999 of 10000 uacc .* 1000 bps \(1000 uacc\) must$/],
    ['quorum with a total not divisible: ceil', tally(1001n, 0n, 0n, 0n, 10_001n), false, Q, V, 'passed'],
    ['quorum with a total not divisible: one short', tally(1000n, 0n, 0n, 0n, 10_001n), false, Q, V, 'rejected', /1000 bps \(1001 uacc\) must/],
    ['abstain counts for the quorum', tally(1n, 0n, 999n, 0n, 10_000n), false, Q, V, 'passed'],
    ['veto counts for the quorum', tally(0n, 0n, 0n, 999n, 10_000n), false, Q, V, 'rejected', /^quorum not reached/],
    ['no weight at all', tally(0n, 0n, 0n, 0n, 0n), false, Q, V, 'rejected', /^quorum not reached/],
    ['quorum 100%: everyone voted', tally(10_000n, 0n, 0n, 0n, 10_000n), false, BPS, V, 'passed'],
    ['quorum 100%: one uacc missing', tally(9_999n, 0n, 0n, 0n, 10_000n), false, BPS, V, 'rejected'],
    ['veto exactly at the threshold', tally(6666n, 0n, 0n, 3334n, 10_000n), false, Q, V, 'vetoed', /^vetoed: 3334 of 10000 uacc/],
    ['veto one uacc below: counts as a no', tally(6667n, 0n, 0n, 3333n, 10_000n), false, Q, V, 'passed'],
    ['veto share includes abstain in the base', tally(0n, 0n, 6666n, 3334n, 10_000n), false, Q, V, 'vetoed'],
    ['veto one below with abstainers', tally(0n, 0n, 6667n, 3333n, 10_000n), false, Q, V, 'rejected', /^rejected: 0 of 3333/],
    ['standard: tie fails', tally(500n, 500n, 0n, 0n, 1000n), false, Q, V, 'rejected', /more than half \(standard\)/],
    ['standard: one uacc above half passes', tally(501n, 500n, 0n, 0n, 1000n), false, Q, V, 'passed', /^passed: 501 of 1001 uacc/],
    ['standard: veto below the threshold decides against', tally(500n, 300n, 0n, 200n, 1000n), false, Q, V, 'rejected'],
    ['standard: abstain does not decide', tally(2n, 1n, 997n, 0n, 1000n), false, Q, V, 'passed'],
    ['critical: exactly two thirds passes', tally(2000n, 1000n, 0n, 0n, 3000n), true, Q, V, 'passed', /at least two thirds \(critical\)/],
    ['critical: one uacc less yes fails', tally(1999n, 1000n, 0n, 0n, 3000n), true, Q, V, 'rejected', /it needed at least two thirds \(critical\)/],
    ['critical: one uacc more no fails', tally(2000n, 1001n, 0n, 0n, 3001n), true, Q, V, 'rejected'],
    ['critical: veto decides like a no', tally(2000n, 999n, 0n, 1n, 3000n), true, Q, V, 'passed'],
    ['critical: veto decides like a no, one over', tally(2000n, 999n, 0n, 2n, 3001n), true, Q, V, 'rejected'],
    ['critical: what passes a standard one fails', tally(1500n, 1000n, 0n, 0n, 2500n), true, Q, V, 'rejected'],
    ['same weights, standard: passes', tally(1500n, 1000n, 0n, 0n, 2500n), false, Q, V, 'passed'],
    ['only abstainers', tally(0n, 0n, 5000n, 0n, 5000n), false, Q, V, 'rejected', /^every vote abstained/],
    ['only abstainers, critical', tally(0n, 0n, 5000n, 0n, 5000n), true, Q, V, 'rejected', /^every vote abstained/],
    ['u64-sized weights do not overflow', tally(12_000_000_000_000_000_000n, 6_000_000_000_000_000_000n, 0n, 0n, 18_000_000_000_000_000_000n), true, Q, V, 'passed'],
    ['u64-sized weights, one uacc short of two thirds', tally(11_999_999_999_999_999_999n, 6_000_000_000_000_000_000n, 0n, 0n, 18_000_000_000_000_000_000n), true, Q, V, 'rejected'],
  ];
  for (const [name, tl, critical, q, v, status, reason] of rows) {
    const got = judge(tl, critical, q, v);
    t.equal(got.status, status, name);
    if (reason !== undefined) t.match(got.reason, reason, `${name}: ${got.reason}`);
  }
});

t.test('critical: validator actions, appeals, upgrades, spends above the threshold, changes to consensus or security parameters', async (t) => {
  const params = govFixture().genesis.appParams;
  const threshold = params.governance.critical_spend_threshold;
  const m = (over: Partial<typeof NO_ACTION>) => ({ ...NO_ACTION, ...over });
  t.equal(isCritical('text', m({}), params), false);
  t.equal(isCritical('validator_action', m({}), params), true);
  t.equal(isCritical('slash_appeal', m({}), params), true);
  t.equal(isCritical('software_upgrade', m({}), params), true);
  t.equal(isCritical('treasury_spend', m({ treasurySpend: { recipient: addr(key(70)), amount: threshold } }), params), false, 'a spend of exactly the threshold is standard');
  t.equal(isCritical('treasury_spend', m({ treasurySpend: { recipient: addr(key(70)), amount: threshold + 1n } }), params), true, 'one uacc above it is critical');
  const critical = ['staking.epoch_blocks', 'slashing.severity_bps.double_sign', 'governance.quorum_bps', 'tx.max_tx_bytes', 'agents.bond', 'agents.attestation_authorities.test',
    'agents.tee_measurements.x', 'agents.attestation_max_seconds', 'reputation.validator_signed', 'reputation.validator_double_sign', 'tasks.committee_min', 'tasks.beacon_delay_blocks',
    'fees.msg_gas.vote', 'fees.min_gas_price', 'fees.burn_bps', 'agents.unbonding_seconds', 'reputation.half_life_seconds'];
  const standard = ['feesx.burn_bps', 'agents.registration_fee', 'agents.max_tags', 'reputation.task_completed', 'tasks.commit_seconds', 'agents.bonds', 'stakingx.epoch_blocks'];
  for (const p of critical) t.equal(isCriticalParam(p), true, `${p} is critical`);
  for (const p of standard) t.equal(isCriticalParam(p), false, `${p} is standard`);
  t.equal(isCritical('param_change', m(paramChanges(['tasks.min_bounty', '"1"'], ['staking.epoch_blocks', '"6"'])), params), true, 'one critical path makes the change critical');
  t.equal(isCritical('param_change', m(paramChanges(['tasks.min_bounty', '"1"'], ['agents.registration_fee', '"6"'])), params), false);
});

// ---------------------------------------------------------------------------------------------------------------
// Thresholds through the chain
// ---------------------------------------------------------------------------------------------------------------

t.test('quorum on the chain: exactly 10% of the voting weight passes, one uacc less is rejected; abstain counts', async (t) => {
  // Validators weigh 3 x 100,000 ACC. Agents: u0 40,000 ACC, u1 40,000 ACC - 1, u2 20,000 ACC + 1: total 400,000 ACC,
  // whose 10% is u0's bond exactly.
  const d = await Driver.open(govFixture(), t.teardown);
  const [u0, u1, u2, , , proposer] = d.fx.users;
  await okBlock(d, [[u0, registerMsg(d, u0, 40_000n * ACC)], [u1, registerMsg(d, u1, 40_000n * ACC - 1n)], [u2, registerMsg(d, u2, 20_000n * ACC + 1n)]]);
  t.equal(await totalVotingWeight(d.app.store), 400_000n * ACC, 'every bond and stake');
  t.equal(await votingWeight(d.app.store, addr(d.fx.validators[0])), 100_000n * ACC, 'a validator: its stake + its agent bond');
  t.equal(await votingWeight(d.app.store, addr(u1)), 40_000n * ACC - 1n, 'an agent: its bond');
  t.equal(await votingWeight(d.app.store, addr(proposer)), 0n, 'an account that is no agent');
  const txs = [];
  for (let i = 0; i < 3; i++) txs.push(await d.tx(proposer, proposalMsg({ title: `text ${i}`, deposit: await deposit(d) })));
  const sub = await d.block(txs);
  const [exact, short, abstained] = sub.txResults.map((r) => BigInt(events(r.events, 'submit_proposal')[0].proposal));
  t.same([exact, short, abstained], [1n, 2n, 3n], 'ids count from 1');
  await castVotes(d, [[u0, exact, 'yes'], [u1, short, 'yes'], [u2, abstained, 'yes'], [u1, abstained, 'abstain']]);
  const balBefore = await balance(d, addr(proposer));
  const deposits = (await proposal(d, exact)).deposit + (await proposal(d, short)).deposit + (await proposal(d, abstained)).deposit;
  const out = await toTally(d, exact);
  const p1 = await proposal(d, exact);
  t.equal(p1.status, 'passed', p1.outcome);
  t.same(p1.tally, tally(40_000n * ACC, 0n, 0n, 0n, 400_000n * ACC));
  const p2 = await proposal(d, short);
  t.equal(p2.status, 'rejected');
  t.same(p2.tally, tally(40_000n * ACC - 1n, 0n, 0n, 0n, 400_000n * ACC));
  t.equal(p2.outcome, `quorum not reached: ${40_000n * ACC - 1n} of ${400_000n * ACC} uacc of voting weight voted; 1000 bps (${40_000n * ACC} uacc) must`);
  t.equal(p2.executeNs, 0n, 'a rejected proposal never executes');
  const p3 = await proposal(d, abstained);
  t.equal(p3.status, 'passed', `u2 alone is short of the quorum; u1's abstention makes it (${p3.outcome})`);
  t.same(p3.tally, tally(20_000n * ACC + 1n, 0n, 40_000n * ACC - 1n, 0n, 400_000n * ACC));
  t.same(events(out.beginBlockEvents, 'proposal_tally').map((e) => [e.proposal, e.status, e.deposit]), [['1', 'passed', 'returned'], ['2', 'rejected', 'returned'], ['3', 'passed', 'returned']]);
  t.equal(await balance(d, addr(proposer)), balBefore + deposits, 'every deposit back to the proposer, passed or rejected');
  t.equal((await supplyBreakdown(d.app.store)).governance, 0n, 'no deposit held any more');
  for (const id of [exact, short, abstained]) t.equal((await proposal(d, id)).depositStatus, 'returned');
});

t.test('pass rules on the chain: a critical proposal needs exactly two thirds, a standard one more than half (a tie fails)', async (t) => {
  // W = 20,000 ACC. a: 2W, b: W, c: 2W - 1 uacc, e: W, f: W + 1 uacc. The quorum is 1 bps so that only the pass rule decides.
  const d = await Driver.open(govFixture({ params: (p) => void (p.governance.quorum_bps = 1n) }), t.teardown);
  const [a, b, c, e, f, proposer] = d.fx.users;
  const W = 20_000n * ACC;
  await okBlock(d, [[a, registerMsg(d, a, 2n * W)], [b, registerMsg(d, b, W)], [c, registerMsg(d, c, 2n * W - 1n)], [e, registerMsg(d, e, W)], [f, registerMsg(d, f, W + 1n)]]);
  const total = 300_000n * ACC + 7n * W;
  t.equal(await totalVotingWeight(d.app.store), total);
  const height = d.app.head().height;
  const specs: Array<[string, Partial<typeof NO_ACTION>]> = [
    ['C1', upgrade('v2', height + 10_000n)],
    ['C2', upgrade('v3', height + 10_000n)],
    ['C3', upgrade('v4', height + 10_000n)],
    ['C4', upgrade('v5', height + 10_000n)],
    ['S1', {}],
    ['S2', {}],
  ];
  const txs = [];
  for (const [title, over] of specs) txs.push(await d.tx(proposer, proposalMsg({ ...over, title, deposit: await deposit(d) })));
  const sub = await d.block(txs);
  const [c1, c2, c3, c4, s1, s2] = sub.txResults.map((r) => BigInt(events(r.events, 'submit_proposal')[0].proposal));
  t.same(sub.txResults.map((r) => events(r.events, 'submit_proposal')[0].critical), ['true', 'true', 'true', 'true', 'false', 'false']);
  await castVotes(d, [
    [a, c1, 'yes'], [b, c1, 'no'], // 2W of 3W: exactly two thirds
    [c, c2, 'yes'], [b, c2, 'no'], // 2W - 1 of 3W - 1: one uacc short
    [a, c3, 'yes'], [b, c3, 'no'], [e, c3, 'abstain'], // abstention decides nothing
    [a, c4, 'yes'], [f, c4, 'veto'], // a veto below the veto threshold (33.3%) counts against
    [b, s1, 'yes'], [e, s1, 'no'], // tie
    [f, s2, 'yes'], [e, s2, 'no'], // one uacc above half
  ]);
  await toTally(d, c1);
  const expect: Array<[bigint, string, TallyResult]> = [
    [c1, 'passed', tally(2n * W, W, 0n, 0n, total)],
    [c2, 'rejected', tally(2n * W - 1n, W, 0n, 0n, total)],
    [c3, 'passed', tally(2n * W, W, W, 0n, total)],
    [c4, 'rejected', tally(2n * W, 0n, 0n, W + 1n, total)],
    [s1, 'rejected', tally(W, W, 0n, 0n, total)],
    [s2, 'passed', tally(W + 1n, W, 0n, 0n, total)],
  ];
  for (const [id, status, tl] of expect) {
    const p = await proposal(d, id);
    t.equal(p.status, status, `${p.content.title}: ${p.outcome}`);
    t.same(p.tally, tl, `${p.content.title}: weights read at the tally`);
  }
  t.equal((await proposal(d, c2)).outcome, `rejected: ${2n * W - 1n} of ${3n * W - 1n} uacc of non-abstaining weight voted yes; it needed at least two thirds (critical)`);
  t.equal((await proposal(d, s1)).outcome, `rejected: ${W} of ${2n * W} uacc of non-abstaining weight voted yes; it needed more than half (standard)`);
  // The passed ones execute after the timelock: C1's plan (id order: C1 before C3) and then C3's replace each other.
  const exec = await toExecution(d, c1);
  t.same(events(exec.endBlockEvents, 'proposal_executed').map((e) => [e.proposal, e.kind, e.status]), [[String(c1), 'software_upgrade', 'executed'], [String(c3), 'software_upgrade', 'executed'], [String(s2), 'text', 'executed']]);
  t.same(events(exec.endBlockEvents, 'upgrade_plan').map((e) => [e.proposal, e.name, e.height]), [[String(c1), 'v2', String(height + 10_000n)], [String(c3), 'v4', String(height + 10_000n)]]);
  const gs = await getGovState(d.app.store);
  t.same(gs.upgrade, { name: 'v4', height: height + 10_000n, info: 'https://example.org/releases' }, 'the last executed plan is the one recorded');
  t.equal(gs.upgradeProposal, c3);
  const s2p = await proposal(d, s2);
  t.equal(s2p.status, 'executed', 'a text proposal executes');
  t.equal(s2p.executedHeight, d.app.head().height);
  t.equal(s2p.failure, '');
  for (const id of [c2, c4, s1]) t.equal((await proposal(d, id)).status, 'rejected', 'rejected ones stay rejected');
});

// ---------------------------------------------------------------------------------------------------------------
// Voting end and timelock
// ---------------------------------------------------------------------------------------------------------------

t.test('the voting end and the timelock hold to the nanosecond; changed parameters apply from the next block', async (t) => {
  const d = await Driver.open(govFixture({ params: (p) => void (p.governance.quorum_bps = 1n) }), t.teardown);
  const [u0, u1, , , , proposer] = d.fx.users;
  await okBlock(d, [[u0, registerMsg(d, u0, 1_000n * ACC)]]);
  const oldSendGas = d.params.fees.msg_gas.send;
  const { id, out: subOut } = await submit(d, proposer, paramChanges(['fees.msg_gas.send', '"12345"']));
  const submittedAt = d.time;
  const p0 = await proposal(d, id);
  t.equal(p0.status, 'voting');
  t.equal(p0.critical, true, 'fees are critical (a lone yes vote is still two thirds)');
  t.equal(p0.submitNs, submittedAt);
  t.equal(p0.votingEndNs, submittedAt + VOTING_SECONDS * SECOND, 'voting ends voting_seconds after the submission block');
  t.equal(events(subOut.txResults[0].events, 'submit_proposal')[0].voting_end, formatTime(p0.votingEndNs));
  // One nanosecond before the end: the vote counts, nothing is tallied.
  const before = await d.run(u0, voteMsg(id, 'yes'), { time: p0.votingEndNs - 1n });
  t.equal(before.result.code, 0, before.result.log);
  t.equal(events(before.result.events, 'vote')[0].weight, String(1_000n * ACC));
  t.same(events(before.out.beginBlockEvents, 'proposal_tally'), [], 'no tally before the end');
  t.equal((await proposal(d, id)).status, 'voting');
  // At the end exactly: a vote is refused, and this block tallies.
  const atEnd = await d.run(u0, voteMsg(id, 'no'), { time: p0.votingEndNs });
  t.equal(atEnd.result.code, code('VOTING_CLOSED'), atEnd.result.log);
  t.equal(atEnd.result.log, `VOTING_CLOSED: voting on proposal 1 ended at ${formatTime(p0.votingEndNs)}; it is passed`);
  const p1 = await proposal(d, id);
  t.equal(p1.status, 'passed', 'the refused no did not replace the yes');
  t.equal(p1.tallyNs, p0.votingEndNs);
  t.equal(p1.tallyHeight, d.app.head().height);
  t.equal(p1.executeNs, p0.votingEndNs + TIMELOCK_SECONDS * SECOND);
  t.same(events(atEnd.out.beginBlockEvents, 'proposal_tally'), [
    { proposal: '1', status: 'passed', yes: String(1_000n * ACC), no: '0', abstain: '0', veto: '0', total_weight: String(301_000n * ACC), deposit: 'returned', executes_at: formatTime(p0.votingEndNs + TIMELOCK_SECONDS * SECOND) },
  ]);
  t.equal((await d.run(u0, voteMsg(id, 'no'))).result.code, code('VOTING_CLOSED'), 'and after the tally');
  // One nanosecond before the timelock ends: nothing executes.
  const send = async () => d.tx(u1, sendMsg(addr(key(71)), 1n));
  const fees = d.params.fees;
  const gasOf = (tx: Uint8Array, msgGas: bigint): bigint => fees.tx_base_gas + BigInt(tx.length) * fees.tx_byte_gas + msgGas;
  const earlyTx = await send();
  const early = await d.block([earlyTx], { time: p1.executeNs - 1n });
  t.equal(early.txResults[0].gasUsed, gasOf(earlyTx, oldSendGas));
  t.same(events(early.endBlockEvents, 'proposal_executed'), []);
  t.equal((await proposal(d, id)).status, 'passed');
  t.equal((await readParams(d.app.store)).fees.msg_gas.send, oldSendGas);
  t.notOk(early.state.some((w) => toHex(w.key) === toHex(paramsRecord.stateKey)), 'the params record is not written');
  // At the timelock's end: it executes; the block's own txs still ran under the old parameters.
  const execTx = await send();
  const exec = await d.block([execTx], { time: p1.executeNs });
  t.same(events(exec.endBlockEvents, 'proposal_executed'), [{ proposal: '1', kind: 'param_change', status: 'executed' }]);
  t.same(events(exec.endBlockEvents, 'param_change'), [{ proposal: '1', path: 'fees.msg_gas.send', value: '"12345"' }]);
  const p2 = await proposal(d, id);
  t.equal(p2.status, 'executed');
  t.equal(p2.executedHeight, d.app.head().height);
  t.equal((await readParams(d.app.store)).fees.msg_gas.send, 12_345n);
  t.equal(exec.txResults[0].gasUsed, gasOf(execTx, oldSendGas), 'the execution block charged the old msg_gas');
  const nextTx = await send();
  const next = await d.block([nextTx]);
  t.equal(next.txResults[0].gasUsed, gasOf(nextTx, 12_345n), 'the next block charges the new msg_gas');
  t.equal((await d.run(u0, voteMsg(id, 'yes'))).result.code, code('VOTING_CLOSED'), 'an executed proposal takes no votes');
});

t.test('a late block tallies and executes at once; a zero timelock executes in the tally block', async (t) => {
  const d = await Driver.open(govFixture({ params: (p) => void (p.governance.quorum_bps = 1n) }), t.teardown);
  const [u0, , , , , proposer] = d.fx.users;
  await okBlock(d, [[u0, registerMsg(d, u0, 1_000n * ACC)]]);
  const { id } = await submit(d, proposer, {});
  await castVotes(d, [[u0, id, 'yes']]);
  const p = await proposal(d, id);
  // No block between the voting end and the timelock's end: the first block after both does both.
  const out = await d.block([], { time: p.votingEndNs + TIMELOCK_SECONDS * SECOND + 7n });
  t.same(events(out.beginBlockEvents, 'proposal_tally').map((e) => e.status), ['passed']);
  t.same(events(out.endBlockEvents, 'proposal_executed').map((e) => e.status), ['executed']);
  const after = await proposal(d, id);
  t.equal(after.executeNs, p.votingEndNs + TIMELOCK_SECONDS * SECOND, 'executeNs is voting end + timelock, not the late block time');
  t.equal(after.tallyHeight, after.executedHeight);

  // timelock 0 (a critical param change through governance itself).
  await fundValidators(d);
  const z = await submit(d, proposer, paramChanges(['governance.timelock_seconds', '"0"']));
  t.equal((await proposal(d, z.id)).critical, true);
  await castVotes(d, d.fx.validators.map((v): [typeof v, bigint, string] => [v, z.id, 'yes']));
  await toTally(d, z.id);
  await toExecution(d, z.id);
  t.equal((await readParams(d.app.store)).governance.timelock_seconds, 0n);
  const { id: t0 } = await submit(d, proposer, {});
  await castVotes(d, [[u0, t0, 'yes']]);
  const tallied = await toTally(d, t0);
  t.equal(events(tallied.beginBlockEvents, 'proposal_tally')[0].executes_at, formatTime((await proposal(d, t0)).votingEndNs));
  t.same(events(tallied.endBlockEvents, 'proposal_executed').map((e) => [e.proposal, e.status]), [[String(t0), 'executed']], 'executed in its tally block');
  const z0 = await proposal(d, t0);
  t.equal(z0.executeNs, z0.votingEndNs);
});

// ---------------------------------------------------------------------------------------------------------------
// Every kind, passing and executing
// ---------------------------------------------------------------------------------------------------------------

/** Every genesis validator votes `option` on `id` (each weighs 100,000 ACC: all of them is every critical quorum). */
const allValidatorsVote = (d: Driver, id: bigint, option = 'yes') => castVotes(d, d.fx.validators.map((v): [typeof v, bigint, string] => [v, id, option]));

t.test('param_change: several parameters at once, an open-map entry added and then removed with null', async (t) => {
  const d = await Driver.open(govFixture(), t.teardown);
  const proposer = d.fx.users[5];
  await fundValidators(d);
  const before = await readParams(d.app.store);
  t.equal(before.fees.msg_gas.future_msg, undefined);
  const add = await submit(d, proposer, paramChanges(['agents.tee_measurements.gpu_box', '"tdx:0A1B2C"'], ['fees.msg_gas.future_msg', '"777"'], ['fees.burn_bps', '"2500"'], ['staking.max_validators', '"7"']));
  t.equal(add.result.code, 0, add.result.log);
  t.equal((await proposal(d, add.id)).critical, true, 'tee_measurements and staking are critical');
  await allValidatorsVote(d, add.id);
  await toTally(d, add.id);
  const exec = await toExecution(d, add.id);
  t.same(events(exec.endBlockEvents, 'param_change').map((e) => [e.path, e.value]), [
    ['agents.tee_measurements.gpu_box', '"tdx:0A1B2C"'],
    ['fees.msg_gas.future_msg', '"777"'],
    ['fees.burn_bps', '"2500"'],
    ['staking.max_validators', '"7"'],
  ]);
  const mid = await readParams(d.app.store);
  t.same(mid.agents.tee_measurements, { gpu_box: 'tdx:0A1B2C' });
  t.equal(mid.fees.msg_gas.future_msg, 777n);
  t.equal(mid.fees.burn_bps, 2500n);
  t.equal(mid.staking.max_validators, 7n);
  t.same({ ...mid, agents: before.agents, fees: before.fees, staking: before.staking }, before, 'nothing else changed');
  t.same({ ...mid.fees, msg_gas: before.fees.msg_gas, burn_bps: before.fees.burn_bps }, before.fees);
  // Removing an entry that is not there is refused; removing the one added works.
  const missing = await submit(d, proposer, paramChanges(['agents.tee_measurements.cpu_box', 'null']));
  t.equal(missing.result.code, code('INVALID_PARAM_CHANGE'));
  t.match(missing.result.log, /param_changes\[0\] \(agents\.tee_measurements\.cpu_box\): agents\.tee_measurements has no entry cpu_box to remove/);
  const rm = await submit(d, proposer, paramChanges(['agents.tee_measurements.gpu_box', 'null'], ['fees.msg_gas.future_msg', 'null']));
  t.equal(rm.result.code, 0, rm.result.log);
  await allValidatorsVote(d, rm.id);
  await toTally(d, rm.id);
  await toExecution(d, rm.id);
  t.equal((await proposal(d, rm.id)).status, 'executed');
  const after = await readParams(d.app.store);
  t.same(after.agents.tee_measurements, {});
  t.notOk(Object.hasOwn(after.fees.msg_gas, 'future_msg'), 'the entry is gone');
  t.same(after.fees.msg_gas, before.fees.msg_gas);
});

t.test('treasury_spend: exactly the threshold is standard, one uacc above it critical; the treasury pays exactly', async (t) => {
  const threshold = 5_000n * ACC;
  const d = await Driver.open(govFixture({ params: (p) => void (p.governance.critical_spend_threshold = threshold) }), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  const [v0, v1, v2] = d.fx.validators;
  await fundValidators(d);
  const r1 = addr(key(70));
  const r2 = addr(key(71));
  const sub = await okBlock(d, [
    [proposer, proposalMsg({ treasurySpend: { recipient: r1, amount: threshold }, deposit: await deposit(d) })],
    [proposer, proposalMsg({ treasurySpend: { recipient: r2, amount: threshold + 1n }, deposit: await deposit(d) })],
  ]);
  const [std, crit] = sub.txResults.map((r) => ({ id: BigInt(events(r.events, 'submit_proposal')[0].proposal) }));
  t.equal((await proposal(d, std.id)).critical, false);
  t.equal((await proposal(d, crit.id)).critical, true);
  // 200,000 of 300,000 ACC: exactly two thirds passes the critical one; the standard one needs more than half.
  await castVotes(d, [[v0, std.id, 'yes'], [v1, std.id, 'yes'], [v2, std.id, 'no'], [v0, crit.id, 'yes'], [v1, crit.id, 'yes'], [v2, crit.id, 'no']]);
  await toTally(d, std.id);
  t.equal((await proposal(d, std.id)).status, 'passed');
  t.equal((await proposal(d, crit.id)).status, 'passed');
  const treasury = await balance(d, TREASURY);
  const out = await toExecution(d, std.id);
  t.same(events(out.endBlockEvents, 'treasury_spend'), [
    { proposal: String(std.id), recipient: toHex(r1), amount: String(threshold) },
    { proposal: String(crit.id), recipient: toHex(r2), amount: String(threshold + 1n) },
  ]);
  t.equal(await balance(d, TREASURY), treasury - 2n * threshold - 1n, 'the treasury paid both');
  t.equal(await balance(d, r1), threshold);
  t.equal(await balance(d, r2), threshold + 1n);
  await checkCirculating(t, d.app.store, 'after the spends');
  // A spend above the treasury's balance is refused at submission; exactly the balance is accepted.
  const all = await balance(d, TREASURY);
  const tooMuch = await submit(d, proposer, { treasurySpend: { recipient: r1, amount: all + 1n } });
  t.equal(tooMuch.result.code, code('INVALID_PROPOSAL_TARGET'));
  t.equal(tooMuch.result.log, `INVALID_PROPOSAL_TARGET: the treasury holds ${all} uacc, less than the ${all + 1n} uacc asked for; ask for at most ${all}`);
  const whole = await submit(d, proposer, { treasurySpend: { recipient: r1, amount: all } });
  t.equal(whole.result.code, 0, `the whole treasury may be asked for: ${whole.result.log}`);
});

t.test('treasury_spend: spends still in flight count toward the critical threshold (no splitting); executed ones no longer do', async (t) => {
  const threshold = 5_000n * ACC;
  const d = await Driver.open(govFixture({ params: (p) => void (p.governance.critical_spend_threshold = threshold) }), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  const [v0, v1] = d.fx.validators;
  await fundValidators(d);
  const r = addr(key(72));
  const spend = (amount: bigint) => ({ treasurySpend: { recipient: r, amount } });
  const first = await submit(d, proposer, spend(threshold - 10n));
  t.equal((await proposal(d, first.id)).critical, false, 'alone below the threshold');
  const exact = await submit(d, proposer, spend(10n));
  t.equal((await proposal(d, exact.id)).critical, false, 'with the one in flight: exactly the threshold, standard');
  const over = await submit(d, proposer, spend(1n));
  t.equal((await proposal(d, over.id)).critical, true, 'one uacc more in flight: critical');
  await castVotes(d, [[v0, first.id, 'yes'], [v1, first.id, 'yes'], [v0, exact.id, 'no'], [v1, exact.id, 'no'], [v0, over.id, 'no'], [v1, over.id, 'no']]);
  await toTally(d, over.id);
  t.equal((await proposal(d, first.id)).status, 'passed');
  t.equal((await proposal(d, exact.id)).status, 'rejected');
  const passedWaiting = await submit(d, proposer, spend(11n));
  t.equal((await proposal(d, passedWaiting.id)).critical, true, 'a passed spend waiting out its timelock still counts');
  await toExecution(d, first.id);
  t.equal((await proposal(d, first.id)).status, 'executed');
  const later = await submit(d, proposer, spend(threshold - 11n));
  t.equal((await proposal(d, later.id)).critical, false, 'executed and rejected spends no longer count; the one voting (11) does');
  const later2 = await submit(d, proposer, spend(1n));
  t.equal((await proposal(d, later2.id)).critical, true, 'and one uacc more is critical again');
});

t.test('validator_action jail: out of the set in the execution block, jailed for the term, back after MsgUnjail', async (t) => {
  const d = await Driver.open(govFixture(), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  const [v0, v1, v2] = d.fx.validators;
  await fundValidators(d);
  const { id } = await submit(d, proposer, { validatorAction: { validator: addr(v2), action: 'jail', jailSeconds: 60n } });
  const p0 = await proposal(d, id);
  t.equal(p0.kind, 'validator_action');
  t.equal(p0.critical, true);
  await castVotes(d, [[v0, id, 'yes'], [v1, id, 'yes'], [v2, id, 'no']]);
  await toTally(d, id);
  const powerBefore = (await validators.get(d.app.store, addr(v2)))!.power;
  t.ok(powerBefore > 0n);
  const out = await toExecution(d, id);
  const execTime = d.time;
  t.same(events(out.endBlockEvents, 'validator_action'), [{ proposal: String(id), validator: toHex(addr(v2)), action: 'jail', jail_seconds: '60' }]);
  t.same(out.validatorUpdates.filter((u) => toHex(u.pubKey) === toHex(v2.publicKey)), [{ pubKey: v2.publicKey, power: 0n }], 'handed to consensus in the same block (effective at H + 2)');
  const v = (await validators.get(d.app.store, addr(v2)))!;
  t.equal(v.jailedUntilNs, execTime + 60n * SECOND);
  t.equal(v.power, 0n);
  t.equal(v.tombstoned, false);
  t.equal(v.stake, 99_000n * ACC, 'a jail by vote slashes nothing');
  const early = await d.run(v2, { type: 'unjail', value: {} }, { time: execTime + 60n * SECOND - 1n });
  t.equal(early.result.code, code('VALIDATOR_STATE'), early.result.log);
  const ok = await d.run(v2, { type: 'unjail', value: {} }, { time: execTime + 60n * SECOND });
  t.equal(ok.result.code, 0, ok.result.log);
  const outs = await d.toEpoch();
  const ups = outs.flatMap((o) => o.validatorUpdates).filter((u) => toHex(u.pubKey) === toHex(v2.publicKey));
  t.equal(ups.length, 1, 'back at the epoch boundary');
  t.ok(ups[0].power > 0n);
  t.ok((await validators.get(d.app.store, addr(v2)))!.power > 0n);
});

t.test('validator_action remove: out for good, its stake kept; power 0 in the execution block; no second action; still slashable', async (t) => {
  const d = await Driver.open(govFixture(), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  const [v0, v1, v2] = d.fx.validators;
  await fundValidators(d);
  const { id } = await submit(d, proposer, { validatorAction: { validator: addr(v2), action: 'remove', jailSeconds: 0n } });
  await castVotes(d, [[v0, id, 'yes'], [v1, id, 'yes']]);
  await toTally(d, id);
  const out = await toExecution(d, id);
  t.same(out.validatorUpdates.filter((u) => toHex(u.pubKey) === toHex(v2.publicKey)), [{ pubKey: v2.publicKey, power: 0n }]);
  t.same(events(out.endBlockEvents, 'validator_action'), [{ proposal: String(id), validator: toHex(addr(v2)), action: 'remove', jail_seconds: '0' }]);
  const removedAt = d.app.head().height;
  const v = (await validators.get(d.app.store, addr(v2)))!;
  t.equal(v.removed, true);
  t.equal(v.tombstoned, false, 'removed, not tombstoned: evidence can still slash it');
  t.equal(v.jailedUntilNs, JAILED_FOREVER);
  t.equal(v.stake, 99_000n * ACC, 'not slashed');
  t.equal(v.power, 0n);
  t.same(await allSlashEscrows(d.app.store), [], 'no escrow');
  const unjail = await d.run(v2, { type: 'unjail', value: {} }, { time: d.time + 30n * DAY });
  t.equal(unjail.result.code, code('VALIDATOR_STATE'));
  t.match(unjail.result.log, /is removed by governance and can never unjail/);
  const restake = await d.run(v2, { type: 'stake', value: { amount: ACC, consensusPubKey: new Uint8Array(0), moniker: '', blsPubKey: new Uint8Array(0) } });
  t.equal(restake.result.code, code('VALIDATOR_STATE'));
  t.match(restake.result.log, /is removed by governance and takes no new stake/);
  for (const action of [{ action: 'remove', jailSeconds: 0n }, { action: 'jail', jailSeconds: 5n }]) {
    const again = await submit(d, proposer, { validatorAction: { validator: addr(v2), ...action } });
    t.equal(again.result.code, code('INVALID_PROPOSAL_TARGET'));
    t.match(again.result.log, /is already out of the set for good \(removed\)/);
  }
  // Its stake still counts in the voting weight (it is bonded until it unstakes).
  t.equal(await votingWeight(d.app.store, addr(v2)), 100_000n * ACC);
  // A double-sign it made while it still held power (the removal's height) is slashed and tombstones it.
  const ev = duplicateVote(v2, removedAt, 100_000n * ACC, 300_000n * ACC, d.time);
  const slashed = await d.block([], { evidence: [ev] });
  t.same(events(slashed.beginBlockEvents, 'evidence_ignored'), [], 'the evidence is not ignored');
  const cut = (99_000n * ACC * 500n) / 10_000n + (1_000n * ACC * 500n) / 10_000n;
  t.equal(BigInt(events(slashed.beginBlockEvents, 'slash')[0].amount), cut, '5% of stake and bond');
  const after = (await validators.get(d.app.store, addr(v2)))!;
  t.equal(after.tombstoned, true);
  t.equal(after.stake, 99_000n * ACC - (99_000n * ACC * 500n) / 10_000n);
});

t.test('slash_appeal: a double-sign escrow restored to the agent; a second appeal of it and a late one are refused', async (t) => {
  const window = 5600n; // voting 1,000 s + timelock 500 s + the 3,600 s margin must be shorter
  const d = await Driver.open(govFixture({ params: (p) => void (p.slashing.appeal_window_seconds = window) }), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  const [v0, v1, v2] = d.fx.validators;
  await fundValidators(d);
  const ev = duplicateVote(v2, d.app.head().height, 100_000n * ACC, 300_000n * ACC, d.time);
  const slashed = await d.block([], { evidence: [ev] });
  const slashedAt = d.time;
  const s = events(slashed.beginBlockEvents, 'slash')[0];
  const escrowId = BigInt(s.escrow);
  const amount = (99_000n * ACC * 500n) / 10_000n + (1_000n * ACC * 500n) / 10_000n;
  t.equal(BigInt(s.amount), amount, '5% of stake and bond');
  const [[, escrow]] = await allSlashEscrows(d.app.store);
  t.equal(escrow.burnsAtNs, slashedAt + window * SECOND);
  // The earliest execution (submission + voting + timelock) must come SLASH_APPEAL_MARGIN_SECONDS before the burn:
  // one ns less is accepted, exactly the margin refused.
  const last = slashedAt + (window - VOTING_SECONDS - TIMELOCK_SECONDS - SLASH_APPEAL_MARGIN_SECONDS) * SECOND;
  const appeal = await submit(d, proposer, { slashAppeal: { escrowId } }, { time: last - 1n });
  t.equal(appeal.result.code, 0, appeal.result.log);
  t.equal((await proposal(d, appeal.id)).critical, true);
  const late = await submit(d, proposer, { slashAppeal: { escrowId } }, { time: last });
  t.equal(late.result.code, code('INVALID_PROPOSAL_TARGET'));
  t.equal(
    late.result.log,
    `INVALID_PROPOSAL_TARGET: slash escrow ${escrowId} burns at ${formatTime(escrow.burnsAtNs)}, too soon for this appeal, which could execute at ` +
      `${formatTime(escrow.burnsAtNs - SLASH_APPEAL_MARGIN_SECONDS * SECOND)} (after the voting period and the timelock) and needs ${SLASH_APPEAL_MARGIN_SECONDS} s to spare`,
  );
  const none = await submit(d, proposer, { slashAppeal: { escrowId: 999n } });
  t.equal(none.result.code, code('INVALID_PROPOSAL_TARGET'));
  t.match(none.result.log, /there is no slash escrow 999/);
  await castVotes(d, [[v0, appeal.id, 'yes'], [v1, appeal.id, 'yes'], [v2, appeal.id, 'yes']]);
  await toTally(d, appeal.id);
  const p = await proposal(d, appeal.id);
  t.equal(p.status, 'passed');
  t.same(p.tally, tally(300_000n * ACC - amount, 0n, 0n, 0n, 300_000n * ACC - amount), "the slashed validator's weight is what it has left");
  const bal = await balance(d, addr(v2));
  const burned = (await getSupply(d.app.store)).burned;
  const out = await toExecution(d, appeal.id);
  t.equal(d.time, escrow.burnsAtNs - SLASH_APPEAL_MARGIN_SECONDS * SECOND - 1n, 'executes the margin and one ns before the escrow would burn');
  t.same(events(out.endBlockEvents, 'slash_restored'), [{ proposal: String(appeal.id), escrow: String(escrowId), agent: toHex(addr(v2)), amount: String(amount) }]);
  t.same(events(out.endBlockEvents, 'slash_burned'), []);
  t.equal(await balance(d, addr(v2)), bal + amount, 'the slashed tokens back on its balance');
  t.same(await allSlashEscrows(d.app.store), []);
  t.equal((await getSupply(d.app.store)).burned, burned, 'nothing burned in the execution block (no txs, so no fees)');
  const after = await d.block([], { time: escrow.burnsAtNs + SECOND });
  t.same(events(after.endBlockEvents, 'slash_burned'), [], 'nothing left to burn');
  const again = await submit(d, proposer, { slashAppeal: { escrowId } });
  t.equal(again.result.code, code('INVALID_PROPOSAL_TARGET'));
  t.equal((await validators.get(d.app.store, addr(v2)))!.tombstoned, true, 'the appeal returns tokens; the tombstone stays');
});

// ---------------------------------------------------------------------------------------------------------------
// Deposits
// ---------------------------------------------------------------------------------------------------------------

t.test('veto: at the threshold the deposit burns (supply.burned grows by exactly it); one voter short it is returned', async (t) => {
  // veto_bps 3334: two validators of three (66.7%) veto; one of three (33.33%) is below the threshold.
  const d = await Driver.open(govFixture(), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  const [v0, v1, v2] = d.fx.validators;
  await fundValidators(d);
  const sub = await okBlock(d, [
    [proposer, proposalMsg({ title: 'spam', deposit: await deposit(d) })],
    [proposer, proposalMsg({ title: 'contested', deposit: await deposit(d) })],
  ]);
  const [spam, contested] = sub.txResults.map((r) => BigInt(events(r.events, 'submit_proposal')[0].proposal));
  const deps = { spam: (await proposal(d, spam)).deposit, contested: (await proposal(d, contested)).deposit };
  t.equal((await supplyBreakdown(d.app.store)).governance, deps.spam + deps.contested, 'both deposits held, counted as governance in the supply');
  await checkCirculating(t, d.app.store, 'deposits held');
  await castVotes(d, [[v0, spam, 'veto'], [v1, spam, 'veto'], [v2, spam, 'yes'], [v0, contested, 'veto'], [v1, contested, 'yes'], [v2, contested, 'yes']]);
  const burned = (await getSupply(d.app.store)).burned;
  const bal = await balance(d, addr(proposer));
  const out = await toTally(d, spam);
  const s = await proposal(d, spam);
  t.equal(s.status, 'vetoed');
  t.equal(s.depositStatus, 'burned');
  t.equal(s.outcome, `vetoed: ${200_000n * ACC} of ${300_000n * ACC} uacc cast voted veto, at least 3334 bps; the deposit burns`);
  t.equal(s.executeNs, 0n);
  t.equal((await getSupply(d.app.store)).burned - burned, deps.spam, 'the tally block burned exactly the deposit (it had no txs, so no fees)');
  const c = await proposal(d, contested);
  t.equal(c.status, 'passed', 'a third of the weight vetoing is below 3334 bps and counts as a no');
  t.equal(c.depositStatus, 'returned');
  t.equal(await balance(d, addr(proposer)), bal + deps.contested, 'only the non-vetoed deposit came back');
  t.same(events(out.beginBlockEvents, 'proposal_tally').map((e) => [e.proposal, e.status, e.deposit]), [[String(spam), 'vetoed', 'burned'], [String(contested), 'passed', 'returned']]);
  t.equal((await supplyBreakdown(d.app.store)).governance, 0n);
  await checkCirculating(t, d.app.store, 'after the burn');
  t.equal((await d.run(v2, voteMsg(spam, 'yes'))).result.code, code('VOTING_CLOSED'), 'a vetoed proposal takes no votes');
});

t.test('deposit: exactly ceil(circulating x min_deposit_bps / 10,000) passes, one uacc less is refused; too poor: INSUFFICIENT_FUNDS', async (t) => {
  const d = await Driver.open(govFixture({ params: (p) => void (p.governance.min_deposit_bps = 100n) }), t.teardown);
  const [a, b, , , , proposer] = d.fx.users;
  const poor = key(72);
  await okBlock(d, [[a, registerMsg(d, a, 5_000n * ACC)], [a, sendMsg(addr(poor), 10_000n * ACC)]]);
  // What the next block's txs see is the state after its begin-block (rewards, vesting); an empty block at the same
  // time leaves the same circulating supply (its end-block moves nothing in or out of circulation).
  const time = d.time + SECOND;
  const probe = await dryRun(d, [], time);
  const circulating = await heldSupply(probe.state);
  t.equal(await checkCirculating(t, probe.state, 'before the submissions'), circulating);
  const min = (circulating * 100n + 9_999n) / 10_000n;
  t.not(circulating % 100n, 0n, 'a supply that makes the ceiling matter');
  t.equal(await minDeposit(probe.state, d.params), min);
  t.ok(min > 10_000n * ACC, 'more than the poor account holds');
  const nextBefore = (await getGovState(d.app.store)).nextId;
  const before = { b: await balance(d, addr(b)), p: await balance(d, addr(proposer)), poor: await balance(d, addr(poor)) };
  const out = await d.block([await d.tx(b, proposalMsg({ deposit: min - 1n })), await d.tx(proposer, proposalMsg({ deposit: min })), await d.tx(poor, proposalMsg({ deposit: min }))], { time });
  const [short, exact, broke] = out.txResults;
  t.equal(short.code, code('DEPOSIT_TOO_SMALL'));
  t.equal(short.log, `DEPOSIT_TOO_SMALL: a deposit of ${min - 1n} uacc is below 100 bps of the circulating supply (${min} uacc); deposit at least ${min}`);
  t.equal(exact.code, 0, exact.log);
  t.equal(broke.code, code('INSUFFICIENT_FUNDS'), broke.log);
  const id = BigInt(events(exact.events, 'submit_proposal')[0].proposal);
  t.equal(id, nextBefore, 'the refused ones took no id');
  t.equal((await getGovState(d.app.store)).nextId, nextBefore + 1n);
  t.equal((await proposal(d, id)).deposit, min);
  t.equal(await balance(d, addr(proposer)), before.p - min - exact.gasUsed, 'the deposit and the gas left the balance');
  t.equal(await balance(d, addr(b)), before.b - short.gasUsed, 'a refused submission costs only its gas');
  t.equal(await balance(d, addr(poor)), before.poor - broke.gasUsed);
  t.ok(short.gasUsed > 0n && broke.gasUsed > 0n);
  // After the block: the circulating supply the txs saw, less the block's fees (burned or in the fee collector).
  const fees = BigInt(events(out.endBlockEvents, 'fees')[0].amount);
  t.equal(fees, short.gasUsed + exact.gasUsed + broke.gasUsed);
  t.equal((await supplyBreakdown(d.app.store)).circulating, circulating - fees);
  t.equal((await supplyBreakdown(d.app.store)).governance, min);
  await checkCirculating(t, d.app.store, 'after the submission');
});

// ---------------------------------------------------------------------------------------------------------------
// Votes
// ---------------------------------------------------------------------------------------------------------------

t.test('votes: a later vote replaces the earlier; weight is read at the tally (unstaked and deregistered tokens stop counting)', async (t) => {
  const d = await Driver.open(govFixture({ params: (p) => { p.governance.quorum_bps = 1n; p.agents.unbonding_seconds = 86_400n; } }), t.teardown);
  const [u0, u1, , , , proposer] = d.fx.users;
  const [, v1, v2] = d.fx.validators;
  await fundValidators(d);
  await okBlock(d, [[u0, registerMsg(d, u0, 3_000n * ACC)], [u1, registerMsg(d, u1, 2_000n * ACC)]]);
  const { id } = await submit(d, proposer, {});
  const votes = await castVotes(d, [[v1, id, 'yes'], [v2, id, 'yes'], [u0, id, 'yes'], [u1, id, 'abstain']]);
  t.same(votes.txResults.map((r) => events(r.events, 'vote')[0].weight), [100_000n * ACC, 100_000n * ACC, 3_000n * ACC, 2_000n * ACC].map(String), 'the weight at the vote');
  // v1 changes its mind; v2 unstakes half its stake; u0 leaves (deregisters: its bond unbonds); u1 changes twice.
  await castVotes(d, [[v1, id, 'no'], [u1, id, 'veto'], [u1, id, 'no']]);
  await okBlock(d, [[v2, { type: 'unstake', value: { amount: 49_500n * ACC } }], [u0, { type: 'deregister_agent', value: {} }]]);
  t.same((await votesOf(d.app.store, id)).map((v) => [toHex(v.voter), v.option]).sort(), [
    [toHex(addr(v1)), 'no'], [toHex(addr(v2)), 'yes'], [toHex(addr(u0)), 'yes'], [toHex(addr(u1)), 'no'],
  ].sort(), 'one vote per voter, the last one');
  const again = await d.run(u0, voteMsg(id, 'no'));
  t.equal(again.result.code, code('NO_VOTING_WEIGHT'), 'a deregistered agent has nothing left to vote with');
  t.equal(again.result.log, `NO_VOTING_WEIGHT: ${toHex(addr(u0))} holds no bonded ACC; only agent bonds and validator stakes vote (register an agent: agentcluster tx agent register)`);
  await toTally(d, id);
  const p = await proposal(d, id);
  // Total: 3 x 100,000 + 2,000 (u1) - 49,500 (v2's unbonding stake); u0's bond is unbonding and weighs nothing.
  t.same(p.tally, tally(50_500n * ACC, 102_000n * ACC, 0n, 0n, 252_500n * ACC));
  t.equal(p.status, 'rejected');
  t.equal((await supplyBreakdown(d.app.store)).unbonding, 49_500n * ACC + 3_000n * ACC, 'the tokens that stopped voting wait in the unbonding queue');
});

t.test('vote rejections: PROPOSAL_NOT_FOUND, VOTING_CLOSED, NO_VOTING_WEIGHT; bad ids and options at decode', async (t) => {
  const d = await Driver.open(govFixture(), t.teardown);
  const [u0, , , , , proposer] = d.fx.users;
  await okBlock(d, [[u0, registerMsg(d, u0, 1_000n * ACC)]]);
  const { id } = await submit(d, proposer, {});
  const rows: Array<[string, typeof u0, Msg, ErrorCode, RegExp]> = [
    ['no such proposal', u0, voteMsg(id + 1n, 'yes'), 'PROPOSAL_NOT_FOUND', /^PROPOSAL_NOT_FOUND: there is no proposal 2; see `proposals`$/],
    ['not an agent', proposer, voteMsg(id, 'yes'), 'NO_VOTING_WEIGHT', /holds no bonded ACC/],
    ['a stranger with no account', key(77), voteMsg(id, 'yes'), 'INSUFFICIENT_FUNDS', /cannot cover gas_limit/],
    ['proposal id 0', u0, voteMsg(0n, 'yes'), 'INVALID_FIELD', /MsgVote\.proposal_id must be set/],
    ['unknown option', u0, voteMsg(id, 'maybe'), 'INVALID_FIELD', /MsgVote\.option must be one of yes, no, abstain, veto; got "maybe"/],
    ['option in capitals', u0, voteMsg(id, 'YES'), 'INVALID_FIELD', /MsgVote\.option/],
  ];
  for (const [name, from, msg, expected, log] of rows) {
    const { result } = await d.run(from, msg);
    t.equal(result.code, code(expected), `${name}: ${result.log}`);
    t.match(result.log, log, name);
  }
  t.same(await votesOf(d.app.store, id), [], 'no vote recorded');
  const p = await proposal(d, id);
  const closed = await d.run(u0, voteMsg(id, 'yes'), { time: p.votingEndNs });
  t.equal(closed.result.code, code('VOTING_CLOSED'), 'exactly at the voting end');
  t.equal((await proposal(d, id)).status, 'rejected', 'tallied in that block: nobody voted');
  t.equal((await d.run(u0, voteMsg(id, 'yes'))).result.code, code('VOTING_CLOSED'));
  t.match((await d.run(u0, voteMsg(id, 'yes'))).result.log, /it is rejected$/);
  // Voting opens at once: a vote in the submission's own block, after it, counts.
  const nextId = (await getGovState(d.app.store)).nextId;
  const same = await d.block([await d.tx(proposer, proposalMsg({ deposit: await deposit(d) })), await d.tx(u0, voteMsg(nextId, 'no'))]);
  t.same(same.txResults.map((r) => r.code), [0, 0], same.txResults.map((r) => r.log).join(' | '));
  t.same((await votesOf(d.app.store, nextId)).map((v) => [toHex(v.voter), v.option, v.height]), [[toHex(addr(u0)), 'no', d.app.head().height]]);
});

// ---------------------------------------------------------------------------------------------------------------
// Submission rejections
// ---------------------------------------------------------------------------------------------------------------

t.test('INVALID_PROPOSAL_TARGET at submission: unknown validator, jail above ten years, upgrade height not ahead; nothing but the fee changes', async (t) => {
  const d = await Driver.open(govFixture(), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  const v2 = d.fx.validators[2];
  const TEN_YEARS = 3650n * 86_400n;
  const next = () => d.app.head().height + 1n; // the height of the block the tx lands in
  const rows: Array<[string, () => Partial<typeof NO_ACTION>, ErrorCode | 0, RegExp?]> = [
    ['unknown validator', () => ({ validatorAction: { validator: addr(key(88)), action: 'jail', jailSeconds: 60n } }), 'INVALID_PROPOSAL_TARGET', new RegExp(`there is no validator ${toHex(addr(key(88)))}`)],
    ['an agent that is no validator', () => ({ validatorAction: { validator: addr(d.fx.users[0]), action: 'remove', jailSeconds: 0n } }), 'INVALID_PROPOSAL_TARGET', /there is no validator/],
    ['jail one second above ten years', () => ({ validatorAction: { validator: addr(v2), action: 'jail', jailSeconds: TEN_YEARS + 1n } }), 'INVALID_PROPOSAL_TARGET', /is more than ten years; use "remove"/],
    ['jail exactly ten years', () => ({ validatorAction: { validator: addr(v2), action: 'jail', jailSeconds: TEN_YEARS } }), 0],
    ['upgrade at the current height', () => upgrade('v2', next()), 'INVALID_PROPOSAL_TARGET', /upgrade height \d+ is not above the current height \d+/],
    ['upgrade below the current height', () => upgrade('v2', 1n), 'INVALID_PROPOSAL_TARGET', /is not above the current height/],
    ['upgrade at the next height', () => upgrade('v2', next() + 1n), 0],
    ['appeal of no escrow', () => ({ slashAppeal: { escrowId: 1n } }), 'INVALID_PROPOSAL_TARGET', /there is no slash escrow 1 /],
  ];
  for (const [name, over, expected, log] of rows) {
    const nextId = (await getGovState(d.app.store)).nextId;
    const bal = await balance(d, addr(proposer));
    const dep = await deposit(d);
    const height = next();
    const { result } = await d.run(proposer, proposalMsg({ ...over(), deposit: dep }));
    t.equal(result.code, expected === 0 ? 0 : code(expected), `${name}: ${result.log}`);
    if (log !== undefined) t.match(result.log, log, name);
    if (name === 'upgrade at the current height') t.match(result.log, new RegExp(`upgrade height ${height} is not above the current height ${height}`));
    t.equal((await getGovState(d.app.store)).nextId, nextId + (expected === 0 ? 1n : 0n), `${name}: ids`);
    t.equal(await balance(d, addr(proposer)), bal - result.gasUsed - (expected === 0 ? dep : 0n), `${name}: the balance`);
  }
});

t.test('decode-level rejections (validateProposal): one action at most, well-formed fields; no gas paid', async (t) => {
  const d = await Driver.open(govFixture(), t.teardown);
  const u = d.fx.users[5];
  const v = addr(d.fx.validators[1]);
  const ok = { deposit: 1n };
  const pc = (path: string, value = '"1"') => ({ path, value });
  const rows: Array<[string, Partial<typeof NO_ACTION>, ErrorCode, RegExp]> = [
    ['empty title', { ...ok, title: '' }, 'INVALID_FIELD', /MsgSubmitProposal\.title must be 1-140 characters/],
    ['blank title', { ...ok, title: '   ' }, 'INVALID_FIELD', /title/],
    ['title of 141 characters', { ...ok, title: 'x'.repeat(141) }, 'INVALID_FIELD', /title/],
    ['control character in the title', { ...ok, title: 'a\nb' }, 'INVALID_FIELD', /title/],
    ['carriage return in the summary', { ...ok, summary: 'a\rb' }, 'INVALID_FIELD', /summary/],
    ['summary of 4097 characters', { ...ok, summary: 'x'.repeat(4097) }, 'INVALID_FIELD', /summary/],
    ['zero deposit', { deposit: 0n }, 'INVALID_AMOUNT', /deposit must be positive/],
    ['two actions', { ...ok, paramChanges: [pc('fees.burn_bps')], treasurySpend: { recipient: v, amount: 1n } }, 'INVALID_FIELD', /a proposal does one thing: it sets param_change and treasury_spend/],
    ['three actions', { ...ok, slashAppeal: { escrowId: 1n }, ...upgrade('x', 10n), validatorAction: { validator: v, action: 'jail', jailSeconds: 1n } }, 'INVALID_FIELD', /validator_action and slash_appeal and software_upgrade/],
    ['param path without a group', { ...ok, paramChanges: [pc('staking')] }, 'INVALID_FIELD', /param_changes\[0\]\.path must name a parameter/],
    ['param path in capitals', { ...ok, paramChanges: [pc('Staking.epoch_blocks')] }, 'INVALID_FIELD', /param_changes\[0\]\.path/],
    ['param path with an empty segment', { ...ok, paramChanges: [pc('staking..epoch_blocks')] }, 'INVALID_FIELD', /param_changes\[0\]\.path/],
    ['param path too long', { ...ok, paramChanges: [pc(`fees.msg_gas.${'a'.repeat(120)}`)] }, 'INVALID_FIELD', /param_changes\[0\]\.path/],
    ['the same path twice', { ...ok, paramChanges: [pc('fees.burn_bps'), pc('fees.burn_bps', '"2"')] }, 'INVALID_FIELD', /param_changes\[1\]\.path sets fees\.burn_bps twice/],
    ['empty value', { ...ok, paramChanges: [pc('fees.burn_bps', '')] }, 'INVALID_FIELD', /param_changes\[0\]\.value must be 1-4096 characters/],
    ['33 changes', { ...ok, paramChanges: Array.from({ length: 33 }, (_, i) => pc(`fees.msg_gas.m${i}`)) }, 'INVALID_FIELD', /param_changes must hold at most 32 changes/],
    ['spend to a short address', { ...ok, treasurySpend: { recipient: new Uint8Array(19), amount: 1n } }, 'INVALID_FIELD', /treasury_spend\.recipient must be 20 bytes/],
    ['spend of nothing', { ...ok, treasurySpend: { recipient: v, amount: 0n } }, 'INVALID_AMOUNT', /treasury_spend\.amount must be positive/],
    ['spend with no recipient', { ...ok, treasurySpend: { recipient: new Uint8Array(0), amount: 5n } }, 'INVALID_FIELD', /treasury_spend\.recipient must be 20 bytes/],
    ['validator action without a validator', { ...ok, validatorAction: { validator: new Uint8Array(0), action: 'jail', jailSeconds: 5n } }, 'INVALID_FIELD', /validator_action\.validator must be 20 bytes/],
    ['unknown validator action', { ...ok, validatorAction: { validator: v, action: 'ban', jailSeconds: 0n } }, 'INVALID_FIELD', /validator_action\.action must be "jail" or "remove"; got "ban"/],
    ['validator action with no action', { ...ok, validatorAction: { validator: v, action: '', jailSeconds: 0n } }, 'INVALID_FIELD', /validator_action\.action/],
    ['jail for zero seconds', { ...ok, validatorAction: { validator: v, action: 'jail', jailSeconds: 0n } }, 'INVALID_FIELD', /validator_action\.jail_seconds must be positive for a jail/],
    ['remove with a jail term', { ...ok, validatorAction: { validator: v, action: 'remove', jailSeconds: 5n } }, 'INVALID_FIELD', /jail_seconds must be 0 for "remove"/],
    ['upgrade without a name', { ...ok, upgrade: { name: '', height: 10n, info: '' } }, 'INVALID_FIELD', /upgrade\.name must be 1-64 characters/],
    ['upgrade name with a space', { ...ok, upgrade: { name: 'v 2', height: 10n, info: '' } }, 'INVALID_FIELD', /upgrade\.name/],
    ['upgrade name starting with a dot', { ...ok, upgrade: { name: '.v2', height: 10n, info: '' } }, 'INVALID_FIELD', /upgrade\.name/],
    ['upgrade name of 65 characters', { ...ok, upgrade: { name: 'v'.repeat(65), height: 10n, info: '' } }, 'INVALID_FIELD', /upgrade\.name/],
    ['upgrade without a height', { ...ok, upgrade: { name: 'v2', height: 0n, info: '' } }, 'INVALID_FIELD', /upgrade\.height must be set/],
    ['upgrade with only info', { ...ok, upgrade: { name: '', height: 0n, info: 'x' } }, 'INVALID_FIELD', /upgrade\.name/],
    ['upgrade info with a control character', { ...ok, upgrade: { name: 'v2', height: 10n, info: 'a\u0000b' } }, 'INVALID_FIELD', /upgrade\.info/],
  ];
  for (const [name, over, expected, log] of rows) {
    const { result } = await d.run(u, proposalMsg(over));
    t.equal(result.code, code(expected), `${name}: ${result.log}`);
    t.match(result.log, log, name);
    t.equal(result.gasUsed, 0n, `${name}: refused before paying gas`);
  }
  t.equal((await getGovState(d.app.store)).nextId, 1n, 'no proposal made');
  // The largest well-formed proposal fields pass decoding (and fail on the deposit, in the module).
  const big = await d.run(u, proposalMsg({ title: 'x'.repeat(140), summary: 'line\n\tline', ...upgrade('v'.repeat(64), 10n) }));
  t.equal(big.result.code, code('INVALID_AMOUNT'));
  const decoded = await d.run(u, proposalMsg({ title: 'x'.repeat(140), summary: 'line\n\tline', deposit: 1n, ...upgrade('v'.repeat(64), 10n) }));
  t.equal(decoded.result.code, code('DEPOSIT_TOO_SMALL'), 'well-formed: the module judged it');
});

// ---------------------------------------------------------------------------------------------------------------
// Atomic execution
// ---------------------------------------------------------------------------------------------------------------

const GOV = 0x11;
/** The block's writes in the governance namespace: [key hex, deleted?]. */
const govWrites = (out: { state: ReadonlyArray<{ key: Uint8Array; value: Uint8Array | null }> }) => out.state.filter((w) => w.key[0] === GOV).map((w) => [toHex(w.key), w.value === null]);
const proposalKey = (id: bigint) => toHex(new Uint8Array([GOV, 0x01, ...new Uint8Array(new BigUint64Array([id]).buffer).reverse()]));

t.test('atomic: a multi-change proposal invalid by execution time (an earlier proposal changed a related parameter) changes nothing', async (t) => {
  const d = await Driver.open(govFixture(), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  await fundValidators(d);
  const shrink = await submit(d, proposer, paramChanges(['tx.max_tx_bytes', '"5000"']));
  // Valid when submitted: max_memo_bytes 6,000 is below max_tx_bytes 32,768.
  const memo = await submit(d, proposer, paramChanges(['fees.burn_bps', '"2500"'], ['tx.max_memo_bytes', '"6000"']));
  t.equal(memo.result.code, 0, memo.result.log);
  await castVotes(d, d.fx.validators.flatMap((v): Array<[typeof v, bigint, string]> => [[v, shrink.id, 'yes'], [v, memo.id, 'yes']]));
  await toTally(d, memo.id); // the later voting end: both tallied
  t.equal((await proposal(d, memo.id)).status, 'passed');
  await toExecution(d, shrink.id);
  t.equal((await proposal(d, shrink.id)).status, 'executed');
  const params = await readParams(d.app.store);
  t.equal(params.tx.max_tx_bytes, 5000n);
  const before = await proposal(d, memo.id);
  const out = await toExecution(d, memo.id);
  const after = await proposal(d, memo.id);
  t.equal(after.status, 'failed');
  t.equal(after.failure, 'INVALID_PARAM_CHANGE: the changed parameters are invalid: params.tx.max_memo_bytes: must be smaller than max_tx_bytes (5000); got 6000');
  t.equal(after.executedHeight, d.app.head().height);
  t.same({ ...after, status: before.status, executedHeight: before.executedHeight, failure: before.failure }, before, 'nothing else in the record changed');
  t.same(await readParams(d.app.store), params, 'neither change applied: burn_bps stays too');
  t.equal((await readParams(d.app.store)).fees.burn_bps, d.params.fees.burn_bps);
  t.notOk(out.state.some((w) => toHex(w.key) === toHex(paramsRecord.stateKey)), 'the params record was not written');
  t.same(govWrites(out).filter(([k]) => k !== proposalKey(memo.id)).map(([, deleted]) => deleted), [true], 'governance wrote the record and removed its timer, nothing else');
  t.same(events(out.endBlockEvents, 'param_change'), []);
  t.same(events(out.endBlockEvents, 'proposal_executed'), [{ proposal: String(memo.id), kind: 'param_change', status: 'failed', reason: after.failure }]);
  t.equal(after.depositStatus, 'returned', 'its deposit came back at the tally: it passed');
});

t.test('atomic: a treasury spend larger than the treasury at execution fails and pays nothing', async (t) => {
  const d = await Driver.open(govFixture(), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  await fundValidators(d);
  const treasury = await balance(d, TREASURY);
  const [r1, r2] = [addr(key(70)), addr(key(71))];
  const sub = await okBlock(d, [
    [proposer, proposalMsg({ treasurySpend: { recipient: r1, amount: treasury - ACC }, deposit: await deposit(d) })],
    [proposer, proposalMsg({ treasurySpend: { recipient: r2, amount: 2n * ACC }, deposit: await deposit(d) })],
  ]);
  const [big, small] = sub.txResults.map((r) => BigInt(events(r.events, 'submit_proposal')[0].proposal));
  await castVotes(d, d.fx.validators.flatMap((v): Array<[typeof v, bigint, string]> => [[v, big, 'yes'], [v, small, 'yes']]));
  await toTally(d, big);
  const out = await toExecution(d, big);
  t.equal((await proposal(d, big)).status, 'executed');
  const failed = await proposal(d, small);
  t.equal(failed.status, 'failed');
  t.equal(failed.failure, `INSUFFICIENT_FUNDS: account ${toHex(TREASURY)} has ${ACC} uacc, needs ${2n * ACC} uacc`);
  t.equal(await balance(d, TREASURY), ACC, 'the first spend took all but 1 ACC; the second took nothing');
  t.equal(await balance(d, r1), treasury - ACC);
  t.equal(await balance(d, r2), 0n);
  t.same(events(out.endBlockEvents, 'treasury_spend').map((e) => e.proposal), [String(big)]);
});

t.test('atomic: jailing or removing the last validator with power fails and changes nothing; two jails in one block', async (t) => {
  const d = await Driver.open(govFixture({ stakes: [99_000n * ACC] }), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  const [v0] = d.fx.validators;
  await fundValidators(d);
  const sub = await okBlock(d, [
    [proposer, proposalMsg({ validatorAction: { validator: addr(v0), action: 'jail', jailSeconds: 60n }, deposit: await deposit(d) })],
    [proposer, proposalMsg({ validatorAction: { validator: addr(v0), action: 'remove', jailSeconds: 0n }, deposit: await deposit(d) })],
  ]);
  const [jail, remove] = sub.txResults.map((r) => BigInt(events(r.events, 'submit_proposal')[0].proposal));
  await castVotes(d, [[v0, jail, 'yes'], [v0, remove, 'yes']]);
  await toTally(d, jail);
  t.equal((await proposal(d, jail)).status, 'passed', 'its own vote is all the weight');
  const v = (await validators.get(d.app.store, addr(v0)))!;
  const before = await proposal(d, jail);
  const out = await toExecution(d, jail);
  for (const id of [jail, remove]) {
    const p = await proposal(d, id);
    t.equal(p.status, 'failed');
    t.equal(p.failure, `INVALID_PROPOSAL_TARGET: validator ${toHex(addr(v0))} is the last one holding power; the chain cannot go on without it`);
  }
  t.same({ ...(await proposal(d, jail)), status: 'passed', executedHeight: 0n, failure: '' }, before);
  const after = (await validators.get(d.app.store, addr(v0)))!;
  t.equal(after.jailedUntilNs, 0n);
  t.equal(after.tombstoned, false);
  t.equal(after.stake, v.stake);
  t.ok(after.power > 0n);
  t.same(out.validatorUpdates.filter((u) => u.power === 0n), [], 'the validator stays in the set');
  t.same(events(out.endBlockEvents, 'validator_action'), []);
  const writes = govWrites(out);
  t.equal(writes.length, 4, 'two records and two timers');
  t.same(writes.filter(([, deleted]) => deleted).length, 2, 'the timers removed');
  t.same(writes.filter(([k]) => k === proposalKey(jail) || k === proposalKey(remove)).length, 2);

  // Two validators, both jailed by proposals executing in one end-block: the first goes, the second would leave no one.
  const two = await Driver.open(govFixture({ stakes: [99_000n * ACC, 99_000n * ACC] }), t.teardown);
  const [w0, w1] = two.fx.validators;
  const p2 = two.fx.users[5];
  await fundValidators(two);
  const s2 = await okBlock(two, [
    [p2, proposalMsg({ validatorAction: { validator: addr(w1), action: 'jail', jailSeconds: 60n }, deposit: await deposit(two) })],
    [p2, proposalMsg({ validatorAction: { validator: addr(w0), action: 'jail', jailSeconds: 60n }, deposit: await deposit(two) })],
  ]);
  const [j1, j0] = s2.txResults.map((r) => BigInt(events(r.events, 'submit_proposal')[0].proposal));
  await castVotes(two, [[w0, j1, 'yes'], [w1, j1, 'yes'], [w0, j0, 'yes'], [w1, j0, 'yes']]);
  await toTally(two, j1);
  const o2 = await toExecution(two, j1);
  t.equal((await proposal(two, j1)).status, 'executed');
  t.equal((await proposal(two, j0)).status, 'failed');
  t.match((await proposal(two, j0)).failure, /is the last one holding power/);
  t.same(o2.validatorUpdates.filter((u) => u.power === 0n).map((u) => toHex(u.pubKey)), [toHex(w1.publicKey)], 'only the first leaves the set');
  t.equal((await validators.get(two.app.store, addr(w0)))!.jailedUntilNs, 0n);
});

t.test('atomic: an appeal whose escrow burned before its execution fails; the burn stands', async (t) => {
  const window = 5600n;
  const d = await Driver.open(govFixture({ params: (p) => void (p.slashing.appeal_window_seconds = window) }), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  const [v0, v1, v2] = d.fx.validators;
  await fundValidators(d);
  const slashed = await d.block([], { evidence: [duplicateVote(v2, d.app.head().height, 100_000n * ACC, 300_000n * ACC, d.time)] });
  const s = events(slashed.beginBlockEvents, 'slash')[0];
  const [[escrowId, escrow]] = await allSlashEscrows(d.app.store);
  t.equal(String(escrowId), s.escrow);
  const { id } = await submit(d, proposer, { slashAppeal: { escrowId } });
  await castVotes(d, [[v0, id, 'yes'], [v1, id, 'yes']]);
  await toTally(d, id);
  const p = await proposal(d, id);
  t.equal(p.status, 'passed');
  t.ok(p.executeNs < escrow.burnsAtNs, 'it could have executed in time');
  // No block until the escrow's burn time: slashing's end-block (before governance's) burns it first.
  const bal = await balance(d, addr(v2));
  const burned = (await getSupply(d.app.store)).burned;
  const out = await d.block([], { time: escrow.burnsAtNs });
  t.same(events(out.endBlockEvents, 'slash_burned').map((e) => [e.escrow, e.amount]), [[String(escrowId), String(escrow.amount)]]);
  const after = await proposal(d, id);
  t.equal(after.status, 'failed');
  t.equal(after.failure, `INVALID_PROPOSAL_TARGET: slash escrow ${escrowId} no longer exists (burned or restored)`);
  t.same(events(out.endBlockEvents, 'slash_restored'), []);
  t.equal(await balance(d, addr(v2)), bal, 'nothing restored');
  t.equal((await getSupply(d.app.store)).burned - burned, escrow.amount, 'exactly the escrow burned');
  await checkCirculating(t, d.app.store, 'after the burn');
});

t.test('atomic: an upgrade whose height passed during the vote fails; two param changes in one end-block both apply', async (t) => {
  const d = await Driver.open(govFixture(), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  await fundValidators(d);
  const h = d.app.head().height + 1n; // the submission block
  const txs = [
    await d.tx(proposer, proposalMsg({ ...upgrade('soon', h + 2n), deposit: await deposit(d) })),
    await d.tx(proposer, proposalMsg({ ...paramChanges(['fees.burn_bps', '"3000"']), deposit: await deposit(d) })),
    await d.tx(proposer, proposalMsg({ ...paramChanges(['fees.msg_gas.send', '"999"']), deposit: await deposit(d) })),
  ];
  const sub = await d.block(txs);
  t.same(sub.txResults.map((r) => r.code), [0, 0, 0], sub.txResults.map((r) => r.log).join(' | '));
  const [up, burn, gas] = sub.txResults.map((r) => BigInt(events(r.events, 'submit_proposal')[0].proposal));
  await castVotes(d, d.fx.validators.flatMap((v): Array<[typeof v, bigint, string]> => [[v, up, 'yes'], [v, burn, 'yes'], [v, gas, 'yes']]));
  await toTally(d, up);
  t.equal((await proposal(d, up)).status, 'passed');
  const gs = await getGovState(d.app.store);
  const out = await toExecution(d, up);
  const failed = await proposal(d, up);
  t.equal(failed.status, 'failed');
  t.equal(failed.failure, `INVALID_PROPOSAL_TARGET: upgrade height ${h + 2n} has passed (now ${d.app.head().height})`);
  t.same(await getGovState(d.app.store), gs, 'no plan recorded');
  t.same(events(out.endBlockEvents, 'upgrade_plan'), []);
  t.same(events(out.endBlockEvents, 'proposal_executed').map((e) => [e.proposal, e.status]), [[String(up), 'failed'], [String(burn), 'executed'], [String(gas), 'executed']]);
  const params = await readParams(d.app.store);
  t.equal(params.fees.burn_bps, 3000n, 'the first change stands');
  t.equal(params.fees.msg_gas.send, 999n, 'the second applied on top of the first');
});

t.test('downtime: a governance jail shorter than the downtime jail keeps the longer term; the downtime escrow is appealed', async (t) => {
  const d = await Driver.open(govFixture({ params: (p) => { p.slashing.downtime_window_blocks = 10n; p.slashing.downtime_min_signed_bps = 5000n; p.slashing.downtime_jail_seconds = 100_000n; } }), t.teardown);
  const [, , , , , proposer] = d.fx.users;
  const [v0, v1, v2] = d.fx.validators;
  await fundValidators(d);
  let slash: Record<string, string> | undefined;
  for (let i = 0; i < 12 && slash === undefined; i++) {
    const lastCommit = (await d.signedByAll()).map((c) => ({ ...c, signed: toHex(c.address) !== toHex(addr(v2)) }));
    slash = events((await d.block([], { lastCommit })).beginBlockEvents, 'slash')[0];
  }
  t.equal(slash?.kind, 'downtime');
  const amount = (99_000n * ACC) / 100n + (1_000n * ACC) / 100n;
  t.equal(BigInt(slash!.amount), amount, '1% of stake and bond');
  const jailedUntil = (await validators.get(d.app.store, addr(v2)))!.jailedUntilNs;
  t.equal(jailedUntil, d.time + 100_000n * SECOND);
  const sub = await okBlock(d, [
    [proposer, proposalMsg({ validatorAction: { validator: addr(v2), action: 'jail', jailSeconds: 60n }, deposit: await deposit(d) })],
    [proposer, proposalMsg({ slashAppeal: { escrowId: BigInt(slash!.escrow) }, deposit: await deposit(d) })],
  ]);
  const [jail, appeal] = sub.txResults.map((r) => BigInt(events(r.events, 'submit_proposal')[0].proposal));
  await castVotes(d, [[v0, jail, 'yes'], [v1, jail, 'yes'], [v0, appeal, 'yes'], [v1, appeal, 'yes']]);
  await toTally(d, jail);
  t.same((await proposal(d, jail)).tally, tally(200_000n * ACC, 0n, 0n, 0n, 300_000n * ACC - amount));
  const bal = await balance(d, addr(v2));
  const out = await toExecution(d, jail);
  t.equal((await proposal(d, jail)).status, 'executed');
  t.equal((await proposal(d, appeal)).status, 'executed');
  t.equal((await validators.get(d.app.store, addr(v2)))!.jailedUntilNs, jailedUntil, 'the longer term stays');
  t.equal(await balance(d, addr(v2)), bal + amount, 'the downtime slash returned');
  t.same(events(out.endBlockEvents, 'slash_restored').map((e) => e.amount), [String(amount)]);
  t.same(await allSlashEscrows(d.app.store), []);
});
