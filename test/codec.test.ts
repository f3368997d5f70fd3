import t from 'tap';
import {
  BlockCodec,
  CommitCodec,
  EMPTY_BLOCK_ID,
  EvidenceCodec,
  HeaderCodec,
  ProposalCodec,
  TxBodyCodec,
  TxCodec,
  VoteCodec,
  emptyCommit,
  type BlockID,
  type Header,
  type TxBody,
  type Vote,
} from '../src/codec/types.ts';
import { proposalSignBytes, txSignBytes, voteSignBytes } from '../src/codec/signbytes.ts';
import { signTx } from '../src/codec/tx.ts';
import { generateKeyPair } from '../src/crypto/keys.ts';
import { concat, toHex } from '../src/crypto/bytes.ts';
import { Rng } from './helpers/rng.ts';

/** Deep value as JSON-able data: bytes as hex, bigint as string (Buffer and Uint8Array compare alike). */
const plain = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? toHex(x) : x?.type === 'Buffer' ? toHex(Uint8Array.from(x.data)) : x)));

const h32 = (n: number) => new Uint8Array(32).fill(n);
const a20 = (n: number) => new Uint8Array(20).fill(n);
const bid = (n: number): BlockID => ({ hash: h32(n), partSetHeader: { total: 1, hash: h32(n + 1) } });

const header = (over: Partial<Header> = {}): Header => ({
  chainId: 'test-chain',
  height: 7n,
  time: 1_764_000_000_123_456_789n,
  lastBlockId: bid(1),
  lastCommitHash: h32(2),
  dataHash: h32(3),
  validatorsHash: h32(4),
  nextValidatorsHash: h32(5),
  consensusHash: h32(6),
  appHash: h32(7),
  lastResultsHash: h32(8),
  evidenceHash: h32(9),
  proposerAddress: a20(10),
  ...over,
});

const vote = (over: Partial<Vote> = {}): Vote => ({
  type: 2,
  height: 7n,
  round: 1,
  blockId: bid(3),
  timestamp: 1_764_000_000_000_000_001n,
  validatorAddress: a20(4),
  validatorIndex: 3,
  signature: new Uint8Array(64).fill(5),
  ...over,
});

const body = (over: Partial<TxBody> = {}): TxBody => ({
  chainId: 'test-chain',
  nonce: 3n,
  gasLimit: 50_000n,
  gasPrice: 2n,
  memo: 'hi',
  msg: { type: 'send', value: { to: a20(9), amount: 1234n } },
  ...over,
});

t.test('canonical encodings round-trip exactly (value and bytes)', async (t) => {
  const rows: Array<[string, { encode(v: never): Uint8Array; decode(b: Uint8Array): unknown }, unknown]> = [
    ['Header', HeaderCodec, header()],
    ['Header with empty last_block_id (height 1)', HeaderCodec, header({ height: 1n, lastBlockId: EMPTY_BLOCK_ID })],
    ['Vote', VoteCodec, vote()],
    ['nil Vote', VoteCodec, vote({ blockId: EMPTY_BLOCK_ID })],
    ['Proposal', ProposalCodec, { type: 32, height: 9n, round: 2, polRound: 1, blockId: bid(1), timestamp: 5n, signature: new Uint8Array(64).fill(1) }],
    ['Commit', CommitCodec, { height: 7n, round: 0, blockId: bid(1), signatures: [{ blockIdFlag: 2, validatorAddress: a20(1), timestamp: 9n, signature: new Uint8Array(64).fill(2) }, { blockIdFlag: 1, validatorAddress: new Uint8Array(0), timestamp: 0n, signature: new Uint8Array(0) }] }],
    ['Evidence', EvidenceCodec, { type: 'duplicate_vote_evidence', value: { voteA: vote(), voteB: vote({ blockId: bid(8) }), totalVotingPower: 100n, validatorPower: 10n, timestamp: 77n } }],
    ['TxBody', TxBodyCodec, body()],
    ['TxBody with max amount', TxBodyCodec, body({ msg: { type: 'send', value: { to: a20(1), amount: 2n ** 64n - 1n } } })],
    ['Block', BlockCodec, { header: header(), data: { txs: [new Uint8Array([1, 2, 3]), new Uint8Array([4])] }, evidence: [], lastCommit: { height: 6n, round: 0, blockId: bid(1), signatures: [{ blockIdFlag: 2, validatorAddress: a20(1), timestamp: 9n, signature: new Uint8Array(64).fill(2) }] }, randaoReveal: new Uint8Array(96).fill(3) }],
    ['first Block', BlockCodec, { header: header({ height: 1n, lastBlockId: EMPTY_BLOCK_ID }), data: { txs: [] }, evidence: [], lastCommit: emptyCommit(), randaoReveal: new Uint8Array(96).fill(4) }],
  ];
  for (const [name, codec, value] of rows) {
    const bytes = codec.encode(value as never);
    const back = codec.decode(bytes);
    t.same(plain(back), plain(value), `${name}: value round-trips`);
    t.equal(toHex(codec.encode(back as never)), toHex(bytes), `${name}: bytes round-trip`);
  }
});

t.test('times keep nanoseconds, including before the epoch', async (t) => {
  for (const time of [0n, 1n, 999_999_999n, 1_000_000_000n, -1n, -1_000_000_001n, 253_402_300_799_999_999_999n]) {
    t.equal(HeaderCodec.decode(HeaderCodec.encode(header({ time }))).time, time);
  }
});

t.test('decoding rejects malformed and non-canonical bytes with a coded error', async (t) => {
  const tx = signTx(body(), generateKeyPair(new Uint8Array(32).fill(1)));
  const rows: Array<[string, () => unknown, string]> = [
    ['truncated tx', () => TxCodec.decode(tx.subarray(0, tx.length - 3)), 'TX_DECODE'],
    ['garbage', () => TxCodec.decode(new Uint8Array([0xff, 0xff, 0xff])), 'TX_DECODE'],
    ['unknown field appended to tx', () => TxCodec.decode(concat(tx, new Uint8Array([0x78, 0x01]))), 'TX_DECODE'],
    ['non-minimal varint', () => TxBodyCodec.decode(new Uint8Array([0x10, 0x81, 0x00])), 'TX_DECODE'],
    ['empty tx', () => TxCodec.decode(new Uint8Array(0)), 'TX_DECODE'],
    ['explicit empty sub-message', () => HeaderCodec.decode(concat(HeaderCodec.encode(header({ height: 1n, lastBlockId: EMPTY_BLOCK_ID })), new Uint8Array([0x22, 0x00]))), 'INVALID_FIELD'],
    ['body without a message', () => TxBodyCodec.decode(new Uint8Array([0x0a, 0x01, 0x63, 0x18, 0x01])), 'UNKNOWN_MESSAGE'],
  ];
  for (const [name, fn, code] of rows) t.throws(fn, { code }, name);
});

t.test('validateBasic rejects every malformed field', async (t) => {
  const enc = <T>(codec: { encode(v: T): Uint8Array; decode(b: Uint8Array): T }, v: T) => () => codec.decode(codec.encode(v));
  const rows: Array<[string, () => unknown, string]> = [
    ['tx with short pub_key', () => TxCodec.decode(TxCodec.encode({ body: new Uint8Array([1]), pubKey: new Uint8Array(31), signature: new Uint8Array(64) })), 'BAD_SIGNATURE'],
    ['tx with short signature', () => TxCodec.decode(TxCodec.encode({ body: new Uint8Array([1]), pubKey: new Uint8Array(32), signature: new Uint8Array(63) })), 'BAD_SIGNATURE'],
    ['zero amount', enc(TxBodyCodec, body({ msg: { type: 'send', value: { to: a20(1), amount: 0n } } })), 'INVALID_AMOUNT'],
    ['short recipient', enc(TxBodyCodec, body({ msg: { type: 'send', value: { to: new Uint8Array(19), amount: 1n } } })), 'INVALID_FIELD'],
    ['empty chain id', enc(TxBodyCodec, body({ chainId: '' })), 'INVALID_FIELD'],
    ['zero gas limit', enc(TxBodyCodec, body({ gasLimit: 0n })), 'INVALID_FIELD'],
    ['header height 0', enc(HeaderCodec, header({ height: 0n })), 'INVALID_FIELD'],
    ['header short app hash', enc(HeaderCodec, header({ appHash: h32(1).subarray(1) })), 'INVALID_FIELD'],
    ['header short proposer', enc(HeaderCodec, header({ proposerAddress: a20(1).subarray(1) })), 'INVALID_FIELD'],
    ['vote type 3', enc(VoteCodec, vote({ type: 3 })), 'INVALID_FIELD'],
    ['vote without signature', enc(VoteCodec, vote({ signature: new Uint8Array(0) })), 'INVALID_FIELD'],
    ['vote block id with zero parts', enc(VoteCodec, vote({ blockId: { hash: h32(1), partSetHeader: { total: 0, hash: h32(2) } } })), 'INVALID_FIELD'],
    ['proposal pol_round >= round', enc(ProposalCodec, { type: 32, height: 1n, round: 1, polRound: 1, blockId: bid(1), timestamp: 1n, signature: new Uint8Array(64) }), 'INVALID_FIELD'],
    ['commit without signatures', enc(CommitCodec, { height: 1n, round: 0, blockId: bid(1), signatures: [] }), 'INVALID_FIELD'],
    ['evidence for the same block', enc(EvidenceCodec, { type: 'duplicate_vote_evidence', value: { voteA: vote(), voteB: vote(), totalVotingPower: 1n, validatorPower: 1n, timestamp: 1n } }), 'INVALID_FIELD'],
    ['evidence across heights', enc(EvidenceCodec, { type: 'duplicate_vote_evidence', value: { voteA: vote(), voteB: vote({ height: 8n, blockId: bid(9) }), totalVotingPower: 1n, validatorPower: 1n, timestamp: 1n } }), 'INVALID_FIELD'],
    ['evidence from two validators', enc(EvidenceCodec, { type: 'duplicate_vote_evidence', value: { voteA: vote(), voteB: vote({ validatorAddress: a20(9), blockId: bid(9) }), totalVotingPower: 1n, validatorPower: 1n, timestamp: 1n } }), 'INVALID_FIELD'],
    ['block at height 2 without last commit', enc(BlockCodec, { header: header({ height: 2n }), data: { txs: [] }, evidence: [], lastCommit: emptyCommit(), randaoReveal: new Uint8Array(96) }), 'INVALID_FIELD'],
    ['block without randao_reveal', enc(BlockCodec, { header: header({ height: 1n }), data: { txs: [] }, evidence: [], lastCommit: emptyCommit(), randaoReveal: new Uint8Array(0) }), 'INVALID_FIELD'],
    ['block with a 95-byte randao_reveal', enc(BlockCodec, { header: header({ height: 1n }), data: { txs: [] }, evidence: [], lastCommit: emptyCommit(), randaoReveal: new Uint8Array(95) }), 'INVALID_FIELD'],
  ];
  for (const [name, fn, code] of rows) t.throws(fn, { code }, name);
});

t.test('sign bytes bind the chain id and the message kind', async (t) => {
  const b = TxBodyCodec.encode(body());
  t.not(toHex(txSignBytes('a', b)), toHex(txSignBytes('b', b)), 'chain id');
  const v = vote();
  t.not(toHex(voteSignBytes('a', v)), toHex(voteSignBytes('b', v)), 'vote chain id');
  t.not(toHex(voteSignBytes('a', v)), toHex(voteSignBytes('a', { ...v, type: 1 })), 'prevote vs precommit');
  t.equal(toHex(voteSignBytes('a', v)), toHex(voteSignBytes('a', { ...v, signature: new Uint8Array(64), validatorIndex: 9 })), 'signature and index are not signed');
  const p = { type: 32, height: v.height, round: v.round, polRound: -1, blockId: v.blockId, timestamp: v.timestamp, signature: new Uint8Array(64) };
  t.not(toHex(proposalSignBytes('a', p)), toHex(voteSignBytes('a', v)), 'a proposal never signs like a vote');
  // A tx payload can never be read as a vote payload: the domain differs even with identical payload bytes.
  t.not(toHex(txSignBytes('a', b)).slice(0, 40), toHex(voteSignBytes('a', v)).slice(0, 40));
});

t.test('property: random tx bodies round-trip, random byte strings never crash the decoder', async (t) => {
  const rng = new Rng(7);
  const key = generateKeyPair(new Uint8Array(32).fill(3));
  for (let i = 0; i < 300; i++) {
    const b = body({ nonce: rng.bigint(0n, 2n ** 64n - 1n), gasLimit: rng.bigint(1n, 2n ** 64n - 1n), gasPrice: rng.bigint(0n, 2n ** 40n), memo: 'm'.repeat(rng.int(0, 40)) });
    const tx = TxCodec.decode(signTx(b, key));
    t.same(plain(TxBodyCodec.decode(tx.body)), plain(b));
  }
  let thrownOther = 0;
  for (let i = 0; i < 2000; i++) {
    try {
      TxCodec.decode(rng.bytes(rng.int(0, 120)));
    } catch (err) {
      if (!['TX_DECODE', 'BAD_SIGNATURE'].includes((err as { code?: string }).code ?? '')) thrownOther++;
    }
  }
  t.equal(thrownOther, 0, 'random bytes only ever fail with TX_DECODE or BAD_SIGNATURE');
});

t.test('encoding refuses integers that do not fit their field instead of wrapping them', async (t) => {
  const rows: Array<[string, () => unknown]> = [
    ['uint64 = 2^64', () => TxBodyCodec.encode(body({ nonce: 2n ** 64n }))],
    ['uint64 negative', () => TxBodyCodec.encode(body({ gasLimit: -1n }))],
    ['uint32 = 2^32', () => VoteCodec.encode(vote({ round: 2 ** 32 }))],
    ['int32 below range', () => ProposalCodec.encode({ type: 32, height: 1n, round: 0, polRound: -(2 ** 31) - 1, blockId: bid(1), timestamp: 1n, signature: new Uint8Array(64) })],
    ['time beyond int64 seconds', () => HeaderCodec.encode(header({ time: 2n ** 63n * 1_000_000_000n }))],
  ];
  for (const [name, fn] of rows) t.throws(fn, { code: 'INTERNAL' }, name);
  t.doesNotThrow(() => TxBodyCodec.encode(body({ nonce: 2n ** 64n - 1n })), 'the largest uint64 still encodes');
});
