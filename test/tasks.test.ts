// The task lifecycle (issue 7) on a real LevelDB through real blocks: every transition, every rejection of every task
// message (each leaving nothing but its fee and nonce), the exact payouts, slashes and reputation moves, appeals,
// benchmarks, and the read functions the RPC uses. The driver checks the supply invariant (task escrows included)
// after every block.
import t from 'tap';
import type { Test } from 'tap';
import { ErrorCodes, type ErrorCode } from '../src/errors.ts';
import { toHex } from '../src/crypto/bytes.ts';
import { sha256 } from '../src/crypto/hash.ts';
import type { KeyPair } from '../src/crypto/keys.ts';
import type { Msg, Task, TaskRequirements } from '../src/codec/types.ts';
import { getAccount, moduleAddress, ModuleAccount } from '../src/state/accounts.ts';
import { getAgent } from '../src/state/agents.ts';
import { allSlashEscrows } from '../src/state/slashing.ts';
import { supplyBreakdown } from '../src/state/economics.ts';
import { BPS } from '../src/state/params.ts';
import { reputationOf } from '../src/reputation/reputation.ts';
import { committeeOf, dutiesOf, getTask, listTasks } from '../src/tasks/queries.ts';
import { lastTaskId } from '../src/tasks/store.ts';
import { MAX_TIMERS_PER_BLOCK } from '../src/tasks/tasks.ts';
import {
  ACC,
  CAPS,
  Driver,
  SECOND,
  addr,
  commitMsg,
  committee,
  drawn,
  events,
  expectOk,
  fundValidators,
  inline,
  keyring,
  playRound,
  ref,
  registerAgents,
  resultMsg,
  revealMsg,
  submitMsg,
  tasksFixture,
  toFinal,
  until,
  verifyAgents,
} from './helpers/tasks.ts';
import type { AppParams } from '../src/state/params.ts';

const code = (c: ErrorCode): number => ErrorCodes[c];
const TRANSLATE: TaskRequirements = { minCpuCores: 8, minGpuMemoryMb: 0n, minLlmTokensPerSecond: 0n, models: [], skills: ['translate'] };
const hex = (k: KeyPair | Uint8Array): string => toHex(k instanceof Uint8Array ? k : addr(k));

interface World {
  d: Driver;
  /** u0, u1: verified, with the skill "translate"; u2: verified without it; u3-u5: agents, unverified (u3 with the skill
   * "legal"); u6, u7: plain accounts. The genesis validators are agents too (unverified); they earn block rewards, so
   * their balances are never compared exactly. */
  u: KeyPair[];
  v: KeyPair[];
  submitter: KeyPair;
  keys: Map<string, KeyPair>;
}

/** The standard world: 3 genesis validators (agents, unverified), 6 user agents of which 3 verified by benchmarks. */
async function world(t: Tap, params?: (p: AppParams) => void): Promise<World> {
  const d = await Driver.open(tasksFixture({ params }), t.teardown);
  const u = d.fx.users;
  await fundValidators(d);
  await registerAgents(d, u.slice(0, 2), { ...CAPS, skills: [...CAPS.skills, 'translate'] });
  await registerAgents(d, [u[2], u[4], u[5]]);
  await registerAgents(d, [u[3]], { ...CAPS, skills: [...CAPS.skills, 'legal'] });
  await verifyAgents(d, u.slice(0, 3));
  return { d, u, v: d.fx.validators, submitter: u[7], keys: keyring(d) };
}
type Tap = Test;

const task = async (d: Driver, id: bigint): Promise<Task> => (await getTask(d.app.store, id))!;
const balance = async (d: Driver, k: KeyPair | Uint8Array): Promise<bigint> => (await getAccount(d.app.store, k instanceof Uint8Array ? k : addr(k))).balance;
const taskRep = async (d: Driver, k: KeyPair | Uint8Array): Promise<bigint> => (await reputationOf(d.app.store, d.params, k instanceof Uint8Array ? k : addr(k), d.time)).task;
const near = (a: bigint, b: bigint, tol = 3n): boolean => (a > b ? a - b : b - a) <= tol;

/** Submits a task (by the world's submitter) and returns its id and assignee key. */
async function submit(w: World, over: Parameters<typeof submitMsg>[1] = {}): Promise<{ id: bigint; assignee: KeyPair }> {
  await expectOk(w.d.run(w.submitter, submitMsg(w.d, over)), 'submit');
  const id = await lastTaskId(w.d.app.store);
  return { id, assignee: w.keys.get(hex((await task(w.d, id)).assignee))! };
}

/** Submitted, accepted and with a result in: returns the id and the executor. */
async function executed(w: World, over: Parameters<typeof submitMsg>[1] = {}): Promise<{ id: bigint; exec: KeyPair }> {
  const { id, assignee } = await submit(w, over);
  await expectOk(w.d.run(assignee, ref('accept_task', id)), 'accept');
  await expectOk(w.d.run(assignee, resultMsg(id)), 'result');
  return { id, exec: assignee };
}

/** Runs one tx in its own block and checks its code; the signer pays only gas, no task is created or changed. */
async function rejects(t: Tap, d: Driver, from: KeyPair, msg: Msg, expected: ErrorCode, what: string): Promise<void> {
  const before = await balance(d, from);
  const last = await lastTaskId(d.app.store);
  const tasksBefore = (await supplyBreakdown(d.app.store)).tasks;
  const { result } = await d.run(from, msg);
  t.equal(result.code, code(expected), `${what}: ${result.log}`);
  if (!d.fx.validators.includes(from)) t.equal(await balance(d, from), before - result.gasUsed, `${what}: only the gas was paid`);
  t.equal(await lastTaskId(d.app.store), last, `${what}: no task created`);
  t.equal((await supplyBreakdown(d.app.store)).tasks, tasksBefore, `${what}: escrows unchanged`);
}

t.test('submit: the bounty is escrowed and the task routed at once to a verified agent meeting the requirements', async (t) => {
  const w = await world(t);
  const { d, u } = w;
  const before = await balance(d, w.submitter);
  const escrowBefore = (await supplyBreakdown(d.app.store)).tasks;
  const { result, out } = await d.run(w.submitter, submitMsg(d, { requirements: TRANSLATE, bounty: 25n * ACC }));
  t.equal(result.code, 0, result.log);
  const id = await lastTaskId(d.app.store);
  const tk = await task(d, id);
  t.equal(await balance(d, w.submitter), before - 25n * ACC - result.gasUsed, 'bounty + gas left the submitter');
  t.equal((await supplyBreakdown(d.app.store)).tasks - escrowBefore, 25n * ACC, 'the supply counts the escrow under tasks');
  t.equal(tk.status, 'assigned');
  t.ok([hex(u[0]), hex(u[1])].includes(hex(tk.assignee)), 'assigned to one of the two verified translators');
  t.same(tk.tried.map(hex), [hex(tk.assignee)]);
  t.equal(tk.acceptByNs, d.time + 5n * SECOND);
  t.equal(tk.timerNs, tk.acceptByNs, 'the accept window is the pending timer');
  t.same(tk.input.hash, sha256(inline('summarize: hello').inline), 'the chain filled in the input hash');
  t.same(events(result.events, 'task_assigned')[0].assignee, hex(tk.assignee));
  t.ok(out);
  // Routing is deterministic given the beacon: the same world twice routes the same task to the same agent.
  const again = await world(t);
  await expectOk(again.d.run(again.submitter, submitMsg(again.d, { requirements: TRANSLATE, bounty: 25n * ACC })), 'submit');
  t.same((await task(again.d, id)).assignee, tk.assignee, 'same beacon, same assignee');
  for (const benchmark of [1n, 2n, 3n]) {
    const one = (await committee(d, benchmark, 0)).members.map((m) => hex(m.reviewer));
    const two = (await committee(again.d, benchmark, 0)).members.map((m) => hex(m.reviewer));
    t.same(two, one, `benchmark ${benchmark}: same beacon, same committee`);
  }
});

t.test('submit rejections leave nothing but the fee and nonce', async (t) => {
  const w = await world(t);
  const { d, u } = w;
  const now = () => d.time + SECOND;
  await rejects(t, d, w.submitter, submitMsg(d, { bounty: ACC - 1n }), 'BOUNTY_TOO_SMALL', 'bounty below min_bounty');
  await rejects(t, d, w.submitter, submitMsg(d, { deadline: now() }), 'BAD_DEADLINE', 'deadline at the block time');
  await rejects(t, d, w.submitter, submitMsg(d, { deadline: now() + 3_601n * SECOND }), 'BAD_DEADLINE', 'deadline past max_deadline_seconds');
  await rejects(t, d, w.submitter, submitMsg(d, { input: inline('x'.repeat(257)) }), 'PAYLOAD_TOO_LARGE', 'inline input above max_inline_bytes');
  await rejects(t, d, w.submitter, submitMsg(d, { requirements: { ...TRANSLATE, models: ['gpt-9'] } }), 'NO_ELIGIBLE_AGENT', 'nobody has the model');
  await rejects(t, d, w.submitter, submitMsg(d, { requirements: { ...TRANSLATE, minCpuCores: 17 } }), 'NO_ELIGIBLE_AGENT', 'nobody has 17 cores');
  await rejects(t, d, w.submitter, submitMsg(d, { requirements: { ...TRANSLATE, skills: ['legal'] } }), 'NO_ELIGIBLE_AGENT', 'only u3 has the skill, and it is not verified');
  await rejects(t, d, w.submitter, submitMsg(d, { bounty: 10_000_000n * ACC }), 'INSUFFICIENT_FUNDS', 'bounty above the balance');
  // u0 is one of two translators; with u1 excluded only by being the submitter, u0 gets it; u0 submitting excludes itself.
  const { result } = await d.run(u[0], submitMsg(d, { requirements: TRANSLATE }));
  t.equal(result.code, 0, result.log);
  t.same((await task(d, await lastTaskId(d.app.store))).assignee, addr(u[1]), 'the submitter is never its own assignee');
});

t.test('accept: only the assignee, within its window; silence moves the task on, then it expires and refunds', async (t) => {
  const w = await world(t);
  const { d, u } = w;
  const { id, assignee } = await submit(w, { requirements: TRANSLATE });
  const other = hex(assignee) === hex(u[0]) ? u[1] : u[0];
  await rejects(t, d, other, ref('accept_task', id), 'NOT_TASK_ASSIGNEE', 'accept by the other translator');
  await rejects(t, d, u[2], ref('accept_task', 999n), 'TASK_NOT_FOUND', 'no such task');
  // Past the accept window: the tx runs before the end-block that moves the task on, and is refused.
  const first = await task(d, id);
  const late = await d.run(assignee, ref('accept_task', id), { time: first.acceptByNs + SECOND });
  t.equal(late.result.code, code('ACCEPT_WINDOW_CLOSED'), late.result.log);
  const moved = await task(d, id);
  t.equal(moved.status, 'assigned');
  t.same(moved.assignee, addr(other), 'rerouted to the other candidate in the same block');
  t.same(moved.tried.map(hex), [hex(assignee), hex(other)]);
  t.same(events(late.out.endBlockEvents, 'task_assigned').map((e) => e.attempt), ['2']);
  // The second one also stays silent: no candidate is left (u2 lacks the skill), so the task expires, refunded in full.
  const bal = await balance(d, w.submitter);
  const repBefore = await taskRep(d, other);
  const out = await d.block([], { time: moved.acceptByNs });
  const done = await task(d, id);
  t.equal(done.status, 'expired');
  t.equal(done.closeReason, 'no_candidate');
  t.equal(await balance(d, w.submitter), bal + 10n * ACC, 'bounty refunded in full');
  t.equal(done.submitterRefund, 10n * ACC);
  t.ok(near(await taskRep(d, other), repBefore), 'declining by silence costs no reputation');
  t.same(events(out.endBlockEvents, 'task_expired')[0].reason, 'no_candidate');
  await rejects(t, d, other, ref('accept_task', id), 'TASK_WRONG_STATE', 'accept after expiry');
  await rejects(t, d, assignee, ref('accept_task', id), 'NOT_TASK_ASSIGNEE', 'accept by the first assignee, no longer assigned');
});

t.test('max_assignments: after that many silent assignees the task expires even with candidates left', async (t) => {
  const w = await world(t, (p) => void (p.tasks.max_assignments = 1n));
  const { d } = w;
  const { id } = await submit(w);
  await d.block([], { time: (await task(d, id)).acceptByNs });
  const tk = await task(d, id);
  t.equal(tk.status, 'expired');
  t.equal(tk.closeReason, 'max_assignments');
});

t.test('cancel: the submitter, before anyone accepted; refunds the whole bounty', async (t) => {
  const w = await world(t);
  const { d, u } = w;
  const { id, assignee } = await submit(w);
  await rejects(t, d, u[6], ref('cancel_task', id), 'NOT_TASK_SUBMITTER', 'cancel by a stranger');
  await rejects(t, d, assignee, ref('cancel_task', id), 'NOT_TASK_SUBMITTER', 'cancel by the assignee');
  const bal = await balance(d, w.submitter);
  const { result } = await d.run(w.submitter, ref('cancel_task', id));
  t.equal(result.code, 0, result.log);
  t.equal(await balance(d, w.submitter), bal + 10n * ACC - result.gasUsed, 'refunded');
  const tk = await task(d, id);
  t.equal(tk.status, 'cancelled');
  t.equal(tk.timerNs, 0n, 'no timer left');
  await rejects(t, d, assignee, ref('accept_task', id), 'TASK_WRONG_STATE', 'accept after cancel');
  await rejects(t, d, w.submitter, ref('cancel_task', id), 'TASK_WRONG_STATE', 'cancel twice');
  // Once accepted, it can no longer be cancelled.
  const second = await submit(w);
  await expectOk(d.run(second.assignee, ref('accept_task', second.id)), 'accept');
  await rejects(t, d, w.submitter, ref('cancel_task', second.id), 'TASK_WRONG_STATE', 'cancel after accept');
  await rejects(t, d, second.assignee, ref('accept_task', second.id), 'TASK_WRONG_STATE', 'accept twice');
});

t.test('execute: only the accepted assignee, by the deadline; a result starts the committee countdown', async (t) => {
  const w = await world(t);
  const { d, u } = w;
  const { id, assignee } = await submit(w, { deadline: d.time + 30n * SECOND });
  await rejects(t, d, assignee, resultMsg(id), 'TASK_WRONG_STATE', 'result before accepting');
  await expectOk(d.run(assignee, ref('accept_task', id)), 'accept');
  const stranger = u.find((k) => hex(k) !== hex(assignee) && k !== w.submitter)!;
  await rejects(t, d, stranger, resultMsg(id), 'NOT_TASK_ASSIGNEE', 'result by a non-assignee');
  await rejects(t, d, w.submitter, resultMsg(id), 'NOT_TASK_ASSIGNEE', 'result by the submitter');
  await rejects(t, d, assignee, resultMsg(id, 'y'.repeat(257)), 'PAYLOAD_TOO_LARGE', 'output above max_inline_bytes');
  await rejects(t, d, assignee, resultMsg(999n), 'TASK_NOT_FOUND', 'result for no task');
  const { result } = await d.run(assignee, resultMsg(id));
  t.equal(result.code, 0, result.log);
  const tk = await task(d, id);
  t.equal(tk.status, 'awaiting_committee');
  t.equal(tk.resultHeight, d.app.head().height);
  t.equal(tk.drawHeight, tk.resultHeight + 2n, 'drawn beacon_delay_blocks later');
  t.equal(tk.timerNs, 0n, 'the deadline timer is gone');
  t.same(tk.output.hash, sha256(inline('the answer').inline));
  await rejects(t, d, assignee, resultMsg(id), 'TASK_WRONG_STATE', 'a second result');
  // Late: a second task whose deadline passes before its result.
  const late = await submit(w, { deadline: d.time + 20n * SECOND });
  await expectOk(d.run(late.assignee, ref('accept_task', late.id)), 'accept');
  const deadline = (await task(d, late.id)).deadlineNs;
  const r = await d.run(late.assignee, resultMsg(late.id), { time: deadline + SECOND });
  t.equal(r.result.code, code('DEADLINE_PASSED'), `late result: ${r.result.log}`);
});

t.test('execute: an executor that deregistered after accepting cannot submit (its leaving bond would escape the slash)', async (t) => {
  const w = await world(t);
  const { d } = w;
  const { id, assignee } = await submit(w, { deadline: d.time + 60n * SECOND });
  await expectOk(d.run(assignee, ref('accept_task', id)), 'accept');
  await expectOk(d.run(assignee, { type: 'deregister_agent', value: {} } as Msg), 'deregister');
  await rejects(t, d, assignee, resultMsg(id), 'NOT_AN_AGENT', 'result after deregistering');
  t.equal((await task(d, id)).status, 'accepted', 'nothing changed: the task expires at its deadline, refunded');
});

t.test('deadline missed by an executor: it loses task_expired, the bounty returns; not reassigned', async (t) => {
  const w = await world(t);
  const { d } = w;
  const { id, assignee } = await submit(w, { deadline: d.time + 20n * SECOND });
  await expectOk(d.run(assignee, ref('accept_task', id)), 'accept');
  const bal = await balance(d, w.submitter);
  const rep = await taskRep(d, assignee);
  const out = await d.block([], { time: (await task(d, id)).deadlineNs });
  const tk = await task(d, id);
  t.equal(tk.status, 'expired');
  t.equal(tk.closeReason, 'deadline_missed');
  t.equal(tk.tried.length, 1, 'no other agent was tried');
  t.equal(await balance(d, w.submitter), bal + 10n * ACC);
  t.ok(near(await taskRep(d, assignee), rep - d.params.reputation.task_expired), 'task_expired taken');
  t.same(events(out.endBlockEvents, 'task_expired')[0].penalized, 'true');
  // A deadline reached while only assigned: no penalty (it never took the task).
  const second = await submit(w, { deadline: d.time + 3n * SECOND });
  const rep2 = await taskRep(d, second.assignee);
  await d.block([], { time: (await task(d, second.id)).deadlineNs });
  t.equal((await task(d, second.id)).closeReason, 'deadline_before_accept');
  t.ok(near(await taskRep(d, second.assignee), rep2), 'no penalty before accepting');
});

t.test('commit-reveal rejections: non-member, phases, double commit, reveal without commit, mismatch, double reveal', async (t) => {
  // Phases long enough for one rejection per block.
  const w = await world(t, (p) => Object.assign(p.tasks, { commit_seconds: 60n, reveal_seconds: 60n }));
  const { d } = w;
  const { id, exec } = await executed(w);
  await rejects(t, d, w.u[3], commitMsg(w.u[3], id, 0, true), 'NO_REVIEW_ROUND', 'commit before the draw');
  const c = await drawn(d, id, 0);
  t.equal(c.members.length, 3, 'committee_min + 10 ACC / 100 ACC = 3');
  const memberHex = c.members.map((m) => hex(m.reviewer));
  t.notOk(memberHex.includes(hex(exec)) || memberHex.includes(hex(w.submitter)), 'neither executor nor submitter sits');
  const [a, b, x] = c.members.map((m) => w.keys.get(hex(m.reviewer))!);
  const outsider = [...w.keys.values()].find((k) => !memberHex.includes(hex(k)) && hex(k) !== hex(exec) && k !== w.submitter)!;
  await rejects(t, d, outsider, commitMsg(outsider, id, 0, true), 'NOT_COMMITTEE_MEMBER', 'commit by a non-member');
  await rejects(t, d, exec, commitMsg(exec, id, 0, true), 'NOT_COMMITTEE_MEMBER', 'commit by the executor');
  await rejects(t, d, a, commitMsg(a, id, 1, true), 'NO_REVIEW_ROUND', 'commit to round 1 with no appeal');
  await rejects(t, d, a, commitMsg(a, 999n, 0, true), 'TASK_NOT_FOUND', 'commit to no task');
  await expectOk(d.run(a, commitMsg(a, id, 0, true)), 'commit a');
  await rejects(t, d, a, commitMsg(a, id, 0, false), 'ALREADY_COMMITTED', 'double commit');
  await rejects(t, d, a, revealMsg(a, id, 0, true), 'NOT_REVEAL_PHASE', 'reveal during the commit phase');
  await expectOk(d.run(b, commitMsg(b, id, 0, false)), 'commit b');
  // The view never shows a sealed verdict.
  const sealed = await committee(d, id, 0);
  t.same(sealed.members.map((m) => [m.committed, m.approve]), c.members.map((m) => [[hex(a), hex(b)].includes(hex(m.reviewer)), null]), 'committed, verdict hidden');
  t.equal(sealed.phase, 'commit');
  // x commits too late.
  const late = await d.run(x, commitMsg(x, id, 0, true), { time: c.round.commitEndNs + SECOND });
  t.equal(late.result.code, code('NOT_COMMIT_PHASE'), late.result.log);
  await rejects(t, d, x, revealMsg(x, id, 0, true), 'NOT_COMMITTED', 'reveal without commit');
  await rejects(t, d, a, revealMsg(a, id, 0, false), 'REVEAL_MISMATCH', 'reveal of the other verdict');
  await rejects(t, d, b, { type: 'reveal_review', value: { taskId: id, round: 0, approve: false, salt: new Uint8Array(32) } }, 'REVEAL_MISMATCH', 'reveal with another salt');
  await rejects(t, d, outsider, revealMsg(outsider, id, 0, true), 'NOT_COMMITTEE_MEMBER', 'reveal by a non-member');
  await expectOk(d.run(a, revealMsg(a, id, 0, true)), 'reveal a');
  await rejects(t, d, a, revealMsg(a, id, 0, true), 'ALREADY_REVEALED', 'double reveal');
  const opened = await committee(d, id, 0);
  t.same(opened.members.find((m) => hex(m.reviewer) === hex(a))!.approve, true, 'a revealed verdict is shown');
  t.same(opened.members.find((m) => hex(m.reviewer) === hex(b))!.approve, null, "b's is still sealed");
  const tooLate = await d.run(b, revealMsg(b, id, 0, false), { time: c.round.revealEndNs + SECOND });
  t.equal(tooLate.result.code, code('NOT_REVEAL_PHASE'), `reveal after the window: ${tooLate.result.log}`);
  // 1 of 3 revealed, quorum 2 (50%, rounded up): no verdict.
  const tk = await task(d, id);
  t.equal(tk.status, 'settled');
  t.equal(tk.verdict, 'no_verdict');
  await rejects(t, d, b, revealMsg(b, id, 0, false), 'NOT_REVEAL_PHASE', 'reveal after settlement');
});

interface Payout {
  id: bigint;
  exec: KeyPair;
  members: KeyPair[];
}

/** An executed task reviewed by its whole committee with `votes` (by seat), settled; not yet finalized. */
async function reviewed(w: World, votes: Array<boolean | 'silent' | 'commit'>, bounty = 10n * ACC): Promise<Payout> {
  const { id, exec } = await executed(w, { bounty });
  const c = await playRound(w.d, id, 0, (_r, seat) => votes[seat]);
  await until(w.d, async () => (await task(w.d, id)).status !== 'reviewing');
  return { id, exec, members: c.members.map((m) => w.keys.get(hex(m.reviewer))!) };
}

t.test('approved: executor paid bounty - fee + subsidy + compute share; the majority shares the fee and the review pot', async (t) => {
  const w = await world(t);
  const { d } = w;
  const p = d.params.tasks;
  const rp = d.params.reputation;
  const bounty = 10n * ACC;
  const { id, exec, members } = await reviewed(w, [true, true, false]);
  const tk = await task(d, id);
  t.equal(tk.status, 'settled', 'every member revealed: settled before the reveal phase ended');
  t.ok(d.time < (await committee(d, id, 0)).round.revealEndNs, 'early settlement');
  t.equal(tk.verdict, 'approved', '2 of 3 approve: exactly 2/3');
  t.equal(tk.timerNs, tk.verdictNs + 10n * SECOND, 'the appeal window');
  // Nothing moves until finalization.
  const execBal = await balance(d, exec);
  const memberBal = await Promise.all(members.map((m) => balance(d, m)));
  const reps = await Promise.all([exec, ...members].map((k) => taskRep(d, k)));
  const computeRep = (await reputationOf(d.app.store, d.params, addr(exec), d.time)).compute;
  const potAddr = (n: 'compute_providers' | 'marketplace' | 'review_committees') => moduleAddress(ModuleAccount.rewards(n));
  // Pots grow by emission every block: read them in the finalizing block's state, just before (begin-block emits).
  await until(d, async () => (await task(d, id)).timerNs <= d.time + SECOND);
  const out = await d.block();
  t.equal((await task(d, id)).status, 'finalized');
  const fin = events(out.endBlockEvents, 'task_finalized')[0];
  const fee = (bounty * p.protocol_fee_bps) / BPS;
  t.equal(fin.fee, fee.toString());
  // Recover the pots as they stood when finalize ran: now + what it paid.
  const subsidy = (bounty * p.marketplace_subsidy_bps) / BPS;
  const tkf = await task(d, id);
  const computeNow = await balance(d, potAddr('compute_providers'));
  const computeShare = tkf.executorPaid - (bounty - fee) - subsidy;
  t.equal(computeShare, ((computeNow + computeShare) * p.compute_pot_bps) / BPS, 'compute share = pot x compute_pot_bps');
  t.equal(await balance(d, exec), execBal + tkf.executorPaid, 'executor paid at finalization');
  const majority = members.slice(0, 2);
  const reviewNow = await balance(d, potAddr('review_committees'));
  const reviewPaid = tkf.reviewersPaid - (fee / 2n) * 2n;
  const reviewShare = (((reviewNow + reviewPaid) * p.review_pot_bps) / BPS / 2n) * 2n;
  t.equal(reviewPaid, reviewShare, 'review pot share split in two');
  const isValidator = (k: KeyPair): boolean => d.fx.validators.includes(k);
  for (const [i, m] of majority.entries()) {
    const gained = (await balance(d, m)) - memberBal[i];
    if (isValidator(m)) t.ok(gained >= fee / 2n + reviewShare / 2n, `majority member ${i} (a validator) paid at least its share`);
    else t.equal(gained, fee / 2n + reviewShare / 2n, `majority member ${i} paid exactly its share`);
  }
  if (!isValidator(members[2])) t.equal(await balance(d, members[2]), memberBal[2], 'the minority member is not paid');
  t.equal(tkf.reviewersPaid, (fee / 2n) * 2n + reviewShare, 'reviewers_paid: the fee and the pot share');
  t.ok(near(await taskRep(d, exec), reps[0] + rp.task_completed), 'executor +task_completed');
  t.ok(near((await reputationOf(d.app.store, d.params, addr(exec), d.time)).compute, computeRep + rp.compute_uptime), 'executor +compute_uptime');
  t.ok(near(await taskRep(d, members[0]), reps[1] + rp.review_majority), 'majority +review_majority');
  t.ok(near(await taskRep(d, members[2]), reps[3] - rp.review_minority), 'minority -review_minority');
  t.equal((await supplyBreakdown(d.app.store)).tasks, 0n, 'no escrow left');
  t.same(await allSlashEscrows(d.app.store), [], 'nobody slashed');
});

t.test('rejected: refund less the fee, the executor slashed (fraudulent_result) and -task_rejected; no-reveal members slashed', async (t) => {
  const w = await world(t);
  const { d } = w;
  const rp = d.params.reputation;
  const bounty = 10n * ACC;
  const { id, exec, members } = await reviewed(w, [false, false, 'commit']);
  t.equal((await task(d, id)).verdict, 'rejected', '0 of 2 revealed approve');
  const bal = await balance(d, w.submitter);
  const bond = (await getAgent(d.app.store, addr(exec)))!.bond;
  const silentBond = (await getAgent(d.app.store, addr(members[2])))!.bond;
  const rep = await taskRep(d, exec);
  const silentRep = await taskRep(d, members[2]);
  await toFinal(d, id);
  const tk = await task(d, id);
  t.equal(tk.finalVerdict, 'rejected');
  const fee = (bounty * d.params.tasks.protocol_fee_bps) / BPS;
  t.equal(await balance(d, w.submitter), bal + bounty - fee, 'refund = bounty - fee');
  t.equal(tk.executorPaid, 0n);
  const escrows = await allSlashEscrows(d.app.store);
  const fraud = escrows.find(([, e]) => e.kind === 'fraudulent_result')![1];
  t.same(fraud.agent, addr(exec));
  t.equal(fraud.amount, (bond * d.params.slashing.severity_bps.fraudulent_result) / BPS, '10% of the bond');
  t.equal((await getAgent(d.app.store, addr(exec)))!.bond, bond - fraud.amount);
  const missed = escrows.find(([, e]) => e.kind === 'missed_reveal')![1];
  t.same(missed.agent, addr(members[2]), 'the member who committed but never revealed');
  t.equal(missed.amount, (silentBond * d.params.slashing.severity_bps.missed_reveal) / BPS);
  t.ok(near(await taskRep(d, exec), rep - rp.task_rejected), 'executor -task_rejected');
  t.ok(near(await taskRep(d, members[2]), silentRep - rp.review_no_reveal), 'silent member -review_no_reveal');
});

t.test('not enough reveals: no verdict, full refund, no penalty to the executor; silent members penalised', async (t) => {
  const w = await world(t);
  const { d } = w;
  const { id, exec, members } = await reviewed(w, [true, 'silent', 'silent']);
  const rep = await taskRep(d, exec);
  const bal = await balance(d, w.submitter);
  const revealerRep = await taskRep(d, members[0]);
  await toFinal(d, id);
  const tk = await task(d, id);
  t.equal(tk.verdict, 'no_verdict', '1 reveal of 3, quorum 2');
  t.equal(tk.finalVerdict, 'no_verdict');
  t.equal(await balance(d, w.submitter), bal + 10n * ACC, 'the whole bounty back, no fee');
  t.ok(near(await taskRep(d, exec), rep), 'executor unpunished');
  t.ok(near(await taskRep(d, members[0]), revealerRep), 'the revealer is neither paid nor judged');
  const slashed = (await allSlashEscrows(d.app.store)).map(([, e]) => [e.kind, hex(e.agent)]);
  t.same(slashed.sort(), members.slice(1).map((m) => ['missed_reveal', hex(m)]).sort(), 'both silent members slashed, nobody else');
});

t.test('appeal by the executor reverses a rejection; the round-1 committee excludes round 0; deposit returned', async (t) => {
  const w = await world(t);
  const { d } = w;
  const { id, exec, members } = await reviewed(w, [false, false, false]);
  t.equal((await task(d, id)).verdict, 'rejected');
  const outsider = [...w.keys.values()].find((k) => !members.includes(k) && k !== exec && k !== w.submitter && !w.u.slice(6).includes(k))!;
  const round0Rep = await taskRep(d, members[0]);
  await rejects(t, d, outsider, ref('appeal', id), 'NOT_APPEAL_PARTY', 'appeal by a third party');
  await rejects(t, d, w.submitter, ref('appeal', id), 'NOT_APPEAL_PARTY', 'appeal by the party the rejection favoured');
  const deposit = d.params.tasks.appeal_deposit;
  const bal = await balance(d, exec);
  const { result } = await d.run(exec, ref('appeal', id));
  t.equal(result.code, 0, result.log);
  t.equal(await balance(d, exec), bal - deposit - result.gasUsed, 'deposit locked');
  t.equal((await supplyBreakdown(d.app.store)).tasks, 10n * ACC + deposit, 'bounty and deposit held');
  await rejects(t, d, exec, ref('appeal', id), 'ALREADY_APPEALED', 'appeal twice');
  const c1 = await playRound(d, id, 1, () => true);
  t.equal(c1.members.length, 3, 'appeal_committee_size');
  const round0 = members.map(hex);
  for (const m of c1.members) t.notOk(round0.includes(hex(m.reviewer)) || hex(m.reviewer) === hex(exec) || hex(m.reviewer) === hex(w.submitter), 'round 1 seats nobody from round 0');
  await toFinal(d, id);
  const tk = await task(d, id);
  t.equal(tk.appealVerdict, 'approved');
  t.equal(tk.finalVerdict, 'approved', 'the appeal verdict is final');
  t.ok((await balance(d, exec)) >= bal - result.gasUsed + 9n * ACC, 'deposit back and the bounty (less the fee) paid');
  t.same((await allSlashEscrows(d.app.store)).filter(([, e]) => e.kind === 'fraudulent_result'), [], 'no slash for a reversed rejection');
  // Round 0's members voted against the final verdict: the minority penalty.
  t.ok(near(await taskRep(d, members[0]), round0Rep - d.params.reputation.review_minority), 'round 0 is judged by the final verdict: minority');
});

t.test('a failed appeal: the same verdict stands, the deposit pays round 1 majority; appeal window and party rules', async (t) => {
  const w = await world(t);
  const { d } = w;
  const { id, exec } = await reviewed(w, [true, true, true]);
  t.equal((await task(d, id)).verdict, 'approved');
  await rejects(t, d, exec, ref('appeal', id), 'NOT_APPEAL_PARTY', 'the executor cannot appeal its own approval');
  const bal = await balance(d, w.submitter);
  const { result } = await d.run(w.submitter, ref('appeal', id));
  t.equal(result.code, 0, result.log);
  const r1 = (await drawn(d, id, 1)).members.map((m) => w.keys.get(hex(m.reviewer))!);
  const r1Bal = await Promise.all(r1.map((k) => balance(d, k)));
  await playRound(d, id, 1, (_r, seat) => seat !== 2);
  await toFinal(d, id);
  const tk = await task(d, id);
  t.equal(tk.appealVerdict, 'approved');
  t.equal(tk.finalVerdict, 'approved');
  t.equal(await balance(d, w.submitter), bal - result.gasUsed - d.params.tasks.appeal_deposit, 'the submitter lost its deposit and got nothing back');
  const dep = d.params.tasks.appeal_deposit / 2n;
  for (const i of [0, 1]) t.ok((await balance(d, r1[i])) - r1Bal[i] >= dep, `round-1 majority member ${i} got half the deposit (and its share of the fee)`);
  if (!d.fx.validators.includes(r1[2])) t.ok((await balance(d, r1[2])) < r1Bal[2], 'the round-1 minority member gets nothing (it only paid its gas)');
  // The window: a second task appealed one second too late.
  const late = await reviewed(w, [false, false, false]);
  const closes = (await task(d, late.id)).verdictNs + d.params.tasks.appeal_seconds * SECOND;
  const r = await d.run(late.exec, ref('appeal', late.id), { time: closes + SECOND });
  t.equal(r.result.code, code('APPEAL_WINDOW_CLOSED'), `appeal after the window: ${r.result.log}`);
  await rejects(t, d, late.exec, ref('appeal', late.id), 'APPEAL_WINDOW_CLOSED', 'appeal of a finalized task');
  const pending = await executed(w);
  await rejects(t, d, pending.exec, ref('appeal', pending.id), 'TASK_WRONG_STATE', 'appeal before any verdict');
});

t.test('an appeal whose committee reaches no verdict leaves round 0 standing and returns the deposit', async (t) => {
  const w = await world(t);
  const { d } = w;
  const { id, exec } = await reviewed(w, [false, false, true]);
  const bal = await balance(d, exec);
  const { result } = await d.run(exec, ref('appeal', id));
  t.equal(result.code, 0, result.log);
  await playRound(d, id, 1, () => 'silent');
  await toFinal(d, id);
  const tk = await task(d, id);
  t.equal(tk.appealVerdict, 'no_verdict');
  t.equal(tk.finalVerdict, 'rejected', 'round 0 stands');
  t.equal(await balance(d, exec), bal - result.gasUsed, 'deposit returned');
  t.equal((await allSlashEscrows(d.app.store)).filter(([, e]) => e.kind === 'missed_reveal').length, 3, 'the silent round-1 members are slashed');
});

t.test('an empty committee pool: the round settles at once as no_verdict, and finalizes as a full refund', async (t) => {
  // One genesis validator and one user agent: the validator verifies the agent's benchmark, then submits a task the
  // agent executes; the pool (every active agent but the executor and the submitter) is empty.
  const d = await Driver.open(tasksFixture({ validators: 1, users: 2 }), t.teardown);
  const [a] = d.fx.users;
  const [v] = d.fx.validators;
  await fundValidators(d);
  await registerAgents(d, [a]);
  await verifyAgents(d, [a]);
  await expectOk(d.run(v, submitMsg(d)), 'submit');
  const id = await lastTaskId(d.app.store);
  t.same((await task(d, id)).assignee, addr(a));
  await expectOk(d.run(a, ref('accept_task', id)), 'accept');
  await expectOk(d.run(a, resultMsg(id)), 'result');
  const c = await drawn(d, id, 0);
  t.equal(c.members.length, 0, 'nobody to draw');
  t.equal(c.round.wanted, 3);
  const tk = await task(d, id);
  t.equal(tk.status, 'settled', 'settled in the draw block');
  t.equal(tk.verdict, 'no_verdict');
  t.equal(tk.verdictNs, c.round.drawnNs);
  await toFinal(d, id);
  t.equal((await task(d, id)).submitterRefund, 10n * ACC, 'the whole bounty back');
});

t.test('benchmark: a seeded challenge to the agent itself; approval verifies its capabilities; rules', async (t) => {
  const d = await Driver.open(tasksFixture(), t.teardown);
  const u = d.fx.users;
  await fundValidators(d);
  await registerAgents(d, u.slice(0, 4));
  await rejects(t, d, u[6], { type: 'request_benchmark', value: {} }, 'NOT_AN_AGENT', 'a plain account');
  const { result } = await d.run(u[0], { type: 'request_benchmark', value: {} });
  t.equal(result.code, 0, result.log);
  const id = await lastTaskId(d.app.store);
  const tk = await task(d, id);
  t.equal(tk.kind, 'benchmark');
  t.equal(tk.status, 'accepted', 'assigned to and accepted by the agent itself');
  t.same(tk.assignee, addr(u[0]));
  t.equal(tk.bounty, 0n);
  t.equal(tk.deadlineNs, d.time + 60n * SECOND);
  const challenge = JSON.parse(new TextDecoder().decode(tk.input.inline));
  t.same(Object.keys(challenge), ['kind', 'task_id', 'seed', 'capabilities']);
  t.equal(challenge.task_id, id.toString());
  t.match(challenge.seed, /^[0-9A-F]{64}$/);
  t.same(challenge.capabilities.skills, CAPS.skills);
  t.same(tk.input.hash, sha256(tk.input.inline));
  await rejects(t, d, u[0], { type: 'request_benchmark', value: {} }, 'BENCHMARK_NOT_ALLOWED', 'a second benchmark while one is under way');
  await rejects(t, d, u[0], ref('cancel_task', id), 'TASK_WRONG_STATE', 'a benchmark cannot be cancelled');
  await expectOk(d.run(u[0], resultMsg(id, 'benchmark answer')), 'result');
  const c = await playRound(d, id, 0, () => true);
  t.notOk(c.members.some((m) => hex(m.reviewer) === hex(u[0])), 'the agent does not review itself');
  const pot = await balance(d, moduleAddress(ModuleAccount.rewards('review_committees')));
  await toFinal(d, id);
  const fin = await task(d, id);
  t.equal(fin.finalVerdict, 'approved');
  t.equal(fin.executorPaid, 0n, 'no pay for a benchmark');
  t.ok(fin.reviewersPaid > 0n && fin.reviewersPaid <= pot, 'reviewers paid from the review pot only');
  const agent = (await getAgent(d.app.store, addr(u[0])))!;
  t.equal(agent.capabilitiesVerified, true);
  t.equal(agent.capabilitiesVerifiedNs, fin.closedNs);
  t.ok((await reputationOf(d.app.store, d.params, addr(u[0]), d.time)).compute >= d.params.reputation.compute_benchmark - 3n, '+compute_benchmark');
  await rejects(t, d, u[0], { type: 'request_benchmark', value: {} }, 'BENCHMARK_NOT_ALLOWED', 'already verified');
  // A rejected benchmark: not verified, slashed like a false result.
  await expectOk(d.run(u[1], { type: 'request_benchmark', value: {} }), 'request');
  const bad = await lastTaskId(d.app.store);
  await expectOk(d.run(u[1], resultMsg(bad, 'wrong')), 'result');
  await playRound(d, bad, 0, () => false);
  await toFinal(d, bad);
  t.equal((await task(d, bad)).finalVerdict, 'rejected');
  t.equal((await getAgent(d.app.store, addr(u[1])))!.capabilitiesVerified, false);
  t.ok((await allSlashEscrows(d.app.store)).some(([, e]) => e.kind === 'fraudulent_result' && hex(e.agent) === hex(u[1])), 'slashed');
  // A missed benchmark deadline: task_expired, and a new benchmark may be requested.
  await expectOk(d.run(u[2], { type: 'request_benchmark', value: {} }), 'request');
  const missed = await lastTaskId(d.app.store);
  await d.block([], { time: (await task(d, missed)).deadlineNs });
  t.equal((await task(d, missed)).closeReason, 'deadline_missed');
  await expectOk(d.run(u[2], { type: 'request_benchmark', value: {} }), 'a new benchmark after the missed one');
});

t.test('queries: tasks by status, submitter and assignee; duties of an agent', async (t) => {
  const w = await world(t);
  const { d } = w;
  const a = await submit(w);
  const b = await submit(w, { requirements: TRANSLATE });
  await expectOk(d.run(b.assignee, ref('accept_task', b.id)), 'accept');
  const all = await listTasks(d.app.store, {}, { offset: 0, limit: 100 });
  t.equal(all.total, Number(b.id), 'every task ever (benchmarks included)');
  const mine = await listTasks(d.app.store, { submitter: addr(w.submitter) }, { offset: 0, limit: 100 });
  t.same(mine.tasks.map((x) => x.id), [b.id, a.id], 'newest first');
  const assigned = await listTasks(d.app.store, { status: 'assigned', submitter: addr(w.submitter) }, { offset: 0, limit: 100 });
  t.same(assigned.tasks.map((x) => x.id), [a.id]);
  const accepted = await listTasks(d.app.store, { status: 'accepted', assignee: addr(b.assignee) }, { offset: 0, limit: 100 });
  t.same(accepted.tasks.map((x) => x.id), [b.id]);
  const paged = await listTasks(d.app.store, { submitter: addr(w.submitter) }, { offset: 1, limit: 1 });
  t.equal(paged.total, 2);
  t.same(paged.tasks.map((x) => x.id), [a.id], 'the second newest');
  const dutiesA = await dutiesOf(d.app.store, addr(a.assignee), d.time);
  t.same(dutiesA.accept.map((x) => x.id), [a.id], 'a task to accept');
  const dutiesB = await dutiesOf(d.app.store, addr(b.assignee), d.time);
  t.same(dutiesB.execute.map((x) => x.id), [b.id], 'a task to execute');
  await expectOk(d.run(b.assignee, resultMsg(b.id)), 'result');
  const c = await drawn(d, b.id, 0);
  const member = w.keys.get(hex(c.members[0].reviewer))!;
  const dm = await dutiesOf(d.app.store, addr(member), d.time);
  t.same(dm.commit.map((x) => [x.task.id, x.round, x.endsNs]), [[b.id, 0, c.round.commitEndNs]], 'a commit duty');
  await expectOk(d.run(member, commitMsg(member, b.id, 0, true)), 'commit');
  t.same((await dutiesOf(d.app.store, addr(member), d.time)).commit, [], 'committed: no commit duty');
  const idle = w.keys.get(hex(c.members[1].reviewer))!;
  t.equal((await dutiesOf(d.app.store, addr(idle), d.time)).commit.length, 1, 'an uncommitted member still has its commit duty');
  // The latest block at exactly the commit end: no later block can commit, the next one can reveal.
  await d.block([], { time: c.round.commitEndNs });
  t.same((await dutiesOf(d.app.store, addr(idle), d.time)).commit, [], 'no commit duty once no later block can commit');
  t.same((await dutiesOf(d.app.store, addr(member), d.time)).reveal.map((x) => x.task.id), [b.id], 'a reveal duty');
  const view = await committeeOf(d.app.store, d.params, b.id, 0, d.time);
  t.equal(view!.phase, 'reveal');
  t.equal(view!.quorum, 2);
  await expectOk(d.run(member, revealMsg(member, b.id, 0, true)), 'reveal');
  t.same((await dutiesOf(d.app.store, addr(member), d.time)).reveal, [], 'revealed: no duty left');
  t.equal(await committeeOf(d.app.store, d.params, b.id, 1, d.time), undefined, 'no round 1');
});

t.test('bounded end-block: at most MAX_TIMERS_PER_BLOCK timers per block, the rest in the next block, in due order', async (t) => {
  const w = await world(t);
  const { d } = w;
  const n = MAX_TIMERS_PER_BLOCK + 3;
  const first = (await lastTaskId(d.app.store)) + 1n;
  const txs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) txs.push(await d.tx(w.submitter, submitMsg(d)));
  const out = await d.block(txs);
  t.equal(out.txResults.filter((r) => r.code === 0).length, n, `${n} tasks submitted in one block`);
  const acceptBy = (await task(d, first)).acceptByNs;
  const jump = await d.block([], { time: acceptBy });
  const moved = events(jump.endBlockEvents, 'task_assigned');
  t.equal(moved.length, MAX_TIMERS_PER_BLOCK, 'the cap');
  t.same(moved.map((e) => BigInt(e.task)), Array.from({ length: MAX_TIMERS_PER_BLOCK }, (_, i) => first + BigInt(i)), 'in (time, id) order');
  const next = await d.block();
  t.same(events(next.endBlockEvents, 'task_assigned').map((e) => BigInt(e.task)), [0, 1, 2].map((i) => first + BigInt(MAX_TIMERS_PER_BLOCK + i)), 'the rest one block later');
  const late = await task(d, first + BigInt(n - 1));
  t.equal(late.tried.length, 2, 'rerouted all the same');
});
