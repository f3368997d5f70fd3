// Staking: registered agents bond stake to validate, and end-block hands the validator set to consensus (effective
// at height + 2). Voting power = stake x the validator reputation factor.
//
// When the set changes:
//   - at every epoch boundary (height divisible by staking.epoch_blocks) the set is recomputed: eligible validators
//     ranked by power (ties by address), the top staking.max_validators take their power, everyone else 0;
//   - between boundaries power only goes down: a validator that became ineligible (jailed, tombstoned, its agent
//     deregistered or unattested, its stake below staking.min_stake) leaves at once, and one whose stake fell keeps
//     the lower power; new stake and new validators wait for the next boundary.
// A change that would leave the set empty is not made (the chain would halt); an event says so.
//
// Unstaked tokens wait staking.unbonding_seconds in the unbonding queue (bonds.ts), slashable until they return.
import { AppError } from '../errors.ts';
import { compareBytes, equalBytes, toHex } from '../crypto/bytes.ts';
import { addressOf } from '../crypto/keys.ts';
import { blsPublicKeyProblem } from '../crypto/bls.ts';
import { formatTime } from '../codec/time.ts';
import type { Validator, ValidatorUpdate } from '../codec/types.ts';
import { SCORE_ONE } from '../reputation/factor.ts';
import { debit } from './accounts.ts';
import { agents, getAgent, isActiveAgent, requireActiveAgent } from './agents.ts';
import { completeUnbondings, MAX_UNBONDING_ENTRIES, startUnbonding, unbondingsOf } from './bonds.ts';
import { allValidators, isJailed, isOutForGood, validators, votingPower } from './validators.ts';
import { event, type HookContext, type Module } from './module.ts';
import type { AppParams } from './params.ts';
import type { StateReader } from './store.ts';
import type { StateOverlay } from './overlay.ts';
import type { Genesis } from './genesis.ts';

const NS_PER_SECOND = 1_000_000_000n;

/**
 * A validator's reputation score (fixed point, SCORE_ONE = neutral) for the block at time `now`. The app uses the
 * reputation module's (src/reputation/module.ts: signed and missed blocks, evidence, decay; recorded at each epoch
 * boundary, so reputation moves power only there); neutralScore gives power = stake.
 */
export type ValidatorScorer = (state: StateReader, validator: Validator, params: AppParams, now: bigint) => Promise<bigint>;
export const neutralScore: ValidatorScorer = async () => SCORE_ONE;

/** May this validator hold power at `now`? */
export async function isEligible(state: StateReader, v: Validator, params: AppParams, now: bigint): Promise<boolean> {
  if (isJailed(v) || v.stake < params.staking.min_stake) return false;
  return isActiveAgent(await getAgent(state, v.operator), now);
}

/**
 * The power each validator should hold after this block, by consensus address (hex), following the rules in the
 * header. `epoch` recomputes the whole set; otherwise powers only go down.
 */
export async function targetPowers(state: StateReader, params: AppParams, now: bigint, epoch: boolean, scorer: ValidatorScorer): Promise<Map<string, bigint>> {
  const all = await allValidators(state);
  const wanted = new Map<string, bigint>();
  const ranked: Array<{ v: Validator; power: bigint }> = [];
  for (const v of all) {
    const power = (await isEligible(state, v, params, now)) ? votingPower(v.stake, await scorer(state, v, params, now)) : 0n;
    wanted.set(toHex(v.address), power);
    if (power > 0n) ranked.push({ v, power });
  }
  const target = new Map<string, bigint>();
  if (epoch) {
    ranked.sort((a, b) => (a.power !== b.power ? (b.power > a.power ? 1 : -1) : compareBytes(a.v.address, b.v.address)));
    const chosen = new Set(ranked.slice(0, Number(params.staking.max_validators)).map((r) => toHex(r.v.address)));
    for (const v of all) target.set(toHex(v.address), chosen.has(toHex(v.address)) ? wanted.get(toHex(v.address))! : 0n);
  } else {
    for (const v of all) {
      const w = wanted.get(toHex(v.address))!;
      target.set(toHex(v.address), w < v.power ? w : v.power);
    }
  }
  return target;
}

/** Applies target powers to the records and returns the consensus updates (only the changed validators). */
async function updateSet(ctx: HookContext, scorer: ValidatorScorer): Promise<ValidatorUpdate[]> {
  const epoch = ctx.height % ctx.params.staking.epoch_blocks === 0n;
  const target = await targetPowers(ctx.state, ctx.params, ctx.time, epoch, scorer);
  const all = await allValidators(ctx.state);
  const changed = all.filter((v) => target.get(toHex(v.address)) !== v.power);
  if (changed.length === 0) return [];
  let total = 0n;
  for (const v of all) total += target.get(toHex(v.address))!;
  if (total === 0n) {
    ctx.events.push(event('validator_set_kept', { reason: 'no eligible validator would remain; the set is left unchanged so the chain can go on' }));
    return [];
  }
  const updates: ValidatorUpdate[] = [];
  for (const v of changed) {
    const power = target.get(toHex(v.address))!;
    validators.set(ctx.state, v.address, { ...v, power });
    updates.push({ pubKey: v.pubKey, power });
    ctx.events.push(event('validator_power', { validator: toHex(v.address), operator: toHex(v.operator), stake: v.stake.toString(), power: power.toString() }));
  }
  return updates;
}

async function initGenesis(state: StateOverlay, genesis: Genesis): Promise<void> {
  for (const v of genesis.validators) {
    validators.set(state, v.address, {
      address: v.address,
      pubKey: v.publicKey,
      stake: v.stake,
      power: votingPower(v.stake),
      name: v.name,
      operator: v.address,
      jailedUntilNs: 0n,
      tombstoned: false,
      removed: false,
      blsPubKey: v.blsPubKey,
    });
  }
}

function outForGoodWhy(v: Validator): string {
  return v.tombstoned ? 'tombstoned for double-signing' : 'removed by governance';
}

/** Does a validator other than `v` hold power and stay eligible? */
export async function anotherValidatorRemains(ctx: { state: StateReader; params: AppParams; time: bigint }, v: Validator): Promise<boolean> {
  for (const other of await allValidators(ctx.state)) {
    if (other.power > 0n && !equalBytes(other.address, v.address) && (await isEligible(ctx.state, other, ctx.params, ctx.time))) return true;
  }
  return false;
}

/**
 * The BLS key a stake leaves on its validator. A new validator must name one: without it its proposals could never
 * carry a valid beacon reveal. Once set it never changes (consensus checks a height's reveals against the key in
 * state, and a key swapped between two blocks would let the proposer pick among reveals). No proof of possession:
 * reveals are never aggregated, so a rogue key buys nothing, and registering another's key only makes one's own
 * proposals invalid.
 */
function beaconKey(v: Validator, offered: Uint8Array): Uint8Array {
  if (v.blsPubKey.length > 0) {
    if (offered.length > 0 && !equalBytes(offered, v.blsPubKey)) {
      throw new AppError('BAD_BLS_KEY', `validator ${toHex(v.address)} already has BLS key ${toHex(v.blsPubKey)}, which cannot change; leave bls_pub_key empty or send that key`);
    }
    return v.blsPubKey;
  }
  if (offered.length === 0) {
    throw new AppError('BAD_BLS_KEY', `a validator's first stake must carry bls_pub_key (its 48-byte BLS key for beacon reveals); \`agentcluster tx staking stake\` derives it from the consensus key file, or pass --bls-pub-key`);
  }
  const problem = blsPublicKeyProblem(offered);
  if (problem !== null) throw new AppError('BAD_BLS_KEY', `MsgStake.bls_pub_key ${problem}; send the key derived from the consensus key (agentcluster tx staking stake does)`);
  return offered;
}

/** The signer's validator, or VALIDATOR_STATE saying it has none. */
async function validatorOf(state: StateReader, signer: Uint8Array): Promise<Validator> {
  const agent = await getAgent(state, signer);
  const v = agent !== undefined && agent.validator.length > 0 ? await validators.get(state, agent.validator) : undefined;
  if (v === undefined) throw new AppError('VALIDATOR_STATE', `${toHex(signer)} has no validator; stake first (agentcluster tx staking stake)`);
  return v;
}

export function stakingModule(scorer: ValidatorScorer = neutralScore): Module {
  return {
    name: 'staking',
    initGenesis,
    handlers: {
      async stake(ctx, msg) {
        const agent = await requireActiveAgent(ctx);
        const p = ctx.params.staking;
        let v: Validator;
        if (agent.validator.length === 0) {
          const pubKey = msg.consensusPubKey.length > 0 ? msg.consensusPubKey : ctx.signerPubKey;
          const address = addressOf(pubKey);
          const existing = await validators.get(ctx.state, address);
          // The same agent may come back (deregistered, registered again) to its old validator; nobody else may take it.
          if (existing !== undefined && !equalBytes(existing.operator, ctx.signer)) {
            throw new AppError('CONSENSUS_KEY_IN_USE', `consensus key ${toHex(pubKey)} belongs to another validator; use a key of your own`);
          }
          if (existing !== undefined && isOutForGood(existing)) {
            throw new AppError('VALIDATOR_STATE', `validator ${toHex(address)} is ${outForGoodWhy(existing)} and takes no new stake; use a new consensus key`);
          }
          const name = msg.moniker.length > 0 ? msg.moniker : toHex(ctx.signer).slice(0, 12);
          v = existing ?? { address, pubKey, stake: 0n, power: 0n, name, operator: ctx.signer, jailedUntilNs: 0n, tombstoned: false, removed: false, blsPubKey: new Uint8Array(0) };
          agents.set(ctx.state, ctx.signer, { ...agent, validator: address });
        } else {
          v = (await validators.get(ctx.state, agent.validator))!;
          if (msg.consensusPubKey.length > 0 && !equalBytes(msg.consensusPubKey, v.pubKey)) {
            throw new AppError('VALIDATOR_STATE', `the validator's consensus key is ${toHex(v.pubKey)} and cannot change; leave consensus_pub_key empty`);
          }
          if (isOutForGood(v)) throw new AppError('VALIDATOR_STATE', `validator ${toHex(v.address)} is ${outForGoodWhy(v)} and takes no new stake; to validate again, unstake what is left, deregister, wait for the bond, register again and stake with a new consensus key`);
        }
        v = { ...v, blsPubKey: beaconKey(v, msg.blsPubKey) };
        const stake = v.stake + msg.amount;
        if (stake < p.min_stake) {
          throw new AppError('STAKE_TOO_SMALL', `a stake of ${stake} uacc is below staking.min_stake (${p.min_stake} uacc); stake at least ${p.min_stake - v.stake} uacc`);
        }
        await debit(ctx.state, ctx.signer, msg.amount);
        validators.set(ctx.state, v.address, { ...v, stake, name: msg.moniker.length > 0 ? msg.moniker : v.name });
        ctx.events.push(event('stake', { agent: toHex(ctx.signer), validator: toHex(v.address), amount: msg.amount.toString(), stake: stake.toString() }));
      },

      async unstake(ctx, msg) {
        const v = await validatorOf(ctx.state, ctx.signer);
        if (msg.amount > v.stake) {
          throw new AppError('UNSTAKE_EXCEEDS_STAKE', `cannot unstake ${msg.amount} uacc: the stake is ${v.stake} uacc`, { stake: v.stake.toString() });
        }
        const rest = v.stake - msg.amount;
        if (rest > 0n && rest < ctx.params.staking.min_stake) {
          throw new AppError(
            'STAKE_TOO_SMALL',
            `${rest} uacc would remain, below staking.min_stake (${ctx.params.staking.min_stake} uacc); unstake everything (${v.stake}) or leave at least the minimum`,
          );
        }
        // A validator leaving the set while no other could take its place would be kept with its power (the chain
        // must go on) but with nothing at stake: it may not leave until another validator can carry the chain.
        if (v.power > 0n && (rest === 0n || !(await isEligible(ctx.state, v, ctx.params, ctx.time))) && !(await anotherValidatorRemains(ctx, v))) {
          throw new AppError(
            'VALIDATOR_STATE',
            `validator ${toHex(v.address)} is the last one that can hold power; unstaking now would leave the chain without an eligible validator. Wait until another validator holds power (new validators join at the next epoch boundary)`,
          );
        }
        const waiting = (await unbondingsOf(ctx.state, ctx.signer)).filter(([, u]) => u.kind === 'stake').length;
        if (waiting >= MAX_UNBONDING_ENTRIES) {
          throw new AppError(
            'TOO_MANY_UNBONDINGS',
            `${toHex(ctx.signer)} already has ${waiting} unstakes waiting (at most ${MAX_UNBONDING_ENTRIES}); unstake again when the first completes`,
          );
        }
        const completesNs = ctx.time + ctx.params.staking.unbonding_seconds * NS_PER_SECOND;
        validators.set(ctx.state, v.address, { ...v, stake: rest });
        await startUnbonding(ctx.state, { owner: ctx.signer, kind: 'stake', amount: msg.amount, height: ctx.height, completesNs });
        ctx.events.push(
          event('unstake', { agent: toHex(ctx.signer), validator: toHex(v.address), amount: msg.amount.toString(), stake: rest.toString(), completes: formatTime(completesNs) }),
        );
      },

      async unjail(ctx) {
        const v = await validatorOf(ctx.state, ctx.signer);
        if (isOutForGood(v)) throw new AppError('VALIDATOR_STATE', `validator ${toHex(v.address)} is ${outForGoodWhy(v)} and can never unjail; unstake what is left (agentcluster tx staking unstake) and validate again under a new consensus key`);
        if (v.jailedUntilNs === 0n) throw new AppError('VALIDATOR_STATE', `validator ${toHex(v.address)} is not jailed`);
        if (ctx.time < v.jailedUntilNs) {
          throw new AppError('VALIDATOR_STATE', `validator ${toHex(v.address)} is jailed until ${formatTime(v.jailedUntilNs)}; unjail after that`);
        }
        validators.set(ctx.state, v.address, { ...v, jailedUntilNs: 0n });
        ctx.events.push(event('unjail', { validator: toHex(v.address), operator: toHex(v.operator) }));
      },
    },

    async endBlock(ctx) {
      for (const u of await completeUnbondings(ctx.state, ctx.time)) {
        ctx.events.push(event('unbonding_complete', { owner: toHex(u.owner), kind: u.kind, amount: u.amount.toString() }));
        if (u.kind !== 'bond') continue;
        // A deregistered agent is gone once its bond is back; the key may register again.
        const agent = await getAgent(ctx.state, u.owner);
        if (agent !== undefined && agent.status === 'unbonding') agents.delete(ctx.state, u.owner);
      }
      ctx.validatorUpdates.push(...(await updateSet(ctx, scorer)));
    },
  };
}
