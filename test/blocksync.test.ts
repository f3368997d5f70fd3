// Block sync end to end in process: real nodes (App on LevelDB, WAL, ConsensusHost, BlockSync) on virtual clocks,
// joined by an in-memory Network (no libp2p) that delivers in order on the event loop. The server is validator A of
// a two-validator genesis (A holds 3/4 of the power, so it commits alone; B's CommitSigs are ABSENT); it builds a
// real chain with real commits. Clients start from the same genesis with an empty data directory.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import pino, { type Logger } from 'pino';
import { tempDir } from './helpers/tmp.ts';
import { VirtualClock, signVote } from './helpers/consensus-harness.ts';
import { CHAIN_ID, GENESIS_TIME, genesisValidator, send, seededKey } from './helpers/chain.ts';
import { App } from '../src/state/app.ts';
import { VerifiedTxCache } from '../src/state/executor.ts';
import { buildGenesis, DEFAULT_VALIDATOR_STAKE } from '../src/state/genesis.ts';
import { UACC_PER_ACC } from '../src/state/params.ts';
import { ConsensusHost, decodeValidatorSet, type CommittedBlock } from '../src/consensus/host.ts';
import { Wal, WalKind, decodeEndHeight, readWal } from '../src/consensus/wal.ts';
import { PrivValidator } from '../src/consensus/signer.ts';
import { blockIdOf } from '../src/consensus/block.ts';
import type { ValidatorSet } from '../src/consensus/validator-set.ts';
import { BlockCodec, BlockIdFlag, CommitCodec, ConsensusMessageCodec, VoteType, type Block, type BlockID, type Commit, type ConsensusMessage } from '../src/codec/types.ts';
import { addressOf, type KeyPair } from '../src/crypto/keys.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { equalBytes, toHex } from '../src/crypto/bytes.ts';
import { AppError } from '../src/errors.ts';
import type { ChannelId, Network, PeerInfo } from '../src/p2p/types.ts';
import { BlockSync, type BlockSyncOptions } from '../src/p2p/sync.ts';
import { TxPreverifier } from '../src/p2p/sync-preverify.ts';
import { decodeSyncMessage, encodeSyncMessage, type SyncMessage } from '../src/p2p/sync-codec.ts';

// ------------------------------------------------------------------------------------------------ chain and keys

const KEY_A = seededKey(31);
const KEY_B = seededKey(32);
const USERS = [40, 41, 42, 43].map(seededKey);
const GENESIS = buildGenesis({
  chainId: CHAIN_ID,
  genesisTime: GENESIS_TIME,
  validators: [
    genesisValidator('a', KEY_A, 3n * DEFAULT_VALIDATOR_STAKE),
    genesisValidator('b', KEY_B, DEFAULT_VALIDATOR_STAKE),
  ],
  accounts: USERS.map((u) => ({ category: 'marketplace' as const, address: addressOf(u.publicKey), amount: 1_000n * UACC_PER_ACC })),
});
const COMMIT_MS = Number(GENESIS.consensusParams.timeouts.commit_ms);

type LogLine = { level: number; msg: string; [k: string]: unknown };

/** The sync proto without the codec's checks: encodes what a misbehaving peer could send. */
const rawType = protobuf.loadSync(fileURLToPath(new URL('../src/codec/proto/sync.proto', import.meta.url))).lookupType('agentcluster.sync.SyncMessage');
function encodeRaw(obj: Record<string, unknown>): Uint8Array {
  return rawType.encode(rawType.fromObject(obj)).finish();
}

async function until<T>(what: string, fn: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Lets every message in flight on the in-memory network (setImmediate hops) and the work they start settle. */
async function quiesce(ms = 30): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

// ------------------------------------------------------------------------------------------------ in-memory network

/** One node's end of the in-memory network: delivery in send order, one event-loop hop later. */
class MemNet implements Network {
  readonly id: string;
  readonly penalties: Array<{ peer: string; reason: string; cost?: number }> = [];
  /** Outgoing sync messages for which this returns true wait in `held` until release(). */
  gate: ((to: string, msg: SyncMessage) => boolean) | null = null;
  private readonly held: Array<() => void> = [];
  readonly links = new Map<string, MemNet>();
  private readonly handlers = new Map<ChannelId, (peer: string, bytes: Uint8Array) => void>();
  private readonly peerHandlers: Array<(event: 'connected' | 'disconnected', peer: string) => void> = [];

  constructor(id: string) {
    this.id = id;
  }

  peers(): PeerInfo[] {
    return [...this.links.keys()].map((id) => ({ id, remoteAddr: `/memory/${id}`, outbound: true }));
  }

  send(peer: string, channel: ChannelId, bytes: Uint8Array): void {
    const to = this.links.get(peer);
    if (to === undefined) return;
    const copy = Uint8Array.from(bytes);
    const deliver = () => setImmediate(() => to.deliver(this.id, channel, copy));
    if (this.gate !== null && channel === 'sync' && this.gate(peer, decodeSyncMessage(copy))) this.held.push(deliver);
    else deliver();
  }

  broadcast(channel: ChannelId, bytes: Uint8Array, except?: string): void {
    for (const id of this.links.keys()) if (id !== except) this.send(id, channel, bytes);
  }

  onMessage(channel: ChannelId, handler: (peer: string, bytes: Uint8Array) => void): void {
    this.handlers.set(channel, handler);
  }

  onPeer(handler: (event: 'connected' | 'disconnected', peer: string) => void): void {
    this.peerHandlers.push(handler);
  }

  penalize(peer: string, reason: string, cost?: number): void {
    this.penalties.push({ peer, reason, cost });
  }

  release(): void {
    this.gate = null;
    for (const d of this.held.splice(0)) d();
  }

  deliver(from: string, channel: ChannelId, bytes: Uint8Array): void {
    if (!this.links.has(from)) return; // disconnected meanwhile
    this.handlers.get(channel)?.(from, bytes);
  }

  static connect(a: MemNet, b: MemNet): void {
    a.links.set(b.id, b);
    b.links.set(a.id, a);
    setImmediate(() => {
      for (const h of a.peerHandlers) h('connected', b.id);
      for (const h of b.peerHandlers) h('connected', a.id);
    });
  }

  static disconnect(a: MemNet, b: MemNet): void {
    a.links.delete(b.id);
    b.links.delete(a.id);
    for (const h of a.peerHandlers) h('disconnected', b.id);
    for (const h of b.peerHandlers) h('disconnected', a.id);
  }

  penaltiesOf(peer: string): string[] {
    return this.penalties.filter((p) => p.peer === peer).map((p) => p.reason);
  }
}

/** A peer without a reactor: answers status with `height` and block requests with whatever `answer` returns. */
class FakePeer {
  readonly net: MemNet;
  readonly requested: bigint[] = [];

  constructor(id: string, height: bigint, answer: (height: bigint) => Promise<SyncMessage | null>) {
    this.net = new MemNet(id);
    this.net.onMessage('sync', (peer, bytes) => {
      const m = decodeSyncMessage(bytes);
      if (m.type === 'status_request') this.net.send(peer, 'sync', encodeSyncMessage({ type: 'status_response', base: 1n, height }));
      if (m.type === 'block_request') {
        this.requested.push(m.height);
        void answer(m.height).then((reply) => {
          if (reply !== null) this.net.send(peer, 'sync', encodeSyncMessage(reply));
        });
      }
    });
  }
}

// ------------------------------------------------------------------------------------------------ nodes

interface NodeOptions {
  name: string;
  /** The validator key this node signs with, or null for a full node. */
  key: KeyPair | null;
  /** Reuse a data directory (restart); a fresh temp dir otherwise. */
  dir?: string;
  sync?: Partial<BlockSyncOptions>;
}

class TestNode {
  readonly name: string;
  readonly dir: string;
  readonly clock = new VirtualClock(GENESIS_TIME + 10n * 1_000_000_000n);
  readonly net: MemNet;
  readonly logs: LogLine[] = [];
  readonly committed: CommittedBlock[] = [];
  readonly logger: Logger;
  app!: App;
  wal!: Wal;
  pv: PrivValidator | null = null;
  host!: ConsensusHost;
  sync!: BlockSync;
  fatal: Error | null = null;
  private queued: Uint8Array[] = [];
  private closed = false;

  private constructor(name: string, dir: string) {
    this.name = name;
    this.dir = dir;
    this.net = new MemNet(name);
    this.logger = pino({ level: 'debug' }, { write: (line: string) => { this.logs.push(JSON.parse(line) as LogLine); } });
  }

  static async open(t: Test, opts: NodeOptions): Promise<TestNode> {
    const tmp = opts.dir === undefined ? tempDir('ac-sync-') : null;
    const dir = opts.dir ?? tmp!.path;
    const n = new TestNode(opts.name, dir);
    t.teardown(async () => {
      await n.close();
      tmp?.remove();
    });
    // One verified-signature cache for the executor and block sync (which checks txs ahead in a worker thread).
    const verifiedTxs = new VerifiedTxCache();
    n.app = await App.open(join(dir, 'state'), GENESIS, { verified: verifiedTxs });
    n.wal = await Wal.open(join(dir, 'cs.wal'));
    if (opts.key !== null) n.pv = await PrivValidator.load(opts.key, join(dir, 'priv_validator_state.json'), CHAIN_ID);
    n.host = new ConsensusHost({
      app: n.app,
      wal: n.wal,
      privValidator: n.pv,
      consensusParams: GENESIS.consensusParams,
      logger: n.logger.child({ module: 'consensus' }),
      clock: n.clock,
      txs: { reap: () => n.queued.splice(0), committed: () => {} },
      onCommit: (c) => n.committed.push(c),
      onFatal: (err) => { n.fatal = err; },
    });
    n.sync = new BlockSync({
      network: n.net,
      app: n.app,
      host: n.host,
      logger: n.logger.child({ module: 'sync' }),
      clock: n.clock,
      requestTimeoutMs: 2_000,
      verifiedTxs,
      ...opts.sync,
    });
    await n.host.start();
    n.sync.start();
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sync.stop();
    await this.host.stop();
    await this.wal.close();
    await this.app.close();
  }

  get height(): bigint {
    return this.app.head().height;
  }

  include(...txs: Uint8Array[]): void {
    this.queued.push(...txs);
  }

  /**
   * (Validator A) moves the clock past timeout_commit: the host builds, votes and commits the next block alone. When
   * B is the proposer of round 0 (about one height in four), A waits out the propose timeout and round 1 proposes.
   */
  async next(): Promise<void> {
    const target = this.height + 1n;
    this.clock.tick(COMMIT_MS);
    for (let i = 0; i < 40 && this.height < target; i++) {
      await until(`${this.name} to settle`, () => this.height >= target || this.host.status().step !== 'commit', 5_000);
      await quiesce(10);
      if (this.height < target) this.clock.tick(500);
    }
    await this.waitHeight(target);
  }

  waitHeight(height: bigint, ms?: number): Promise<true> {
    return until(`${this.name} to reach height ${height} (at ${this.height})`, () => {
      if (this.fatal !== null) throw new Error(`${this.name}: consensus stopped: ${this.fatal.message}`);
      return this.height >= height;
    }, ms);
  }

  logged(msg: string): LogLine[] {
    return this.logs.filter((l) => l.msg === msg);
  }

  async blockAt(h: bigint): Promise<{ block: Block; bytes: Uint8Array; commit: Commit; commitBytes: Uint8Array }> {
    const bytes = (await this.app.store.getBlock(h))!;
    const commitBytes = (await this.app.store.getCommit(h))!;
    return { block: BlockCodec.decode(bytes), bytes, commit: CommitCodec.decode(commitBytes), commitBytes };
  }

  async setAt(h: bigint): Promise<ValidatorSet> {
    return decodeValidatorSet((await this.app.store.getValidatorSet(h))!);
  }
}

/** Validator A's chain of `blocks` blocks; blocks 2..6 carry transfers between the users. */
async function serverChain(t: Test, blocks: number, sync: Partial<BlockSyncOptions> = {}): Promise<TestNode> {
  const server = await TestNode.open(t, { name: 'server', key: KEY_A, sync });
  await server.waitHeight(1n); // A proposes height 1 at start and commits it alone
  const nonces = USERS.map(() => 0n);
  while (server.height < BigInt(blocks)) {
    if (server.height >= 1n && server.height < 6n) {
      for (let i = 0; i < USERS.length; i++) server.include(send(USERS[i], USERS[(i + 1) % USERS.length], 1_000n + BigInt(i), nonces[i]++));
    }
    await server.next();
  }
  return server;
}

/** Every height 1..n: same block bytes, commit and results; and the same head (app hash, time, block hash). */
async function sameChain(t: Test, a: TestNode, b: TestNode, n: bigint): Promise<void> {
  let mismatches = 0;
  for (let h = 1n; h <= n; h++) {
    const [x, y] = [await a.blockAt(h), await b.blockAt(h)];
    if (!equalBytes(x.bytes, y.bytes) || !equalBytes(x.commitBytes, y.commitBytes)) mismatches++;
    const [rx, ry] = [await a.app.store.getResults(h), await b.app.store.getResults(h)];
    if (!equalBytes(rx!.appHash, ry!.appHash) || rx!.txResults.length !== ry!.txResults.length) mismatches++;
  }
  t.equal(mismatches, 0, `blocks, commits and results are identical at heights 1..${n}`);
  t.equal(b.height, n);
  t.equal(toHex(b.app.head().appHash), toHex(a.app.head().appHash), 'same app hash');
  t.equal(toHex(b.app.head().blockHash), toHex(a.app.head().blockHash), 'same head block hash');
}

/** A commit for `blockId` at `height` signed by `signers` (the others ABSENT), in set order. */
function forgeCommit(set: ValidatorSet, height: bigint, blockId: BlockID, signers: KeyPair[], timestamp: bigint): Commit {
  return {
    height,
    round: 0,
    blockId,
    signatures: set.validators.map((v) => {
      const key = signers.find((k) => equalBytes(addressOf(k.publicKey), v.address));
      if (key === undefined) return { blockIdFlag: BlockIdFlag.ABSENT, validatorAddress: new Uint8Array(0), timestamp: 0n, signature: new Uint8Array(0) };
      const vote = signVote(key, set, { type: VoteType.PRECOMMIT, height, round: 0, blockId, timestamp }, CHAIN_ID);
      return { blockIdFlag: BlockIdFlag.COMMIT, validatorAddress: vote.validatorAddress, timestamp: vote.timestamp, signature: vote.signature };
    }),
  };
}

// ================================================================================================ tests

t.test('sync codec: every message round-trips; malformed, non-canonical, invalid and oversized bytes are refused', async (t) => {
  const msgs: SyncMessage[] = [
    { type: 'status_request' },
    { type: 'status_response', base: 0n, height: 0n },
    { type: 'status_response', base: 1n, height: 2n ** 64n - 1n },
    { type: 'block_request', height: 7n },
    { type: 'block_response', height: 7n, block: new Uint8Array([1, 2, 3]), commit: new Uint8Array([4]) },
    { type: 'no_block_response', height: 9n },
  ];
  for (const m of msgs) t.same(decodeSyncMessage(encodeSyncMessage(m)), m, `${m.type} round-trips`);

  const refused = (what: string, bytes: Uint8Array, pattern: RegExp, max?: number) => {
    try {
      decodeSyncMessage(bytes, max);
      t.fail(`${what}: accepted`);
    } catch (err) {
      t.ok(err instanceof AppError && err.code === 'INVALID_FIELD' && pattern.test(err.message), `${what}: ${(err as Error).message}`);
    }
  };
  const req = encodeSyncMessage({ type: 'block_request', height: 7n });
  refused('garbage', new Uint8Array([0xff, 0xff, 0xff]), /cannot decode/);
  refused('no message', new Uint8Array(0), /no known message/);
  refused('an unknown field', Uint8Array.from([...req, 0x30, 0x01]), /canonical/);
  refused('a non-minimal varint', Uint8Array.from([0x1a, 0x03, 0x08, 0x87, 0x00]), /canonical/);
  refused('an explicit default field', Uint8Array.from([0x12, 0x02, 0x08, 0x00]), /canonical/);
  refused('base above height', encodeRaw({ statusResponse: { base: 5n, height: 4n } }), /base 5 is above its height 4/);
  refused('a block request for height 0', Uint8Array.from([0x1a, 0x00]), /height must be at least 1/);
  refused('a block response without a commit', encodeRaw({ blockResponse: { height: 3n, block: new Uint8Array([1]) } }), /commit must not be empty/);
  refused('over the size limit', encodeSyncMessage(msgs[4]), /over the 10-byte limit/, 10);
  t.throws(() => encodeSyncMessage({ type: 'block_request', height: 0n }), /at least 1/, 'nor can an invalid message be encoded');
});


t.test('the signature pre-check (worker thread) records exactly the txs whose signature verifies', async (t) => {
  const cache = new VerifiedTxCache();
  const pre = new TxPreverifier(cache, CHAIN_ID);
  t.teardown(() => pre.close());
  const good = [send(USERS[0], USERS[1], 5n, 0n), send(USERS[1], USERS[2], 6n, 3n)];
  const forged = Uint8Array.from(good[0]);
  forged[forged.length - 1] ^= 1; // the last byte of the signature
  const otherChain = send(USERS[2], USERS[3], 7n, 0n, { chainId: 'other-chain' });
  const garbage = new Uint8Array([1, 2, 3]);
  await pre.verify([...good, forged, otherChain, garbage]);
  t.same([...good, forged, otherChain, garbage].map((tx) => cache.has(sha256(tx))), [true, true, false, false, false]);
  await pre.close();
  await pre.verify(good); // after close: resolves, does nothing
});

t.test('a fresh full node syncs a real chain to the tip, then follows it in consensus', async (t) => {
  // The server's housekeeping runs every 250 ms, so a tick right after each new block advertises it.
  const server = await serverChain(t, 12, { tickMs: 250 });
  const client = await TestNode.open(t, { name: 'client', key: null });
  t.same(client.host.status(), { height: 1n, round: 0, step: 'propose' }, 'the client runs consensus at height 1 meanwhile');

  const started = Date.now();
  MemNet.connect(client.net, server.net);
  await client.waitHeight(12n);
  const ms = Date.now() - started;
  await sameChain(t, server, client, 12n);
  const txs = server.committed.reduce((n, c) => n + c.block.data.txs.length, 0);
  t.equal(txs, 20, 'the chain carries 20 transfers');
  t.equal(client.committed.length, 12, 'each synced block was committed through the host (onCommit)');
  t.equal(client.logged('synced block').length, 12, "one 'synced block' debug line per height");
  t.ok(client.logged('synced block').every((l) => l.level === 20), 'at debug level');
  const summary = client.logged('block sync caught up');
  t.equal(summary.length, 1, 'and one summary at info');
  t.match(summary[0], { level: 30, from: '1', height: '12', blocks: 12, txs: 20 });
  t.same(client.net.penalties, [], 'the honest server is never penalised');
  t.same(server.net.penalties, []);
  const p = client.sync.progress();
  t.match(p, { height: 12n, target: 12n, catchingUp: false, holding: false, peers: 1, inFlight: 0, syncedBlocks: 12, syncedTxs: 20 });
  t.comment(`synced 12 blocks in ${ms} ms`);

  // The host was held while more than one block behind: it never started heights 2..12; height 1 it had started is
  // parked in the commit step. timeout_commit after the last synced block, consensus resumes at 13.
  t.same(client.host.status(), { height: 1n, round: 0, step: 'commit' }, 'the core left height 1 when it was synced');
  t.equal(client.logged('catching up: new heights wait for block sync').length, 1);
  t.equal(client.logged('caught up: consensus resumes').length, 1);
  client.clock.tick(COMMIT_MS);
  await until('height 13 to start', () => client.host.status().height === 13n);
  t.equal(client.host.status().step, 'propose');

  // The WAL got END_HEIGHT for every synced height, in order.
  const ends = (await readWal(join(client.dir, 'cs.wal'))).map(decodeEndHeight).filter((h) => h !== null);
  t.same(ends, [0n, ...Array.from({ length: 12 }, (_, i) => BigInt(i + 1))], 'END_HEIGHT 0 (start), then 1..12');

  // The server keeps committing; the client hears of each new height (status) and catches up through sync.
  for (let i = 0; i < 3; i++) {
    await server.next();
    server.clock.tick(250); // its next housekeeping tick advertises the new height to its peers
    await client.waitHeight(server.height);
  }
  await sameChain(t, server, client, server.height);
  t.equal(client.fatal, null);
});

t.test('a node one height behind a running chain catches up through sync and rejoins consensus at the next height', async (t) => {
  const server = await serverChain(t, 5);
  const client = await TestNode.open(t, { name: 'client', key: null, sync: { statusIntervalMs: 1_000 } });
  MemNet.connect(client.net, server.net);
  await client.waitHeight(5n);
  client.clock.tick(COMMIT_MS);
  await until('height 6 to start', () => client.host.status().height === 6n);
  for (let k = 0; k < 4; k++) {
    // The client runs height H in consensus but hears none of it (no consensus channel here): the server decides H.
    const h = server.height + 1n;
    t.equal(client.host.status().height, h, `the client is in consensus at ${h}`);
    await server.next();
    t.equal(client.height, h - 1n, 'one height behind');
    client.clock.tick(1_000); // its status poll finds the server at h (and its propose timeout at h fires: no vote, a full node)
    await client.waitHeight(h);
    t.match(client.host.status(), { height: h, step: 'commit' }, 'the synced height is closed in the core');
    t.equal(client.sync.progress().holding, false, 'one behind is not catching up: nothing held');
    client.clock.tick(COMMIT_MS);
    await until(`height ${h + 1n} to start`, () => client.host.status().height === h + 1n);
  }
  await sameChain(t, server, client, server.height);
  t.same(client.net.penalties, []);
});

t.test('a start due after a synced block does not restart the height that the own decision already started', async (t) => {
  // Regression (devnet, fatal "decided block ... is not known to this node"): after deciding H itself, a node got
  // H+1 from block sync during its commit wait. Two starts were then due: timeout_commit after its decision (starts
  // H+2) and timeout_commit after the synced block. The second one restarted the running H+2: the host dropped the
  // blocks it held while the core kept their proposals, and deciding H+2 then failed.
  const server = await serverChain(t, 2);
  // A full node that hears the server's consensus messages by hand (no consensus channel) and no sync peer: every
  // block below is either decided from those messages or handed over as synced.
  const client = await TestNode.open(t, { name: 'client', key: null });
  const isDecisive = (m: ConsensusMessage) => m.type === 'vote' && m.value.type === VoteType.PRECOMMIT && m.value.blockId.hash.length > 0;
  const hasProposal = (h: bigint) => client.host.gossipMessages().some((m) => m.type === 'proposal' && m.value.proposal.height === h);
  /** The server decides its next height; its proposal and votes of that height (all of them, or all but the decisive precommits). */
  const serverDecides = async (withPrecommits = true): Promise<{ all: ConsensusMessage[]; held: ConsensusMessage[] }> => {
    await server.next();
    const all = server.host.gossipMessages();
    return { all, held: withPrecommits ? [] : all.filter(isDecisive) };
  };
  const feed = (msgs: ConsensusMessage[]) => {
    for (const m of msgs) client.host.receive(m);
  };
  const synced = async (h: bigint) => {
    const b = await server.blockAt(h);
    t.same(await client.host.applySyncedBlock(b.block, b.bytes, b.commit), { status: 'applied', height: h }, `block ${h} synced`);
  };

  await synced(1n);
  await synced(2n);
  client.clock.tick(COMMIT_MS);
  await until('height 3 to start', () => client.host.status().height === 3n);

  // Height 3: the client decides it itself; its start of 4 is due timeout_commit later (timer 1).
  feed((await serverDecides()).all);
  await client.waitHeight(3n);
  // Half-way through the commit wait, block 4 arrives through sync: another start is due timeout_commit after it (timer 2).
  client.clock.tick(COMMIT_MS / 2);
  await serverDecides();
  await synced(4n);
  // Timer 1 fires: height 5 starts. The client gets the proposal and prevotes of 5, not yet the precommits.
  client.clock.tick(COMMIT_MS / 2);
  await until('height 5 to start', () => client.host.status().height === 5n);
  const h5 = await serverDecides(false);
  t.ok(h5.held.length > 0, 'the decisive precommits of height 5 are held back');
  feed(h5.all.filter((m) => !isDecisive(m)));
  await until('the proposal of height 5 to be held', () => hasProposal(5n));
  await quiesce();
  const before = client.host.status();
  t.match(before, { height: 5n, step: 'precommit' }, 'height 5 has its polka and waits for precommits');

  // Timer 2 fires while height 5 runs: it must not start height 5 again.
  client.clock.tick(COMMIT_MS / 2);
  await quiesce();
  t.same(client.host.status(), before, 'height 5 runs on unchanged');
  t.ok(hasProposal(5n), 'the host still holds the block proposed at height 5');
  t.same(client.logs.filter((l) => l.msg === 'input ignored' && /not above the current height/.test(String(l.reason))), [], 'no second start of a running height');

  // The precommits come: the client decides 5 with the block it holds, then goes on with the chain.
  feed(h5.held);
  await client.waitHeight(5n);
  for (const h of [6n, 7n]) {
    client.clock.tick(COMMIT_MS);
    await until(`height ${h} to start`, () => client.host.status().height === h);
    feed((await serverDecides()).all);
    await client.waitHeight(h);
  }
  t.equal(client.fatal, null, 'consensus never stopped');
  t.same(client.logged('consensus stopped: cannot continue safely'), [], 'nothing logged as fatal');
  t.same(client.committed.map((c) => c.height), [1n, 2n, 3n, 4n, 5n, 6n, 7n], 'each height committed once');
  await sameChain(t, server, client, 7n);
});

t.test('lying peers are penalised and the client still syncs from an honest peer', async (t) => {
  const server = await serverChain(t, 8);
  const N = server.height;
  const real = (h: bigint) => server.blockAt(h);
  const response = (h: bigint, block: Uint8Array, commit: Uint8Array): SyncMessage => ({ type: 'block_response', height: h, block, commit });
  const otherId: BlockID = { hash: sha256(new TextEncoder().encode('other')), partSetHeader: { total: 1, hash: sha256(new TextEncoder().encode('parts')) } };

  const lies: Array<{ name: string; reason: RegExp; answer: (h: bigint) => Promise<SyncMessage> }> = [
    {
      name: 'a tampered block',
      reason: /commit is for another block/,
      answer: async (h) => {
        const r = await real(h);
        const block = { ...r.block, header: { ...r.block.header, time: r.block.header.time + 1n } };
        return response(h, BlockCodec.encode(block), r.commitBytes);
      },
    },
    {
      name: 'undecodable block bytes',
      reason: /invalid block response.*cannot decode Block|invalid block response.*Block/,
      answer: async (h) => response(h, new Uint8Array([0x0a, 0xff, 0x01]), (await real(h)).commitBytes),
    },
    {
      name: 'a commit with a bad signature',
      reason: /commit signature 0 .* does not verify/,
      answer: async (h) => {
        const r = await real(h);
        const sigs = r.commit.signatures.map((s) => (s.blockIdFlag === BlockIdFlag.COMMIT ? { ...s, signature: Uint8Array.from(s.signature, (b, i) => (i === 0 ? b ^ 1 : b)) } : s));
        return response(h, r.bytes, CommitCodec.encode({ ...r.commit, signatures: sigs }));
      },
    },
    {
      name: 'a commit for another block',
      reason: /commit is for another block/,
      answer: async (h) => {
        const r = await real(h);
        return response(h, r.bytes, CommitCodec.encode({ ...r.commit, blockId: otherId }));
      },
    },
    {
      name: 'a commit below 2/3 of the power (B alone, really signed)',
      reason: /not more than 2\/3/,
      answer: async (h) => {
        const r = await real(h);
        const set = await server.setAt(h);
        return response(h, r.bytes, CommitCodec.encode(forgeCommit(set, h, r.commit.blockId, [KEY_B], r.commit.signatures[0].timestamp)));
      },
    },
    {
      name: 'a block with a wrong app hash, committed by a forged supermajority (A signs it)',
      reason: /block app_hash is/,
      answer: async (h) => {
        const r = await real(h);
        const block: Block = { ...r.block, header: { ...r.block.header, appHash: sha256(new TextEncoder().encode('forged state')) } };
        const bytes = BlockCodec.encode(block);
        const set = await server.setAt(h);
        return response(h, bytes, CommitCodec.encode(forgeCommit(set, h, blockIdOf(block.header, bytes), [KEY_A], r.commit.signatures[0].timestamp)));
      },
    },
  ];

  for (const lie of lies) {
    await t.test(lie.name, async (t) => {
      const liar = new FakePeer(`liar`, N, lie.answer);
      const client = await TestNode.open(t, { name: `client-${lies.indexOf(lie)}`, key: null });
      t.teardown(() => MemNet.disconnect(client.net, server.net));
      // The liar first, alone: it gets the first requests and answers them all with its lie.
      MemNet.connect(client.net, liar.net);
      await until('the liar to be asked', () => liar.requested.length > 0);
      await until('the liar to be penalised', () => client.net.penaltiesOf('liar').length > 0);
      t.equal(client.height, 0n, 'nothing was applied from the liar');
      MemNet.connect(client.net, server.net);
      await client.waitHeight(N);
      await sameChain(t, server, client, N);
      const reasons = client.net.penaltiesOf('liar');
      t.ok(reasons.length >= 1 && reasons.every((r) => lie.reason.test(r)), `the liar is penalised: ${reasons[0]}`);
      t.same(client.net.penaltiesOf('server'), [], 'the honest server is not');
      t.ok(client.logged('peer served an invalid block').length >= 1, 'logged as a warning');
      t.equal(client.fatal, null, 'consensus is unharmed');
    });
  }
});

t.test('a peer that never answers times out, is penalised, and its heights go to another peer', async (t) => {
  const server = await serverChain(t, 10);
  const silent = new FakePeer('silent', 10n, async () => null);
  const client = await TestNode.open(t, { name: 'client', key: null });
  MemNet.connect(client.net, silent.net);
  await until('the silent peer to be asked', () => silent.requested.length === 4);
  t.same(silent.requested, [1n, 2n, 3n, 4n], 'at most maxPerPeer (4) requests to one peer');
  MemNet.connect(client.net, server.net);
  await quiesce(100);
  t.equal(client.height, 0n, 'heights 5.. arrived from the server, but 1..4 wait for the silent peer');
  t.ok(client.sync.progress().inFlight >= 4);
  client.clock.tick(1_999);
  await quiesce();
  t.equal(client.height, 0n, 'no timeout before requestTimeoutMs');
  client.clock.tick(1);
  await client.waitHeight(10n);
  await sameChain(t, server, client, 10n);
  t.equal(client.net.penaltiesOf('silent').length, 1, 'one penalty for the silent peer');
  t.match(client.net.penaltiesOf('silent')[0], /did not answer block request 1 within 2000 ms/);
  t.same(silent.requested, [1n, 2n, 3n, 4n], 'and it is not asked again (its claim is forgotten until its next status)');
  t.same(client.net.penaltiesOf('server'), []);
});

t.test('a block is applied once: heights already committed (by consensus or sync) are ignored', async (t) => {
  const server = await serverChain(t, 6);
  const client = await TestNode.open(t, { name: 'client', key: null });
  MemNet.connect(client.net, server.net);
  await client.waitHeight(6n);
  MemNet.disconnect(client.net, server.net); // the blocks below are handed over by hand

  const b3 = await server.blockAt(3n);
  t.same(await client.host.applySyncedBlock(b3.block, b3.bytes, b3.commit), { status: 'ignored', reason: 'height 3 is already committed' });
  await server.next();
  await server.next();
  const b8 = await server.blockAt(8n);
  t.same(await client.host.applySyncedBlock(b8.block, b8.bytes, b8.commit), { status: 'ignored', reason: 'height 8 is not the next one (7)' });
  const b7 = await server.blockAt(7n);
  // Two hand-offs of the same block queued together: the first applies it, the second finds it committed.
  const [first, second] = await Promise.all([client.host.applySyncedBlock(b7.block, b7.bytes, b7.commit), client.host.applySyncedBlock(b7.block, b7.bytes, b7.commit)]);
  t.same(first, { status: 'applied', height: 7n });
  t.same(second, { status: 'ignored', reason: 'height 7 is already committed' });
  t.equal(client.committed.filter((c) => c.height === 7n).length, 1, 'committed once');

  // A response nobody asked for is dropped undecoded; far above the window it costs the sender.
  const stray = new FakePeer('stray', 8n, async () => null);
  MemNet.connect(client.net, stray.net);
  await until('the stray peer to be asked for 8', () => stray.requested.includes(8n));
  stray.net.send('client', 'sync', encodeSyncMessage({ type: 'block_response', height: 3n, block: b3.bytes, commit: b3.commitBytes }));
  stray.net.send('client', 'sync', encodeSyncMessage({ type: 'block_response', height: 500n, block: b3.bytes, commit: b3.commitBytes }));
  await quiesce();
  t.same(client.net.penaltiesOf('stray'), ['block 500 was not requested from this peer'], 'only the far one is penalised');
  t.equal(client.height, 7n, 'nothing applied from them');
  MemNet.connect(client.net, server.net);
  await quiesce();
  client.clock.tick(2_000); // the stray peer's request for 8 times out; the server serves it
  await client.waitHeight(8n);
  await sameChain(t, server, client, 8n);
});

t.test('a validator that syncs never signs for a synced height', async (t) => {
  const server = await serverChain(t, 10);
  // Requests must not time out while the server holds its answers back (that would end the catch-up).
  const client = await TestNode.open(t, { name: 'validator-b', key: KEY_B, sync: { requestTimeoutMs: 60_000 } });
  const set1 = await client.setAt(1n);
  t.ok(equalBytes(set1.proposerAt(0).address, addressOf(KEY_A.publicKey)), 'A proposes height 1: B waits for its proposal (propose timeout pending)');
  t.same(client.pv!.lastSigned(), { height: 0n, round: 0, step: 0 }, 'B has signed nothing yet');

  // Blocks 4.. are held back by the server until released: B applies 1..3 and waits, more than one block behind.
  server.net.gate = (_to, m) => m.type === 'block_response' && m.height >= 4n;
  MemNet.connect(client.net, server.net);
  await client.waitHeight(3n);
  await until('the hold', () => client.sync.progress().holding);
  // Time passes: height 1's propose timeout fires (the core left height 1: no prevote), and the next height's start
  // after timeout_commit is deferred while block sync catches up.
  for (let i = 0; i < 10; i++) {
    client.clock.tick(500);
    await quiesce(5);
  }
  t.equal(client.height, 3n);
  t.match(client.host.status(), { height: 1n, step: 'commit' }, 'no height was started while catching up');
  t.ok(client.logged('height start deferred: block sync is catching up').length >= 1);
  t.same(client.pv!.lastSigned(), { height: 0n, round: 0, step: 0 }, 'B signed nothing for heights 1..3');

  server.net.release();
  await client.waitHeight(10n);
  await sameChain(t, server, client, 10n);
  await until('the hold to end', () => !client.sync.progress().holding);
  // Caught up: consensus resumes at 11, where B takes part (it prevotes nil when A's proposal, which it never hears
  // here, does not come).
  await until('height 11', () => (client.clock.tick(100), client.host.status().height === 11n));
  client.clock.tick(2_000);
  await until('B to sign at 11', () => client.pv!.lastSigned().height === 11n);
  const own = (await readWal(join(client.dir, 'cs.wal'))).filter((r) => r.kind === WalKind.OWN_MESSAGE).map((r) => ConsensusMessageCodec.decode(r.payload));
  const heights = own.map((m) => (m.type === 'vote' ? m.value.height : m.type === 'proposal' ? m.value.proposal.height : m.value.height));
  t.ok(heights.length > 0 && heights.every((h) => h === 11n), `B's own WAL messages are all for height 11 (${heights.join(', ')})`);
  const state = JSON.parse(await readFile(join(client.dir, 'priv_validator_state.json'), 'utf8')) as { height: string };
  t.equal(state.height, '11', 'priv_validator_state.json: the last signed height is 11, after the synced ones');
});

t.test('after a restart the synced chain is the node chain: it resumes at the next height and keeps syncing', async (t) => {
  const server = await serverChain(t, 6);
  const first = await TestNode.open(t, { name: 'client', key: null });
  MemNet.connect(first.net, server.net);
  await first.waitHeight(6n);
  MemNet.disconnect(first.net, server.net);
  await first.close();
  for (let i = 0; i < 3; i++) await server.next();

  const again = await TestNode.open(t, { name: 'client', key: null, dir: first.dir });
  t.equal(again.height, 6n, 'the synced heights survived the restart');
  t.equal(again.host.status().height, 7n, 'consensus resumes at 7');
  MemNet.connect(again.net, server.net);
  await again.waitHeight(9n);
  await sameChain(t, server, again, 9n);
  const ends = (await readWal(join(again.dir, 'cs.wal'))).map(decodeEndHeight).filter((h) => h !== null);
  t.same(ends.slice(-3), [7n, 8n, 9n], 'END_HEIGHT for each height synced after the restart');
});

t.test('serving: status, blocks with their commits, no-block answers, and malformed requests penalised', async (t) => {
  const server = await serverChain(t, 4);
  const got: SyncMessage[] = [];
  const asker = new MemNet('asker');
  asker.onMessage('sync', (_peer, bytes) => got.push(decodeSyncMessage(bytes)));
  MemNet.connect(asker, server.net);
  await until('the status exchange on connect', () => got.some((m) => m.type === 'status_request') && got.some((m) => m.type === 'status_response'));
  t.same(got.find((m) => m.type === 'status_response'), { type: 'status_response', base: 1n, height: 4n }, 'base 1, height 4');
  got.length = 0;
  asker.send('server', 'sync', encodeSyncMessage({ type: 'block_request', height: 2n }));
  asker.send('server', 'sync', encodeSyncMessage({ type: 'block_request', height: 5n }));
  await until('two answers', () => got.length === 2);
  const b2 = await server.blockAt(2n);
  t.same(got.find((m) => m.type === 'block_response'), { type: 'block_response', height: 2n, block: b2.bytes, commit: b2.commitBytes }, 'block 2 and the commit the server saw for it');
  t.same(got.find((m) => m.type === 'no_block_response'), { type: 'no_block_response', height: 5n }, 'none for 5');
  asker.send('server', 'sync', new Uint8Array([0x1a, 0x00]));
  await until('a penalty', () => server.net.penalties.length === 1);
  t.match(server.net.penalties[0], { peer: 'asker', reason: /malformed sync message: .*at least 1/ });

  // Genesis-only node: base 0, height 0.
  const empty = await TestNode.open(t, { name: 'empty', key: null });
  const asker2 = new MemNet('asker2');
  const got2: SyncMessage[] = [];
  asker2.onMessage('sync', (_peer, bytes) => got2.push(decodeSyncMessage(bytes)));
  MemNet.connect(asker2, empty.net);
  await until('its status', () => got2.some((m) => m.type === 'status_response'));
  t.same(got2.find((m) => m.type === 'status_response'), { type: 'status_response', base: 0n, height: 0n });
});

t.test('the node does not depend on a synced block arriving: a stalled sync releases the hold', async (t) => {
  // Also with the wall clock stepped back an hour once the hold is on: stall detection is a duration (monotonic time),
  // or a peer that claims heights it never serves would keep the node out of consensus for the length of the step.
  for (const stepMs of [0, -3_600_000]) {
    await t.test(`wall clock step ${stepMs} ms`, async (t) => {
      const server = await serverChain(t, 8);
      const client = await TestNode.open(t, { name: 'client', key: null, sync: { stallMs: 3_000, requestTimeoutMs: 60_000 } });
      server.net.gate = (_to, m) => m.type === 'block_response' && m.height >= 3n;
      MemNet.connect(client.net, server.net);
      await client.waitHeight(2n);
      await until('the hold', () => client.sync.progress().holding);
      client.clock.step(stepMs);
      // The server keeps claiming height 8 but its responses do not come (and do not time out): after stallMs without a
      // synced block the hold ends and consensus resumes at height 3.
      for (let i = 0; i < 8 && client.host.status().height !== 3n; i++) {
        client.clock.tick(1_000);
        await quiesce(5);
      }
      t.equal(client.sync.progress().holding, false);
      t.equal(client.host.status().height, 3n, 'consensus resumed at height 3');
      t.equal(client.logged('block sync stalled').length, 1, 'the run is summarised as stalled');
      server.net.release();
      await client.waitHeight(8n);
      await sameChain(t, server, client, 8n);
    });
  }
});
