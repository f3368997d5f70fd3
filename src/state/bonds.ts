// Tokens on their way back to their owner: unstaked validator stake and deregistered agents' bonds wait out an
// unbonding period, during which they stay slashable for misbehaviour committed before they started unbonding.
// Entries are keyed by completion time then id, so the queue reads in the order it completes.
import { AppError } from '../errors.ts';
import { concat, equalBytes } from '../crypto/bytes.ts';
import { UnbondingCodec, type Unbonding, type UnbondingKind } from '../codec/types.ts';
import { Namespace, Repo, u64Key } from './repo.ts';
import { getSupply, supply } from './supply.ts';
import { credit } from './accounts.ts';
import type { StateReader } from './store.ts';
import type { StateOverlay } from './overlay.ts';

/**
 * The most unstake entries one owner may have waiting at once (Cosmos's MaxEntries). Every block reads the queue to
 * pay out what is due, so the queue must stay bounded: at most this many entries per agent, plus its bond.
 */
export const MAX_UNBONDING_ENTRIES = 7;

export const unbondings = new Repo<Uint8Array, Unbonding>(Namespace.UNBONDING, (k) => k, UnbondingCodec);

export function unbondingKey(completesNs: bigint, id: bigint): Uint8Array {
  return concat(u64Key(completesNs), u64Key(id));
}

/** The next id for an unbonding entry or a slash escrow (one counter, kept in the supply record). */
export async function nextId(state: StateOverlay): Promise<bigint> {
  const s = await getSupply(state);
  supply.set(state, { ...s, nextId: s.nextId + 1n });
  return s.nextId;
}

export async function startUnbonding(
  state: StateOverlay,
  entry: { owner: Uint8Array; kind: UnbondingKind; amount: bigint; height: bigint; completesNs: bigint },
): Promise<void> {
  if (entry.amount <= 0n) throw new AppError('INTERNAL', `unbonding amount must be positive, got ${entry.amount}`);
  const id = await nextId(state);
  unbondings.set(state, unbondingKey(entry.completesNs, id), {
    owner: entry.owner,
    kind: entry.kind,
    amount: entry.amount,
    createdHeight: entry.height,
    completesNs: entry.completesNs,
  });
}

/** Pays out every entry whose time has come (completesNs <= now) and removes it. */
export async function completeUnbondings(state: StateOverlay, now: bigint): Promise<Unbonding[]> {
  const done: Unbonding[] = [];
  for (const [key, u] of await unbondings.all(state)) {
    if (u.completesNs > now) break; // key order is completion order
    unbondings.delete(state, key);
    await credit(state, u.owner, u.amount);
    done.push(u);
  }
  return done;
}

/** Every unbonding entry of one owner, with its key. */
export async function unbondingsOf(state: StateReader, owner: Uint8Array): Promise<Array<[Uint8Array, Unbonding]>> {
  return (await unbondings.all(state)).filter(([, u]) => equalBytes(u.owner, owner));
}
