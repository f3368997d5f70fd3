// Block sync: the reactor on the 'sync' channel that lets a node that is behind (new, restarted after downtime, a
// wiped data directory, or one height behind because it missed the decisive votes) download committed blocks with
// their commits from peers, and hands them in height order to the consensus host, which verifies each one against
// the validator set of its height and applies it exactly like a block it decided. Non-validators follow the chain
// the same way. Every node also serves its blocks to peers.
//
// Design (after CometBFT's blocksync pool, simplified): peers tell their heights (StatusResponse: on connect, every
// status interval, and whenever ours moved); the target is the highest height a peer claims. Heights head+1 ..
// head+window are requested, at most maxPerPeer at a time from any one peer, the least loaded peer first; a request
// not answered in time is taken from that peer (whose claim is forgotten until it tells its status again) and asked
// of another. A response is kept only for a height we asked of that very peer (memory is bounded by the window), is
// decoded strictly and checked for shape at once; the host checks the rest when its turn comes. A peer that served
// something wrong is penalised, not asked again for a while, and the height goes to another peer.
//
// Switch-over: consensus keeps running at its height meanwhile, so a node one height behind recovers through this same
// path. Once a synced block has been applied and peers are still more than one block ahead, the host is told to
// hold new heights (setCatchingUp), so the node never starts, and so never signs for, heights it is about to sync;
// the hold ends when the node is at most one block behind, or when sync stops making progress.
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import { BlockCodec, CommitCodec, type Block, type Commit } from '../codec/types.ts';
import { blockIdOf } from '../consensus/block.ts';
import { equalBlockId } from '../consensus/block-id.ts';
import { systemClock, type Clock, type SyncedBlockResult } from '../consensus/host.ts';
import type { App } from '../state/app.ts';
import type { VerifiedTxCache } from '../state/executor.ts';
import { MAX_MESSAGE_BYTES, type Network } from './types.ts';
import { decodeSyncMessage, encodeSyncMessage, type SyncMessage } from './sync-codec.ts';
import { TxPreverifier } from './sync-preverify.ts';

/** What the reactor needs of the consensus host; ConsensusHost implements it. */
export interface SyncHost {
  applySyncedBlock(block: Block, bytes: Uint8Array, commit: Commit): Promise<SyncedBlockResult>;
  setCatchingUp(catchingUp: boolean): void;
}

export interface BlockSyncOptions {
  network: Network;
  /** The node's state: its store serves blocks and commits, its head is our height. */
  app: App;
  host: SyncHost;
  logger: Logger;
  /** Timers (request timeouts, status polls) and rates; the system clock by default. */
  clock?: Clock;
  /** Largest block accepted; default: the genesis consensus param block.max_bytes. */
  maxBlockBytes?: bigint;
  /** Heights requested ahead of our head at most. Default 16. */
  window?: number;
  /** Requests in flight to one peer at most. Default 4. */
  maxPerPeer?: number;
  /** A request unanswered this long goes to another peer. Default 10 s. */
  requestTimeoutMs?: number;
  /** Every peer is asked its status this often. Default 10 s. */
  statusIntervalMs?: number;
  /** Housekeeping period: our status to peers when our height moved, stall checks, progress logs. Default 1 s. */
  tickMs?: number;
  /** A peer that served an invalid block is not asked again for this long. Default 60 s. */
  badPeerCooldownMs?: number;
  /** Heights stay held for sync only while a synced block was applied within this long. Default 2 x requestTimeoutMs. */
  stallMs?: number;
  /**
   * The executor's cache of verified tx signatures (the one given to App.open). With it, the txs of the next blocks
   * are checked in a worker thread ahead of their execution, which then skips them. Without it every signature is
   * checked during execution.
   */
  verifiedTxs?: VerifiedTxCache;
}

/** Progress for logs, metrics and the RPC status's catching_up. */
export interface SyncProgress {
  /** Our committed height. */
  height: bigint;
  /** The highest height a peer reports (0 while none has). */
  target: bigint;
  /** More than one block behind the best peer. */
  catchingUp: boolean;
  /** Heights of the consensus host are held for sync. */
  holding: boolean;
  /** Peers whose status we know. */
  peers: number;
  inFlight: number;
  /** Blocks and txs applied by sync since start. */
  syncedBlocks: number;
  syncedTxs: number;
}

/** Penalty costs (the transport's scale: its default for an invalid message). */
const COST_INVALID: number | undefined = undefined;
const COST_LIGHT = 1;
/** Block reads served to one peer at the same time at most; more requests are dropped (the peer times out). */
const MAX_SERVING_PER_PEER = 16;
const PROGRESS_LOG_MS = 10_000;

interface PeerState {
  id: string;
  base: bigint;
  /** The height the peer claims; 0 while unknown or forgotten (after a timeout): it is then not asked. */
  height: bigint;
  inFlight: number;
  serving: number;
  /** Clock ms before which the peer is not asked (it served something invalid). */
  badUntil: number;
}

interface Pending {
  height: bigint;
  /** The peer asked and not answered yet, with its timeout. */
  peer: string | null;
  timer: { cancel(): void } | null;
  /** Peers that failed this height: asked again only when nobody else can serve it. */
  failed: Set<string>;
  response: { peer: string; block: Block; bytes: Uint8Array; commit: Commit } | null;
  /** The check of its txs' signatures ahead of execution, once started. */
  verified: Promise<void> | null;
}

/** Blocks whose tx signatures are checked ahead: the next height to apply and this many after it. */
const PREVERIFY_AHEAD = 2n;

export class BlockSync {
  private readonly net: Network;
  private readonly app: App;
  private readonly host: SyncHost;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly maxBlockBytes: bigint;
  private readonly window: number;
  private readonly maxPerPeer: number;
  private readonly requestTimeoutMs: number;
  private readonly statusIntervalMs: number;
  private readonly tickMs: number;
  private readonly badPeerCooldownMs: number;
  private readonly stallMs: number;
  private readonly preverifier: TxPreverifier | null;

  private readonly peers = new Map<string, PeerState>();
  private readonly pending = new Map<bigint, Pending>();
  private running = false;
  private registered = false;
  private applying = false;
  private holding = false;
  private tickTimer: { cancel(): void } | null = null;
  private sinceStatusMs = 0;
  private sinceProgressLogMs = 0;
  private advertised = -1n;
  /** Round-robin among equally loaded peers. */
  private turn = 0;
  private lastAppliedAtMs: number | null = null;
  private syncedBlocks = 0;
  private syncedTxs = 0;
  /** The current catch-up run, for the summary logged when it ends. */
  private run: { startMs: number; fromHeight: bigint; blocks: number; txs: number } | null = null;

  constructor(opts: BlockSyncOptions) {
    this.net = opts.network;
    this.app = opts.app;
    this.host = opts.host;
    this.log = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.maxBlockBytes = opts.maxBlockBytes ?? opts.app.genesis.consensusParams.block.max_bytes;
    this.window = opts.window ?? 16;
    this.maxPerPeer = opts.maxPerPeer ?? 4;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.statusIntervalMs = opts.statusIntervalMs ?? 10_000;
    this.tickMs = opts.tickMs ?? 1_000;
    this.badPeerCooldownMs = opts.badPeerCooldownMs ?? 60_000;
    this.stallMs = opts.stallMs ?? 2 * this.requestTimeoutMs;
    for (const [name, v] of Object.entries({ window: this.window, maxPerPeer: this.maxPerPeer, requestTimeoutMs: this.requestTimeoutMs, statusIntervalMs: this.statusIntervalMs, tickMs: this.tickMs, stallMs: this.stallMs })) {
      if (!Number.isSafeInteger(v) || v < 1) throw new AppError('BAD_CONFIG', `block sync ${name} must be a positive integer, got ${v}`);
    }
    this.preverifier = opts.verifiedTxs === undefined ? null : new TxPreverifier(opts.verifiedTxs, opts.app.genesis.chainId);
  }

  /** Registers the channel handlers, asks the connected peers their status and starts the housekeeping timer. */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (!this.registered) {
      // The network has no way to unregister: after stop() the handlers stay and ignore everything.
      this.registered = true;
      this.net.onMessage('sync', (peer, bytes) => this.onMessage(peer, bytes));
      this.net.onPeer((event, peer) => {
        if (!this.running) return;
        if (event === 'connected') this.onConnected(peer);
        else this.onDisconnected(peer);
      });
    }
    for (const p of this.net.peers()) this.onConnected(p.id);
    this.advertised = this.app.head().height;
    this.schedule();
    this.log.info({ height: this.advertised.toString(), window: this.window }, 'block sync started');
  }

  /** Stops timers and the verifying worker, and forgets requests; the host is released if it was held. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const closing = this.preverifier?.close();
    this.tickTimer?.cancel();
    this.tickTimer = null;
    for (const p of this.pending.values()) p.timer?.cancel();
    this.pending.clear();
    if (this.holding) {
      this.holding = false;
      this.host.setCatchingUp(false);
    }
    await closing;
  }

  progress(): SyncProgress {
    const height = this.app.head().height;
    const target = this.target();
    let inFlight = 0;
    for (const p of this.peers.values()) inFlight += p.inFlight;
    return {
      height,
      target,
      catchingUp: target > height + 1n,
      holding: this.holding,
      peers: [...this.peers.values()].filter((p) => p.height > 0n).length,
      inFlight,
      syncedBlocks: this.syncedBlocks,
      syncedTxs: this.syncedTxs,
    };
  }

  /** For the RPC status: more than one block behind the best peer. */
  isCatchingUp(): boolean {
    return this.progress().catchingUp;
  }

  // ------------------------------------------------------------------ messages

  private onMessage(peer: string, bytes: Uint8Array): void {
    if (!this.running) return;
    let msg: SyncMessage;
    try {
      msg = decodeSyncMessage(bytes, MAX_MESSAGE_BYTES.sync);
    } catch (err) {
      this.net.penalize(peer, `malformed sync message: ${(err as Error).message}`, COST_INVALID);
      return;
    }
    const ps = this.peerState(peer);
    switch (msg.type) {
      case 'status_request':
        this.sendStatus(peer);
        return;
      case 'status_response':
        ps.base = msg.base;
        ps.height = msg.height;
        this.pump();
        return;
      case 'block_request':
        void this.serve(ps, msg.height);
        return;
      case 'block_response':
        this.onBlock(ps, msg.height, msg.block, msg.commit);
        return;
      case 'no_block_response':
        this.onNoBlock(ps, msg.height);
        return;
    }
  }

  private onConnected(peer: string): void {
    this.peerState(peer);
    this.net.send(peer, 'sync', encodeSyncMessage({ type: 'status_request' }));
    this.sendStatus(peer);
  }

  private onDisconnected(peer: string): void {
    this.peers.delete(peer);
    for (const p of this.pending.values()) if (p.peer === peer) this.release(p);
    this.pump();
  }

  private peerState(peer: string): PeerState {
    let ps = this.peers.get(peer);
    if (ps === undefined) {
      ps = { id: peer, base: 0n, height: 0n, inFlight: 0, serving: 0, badUntil: 0 };
      this.peers.set(peer, ps);
    }
    return ps;
  }

  /** The blocks we can serve: every height from the first block to the head (the store keeps them all). */
  private ourStatus(): { base: bigint; height: bigint } {
    const height = this.app.head().height;
    const initial = this.app.genesis.initialHeight;
    return { base: height >= initial ? initial : 0n, height };
  }

  private sendStatus(peer: string): void {
    this.net.send(peer, 'sync', encodeSyncMessage({ type: 'status_response', ...this.ourStatus() }));
  }

  private async serve(ps: PeerState, height: bigint): Promise<void> {
    if (ps.serving >= MAX_SERVING_PER_PEER) return; // an honest client keeps a few requests in flight
    ps.serving++;
    try {
      const { base, height: head } = this.ourStatus();
      let block: Uint8Array | undefined;
      let commit: Uint8Array | undefined;
      if (base > 0n && height >= base && height <= head) [block, commit] = await Promise.all([this.app.store.getBlock(height), this.app.store.getCommit(height)]);
      if (!this.running) return;
      const reply: SyncMessage = block !== undefined && commit !== undefined ? { type: 'block_response', height, block, commit } : { type: 'no_block_response', height };
      this.net.send(ps.id, 'sync', encodeSyncMessage(reply));
    } catch (err) {
      if (this.running) this.log.error({ err, height: height.toString() }, 'cannot serve a block');
    } finally {
      ps.serving--;
    }
  }

  private onBlock(ps: PeerState, height: bigint, bytes: Uint8Array, commitBytes: Uint8Array): void {
    const p = this.pending.get(height);
    if (p === undefined || p.peer !== ps.id) {
      // Late (after its timeout, or after consensus committed the height) or never asked: dropped undecoded. Only a
      // block we never asked this peer for costs it.
      if (p === undefined ? height > this.app.head().height + BigInt(this.window) : !p.failed.has(ps.id)) {
        this.net.penalize(ps.id, `block ${height} was not requested from this peer`, COST_LIGHT);
      }
      return;
    }
    this.release(p);
    let block: Block;
    let commit: Commit;
    try {
      if (BigInt(bytes.length) > this.maxBlockBytes) throw new Error(`the block is ${bytes.length} bytes, over block.max_bytes ${this.maxBlockBytes}`);
      block = BlockCodec.decode(bytes);
      commit = CommitCodec.decode(commitBytes);
      if (block.header.chainId !== this.app.genesis.chainId) throw new Error(`the block is for chain ${block.header.chainId}`);
      if (block.header.height !== height) throw new Error(`the block has height ${block.header.height}`);
      if (commit.height !== height) throw new Error(`the commit is for height ${commit.height}`);
      if (!equalBlockId(commit.blockId, blockIdOf(block.header, bytes))) throw new Error('the commit is for another block');
    } catch (err) {
      this.blame(ps.id, p, `invalid block response for height ${height}: ${(err as Error).message}`);
      this.pump();
      return;
    }
    p.response = { peer: ps.id, block, bytes, commit };
    p.verified = null;
    this.preverify();
    void this.applyReady();
  }

  /**
   * Has the tx signatures of the next blocks checked in a worker thread while the main thread executes the ones
   * before them (see sync-preverify.ts); the block about to be applied waits for its check, so no signature is
   * verified twice.
   */
  private preverify(): void {
    if (this.preverifier === null) return;
    const next = this.app.head().height + 1n;
    for (let h = next; h <= next + PREVERIFY_AHEAD; h++) {
      const p = this.pending.get(h);
      if (p?.response == null || p.verified !== null) continue;
      p.verified = this.preverifier.verify(p.response.block.data.txs);
    }
  }

  private onNoBlock(ps: PeerState, height: bigint): void {
    const p = this.pending.get(height);
    if (p === undefined || p.peer !== ps.id) return;
    this.release(p);
    p.failed.add(ps.id);
    // Heights never go down on one connection: claiming a height and then not having a block below it is a lie.
    if (height <= ps.height) this.net.penalize(ps.id, `claimed height ${ps.height} but has no block ${height}`, COST_LIGHT);
    ps.height = height - 1n;
    this.pump();
  }

  // ------------------------------------------------------------------ requests

  private target(): bigint {
    let max = 0n;
    for (const p of this.peers.values()) if (p.height > max) max = p.height;
    return max;
  }

  /** Monotonic ms: cooldowns, stall detection and rates are durations, which a wall-clock step must not stretch. */
  private nowMs(): number {
    return this.clock.monotonicMs();
  }

  /** Requests what the window lacks, drops what consensus committed meanwhile, and updates the hold on the host. */
  private pump(): void {
    if (!this.running) return;
    const head = this.app.head().height;
    for (const [h, p] of this.pending) {
      if (h > head) continue;
      this.release(p);
      this.pending.delete(h);
    }
    const target = this.target();
    const last = head + BigInt(this.window) < target ? head + BigInt(this.window) : target;
    for (let h = head + 1n; h <= last; h++) {
      let p = this.pending.get(h);
      if (p === undefined) {
        p = { height: h, peer: null, timer: null, failed: new Set(), response: null, verified: null };
        this.pending.set(h, p);
      }
      if (p.peer !== null || p.response !== null) continue;
      const peer = this.pickPeer(h, p.failed);
      if (peer === null) continue;
      this.request(p, peer);
    }
    this.updateHold();
    void this.applyReady();
  }

  /** The least loaded peer that claims the height and may be asked, preferring those that have not failed it. */
  private pickPeer(height: bigint, failed: ReadonlySet<string>): PeerState | null {
    const now = this.nowMs();
    const able = [...this.peers.values()].filter((p) => p.height >= height && (p.base === 0n || p.base <= height) && p.inFlight < this.maxPerPeer && p.badUntil <= now);
    const fresh = able.filter((p) => !failed.has(p.id));
    const pool = fresh.length > 0 ? fresh : able;
    if (pool.length === 0) return null;
    const least = Math.min(...pool.map((p) => p.inFlight));
    const tied = pool.filter((p) => p.inFlight === least);
    return tied[this.turn++ % tied.length];
  }

  private request(p: Pending, peer: PeerState): void {
    p.peer = peer.id;
    peer.inFlight++;
    const timer = this.clock.setTimer(this.requestTimeoutMs, () => {
      if (p.timer === timer) this.onTimeout(p, peer.id);
    });
    p.timer = timer;
    this.net.send(peer.id, 'sync', encodeSyncMessage({ type: 'block_request', height: p.height }));
  }

  /** Ends the outstanding request of a pending height (answered, timed out, or its peer gone). */
  private release(p: Pending): void {
    p.timer?.cancel();
    p.timer = null;
    if (p.peer !== null) {
      const ps = this.peers.get(p.peer);
      if (ps !== undefined && ps.inFlight > 0) ps.inFlight--;
      p.peer = null;
    }
  }

  private onTimeout(p: Pending, peer: string): void {
    if (!this.running) return;
    this.log.debug({ peer, height: p.height.toString() }, 'block request timed out');
    this.net.penalize(peer, `did not answer block request ${p.height} within ${this.requestTimeoutMs} ms`, COST_LIGHT);
    const ps = this.peers.get(peer);
    // Like CometBFT's pool dropping a timed-out peer: its claim is forgotten until it tells its status again, and
    // everything it was asked for goes to others now.
    if (ps !== undefined) ps.height = 0n;
    for (const q of this.pending.values()) {
      if (q.peer !== peer) continue;
      this.release(q);
      q.failed.add(peer);
    }
    this.pump();
  }

  /** A peer served something wrong for a height: penalised, benched for a while, the height asked elsewhere. */
  private blame(peer: string, p: Pending, reason: string): void {
    this.log.warn({ peer, height: p.height.toString(), reason }, 'peer served an invalid block');
    this.net.penalize(peer, reason, COST_INVALID);
    p.failed.add(peer);
    p.response = null;
    const ps = this.peers.get(peer);
    if (ps !== undefined) ps.badUntil = this.nowMs() + this.badPeerCooldownMs;
    // Whatever else it served or was asked is suspect too.
    for (const q of this.pending.values()) {
      if (q.peer !== peer && q.response?.peer !== peer) continue;
      this.release(q);
      q.response = null;
      q.failed.add(peer);
    }
  }

  // ------------------------------------------------------------------ applying

  /** Hands the responses to the host in height order, one at a time, as long as the next height is there. */
  private async applyReady(): Promise<void> {
    if (this.applying) return;
    this.applying = true;
    try {
      while (this.running) {
        const height = this.app.head().height + 1n;
        const p = this.pending.get(height);
        if (p?.response == null) break;
        const { peer, block, bytes, commit } = p.response;
        this.preverify();
        await p.verified;
        if (!this.running) break;
        const result = await this.host.applySyncedBlock(block, bytes, commit);
        if (!this.running) break;
        if (result.status === 'invalid') {
          this.blame(peer, p, `block ${height}: ${result.reason}`);
        } else if (result.status === 'applied') {
          this.pending.delete(height);
          this.applied(height, block.data.txs.length, peer);
        } else if (this.app.head().height >= height) {
          this.pending.delete(height); // consensus committed it first
        } else {
          this.log.debug({ height: height.toString(), reason: result.reason }, 'synced block not applied');
          break; // consensus is not running: nothing more can be applied
        }
        this.pump();
      }
    } finally {
      this.applying = false;
    }
  }

  private applied(height: bigint, txs: number, peer: string): void {
    const now = this.nowMs();
    this.lastAppliedAtMs = now;
    this.syncedBlocks++;
    this.syncedTxs += txs;
    if (this.run === null) this.run = { startMs: now, fromHeight: height, blocks: 0, txs: 0 };
    this.run.blocks++;
    this.run.txs += txs;
    this.log.debug({ height: height.toString(), txs, peer }, 'synced block');
  }

  /**
   * Holds new heights of the host while we are more than one block behind and sync is making progress; releases them
   * when we are at most one behind (consensus gossip covers the rest) or sync has stalled (so no peer that claims a
   * height it never serves can keep a validator out of consensus).
   */
  private updateHold(): void {
    const head = this.app.head().height;
    const target = this.target();
    const progressing = this.lastAppliedAtMs !== null && this.nowMs() - this.lastAppliedAtMs < this.stallMs;
    const hold = target > head + 1n && progressing;
    if (hold !== this.holding) {
      this.holding = hold;
      this.host.setCatchingUp(hold);
    }
    if (!hold && this.run !== null && (target <= head || !progressing)) this.summarize(head, target);
  }

  private summarize(head: bigint, target: bigint): void {
    const run = this.run!;
    this.run = null;
    const seconds = Math.max(this.nowMs() - run.startMs, 1) / 1000;
    this.log.info(
      {
        from: run.fromHeight.toString(),
        height: head.toString(),
        target: target.toString(),
        blocks: run.blocks,
        txs: run.txs,
        seconds,
        blocks_per_s: Math.round(run.blocks / seconds),
        tx_per_s: Math.round(run.txs / seconds),
      },
      target <= head ? 'block sync caught up' : 'block sync stalled',
    );
  }

  // ------------------------------------------------------------------ housekeeping

  private schedule(): void {
    this.tickTimer = this.clock.setTimer(this.tickMs, () => {
      if (!this.running) return;
      this.tick();
      this.schedule();
    });
  }

  private tick(): void {
    const head = this.app.head().height;
    // Peers one block behind learn at once that we have the block they miss.
    if (head !== this.advertised) {
      this.advertised = head;
      this.net.broadcast('sync', encodeSyncMessage({ type: 'status_response', ...this.ourStatus() }));
    }
    this.sinceStatusMs += this.tickMs;
    if (this.sinceStatusMs >= this.statusIntervalMs) {
      this.sinceStatusMs = 0;
      this.net.broadcast('sync', encodeSyncMessage({ type: 'status_request' }));
    }
    this.sinceProgressLogMs += this.tickMs;
    if (this.run !== null && this.sinceProgressLogMs >= PROGRESS_LOG_MS) {
      this.sinceProgressLogMs = 0;
      const p = this.progress();
      this.log.info({ height: p.height.toString(), target: p.target.toString(), peers: p.peers, in_flight: p.inFlight, blocks: this.run.blocks, txs: this.run.txs }, 'block sync progress');
    }
    this.pump();
  }
}
