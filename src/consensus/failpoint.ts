// Crash points for recovery tests (CometBFT's `fail` package): when the environment names a point, the process kills
// itself with SIGKILL the first time it passes there, so a test can crash the node at an exact step and check what
// restart recovers. Inert unless AGENTCLUSTER_FAILPOINT is set.
const armed = process.env.AGENTCLUSTER_FAILPOINT ?? '';

export type Failpoint = 'after_decided_saved' | 'after_end_height' | 'after_own_vote_wal' | 'after_block_committed';

export function failpoint(name: Failpoint): void {
  if (armed === name) process.kill(process.pid, 'SIGKILL');
}
