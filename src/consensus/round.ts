// The Tendermint round state machine of one node: Algorithm 1 of "The latest gossip on BFT consensus"
// (Buchman, Kwon, Milosevic, 2018, arXiv:1807.04938). Lines cited as "Alg.1 Lnn" are that algorithm's.
//
// Pure: apply(state, input) -> { state, effects }. No IO, no clock, no keys, no randomness. The host:
//   - feeds inputs one at a time (start_height, proposals and votes whose signatures it checked, fired timeouts,
//     the block it built in answer to get_value);
//   - carries out the effects (build a block, sign and broadcast a proposal or vote, start a timer, commit a block,
//     store evidence). Our own signed proposal and votes come back to the core as ordinary inputs.
// The input state is never modified; a new state is returned (the vote keeper is copied on write).
//
// The "upon" rules of the paper are conditions over the messages received so far, so they are evaluated
// level-triggered: after every input, rules are tried in a fixed order until none fires (each firing changes the
// step, a once-flag, the round or the decision, so this terminates). Votes and proposals for other rounds of the
// height (past and future) are kept, so a late proposal or polka still fires the rules it completes.
// Order: L49 (decide, any round) first, then L55 (round skip), then the rules of the current round:
// L22/L28 (propose step), L36, L44, L34, L47.
//
// Deliberate choices, each marked in the code:
//   - The proposer also schedules timeoutPropose (the paper does only for the others, L19-20), as CometBFT does, so
//     a host that fails to build or sign the proposal cannot stall the node in the propose step.
//   - L49 accepts the proposal of any round of this height carrying the decided block id (id(v) identifies v), not
//     only the proposal of round r, so a re-proposed block is decided even if the round-r proposal was missed.
//   - Messages more than config.maxFutureRounds rounds ahead of the current round are rejected (bounded memory and
//     bounded proposer computation against a byzantine sender); at most MAX_PROPOSALS_PER_ROUND distinct proposals
//     of an equivocating proposer are kept per round.
import { EMPTY_BLOCK_ID, VoteType, type BlockID, type Proposal, type Vote } from '../codec/types.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';
import { equalBlockId, isNilBlockId } from './block-id.ts';
import { AppError } from '../errors.ts';
import { VoteKeeper, type Equivocation } from './vote-keeper.ts';
import type { ValidatorEntry, ValidatorSet } from './validator-set.ts';

export type Step = 'new' | 'propose' | 'prevote' | 'precommit' | 'commit';
export type TimeoutKind = 'propose' | 'prevote' | 'precommit';

/** Round timeouts in milliseconds: timeout(kind, round) = base + delta x round (CometBFT's rule). Integers. */
export interface TimeoutConfig {
  proposeMs: number | bigint;
  proposeDeltaMs: number | bigint;
  prevoteMs: number | bigint;
  prevoteDeltaMs: number | bigint;
  precommitMs: number | bigint;
  precommitDeltaMs: number | bigint;
}

export interface RoundConfig {
  /** Our validator address, or null for a node that only follows consensus. */
  address: Uint8Array | null;
  timeouts: TimeoutConfig;
  /** Votes and proposals more than this many rounds ahead of ours are rejected. Default DEFAULT_MAX_FUTURE_ROUNDS. */
  maxFutureRounds?: number;
}

export const DEFAULT_MAX_FUTURE_ROUNDS = 1000;
export const MAX_PROPOSALS_PER_ROUND = 4;

export interface ProposalRecord {
  proposal: Proposal;
  /** The paper's valid(v), as the host judged the block. */
  valid: boolean;
}

export interface Decision {
  round: number;
  blockId: BlockID;
}

export interface RoundState {
  readonly config: RoundConfig;
  readonly height: bigint;
  readonly round: number;
  readonly step: Step;
  readonly validatorSet: ValidatorSet | null;
  readonly lockedValue: BlockID | null;
  readonly lockedRound: number;
  readonly validValue: BlockID | null;
  readonly validRound: number;
  /** Votes of this height, all rounds. Null before the first start_height. */
  readonly votes: VoteKeeper | null;
  /** Proposals of this height from each round's proposer, by round, in arrival order. */
  readonly proposals: ReadonlyMap<number, readonly ProposalRecord[]>;
  /** Alg.1 L34 "for the first time": the prevote timeout of the current round was scheduled. */
  readonly prevoteTimeoutScheduled: boolean;
  /** Alg.1 L47 "for the first time": the precommit timeout of the current round was scheduled. */
  readonly precommitTimeoutScheduled: boolean;
  /** Alg.1 L36 "for the first time": the polka for the proposal of the current round was acted on. */
  readonly polkaForProposalSeen: boolean;
  /** We are the proposer, asked the host for a value (get_value), and wait for proposal_value. */
  readonly awaitingValue: boolean;
  /** Set when the height is decided (step 'commit'). */
  readonly decision: Decision | null;
}

export type RoundInput =
  | { tag: 'start_height'; height: bigint; validatorSet: ValidatorSet }
  /** `from` is the address of the validator whose key verified proposal.signature. */
  | { tag: 'proposal'; proposal: Proposal; from: Uint8Array; valid: boolean }
  | { tag: 'vote'; vote: Vote }
  | { tag: 'timeout'; kind: TimeoutKind; height: bigint; round: number }
  | { tag: 'proposal_value'; height: bigint; round: number; blockId: BlockID };

export type RoundEffect =
  | { tag: 'get_value'; height: bigint; round: number }
  | { tag: 'publish_proposal'; height: bigint; round: number; polRound: number; blockId: BlockID }
  | { tag: 'publish_vote'; type: typeof VoteType.PREVOTE | typeof VoteType.PRECOMMIT; height: bigint; round: number; blockId: BlockID }
  | { tag: 'schedule_timeout'; kind: TimeoutKind; height: bigint; round: number; durationMs: number }
  | { tag: 'decide'; height: bigint; round: number; blockId: BlockID; precommits: Vote[] }
  | { tag: 'evidence'; evidence: Equivocation };

export interface Transition {
  state: RoundState;
  effects: RoundEffect[];
  /** Why the input was ignored (stale, malformed, from the wrong sender...), for the host's logs. */
  rejected?: string;
}

/** The state of a node before its first height. */
export function initialState(config: RoundConfig): RoundState {
  return {
    config,
    height: 0n,
    round: 0,
    step: 'new',
    validatorSet: null,
    lockedValue: null,
    lockedRound: -1,
    validValue: null,
    validRound: -1,
    votes: null,
    proposals: new Map(),
    prevoteTimeoutScheduled: false,
    precommitTimeoutScheduled: false,
    polkaForProposalSeen: false,
    awaitingValue: false,
    decision: null,
  };
}

/** timeout(kind, round) = base + delta x round, in milliseconds. */
export function timeoutDuration(timeouts: TimeoutConfig, kind: TimeoutKind, round: number): number {
  const [base, delta] =
    kind === 'propose'
      ? [timeouts.proposeMs, timeouts.proposeDeltaMs]
      : kind === 'prevote'
        ? [timeouts.prevoteMs, timeouts.prevoteDeltaMs]
        : [timeouts.precommitMs, timeouts.precommitDeltaMs];
  return Number(BigInt(base) + BigInt(delta) * BigInt(round));
}

/** The proposer of a round at the state's height (Alg.1 proposer(h, r)). */
export function proposerOf(state: RoundState, round: number): Readonly<ValidatorEntry> {
  if (state.validatorSet === null) throw new RangeError('no height started: the proposer is unknown');
  return state.validatorSet.proposerAt(round);
}

// ---------------------------------------------------------------------------------------------------------------

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Draft = Mutable<RoundState>;

class Ctx {
  s: Draft;
  effects: RoundEffect[] = [];
  constructor(state: RoundState) {
    this.s = { ...state };
  }
  done(rejected?: string): Transition {
    const out: Transition = { state: this.s, effects: this.effects };
    if (rejected !== undefined) out.rejected = rejected;
    return out;
  }
}

function isValidator(s: RoundState): boolean {
  return s.config.address !== null && s.validatorSet !== null && s.validatorSet.has(s.config.address);
}

function isProposer(s: RoundState, round: number): boolean {
  return isValidator(s) && equalBytes(proposerOf(s, round).address, s.config.address!);
}

function maxFutureRounds(s: RoundState): number {
  return s.config.maxFutureRounds ?? DEFAULT_MAX_FUTURE_ROUNDS;
}

function publishVote(c: Ctx, type: typeof VoteType.PREVOTE | typeof VoteType.PRECOMMIT, blockId: BlockID): void {
  if (!isValidator(c.s)) return; // a non-validator follows the steps but never votes
  c.effects.push({ tag: 'publish_vote', type, height: c.s.height, round: c.s.round, blockId });
}

function scheduleTimeout(c: Ctx, kind: TimeoutKind): void {
  c.effects.push({
    tag: 'schedule_timeout',
    kind,
    height: c.s.height,
    round: c.s.round,
    durationMs: timeoutDuration(c.s.config.timeouts, kind, c.s.round),
  });
}

function lockedOn(s: RoundState, v: BlockID): boolean {
  return s.lockedValue !== null && equalBlockId(s.lockedValue, v);
}

// Alg.1 L11-21: StartRound(round)
function startRound(c: Ctx, round: number): void {
  const s = c.s;
  s.round = round; // L11
  s.step = 'propose'; // L12
  s.prevoteTimeoutScheduled = false;
  s.precommitTimeoutScheduled = false;
  s.polkaForProposalSeen = false;
  s.awaitingValue = false;
  if (isProposer(s, round)) {
    // L13-18: the proposer proposes its validValue if it has one, else asks the host for a new value
    if (s.validValue !== null) {
      c.effects.push({ tag: 'publish_proposal', height: s.height, round, polRound: s.validRound, blockId: s.validValue });
    } else {
      s.awaitingValue = true;
      c.effects.push({ tag: 'get_value', height: s.height, round });
    }
  }
  // L19-21: schedule OnTimeoutPropose. (Deviation: the proposer schedules it too, as CometBFT does.)
  scheduleTimeout(c, 'propose');
}

/** Alg.1 L49-54: decide on 2f+1 precommits for id(v) in ANY round r, given a valid proposal of v. */
function tryDecide(c: Ctx): boolean {
  const s = c.s;
  const votes = s.votes!;
  for (const r of votes.precommitQuorumRounds()) {
    const v = votes.quorumValue(r, VoteType.PRECOMMIT)!;
    // The proposal of round r, or (relaxed, see header) a proposal of another round carrying the same block id.
    const own = s.proposals.get(r)?.find((p) => equalBlockId(p.proposal.blockId, v));
    let record = own;
    if (record === undefined || !record.valid) {
      for (const list of s.proposals.values()) {
        const other = list.find((p) => p.valid && equalBlockId(p.proposal.blockId, v));
        if (other !== undefined) {
          record = other;
          break;
        }
      }
    }
    if (record === undefined || !record.valid) continue; // L50: only a valid v is decided
    // L51-54: decision_p[h_p] = v. The host commits the block and starts the next height with start_height.
    s.step = 'commit';
    s.decision = { round: r, blockId: v };
    s.awaitingValue = false;
    c.effects.push({ tag: 'decide', height: s.height, round: r, blockId: v, precommits: votes.commitFor(r, v) });
    return true;
  }
  return false;
}

/** Alg.1 L55-56: f+1 (in power) of the validators sent messages of a round above ours: StartRound(that round). */
function trySkip(c: Ctx): boolean {
  const target = c.s.votes!.highestSkipRoundAbove(c.s.round);
  if (target === null) return false;
  startRound(c, target);
  return true;
}

/** Alg.1 L22-27 and L28-33: the proposal of the current round, while in the propose step. */
function tryProposeStep(c: Ctx): boolean {
  const s = c.s;
  if (s.step !== 'propose') return false;
  for (const { proposal, valid } of s.proposals.get(s.round) ?? []) {
    const v = proposal.blockId;
    const vr = proposal.polRound;
    if (vr === -1) {
      // Alg.1 L22-27: upon PROPOSAL(h, r, v, -1) from proposer(h, r) while step = propose
      const ok = valid && (s.lockedRound === -1 || lockedOn(s, v)); // L23
      publishVote(c, VoteType.PREVOTE, ok ? v : EMPTY_BLOCK_ID); // L24 / L26
      s.step = 'prevote'; // L27
      return true;
    }
    if (vr >= 0 && vr < s.round && s.votes!.hasQuorum(vr, VoteType.PREVOTE, v)) {
      // Alg.1 L28-33: upon PROPOSAL(h, r, v, vr) AND 2f+1 PREVOTE(h, vr, id(v)) while step = propose, 0 <= vr < r
      const ok = valid && (s.lockedRound <= vr || lockedOn(s, v)); // L29
      publishVote(c, VoteType.PREVOTE, ok ? v : EMPTY_BLOCK_ID); // L30 / L32
      s.step = 'prevote'; // L33
      return true;
    }
  }
  return false;
}

/** Alg.1 L36-43: a valid proposal of this round with 2f+1 prevotes for it, step >= prevote, first time. */
function tryPolkaForProposal(c: Ctx): boolean {
  const s = c.s;
  if ((s.step !== 'prevote' && s.step !== 'precommit') || s.polkaForProposalSeen) return false;
  for (const { proposal, valid } of s.proposals.get(s.round) ?? []) {
    const v = proposal.blockId;
    if (!valid || !s.votes!.hasQuorum(s.round, VoteType.PREVOTE, v)) continue;
    s.polkaForProposalSeen = true;
    if (s.step === 'prevote') {
      // L37-41: lock on v and precommit it
      s.lockedValue = v; // L38
      s.lockedRound = s.round; // L39
      publishVote(c, VoteType.PRECOMMIT, v); // L40
      s.step = 'precommit'; // L41
    }
    s.validValue = v; // L42
    s.validRound = s.round; // L43
    return true;
  }
  return false;
}

/** Alg.1 L44-46: 2f+1 prevotes for nil in this round while in the prevote step: precommit nil. */
function tryPolkaNil(c: Ctx): boolean {
  const s = c.s;
  if (s.step !== 'prevote' || !s.votes!.hasQuorum(s.round, VoteType.PREVOTE, EMPTY_BLOCK_ID)) return false;
  publishVote(c, VoteType.PRECOMMIT, EMPTY_BLOCK_ID); // L45
  s.step = 'precommit'; // L46
  return true;
}

/** Alg.1 L34-35: 2f+1 prevotes for anything in this round while in the prevote step, first time: timeoutPrevote. */
function tryPrevoteAny(c: Ctx): boolean {
  const s = c.s;
  if (s.step !== 'prevote' || s.prevoteTimeoutScheduled || !s.votes!.hasQuorum(s.round, VoteType.PREVOTE, null)) return false;
  s.prevoteTimeoutScheduled = true;
  scheduleTimeout(c, 'prevote');
  return true;
}

/** Alg.1 L47-48: 2f+1 precommits for anything in this round, first time: timeoutPrecommit. */
function tryPrecommitAny(c: Ctx): boolean {
  const s = c.s;
  if (s.precommitTimeoutScheduled || !s.votes!.hasQuorum(s.round, VoteType.PRECOMMIT, null)) return false;
  s.precommitTimeoutScheduled = true;
  scheduleTimeout(c, 'precommit');
  return true;
}

// Each firing changes the round, the step, a once-flag or the decision, so one input fires a handful of rules at most.
const MAX_FIRINGS_PER_INPUT = 64;

function evaluate(c: Ctx): void {
  for (let firings = 0; ; firings++) {
    if (firings > MAX_FIRINGS_PER_INPUT) {
      throw new AppError('INTERNAL', `consensus rules fired more than ${MAX_FIRINGS_PER_INPUT} times for one input at ${c.s.height}/${c.s.round}: a bug in round.ts`);
    }
    if (c.s.step === 'commit' || c.s.step === 'new') return;
    if (tryDecide(c)) return;
    if (trySkip(c)) continue;
    if (tryProposeStep(c)) continue;
    if (tryPolkaForProposal(c)) continue;
    if (tryPolkaNil(c)) continue;
    if (tryPrevoteAny(c)) continue;
    if (tryPrecommitAny(c)) continue;
    return;
  }
}

function checkRound(s: RoundState, round: number, what: string): string | null {
  if (!Number.isSafeInteger(round) || round < 0) return `${what} round ${round} is not a non-negative integer`;
  if (round > s.round + maxFutureRounds(s)) return `${what} round ${round} is more than ${maxFutureRounds(s)} rounds ahead of round ${s.round}`;
  return null;
}

function onProposal(c: Ctx, input: Extract<RoundInput, { tag: 'proposal' }>): Transition {
  const s = c.s;
  const p = input.proposal;
  if (s.step === 'new') return c.done('no height started yet');
  if (p.height !== s.height) return c.done(`proposal is for height ${p.height}, not ${s.height}`);
  if (p.type !== VoteType.PROPOSAL) return c.done(`proposal type ${p.type} is not 32`);
  const bad = checkRound(s, p.round, 'proposal');
  if (bad !== null) return c.done(bad);
  if (!Number.isSafeInteger(p.polRound) || p.polRound < -1 || p.polRound >= p.round) {
    return c.done(`proposal pol_round ${p.polRound} must be -1 or below its round ${p.round}`);
  }
  if (isNilBlockId(p.blockId)) return c.done('proposal is for the nil block id');
  const expected = proposerOf(s, p.round).address;
  if (!equalBytes(input.from, expected)) {
    return c.done(`proposal for round ${p.round} comes from ${toHex(input.from)}, not from the round's proposer ${toHex(expected)}`);
  }
  const list = s.proposals.get(p.round) ?? [];
  if (list.some((r) => equalBlockId(r.proposal.blockId, p.blockId))) return c.done('duplicate proposal');
  if (list.length >= MAX_PROPOSALS_PER_ROUND) return c.done(`already ${list.length} conflicting proposals in round ${p.round}`);
  const proposals = new Map(s.proposals);
  proposals.set(p.round, [...list, { proposal: p, valid: input.valid }]);
  s.proposals = proposals;
  evaluate(c);
  return c.done();
}

function onVote(c: Ctx, vote: Vote): Transition {
  const s = c.s;
  if (s.step === 'new' || s.votes === null) return c.done('no height started yet');
  if (vote.height !== s.height) return c.done(`vote is for height ${vote.height}, not ${s.height}`);
  const bad = checkRound(s, vote.round, 'vote');
  if (bad !== null) return c.done(bad);
  const votes = s.votes.clone();
  const result = votes.addVote(vote);
  switch (result.status) {
    case 'rejected':
      return c.done(result.reason);
    case 'duplicate':
      return c.done('duplicate vote');
    case 'equivocation_known':
      return c.done('another conflicting vote from a validator already reported for equivocation');
    case 'equivocation':
      // Counted for its own block id only (see vote-keeper.ts), so it can complete a quorum for that value.
      s.votes = votes;
      c.effects.push({ tag: 'evidence', evidence: result.evidence });
      evaluate(c);
      return c.done();
    case 'added':
      s.votes = votes;
      evaluate(c);
      return c.done();
  }
}

function onTimeout(c: Ctx, input: Extract<RoundInput, { tag: 'timeout' }>): Transition {
  const s = c.s;
  if (s.step === 'new' || s.step === 'commit') return c.done(`stale ${input.kind} timeout: step is ${s.step}`);
  if (input.height !== s.height || input.round !== s.round) {
    return c.done(`stale ${input.kind} timeout for ${input.height}/${input.round}; now at ${s.height}/${s.round}`);
  }
  if (input.kind === 'propose') {
    // Alg.1 L57-60: OnTimeoutPropose: still in the propose step -> prevote nil
    if (s.step !== 'propose') return c.done(`propose timeout in step ${s.step}: nothing to do`);
    publishVote(c, VoteType.PREVOTE, EMPTY_BLOCK_ID); // L59
    s.step = 'prevote'; // L60
    s.awaitingValue = false;
  } else if (input.kind === 'prevote') {
    // Alg.1 L61-64: OnTimeoutPrevote: still in the prevote step -> precommit nil
    if (s.step !== 'prevote') return c.done(`prevote timeout in step ${s.step}: nothing to do`);
    publishVote(c, VoteType.PRECOMMIT, EMPTY_BLOCK_ID); // L63
    s.step = 'precommit'; // L64
  } else {
    // Alg.1 L65-67: OnTimeoutPrecommit: StartRound(round + 1), whatever the step
    startRound(c, s.round + 1);
  }
  evaluate(c);
  return c.done();
}

function onProposalValue(c: Ctx, input: Extract<RoundInput, { tag: 'proposal_value' }>): Transition {
  const s = c.s;
  if (!s.awaitingValue || s.step !== 'propose' || input.height !== s.height || input.round !== s.round) {
    return c.done(`no value is awaited for ${input.height}/${input.round}`);
  }
  if (isNilBlockId(input.blockId)) return c.done('the proposed value must not be the nil block id');
  // Alg.1 L17-18: proposal <- getValue(); broadcast PROPOSAL(h, r, proposal, validRound = -1)
  s.awaitingValue = false;
  c.effects.push({ tag: 'publish_proposal', height: s.height, round: s.round, polRound: s.validRound, blockId: input.blockId });
  return c.done();
}

function onStartHeight(c: Ctx, input: Extract<RoundInput, { tag: 'start_height' }>): Transition {
  const s = c.s;
  if (input.height < 1n) return c.done(`height ${input.height} must be at least 1`);
  if (s.step !== 'new' && input.height <= s.height) return c.done(`height ${input.height} is not above the current height ${s.height}`);
  // Alg.1 L52-53 (and initialisation): new height, locks and valid values reset, empty message log
  s.height = input.height;
  s.validatorSet = input.validatorSet;
  s.votes = new VoteKeeper(input.height, input.validatorSet);
  s.proposals = new Map();
  s.lockedValue = null;
  s.lockedRound = -1;
  s.validValue = null;
  s.validRound = -1;
  s.decision = null;
  startRound(c, 0); // L54 / "upon start do StartRound(0)"
  evaluate(c);
  return c.done();
}

/** The transition function: the new state and the effects the host must carry out, in order. */
export function apply(state: RoundState, input: RoundInput): Transition {
  const c = new Ctx(state);
  switch (input.tag) {
    case 'start_height':
      return onStartHeight(c, input);
    case 'proposal':
      return onProposal(c, input);
    case 'vote':
      return onVote(c, input.vote);
    case 'timeout':
      return onTimeout(c, input);
    case 'proposal_value':
      return onProposalValue(c, input);
    default:
      return c.done(`unknown input ${(input as { tag: string }).tag}`);
  }
}
