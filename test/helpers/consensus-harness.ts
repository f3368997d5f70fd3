// An in-process consensus host for tests: the host of validator 0 on a real App (LevelDB in a temp dir), a real WAL
// and a real PrivValidator, driven by a virtual clock; the test plays the other validators by hand, signing their
// proposals and votes with their keys and passing them to host.receive(). What the host broadcasts is captured by a
// fake network; its log lines by a capturing pino logger.
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Test } from 'tap';
import { tempDir } from './tmp.ts';
import { App, defaultModules } from '../../src/state/app.ts';
import { buildGenesis, type Genesis } from '../../src/state/genesis.ts';
import type { Module } from '../../src/state/module.ts';
import { ConsensusHost, consensusParamsHash, decodeValidatorSet, type Clock, type CommittedBlock, type ConsensusNetwork } from '../../src/consensus/host.ts';
import { Wal } from '../../src/consensus/wal.ts';
import { PrivValidator } from '../../src/consensus/signer.ts';
import { blockIdOf, makeBlock, resultsHash, type BlockContext } from '../../src/consensus/block.ts';
import { MS_NS } from '../../src/consensus/evidence.ts';
import type { ValidatorSet } from '../../src/consensus/validator-set.ts';
import { equalBlockId } from '../../src/consensus/block-id.ts';
import { proposalSignBytes, voteSignBytes } from '../../src/codec/signbytes.ts';
import {
  BlockCodec,
  CommitCodec,
  ConsensusMessageCodec,
  EMPTY_BLOCK_ID,
  VoteType,
  emptyCommit,
  type BlockID,
  type ConsensusMessage,
  type Evidence,
  type Proposal,
  type Vote,
} from '../../src/codec/types.ts';
import { addressOf, generateKeyPair, sign, type KeyPair } from '../../src/crypto/keys.ts';
import { equalBytes, toHex } from '../../src/crypto/bytes.ts';
import { validators as validatorRecords } from '../../src/state/validators.ts';
import { blsKeyOf, revealOf } from './chain.ts';

export const HOST_CHAIN = 'host-chain';
export const HOST_GENESIS_TIME = 1_764_000_000_000_000_000n;
/**
 * Validator keys from fixed seeds 21..24; keys[0] is the host. With four equal stakes the proposer of round 0 goes
 * round robin: height 1 -> validator 1 (round 1 -> validator 3), height 2 -> 3, height 3 -> 0 (the host), height 4 -> 2.
 */
export const VALIDATOR_KEYS: readonly KeyPair[] = [21, 22, 23, 24].map((n) => generateKeyPair(new Uint8Array(32).fill(n)));

// ---------------------------------------------------------------------------------------------------------------

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/** A clock that moves only when told: tick(ms) fires the due timers in time order (ties: in the order they were set). */
export class VirtualClock implements Clock {
  readonly base: bigint;
  #ms = 0;
  /** Wall-clock steps (step()): move now() only, as NTP or an operator setting the clock would. */
  #wallStepMs = 0;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(base: bigint) {
    this.base = base;
  }

  get elapsedMs(): number {
    return this.#ms;
  }

  now(): bigint {
    return this.base + BigInt(this.#ms + this.#wallStepMs) * MS_NS;
  }

  monotonicMs(): number {
    return this.#ms;
  }

  /** Steps the wall clock by ms (negative: back) without moving monotonic time or any timer. */
  step(ms: number): void {
    this.#wallStepMs += ms;
  }

  setTimer(ms: number, fn: () => void): { cancel(): void } {
    const timer = { at: this.#ms + Math.max(0, ms), seq: this.#seq++, fn, live: true };
    this.#timers.push(timer);
    return { cancel: () => { timer.live = false; } };
  }

  /** Due times (ms since the clock's start) of the timers not yet fired nor cancelled, ascending. */
  pending(): number[] {
    return this.#timers.filter((x) => x.live).map((x) => x.at).sort((a, b) => a - b);
  }

  tick(ms: number): void {
    const target = this.#ms + ms;
    for (;;) {
      this.#timers = this.#timers.filter((x) => x.live);
      let next: Timer | undefined;
      for (const x of this.#timers) if (x.at <= target && (next === undefined || x.at < next.at || (x.at === next.at && x.seq < next.seq))) next = x;
      if (next === undefined) break;
      next.live = false;
      this.#ms = next.at;
      next.fn();
    }
    this.#ms = target;
  }
}

export class FakeNetwork implements ConsensusNetwork {
  readonly sent: ConsensusMessage[] = [];
  broadcast(msg: ConsensusMessage): void {
    this.sent.push(msg);
  }
}

export type LogLine = { level: number; msg: string; [k: string]: unknown };

// ---------------------------------------------------------------------------------------------------------------

export function signVote(key: KeyPair, set: ValidatorSet, v: { type: number; height: bigint; round: number; blockId: BlockID; timestamp: bigint }, chainId = HOST_CHAIN): Vote {
  const address = addressOf(key.publicKey);
  // A key outside the set still signs (to forge evidence); its index is then 0, which is a uint32 like any index.
  const vote: Vote = { ...v, validatorAddress: address, validatorIndex: Math.max(0, set.indexOf(address)), signature: new Uint8Array(0) };
  return { ...vote, signature: sign(voteSignBytes(chainId, vote), key.secretKey) };
}

export function signProposal(key: KeyPair, p: { height: bigint; round: number; polRound?: number; blockId: BlockID; timestamp: bigint }, chainId = HOST_CHAIN): Proposal {
  const proposal: Proposal = { type: VoteType.PROPOSAL, height: p.height, round: p.round, polRound: p.polRound ?? -1, blockId: p.blockId, timestamp: p.timestamp, signature: new Uint8Array(0) };
  return { ...proposal, signature: sign(proposalSignBytes(chainId, proposal), key.secretKey) };
}

export function flipBit(bytes: Uint8Array, index = 0): Uint8Array {
  const c = bytes.slice();
  c[index] ^= 1;
  return c;
}

/** Duplicate-vote evidence: two prevotes of `key` at height/round for two block ids, really signed. */
export function doubleVoteEvidence(key: KeyPair, set: ValidatorSet, height: bigint, round: number, a: BlockID, b: BlockID, timestamp: bigint): Evidence {
  const v1 = signVote(key, set, { type: VoteType.PREVOTE, height, round, blockId: a, timestamp });
  const v2 = signVote(key, set, { type: VoteType.PREVOTE, height, round, blockId: b, timestamp: timestamp + MS_NS });
  const power = set.byAddress(addressOf(key.publicKey))?.power ?? 0n;
  return { type: 'duplicate_vote_evidence', value: { voteA: v1, voteB: v2, validatorPower: power, totalVotingPower: set.totalPower, timestamp } };
}

// ---------------------------------------------------------------------------------------------------------------

export interface HarnessOptions {
  /** Extra state-machine modules after the default ones (e.g. a spy). */
  modules?: Module[];
}

export class Harness {
  readonly genesis: Genesis;
  readonly keys: readonly KeyPair[] = VALIDATOR_KEYS;
  readonly clock = new VirtualClock(HOST_GENESIS_TIME + 10n * 1_000_000_000n);
  readonly net = new FakeNetwork();
  readonly logs: LogLine[] = [];
  readonly committed: CommittedBlock[] = [];
  readonly logger: Logger;
  app!: App;
  wal!: Wal;
  pv!: PrivValidator;
  host!: ConsensusHost;
  fatal: Error | null = null;
  #probe = 0;

  private constructor() {
    this.genesis = buildGenesis({
      chainId: HOST_CHAIN,
      genesisTime: HOST_GENESIS_TIME,
      validators: this.keys.map((k, i) => ({ name: `v${i}`, publicKey: k.publicKey, blsPubKey: blsKeyOf(k) })),
    });
    this.logger = pino({ level: 'debug' }, { write: (line: string) => { this.logs.push(JSON.parse(line) as LogLine); } });
  }

  /** Opens everything in a temp dir (removed in t.teardown) and starts the host at height 1. */
  static async start(t: Test, opts: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness();
    const dir = tempDir('ac-host-');
    t.teardown(async () => {
      await h.host?.stop();
      await h.wal?.close();
      await h.app?.close();
      dir.remove();
    });
    h.app = await App.open(join(dir.path, 'state'), h.genesis, { modules: [...defaultModules(), ...(opts.modules ?? [])] });
    h.wal = await Wal.open(join(dir.path, 'cs.wal'));
    h.pv = await PrivValidator.load(h.keys[0], join(dir.path, 'priv_validator_state.json'), HOST_CHAIN);
    h.host = new ConsensusHost({
      app: h.app,
      wal: h.wal,
      privValidator: h.pv,
      consensusParams: h.genesis.consensusParams,
      logger: h.logger,
      clock: h.clock,
      network: h.net,
      onCommit: (c) => h.committed.push(c),
      onFatal: (err) => { h.fatal = err; },
    });
    await h.host.start();
    return h;
  }

  get hostAddress(): Uint8Array {
    return this.pv.address;
  }

  get commitMs(): number {
    return Number(this.genesis.consensusParams.timeouts.commit_ms);
  }

  get proposeMs(): number {
    return Number(this.genesis.consensusParams.timeouts.propose_ms);
  }

  keyOf(address: Uint8Array): KeyPair {
    const k = this.keys.find((x) => equalBytes(addressOf(x.publicKey), address));
    if (k === undefined) throw new Error(`no key for ${toHex(address)}`);
    return k;
  }

  /** The beacon reveal the validator with this address signs for `height` (what its block must carry). */
  reveal(address: Uint8Array, height: bigint, chainId = HOST_CHAIN): Uint8Array {
    return revealOf(this.keyOf(address), height, chainId);
  }

  /** The validator set of a height, as the store holds it. */
  async setAt(height: bigint): Promise<ValidatorSet> {
    const bytes = await this.app.store.getValidatorSet(height);
    if (bytes === undefined) throw new Error(`no validator set stored for height ${height}`);
    return decodeValidatorSet(bytes);
  }

  /** The block context of `height` (the next one), derived here from the stored chain, not taken from the host. */
  async context(height: bigint): Promise<BlockContext> {
    const head = this.app.head();
    if (head.height !== height - 1n) throw new Error(`context(${height}) asked with the store at ${head.height}`);
    const validators = await this.setAt(height);
    const blsKeys = new Map<string, Uint8Array>();
    for (const v of validators.validators) {
      const record = await validatorRecords.get(this.app.store, v.address);
      if (record !== undefined) blsKeys.set(toHex(v.address), record.blsPubKey);
    }
    const common = {
      chainId: HOST_CHAIN,
      height,
      blsKeys,
      validators,
      nextValidators: await this.setAt(height + 1n),
      consensusHash: consensusParamsHash(this.genesis.consensusParams),
      appHash: head.appHash,
    };
    if (height === this.genesis.initialHeight) {
      return { ...common, prevTime: this.genesis.genesisTime, isFirst: true, lastBlockId: EMPTY_BLOCK_ID, lastCommit: emptyCommit(), lastValidators: undefined, lastResultsHash: resultsHash([]) };
    }
    const prevBytes = (await this.app.store.getBlock(height - 1n))!;
    const prev = BlockCodec.decode(prevBytes);
    const results = await this.app.store.getResults(height - 1n);
    return {
      ...common,
      prevTime: prev.header.time,
      isFirst: false,
      lastBlockId: blockIdOf(prev.header, prevBytes),
      lastCommit: CommitCodec.decode((await this.app.store.getCommit(height - 1n))!),
      lastValidators: await this.setAt(height - 1n),
      lastResultsHash: resultsHash(results?.txResults ?? []),
    };
  }

  /** Passes a message to the host as a peer would deliver it: through the wire codec. */
  receive(msg: ConsensusMessage): void {
    this.host.receive(ConsensusMessageCodec.decode(ConsensusMessageCodec.encode(msg)));
  }

  async vote(key: KeyPair, type: number, height: bigint, round: number, blockId: BlockID): Promise<Vote> {
    return signVote(key, await this.setAt(height), { type, height, round, blockId, timestamp: this.clock.now() });
  }

  /** Signed votes of every validator but the host, in key order. */
  async othersVote(type: number, height: bigint, round: number, blockId: BlockID, except: KeyPair[] = []): Promise<void> {
    for (const k of this.keys.slice(1)) {
      if (except.includes(k)) continue;
      this.receive({ type: 'vote', value: await this.vote(k, type, height, round, blockId) });
    }
  }

  proposalMsg(key: KeyPair, height: bigint, round: number, built: { blockId: BlockID; bytes: Uint8Array }, chainId = HOST_CHAIN): ConsensusMessage {
    const proposal = signProposal(key, { height, round, blockId: built.blockId, timestamp: this.clock.now() }, chainId);
    return { type: 'proposal', value: { proposal, block: built.bytes } };
  }

  /** Polls `fn` until it returns something other than undefined/false; real-time limit `ms`. */
  async until<T>(what: string, fn: () => T | undefined | false, ms = 5000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.fatal !== null) throw new Error(`consensus stopped while waiting for ${what}: ${this.fatal.message}`);
      const v = fn();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /**
   * Waits until the host has handled everything queued so far: the host handles inputs strictly in order, so once a
   * probe (a vote for a far height) sent now has been dropped, every earlier input has been handled.
   */
  async settle(): Promise<void> {
    const height = 1_000_000_000n + BigInt(++this.#probe);
    const k = this.keys[1];
    const probe: Vote = { type: VoteType.PREVOTE, height, round: 0, blockId: EMPTY_BLOCK_ID, timestamp: this.clock.now(), validatorAddress: addressOf(k.publicKey), validatorIndex: 0, signature: new Uint8Array(64) };
    this.receive({ type: 'vote', value: probe });
    await this.until(`probe ${height} to be handled`, () => this.logs.some((l) => l.msg === 'message dropped' && String(l.reason).startsWith(`vote for height ${height},`)));
  }

  /** The vote the host broadcast at height/round of that type, if any. */
  hostVote(type: number, height: bigint, round: number): Vote | undefined {
    for (const m of this.net.sent) {
      if (m.type === 'vote' && m.value.type === type && m.value.height === height && m.value.round === round) return m.value;
    }
    return undefined;
  }

  waitHostVote(type: number, height: bigint, round: number): Promise<Vote> {
    const name = type === VoteType.PREVOTE ? 'prevote' : 'precommit';
    return this.until(`the host's ${name} at ${height}/${round}`, () => this.hostVote(type, height, round));
  }

  hostProposal(height: bigint, round: number): { proposal: Proposal; block: Uint8Array } | undefined {
    for (const m of this.net.sent) if (m.type === 'proposal' && m.value.proposal.height === height && m.value.proposal.round === round) return m.value;
    return undefined;
  }

  /** Log lines with this message (and, if given, a reason matching `reason`). */
  logged(msg: string, reason?: RegExp): LogLine[] {
    return this.logs.filter((l) => l.msg === msg && (reason === undefined || reason.test(String(l.reason ?? l.err ?? ''))));
  }

  /** Moves the virtual clock past timeout_commit and waits for the host to start the next height. */
  async nextHeight(): Promise<bigint> {
    const next = this.app.head().height + 1n;
    this.clock.tick(this.commitMs);
    await this.until(`height ${next} to start`, () => this.host.status().height === next);
    return next;
  }

  /**
   * Plays round 0 of the current height to a commit: the round's proposer proposes (the host, or the test on behalf
   * of another validator, with `txs`), everybody prevotes and precommits the block. Returns the committed block.
   */
  async playHeight(opts: { txs?: Uint8Array[]; evidence?: Evidence[]; beforePrecommits?: (blockId: BlockID) => Promise<void> } = {}): Promise<CommittedBlock> {
    const height = this.host.status().height;
    const set = await this.setAt(height);
    const proposer = set.proposerAt(0);
    let blockId: BlockID;
    if (equalBytes(proposer.address, this.hostAddress)) {
      const p = await this.until(`the host's proposal at ${height}/0`, () => this.hostProposal(height, 0));
      blockId = p.proposal.blockId;
    } else {
      const built = makeBlock(await this.context(height), proposer.address, opts.txs ?? [], opts.evidence ?? [], this.reveal(proposer.address, height));
      blockId = built.blockId;
      this.receive(this.proposalMsg(this.keyOf(proposer.address), height, 0, built));
    }
    const prevote = await this.waitHostVote(VoteType.PREVOTE, height, 0);
    if (!equalBlockId(prevote.blockId, blockId)) throw new Error(`height ${height}: the host prevoted ${toHex(prevote.blockId.hash) || 'nil'}, not the proposed block`);
    await this.othersVote(VoteType.PREVOTE, height, 0, blockId);
    const precommit = await this.waitHostVote(VoteType.PRECOMMIT, height, 0);
    if (!equalBlockId(precommit.blockId, blockId)) throw new Error(`height ${height}: the host precommitted another value`);
    await opts.beforePrecommits?.(blockId);
    await this.othersVote(VoteType.PRECOMMIT, height, 0, blockId);
    return this.until(`height ${height} to be committed`, () => this.committed.find((c) => c.height === height));
  }
}
