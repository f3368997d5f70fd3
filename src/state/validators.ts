// Validator records in state: who validates, with what stake and voting power. Staking (a later module) changes
// stakes; here the genesis set is written and the records are read by the fee distribution and by consensus.
import { ValidatorCodec, type Validator } from '../codec/types.ts';
import { Namespace, Repo } from './repo.ts';
import type { StateReader } from './store.ts';
import type { Module } from './module.ts';
import { SCORE_ONE, votingPower as powerFrom } from '../reputation/factor.ts';

export const validators = new Repo<Uint8Array, Validator>(Namespace.VALIDATOR, (a) => a, ValidatorCodec);

/**
 * Voting power = stake x reputation factor (src/reputation/factor.ts, bounded to [1/2, 2)). Until the reputation
 * module keeps validator scores, every validator has the neutral score, so power = stake in uacc.
 */
export function votingPower(stake: bigint, score: bigint = SCORE_ONE): bigint {
  return powerFrom(stake, score);
}

export async function allValidators(state: StateReader): Promise<Validator[]> {
  return (await validators.all(state)).map(([, v]) => v);
}

export const validatorsModule: Module = {
  name: 'validators',
  async initGenesis(state, genesis) {
    for (const v of genesis.validators) {
      validators.set(state, v.address, { address: v.address, pubKey: v.publicKey, stake: v.stake, power: votingPower(v.stake), name: v.name });
    }
  },
};
