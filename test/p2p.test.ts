// The p2p layer: the libp2p transport on loopback (channels, framing and size limits, bans, redial, slow peers,
// shutdown), and the reactors over an in-memory network (consensus gossip convergence, flood limits, mempool gossip).
import t, { type Test } from 'tap';
import pino from 'pino';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair as libp2pKey } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import type { Stream } from '@libp2p/interface';
import { generateKeyPair } from '../src/crypto/keys.ts';
import { ConsensusMessageCodec, TxBatchCodec, VoteType, type ConsensusMessage, type Vote } from '../src/codec/types.ts';
import { Mempool } from '../src/mempool/mempool.ts';
import { P2PTransport, encodeFrame, FrameDecoder, protocolOf, nodeIdOf, type TransportOptions } from '../src/p2p/transport.ts';
import { ConsensusReactor, MempoolReactor, PENALTY, type GossipHost } from '../src/p2p/gossip.ts';
import { MAX_MESSAGE_BYTES, type ChannelId } from '../src/p2p/types.ts';
import { peerIdOf } from '../src/p2p/identity.ts';
import { fixture, openApp, send } from './helpers/chain.ts';
import { FakeNet } from './helpers/fake-net.ts';

const silent = pino({ level: 'silent' });
const LOOPBACK = '/ip4/127.0.0.1/tcp/0';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

async function transport(t: Test, opts: Partial<TransportOptions> = {}): Promise<P2PTransport> {
  const tr = await P2PTransport.start({ nodeKey: generateKeyPair(), listen: LOOPBACK, logger: silent, ...opts });
  t.teardown(() => tr.close());
  return tr;
}

/** A bare libp2p node, to play a peer that breaks the rules. */
async function rawPeer(t: Test): Promise<Libp2p> {
  const node = await createLibp2p({
    privateKey: await libp2pKey('Ed25519'),
    addresses: { listen: [LOOPBACK] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  t.teardown(() => node.stop());
  return node;
}

function collect(tr: P2PTransport, channels: readonly ChannelId[]): Array<{ peer: string; channel: ChannelId; bytes: Uint8Array }> {
  const got: Array<{ peer: string; channel: ChannelId; bytes: Uint8Array }> = [];
  for (const channel of channels) tr.onMessage(channel, (peer, bytes) => got.push({ peer, channel, bytes }));
  return got;
}

const peersOf = (tr: P2PTransport) => tr.peers().map((p) => p.id).sort();

// ---------------------------------------------------------------- framing

t.test('frames: length-prefixed, split anywhere, limits checked before buffering', async (t) => {
  const payloads = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(200).fill(7), new Uint8Array(70_000).fill(9)];
  const stream = Buffer.concat(payloads.map(encodeFrame));
  for (const step of [1, 2, 3, 127, 128, 129, 65_536, stream.length]) {
    const d = new FrameDecoder(100_000);
    const out: Uint8Array[] = [];
    let bad: string | null = null;
    for (let i = 0; i < stream.length && bad === null; i += step) bad = d.push(stream.subarray(i, i + step), (f) => out.push(f));
    t.equal(bad, null);
    t.same(out.map((f) => Buffer.from(f)), payloads.map((p) => Buffer.from(p)), `chunks of ${step} bytes`);
  }
  const d = new FrameDecoder(1000);
  t.match(d.push(encodeFrame(new Uint8Array(1001)).subarray(0, 2), () => {}), /1001 bytes, over the 1000-byte limit/, 'oversize refused on its prefix alone');
  t.match(new FrameDecoder(1000).push(new Uint8Array([0x80, 0x80, 0x80, 0x80]), () => {}), /prefix too long/);
  t.match(new FrameDecoder(1000).push(new Uint8Array([0x81, 0x00]), () => {}), /not minimal/);
});

// ---------------------------------------------------------------- transport

t.test('three transports: persistent peers connect and exchange messages on every channel', async (t) => {
  const a = await transport(t);
  const b = await transport(t, { persistentPeers: a.addrs() });
  const c = await transport(t, { persistentPeers: [...a.addrs(), ...b.addrs()] });
  const events: string[] = [];
  a.onPeer((event, peer) => events.push(`${event}:${peer}`));
  await until('full mesh', () => a.peers().length === 2 && b.peers().length === 2 && c.peers().length === 2);
  t.same(peersOf(a), [b.peerId, c.peerId].sort());
  t.ok(a.peers().every((p) => p.remoteAddr.startsWith('/ip4/127.0.0.1/tcp/')), 'remote addresses known');
  t.equal(nodeIdOf(a.peerId).length, 40, 'a CometBFT-style node id derives from the peer id');

  const channels: ChannelId[] = ['consensus', 'mempool', 'evidence', 'sync'];
  const atA = collect(a, channels);
  const atB = collect(b, channels);
  const atC = collect(c, channels);
  for (const ch of channels) for (let i = 0; i < 5; i++) b.send(a.peerId, ch, new TextEncoder().encode(`${ch}-${i}`));
  await until('20 messages at a', () => atA.length === 20);
  for (const ch of channels) {
    t.same(atA.filter((m) => m.channel === ch).map((m) => new TextDecoder().decode(m.bytes)), [0, 1, 2, 3, 4].map((i) => `${ch}-${i}`), `${ch}: in order`);
  }
  t.ok(atA.every((m) => m.peer === b.peerId), 'sender identified');

  const big = new Uint8Array(MAX_MESSAGE_BYTES.consensus - 10).map((_, i) => i & 0xff);
  a.broadcast('consensus', big, b.peerId);
  a.broadcast('mempool', new Uint8Array([42]));
  await until('broadcasts at c', () => atC.length === 2);
  t.same(Buffer.from(atC.find((m) => m.channel === 'consensus')!.bytes), Buffer.from(big), 'a 4 MiB message arrives intact');
  await until('mempool broadcast at b', () => atB.some((m) => m.channel === 'mempool'));
  await sleep(200);
  t.notOk(atB.some((m) => m.channel === 'consensus'), 'the excepted peer got nothing');

  a.send(b.peerId, 'mempool', new Uint8Array(MAX_MESSAGE_BYTES.mempool + 1));
  a.send('12D3KooWNotConnectedNotConnectedNotConnectedXyz', 'mempool', new Uint8Array(1));
  await sleep(200);
  t.equal(atB.filter((m) => m.channel === 'mempool').length, 1, 'our own oversize message and one to an unknown peer are dropped');

  await c.close();
  await until('c gone', () => a.peers().length === 1);
  t.ok(events.includes(`disconnected:${c.peerId}`), 'onPeer reports the disconnect');
});

t.test('an oversize or malformed frame costs score and resets the stream; repeated, it bans', async (t) => {
  const a = await transport(t);
  const got = collect(a, ['mempool']);
  const r = await rawPeer(t);
  const rid = r.peerId.toString();
  const conn = await r.dial(multiaddr(a.addrs()[0]));
  await until('a sees r', () => a.peers().length === 1);

  const ok = await conn.newStream(protocolOf('mempool'));
  ok.send(encodeFrame(new Uint8Array([1, 2, 3])));
  await until('valid frame delivered', () => got.length === 1);
  t.equal(got[0].peer, rid);

  const reset = (s: Stream) => new Promise<string>((res) => s.addEventListener('close', (e) => res((e as { error?: Error }).error?.name ?? 'closed')));
  const bad = await conn.newStream(protocolOf('mempool'));
  const closed = reset(bad);
  bad.send(encodeFrame(new Uint8Array(MAX_MESSAGE_BYTES.mempool + 1)).subarray(0, 3));
  t.match(await closed, /Reset/, 'the stream is reset');
  t.equal(Math.round(a.score(rid)), -50, 'an oversize frame costs 50');
  t.equal(a.peers().length, 1, 'one offence does not disconnect');

  const bad2 = await conn.newStream(protocolOf('mempool'));
  const closed2 = reset(bad2);
  bad2.send(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x01]));
  t.match(await closed2, /Reset/, 'a malformed length prefix resets too');
  t.ok(a.score(rid) <= -69, `and costs score (${Math.round(a.score(rid))})`);

  const bad3 = await conn.newStream(protocolOf('consensus'));
  bad3.send(encodeFrame(new Uint8Array(MAX_MESSAGE_BYTES.consensus + 1)).subarray(0, 4));
  await until('banned and disconnected', () => a.isBanned(rid) && a.peers().length === 0);
  t.pass('a third offence crosses the threshold: banned and disconnected');
  await r.dial(multiaddr(a.addrs()[0]), { signal: AbortSignal.timeout(3000) }).catch(() => {});
  await sleep(300);
  t.equal(a.peers().length, 0, 'and refused while banned');
  t.equal(r.getConnections().filter((c) => c.status === 'open').length, 0, 'the dialer has no open connection');
  t.equal(got.length, 1, 'nothing from the bad frames reached the handler');
});

t.test('penalize to the threshold: disconnected both ways, refused while banned, back after the ban', async (t) => {
  const a = await transport(t, { banMs: 1500 });
  const b = await transport(t, { persistentPeers: a.addrs(), redialMinMs: 100, redialMaxMs: 200 });
  await until('connected', () => a.peers().length === 1 && b.peers().length === 1);
  a.penalize(b.peerId, 'misbehaved', 60);
  t.equal(a.peers().length, 1, 'above the threshold: still connected');
  t.equal(Math.round(a.score(b.peerId)), -60, 'score -60 (it recovers 1 point a second)');
  const bannedAt = Date.now();
  a.penalize(b.peerId, 'misbehaved again', 60);
  t.ok(a.isBanned(b.peerId), 'banned at -120');
  await until('disconnected', () => a.peers().length === 0 && b.peers().length === 0);
  // b keeps redialing every 100-200 ms; a refuses it until the ban ends.
  let seenDuringBan = 0;
  while (Date.now() - bannedAt < 1200) {
    seenDuringBan = Math.max(seenDuringBan, a.peers().length);
    await sleep(50);
  }
  t.equal(seenDuringBan, 0, 'refused while banned');
  await until('reconnected after the ban', () => a.peers().length === 1 && b.peers().length === 1, 5000);
  t.ok(Date.now() - bannedAt >= 1400, `not before the ban ended (${Date.now() - bannedAt} ms)`);
  t.equal(a.score(b.peerId), 0, 'a served ban wipes the score');
  t.notOk(a.isBanned(b.peerId));
});

t.test('a ban ends on time when the wall clock steps back an hour during it (monotonic time)', async (t) => {
  const a = await transport(t, { banMs: 1000 });
  const b = await transport(t, { persistentPeers: a.addrs(), redialMinMs: 100, redialMaxMs: 200 });
  await until('connected', () => a.peers().length === 1 && b.peers().length === 1);
  a.penalize(b.peerId, 'misbehaved', 60);
  a.penalize(b.peerId, 'misbehaved again', 60);
  t.ok(a.isBanned(b.peerId), 'banned');
  const bannedAt = performance.now();
  const realNow = Date.now;
  Date.now = () => realNow() - 3_600_000;
  t.teardown(() => {
    Date.now = realNow;
  });
  await until('disconnected', () => a.peers().length === 0 && b.peers().length === 0);
  await until('reconnected after the ban, not an hour later', () => a.peers().length === 1 && b.peers().length === 1, 5000);
  t.ok(performance.now() - bannedAt >= 900, `after the ban's second (${Math.round(performance.now() - bannedAt)} ms)`);
  t.notOk(a.isBanned(b.peerId));
});

t.test('persistent peers: dialed until they come up, redialed after a restart', async (t) => {
  const bKey = generateKeyPair();
  // A free port for b: bind port 0, note it, close.
  const probe = await P2PTransport.start({ nodeKey: bKey, listen: LOOPBACK, logger: silent });
  const bAddr = probe.addrs()[0];
  await probe.close();
  const bListen = bAddr.replace(/\/p2p\/.*$/, '');
  t.equal(bAddr, `${bListen}/p2p/${peerIdOf(bKey).toString()}`);

  const a = await transport(t, { persistentPeers: [bAddr], redialMinMs: 100, redialMaxMs: 300 });
  const events: string[] = [];
  a.onPeer((e) => events.push(e));
  const atA = collect(a, ['consensus']);
  await sleep(400);
  t.equal(a.peers().length, 0, 'b is not up yet');

  const started: P2PTransport[] = [];
  t.teardown(() => Promise.all(started.map((x) => x.close())));
  const startB = async () => {
    const x = await P2PTransport.start({ nodeKey: bKey, listen: bListen, logger: silent });
    started.push(x);
    return x;
  };
  let b = await startB();
  await until('a dialed b once it came up', () => a.peers().length === 1 && b.peers().length === 1);
  b.send(a.peerId, 'consensus', new Uint8Array([1]));
  await until('message 1', () => atA.length === 1);

  await b.close();
  await until('a saw b go', () => a.peers().length === 0);
  b = await startB();
  await until('a redialed the restarted b', () => a.peers().length === 1 && b.peers().length === 1);
  const atB = collect(b, ['consensus']);
  b.send(a.peerId, 'consensus', new Uint8Array([2]));
  a.send(b.peerId, 'consensus', new Uint8Array([3]));
  await until('messages both ways after the restart', () => atA.length === 2 && atB.length === 1);
  t.same(events, ['connected', 'disconnected', 'connected']);
});

t.test('a peer that reads nothing: the send queue stays bounded, then the peer is dropped', async (t) => {
  const limit = 256 * 1024;
  const a = await transport(t, { queueLimits: { consensus: { msgs: 1000, bytes: limit } }, stallMs: 1500 });
  const r = await rawPeer(t);
  const stalled: Stream[] = [];
  // Accepts the stream and never reads it: flow control stops a's writes once the window is full.
  await r.handle(protocolOf('consensus'), (stream) => {
    stream.pause();
    stalled.push(stream);
  });
  await r.dial(multiaddr(a.addrs()[0]));
  await until('connected', () => a.peers().length === 1);
  const rid = r.peerId.toString();
  const heapBefore = process.memoryUsage().heapUsed;
  const msg = new Uint8Array(8 * 1024);
  let maxQueued = 0;
  for (let i = 0; i < 2000; i++) {
    a.send(rid, 'consensus', msg); // 16 MB in all
    const s = a.stats().find((p) => p.id === rid);
    if (s !== undefined) maxQueued = Math.max(maxQueued, s.queued.consensus.bytes);
    if (i % 100 === 0) await sleep(1);
  }
  const s = a.stats().find((p) => p.id === rid)!;
  t.ok(maxQueued <= limit, `queue never above its limit (max ${maxQueued} bytes)`);
  t.ok(s.queued.consensus.dropped > 1500, `the oldest were dropped (${s.queued.consensus.dropped})`);
  t.ok(process.memoryUsage().heapUsed - heapBefore < 12 * 1024 * 1024, 'memory did not grow with what was sent');
  await until('the stalled peer is disconnected', () => a.peers().length === 0, 5000);
  t.ok(stalled.length >= 1);
});

t.test('close() releases every socket and timer', async (t) => {
  const kinds = () => process.getActiveResourcesInfo().filter((k) => k !== 'TTYWrap' && k !== 'PipeWrap' && k !== 'FSReqCallback');
  await sleep(50);
  const before = kinds();
  const a = await P2PTransport.start({ nodeKey: generateKeyPair(), listen: LOOPBACK, logger: silent });
  const b = await P2PTransport.start({ nodeKey: generateKeyPair(), listen: LOOPBACK, logger: silent, persistentPeers: [...a.addrs(), '/ip4/127.0.0.1/tcp/1/p2p/' + peerIdOf(generateKeyPair()).toString()] });
  const got: number[] = [];
  a.onMessage('mempool', () => got.push(1));
  await until('connected', () => b.peers().length === 1);
  b.send(a.peerId, 'mempool', new Uint8Array(10));
  await until('delivered', () => got.length === 1);
  t.ok(kinds().length > before.length, 'sockets and timers while running');
  await b.close();
  await a.close();
  await b.close(); // idempotent
  // libp2p's inbound rate limiter keeps a timer for up to a second; nothing else may stay.
  await until('resources released', () => kinds().length <= before.length, 3000).catch(() => {});
  t.same(kinds().sort(), before.sort(), 'the same resources as before they started');
});

t.test('start refuses an address it cannot listen on', async (t) => {
  const a = await transport(t);
  const taken = a.addrs()[0].replace(/\/p2p\/.*$/, '');
  await t.rejects(P2PTransport.start({ nodeKey: generateKeyPair(), listen: taken, logger: silent }), { code: 'BAD_CONFIG', message: /cannot listen for peers on/ });
  await t.rejects(P2PTransport.start({ nodeKey: generateKeyPair(), listen: LOOPBACK, persistentPeers: ['not-a-multiaddr'], logger: silent }), { code: 'BAD_CONFIG' });
});

// ---------------------------------------------------------------- reactors over an in-memory network

/** Consensus messages sent to a peer since `from`, decoded. */
function consensusTo(net: FakeNet, peer: string, from = 0): ConsensusMessage[] {
  return net.sentTo(peer, 'consensus', from).map((b) => ConsensusMessageCodec.decode(b));
}

/** A host that keeps what it receives and offers it for re-gossip, like ConsensusHost. */
class FakeHost implements GossipHost {
  height = 5n;
  held: ConsensusMessage[] = [];
  received: ConsensusMessage[] = [];
  receive(msg: ConsensusMessage): void {
    this.received.push(msg);
    if (msg.type !== 'timeout' && heightOf(msg) === this.height) this.held.push(msg);
  }
  gossipMessages(): ConsensusMessage[] {
    return [...this.held];
  }
  status(): { height: bigint } {
    return { height: this.height };
  }
}

function heightOf(m: ConsensusMessage): bigint {
  return m.type === 'proposal' ? m.value.proposal.height : m.value.height;
}

const blockId = (b: number) => ({ hash: new Uint8Array(32).fill(b), partSetHeader: { total: 1, hash: new Uint8Array(32).fill(b + 1) } });
const NIL = { hash: new Uint8Array(0), partSetHeader: { total: 0, hash: new Uint8Array(0) } };

function vote(height: bigint, round: number, validator: number, block: number | null, type: number = VoteType.PREVOTE): ConsensusMessage {
  const v: Vote = {
    type,
    height,
    round,
    blockId: block === null ? NIL : blockId(block),
    timestamp: 1n,
    validatorAddress: new Uint8Array(20).fill(validator),
    validatorIndex: validator,
    signature: new Uint8Array(64).fill(validator),
  };
  return { type: 'vote', value: v };
}

function proposal(height: bigint, round: number, block: number): ConsensusMessage {
  return {
    type: 'proposal',
    value: {
      proposal: { type: VoteType.PROPOSAL, height, round, polRound: -1, blockId: blockId(block), timestamp: 1n, signature: new Uint8Array(64).fill(block) },
      block: new Uint8Array(100).fill(block),
    },
  };
}

const enc = (m: ConsensusMessage) => ConsensusMessageCodec.encode(m);
const show = (ms: ConsensusMessage[]) => ms.map((m) => (m.type === 'proposal' ? `P${m.value.proposal.height}/${m.value.proposal.round}` : m.type === 'vote' ? `V${m.value.height}/${m.value.round}/${m.value.validatorIndex}` : 'T')).sort();

function reactor(t: Test, opts: { relayDelayMs?: number; staleMs?: number; maxMessagesPerSecond?: number } = {}) {
  const net = new FakeNet();
  const host = new FakeHost();
  // A long interval: the tests call tick() themselves.
  const r = new ConsensusReactor({ network: net, logger: silent, gossipIntervalMs: 3_600_000, relayDelayMs: opts.relayDelayMs ?? 0, staleMs: opts.staleMs ?? 3_600_000, maxMessagesPerSecond: opts.maxMessagesPerSecond });
  r.attach(host);
  t.teardown(() => r.close());
  return { net, host, r };
}

t.test('consensus reactor: peer messages reach the host once; bad ones cost the sender', async (t) => {
  const { net, host } = reactor(t);
  net.connect('p');
  net.deliver('p', 'consensus', enc(vote(5n, 0, 1, 7)));
  net.deliver('p', 'consensus', enc(vote(5n, 0, 1, 7)));
  net.deliver('p', 'consensus', enc(vote(6n, 0, 2, 7)));
  net.deliver('p', 'consensus', enc(vote(4n, 0, 3, 7)));
  net.deliver('p', 'consensus', enc(vote(9n, 0, 3, 7)));
  t.same(show(host.received), ['V5/0/1', 'V6/0/2'], 'current and next height, each once; older and far-ahead ones are not queued');
  t.same(net.penalties, []);

  net.deliver('p', 'consensus', new Uint8Array([0xff, 0x01, 0x02]));
  net.deliver('p', 'consensus', enc({ type: 'timeout', value: { kind: 1, height: 5n, round: 0 } }));
  // A valid vote with an unknown trailing field (15, varint): strict decoding refuses non-canonical bytes.
  net.deliver('p', 'consensus', Buffer.concat([enc(vote(5n, 0, 4, 7)), Buffer.from([0x78, 0x01])]));
  t.same(
    net.penalties.map((p) => [p.peer, p.cost]),
    [['p', PENALTY.undecodable], ['p', PENALTY.timeoutFromPeer], ['p', PENALTY.undecodable]],
    'undecodable bytes, a timeout, a non-canonical encoding: each penalized',
  );
  t.match(net.penalties[1].reason, /timeout/);
  t.equal(host.received.length, 2, 'none of them reached the host');
});

t.test('consensus reactor: a peer sending too fast is cut off and penalized', async (t) => {
  const { net, host } = reactor(t, { maxMessagesPerSecond: 10 });
  net.connect('p');
  for (let i = 0; i < 60; i++) net.deliver('p', 'consensus', enc(vote(5n, i, 1, 7)));
  t.ok(host.received.length >= 20 && host.received.length <= 22, `a burst of twice the rate passes (${host.received.length})`);
  t.equal(net.penalties.length, 1, 'one flood penalty per second, not one per message');
  t.equal(net.penalties[0].cost, PENALTY.flood);
});

t.test('consensus reactor: a wall-clock step back does not stop relaying or the rate limiter (monotonic time)', async (t) => {
  // The wall clock steps back an hour (NTP, an operator) right after the first messages: durations measured on it
  // would go negative, so fresh messages would wait an hour to be relayed and the flood bucket would never refill.
  const { net, host, r } = reactor(t, { relayDelayMs: 100, maxMessagesPerSecond: 10 });
  net.connect('p');
  net.connect('q');
  for (let i = 0; i < 20; i++) net.deliver('q', 'consensus', enc(vote(5n, i, 1, 7)));
  t.equal(host.received.length, 20, 'a burst of twice the rate passes');
  const realNow = Date.now;
  const stepped = realNow() - 3_600_000;
  const started = realNow();
  Date.now = () => stepped + (realNow() - started);
  t.teardown(() => {
    Date.now = realNow;
  });
  await sleep(1_100);
  r.tick();
  t.equal(consensusTo(net, 'p').filter((m) => m.type === 'vote').length, 20, 'after the relay delay, every message is relayed to the other peer');
  for (let i = 20; i < 30; i++) net.deliver('q', 'consensus', enc(vote(5n, i, 1, 7)));
  t.equal(host.received.length, 30, 'a second later the bucket has refilled: ten more pass');
  t.same(net.penalties, [], 'and nobody is penalized for flooding');
});

t.test('consensus reactor: re-gossip converges, is sent once per peer, and again after a reconnect', async (t) => {
  const { net, host, r } = reactor(t, { relayDelayMs: 100 });
  // What the host had before any peer came (its own messages, say).
  host.held.push(proposal(5n, 0, 7), vote(5n, 0, 0, 7));
  net.connect('p');
  t.same(show(consensusTo(net, 'p')), ['P5/0', 'V5/0/0'], 'a new peer gets the height at once');
  r.tick();
  t.equal(consensusTo(net, 'p').length, 2, 'and not twice');

  net.connect('q');
  const mark = net.sent.length;
  net.deliver('q', 'consensus', enc(vote(5n, 0, 1, 7)));
  r.tick();
  t.same(consensusTo(net, 'p', mark), [], 'a fresh message waits out the relay delay');
  await sleep(120);
  r.tick();
  t.same(show(consensusTo(net, 'p', mark)), ['V5/0/1'], 'then it is relayed');
  t.same(show(consensusTo(net, 'q', mark)), [], 'but not back to the peer it came from');

  // The host's own message goes to everyone at once.
  const own = vote(5n, 0, 0, 7, VoteType.PRECOMMIT);
  host.held.push(own);
  r.broadcast(own);
  r.tick();
  t.equal(net.sent.filter((s) => ConsensusMessageCodec.decode(s.bytes).type === 'vote' && (ConsensusMessageCodec.decode(s.bytes).value as Vote).type === VoteType.PRECOMMIT).length, 2, 'own message: once to each peer');
  r.broadcast({ type: 'timeout', value: { kind: 1, height: 5n, round: 0 } });
  t.notOk(net.sent.some((s) => ConsensusMessageCodec.decode(s.bytes).type === 'timeout'), 'timeouts never leave the node');

  net.disconnect('p');
  const mark2 = net.sent.length;
  net.connect('p');
  t.same(show(consensusTo(net, 'p', mark2)), ['P5/0', 'V5/0/0', 'V5/0/0', 'V5/0/1'], 'a reconnected peer gets everything again (prevote and precommit of validator 0)');
});

t.test('consensus reactor: no proposal to a peer that voted for its block; heights; stall re-send', async (t) => {
  const { net, host, r } = reactor(t, { staleMs: 300 });
  net.connect('voter');
  net.connect('quiet');
  net.deliver('voter', 'consensus', enc(vote(5n, 0, 1, 7)));
  host.held.push(proposal(5n, 0, 7), proposal(5n, 1, 8));
  r.tick();
  t.same(show(consensusTo(net, 'voter')), ['P5/1'], 'the voter for round 0 block 7 is not sent that proposal');
  t.same(show(consensusTo(net, 'quiet')), ['P5/0', 'P5/1', 'V5/0/1'], 'a peer that said nothing gets all');

  // Height 5 commits; the host moves to 6.
  r.committed();
  host.height = 6n;
  host.held = [vote(6n, 0, 0, 9)];
  const mark = net.sent.length;
  net.connect('behind'); // restarted: its height is unknown until it speaks
  t.same(show(consensusTo(net, 'behind', mark)), ['P5/0', 'P5/1', 'V5/0/1', 'V6/0/0'], 'a new peer gets the previous height and the current one');
  net.deliver('behind', 'consensus', enc(vote(5n, 0, 3, 7)));
  net.connect('ahead');
  net.deliver('ahead', 'consensus', enc(vote(7n, 0, 3, 7)));
  net.connect('far');
  net.deliver('far', 'consensus', enc(vote(2n, 0, 3, 7)));
  const mark1 = net.sent.length;
  host.held.push(vote(6n, 0, 1, 9));
  r.tick();
  t.same(show(consensusTo(net, 'behind', mark1)), ['V6/0/1'], 'one height behind: the current height too (its host keeps the next height)');
  t.same(show(consensusTo(net, 'ahead', mark1)), [], 'ahead: nothing');
  t.same(show(consensusTo(net, 'far', mark1)), [], 'two or more behind: nothing (block sync)');
  t.same(show(consensusTo(net, 'quiet', mark1)), ['V6/0/0', 'V6/0/1'], 'at our height: the new height only');

  const mark2 = net.sent.length;
  r.tick();
  t.equal(net.sent.length, mark2, 'nothing more while nothing changes');
  await sleep(350);
  r.tick();
  t.same(show(consensusTo(net, 'quiet', mark2)), ['P5/0', 'P5/1', 'V5/0/1', 'V6/0/0', 'V6/0/1'], 'no new height for staleMs: everything is sent again (both heights: its height is unknown)');
});

t.test('mempool reactor: admitted txs spread in batches to every peer but their source; invalid ones cost the sender', async (t) => {
  const f = fixture({ users: 3 });
  const { app, cleanup } = await openApp(f.genesis);
  t.teardown(cleanup);
  const mempool = new Mempool({ app, size: 100, maxTxsBytes: 1_000_000 });
  const net = new FakeNet();
  const r = new MempoolReactor({ network: net, mempool, logger: silent, batchMs: 30 });
  t.teardown(() => r.close());
  for (const p of ['p', 'q', 'r']) net.connect(p);
  const [u0, u1, u2] = f.users;
  const wait = () => sleep(50);
  const batch = (...txs: Uint8Array[]) => TxBatchCodec.encode({ txs });
  /** Relayed so far: [peer, number of txs in its batch]. */
  const relayed = () => net.sent.filter((s) => s.channel === 'mempool').map((s) => [s.peer, TxBatchCodec.decode(s.bytes).txs.length] as const).sort();

  net.deliver('p', 'mempool', batch(send(u0, u1, 1n, 0n)));
  await until('admitted', () => mempool.size === 1);
  await until('relayed', () => net.sent.length === 2);
  t.same(relayed(), [['q', 1], ['r', 1]], 'relayed to the others only');

  // The same tx from two peers at once (a mesh): checked once, relayed only to the peer that has not sent it.
  net.sent.length = 0;
  const twice = send(u0, u1, 1n, 1n);
  const checks = mempool.stats().rejected + mempool.stats().admitted;
  net.deliver('p', 'mempool', batch(twice));
  net.deliver('q', 'mempool', batch(twice));
  await until('admitted', () => mempool.size === 2);
  await wait();
  t.equal(mempool.stats().rejected + mempool.stats().admitted - checks, 1, 'one check for both copies');
  t.same(relayed(), [['r', 1]], 'relayed to neither sender');

  // Txs admitted together leave together: one batch per peer.
  net.sent.length = 0;
  const results = await Promise.all([mempool.checkTx(send(u1, u2, 1n, 0n)), mempool.checkTx(send(u1, u2, 1n, 1n)), mempool.checkTx(send(u1, u2, 1n, 2n))]);
  t.same(results.map((x) => x.code), [0, 0, 0]);
  await until('relayed', () => net.sent.length >= 3);
  await wait();
  t.same(relayed(), [['p', 3], ['q', 3], ['r', 3]], 'txs from RPC go to every peer, three in one batch');

  net.sent.length = 0;
  const tx = send(u2, u1, 2n, 0n);
  tx[tx.length - 1] ^= 1; // signature broken
  net.deliver('q', 'mempool', batch(send(u0, u1, 1n, 0n), send(u2, u1, 1n, 7n), send(u2, u1, 1n, 0n, { chainId: 'other-chain' }), tx, new Uint8Array([1, 2, 3])));
  await wait();
  t.same(net.sent, [], 'nothing rejected is relayed');
  t.same(net.penalties.map((p) => p.cost), [PENALTY.badTx, PENALTY.badTx, PENALTY.badTx], 'wrong chain, bad signature, undecodable: penalized; a duplicate and a nonce gap are not');
  t.ok(net.penalties.every((p) => p.peer === 'q'));

  net.penalties.length = 0;
  net.deliver('q', 'mempool', new Uint8Array([1, 2, 3]));
  net.deliver('q', 'mempool', TxBatchCodec.encode({ txs: [] }));
  t.same(net.penalties.map((p) => p.cost), [PENALTY.undecodableBatch, PENALTY.undecodableBatch], 'a message that is not a TxBatch, or an empty one, is penalized');
});
