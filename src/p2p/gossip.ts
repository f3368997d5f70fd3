// Reactors: what rides the transport. Consensus gossip (proposals with their blocks, votes) that converges with no
// central node, mempool tx gossip, and evidence gossip (duplicate votes spread to every node's pool, so whichever
// validator proposes next puts them in its block; see EvidenceReactor).
//
// Consensus convergence: the host broadcasts its own messages at once; everything else the node holds for the height
// (host.gossipMessages()) is re-sent periodically to each peer that has not had it from us nor sent it to us, so a
// peer that lost a message, was disconnected or joined late still gets it. What a peer has is tracked by message hash
// per height, for the current and the previous height only. The previous height's messages (snapshotted when a block
// commits) go to peers one height behind, which is what a node restarted in the middle of a height needs. Anything
// older is block sync's job (sync.ts).
//
// Relay delays, rate limits and stall timers are durations: measured on performance.now(), never on the wall clock,
// which can step (NTP, an operator) and would hold messages back or starve the flood bucket for as long as the step.
import type { Logger } from 'pino';
import { ConsensusMessageCodec, EvidenceCodec, TxBatchCodec, type ConsensusMessage, type Evidence } from '../codec/types.ts';
import type { ConsensusNetwork, EvidenceResult } from '../consensus/host.ts';
import { blockIdKey } from '../consensus/block-id.ts';
import { sha256 } from '../crypto/hash.ts';
import { toHex } from '../crypto/bytes.ts';
import { ErrorCodes } from '../errors.ts';
import type { CheckTxResponse } from '../mempool/mempool.ts';
import type { Network } from './types.ts';

/** What the consensus reactor needs of the host (ConsensusHost has it). */
export interface GossipHost {
  receive(msg: ConsensusMessage): void;
  gossipMessages(): ConsensusMessage[];
  status(): { height: bigint };
}

export interface ConsensusReactorOptions {
  network: Network;
  logger: Logger;
  /** Mean period of the re-gossip pass (each pass is jittered by +-1/3). Default 750 ms. */
  gossipIntervalMs?: number;
  /**
   * A message received from one peer is relayed to others only after this long: on a full mesh every peer has it
   * from its author by then, and a peer that voted for a proposal's block evidently has the proposal.
   */
  relayDelayMs?: number;
  /** With no new height for this long, forget what peers were sent and send everything again. Default 5 s. */
  staleMs?: number;
  /** Messages per second a peer may send (burst twice that); beyond it they are dropped and the peer penalized. */
  maxMessagesPerSecond?: number;
  /** Proposals per second a peer may send (burst three times that); each carries a block, so fewer. */
  maxProposalsPerSecond?: number;
}

/** Costs for the transport's peer score (types.ts: penalize). */
export const PENALTY = {
  undecodable: 20,
  undecodableBatch: 20,
  timeoutFromPeer: 20,
  flood: 20,
  badTx: 5,
  undecodableEvidence: 20,
  badEvidence: 50,
} as const;

/** A message as sent: its encoding, hash, height, and what it tells about the sender. */
interface Entry {
  bytes: Uint8Array;
  hash: string;
  height: bigint;
  /** When this node first had it (0 for our own: always due). */
  firstSeen: number;
  /** round/blockId of a proposal (to skip peers that voted for its block), or of a non-nil vote. */
  key: string | null;
  isProposal: boolean;
}

interface PeerGossip {
  /** Highest height among the messages it sent us; null until it sends one (a non-validator may never). */
  height: bigint | null;
  /** Per height, the hashes it has: sent to it, or received from it. */
  has: Map<bigint, Set<string>>;
  /** Per height, round/blockId pairs it voted for (it has those proposals). */
  voted: Map<bigint, Set<string>>;
  tokens: number;
  proposalTokens: number;
  refilledAt: number;
  floodReportedAt: number;
}

interface Seen {
  height: bigint;
  firstSeen: number;
  key: string | null;
  isProposal: boolean;
}

/** Received-message hashes remembered for de-duplication; beyond it the memory is dropped (peers re-send anyway). */
const MAX_SEEN = 100_000;
/** Per peer and height, hashes remembered; beyond it the set is dropped (worst case: a message is re-sent). */
const MAX_HAS_PER_HEIGHT = 50_000;

function heightOf(msg: ConsensusMessage): bigint {
  return msg.type === 'vote' ? msg.value.height : msg.type === 'proposal' ? msg.value.proposal.height : msg.value.height;
}

/** The proposal/vote object itself: what the host keeps, so a WeakMap on it caches the encoding while it lives. */
function identityOf(msg: ConsensusMessage): object {
  return msg.type === 'proposal' ? msg.value.proposal : msg.value;
}

function keyOf(msg: ConsensusMessage): string | null {
  if (msg.type === 'proposal') return `${msg.value.proposal.round}/${blockIdKey(msg.value.proposal.blockId)}`;
  if (msg.type === 'vote') {
    const id = blockIdKey(msg.value.blockId);
    return id === '' ? null : `${msg.value.round}/${id}`;
  }
  return null;
}

export class ConsensusReactor implements ConsensusNetwork {
  private readonly network: Network;
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly relayDelayMs: number;
  private readonly staleMs: number;
  private readonly rate: number;
  private readonly proposalRate: number;
  private host: GossipHost | null = null;
  private readonly peers = new Map<string, PeerGossip>();
  private readonly cache = new WeakMap<object, Entry>();
  private seen = new Map<string, Seen>();
  private height = -1n;
  private heightAt = performance.now();
  private staleAt = -Infinity;
  /** The last pass's messages, and those of the height before the current one (for peers one height behind). */
  private last: { height: bigint; entries: Entry[] } | null = null;
  private prev: { height: bigint; entries: Entry[] } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(opts: ConsensusReactorOptions) {
    this.network = opts.network;
    this.log = opts.logger;
    this.intervalMs = opts.gossipIntervalMs ?? 750;
    this.relayDelayMs = opts.relayDelayMs ?? 400;
    this.staleMs = opts.staleMs ?? 5_000;
    this.rate = opts.maxMessagesPerSecond ?? 2_000;
    this.proposalRate = opts.maxProposalsPerSecond ?? 10;
    this.network.onMessage('consensus', (peer, bytes) => this.receive(peer, bytes));
    this.network.onPeer((event, peer) => {
      if (event === 'disconnected') {
        this.peers.delete(peer);
        return;
      }
      // A new (or re-connected) peer starts with nothing: everything we hold of the height goes to it now.
      this.peers.delete(peer);
      if (this.host !== null && !this.closed) {
        const now = performance.now();
        this.gossipPeer(peer, this.currentEntries(now), now, false);
      }
    });
  }

  /** Connects the host (built after the reactor, since it takes the reactor as its network) and starts gossiping. */
  attach(host: GossipHost): void {
    this.host = host;
    this.height = host.status().height;
    this.heightAt = performance.now();
    this.schedule();
  }

  /** The host's own proposal or vote: to every peer now. */
  broadcast(msg: ConsensusMessage): void {
    if (this.closed || msg.type === 'timeout') return; // timeouts are local: never sent
    const e = this.entryOf(msg);
    this.remember(e);
    const now = performance.now();
    for (const p of this.network.peers()) this.trySend(p.id, this.peerState(p.id, now), e, now, true);
  }

  /**
   * Called when the host commits a block, while it still holds that height's messages (it starts the next height
   * after the commit timeout): kept for peers that are still one height behind.
   */
  committed(): void {
    if (this.host === null || this.closed) return;
    const height = this.host.status().height;
    const entries = this.currentEntries(performance.now());
    if (entries.length > 0) this.prev = { height, entries };
  }

  /** One re-gossip pass to every peer (the timer calls it; tests may too). */
  tick(): void {
    if (this.host === null || this.closed) return;
    const now = performance.now();
    const current = this.currentEntries(now);
    let stale = false;
    if (now - this.heightAt >= this.staleMs && now - this.staleAt >= this.staleMs) {
      // No progress: a message may have been lost where our bookkeeping cannot see (a dropped queue, a host that
      // refused it early). Forget what peers have and send it all once more.
      stale = true;
      this.staleAt = now;
      for (const p of this.peers.values()) p.has.clear();
      this.seen.clear();
      this.log.debug({ height: this.height.toString(), stalled_ms: now - this.heightAt }, 're-sending the height to every peer');
    }
    for (const p of this.network.peers()) this.gossipPeer(p.id, current, now, stale);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.peers.clear();
    this.seen.clear();
    this.host = null;
  }

  // ------------------------------------------------------------ sending

  private schedule(): void {
    if (this.closed) return;
    const delay = this.intervalMs * (2 / 3 + (2 / 3) * Math.random());
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        this.tick();
      } catch (err) {
        this.log.error({ err }, 'consensus gossip pass failed');
      }
      this.schedule();
    }, delay);
  }

  /** The host's messages of its current height, as entries; notices a height change. */
  private currentEntries(now: number): Entry[] {
    const host = this.host!;
    const height = host.status().height;
    if (height !== this.height) this.newHeight(height, now);
    const entries = host.gossipMessages().map((m) => this.entryOf(m));
    this.last = { height, entries };
    return entries;
  }

  private newHeight(height: bigint, now: number): void {
    // The previous pass's messages stand in for the previous height if committed() was not called (tests).
    if (this.last !== null && this.last.height === height - 1n && this.prev?.height !== height - 1n) this.prev = this.last;
    if (this.prev !== null && this.prev.height !== height - 1n) this.prev = null;
    this.height = height;
    this.heightAt = now;
    for (const [h, s] of this.seen) if (s.height < height) this.seen.delete(h);
    for (const p of this.peers.values()) {
      for (const h of p.has.keys()) if (h < height - 1n) p.has.delete(h);
      for (const h of p.voted.keys()) if (h < height - 1n) p.voted.delete(h);
    }
  }

  private gossipPeer(peer: string, current: Entry[], now: number, stale: boolean): void {
    const ps = this.peerState(peer, now);
    const h = this.height;
    // A peer known to be elsewhere gets nothing of this height: ahead, it is done with it; two or more behind, it
    // needs block sync first (and its host would drop the messages).
    if (ps.height === null || (ps.height >= h - 1n && ps.height <= h)) {
      for (const e of current) this.trySend(peer, ps, e, now, stale);
    }
    if (this.prev !== null && this.prev.height === h - 1n && (ps.height === null || ps.height === h - 1n)) {
      for (const e of this.prev.entries) this.trySend(peer, ps, e, now, stale);
    }
  }

  private trySend(peer: string, ps: PeerGossip, e: Entry, now: number, stale: boolean): void {
    const has = ps.has.get(e.height);
    if (has?.has(e.hash)) return;
    if (now - e.firstSeen < this.relayDelayMs) return;
    if (!stale && e.isProposal && e.key !== null && ps.voted.get(e.height)?.has(e.key)) return;
    this.network.send(peer, 'consensus', e.bytes);
    this.markHas(ps, e.height, e.hash);
  }

  // ------------------------------------------------------------ receiving

  private receive(peer: string, bytes: Uint8Array): void {
    const host = this.host;
    if (host === null || this.closed) return;
    const now = performance.now();
    const ps = this.peerState(peer, now);
    this.refill(ps, now);
    if (ps.tokens < 1) {
      if (now - ps.floodReportedAt >= 1000) {
        ps.floodReportedAt = now;
        this.network.penalize(peer, `more than ${this.rate} consensus messages a second`, PENALTY.flood);
      }
      return;
    }
    ps.tokens--;
    const hash = toHex(sha256(bytes));
    const known = this.seen.get(hash);
    if (known !== undefined) {
      // A duplicate: the host has it; only learn what it says about the sender.
      this.learn(ps, known.height, hash, known.key, known.isProposal);
      return;
    }
    let msg: ConsensusMessage;
    try {
      msg = ConsensusMessageCodec.decode(bytes);
    } catch (err) {
      this.network.penalize(peer, `undecodable consensus message: ${(err as Error).message}`, PENALTY.undecodable);
      return;
    }
    if (msg.type === 'timeout') {
      // Timeouts are our own clock's business: a peer sending one is broken or hostile.
      this.network.penalize(peer, 'a timeout message from a peer', PENALTY.timeoutFromPeer);
      return;
    }
    const height = heightOf(msg);
    const key = keyOf(msg);
    const isProposal = msg.type === 'proposal';
    this.learn(ps, height, hash, key, isProposal);
    const current = host.status().height;
    // The host takes the current height and buffers the next; anything else it would drop.
    if (height < current || height > current + 1n) return;
    if (isProposal) {
      if (ps.proposalTokens < 1) return; // dropped, unpunished: a re-send burst after a stall can be honest
      ps.proposalTokens--;
    }
    if (this.seen.size >= MAX_SEEN) this.seen.clear();
    const seen: Seen = { height, firstSeen: now, key, isProposal };
    this.seen.set(hash, seen);
    this.cache.set(identityOf(msg), { bytes, hash, height, firstSeen: now, key, isProposal });
    host.receive(msg);
  }

  private learn(ps: PeerGossip, height: bigint, hash: string, key: string | null, isProposal: boolean): void {
    if (ps.height === null || height > ps.height) ps.height = height;
    this.markHas(ps, height, hash);
    if (key !== null && !isProposal) {
      let v = ps.voted.get(height);
      if (v === undefined) ps.voted.set(height, (v = new Set()));
      if (v.size < MAX_HAS_PER_HEIGHT) v.add(key);
    }
  }

  private markHas(ps: PeerGossip, height: bigint, hash: string): void {
    if (height < this.height - 1n) return;
    let s = ps.has.get(height);
    if (s === undefined) ps.has.set(height, (s = new Set()));
    if (s.size >= MAX_HAS_PER_HEIGHT) s.clear();
    s.add(hash);
  }

  // ------------------------------------------------------------ bookkeeping

  /** The message's entry; one not seen from a peer (ours, or from before a restart) counts as old: always due. */
  private entryOf(msg: ConsensusMessage): Entry {
    const id = identityOf(msg);
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    const bytes = ConsensusMessageCodec.encode(msg);
    const hash = toHex(sha256(bytes));
    const firstSeen = this.seen.get(hash)?.firstSeen ?? -Infinity; // monotonic time starts near 0: 'long ago'
    const e: Entry = { bytes, hash, height: heightOf(msg), firstSeen, key: keyOf(msg), isProposal: msg.type === 'proposal' };
    this.cache.set(id, e);
    return e;
  }

  private remember(e: Entry): void {
    if (this.seen.size >= MAX_SEEN) this.seen.clear();
    if (!this.seen.has(e.hash)) this.seen.set(e.hash, { height: e.height, firstSeen: e.firstSeen, key: e.key, isProposal: e.isProposal });
  }

  private peerState(peer: string, now: number): PeerGossip {
    let ps = this.peers.get(peer);
    if (ps === undefined) {
      ps = { height: null, has: new Map(), voted: new Map(), tokens: this.rate * 2, proposalTokens: this.proposalRate * 3, refilledAt: now, floodReportedAt: -Infinity };
      this.peers.set(peer, ps);
    }
    return ps;
  }

  private refill(ps: PeerGossip, now: number): void {
    const s = (now - ps.refilledAt) / 1000;
    if (s <= 0) return;
    ps.tokens = Math.min(this.rate * 2, ps.tokens + s * this.rate);
    ps.proposalTokens = Math.min(this.proposalRate * 3, ps.proposalTokens + s * this.proposalRate);
    ps.refilledAt = now;
  }
}

// ---------------------------------------------------------------- mempool

/** What the mempool reactor needs of the mempool (Mempool has it). */
export interface GossipMempool {
  checkTx(tx: Uint8Array): Promise<CheckTxResponse>;
  onAdded(fn: (tx: Uint8Array, hash: Uint8Array) => void): () => void;
  has(hash: Uint8Array): boolean;
}

/**
 * Rejections that no honest peer causes: it relays only txs its own mempool admitted, and these checks depend on
 * nothing but the tx and the chain. Nonce, funds, fees, a full pool or a duplicate depend on timing and local state.
 */
const FAULTY_TX_CODES: ReadonlySet<number> = new Set([ErrorCodes.TX_DECODE, ErrorCodes.BAD_SIGNATURE, ErrorCodes.WRONG_CHAIN_ID]);

/** Txs from peers being checked at once, at most (the mempool caps its own checks too). */
const MAX_IN_FLIGHT = 10_000;
/** Senders remembered per tx being checked. */
const MAX_SENDERS = 16;
/** A peer's batch is sent once it holds this many bytes, or MEMPOOL_BATCH_MS after its first tx. */
export const MEMPOOL_BATCH_BYTES = 128 * 1024;
export const MEMPOOL_BATCH_MS = 10;

/**
 * Mempool gossip. Admitted txs are relayed in TxBatch messages, per peer: under load one frame carries hundreds of
 * txs, so framing, noise encryption and the socket write are paid per batch, not per tx (per-tx frames cost about
 * as much CPU as the signature checks on a 4-node devnet). Each tx waits at most MEMPOOL_BATCH_MS.
 */
export class MempoolReactor {
  private readonly network: Network;
  private readonly mempool: GossipMempool;
  private readonly log: Logger;
  private readonly batchMs: number;
  /**
   * Peer txs being checked, by hash, with the peers that sent them. On a mesh the same tx comes from several peers
   * within milliseconds: copies arriving during the check are not checked again (the mempool's duplicate check only
   * sees admitted txs), and the tx is not relayed back to any of them.
   */
  private readonly inFlight = new Map<string, Set<string>>();
  /** Per peer, txs waiting for the next batch. */
  private readonly outbox = new Map<string, { txs: Uint8Array[]; bytes: number }>();
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(opts: { network: Network; mempool: GossipMempool; logger: Logger; batchMs?: number }) {
    this.network = opts.network;
    this.mempool = opts.mempool;
    this.log = opts.logger;
    this.batchMs = opts.batchMs ?? MEMPOOL_BATCH_MS;
    this.unsubscribe = this.mempool.onAdded((tx, hash) => this.relay(tx, toHex(hash)));
    this.network.onMessage('mempool', (peer, bytes) => this.receive(peer, bytes));
    this.network.onPeer((event, peer) => {
      if (event === 'disconnected') this.outbox.delete(peer);
    });
  }

  private relay(tx: Uint8Array, key: string): void {
    if (this.closed) return;
    const senders = this.inFlight.get(key);
    for (const p of this.network.peers()) if (senders === undefined || !senders.has(p.id)) this.queue(p.id, tx);
  }

  private queue(peer: string, tx: Uint8Array): void {
    let box = this.outbox.get(peer);
    if (box === undefined) this.outbox.set(peer, (box = { txs: [], bytes: 0 }));
    box.txs.push(tx);
    box.bytes += tx.length + 4;
    if (box.bytes >= MEMPOOL_BATCH_BYTES) this.flushPeer(peer, box);
    else this.flushTimer ??= setTimeout(() => this.flush(), this.batchMs);
  }

  private flushPeer(peer: string, box: { txs: Uint8Array[]; bytes: number }): void {
    this.outbox.delete(peer);
    this.network.send(peer, 'mempool', TxBatchCodec.encode({ txs: box.txs }));
  }

  /** Sends every waiting batch now. */
  flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const [peer, box] of this.outbox) this.flushPeer(peer, box);
  }

  private receive(peer: string, bytes: Uint8Array): void {
    if (this.closed) return;
    let txs: Uint8Array[];
    try {
      txs = TxBatchCodec.decode(bytes).txs;
    } catch (err) {
      this.network.penalize(peer, `undecodable tx batch: ${(err as Error).message}`, PENALTY.undecodableBatch);
      return;
    }
    for (const tx of txs) this.receiveTx(peer, tx);
  }

  private receiveTx(peer: string, tx: Uint8Array): void {
    const hash = sha256(tx);
    if (this.mempool.has(hash)) return;
    const key = toHex(hash);
    const senders = this.inFlight.get(key);
    if (senders !== undefined) {
      if (senders.size < MAX_SENDERS) senders.add(peer);
      return;
    }
    if (this.inFlight.size >= MAX_IN_FLIGHT) return; // overloaded: peers hold the tx, it is not lost
    this.inFlight.set(key, new Set([peer]));
    this.mempool
      .checkTx(tx)
      .then((r) => {
        if (r.code !== 0 && FAULTY_TX_CODES.has(r.code)) this.network.penalize(peer, `invalid tx: ${r.log}`, PENALTY.badTx);
      })
      .catch((err: unknown) => this.log.error({ err, peer }, 'mempool check of a peer tx failed'))
      .finally(() => this.inFlight.delete(key));
  }

  close(): void {
    this.closed = true;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.outbox.clear();
    this.unsubscribe();
  }
}

// ---------------------------------------------------------------- evidence

/** What the evidence reactor needs of the host (ConsensusHost has it). */
export interface EvidenceHost {
  addEvidence(ev: Evidence): Promise<EvidenceResult>;
  onEvidence(fn: (ev: Evidence) => void): () => void;
  pendingEvidence(): Evidence[];
}

/** Pieces of evidence sent to a newly connected peer, at most. */
export const EVIDENCE_ON_CONNECT = 64;
/** Peer evidence being checked by the host at once, at most; beyond it more is dropped (peers re-send on connect). */
const MAX_EVIDENCE_IN_FLIGHT = 256;
/** Hashes of evidence messages already handled ('added' or 'known'), so copies from other peers cost nothing. */
const MAX_EVIDENCE_SEEN = 10_000;

/**
 * Evidence gossip. Evidence entering the host's pool (found by its vote keeper, or added from a peer) goes to every
 * peer except those it came from; a newly connected peer gets the pool (EVIDENCE_ON_CONNECT pieces at most). Evidence
 * from a peer is decoded (undecodable: penalized) and handed to host.addEvidence, which checks it by the rules for
 * evidence in a proposed block: 'added' relays it (through the pool listener), 'known' and 'ignored' (timing: too
 * old, a height we have not reached) do nothing, invalid evidence costs the sender PENALTY.badEvidence.
 */
export class EvidenceReactor {
  private readonly network: Network;
  private readonly log: Logger;
  private host: EvidenceHost | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Peer evidence being checked, by message hash, with the peers that sent it (never relayed back to them). */
  private readonly inFlight = new Map<string, Set<string>>();
  /** The same, by the evidence object handed to the host (what its pool listener gets back). */
  private readonly senders = new Map<Evidence, Set<string>>();
  private seen = new Set<string>();
  private closed = false;

  constructor(opts: { network: Network; logger: Logger }) {
    this.network = opts.network;
    this.log = opts.logger;
    this.network.onMessage('evidence', (peer, bytes) => this.receive(peer, bytes));
    this.network.onPeer((event, peer) => {
      if (event !== 'connected' || this.host === null || this.closed) return;
      for (const ev of this.host.pendingEvidence().slice(0, EVIDENCE_ON_CONNECT)) this.network.send(peer, 'evidence', EvidenceCodec.encode(ev));
    });
  }

  /** Connects the host (built after the reactor); until then messages on the channel are dropped. */
  attach(host: EvidenceHost): void {
    this.host = host;
    this.unsubscribe = host.onEvidence((ev) => this.relay(ev));
  }

  private relay(ev: Evidence): void {
    if (this.closed) return;
    const from = this.senders.get(ev);
    const bytes = EvidenceCodec.encode(ev);
    for (const p of this.network.peers()) if (from === undefined || !from.has(p.id)) this.network.send(p.id, 'evidence', bytes);
  }

  private receive(peer: string, bytes: Uint8Array): void {
    const host = this.host;
    if (host === null || this.closed) return;
    const key = toHex(sha256(bytes));
    if (this.seen.has(key)) return;
    const pending = this.inFlight.get(key);
    if (pending !== undefined) {
      if (pending.size < MAX_SENDERS) pending.add(peer);
      return;
    }
    let ev: Evidence;
    try {
      ev = EvidenceCodec.decode(bytes);
    } catch (err) {
      this.network.penalize(peer, `undecodable evidence: ${(err as Error).message}`, PENALTY.undecodableEvidence);
      return;
    }
    if (this.inFlight.size >= MAX_EVIDENCE_IN_FLIGHT) return;
    const from = new Set([peer]);
    this.inFlight.set(key, from);
    this.senders.set(ev, from);
    host
      .addEvidence(ev)
      .then((r) => {
        if (r === 'added' || r === 'known') {
          if (this.seen.size >= MAX_EVIDENCE_SEEN) this.seen = new Set();
          this.seen.add(key);
        } else if (r !== 'ignored') {
          // Copies of it that came meanwhile are just as invalid: every sender pays.
          for (const p of from) this.network.penalize(p, `invalid evidence: ${r}`, PENALTY.badEvidence);
        }
      })
      .catch((err: unknown) => this.log.error({ err, peer }, 'checking evidence from a peer failed'))
      .finally(() => {
        this.inFlight.delete(key);
        this.senders.delete(ev);
      });
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.inFlight.clear();
    this.senders.clear();
    this.seen.clear();
    this.host = null;
  }
}
