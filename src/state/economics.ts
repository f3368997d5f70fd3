// Supply, fees, burns and vesting. The supply is fixed at genesis; tokens only move between holders or burn.
// Invariant (checkSupply): liquid + module accounts + bonded + staked + unbonding + slash escrow + tasks + governance
// deposits + unvested + burned = total supply, exactly, at the end of every block.
//
// Circulating supply (circulatingSupply): every token that has left the protocol's reserves and not burned, i.e.
// total - burned - module accounts (unreleased reward pools, treasury, reward pots, fee collector) - unvested team
// tokens. It counts what holders have locked (bonds, stakes, unbonding, task escrows, proposal deposits, slashed
// tokens still appealable), as market data sites count staked tokens. Governance's proposal deposit is a share of it.
import { AppError } from '../errors.ts';
import { toHex } from '../crypto/bytes.ts';
import { VestingCodec, type Vesting } from '../codec/types.ts';
import { Namespace, Repo } from './repo.ts';
import type { StateReader } from './store.ts';
import type { StateOverlay } from './overlay.ts';
import { accounts, credit, getAccount, moduleAddress, ModuleAccount } from './accounts.ts';
import { allValidators } from './validators.ts';
import { agents } from './agents.ts';
import { unbondings } from './bonds.ts';
import { slashEscrows } from './slashing.ts';
import { escrowTotal } from '../tasks/store.ts';
import { heldDeposits } from './governance/store.ts';
import { burn, getSupply, supply } from './supply.ts';
import { BPS, CATEGORIES, type AppParams, type Category } from './params.ts';
import { event, type Module } from './module.ts';

export { burn, getSupply, supply };
export const vesting = new Repo<Uint8Array, Vesting>(Namespace.VESTING, (a) => a, VestingCodec);

const NS_PER_SECOND = 1_000_000_000n;

/** Splits a paid fee: burn_bps of it burns (rounding toward the burn), the rest waits in the fee collector. */
export async function settleFee(state: StateOverlay, fee: bigint, params: AppParams): Promise<{ burned: bigint; toValidators: bigint }> {
  const toValidators = (fee * (BPS - params.fees.burn_bps)) / BPS;
  const burned = fee - toValidators;
  await burn(state, burned);
  await credit(state, moduleAddress(ModuleAccount.FEE_COLLECTOR), toValidators);
  return { burned, toValidators };
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

/** Every module account, by the name `supply` shows: the genesis pools, the treasury, the reward pots, the fee collector. */
export const MODULE_ACCOUNTS: ReadonlyArray<[string, Uint8Array]> = [
  ...CATEGORIES.filter((c): c is Exclude<Category, 'team'> => c !== 'team').map((c): [string, Uint8Array] => [c, moduleAddress(ModuleAccount.pool(c))]),
  ...(['compute_providers', 'marketplace', 'review_committees'] as const).map((c): [string, Uint8Array] => [`rewards/${c}`, moduleAddress(ModuleAccount.rewards(c))]),
  ['fee_collector', moduleAddress(ModuleAccount.FEE_COLLECTOR)],
];

export interface SupplyBreakdown {
  total: bigint;
  /**
   * Liquid balances of every account that is not a module account: what holders can spend and transfer. Everything
   * else is locked (bonded, staked, unbonding, escrowed), unreleased (pools, unvested) or gone (burned).
   */
  liquid: bigint;
  /** circulatingSupply (see the header): what governance's deposit threshold is a share of. */
  circulating: bigint;
  /** Balances of the module accounts, by name (MODULE_ACCOUNTS), and their sum. */
  modules: Array<[string, bigint]>;
  modulesTotal: bigint;
  /** Agents' registration bonds. */
  bonded: bigint;
  /** Validator stakes. */
  staked: bigint;
  /** Stakes and bonds waiting out their unbonding period. */
  unbonding: bigint;
  /** Slashed tokens waiting out the appeal window. */
  slashEscrow: bigint;
  /** Held by tasks (src/tasks): escrowed bounties and appeal deposits, until the task pays them out. */
  tasks: bigint;
  /** Deposits held by proposals (src/state/governance): returned or burned after the vote. */
  governance: bigint;
  unvested: bigint;
  burned: bigint;
}

/** The parts of a breakdown that must add up to the total supply. */
export function supplySum(b: SupplyBreakdown): bigint {
  return b.liquid + b.modulesTotal + b.bonded + b.staked + b.unbonding + b.slashEscrow + b.tasks + b.governance + b.unvested + b.burned;
}

/** Sums every holding in the state. O(accounts): for tests, queries and audits, never in a block. */
export async function supplyBreakdown(state: StateReader): Promise<SupplyBreakdown> {
  const s = await getSupply(state);
  const moduleIndex = new Map(MODULE_ACCOUNTS.map(([name, address]) => [toHex(address), name]));
  const moduleBalances = new Map<string, bigint>(MODULE_ACCOUNTS.map(([name]) => [name, 0n]));
  let liquid = 0n;
  for (const [address, acc] of await accounts.all(state)) {
    const name = moduleIndex.get(toHex(address));
    if (name === undefined) liquid += acc.balance;
    else moduleBalances.set(name, acc.balance);
  }
  const modules = [...moduleBalances.entries()];
  const sum = (xs: bigint[]): bigint => xs.reduce((a, b) => a + b, 0n);
  return {
    total: s.total,
    liquid,
    circulating: await circulatingSupply(state),
    modules,
    modulesTotal: sum(modules.map(([, v]) => v)),
    bonded: sum((await agents.all(state)).map(([, a]) => a.bond)),
    staked: sum((await allValidators(state)).map((v) => v.stake)),
    unbonding: sum((await unbondings.all(state)).map(([, u]) => u.amount)),
    slashEscrow: sum((await slashEscrows.all(state)).map(([, e]) => e.amount)),
    tasks: await escrowTotal(state),
    governance: await heldDeposits(state),
    unvested: sum((await vesting.all(state)).map(([, v]) => v.total - v.released)),
    burned: s.burned,
  };
}

/**
 * The circulating supply (see the header) in O(module accounts + vesting records): what a transaction may compute.
 * Equal to the breakdown's liquid + bonded + staked + unbonding + slash escrow + tasks + governance.
 */
export async function circulatingSupply(state: StateReader): Promise<bigint> {
  const s = await getSupply(state);
  let reserves = 0n;
  for (const [, address] of MODULE_ACCOUNTS) reserves += (await getAccount(state, address)).balance;
  let unvested = 0n;
  for (const [, v] of await vesting.all(state)) unvested += v.total - v.released;
  return s.total - s.burned - reserves - unvested;
}

/** Throws INTERNAL if the supply invariant does not hold. */
export async function checkSupply(state: StateReader): Promise<SupplyBreakdown> {
  const b = await supplyBreakdown(state);
  const sum = supplySum(b);
  if (sum !== b.total) {
    throw new AppError(
      'INTERNAL',
      `supply invariant broken: liquid ${b.liquid} + modules ${b.modulesTotal} + bonded ${b.bonded} + staked ${b.staked} + unbonding ${b.unbonding} + ` +
        `slash escrow ${b.slashEscrow} + tasks ${b.tasks} + governance ${b.governance} + unvested ${b.unvested} + burned ${b.burned} = ${sum} != ${b.total}`,
    );
  }
  return b;
}

export const economicsModule: Module = {
  name: 'economics',
  async initGenesis(state, genesis) {
    const { appParams: params, genesisTime } = genesis;
    supply.set(state, { total: params.supply.total_supply, burned: 0n, emissionStartNs: genesisTime, nextId: 1n });
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
      // Genesis validators' stakes and agent bonds (staking.ts, agents.ts) come out of the validators allocation.
      if (alloc.category === 'validators') for (const v of genesis.validators) assigned += v.stake + params.agents.bond;
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
};
