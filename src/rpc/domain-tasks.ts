// Domain methods of issue 7: `task`, `tasks`, `committee`, `reputation`, `beacon`, and `duties` (what an agent has
// still to do: the agent worker's one query per block). Same encodings as domain.ts: int64 and amounts as decimal
// strings, bytes as upper-case hex (payload contents base64), times RFC 3339; a time or address not set is null.
import type { App } from '../state/app.ts';
import type { Payload, ReviewMember, ReviewRound, Task, TaskRequirements, TaskStatus } from '../codec/types.ts';
import { TASK_STATUSES } from '../codec/types.ts';
import { toBase64, toHex } from '../crypto/bytes.ts';
import { formatTime } from '../codec/time.ts';
import { currentBeacon, BEACON_HISTORY } from '../state/beacon.ts';
import { getEscrow, getRound, getTask, membersOf } from '../tasks/store.ts';
import { dutiesOf, listTasks, phaseAt, type ReviewDuty } from '../tasks/queries.ts';
import { quorum } from '../tasks/tasks.ts';
import { reputationView, type ReputationView } from '../reputation/view.ts';
import { factorDecimal, addressFilter, addressParam, defineListMethod, defineRecordMethod, domainMethods, idParam, stableRead, wordFilter, type ListMethodDef, type RecordMethodDef, type StateView } from './domain.ts';
import { govDomainMethods } from './domain-gov.ts';
import type { RpcContext } from './context.ts';
import type { MethodTable } from './types.ts';
import { RpcError, type Method } from './types.ts';

const time = (ns: bigint): string | null => (ns === 0n ? null : formatTime(ns));
const hexOrNull = (b: Uint8Array): string | null => (b.length === 0 ? null : toHex(b));

function payloadJSON(p: Payload): { hash: string | null; uri: string; inline: string } {
  return { hash: hexOrNull(p.hash), uri: p.uri, inline: toBase64(p.inline) };
}

function requirementsJSON(r: TaskRequirements): Record<string, unknown> {
  return {
    min_cpu_cores: r.minCpuCores,
    min_gpu_memory_mb: r.minGpuMemoryMb.toString(),
    min_llm_tokens_per_second: r.minLlmTokensPerSecond.toString(),
    models: r.models,
    skills: r.skills,
  };
}

export interface TaskRecord {
  task: Task;
  /** uacc the task holds now (bounty and any appeal deposit). */
  escrowed: bigint;
}

export function taskJSON({ task: t, escrowed }: TaskRecord): Record<string, unknown> {
  return {
    id: t.id.toString(),
    kind: t.kind,
    status: t.status,
    submitter: toHex(t.submitter),
    requirements: requirementsJSON(t.requirements),
    bounty: t.bounty.toString(),
    escrowed: escrowed.toString(),
    deadline: formatTime(t.deadlineNs),
    input: payloadJSON(t.input),
    submitted_at: formatTime(t.submittedNs),
    submitted_height: t.submittedHeight.toString(),
    assignee: hexOrNull(t.assignee),
    tried: t.tried.map(toHex),
    accept_by: time(t.acceptByNs),
    accepted_at: time(t.acceptedNs),
    result: t.resultHeight === 0n ? null : { output: payloadJSON(t.output), submitted_at: formatTime(t.resultNs), height: t.resultHeight.toString() },
    round: t.round,
    draw_height: t.drawHeight === 0n ? null : t.drawHeight.toString(),
    next_timer: time(t.timerNs),
    verdict: t.verdict === '' ? null : t.verdict,
    verdict_at: time(t.verdictNs),
    appellant: hexOrNull(t.appellant),
    appeal_verdict: t.appealVerdict === '' ? null : t.appealVerdict,
    final_verdict: t.finalVerdict === '' ? null : t.finalVerdict,
    closed_at: time(t.closedNs),
    close_reason: t.closeReason === '' ? null : t.closeReason,
    executor_paid: t.executorPaid.toString(),
    submitter_refund: t.submitterRefund.toString(),
    reviewers_paid: t.reviewersPaid.toString(),
  };
}

async function withEscrow(view: StateView, task: Task): Promise<TaskRecord> {
  const e = await getEscrow(view.state, task.id);
  return { task, escrowed: e.bounty + e.deposit };
}

async function readTask(view: StateView, id: bigint): Promise<TaskRecord | undefined> {
  const task = await getTask(view.state, id);
  return task === undefined ? undefined : withEscrow(view, task);
}

export const taskMethod: RecordMethodDef<bigint, TaskRecord> = {
  name: 'task',
  noun: 'task',
  key: idParam('id'),
  read: readTask,
  encode: taskJSON,
};

/** `tasks`: newest first, by the tasks module's indexes (listTasks): no request reads more than its page of records. */
export const tasksMethod: ListMethodDef<TaskRecord> = {
  name: 'tasks',
  items: 'tasks',
  filters: [wordFilter('status', 'reviewing', TASK_STATUSES), addressFilter('submitter'), addressFilter('assignee')],
  async list(view, filters, page) {
    const filter = { status: filters.status as TaskStatus | undefined, submitter: filters.submitter as Uint8Array | undefined, assignee: filters.assignee as Uint8Array | undefined };
    const { total, tasks } = await listTasks(view.state, filter, { offset: page.offset, limit: page.perPage });
    return { items: await Promise.all(tasks.map((task) => withEscrow(view, task))), total };
  },
  encode: taskJSON,
};

function memberJSON(m: ReviewMember): Record<string, unknown> {
  return {
    reviewer: toHex(m.reviewer),
    seat: m.seat,
    weight: m.weight.toString(),
    committed: m.commitment.length > 0,
    committed_at: time(m.committedNs),
    revealed: m.revealed,
    // A verdict is public once revealed (the reveal tx shows it anyway), never before.
    verdict: m.revealed ? (m.approve ? 'approve' : 'reject') : null,
    revealed_at: time(m.revealedNs),
  };
}

function roundJSON(r: ReviewRound, members: ReviewMember[], now: bigint, minRevealBps: bigint): Record<string, unknown> {
  return {
    round: r.round,
    phase: phaseAt(r, now),
    quorum: quorum(r.size, minRevealBps),
    seed_height: r.seedHeight.toString(),
    drawn_height: r.drawnHeight.toString(),
    drawn_at: time(r.drawnNs),
    commit_ends: time(r.commitEndNs),
    reveal_ends: time(r.revealEndNs),
    wanted: r.wanted,
    size: r.size,
    committed: r.committed,
    revealed: r.revealed,
    approvals: r.approvals,
    verdict: r.verdict === '' ? null : r.verdict,
    settled_at: time(r.settledNs),
    members: members.map(memberJSON),
  };
}

interface CommitteeRecord {
  task: Task;
  now: bigint;
  minRevealBps: bigint;
  rounds: Array<{ round: ReviewRound; members: ReviewMember[] }>;
}

export const committeeMethod: RecordMethodDef<bigint, CommitteeRecord> = {
  name: 'committee',
  noun: 'task',
  key: idParam('task_id'),
  async read(view, id) {
    const task = await getTask(view.state, id);
    if (task === undefined) return undefined;
    const rounds: CommitteeRecord['rounds'] = [];
    for (let n = 0; n <= task.round; n++) {
      const round = await getRound(view.state, id, n);
      if (round !== undefined) rounds.push({ round, members: await membersOf(view.state, id, n) });
    }
    return { task, rounds, now: view.head.time, minRevealBps: (await view.app.params()).tasks.min_reveal_bps };
  },
  encode: (r) => ({ task_id: r.task.id.toString(), status: r.task.status, rounds: r.rounds.map((x) => roundJSON(x.round, x.members, r.now, r.minRevealBps)) }),
};

function reputationJSON(v: ReputationView): Record<string, unknown> {
  const endorsement = (e: ReputationView['given']['list'][number]) => ({
    endorser: toHex(e.endorsement.endorser),
    subject: toHex(e.endorsement.subject),
    status: e.status,
    credit: e.credit.toString(),
    credit_given: e.endorsement.credit.toString(),
    created_at: formatTime(e.endorsement.createdNs),
    height: e.endorsement.height.toString(),
  });
  return {
    address: toHex(v.address),
    at: formatTime(v.now),
    is_agent: v.isAgent,
    score_one: '1000000',
    dimensions: Object.fromEntries(Object.entries(v.dimensions).map(([k, x]) => [k, x.toString()])),
    stored: Object.fromEntries(Object.entries(v.stored).map(([k, s]) => [k, { value: s.score.toString(), raw: s.raw.toString(), updated_at: time(s.updatedNs) }])),
    validator_score: v.validatorScore.toString(),
    validator_factor: v.validatorFactor.toString(),
    validator_factor_decimal: factorDecimal(v.validatorFactor),
    endorsements_given: { count: v.given.count, counting: v.given.counting, slots_used: v.given.slotsUsed, slots_max: v.given.slotsMax.toString(), list: v.given.list.map(endorsement) },
    endorsements_received: { count: v.received.count, counting: v.received.counting, list: v.received.list.map(endorsement) },
  };
}

/** Any address has a reputation (zero for one that never earned any), as any address has an account. */
export const reputationMethod: RecordMethodDef<Uint8Array, ReputationView> = {
  name: 'reputation',
  noun: 'reputation of',
  key: addressParam('address'),
  async read(view, address) {
    return reputationView(view.state, await view.app.params(), address, view.head.time);
  },
  encode: reputationJSON,
};

/** `beacon`: the randomness beacon's current mix and the height it stands at. */
export function beaconMethod(app: App): Method {
  return {
    params: [],
    handler: () =>
      stableRead(app, async (view) => {
        const b = await currentBeacon(view.state);
        if (b === undefined) throw RpcError.internal('the beacon has no mix yet');
        return { height: b.height.toString(), mix: toHex(b.mix), history: BEACON_HISTORY.toString() };
      }),
  };
}

/**
 * `duties {address}`: what the agent can still do in a later block (dutiesOf): tasks to accept, tasks to execute,
 * commits and reveals due in open review rounds, each with the end of its window.
 */
export function dutiesMethod(app: App): Method {
  const key = addressParam('address');
  return {
    params: [key.spec],
    async handler(args) {
      const address = key.parse(args.address);
      return stableRead(app, async (view) => {
        const d = await dutiesOf(view.state, address, view.head.time);
        const task = async (t: Task) => taskJSON(await withEscrow(view, t));
        const review = async (r: ReviewDuty) => ({ task: await task(r.task), round: r.round, ends: formatTime(r.endsNs) });
        return {
          height: view.head.height.toString(),
          time: formatTime(view.head.time),
          accept: await Promise.all(d.accept.map(task)),
          execute: await Promise.all(d.execute.map(task)),
          commit: await Promise.all(d.commit.map(review)),
          reveal: await Promise.all(d.reveal.map(review)),
        };
      });
    },
  };
}

/** Every domain method: domain.ts's, issue 7's and governance's (domain-gov.ts). */
export function allDomainMethods(ctx: RpcContext): MethodTable {
  const { app } = ctx;
  return {
    ...domainMethods(ctx),
    ...govDomainMethods(ctx),
    task: defineRecordMethod(app, taskMethod),
    tasks: defineListMethod(app, tasksMethod),
    committee: defineRecordMethod(app, committeeMethod),
    reputation: defineRecordMethod(app, reputationMethod),
    duties: dutiesMethod(app),
    beacon: beaconMethod(app),
  };
}
