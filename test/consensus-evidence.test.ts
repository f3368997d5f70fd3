import t from 'tap';
import { bftTime, isBlockTimeAfter, MS_NS, nextBlockTime, verifyDuplicateVoteEvidence } from '../src/consensus/evidence.ts';
import { ValidatorSet } from '../src/consensus/validator-set.ts';
import { BlockIdFlag, EMPTY_BLOCK_ID, VoteType, type BlockID, type CommitSig, type Vote } from '../src/codec/types.ts';
import { voteSignBytes } from '../src/codec/signbytes.ts';
import { addressOf, generateKeyPair, sign, type KeyPair } from '../src/crypto/keys.ts';
import { AppError } from '../src/errors.ts';

const CHAIN = 'evidence-chain';
const keys: KeyPair[] = [1, 2, 3, 4].map((n) => generateKeyPair(new Uint8Array(32).fill(n)));
const set = ValidatorSet.fromPowers(keys.map((k) => ({ pubKey: k.publicKey, power: 10n })));
const stranger = generateKeyPair(new Uint8Array(32).fill(50));

function blockId(n: number): BlockID {
  return { hash: new Uint8Array(32).fill(n), partSetHeader: { total: 1, hash: new Uint8Array(32).fill(n + 100) } };
}

function signedVote(kp: KeyPair, over: Partial<Vote> = {}, chainId = CHAIN): Vote {
  const address = addressOf(kp.publicKey);
  const v: Vote = {
    type: VoteType.PRECOMMIT,
    height: 10n,
    round: 2,
    blockId: blockId(1),
    timestamp: 1_700_000_000_000_000_000n,
    validatorAddress: address,
    validatorIndex: Math.max(0, set.indexOf(address)),
    signature: new Uint8Array(0),
    ...over,
  };
  return { ...v, signature: sign(voteSignBytes(chainId, v), kp.secretKey) };
}

const opts = { currentHeight: 12n, maxAgeBlocks: 100n };

t.test('valid duplicate-vote evidence is accepted', async (t) => {
  const rows: [string, Vote, Vote][] = [
    ['two precommits', signedVote(keys[0]), signedVote(keys[0], { blockId: blockId(2) })],
    ['two prevotes, one for nil', signedVote(keys[1], { type: VoteType.PREVOTE }), signedVote(keys[1], { type: VoteType.PREVOTE, blockId: EMPTY_BLOCK_ID })],
    ['at the age limit', signedVote(keys[2], { height: 1n }), signedVote(keys[2], { height: 1n, blockId: blockId(3) })],
  ];
  for (const [name, voteA, voteB] of rows) {
    const o = name === 'at the age limit' ? { currentHeight: 101n, maxAgeBlocks: 100n } : opts;
    t.equal(verifyDuplicateVoteEvidence({ voteA, voteB }, CHAIN, set, o), null, name);
  }
  const a = signedVote(keys[0]);
  const b = signedVote(keys[0], { blockId: blockId(2) });
  t.equal(verifyDuplicateVoteEvidence({ voteA: a, voteB: b, validatorPower: 10n, totalVotingPower: 40n, timestamp: 0n }, CHAIN, set, opts), null, 'with matching powers');
});

t.test('each rejection gives a reason', async (t) => {
  const a = signedVote(keys[0]);
  const tamper = (v: Vote): Vote => {
    const sig = v.signature.slice();
    sig[5] ^= 1;
    return { ...v, signature: sig };
  };
  const rows: [string, Vote, Vote, RegExp, Partial<{ validatorPower: bigint; totalVotingPower: bigint }>?, typeof opts?][] = [
    ['same block id', a, signedVote(keys[0], { timestamp: a.timestamp + 1n }), /same block id/],
    ['different heights', a, signedVote(keys[0], { height: 11n, blockId: blockId(2) }), /different heights/],
    ['different rounds', a, signedVote(keys[0], { round: 3, blockId: blockId(2) }), /different rounds/],
    ['different types', a, signedVote(keys[0], { type: VoteType.PREVOTE, blockId: blockId(2) }), /different types/],
    ['different validators', a, signedVote(keys[1], { blockId: blockId(2) }), /different validators/],
    ['bad signature on vote A', tamper(a), signedVote(keys[0], { blockId: blockId(2) }), /vote_a has an invalid signature/],
    ['bad signature on vote B', a, tamper(signedVote(keys[0], { blockId: blockId(2) })), /vote_b has an invalid signature/],
    ['signed for another chain', a, signedVote(keys[0], { blockId: blockId(2) }, 'other-chain'), /vote_b has an invalid signature/],
    ['signed by another key', a, { ...signedVote(keys[1], { blockId: blockId(2) }), validatorAddress: a.validatorAddress, validatorIndex: a.validatorIndex }, /vote_b has an invalid signature/],
    ['a validator index that is not the signer\'s', a, { ...signedVote(keys[0], { blockId: blockId(2) }), validatorIndex: a.validatorIndex + 1 }, /validator index/],
    ['unknown validator', signedVote(stranger), signedVote(stranger, { blockId: blockId(2) }), /not in the validator set/],
    ['too old', a, signedVote(keys[0], { blockId: blockId(2) }), /too old/, {}, { currentHeight: 111n, maxAgeBlocks: 100n }],
    ['from the future', a, signedVote(keys[0], { blockId: blockId(2) }), /above the current height/, {}, { currentHeight: 9n, maxAgeBlocks: 100n }],
    ['wrong validator power', a, signedVote(keys[0], { blockId: blockId(2) }), /validator_power/, { validatorPower: 11n }],
    ['wrong total power', a, signedVote(keys[0], { blockId: blockId(2) }), /total_voting_power/, { totalVotingPower: 41n }],
    ['proposal type', signedVote(keys[0], { type: VoteType.PROPOSAL }), signedVote(keys[0], { type: VoteType.PROPOSAL, blockId: blockId(2) }), /neither prevote nor precommit/],
  ];
  for (const [name, voteA, voteB, re, extra, o] of rows) {
    const reason = verifyDuplicateVoteEvidence({ voteA, voteB, ...extra }, CHAIN, set, o ?? opts);
    t.match(reason, re, name);
  }
});

function sig(kp: KeyPair, time: bigint, flag: number = BlockIdFlag.COMMIT): CommitSig {
  return { blockIdFlag: flag, validatorAddress: addressOf(kp.publicKey), timestamp: time, signature: new Uint8Array(64) };
}

t.test('bftTime: power-weighted median of COMMIT timestamps', async (t) => {
  const rows: { name: string; powers: bigint[]; times: bigint[]; flags?: number[]; expect: bigint }[] = [
    { name: 'equal powers, odd count', powers: [1n, 1n, 1n], times: [10n, 20n, 30n], expect: 20n },
    { name: 'equal powers, order does not matter', powers: [1n, 1n, 1n], times: [30n, 10n, 20n], expect: 20n },
    { name: 'heavy validator first in time', powers: [5n, 1n, 1n], times: [10n, 20n, 30n], expect: 10n },
    { name: 'heavy validator last in time', powers: [5n, 1n, 1n], times: [90n, 20n, 30n], expect: 90n },
    { name: 'heavy validator in the middle', powers: [5n, 1n, 1n], times: [25n, 20n, 30n], expect: 25n },
    // even split: walk 10 (1 of 2: not more than half), 20 (2 of 2) -> 20
    { name: 'two equal validators', powers: [1n, 1n], times: [10n, 20n], expect: 20n },
    // four of power 1: 10, 20 (2 of 4: not more than half), 30 (3 of 4) -> 30
    { name: 'four equal validators', powers: [1n, 1n, 1n, 1n], times: [40n, 10n, 30n, 20n], expect: 30n },
    // NIL and ABSENT signatures are not counted: only 10 and 50 count (1 + 1), -> 50
    { name: 'nil and absent ignored', powers: [1n, 1n, 1n, 1n], times: [10n, 20n, 30n, 50n], flags: [2, 3, 1, 2], expect: 50n },
    // one faulty validator with an absurd time cannot move the median out of the correct range
    { name: 'a faulty outlier', powers: [1n, 1n, 1n, 1n], times: [100n, 101n, 102n, 10n ** 30n], expect: 102n },
  ];
  for (const row of rows) {
    const ks = row.powers.map((_, i) => keys[i]);
    const vs = ValidatorSet.fromPowers(ks.map((k, i) => ({ pubKey: k.publicKey, power: row.powers[i] })));
    const signatures = ks.map((k, i) => sig(k, row.times[i], row.flags?.[i] ?? BlockIdFlag.COMMIT));
    t.equal(bftTime({ signatures }, vs), row.expect, row.name);
  }
});

t.test('bftTime errors', async (t) => {
  const expectError = (fn: () => unknown, re: RegExp, name: string) => {
    try {
      fn();
      t.fail(`${name}: no error`);
    } catch (e) {
      t.ok(e instanceof AppError && e.code === 'INVALID_FIELD', name);
      t.match((e as Error).message, re, name);
    }
  };
  expectError(() => bftTime({ signatures: [sig(keys[0], 5n, BlockIdFlag.NIL)] }, set), /no COMMIT signature/, 'no commit signature');
  expectError(() => bftTime({ signatures: [sig(stranger, 5n)] }, set), /not in the validator set/, 'unknown signer');
});

t.test('nextBlockTime: the median, but strictly after the previous block', async (t) => {
  const rows: [prev: bigint, median: bigint, expect: bigint][] = [
    [1_000n * MS_NS, 2_000n * MS_NS, 2_000n * MS_NS],
    [1_000n * MS_NS, 1_000n * MS_NS, 1_001n * MS_NS], // equal: pushed 1 ms later
    [1_000n * MS_NS, 500n * MS_NS, 1_001n * MS_NS], // a median in the past
    [1_000n * MS_NS, 1_000n * MS_NS + 1n, 1_001n * MS_NS],
    [0n, 1n, MS_NS],
  ];
  for (const [prev, median, expect] of rows) {
    const next = nextBlockTime(prev, median);
    t.equal(next, expect, `nextBlockTime(${prev}, ${median})`);
    t.ok(isBlockTimeAfter(prev, next));
  }
  t.notOk(isBlockTimeAfter(5n, 5n));
});
