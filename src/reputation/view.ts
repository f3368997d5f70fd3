// Everything the RPC shows about an agent's reputation, read at one time `now` (the head's block time): each dimension
// decayed, the raw stored records, the validator score and factor, and the endorsements given and received with
// whether each counts and why not.
import type { AppParams } from '../state/params.ts';
import type { StateReader } from '../state/store.ts';
import { getAgent } from '../state/agents.ts';
import { reputationFactor, SCORE_ONE } from './factor.ts';
import { scoreOfDimension } from './module.ts';
import { DIMENSIONS, type Dimension } from './reputation.ts';
import { decayedScore, storedRecord, STORED_DIMENSIONS, SUB_UNIT_BITS, toScore, type StoredDimension } from './records.ts';
import { endorsementsGiven, endorsementsReceived, evaluateEndorsements, type EndorsementState } from './endorsements.ts';

export interface StoredDimensionView {
  /** As stored: 2^-SUB_UNIT_BITS score units, as of updatedNs (0 with no record). */
  raw: bigint;
  /** The stored value in score units (toward zero), before decay. */
  score: bigint;
  updatedNs: bigint;
}

export interface EndorsementListView {
  /** Endorsements stored (stale ones included). */
  count: number;
  /** Those that count now (live, not in a cycle). */
  counting: number;
  list: EndorsementState[];
}

export interface ReputationView {
  address: Uint8Array;
  /** The time everything is decayed to. */
  now: bigint;
  isAgent: boolean;
  /** Every dimension decayed to `now`, score units (SCORE_ONE = one unit), signed. */
  dimensions: Record<Dimension, bigint>;
  stored: Record<StoredDimension, StoredDimensionView>;
  subUnitBits: bigint;
  /** SCORE_ONE + the validator dimension now, at least 0: the score the next epoch boundary would record. */
  validatorScore: bigint;
  /** The reputation factor (FACTOR_ONE-scaled) that score gives. */
  validatorFactor: bigint;
  /** The score recorded at the last epoch boundary (SCORE_ONE before any) and its factor: what the agent's
   * validator's current power was computed with (power = stake x factor); 0 height: no boundary yet. */
  epochScore: bigint;
  epochFactor: bigint;
  epochHeight: bigint;
  given: EndorsementListView & {
    /** Live endorsements against reputation.endorsement_max_per_endorser. */
    slotsUsed: number;
    slotsMax: bigint;
  };
  received: EndorsementListView;
}

export async function reputationView(state: StateReader, params: AppParams, address: Uint8Array, now: bigint): Promise<ReputationView> {
  const record = await storedRecord(state, address);
  const stored = {} as Record<StoredDimension, StoredDimensionView>;
  const dimensions = {} as Record<Dimension, bigint>;
  for (const d of STORED_DIMENSIONS) {
    stored[d] = { raw: record[d].value, score: toScore(record[d].value), updatedNs: record[d].updatedNs };
    dimensions[d] = decayedScore(record[d], params, now);
  }
  const given = await evaluateEndorsements(state, params, await endorsementsGiven(state, address), now);
  const received = await evaluateEndorsements(state, params, await endorsementsReceived(state, address), now);
  dimensions.social = received.reduce((sum, e) => sum + e.credit, 0n);
  const validatorScore = scoreOfDimension(dimensions.validator);
  const stale = (e: EndorsementState): boolean => e.status === 'endorser_reregistered' || e.status === 'subject_reregistered';
  return {
    address,
    now,
    isAgent: (await getAgent(state, address)) !== undefined,
    // Key order as DIMENSIONS lists them.
    dimensions: Object.fromEntries(DIMENSIONS.map((d) => [d, dimensions[d]])) as Record<Dimension, bigint>,
    stored,
    subUnitBits: SUB_UNIT_BITS,
    validatorScore,
    validatorFactor: reputationFactor(validatorScore),
    epochScore: record.epochHeight > 0n ? record.epochScore : SCORE_ONE,
    epochFactor: reputationFactor(record.epochHeight > 0n ? record.epochScore : SCORE_ONE),
    epochHeight: record.epochHeight,
    given: {
      count: given.length,
      counting: given.filter((e) => e.status === 'counts').length,
      list: given,
      slotsUsed: given.filter((e) => !stale(e)).length,
      slotsMax: params.reputation.endorsement_max_per_endorser,
    },
    received: { count: received.length, counting: received.filter((e) => e.status === 'counts').length, list: received },
  };
}
