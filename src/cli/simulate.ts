// `agentcluster simulate`: seeded multi-node consensus simulations (src/consensus/sim/), summed up as one JSON object.
// A failing run (safety, liveness or missing evidence) makes the command exit 1, printing its seed and the command
// line that replays it (--seed X) on stderr.
// `agentcluster simulate --committee` instead prints the review-committee security figure (src/tasks/security.ts):
// the probability that an adversary with a share s of the review weight captures ceil(2k/3) of k seats.
import { AppError } from '../errors.ts';
import { runMany, checkOptions, maxFaulty, type ManyOptions, type ManySummary, type RunResult } from '../consensus/sim/index.ts';
import { adversarialMembers, captureProbability, captureProbabilityFinite, captureThreshold, formatProbability } from '../tasks/security.ts';
import { optBool, optString, reqString, UsageError, writeJson, PROGRAM, type Command, type Io, type ParsedArgs } from './command.ts';

const PROGRESS_EVERY_MS = 3000;
const SHOWN_FAILURES = 10;

export interface SimulateRequest {
  options: Omit<ManyOptions, 'onRun'>;
  /** Set by --seed: replay exactly this seed. */
  replay: boolean;
}

function uint(args: ParsedArgs, name: string, fallback: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = optString(args, name) ?? fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a non-negative integer, got '${raw}'`, []);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${raw}`, []);
  return n;
}

function probability(args: ParsedArgs, name: string): number {
  const raw = optString(args, name) ?? '0';
  const p = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(raw) ? Number(raw) : NaN;
  if (!(p >= 0 && p < 1)) throw new UsageError(`--${name} must be a probability in [0, 1), got '${raw}'`, []);
  return p;
}

function latency(args: ParsedArgs): [number, number] {
  const raw = optString(args, 'latency-ms') ?? '10-100';
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(raw);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!(lo >= 0 && hi >= lo && hi <= 600_000)) throw new UsageError(`--latency-ms must be MIN-MAX with 0 <= MIN <= MAX <= 600000, got '${raw}'`, []);
  return [lo, hi];
}

/** Parses and checks the command line (UsageError on anything wrong). */
export function parseSimulateArgs(args: ParsedArgs): SimulateRequest {
  for (const name of COMMITTEE_ONLY) {
    if (optString(args, name) !== undefined) throw new UsageError(`--${name} only applies with --committee`, []);
  }
  if (optString(args, 'validators') === undefined) {
    throw new UsageError('missing required option --validators N (or pass --committee for the committee security table)', []);
  }
  const validators = uint(args, 'validators', reqString(args, 'validators'), 1, 10_000);
  const byzantine = uint(args, 'byzantine', '0', 0);
  if (byzantine > maxFaulty(validators)) {
    throw new UsageError(`--byzantine must be at most f = floor((N-1)/3) = ${maxFaulty(validators)} for --validators ${validators}, got ${byzantine}`, []);
  }
  const heights = uint(args, 'heights', '10', 1, 100_000);
  const replay = optString(args, 'seed') !== undefined;
  const seed = replay ? uint(args, 'seed', '', 0, 0xffff_ffff) : uint(args, 'first-seed', '1', 0, 0xffff_ffff);
  const seeds = replay ? 1 : uint(args, 'seeds', '1', 1, 100_000_000);
  if (replay && (optString(args, 'seeds') ?? '1') !== '1') throw new UsageError('--seed replays one seed; do not combine it with --seeds', []);
  if (seed + seeds - 1 > 0xffff_ffff) throw new UsageError(`seeds ${seed}..${seed + seeds - 1} go past 4294967295`, []);
  const options: Omit<ManyOptions, 'onRun'> = {
    validators,
    byzantine,
    heights,
    seeds,
    firstSeed: seed,
    latencyMs: latency(args),
    drop: probability(args, 'drop'),
    duplicate: probability(args, 'duplicate'),
    partition: optBool(args, 'partition'),
    keepFailures: SHOWN_FAILURES,
  };
  const bad = checkOptions({ ...options, seed });
  if (bad !== null) throw new UsageError(bad, []);
  return { options, replay };
}

/** The command line that replays one seed of this configuration. */
export function replayCommand(o: SimulateRequest['options'], seed: number): string {
  const parts = [PROGRAM, 'simulate', '--validators', String(o.validators), '--byzantine', String(o.byzantine), '--heights', String(o.heights)];
  parts.push('--latency-ms', `${o.latencyMs[0]}-${o.latencyMs[1]}`, '--drop', String(o.drop));
  if ((o.duplicate ?? 0) > 0) parts.push('--duplicate', String(o.duplicate));
  if (o.partition) parts.push('--partition');
  parts.push('--seed', String(seed));
  return parts.join(' ');
}

function failureLines(r: RunResult): string[] {
  return [
    ...r.safetyViolations.map((v) => `safety: ${v}`),
    ...(r.livenessFailure !== null ? [`liveness: ${r.livenessFailure}`] : []),
    ...r.evidenceMissing.slice(0, 3).map((v) => `evidence: ${v}`),
  ];
}

export function summaryJson(s: ManySummary, wallMs: number, replay: RunResult | null): Record<string, unknown> {
  const out: Record<string, unknown> = {
    runs: s.runs,
    validators: s.validators,
    byzantine: s.byzantine,
    heights: s.heights,
    first_seed: s.firstSeed,
    heights_decided: s.heightsDecided,
    safety_violations: s.safetyViolations,
    liveness_failures: s.livenessFailures,
    evidence_missing: s.evidenceMissing,
    finality_ms: s.finalityMs,
    evidence_found: s.evidenceFound,
    double_votes_delivered: s.doubleVotesDelivered,
    max_round: s.maxRound,
    virtual_ms: s.virtualMs,
    events: s.events,
    wall_ms: Math.round(wallMs),
    failing_seeds: s.failingSeeds.slice(0, SHOWN_FAILURES),
  };
  if (replay !== null) {
    out.replay = {
      seed: replay.seed,
      byzantine_nodes: replay.byzantineNodes,
      partitions: replay.partitions,
      safety_violations: replay.safetyViolations,
      liveness_failure: replay.livenessFailure,
      evidence_missing: replay.evidenceMissing,
      finality_ms: replay.finalityMs,
      messages: replay.messages,
    };
  }
  return out;
}

// ---- --committee: the review-committee security table ----

const COMMITTEE_ONLY = ['shares', 'sizes', 'population'] as const;
/** The consensus options and their defaults: with --committee, any of them set (to another value) is an error. */
const SIMULATION_DEFAULTS: Record<string, string | undefined> = {
  validators: undefined,
  byzantine: '0',
  seeds: '1',
  'first-seed': '1',
  heights: '10',
  'latency-ms': '10-100',
  drop: '0',
  duplicate: '0',
  seed: undefined,
};
export const DEFAULT_SHARES_BPS = [1000, 2000, 3300];
export const DEFAULT_COMMITTEE_SIZES = [10, 30, 100];
const MAX_COMMITTEE_SIZE = 1000;
const MAX_POPULATION = 1_000_000_000;
const MAX_LIST = 20;

export interface CommitteeRequest {
  sharesBps: number[];
  sizes: number[];
  /** Set by --population: also compute the finite-population (hypergeometric) model. */
  population: number | null;
}

function intList(args: ParsedArgs, name: string, fallback: number[], min: number, max: number, what: string): number[] {
  const raw = optString(args, name);
  if (raw === undefined) return fallback;
  const items = raw.split(',').map((x) => x.trim());
  if (items.length > MAX_LIST || items.some((x) => !/^\d+$/.test(x) || Number(x) < min || Number(x) > max)) {
    throw new UsageError(`--${name} must be a comma-separated list of 1 to ${MAX_LIST} integers from ${min} to ${max} (${what}), got '${raw}'`, []);
  }
  return items.map(Number);
}

/** Parses the --committee command line (UsageError on anything wrong). */
export function parseCommitteeArgs(args: ParsedArgs): CommitteeRequest {
  for (const [name, fallback] of Object.entries(SIMULATION_DEFAULTS)) {
    const v = optString(args, name);
    if (v !== undefined && v !== fallback) throw new UsageError(`--committee prints the committee security table and runs no simulation; do not combine it with --${name}`, []);
  }
  if (optBool(args, 'partition')) throw new UsageError('--committee prints the committee security table and runs no simulation; do not combine it with --partition', []);
  const sharesBps = intList(args, 'shares', DEFAULT_SHARES_BPS, 0, 10_000, "the adversary's share of the review weight in basis points, 10000 = 100%");
  const sizes = intList(args, 'sizes', DEFAULT_COMMITTEE_SIZES, 1, MAX_COMMITTEE_SIZE, 'committee sizes');
  let population: number | null = null;
  const rawPopulation = optString(args, 'population');
  if (rawPopulation !== undefined) {
    const largest = Math.max(...sizes);
    if (!/^\d+$/.test(rawPopulation) || Number(rawPopulation) < largest || Number(rawPopulation) > MAX_POPULATION) {
      throw new UsageError(`--population must be an integer from the largest committee size (${largest}) to ${MAX_POPULATION}, got '${rawPopulation}'`, []);
    }
    population = Number(rawPopulation);
  }
  return { sharesBps, sizes, population };
}

function percent(bps: number): string {
  return `${(bps / 100).toFixed(2).replace(/\.?0+$/, '')}%`;
}

/** The table printed by --committee: one row per share, one cell per committee size. */
export function committeeTable(req: CommitteeRequest): Record<string, unknown> {
  const rows = req.sharesBps.map((bps) => {
    const s = BigInt(bps);
    const row: Record<string, unknown> = { share_bps: bps, share: percent(bps) };
    if (req.population !== null) row.adversarial_members = adversarialMembers(s, req.population);
    row.cells = req.sizes.map((k) => {
      const cell: Record<string, unknown> = { k, threshold: captureThreshold(k), p: formatProbability(captureProbability(s, k)) };
      if (req.population !== null) cell.p_finite = formatProbability(captureProbabilityFinite(s, k, req.population));
      return cell;
    });
    return row;
  });
  return {
    figure: 'review committee capture probability',
    capture: 'the adversary holds at least threshold = ceil(2k/3) of the k seats, so it alone decides the 2/3 vote',
    model: 'p: infinite population, each seat adversarial with probability s (binomial upper tail)' +
      (req.population !== null ? `; p_finite: ${req.population} equally weighted members, round(s N) adversarial, drawn without replacement (hypergeometric upper tail)` : ''),
    population: req.population,
    shares_bps: req.sharesBps,
    sizes: req.sizes,
    rows,
  };
}

/**
 * Runs the request, prints the JSON summary and progress; throws AppError (exit 1) when a run failed. `run` is
 * injectable so that tests can check the failure path without a failing configuration.
 */
export function simulate(req: SimulateRequest, io: Io, run: (o: ManyOptions) => ManySummary = runMany): void {
  const started = performance.now();
  let lastReport = started;
  let last: RunResult | null = null;
  const summary = run({
    ...req.options,
    onRun: (r, done, total) => {
      last = r;
      const now = performance.now();
      if (now - lastReport >= PROGRESS_EVERY_MS && done < total) {
        lastReport = now;
        io.stderr.write(`simulate: ${done}/${total} runs in ${((now - started) / 1000).toFixed(1)} s (seed ${r.seed})\n`);
      }
    },
  });
  const wallMs = performance.now() - started;
  writeJson(io, summaryJson(summary, wallMs, req.replay ? last : null));
  if (summary.failingSeeds.length === 0) return;
  for (const r of summary.failures) {
    for (const line of failureLines(r)) io.stderr.write(`seed ${r.seed}: ${line}\n`);
    io.stderr.write(`  replay: ${replayCommand(req.options, r.seed)}\n`);
  }
  const kinds = [
    summary.safetyViolations > 0 ? `${summary.safetyViolations} with a safety violation` : '',
    summary.livenessFailures > 0 ? `${summary.livenessFailures} with a liveness failure` : '',
    summary.evidenceMissing > 0 ? `${summary.evidenceMissing} with missing evidence` : '',
  ].filter((k) => k !== '');
  const first = summary.failingSeeds[0];
  throw new AppError('INTERNAL', `${summary.failingSeeds.length} of ${summary.runs} runs failed (${kinds.join(', ')}); replay the first with: ${replayCommand(req.options, first)}`, {
    failing_seeds: summary.failingSeeds.slice(0, SHOWN_FAILURES),
  });
}

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'run seeded multi-node consensus simulations and check safety, liveness and evidence',
  usage: '--validators N [--byzantine F] [--seeds S] [--heights H] [--latency-ms MIN-MAX] [--drop P] [--partition] [--seed X] | --committee [--shares BPS,...] [--sizes K,...] [--population N]',
  description: [
    'Runs S deterministic simulations (seeds first-seed .. first-seed+S-1) of N in-process validators, F of them',
    'byzantine (equivocating proposer, double voter, silent, nil voter, in turn), on a virtual clock over a network with',
    'random latency, loss, duplication and optional partitions. Prints {runs, validators, byzantine, heights_decided,',
    'safety_violations, liveness_failures, evidence_missing, finality_ms {p50, p99, max}, evidence_found,',
    'double_votes_delivered, wall_ms, failing_seeds, ...}; times are virtual ms. Exits 1 if a run failed (a safety',
    'violation, a liveness failure or a double vote without evidence), printing each failing seed and the command that',
    'replays it with --seed X on stderr. Progress goes to stderr every few seconds.',
    '',
    'With --committee it runs no simulation and prints the review-committee security figure instead: for each',
    "adversary share s of the review weight (--shares, bps) and committee size k (--sizes), the probability that a",
    'committee of k drawn at random captures at least threshold = ceil(2k/3) seats, enough to decide the 2/3 vote',
    'alone: {figure, capture, model, population, shares_bps, sizes, rows: [{share_bps, share, cells: [{k, threshold,',
    'p}]}]}. p assumes an infinite population (binomial); --population N adds p_finite for N equally weighted members',
    'drawn without replacement (hypergeometric) and adversarial_members = round(s N). Probabilities are computed',
    'exactly and printed with 4 significant digits. The model and its assumptions: src/tasks/security.ts.',
  ].join('\n'),
  options: {
    validators: { type: 'string', valueName: 'N', description: 'number of validators (equal power), at least 1; required unless --committee' },
    byzantine: { type: 'string', valueName: 'F', default: '0', description: 'byzantine validators, at most floor((N-1)/3)' },
    seeds: { type: 'string', valueName: 'S', default: '1', description: 'number of seeded runs' },
    'first-seed': { type: 'string', valueName: 'X', default: '1', description: 'first seed of the batch' },
    heights: { type: 'string', valueName: 'H', default: '10', description: 'heights every honest node must decide' },
    'latency-ms': { type: 'string', valueName: 'MIN-MAX', default: '10-100', description: 'one-way message latency range, uniform' },
    drop: { type: 'string', valueName: 'P', default: '0', description: 'message loss probability, in [0, 1)' },
    duplicate: { type: 'string', valueName: 'P', default: '0', description: 'message duplication probability, in [0, 1)' },
    partition: { type: 'boolean', description: 'split the network in two groups once or twice during each run, then heal it' },
    seed: { type: 'string', valueName: 'X', description: 'replay exactly this seed (prints its details under "replay")' },
    committee: { type: 'boolean', description: 'print the review-committee capture probabilities instead of simulating' },
    // no `default` in these two specs: a value given without --committee must be detectable (and refused)
    shares: { type: 'string', valueName: 'BPS,...', description: `with --committee: the adversary's shares of the review weight, in bps (default: ${DEFAULT_SHARES_BPS.join(',')})` },
    sizes: { type: 'string', valueName: 'K,...', description: `with --committee: committee sizes, 1 to ${MAX_COMMITTEE_SIZE} (default: ${DEFAULT_COMMITTEE_SIZES.join(',')})` },
    population: { type: 'string', valueName: 'N', description: 'with --committee: also the finite model for N equally weighted members' },
  },
  async run(args, io) {
    if (optBool(args, 'committee')) return committeeTable(parseCommitteeArgs(args));
    simulate(parseSimulateArgs(args), io);
    return undefined;
  },
};
