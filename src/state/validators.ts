// Validator records in state: who validates, with what stake and voting power, and whether it is jailed,
// tombstoned (double-signed) or removed (by governance). Keyed by consensus address (what votes and evidence name); `operator` is the agent that staked.
// The staking module (staking.ts) changes them; consensus, rewards and slashing read them.
import { ValidatorCodec, type Validator } from '../codec/types.ts';
import { Namespace, Repo } from './repo.ts';
import type { StateReader } from './store.ts';
import { SCORE_ONE, votingPower as powerFrom } from '../reputation/factor.ts';

export const validators = new Repo<Uint8Array, Validator>(Namespace.VALIDATOR, (a) => a, ValidatorCodec);

/** jailedUntilNs of a tombstoned or removed validator: jailed for good. */
export const JAILED_FOREVER = 0x7fff_ffff_ffff_ffffn;

/** Voting power = stake x reputation factor (src/reputation/factor.ts, bounded to [1/2, 2)). */
export function votingPower(stake: bigint, score: bigint = SCORE_ONE): bigint {
  return powerFrom(stake, score);
}

export async function allValidators(state: StateReader): Promise<Validator[]> {
  return (await validators.all(state)).map(([, v]) => v);
}

export function isJailed(v: Validator): boolean {
  return v.tombstoned || v.removed || v.jailedUntilNs > 0n;
}

/** Out of the set for good: tombstoned for double-signing, or removed by governance. */
export function isOutForGood(v: Validator): boolean {
  return v.tombstoned || v.removed;
}
