// Fixtures for the task tests: a chain with short task parameters, agents registered (and verified through real
// benchmark tasks), and helpers that play a committee's commit-reveal by the rules.
import type { KeyPair } from '../../src/crypto/keys.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import type { Capabilities, Event, Msg, Payload, TaskRequirements, TxResult } from '../../src/codec/types.ts';
import type { AppParams } from '../../src/state/params.ts';
import { getAgent } from '../../src/state/agents.ts';
import { reviewCommitment } from '../../src/tasks/commitment.ts';
import { committeeOf, getTask, type CommitteeView } from '../../src/tasks/queries.ts';
import { lastTaskId } from '../../src/tasks/store.ts';
import { ACC, CAPS, Driver, SECOND, addr, agentsFixture, key, type AgentsFixture } from './agents.ts';

export { ACC, CAPS, Driver, SECOND, addr, key };

/** Short task parameters: seconds-long phases, committees of 3-5, small amounts. */
export function shortTaskParams(p: AppParams): void {
  Object.assign(p.tasks, {
    min_bounty: 1n * ACC,
    max_deadline_seconds: 3_600n,
    max_inline_bytes: 256n,
    protocol_fee_bps: 1_000n,
    accept_seconds: 5n,
    max_assignments: 3n,
    committee_min: 3n,
    committee_max: 5n,
    committee_bounty_step: 100n * ACC,
    beacon_delay_blocks: 2n,
    commit_seconds: 5n,
    reveal_seconds: 5n,
    min_reveal_bps: 5_000n,
    appeal_seconds: 10n,
    appeal_deposit: 50n * ACC,
    appeal_committee_size: 3n,
    benchmark_seconds: 60n,
    compute_pot_bps: 10n,
    review_pot_bps: 10n,
    marketplace_subsidy_bps: 1_000n,
  });
}

export function tasksFixture(opts: { validators?: number; users?: number; params?: (p: AppParams) => void } = {}): AgentsFixture {
  return agentsFixture({
    validators: opts.validators ?? 3,
    users: opts.users ?? 8,
    params: (p) => {
      shortTaskParams(p);
      opts.params?.(p);
    },
  });
}

export const events = (evs: readonly Event[], type: string): Array<Record<string, string>> =>
  evs.filter((e) => e.type === type).map((e) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value])));

export const inline = (text: string): Payload => ({ hash: new Uint8Array(0), uri: '', inline: new TextEncoder().encode(text) });
export const NO_REQUIREMENTS: TaskRequirements = { minCpuCores: 0, minGpuMemoryMb: 0n, minLlmTokensPerSecond: 0n, models: [], skills: [] };

export const submitMsg = (d: Driver, over: Partial<{ bounty: bigint; deadline: bigint; requirements: TaskRequirements; input: Payload }> = {}): Msg => ({
  type: 'submit_task',
  value: {
    requirements: over.requirements ?? NO_REQUIREMENTS,
    bounty: over.bounty ?? 10n * ACC,
    deadline: over.deadline ?? d.time + 600n * SECOND,
    input: over.input ?? inline('summarize: hello'),
  },
});
export const ref = (type: 'cancel_task' | 'accept_task' | 'appeal', taskId: bigint): Msg => ({ type, value: { taskId } }) as Msg;
export const resultMsg = (taskId: bigint, text = 'the answer'): Msg => ({ type: 'submit_result', value: { taskId, output: inline(text) } });
export const saltOf = (k: KeyPair, taskId: bigint, round: number): Uint8Array => sha256(k.publicKey, new Uint8Array([Number(taskId & 0xffn), round]));
export const commitMsg = (k: KeyPair, taskId: bigint, round: number, approve: boolean): Msg => ({
  type: 'commit_review',
  value: { taskId, round, commitment: reviewCommitment({ taskId, round, approve, salt: saltOf(k, taskId, round), reviewer: addr(k) }) },
});
export const revealMsg = (k: KeyPair, taskId: bigint, round: number, approve: boolean): Msg => ({
  type: 'reveal_review',
  value: { taskId, round, approve, salt: saltOf(k, taskId, round) },
});

/** Signs txs one after another (the driver's nonce count is per signer, so never concurrently). */
export async function signAll(d: Driver, list: Array<[KeyPair, Msg]>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const [k, m] of list) out.push(await d.tx(k, m));
  return out;
}

/** Every key the fixture knows (validators and users), by address. */
export function keyring(d: Driver): Map<string, KeyPair> {
  return new Map([...d.fx.validators, ...d.fx.users].map((k) => [toHex(addr(k)), k]));
}

export async function expectOk(p: Promise<{ result: TxResult }>, what: string): Promise<TxResult> {
  const { result } = await p;
  if (result.code !== 0) throw new Error(`${what}: ${result.log}`);
  return result;
}

/** Registers `keys` as agents (all in one block) with `caps`. */
export async function registerAgents(d: Driver, keys: KeyPair[], caps: Capabilities = CAPS): Promise<void> {
  const out = await d.block(await signAll(d, keys.map((k) => [k, { type: 'register_agent', value: { capabilities: caps, attestation: d.attest(k), bond: d.params.agents.bond } }])));
  out.txResults.forEach((r, i) => {
    if (r.code !== 0) throw new Error(`register ${i}: ${r.log}`);
  });
}

/** Genesis validators hold no liquid balance: give each some for gas and deposits. */
export async function fundValidators(d: Driver, amount = 1_000n * ACC): Promise<void> {
  const from = d.fx.users[d.fx.users.length - 1];
  await d.block(await signAll(d, d.fx.validators.map((v) => [from, { type: 'send', value: { to: addr(v), amount } }])));
}

/** Blocks (1 s apart) until `done` holds, at most `max`. */
export async function until(d: Driver, done: () => Promise<boolean>, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await done()) return;
    await d.block();
  }
  throw new Error('condition not reached');
}

export async function committee(d: Driver, taskId: bigint, round: number): Promise<CommitteeView> {
  const c = await committeeOf(d.app.store, d.params, taskId, round, d.time);
  if (c === undefined) throw new Error(`task ${taskId} has no round ${round} committee`);
  return c;
}

/** Waits for the round's draw and returns its committee. */
export async function drawn(d: Driver, taskId: bigint, round: number): Promise<CommitteeView> {
  await until(d, async () => (await committeeOf(d.app.store, d.params, taskId, round, d.time)) !== undefined);
  return committee(d, taskId, round);
}

type Vote = boolean | 'silent' | 'commit';

/**
 * Plays one round of several tasks at once (their committees must be drawn in the same block): members vote as
 * `vote(reviewer, seat, taskId)` says (true approve, false reject, 'silent' nothing, 'commit' commits approve and never
 * reveals); every commit goes in one block, every reveal in the first block after the commit phase.
 */
export async function playRounds(d: Driver, taskIds: bigint[], round: number, vote: (reviewer: string, seat: number, taskId: bigint) => Vote): Promise<CommitteeView[]> {
  const views: CommitteeView[] = [];
  for (const id of taskIds) views.push(await drawn(d, id, round));
  const keys = keyring(d);
  const plan = views.flatMap((c, i) => c.members.map((m) => ({ id: taskIds[i], k: keys.get(toHex(m.reviewer))!, v: vote(toHex(m.reviewer), m.seat, taskIds[i]) })));
  const commits = plan.filter((x) => x.v !== 'silent');
  if (commits.length > 0) {
    const out = await d.block(await signAll(d, commits.map((x) => [x.k, commitMsg(x.k, x.id, round, x.v === 'commit' ? true : (x.v as boolean))])));
    out.txResults.forEach((r) => {
      if (r.code !== 0) throw new Error(`commit: ${r.log}`);
    });
  }
  const reveals = plan.filter((x) => typeof x.v === 'boolean');
  const revealAt = views.reduce((t, c) => (c.round.commitEndNs > t ? c.round.commitEndNs : t), 0n) + SECOND;
  if (d.time < revealAt) await d.block([], { time: revealAt });
  if (reveals.length > 0) {
    const out = await d.block(await signAll(d, reveals.map((x) => [x.k, revealMsg(x.k, x.id, round, x.v as boolean)])));
    out.txResults.forEach((r) => {
      if (r.code !== 0) throw new Error(`reveal: ${r.log}`);
    });
  }
  return views;
}

export async function playRound(d: Driver, taskId: bigint, round: number, vote: (reviewer: string, seat: number) => Vote): Promise<CommitteeView> {
  return (await playRounds(d, [taskId], round, vote))[0];
}

/** Runs blocks past the round's reveal end (settlement) and, for round 0, past the appeal window (finalization). */
export async function toFinal(d: Driver, taskId: bigint): Promise<void> {
  await until(d, async () => ['finalized', 'expired', 'cancelled'].includes((await getTask(d.app.store, taskId))!.status), 120);
}

/** Verifies the capabilities of `keys` through real benchmark tasks approved by everyone else. */
export async function verifyAgents(d: Driver, keys: KeyPair[]): Promise<bigint[]> {
  const first = (await lastTaskId(d.app.store)) + 1n;
  const ids = keys.map((_, i) => first + BigInt(i));
  const requested = await d.block(await signAll(d, keys.map((k) => [k, { type: 'request_benchmark', value: {} }])));
  const results = await d.block(await signAll(d, keys.map((k, i) => [k, resultMsg(ids[i], 'benchmark answer')])));
  for (const r of [...requested.txResults, ...results.txResults]) if (r.code !== 0) throw new Error(`benchmark: ${r.log}`);
  await playRounds(d, ids, 0, () => true);
  for (const id of ids) await toFinal(d, id);
  for (const k of keys) if (!(await getAgent(d.app.store, addr(k)))!.capabilitiesVerified) throw new Error(`${toHex(addr(k))} not verified`);
  return ids;
}
