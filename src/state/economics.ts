// Supply, fees, burns and vesting. The supply is fixed at genesis; tokens only move between holders or burn.
// Invariant (checked by checkSupply): balances + stakes + unvested + burned = total supply, exactly.
import { AppError } from '../errors.ts';
import { toHex } from '../crypto/bytes.ts';
import { SupplyInfoCodec, VestingCodec, type SupplyInfo, type Vesting } from '../codec/types.ts';
import { Namespace, Repo, Singleton } from './repo.ts';
import type { StateReader } from './store.ts';
import type { StateOverlay } from './overlay.ts';
import { accounts, credit, debit, getAccount, moduleAddress, ModuleAccount } from './accounts.ts';
import { allValidators } from './validators.ts';
import { BPS, CATEGORIES, type AppParams, type Category } from './params.ts';
import { event, type Module } from './module.ts';

export const supply = new Singleton<SupplyInfo>(Namespace.SUPPLY, SupplyInfoCodec);
export const vesting = new Repo<Uint8Array, Vesting>(Namespace.VESTING, (a) => a, VestingCodec);

const NS_PER_SECOND = 1_000_000_000n;

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

/** Splits a paid fee: burn_bps of it burns (rounding toward the burn), the rest waits in the fee collector. */
export async function settleFee(state: StateOverlay, fee: bigint, params: AppParams): Promise<{ burned: bigint; toValidators: bigint }> {
  const toValidators = (fee * (BPS - params.fees.burn_bps)) / BPS;
  const burned = fee - toValidators;
  await burn(state, burned);
  await credit(state, moduleAddress(ModuleAccount.FEE_COLLECTOR), toValidators);
  return { burned, toValidators };
}

/** Pays out the fee collector to the validators pro rata to power; the indivisible remainder waits for the next block. */
async function distributeFees(state: StateOverlay): Promise<bigint> {
  const collector = moduleAddress(ModuleAccount.FEE_COLLECTOR);
  const pot = (await getAccount(state, collector)).balance;
  if (pot === 0n) return 0n;
  const set = await allValidators(state);
  const total = set.reduce((sum, v) => sum + v.power, 0n);
  if (total === 0n) return 0n;
  let paid = 0n;
  for (const v of set) {
    const share = (pot * v.power) / total;
    await credit(state, v.address, share);
    paid += share;
  }
  await debit(state, collector, paid);
  return paid;
}

/** Amount of a schedule vested at `now`: nothing before the cliff, everything at the end, linear in between (floor). */
export function vestedAt(v: Vesting, now: bigint): bigint {
  if (now < v.cliffNs) return 0n;
  if (now >= v.endNs) return v.total;
  return (v.total * (now - v.startNs)) / (v.endNs - v.startNs);
}

async function releaseVesting(state: StateOverlay, now: bigint): Promise<bigint> {
  let released = 0n;
  for (const [address, v] of await vesting.all(state)) {
    const due = vestedAt(v, now) - v.released;
    if (due <= 0n) continue;
    vesting.set(state, address, { ...v, released: v.released + due });
    await credit(state, address, due);
    released += due;
  }
  return released;
}

export interface SupplyBreakdown {
  total: bigint;
  /** Balances of every account, module accounts (pools, treasury, fee collector) included. */
  balances: bigint;
  /** Part of `balances` held by module accounts. */
  pools: bigint;
  stakes: bigint;
  unvested: bigint;
  burned: bigint;
}

/** Sums every holding in the state. O(accounts): for tests, queries and audits, never in a block. */
export async function supplyBreakdown(state: StateReader): Promise<SupplyBreakdown> {
  const s = await getSupply(state);
  const poolAddresses = new Set(
    [ModuleAccount.FEE_COLLECTOR, ...CATEGORIES.filter((c): c is Exclude<Category, 'team'> => c !== 'team').map(ModuleAccount.pool)].map((n) =>
      toHex(moduleAddress(n)),
    ),
  );
  let balances = 0n;
  let pools = 0n;
  for (const [address, acc] of await accounts.all(state)) {
    balances += acc.balance;
    if (poolAddresses.has(toHex(address))) pools += acc.balance;
  }
  const stakes = (await allValidators(state)).reduce((sum, v) => sum + v.stake, 0n);
  const unvested = (await vesting.all(state)).reduce((sum, [, v]) => sum + (v.total - v.released), 0n);
  return { total: s.total, balances, pools, stakes, unvested, burned: s.burned };
}

/** Throws INTERNAL if the supply invariant does not hold. */
export async function checkSupply(state: StateReader): Promise<SupplyBreakdown> {
  const b = await supplyBreakdown(state);
  const sum = b.balances + b.stakes + b.unvested + b.burned;
  if (sum !== b.total) {
    throw new AppError('INTERNAL', `supply invariant broken: balances ${b.balances} + stakes ${b.stakes} + unvested ${b.unvested} + burned ${b.burned} = ${sum} != ${b.total}`);
  }
  return b;
}

export const economicsModule: Module = {
  name: 'economics',
  async initGenesis(state, genesis) {
    const { appParams: params, genesisTime } = genesis;
    supply.set(state, { total: params.supply.total_supply, burned: 0n });
    for (const alloc of genesis.allocations) {
      let assigned = 0n;
      for (const a of alloc.accounts) {
        assigned += a.amount;
        if (alloc.category === 'team') {
          const prev = await vesting.get(state, a.address);
          vesting.set(state, a.address, {
            total: (prev?.total ?? 0n) + a.amount,
            released: 0n,
            startNs: genesisTime,
            cliffNs: genesisTime + params.supply.team_cliff_seconds * NS_PER_SECOND,
            endNs: genesisTime + params.supply.team_vesting_seconds * NS_PER_SECOND,
          });
        } else {
          await credit(state, a.address, a.amount);
        }
      }
      if (alloc.category === 'validators') for (const v of genesis.validators) assigned += v.stake;
      const rest = alloc.amount - assigned;
      if (rest < 0n) throw new AppError('BAD_GENESIS', `allocation ${alloc.category} assigns more than its ${alloc.amount} uacc`);
      if (rest > 0n) {
        if (alloc.category === 'team') throw new AppError('BAD_GENESIS', `the team allocation must be assigned in full; ${rest} uacc unassigned`);
        await credit(state, moduleAddress(ModuleAccount.pool(alloc.category)), rest);
      }
    }
  },
  async beginBlock(ctx) {
    const released = await releaseVesting(ctx.state, ctx.time);
    if (released > 0n) ctx.events.push(event('vesting_release', { amount: released.toString() }));
  },
  async endBlock(ctx) {
    const paid = await distributeFees(ctx.state);
    if (paid > 0n) ctx.events.push(event('fee_distribution', { amount: paid.toString() }));
  },
};
