// Governance records (namespace GOV): the module's own record (the bare namespace key), proposals by id (0x01), votes
// by proposal and voter (0x02), and two timer queues keyed (block time, proposal id): voting ends (0x03), which
// begin-block reads, and executions (0x04), which end-block reads. Proposals are few (each locks 1% of the
// circulating supply), so lists scan the proposals table.
import { GovProposalCodec, GovStateCodec, GovVoteCodec, type GovProposal, type GovState, type GovVote } from '../../codec/types.ts';
import { concat } from '../../crypto/bytes.ts';
import { Namespace, Repo, Singleton, u64Key } from '../repo.ts';
import type { StateReader } from '../store.ts';
import type { StateOverlay } from '../overlay.ts';
import { AppError } from '../../errors.ts';

const table = (sub: number): Uint8Array => new Uint8Array([Namespace.GOV, sub]);
const EMPTY = new Uint8Array(0);

export const govState = new Singleton<GovState>(Namespace.GOV, GovStateCodec);
export const proposals = new Repo<bigint, GovProposal>(table(0x01), u64Key, GovProposalCodec);
export const votes = new Repo<[bigint, Uint8Array], GovVote>(table(0x02), ([id, voter]) => concat(u64Key(id), voter), GovVoteCodec);
const timerQueue = (sub: number) => new Repo<[bigint, bigint], Uint8Array>(table(sub), ([ns, id]) => concat(u64Key(ns), u64Key(id)), { encode: () => EMPTY, decode: (b) => b });
export const Timers = { VOTING_END: timerQueue(0x03), EXECUTION: timerQueue(0x04) } as const;
type TimerQueue = (typeof Timers)[keyof typeof Timers];

export async function getGovState(state: StateReader): Promise<GovState> {
  const s = await govState.get(state);
  if (s === undefined) throw new AppError('STORE_CORRUPT', 'the governance record is missing: the state was not initialised from a genesis');
  return s;
}

export function getProposal(state: StateReader, id: bigint): Promise<GovProposal | undefined> {
  return proposals.get(state, id);
}

/** Every proposal, oldest first. */
export async function allProposals(state: StateReader): Promise<GovProposal[]> {
  return (await proposals.all(state)).map(([, p]) => p);
}

/** The votes cast on a proposal, by voter address order. */
export async function votesOf(state: StateReader, id: bigint): Promise<GovVote[]> {
  return (await votes.entries(state, u64Key(id))).map(([, v]) => v);
}

/** Deposits proposals hold now (counted as `governance` in the supply). */
export async function heldDeposits(state: StateReader): Promise<bigint> {
  let sum = 0n;
  for (const p of await allProposals(state)) if (p.depositStatus === 'held') sum += p.deposit;
  return sum;
}

export function scheduleTimer(state: StateOverlay, queue: TimerQueue, atNs: bigint, id: bigint): void {
  queue.set(state, [atNs, id], EMPTY);
}

/** Proposal ids whose timer in `queue` is due at `now`, in time then id order; their timers are removed. */
export async function takeDueTimers(state: StateOverlay, queue: TimerQueue, now: bigint): Promise<bigint[]> {
  const due: bigint[] = [];
  for (const [key] of await queue.all(state)) {
    const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
    const atNs = view.getBigUint64(0);
    if (atNs > now) break;
    const id = view.getBigUint64(8);
    queue.delete(state, [atNs, id]);
    due.push(id);
  }
  return due;
}
