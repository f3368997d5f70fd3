// Blocks as consensus builds and checks them (src/consensus/block.ts): pure, with real ed25519 signatures.
// A 4-validator set of unequal powers [45, 30, 10, 5] (total 90, so exactly 2/3 is 60 and the quorum is 61), a
// context for the first height and one for height 2 whose last commit is really signed: one CommitSig per validator
// in set order, COMMIT (45) / COMMIT (30) / NIL (10) / ABSENT (5).
import t from 'tap';
import {
  blockIdOf,
  checkBlock,
  commitHash,
  evidenceHash,
  expectedTime,
  headerHash,
  makeBlock as makeBlockWithReveal,
  resultsHash,
  verifyCommit,
  type BlockContext,
} from '../src/consensus/block.ts';
import { ValidatorSet } from '../src/consensus/validator-set.ts';
import { MS_NS } from '../src/consensus/evidence.ts';
import { voteSignBytes } from '../src/codec/signbytes.ts';
import {
  BlockCodec,
  BlockIdFlag,
  EMPTY_BLOCK_ID,
  VoteType,
  emptyCommit,
  type Block,
  type BlockID,
  type Commit,
  type CommitSig,
  type Evidence,
  type Header,
  type TxResult,
  type Vote,
} from '../src/codec/types.ts';
import { addressOf, generateKeyPair, sign, type KeyPair } from '../src/crypto/keys.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { equalBytes, toHex } from '../src/crypto/bytes.ts';
import { blsKeyOf, revealOf } from './helpers/chain.ts';

const CHAIN = 'block-chain';
const T0 = 1_764_000_000_000_000_000n; // genesis time
const SEC = 1_000_000_000n;
const POWERS = [45n, 30n, 10n, 5n];
const keys: KeyPair[] = [1, 2, 3, 4].map((n) => generateKeyPair(new Uint8Array(32).fill(n)));
const stranger = generateKeyPair(new Uint8Array(32).fill(99));
const set = ValidatorSet.fromPowers(keys.map((k, i) => ({ pubKey: k.publicKey, power: POWERS[i] })));
const addr = (i: number): Uint8Array => addressOf(keys[i].publicKey);
const h32 = (label: string): Uint8Array => sha256(new TextEncoder().encode(label));
const flip = (b: Uint8Array, i = 0): Uint8Array => {
  const c = b.slice();
  c[i] ^= 1;
  return c;
};
/** Every validator's BLS key, as the host reads them from state. */
const blsKeys = new Map(keys.map((k) => [toHex(addressOf(k.publicKey)), blsKeyOf(k)] as const));
/** makeBlock with the proposer's real beacon reveal for the context's height. */
function makeBlock(ctx: BlockContext, proposer: Uint8Array, txs: Uint8Array[], evidence: Evidence[]) {
  const key = keys.find((k) => equalBytes(addressOf(k.publicKey), proposer))!;
  return makeBlockWithReveal(ctx, proposer, txs, evidence, revealOf(key, ctx.height, ctx.chainId));
}
/** A deep copy through the wire codec (what a peer would decode). */
const copy = (b: Block): Block => BlockCodec.decode(BlockCodec.encode(b));

function signedVote(i: number, v: Omit<Vote, 'validatorAddress' | 'validatorIndex' | 'signature'>, key = keys[i], chainId = CHAIN): Vote {
  const vote: Vote = { ...v, validatorAddress: addr(i), validatorIndex: i, signature: new Uint8Array(0) };
  return { ...vote, signature: sign(voteSignBytes(chainId, vote), key.secretKey) };
}

/** A precommit of validator i at height/round for blockId (or nil), as its CommitSig. */
function commitSig(i: number, flag: number, height: bigint, round: number, blockId: BlockID, timestamp: bigint, key = keys[i]): CommitSig {
  if (flag === BlockIdFlag.ABSENT) return { blockIdFlag: flag, validatorAddress: new Uint8Array(0), timestamp: 0n, signature: new Uint8Array(0) };
  const voted = flag === BlockIdFlag.COMMIT ? blockId : EMPTY_BLOCK_ID;
  const v = signedVote(i, { type: VoteType.PRECOMMIT, height, round, blockId: voted, timestamp }, key);
  return { blockIdFlag: flag, validatorAddress: v.validatorAddress, timestamp, signature: v.signature };
}

const { COMMIT, NIL, ABSENT } = BlockIdFlag;
const COMMIT_ROUND = 1;
/** Timestamps of the precommits for block 1: the 45-power COMMIT is the latest of the three signers. */
const TS = [T0 + 3n * SEC, T0 + 1n * SEC, T0 + 2n * SEC, 0n];

function buildCommit(flags: number[], blockId: BlockID, opts: { height?: bigint; round?: number; ts?: bigint[] } = {}): Commit {
  const height = opts.height ?? 1n;
  const round = opts.round ?? COMMIT_ROUND;
  const ts = opts.ts ?? TS;
  return { height, round, blockId, signatures: flags.map((f, i) => commitSig(i, f, height, round, blockId, ts[i])) };
}

// ---- height 1 (first block) and height 2 (with the signed commit of block 1)

const set2 = set.incrementProposerPriority(1);
// Height 3's set differs (validator 3 re-weighted), so validators_hash and next_validators_hash of block 2 differ.
const set3 = set2.updateWithChanges([{ pubKey: keys[3].publicKey, power: 6n }]).incrementProposerPriority(1);

const ctx1: BlockContext = {
  chainId: CHAIN,
  height: 1n,
  prevTime: T0,
  isFirst: true,
  lastBlockId: EMPTY_BLOCK_ID,
  lastCommit: emptyCommit(),
  lastValidators: undefined,
  validators: set,
  nextValidators: set2,
  consensusHash: h32('consensus params'),
  appHash: h32('app hash after genesis'),
  lastResultsHash: resultsHash([]),
  blsKeys,
};
const proposer1 = set.proposer().address;
const block1 = makeBlock(ctx1, proposer1, [new TextEncoder().encode('tx-1')], []);
const commit1 = buildCommit([COMMIT, COMMIT, NIL, ABSENT], block1.blockId);

const results1: TxResult[] = [{ code: 0, codespace: '', log: 'ok', gasWanted: 100n, gasUsed: 60n, events: [] }];
const ctx2: BlockContext = {
  chainId: CHAIN,
  height: 2n,
  prevTime: block1.block.header.time,
  isFirst: false,
  lastBlockId: block1.blockId,
  lastCommit: commit1,
  lastValidators: set,
  validators: set2,
  nextValidators: set3,
  consensusHash: h32('consensus params'),
  appHash: h32('app hash after block 1'),
  lastResultsHash: resultsHash(results1),
  blsKeys,
};
const proposer2 = set2.proposer().address;
const txs2 = [new TextEncoder().encode('tx-a'), new TextEncoder().encode('tx-b')];
const block2 = makeBlock(ctx2, proposer2, txs2, []);

/** Duplicate-vote evidence against validator 3 at height 1 (well-formed and really signed). */
function doubleVote(): Evidence {
  const base = { type: VoteType.PREVOTE, height: 1n, round: 0, timestamp: T0 + SEC };
  const a = signedVote(3, { ...base, blockId: EMPTY_BLOCK_ID });
  const b = signedVote(3, { ...base, blockId: block1.blockId });
  return { type: 'duplicate_vote_evidence', value: { voteA: a, voteB: b, validatorPower: 5n, totalVotingPower: 90n, timestamp: T0 } };
}

t.test('fixture: set order, quorum, and the signed commit layout', async (t) => {
  t.same(set.validators.map((v) => v.power), POWERS, 'set order is power descending, so index i is keys[i]');
  for (let i = 0; i < 4; i++) t.ok(equalBytes(set.byIndex(i)!.address, addr(i)));
  t.equal(set.totalPower, 90n);
  t.equal(set.quorum, 61n, 'more than 2/3 of 90');
  t.same(
    commit1.signatures.map((s) => s.blockIdFlag),
    [COMMIT, COMMIT, NIL, ABSENT],
    'CometBFT layout: one CommitSig per validator in set order',
  );
  t.notOk(equalBytes(set2.hash(), set3.hash()), 'validators and next validators of block 2 differ');
  t.equal(block1.block.header.time, T0, 'the first block takes the genesis time');
});

t.test('makeBlock -> checkBlock accepts, also after a trip through the wire codec', async (t) => {
  t.equal(checkBlock(ctx1, block1.block, proposer1), null, 'first block');
  t.equal(checkBlock(ctx1, BlockCodec.decode(block1.bytes), proposer1), null, 'first block, decoded');
  t.equal(checkBlock(ctx2, block2.block, proposer2), null, 'height 2 with a real last commit');
  t.equal(checkBlock(ctx2, BlockCodec.decode(block2.bytes), proposer2), null, 'height 2, decoded');
  t.same(blockIdOf(BlockCodec.decode(block2.bytes).header, block2.bytes), block2.blockId, 'the block id is recomputed from the decoded block');
  t.same(makeBlock(ctx2, proposer2, txs2, []).bytes, block2.bytes, 'makeBlock is deterministic');
  const ev = doubleVote();
  const withEv = makeBlock(ctx2, proposer2, txs2, [ev]);
  t.equal(checkBlock(ctx2, BlockCodec.decode(withEv.bytes), proposer2), null, 'a block with evidence (evidence itself is the caller\'s check)');
  t.same(withEv.block.header.evidenceHash, evidenceHash([ev]));
});

t.test('expectedTime: genesis time first, then the power-weighted median of the COMMIT votes, at least prevTime + 1 ms', async (t) => {
  t.equal(expectedTime(ctx1), T0, 'the first block: the genesis time itself');
  // COMMIT: 45 @ T0+3s, 30 @ T0+1s (the NIL vote @ T0+2s does not count): half of 75 is passed only at the 45.
  t.equal(expectedTime(ctx2), T0 + 3n * SEC, 'weighted median of the COMMIT votes');
  t.equal(block2.block.header.time, T0 + 3n * SEC, 'and makeBlock uses it');

  // Three COMMIT votes: 45 @ +5s, 30 @ +1s, 10 @ +2s. The unweighted median would be +2s; the weighted one is +5s.
  const c3 = buildCommit([COMMIT, COMMIT, COMMIT, ABSENT], block1.blockId, { ts: [T0 + 5n * SEC, T0 + SEC, T0 + 2n * SEC, 0n] });
  t.equal(expectedTime({ ...ctx2, lastCommit: c3 }), T0 + 5n * SEC, 'weighted, not the plain median');
  // 45 @ +1s, 30 @ +4s, 10 @ +9s, 5 @ +9s: 45 is not more than half of 90, 75 is: +4s.
  const c4 = buildCommit([COMMIT, COMMIT, COMMIT, COMMIT], block1.blockId, { ts: [T0 + SEC, T0 + 4n * SEC, T0 + 9n * SEC, T0 + 9n * SEC] });
  t.equal(expectedTime({ ...ctx2, lastCommit: c4 }), T0 + 4n * SEC, 'the median walks the power in time order');

  // 45 @ +1s, 30 @ +3s, 10 @ +2s COMMIT; 5 @ +9s NIL. COMMIT only: 45 is more than half of 85 -> +1s. Were the NIL
  // vote counted, 45 would not be more than half of 90 and the time would be +2s.
  const c5 = buildCommit([COMMIT, COMMIT, COMMIT, NIL], block1.blockId, { ts: [T0 + SEC, T0 + 3n * SEC, T0 + 2n * SEC, T0 + 9n * SEC] });
  t.equal(verifyCommit(CHAIN, c5, set, 1n, block1.blockId), null, '(a valid commit)');
  t.equal(expectedTime({ ...ctx2, lastCommit: c5 }), T0 + SEC, 'NIL votes do not count towards the median');

  // Votes at or before the previous block: the time is still strictly after it, by 1 ms.
  const prev = T0 + 10n * SEC;
  t.equal(expectedTime({ ...ctx2, prevTime: prev }), prev + MS_NS, 'median before prevTime -> prevTime + 1 ms');
  t.equal(expectedTime({ ...ctx2, prevTime: T0 + 3n * SEC }), T0 + 3n * SEC + MS_NS, 'median equal to prevTime -> prevTime + 1 ms');
  t.equal(expectedTime({ ...ctx2, prevTime: T0 + 3n * SEC - MS_NS }), T0 + 3n * SEC, 'median just after the floor is kept');
});

t.test('checkBlock: every tampering gives a reason that names the field', async (t) => {
  const other = set.validators.find((v) => !equalBytes(v.address, proposer2))!.address;
  type Row = [string, (b: Block) => void, RegExp, Uint8Array?];
  const rows2: Row[] = [
    ['chain_id', (b) => { b.header.chainId = 'other-chain'; }, /^chain_id is other-chain, expected block-chain/],
    ['height', (b) => { b.header.height = 3n; }, /^height is 3, expected 2/],
    ['time: the earliest COMMIT vote', (b) => { b.header.time = T0 + SEC; }, /^time is .*expected 1764000003000000000/],
    ['time: the unweighted median (the NIL vote counted)', (b) => { b.header.time = T0 + 2n * SEC; }, /^time /],
    ['time: prevTime + 1 ms', (b) => { b.header.time = T0 + MS_NS; }, /^time /],
    ['time: the median + 1 ns', (b) => { b.header.time = T0 + 3n * SEC + 1n; }, /^time /],
    ['last_block_id hash', (b) => { b.header.lastBlockId = { ...b.header.lastBlockId, hash: flip(b.header.lastBlockId.hash) }; }, /^last_block_id/],
    ['last_block_id part set', (b) => { b.header.lastBlockId = { ...b.header.lastBlockId, partSetHeader: { total: 2, hash: b.header.lastBlockId.partSetHeader.hash } }; }, /^last_block_id/],
    ['last_block_id empty', (b) => { b.header.lastBlockId = EMPTY_BLOCK_ID; }, /^last_block_id/],
    ['last_commit_hash', (b) => { b.header.lastCommitHash = flip(b.header.lastCommitHash); }, /^last_commit_hash is /],
    [
      'last commit: a forged signature',
      (b) => { b.lastCommit.signatures[0] = { ...b.lastCommit.signatures[0], signature: flip(b.lastCommit.signatures[0].signature, 7) }; },
      /^last_commit: signature 0 .* does not verify/,
    ],
    [
      'last commit: only exactly 2/3 (the 30 turned ABSENT)',
      (b) => { b.lastCommit = buildCommit([COMMIT, ABSENT, COMMIT, COMMIT], block1.blockId); b.header.lastCommitHash = commitHash(b.lastCommit); },
      /^last_commit: .*carry 60 of 90 power, not more than 2\/3/,
    ],
    ['data_hash: a tx added', (b) => { b.data.txs.push(new TextEncoder().encode('tx-c')); }, /^data_hash is /],
    ['data_hash: txs reordered', (b) => { b.data.txs.reverse(); }, /^data_hash is /],
    ['data_hash: a tx dropped', (b) => { b.data.txs.pop(); }, /^data_hash is /],
    ['validators_hash', (b) => { b.header.validatorsHash = set3.hash(); }, /^validators_hash is /],
    ['next_validators_hash', (b) => { b.header.nextValidatorsHash = set2.hash(); }, /^next_validators_hash is /],
    ['validators and next validators swapped', (b) => { [b.header.validatorsHash, b.header.nextValidatorsHash] = [b.header.nextValidatorsHash, b.header.validatorsHash]; }, /^validators_hash is /],
    ['consensus_hash', (b) => { b.header.consensusHash = flip(b.header.consensusHash, 31); }, /^consensus_hash is /],
    ['app_hash', (b) => { b.header.appHash = h32('app hash after genesis'); }, /^app_hash is /],
    ['last_results_hash', (b) => { b.header.lastResultsHash = resultsHash([]); }, /^last_results_hash is /],
    ['evidence_hash: evidence added', (b) => { b.evidence.push(doubleVote()); }, /^evidence_hash is /],
    ['evidence_hash: changed', (b) => { b.header.evidenceHash = flip(b.header.evidenceHash); }, /^evidence_hash is /],
    ['proposer_address in the header', (b) => { b.header.proposerAddress = other; }, new RegExp(`^proposer_address is ${toHex(other)}, expected ${toHex(proposer2)}`)],
    ['proposer_address: not the expected proposer', () => {}, /^proposer_address is /, other],
  ];
  t.notOk(equalBytes(other, proposer2), 'the other address is not the proposer of height 2');
  for (const [name, tamper, re, expectedProposer] of rows2) {
    const b = copy(block2.block);
    tamper(b);
    const why = checkBlock(ctx2, b, expectedProposer ?? proposer2);
    t.match(why, re, `height 2, ${name}: ${why}`);
  }

  const rows1: Row[] = [
    ['first block carrying a last commit', (b) => { b.lastCommit = commit1; }, /^the first block must not carry a last commit/],
    ['first block with a later time', (b) => { b.header.time = T0 + MS_NS; }, /^time is .* expected 1764000000000000000/],
    ['first block naming a parent', (b) => { b.header.lastBlockId = block1.blockId; }, /^last_block_id/],
    ['first block: app_hash', (b) => { b.header.appHash = flip(b.header.appHash); }, /^app_hash is /],
  ];
  for (const [name, tamper, re] of rows1) {
    const b = copy(block1.block);
    tamper(b);
    const why = checkBlock(ctx1, b, proposer1);
    t.match(why, re, `height 1, ${name}: ${why}`);
  }
  // Checked against the context, not the block: the context of height 2 rejects the first block, and vice versa.
  t.match(checkBlock(ctx2, block1.block, proposer2), /^height is 1, expected 2/);
  t.match(checkBlock(ctx1, block2.block, proposer1), /^height is 2, expected 1/);
});

t.test('verifyCommit', async (t) => {
  const id = block1.blockId;
  t.equal(verifyCommit(CHAIN, commit1, set, 1n, id), null, 'the signed commit (COMMIT / COMMIT / NIL / ABSENT) verifies');
  t.equal(verifyCommit(CHAIN, buildCommit([COMMIT, COMMIT, ABSENT, ABSENT], id), set, 1n, id), null, '75 of 90 without the NIL is enough');
  t.equal(verifyCommit(CHAIN, buildCommit([COMMIT, COMMIT, COMMIT, COMMIT], id, { ts: [T0, T0, T0, T0] }), set, 1n, id), null, 'all four');

  const otherId: BlockID = { hash: h32('another block'), partSetHeader: { total: 1, hash: h32('another part set') } };
  const sigs = (f: (s: CommitSig[]) => void): Commit => {
    const c = { ...commit1, signatures: commit1.signatures.map((s) => ({ ...s })) };
    f(c.signatures);
    return c;
  };
  const rows: [string, Commit, RegExp, { chainId?: string; height?: bigint; blockId?: BlockID }?][] = [
    ['a COMMIT signature with a flipped bit', sigs((s) => { s[0].signature = flip(s[0].signature, 10); }), /^signature 0 \(.*\) does not verify/],
    ['a NIL signature with a flipped bit', sigs((s) => { s[2].signature = flip(s[2].signature, 10); }), /^signature 2 \(.*\) does not verify/],
    ['a NIL vote relabelled COMMIT (to add its power)', sigs((s) => { s[2].blockIdFlag = COMMIT; }), /^signature 2 .* does not verify/],
    ['a COMMIT vote relabelled NIL', sigs((s) => { s[1].blockIdFlag = NIL; }), /^signature 1 .* does not verify/],
    ['a timestamp changed after signing', sigs((s) => { s[1].timestamp += 1n; }), /^signature 1 .* does not verify/],
    ['signed by another validator\'s key', sigs((s) => { s[1] = commitSig(1, COMMIT, 1n, COMMIT_ROUND, id, TS[1], keys[2]); }), /^signature 1 .* does not verify/],
    ['signatures in the wrong order', sigs((s) => { [s[0], s[1]] = [s[1], s[0]]; }), new RegExp(`^signature 0 is from ${toHex(addr(1))}, expected ${toHex(addr(0))}`)],
    [
      'a signature from an address outside the set (validly signed by it)',
      sigs((s) => {
        const v = { type: VoteType.PRECOMMIT, height: 1n, round: COMMIT_ROUND, blockId: id, timestamp: TS[1], validatorAddress: addressOf(stranger.publicKey), validatorIndex: 1, signature: new Uint8Array(0) };
        s[1] = { blockIdFlag: COMMIT, validatorAddress: v.validatorAddress, timestamp: v.timestamp, signature: sign(voteSignBytes(CHAIN, v), stranger.secretKey) };
      }),
      /^signature 1 is from .*, expected /,
    ],
    ['the round changed after signing', { ...commit1, round: 0 }, /^signature 0 .* does not verify/],
    ['signatures of height 1 relabelled as a commit of height 2', { ...commit1, height: 2n }, /^signature 0 .* does not verify/, { height: 2n }],
    ['signed for another chain', commit1, /^signature 0 .* does not verify/, { chainId: 'other-chain' }],
    ['exactly 2/3 of the power (45 + 10 + 5 = 60 of 90), the 30 voting nil', buildCommit([COMMIT, NIL, COMMIT, COMMIT], id), /carry 60 of 90 power, not more than 2\/3/],
    ['exactly 2/3 of the power, the 30 absent', buildCommit([COMMIT, ABSENT, COMMIT, COMMIT], id), /carry 60 of 90 power, not more than 2\/3/],
    ['less than 2/3 (45 + 10)', buildCommit([COMMIT, NIL, COMMIT, ABSENT], id), /carry 55 of 90 power/],
    ['nobody signed', buildCommit([ABSENT, ABSENT, ABSENT, ABSENT], id), /carry 0 of 90 power/],
    ['a commit for another height', commit1, /^is for height 1, expected 2/, { height: 2n }],
    ['a commit for another block', commit1, /^is for another block/, { blockId: otherId }],
    ['a commit relabelled with another block id', { ...commit1, blockId: otherId }, /^signature 0 .* does not verify/, { blockId: otherId }],
    ['too few entries (the ABSENT dropped)', sigs((s) => { s.pop(); }), /^has 3 signatures for 4 validators/],
    ['too many entries', sigs((s) => { s.push({ ...s[3] }); }), /^has 5 signatures for 4 validators/],
    ['no entries', { ...commit1, signatures: [] }, /^has 0 signatures for 4 validators/],
  ];
  for (const [name, commit, re, o] of rows) {
    const why = verifyCommit(o?.chainId ?? CHAIN, commit, set, o?.height ?? 1n, o?.blockId ?? id);
    t.match(why, re, `${name}: ${why}`);
  }
});

t.test('blockIdOf changes when any byte of the header changes', async (t) => {
  const base = block2.block.header;
  const baseId = blockIdOf(base, block2.bytes);
  const seen = new Map<string, string>([[toHex(baseId.hash), 'unchanged']]);
  let variants = 0;
  const check = (what: string, h: Header) => {
    variants++;
    const key = toHex(blockIdOf(h, block2.bytes).hash);
    const clash = seen.get(key);
    if (clash !== undefined) t.fail(`${what}: same header hash as ${clash}`);
    seen.set(key, what);
  };
  const bytesFields = ['lastCommitHash', 'dataHash', 'validatorsHash', 'nextValidatorsHash', 'consensusHash', 'appHash', 'lastResultsHash', 'evidenceHash', 'proposerAddress'] as const;
  for (const f of bytesFields) {
    for (let i = 0; i < base[f].length; i++) check(`${f}[${i}]`, { ...base, [f]: flip(base[f], i) });
  }
  for (let i = 0; i < base.lastBlockId.hash.length; i++) check(`lastBlockId.hash[${i}]`, { ...base, lastBlockId: { ...base.lastBlockId, hash: flip(base.lastBlockId.hash, i) } });
  for (let i = 0; i < base.lastBlockId.partSetHeader.hash.length; i++) {
    check(`lastBlockId.partSetHeader.hash[${i}]`, { ...base, lastBlockId: { ...base.lastBlockId, partSetHeader: { total: 1, hash: flip(base.lastBlockId.partSetHeader.hash, i) } } });
  }
  check('lastBlockId.partSetHeader.total', { ...base, lastBlockId: { ...base.lastBlockId, partSetHeader: { ...base.lastBlockId.partSetHeader, total: 2 } } });
  check('chainId', { ...base, chainId: 'block-chaio' });
  check('height', { ...base, height: base.height + 1n });
  for (const d of [1n, MS_NS, SEC]) check(`time + ${d}`, { ...base, time: base.time + d });
  t.equal(seen.size, variants + 1, `${variants} single-field changes, ${variants} distinct header hashes`);
  t.ok(variants > 300, 'every byte of every hash field was tried');
  t.same(baseId.hash, headerHash(base), 'the id names the header hash');

  // The part set header names the block bytes; the header hash does not depend on them.
  const otherBytes = flip(block2.bytes, block2.bytes.length - 1);
  const id2 = blockIdOf(base, otherBytes);
  t.same(id2.hash, baseId.hash, 'same header, same hash');
  t.notSame(id2.partSetHeader.hash, baseId.partSetHeader.hash, 'other block bytes, other part set hash');
  t.equal(baseId.partSetHeader.total, 1);
});

t.test('resultsHash commits to code and gas, not to log, codespace or events', async (t) => {
  const r = (over: Partial<TxResult> = {}): TxResult => ({
    code: 0,
    codespace: '',
    log: 'ok',
    gasWanted: 100n,
    gasUsed: 60n,
    events: [{ type: 'transfer', attributes: [{ key: 'amount', value: '5', index: true }] }],
    ...over,
  });
  const base = [r(), r({ code: 5, codespace: 'bank', log: 'insufficient funds', gasUsed: 40n })];
  const h = toHex(resultsHash(base));
  const same: [string, TxResult[]][] = [
    ['another log', [r({ log: 'something else' }), base[1]]],
    ['no events', [r({ events: [] }), base[1]]],
    ['other events', [r({ events: [{ type: 'x', attributes: [] }] }), base[1]]],
    ['another codespace (CometBFT does not hash it either)', [base[0], r({ code: 5, codespace: 'other', log: 'insufficient funds', gasUsed: 40n })]],
  ];
  for (const [name, list] of same) t.equal(toHex(resultsHash(list)), h, `ignores ${name}`);
  const differ: [string, TxResult[]][] = [
    ['code', [r({ code: 1 }), base[1]]],
    ['gas_wanted', [r({ gasWanted: 101n }), base[1]]],
    ['gas_used', [r({ gasUsed: 61n }), base[1]]],
    ['order', [base[1], base[0]]],
    ['a result dropped', [base[0]]],
    ['a result added', [...base, r()]],
  ];
  for (const [name, list] of differ) t.not(toHex(resultsHash(list)), h, `changes with ${name}`);
  t.not(toHex(resultsHash([])), toHex(resultsHash([r({ code: 0, gasWanted: 0n, gasUsed: 0n })])), 'no results differs from one all-zero result');
});
