// The deterministic multi-node consensus simulation: see simulation.ts for the model and checker.ts for the checks.
export {
  ALL_BEHAVIOURS,
  DEFAULT_BEHAVIOURS,
  checkOptions,
  defaultTimeouts,
  maxFaulty,
  percentile,
  runFailed,
  runMany,
  runSimulation,
  simValidatorSet,
  type Behaviour,
  type ManyOptions,
  type ManySummary,
  type Percentiles,
  type RunResult,
  type SimOptions,
} from './simulation.ts';
export { Checker } from './checker.ts';
export { Rng, splitmix32 } from './prng.ts';
export { EventQueue } from './queue.ts';
