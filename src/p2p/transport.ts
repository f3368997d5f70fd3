// The libp2p transport behind the Network contract (types.ts): TCP + noise + yamux, identity from the node key.
// Each channel is a libp2p protocol (/agentcluster/<channel>/1). Every peer gets one long-lived outbound stream per
// channel for what we send (the peer opens its own for what it sends), carrying varint length-prefixed frames. The
// transport also owns what no reactor should: size limits, bounded send queues, redialing persistent peers, the
// connection limit, and peer scores with bans. Bans, backoffs and score memory are durations on performance.now()
// (monotonic): a wall-clock step must neither stretch a ban or a redial by the step nor end it early.
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import type { KeyPair } from '../crypto/keys.ts';
import { addressOf } from '../crypto/keys.ts';
import { toHex } from '../crypto/bytes.ts';
import { libp2pPrivateKey, peerIdOf } from './identity.ts';
import { MAX_MESSAGE_BYTES, type ChannelId, type Network, type PeerInfo } from './types.ts';

export const CHANNELS: readonly ChannelId[] = ['consensus', 'mempool', 'evidence', 'sync'];

export function protocolOf(channel: ChannelId): string {
  return `/agentcluster/${channel}/1`;
}

/** Per peer and channel, what may wait to be written; beyond it the oldest frames are dropped (gossip re-sends). */
export interface QueueLimit {
  msgs: number;
  bytes: number;
}

export const DEFAULT_QUEUE_LIMITS: Record<ChannelId, QueueLimit> = {
  // Two full proposals' worth: votes are tiny, blocks are at most block.max_bytes (2 MiB by default).
  consensus: { msgs: 4096, bytes: 8 * 1024 * 1024 },
  mempool: { msgs: 10_000, bytes: 2 * 1024 * 1024 },
  evidence: { msgs: 256, bytes: 512 * 1024 },
  // Must hold one largest sync message.
  sync: { msgs: 64, bytes: 2 * MAX_MESSAGE_BYTES.sync },
};

/** Score every peer starts with; penalties subtract, time gives back SCORE_RECOVERY_PER_S up to this again. */
export const INITIAL_SCORE = 0;
/** At or below this a peer is disconnected and banned. */
export const DEFAULT_BAN_THRESHOLD = -100;
export const DEFAULT_PENALTY = 10;
export const SCORE_RECOVERY_PER_S = 1;
export const DEFAULT_BAN_MS = 60_000;
/** A repeat offender's ban doubles each time, up to this. */
export const MAX_BAN_MS = 60 * 60_000;
/** What a frame larger than its channel allows costs (a correct peer never sends one). */
export const OVERSIZE_PENALTY = 50;

export interface TransportOptions {
  nodeKey: KeyPair;
  /** Listen multiaddr (config p2p.laddr), e.g. /ip4/127.0.0.1/tcp/26656; port 0 picks a free port. */
  listen: string;
  /** Kept connected: dialed at start and redialed with backoff after a failure or a disconnect. */
  persistentPeers?: readonly string[];
  /** Dialed (with retries) until reached once; without peer exchange a seed is otherwise an ordinary peer. */
  seeds?: readonly string[];
  maxConnections?: number;
  logger: Logger;
  // Tuning, mostly for tests.
  banMs?: number;
  banThreshold?: number;
  redialMinMs?: number;
  redialMaxMs?: number;
  queueLimits?: Partial<Record<ChannelId, QueueLimit>>;
  /** A peer whose stream accepts nothing for this long while we have data for it is disconnected. */
  stallMs?: number;
  maxMessageBytes?: Partial<Record<ChannelId, number>>;
}

/** A peer's score and ban count are kept this long after its last penalty (repeat offenders get longer bans). */
const SCORE_MEMORY_MS = 60 * 60_000;
const DEFAULT_REDIAL_MIN_MS = 500;
const DEFAULT_REDIAL_MAX_MS = 10_000;
const DEFAULT_STALL_MS = 20_000;
const DIAL_TIMEOUT_MS = 5_000;
const OPEN_STREAM_TIMEOUT_MS = 5_000;
const DIAL_LOOP_MS = 250;
/** Frames are batched into writes of about this size. */
const WRITE_CHUNK_BYTES = 256 * 1024;
/** Inbound streams a peer may hold open per channel and connection (one in use, plus reopenings after a reset). */
const MAX_INBOUND_STREAMS = 4;

// ---------------------------------------------------------------- framing

/** uvarint(length) || payload. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  let n = payload.length;
  let prefix = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    prefix++;
  }
  const out = new Uint8Array(prefix + payload.length);
  n = payload.length;
  let i = 0;
  while (n >= 0x80) {
    out[i++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[i++] = n;
  out.set(payload, i);
  return out;
}

/**
 * Incremental decoder of length-prefixed frames. The declared length is checked against the limit before any
 * payload is buffered, so an oversize frame costs nothing to refuse; a frame's memory is only what actually arrived
 * (a peer announcing 4 MiB and sending nothing holds nothing). Frames are fresh copies (a handler may keep one
 * without pinning a network chunk).
 */
export class FrameDecoder {
  private readonly max: number;
  private len = 0;
  private headerBytes = 0;
  private inBody = false;
  private parts: Uint8Array[] = [];
  private filled = 0;

  constructor(maxBytes: number) {
    this.max = maxBytes;
  }

  /** Feeds bytes; calls onFrame for each complete frame. Returns why the stream is bad, or null. */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): string | null {
    let i = 0;
    while (i < chunk.length) {
      if (!this.inBody) {
        const b = chunk[i++];
        this.len += (b & 0x7f) * 2 ** (7 * this.headerBytes);
        this.headerBytes++;
        if (b & 0x80) {
          // 4 varint bytes cover 256 MiB, far above every channel's limit.
          if (this.headerBytes >= 4) return 'frame length prefix too long';
          continue;
        }
        if (this.headerBytes > 1 && b === 0) return 'frame length prefix not minimal';
        if (this.len > this.max) return `frame of ${this.len} bytes, over the ${this.max}-byte limit`;
        if (this.len === 0) {
          this.reset();
          onFrame(new Uint8Array(0));
          continue;
        }
        this.inBody = true;
        continue;
      }
      const n = Math.min(this.len - this.filled, chunk.length - i);
      this.parts.push(chunk.subarray(i, i + n));
      this.filled += n;
      i += n;
      if (this.filled === this.len) {
        const frame = new Uint8Array(this.len);
        let at = 0;
        for (const p of this.parts) {
          frame.set(p, at);
          at += p.length;
        }
        this.reset();
        onFrame(frame);
      }
    }
    return null;
  }

  private reset(): void {
    this.len = 0;
    this.headerBytes = 0;
    this.inBody = false;
    this.parts = [];
    this.filled = 0;
  }
}

// ---------------------------------------------------------------- send queues

/** A FIFO of frames with byte accounting; drops the oldest beyond its limit. */
class OutQueue {
  readonly limit: QueueLimit;
  private items: Uint8Array[] = [];
  private head = 0;
  bytes = 0;
  dropped = 0;
  stream: Stream | null = null;
  pumping = false;

  constructor(limit: QueueLimit) {
    this.limit = limit;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(frame: Uint8Array): void {
    if (frame.length > this.limit.bytes) {
      this.dropped++;
      return;
    }
    while (this.length > 0 && (this.length >= this.limit.msgs || this.bytes + frame.length > this.limit.bytes)) {
      this.shift();
      this.dropped++;
    }
    this.items.push(frame);
    this.bytes += frame.length;
  }

  private shift(): Uint8Array {
    const f = this.items[this.head];
    this.items[this.head++] = EMPTY;
    this.bytes -= f.length;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return f;
  }

  /** Frames up to about maxBytes (at least one), joined for one write. */
  take(maxBytes: number): Uint8Array {
    const first = this.shift();
    if (this.length === 0 || first.length >= maxBytes) return first;
    const parts = [first];
    let size = first.length;
    while (this.length > 0 && size + this.items[this.head].length <= maxBytes) {
      const f = this.shift();
      parts.push(f);
      size += f.length;
    }
    return parts.length === 1 ? first : Buffer.concat(parts, size);
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }
}

const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------- peers, scores, dialing

interface PeerState {
  id: string;
  peerId: PeerId;
  queues: Map<ChannelId, OutQueue>;
  closed: boolean;
}

interface ScoreState {
  score: number;
  at: number;
  bannedUntil: number;
  bans: number;
}

interface DialTarget {
  addr: Multiaddr;
  text: string;
  /** Known from the address (/p2p/ID) or learnt from the first connection. */
  peer: string | null;
  /** Seeds are dropped from the list once reached. */
  persistent: boolean;
  failures: number;
  nextAt: number;
  dialing: boolean;
}

export interface PeerStats {
  id: string;
  score: number;
  queued: Record<ChannelId, { msgs: number; bytes: number; dropped: number }>;
}

export class P2PTransport implements Network {
  readonly peerId: string;
  private readonly listen: string;
  private readonly node: Libp2p;
  private readonly log: Logger;
  private readonly opts: Required<Pick<TransportOptions, 'banMs' | 'banThreshold' | 'redialMinMs' | 'redialMaxMs' | 'stallMs'>>;
  private readonly queueLimits: Record<ChannelId, QueueLimit>;
  private readonly maxBytes: Record<ChannelId, number>;
  private readonly connected = new Map<string, PeerState>();
  private readonly scores = new Map<string, ScoreState>();
  private readonly handlers = new Map<ChannelId, (peer: string, bytes: Uint8Array) => void>();
  private readonly peerHandlers: Array<(event: 'connected' | 'disconnected', peer: string) => void> = [];
  private readonly targets: DialTarget[] = [];
  private dialTimer: NodeJS.Timeout | null = null;
  private prunedAt = performance.now();
  private closed = false;

  private constructor(node: Libp2p, opts: TransportOptions, targets: DialTarget[]) {
    this.node = node;
    this.peerId = node.peerId.toString();
    this.listen = opts.listen;
    this.log = opts.logger;
    this.opts = {
      banMs: opts.banMs ?? DEFAULT_BAN_MS,
      banThreshold: opts.banThreshold ?? DEFAULT_BAN_THRESHOLD,
      redialMinMs: opts.redialMinMs ?? DEFAULT_REDIAL_MIN_MS,
      redialMaxMs: opts.redialMaxMs ?? DEFAULT_REDIAL_MAX_MS,
      stallMs: opts.stallMs ?? DEFAULT_STALL_MS,
    };
    this.queueLimits = { ...DEFAULT_QUEUE_LIMITS, ...opts.queueLimits };
    this.maxBytes = { ...MAX_MESSAGE_BYTES, ...opts.maxMessageBytes };
    this.targets = targets;
  }

  static async start(opts: TransportOptions): Promise<P2PTransport> {
    const self = peerIdOf(opts.nodeKey).toString();
    const targets: DialTarget[] = [];
    const seen = new Set<string>();
    const add = (list: readonly string[] | undefined, persistent: boolean) => {
      for (const text of list ?? []) {
        let addr: Multiaddr;
        try {
          addr = multiaddr(text);
        } catch (err) {
          throw new AppError('BAD_CONFIG', `p2p peer address ${JSON.stringify(text)} is not a multiaddr: ${(err as Error).message}`);
        }
        const peer = addr.getComponents().find((c) => c.name === 'p2p')?.value ?? null;
        if (peer === self || seen.has(text)) continue; // a shared peer list may name this node itself
        seen.add(text);
        targets.push({ addr, text, peer, persistent, failures: 0, nextAt: 0, dialing: false });
      }
    };
    add(opts.persistentPeers, true);
    add(opts.seeds, false);

    // The gater sees the transport through this box: libp2p needs the gater before the transport exists.
    let transport: P2PTransport | null = null;
    const banned = (peer: PeerId) => transport?.isBanned(peer.toString()) ?? false;
    let node: Libp2p;
    try {
      node = await createLibp2p({
        privateKey: libp2pPrivateKey(opts.nodeKey),
        addresses: { listen: [opts.listen] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionGater: {
          denyDialPeer: banned,
          denyInboundEncryptedConnection: banned,
          denyOutboundEncryptedConnection: banned,
          // Loopback and private addresses are where devnets and clusters live: allow dialing them.
          denyDialMultiaddr: () => false,
        },
        connectionManager: {
          maxConnections: opts.maxConnections ?? 40,
          dialTimeout: DIAL_TIMEOUT_MS,
          // libp2p refuses more than 5 new inbound connections a second per IP by default; a devnet's nodes share one.
          inboundConnectionThreshold: 50,
          // Our own dial loop redials persistent peers; libp2p's reconnect queue is for keep-alive tags we never set.
          reconnectRetries: 0,
        },
        start: false,
      });
    } catch (err) {
      throw new AppError('BAD_CONFIG', `cannot set up p2p on ${opts.listen}: ${(err as Error).message}`);
    }
    transport = new P2PTransport(node, opts, targets);
    await transport.run();
    return transport;
  }

  private async run(): Promise<void> {
    const node = this.node;
    node.addEventListener('peer:connect', (e) => this.onConnect(e.detail));
    node.addEventListener('peer:disconnect', (e) => this.onDisconnect(e.detail));
    for (const channel of CHANNELS) {
      await node.handle(protocolOf(channel), (stream, conn) => this.readStream(channel, stream, conn), {
        maxInboundStreams: MAX_INBOUND_STREAMS,
        maxOutboundStreams: MAX_INBOUND_STREAMS,
      });
    }
    try {
      await node.start();
    } catch (err) {
      try {
        await node.stop();
      } catch {
        // already failed: the listen error is the one to report
      }
      throw new AppError('BAD_CONFIG', `cannot listen for peers on ${this.listen}: ${(err as Error).message}; check p2p.laddr (is the port in use?)`);
    }
    this.log.info({ peer_id: this.peerId, addrs: this.addrs() }, 'p2p listening');
    this.dialTimer = setInterval(() => this.dialDue(), DIAL_LOOP_MS);
    this.dialDue();
  }

  /** Our listen multiaddrs with /p2p/<peer id>, as peers should dial them. */
  addrs(): string[] {
    return this.node.getMultiaddrs().map((a) => a.toString());
  }

  // ------------------------------------------------------------ Network

  peers(): PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const p of this.connected.values()) {
      const conn = this.openConnection(p.peerId);
      out.push({ id: p.id, remoteAddr: conn?.remoteAddr.toString() ?? '', outbound: conn?.direction === 'outbound' });
    }
    return out;
  }

  send(peer: string, channel: ChannelId, bytes: Uint8Array): void {
    const p = this.connected.get(peer);
    if (p === undefined || this.closed) return;
    if (bytes.length > this.maxBytes[channel]) {
      this.log.warn({ channel, bytes: bytes.length }, 'outgoing message over the channel limit dropped');
      return;
    }
    this.enqueue(p, channel, encodeFrame(bytes));
  }

  broadcast(channel: ChannelId, bytes: Uint8Array, except?: string): void {
    if (this.closed || this.connected.size === 0) return;
    if (bytes.length > this.maxBytes[channel]) {
      this.log.warn({ channel, bytes: bytes.length }, 'outgoing message over the channel limit dropped');
      return;
    }
    const frame = encodeFrame(bytes); // framed once, shared by every queue
    for (const p of this.connected.values()) if (p.id !== except) this.enqueue(p, channel, frame);
  }

  onMessage(channel: ChannelId, handler: (peer: string, bytes: Uint8Array) => void): void {
    this.handlers.set(channel, handler);
  }

  /** Several reactors watch peers (consensus, mempool, sync): every handler is called. */
  onPeer(handler: (event: 'connected' | 'disconnected', peer: string) => void): void {
    this.peerHandlers.push(handler);
  }

  penalize(peer: string, reason: string, cost: number = DEFAULT_PENALTY): void {
    if (this.closed || !(cost > 0)) return;
    const s = this.scoreState(peer);
    s.score -= cost;
    this.log.debug({ peer, reason, cost, score: s.score }, 'peer penalized');
    if (s.score > this.opts.banThreshold || s.bannedUntil > performance.now()) return;
    const ms = Math.min(MAX_BAN_MS, this.opts.banMs * 2 ** Math.min(s.bans, 20));
    s.bans++;
    s.bannedUntil = performance.now() + ms;
    this.log.warn({ peer, reason, ban_ms: ms }, 'peer banned');
    for (const t of this.targets) if (t.peer === peer) t.nextAt = Math.max(t.nextAt, s.bannedUntil);
    void this.node.hangUp(peerIdFromString(peer)).catch((err: unknown) => this.log.debug({ peer, err: String(err) }, 'hang up failed'));
  }

  // ------------------------------------------------------------ scores and bans

  /** The peer's score now (recovers with time); INITIAL_SCORE for a peer never penalized. */
  score(peer: string): number {
    return this.scores.get(peer) === undefined ? INITIAL_SCORE : this.scoreState(peer).score;
  }

  isBanned(peer: string): boolean {
    const s = this.scores.get(peer);
    return s !== undefined && s.bannedUntil > performance.now();
  }

  private scoreState(peer: string): ScoreState {
    const now = performance.now();
    let s = this.scores.get(peer);
    if (s === undefined) {
      s = { score: INITIAL_SCORE, at: now, bannedUntil: 0, bans: 0 };
      this.scores.set(peer, s);
      return s;
    }
    if (s.bannedUntil !== 0 && s.bannedUntil <= now) {
      // A served ban wipes the slate (but the ban count stays: the next one is longer).
      s.score = INITIAL_SCORE;
      s.bannedUntil = 0;
    } else if (s.bannedUntil === 0) {
      s.score = Math.min(INITIAL_SCORE, s.score + ((now - s.at) / 1000) * SCORE_RECOVERY_PER_S);
    }
    s.at = now;
    return s;
  }

  // ------------------------------------------------------------ connections

  private onConnect(peerId: PeerId): void {
    const id = peerId.toString();
    if (this.closed || this.connected.has(id)) return;
    if (this.isBanned(id)) {
      void this.node.hangUp(peerId).catch(() => {});
      return;
    }
    const p: PeerState = { id, peerId, queues: new Map(), closed: false };
    this.connected.set(id, p);
    const conn = this.openConnection(peerId);
    for (const t of this.targets) {
      if (t.peer === null && conn !== undefined && sameAddr(conn.remoteAddr, t.addr)) t.peer = id;
      if (t.peer === id) {
        t.failures = 0;
        // A seed reached once has done its job.
        if (!t.persistent) this.targets.splice(this.targets.indexOf(t), 1);
      }
    }
    this.log.info({ peer: id, addr: conn?.remoteAddr.toString(), outbound: conn?.direction === 'outbound' }, 'peer connected');
    this.emitPeer('connected', id);
  }

  private onDisconnect(peerId: PeerId): void {
    const id = peerId.toString();
    const p = this.connected.get(id);
    if (p === undefined) return;
    p.closed = true;
    this.connected.delete(id);
    for (const q of p.queues.values()) {
      q.clear();
      q.stream?.abort(new Error('peer disconnected'));
      q.stream = null;
    }
    const now = performance.now();
    for (const t of this.targets) {
      // Redial soon, jittered so that two nodes that lost each other do not dial at the same instant.
      if (t.peer === id) t.nextAt = Math.max(t.nextAt, now + this.opts.redialMinMs * (0.5 + Math.random()));
    }
    if (!this.closed) this.log.info({ peer: id }, 'peer disconnected');
    this.emitPeer('disconnected', id);
  }

  private emitPeer(event: 'connected' | 'disconnected', peer: string): void {
    if (this.closed) return;
    for (const h of this.peerHandlers) {
      try {
        h(event, peer);
      } catch (err) {
        this.log.error({ err, peer, event }, 'a peer handler failed');
      }
    }
  }

  private openConnection(peerId: PeerId): Connection | undefined {
    return this.node.getConnections(peerId).find((c) => c.status === 'open');
  }

  /** Forgets peers whose score has long recovered and whose ban has long ended. */
  private pruneScores(now: number): void {
    for (const [peer, sc] of this.scores) {
      if (now - sc.at > SCORE_MEMORY_MS && sc.bannedUntil < now && !this.connected.has(peer)) this.scores.delete(peer);
    }
  }

  /** Dials every target that is due: not connected, not banned, past its backoff. */
  private dialDue(): void {
    if (this.closed) return;
    const now = performance.now();
    if (now - this.prunedAt > SCORE_MEMORY_MS / 10) {
      this.prunedAt = now;
      this.pruneScores(now);
    }
    for (const t of this.targets) {
      if (t.dialing || t.nextAt > now) continue;
      if (t.peer !== null && (this.connected.has(t.peer) || this.isBanned(t.peer))) continue;
      t.dialing = true;
      void this.node
        .dial(t.addr, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
        .then((conn) => {
          if (t.peer === null) t.peer = conn.remotePeer.toString();
        })
        .catch((err: unknown) => {
          t.failures++;
          const backoff = Math.min(this.opts.redialMaxMs, this.opts.redialMinMs * 2 ** Math.min(t.failures - 1, 20));
          t.nextAt = performance.now() + backoff * (0.75 + Math.random() / 2);
          const level = t.failures === 1 || t.failures % 10 === 0 ? 'info' : 'debug';
          if (!this.closed) this.log[level]({ addr: t.text, failures: t.failures, retry_ms: Math.round(t.nextAt - performance.now()), err: (err as Error).message }, 'peer dial failed');
        })
        .finally(() => {
          t.dialing = false;
        });
    }
  }

  // ------------------------------------------------------------ reading

  private readStream(channel: ChannelId, stream: Stream, conn: Connection): void {
    const peer = conn.remotePeer.toString();
    if (this.closed || this.isBanned(peer)) {
      stream.abort(new Error('refused'));
      return;
    }
    const decoder = new FrameDecoder(this.maxBytes[channel]);
    const deliver = (frame: Uint8Array) => {
      const handler = this.handlers.get(channel);
      if (handler === undefined) return; // nothing rides this channel here (yet): dropped
      try {
        handler(peer, frame);
      } catch (err) {
        // A reactor's own bug, not the peer's fault: logged, the stream goes on.
        this.log.error({ err, peer, channel }, 'a message handler failed');
      }
    };
    stream.addEventListener('message', (e) => {
      if (stream.status !== 'open') return;
      const data = e.data;
      for (const chunk of data instanceof Uint8Array ? [data] : data) {
        const bad = decoder.push(chunk, deliver);
        if (bad !== null) {
          this.log.warn({ peer, channel, reason: bad }, 'bad frame: stream reset');
          this.penalize(peer, bad, bad.includes('limit') ? OVERSIZE_PENALTY : DEFAULT_PENALTY * 2);
          stream.abort(new Error(bad));
          return;
        }
        if (stream.status !== 'open') return;
      }
    });
  }

  // ------------------------------------------------------------ writing

  private enqueue(p: PeerState, channel: ChannelId, frame: Uint8Array): void {
    let q = p.queues.get(channel);
    if (q === undefined) {
      q = new OutQueue(this.queueLimits[channel]);
      p.queues.set(channel, q);
    }
    q.push(frame);
    if (!q.pumping) void this.pump(p, channel, q);
  }

  /** Writes the queue out on the channel's stream, opening it when needed; one pump per queue at a time. */
  private async pump(p: PeerState, channel: ChannelId, q: OutQueue): Promise<void> {
    q.pumping = true;
    let failures = 0;
    try {
      while (q.length > 0 && !p.closed && !this.closed) {
        let stream = q.stream;
        if (stream === null || stream.status !== 'open' || stream.writeStatus !== 'writable') {
          stream = await this.openStream(p, channel);
          if (stream === null) {
            if (++failures >= 2) {
              q.clear(); // the peer cannot take this channel now; later messages try again
              return;
            }
            continue;
          }
          q.stream = stream;
        }
        const chunk = q.take(WRITE_CHUNK_BYTES);
        try {
          if (!stream.send(chunk)) await this.drained(p, stream);
        } catch (err) {
          if (stream.status === 'open') stream.abort(err as Error);
          if (q.stream === stream) q.stream = null;
          if (++failures >= 2) {
            q.clear();
            return;
          }
        }
      }
    } finally {
      q.pumping = false;
    }
  }

  /** Waits for a full stream to take more; a peer that reads nothing for stallMs is disconnected. */
  private async drained(p: PeerState, stream: Stream): Promise<void> {
    try {
      await stream.onDrain({ signal: AbortSignal.timeout(this.opts.stallMs) });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError' && !p.closed) {
        this.log.warn({ peer: p.id, stall_ms: this.opts.stallMs }, 'peer reads too slowly: disconnecting');
        void this.node.hangUp(p.peerId).catch(() => {});
      }
      throw err;
    }
  }

  private async openStream(p: PeerState, channel: ChannelId): Promise<Stream | null> {
    const conn = this.openConnection(p.peerId);
    if (conn === undefined) return null;
    try {
      const stream = await conn.newStream(protocolOf(channel), { signal: AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS) });
      const q = p.queues.get(channel);
      stream.addEventListener('close', () => {
        if (q !== undefined && q.stream === stream) q.stream = null;
      });
      return stream;
    } catch (err) {
      this.log.debug({ peer: p.id, channel, err: (err as Error).message }, 'cannot open stream');
      return null;
    }
  }

  // ------------------------------------------------------------ introspection and shutdown

  /** Scores and send queues per connected peer (tests, metrics). */
  stats(): PeerStats[] {
    return [...this.connected.values()].map((p) => {
      const queued = {} as PeerStats['queued'];
      for (const ch of CHANNELS) {
        const q = p.queues.get(ch);
        queued[ch] = { msgs: q?.length ?? 0, bytes: q?.bytes ?? 0, dropped: q?.dropped ?? 0 };
      }
      return { id: p.id, score: this.score(p.id), queued };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.dialTimer !== null) clearInterval(this.dialTimer);
    this.dialTimer = null;
    for (const p of this.connected.values()) {
      p.closed = true;
      for (const q of p.queues.values()) q.clear();
    }
    await this.node.stop();
    this.connected.clear();
    this.log.info('p2p stopped');
  }
}

function sameAddr(a: Multiaddr, b: Multiaddr): boolean {
  const strip = (m: Multiaddr) => m.toString().replace(/\/p2p\/[^/]+$/, '');
  return strip(a) === strip(b);
}

/** CometBFT-style node id of a libp2p peer id: hex of the ed25519 node key's address, lower-case ('' if not ed25519). */
export function nodeIdOf(peer: string): string {
  try {
    const key = peerIdFromString(peer).publicKey;
    if (key === undefined || key.type !== 'Ed25519') return '';
    return toHex(addressOf(key.raw)).toLowerCase();
  } catch {
    return '';
  }
}
