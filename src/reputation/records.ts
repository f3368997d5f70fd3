// Stored reputation: per agent, the task, validator and compute dimensions, each {value, updated_ns}. Decay is lazy:
// a read decays the stored value from updated_ns to the time asked; a change decays it to the block time first, then
// adds, and stamps the block time. Social reputation is not stored (see endorsements.ts).
//
// Stored values carry SUB_UNIT_BITS more binary digits than a score (value = score x 2^20): the validator dimension
// changes every block, and truncating the decay of each one-second step to a whole score unit would cost up to one unit
// per block (1% of a 100-unit gain, all of a 1-unit gain). With 20 extra bits that bias is below 2^-20 units per step;
// reads truncate toward zero to whole score units.
import { AppError } from '../errors.ts';
import { ReputationRecordCodec, type ReputationRecord, type ReputationScore } from '../codec/types.ts';
import { Namespace, Repo } from '../state/repo.ts';
import type { AppParams } from '../state/params.ts';
import type { StateReader } from '../state/store.ts';
import type { StateOverlay } from '../state/overlay.ts';
import { decay } from './decay.ts';

export const STORED_DIMENSIONS = ['task', 'validator', 'compute'] as const;
export type StoredDimension = (typeof STORED_DIMENSIONS)[number];

export const reputationRecords = new Repo<Uint8Array, ReputationRecord>(Namespace.REPUTATION, (a) => a, ReputationRecordCodec);

const NS_PER_SECOND = 1_000_000_000n;
/** Extra binary digits of a stored value below one score unit. */
export const SUB_UNIT_BITS = 20n;
/** Stored values are int64: a value saturates at the bound (about +-8.8e12 score units, 8.8e6 x SCORE_ONE) instead
 * of failing the block that would overflow it. */
export const STORED_MAX = (1n << 63n) - 1n;
export const STORED_MIN = -STORED_MAX;

const ZERO: ReputationScore = { value: 0n, updatedNs: 0n };
export const EMPTY_RECORD: ReputationRecord = { task: ZERO, validator: ZERO, compute: ZERO, epochScore: 0n, epochHeight: 0n };

export function halfLifeNs(params: AppParams): bigint {
  const h = params.reputation.half_life_seconds;
  if (h <= 0n) throw new AppError('INTERNAL', `reputation.half_life_seconds must be positive, got ${h}; fix the params`);
  return h * NS_PER_SECOND;
}

/** A stored value (2^-20 score units) decayed from its stamp to `now` (an earlier `now` reads the stored value). */
export function decayedStored(s: ReputationScore, params: AppParams, now: bigint): bigint {
  return decay(s.value, now - s.updatedNs, halfLifeNs(params));
}

/** Stored units to score units, toward zero (symmetric: -x reads as minus what x reads as). */
export function toScore(stored: bigint): bigint {
  return stored < 0n ? -(-stored >> SUB_UNIT_BITS) : stored >> SUB_UNIT_BITS;
}

/** A stored dimension decayed to `now`, in score units (SCORE_ONE = one unit), rounded toward zero. */
export function decayedScore(s: ReputationScore, params: AppParams, now: bigint): bigint {
  return toScore(decayedStored(s, params, now));
}

export async function storedRecord(state: StateReader, address: Uint8Array): Promise<ReputationRecord> {
  return (await reputationRecords.get(state, address)) ?? EMPTY_RECORD;
}

/** The stored dimensions decayed to `now`. */
export async function storedDimensions(state: StateReader, params: AppParams, address: Uint8Array, now: bigint): Promise<Record<StoredDimension, bigint>> {
  const r = await storedRecord(state, address);
  return { task: decayedScore(r.task, params, now), validator: decayedScore(r.validator, params, now), compute: decayedScore(r.compute, params, now) };
}

function saturate(v: bigint): bigint {
  return v > STORED_MAX ? STORED_MAX : v < STORED_MIN ? STORED_MIN : v;
}

/**
 * Decays one stored dimension to `now`, adds `delta` (score units), stamps `now`; returns the new score (score units,
 * toward zero). A zero delta writes nothing.
 */
export async function adjustStored(
  state: StateOverlay,
  params: AppParams,
  address: Uint8Array,
  dimension: StoredDimension,
  delta: bigint,
  now: bigint,
): Promise<bigint> {
  if (!(STORED_DIMENSIONS as readonly string[]).includes(dimension)) {
    throw new AppError('INTERNAL', `reputation dimension ${JSON.stringify(dimension)} cannot be adjusted: only ${STORED_DIMENSIONS.join(', ')} are stored (social comes from endorsements)`);
  }
  const record = await storedRecord(state, address);
  const current = record[dimension];
  if (delta === 0n) return decayedScore(current, params, now);
  const value = saturate(decayedStored(current, params, now) + (delta << SUB_UNIT_BITS));
  // Block time only moves forward; the guard keeps a stamp from going back if a caller passes an older time.
  const updatedNs = now > current.updatedNs ? now : current.updatedNs;
  reputationRecords.set(state, address, { ...record, [dimension]: { value, updatedNs } });
  return toScore(value);
}
