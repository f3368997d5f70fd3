// The issue 7 RPC methods (`task`, `tasks`, `committee`, `duties`, `reputation`, `beacon`; src/rpc/domain-tasks.ts)
// on a real chain (App on LevelDB, real signed txs and blocks, the tasks test driver): one task walked through its
// whole life with every method's JSON checked at each stage against the state records and the rules of
// src/tasks/tasks.ts (windows from the params, the committee re-drawn from the beacon, the payouts recomputed from the
// pots and emission records); the list filters and paging against a scan of every task record; every bad parameter.
import t from 'tap';
import type { Test } from 'tap';
import type { KeyPair } from '../src/crypto/keys.ts';
import { toBase64, toHex, utf8 } from '../src/crypto/bytes.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { formatTime } from '../src/codec/time.ts';
import { TASK_STATUSES, type Payload, type Task } from '../src/codec/types.ts';
import { getAccount, moduleAddress, ModuleAccount } from '../src/state/accounts.ts';
import { getAgent } from '../src/state/agents.ts';
import { beaconMixAt } from '../src/state/beacon.ts';
import { emissionPools } from '../src/state/rewards.ts';
import { BPS } from '../src/state/params.ts';
import { SCORE_ONE } from '../src/reputation/factor.ts';
import { reputationOf } from '../src/reputation/reputation.ts';
import { reputationRecords } from '../src/reputation/records.ts';
import { getEndorsement } from '../src/reputation/endorsements.ts';
import { committeeSeed, selectCommittee, weightedAgents } from '../src/tasks/tasks.ts';
import { getEscrow, getTask, lastTaskId } from '../src/tasks/store.ts';
import { RpcCode, type Args, type MethodTable } from '../src/rpc/types.ts';
import { allDomainMethods } from '../src/rpc/domain-tasks.ts';
import { revealOf } from './helpers/chain.ts';
import { stateOnlyRpcContext } from './helpers/rpc-context.ts';
import { ACC, Driver, SECOND, addr, commitMsg, expectOk, fundValidators, inline, keyring, ref, registerAgents, resultMsg, revealMsg, signAll, submitMsg, tasksFixture, verifyAgents } from './helpers/tasks.ts';
import { call, rpcError } from './helpers/inproc.ts';

/** A short half-life, so that one block can advance block time by exactly one half-life without expiring attestations. */
const HALF_LIFE_SECONDS = 600n;

const hex = (k: KeyPair | Uint8Array): string => toHex(k instanceof Uint8Array ? k : addr(k));
interface World {
  d: Driver;
  table: MethodTable;
  /** The only agent with verified capabilities: every task is routed to it (unless it submits). */
  exec: KeyPair;
  /** Agents, capabilities claimed only (never routed a task): possible reviewers, like the validators and u5. */
  reviewers: KeyPair[];
  /** Plain accounts that submit tasks. */
  s1: KeyPair;
  s2: KeyPair;
  /** An agent, capabilities claimed only: requests its own benchmark in the list test. */
  u5: KeyPair;
  keys: Map<string, KeyPair>;
}

/** 3 genesis validators (agents), u0 verified through a real benchmark (task 1), u1-u5 agents, u6 and u7 accounts. */
async function world(t: Test): Promise<World> {
  const d = await Driver.open(tasksFixture({ params: (p) => void (p.reputation.half_life_seconds = HALF_LIFE_SECONDS) }), (f) => t.teardown(f));
  const u = d.fx.users;
  await fundValidators(d);
  await registerAgents(d, u.slice(0, 6));
  await verifyAgents(d, [u[0]]);
  return { d, table: allDomainMethods(stateOnlyRpcContext(d.app)), exec: u[0], reviewers: u.slice(1, 5), s1: u[6], s2: u[7], u5: u[5], keys: keyring(d) };
}

const time = (ns: bigint): string | null => (ns === 0n ? null : formatTime(ns));
const payload = (p: Payload) => ({ hash: p.hash.length === 0 ? null : toHex(p.hash), uri: p.uri, inline: toBase64(p.inline) });

/** The JSON `task` must give, written from the state records field by field. */
async function expectedTask(d: Driver, id: bigint): Promise<Record<string, unknown>> {
  const x = (await getTask(d.app.store, id))!;
  const e = await getEscrow(d.app.store, id);
  const r = x.requirements;
  return {
    id: x.id.toString(),
    kind: x.kind,
    status: x.status,
    submitter: toHex(x.submitter),
    requirements: { min_cpu_cores: r.minCpuCores, min_gpu_memory_mb: r.minGpuMemoryMb.toString(), min_llm_tokens_per_second: r.minLlmTokensPerSecond.toString(), models: r.models, skills: r.skills },
    bounty: x.bounty.toString(),
    escrowed: (e.bounty + e.deposit).toString(),
    deadline: formatTime(x.deadlineNs),
    input: payload(x.input),
    submitted_at: formatTime(x.submittedNs),
    submitted_height: x.submittedHeight.toString(),
    assignee: x.assignee.length === 0 ? null : toHex(x.assignee),
    tried: x.tried.map((a) => toHex(a)),
    accept_by: time(x.acceptByNs),
    accepted_at: time(x.acceptedNs),
    result: x.resultHeight === 0n ? null : { output: payload(x.output), submitted_at: formatTime(x.resultNs), height: x.resultHeight.toString() },
    round: x.round,
    draw_height: x.drawHeight === 0n ? null : x.drawHeight.toString(),
    next_timer: time(x.timerNs),
    verdict: x.verdict === '' ? null : x.verdict,
    verdict_at: time(x.verdictNs),
    appellant: x.appellant.length === 0 ? null : toHex(x.appellant),
    appeal_verdict: x.appealVerdict === '' ? null : x.appealVerdict,
    final_verdict: x.finalVerdict === '' ? null : x.finalVerdict,
    closed_at: time(x.closedNs),
    close_reason: x.closeReason === '' ? null : x.closeReason,
    executor_paid: x.executorPaid.toString(),
    submitter_refund: x.submitterRefund.toString(),
    reviewers_paid: x.reviewersPaid.toString(),
  };
}

const balance = async (d: Driver, a: Uint8Array): Promise<bigint> => (await getAccount(d.app.store, a)).balance;
const POTS = ['compute_providers', 'marketplace', 'review_committees'] as const;

// ---------------------------------------------------------------------------------------------------------------
// One task through its life
// ---------------------------------------------------------------------------------------------------------------

t.test('one task from submission to finalization: task, duties, committee, reputation and beacon at every stage', async (t) => {
  const w = await world(t);
  const { d, table, exec } = w;
  const store = d.app.store;
  const p = d.params.tasks;
  const rp = d.params.reputation;
  const head = () => d.app.head();
  const task = (id: bigint) => call(table, 'task', { id });
  const duties = (k: KeyPair | Uint8Array) => call(table, 'duties', { address: hex(k) });
  const dutiesOf = async (k: KeyPair | Uint8Array, over: Record<string, unknown> = {}) => ({
    height: head().height.toString(),
    time: formatTime(head().time),
    accept: [],
    execute: [],
    commit: [],
    reveal: [],
    ...over,
  });
  const committeeJSON = (id: bigint) => call(table, 'committee', { task_id: id });

  // ---- submit: routed at once to the only verified agent; the bounty in escrow ----
  const bounty = 10n * ACC;
  const deadline = d.time + 600n * SECOND;
  const input = 'translate: bonjour';
  await expectOk(d.run(w.s1, submitMsg(d, { bounty, deadline, input: inline(input) })), 'submit');
  const id = await lastTaskId(store);
  const submitted = head();
  let tj = await task(id);
  t.same(tj, await expectedTask(d, id), 'submitted: the state record');
  t.equal(tj.status, 'assigned');
  t.equal(tj.kind, 'task');
  t.equal(tj.submitter, hex(w.s1));
  t.equal(tj.assignee, hex(exec), 'routed to the only agent whose capabilities are verified');
  t.same(tj.tried, [hex(exec)]);
  t.equal(tj.bounty, bounty.toString());
  t.equal(tj.escrowed, bounty.toString(), 'the bounty is held');
  t.equal(tj.deadline, formatTime(deadline));
  t.equal(tj.submitted_at, formatTime(submitted.time));
  t.equal(tj.submitted_height, submitted.height.toString());
  t.equal(tj.accept_by, formatTime(submitted.time + p.accept_seconds * SECOND), 'accept_by = routing time + accept_seconds');
  t.equal(tj.next_timer, tj.accept_by, 'the accept window is the pending timer');
  t.same(tj.input, { hash: toHex(sha256(utf8(input))), uri: '', inline: toBase64(utf8(input)) }, 'the chain filled in the input hash');
  for (const k of ['accepted_at', 'result', 'draw_height', 'verdict', 'verdict_at', 'appellant', 'final_verdict', 'closed_at', 'close_reason']) t.equal(tj[k], null, `${k} not set yet`);
  t.same([tj.executor_paid, tj.submitter_refund, tj.reviewers_paid], ['0', '0', '0']);
  t.same(await duties(exec), await dutiesOf(exec, { accept: [tj] }), 'duties: accept it');
  t.same(await committeeJSON(id), { task_id: id.toString(), status: 'assigned', rounds: [] }, 'no committee yet');

  // ---- accept: the deadline becomes the timer ----
  await expectOk(d.run(exec, ref('accept_task', id)), 'accept');
  tj = await task(id);
  t.same(tj, await expectedTask(d, id), 'accepted: the state record');
  t.equal(tj.status, 'accepted');
  t.equal(tj.accepted_at, formatTime(head().time));
  t.equal(tj.accept_by, formatTime(submitted.time + p.accept_seconds * SECOND), 'accept_by unchanged');
  t.equal(tj.next_timer, formatTime(deadline), 'the deadline is the pending timer');
  t.same(await duties(exec), await dutiesOf(exec, { execute: [tj] }), 'duties: execute it');

  // ---- result: the committee is due K blocks later ----
  const output = 'hello';
  await expectOk(d.run(exec, resultMsg(id, output)), 'result');
  const resulted = head();
  const K = p.beacon_delay_blocks;
  tj = await task(id);
  t.same(tj, await expectedTask(d, id), 'result in: the state record');
  t.equal(tj.status, 'awaiting_committee');
  t.same(tj.result, { output: { hash: toHex(sha256(utf8(output))), uri: '', inline: toBase64(utf8(output)) }, submitted_at: formatTime(resulted.time), height: resulted.height.toString() });
  t.equal(tj.draw_height, (resulted.height + K).toString(), 'drawn at the end-block of the result height + beacon_delay_blocks');
  t.equal(tj.next_timer, null);
  t.same(await duties(exec), await dutiesOf(exec), 'duties: nothing left for the executor');
  for (let i = 1n; i < K; i++) await d.block();
  t.same((await committeeJSON(id)).rounds, [], 'not drawn one block before the draw height');

  // ---- draw: the committee, re-drawn here from the beacon mix of the draw height ----
  await d.block();
  const drawn = head();
  t.equal(drawn.height, resulted.height + K);
  const pool = await weightedAgents(store, d.params, drawn.time);
  const wanted = Number(p.committee_max < p.committee_min + bounty / p.committee_bounty_step ? p.committee_max : p.committee_min + bounty / p.committee_bounty_step);
  const picks = selectCommittee(pool, [addr(w.s1), addr(exec)], wanted, committeeSeed((await beaconMixAt(store, drawn.height))!, id, 0));
  const eligible = pool.filter((x) => hex(x.item.address) !== hex(exec) && hex(x.item.address) !== hex(w.s1));
  const size = Math.min(wanted, eligible.length);
  t.equal(picks.length, size, 'the pool is larger than the committee: a full committee');
  t.ok(size >= 3, 'at least three members');
  const quorum = Math.max(1, Math.ceil((size * Number(p.min_reveal_bps)) / Number(BPS)));
  const commitEnds = drawn.time + p.commit_seconds * SECOND;
  const revealEnds = commitEnds + p.reveal_seconds * SECOND;
  const members = picks.map((x) => x.item.address);
  const memberKeys = members.map((a) => w.keys.get(hex(a))!);
  const member = (i: number, over: Record<string, unknown> = {}) => ({
    reviewer: hex(members[i]),
    seat: i,
    weight: picks[i].weight.toString(),
    committed: false,
    committed_at: null,
    revealed: false,
    verdict: null,
    revealed_at: null,
    ...over,
  });
  const round = (over: Record<string, unknown>) => ({
    round: 0,
    phase: 'commit',
    quorum,
    seed_height: drawn.height.toString(),
    drawn_height: drawn.height.toString(),
    drawn_at: formatTime(drawn.time),
    commit_ends: formatTime(commitEnds),
    reveal_ends: formatTime(revealEnds),
    wanted,
    size,
    committed: 0,
    revealed: 0,
    approvals: 0,
    verdict: null,
    settled_at: null,
    members: members.map((_, i) => member(i)),
    ...over,
  });
  let cj = await committeeJSON(id);
  t.same(cj, { task_id: id.toString(), status: 'reviewing', rounds: [round({})] }, 'drawn: phase commit, nobody committed');
  for (const [i, a] of members.entries()) {
    const rep = (await reputationOf(store, d.params, a, drawn.time)).task;
    const bonus = rep <= 0n ? 0n : rep > 9n * SCORE_ONE ? 9n * SCORE_ONE : rep;
    t.equal(cj.rounds[0].members[i].weight, (SCORE_ONE + bonus).toString(), `seat ${i}: weight = SCORE_ONE + its positive task reputation`);
  }
  t.notOk(members.some((a) => hex(a) === hex(exec) || hex(a) === hex(w.s1)), 'neither the executor nor the submitter reviews');
  tj = await task(id);
  t.equal(tj.status, 'reviewing');
  t.equal(tj.draw_height, null);
  t.equal(tj.next_timer, formatTime(revealEnds), 'the end of the reveal phase is the timer');
  const reviewDuty = (ends: bigint) => [{ task: tj, round: 0, ends: formatTime(ends) }];
  for (const k of memberKeys) t.same(await duties(k), await dutiesOf(k, { commit: reviewDuty(commitEnds) }), `${hex(k)}: commit`);
  const outsider = [...w.reviewers, w.u5, ...d.fx.validators].find((k) => !members.some((a) => hex(a) === hex(k)));
  if (outsider !== undefined) t.same(await duties(outsider), await dutiesOf(outsider), 'an agent off the committee has nothing to review');

  // ---- commit: seats 0 and 1 approve, seat 2 rejects; verdicts sealed ----
  const votes = members.map((_, i) => i !== 2);
  const commitTxs: Uint8Array[] = [];
  for (const [i, k] of memberKeys.entries()) commitTxs.push(await d.tx(k, commitMsg(k, id, 0, votes[i])));
  const committed = await d.block(commitTxs);
  committed.txResults.forEach((r, i) => t.equal(r.code, 0, `commit ${i}: ${r.log}`));
  const commitAt = head().time;
  t.ok(commitAt < commitEnds, 'still in the commit phase');
  cj = await committeeJSON(id);
  t.same(cj.rounds[0], round({ committed: size, members: members.map((_, i) => member(i, { committed: true, committed_at: formatTime(commitAt) })) }), 'committed: no verdict visible');
  for (const k of memberKeys) t.same(await duties(k), await dutiesOf(k), `${hex(k)}: nothing until the reveal phase`);

  // ---- reveal phase opens at the commit end ----
  await d.block([], { time: commitEnds });
  cj = await committeeJSON(id);
  t.equal(cj.rounds[0].phase, 'reveal');
  for (const k of memberKeys) t.same(await duties(k), await dutiesOf(k, { reveal: reviewDuty(revealEnds) }), `${hex(k)}: reveal`);

  // seats 0 (approve) and 2 (reject) reveal; seat 1 not yet
  const partial = await d.block([await d.tx(memberKeys[0], revealMsg(memberKeys[0], id, 0, true)), await d.tx(memberKeys[2], revealMsg(memberKeys[2], id, 0, false))]);
  partial.txResults.forEach((r, i) => t.equal(r.code, 0, `reveal ${i}: ${r.log}`));
  const revealAt = head().time;
  const committedMember = { committed: true, committed_at: formatTime(commitAt) };
  cj = await committeeJSON(id);
  t.same(
    cj.rounds[0],
    round({
      phase: 'reveal',
      committed: size,
      revealed: 2,
      approvals: 1,
      members: members.map((_, i) =>
        member(i, { ...committedMember, ...(i === 0 ? { revealed: true, verdict: 'approve', revealed_at: formatTime(revealAt) } : i === 2 ? { revealed: true, verdict: 'reject', revealed_at: formatTime(revealAt) } : {}) }),
      ),
    }),
    'a revealed verdict is shown; the unrevealed one stays hidden',
  );
  t.same(await duties(memberKeys[0]), await dutiesOf(memberKeys[0]), 'revealed: no duty left');
  t.same(await duties(memberKeys[1]), await dutiesOf(memberKeys[1], { reveal: reviewDuty(revealEnds) }), 'seat 1 still has to reveal');

  // seat 1 reveals: everyone has, so the round settles at this block's end-block
  await expectOk(d.run(memberKeys[1], revealMsg(memberKeys[1], id, 0, true)), 'last reveal');
  const settledAt = head();
  cj = await committeeJSON(id);
  // 2 approvals of 3 revealed: 3 x 2 >= 2 x 3, approved.
  t.same(
    cj,
    {
      task_id: id.toString(),
      status: 'settled',
      rounds: [
        round({
          phase: 'settled',
          committed: size,
          revealed: 3,
          approvals: 2,
          verdict: 'approved',
          settled_at: formatTime(settledAt.time),
          members: members.map((_, i) => member(i, { ...committedMember, revealed: true, verdict: votes[i] ? 'approve' : 'reject', revealed_at: formatTime(i === 1 ? settledAt.time : revealAt) })),
        }),
      ],
    },
    'settled: every verdict shown, the round approved',
  );
  tj = await task(id);
  t.same(tj, await expectedTask(d, id), 'settled: the state record');
  t.equal(tj.status, 'settled');
  t.equal(tj.verdict, 'approved');
  t.equal(tj.verdict_at, formatTime(settledAt.time));
  t.equal(tj.next_timer, formatTime(settledAt.time + p.appeal_seconds * SECOND), 'the appeal window is the timer');
  t.equal(tj.escrowed, bounty.toString(), 'nothing paid before finalization');
  for (const k of [...memberKeys, exec]) t.same(await duties(k), await dutiesOf(k), `${hex(k)}: no duties once settled`);

  // ---- finalize: the appeal window closes; payouts recomputed from the pots and the emission records ----
  let before: { exec: bigint; pots: bigint[]; released: bigint[] } | undefined;
  for (let i = 0; (await getTask(store, id))!.status !== 'finalized'; i++) {
    if (i > 2n * p.appeal_seconds) throw new Error('never finalized');
    before = {
      exec: await balance(d, addr(exec)),
      pots: await Promise.all(POTS.map((c) => balance(d, moduleAddress(ModuleAccount.rewards(c))))),
      released: await Promise.all(POTS.map(async (c) => (await emissionPools.get(store, c))!.released)),
    };
    await d.block();
  }
  const finalAt = head();
  t.ok(finalAt.time >= settledAt.time + p.appeal_seconds * SECOND, 'not before the appeal window closed');
  t.ok(finalAt.time - SECOND < settledAt.time + p.appeal_seconds * SECOND, 'at the first block after it');
  const pots = await Promise.all(POTS.map((c) => balance(d, moduleAddress(ModuleAccount.rewards(c)))));
  const released = await Promise.all(POTS.map(async (c) => (await emissionPools.get(store, c))!.released));
  // Each pot received its emission at begin-block; what it lost besides is what the finalization paid from it.
  const atEndBlock = POTS.map((_, i) => before!.pots[i] + released[i] - before!.released[i]);
  const paidFrom = POTS.map((_, i) => atEndBlock[i] - pots[i]);
  const fee = (bounty * p.protocol_fee_bps) / BPS;
  const subsidy = (bounty * p.marketplace_subsidy_bps) / BPS < atEndBlock[1] ? (bounty * p.marketplace_subsidy_bps) / BPS : atEndBlock[1];
  const computeShare = (atEndBlock[0] * p.compute_pot_bps) / BPS;
  const majority = 2n;
  const reviewShare = (((atEndBlock[2] * p.review_pot_bps) / BPS) / majority) * majority;
  t.same(paidFrom, [computeShare, subsidy, reviewShare], 'each pot paid its rule\'s share');
  t.ok(computeShare > 0n && subsidy > 0n && reviewShare > 0n, 'the pots are not empty (the checks mean something)');
  tj = await task(id);
  t.same(tj, await expectedTask(d, id), 'finalized: the state record');
  t.equal(tj.status, 'finalized');
  t.equal(tj.final_verdict, 'approved');
  t.equal(tj.closed_at, formatTime(finalAt.time));
  t.equal(tj.next_timer, null);
  t.equal(tj.escrowed, '0', 'the escrow is paid out');
  t.equal(tj.executor_paid, (bounty - fee + subsidy + computeShare).toString(), 'executor: bounty - fee + subsidy + compute share');
  t.equal(BigInt(tj.executor_paid), (await balance(d, addr(exec))) - before!.exec, 'and that is what its balance gained');
  t.equal(tj.submitter_refund, '0');
  t.equal(tj.reviewers_paid, ((fee / majority) * majority + reviewShare).toString(), 'reviewers: the fee and the review share, split between the two in the majority');
  t.same(await duties(exec), await dutiesOf(exec), 'executor: nothing left');

  // ---- reputation: the executor's task dimension is exactly task_completed (it had none before) ----
  let rj = await call(table, 'reputation', { address: hex(exec) });
  t.equal(rj.address, hex(exec));
  t.equal(rj.at, formatTime(finalAt.time));
  t.equal(rj.is_agent, true);
  t.equal(rj.score_one, SCORE_ONE.toString());
  t.equal(rj.dimensions.task, rp.task_completed.toString(), 'task = reputation.task_completed');
  t.equal(rj.stored.task.value, rp.task_completed.toString());
  t.equal(rj.stored.task.updated_at, formatTime(finalAt.time));
  const record = (await reputationRecords.get(store, addr(exec)))!;
  t.equal(rj.stored.task.raw, record.task.value.toString());
  t.equal(rj.stored.compute.raw, record.compute.value.toString());
  t.equal(rj.validator_score, SCORE_ONE.toString(), 'no validator reputation: the neutral score');

  // one half-life of block time later, half of it (decay is lazy: the stored value is unchanged)
  await d.block([], { time: finalAt.time + HALF_LIFE_SECONDS * SECOND });
  rj = await call(table, 'reputation', { address: hex(exec) });
  t.equal(rj.at, formatTime(head().time));
  const half = BigInt(rj.dimensions.task);
  t.ok(half >= rp.task_completed / 2n - 1n && half <= rp.task_completed / 2n + 1n, `after one half-life: ${half}, half of ${rp.task_completed} within one unit`);
  t.equal(rj.stored.task.value, rp.task_completed.toString(), 'stored value unchanged');
  t.equal(rj.stored.task.updated_at, formatTime(finalAt.time));
  const rj2 = await call(table, 'reputation', { address: hex(w.s1) });
  t.equal(rj2.is_agent, false, 'a plain account has a reputation too: zero');
  t.same(rj2.dimensions, { task: '0', validator: '0', compute: '0', social: '0' });

  // ---- endorsement: the executor endorses a reviewer ----
  const subject = w.reviewers[0];
  await expectOk(d.run(exec, { type: 'endorse', value: { subject: addr(subject) } }), 'endorse');
  const endorsed = head();
  const dims = await reputationOf(store, d.params, addr(exec), endorsed.time);
  const net = dims.task + dims.validator + dims.compute;
  const rep = net <= 0n ? 0n : net > SCORE_ONE ? SCORE_ONE : net;
  const holding = (await getAgent(store, addr(exec)))!.bond;
  const full = rp.endorsement_full_stake;
  const credit = (rp.endorsement_credit * rep * (holding < full ? holding : full)) / (SCORE_ONE * full);
  t.ok(credit > 0n, 'the endorser has reputation and a bond: a credit');
  t.equal((await getEndorsement(store, addr(exec), addr(subject)))!.credit, credit, 'the stored credit follows the rule');
  const entry = {
    endorser: hex(exec),
    subject: hex(subject),
    status: 'counts',
    credit: credit.toString(),
    credit_given: credit.toString(),
    created_at: formatTime(endorsed.time),
    height: endorsed.height.toString(),
  };
  rj = await call(table, 'reputation', { address: hex(exec) });
  t.same(rj.endorsements_given, { count: 1, counting: 1, slots_used: 1, slots_max: rp.endorsement_max_per_endorser.toString(), list: [entry] });
  t.same(rj.endorsements_received, { count: 0, counting: 0, list: [] });
  const sj = await call(table, 'reputation', { address: hex(subject) });
  t.same(sj.endorsements_received, { count: 1, counting: 1, list: [entry] });
  t.equal(sj.dimensions.social, credit.toString(), 'the subject\'s social dimension is the credit');

  // ---- beacon: the head's mix, recomputed from the previous mix and the proposer's reveal ----
  const b = await call(table, 'beacon');
  const h = head().height;
  t.equal(b.height, h.toString(), 'the beacon stands at the head');
  t.match(b.mix, /^[0-9A-F]{64}$/);
  const prev = (await beaconMixAt(store, h - 1n))!;
  t.equal(b.mix, toHex(sha256(utf8('agentcluster/beacon/v1/mix'), prev, sha256(revealOf(d.fx.validators[0], h)))), 'm_h = sha256(domain || m_{h-1} || sha256(reveal_h))');
  t.equal(b.history, '1024');
  await d.block();
  const b2 = await call(table, 'beacon');
  t.equal(b2.height, (h + 1n).toString());
  t.not(b2.mix, b.mix, 'a new block, a new mix');
});

// ---------------------------------------------------------------------------------------------------------------
// tasks: filters and paging; every bad parameter
// ---------------------------------------------------------------------------------------------------------------

t.test('tasks: newest first, each filter and their combinations match a scan of every task record; paging', async (t) => {
  const w = await world(t);
  const { d, table, exec } = w;
  // Task 1 is exec's benchmark (finalized). Then: 2 by s1, left assigned; 3 by s2, cancelled; 4 by s2, accepted;
  // 5 is u5's benchmark (kind benchmark, accepted by itself).
  // Two blocks, so that task 2's accept window (accept_seconds) is still open when the lists are read.
  const first = await d.block(await signAll(d, [[w.s1, submitMsg(d)], [w.s2, submitMsg(d)]]));
  const second = await d.block(
    await signAll(d, [
      [w.s2, ref('cancel_task', 3n)],
      [w.s2, submitMsg(d)],
      [exec, ref('accept_task', 4n)],
      [w.u5, { type: 'request_benchmark', value: {} }],
    ]),
  );
  [...first.txResults, ...second.txResults].forEach((r, i) => t.equal(r.code, 0, `setup tx ${i}: ${r.log}`));
  t.equal((await getTask(d.app.store, 2n))!.status, 'assigned');

  const last = await lastTaskId(d.app.store);
  t.equal(last, 5n);
  const all: Task[] = [];
  for (let id = last; id >= 1n; id--) all.push((await getTask(d.app.store, id))!);
  const ids = (r: { tasks: Array<{ id: string }> }) => r.tasks.map((x) => x.id);
  const list = async (args: Args) => {
    const r = await call(table, 'tasks', { per_page: 100, ...args });
    t.equal(r.count, String(r.tasks.length));
    t.equal(r.height, d.app.head().height.toString());
    return r;
  };
  const scan = (f: { status?: string; submitter?: KeyPair; assignee?: KeyPair }) =>
    all
      .filter((x) => (f.status === undefined || x.status === f.status) && (f.submitter === undefined || hex(x.submitter) === hex(f.submitter)) && (f.assignee === undefined || hex(x.assignee) === hex(f.assignee)))
      .map((x) => x.id.toString());
  const filterArgs = (f: { status?: string; submitter?: KeyPair; assignee?: KeyPair }): Args => ({
    ...(f.status === undefined ? {} : { status: f.status }),
    ...(f.submitter === undefined ? {} : { submitter: hex(f.submitter) }),
    ...(f.assignee === undefined ? {} : { assignee: hex(f.assignee).toLowerCase() }),
  });

  const everything = await list({});
  t.same(Object.keys(everything), ['tasks', 'count', 'total', 'height']);
  t.same(ids(everything), ['5', '4', '3', '2', '1'], 'newest first');
  t.equal(everything.total, '5');
  for (const x of everything.tasks) {
    t.same(x, await call(table, 'task', { id: BigInt(x.id) }), `task ${x.id} as \`task\` shows it`);
    t.same(x, await expectedTask(d, BigInt(x.id)), `task ${x.id}: its state record`);
  }
  t.same(everything.tasks.map((x: { kind: string }) => x.kind), ['benchmark', 'task', 'task', 'task', 'benchmark']);
  const bench = everything.tasks[0];
  t.same([bench.submitter, bench.assignee, bench.status, bench.bounty, bench.escrowed], [hex(w.u5), hex(w.u5), 'accepted', '0', '0'], 'a benchmark: the agent is submitter and assignee, no bounty');
  t.equal(bench.deadline, formatTime(d.app.head().time + d.params.tasks.benchmark_seconds * SECOND), 'due benchmark_seconds after the request');

  const filters: Array<[{ status?: string; submitter?: KeyPair; assignee?: KeyPair }, string[]]> = [
    [{ status: 'assigned' }, ['2']],
    [{ status: 'accepted' }, ['5', '4']],
    [{ status: 'cancelled' }, ['3']],
    [{ status: 'finalized' }, ['1']],
    [{ status: 'reviewing' }, []],
    [{ submitter: w.s2 }, ['4', '3']],
    [{ submitter: w.s1 }, ['2']],
    [{ submitter: exec }, ['1']],
    [{ submitter: w.reviewers[0] }, []],
    [{ assignee: exec }, ['4', '3', '2', '1']],
    [{ assignee: w.u5 }, ['5']],
    [{ status: 'accepted', assignee: exec }, ['4']],
    [{ status: 'cancelled', submitter: w.s2 }, ['3']],
    [{ status: 'accepted', submitter: w.s2, assignee: exec }, ['4']],
    [{ submitter: w.s2, assignee: w.u5 }, []],
    [{ status: 'finalized', submitter: w.s1 }, []],
  ];
  for (const [f, expected] of filters) {
    const name = JSON.stringify(filterArgs(f));
    const r = await list(filterArgs(f));
    t.same(ids(r), scan(f), `${name}: the records that match, newest first`);
    t.same(ids(r), expected, `${name}: ${expected.join(',') || 'none'}`);
    t.equal(r.total, String(expected.length), `${name}: total`);
  }
  t.same(await call(table, 'tasks', { status: 'expired' }), { tasks: [], count: '0', total: '0', height: d.app.head().height.toString() }, 'page 1 of nothing is empty, not an error');

  // paging
  const pages = [];
  for (let page = 1; page <= 3; page++) pages.push(await call(table, 'tasks', { page, per_page: 2 }));
  t.same(pages.map((x) => [ids(x), x.count, x.total]), [[['5', '4'], '2', '5'], [['3', '2'], '2', '5'], [['1'], '1', '5']], 'pages of 2 follow each other');
  const p2 = await call(table, 'tasks', { page: 2, per_page: 3, assignee: hex(exec) });
  t.same([ids(p2), p2.count, p2.total], [['1'], '1', '4'], 'a filtered list pages too');
  t.same(ids(await call(table, 'tasks', { per_page: 1 })), ['5'], 'per_page 1');
  t.equal((await call(table, 'tasks')).count, '5', 'default page size holds all five');
  const past: Array<[Args, string]> = [
    [{ page: 4, per_page: 2 }, 'page 4 is past the last page 3 (5 in all, per_page 2)'],
    [{ page: 2 }, 'page 2 is past the last page 1 (5 in all, per_page 30)'],
    [{ page: 2, status: 'reviewing' }, 'page 2 is past the last page 1 (0 in all, per_page 30)'],
    [{ page: 3, per_page: 3, assignee: hex(exec) }, 'page 3 is past the last page 2 (4 in all, per_page 3)'],
  ];
  for (const [args, data] of past) {
    const err = await rpcError(call(table, 'tasks', args));
    t.equal(err.code, RpcCode.INVALID_PARAMS, JSON.stringify(args));
    t.equal(err.data, data);
  }

  // Task 2's accept window closes with no other candidate: it expires, and the status filter follows it.
  await d.block([], { time: (await getTask(d.app.store, 2n))!.acceptByNs });
  all.length = 0;
  for (let id = last; id >= 1n; id--) all.push((await getTask(d.app.store, id))!);
  t.equal(all.find((x) => x.id === 2n)!.status, 'expired');
  const expired = await call(table, 'task', { id: 2n });
  t.same(expired, await expectedTask(d, 2n));
  t.same([expired.close_reason, expired.escrowed, expired.submitter_refund, expired.next_timer], ['no_candidate', '0', (10n * ACC).toString(), null], 'expired: no other candidate, the bounty refunded');
  for (const [f, expected] of [
    [{ status: 'assigned' }, []],
    [{ status: 'expired' }, ['2']],
    [{ status: 'expired', submitter: w.s1, assignee: exec }, ['2']],
    [{ assignee: exec }, ['4', '3', '2', '1']],
  ] as Array<[{ status?: string; submitter?: KeyPair; assignee?: KeyPair }, string[]]>) {
    const r = await list(filterArgs(f));
    t.same(ids(r), scan(f), `after the expiry ${JSON.stringify(filterArgs(f))}: the records that match`);
    t.same(ids(r), expected);
  }
});

t.test('every bad parameter is -32602 with a sentence; an unknown task is -32603 "task N not found"', async (t) => {
  const w = await world(t);
  const { table } = w;
  const statuses = TASK_STATUSES.join(', ');
  const cases: Array<[string, Args, RegExp]> = [
    ['task', { id: -1n }, /^id must be a non-negative integer, got -1$/],
    ['task', { id: 1n << 64n }, /^id must be a non-negative integer, got 18446744073709551616$/],
    ['task', { id: 'seven' }, /^id must be a non-negative integer, got "seven"$/],
    ['task', {}, /^id must be a non-negative integer, got nothing$/],
    ['committee', { task_id: -2n }, /^task_id must be a non-negative integer, got -2$/],
    ['committee', { id: 1n }, /^task_id must be a non-negative integer, got nothing$/],
    ['tasks', { status: 'done' }, new RegExp(`^status must be one of ${statuses}, got "done"$`)],
    ['tasks', { status: 'Assigned' }, /^status must be a lower-case word of at most 32 characters such as "reviewing", got "Assigned"$/],
    ['tasks', { status: 3 }, /^status must be a lower-case word/],
    ['tasks', { submitter: 'xyz' }, /^submitter must be 40 hex characters \(a 20-byte address such as 0A0A.*\), got "xyz"$/],
    ['tasks', { assignee: 'AB'.repeat(21) }, /^assignee must be 40 hex characters/],
    ['tasks', { page: 0 }, /^page must be an integer of 1 or more, got 0$/],
    ['tasks', { per_page: 0 }, /^per_page must be an integer from 1 to 100, got 0$/],
    ['tasks', { per_page: 101 }, /^per_page must be an integer from 1 to 100, got 101$/],
    ['tasks', { per_page: 2.5 }, /^per_page must be an integer from 1 to 100, got 2\.5$/],
    ['reputation', { address: 'zz' }, /^address must be 40 hex characters .*, got "zz"$/],
    ['reputation', {}, /^address must be 40 hex characters .*, got nothing$/],
    ['duties', { address: '0x' + 'G'.repeat(40) }, /^address must be 40 hex characters/],
    ['duties', { address: 12 }, /^address must be 40 hex characters .*, got 12$/],
  ];
  for (const [method, args, data] of cases) {
    const name = `${method} ${JSON.stringify(args, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`;
    const err = await rpcError(call(table, method, args));
    t.equal(err.code, RpcCode.INVALID_PARAMS, name);
    t.match(err.data, data, name);
  }
  for (const [method, args, data] of [
    ['task', { id: 999n }, 'task 999 not found'],
    ['task', { id: 0n }, 'task 0 not found'],
    ['committee', { task_id: 42n }, 'task 42 not found'],
  ] as Array<[string, Args, string]>) {
    const err = await rpcError(call(table, method, args));
    t.equal(err.code, RpcCode.INTERNAL_ERROR, `${method} ${data}`);
    t.equal(err.data, data);
  }
  // Good values in every accepted spelling.
  t.equal((await call(table, 'task', { id: 1n })).id, '1');
  t.equal((await call(table, 'reputation', { address: '0x' + hex(w.exec).toLowerCase() })).address, hex(w.exec), 'lower case with 0x, answered upper case');
  t.equal((await call(table, 'duties', { address: hex(w.exec).toLowerCase() })).height, w.d.app.head().height.toString());
});
