// Evidence gossip: real consensus hosts (test/helpers/consensus-harness.ts) joined by EvidenceReactors over an
// in-memory network. Evidence one host finds reaches another host's pool and its next proposal; invalid or
// undecodable evidence costs the sender score; duplicates are checked and relayed once.
import t from 'tap';
import pino from 'pino';
import { Harness, HOST_CHAIN, doubleVoteEvidence, flipBit } from './helpers/consensus-harness.ts';
import { EvidenceReactor, PENALTY, EVIDENCE_ON_CONNECT } from '../src/p2p/gossip.ts';
import { FakeNet } from './helpers/fake-net.ts';
import { evidenceId } from '../src/consensus/host.ts';
import { BlockCodec, EMPTY_BLOCK_ID, EvidenceCodec, VoteType, type BlockID, type Evidence } from '../src/codec/types.ts';
import { addressOf, generateKeyPair } from '../src/crypto/keys.ts';
import { equalBytes, toHex } from '../src/crypto/bytes.ts';
import { sha256 } from '../src/crypto/hash.ts';

const silent = pino({ level: 'silent' });
const someBlockId = (label: string): BlockID => ({ hash: sha256(new TextEncoder().encode(label)), partSetHeader: { total: 1, hash: sha256(new TextEncoder().encode(`${label}/parts`)) } });

/** A harness host with an evidence reactor on its own fake network. */
async function node(t: Parameters<typeof Harness.start>[0], peers: string[]): Promise<{ h: Harness; net: FakeNet; reactor: EvidenceReactor }> {
  const h = await Harness.start(t);
  const net = new FakeNet();
  for (const p of peers) net.connect(p);
  const reactor = new EvidenceReactor({ network: net, logger: silent });
  reactor.attach(h.host);
  t.teardown(() => reactor.close());
  return { h, net, reactor };
}

t.test('evidence found by one host reaches another host\'s pool through the reactors, and its next proposal', async (t) => {
  const a = await node(t, ['B']);
  const b = await node(t, ['A', 'C']);
  const v3 = a.h.keys[3];

  // Host A, height 1: validator 3 prevotes the block, then nil in the same round; A's vote keeper finds it.
  await a.h.playHeight({
    beforePrecommits: async () => {
      a.h.receive({ type: 'vote', value: await a.h.vote(v3, VoteType.PREVOTE, 1n, 0, EMPTY_BLOCK_ID) });
      await a.h.until('the double vote to be noticed', () => a.h.logs.find((l) => l.msg === 'duplicate vote'));
    },
  });
  t.equal(a.h.host.pendingEvidence().length, 1, 'A has the evidence in its pool');
  const fromA = a.net.sentTo('B', 'evidence');
  t.equal(fromA.length, 1, 'A\'s reactor broadcast it to its peer at once');
  const ev = EvidenceCodec.decode(fromA[0]);
  t.ok(equalBytes(ev.value.voteA.validatorAddress, addressOf(v3.publicKey)), 'against validator 3');

  // Delivered to B from A: checked and pooled, relayed to C but not back to A.
  b.net.deliver('A', 'evidence', fromA[0]);
  await b.h.until('the evidence in B\'s pool', () => b.h.host.pendingEvidence().length === 1);
  t.same(toHex(evidenceId(b.h.host.pendingEvidence()[0], HOST_CHAIN)), toHex(evidenceId(ev, HOST_CHAIN)), 'the same double vote');
  await b.h.until('the relay to C', () => b.net.sentTo('C', 'evidence').length === 1);
  t.same(b.net.sentTo('A', 'evidence'), [], 'not relayed back to the sender');
  t.same(b.net.penalties, [], 'nobody penalized');

  // Copies from A again and from C: known, so not checked or relayed again.
  b.net.deliver('A', 'evidence', fromA[0]);
  b.net.deliver('C', 'evidence', fromA[0]);
  t.equal(await b.h.host.addEvidence(ev), 'known', 'the host calls it known');
  await b.h.settle();
  t.equal(b.net.sentTo('C', 'evidence').length, 1, 'duplicates are not relayed twice');
  t.same(b.net.sentTo('A', 'evidence'), []);
  t.equal(b.h.host.pendingEvidence().length, 1);
  t.same(b.net.penalties, []);

  // A new peer gets the pool on connect.
  b.net.connect('D');
  t.same(b.net.sentTo('D', 'evidence').map((x) => toHex(x)), [toHex(fromA[0])], 'a newly connected peer gets the pool');

  // B's next own proposal (height 3: v1 and v3 propose heights 1 and 2) carries it.
  await b.h.playHeight();
  await b.h.nextHeight();
  await b.h.playHeight();
  await b.h.nextHeight();
  t.ok(equalBytes((await b.h.setAt(3n)).proposerAt(0).address, b.h.hostAddress), 'B proposes height 3');
  const own = await b.h.until('B\'s proposal at height 3', () => b.h.hostProposal(3n, 0));
  const block = BlockCodec.decode(own.block);
  t.equal(block.evidence.length, 1, 'B\'s block carries the gossiped evidence');
  t.same(toHex(evidenceId(block.evidence[0], HOST_CHAIN)), toHex(evidenceId(ev, HOST_CHAIN)));
  const c3 = await b.h.playHeight();
  t.equal(c3.block.evidence.length, 1, 'and it is committed');
  t.equal(await b.h.host.addEvidence(ev), 'known', 'committed evidence is known, not added again');
  t.equal(b.h.fatal, null);
  t.equal(a.h.fatal, null);
});

t.test('invalid evidence is refused with a reason and costs the sender; timing-only problems cost nothing', async (t) => {
  const b = await node(t, ['X', 'Y']);
  const set1 = await b.h.setAt(1n);
  const [, , v2, v3] = b.h.keys;
  const stranger = generateKeyPair(new Uint8Array(32).fill(88));
  const A = EMPTY_BLOCK_ID;
  const B = someBlockId('a block');
  const ts = b.h.genesis.genesisTime + 1_000_000n;
  const valid = doubleVoteEvidence(v3, set1, 1n, 0, A, B, ts);
  const strangerEv = doubleVoteEvidence(stranger, set1, 1n, 0, A, B, ts);
  // [name, evidence, the host's reason, the penalty's reason and cost] (the codec already refuses the same block id
  // twice, so on the wire that one is undecodable).
  const bad = PENALTY.badEvidence;
  const rows: [string, Evidence, RegExp, RegExp, number][] = [
    ['vote_b with a flipped signature bit', { ...valid, value: { ...valid.value, voteB: { ...valid.value.voteB, signature: flipBit(valid.value.voteB.signature, 4) } } }, /vote_b has an invalid signature/, /invalid evidence: .*vote_b has an invalid signature/, bad],
    ['the same block id twice', doubleVoteEvidence(v2, set1, 1n, 0, B, B, ts), /same block id/, /undecodable evidence: .*different blocks/, PENALTY.undecodableEvidence],
    ['a double vote by a non-validator', { ...strangerEv, value: { ...strangerEv.value, validatorPower: 0n } }, /not in the validator set/, /invalid evidence: .*not in the validator set/, bad],
    ['a wrong total_voting_power', { ...valid, value: { ...valid.value, totalVotingPower: 1n } }, /total_voting_power/, /invalid evidence: .*total_voting_power/, bad],
  ];
  let penalties = 0;
  for (const [name, ev, reason, penalty, cost] of rows) {
    const r = await b.h.host.addEvidence(ev);
    t.match(r, reason, `${name}: the host says why (${r})`);
    t.notOk(['added', 'known', 'ignored'].includes(r));
    b.net.deliver('X', 'evidence', EvidenceCodec.encode(ev));
    penalties++;
    await b.h.until(`${name}: the sender penalized`, () => b.net.penalties.length === penalties);
    const p = b.net.penalties.at(-1)!;
    t.equal(p.peer, 'X');
    t.equal(p.cost, cost);
    t.match(p.reason, penalty, `${name}: penalized for it (${p.reason})`);
  }
  t.same(b.h.host.pendingEvidence(), [], 'none of it is pooled');
  t.same(b.net.sentTo('Y', 'evidence'), [], 'none of it is relayed');

  // Valid evidence of a height the host has not reached: a peer ahead sends it honestly. Ignored, unpunished.
  const future = doubleVoteEvidence(v3, set1, 2n, 0, A, B, ts);
  t.equal(await b.h.host.addEvidence(future), 'ignored');
  b.net.deliver('X', 'evidence', EvidenceCodec.encode(future));
  await b.h.settle();
  await new Promise((r) => setTimeout(r, 20));
  t.equal(b.net.penalties.length, penalties, 'evidence of a future height costs nothing');
  t.same(b.h.host.pendingEvidence(), []);

  // The valid one, to check the control: added, relayed to Y only, listener told once.
  const told: Evidence[] = [];
  const off = b.h.host.onEvidence((ev) => told.push(ev));
  b.net.deliver('X', 'evidence', EvidenceCodec.encode(valid));
  await b.h.until('the relay to Y', () => b.net.sentTo('Y', 'evidence').length === 1);
  t.same(b.net.sentTo('X', 'evidence'), [], 'not back to the sender');
  t.equal(told.length, 1, 'onEvidence listeners are told');
  const restamped: Evidence = { ...valid, value: { ...valid.value, timestamp: ts + 1n } };
  t.equal(await b.h.host.addEvidence(restamped), 'known', 'the same double vote stamped differently is known');
  t.equal(told.length, 1);
  off();
  t.equal(b.net.penalties.length, penalties);
  t.equal(b.h.host.pendingEvidence().length, 1);
  t.ok(EVIDENCE_ON_CONNECT > 0);
});

t.test('undecodable evidence bytes cost the sender and never reach the host', async (t) => {
  const b = await node(t, ['X', 'Y']);
  const told: Evidence[] = [];
  b.h.host.onEvidence((ev) => told.push(ev));
  const set1 = await b.h.setAt(1n);
  const good = EvidenceCodec.encode(doubleVoteEvidence(b.h.keys[3], set1, 1n, 0, EMPTY_BLOCK_ID, someBlockId('x'), b.h.genesis.genesisTime));
  for (const bytes of [new Uint8Array([0xff, 0xff, 0xff]), good.subarray(0, good.length - 5), new Uint8Array(0)]) {
    b.net.deliver('X', 'evidence', bytes);
  }
  t.equal(b.net.penalties.length, 3, 'each undecodable message is penalized at once');
  t.ok(b.net.penalties.every((p) => p.peer === 'X' && p.cost === PENALTY.undecodableEvidence && /undecodable evidence/.test(p.reason)));
  await b.h.settle();
  t.same(told, []);
  t.same(b.h.host.pendingEvidence(), []);
  t.same(b.net.sent, [], 'nothing relayed');
});
