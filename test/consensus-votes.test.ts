import t from 'tap';
import { VoteKeeper, type Threshold } from '../src/consensus/vote-keeper.ts';
import { ValidatorSet } from '../src/consensus/validator-set.ts';
import { BlockIdFlag, EMPTY_BLOCK_ID, VoteType, type BlockID, type Vote } from '../src/codec/types.ts';
import { addressOf, generateKeyPair } from '../src/crypto/keys.ts';
import { toHex } from '../src/crypto/bytes.ts';

const H = 5n;

function blockId(n: number): BlockID {
  return { hash: new Uint8Array(32).fill(n), partSetHeader: { total: 1, hash: new Uint8Array(32).fill(100 + n) } };
}
const X = blockId(1);
const Y = blockId(2);
const NIL = EMPTY_BLOCK_ID;

/** A set with the given powers; vals[i] is the i-th validator in SET order (power descending, then address). */
function setOf(powers: bigint[]): ValidatorSet {
  return ValidatorSet.fromPowers(powers.map((power, i) => ({ pubKey: generateKeyPair(new Uint8Array(32).fill(i + 1)).publicKey, power })));
}

function vote(set: ValidatorSet, i: number, type: number, round: number, id: BlockID, over: Partial<Vote> = {}): Vote {
  const v = set.validators[i];
  return {
    type,
    height: H,
    round,
    blockId: id,
    timestamp: 1_000n + BigInt(i),
    validatorAddress: v.address,
    validatorIndex: i,
    signature: new Uint8Array(64).fill(i + 1),
    ...over,
  };
}

const P = VoteType.PREVOTE;
const C = VoteType.PRECOMMIT;

function kinds(ths: Threshold[]): string[] {
  return ths.map((x) => ('blockId' in x ? `${x.kind}(${x.round},${x.blockId.hash[0]})` : `${x.kind}(${x.round})`));
}

/** Adds votes and returns the thresholds each one newly crossed. */
function run(keeper: VoteKeeper, votes: Vote[]): string[][] {
  return votes.map((v) => {
    const r = keeper.addVote(v);
    return r.status === 'added' ? kinds(r.thresholds) : [r.status];
  });
}

t.test('quorum thresholds: exactly 2/3 is not a quorum, more is; with unequal powers', async (t) => {
  // Each row: powers (set order), the indices that prevote X in round 0, and what each vote newly crosses.
  const rows: { name: string; powers: bigint[]; voters: number[]; expect: string[][] }[] = [
    {
      name: '[1,1,1,1]: 3 of 4 is the quorum (f+1 = 2)',
      powers: [1n, 1n, 1n, 1n],
      voters: [0, 1, 2, 3],
      expect: [[], ['skip_round(0)'], ['polka_any(0)', 'polka_value(0,1)'], []],
    },
    {
      name: '[1,1,1]: 2 of 3 is exactly 2/3, not a quorum',
      powers: [1n, 1n, 1n],
      voters: [0, 1, 2],
      expect: [[], ['skip_round(0)'], ['polka_any(0)', 'polka_value(0,1)']],
    },
    {
      name: '[2,2,2]: 4 of 6 is exactly 2/3, not a quorum',
      powers: [2n, 2n, 2n],
      voters: [0, 1, 2],
      expect: [[], ['skip_round(0)'], ['polka_any(0)', 'polka_value(0,1)']],
    },
    {
      name: '[4,3,2,1]: 4+2 = 6 of 10 is not (quorum 7), 4+2+1 = 7 is',
      powers: [4n, 3n, 2n, 1n],
      voters: [0, 2, 3],
      expect: [['skip_round(0)'], [], ['polka_any(0)', 'polka_value(0,1)']],
    },
    {
      name: '[4,3,2,1]: 4+3 = 7 of 10 is a quorum with two votes',
      powers: [4n, 3n, 2n, 1n],
      voters: [1, 0],
      expect: [[], ['polka_any(0)', 'polka_value(0,1)', 'skip_round(0)']],
    },
    {
      name: '[5,3,1,1]: the heavy validator alone is f+1 (4) but no quorum; 5+1 = 6 is not, 5+1+1 = 7 is',
      powers: [5n, 3n, 1n, 1n],
      voters: [0, 2, 3, 1],
      expect: [['skip_round(0)'], [], ['polka_any(0)', 'polka_value(0,1)'], []],
    },
  ];
  for (const row of rows) {
    const set = setOf(row.powers);
    t.same(set.validators.map((v) => v.power), row.powers, `${row.name}: set order`);
    const keeper = new VoteKeeper(H, set);
    t.same(run(keeper, row.voters.map((i) => vote(set, i, P, 0, X))), row.expect, row.name);
  }
});

t.test('kinds of thresholds: any, nil, value, precommits, each once', async (t) => {
  const set = setOf([1n, 1n, 1n, 1n]);
  const rows: { name: string; votes: [i: number, type: number, round: number, id: BlockID][]; expect: string[][] }[] = [
    {
      name: 'mixed prevotes: polka_any without a value or nil polka',
      votes: [[0, P, 0, X], [1, P, 0, NIL], [2, P, 0, X], [3, P, 0, Y]],
      expect: [[], ['skip_round(0)'], ['polka_any(0)'], []],
    },
    {
      name: 'nil polka',
      votes: [[0, P, 1, NIL], [1, P, 1, NIL], [2, P, 1, NIL]],
      expect: [[], ['skip_round(1)'], ['polka_any(1)', 'polka_nil(1)']],
    },
    {
      name: 'precommits for a value',
      votes: [[0, C, 2, X], [1, C, 2, X], [2, C, 2, X], [3, C, 2, X]],
      expect: [[], ['skip_round(2)'], ['precommit_any(2)', 'precommit_value(2,1)'], []],
    },
    {
      name: 'precommits for anything; nil precommits give no value',
      votes: [[0, C, 3, NIL], [1, C, 3, NIL], [2, C, 3, X], [3, C, 3, NIL]],
      expect: [[], ['skip_round(3)'], ['precommit_any(3)'], []],
    },
    {
      name: 'skip_round counts each validator once across prevote and precommit',
      votes: [[0, P, 7, X], [0, C, 7, X], [1, C, 7, NIL]],
      expect: [[], [], ['skip_round(7)']],
    },
    {
      name: 'rounds are independent',
      votes: [[0, P, 4, X], [1, P, 5, X], [2, P, 4, X], [3, P, 5, X], [1, P, 4, X]],
      expect: [[], [], ['skip_round(4)'], ['skip_round(5)'], ['polka_any(4)', 'polka_value(4,1)']],
    },
  ];
  for (const row of rows) {
    const keeper = new VoteKeeper(H, set);
    t.same(run(keeper, row.votes.map(([i, type, round, id]) => vote(set, i, type, round, id))), row.expect, row.name);
  }
});

t.test('duplicates and equivocation', async (t) => {
  const set = setOf([1n, 1n, 1n, 1n]);
  const keeper = new VoteKeeper(H, set);
  const first = vote(set, 0, P, 0, Y);
  t.same(keeper.addVote(first), { status: 'added', thresholds: [] });
  t.same(keeper.addVote(first), { status: 'duplicate' }, 'identical vote ignored');
  t.same(keeper.addVote({ ...first, timestamp: 9n, signature: new Uint8Array(64).fill(9) }), { status: 'duplicate' }, 'same block id, other signature: ignored');
  const conflicting = vote(set, 0, P, 0, X);
  const r = keeper.addVote(conflicting);
  t.equal(r.status, 'equivocation');
  if (r.status === 'equivocation') {
    // voteA holds the lower block id: X (hash 01..) before Y (hash 02..)
    t.equal(r.evidence.voteA, conflicting);
    t.equal(r.evidence.voteB, first);
    t.equal(r.evidence.validatorPower, 1n);
    t.equal(r.evidence.totalVotingPower, 4n);
  }
  t.same(keeper.addVote(vote(set, 0, P, 0, NIL)), { status: 'equivocation_known' }, 'reported once');
  t.equal(keeper.power(0, P, X), 1n, 'the conflicting vote counts for its own block id');
  t.equal(keeper.power(0, P, Y), 1n);
  t.equal(keeper.power(0, P, NIL), 0n, 'a third vote counts for nothing');
  t.equal(keeper.power(0, P, null), 1n, 'an equivocator counts once towards anything');
  t.equal(keeper.roundPower(0), 1n, 'and once towards the round skip');
  // the same validator may still precommit in the round, and equivocate there separately
  t.equal(keeper.addVote(vote(set, 0, C, 0, X)).status, 'added');
  t.equal(keeper.addVote(vote(set, 0, C, 0, NIL)).status, 'equivocation');
});

t.test("an equivocator's conflicting vote completes the quorum for its value, and the commit uses it", async (t) => {
  const set = setOf([1n, 1n, 1n, 1n]);
  const keeper = new VoteKeeper(H, set);
  t.same(kinds((keeper.addVote(vote(set, 0, C, 0, NIL)) as { thresholds: Threshold[] }).thresholds), [], 'the double voter precommits nil first');
  t.same(kinds((keeper.addVote(vote(set, 1, C, 0, X)) as { thresholds: Threshold[] }).thresholds), ['skip_round(0)']);
  t.same(kinds((keeper.addVote(vote(set, 2, C, 0, X)) as { thresholds: Threshold[] }).thresholds), ['precommit_any(0)']);
  const r = keeper.addVote(vote(set, 0, C, 0, X));
  t.equal(r.status, 'equivocation');
  if (r.status === 'equivocation') t.same(kinds(r.thresholds), ['precommit_value(0,1)'], '3 of 4 distinct validators precommitted X');
  const commit = keeper.buildCommit(0, X);
  t.ok(commit !== null);
  t.same(commit!.signatures.map((s) => s.blockIdFlag), [BlockIdFlag.COMMIT, BlockIdFlag.COMMIT, BlockIdFlag.COMMIT, BlockIdFlag.ABSENT]);
  t.same(keeper.commitFor(0, X).map((v) => v.validatorIndex), [0, 1, 2]);
  t.equal(keeper.quorumValue(0, C)?.hash[0], 1);
});

t.test('rejections carry a reason and never throw', async (t) => {
  const set = setOf([1n, 1n, 1n, 1n]);
  const keeper = new VoteKeeper(H, set);
  const stranger = generateKeyPair(new Uint8Array(32).fill(99)).publicKey;
  const rows: [string, Vote, RegExp][] = [
    ['unknown validator', vote(set, 0, P, 0, X, { validatorAddress: addressOf(stranger) }), /not in the validator set/],
    ['another height', vote(set, 0, P, 0, X, { height: H + 1n }), /height 6, not 5/],
    ['wrong index', vote(set, 0, P, 0, X, { validatorIndex: 2 }), /index 2/],
    ['proposal type', vote(set, 0, VoteType.PROPOSAL, 0, X), /neither prevote/],
    ['negative round', vote(set, 0, P, -1, X), /round -1/],
  ];
  for (const [name, v, re] of rows) {
    const r = keeper.addVote(v);
    t.equal(r.status, 'rejected', name);
    if (r.status === 'rejected') t.match(r.reason, re, name);
  }
  t.same(keeper.rounds(), [], 'nothing was stored');
});

t.test('commitFor and buildCommit', async (t) => {
  const set = setOf([1n, 1n, 1n, 1n, 1n]); // total 5, quorum 4
  const keeper = new VoteKeeper(H, set);
  run(keeper, [vote(set, 0, C, 1, X), vote(set, 2, C, 1, X), vote(set, 3, C, 1, NIL), vote(set, 4, C, 1, X)]);
  t.equal(keeper.buildCommit(1, X), null, '3 of 5 is no quorum');
  t.same(keeper.commitFor(1, X).map((v) => v.validatorIndex), [0, 2, 4]);
  keeper.addVote(vote(set, 1, C, 1, X));
  const commit = keeper.buildCommit(1, X)!;
  t.equal(commit.height, H);
  t.equal(commit.round, 1);
  t.same(commit.signatures.map((s) => s.blockIdFlag), [BlockIdFlag.COMMIT, BlockIdFlag.COMMIT, BlockIdFlag.COMMIT, BlockIdFlag.NIL, BlockIdFlag.COMMIT]);
  t.equal(toHex(commit.signatures[2].validatorAddress), toHex(set.validators[2].address));
  t.equal(commit.signatures[2].timestamp, 1_002n);
  t.same(keeper.commitFor(1, X).map((v) => v.validatorIndex), [0, 1, 2, 4], 'in set order');

  const k2 = new VoteKeeper(H, set);
  run(k2, [0, 1, 2, 3].map((i) => vote(set, i, C, 0, X)).concat([vote(set, 4, C, 0, Y)]));
  t.same(k2.buildCommit(0, X)!.signatures.map((s) => s.blockIdFlag), [2, 2, 2, 2, BlockIdFlag.ABSENT], 'a vote for another block is absent');
  t.same(k2.buildCommit(0, X)!.signatures[4].validatorAddress, new Uint8Array(0));
});

t.test('queries: quorumValue, highestSkipRoundAbove, precommitQuorumRounds', async (t) => {
  const set = setOf([1n, 1n, 1n, 1n]);
  const keeper = new VoteKeeper(H, set);
  run(keeper, [vote(set, 0, P, 2, X), vote(set, 1, P, 2, X), vote(set, 2, P, 2, X), vote(set, 0, C, 6, Y), vote(set, 1, P, 6, NIL)]);
  t.same(keeper.quorumValue(2, P), X);
  t.equal(keeper.quorumValue(2, C), null);
  t.ok(keeper.hasQuorum(2, P, null));
  t.notOk(keeper.hasQuorum(2, P, NIL));
  t.equal(keeper.highestSkipRoundAbove(0), 6);
  t.equal(keeper.highestSkipRoundAbove(6), null);
  t.equal(keeper.roundPower(6), 2n);
  t.same(keeper.precommitQuorumRounds(), []);
  run(keeper, [vote(set, 1, C, 6, Y), vote(set, 2, C, 6, Y)]);
  t.same(keeper.precommitQuorumRounds(), [6]);
});

t.test('clone is copy-on-write: neither copy sees the other one\'s votes', async (t) => {
  const set = setOf([1n, 1n, 1n, 1n]);
  const a = new VoteKeeper(H, set);
  a.addVote(vote(set, 0, P, 0, X));
  const b = a.clone();
  b.addVote(vote(set, 1, P, 0, X));
  a.addVote(vote(set, 2, P, 0, Y));
  const c = b.clone();
  c.addVote(vote(set, 3, P, 0, X));
  t.equal(a.power(0, P, X), 1n);
  t.equal(a.power(0, P, Y), 1n);
  t.equal(b.power(0, P, X), 2n);
  t.equal(b.power(0, P, Y), 0n);
  t.equal(c.power(0, P, X), 3n);
  // thresholds are reported once per copy: c crossed the quorum, b has not yet
  t.same(kinds((b.addVote(vote(set, 3, P, 0, X)) as { thresholds: Threshold[] }).thresholds), ['polka_any(0)', 'polka_value(0,1)']);

  // the original writes first after a clone: the copy must not see it
  const d = new VoteKeeper(H, set);
  d.addVote(vote(set, 0, P, 1, X));
  const e = d.clone();
  d.addVote(vote(set, 1, P, 1, X));
  t.equal(d.power(1, P, X), 2n);
  t.equal(e.power(1, P, X), 1n, 'the clone is unaffected by the original');
  e.addVote(vote(set, 2, P, 1, Y));
  t.equal(d.power(1, P, Y), 0n, 'and the original by the clone');
});
