// Votes of ONE height, by round and type, weighted by voting power. Pure bookkeeping: no IO, no signatures (the host
// checks them before a vote gets here), no clock.
//
// addVote() counts a vote and reports the thresholds it newly crosses, each exactly once per (round, type, kind):
//   polka_any          more than 2/3 of the power prevoted in the round (for anything, nil included)
//   polka_nil          more than 2/3 prevoted nil
//   polka_value        more than 2/3 prevoted one block id
//   precommit_any      more than 2/3 precommitted in the round (for anything)
//   precommit_value    more than 2/3 precommitted one block id
//   skip_round         validators holding f+1 of the power (more than 1/3) sent some vote in the round. Reported for
//                      every round once; the consumer acts on it only if the round is above its current one
// A validator's second vote for the same (round, type) with the same block id is a duplicate (ignored, whatever its
// timestamp or signature). One with a different block id is an equivocation, returned once as evidence (both votes),
// and counted towards ITS block id only (never towards "anything" nor the f+1 round skip): the paper's rules ask for
// 2f+1 messages from distinct validators for a value, and an equivocator's vote for that value is one of them. Without
// this, a node that saw a double voter's other vote first could never recognise the quorum the rest of the network
// decided on, and would stall a height behind (the commit catch-up of block sync covers the case of a validator with
// three or more different votes, of which only the first two are kept). Safety is unaffected: two quorums for
// different values still need more than f equivocators.
//
// Copy-on-write: clone() is cheap (it shares the per-round tallies) and a tally is copied the first time either copy
// writes to it, so the pure round machine can keep old states intact while adding votes to a new one.
import { BlockIdFlag, VoteType, type BlockID, type Commit, type CommitSig, type Vote } from '../codec/types.ts';
import { compareBytes, toHex } from '../crypto/bytes.ts';
import { blockIdKey, equalBlockId, isNilBlockId } from './block-id.ts';
import type { ValidatorSet } from './validator-set.ts';

export type Threshold =
  | { kind: 'polka_any'; round: number }
  | { kind: 'polka_nil'; round: number }
  | { kind: 'polka_value'; round: number; blockId: BlockID }
  | { kind: 'precommit_any'; round: number }
  | { kind: 'precommit_value'; round: number; blockId: BlockID }
  | { kind: 'skip_round'; round: number };

/** Two votes of one validator for the same height, round and type, for different block ids (DuplicateVoteEvidence). */
export interface Equivocation {
  /** voteA has the lower block id (by hash bytes, then part set header), so every node builds the same evidence. */
  voteA: Vote;
  voteB: Vote;
  validatorPower: bigint;
  totalVotingPower: bigint;
}

export type AddVoteResult =
  | { status: 'added'; thresholds: Threshold[] }
  /** The validator already has a vote for this block id in this round and type: ignored. */
  | { status: 'duplicate' }
  /**
   * First conflicting vote of this validator in this round and type: reported as evidence and counted for its block
   * id only, which may cross a value (or nil) threshold.
   */
  | { status: 'equivocation'; evidence: Equivocation; thresholds: Threshold[] }
  /** A further conflicting vote of a validator already reported for this round and type: not counted. */
  | { status: 'equivocation_known' }
  | { status: 'rejected'; reason: string };

type VoteTypeNum = typeof VoteType.PREVOTE | typeof VoteType.PRECOMMIT;

class Tally {
  /** The counted vote of each validator, by validator index. */
  votes: (Vote | undefined)[];
  /** Validators whose equivocation in this (round, type) was already reported. */
  equivocators: Set<number>;
  /** The second (conflicting) vote of each equivocator, counted for its block id only. */
  conflicting: (Vote | undefined)[];
  /** Power by block id key ('' = nil). */
  power: Map<string, bigint>;
  blockIds: Map<string, BlockID>;
  any: bigint;
  /** Thresholds already reported: 'any', 'nil', or 'value'. At most one value can reach a quorum. */
  emitted: Set<string>;

  constructor(n: number, from?: Tally) {
    this.votes = from ? from.votes.slice() : new Array<Vote | undefined>(n).fill(undefined);
    this.equivocators = new Set(from?.equivocators);
    this.conflicting = from ? from.conflicting.slice() : new Array<Vote | undefined>(n).fill(undefined);
    this.power = new Map(from?.power);
    this.blockIds = new Map(from?.blockIds);
    this.any = from?.any ?? 0n;
    this.emitted = new Set(from?.emitted);
  }

  /** Validator i's counted vote (first or conflicting) for this block id, if it has one. */
  static voteFor(tally: Tally, i: number, blockId: BlockID): Vote | undefined {
    const first = tally.votes[i];
    if (first !== undefined && equalBlockId(first.blockId, blockId)) return first;
    const second = tally.conflicting[i];
    return second !== undefined && equalBlockId(second.blockId, blockId) ? second : undefined;
  }
}

class RoundVotes {
  prevotes: Tally;
  precommits: Tally;
  /** Validators (by index) with any counted vote in this round, and their total power. */
  voters: Set<number>;
  voterPower: bigint;
  skipEmitted: boolean;

  constructor(n: number, from?: RoundVotes) {
    this.prevotes = new Tally(n, from?.prevotes);
    this.precommits = new Tally(n, from?.precommits);
    this.voters = new Set(from?.voters);
    this.voterPower = from?.voterPower ?? 0n;
    this.skipEmitted = from?.skipEmitted ?? false;
  }

  tally(type: VoteTypeNum): Tally {
    return type === VoteType.PREVOTE ? this.prevotes : this.precommits;
  }
}

function compareBlockIds(a: BlockID, b: BlockID): number {
  return (
    compareBytes(a.hash, b.hash) ||
    a.partSetHeader.total - b.partSetHeader.total ||
    compareBytes(a.partSetHeader.hash, b.partSetHeader.hash)
  );
}

export class VoteKeeper {
  readonly height: bigint;
  readonly validatorSet: ValidatorSet;
  #rounds: Map<number, RoundVotes>;
  #owned: Set<RoundVotes>;

  constructor(height: bigint, validatorSet: ValidatorSet) {
    this.height = height;
    this.validatorSet = validatorSet;
    this.#rounds = new Map();
    this.#owned = new Set();
  }

  /** An independent copy; both share unchanged tallies until one of them writes. */
  clone(): VoteKeeper {
    const copy = new VoteKeeper(this.height, this.validatorSet);
    copy.#rounds = new Map(this.#rounds);
    this.#owned = new Set(); // both copies must copy a shared round before writing to it
    return copy;
  }

  #writable(round: number): RoundVotes {
    const n = this.validatorSet.size;
    let rv = this.#rounds.get(round);
    if (rv === undefined) {
      rv = new RoundVotes(n);
    } else if (!this.#owned.has(rv)) {
      rv = new RoundVotes(n, rv);
    } else {
      return rv;
    }
    this.#rounds.set(round, rv);
    this.#owned.add(rv);
    return rv;
  }

  /** Checks the vote against this height and set (never throws), counts it and reports the new thresholds. */
  addVote(vote: Vote): AddVoteResult {
    if (vote.height !== this.height) return { status: 'rejected', reason: `vote is for height ${vote.height}, not ${this.height}` };
    if (vote.type !== VoteType.PREVOTE && vote.type !== VoteType.PRECOMMIT) {
      return { status: 'rejected', reason: `vote type ${vote.type} is neither prevote (1) nor precommit (2)` };
    }
    if (!Number.isSafeInteger(vote.round) || vote.round < 0) return { status: 'rejected', reason: `vote round ${vote.round} is not a non-negative integer` };
    const index = this.validatorSet.indexOf(vote.validatorAddress);
    if (index < 0) return { status: 'rejected', reason: `validator ${toHex(vote.validatorAddress)} is not in the validator set of height ${this.height}` };
    if (vote.validatorIndex !== index) {
      return { status: 'rejected', reason: `vote gives validator index ${vote.validatorIndex} but ${toHex(vote.validatorAddress)} is at index ${index}` };
    }
    const type = vote.type as VoteTypeNum;
    const existing = this.#rounds.get(vote.round)?.tally(type).votes[index];
    if (existing !== undefined) {
      if (equalBlockId(existing.blockId, vote.blockId)) return { status: 'duplicate' };
      if (this.#rounds.get(vote.round)!.tally(type).equivocators.has(index)) return { status: 'equivocation_known' };
      const tally = this.#writable(vote.round).tally(type);
      tally.equivocators.add(index);
      tally.conflicting[index] = vote;
      const [voteA, voteB] = compareBlockIds(existing.blockId, vote.blockId) < 0 ? [existing, vote] : [vote, existing];
      const power = this.validatorSet.validators[index].power;
      return {
        status: 'equivocation',
        evidence: { voteA, voteB, validatorPower: power, totalVotingPower: this.validatorSet.totalPower },
        thresholds: this.#countForValue(tally, type, vote, power),
      };
    }

    const rv = this.#writable(vote.round);
    const tally = rv.tally(type);
    const power = this.validatorSet.validators[index].power;
    tally.votes[index] = vote;
    tally.any += power;
    const thresholds: Threshold[] = [];
    if (tally.any >= this.validatorSet.quorum && !tally.emitted.has('any')) {
      tally.emitted.add('any');
      thresholds.push({ kind: type === VoteType.PREVOTE ? 'polka_any' : 'precommit_any', round: vote.round });
    }
    thresholds.push(...this.#countForValue(tally, type, vote, power));
    if (!rv.voters.has(index)) {
      rv.voters.add(index);
      rv.voterPower += power;
    }
    if (rv.voterPower >= this.validatorSet.oneThirdPlus && !rv.skipEmitted) {
      rv.skipEmitted = true;
      thresholds.push({ kind: 'skip_round', round: vote.round });
    }
    return { status: 'added', thresholds };
  }

  /** Adds the vote's power to its block id and reports a value (or nil) quorum it newly reaches. */
  #countForValue(tally: Tally, type: VoteTypeNum, vote: Vote, power: bigint): Threshold[] {
    const key = blockIdKey(vote.blockId);
    const forBlock = (tally.power.get(key) ?? 0n) + power;
    tally.power.set(key, forBlock);
    if (!tally.blockIds.has(key)) tally.blockIds.set(key, vote.blockId);
    if (forBlock < this.validatorSet.quorum) return [];
    const round = vote.round;
    if (key === '') {
      if (type !== VoteType.PREVOTE || tally.emitted.has('nil')) return [];
      tally.emitted.add('nil');
      return [{ kind: 'polka_nil', round }];
    }
    if (tally.emitted.has('value')) return [];
    tally.emitted.add('value');
    const blockId = tally.blockIds.get(key)!;
    return [type === VoteType.PREVOTE ? { kind: 'polka_value', round, blockId } : { kind: 'precommit_value', round, blockId }];
  }

  // ---- queries (level-triggered: what the counted votes show now) ----

  /** Rounds that hold at least one counted vote, ascending. */
  rounds(): number[] {
    return [...this.#rounds.keys()].sort((a, b) => a - b);
  }

  /** The counted vote of a validator in a round and type, if any. */
  voteOf(round: number, type: VoteTypeNum, address: Uint8Array): Vote | undefined {
    const index = this.validatorSet.indexOf(address);
    return index < 0 ? undefined : this.#rounds.get(round)?.tally(type).votes[index];
  }

  /** Power of the counted votes of a round and type: for one block id (EMPTY_BLOCK_ID = nil), or for anything (null). */
  power(round: number, type: VoteTypeNum, blockId: BlockID | null): bigint {
    const tally = this.#rounds.get(round)?.tally(type);
    if (tally === undefined) return 0n;
    return blockId === null ? tally.any : (tally.power.get(blockIdKey(blockId)) ?? 0n);
  }

  /** More than 2/3 of the power voted (type) in the round: for that block id (nil = EMPTY_BLOCK_ID), or for anything. */
  hasQuorum(round: number, type: VoteTypeNum, blockId: BlockID | null): boolean {
    return this.power(round, type, blockId) >= this.validatorSet.quorum;
  }

  /** The non-nil block id that has more than 2/3 of the votes of that type in the round, if any. */
  quorumValue(round: number, type: VoteTypeNum): BlockID | null {
    const tally = this.#rounds.get(round)?.tally(type);
    if (tally === undefined) return null;
    for (const [key, power] of tally.power) {
      if (key !== '' && power >= this.validatorSet.quorum) return tally.blockIds.get(key)!;
    }
    return null;
  }

  /** Power of the distinct validators with any counted vote in the round. */
  roundPower(round: number): bigint {
    return this.#rounds.get(round)?.voterPower ?? 0n;
  }

  /** The highest round above `round` in which validators with f+1 of the power voted, or null. */
  highestSkipRoundAbove(round: number): number | null {
    let best: number | null = null;
    for (const [r, rv] of this.#rounds) {
      if (r > round && rv.voterPower >= this.validatorSet.oneThirdPlus && (best === null || r > best)) best = r;
    }
    return best;
  }

  /** Rounds in which some block id has a precommit quorum, ascending. */
  precommitQuorumRounds(): number[] {
    return this.rounds().filter((r) => this.quorumValue(r, VoteType.PRECOMMIT) !== null);
  }

  /** The precommits of a round for a block id, in validator-set order (what a Commit is built from). */
  commitFor(round: number, blockId: BlockID): Vote[] {
    const tally = this.#rounds.get(round)?.precommits;
    if (tally === undefined) return [];
    return tally.votes.map((_, i) => Tally.voteFor(tally, i, blockId)).filter((v): v is Vote => v !== undefined);
  }

  /**
   * The Commit for a block id decided in a round, one CommitSig per validator in set order (CometBFT's layout):
   * COMMIT for a precommit of that block, NIL for a precommit of nil, ABSENT for no precommit or one for another
   * block. Null when that block id has no precommit quorum in the round.
   */
  buildCommit(round: number, blockId: BlockID): Commit | null {
    if (isNilBlockId(blockId) || !this.hasQuorum(round, VoteType.PRECOMMIT, blockId)) return null;
    const tally = this.#rounds.get(round)!.precommits;
    const absent = (): CommitSig => ({ blockIdFlag: BlockIdFlag.ABSENT, validatorAddress: new Uint8Array(0), timestamp: 0n, signature: new Uint8Array(0) });
    const signatures = tally.votes.map((first, i): CommitSig => {
      const v = Tally.voteFor(tally, i, blockId) ?? first;
      if (v === undefined) return absent();
      if (isNilBlockId(v.blockId)) return { blockIdFlag: BlockIdFlag.NIL, validatorAddress: v.validatorAddress, timestamp: v.timestamp, signature: v.signature };
      if (!equalBlockId(v.blockId, blockId)) return absent();
      return { blockIdFlag: BlockIdFlag.COMMIT, validatorAddress: v.validatorAddress, timestamp: v.timestamp, signature: v.signature };
    });
    return { height: this.height, round, blockId, signatures };
  }
}
