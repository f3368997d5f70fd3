// Task state layout. Three namespaces (src/state/repo.ts), each split by a sub-prefix byte:
//
//   TASK        0x00                          -> TaskCounter (the next id)
//               0x01 id                       -> Task
//               0x02 id                       -> TaskEscrow (bounty + appeal deposit held; gone once paid out)
//   TASK_QUEUE  0x01 time_ns id               -> timer due at a block time (accept window, deadline, reveal end, appeal end)
//               0x02 height id                -> committee draw due at a height's end-block
//               0x10 status id                -> index by status (one byte, STATUS_CODES)
//               0x11 submitter id             -> index by submitter
//               0x12 assignee id              -> index by current assignee
//               0x13 reviewer id round        -> a review duty: a member that has not revealed in an open round
//               0x14 agent                    -> the id of the agent's benchmark under way
//   REVIEW      id round 0x00                 -> ReviewRound
//               id round 0x01 reviewer        -> ReviewMember
// Ids, times and heights are 8-byte big-endian, so every queue and index reads in numeric order. Queue and index
// values are a single byte (the key says everything). Every write of a task goes through putTask, which keeps the
// queues and indexes in step with the record, so no index can disagree with the task it names.
import { AppError } from '../errors.ts';
import { concat, equalBytes, readU64be } from '../crypto/bytes.ts';
import { ADDRESS_LENGTH } from '../crypto/keys.ts';
import {
  ReviewMemberCodec,
  ReviewRoundCodec,
  TaskCodec,
  TaskCounterCodec,
  TaskEscrowCodec,
  TASK_STATUSES,
  type ReviewMember,
  type ReviewRound,
  type Task,
  type TaskEscrow,
  type TaskStatus,
} from '../codec/types.ts';
import { Namespace, Repo, u64Key } from '../state/repo.ts';
import type { StateReader } from '../state/store.ts';
import type { StateOverlay } from '../state/overlay.ts';

const MARK = Uint8Array.of(1);

const ns = (namespace: number, ...sub: number[]): Uint8Array => Uint8Array.of(namespace, ...sub);

const counter = new Repo<null, { nextId: bigint }>(ns(Namespace.TASK, 0x00), () => new Uint8Array(0), TaskCounterCodec);
export const taskTable = new Repo<bigint, Task>(ns(Namespace.TASK, 0x01), u64Key, TaskCodec);
export const escrowTable = new Repo<bigint, TaskEscrow>(ns(Namespace.TASK, 0x02), u64Key, TaskEscrowCodec);

const TIME_QUEUE = ns(Namespace.TASK_QUEUE, 0x01);
const HEIGHT_QUEUE = ns(Namespace.TASK_QUEUE, 0x02);
const BY_STATUS = ns(Namespace.TASK_QUEUE, 0x10);
const BY_SUBMITTER = ns(Namespace.TASK_QUEUE, 0x11);
const BY_ASSIGNEE = ns(Namespace.TASK_QUEUE, 0x12);
const DUTIES = ns(Namespace.TASK_QUEUE, 0x13);
const BENCHMARKS = ns(Namespace.TASK_QUEUE, 0x14);

/** One byte per status in index keys (append only: stored keys carry these numbers). */
export const STATUS_CODES: Record<TaskStatus, number> = Object.fromEntries(TASK_STATUSES.map((s, i) => [s, i + 1])) as Record<TaskStatus, number>;

const roundKey = (taskId: bigint, round: number): Uint8Array => concat(u64Key(taskId), Uint8Array.of(round));
const roundTable = new Repo<{ taskId: bigint; round: number }, ReviewRound>(ns(Namespace.REVIEW), (k) => concat(roundKey(k.taskId, k.round), Uint8Array.of(0x00)), ReviewRoundCodec);
const memberTable = new Repo<{ taskId: bigint; round: number; reviewer: Uint8Array }, ReviewMember>(
  ns(Namespace.REVIEW),
  (k) => concat(roundKey(k.taskId, k.round), Uint8Array.of(0x01), k.reviewer),
  ReviewMemberCodec,
);

// ---- tasks ----

export function getTask(state: StateReader, id: bigint): Promise<Task | undefined> {
  return taskTable.get(state, id);
}

/** Takes the next task id (ids start at 1). */
export async function takeTaskId(state: StateOverlay): Promise<bigint> {
  const c = (await counter.get(state, null)) ?? { nextId: 1n };
  counter.set(state, null, { nextId: c.nextId + 1n });
  return c.nextId;
}

/** The highest id given so far (0 before the first task). */
export async function lastTaskId(state: StateReader): Promise<bigint> {
  return ((await counter.get(state, null))?.nextId ?? 1n) - 1n;
}

const timeKey = (timeNs: bigint, id: bigint): Uint8Array => concat(TIME_QUEUE, u64Key(timeNs), u64Key(id));
const heightKey = (height: bigint, id: bigint): Uint8Array => concat(HEIGHT_QUEUE, u64Key(height), u64Key(id));
const statusKey = (status: TaskStatus, id: bigint): Uint8Array => concat(BY_STATUS, Uint8Array.of(STATUS_CODES[status]), u64Key(id));
const addressKey = (prefix: Uint8Array, address: Uint8Array, id: bigint): Uint8Array => concat(prefix, address, u64Key(id));

/**
 * Writes a task and brings its queue and index entries in line with it: `prev` is the record as stored before (none
 * for a new task). The only way tasks are written.
 */
export function putTask(state: StateOverlay, next: Task, prev?: Task): void {
  taskTable.set(state, next.id, next);
  const id = next.id;
  if (prev === undefined) state.set(addressKey(BY_SUBMITTER, next.submitter, id), MARK);
  if (prev === undefined || prev.status !== next.status) {
    if (prev !== undefined) state.delete(statusKey(prev.status, id));
    state.set(statusKey(next.status, id), MARK);
  }
  if (prev === undefined || !equalBytes(prev.assignee, next.assignee)) {
    if (prev !== undefined && prev.assignee.length > 0) state.delete(addressKey(BY_ASSIGNEE, prev.assignee, id));
    if (next.assignee.length > 0) state.set(addressKey(BY_ASSIGNEE, next.assignee, id), MARK);
  }
  if (prev === undefined || prev.timerNs !== next.timerNs) {
    if (prev !== undefined && prev.timerNs !== 0n) state.delete(timeKey(prev.timerNs, id));
    if (next.timerNs !== 0n) state.set(timeKey(next.timerNs, id), MARK);
  }
  if (prev === undefined || prev.drawHeight !== next.drawHeight) {
    if (prev !== undefined && prev.drawHeight !== 0n) state.delete(heightKey(prev.drawHeight, id));
    if (next.drawHeight !== 0n) state.set(heightKey(next.drawHeight, id), MARK);
  }
}

/** Due entries of a queue: (key time or height, task id) in order, those at or below `upTo`, at most `limit`. */
async function due(state: StateReader, prefix: Uint8Array, upTo: bigint, limit: number): Promise<Array<{ at: bigint; id: bigint }>> {
  const out: Array<{ at: bigint; id: bigint }> = [];
  for (const [key] of await state.entries(prefix)) {
    const at = readU64be(key, prefix.length);
    if (at > upTo || out.length >= limit) break; // key order is due order
    out.push({ at, id: readU64be(key, prefix.length + 8) });
  }
  return out;
}

export const dueTimers = (state: StateReader, now: bigint, limit: number) => due(state, TIME_QUEUE, now, limit);
export const dueDraws = (state: StateReader, height: bigint, limit: number) => due(state, HEIGHT_QUEUE, height, limit);

/** Task ids under an index prefix, ascending (the id is the key's last 8 bytes). */
async function idsUnder(state: StateReader, prefix: Uint8Array): Promise<bigint[]> {
  return (await state.entries(prefix)).map(([k]) => readU64be(k, k.length - 8));
}

export const idsByStatus = (state: StateReader, status: TaskStatus) => idsUnder(state, concat(BY_STATUS, Uint8Array.of(STATUS_CODES[status])));
export const idsBySubmitter = (state: StateReader, address: Uint8Array) => idsUnder(state, concat(BY_SUBMITTER, address));
export const idsByAssignee = (state: StateReader, address: Uint8Array) => idsUnder(state, concat(BY_ASSIGNEE, address));

/** Every task id, ascending (reads the status index: keys only). */
export async function allTaskIds(state: StateReader): Promise<bigint[]> {
  return (await idsUnder(state, BY_STATUS)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---- escrow ----

export async function getEscrow(state: StateReader, id: bigint): Promise<TaskEscrow> {
  return (await escrowTable.get(state, id)) ?? { bounty: 0n, deposit: 0n };
}

export function putEscrow(state: StateOverlay, id: bigint, e: TaskEscrow): void {
  if (e.bounty === 0n && e.deposit === 0n) escrowTable.delete(state, id);
  else escrowTable.set(state, id, e);
}

/** Everything tasks hold (bounties + appeal deposits): the supply breakdown's `tasks`. O(open escrows). */
export async function escrowTotal(state: StateReader): Promise<bigint> {
  let total = 0n;
  for (const [, e] of await escrowTable.entries(state)) total += e.bounty + e.deposit;
  return total;
}

// ---- review rounds ----

export const getRound = (state: StateReader, taskId: bigint, round: number) => roundTable.get(state, { taskId, round });
export const putRound = (state: StateOverlay, r: ReviewRound) => roundTable.set(state, { taskId: r.taskId, round: r.round }, r);
export const getMember = (state: StateReader, taskId: bigint, round: number, reviewer: Uint8Array) => memberTable.get(state, { taskId, round, reviewer });
export const putMember = (state: StateOverlay, taskId: bigint, round: number, m: ReviewMember) => memberTable.set(state, { taskId, round, reviewer: m.reviewer }, m);

/** A round's members in seat (draw) order. */
export async function membersOf(state: StateReader, taskId: bigint, round: number): Promise<ReviewMember[]> {
  const rows = await memberTable.entries(state, concat(roundKey(taskId, round), Uint8Array.of(0x01)));
  return rows.map(([, m]) => m).sort((a, b) => a.seat - b.seat);
}

// ---- review duties and benchmarks under way ----

const dutyKey = (reviewer: Uint8Array, taskId: bigint, round: number): Uint8Array => concat(DUTIES, reviewer, u64Key(taskId), Uint8Array.of(round));

export function addDuty(state: StateOverlay, reviewer: Uint8Array, taskId: bigint, round: number): void {
  state.set(dutyKey(reviewer, taskId, round), MARK);
}

export function removeDuty(state: StateOverlay, reviewer: Uint8Array, taskId: bigint, round: number): void {
  state.delete(dutyKey(reviewer, taskId, round));
}

/** The (task, round) pairs where `reviewer` sits on an open committee and has not revealed yet. */
export async function dutiesOf(state: StateReader, reviewer: Uint8Array): Promise<Array<{ taskId: bigint; round: number }>> {
  const prefix = concat(DUTIES, reviewer);
  return (await state.entries(prefix)).map(([k]) => ({ taskId: readU64be(k, prefix.length), round: k[prefix.length + 8] }));
}

const benchmarkKey = (agent: Uint8Array): Uint8Array => concat(BENCHMARKS, agent);

export async function benchmarkUnderWay(state: StateReader, agent: Uint8Array): Promise<bigint | undefined> {
  const v = await state.get(benchmarkKey(agent));
  return v === undefined ? undefined : readU64be(v);
}

export function setBenchmarkUnderWay(state: StateOverlay, agent: Uint8Array, id: bigint | undefined): void {
  if (agent.length !== ADDRESS_LENGTH) throw new AppError('INTERNAL', 'a benchmark agent must be an address');
  if (id === undefined) state.delete(benchmarkKey(agent));
  else state.set(benchmarkKey(agent), u64Key(id));
}
