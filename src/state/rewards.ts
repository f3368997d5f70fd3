// Emission and rewards (whitepaper 5.1, 5.2). The four reward pools (validators, compute providers, marketplace,
// review committees) release their genesis balances over emission.periods periods of emission.halving_seconds of
// block time (default: 5 periods of 2 years = 10 years), each period releasing half of the one before: weights
// 2^(n-1), ..., 2, 1 of a total 2^n - 1, linear in time within a period. By block time, not block count, so slow
// or fast blocks do not change the schedule.
//
// Where released tokens go, every block (begin-block):
//   validators         -> with the fee collector's fees, to the validators that signed the previous block (the
//                         block's last commit), pro rata to their power; the indivisible remainder waits a block;
//   compute_providers  -> the rewards/compute_providers pot, paid by the tasks module (issue 7) to executors by
//                         verified work;
//   review_committees  -> the rewards/review_committees pot, paid to reviewers by settled reviews (issue 7);
//   marketplace        -> the rewards/marketplace pot, which subsidises task bounties (issue 7 adds a share of it to
//                         each settled task's bounty), so that early demand for compute is not priced out.
// The treasury is not emitted: it moves only by governance (issue 8).
//
// Rounding: the amount released by time t is floor(initial x W(t) / (W x halving)), where W(t) is the elapsed time
// weighted by period. Only the cumulative amount is floored, so the total ever released is within 1 uacc of exact at
// any time and exactly `initial` at the end; a period releases its exact share within 1 uacc, so each period
// releases half of the previous one within 2 uacc.
import { toHex, utf8 } from '../crypto/bytes.ts';
import { EmissionPoolCodec, type EmissionPool } from '../codec/types.ts';
import { Namespace, Repo } from './repo.ts';
import { credit, debit, getAccount, moduleAddress, ModuleAccount } from './accounts.ts';
import { getSupply } from './supply.ts';
import { validators } from './validators.ts';
import type { Category } from './params.ts';
import { event, type CommitVote, type HookContext, type Module } from './module.ts';
import type { StateOverlay } from './overlay.ts';

export const EMISSION_POOLS = ['validators', 'compute_providers', 'marketplace', 'review_committees'] as const satisfies readonly Category[];
export type EmissionPoolName = (typeof EMISSION_POOLS)[number];

export const emissionPools = new Repo<string, EmissionPool>(Namespace.EMISSION, utf8, EmissionPoolCodec);

const NS_PER_SECOND = 1_000_000_000n;

/** Amount of `initial` released `elapsedNs` after the start (see the header). Exact integer arithmetic. */
export function releasedBy(initial: bigint, elapsedNs: bigint, halvingNs: bigint, periods: bigint): bigint {
  if (elapsedNs <= 0n) return 0n;
  const total = (1n << periods) - 1n;
  let weighted = 0n;
  for (let k = 0n; k < periods; k++) {
    const into = elapsedNs - k * halvingNs;
    if (into <= 0n) break;
    weighted += (1n << (periods - 1n - k)) * (into < halvingNs ? into : halvingNs);
  }
  return (initial * weighted) / (total * halvingNs);
}

/** Where a pool's released tokens go: the validators' to the fee collector (paid to signers), the others to a pot. */
export function emissionDestination(pool: EmissionPoolName): Uint8Array {
  return moduleAddress(pool === 'validators' ? ModuleAccount.FEE_COLLECTOR : ModuleAccount.rewards(pool));
}

async function release(ctx: HookContext): Promise<void> {
  const { emissionStartNs } = await getSupply(ctx.state);
  const halvingNs = ctx.params.emission.halving_seconds * NS_PER_SECOND;
  for (const pool of EMISSION_POOLS) {
    const rec = await emissionPools.get(ctx.state, pool);
    if (rec === undefined || rec.released >= rec.initial) continue;
    const due = releasedBy(rec.initial, ctx.time - emissionStartNs, halvingNs, ctx.params.emission.periods) - rec.released;
    if (due <= 0n) continue;
    await debit(ctx.state, moduleAddress(ModuleAccount.pool(pool)), due);
    await credit(ctx.state, emissionDestination(pool), due);
    emissionPools.set(ctx.state, pool, { ...rec, released: rec.released + due });
    ctx.events.push(event('emission', { pool, amount: due.toString() }));
  }
}

/**
 * Pays the fee collector (half of every fee, and the validators' emission) to the validators that signed the
 * previous block, pro rata to power (floor); what does not divide waits for the next block.
 */
export async function distributeToSigners(state: StateOverlay, lastCommit: readonly CommitVote[]): Promise<Array<{ address: Uint8Array; amount: bigint }>> {
  const collector = moduleAddress(ModuleAccount.FEE_COLLECTOR);
  const pot = (await getAccount(state, collector)).balance;
  const signers = lastCommit.filter((v) => v.signed && v.power > 0n);
  const total = signers.reduce((s, v) => s + v.power, 0n);
  if (pot === 0n || total === 0n) return [];
  const paid: Array<{ address: Uint8Array; amount: bigint }> = [];
  let sum = 0n;
  // Rewards go to the validator's operator: the agent that staked (a consensus address is only a key).
  for (const v of signers) {
    const amount = (pot * v.power) / total;
    if (amount === 0n) continue;
    await credit(state, (await validators.get(state, v.address))?.operator ?? v.address, amount);
    paid.push({ address: v.address, amount });
    sum += amount;
  }
  await debit(state, collector, sum);
  return paid;
}

export const rewardsModule: Module = {
  name: 'rewards',
  /** Runs after economics: the pools hold their genesis balances, which become the schedule's `initial`. */
  async initGenesis(state) {
    for (const pool of EMISSION_POOLS) {
      const balance = (await getAccount(state, moduleAddress(ModuleAccount.pool(pool)))).balance;
      emissionPools.set(state, pool, { initial: balance, released: 0n });
    }
  },
  async beginBlock(ctx) {
    await release(ctx);
    const paid = await distributeToSigners(ctx.state, ctx.lastCommit);
    const total = paid.reduce((s, p) => s + p.amount, 0n);
    if (total > 0n) ctx.events.push(event('rewards', { amount: total.toString(), validators: paid.map((p) => toHex(p.address)).join(',') }));
  },
};
