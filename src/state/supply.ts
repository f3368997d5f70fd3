// The supply record: the fixed total, what has burned, when emission started, and the id counter. Tokens only move
// between holders or burn (economics.ts checks that they add up).
import { AppError } from '../errors.ts';
import { SupplyInfoCodec, type SupplyInfo } from '../codec/types.ts';
import { Namespace, Singleton } from './repo.ts';
import type { StateReader } from './store.ts';
import type { StateOverlay } from './overlay.ts';

export const supply = new Singleton<SupplyInfo>(Namespace.SUPPLY, SupplyInfoCodec);

export async function getSupply(state: StateReader): Promise<SupplyInfo> {
  const s = await supply.get(state);
  if (s === undefined) throw new AppError('STORE_CORRUPT', 'the supply record is missing: the state was not initialised from a genesis');
  return s;
}

/** Removes tokens from circulation for good; they stay counted in `burned`. */
export async function burn(state: StateOverlay, amount: bigint): Promise<void> {
  if (amount === 0n) return;
  const s = await getSupply(state);
  supply.set(state, { ...s, burned: s.burned + amount });
}
