// Read functions for the RPC and the agent worker. None writes; each is bounded by an index (src/tasks/store.ts):
//   - listTasks reads index keys only (the status, submitter or assignee index; for no filter, ids 1..last) and
//     decodes just the page it returns; a second or third filter intersects the key lists, so a query costs
//     O(entries of its index) key reads plus O(page) record reads, never a scan of every task record;
//   - committeeOf reads one round: its header and its members (at most committee_max, or appeal_committee_size);
//   - dutiesOf reads the agent's assignee index and its open review duties.
// A committed verdict stays sealed: a member's `approve` is shown only once it has revealed.
import { AppError } from '../errors.ts';
import type { ReviewMember, ReviewRound, Task, TaskStatus } from '../codec/types.ts';
import { TASK_STATUSES } from '../codec/types.ts';
import type { AppParams } from '../state/params.ts';
import type { StateReader } from '../state/store.ts';
import { quorum } from './tasks.ts';
import { dutiesOf as dutyEntries, getMember, getRound, getTask, idsByAssignee, idsByStatus, idsBySubmitter, lastTaskId, membersOf } from './store.ts';

export { getTask };

export interface TaskFilter {
  status?: TaskStatus;
  submitter?: Uint8Array;
  assignee?: Uint8Array;
}

/** Tasks matching every filter given, newest (highest id) first: the `total` and the page [offset, offset + limit). */
export async function listTasks(state: StateReader, filter: TaskFilter, page: { offset: number; limit: number }): Promise<{ total: number; tasks: Task[] }> {
  if (filter.status !== undefined && !TASK_STATUSES.includes(filter.status)) {
    throw new AppError('INVALID_FIELD', `status must be one of ${TASK_STATUSES.join(', ')}, got ${JSON.stringify(filter.status)}`, { field: 'status' });
  }
  const lists: bigint[][] = [];
  if (filter.status !== undefined) lists.push(await idsByStatus(state, filter.status));
  if (filter.submitter !== undefined) lists.push(await idsBySubmitter(state, filter.submitter));
  if (filter.assignee !== undefined) lists.push(await idsByAssignee(state, filter.assignee));
  if (lists.length === 0) {
    // Ids are 1..last with none removed: the page is read by id, from the newest.
    const last = await lastTaskId(state);
    const ids: bigint[] = [];
    for (let id = last - BigInt(page.offset); id >= 1n && ids.length < page.limit; id--) ids.push(id);
    return { total: Number(last), tasks: await readAll(state, ids) };
  }
  lists.sort((a, b) => a.length - b.length);
  let ids = lists[0];
  for (const other of lists.slice(1)) {
    const set = new Set(other);
    ids = ids.filter((id) => set.has(id));
  }
  ids = [...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  return { total: ids.length, tasks: await readAll(state, ids.slice(page.offset, page.offset + page.limit)) };
}

async function readAll(state: StateReader, ids: bigint[]): Promise<Task[]> {
  return (await Promise.all(ids.map((id) => getTask(state, id)))).filter((t): t is Task => t !== undefined);
}

export type ReviewPhase = 'commit' | 'reveal' | 'closed' | 'settled';

export interface MemberView {
  reviewer: Uint8Array;
  seat: number;
  weight: bigint;
  committed: boolean;
  /** The sealed commitment (it hides the verdict); empty before the commit. */
  commitment: Uint8Array;
  revealed: boolean;
  /** The verdict, only once revealed; null before. */
  approve: boolean | null;
}

export interface CommitteeView {
  round: ReviewRound;
  /** What the next block (time after `now`, the latest block's) takes: commits, reveals, nothing more (closed: settling at
   * the next end-block), or settled. */
  phase: ReviewPhase;
  quorum: number;
  members: MemberView[];
}

/** The phase of a round as of the latest block time `now`. */
export function phaseAt(r: ReviewRound, now: bigint): ReviewPhase {
  if (r.verdict !== '') return 'settled';
  if (now < r.commitEndNs) return 'commit';
  if (now < r.revealEndNs) return 'reveal';
  return 'closed';
}

const memberView = (m: ReviewMember): MemberView => ({
  reviewer: m.reviewer,
  seat: m.seat,
  weight: m.weight,
  committed: m.commitment.length > 0,
  commitment: m.commitment,
  revealed: m.revealed,
  approve: m.revealed ? m.approve : null,
});

/** The committee of a task's round as of `now` (block time), or undefined when none was drawn for it (yet). */
export async function committeeOf(state: StateReader, params: AppParams, taskId: bigint, round: number, now: bigint): Promise<CommitteeView | undefined> {
  const r = await getRound(state, taskId, round);
  if (r === undefined) return undefined;
  const members = await membersOf(state, taskId, round);
  return { round: r, phase: phaseAt(r, now), quorum: quorum(r.size, params.tasks.min_reveal_bps), members: members.map(memberView) };
}

export interface ReviewDuty {
  task: Task;
  round: number;
  /** The phase's bounds: commit opens at the draw, reveal at the commit end. */
  opensNs: bigint;
  endsNs: bigint;
}

export interface Duties {
  /** Assigned to the agent, waiting for its accept_task (until the accept window or the deadline closes). */
  accept: Task[];
  /** Accepted by the agent, result due by the deadline. */
  execute: Task[];
  /** Committees it sits on whose commit phase is open and that it has not committed to. */
  commit: ReviewDuty[];
  /** Committees whose reveal phase is open where it committed and has not revealed. */
  reveal: ReviewDuty[];
}

/**
 * What `address` has to do (the worker's "what is my duty"), as of the latest block's time `now`: only what a tx can
 * still do in a later block, whose time is after `now`. So every window must end after `now` (a window ending exactly
 * at `now` took its last tx in the latest block), and a reveal is listed once the commit phase has ended.
 */
export async function dutiesOf(state: StateReader, address: Uint8Array, now: bigint): Promise<Duties> {
  const out: Duties = { accept: [], execute: [], commit: [], reveal: [] };
  for (const id of await idsByAssignee(state, address)) {
    const t = await getTask(state, id);
    if (t === undefined || now >= t.deadlineNs) continue;
    if (t.status === 'assigned' && now < t.acceptByNs) out.accept.push(t);
    else if (t.status === 'accepted') out.execute.push(t);
  }
  for (const { taskId, round } of await dutyEntries(state, address)) {
    const [t, r] = await Promise.all([getTask(state, taskId), getRound(state, taskId, round)]);
    if (t === undefined || r === undefined || r.verdict !== '') continue;
    const m = await getMember(state, taskId, round, address);
    if (m === undefined || m.revealed) continue;
    const phase = phaseAt(r, now);
    if (phase === 'commit' && m.commitment.length === 0) out.commit.push({ task: t, round, opensNs: r.drawnNs, endsNs: r.commitEndNs });
    else if (phase === 'reveal' && m.commitment.length > 0) out.reveal.push({ task: t, round, opensNs: r.commitEndNs, endsNs: r.revealEndNs });
  }
  return out;
}
