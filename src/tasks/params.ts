// The meaningful ranges of the tasks.* parameters (src/state/params.ts), checked with the rest of the app params at
// genesis and on every governance change (src/state/genesis.ts validateAppParams calls taskParamProblems).
import { BPS, type TaskParams } from '../state/params.ts';
import { MAX_INLINE_PAYLOAD } from '../codec/types.ts';

const TEN_YEARS = 3650n * 86_400n;
/** Committees and appeal committees above this would make one settlement touch too many records in one block. */
export const MAX_COMMITTEE = 1_000n;
/** Draws wait at most this many blocks, far inside the beacon's kept history (src/state/beacon.ts BEACON_HISTORY). */
export const MAX_BEACON_DELAY = 256n;
/** Each assignment adds an address to the task record. */
export const MAX_ASSIGNMENTS = 100n;

export interface ParamProblem {
  field: keyof TaskParams;
  message: string;
}

/** Every tasks.* value outside its range, with a sentence saying what is allowed (empty when all are fine). */
export function taskParamProblems(p: TaskParams, totalSupply: bigint): ParamProblem[] {
  const out: ParamProblem[] = [];
  const range = (field: keyof TaskParams, min: bigint, max: bigint, unit: string): void => {
    const v = p[field];
    if (v < min || v > max) out.push({ field, message: `must be between ${min} and ${max}${unit}; got ${v}` });
  };
  range('min_bounty', 1n, totalSupply, ' uacc');
  range('max_deadline_seconds', 1n, TEN_YEARS, ' seconds');
  range('max_inline_bytes', 0n, BigInt(MAX_INLINE_PAYLOAD), ' bytes (the wire limit of an inline payload)');
  range('protocol_fee_bps', 0n, BPS, ' bps');
  range('accept_seconds', 1n, TEN_YEARS, ' seconds');
  range('max_assignments', 1n, MAX_ASSIGNMENTS, ' assignments');
  range('committee_min', 1n, MAX_COMMITTEE, ' members');
  range('committee_max', 1n, MAX_COMMITTEE, ' members');
  if (p.committee_max < p.committee_min) out.push({ field: 'committee_max', message: `must be at least committee_min (${p.committee_min}); got ${p.committee_max}` });
  range('committee_bounty_step', 1n, totalSupply, ' uacc');
  range('beacon_delay_blocks', 1n, MAX_BEACON_DELAY, ' blocks (a committee is drawn from a beacon mix after the result, never the mix its block showed)');
  range('commit_seconds', 1n, TEN_YEARS, ' seconds');
  range('reveal_seconds', 1n, TEN_YEARS, ' seconds');
  range('min_reveal_bps', 0n, BPS, ' bps');
  range('appeal_seconds', 0n, TEN_YEARS, ' seconds');
  range('appeal_deposit', 0n, totalSupply, ' uacc');
  range('appeal_committee_size', 1n, MAX_COMMITTEE, ' members');
  range('benchmark_seconds', 1n, TEN_YEARS, ' seconds');
  range('compute_pot_bps', 0n, BPS, ' bps');
  range('review_pot_bps', 0n, BPS, ' bps');
  range('marketplace_subsidy_bps', 0n, BPS, ' bps');
  return out;
}
