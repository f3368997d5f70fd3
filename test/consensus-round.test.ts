// The round state machine of one node, driven by hand-built inputs. Four validators of power 1 (total 4: quorum 3,
// f+1 = 2), named A, B, C, D in set order (= address order); with equal powers the proposer of round r is
// A, B, C, D, A, ... (checked below). Signatures are dummies: the core does not verify them.
import t, { type Test } from 'tap';
import { apply, initialState, timeoutDuration, proposerOf, type RoundEffect, type RoundInput, type RoundState, type TimeoutKind } from '../src/consensus/round.ts';
import { ValidatorSet } from '../src/consensus/validator-set.ts';
import { EMPTY_BLOCK_ID, VoteType, type BlockID, type Proposal, type Vote } from '../src/codec/types.ts';
import { generateKeyPair } from '../src/crypto/keys.ts';
import { equalBytes } from '../src/crypto/bytes.ts';

const H = 1n;
const SET = ValidatorSet.fromPowers([1, 2, 3, 4].map((n) => ({ pubKey: generateKeyPair(new Uint8Array(32).fill(n)).publicKey, power: 1n })));
const NAMES = ['A', 'B', 'C', 'D'] as const;
type Name = (typeof NAMES)[number];
const idx = (n: Name): number => NAMES.indexOf(n);
const addr = (n: Name): Uint8Array => SET.validators[idx(n)].address;
const nameOf = (a: Uint8Array): string => NAMES[SET.indexOf(a)] ?? '?';

const TIMEOUTS = { proposeMs: 3000, proposeDeltaMs: 500, prevoteMs: 1000, prevoteDeltaMs: 500, precommitMs: 1000n, precommitDeltaMs: 500n };

function bid(n: number): BlockID {
  return { hash: new Uint8Array(32).fill(n), partSetHeader: { total: 1, hash: new Uint8Array(32).fill(n + 100) } };
}
const X = bid(1);
const Y = bid(2);
const NIL = EMPTY_BLOCK_ID;
const valueName = (b: BlockID): string => (b.hash.length === 0 ? 'nil' : b.hash[0] === 1 ? 'X' : b.hash[0] === 2 ? 'Y' : '?');

// ---- input builders ----
const start = (height = H): RoundInput => ({ tag: 'start_height', height, validatorSet: SET });
function prop(round: number, v: BlockID, polRound = -1, opts: { valid?: boolean; from?: Name; height?: bigint } = {}): RoundInput {
  const proposal: Proposal = { type: VoteType.PROPOSAL, height: opts.height ?? H, round, polRound, blockId: v, timestamp: 0n, signature: new Uint8Array(64) };
  const from = opts.from !== undefined ? addr(opts.from) : SET.proposerAt(round).address;
  return { tag: 'proposal', proposal, from, valid: opts.valid ?? true };
}
function voteOf(who: Name, type: number, round: number, v: BlockID, height = H): Vote {
  return { type, height, round, blockId: v, timestamp: 0n, validatorAddress: addr(who), validatorIndex: idx(who), signature: new Uint8Array(64).fill(idx(who) + 1) };
}
const pv = (who: Name, round: number, v: BlockID): RoundInput => ({ tag: 'vote', vote: voteOf(who, VoteType.PREVOTE, round, v) });
const pc = (who: Name, round: number, v: BlockID): RoundInput => ({ tag: 'vote', vote: voteOf(who, VoteType.PRECOMMIT, round, v) });
const to = (kind: TimeoutKind, round: number, height = H): RoundInput => ({ tag: 'timeout', kind, height, round });
const value = (round: number, v: BlockID): RoundInput => ({ tag: 'proposal_value', height: H, round, blockId: v });

// ---- effect rendering ----
function render(e: RoundEffect): string {
  switch (e.tag) {
    case 'get_value':
      return `get_value ${e.height}/${e.round}`;
    case 'publish_proposal':
      return `proposal ${e.height}/${e.round} ${valueName(e.blockId)} pol${e.polRound}`;
    case 'publish_vote':
      return `${e.type === VoteType.PREVOTE ? 'prevote' : 'precommit'} ${e.height}/${e.round} ${valueName(e.blockId)}`;
    case 'schedule_timeout':
      return `timeout ${e.kind} ${e.height}/${e.round} ${e.durationMs}`;
    case 'decide':
      return `decide ${e.height}/${e.round} ${valueName(e.blockId)} by ${e.precommits.map((v) => nameOf(v.validatorAddress)).join('')}`;
    case 'evidence':
      return `evidence ${nameOf(e.evidence.voteA.validatorAddress)} ${valueName(e.evidence.voteA.blockId)}/${valueName(e.evidence.voteB.blockId)}`;
  }
}

function summary(s: RoundState) {
  return {
    height: s.height,
    round: s.round,
    step: s.step,
    locked: s.lockedValue === null ? null : valueName(s.lockedValue),
    lockedRound: s.lockedRound,
    valid: s.validValue === null ? null : valueName(s.validValue),
    validRound: s.validRound,
  };
}

interface Step {
  input: RoundInput;
  /** The exact effects of this input; omitted = not checked (setup). */
  out?: string[];
  /** Fields of the state summary after this input. */
  state?: Partial<ReturnType<typeof summary>>;
  rejected?: RegExp;
}

interface Scenario {
  name: string;
  /** Our validator, or null for a non-validator node. */
  me: Name | null;
  steps: Step[];
}

function node(me: Name | null): RoundState {
  return initialState({ address: me === null ? null : addr(me), timeouts: TIMEOUTS });
}

function runScenario(t: Test, sc: Scenario): RoundState {
  let state = node(sc.me);
  sc.steps.forEach((step, i) => {
    const before = state;
    const snapshot = JSON.stringify(summary(before), (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    const tr = apply(state, step.input);
    state = tr.state;
    const label = `${sc.name} [step ${i}: ${step.input.tag}${'kind' in step.input ? ' ' + step.input.kind : ''}]`;
    if (step.out !== undefined) t.same(tr.effects.map(render), step.out, label);
    if (step.state !== undefined) t.match(summary(state), step.state, `${label} state`);
    if (step.rejected !== undefined) t.match(tr.rejected, step.rejected, `${label} rejected`);
    // purity: the input state is never modified
    const after = JSON.stringify(summary(before), (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    if (after !== snapshot) t.fail(`${label}: apply modified its input state`);
  });
  return state;
}


t.test('proposer of round r is A, B, C, D, A, ...', async (t) => {
  const s = apply(node('A'), start()).state;
  t.same([0, 1, 2, 3, 4, 5].map((r) => nameOf(proposerOf(s, r).address)), ['A', 'B', 'C', 'D', 'A', 'B']);
});

const scenarios: Scenario[] = [
  {
    name: 'L11-18 proposer without validValue: get_value, then publishes the value (and schedules timeoutPropose)',
    me: 'A',
    steps: [
      { input: start(), out: ['get_value 1/0', 'timeout propose 1/0 3000'], state: { height: 1n, round: 0, step: 'propose' } },
      { input: value(0, X), out: ['proposal 1/0 X pol-1'] },
      { input: value(0, Y), out: [], rejected: /no value is awaited/ },
      // our own signed proposal comes back: L22 as for anyone
      { input: prop(0, X), out: ['prevote 1/0 X'], state: { step: 'prevote' } },
    ],
  },
  {
    name: 'L19-21 non-proposer schedules timeoutPropose',
    me: 'B',
    steps: [{ input: start(), out: ['timeout propose 1/0 3000'], state: { step: 'propose' } }],
  },
  {
    name: 'L22-27 valid proposal -> prevote value',
    me: 'B',
    steps: [{ input: start() }, { input: prop(0, X), out: ['prevote 1/0 X'], state: { step: 'prevote' } }],
  },
  {
    name: 'L22-27 invalid proposal -> prevote nil',
    me: 'B',
    steps: [{ input: start() }, { input: prop(0, X, -1, { valid: false }), out: ['prevote 1/0 nil'], state: { step: 'prevote' } }],
  },
  {
    name: 'L22-27 locked on another value -> prevote nil',
    me: 'C',
    steps: [
      { input: start() },
      { input: prop(0, X), out: ['prevote 1/0 X'] },
      { input: pv('A', 0, X), out: [] },
      { input: pv('B', 0, X), out: [] },
      { input: pv('C', 0, X), out: ['precommit 1/0 X'], state: { locked: 'X', lockedRound: 0 } },
      { input: pc('A', 0, NIL), out: [] },
      { input: pc('B', 0, NIL), out: [] },
      { input: pc('C', 0, X), out: ['timeout precommit 1/0 1000'] },
      { input: to('precommit', 0), out: ['timeout propose 1/1 3500'], state: { round: 1, step: 'propose', locked: 'X' } },
      { input: prop(1, Y), out: ['prevote 1/1 nil'], state: { step: 'prevote' } },
    ],
  },
  {
    name: 'L22-27 locked on the same value -> prevote it',
    me: 'C',
    steps: [
      { input: start() },
      { input: prop(0, X) },
      { input: pv('A', 0, X) },
      { input: pv('B', 0, X) },
      { input: pv('C', 0, X), out: ['precommit 1/0 X'] },
      { input: pv('A', 1, NIL), out: [] },
      { input: pv('B', 1, NIL), out: ['timeout propose 1/1 3500'], state: { round: 1 } },
      { input: prop(1, X), out: ['prevote 1/1 X'] },
    ],
  },
  {
    name: 'L28-33 proposal with valid round vr, polka at vr, lockedRound <= vr -> prevote value (proposal kept for a future round)',
    me: 'C',
    steps: [
      { input: start() },
      // polka for X in round 0 that C missed the proposal of
      { input: pv('A', 0, X) },
      { input: pv('B', 0, X) },
      { input: pv('D', 0, X), out: [], state: { step: 'propose', locked: null } },
      { input: prop(1, X, 0), out: [] }, // round 1 is in the future: stored
      { input: pv('A', 1, X), out: [] },
      // f+1 in round 1: StartRound(1), then L28 fires with the stored proposal and the polka at 0
      { input: pv('D', 1, X), out: ['timeout propose 1/1 3500', 'prevote 1/1 X'], state: { round: 1, step: 'prevote' } },
    ],
  },
  {
    name: 'L28-33 waits in the propose step until the polka at vr is complete',
    me: 'C',
    steps: [
      { input: start() },
      { input: pv('A', 1, NIL) },
      { input: pv('D', 1, NIL), out: ['timeout propose 1/1 3500'] },
      { input: prop(1, Y, 0), out: [], state: { step: 'propose' } },
      { input: pv('A', 0, Y), out: [] },
      { input: pv('B', 0, Y), out: [] },
      { input: pv('D', 0, Y), out: ['prevote 1/1 Y'] },
    ],
  },
  {
    name: 'L28-33 locked on v in round vr itself -> prevote v',
    me: 'C',
    steps: [
      { input: start() },
      { input: prop(0, X) },
      { input: pv('A', 0, X) },
      { input: pv('B', 0, X) },
      { input: pv('C', 0, X), out: ['precommit 1/0 X'], state: { locked: 'X', lockedRound: 0 } },
      { input: pv('A', 1, NIL) },
      { input: pv('D', 1, NIL), out: ['timeout propose 1/1 3500'] },
      { input: prop(1, X, 0), out: ['prevote 1/1 X'] },
    ],
  },
  {
    name: 'L28-33 locked in a round above vr on another value -> prevote nil',
    me: 'C',
    steps: [
      { input: start() },
      { input: prop(1, X) },
      { input: pv('A', 1, X) },
      { input: pv('B', 1, X), out: ['timeout propose 1/1 3500', 'prevote 1/1 X'] },
      { input: pv('D', 1, X), out: ['precommit 1/1 X'], state: { locked: 'X', lockedRound: 1 } },
      { input: pv('A', 0, Y) },
      { input: pv('B', 0, Y) },
      { input: pv('D', 0, Y), out: [] },
      { input: pv('A', 3, NIL) },
      { input: pv('B', 3, NIL), out: ['timeout propose 1/3 4500'], state: { round: 3 } },
      { input: prop(3, Y, 0), out: ['prevote 1/3 nil'] },
    ],
  },
  {
    name: 'L34-35 2f+1 prevotes for anything -> timeoutPrevote, scheduled once',
    me: 'B',
    steps: [
      { input: start() },
      { input: prop(0, X), out: ['prevote 1/0 X'] },
      { input: pv('A', 0, X), out: [] },
      { input: pv('C', 0, NIL), out: [] },
      { input: pv('B', 0, X), out: ['timeout prevote 1/0 1000'] },
      { input: pv('D', 0, NIL), out: [] },
    ],
  },
  {
    name: 'L34-35 needs the prevote step',
    me: 'B',
    steps: [
      { input: start() },
      { input: pv('A', 0, X) },
      { input: pv('C', 0, NIL) },
      { input: pv('D', 0, NIL), out: [], state: { step: 'propose' } },
      // entering the prevote step with the 2f+1 already there fires it
      { input: to('propose', 0), out: ['prevote 1/0 nil', 'timeout prevote 1/0 1000'] },
    ],
  },
  {
    name: 'L36-43 polka for the proposal in the prevote step: lock, valid value, precommit',
    me: 'B',
    steps: [
      { input: start() },
      { input: prop(0, X) },
      { input: pv('A', 0, X) },
      { input: pv('C', 0, X), out: [] },
      { input: pv('B', 0, X), out: ['precommit 1/0 X'], state: { step: 'precommit', locked: 'X', lockedRound: 0, valid: 'X', validRound: 0 } },
      { input: pv('D', 0, X), out: [] },
    ],
  },
  {
    name: 'L36-43 in the precommit step only the valid value is updated',
    me: 'B',
    steps: [
      { input: start() },
      { input: prop(0, X), out: ['prevote 1/0 X'] },
      { input: pv('A', 0, X) },
      { input: pv('C', 0, NIL) },
      { input: pv('B', 0, X), out: ['timeout prevote 1/0 1000'] },
      { input: to('prevote', 0), out: ['precommit 1/0 nil'], state: { step: 'precommit' } },
      { input: pv('D', 0, X), out: [], state: { step: 'precommit', locked: null, lockedRound: -1, valid: 'X', validRound: 0 } },
    ],
  },
  {
    name: 'L36-43 an invalid proposal is never locked on',
    me: 'B',
    steps: [
      { input: start() },
      { input: prop(0, X, -1, { valid: false }), out: ['prevote 1/0 nil'] },
      { input: pv('A', 0, X) },
      { input: pv('C', 0, X) },
      { input: pv('D', 0, X), out: ['timeout prevote 1/0 1000'], state: { locked: null, valid: null } },
    ],
  },
  {
    name: 'L44-46 2f+1 prevotes for nil -> precommit nil',
    me: 'B',
    steps: [
      { input: start() },
      { input: to('propose', 0), out: ['prevote 1/0 nil'] },
      { input: pv('A', 0, NIL) },
      { input: pv('C', 0, NIL), out: [] },
      { input: pv('B', 0, NIL), out: ['precommit 1/0 nil'], state: { step: 'precommit', locked: null } },
    ],
  },
  {
    name: 'L47-48 2f+1 precommits for anything -> timeoutPrecommit, once, in any step',
    me: 'B',
    steps: [
      { input: start() },
      { input: pc('A', 0, NIL) },
      { input: pc('C', 0, NIL), out: [] },
      { input: pc('D', 0, X), out: ['timeout precommit 1/0 1000'], state: { step: 'propose' } },
      { input: pc('B', 0, NIL), out: [] },
    ],
  },
  {
    name: 'L49-54 decide on 2f+1 precommits for the proposal',
    me: 'B',
    steps: [
      { input: start() },
      { input: prop(0, X) },
      { input: pc('A', 0, X) },
      { input: pc('C', 0, X), out: [] },
      { input: pc('D', 0, X), out: ['decide 1/0 X by ACD'], state: { step: 'commit' } },
      // after the decision: more votes are kept, timeouts are stale
      { input: pc('B', 0, X), out: [] },
      { input: to('propose', 0), out: [], rejected: /stale/ },
      // the next height starts afresh
      { input: start(2n), out: ['timeout propose 2/0 3000'], state: { height: 2n, round: 0, step: 'propose', locked: null, valid: null } },
    ],
  },
  {
    name: 'L49-54 decide for a round lower than the current one',
    me: 'B',
    steps: [
      { input: start() },
      { input: prop(0, X), out: ['prevote 1/0 X'] },
      { input: pv('C', 2, NIL) },
      { input: pv('D', 2, NIL), out: ['timeout propose 1/2 4000'], state: { round: 2 } },
      { input: pc('A', 0, X) },
      { input: pc('C', 0, X), out: [] },
      { input: pc('D', 0, X), out: ['decide 1/0 X by ACD'], state: { round: 2, step: 'commit' } },
    ],
  },
  {
    name: 'L49-54 needs a valid proposal of the value: precommits first, proposal later',
    me: 'B',
    steps: [
      { input: start() },
      { input: pc('A', 0, X) },
      { input: pc('C', 0, X) },
      { input: pc('D', 0, X), out: ['timeout precommit 1/0 1000'], state: { step: 'propose' } },
      { input: prop(0, X, -1, { valid: false }), out: ['prevote 1/0 nil'], state: { step: 'prevote' } },
    ],
  },
  {
    name: 'L49-54 late proposal completes the decision',
    me: 'B',
    steps: [
      { input: start() },
      { input: pc('A', 0, X) },
      { input: pc('C', 0, X) },
      { input: pc('D', 0, X), out: ['timeout precommit 1/0 1000'] },
      { input: prop(0, X), out: ['decide 1/0 X by ACD'] },
    ],
  },
  {
    name: 'L55-56 f+1 votes of a higher round -> StartRound(that round); f votes do not',
    me: 'B',
    steps: [
      { input: start() },
      { input: pv('C', 3, X), out: [], state: { round: 0 } },
      { input: pc('C', 3, X), out: [], state: { round: 0 } }, // the same validator again: still f
      { input: pc('D', 3, NIL), out: ['timeout propose 1/3 4500'], state: { round: 3, step: 'propose' } },
      // f+1 of a LOWER round does nothing
      { input: pv('A', 1, NIL) },
      { input: pv('C', 1, NIL), out: [], state: { round: 3 } },
    ],
  },
  {
    name: 'L55-56 skipping to a round we propose in',
    me: 'C',
    steps: [
      { input: start() },
      { input: pv('A', 2, NIL) },
      { input: pv('B', 2, NIL), out: ['get_value 1/2', 'timeout propose 1/2 4000'] },
    ],
  },
  {
    name: 'L57-60 timeoutPropose in the propose step -> prevote nil',
    me: 'B',
    steps: [{ input: start() }, { input: to('propose', 0), out: ['prevote 1/0 nil'], state: { step: 'prevote' } }],
  },
  {
    name: 'L61-64 timeoutPrevote in the prevote step -> precommit nil',
    me: 'B',
    steps: [
      { input: start() },
      { input: to('propose', 0), out: ['prevote 1/0 nil'] },
      { input: pv('A', 0, X) },
      { input: pv('C', 0, NIL) },
      { input: pv('B', 0, NIL), out: ['timeout prevote 1/0 1000'] },
      { input: to('prevote', 0), out: ['precommit 1/0 nil'], state: { step: 'precommit' } },
    ],
  },
  {
    name: 'L65-67 timeoutPrecommit -> StartRound(round + 1)',
    me: 'C',
    steps: [
      { input: start() },
      { input: to('precommit', 0), out: ['timeout propose 1/1 3500'], state: { round: 1, step: 'propose' } },
      // and as the proposer of the next round
      { input: to('precommit', 1), out: ['get_value 1/2', 'timeout propose 1/2 4000'], state: { round: 2 } },
    ],
  },
  {
    name: 'stale timeouts (old round, other height, wrong step) are ignored',
    me: 'B',
    steps: [
      { input: start() },
      { input: to('precommit', 0), state: { round: 1 } },
      { input: to('propose', 0), out: [], rejected: /stale propose timeout/, state: { round: 1, step: 'propose' } },
      { input: to('precommit', 0), out: [], rejected: /stale/, state: { round: 1 } },
      { input: to('propose', 1, 2n), out: [], rejected: /stale/ },
      { input: to('prevote', 1), out: [], rejected: /prevote timeout in step propose/ },
      { input: to('propose', 1), out: ['prevote 1/1 nil'] },
      { input: to('propose', 1), out: [], rejected: /propose timeout in step prevote/ },
    ],
  },
  {
    name: 'unlocking: locked in round 0, polka for Y in round 2, proposal of Y with valid round 2 -> prevote Y',
    me: 'C',
    steps: [
      { input: start() },
      { input: prop(0, X) },
      { input: pv('A', 0, X) },
      { input: pv('B', 0, X) },
      { input: pv('C', 0, X), out: ['precommit 1/0 X'], state: { locked: 'X', lockedRound: 0 } },
      // skip to round 2, where C proposes: it re-proposes its valid value X with pol round 0 (L14-15)
      { input: pv('A', 2, Y) },
      { input: pv('B', 2, Y), out: ['proposal 1/2 X pol0', 'timeout propose 1/2 4000'], state: { round: 2 } },
      { input: pv('D', 2, Y), out: [] }, // polka for Y in round 2 (C has no proposal for Y there: no lock change)
      { input: to('propose', 2), out: ['prevote 1/2 nil', 'timeout prevote 1/2 2000'] },
      { input: to('prevote', 2), out: ['precommit 1/2 nil'] },
      { input: pc('A', 2, NIL) },
      { input: pc('B', 2, NIL) },
      { input: pc('C', 2, NIL), out: ['timeout precommit 1/2 2000'] },
      { input: to('precommit', 2), out: ['timeout propose 1/3 4500'], state: { round: 3, locked: 'X', lockedRound: 0 } },
      { input: prop(3, Y, 2), out: ['prevote 1/3 Y'], state: { step: 'prevote', locked: 'X' } },
    ],
  },
  {
    name: 'a proposal from a non-proposer is ignored',
    me: 'B',
    steps: [
      { input: start() },
      { input: prop(0, X, -1, { from: 'C' }), out: [], rejected: /not from the round's proposer/, state: { step: 'propose' } },
      { input: prop(0, X, -1, { height: 2n }), out: [], rejected: /height 2/ },
      { input: prop(0, X), out: ['prevote 1/0 X'] },
      { input: prop(0, X), out: [], rejected: /duplicate proposal/ },
    ],
  },
  {
    name: 'equivocating votes produce an evidence effect once',
    me: 'B',
    steps: [
      { input: start() },
      { input: pv('C', 0, Y), out: [] },
      { input: pv('C', 0, X), out: ['evidence C X/Y'] },
      { input: pv('C', 0, NIL), out: [], rejected: /already reported/ },
      { input: pv('C', 0, Y), out: [], rejected: /duplicate/ },
      { input: pc('C', 0, X) },
      { input: pc('C', 0, Y), out: ['evidence C X/Y'] },
    ],
  },
  {
    name: 'a non-validator follows the rounds and decides but never votes or proposes',
    me: null,
    steps: [
      { input: start(), out: ['timeout propose 1/0 3000'] },
      { input: prop(0, X), out: [], state: { step: 'prevote' } },
      { input: pv('A', 0, X) },
      { input: pv('B', 0, X) },
      { input: pv('C', 0, X), out: [], state: { step: 'precommit', locked: 'X' } },
      { input: pc('A', 0, X) },
      { input: pc('B', 0, X) },
      { input: pc('D', 0, X), out: ['decide 1/0 X by ABD'] },
    ],
  },
  {
    name: 'inputs before start_height and for other heights are rejected',
    me: 'B',
    steps: [
      { input: pv('A', 0, X), out: [], rejected: /no height started/ },
      { input: prop(0, X), out: [], rejected: /no height started/ },
      { input: start() },
      { input: { tag: 'vote', vote: voteOf('A', VoteType.PREVOTE, 0, X, 2n) }, out: [], rejected: /height 2, not 1/ },
      { input: pv('A', 5000, X), out: [], rejected: /rounds ahead/ },
      { input: start(1n), out: [], rejected: /not above/ },
    ],
  },
];

for (const sc of scenarios) {
  t.test(sc.name, async (t) => {
    runScenario(t, sc);
  });
}

t.test('timeouts grow with the round: base + delta x round', async (t) => {
  const rows: [TimeoutKind, number, number][] = [
    ['propose', 0, 3000],
    ['propose', 1, 3500],
    ['propose', 4, 5000],
    ['prevote', 0, 1000],
    ['prevote', 3, 2500],
    ['precommit', 0, 1000],
    ['precommit', 10, 6000],
  ];
  for (const [kind, round, ms] of rows) t.equal(timeoutDuration(TIMEOUTS, kind, round), ms, `${kind} round ${round}`);
  // and the scheduled effects carry them
  let s = apply(node('B'), start()).state;
  const seen: number[] = [];
  for (let r = 0; r < 4; r++) {
    const tr = apply(s, to('precommit', r));
    s = tr.state;
    for (const e of tr.effects) if (e.tag === 'schedule_timeout') seen.push(e.durationMs);
  }
  t.same(seen, [3500, 4000, 4500, 5000]);
});

t.test('decide carries the precommits for the block in set order', async (t) => {
  let s = apply(node('B'), start()).state;
  for (const input of [prop(0, X), pc('D', 0, X), pc('A', 0, NIL), pc('C', 0, X), pc('B', 0, X)]) s = apply(s, input).state;
  t.equal(s.step, 'commit');
  t.same(s.decision?.round, 0);
  t.ok(equalBytes(s.decision!.blockId.hash, X.hash));
  const commit = s.votes!.buildCommit(0, X)!;
  t.same(commit.signatures.map((x) => x.blockIdFlag), [3, 2, 2, 2]);
});
