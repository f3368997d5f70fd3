// Deterministic multi-node simulation of the consensus core (DESIGN.md section 3, principle 3).
//
// N in-process validators, each a pure round core (round.ts) driven by a small host of its own, on one virtual clock
// and one seeded PRNG (prng.ts), over an in-memory network that delays, drops, duplicates, reorders and partitions.
// Nothing reads the wall clock or Math.random: a run is a function of its options, so a failing seed replays exactly.
//
// The host of a node, per core effect:
//   get_value         makes a value: BlockID{hash = sha256(height, round, proposer index, a PRNG draw),
//                     part set header {total 1, hash = sha256(hash)}} and feeds proposal_value at once;
//   publish_proposal  builds the Proposal (timestamp = virtual now in ns, 64 dummy signature bytes: the core does not
//   publish_vote      verify), sends it to every other node and feeds it to itself at once;
//   schedule_timeout  registers a virtual timer that feeds the timeout input;
//   decide            records the decision; after commitMs starts the next height with the validator set advanced by
//                     incrementProposerPriority(1) (the same set on every node);
//   evidence          records it.
// Every proposal is judged valid (valid = true).
//
// Messages for the height after the node's current one are buffered and fed when that height starts (the p2p layer is
// expected to do the same; CometBFT instead drops them and relies on its gossip). Votes for a past height go to the
// vote keeper the node kept for that height, so an equivocation is still caught after the node moved on.
//
// Gossip. Besides the direct broadcast, every node (a byzantine one too, unless silent) runs a gossip tick every
// gossipMs (uniform in the range, drawn each time). For each peer it can reach, it sends what the peer lacks among the
// proposals and votes it holds (its own and others', received) of the peer's height and the one below it, plus one
// older height in rotation (anti-entropy for late evidence), counting only messages created more than latencyMs max
// ago (a direct copy would have arrived by then unless it was lost). "What the peer lacks" is read from the peer's
// received-message view, which stands for the have/want exchange of a real gossip layer (CometBFT's peer round state
// and vote bit arrays, here keyed by block id too, so that a conflicting vote is passed on). This gives the liveness a
// real network has under loss, lets a node that fell behind catch up (it receives the proposal and the precommits of
// its height), and carries both halves of a split double vote to a node that can see the conflict. A byzantine node
// re-sends its own messages to each peer as it first sent them (it never reveals its own equivocation).
//
// Byzantine behaviours, as middleware over a byzantine node's effects and messages (the node runs an ordinary core):
//   equivocating_proposer  when proposer, sends its value to one half of the other nodes and a second value to the rest
//   double_voter           every vote it casts goes to one half of the peers; the other half gets a conflicting vote
//                          (for a value: nil or a made-up value; for nil: a proposal value of that round if it knows
//                          one, else a made-up value)
//   silent                 sends and processes nothing (a crashed validator)
//   nil_voter              every prevote and precommit is for nil
//   fork                   (negative control, not in the default set) colluding byzantine nodes split the honest nodes
//                          in two groups; when one of them proposes, group 0 gets value A and group 1 value B, and all
//                          of them prevote and precommit A to group 0 and B to group 1 in that round (nil in rounds of
//                          honest proposers). With more than f of them this forks the chain, which the checker must see.
//
// Partitions (partition: true): one or two episodes, each starting at a random time in the first part of the run and
// lasting 1-5 s, split the nodes in two random non-empty groups that cannot exchange messages (a message is dropped
// when it is sent or when it would arrive across the cut); then the network heals.
//
// Results: see RunResult. Finality of a height = from the first honest node entering the height (start_height) to
// the last honest node deciding it, in virtual ms. A run ends when every honest node decided `heights` heights and
// every delivered double vote has evidence (or drainMs after the last decision and the last heal, for the evidence
// check); it fails liveness when the honest nodes have not all decided `heights` heights by timeLimitMs.
import { EMPTY_BLOCK_ID, VoteType, type BlockID, type Proposal, type Vote } from '../../codec/types.ts';
import { sha256 } from '../../crypto/hash.ts';
import { defaultConsensusParams } from '../../state/params.ts';
import { blockIdKey } from '../block-id.ts';
import { apply, initialState, type RoundEffect, type RoundInput, type RoundState, type TimeoutConfig } from '../round.ts';
import { ValidatorSet } from '../validator-set.ts';
import type { Equivocation, VoteKeeper } from '../vote-keeper.ts';
import { Checker } from './checker.ts';
import { EventQueue } from './queue.ts';
import { Rng } from './prng.ts';

export type Behaviour = 'equivocating_proposer' | 'double_voter' | 'silent' | 'nil_voter' | 'fork';

/** The behaviours a run cycles through by default (fork is a negative control, never a default). */
export const DEFAULT_BEHAVIOURS: readonly Behaviour[] = ['equivocating_proposer', 'double_voter', 'silent', 'nil_voter'];
export const ALL_BEHAVIOURS: readonly Behaviour[] = [...DEFAULT_BEHAVIOURS, 'fork'];

export interface SimOptions {
  /** Number of validators (equal voting power). */
  validators: number;
  /** How many of them are byzantine; at most floor((validators - 1) / 3) unless allowExcessByzantine. */
  byzantine: number;
  /**
   * Behaviour of byzantine node k: behaviours[k % length]. Default: the four of DEFAULT_BEHAVIOURS, starting at
   * (seed + k) % 4, so that consecutive seeds exercise all of them.
   */
  behaviours?: readonly Behaviour[];
  /** An integer in [0, 2^32). */
  seed: number;
  /** Heights every honest node must decide. */
  heights: number;
  /** One-way message latency, uniform in [min, max] ms. */
  latencyMs: readonly [number, number];
  /** Probability that a message is lost, in [0, 1). */
  drop: number;
  /** Probability that a message is delivered twice, in [0, 1). Default 0. */
  duplicate?: number;
  /** Whether to schedule network partitions. */
  partition: boolean;
  /** Round timeouts. Default: the genesis defaults, defaultConsensusParams().timeouts. */
  timeouts?: TimeoutConfig;
  /** Pause between a decision and the next height, in ms. Default 100. */
  commitMs?: number;
  /** Gossip period range in ms. Default [200, 500]. */
  gossipMs?: readonly [number, number];
  /** Virtual time limit in ms. Default heights x 60,000. */
  timeLimitMs?: number;
  /** How long to keep running for evidence after the last decision and the last heal. Default 10,000 ms. */
  drainMs?: number;
  /** Allow more than f byzantine nodes (negative controls only: safety is then not guaranteed). */
  allowExcessByzantine?: boolean;
  /** Receives one line per notable event (start, decision, partition, evidence, violation), for replays. */
  trace?: (line: string) => void;
}

export interface RunResult {
  seed: number;
  /** Heights decided by every honest node (the minimum over honest nodes). */
  heightsDecided: number;
  safetyViolations: string[];
  /** Null, or why the run is a liveness failure. */
  livenessFailure: string | null;
  /** Delivered double votes without evidence (see checker.ts). */
  evidenceMissing: string[];
  /** Finality of each height decided by all honest nodes, in virtual ms. */
  finalityMs: number[];
  evidenceFound: number;
  doubleVotesDelivered: number;
  /** Virtual time at the end of the run, ms. */
  virtualMs: number;
  /** Events processed. */
  events: number;
  /** The highest round any honest node reached. */
  maxRound: number;
  byzantineNodes: { index: number; behaviour: Behaviour }[];
  partitions: { fromMs: number; toMs: number; groups: number[][] }[];
  messages: { sent: number; delivered: number; dropped: number; duplicates: number };
}

/** A run failed: safety or validity violated, liveness lost, or evidence missing. */
export function runFailed(r: RunResult): boolean {
  return r.safetyViolations.length > 0 || r.livenessFailure !== null || r.evidenceMissing.length > 0;
}

/** The most byzantine validators n can tolerate: f = floor((n - 1) / 3). */
export function maxFaulty(n: number): number {
  return Math.max(0, Math.floor((n - 1) / 3));
}

/** Checks options; returns a sentence saying what is wrong, or null. */
export function checkOptions(o: SimOptions): string | null {
  const isInt = (x: number) => Number.isSafeInteger(x);
  if (!isInt(o.validators) || o.validators < 1) return `validators must be an integer >= 1, got ${o.validators}`;
  if (o.validators > 10_000) return `validators must be at most 10000, got ${o.validators}`;
  if (!isInt(o.byzantine) || o.byzantine < 0) return `byzantine must be an integer >= 0, got ${o.byzantine}`;
  if (o.byzantine >= o.validators) return `byzantine (${o.byzantine}) must be below validators (${o.validators})`;
  if (!o.allowExcessByzantine && o.byzantine > maxFaulty(o.validators)) {
    return `byzantine must be at most f = floor((N-1)/3) = ${maxFaulty(o.validators)} for N = ${o.validators}, got ${o.byzantine}`;
  }
  if (!isInt(o.seed) || o.seed < 0 || o.seed > 0xffff_ffff) return `seed must be an integer in [0, 4294967295], got ${o.seed}`;
  if (!isInt(o.heights) || o.heights < 1) return `heights must be an integer >= 1, got ${o.heights}`;
  const [lo, hi] = o.latencyMs;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo < 0 || hi < lo) return `latency range must be 0 <= MIN <= MAX, got ${lo}-${hi}`;
  if (!(o.drop >= 0 && o.drop < 1)) return `drop must be in [0, 1), got ${o.drop}`;
  const dup = o.duplicate ?? 0;
  if (!(dup >= 0 && dup < 1)) return `duplicate must be in [0, 1), got ${dup}`;
  const [g0, g1] = o.gossipMs ?? [200, 500];
  if (!(g0 > 0 && g1 >= g0)) return `gossip range must be 0 < MIN <= MAX, got ${g0}-${g1}`;
  if ((o.commitMs ?? 100) < 0) return `commitMs must be >= 0`;
  if (o.behaviours !== undefined) {
    if (o.behaviours.length === 0 && o.byzantine > 0) return 'behaviours must not be empty';
    for (const b of o.behaviours) if (!ALL_BEHAVIOURS.includes(b)) return `unknown behaviour '${b}'; use one of ${ALL_BEHAVIOURS.join(', ')}`;
  }
  return null;
}

export function defaultTimeouts(): TimeoutConfig {
  const t = defaultConsensusParams().timeouts;
  return {
    proposeMs: t.propose_ms,
    proposeDeltaMs: t.propose_delta_ms,
    prevoteMs: t.prevote_ms,
    prevoteDeltaMs: t.prevote_delta_ms,
    precommitMs: t.precommit_ms,
    precommitDeltaMs: t.precommit_delta_ms,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Validator sets: deterministic keys (the core never verifies a signature, so no key pair is needed), equal power.
// The sets of heights 1, 2, ... are shared by all runs with the same N (a ValidatorSet is immutable).

const setCache = new Map<number, ValidatorSet[]>();

/** The validator set of height h (1-based) for n validators: genesis advanced by incrementProposerPriority(h - 1). */
export function simValidatorSet(n: number, height: number): ValidatorSet {
  let sets = setCache.get(n);
  if (sets === undefined) {
    const genesis = ValidatorSet.fromPowers(
      Array.from({ length: n }, (_, i) => ({ pubKey: sha256(new TextEncoder().encode(`agentcluster-sim-validator-${i}`)), power: 10n })),
    );
    sets = [genesis, genesis];
    setCache.set(n, sets);
  }
  while (sets.length <= height) sets.push(sets[sets.length - 1].incrementProposerPriority(1));
  return sets[height];
}

// ---------------------------------------------------------------------------------------------------------------
// Messages and what a node holds

const KIND_PROPOSAL = 0;
const NONE = 0; // no vote
const NIL = 1; // block number of the nil block id

interface Msg {
  /** 0 proposal, 1 prevote, 2 precommit (VoteType for votes). */
  kind: number;
  height: number;
  round: number;
  /** Validator index of the author (the proposer, or the voter). */
  author: number;
  /** The block id as a small number, interned per run (NIL = 1). */
  block: number;
  /** Virtual ms at which the author first sent it. */
  createdAt: number;
  proposal: Proposal | null;
  vote: Vote | null;
}

/** The messages of one round a node holds: proposals by block, the first vote of each validator per type, extras. */
class RoundView {
  proposals: Msg[] = [];
  /** Block number of the first vote, [prevotes of validators 0..n-1, precommits of 0..n-1]; 0 = none. */
  first: Int32Array;
  votes: (Msg | undefined)[];
  /** First votes held, by kind (index 1 prevotes, 2 precommits). */
  count = [0, 0, 0];
  /** Further votes of a validator that conflict with its first one (byzantine only). */
  extras: Msg[] | null = null;
  constructor(n: number) {
    this.first = new Int32Array(2 * n);
    this.votes = new Array<Msg | undefined>(2 * n);
  }
}

class HeightView {
  rounds: (RoundView | undefined)[] = [];
}

function holds(rv: RoundView | undefined, m: Msg, n: number): boolean {
  if (rv === undefined) return false;
  if (m.kind === KIND_PROPOSAL) {
    for (const p of rv.proposals) if (p.block === m.block && p.author === m.author) return true;
    return false;
  }
  if (rv.first[(m.kind - 1) * n + m.author] === m.block) return true;
  if (rv.extras === null) return false;
  for (const e of rv.extras) if (e.kind === m.kind && e.author === m.author && e.block === m.block) return true;
  return false;
}

class SimNode {
  readonly index: number;
  readonly address: Uint8Array;
  readonly behaviour: Behaviour | null;
  readonly honest: boolean;
  core: RoundState;
  /** Height of the core (0 before the first start_height). */
  height = 0;
  /** Highest height decided. */
  decided = 0;
  /** Received and own messages, by height. */
  views: (HeightView | undefined)[] = [];
  /** Vote keepers of past heights, by height (for equivocations seen after the node moved on). */
  keepers: (VoteKeeper | undefined)[] = [];
  /** Messages for height + 1, in arrival order, fed when that height starts. */
  pending: Msg[] = [];
  /** A byzantine node's own messages by height, as sent to each peer (index = peer; null = not sent). */
  own: ((Msg | null)[][] | undefined)[] = [];
  inbox: RoundInput[] = [];
  busy = false;
  gossipTicks = 0;
  constructor(index: number, address: Uint8Array, behaviour: Behaviour | null, timeouts: TimeoutConfig) {
    this.index = index;
    this.address = address;
    this.behaviour = behaviour;
    this.honest = behaviour === null;
    this.core = initialState({ address, timeouts });
  }
  view(height: number): HeightView {
    let v = this.views[height];
    if (v === undefined) this.views[height] = v = new HeightView();
    return v;
  }
}

// Event kinds
const EV_DELIVER = 0;
const EV_TIMEOUT = 1;
const EV_GOSSIP = 2;
const EV_START = 3;
const EV_PARTITION = 4;
const EV_HEAL = 5;

interface SimEvent {
  t: number;
  seq: number;
  kind: number;
  node: number;
  from: number;
  /** Height to start (EV_START), partition index (EV_PARTITION). */
  arg: number;
  msg: Msg | null;
  input: RoundInput | null;
}

const DUMMY_SIGNATURE = new Uint8Array(64).fill(0x5a);
/** Virtual time 0 as a wall-clock time in ns (vote and proposal timestamps only). */
const EPOCH_NS = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z

// ---------------------------------------------------------------------------------------------------------------

export class Simulation {
  readonly o: Required<Omit<SimOptions, 'trace' | 'behaviours'>> & { behaviours: readonly Behaviour[] };
  readonly trace: ((line: string) => void) | null;
  readonly rng: Rng;
  readonly n: number;
  readonly queue = new EventQueue<SimEvent>();
  readonly nodes: SimNode[] = [];
  readonly checker: Checker;
  now = 0;
  events = 0;
  // values
  readonly blockNums = new Map<string, number>();
  readonly blockLabels: string[] = ['none', 'nil'];
  // network
  readonly group: Int32Array;
  partitioned = false;
  readonly partitions: { fromMs: number; toMs: number; groups: number[][] }[] = [];
  lastHealAt = 0;
  sent = 0;
  delivered = 0;
  dropped = 0;
  duplicates = 0;
  // progress and finality
  readonly honestCount: number;
  honestDone = 0;
  doneAt = -1;
  readonly firstEnter: number[] = [];
  readonly lastDecide: number[] = [];
  readonly decidedBy: number[] = [];
  maxRound = 0;
  // fork collusion: `${height}/${round}` -> [A, B] block ids
  readonly forkValues = new Map<string, [BlockID, BlockID]>();
  readonly forkGroup: Int32Array;

  constructor(opts: SimOptions) {
    const bad = checkOptions(opts);
    if (bad !== null) throw new RangeError(bad);
    this.o = {
      validators: opts.validators,
      byzantine: opts.byzantine,
      behaviours: opts.behaviours ?? DEFAULT_BEHAVIOURS,
      seed: opts.seed,
      heights: opts.heights,
      latencyMs: opts.latencyMs,
      drop: opts.drop,
      duplicate: opts.duplicate ?? 0,
      partition: opts.partition,
      timeouts: opts.timeouts ?? defaultTimeouts(),
      commitMs: opts.commitMs ?? 100,
      gossipMs: opts.gossipMs ?? [200, 500],
      timeLimitMs: opts.timeLimitMs ?? opts.heights * 60_000,
      drainMs: opts.drainMs ?? 10_000,
      allowExcessByzantine: opts.allowExcessByzantine ?? false,
    };
    this.trace = opts.trace ?? null;
    this.rng = new Rng(opts.seed);
    const n = (this.n = opts.validators);
    this.group = new Int32Array(n);
    this.forkGroup = new Int32Array(n);

    // Byzantine nodes: a random subset; behaviours as documented on SimOptions.behaviours.
    const order = this.rng.shuffle(Array.from({ length: n }, (_, i) => i));
    const behaviourOf = new Map<number, Behaviour>();
    const list = this.o.behaviours;
    const offset = opts.behaviours === undefined ? opts.seed % list.length : 0;
    for (let k = 0; k < this.o.byzantine; k++) behaviourOf.set(order[k], list[(offset + k) % list.length]);
    const set = simValidatorSet(n, 1);
    for (let i = 0; i < n; i++) this.nodes.push(new SimNode(i, set.validators[i].address, behaviourOf.get(i) ?? null, this.o.timeouts));
    this.checker = new Checker(this.nodes.map((x) => x.honest));
    this.honestCount = this.nodes.filter((x) => x.honest).length;
    // fork groups: honest nodes alternate between group 0 and 1; byzantine nodes see group 0's messages
    let alt = 0;
    for (const node of this.nodes) this.forkGroup[node.index] = node.honest ? alt++ % 2 : 0;

    // Start times and gossip phases.
    const lmax = this.o.latencyMs[1];
    for (const node of this.nodes) {
      if (node.behaviour === 'silent') continue;
      this.schedule(this.rng.uniform(0, lmax), EV_START, node.index, 1);
      this.schedule(this.rng.uniform(this.o.gossipMs[0], this.o.gossipMs[1]), EV_GOSSIP, node.index, 0);
    }
    if (this.o.partition) this.planPartitions();
  }

  // ---- scheduling ----

  schedule(at: number, kind: number, node: number, arg: number, msg: Msg | null = null, input: RoundInput | null = null, from = -1): void {
    this.queue.push({ t: at, seq: 0, kind, node, from, arg, msg, input });
  }

  planPartitions(): void {
    const episodes = 1 + this.rng.int(2);
    const horizon = Math.max(1000, this.o.heights * 800);
    let earliest = 200;
    for (let k = 0; k < episodes; k++) {
      const from = earliest + this.rng.uniform(0, horizon / episodes);
      const to = from + this.rng.uniform(1000, 5000);
      earliest = to + 500;
      const order = this.rng.shuffle(Array.from({ length: this.n }, (_, i) => i));
      const cut = this.n < 2 ? this.n : 1 + this.rng.int(this.n - 1);
      const groups = [order.slice(0, cut).sort((a, b) => a - b), order.slice(cut).sort((a, b) => a - b)].filter((g) => g.length > 0);
      this.partitions.push({ fromMs: from, toMs: to, groups });
      this.schedule(from, EV_PARTITION, -1, k);
      this.schedule(to, EV_HEAL, -1, k);
      this.lastHealAt = Math.max(this.lastHealAt, to);
    }
  }

  cut(a: number, b: number): boolean {
    return this.partitioned && this.group[a] !== this.group[b];
  }

  // ---- values ----

  numOf(id: BlockID): number {
    if (id.hash.length === 0) return NIL;
    const key = blockIdKey(id);
    let num = this.blockNums.get(key);
    if (num === undefined) {
      num = this.blockLabels.length;
      this.blockNums.set(key, num);
      this.blockLabels.push(key.slice(0, 12));
    }
    return num;
  }

  makeValue(height: number, round: number, proposer: number): BlockID {
    const seed = new Uint8Array(20);
    const dv = new DataView(seed.buffer);
    dv.setBigUint64(0, BigInt(height));
    dv.setUint32(8, round);
    dv.setUint32(12, proposer);
    dv.setUint32(16, this.rng.u32());
    const hash = sha256(seed);
    const id: BlockID = { hash, partSetHeader: { total: 1, hash: sha256(hash) } };
    this.numOf(id);
    return id;
  }

  label(block: number): string {
    return this.blockLabels[block] ?? '?';
  }

  // ---- the run ----

  run(): RunResult {
    const limit = this.o.timeLimitMs;
    let livenessFailure: string | null = null;
    for (;;) {
      const e = this.queue.pop();
      if (e === undefined) break;
      if (e.t > limit) {
        this.now = limit;
        break;
      }
      this.now = e.t;
      this.events++;
      this.handle(e);
      if (this.checker.violations.length > 0) break; // the first safety violation ends the run (replay shows it)
      if (this.doneAt < 0 && this.honestDone === this.honestCount) this.doneAt = this.now;
      if (this.doneAt >= 0 && (this.checker.evidenceComplete || this.now >= Math.max(this.doneAt, this.lastHealAt) + this.o.drainMs)) break;
    }
    if (this.doneAt < 0 && this.checker.violations.length === 0) {
      const stuck = this.nodes
        .filter((x) => x.honest && x.decided < this.o.heights)
        .map((x) => `node ${x.index} at ${x.height}/${x.core.round} ${x.core.step} (decided ${x.decided})`);
      livenessFailure = `not every honest node decided ${this.o.heights} heights within ${limit} ms: ${stuck.slice(0, 4).join('; ')}${stuck.length > 4 ? `; and ${stuck.length - 4} more` : ''}`;
      this.log(livenessFailure);
    }
    let heightsDecided = Infinity;
    for (const x of this.nodes) if (x.honest) heightsDecided = Math.min(heightsDecided, x.decided);
    const finalityMs: number[] = [];
    for (let h = 1; h <= this.o.heights; h++) {
      if (this.decidedBy[h] === this.honestCount) finalityMs.push(round3(this.lastDecide[h] - this.firstEnter[h]));
    }
    return {
      seed: this.o.seed,
      heightsDecided: heightsDecided === Infinity ? 0 : heightsDecided,
      safetyViolations: [...this.checker.violations],
      livenessFailure,
      evidenceMissing: this.checker.violations.length > 0 ? [] : this.checker.evidenceMissing(this.now, this.lastHealAt, this.o.drainMs),
      finalityMs,
      evidenceFound: this.checker.evidenceFound,
      doubleVotesDelivered: this.checker.doubleVotesDelivered,
      virtualMs: round3(this.now),
      events: this.events,
      maxRound: this.maxRound,
      byzantineNodes: this.nodes.filter((x) => !x.honest).map((x) => ({ index: x.index, behaviour: x.behaviour! })),
      partitions: this.partitions.map((p) => ({ fromMs: round3(p.fromMs), toMs: round3(p.toMs), groups: p.groups })),
      messages: { sent: this.sent, delivered: this.delivered, dropped: this.dropped, duplicates: this.duplicates },
    };
  }

  log(line: string): void {
    if (this.trace !== null) this.trace(`[${round3(this.now)} ms] ${line}`);
  }

  handle(e: SimEvent): void {
    switch (e.kind) {
      case EV_DELIVER:
        if (this.cut(e.from, e.node)) {
          this.dropped++;
          return;
        }
        this.receive(this.nodes[e.node], e.msg!);
        return;
      case EV_TIMEOUT:
        this.feed(this.nodes[e.node], e.input!);
        return;
      case EV_GOSSIP: {
        const node = this.nodes[e.node];
        this.gossip(node);
        this.schedule(this.now + this.rng.uniform(this.o.gossipMs[0], this.o.gossipMs[1]), EV_GOSSIP, node.index, 0);
        return;
      }
      case EV_START:
        this.startHeight(this.nodes[e.node], e.arg);
        return;
      case EV_PARTITION: {
        const p = this.partitions[e.arg];
        p.groups.forEach((g, gi) => {
          for (const i of g) this.group[i] = gi;
        });
        this.partitioned = true;
        this.log(`partition: ${p.groups.map((g) => `{${g.join(',')}}`).join(' | ')}`);
        return;
      }
      case EV_HEAL:
        this.partitioned = false;
        this.log('partition healed');
        return;
    }
  }

  // ---- node host ----

  startHeight(node: SimNode, height: number): void {
    if (node.height >= height) return;
    if (node.height > 0) node.keepers[node.height] = node.core.votes ?? undefined;
    node.height = height;
    if (node.honest && this.firstEnter[height] === undefined) this.firstEnter[height] = this.now;
    this.log(`node ${node.index} starts height ${height}`);
    this.feed(node, { tag: 'start_height', height: BigInt(height), validatorSet: simValidatorSet(this.n, height) });
    const pending = node.pending;
    node.pending = [];
    for (const m of pending) {
      if (m.height === height) this.accept(node, m);
      else if (m.height === height + 1) node.pending.push(m);
    }
  }

  /** Feeds one input to a node's core and carries out the effects; inputs raised meanwhile queue behind it. */
  feed(node: SimNode, input: RoundInput): void {
    node.inbox.push(input);
    if (node.busy) return;
    node.busy = true;
    try {
      for (let i = 0; i < node.inbox.length; i++) {
        const t = apply(node.core, node.inbox[i]);
        node.core = t.state;
        if (node.honest && t.state.round > this.maxRound) this.maxRound = t.state.round;
        for (const eff of t.effects) this.effect(node, eff);
      }
    } finally {
      node.inbox.length = 0;
      node.busy = false;
    }
  }

  feedMsg(node: SimNode, m: Msg): void {
    if (m.proposal !== null) this.feed(node, { tag: 'proposal', proposal: m.proposal, from: this.nodes[m.author].address, valid: true });
    else this.feed(node, { tag: 'vote', vote: m.vote! });
  }

  effect(node: SimNode, e: RoundEffect): void {
    switch (e.tag) {
      case 'get_value':
        node.inbox.push({ tag: 'proposal_value', height: e.height, round: e.round, blockId: this.makeValue(Number(e.height), e.round, node.index) });
        return;
      case 'publish_proposal':
        this.publishProposal(node, Number(e.height), e.round, e.polRound, e.blockId);
        return;
      case 'publish_vote':
        this.publishVote(node, e.type, Number(e.height), e.round, e.blockId);
        return;
      case 'schedule_timeout':
        this.schedule(this.now + e.durationMs, EV_TIMEOUT, node.index, 0, null, { tag: 'timeout', kind: e.kind, height: e.height, round: e.round });
        return;
      case 'decide': {
        const h = Number(e.height);
        node.decided = h;
        if (node.honest) {
          const v = this.checker.onDecide(node.index, h, blockIdKey(e.blockId), round3(this.now));
          this.log(`node ${node.index} decides height ${h} round ${e.round}: ${blockIdKey(e.blockId).slice(0, 12)}`);
          if (v !== null) this.log(`VIOLATION ${v}`);
          this.decidedBy[h] = (this.decidedBy[h] ?? 0) + 1;
          this.lastDecide[h] = this.now;
          if (h === this.o.heights) this.honestDone++;
        }
        if (h < this.o.heights) this.schedule(this.now + this.o.commitMs, EV_START, node.index, h + 1);
        return;
      }
      case 'evidence':
        this.onEvidence(node, e.evidence);
        return;
    }
  }

  onEvidence(node: SimNode, ev: Equivocation): void {
    if (!node.honest) return;
    const v = ev.voteA;
    this.log(`node ${node.index} reports evidence against validator ${v.validatorIndex} at ${v.height}/${v.round} type ${v.type}`);
    this.checker.onEvidence(node.index, v.validatorIndex, Number(v.height), v.round, v.type, round3(this.now));
  }

  timestamp(): bigint {
    return EPOCH_NS + BigInt(Math.round(this.now * 1000)) * 1000n;
  }

  proposalMsg(node: SimNode, height: number, round: number, polRound: number, blockId: BlockID): Msg {
    const proposal: Proposal = { type: VoteType.PROPOSAL, height: BigInt(height), round, polRound, blockId, timestamp: this.timestamp(), signature: DUMMY_SIGNATURE };
    const set = simValidatorSet(this.n, height);
    if (set.indexOf(set.proposerAt(round).address) === node.index) this.checker.onProposed(height, blockIdKey(blockId));
    return { kind: KIND_PROPOSAL, height, round, author: node.index, block: this.numOf(blockId), createdAt: this.now, proposal, vote: null };
  }

  voteMsg(node: SimNode, type: number, height: number, round: number, blockId: BlockID): Msg {
    const vote: Vote = {
      type,
      height: BigInt(height),
      round,
      blockId,
      timestamp: this.timestamp(),
      validatorAddress: node.address,
      validatorIndex: node.index,
      signature: DUMMY_SIGNATURE,
    };
    return { kind: type, height, round, author: node.index, block: this.numOf(blockId), createdAt: this.now, proposal: null, vote };
  }

  publishProposal(node: SimNode, height: number, round: number, polRound: number, blockId: BlockID): void {
    const m = this.proposalMsg(node, height, round, polRound, blockId);
    switch (node.behaviour) {
      case 'equivocating_proposer': {
        const alt = this.proposalMsg(node, height, round, polRound, this.makeValue(height, round, node.index));
        this.sendSplit(node, m, this.halves(node, m, alt));
        this.log(`node ${node.index} equivocates as proposer of ${height}/${round}`);
        return;
      }
      case 'fork': {
        const b = this.proposalMsg(node, height, round, polRound, this.makeValue(height, round, node.index));
        this.forkValues.set(`${height}/${round}`, [blockId, b.proposal!.blockId]);
        this.sendSplit(node, m, this.byForkGroup(m, b));
        return;
      }
      default:
        this.broadcast(node, m);
    }
  }

  publishVote(node: SimNode, type: number, height: number, round: number, blockId: BlockID): void {
    switch (node.behaviour) {
      case 'nil_voter':
        this.broadcast(node, this.voteMsg(node, type, height, round, EMPTY_BLOCK_ID));
        return;
      case 'double_voter': {
        const m = this.voteMsg(node, type, height, round, blockId);
        let altId: BlockID;
        if (blockId.hash.length > 0) {
          altId = this.rng.chance(0.5) ? EMPTY_BLOCK_ID : this.makeValue(height, round, node.index);
        } else {
          const known = node.views[height]?.rounds[round]?.proposals[0]?.proposal?.blockId;
          altId = known ?? this.makeValue(height, round, node.index);
        }
        this.sendSplit(node, m, this.halves(node, m, this.voteMsg(node, type, height, round, altId)));
        return;
      }
      case 'fork': {
        const pair = this.forkValues.get(`${height}/${round}`);
        if (pair === undefined) {
          this.broadcast(node, this.voteMsg(node, type, height, round, EMPTY_BLOCK_ID));
          return;
        }
        const a = this.voteMsg(node, type, height, round, pair[0]);
        this.sendSplit(node, a, this.byForkGroup(a, this.voteMsg(node, type, height, round, pair[1])));
        return;
      }
      default:
        this.broadcast(node, this.voteMsg(node, type, height, round, blockId));
    }
  }

  /** Peers in a random half get a, the others b. */
  halves(node: SimNode, a: Msg, b: Msg): (Msg | null)[] {
    const peers = this.rng.shuffle(this.nodes.filter((x) => x !== node).map((x) => x.index));
    const out = new Array<Msg | null>(this.n).fill(null);
    const half = Math.ceil(peers.length / 2);
    peers.forEach((p, k) => (out[p] = k < half ? a : b));
    return out;
  }

  byForkGroup(a: Msg, b: Msg): (Msg | null)[] {
    return this.nodes.map((x) => (this.forkGroup[x.index] === 0 ? a : b));
  }

  broadcast(node: SimNode, m: Msg): void {
    for (let j = 0; j < this.n; j++) if (j !== node.index) this.send(node.index, j, m);
    this.deliverSelf(node, m);
  }

  sendSplit(node: SimNode, self: Msg, perPeer: (Msg | null)[]): void {
    perPeer[node.index] = null;
    for (let j = 0; j < this.n; j++) {
      const m = perPeer[j];
      if (m !== null) this.send(node.index, j, m);
    }
    let own = node.own[self.height];
    if (own === undefined) node.own[self.height] = own = [];
    own.push(perPeer);
    this.deliverSelf(node, self);
  }

  deliverSelf(node: SimNode, m: Msg): void {
    const view = node.view(m.height);
    let rv = view.rounds[m.round];
    if (rv === undefined) view.rounds[m.round] = rv = new RoundView(this.n);
    if (!holds(rv, m, this.n)) this.record(rv, m);
    this.feedMsg(node, m);
  }

  // ---- network ----

  send(from: number, to: number, m: Msg): void {
    this.sent++;
    if (this.nodes[to].behaviour === 'silent') return;
    if (this.cut(from, to) || this.rng.chance(this.o.drop)) {
      this.dropped++;
      return;
    }
    const [lo, hi] = this.o.latencyMs;
    this.schedule(this.now + this.rng.uniform(lo, hi), EV_DELIVER, to, 0, m, null, from);
    if (this.rng.chance(this.o.duplicate)) this.schedule(this.now + this.rng.uniform(lo, hi), EV_DELIVER, to, 0, m, null, from);
  }

  record(rv: RoundView, m: Msg): void {
    if (m.kind === KIND_PROPOSAL) {
      rv.proposals.push(m);
      return;
    }
    const i = (m.kind - 1) * this.n + m.author;
    if (rv.first[i] === NONE) {
      rv.first[i] = m.block;
      rv.votes[i] = m;
      rv.count[m.kind]++;
    } else {
      (rv.extras ??= []).push(m);
    }
  }

  receive(node: SimNode, m: Msg): void {
    if (node.behaviour === 'silent') return;
    const h = m.height;
    if (h > node.height + 1) {
      this.dropped++; // too far ahead: gossip brings it again when the node gets there
      return;
    }
    const view = node.view(h);
    let rv = view.rounds[m.round];
    if (rv === undefined) view.rounds[m.round] = rv = new RoundView(this.n);
    if (holds(rv, m, this.n)) {
      this.duplicates++;
      return;
    }
    this.delivered++;
    this.record(rv, m);
    if (h === node.height) {
      this.accept(node, m);
    } else if (h === node.height + 1) {
      node.pending.push(m);
    } else if (m.vote !== null) {
      // a vote for a past height: only the equivocation check of that height's keeper cares
      const keeper = node.keepers[h];
      if (keeper !== undefined) {
        this.accepted(node, m);
        const r = keeper.addVote(m.vote);
        if (r.status === 'equivocation') this.onEvidence(node, r.evidence);
      }
    }
  }

  /** A message of the node's current height, handed to its core. */
  accept(node: SimNode, m: Msg): void {
    this.accepted(node, m);
    this.feedMsg(node, m);
  }

  /** Double-vote bookkeeping: an honest node's consensus takes a byzantine validator's vote. */
  accepted(node: SimNode, m: Msg): void {
    if (m.kind !== KIND_PROPOSAL && node.honest && !this.nodes[m.author].honest) {
      this.checker.onVoteAccepted(m.author, m.height, m.round, m.kind, m.block, round3(this.now));
    }
  }

  // ---- gossip ----

  gossip(node: SimNode): void {
    if (node.height === 0) return;
    node.gossipTicks++;
    const cutoff = this.now - this.o.latencyMs[1];
    for (let j = 0; j < this.n; j++) {
      if (j === node.index) continue;
      const peer = this.nodes[j];
      if (peer.behaviour === 'silent' || peer.height === 0 || this.cut(node.index, j)) continue;
      const hp = peer.height;
      this.relay(node, peer, hp, cutoff);
      if (hp > 1) this.relay(node, peer, hp - 1, cutoff);
      if (hp > 2) this.relay(node, peer, 1 + ((node.gossipTicks + j) % (hp - 2)), cutoff);
    }
  }

  /** Sends `peer` what it lacks of what `node` holds at `height` (old enough), and a byzantine node's own messages. */
  relay(node: SimNode, peer: SimNode, height: number, cutoff: number): void {
    const n = this.n;
    const from = node.index;
    const to = peer.index;
    const theirs = peer.views[height];
    const mine = node.views[height];
    const skipOwn = !node.honest; // a byzantine node re-sends its own messages from node.own, as first sent
    if (mine !== undefined) {
      const rounds = mine.rounds;
      for (let r = 0; r < rounds.length; r++) {
        const rv = rounds[r];
        if (rv === undefined) continue;
        const trv = theirs?.rounds[r];
        for (const p of rv.proposals) {
          if (p.author !== to && !(skipOwn && p.author === from) && p.createdAt <= cutoff && !holds(trv, p, n)) this.send(from, to, p);
        }
        for (let kind = 1; kind <= 2; kind++) {
          if (rv.count[kind] === 0) continue;
          const base = (kind - 1) * n;
          for (let v = 0; v < n; v++) {
            const m = rv.votes[base + v];
            if (m === undefined || v === to || (skipOwn && v === from) || m.createdAt > cutoff) continue;
            if (trv !== undefined && trv.first[base + v] === m.block) continue;
            if (trv !== undefined && trv.extras !== null && holds(trv, m, n)) continue;
            this.send(from, to, m);
          }
        }
        if (rv.extras !== null) {
          for (const m of rv.extras) {
            if (m.author !== to && !(skipOwn && m.author === from) && m.createdAt <= cutoff && !holds(trv, m, n)) this.send(from, to, m);
          }
        }
      }
    }
    const own = node.own[height];
    if (own !== undefined) {
      for (const perPeer of own) {
        const m = perPeer[to];
        if (m !== null && m.createdAt <= cutoff && !holds(theirs?.rounds[m.round], m, n)) this.send(from, to, m);
      }
    }
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Runs one seeded simulation. Throws RangeError on bad options (see checkOptions). */
export function runSimulation(opts: SimOptions): RunResult {
  return new Simulation(opts).run();
}

// ---------------------------------------------------------------------------------------------------------------

export interface ManyOptions extends Omit<SimOptions, 'seed'> {
  /** Number of runs: seeds firstSeed, firstSeed + 1, ... */
  seeds: number;
  /** Default 1. */
  firstSeed?: number;
  /** How many failing runs to keep in full. Default 10. */
  keepFailures?: number;
  /** Called after every run (for progress reports). */
  onRun?: (result: RunResult, done: number, total: number) => void;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface ManySummary {
  runs: number;
  validators: number;
  byzantine: number;
  heights: number;
  firstSeed: number;
  /** Total over runs of the heights decided by every honest node. */
  heightsDecided: number;
  /** Runs with a safety (agreement, validity, single decision, false evidence) violation. */
  safetyViolations: number;
  livenessFailures: number;
  /** Runs with a delivered double vote left without evidence. */
  evidenceMissing: number;
  finalityMs: Percentiles;
  evidenceFound: number;
  doubleVotesDelivered: number;
  maxRound: number;
  virtualMs: number;
  events: number;
  /** The first failing runs, in seed order. */
  failures: RunResult[];
  /** Every failing seed (safety, liveness or evidence). */
  failingSeeds: number[];
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Runs seeds firstSeed .. firstSeed + seeds - 1 and sums them up. */
export function runMany(opts: ManyOptions): ManySummary {
  const firstSeed = opts.firstSeed ?? 1;
  if (!Number.isSafeInteger(opts.seeds) || opts.seeds < 1) throw new RangeError(`seeds must be an integer >= 1, got ${opts.seeds}`);
  if (!Number.isSafeInteger(firstSeed) || firstSeed < 0 || firstSeed + opts.seeds - 1 > 0xffff_ffff) {
    throw new RangeError(`seeds ${firstSeed}..${firstSeed + opts.seeds - 1} must lie in [0, 4294967295]`);
  }
  const keep = opts.keepFailures ?? 10;
  const { seeds: _s, firstSeed: _f, keepFailures: _k, onRun, ...base } = opts;
  const finality: number[] = [];
  const s: ManySummary = {
    runs: 0,
    validators: opts.validators,
    byzantine: opts.byzantine,
    heights: opts.heights,
    firstSeed,
    heightsDecided: 0,
    safetyViolations: 0,
    livenessFailures: 0,
    evidenceMissing: 0,
    finalityMs: { p50: 0, p99: 0, max: 0 },
    evidenceFound: 0,
    doubleVotesDelivered: 0,
    maxRound: 0,
    virtualMs: 0,
    events: 0,
    failures: [],
    failingSeeds: [],
  };
  for (let k = 0; k < opts.seeds; k++) {
    const r = runSimulation({ ...base, seed: firstSeed + k });
    s.runs++;
    s.heightsDecided += r.heightsDecided;
    if (r.safetyViolations.length > 0) s.safetyViolations++;
    if (r.livenessFailure !== null) s.livenessFailures++;
    if (r.evidenceMissing.length > 0) s.evidenceMissing++;
    for (const f of r.finalityMs) finality.push(f);
    s.evidenceFound += r.evidenceFound;
    s.doubleVotesDelivered += r.doubleVotesDelivered;
    s.maxRound = Math.max(s.maxRound, r.maxRound);
    s.virtualMs += r.virtualMs;
    s.events += r.events;
    if (runFailed(r)) {
      s.failingSeeds.push(r.seed);
      if (s.failures.length < keep) s.failures.push(r);
    }
    onRun?.(r, k + 1, opts.seeds);
  }
  finality.sort((a, b) => a - b);
  s.finalityMs = { p50: percentile(finality, 50), p99: percentile(finality, 99), max: finality.length === 0 ? 0 : finality[finality.length - 1] };
  s.virtualMs = round3(s.virtualMs);
  return s;
}
