// Reputation: four dimensions per agent (task, validator, compute, social), integer fixed point (SCORE_ONE = one
// unit), each decaying toward zero with reputation.half_life_seconds of block time (decay.ts: exact, rounded toward
// zero, symmetric for penalties).
//
// API CONTRACT (issue 7; the tasks module and staking call these):
//   - task, validator and compute are stored per agent as {value, updated_ns} (records.ts) and decay lazily: a read
//     decays to the time asked, an adjustment decays to the block time first, then adds;
//   - social is never stored: it is the decayed credit of the live, non-circular endorsements the agent holds
//     (endorsements.ts), computed on read.
import type { AppParams } from '../state/params.ts';
import type { StateReader } from '../state/store.ts';
import type { StateOverlay } from '../state/overlay.ts';
import { adjustStored, decayedScore, reputationRecords, storedDimensions } from './records.ts';
import { socialOf } from './endorsements.ts';

export const DIMENSIONS = ['task', 'validator', 'compute', 'social'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Every dimension of an agent decayed to `now` (ns), signed fixed point; 0 for an agent with no record. */
export async function reputationOf(state: StateReader, params: AppParams, address: Uint8Array, now: bigint): Promise<Record<Dimension, bigint>> {
  const stored = await storedDimensions(state, params, address, now);
  return { ...stored, social: await socialOf(state, params, address, now) };
}

/**
 * The stored dimensions only (task, validator, compute) decayed to `now`: one record read. Use it where social is not
 * needed, e.g. to weigh many candidates: social costs a scan of the agent's endorsements and cycle lookups.
 */
export function storedReputationOf(state: StateReader, params: AppParams, address: Uint8Array, now: bigint): Promise<Record<Exclude<Dimension, 'social'>, bigint>> {
  return storedDimensions(state, params, address, now);
}

/**
 * One stored dimension of many agents decayed to `now`, in one read of the store (getMany): how the tasks module
 * weighs every candidate of a draw without a round trip per agent.
 */
export async function storedDimensionOfMany(
  state: StateReader,
  params: AppParams,
  addresses: readonly Uint8Array[],
  dimension: Exclude<Dimension, 'social'>,
  now: bigint,
): Promise<bigint[]> {
  const records = await reputationRecords.getMany(state, addresses);
  return records.map((r) => (r === undefined ? 0n : decayedScore(r[dimension], params, now)));
}

/** Decays one stored dimension (task, validator or compute) to `now`, then adds `delta` (negative for a penalty). */
export async function adjustReputation(
  state: StateOverlay,
  params: AppParams,
  address: Uint8Array,
  dimension: Exclude<Dimension, 'social'>,
  delta: bigint,
  now: bigint,
): Promise<void> {
  await adjustStored(state, params, address, dimension, delta, now);
}
