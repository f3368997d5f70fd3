// The reputation module: validator reputation from consensus (begin-block), the endorsement messages, and the
// validator scorer staking turns into voting power.
//
// Begin-block, for the previous block's commit: the operator agent of every validator in it gains
// reputation.validator_signed if its signature is in the commit and loses reputation.validator_missed if not; each
// duplicate-vote evidence in the block costs the offender's operator reputation.validator_double_sign (one penalty per
// evidence: each is a distinct proven double vote). It runs after slashing, which has already punished the stake.
//
// Voting power moves with reputation only at epoch boundaries, in both directions. At a boundary (the height staking
// recomputes the set), end-block records each validator's score, SCORE_ONE + its operator's validator dimension
// decayed to the block time (at least 0), just before staking's end-block reads it; until the next boundary the
// scorer returns that recorded score. So between boundaries only stake and eligibility change power (staking lowers it
// at once for those); reputation does not. Applying the live score between boundaries would lower a validator's power,
// and update the set, in every block where its precommit missed the commit, and in every block where its positive
// score decayed more than it gained (which is every other block once it has settled): constant set churn for a
// signal with a 90-day half-life. Misbehaviour still costs power at once through slashing (jail, tombstone).
import { toHex } from '../crypto/bytes.ts';
import { allValidators, validators } from '../state/validators.ts';
import { event, type HookContext, type Module } from '../state/module.ts';
import type { ValidatorScorer } from '../state/staking.ts';
import type { AppParams } from '../state/params.ts';
import type { StateReader } from '../state/store.ts';
import { SCORE_ONE } from './factor.ts';
import { adjustStored, decayedScore, reputationRecords, storedRecord } from './records.ts';
import { endorsementHandlers } from './endorsements.ts';

async function beginBlock(ctx: HookContext): Promise<void> {
  const p = ctx.params.reputation;
  for (const vote of ctx.lastCommit) {
    const v = await validators.get(ctx.state, vote.address);
    if (v === undefined) continue;
    await adjustStored(ctx.state, ctx.params, v.operator, 'validator', vote.signed ? p.validator_signed : -p.validator_missed, ctx.time);
  }
  for (const ev of ctx.evidence) {
    const v = await validators.get(ctx.state, ev.value.voteA.validatorAddress);
    if (v === undefined) continue;
    const score = await adjustStored(ctx.state, ctx.params, v.operator, 'validator', -p.validator_double_sign, ctx.time);
    ctx.events.push(
      event('reputation_penalty', {
        agent: toHex(v.operator),
        validator: toHex(v.address),
        dimension: 'validator',
        reason: 'double_sign',
        delta: (-p.validator_double_sign).toString(),
        score: score.toString(),
      }),
    );
  }
}

/** Is `height` an epoch boundary? The same rule as staking's end-block (staking.ts updateSet). */
export function isEpochBoundary(height: bigint, params: AppParams): boolean {
  return height % params.staking.epoch_blocks === 0n;
}

/** At an epoch boundary: record every validator's live score for staking's end-block and the epoch that follows. */
async function endBlock(ctx: HookContext): Promise<void> {
  if (!isEpochBoundary(ctx.height, ctx.params)) return;
  const done = new Set<string>();
  for (const v of await allValidators(ctx.state)) {
    const key = toHex(v.operator);
    if (done.has(key)) continue; // one score per operator (an agent that came back has its old validator too)
    done.add(key);
    const record = await storedRecord(ctx.state, v.operator);
    const score = scoreOfDimension(decayedScore(record.validator, ctx.params, ctx.time));
    if (record.epochHeight > 0n && record.epochScore === score) continue;
    reputationRecords.set(ctx.state, v.operator, { ...record, epochScore: score, epochHeight: ctx.height });
  }
}

/** SCORE_ONE + a validator dimension, at least 0: the score the factor curve takes (neutral for a new validator). */
export function scoreOfDimension(validatorDimension: bigint): bigint {
  const score = SCORE_ONE + validatorDimension;
  return score < 0n ? 0n : score;
}

/** An operator's live validator score: its validator dimension decayed to `now`, made a score. */
export async function operatorScore(state: StateReader, params: AppParams, operator: Uint8Array, now: bigint): Promise<bigint> {
  return scoreOfDimension(decayedScore((await storedRecord(state, operator)).validator, params, now));
}

/** The score recorded for an operator at the last epoch boundary; SCORE_ONE before its first. */
export async function epochScore(state: StateReader, operator: Uint8Array): Promise<bigint> {
  const r = await storedRecord(state, operator);
  return r.epochHeight > 0n ? r.epochScore : SCORE_ONE;
}

/**
 * The ValidatorScorer staking uses for voting power (stake x reputationFactor(score), factor in [1/2, 2)): the score
 * recorded at the last epoch boundary, which at a boundary is the live score (see the header). The block time is not
 * needed: the boundary's end-block already decayed to it.
 */
export const reputationScorer: ValidatorScorer = (state, v) => epochScore(state, v.operator);

export const reputationModule: Module = {
  name: 'reputation',
  handlers: endorsementHandlers,
  beginBlock,
  endBlock,
};
