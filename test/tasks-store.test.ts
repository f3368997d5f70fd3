// The task state layout (src/tasks/store.ts): putTask keeps every queue and index in step with the record under
// random sequences of updates (checked against an oracle recomputed from the records), the timer queues read in due
// order up to a bound, and the tasks.* parameter ranges (src/tasks/params.ts) are enforced by validateAppParams.
import t from 'tap';
import { compareBytes, toHex } from '../src/crypto/bytes.ts';
import { TASK_STATUSES, type Task, type TaskStatus } from '../src/codec/types.ts';
import { StateOverlay } from '../src/state/overlay.ts';
import type { StateReader } from '../src/state/store.ts';
import { defaultAppParams } from '../src/state/params.ts';
import { validateAppParams } from '../src/state/genesis.ts';
import { taskParamProblems } from '../src/tasks/params.ts';
import { allTaskIds, dueDraws, dueTimers, getTask, idsByAssignee, idsByStatus, idsBySubmitter, putTask } from '../src/tasks/store.ts';
import { listTasks } from '../src/tasks/queries.ts';
import { Rng } from './helpers/rng.ts';

/** An empty committed state: the overlay above it holds everything the test writes. */
const EMPTY: StateReader = { get: async () => undefined, getMany: async (keys) => keys.map(() => undefined), entries: async () => [] };

function blank(id: bigint, submitter: Uint8Array): Task {
  const none = new Uint8Array(0);
  return {
    id, kind: 'task', status: 'assigned', submitter,
    requirements: { minCpuCores: 0, minGpuMemoryMb: 0n, minLlmTokensPerSecond: 0n, models: [], skills: [] },
    bounty: 1n, deadlineNs: 1n, input: { hash: none, uri: '', inline: none }, submittedNs: 0n, submittedHeight: 0n,
    assignee: none, tried: [], acceptByNs: 0n, acceptedNs: 0n, output: { hash: none, uri: '', inline: none }, resultNs: 0n,
    resultHeight: 0n, round: 0, drawHeight: 0n, timerNs: 0n, verdict: '', verdictNs: 0n, appellant: none, appealVerdict: '',
    finalVerdict: '', closedNs: 0n, closeReason: '', executorPaid: 0n, submitterRefund: 0n, reviewersPaid: 0n,
  };
}

t.test('putTask keeps the queues and indexes equal to what the records say', async (t) => {
  const rng = new Rng(5);
  const state = new StateOverlay(EMPTY);
  const addrs = Array.from({ length: 5 }, (_, i) => new Uint8Array(20).fill(i + 1));
  const tasks = new Map<bigint, Task>();
  for (let step = 0; step < 2_000; step++) {
    const id = BigInt(rng.int(1, 40));
    const prev = tasks.get(id);
    const base = prev ?? blank(id, rng.pick(addrs));
    const next: Task = {
      ...base,
      status: rng.pick(TASK_STATUSES) as TaskStatus,
      assignee: rng.chance(0.2) ? new Uint8Array(0) : rng.pick(addrs),
      timerNs: rng.chance(0.3) ? 0n : BigInt(rng.int(1, 50)),
      drawHeight: rng.chance(0.5) ? 0n : BigInt(rng.int(1, 20)),
    };
    putTask(state, next, prev);
    tasks.set(id, next);
  }
  const sorted = [...tasks.keys()].sort((a, b) => (a < b ? -1 : 1));
  t.same(await allTaskIds(state), sorted, 'every task once in the status index');
  for (const status of TASK_STATUSES) {
    t.same(await idsByStatus(state, status), sorted.filter((id) => tasks.get(id)!.status === status), `status ${status}`);
  }
  for (const a of addrs) {
    t.same(await idsBySubmitter(state, a), sorted.filter((id) => compareBytes(tasks.get(id)!.submitter, a) === 0), `submitter ${toHex(a).slice(0, 4)}`);
    t.same(await idsByAssignee(state, a), sorted.filter((id) => compareBytes(tasks.get(id)!.assignee, a) === 0), `assignee ${toHex(a).slice(0, 4)}`);
  }
  const timers = [...tasks.values()].filter((x) => x.timerNs !== 0n).map((x) => ({ at: x.timerNs, id: x.id }));
  timers.sort((a, b) => (a.at !== b.at ? (a.at < b.at ? -1 : 1) : a.id < b.id ? -1 : 1));
  t.same(await dueTimers(state, 1_000n, 10_000), timers, 'one timer per task, in (time, id) order');
  t.same(await dueTimers(state, 25n, 10_000), timers.filter((x) => x.at <= 25n), 'only those due');
  t.same(await dueTimers(state, 1_000n, 7), timers.slice(0, 7), 'at most the limit, earliest first');
  const draws = [...tasks.values()].filter((x) => x.drawHeight !== 0n).map((x) => ({ at: x.drawHeight, id: x.id }));
  draws.sort((a, b) => (a.at !== b.at ? (a.at < b.at ? -1 : 1) : a.id < b.id ? -1 : 1));
  t.same(await dueDraws(state, 1_000n, 10_000), draws, 'one draw per task, in (height, id) order');
  for (const id of sorted) t.same(await getTask(state, id), tasks.get(id), `record ${id} round-trips`);
  // listTasks intersects the indexes and pages.
  const a0 = addrs[0];
  const want = sorted.filter((id) => tasks.get(id)!.status === 'reviewing' && compareBytes(tasks.get(id)!.submitter, a0) === 0).reverse();
  const got = await listTasks(state, { status: 'reviewing', submitter: a0 }, { offset: 0, limit: 100 });
  t.same(got.tasks.map((x) => x.id), want, 'newest first');
  t.equal(got.total, want.length);
  t.rejects(listTasks(state, { status: 'open' as TaskStatus }, { offset: 0, limit: 1 }), { code: 'INVALID_FIELD' });
});

t.test('tasks.* parameter ranges are part of validateAppParams', async (t) => {
  const p = defaultAppParams();
  t.same(taskParamProblems(p.tasks, p.supply.total_supply), [], 'the defaults are fine');
  const bad: Array<[Partial<typeof p.tasks>, string]> = [
    [{ beacon_delay_blocks: 0n }, 'beacon_delay_blocks'],
    [{ committee_max: 5n, committee_min: 6n }, 'committee_max'],
    [{ committee_bounty_step: 0n }, 'committee_bounty_step'],
    [{ protocol_fee_bps: 10_001n }, 'protocol_fee_bps'],
    [{ min_reveal_bps: 10_001n }, 'min_reveal_bps'],
    [{ max_assignments: 0n }, 'max_assignments'],
    [{ max_inline_bytes: 16_385n }, 'max_inline_bytes'],
    [{ commit_seconds: 0n }, 'commit_seconds'],
    [{ appeal_committee_size: 0n }, 'appeal_committee_size'],
  ];
  for (const [over, field] of bad) {
    const q = defaultAppParams();
    Object.assign(q.tasks, over);
    t.throws(() => validateAppParams(q, 'params'), { code: 'BAD_GENESIS', message: new RegExp(`params\\.tasks\\.${field}`) }, field);
  }
});
