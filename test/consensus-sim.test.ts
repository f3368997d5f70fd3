// Seeded multi-node simulations of the consensus core (src/consensus/sim): safety, liveness and evidence over
// hundreds of seeds with byzantine nodes, loss, duplication and partitions; determinism of a seed; and negative
// controls showing that the checker does see a fork and a lost height when the assumptions are broken.
import t from 'tap';
import { Checker, runMany, runSimulation, type ManySummary, type RunResult, type SimOptions } from '../src/consensus/sim/index.ts';
import { parseSimulateArgs, replayCommand, simulate } from '../src/cli/simulate.ts';
import { runCli } from '../src/cli/index.ts';
import type { Io } from '../src/cli/command.ts';
import { AppError } from '../src/errors.ts';

const BASE = { latencyMs: [10, 100] as const, drop: 0, duplicate: 0, partition: false };

function failures(s: ManySummary): string {
  return s.failures.map((r) => `seed ${r.seed}: ${[...r.safetyViolations, r.livenessFailure ?? '', ...r.evidenceMissing].filter((x) => x !== '').join('; ')}`).join('\n');
}

t.test('hundreds of seeded runs: no safety violation, every height decided, every double vote caught', async (t) => {
  // name, options, seeds. 550 runs in all, each behaviour (equivocating proposer, double voter, silent, nil voter)
  // in turn across seeds.
  const rows: [string, Omit<Parameters<typeof runMany>[0], 'seeds'>, number][] = [
    ['4 validators, 1 byzantine', { ...BASE, validators: 4, byzantine: 1, heights: 8 }, 400],
    ['4 validators, 1 byzantine, 10% loss, duplicates, partitions', { ...BASE, validators: 4, byzantine: 1, heights: 6, drop: 0.1, duplicate: 0.05, partition: true, firstSeed: 1000 }, 60],
    ['7 validators, 2 byzantine, 5% loss, partitions', { ...BASE, validators: 7, byzantine: 2, heights: 5, drop: 0.05, partition: true, firstSeed: 2000 }, 50],
    ['10 validators, 3 byzantine, slow links', { ...BASE, validators: 10, byzantine: 3, heights: 4, latencyMs: [50, 400], firstSeed: 3000 }, 30],
    ['3 honest validators, no faults', { ...BASE, validators: 3, byzantine: 0, heights: 10, firstSeed: 4000 }, 10],
  ];
  let runs = 0;
  for (const [name, o, seeds] of rows) {
    const s = runMany({ ...o, seeds });
    runs += s.runs;
    t.equal(s.safetyViolations, 0, `${name}: no safety violation\n${failures(s)}`);
    t.equal(s.livenessFailures, 0, `${name}: no liveness failure\n${failures(s)}`);
    t.equal(s.evidenceMissing, 0, `${name}: every delivered double vote has evidence\n${failures(s)}`);
    t.equal(s.heightsDecided, s.runs * o.heights, `${name}: all heights decided by every honest node`);
    if (o.byzantine > 0) t.ok(s.doubleVotesDelivered > 0 && s.evidenceFound === s.doubleVotesDelivered, `${name}: double votes happened (${s.doubleVotesDelivered}) and were all reported`);
    t.ok(s.finalityMs.p50 > 0 && s.finalityMs.p50 <= s.finalityMs.p99 && s.finalityMs.p99 <= s.finalityMs.max, `${name}: finality percentiles are ordered`);
  }
  t.ok(runs >= 200, `${runs} seeded runs`);
});

t.test('finality under 3 s at p99 with 4 validators, one byzantine, on a LAN-like network', async (t) => {
  const s = runMany({ ...BASE, validators: 4, byzantine: 1, heights: 10, seeds: 40, firstSeed: 5000 });
  t.equal(s.safetyViolations + s.livenessFailures, 0);
  t.ok(s.finalityMs.p99 <= 3000, `p99 finality ${s.finalityMs.p99} ms`);
});

t.test('a run is a function of its options: the same seed replays exactly, another seed differs', async (t) => {
  const o: SimOptions = { ...BASE, validators: 7, byzantine: 2, heights: 4, drop: 0.1, duplicate: 0.1, partition: true, seed: 77 };
  const a = runSimulation(o);
  const traceA: string[] = [];
  const traceB: string[] = [];
  const b = runSimulation({ ...o, trace: (l) => traceA.push(l) });
  runSimulation({ ...o, trace: (l) => traceB.push(l) });
  t.same(b, a, 'identical results');
  t.same(traceB, traceA, 'identical traces');
  t.ok(traceA.length > 10);
  const c = runSimulation({ ...o, seed: 78 });
  t.not(JSON.stringify(c.finalityMs), JSON.stringify(a.finalityMs), 'a different seed gives a different run');
});

t.test('negative control: more than f colluding byzantine nodes fork the chain, and the checker sees it', async (t) => {
  const fork = { ...BASE, validators: 4, heights: 5, behaviours: ['fork'] as const, allowExcessByzantine: true };
  const broken = runMany({ ...fork, byzantine: 2, seeds: 10 });
  t.equal(broken.safetyViolations, 10, 'every run with 2 of 4 forking forks');
  t.match(broken.failures[0].safetyViolations.join('\n'), /height \d+/);
  const held = runMany({ ...fork, byzantine: 1, seeds: 10, firstSeed: 100 });
  t.equal(held.safetyViolations, 0, 'with f = 1 forking node, no fork');
  t.equal(held.livenessFailures, 0);
});

t.test('negative control: with more than f silent validators no height is decided, reported as a liveness failure', async (t) => {
  const r = runSimulation({ ...BASE, validators: 4, byzantine: 2, heights: 2, seed: 5, behaviours: ['silent'], allowExcessByzantine: true, timeLimitMs: 30_000 });
  t.equal(r.heightsDecided, 0);
  t.match(r.livenessFailure, /not every honest node decided 2 heights/);
  t.same(r.safetyViolations, []);
});

t.test('checker: conflicting decisions, double decisions, and double votes without evidence', async (t) => {
  const c = new Checker([true, true, true, false]);
  c.onProposed(1, 'A');
  c.onProposed(1, 'B');
  t.equal(c.onDecide(0, 1, 'A'), null);
  t.equal(c.onDecide(1, 1, 'A'), null);
  t.match(c.onDecide(2, 1, 'B'), /height 1/, 'a second value at one height is a violation');
  t.match(c.onDecide(0, 1, 'A'), /twice/, 'deciding a height twice is a violation');
  t.equal(c.onDecide(3, 1, 'C'), null, 'a byzantine node deciding anything is not checked');
  t.equal(c.violations.length, 2);
  c.onVoteAccepted(3, 1, 0, 1, 'A', 10);
  c.onVoteAccepted(3, 1, 0, 1, 'B', 20);
  t.equal(c.doubleVotesDelivered, 1);
  t.equal(c.evidenceMissing().length, 1, 'a double vote without evidence is reported');
  t.same(c.evidenceMissing(100, 50, 60), [], 'unless the run ended within the grace period after the heal');
  c.onEvidence(0, 3, 1, 0, 1, 30);
  t.same(c.evidenceMissing(), []);
  t.equal(c.evidenceFound, 1);
});

interface Captured {
  io: Io;
  out: () => string;
  err: () => string;
}
function capture(): Captured {
  let out = '';
  let err = '';
  return { io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }, out: () => out, err: () => err };
}

t.test('agentcluster simulate: JSON summary, exit 0 when every run passes', async (t) => {
  const c = capture();
  const code = await runCli(['simulate', '--validators', '4', '--byzantine', '1', '--seeds', '5', '--heights', '3', '--drop', '0.05'], c.io);
  t.equal(code, 0, c.err());
  const s = JSON.parse(c.out()) as Record<string, unknown>;
  t.equal(s.runs, 5);
  t.equal(s.heights_decided, 15);
  t.equal(s.safety_violations, 0);
  t.equal(s.liveness_failures, 0);
  t.same(s.failing_seeds, []);
  t.match(s.finality_ms, { p50: Number, p99: Number, max: Number });
  const replay = capture();
  t.equal(await runCli(['simulate', '--validators', '4', '--byzantine', '1', '--heights', '3', '--seed', '3'], replay.io), 0);
  t.match(JSON.parse(replay.out()), { runs: 1, first_seed: 3, replay: { seed: 3, byzantine_nodes: Array } });
});

t.test('agentcluster simulate: bad arguments get a usage error that says what to fix', async (t) => {
  const rows: [string[], RegExp][] = [
    [['--validators', '4', '--byzantine', '2'], /at most f = floor\(\(N-1\)\/3\) = 1/],
    [['--validators', 'x'], /--validators must be a non-negative integer/],
    [['--validators', '0'], /--validators must be between 1 and/],
    [['--validators', '4', '--drop', '1'], /--drop must be a probability in \[0, 1\)/],
    [['--validators', '4', '--latency-ms', '100-10'], /--latency-ms must be MIN-MAX/],
    [['--validators', '4', '--seed', '3', '--seeds', '9'], /do not combine it with --seeds/],
    [['--byzantine', '1'], /validators/],
  ];
  for (const [argv, msg] of rows) {
    const c = capture();
    const code = await runCli(['simulate', ...argv], c.io);
    t.equal(code, 2, `${argv.join(' ')}: usage exit code`);
    t.match(c.err(), msg, argv.join(' '));
    t.equal(c.out(), '', 'nothing on stdout');
  }
});

t.test('agentcluster simulate: a failing run exits 1 with its seed and the command that replays it', async (t) => {
  const req = parseSimulateArgs({ positionals: [], values: { validators: '4', byzantine: '1', seeds: '3', heights: '2' } });
  const failing = runSimulation({ ...req.options, seed: 2 });
  const bad: RunResult = { ...failing, safetyViolations: ['height 1 decided A and B'] };
  const c = capture();
  let thrown: unknown = null;
  try {
    simulate(req, c.io, () => ({ ...runMany({ ...req.options, seeds: 1 }), runs: 3, safetyViolations: 1, failures: [bad], failingSeeds: [2] }));
  } catch (e) {
    thrown = e;
  }
  t.ok(thrown instanceof AppError, 'fails with an AppError (exit 1)');
  t.match((thrown as Error).message, /1 of 3 runs failed \(1 with a safety violation\); replay the first with: .* --seed 2$/);
  t.match(c.err(), /seed 2: safety: height 1 decided A and B/);
  t.match(c.err(), new RegExp(`replay: ${replayCommand(req.options, 2).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  t.match(JSON.parse(c.out()), { safety_violations: 1, failing_seeds: [2] });
});
