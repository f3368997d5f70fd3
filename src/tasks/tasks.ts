// The task lifecycle (whitepaper 4.2: submission, routing, execution, verification, settlement; 6.2: signed results
// and the 2/3 "no evil" gate; 8.4: escrow and dispute resolution). Every amount is uacc (bigint), every time block
// time in ns, every random choice a hash of the beacon; parameters are `tasks.*` (src/state/params.ts).
//
// STAGES (Task.status)              what moves it on
//   assigned             routed; the assignee accepts within accept_seconds, else the next candidate is tried
//   accepted             the executor works; submit_result before the deadline, else the task expires
//   awaiting_committee   a result (or an appeal) is in; the committee is drawn at end-block of height + K
//   reviewing            commit phase, then reveal phase; settled when the reveal phase ends or all revealed
//   settled              round 0's verdict is recorded; the appeal window runs, then the task is finalized
//   finalized | expired | cancelled   final; funds and reputation have moved
//
// SUBMIT (MsgSubmitTask, any account). bounty >= min_bounty, escrowed from the submitter; deadline in
// (now, now + max_deadline_seconds]; an inline input at most max_inline_bytes (the chain fills in its hash). The task
// is routed in the same tx; with no eligible agent at all the submission is refused (NO_ELIGIBLE_AGENT) rather than
// written and refunded at once: same money, no dead record, and the submitter learns why.
//
// ROUTE (deterministic). Candidates: active, attested agents whose capabilities are VERIFIED and meet the
// requirements (each minimum, every required model and skill tag), other than the submitter and the agents already
// tried for this task. One is drawn with sampleWeighted (src/tasks/sampling.ts) by selectionWeight(task reputation) =
// SCORE_ONE + the positive score, capped at 9 x SCORE_ONE (a floor so newcomers are drawn, a cap so nobody dominates),
// seeded by sha256("agentcluster/tasks/route/v1" || beacon mix of the current block || task id || attempt) (a domain
// separates it from the committee seed, which hashes the same kind of inputs). The assignee has accept_seconds to
// accept_task; silence counts as declining (no penalty: it never took the task) and the next candidate is drawn at
// the end-block when the window closes. After max_assignments assignments, or when no candidate is left, the task
// expires and the bounty returns to the submitter in full. The submitter may cancel_task until someone accepts.
//
// EXECUTE. Only the assignee, once it accepted and no later than the deadline, submits the result (its tx signature
// signs it; an inline output obeys max_inline_bytes). A deadline missed by an executor that had accepted costs it
// reputation.task_expired and refunds the bounty; the task is not reassigned, because the deadline is the submitter's
// and no time remains after it. A deadline reached before anyone accepted expires the task without a penalty.
//
// VERIFY. Result at height R: at the end-block of R + K (K = beacon_delay_blocks, at least 1) the committee is drawn
// from beaconMixAt(R + K), unknown when the result was signed, seeded by sha256("agentcluster/tasks/committee/v1" ||
// mix || task id || round). Size: min(committee_max, committee_min + bounty / committee_bounty_step) for round 0,
// appeal_committee_size for an appeal. The pool is every active, attested agent except the executor and the submitter
// (and, for an appeal, round 0's members: they would judge their own verdict, on which their pay now depends), in
// address order, weighted like routing; drawn without replacement; a pool smaller than the size is taken whole. An
// empty pool gives an empty committee, which settles at once as no_verdict (below). A draw whose mix the beacon no
// longer keeps (a draw delayed past its history) uses the current block's mix, which nobody knew at the result either.
//
// COMMIT-REVEAL. Members commit reviewCommitment (src/tasks/commitment.ts) during (draw, draw + commit_seconds] and
// reveal (verdict, salt) during (commit end, commit end + reveal_seconds]; reveals open only when commits close, so
// nobody can see a verdict before sealing their own. Refused: a non-member, a commit outside its phase, a second
// commit, a reveal without a commit, a reveal not matching the commitment, a second reveal, a reveal outside its phase.
//
// SETTLE (end of the reveal phase, or the end-block of the block in which the last member revealed). With n drawn, r
// revealed and a approving: quorum = max(1, ceil(n x min_reveal_bps / 10000)); r < quorum -> no_verdict; otherwise
// approved iff 3a >= 2r, else rejected. Round 0's verdict is recorded and appeal_seconds begin; nothing moves until
// the task is finalized, so an appeal can still reverse it.
//
// APPEAL. Only the party the verdict went against may appeal, once, within appeal_seconds of the verdict: the
// submitter an approval, the executor a rejection or a no_verdict (a benchmark's agent is both, so only its
// rejection or no_verdict). It locks appeal_deposit. Round 1 is drawn K blocks later the same way and its verdict is
// final. The appeal succeeds when round 1 gives the appellant's verdict: the deposit returns. It fails when round 1
// reaches the other verdict: the deposit pays round 1's majority (the extra review is paid by whoever asked for it;
// an indivisible remainder burns). A round 1 without a verdict leaves round 0's standing and returns the deposit:
// the appellant is not punished for reviewers' silence. Refused: after the window, by anyone else, a second time.
//
// FINALIZE (when the appeal window closes unappealed, or when round 1 settles). Final verdict = round 1's if it
// reached one, else round 0's. fee = bounty x protocol_fee_bps / 10000 (floor).
//   approved   executor: bounty - fee, + min(bounty x marketplace_subsidy_bps / 10000, the marketplace pot),
//              + compute pot x compute_pot_bps / 10000; reputation +task_completed, and +compute_uptime when the
//              result came before the deadline (always, as late results are refused).
//   rejected   submitter: bounty - fee back; executor slashed (kind fraudulent_result, infraction = the result's
//              height) and -task_rejected.
//   no_verdict submitter: the whole bounty back, no fee; the executor is not penalised (the network, not the executor,
//              failed to judge).
//   Reviewers, every round: with the final verdict (the majority) they share the fee and review pot x review_pot_bps /
//   10000, and gain review_majority; against it they lose review_minority; with no_verdict nobody is paid or judged.
//   Members who did not reveal (committed or not) lose review_no_reveal and are slashed (kind missed_reveal,
//   infraction = the height their round settled). Equal shares, floored: a fee's remainder burns, a pot keeps its own.
//
// BENCHMARK (MsgRequestBenchmark, an active agent whose capabilities are still claimed, one at a time). A task of
// kind benchmark assigned and accepted by the agent itself, no bounty, deadline now + benchmark_seconds, input an
// inline JSON challenge {"kind","task_id","seed","capabilities"} with seed = sha256("agentcluster/tasks/benchmark/v1"
// || beacon mix || task id), so nobody knows it before the request is in a block (it is the chain's own content, so
// max_inline_bytes does not bound it). Reviewed like any result (the pool excludes the agent); reviewers are paid
// from the review pot only. Approved: markCapabilitiesVerified and +compute_benchmark (no compute pot share: a
// benchmark is no work for anyone). Rejected: slashed and -task_rejected like any false result, which also stops an
// agent from draining the review pot with endless failed benchmarks.
//
// BOUNDED WORK. End-block reads two queues keyed by (time, id) and (height, id) (src/tasks/store.ts) up to now and
// handles at most MAX_TIMERS_PER_BLOCK timers and MAX_DRAWS_PER_BLOCK draws; the rest wait a block. Each task has at
// most one timer and one pending draw, and every handler checks its own time window, so a late timer changes only
// when, never whether. Routing and drawing scan the agents (O(agents), taken once per end-block); a submission pays
// ROUTE_GAS_PER_AGENT per agent scanned.
import { AppError } from '../errors.ts';
import { equalBytes, toHex, u64be, utf8 } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { formatTime } from '../codec/time.ts';
import type { Agent, Event, Payload, ReviewMember, ReviewRound, Task, TaskRequirements, Verdict } from '../codec/types.ts';
import { agents, isActiveAgent, markCapabilitiesVerified, requireActiveAgent } from '../state/agents.ts';
import { credit, debit, getAccount, moduleAddress, ModuleAccount } from '../state/accounts.ts';
import { burn } from '../state/supply.ts';
import { slash } from '../state/slashing.ts';
import { beaconMixAt } from '../state/beacon.ts';
import { BPS, type AppParams, type SlashKind, type TaskParams } from '../state/params.ts';
import { event, type HookContext, type Module, type TxContext } from '../state/module.ts';
import type { StateOverlay } from '../state/overlay.ts';
import type { StateReader } from '../state/store.ts';
import { adjustReputation, storedDimensionOfMany } from '../reputation/reputation.ts';
import { reviewCommitment } from './commitment.ts';
import { sampleWeighted, selectionWeight, type Weighted } from './sampling.ts';
import {
  addDuty,
  benchmarkUnderWay,
  dueDraws,
  dueTimers,
  getEscrow,
  getMember,
  getRound,
  getTask,
  membersOf,
  putEscrow,
  putMember,
  putRound,
  putTask,
  removeDuty,
  setBenchmarkUnderWay,
  taskTable,
  takeTaskId,
} from './store.ts';

const NS_PER_SECOND = 1_000_000_000n;
export const MAX_TIMERS_PER_BLOCK = 128;
export const MAX_DRAWS_PER_BLOCK = 32;
/** Gas a submission pays per agent the router scans (the scan is O(agents)). */
export const ROUTE_GAS_PER_AGENT = 100n;

const ROUTE_DOMAIN = utf8('agentcluster/tasks/route/v1');
const COMMITTEE_DOMAIN = utf8('agentcluster/tasks/committee/v1');
const BENCHMARK_DOMAIN = utf8('agentcluster/tasks/benchmark/v1');

/** What every step needs: the state, params and the block's height, time and event list. */
interface Ctx {
  state: StateOverlay;
  params: AppParams;
  height: bigint;
  time: bigint;
  events: Event[];
}

export type Pool = Array<Weighted<Agent>>;

const s = (n: bigint | number): string => n.toString();
const secs = (n: bigint): bigint => n * NS_PER_SECOND;

/** K: a draw uses a mix at least one block after its input, never the mix its input's block already showed. */
export function beaconDelay(p: TaskParams): bigint {
  return p.beacon_delay_blocks < 1n ? 1n : p.beacon_delay_blocks;
}

/** Round 0's committee size for a bounty: min(committee_max, committee_min + bounty / committee_bounty_step). */
export function committeeSize(p: TaskParams, bounty: bigint): number {
  const grown = p.committee_min + (p.committee_bounty_step > 0n ? bounty / p.committee_bounty_step : 0n);
  return Number(grown < p.committee_max ? grown : p.committee_max);
}

/** Least reveals for a verdict: ceil(size x min_reveal_bps / 10000), and never 0 (no verdict out of silence). */
export function quorum(size: number, minRevealBps: bigint): number {
  const q = (BigInt(size) * minRevealBps + BPS - 1n) / BPS;
  return Number(q < 1n ? 1n : q);
}

/** The settlement rule (see the header): quorum of reveals, then approved iff approvals x 3 >= revealed x 2. */
export function verdictOf(size: number, revealed: number, approvals: number, minRevealBps: bigint): Exclude<Verdict, ''> {
  if (revealed < quorum(size, minRevealBps)) return 'no_verdict';
  return approvals * 3 >= revealed * 2 ? 'approved' : 'rejected';
}

export function meetsRequirements(agent: Agent, r: TaskRequirements): boolean {
  const c = agent.capabilities;
  return (
    agent.capabilitiesVerified &&
    c.cpuCores >= r.minCpuCores &&
    c.gpuMemoryMb >= r.minGpuMemoryMb &&
    c.llmTokensPerSecond >= r.minLlmTokensPerSecond &&
    r.models.every((m) => c.models.includes(m)) &&
    r.skills.every((k) => c.skills.includes(k))
  );
}

/** Active, attested agents in address order (Repo order), each with its selection weight; `list` if already read. */
export async function weightedAgents(
  state: StateReader,
  params: AppParams,
  now: bigint,
  keep: (a: Agent) => boolean = () => true,
  list?: ReadonlyArray<[Uint8Array, Agent]>,
): Promise<Pool> {
  const chosen = (list ?? (await agents.all(state))).map(([, a]) => a).filter((a) => isActiveAgent(a, now) && keep(a));
  const scores = await storedDimensionOfMany(state, params, chosen.map((a) => a.address), 'task', now);
  return chosen.map((a, i) => ({ item: a, weight: selectionWeight(scores[i]) }));
}

const isIn = (list: readonly Uint8Array[], a: Uint8Array): boolean => list.some((x) => equalBytes(x, a));

async function mixAt(c: Ctx, height: bigint): Promise<Uint8Array> {
  const mix = (await beaconMixAt(c.state, height)) ?? (await beaconMixAt(c.state, c.height));
  if (mix === undefined) throw new AppError('INTERNAL', `the beacon holds no mix for height ${c.height}; the beacon module must run before tasks`);
  return mix;
}

/** The routing draw: the next assignee among `pool` (already filtered by the requirements), or undefined. */
async function pickAssignee(c: Ctx, task: Task, pool: Pool): Promise<Agent | undefined> {
  const candidates = pool.filter((w) => !equalBytes(w.item.address, task.submitter) && !isIn(task.tried, w.item.address));
  if (candidates.length === 0) return undefined;
  const seed = sha256(ROUTE_DOMAIN, await mixAt(c, c.height), u64be(task.id), u64be(BigInt(task.tried.length)));
  return sampleWeighted(candidates, 1, seed)[0].item;
}

function assign(c: Ctx, task: Task, agent: Agent): Task {
  const acceptBy = c.time + secs(c.params.tasks.accept_seconds);
  const next: Task = {
    ...task,
    status: 'assigned',
    assignee: agent.address,
    tried: [...task.tried, agent.address],
    acceptByNs: acceptBy,
    timerNs: acceptBy < task.deadlineNs ? acceptBy : task.deadlineNs,
  };
  c.events.push(event('task_assigned', { task: s(task.id), assignee: toHex(agent.address), attempt: s(next.tried.length), accept_by: formatTime(acceptBy) }));
  return next;
}

/** Ends a task without a verdict: the bounty back to the submitter in full, an optional penalty to the assignee. */
async function expire(c: Ctx, task: Task, reason: string, penalize: boolean): Promise<void> {
  const escrow = await getEscrow(c.state, task.id);
  await credit(c.state, task.submitter, escrow.bounty);
  putEscrow(c.state, task.id, { bounty: 0n, deposit: escrow.deposit });
  if (penalize) await adjustReputation(c.state, c.params, task.assignee, 'task', -c.params.reputation.task_expired, c.time);
  if (task.kind === 'benchmark') setBenchmarkUnderWay(c.state, task.submitter, undefined);
  putTask(c.state, { ...task, status: 'expired', timerNs: 0n, drawHeight: 0n, closedNs: c.time, closeReason: reason, submitterRefund: escrow.bounty }, task);
  c.events.push(
    event('task_expired', { task: s(task.id), reason, refund: s(escrow.bounty), assignee: task.assignee.length > 0 ? toHex(task.assignee) : '', penalized: String(penalize) }),
  );
}

/** The next assignment of a task whose assignee let the accept window pass, or its expiry. */
async function reroute(c: Ctx, task: Task, pool: () => Promise<Pool>): Promise<void> {
  if (BigInt(task.tried.length) >= c.params.tasks.max_assignments) return expire(c, task, 'max_assignments', false);
  const next = await pickAssignee(c, task, (await pool()).filter((w) => meetsRequirements(w.item, task.requirements)));
  if (next === undefined) return expire(c, task, 'no_candidate', false);
  putTask(c.state, assign(c, task, next), task);
}

function withHash(p: Payload): Payload {
  return p.inline.length > 0 && p.hash.length === 0 ? { ...p, hash: sha256(p.inline) } : p;
}

function checkInline(p: Payload, field: string, params: AppParams): void {
  if (BigInt(p.inline.length) > params.tasks.max_inline_bytes) {
    throw new AppError('PAYLOAD_TOO_LARGE', `${field}.inline is ${p.inline.length} bytes; tasks.max_inline_bytes allows ${params.tasks.max_inline_bytes}. Put the content behind a sha256 hash and a URI instead`, {
      field,
    });
  }
}

async function mustTask(c: { state: StateOverlay }, id: bigint): Promise<Task> {
  const task = await getTask(c.state, id);
  if (task === undefined) throw new AppError('TASK_NOT_FOUND', `there is no task ${id}; check the id (query tasks to list them)`);
  return task;
}

function wrongState(task: Task, what: string): AppError {
  return new AppError('TASK_WRONG_STATE', `task ${task.id} is ${task.status}; ${what}`, { status: task.status });
}

// ---------------------------------------------------------------------------------------------------------------
// review rounds
// ---------------------------------------------------------------------------------------------------------------

/** The seed of a committee draw: the beacon mix, the task and the round, under the committee domain. */
export function committeeSeed(mix: Uint8Array, taskId: bigint, round: number): Uint8Array {
  return sha256(COMMITTEE_DOMAIN, mix, u64be(taskId), Uint8Array.of(round));
}

/** The committee itself: `size` weighted picks without replacement from `pool` minus `exclude` (pure). */
export function selectCommittee(pool: Pool, exclude: readonly Uint8Array[], size: number, seed: Uint8Array): Pool {
  return sampleWeighted(
    pool.filter((w) => !isIn(exclude, w.item.address)),
    size,
    seed,
  );
}

/** Draws the committee of the task's current round (end-block of its draw height) and opens the commit phase. */
async function drawCommittee(c: Ctx, task: Task, pool: () => Promise<Pool>): Promise<void> {
  const p = c.params.tasks;
  const round = task.round;
  const exclude = [task.submitter, task.assignee];
  if (round > 0) for (const m of await membersOf(c.state, task.id, 0)) exclude.push(m.reviewer);
  const wanted = round === 0 ? committeeSize(p, task.bounty) : Number(p.appeal_committee_size);
  const picks = selectCommittee(await pool(), exclude, wanted, committeeSeed(await mixAt(c, task.drawHeight), task.id, round));
  const commitEnd = c.time + secs(p.commit_seconds);
  const header: ReviewRound = {
    taskId: task.id,
    round,
    seedHeight: task.drawHeight,
    drawnHeight: c.height,
    drawnNs: c.time,
    commitEndNs: commitEnd,
    revealEndNs: commitEnd + secs(p.reveal_seconds),
    wanted,
    size: picks.length,
    committed: 0,
    revealed: 0,
    approvals: 0,
    verdict: '',
    settledNs: 0n,
    settledHeight: 0n,
  };
  putRound(c.state, header);
  picks.forEach((w, seat) => {
    putMember(c.state, task.id, round, { reviewer: w.item.address, seat, weight: w.weight, commitment: new Uint8Array(0), committedNs: 0n, revealed: false, approve: false, revealedNs: 0n });
    addDuty(c.state, w.item.address, task.id, round);
  });
  c.events.push(
    event('committee_drawn', {
      task: s(task.id),
      round: s(round),
      size: s(picks.length),
      wanted: s(wanted),
      seed_height: s(task.drawHeight),
      members: picks.map((w) => toHex(w.item.address)).join(','),
      commit_end: formatTime(header.commitEndNs),
      reveal_end: formatTime(header.revealEndNs),
    }),
  );
  const reviewing: Task = { ...task, status: 'reviewing', drawHeight: 0n, timerNs: header.revealEndNs };
  putTask(c.state, reviewing, task);
  // Nobody to review: settle now (no_verdict) instead of waiting out two empty phases.
  if (picks.length === 0) await settleRound(c, reviewing);
}

/** Settles the task's current round (see SETTLE); round 0 opens the appeal window, round 1 finalizes. */
async function settleRound(c: Ctx, task: Task): Promise<void> {
  const r = (await getRound(c.state, task.id, task.round))!;
  const verdict = verdictOf(r.size, r.revealed, r.approvals, c.params.tasks.min_reveal_bps);
  putRound(c.state, { ...r, verdict, settledNs: c.time, settledHeight: c.height });
  for (const m of await membersOf(c.state, task.id, task.round)) if (!m.revealed) removeDuty(c.state, m.reviewer, task.id, task.round);
  c.events.push(
    event('review_settled', { task: s(task.id), round: s(task.round), verdict, size: s(r.size), revealed: s(r.revealed), approvals: s(r.approvals), quorum: s(quorum(r.size, c.params.tasks.min_reveal_bps)) }),
  );
  if (task.round === 0) {
    const appealEnd = c.time + secs(c.params.tasks.appeal_seconds);
    putTask(c.state, { ...task, status: 'settled', verdict, verdictNs: c.time, timerNs: appealEnd }, task);
    return;
  }
  const appealed: Task = { ...task, appealVerdict: verdict, timerNs: 0n };
  putTask(c.state, appealed, task);
  await finalize(c, appealed);
}

// ---------------------------------------------------------------------------------------------------------------
// finalization: funds and reputation
// ---------------------------------------------------------------------------------------------------------------

/** Pays `amount` in equal floored shares; returns what was paid (the caller decides where a remainder goes). */
async function share(state: StateOverlay, amount: bigint, to: readonly Uint8Array[]): Promise<bigint> {
  if (to.length === 0 || amount === 0n) return 0n;
  const each = amount / BigInt(to.length);
  for (const a of to) await credit(state, a, each);
  return each * BigInt(to.length);
}

/** A reward pot's share (pot balance x bps / 10000, capped by `cap` when given), debited from the pot. */
async function fromPot(state: StateOverlay, pot: 'compute_providers' | 'marketplace' | 'review_committees', bps: bigint, cap?: bigint): Promise<{ address: Uint8Array; amount: bigint }> {
  const address = moduleAddress(ModuleAccount.rewards(pot));
  const balance = (await getAccount(state, address)).balance;
  let amount = cap === undefined ? (balance * bps) / BPS : cap;
  if (amount > balance) amount = balance;
  return { address, amount };
}

async function slashFor(c: Ctx, task: Task, agent: Uint8Array, kind: SlashKind, infractionHeight: bigint): Promise<void> {
  const r = await slash(c.state, c.params, { height: c.height, time: c.time }, agent, kind, infractionHeight);
  c.events.push(event('slash', { agent: toHex(agent), kind, amount: s(r.amount), escrow: r.escrowId?.toString() ?? '', infraction_height: s(infractionHeight), task: s(task.id) }));
}

/** The final verdict's money and reputation (see FINALIZE). */
async function finalize(c: Ctx, task: Task): Promise<void> {
  const p = c.params.tasks;
  const rp = c.params.reputation;
  const final: Exclude<Verdict, ''> = task.round === 1 && task.appealVerdict !== 'no_verdict' ? (task.appealVerdict as Exclude<Verdict, ''>) : (task.verdict as Exclude<Verdict, ''>);
  const escrow = await getEscrow(c.state, task.id);
  const executor = task.assignee;

  const rounds: Array<{ header: ReviewRound; members: ReviewMember[] }> = [];
  for (let r = 0; r <= task.round; r++) {
    const header = await getRound(c.state, task.id, r);
    if (header !== undefined) rounds.push({ header, members: await membersOf(c.state, task.id, r) });
  }
  const judged = final !== 'no_verdict';
  const withFinal = (m: ReviewMember): boolean => m.revealed && judged && m.approve === (final === 'approved');
  const majority = rounds.flatMap((r) => r.members.filter(withFinal).map((m) => m.reviewer));

  // The bounty.
  let executorPaid = 0n;
  let refund = 0n;
  let reviewersPaid = 0n;
  const fee = final === 'no_verdict' ? 0n : (escrow.bounty * (p.protocol_fee_bps < BPS ? p.protocol_fee_bps : BPS)) / BPS;
  if (final === 'approved') executorPaid = escrow.bounty - fee;
  else refund = escrow.bounty - fee;
  await credit(c.state, executor, executorPaid);
  await credit(c.state, task.submitter, refund);
  const feePaid = await share(c.state, fee, majority);
  await burn(c.state, fee - feePaid);
  reviewersPaid += feePaid;

  // Reward pots: the executor's subsidy and compute share (tasks with a bounty), the reviewers' review share.
  if (final === 'approved' && task.kind === 'task') {
    const subsidy = await fromPot(c.state, 'marketplace', 0n, (task.bounty * p.marketplace_subsidy_bps) / BPS);
    const compute = await fromPot(c.state, 'compute_providers', p.compute_pot_bps);
    for (const pot of [subsidy, compute]) {
      await debit(c.state, pot.address, pot.amount);
      await credit(c.state, executor, pot.amount);
      executorPaid += pot.amount;
    }
  }
  if (judged && majority.length > 0) {
    const review = await fromPot(c.state, 'review_committees', p.review_pot_bps);
    const paid = await share(c.state, review.amount, majority);
    await debit(c.state, review.address, paid);
    reviewersPaid += paid;
  }

  // The appeal deposit (see APPEAL).
  if (escrow.deposit > 0n) {
    const wanted = task.verdict === 'approved' ? 'rejected' : 'approved';
    if (task.appealVerdict === wanted || task.appealVerdict === 'no_verdict') {
      await credit(c.state, task.appellant, escrow.deposit);
    } else {
      const round1 = rounds.find((r) => r.header.round === 1)?.members.filter(withFinal).map((m) => m.reviewer) ?? [];
      const paid = await share(c.state, escrow.deposit, round1);
      await burn(c.state, escrow.deposit - paid);
      reviewersPaid += paid;
    }
  }
  putEscrow(c.state, task.id, { bounty: 0n, deposit: 0n });

  // The executor's reputation and stake.
  if (final === 'approved') {
    if (task.kind === 'benchmark') {
      await markCapabilitiesVerified(c.state, executor, c.time);
      await adjustReputation(c.state, c.params, executor, 'compute', rp.compute_benchmark, c.time);
    } else {
      await adjustReputation(c.state, c.params, executor, 'task', rp.task_completed, c.time);
      if (task.resultNs <= task.deadlineNs) await adjustReputation(c.state, c.params, executor, 'compute', rp.compute_uptime, c.time);
    }
  } else if (final === 'rejected') {
    await slashFor(c, task, executor, 'fraudulent_result', task.resultHeight);
    await adjustReputation(c.state, c.params, executor, 'task', -rp.task_rejected, c.time);
  }

  // Every reviewer of every round.
  for (const { header, members } of rounds) {
    for (const m of members) {
      if (!m.revealed) {
        await adjustReputation(c.state, c.params, m.reviewer, 'task', -rp.review_no_reveal, c.time);
        // Infraction at the draw: a member that deregisters after being drawn still answers for its seat.
        await slashFor(c, task, m.reviewer, 'missed_reveal', header.drawnHeight);
      } else if (judged) {
        await adjustReputation(c.state, c.params, m.reviewer, 'task', withFinal(m) ? rp.review_majority : -rp.review_minority, c.time);
      }
    }
  }

  if (task.kind === 'benchmark') setBenchmarkUnderWay(c.state, task.submitter, undefined);
  putTask(
    c.state,
    { ...task, status: 'finalized', finalVerdict: final, timerNs: 0n, drawHeight: 0n, closedNs: c.time, executorPaid, submitterRefund: refund, reviewersPaid },
    task,
  );
  c.events.push(
    event('task_finalized', {
      task: s(task.id),
      verdict: final,
      executor: toHex(executor),
      executor_paid: s(executorPaid),
      refund: s(refund),
      fee: s(fee),
      reviewers_paid: s(reviewersPaid),
      majority: s(majority.length),
      appealed: String(task.appellant.length > 0),
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// end-block: timers and draws
// ---------------------------------------------------------------------------------------------------------------

/** A task's timer fired: what it means depends on the stage the task is in. */
async function onTimer(c: Ctx, task: Task, pool: () => Promise<Pool>): Promise<void> {
  switch (task.status) {
    case 'assigned':
      if (c.time >= task.deadlineNs) return expire(c, task, 'deadline_before_accept', false);
      return reroute(c, task, pool);
    case 'accepted':
      return expire(c, task, 'deadline_missed', true);
    case 'reviewing':
      return settleRound(c, task);
    case 'settled':
      return finalize(c, task);
    default:
      putTask(c.state, { ...task, timerNs: 0n }, task); // no stage waits on a timer: drop it
  }
}

async function endBlock(ctx: HookContext): Promise<void> {
  const c: Ctx = { state: ctx.state, params: ctx.params, height: ctx.height, time: ctx.time, events: ctx.events };
  // The pool of active agents and their weights, read once per end-block on first need.
  let cached: Pool | undefined;
  const pool = async (): Promise<Pool> => (cached ??= await weightedAgents(c.state, c.params, c.time));
  for (const { at, id } of await dueTimers(c.state, c.time, MAX_TIMERS_PER_BLOCK)) {
    const task = await getTask(c.state, id);
    if (task !== undefined && task.timerNs === at) await onTimer(c, task, pool);
  }
  for (const { at, id } of await dueDraws(c.state, c.height, MAX_DRAWS_PER_BLOCK)) {
    const task = await getTask(c.state, id);
    if (task !== undefined && task.drawHeight === at && task.status === 'awaiting_committee') await drawCommittee(c, task, pool);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// messages
// ---------------------------------------------------------------------------------------------------------------

/** The round a review message names, with the signer's seat; each failure is its own code. */
async function reviewSeat(ctx: TxContext, taskId: bigint, round: number): Promise<{ task: Task; header: ReviewRound; member: ReviewMember }> {
  const task = await mustTask(ctx, taskId);
  const header = await getRound(ctx.state, taskId, round);
  if (header === undefined || round > task.round) {
    throw new AppError('NO_REVIEW_ROUND', `task ${taskId} has no committee for round ${round} (it is ${task.status}${task.drawHeight > 0n ? `, committee drawn at the end of height ${task.drawHeight}` : ''})`);
  }
  const member = await getMember(ctx.state, taskId, round, ctx.signer);
  if (member === undefined) throw new AppError('NOT_COMMITTEE_MEMBER', `${toHex(ctx.signer)} is not on the committee of task ${taskId} round ${round}; only drawn members review`);
  return { task, header, member };
}

function ctxOf(ctx: TxContext): Ctx {
  return { state: ctx.state, params: ctx.params, height: ctx.height, time: ctx.time, events: ctx.events };
}

const baseTask = (id: bigint, submitter: Uint8Array): Task => ({
  id,
  kind: 'task',
  status: 'assigned',
  submitter,
  requirements: { minCpuCores: 0, minGpuMemoryMb: 0n, minLlmTokensPerSecond: 0n, models: [], skills: [] },
  bounty: 0n,
  deadlineNs: 0n,
  input: { hash: new Uint8Array(0), uri: '', inline: new Uint8Array(0) },
  submittedNs: 0n,
  submittedHeight: 0n,
  assignee: new Uint8Array(0),
  tried: [],
  acceptByNs: 0n,
  acceptedNs: 0n,
  output: { hash: new Uint8Array(0), uri: '', inline: new Uint8Array(0) },
  resultNs: 0n,
  resultHeight: 0n,
  round: 0,
  drawHeight: 0n,
  timerNs: 0n,
  verdict: '',
  verdictNs: 0n,
  appellant: new Uint8Array(0),
  appealVerdict: '',
  finalVerdict: '',
  closedNs: 0n,
  closeReason: '',
  executorPaid: 0n,
  submitterRefund: 0n,
  reviewersPaid: 0n,
});

/** The benchmark challenge: canonical JSON (fixed key order, 64-bit numbers as strings). */
export function benchmarkChallenge(id: bigint, seed: Uint8Array, agent: Agent): Uint8Array {
  const c = agent.capabilities;
  return utf8(
    JSON.stringify({
      kind: 'benchmark',
      task_id: id.toString(),
      seed: toHex(seed),
      capabilities: { cpu_cores: c.cpuCores, gpu_memory_mb: c.gpuMemoryMb.toString(), llm_tokens_per_second: c.llmTokensPerSecond.toString(), models: c.models, skills: c.skills },
    }),
  );
}

export const tasksModule: Module = {
  name: 'tasks',
  prefetch: {
    cancel_task: (m) => [taskTable.stateKey(m.taskId)],
    accept_task: (m) => [taskTable.stateKey(m.taskId)],
    submit_result: (m) => [taskTable.stateKey(m.taskId)],
    commit_review: (m) => [taskTable.stateKey(m.taskId)],
    reveal_review: (m) => [taskTable.stateKey(m.taskId)],
    appeal: (m) => [taskTable.stateKey(m.taskId)],
  },
  endBlock,
  handlers: {
    async submit_task(ctx, msg) {
      const p = ctx.params.tasks;
      if (msg.bounty < p.min_bounty) {
        throw new AppError('BOUNTY_TOO_SMALL', `bounty ${msg.bounty} uacc is below tasks.min_bounty (${p.min_bounty} uacc); offer at least that much`, { min: s(p.min_bounty) });
      }
      const latest = ctx.time + secs(p.max_deadline_seconds);
      if (msg.deadline <= ctx.time || msg.deadline > latest) {
        throw new AppError('BAD_DEADLINE', `deadline ${formatTime(msg.deadline)} must be after the block time ${formatTime(ctx.time)} and no later than ${formatTime(latest)} (tasks.max_deadline_seconds = ${p.max_deadline_seconds})`);
      }
      checkInline(msg.input, 'input', ctx.params);
      const c = ctxOf(ctx);
      const all = await agents.all(ctx.state);
      ctx.gas.consume(ROUTE_GAS_PER_AGENT * BigInt(all.length), 'routing');
      const pool = await weightedAgents(ctx.state, ctx.params, ctx.time, (a) => meetsRequirements(a, msg.requirements), all);
      const id = await takeTaskId(ctx.state);
      const task: Task = {
        ...baseTask(id, ctx.signer),
        requirements: msg.requirements,
        bounty: msg.bounty,
        deadlineNs: msg.deadline,
        input: withHash(msg.input),
        submittedNs: ctx.time,
        submittedHeight: ctx.height,
      };
      const assignee = await pickAssignee(c, task, pool);
      if (assignee === undefined) {
        throw new AppError('NO_ELIGIBLE_AGENT', 'no active agent with verified capabilities meets these requirements (the submitter excluded); lower the requirements or submit later');
      }
      await debit(ctx.state, ctx.signer, msg.bounty);
      putEscrow(ctx.state, id, { bounty: msg.bounty, deposit: 0n });
      ctx.events.push(event('task_submitted', { task: s(id), submitter: toHex(ctx.signer), bounty: s(msg.bounty), deadline: formatTime(msg.deadline) }));
      putTask(ctx.state, assign(c, task, assignee));
    },

    async cancel_task(ctx, msg) {
      const task = await mustTask(ctx, msg.taskId);
      if (!equalBytes(task.submitter, ctx.signer)) throw new AppError('NOT_TASK_SUBMITTER', `only the submitter ${toHex(task.submitter)} may cancel task ${task.id}`);
      if (task.kind !== 'task' || task.status !== 'assigned') {
        throw wrongState(task, task.status === 'accepted' ? `${toHex(task.assignee)} accepted it; a task can be cancelled only before anyone accepts it` : 'only a task nobody has accepted yet can be cancelled');
      }
      const escrow = await getEscrow(ctx.state, task.id);
      await credit(ctx.state, task.submitter, escrow.bounty);
      putEscrow(ctx.state, task.id, { bounty: 0n, deposit: 0n });
      putTask(ctx.state, { ...task, status: 'cancelled', timerNs: 0n, closedNs: ctx.time, closeReason: 'cancelled', submitterRefund: escrow.bounty }, task);
      ctx.events.push(event('task_cancelled', { task: s(task.id), refund: s(escrow.bounty) }));
    },

    async accept_task(ctx, msg) {
      const task = await mustTask(ctx, msg.taskId);
      if (!equalBytes(task.assignee, ctx.signer)) throw new AppError('NOT_TASK_ASSIGNEE', `task ${task.id} is assigned to ${task.assignee.length > 0 ? toHex(task.assignee) : 'nobody'}, not ${toHex(ctx.signer)}`);
      if (task.status !== 'assigned') throw wrongState(task, task.status === 'accepted' ? 'you already accepted it; submit the result' : 'it is no longer waiting to be accepted');
      if (ctx.time > task.deadlineNs) throw new AppError('DEADLINE_PASSED', `task ${task.id}'s deadline ${formatTime(task.deadlineNs)} has passed`);
      if (ctx.time > task.acceptByNs) throw new AppError('ACCEPT_WINDOW_CLOSED', `the accept window of task ${task.id} closed at ${formatTime(task.acceptByNs)}; the task moves on to another agent`);
      await requireActiveAgent(ctx);
      putTask(ctx.state, { ...task, status: 'accepted', acceptedNs: ctx.time, timerNs: task.deadlineNs }, task);
      ctx.events.push(event('task_accepted', { task: s(task.id), executor: toHex(ctx.signer), deadline: formatTime(task.deadlineNs) }));
    },

    async submit_result(ctx, msg) {
      const task = await mustTask(ctx, msg.taskId);
      if (!equalBytes(task.assignee, ctx.signer)) throw new AppError('NOT_TASK_ASSIGNEE', `only task ${task.id}'s assignee ${task.assignee.length > 0 ? toHex(task.assignee) : '(none)'} may submit its result`);
      if (task.status !== 'accepted') throw wrongState(task, task.status === 'assigned' ? 'accept it first (accept_task)' : 'its result is already in');
      if (ctx.time > task.deadlineNs) throw new AppError('DEADLINE_PASSED', `task ${task.id}'s deadline ${formatTime(task.deadlineNs)} has passed; the result is too late`);
      checkInline(msg.output, 'output', ctx.params);
      // Only an active agent: one that deregistered meanwhile has its bond leaving, out of reach of the slash a false
      // result earns (slashing reaches unbondings created from the result's height - 1 on, not before).
      await requireActiveAgent(ctx);
      const drawHeight = ctx.height + beaconDelay(ctx.params.tasks);
      putTask(ctx.state, { ...task, status: 'awaiting_committee', output: withHash(msg.output), resultNs: ctx.time, resultHeight: ctx.height, round: 0, drawHeight, timerNs: 0n }, task);
      ctx.events.push(event('task_result', { task: s(task.id), executor: toHex(ctx.signer), output_hash: toHex(withHash(msg.output).hash), committee_height: s(drawHeight) }));
    },

    async commit_review(ctx, msg) {
      const { task, header, member } = await reviewSeat(ctx, msg.taskId, msg.round);
      if (header.verdict !== '' || ctx.time > header.commitEndNs) {
        throw new AppError('NOT_COMMIT_PHASE', `the commit phase of task ${task.id} round ${msg.round} ended at ${formatTime(header.commitEndNs)}`);
      }
      if (member.commitment.length > 0) throw new AppError('ALREADY_COMMITTED', `${toHex(ctx.signer)} already committed to task ${task.id} round ${msg.round}; a commitment cannot be changed`);
      putMember(ctx.state, task.id, msg.round, { ...member, commitment: msg.commitment, committedNs: ctx.time });
      putRound(ctx.state, { ...header, committed: header.committed + 1 });
      ctx.events.push(event('review_committed', { task: s(task.id), round: s(msg.round), reviewer: toHex(ctx.signer) }));
    },

    async reveal_review(ctx, msg) {
      const { task, header, member } = await reviewSeat(ctx, msg.taskId, msg.round);
      if (member.revealed) throw new AppError('ALREADY_REVEALED', `${toHex(ctx.signer)} already revealed in task ${task.id} round ${msg.round}`);
      if (header.verdict !== '' || ctx.time <= header.commitEndNs || ctx.time > header.revealEndNs) {
        throw new AppError('NOT_REVEAL_PHASE', `task ${task.id} round ${msg.round} takes reveals after ${formatTime(header.commitEndNs)} until ${formatTime(header.revealEndNs)}${header.verdict !== '' ? '; it is settled' : ''}`);
      }
      if (member.commitment.length === 0) throw new AppError('NOT_COMMITTED', `${toHex(ctx.signer)} did not commit in task ${task.id} round ${msg.round}; only a committed verdict can be revealed`);
      const expected = reviewCommitment({ taskId: task.id, round: msg.round, approve: msg.approve, salt: msg.salt, reviewer: ctx.signer });
      if (!equalBytes(expected, member.commitment)) {
        throw new AppError('REVEAL_MISMATCH', 'the verdict and salt do not hash to your commitment; reveal exactly the verdict and salt you committed (src/tasks/commitment.ts)');
      }
      putMember(ctx.state, task.id, msg.round, { ...member, revealed: true, approve: msg.approve, revealedNs: ctx.time });
      const revealed = header.revealed + 1;
      putRound(ctx.state, { ...header, revealed, approvals: header.approvals + (msg.approve ? 1 : 0) });
      removeDuty(ctx.state, ctx.signer, task.id, msg.round);
      // Everyone revealed: settle at this block's end-block rather than at the end of the phase.
      if (revealed === header.size) putTask(ctx.state, { ...task, timerNs: ctx.time }, task);
      ctx.events.push(event('review_revealed', { task: s(task.id), round: s(msg.round), reviewer: toHex(ctx.signer), approve: String(msg.approve) }));
    },

    async appeal(ctx, msg) {
      const p = ctx.params.tasks;
      const task = await mustTask(ctx, msg.taskId);
      const isSubmitter = equalBytes(ctx.signer, task.submitter);
      const isExecutor = equalBytes(ctx.signer, task.assignee);
      if (!isSubmitter && !isExecutor) throw new AppError('NOT_APPEAL_PARTY', `only task ${task.id}'s submitter or executor may appeal its verdict`);
      if (task.appellant.length > 0) throw new AppError('ALREADY_APPEALED', `task ${task.id} was already appealed by ${toHex(task.appellant)}; a task is appealed at most once`);
      if (task.status === 'finalized') throw new AppError('APPEAL_WINDOW_CLOSED', `task ${task.id} was finalized at ${formatTime(task.closedNs)}; its appeal window is over`);
      if (task.status !== 'settled') throw wrongState(task, 'only a verdict can be appealed, once the review has settled');
      const closes = task.verdictNs + secs(p.appeal_seconds);
      if (ctx.time > closes) throw new AppError('APPEAL_WINDOW_CLOSED', `the appeal window of task ${task.id} closed at ${formatTime(closes)}`);
      // The party the verdict went against: the submitter an approval, the executor a rejection or no verdict.
      const allowed = task.verdict === 'approved' ? isSubmitter && !isExecutor : isExecutor;
      if (!allowed) {
        throw new AppError('NOT_APPEAL_PARTY', `the verdict of task ${task.id} is ${task.verdict}; only ${task.verdict === 'approved' ? 'the submitter' : 'the executor'} it went against may appeal it`);
      }
      await debit(ctx.state, ctx.signer, p.appeal_deposit);
      const escrow = await getEscrow(ctx.state, task.id);
      putEscrow(ctx.state, task.id, { ...escrow, deposit: escrow.deposit + p.appeal_deposit });
      const drawHeight = ctx.height + beaconDelay(p);
      putTask(ctx.state, { ...task, status: 'awaiting_committee', appellant: ctx.signer, round: 1, drawHeight, timerNs: 0n }, task);
      ctx.events.push(event('task_appealed', { task: s(task.id), appellant: toHex(ctx.signer), deposit: s(p.appeal_deposit), verdict: task.verdict, committee_height: s(drawHeight) }));
    },

    async request_benchmark(ctx) {
      const agent = await requireActiveAgent(ctx);
      if (agent.capabilitiesVerified) {
        throw new AppError('BENCHMARK_NOT_ALLOWED', `the capabilities of ${toHex(ctx.signer)} were verified at ${formatTime(agent.capabilitiesVerifiedNs)}; there is nothing to benchmark`);
      }
      const under = await benchmarkUnderWay(ctx.state, ctx.signer);
      if (under !== undefined) throw new AppError('BENCHMARK_NOT_ALLOWED', `benchmark task ${under} of ${toHex(ctx.signer)} is under way; finish it first`);
      const id = await takeTaskId(ctx.state);
      const seed = sha256(BENCHMARK_DOMAIN, await mixAt(ctxOf(ctx), ctx.height), u64be(id));
      const inline = benchmarkChallenge(id, seed, agent);
      const deadline = ctx.time + secs(ctx.params.tasks.benchmark_seconds);
      putTask(ctx.state, {
        ...baseTask(id, ctx.signer),
        kind: 'benchmark',
        status: 'accepted',
        deadlineNs: deadline,
        input: { hash: sha256(inline), uri: '', inline },
        submittedNs: ctx.time,
        submittedHeight: ctx.height,
        assignee: ctx.signer,
        tried: [ctx.signer],
        acceptByNs: ctx.time,
        acceptedNs: ctx.time,
        timerNs: deadline,
      });
      setBenchmarkUnderWay(ctx.state, ctx.signer, id);
      ctx.events.push(event('benchmark_requested', { task: s(id), agent: toHex(ctx.signer), seed: toHex(seed), deadline: formatTime(deadline) }));
    },
  },
};
