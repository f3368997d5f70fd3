// The consensus host: the one serial driver that owns time and IO around the pure core (round.ts). Inputs (peer
// messages, our own signed messages, fired timeouts) are queued and handled strictly one at a time, each written to
// the WAL before the core sees it, so interleaved awaits can never reorder consensus steps (CometBFT's receive
// routine; DESIGN.md section 3, principles 2 and 4).
//
// Height lifecycle: start_height -> rounds -> decide -> save the block and its commit -> END_HEIGHT in the WAL ->
// execute and commit the state in one batch -> after timeout_commit, start the next height.
// Crash recovery: a decided block saved but not applied is applied first; then the WAL records after the last
// END_HEIGHT are replayed through the same path (our own messages re-sign idempotently through the signer's guard).
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { compareBytes, equalBytes, toHex } from '../crypto/bytes.ts';
import { verify } from '../crypto/keys.ts';
import { proposalSignBytes, voteSignBytes } from '../codec/signbytes.ts';
import {
  BlockCodec,
  CommitCodec,
  ConsensusMessageCodec,
  EMPTY_BLOCK_ID,
  EvidenceCodec,
  BlockIdFlag,
  TimeoutKindCode,
  ValidatorSetRecordCodec,
  VoteType,
  emptyCommit,
  type Block,
  type BlockID,
  type Commit,
  type ConsensusMessage,
  type Evidence,
  type Proposal,
  type Vote,
} from '../codec/types.ts';
import type { App } from '../state/app.ts';
import type { CommitVote } from '../state/module.ts';
import { allValidators, validators as validatorRecords } from '../state/validators.ts';
import type { ConsensusParams } from '../state/params.ts';
import { consensusParamsToJSON } from '../state/genesis.ts';
import { DEFAULT_MAX_FUTURE_ROUNDS, apply, initialState, type RoundEffect, type RoundInput, type RoundState, type TimeoutKind } from './round.ts';
import { ValidatorSet } from './validator-set.ts';
import { blockIdKey } from './block-id.ts';
import { blockIdOf, checkBlock, makeBlock, resultsHash, verifyCommit, type BlockContext } from './block.ts';
import { MS_NS, verifyDuplicateVoteEvidence } from './evidence.ts';
import { Wal, WalKind, decodeEndHeight, readWal, type WalRecord } from './wal.ts';
import type { PrivValidator } from './signer.ts';
import { failpoint } from './failpoint.ts';
import { prepareRandao } from '../crypto/bls.ts';

/** Time as the host sees it. Injected so that tests and simulations can drive a virtual clock. */
export interface Clock {
  /** Wall-clock time in ns since the epoch (vote timestamps only; blocks take BFT time). May step (NTP, an operator). */
  now(): bigint;
  /** A monotonic reading in ms, for durations: a wall-clock step must not lengthen or skip a timeout. */
  monotonicMs(): number;
  setTimer(ms: number, fn: () => void): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => BigInt(Date.now()) * MS_NS,
  monotonicMs: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** Where our messages go: the p2p consensus channel (issue 5); a single node has none. */
export interface ConsensusNetwork {
  broadcast(msg: ConsensusMessage): void;
}

/** Where block txs come from: the mempool. */
export interface TxSource {
  reap(maxBytes: number): Uint8Array[];
  /** Called after every committed block with its txs, so the source can drop them and re-check the rest. */
  committed(height: bigint, txs: readonly Uint8Array[]): void | Promise<void>;
  /** A block is about to be executed; committed() follows (the mempool holds new admissions until then). */
  lock?(): void;
}

export interface CommittedBlock {
  height: bigint;
  block: Block;
  blockId: BlockID;
  commit: Commit;
}

export interface HostOptions {
  app: App;
  wal: Wal;
  /** Null for a node that follows consensus without voting. */
  privValidator: PrivValidator | null;
  consensusParams: ConsensusParams;
  logger: Logger;
  clock?: Clock;
  network?: ConsensusNetwork;
  txs?: TxSource;
  onCommit?: (c: CommittedBlock) => void;
  /** Consensus hit an error it cannot continue from (a full disk, a corrupt store): the node must stop. */
  onFatal?: (err: Error) => void;
}

/** What became of a block handed over by block sync (applySyncedBlock). */
export type SyncedBlockResult =
  | { status: 'applied'; height: bigint }
  /** Nothing wrong with the block, but not applied: its height is already committed, or consensus is not running. */
  | { status: 'ignored'; reason: string }
  /** The block or its commit does not verify against our chain: the peer that served it is to blame. */
  | { status: 'invalid'; reason: string };

type Job =
  | { kind: 'input'; input: RoundInput; wal: WalRecord | null }
  /** A peer message (or one replayed from the WAL), checked against the height when its turn comes. */
  | { kind: 'message'; msg: ConsensusMessage; replay: boolean }
  /** Starts the height after the committed head, unless it is already running. */
  | { kind: 'start_height' }
  /** A committed block from block sync, verified and applied in turn. */
  | { kind: 'synced_block'; block: Block; bytes: Uint8Array; commit: Commit; done: (r: SyncedBlockResult) => void }
  /** Evidence from a peer (addEvidence), checked and pooled in turn. */
  | { kind: 'evidence'; evidence: Evidence; done: (r: EvidenceResult) => void };

/**
 * What became of evidence handed over by addEvidence: 'added' to the pool (listeners are told, and this node's next
 * proposal carries it); 'known' (in the pool, or committed); 'ignored' when it depends on timing, not on the sender
 * (too old, of a height this node has not reached, a full pool, consensus not running); any other string says why
 * the evidence is invalid, which no honest peer sends.
 */
export type EvidenceResult = 'added' | 'known' | 'ignored' | string;

/** At most this many pieces of evidence wait in the pool; more are ignored (a block takes at most 16 anyway). */
export const MAX_EVIDENCE_POOL = 1000;

const TIMEOUT_KINDS: Record<number, TimeoutKind> = { 1: 'propose', 2: 'prevote', 3: 'precommit' };

/** At most this many next-height messages wait for the height to start; more are dropped (peers re-send). */
const MAX_EARLY_MESSAGES = 1000;

export function encodeValidatorSet(set: ValidatorSet): Uint8Array {
  return ValidatorSetRecordCodec.encode({
    validators: set.validators.map((v) => ({ address: v.address, pubKey: v.pubKey, votingPower: v.power, proposerPriority: v.proposerPriority })),
  });
}

export function decodeValidatorSet(bytes: Uint8Array): ValidatorSet {
  const r = ValidatorSetRecordCodec.decode(bytes);
  return new ValidatorSet(r.validators.map((v) => ({ address: v.address, pubKey: v.pubKey, power: v.votingPower, proposerPriority: v.proposerPriority })));
}

/**
 * Evidence identity: the validator and what it signed twice (the sign bytes of both votes, in a fixed order). Not the
 * whole encoding: nodes stamp the same double vote differently, and unsigned fields (the validator index) could
 * otherwise be varied to count it again.
 */
export function evidenceId(ev: Evidence, chainId: string): Uint8Array {
  const { voteA, voteB } = ev.value;
  const [a, b] = [voteSignBytes(chainId, voteA), voteSignBytes(chainId, voteB)].sort(compareBytes);
  return sha256(voteA.validatorAddress, a, b);
}

export function consensusParamsHash(params: ConsensusParams): Uint8Array {
  return sha256(new TextEncoder().encode(JSON.stringify(consensusParamsToJSON(params))));
}

export class ConsensusHost {
  private readonly app: App;
  private readonly wal: Wal;
  private readonly signer: PrivValidator | null;
  private readonly params: ConsensusParams;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly network: ConsensusNetwork | null;
  private readonly txs: TxSource | null;
  private readonly onCommit: ((c: CommittedBlock) => void) | null;
  private readonly onFatal: ((err: Error) => void) | null;
  private readonly chainId: string;

  private core: RoundState;
  private ctx: BlockContext | null = null;
  /** Blocks of the current height by BlockID key: ours and those that came with proposals. */
  private blocks = new Map<string, { block: Block; bytes: Uint8Array }>();
  /**
   * Our own signed messages of the resumed height, found in the WAL at start-up (key: type/round). Replay re-derives
   * them from the same inputs; they are then re-emitted exactly as signed before, never signed again.
   */
  private walOwn = new Map<string, ConsensusMessage>();
  private evidencePool: Evidence[] = [];
  /** Told of every piece of evidence that enters the pool (see onEvidence). */
  private readonly evidenceListeners = new Set<(ev: Evidence) => void>();
  /** Proposals and votes of the next height that arrived during the commit wait (CometBFT keeps them too). */
  private nextHeight: ConsensusMessage[] = [];
  private readonly queue: Job[] = [];
  private readonly timers = new Set<{ cancel(): void }>();
  private running = false;
  private draining: Promise<void> | null = null;
  private failure: Error | null = null;
  /** Clock time at which the current height started (consensus_state's start_time). */
  private heightStartedAt = 0n;
  /** Block sync says peers are more than one block ahead: new heights wait (see setCatchingUp). */
  private catchingUp = false;
  /** A height start was skipped while catching up; it runs when catching up ends. */
  private startDeferred = false;
  /** Starts the next height timeout_commit after the last synced block (replaced by each one). */
  private resumeTimer: { cancel(): void } | null = null;

  constructor(opts: HostOptions) {
    this.app = opts.app;
    this.wal = opts.wal;
    this.signer = opts.privValidator;
    this.params = opts.consensusParams;
    this.log = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.network = opts.network ?? null;
    this.txs = opts.txs ?? null;
    this.onCommit = opts.onCommit ?? null;
    this.onFatal = opts.onFatal ?? null;
    this.chainId = opts.app.genesis.chainId;
    const t = opts.consensusParams.timeouts;
    this.core = initialState({
      address: opts.privValidator?.address ?? null,
      timeouts: {
        proposeMs: t.propose_ms,
        proposeDeltaMs: t.propose_delta_ms,
        prevoteMs: t.prevote_ms,
        prevoteDeltaMs: t.prevote_delta_ms,
        precommitMs: t.precommit_ms,
        precommitDeltaMs: t.precommit_delta_ms,
      },
    });
  }

  /** The height being decided and the core's round and step, for status and metrics. */
  status(): { height: bigint; round: number; step: string } {
    return { height: this.core.height, round: this.core.round, step: this.core.step };
  }

  /**
   * The core's round state, read-only (the pure core never changes a state once returned), and when the current
   * height started: what the RPC's consensus_state shows.
   */
  roundState(): { state: RoundState; startTime: bigint } {
    return { state: this.core, startTime: this.heightStartedAt };
  }

  /**
   * What this node holds of the height being decided, for re-gossip to peers that missed it: every proposal the core
   * kept (with its block) and every counted vote of every round. Bounded by the validator set (a vote per validator,
   * round and type; MAX_PROPOSALS_PER_ROUND proposals per round, rounds at most DEFAULT_MAX_FUTURE_ROUNDS ahead).
   */
  gossipMessages(): ConsensusMessage[] {
    const out: ConsensusMessage[] = [];
    for (const records of this.core.proposals.values()) {
      for (const r of records) {
        const block = this.blocks.get(blockIdKey(r.proposal.blockId));
        if (block !== undefined) out.push({ type: 'proposal', value: { proposal: r.proposal, block: block.bytes } });
      }
    }
    const votes = this.core.votes;
    const set = this.core.validatorSet;
    if (votes !== null && set !== null) {
      for (const round of votes.rounds()) {
        for (const type of [VoteType.PREVOTE, VoteType.PRECOMMIT] as const) {
          for (const v of set.validators) {
            const vote = votes.voteOf(round, type, v.address);
            if (vote !== undefined) out.push({ type: 'vote', value: vote });
          }
        }
      }
    }
    return out;
  }

  /**
   * Block sync's entry point: a block the network committed, with the commit that finalised it. Queued like every
   * other input, so it never interleaves with a consensus step. In its turn the block is ignored if its height is
   * already committed (or is not the next one); otherwise it is verified against our chain (the commit's signatures
   * by more than 2/3 of the height's validator power, then every header field, the last commit and the evidence as
   * for a proposed block) and committed exactly like a block this node decided: saved with its commit, END_HEIGHT in
   * the WAL, executed and committed in one batch. The core leaves that height without signing anything more for it,
   * and the next height starts timeout_commit later (unless another synced block comes first, or catching up holds it).
   */
  applySyncedBlock(block: Block, bytes: Uint8Array, commit: Commit): Promise<SyncedBlockResult> {
    return new Promise((resolve) => {
      if (!this.running || this.failure !== null) {
        resolve({ status: 'ignored', reason: 'consensus is not running' });
        return;
      }
      this.queue.push({ kind: 'synced_block', block, bytes, commit, done: resolve });
      void this.drain();
    });
  }

  /**
   * Block sync reports whether peers are more than one block ahead and it is applying their blocks. While it is,
   * heights after the current one are not started (the node would only sign for heights that sync then replaces);
   * when it stops, the next height starts if it has not.
   */
  setCatchingUp(catchingUp: boolean): void {
    if (this.catchingUp === catchingUp) return;
    this.catchingUp = catchingUp;
    this.log.info({ height: this.app.head().height.toString() }, catchingUp ? 'catching up: new heights wait for block sync' : 'caught up: consensus resumes');
    if (!catchingUp && this.startDeferred) this.enqueue({ kind: 'start_height' });
  }

  get isCatchingUp(): boolean {
    return this.catchingUp;
  }

  /**
   * Recovers from the store and the WAL, then starts the current height. Everything runs through the queue: the start
   * of the height first, then the replayed records, then whatever peers sent meanwhile.
   */
  async start(): Promise<void> {
    await this.ensureValidatorSets();
    await this.applySavedDecision();
    const head = this.app.head();
    if (this.wal.size === 0) await this.wal.writeEndHeight(head.height);
    const records = await this.recordsSinceHead(head.height);
    const replay = records.flatMap((r) => this.replayJob(r, head.height + 1n));
    this.log.info({ height: (head.height + 1n).toString(), replay: records.length }, 'consensus starting');
    this.running = true;
    this.queue.unshift({ kind: 'start_height' }, ...replay);
    await this.drain();
  }

  /** The WAL records after the last END_HEIGHT marker at or below the committed head (the inputs of head + 1). */
  private async recordsSinceHead(head: bigint): Promise<WalRecord[]> {
    const all = await readWal(this.wal.dir);
    for (let i = all.length - 1; i >= 0; i--) {
      const h = decodeEndHeight(all[i]);
      if (h !== null && h <= head) return all.slice(i + 1);
    }
    throw new AppError('STORE_CORRUPT', `the WAL in ${this.wal.dir} has no END_HEIGHT marker at or below the committed height ${head}; move it aside and restart (the node then resumes from the block store)`);
  }

  /** Stops timers and waits for the input being handled; the WAL and store stay open for their owners to close. */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.settleSyncJobs('consensus stopped');
    this.queue.length = 0;
    await this.draining;
  }

  /**
   * A message from a peer: queued, then verified and checked against the height in turn. Messages that arrive before
   * start() wait in the queue behind the recovery.
   */
  receive(msg: ConsensusMessage): void {
    if (this.failure !== null) return;
    this.queue.push({ kind: 'message', msg, replay: false });
    if (this.running) void this.drain();
  }

  /**
   * Evidence from a peer: queued like every other input, then checked in its turn by the rules for evidence in a
   * proposed block (checkEvidence at the current height). New valid evidence joins the pool, so this node's next
   * proposal carries it, and listeners (onEvidence) are told before the promise resolves.
   */
  addEvidence(evidence: Evidence): Promise<EvidenceResult> {
    return new Promise((resolve) => {
      if (!this.running || this.failure !== null) {
        resolve('ignored');
        return;
      }
      this.queue.push({ kind: 'evidence', evidence, done: resolve });
      void this.drain();
    });
  }

  /**
   * Subscribes to evidence entering the pool: found by this node's vote keeper or added by addEvidence. Called inside
   * the host's job, so a listener must not block; it returns the unsubscribe function.
   */
  onEvidence(fn: (ev: Evidence) => void): () => void {
    this.evidenceListeners.add(fn);
    return () => this.evidenceListeners.delete(fn);
  }

  /** The evidence pool as it stands (not re-checked: some may be committed or too old by now). */
  pendingEvidence(): Evidence[] {
    return [...this.evidencePool];
  }

  // ------------------------------------------------------------------ queue

  private enqueue(job: Job): void {
    if (!this.running) return;
    this.queue.push(job);
    void this.drain();
  }

  /** Runs queued jobs one at a time; a single loop at any moment (jobs queued while it runs join it). */
  private drain(): Promise<void> {
    if (this.draining === null) {
      this.draining = this.runQueue().finally(() => {
        this.draining = null;
        // A job queued between the loop's last check and this callback would otherwise wait for the next one.
        if (this.running && this.queue.length > 0) void this.drain();
      });
    }
    return this.draining;
  }

  private async runQueue(): Promise<void> {
    try {
      while (this.running && this.queue.length > 0) await this.handle(this.queue.shift()!);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.running = false;
    for (const t of this.timers) t.cancel();
    this.settleSyncJobs('consensus stopped');
    this.log.fatal({ err }, 'consensus stopped: cannot continue safely');
    this.onFatal?.(err);
  }

  /** The error that stopped consensus, if any: the node should exit and be restarted by its supervisor. */
  get stopped(): Error | null {
    return this.failure;
  }

  private async handle(job: Job): Promise<void> {
    if (job.kind === 'evidence') {
      let result: EvidenceResult = 'ignored';
      try {
        result = await this.poolEvidence(job.evidence);
      } finally {
        job.done(result);
      }
      return;
    }
    if (job.kind === 'synced_block') {
      let result: SyncedBlockResult = { status: 'ignored', reason: 'consensus stopped' };
      try {
        result = await this.applySynced(job.block, job.bytes, job.commit);
      } finally {
        job.done(result);
      }
      return;
    }
    if (job.kind === 'start_height') {
      // Two starts can be due for one height: the one timeout_commit after this node's own decision of H, and the one
      // after a block that sync applied (H+1) meanwhile. The first starts H+2; the second must not start it again
      // (that would drop the blocks the host holds for the running height while the core keeps their proposals).
      if (this.ctx !== null && this.core.height > this.app.head().height) return; // the next height is already running
      // While block sync catches up, the heights it is about to apply are not started, so this node signs nothing
      // for them. The first height always starts: it may resume from the WAL.
      if (this.catchingUp && this.ctx !== null) {
        this.startDeferred = true;
        this.log.debug({ height: (this.app.head().height + 1n).toString() }, 'height start deferred: block sync is catching up');
        return;
      }
      this.startDeferred = false;
      await this.startHeight();
      // Messages for this height that came while the previous one was finishing.
      const early = this.nextHeight;
      this.nextHeight = [];
      for (const msg of early) await this.handle({ kind: 'message', msg, replay: false });
      return;
    }
    if (job.kind === 'message') {
      if (!job.replay && this.isForNextHeight(job.msg)) {
        if (this.nextHeight.length < MAX_EARLY_MESSAGES) this.nextHeight.push(job.msg);
        return;
      }
      const checked = await this.inputFor(job.msg, job.replay);
      if (typeof checked === 'string') {
        this.log.debug({ reason: checked }, 'message dropped');
        return;
      }
      const wal = job.replay ? null : { kind: WalKind.MESSAGE, payload: ConsensusMessageCodec.encode(checked.log) };
      return this.step(checked.input, wal);
    }
    await this.step(job.input, job.wal);
  }

  private isForNextHeight(msg: ConsensusMessage): boolean {
    const h = msg.type === 'vote' ? msg.value.height : msg.type === 'proposal' ? msg.value.proposal.height : null;
    return h !== null && h === this.core.height + 1n;
  }

  /**
   * Feeds one input to the core and carries out its effects, own messages included, before the next input. The core
   * is pure, so its transition is computed first: an input it ignores (a duplicate, a stale timeout) is not logged,
   * and an accepted one reaches the WAL before any effect happens.
   */
  private async step(input: RoundInput, wal: WalRecord | null): Promise<void> {
    const pending: RoundInput[] = [input];
    let first = true;
    while (pending.length > 0) {
      const t = apply(this.core, pending.shift()!);
      if (t.rejected !== undefined) this.log.debug({ reason: t.rejected }, 'input ignored');
      if (first && wal !== null && t.rejected === undefined) await this.wal.write(wal);
      first = false;
      this.core = t.state;
      for (const effect of t.effects) {
        const next = await this.effect(effect);
        if (next !== null) pending.push(next);
      }
    }
  }

  // ------------------------------------------------------------------ effects

  private async effect(e: RoundEffect): Promise<RoundInput | null> {
    switch (e.tag) {
      case 'get_value':
        return this.buildValue(e.height, e.round);
      case 'publish_proposal':
        return this.publishProposal(e.height, e.round, e.polRound, e.blockId);
      case 'publish_vote':
        return this.publishVote(e.type, e.height, e.round, e.blockId);
      case 'schedule_timeout': {
        const timer = this.clock.setTimer(e.durationMs, () => {
          this.timers.delete(timer);
          const wal: WalRecord = { kind: WalKind.TIMEOUT, payload: ConsensusMessageCodec.encode({ type: 'timeout', value: { kind: TimeoutKindCode[e.kind], height: e.height, round: e.round } }) };
          this.enqueue({ kind: 'input', input: { tag: 'timeout', kind: e.kind, height: e.height, round: e.round }, wal });
        });
        this.timers.add(timer);
        return null;
      }
      case 'decide':
        await this.finalize(e.height, e.round, e.blockId);
        return null;
      case 'evidence': {
        const { voteA, voteB, validatorPower, totalVotingPower } = e.evidence;
        this.log.warn({ validator: toHex(voteA.validatorAddress), height: voteA.height.toString(), round: voteA.round }, 'duplicate vote');
        const ev: Evidence = { type: 'duplicate_vote_evidence', value: { voteA, voteB, validatorPower, totalVotingPower, timestamp: this.ctx!.prevTime } };
        if (!this.inPool(ev) && this.evidencePool.length < MAX_EVIDENCE_POOL) this.pushEvidence(ev);
        return null;
      }
    }
  }

  private inPool(ev: Evidence): boolean {
    const id = toHex(evidenceId(ev, this.chainId));
    return this.evidencePool.some((e) => toHex(evidenceId(e, this.chainId)) === id);
  }

  private pushEvidence(ev: Evidence): void {
    this.evidencePool.push(ev);
    for (const fn of this.evidenceListeners) {
      try {
        fn(ev);
      } catch (err) {
        this.log.error({ err }, 'an evidence listener failed'); // observers never stop consensus
      }
    }
  }

  /** The evidence job: see addEvidence and EvidenceResult. */
  private async poolEvidence(ev: Evidence): Promise<EvidenceResult> {
    if (this.inPool(ev) || (await this.app.store.hasEvidence(evidenceId(ev, this.chainId)))) return 'known';
    // Timing, not the sender's fault: a peer ahead of us, or one that held it long, sends such evidence honestly.
    const current = this.core.height;
    const height = ev.value.voteA.height;
    let ignored: string | null = null;
    if (height > current) ignored = `evidence for height ${height}, above the current height ${current}`;
    else if (current - height > this.params.evidence.max_age_num_blocks) ignored = `evidence for height ${height} is too old`;
    else if (this.evidencePool.length >= MAX_EVIDENCE_POOL) ignored = 'the evidence pool is full';
    if (ignored !== null) {
      this.log.debug({ reason: ignored }, 'evidence ignored');
      return 'ignored';
    }
    const why = await this.checkEvidence([ev], current);
    if (why !== null) {
      this.log.warn({ reason: why }, 'invalid evidence from a peer');
      return why;
    }
    this.log.warn({ validator: toHex(ev.value.voteA.validatorAddress), height: height.toString(), round: ev.value.voteA.round }, 'duplicate vote evidence from a peer');
    this.pushEvidence(ev);
    return 'added';
  }

  /** The pool's evidence that peers will accept: still valid, not too old, not committed; the rest is dropped. */
  private async includableEvidence(): Promise<Evidence[]> {
    const keep: Evidence[] = [];
    for (const ev of this.evidencePool) {
      if ((await this.checkEvidence([...keep, ev])) === null) keep.push(ev);
    }
    this.evidencePool = keep;
    return keep.slice(0, 16);
  }

  private async buildValue(height: bigint, round: number): Promise<RoundInput | null> {
    const ctx = this.ctx!;
    const fromWal = this.walOwn.get(`${VoteType.PROPOSAL}/${round}`);
    let built: { block: Block; bytes: Uint8Array; blockId: BlockID };
    if (fromWal?.type === 'proposal') {
      const bytes = fromWal.value.block;
      const block = BlockCodec.decode(bytes);
      built = { block, bytes, blockId: blockIdOf(block.header, bytes) };
    } else {
      const evidence = await this.includableEvidence();
      const overhead = 16 * 1024 + 256 * ctx.validators.size + evidence.reduce((n, e) => n + EvidenceCodec.encode(e).length, 0);
      const txs = this.txs?.reap(Math.max(0, Number(this.params.block.max_bytes) - overhead)) ?? [];
      const reveal = this.signer!.randaoReveal(height);
      built = makeBlock(ctx, this.signer!.address, txs, evidence, reveal);
      while (BigInt(built.bytes.length) > this.params.block.max_bytes && built.block.data.txs.length > 0) {
        built = makeBlock(ctx, this.signer!.address, built.block.data.txs.slice(0, Math.floor(built.block.data.txs.length * 0.9)), evidence, reveal);
      }
    }
    this.blocks.set(blockIdKey(built.blockId), { block: built.block, bytes: built.bytes });
    return { tag: 'proposal_value', height, round, blockId: built.blockId };
  }

  private async publishProposal(height: bigint, round: number, polRound: number, blockId: BlockID): Promise<RoundInput | null> {
    const block = this.blocks.get(blockIdKey(blockId));
    if (block === undefined || this.signer === null) return null;
    const logged = this.walOwn.get(`${VoteType.PROPOSAL}/${round}`);
    let proposal: Proposal | null;
    if (logged?.type === 'proposal' && blockIdKey(logged.value.proposal.blockId) === blockIdKey(blockId)) {
      proposal = logged.value.proposal;
    } else {
      const unsigned: Proposal = { type: VoteType.PROPOSAL, height, round, polRound, blockId, timestamp: this.clock.now(), signature: new Uint8Array(0) };
      proposal = await this.signOrNull(() => this.signer!.signProposal(unsigned));
      if (proposal === null) return null;
    }
    const msg: ConsensusMessage = { type: 'proposal', value: { proposal, block: block.bytes } };
    if (logged === undefined) await this.wal.writeSync({ kind: WalKind.OWN_MESSAGE, payload: ConsensusMessageCodec.encode(msg) });
    this.network?.broadcast(msg);
    return { tag: 'proposal', proposal, from: this.signer.address, valid: true };
  }

  private async publishVote(type: 1 | 2, height: bigint, round: number, blockId: BlockID): Promise<RoundInput | null> {
    if (this.signer === null) return null;
    const index = this.core.validatorSet!.indexOf(this.signer.address);
    if (index < 0) return null;
    // CometBFT's vote time: our clock, but always after the previous block, so BFT time keeps increasing.
    const now = this.clock.now();
    const floor = this.ctx!.prevTime + MS_NS;
    const logged = this.walOwn.get(`${type}/${round}`);
    let vote: Vote | null;
    if (logged?.type === 'vote' && blockIdKey(logged.value.blockId) === blockIdKey(blockId)) {
      vote = logged.value;
    } else {
      const unsigned: Vote = { type, height, round, blockId, timestamp: now > floor ? now : floor, validatorAddress: this.signer.address, validatorIndex: index, signature: new Uint8Array(0) };
      vote = await this.signOrNull(() => this.signer!.signVote(unsigned));
      if (vote === null) return null;
    }
    const msg: ConsensusMessage = { type: 'vote', value: vote };
    if (logged === undefined) await this.wal.writeSync({ kind: WalKind.OWN_MESSAGE, payload: ConsensusMessageCodec.encode(msg) });
    if (type === VoteType.PRECOMMIT) failpoint('after_own_vote_wal');
    this.network?.broadcast(msg);
    return { tag: 'vote', vote };
  }

  /** A signer refusal (double-sign guard) means we stay silent for that step: safe, and logged loudly. */
  private async signOrNull<T>(sign: () => Promise<T>): Promise<T | null> {
    try {
      return await sign();
    } catch (err) {
      if (err instanceof AppError && err.code === 'BAD_KEY') {
        this.log.error({ err: err.message }, 'signer refused');
        return null;
      }
      throw err;
    }
  }

  // ------------------------------------------------------------------ peer messages and WAL replay

  /**
   * Turns a consensus message into a core input: the signature is checked against the validator set of the height
   * (not again on replay: the WAL holds only what passed), and a proposal's block against the height's context.
   * Returns the input and what to log for it in the WAL, or the reason when the message is for another height or
   * does not check out.
   */
  private async inputFor(msg: ConsensusMessage, replay: boolean): Promise<{ input: RoundInput; log: ConsensusMessage } | string> {
    if (msg.type === 'timeout') {
      // Only our own clock fires timeouts; the network may carry this message type but never decides it.
      if (!replay) return 'a timeout from the network';
      return { input: { tag: 'timeout', kind: TIMEOUT_KINDS[msg.value.kind], height: msg.value.height, round: msg.value.round }, log: msg };
    }
    const set = this.core.validatorSet;
    if (set === null || this.ctx === null) return 'no height started';
    if (msg.type === 'vote') {
      const v = msg.value;
      if (v.height !== this.core.height) return `vote for height ${v.height}, we are at ${this.core.height}`;
      const val = set.byIndex(v.validatorIndex);
      if (val === undefined || !equalBytes(val.address, v.validatorAddress)) return 'vote from an unknown validator or with a wrong index';
      if (!replay && !verify(v.signature, voteSignBytes(this.chainId, v), val.pubKey)) return 'vote signature does not verify';
      return { input: { tag: 'vote', vote: v }, log: msg };
    }
    const { proposal, block: bytes } = msg.value;
    if (proposal.height !== this.core.height) return `proposal for height ${proposal.height}, we are at ${this.core.height}`;
    // Finding a round's proposer costs time in the round number: bound it before any work.
    if (proposal.round > this.core.round + DEFAULT_MAX_FUTURE_ROUNDS) return `proposal for round ${proposal.round}, too far ahead of ${this.core.round}`;
    const proposer = set.proposerAt(proposal.round);
    if (!replay && !verify(proposal.signature, proposalSignBytes(this.chainId, proposal), proposer.pubKey)) return 'proposal signature does not verify';
    // A block must be the one the proposal names before it is judged: anyone can re-send a signed proposal with other
    // bytes, and judging those would poison the proposal for everyone (the core keeps one verdict per block id).
    if (BigInt(bytes.length) > this.params.block.max_bytes) return `proposed block is ${bytes.length} bytes, over block.max_bytes`;
    let block: Block;
    try {
      block = BlockCodec.decode(bytes);
    } catch (err) {
      return `undecodable proposed block: ${(err as Error).message}`;
    }
    const id = blockIdOf(block.header, bytes);
    if (blockIdKey(id) !== blockIdKey(proposal.blockId)) return 'the block does not match the proposal';
    const why = checkBlock(this.ctx, block, proposer.address) ?? (await this.checkEvidence(block.evidence));
    if (why === null) this.blocks.set(blockIdKey(id), { block, bytes });
    else this.log.warn({ reason: why, round: proposal.round }, 'invalid proposed block');
    return { input: { tag: 'proposal', proposal, from: proposer.address, valid: why === null }, log: msg };
  }

  /** Every piece of evidence in a proposed block must verify against its height's set and be new to the chain. */
  private async checkEvidence(evidence: readonly Evidence[], currentHeight: bigint = this.core.height): Promise<string | null> {
    const seen = new Set<string>();
    let bytes = 0;
    for (const ev of evidence) {
      const id = toHex(evidenceId(ev, this.chainId));
      if (seen.has(id)) return 'evidence: the same double vote appears twice in the block';
      seen.add(id);
      bytes += EvidenceCodec.encode(ev).length;
      if (BigInt(bytes) > this.params.evidence.max_bytes) return `evidence: more than ${this.params.evidence.max_bytes} bytes of it`;
      const height = ev.value.voteA.height;
      const set = await this.app.store.getValidatorSet(height);
      if (set === undefined) return `evidence for height ${height}, whose validator set is unknown`;
      const why = verifyDuplicateVoteEvidence(ev.value, this.chainId, decodeValidatorSet(set), {
        currentHeight,
        maxAgeBlocks: this.params.evidence.max_age_num_blocks,
      });
      if (why !== null) return `evidence: ${why}`;
      if (await this.app.store.hasEvidence(evidenceId(ev, this.chainId))) return 'evidence already committed';
    }
    return null;
  }

  /** A WAL record of the height being resumed, as a job; our own messages are re-created, not replayed. */
  private replayJob(rec: WalRecord, height: bigint): Job[] {
    if (rec.kind === WalKind.END_HEIGHT) return [];
    let msg: ConsensusMessage;
    try {
      msg = ConsensusMessageCodec.decode(rec.payload);
    } catch {
      return [];
    }
    const msgHeight = msg.type === 'timeout' ? msg.value.height : msg.type === 'vote' ? msg.value.height : msg.value.proposal.height;
    if (msgHeight !== height) return [];
    if (rec.kind === WalKind.OWN_MESSAGE) {
      // Re-derived by the core from the replayed inputs, then re-emitted as logged (see walOwn).
      if (msg.type === 'proposal') this.walOwn.set(`${VoteType.PROPOSAL}/${msg.value.proposal.round}`, msg);
      else if (msg.type === 'vote') this.walOwn.set(`${msg.value.type}/${msg.value.round}`, msg);
      return [];
    }
    return [{ kind: 'message', msg, replay: true }];
  }

  // ------------------------------------------------------------------ heights

  private async startHeight(): Promise<void> {
    const ctx = await this.nextContext();
    this.ctx = ctx;
    this.blocks = new Map();
    this.heightStartedAt = this.clock.now();
    await this.step({ tag: 'start_height', height: ctx.height, validatorSet: ctx.validators }, null); // derived from the store: not logged
  }

  /** The context of the block after the committed head, derived from the store. */
  private async nextContext(): Promise<BlockContext> {
    const head = this.app.head();
    const height = head.height + 1n;
    const initial = this.app.genesis.initialHeight;
    const isFirst = height === initial;
    const validators = await this.validatorSetAt(height);
    const nextValidators = await this.validatorSetAt(height + 1n);
    let lastCommit = emptyCommit();
    let lastBlockId = EMPTY_BLOCK_ID;
    let lastValidators: ValidatorSet | undefined;
    let lastResults = resultsHash([]);
    if (!isFirst) {
      const commitBytes = await this.app.store.getCommit(head.height);
      if (commitBytes === undefined) throw new AppError('STORE_CORRUPT', `the commit of height ${head.height} is missing from the store`);
      lastCommit = CommitCodec.decode(commitBytes);
      lastBlockId = lastCommit.blockId;
      lastValidators = await this.validatorSetAt(head.height);
      const results = await this.app.store.getResults(head.height);
      lastResults = resultsHash(results?.txResults ?? []);
    }
    // Each proposer's BLS key, from the committed state (keys never change once set): reveals are checked against them.
    const blsKeys = new Map<string, Uint8Array>();
    for (const v of validators.validators) {
      const record = await validatorRecords.get(this.app.store, v.address);
      if (record !== undefined && record.blsPubKey.length > 0) blsKeys.set(toHex(v.address), record.blsPubKey);
    }
    return {
      chainId: this.chainId,
      height,
      prevTime: head.time,
      isFirst,
      lastBlockId,
      lastCommit,
      lastValidators,
      validators,
      nextValidators,
      consensusHash: consensusParamsHash(this.params),
      appHash: head.appHash,
      lastResultsHash: lastResults,
      blsKeys,
    };
  }

  private async finalize(height: bigint, round: number, blockId: BlockID): Promise<void> {
    const entry = this.blocks.get(blockIdKey(blockId));
    if (entry === undefined) throw new AppError('INTERNAL', `decided block ${toHex(blockId.hash)} of height ${height} is not known to this node`);
    const commit = this.core.votes!.buildCommit(round, blockId);
    if (commit === null) throw new AppError('INTERNAL', `no precommit quorum to build the commit of height ${height}`);
    const hash = blockId.hash;
    const decidedAt = this.clock.monotonicMs();
    await this.app.store.saveDecidedBlock(height, { bytes: entry.bytes, hash }, CommitCodec.encode(commit));
    failpoint('after_decided_saved');
    await this.wal.writeEndHeight(height);
    failpoint('after_end_height');
    this.walOwn.clear();
    await this.applyBlock(height, entry.block, entry.bytes, blockId, commit);
    failpoint('after_block_committed');
    // As CometBFT: the next height starts timeout_commit after the decision, not after the execution, so a block that
    // takes long to execute does not lengthen the interval by the whole timeout as well.
    const elapsedMs = this.clock.monotonicMs() - decidedAt;
    const delay = Math.max(0, Number(this.params.timeouts.commit_ms) - elapsedMs);
    const timer = this.clock.setTimer(delay, () => {
      this.timers.delete(timer);
      this.enqueue({ kind: 'start_height' });
    });
    this.timers.add(timer);
    // After the timer is set (its delay counts from the decision): the start of the next height queues behind this.
    await this.prepareReveals(height + 1n);
  }

  /**
   * BLS work for the next height's beacon reveal, done in the commit wait (the next height's timer already runs): the
   * message point every validator needs to verify the reveal, and the reveal itself when this node proposes round 0.
   * Keeps ~10-20 ms of BLS work off the proposal's critical path.
   */
  private async prepareReveals(height: bigint): Promise<void> {
    prepareRandao(this.chainId, height);
    if (this.signer === null) return;
    const set = await this.validatorSetAt(height);
    if (equalBytes(set.proposerAt(0).address, this.signer.address)) this.signer.randaoReveal(height);
  }

  /** Executes a decided block and commits it with the validator set of height + 2, in one batch. */
  private async applyBlock(height: bigint, block: Block, bytes: Uint8Array, blockId: BlockID, commit: Commit): Promise<void> {
    const started = this.clock.monotonicMs();
    this.txs?.lock?.();
    const lastCommit = height === this.app.genesis.initialHeight ? [] : commitVotes(block.lastCommit, await this.validatorSetAt(height - 1n));
    const input = {
      chainId: this.chainId,
      height,
      time: block.header.time,
      proposer: block.header.proposerAddress,
      txs: block.data.txs,
      evidence: block.evidence,
      lastCommit,
      randaoReveal: block.randaoReveal,
    };
    const out = await this.app.execute(input);
    const next = await this.validatorSetAt(height + 1n);
    const changes = out.validatorUpdates.map((u) => ({ pubKey: u.pubKey, power: u.power }));
    const afterNext = next.updateWithChanges(changes).incrementProposerPriority(1);
    await this.app.commit(input, out, {
      block: { bytes, hash: blockId.hash },
      commit: CommitCodec.encode(commit),
      txHashes: block.data.txs.map((tx) => sha256(tx)),
      validatorSets: [{ height: height + 2n, bytes: encodeValidatorSet(afterNext) }],
      evidenceHashes: block.evidence.map((e) => evidenceId(e, this.chainId)),
    });
    const included = new Set(block.evidence.map((e) => toHex(evidenceId(e, this.chainId))));
    this.evidencePool = this.evidencePool.filter((e) => !included.has(toHex(evidenceId(e, this.chainId))));
    await this.txs?.committed(height, block.data.txs);
    this.log.info(
      { height: height.toString(), round: commit.round, hash: toHex(blockId.hash), txs: block.data.txs.length, app_hash: toHex(out.appHash), ms: Math.round(this.clock.monotonicMs() - started) },
      'committed block',
    );
    try {
      this.onCommit?.({ height, block, blockId, commit });
    } catch (err) {
      this.log.error({ err }, 'a commit subscriber failed'); // observers never stop consensus
    }
  }

  /** The synced_block job: see applySyncedBlock. */
  private async applySynced(block: Block, bytes: Uint8Array, commit: Commit): Promise<SyncedBlockResult> {
    const head = this.app.head();
    const height = block.header.height;
    if (height <= head.height) return { status: 'ignored', reason: `height ${height} is already committed` };
    if (height !== head.height + 1n) return { status: 'ignored', reason: `height ${height} is not the next one (${head.height + 1n})` };
    const checked = await this.checkSyncedBlock(block, bytes, commit);
    if (typeof checked === 'string') {
      this.log.warn({ height: height.toString(), reason: checked }, 'synced block rejected');
      return { status: 'invalid', reason: checked };
    }
    const blockId = checked;
    // The network decided this height: the core leaves it as after its own decision (Alg.1 L49-54, step commit), so
    // no timer or late message can make it sign anything more for it.
    if (this.core.height === height) this.core = { ...this.core, step: 'commit', decision: { round: commit.round, blockId }, awaitingValue: false };
    // Same discipline as finalize: the block and its commit saved, END_HEIGHT, then execution in one batch.
    await this.app.store.saveDecidedBlock(height, { bytes, hash: blockId.hash }, CommitCodec.encode(commit));
    await this.wal.writeEndHeight(height);
    this.walOwn.clear();
    await this.applyBlock(height, block, bytes, blockId, commit);
    // The next height starts timeout_commit after the last synced block, as after a decided one.
    if (this.resumeTimer !== null) {
      this.resumeTimer.cancel();
      this.timers.delete(this.resumeTimer);
    }
    const timer = this.clock.setTimer(Number(this.params.timeouts.commit_ms), () => {
      this.timers.delete(timer);
      if (this.resumeTimer === timer) this.resumeTimer = null;
      this.enqueue({ kind: 'start_height' });
    });
    this.resumeTimer = timer;
    this.timers.add(timer);
    return { status: 'applied', height };
  }

  /**
   * Verifies a synced block for the next height: returns its block id, or why it is not the block the network
   * committed there. The commit goes first: it is what proves the block; the header checks then tie it to our chain.
   */
  private async checkSyncedBlock(block: Block, bytes: Uint8Array, commit: Commit): Promise<BlockID | string> {
    if (BigInt(bytes.length) > this.params.block.max_bytes) return `the block is ${bytes.length} bytes, over block.max_bytes`;
    const ctx = await this.nextContext();
    const blockId = blockIdOf(block.header, bytes);
    const bad = verifyCommit(this.chainId, commit, ctx.validators, ctx.height, blockId);
    if (bad !== null) return `commit ${bad}`;
    // The proposer is whoever proposed it in some round up to the commit's (a valid value is re-proposed unchanged):
    // any validator of the height, as CometBFT checks it.
    const proposer = block.header.proposerAddress;
    if (!ctx.validators.has(proposer)) return `proposer ${toHex(proposer)} is not a validator of height ${ctx.height}`;
    // The reveal is not re-verified: the commit proves validators holding more than 2/3 checked it before prevoting.
    const why = checkBlock(ctx, block, proposer, { verifyReveal: false }) ?? (await this.checkEvidence(block.evidence, ctx.height));
    // A commit by more than 2/3 for a block that does not fit our chain: the peer lies, or (app_hash, results)
    // this node's state differs from the network's. Both are refused; the second one needs an operator.
    if (why !== null) return `block ${why}`;
    return blockId;
  }

  /** Resolves queued sync and evidence jobs that will never run. */
  private settleSyncJobs(reason: string): void {
    for (const job of this.queue) {
      if (job.kind === 'synced_block') job.done({ status: 'ignored', reason });
      else if (job.kind === 'evidence') job.done('ignored');
    }
    this.queue.splice(0, this.queue.length, ...this.queue.filter((j) => j.kind !== 'synced_block' && j.kind !== 'evidence'));
  }

  /** A block saved as decided but not applied (crash between the two) is applied now. */
  private async applySavedDecision(): Promise<void> {
    const head = this.app.head();
    const height = head.height + 1n;
    const bytes = await this.app.store.getBlock(height);
    const commitBytes = await this.app.store.getCommit(height);
    if (bytes === undefined || commitBytes === undefined) return;
    const block = BlockCodec.decode(bytes);
    const commit = CommitCodec.decode(commitBytes);
    this.log.warn({ height: height.toString() }, 'applying a block decided before the crash');
    const logged = (await readWal(this.wal.dir)).some((r) => decodeEndHeight(r) === height);
    if (!logged) await this.wal.writeEndHeight(height);
    await this.applyBlock(height, block, bytes, commit.blockId, commit);
  }

  private async validatorSetAt(height: bigint): Promise<ValidatorSet> {
    const bytes = await this.app.store.getValidatorSet(height);
    if (bytes === undefined) throw new AppError('STORE_CORRUPT', `the validator set of height ${height} is missing from the store`);
    return decodeValidatorSet(bytes);
  }

  /** The sets of the first two heights come from the genesis state (CometBFT: next = genesis set incremented once). */
  private async ensureValidatorSets(): Promise<void> {
    const initial = this.app.genesis.initialHeight;
    if ((await this.app.store.getValidatorSet(initial)) !== undefined) return;
    const records = (await allValidators(this.app.store)).filter((v) => v.power > 0n);
    const set = ValidatorSet.fromPowers(records.map((v) => ({ pubKey: v.pubKey, power: v.power })));
    await this.app.store.putValidatorSets([
      { height: initial, bytes: encodeValidatorSet(set) },
      { height: initial + 1n, bytes: encodeValidatorSet(set.incrementProposerPriority(1)) },
    ]);
  }
}

/** Who of the previous height's set signed its block (the state machine's rewards and downtime tracking read this). */
export function commitVotes(commit: Commit, set: ValidatorSet): CommitVote[] {
  return set.validators.map((v, i) => ({
    address: v.address,
    power: v.power,
    signed: commit.signatures[i]?.blockIdFlag === BlockIdFlag.COMMIT,
  }));
}
