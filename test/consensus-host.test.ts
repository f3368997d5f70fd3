// The consensus host in process: the host of validator 0 on a real App (LevelDB), WAL and PrivValidator, driven by a
// virtual clock; the test plays validators 1-3 by hand (their proposals and votes really signed with their keys) and
// reads what the host broadcasts. Four equal stakes: any three validators are a quorum, two are not.
// Proposers of round 0 (fixed seeds): height 1 -> v1, 2 -> v3, 3 -> v0 (the host), 4 -> v2, then again.
import t from 'tap';
import {
  Harness,
  HOST_CHAIN,
  VALIDATOR_KEYS,
  VirtualClock,
  doubleVoteEvidence,
  flipBit,
  signProposal,
  type LogLine,
} from './helpers/consensus-harness.ts';
import { blockIdOf, evidenceHash, expectedTime, makeBlock as makeBlockWithReveal, verifyCommit, type BlockContext } from '../src/consensus/block.ts';
import { revealOf } from './helpers/chain.ts';
import { evidenceId } from '../src/consensus/host.ts';
import { bftTime, verifyDuplicateVoteEvidence } from '../src/consensus/evidence.ts';
import { ValidatorSet } from '../src/consensus/validator-set.ts';
import { DEFAULT_MAX_FUTURE_ROUNDS } from '../src/consensus/round.ts';
import { voteSignBytes, proposalSignBytes } from '../src/codec/signbytes.ts';
import { BlockCodec, BlockIdFlag, CommitCodec, EMPTY_BLOCK_ID, VoteType, VoteCodec, type Block, type BlockID, type Evidence, type Vote } from '../src/codec/types.ts';
import type { Module } from '../src/state/module.ts';
import { defaultConsensusParams } from '../src/state/params.ts';
import { addressOf, generateKeyPair, sign, verify } from '../src/crypto/keys.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { equalBytes } from '../src/crypto/bytes.ts';

const { PREVOTE, PRECOMMIT } = VoteType;
const VALIDATOR_MAX_BYTES = defaultConsensusParams().block.max_bytes; // buildGenesis uses the defaults
const isNil = (v: Vote | undefined): boolean => v !== undefined && v.blockId.hash.length === 0;
const someBlockId = (label: string): BlockID => ({ hash: sha256(new TextEncoder().encode(label)), partSetHeader: { total: 1, hash: sha256(new TextEncoder().encode(`${label}/parts`)) } });

/** Re-encodes a tampered block: bytes and block id follow the tampered header, so only checkBlock can object. */
/** makeBlock with the proposer's real beacon reveal for the context's height (every validator key is known here). */
function makeBlock(ctx: BlockContext, proposer: Uint8Array, txs: Uint8Array[], evidence: Evidence[]): { block: Block; bytes: Uint8Array; blockId: BlockID } {
  const key = VALIDATOR_KEYS.find((k) => equalBytes(addressOf(k.publicKey), proposer));
  if (key === undefined) throw new Error('makeBlock: no key for that proposer');
  return makeBlockWithReveal(ctx, proposer, txs, evidence, revealOf(key, ctx.height, ctx.chainId));
}

function rebuild(block: Block): { block: Block; bytes: Uint8Array; blockId: BlockID } {
  const bytes = BlockCodec.encode(block);
  return { block, bytes, blockId: blockIdOf(block.header, bytes) };
}

t.test('the virtual clock fires due timers in time order, and only due ones', async (t) => {
  const clock = new VirtualClock(1_000n);
  const fired: string[] = [];
  clock.setTimer(30, () => fired.push('c@30'));
  clock.setTimer(10, () => fired.push('a@10'));
  const cancelled = clock.setTimer(15, () => fired.push('cancelled'));
  clock.setTimer(10, () => {
    fired.push('b@10');
    clock.setTimer(5, () => fired.push('d@15 (set while firing)'));
  });
  cancelled.cancel();
  clock.tick(9);
  t.same(fired, [], 'nothing is due at 9 ms');
  t.equal(clock.now(), 1_000n + 9_000_000n, 'now() moves with tick, in ns');
  clock.tick(21);
  t.same(fired, ['a@10', 'b@10', 'd@15 (set while firing)', 'c@30'], 'time order; ties in the order set; a cancelled timer never fires');
  t.same(clock.pending(), []);
});

t.test('prevotes a valid proposal, ignores badly signed votes, commits on 2/3+ precommits, starts the next height after timeout_commit', async (t) => {
  const h = await Harness.start(t);
  const [v0, v1, v2, v3] = h.keys;
  t.same(h.host.status(), { height: 1n, round: 0, step: 'propose' }, 'the host starts height 1, round 0');

  const set1 = await h.setAt(1n);
  const fromGenesis = ValidatorSet.fromPowers(h.genesis.validators.map((v) => ({ pubKey: v.publicKey, power: v.stake })));
  t.same(set1.hash(), fromGenesis.hash(), 'the set of height 1 is the genesis validators, power = stake');
  t.ok(equalBytes(set1.proposerAt(0).address, addressOf(v1.publicKey)), 'validator 1 proposes height 1, round 0');
  t.equal(h.net.sent.length, 0, 'so the host proposes nothing');

  const ctx1 = await h.context(1n);
  const built = makeBlock(ctx1, addressOf(v1.publicKey), [], []);
  h.receive(h.proposalMsg(v1, 1n, 0, built));
  const prevote = await h.waitHostVote(PREVOTE, 1n, 0);
  t.same(prevote.blockId, built.blockId, 'the host prevotes the proposed block');
  t.equal(h.clock.elapsedMs, 0, 'at once, not on a timeout');
  t.ok(verify(prevote.signature, voteSignBytes(HOST_CHAIN, prevote), v0.publicKey), 'its prevote is signed with its key');
  t.equal(prevote.validatorIndex, set1.indexOf(h.hostAddress));

  await h.othersVote(PREVOTE, 1n, 0, built.blockId, [v3]); // v1 + v2 + the host: a polka
  const precommit = await h.waitHostVote(PRECOMMIT, 1n, 0);
  t.same(precommit.blockId, built.blockId, 'a polka makes the host precommit the block');

  // Precommits: v1 valid, v2 with a flipped bit, v3's vote signed with v1's key. Only two valid precommits: no quorum.
  h.receive({ type: 'vote', value: await h.vote(v1, PRECOMMIT, 1n, 0, built.blockId) });
  const v2vote = await h.vote(v2, PRECOMMIT, 1n, 0, built.blockId);
  h.receive({ type: 'vote', value: { ...v2vote, signature: flipBit(v2vote.signature, 3) } });
  const v3vote = await h.vote(v3, PRECOMMIT, 1n, 0, built.blockId);
  h.receive({ type: 'vote', value: { ...v3vote, signature: sign(voteSignBytes(HOST_CHAIN, v3vote), v1.secretKey) } });
  // And one with the right signature but another validator's index.
  h.receive({ type: 'vote', value: { ...v3vote, validatorIndex: (v3vote.validatorIndex + 1) % 4 } });
  await h.settle();
  t.equal(h.app.head().height, 0n, 'no commit: badly signed precommits do not count');
  t.equal(h.committed.length, 0);
  t.equal(h.logged('message dropped', /^vote signature does not verify/).length, 2, 'both bad signatures were dropped');
  t.equal(h.logged('message dropped', /wrong index/).length, 1, 'and the vote with a wrong index');

  h.receive({ type: 'vote', value: v2vote });
  const c1 = await h.until('the commit of height 1', () => h.committed.find((c) => c.height === 1n));
  t.equal(h.app.head().height, 1n, 'the block is committed to the store');
  t.same(h.app.head().blockHash, built.blockId.hash, 'the head names the block');
  t.same(await h.app.store.getBlock(1n), built.bytes, 'the stored block is the proposed one, byte for byte');
  const stored = CommitCodec.decode((await h.app.store.getCommit(1n))!);
  t.equal(verifyCommit(HOST_CHAIN, stored, set1, 1n, built.blockId), null, 'the stored commit verifies');
  t.same(c1.commit, stored, 'onCommit got the same commit');
  const flags = set1.validators.map((v) => (equalBytes(v.address, addressOf(v3.publicKey)) ? BlockIdFlag.ABSENT : BlockIdFlag.COMMIT));
  t.same(stored.signatures.map((s) => s.blockIdFlag), flags, 'one CommitSig per validator in set order; v3 (forged only) is ABSENT');
  t.equal(stored.round, 0);

  // timeout_commit, on the virtual clock.
  t.same(h.host.status(), { height: 1n, round: 0, step: 'commit' });
  h.clock.tick(h.commitMs - 1);
  await h.settle();
  t.equal(h.host.status().height, 1n, 'the next height waits for timeout_commit');
  h.clock.tick(1);
  await h.until('height 2', () => h.host.status().height === 2n);
  t.same(h.host.status(), { height: 2n, round: 0, step: 'propose' }, 'height 2 starts after exactly timeout_commit');

  // Height 2: validator 3 proposes a block built from the stored chain; the host accepts it and commits it.
  const ctx2: BlockContext = await h.context(2n);
  t.equal(expectedTime(ctx2), bftTime(stored, set1), 'the time of block 2 is the BFT time of commit 1');
  t.ok(expectedTime(ctx2) > h.genesis.genesisTime, 'strictly after block 1');
  const c2 = await h.playHeight();
  t.equal(c2.block.header.time, expectedTime(ctx2));
  t.same(c2.block.header.lastBlockId, built.blockId, 'block 2 links to block 1');
  t.same(c2.block.lastCommit, stored, 'and carries its commit');
  t.equal(verifyCommit(HOST_CHAIN, c2.commit, await h.setAt(2n), 2n, c2.blockId), null, 'commit 2 verifies');
  t.equal(h.app.head().height, 2n);
  t.equal(h.fatal, null);
});

t.test('a wall-clock step while a block executes neither lengthens nor skips timeout_commit (monotonic time)', async (t) => {
  // Table: the wall clock steps back an hour, or forward an hour, during the execution of the decided block (NTP or
  // an operator setting the clock). The commit timeout is a duration: it must be measured on monotonic time.
  for (const stepMs of [-3_600_000, 3_600_000]) {
    const h = await Harness.start(t);
    const execute = h.app.execute.bind(h.app);
    h.app.execute = async (input) => {
      h.clock.step(stepMs);
      return execute(input);
    };
    await h.playHeight();
    t.equal(h.app.head().height, 1n, `step ${stepMs} ms: height 1 committed`);
    h.clock.tick(h.commitMs - 1);
    await h.settle();
    t.equal(h.host.status().height, 1n, `step ${stepMs} ms: the next height still waits for timeout_commit`);
    h.clock.tick(1);
    await h.until('height 2', () => h.host.status().height === 2n);
    t.equal(h.host.status().height, 2n, `step ${stepMs} ms: height 2 starts after exactly timeout_commit`);
  }
});

t.test('a proposal with a bad signature is dropped', async (t) => {
  const h = await Harness.start(t);
  const [, v1, v2] = h.keys;
  const stranger = generateKeyPair(new Uint8Array(32).fill(77));
  const ctx1 = await h.context(1n);
  const built = makeBlock(ctx1, addressOf(v1.publicKey), [], []);
  const good = h.proposalMsg(v1, 1n, 0, built);
  if (good.type !== 'proposal') throw new Error('unreachable');
  const p = good.value.proposal;
  const other = makeBlock(ctx1, addressOf(v1.publicKey), [new TextEncoder().encode('another tx')], []);
  const rows: [string, typeof good.value][] = [
    ['a flipped signature bit', { ...good.value, proposal: { ...p, signature: flipBit(p.signature, 9) } }],
    ['signed by validator 2, not the proposer of the round', { ...good.value, proposal: signProposal(v2, { ...p }) }],
    ['signed by a key outside the set', { ...good.value, proposal: signProposal(stranger, { ...p }) }],
    ['signed for another chain', { ...good.value, proposal: signProposal(v1, { ...p }, 'other-chain') }],
    ['the timestamp changed after signing', { ...good.value, proposal: { ...p, timestamp: p.timestamp + 1n } }],
    ['pointed at another block after signing', { proposal: { ...p, blockId: other.blockId }, block: other.bytes }],
  ];
  for (const [, value] of rows) h.receive({ type: 'proposal', value });
  await h.settle();
  t.equal(h.logged('message dropped', /^proposal signature does not verify/).length, rows.length, 'every badly signed proposal is dropped');
  t.equal(h.hostVote(PREVOTE, 1n, 0), undefined, 'and none made the host vote');

  h.clock.tick(h.proposeMs);
  t.ok(isNil(await h.waitHostVote(PREVOTE, 1n, 0)), 'at timeout_propose the host prevotes nil: it has no proposal');

  // The well-signed proposal of the same block is new to the host (the forged ones were not recorded, not even as
  // invalid): with a polka it locks on it and precommits it.
  h.receive(good);
  await h.othersVote(PREVOTE, 1n, 0, built.blockId);
  const pc = await h.waitHostVote(PRECOMMIT, 1n, 0);
  t.same(pc.blockId, built.blockId, 'the well-signed proposal is accepted and the block precommitted');
});

t.test('a proposal whose block fails checkBlock makes the host prevote nil', async (t) => {
  const proposerOf1 = addressOf(VALIDATOR_KEYS[1].publicKey);
  type Row = [string, (ctx: BlockContext) => { blockId: BlockID; bytes: Uint8Array }, RegExp | null, string?];
  const tamper = (f: (b: Block) => void) => (ctx: BlockContext) => {
    const b = makeBlock(ctx, proposerOf1, [], []).block;
    f(b);
    return rebuild(b);
  };
  const rows: Row[] = [
    ['control: a valid block', (ctx) => makeBlock(ctx, proposerOf1, [new TextEncoder().encode('tx')], []), null],
    ['app_hash', tamper((b) => { b.header.appHash = flipBit(b.header.appHash); }), /^app_hash/],
    ['time after the genesis time', tamper((b) => { b.header.time += 1_000_000n; }), /^time/],
    ['chain_id', tamper((b) => { b.header.chainId = 'other-chain'; }), /^chain_id/],
    ['proposer_address of another validator', tamper((b) => { b.header.proposerAddress = addressOf(VALIDATOR_KEYS[3].publicKey); }), /^proposer_address/],
    ['validators_hash', tamper((b) => { b.header.validatorsHash = flipBit(b.header.validatorsHash); }), /^validators_hash/],
    ['next_validators_hash', tamper((b) => { b.header.nextValidatorsHash = flipBit(b.header.nextValidatorsHash); }), /^next_validators_hash/],
    ['consensus_hash', tamper((b) => { b.header.consensusHash = flipBit(b.header.consensusHash); }), /^consensus_hash/],
    ['last_results_hash', tamper((b) => { b.header.lastResultsHash = flipBit(b.header.lastResultsHash); }), /^last_results_hash/],
    ['data_hash (a tx added afterwards)', tamper((b) => { b.data.txs.push(new TextEncoder().encode('late tx')); }), /^data_hash/],
    // The beacon rule: the reveal must be the proposer's own BLS signature over this chain and height.
    ['randao_reveal for another height', tamper((b) => { b.randaoReveal = revealOf(VALIDATOR_KEYS[1], 2n, HOST_CHAIN); }), /^randao_reveal is not the proposer's BLS signature/],
    ['randao_reveal of another validator', tamper((b) => { b.randaoReveal = revealOf(VALIDATOR_KEYS[2], 1n, HOST_CHAIN); }), /^randao_reveal is not the proposer's BLS signature/],
    ['randao_reveal for another chain', tamper((b) => { b.randaoReveal = revealOf(VALIDATOR_KEYS[1], 1n, 'other-chain'); }), /^randao_reveal is not the proposer's BLS signature/],
  ];
  for (const [name, make, reason, logMsg] of rows) {
    await t.test(name, async (t) => {
      const h = await Harness.start(t);
      const built = make(await h.context(1n));
      h.receive(h.proposalMsg(h.keys[1], 1n, 0, built));
      const pv = await h.waitHostVote(PREVOTE, 1n, 0);
      t.equal(h.clock.elapsedMs, 0, 'judged at once, without a timeout');
      if (name.startsWith('control')) {
        t.same(pv.blockId, built.blockId, 'the valid block is prevoted');
        t.equal(h.logged('invalid proposed block').length, 0);
        return;
      }
      t.ok(isNil(pv), 'the host prevotes nil');
      const lines: LogLine[] = h.logged(logMsg ?? 'invalid proposed block');
      t.equal(lines.length, 1, `and logs '${logMsg ?? 'invalid proposed block'}'`);
      if (reason !== null) t.match(String(lines[0]?.reason), reason, String(lines[0]?.reason));
    });
  }
});

t.test('a double vote by validator 3 becomes evidence in the host\'s next block, and the state machine gets it', async (t) => {
  const delivered: { height: bigint; evidence: Evidence[] }[] = [];
  const spy: Module = {
    name: 'evidence-spy',
    async beginBlock(ctx) {
      if (ctx.evidence.length > 0) delivered.push({ height: ctx.height, evidence: [...ctx.evidence] });
    },
  };
  const h = await Harness.start(t, { modules: [spy] });
  const v3 = h.keys[3];
  let nilPrevote: Vote | undefined;

  // Height 1: validator 3 prevotes the block, then nil in the same round.
  const c1 = await h.playHeight({
    beforePrecommits: async () => {
      nilPrevote = await h.vote(v3, PREVOTE, 1n, 0, EMPTY_BLOCK_ID);
      h.receive({ type: 'vote', value: nilPrevote });
      await h.until('the double vote to be noticed', () => h.logs.find((l) => l.msg === 'duplicate vote'));
    },
  });
  t.equal(c1.block.evidence.length, 0, 'block 1 (proposed by v1) carries no evidence');
  await h.nextHeight();
  const c2 = await h.playHeight(); // validator 3 proposes height 2
  t.equal(c2.block.evidence.length, 0);
  await h.nextHeight();

  // Height 3: the host proposes, with the evidence.
  t.ok(equalBytes((await h.setAt(3n)).proposerAt(0).address, h.hostAddress), 'the host proposes height 3');
  const own = await h.until('the host\'s proposal at height 3', () => h.hostProposal(3n, 0));
  const proposed = BlockCodec.decode(own.block);
  t.equal(proposed.evidence.length, 1, 'the host\'s block carries the evidence');
  const ev = proposed.evidence[0];
  t.ok(equalBytes(ev.value.voteA.validatorAddress, addressOf(v3.publicKey)), 'against validator 3');
  t.same([ev.value.voteA.blockId, ev.value.voteB.blockId], [EMPTY_BLOCK_ID, c1.blockId], 'its nil prevote and its prevote for block 1, lower block id first');
  t.ok(nilPrevote !== undefined && equalBytes(VoteCodec.encode(ev.value.voteA), VoteCodec.encode(nilPrevote)), 'voteA is the very vote it sent');
  const set1 = await h.setAt(1n);
  t.equal(
    verifyDuplicateVoteEvidence(ev.value, HOST_CHAIN, set1, { currentHeight: 3n, maxAgeBlocks: h.genesis.consensusParams.evidence.max_age_num_blocks }),
    null,
    'the evidence verifies against the set of height 1',
  );
  t.equal(ev.value.validatorPower, set1.byAddress(addressOf(v3.publicKey))!.power);
  t.equal(ev.value.totalVotingPower, set1.totalPower);
  t.same(proposed.header.evidenceHash, evidenceHash([ev]), 'and the header commits to it');
  t.equal(await h.app.store.hasEvidence(evidenceId(ev, HOST_CHAIN)), false, 'not yet in the store');

  const c3 = await h.playHeight();
  t.equal(c3.block.evidence.length, 1, 'the committed block carries it');
  t.equal(BlockCodec.decode((await h.app.store.getBlock(3n))!).evidence.length, 1, 'so does the stored block');
  t.equal(await h.app.store.hasEvidence(evidenceId(ev, HOST_CHAIN)), true, 'store.hasEvidence(evidenceId(ev))');
  t.same(delivered, [{ height: 3n, evidence: [ev] }], 'the state machine received it with block 3, once');

  // The pool drops what was committed: the host's next block (height 7) carries nothing.
  for (let i = 0; i < 4; i++) {
    await h.nextHeight();
    await h.playHeight();
  }
  t.equal(h.app.head().height, 7n);
  t.equal(BlockCodec.decode(h.hostProposal(7n, 0)!.block).evidence.length, 0, 'the committed evidence is not proposed again');
  t.equal(delivered.length, 1);

  // Height 8: validator 2 proposes a block with the same double vote, stamped differently: it counts once, so the
  // block is invalid.
  await h.nextHeight();
  const restamped: Evidence = { type: 'duplicate_vote_evidence', value: { ...ev.value, timestamp: ev.value.timestamp + 5n } };
  const ctx8 = await h.context(8n);
  const proposer8 = (await h.setAt(8n)).proposerAt(0).address;
  const built = makeBlock(ctx8, proposer8, [], [restamped]);
  h.receive(h.proposalMsg(h.keyOf(proposer8), 8n, 0, built));
  t.ok(isNil(await h.waitHostVote(PREVOTE, 8n, 0)), 'a block re-carrying committed evidence gets a nil prevote');
  t.match(String(h.logged('invalid proposed block').at(-1)?.reason), /evidence already committed/);
  t.equal(h.fatal, null);
});

t.test('a proposed block carrying invalid evidence is judged invalid', async (t) => {
  const probe = await Harness.start(t);
  const set1 = await probe.setAt(1n);
  const [, , v2, v3] = probe.keys;
  const stranger = generateKeyPair(new Uint8Array(32).fill(88));
  const A = EMPTY_BLOCK_ID;
  const B = someBlockId('a block');
  const ts = probe.genesis.genesisTime + 1_000_000n;
  const valid = doubleVoteEvidence(v3, set1, 1n, 0, A, B, ts);
  const withVotes = (a: Vote, b: Vote, over: Partial<Evidence['value']> = {}): Evidence => ({ type: 'duplicate_vote_evidence', value: { ...valid.value, voteA: a, voteB: b, ...over } });
  const forged = (v: Vote): Vote => ({ ...v, signature: sign(voteSignBytes(HOST_CHAIN, v), v2.secretKey) });
  const strangerEv = doubleVoteEvidence(stranger, set1, 1n, 0, A, B, ts);
  const rows: [string, Evidence[], RegExp | null][] = [
    ['control: valid evidence', [valid], null],
    ['vote_b with a flipped signature bit', [withVotes(valid.value.voteA, { ...valid.value.voteB, signature: flipBit(valid.value.voteB.signature, 4) })], /vote_b has an invalid signature/],
    ['vote_a with a flipped signature bit', [withVotes({ ...valid.value.voteA, signature: flipBit(valid.value.voteA.signature, 4) }, valid.value.voteB)], /vote_a has an invalid signature/],
    ['votes of validator 3 signed by validator 2', [withVotes(forged(valid.value.voteA), forged(valid.value.voteB))], /invalid signature/],
    ['a double vote by a non-validator', [{ ...strangerEv, value: { ...strangerEv.value, validatorPower: 0n } }], /not in the validator set/],
    ['a double vote of a future height', [doubleVoteEvidence(v3, set1, 2n, 0, A, B, ts)], /above the current height/],
    ['a double vote of a height without a known set', [doubleVoteEvidence(v3, set1, 50n, 0, A, B, ts)], /validator set is unknown/],
    ['a wrong validator_power', [withVotes(valid.value.voteA, valid.value.voteB, { validatorPower: 1n })], /validator_power/],
    ['a wrong total_voting_power', [withVotes(valid.value.voteA, valid.value.voteB, { totalVotingPower: 1n })], /total_voting_power/],
    // CometBFT rejects a block that lists the same evidence twice (evpool.CheckEvidence: ErrDuplicateEvidence).
    ['the same evidence twice in one block', [valid, valid], /duplicate|twice|already/],
    ['the same double vote twice, stamped differently', [valid, { ...valid, value: { ...valid.value, timestamp: ts + 1n } }], /duplicate|twice|already/],
  ];
  for (const [name, evidence, reason] of rows) {
    await t.test(name, async (t) => {
      const h = await Harness.start(t);
      const ctx = await h.context(1n);
      const proposer = (await h.setAt(1n)).proposerAt(0).address;
      const built = makeBlock(ctx, proposer, [], evidence);
      h.receive(h.proposalMsg(h.keyOf(proposer), 1n, 0, built));
      const pv = await h.waitHostVote(PREVOTE, 1n, 0);
      if (reason === null) {
        t.same(pv.blockId, built.blockId, 'a block with valid evidence is prevoted');
        return;
      }
      t.ok(isNil(pv), 'the host prevotes nil');
      const why = h.logged('invalid proposed block').at(-1)?.reason ?? 'no reason logged: the block was judged valid';
      t.match(String(why), reason, String(why));
    });
  }
});

t.test('a proposal for a far-future round must not make the host compute that round\'s proposer', async (t) => {
  // ValidatorSet.proposerAt(r) walks r round-robin steps (O(r x n) time, an array of r entries), so the host must
  // apply the core's window (DEFAULT_MAX_FUTURE_ROUNDS) before asking for the proposer of proposal.round: else one
  // unsigned message with round 2^32 - 1 stalls the node. The spy records the rounds asked for and answers huge ones
  // cheaply, so this test fails fast instead of hanging.
  const original = ValidatorSet.prototype.proposerAt;
  const asked: number[] = [];
  ValidatorSet.prototype.proposerAt = function (this: ValidatorSet, round: number) {
    asked.push(round);
    return round > 100_000 ? this.proposer() : original.call(this, round);
  };
  t.teardown(() => { ValidatorSet.prototype.proposerAt = original; });

  const h = await Harness.start(t);
  const v1 = h.keys[1];
  const built = makeBlock(await h.context(1n), addressOf(v1.publicKey), [], []);
  const round = 0xffff_ffff;
  const proposal = { type: VoteType.PROPOSAL, height: 1n, round, polRound: -1, blockId: built.blockId, timestamp: h.clock.now(), signature: new Uint8Array(64) };
  h.receive({ type: 'proposal', value: { proposal, block: built.bytes } });
  await h.settle();
  t.ok(verify(new Uint8Array(64), proposalSignBytes(HOST_CHAIN, proposal), v1.publicKey) === false, 'the proposal is not even signed');
  const worst = Math.max(0, ...asked);
  t.ok(worst <= DEFAULT_MAX_FUTURE_ROUNDS, `the host asked for the proposer of round ${worst} (window: ${DEFAULT_MAX_FUTURE_ROUNDS})`);
  t.equal(h.host.status().round, 0);
});

t.test('a signed proposal re-sent with other bytes is dropped, so the real block still counts', async (t) => {
  const proposer = addressOf(VALIDATOR_KEYS[1].publicKey);
  const rows: Array<[string, (ctx: BlockContext) => Uint8Array]> = [
    ['bytes of another block', (ctx) => makeBlock(ctx, proposer, [new TextEncoder().encode('x')], []).bytes],
    ['bytes that do not decode', () => new Uint8Array([0xff, 0xff, 0xff])],
  ];
  for (const [name, bad] of rows) {
    await t.test(name, async (t) => {
      const h = await Harness.start(t);
      const ctx = await h.context(1n);
      const good = makeBlock(ctx, proposer, [], []);
      h.receive(h.proposalMsg(h.keys[1], 1n, 0, { blockId: good.blockId, bytes: bad(ctx) })); // the poisoned copy first
      h.receive(h.proposalMsg(h.keys[1], 1n, 0, good));
      const pv = await h.waitHostVote(PREVOTE, 1n, 0);
      t.same(pv.blockId, good.blockId, 'the real block is prevoted');
      t.equal(h.clock.elapsedMs, 0, 'at once, without a timeout');
    });
  }
});

t.test('block size: a block over block.max_bytes is invalid, and no proposed block can stop the host', async (t) => {
  // CometBFT rejects a block larger than ConsensusParams.Block.MaxBytes. The host also logs every proposal in the WAL,
  // whose records hold at most 4 MiB: an oversized block is judged invalid and logged as a stand-in, and the genesis
  // bound on block.max_bytes leaves room for the proposal around the largest valid block.
  const maxBytes = Number(VALIDATOR_MAX_BYTES);
  const blockOfSize = (ctx: BlockContext, size: number) => {
    const proposer = addressOf(VALIDATOR_KEYS[1].publicKey);
    const base = makeBlock(ctx, proposer, [new Uint8Array(0)], []).bytes.length;
    let n = size - base;
    let built = makeBlock(ctx, proposer, [new Uint8Array(n)], []);
    while (built.bytes.length > size) built = makeBlock(ctx, proposer, [new Uint8Array(--n)], []); // length prefix growth
    return built;
  };
  await t.test('a block of block.max_bytes + 1 gets a nil prevote and the host keeps running', async (t) => {
    const h = await Harness.start(t);
    const built = blockOfSize(await h.context(1n), maxBytes + 64);
    t.ok(built.bytes.length > maxBytes, `the block is ${built.bytes.length} bytes, over ${maxBytes}`);
    h.receive(h.proposalMsg(h.keys[1], 1n, 0, built));
    h.clock.tick(h.proposeMs);
    const pv = await h.waitHostVote(PREVOTE, 1n, 0).catch(() => undefined);
    t.equal(h.fatal?.message, undefined, 'consensus did not stop');
    t.ok(isNil(pv), 'the oversized block is dropped: nil at the propose timeout');
  });
  await t.test('a block within block.max_bytes is prevoted and the host keeps running', async (t) => {
    const h = await Harness.start(t);
    const built = blockOfSize(await h.context(1n), maxBytes - 16);
    t.ok(built.bytes.length <= maxBytes, `the block is ${built.bytes.length} bytes, within ${maxBytes}`);
    h.receive(h.proposalMsg(h.keys[1], 1n, 0, built));
    const pv = await h.waitHostVote(PREVOTE, 1n, 0).catch(() => undefined);
    t.equal(h.fatal?.message, undefined, 'consensus did not stop');
    t.same(pv?.blockId, built.blockId, 'the block is prevoted');
  });
});
