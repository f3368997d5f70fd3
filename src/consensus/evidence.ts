// Evidence of double voting, and BFT time (the block time derived from the votes of the previous commit).
// No IO and no clock: the caller passes the current height and the validator set of the evidence's height.
import { BlockIdFlag, VoteType, type CommitSig, type DuplicateVoteEvidence } from '../codec/types.ts';
import { voteSignBytes } from '../codec/signbytes.ts';
import { verify } from '../crypto/keys.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';
import { AppError } from '../errors.ts';
import { equalBlockId } from './block-id.ts';
import type { ValidatorSet } from './validator-set.ts';

/** One millisecond in the nanoseconds that block and vote times use. */
export const MS_NS = 1_000_000n;

export interface EvidenceCheckOptions {
  /** The height of the chain now (the block the evidence would go into, or the last committed one). */
  currentHeight: bigint;
  /** Evidence older than this many blocks (currentHeight - height > maxAgeBlocks) is rejected. */
  maxAgeBlocks: bigint;
}

/** DuplicateVoteEvidence, or the Equivocation the vote keeper reports (no timestamp), or just the two votes. */
export type EvidenceLike = Pick<DuplicateVoteEvidence, 'voteA' | 'voteB'> & Partial<Omit<DuplicateVoteEvidence, 'voteA' | 'voteB'>>;

/**
 * Checks duplicate-vote evidence against the validator set of the votes' height. Returns null when the evidence is
 * valid, or a sentence saying why it is not. validatorPower and totalVotingPower, when present, must match the set.
 */
export function verifyDuplicateVoteEvidence(ev: EvidenceLike, chainId: string, validatorSet: ValidatorSet, opts: EvidenceCheckOptions): string | null {
  const { voteA: a, voteB: b } = ev;
  if (a.type !== VoteType.PREVOTE && a.type !== VoteType.PRECOMMIT) return `vote type ${a.type} is neither prevote nor precommit`;
  if (a.type !== b.type) return `the votes have different types (${a.type}, ${b.type})`;
  if (a.height !== b.height) return `the votes are for different heights (${a.height}, ${b.height})`;
  if (a.round !== b.round) return `the votes are for different rounds (${a.round}, ${b.round})`;
  if (!equalBytes(a.validatorAddress, b.validatorAddress)) return 'the votes come from different validators';
  if (equalBlockId(a.blockId, b.blockId)) return 'the votes are for the same block id: that is no equivocation';
  if (a.height > opts.currentHeight) return `the evidence is for height ${a.height}, above the current height ${opts.currentHeight}`;
  if (opts.currentHeight - a.height > opts.maxAgeBlocks) {
    return `the evidence is too old: height ${a.height} is more than ${opts.maxAgeBlocks} blocks below ${opts.currentHeight}`;
  }
  const validator = validatorSet.byAddress(a.validatorAddress);
  if (validator === undefined) return `validator ${toHex(a.validatorAddress)} is not in the validator set of height ${a.height}`;
  const index = validatorSet.indexOf(a.validatorAddress);
  if (a.validatorIndex !== index || b.validatorIndex !== index) return `the votes carry validator index ${a.validatorIndex}/${b.validatorIndex}, expected ${index}`;
  if (ev.validatorPower !== undefined && ev.validatorPower !== validator.power) {
    return `validator_power ${ev.validatorPower} does not match the validator's power ${validator.power}`;
  }
  if (ev.totalVotingPower !== undefined && ev.totalVotingPower !== validatorSet.totalPower) {
    return `total_voting_power ${ev.totalVotingPower} does not match the set's total ${validatorSet.totalPower}`;
  }
  if (!verify(a.signature, voteSignBytes(chainId, a), validator.pubKey)) return 'vote_a has an invalid signature';
  if (!verify(b.signature, voteSignBytes(chainId, b), validator.pubKey)) return 'vote_b has an invalid signature';
  return null;
}

/**
 * BFT time: the power-weighted median of the timestamps of the COMMIT signatures of a commit (NIL and ABSENT
 * signatures do not count). Sorted by time, the median is the first timestamp at which the power walked so far is
 * more than half of the counted power. A faulty minority (less than 1/3 of the power) cannot move it outside the
 * range of the correct validators' times. Throws AppError('INVALID_FIELD') when a signer is not in the set or no
 * COMMIT signature is present.
 */
export function bftTime(commit: { signatures: readonly CommitSig[] }, validatorSet: ValidatorSet): bigint {
  const weighted: { time: bigint; power: bigint }[] = [];
  let total = 0n;
  for (const sig of commit.signatures) {
    if (sig.blockIdFlag !== BlockIdFlag.COMMIT) continue;
    const validator = validatorSet.byAddress(sig.validatorAddress);
    if (validator === undefined) {
      throw new AppError('INVALID_FIELD', `commit signature from ${toHex(sig.validatorAddress)}, who is not in the validator set`);
    }
    weighted.push({ time: sig.timestamp, power: validator.power });
    total += validator.power;
  }
  if (total === 0n) throw new AppError('INVALID_FIELD', 'the commit holds no COMMIT signature: it has no BFT time');
  weighted.sort((x, y) => (x.time < y.time ? -1 : x.time > y.time ? 1 : 0));
  let walked = 0n;
  for (const w of weighted) {
    walked += w.power;
    if (2n * walked > total) return w.time;
  }
  return weighted[weighted.length - 1].time; // unreachable: the whole walk is more than half
}

/** The time of the next block: the median of the last commit, but always at least 1 ms after the previous block. */
export function nextBlockTime(prevTime: bigint, median: bigint): bigint {
  const min = prevTime + MS_NS;
  return median > min ? median : min;
}

/** A block's time is valid only if it is strictly after its parent's. */
export function isBlockTimeAfter(prevTime: bigint, time: bigint): boolean {
  return time > prevTime;
}
