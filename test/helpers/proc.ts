// Real node processes for end-to-end tests: start `agentcluster` under this Node, read its JSON log lines, kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RpcClient } from '../../src/rpc/client.ts';

export const BIN = fileURLToPath(new URL('../../bin/agentcluster.ts', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export class NodeProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];

  /** `execArgv`: options for Node itself, before the script (e.g. `--import` of a fault-injection preload). */
  constructor(args: string[], env: Record<string, string> = {}, execArgv: string[] = []) {
    this.child = spawn(process.execPath, [...execArgv, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let buf = '';
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ level: 0, msg: line });
        }
        for (const w of this.waiters.splice(0)) w();
      }
    });
    this.child.stdout!.resume();
    // 'close', not 'exit': it comes after stderr has ended, so every line the process wrote is in `lines` by then.
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })));
  }

  /** Heights of the "committed block" lines so far, with their block hashes. */
  commits(): Array<{ height: bigint; hash: string }> {
    return this.lines.filter((l) => l.msg === 'committed block').map((l) => ({ height: BigInt(l.height as string), hash: l.hash as string }));
  }

  /** Highest height this process logged as committed (0 if none). */
  head(): bigint {
    return this.commits().reduce((m, c) => (c.height > m ? c.height : m), 0n);
  }

  /** Resolves when a log line matches, or rejects after timeoutMs (or if the process exits first). */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.find(pred);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => reject(new Error(`timed out; last lines: ${JSON.stringify(this.lines.slice(-5))}`)), timeoutMs);
      if (check()) return;
      const again = () => {
        if (!check()) this.waiters.push(again);
      };
      this.waiters.push(again);
      void this.exited.then(() => {
        if (!check()) {
          clearTimeout(timer);
          reject(new Error(`process exited; last lines: ${JSON.stringify(this.lines.slice(-5))}`));
        }
      });
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/**
 * Polls `probe` until it returns a value other than undefined (errors count as "not yet"), or throws after ms, or as
 * soon as `alive` names a process that died.
 */
export async function pollUntil<T>(what: string, ms: number, probe: () => Promise<T | undefined>, alive: () => string | null): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    const dead = alive();
    if (dead !== null) throw new Error(`${what}: ${dead}`);
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last === null ? '' : ` (last error: ${String(last)})`}`);
    await new Promise((r) => setTimeout(r, 400));
  }
}

/**
 * A list for the processes a test starts: all SIGKILLed at the test's teardown (then `after` runs), or when this
 * process exits without running it (a timeout of the whole file), so no node outlives its test.
 */
export function killedAtTeardown(t: { teardown(fn: () => unknown): void }, after: () => void = () => {}): NodeProcess[] {
  const procs: NodeProcess[] = [];
  const killAll = () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  t.teardown(async () => {
    process.off('exit', killAll);
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    after();
  });
  return procs;
}

/**
 * No fork in the commit logs: the heights at which the "committed block" lines of `procs` (restarted and killed ones
 * included) name more than one block hash, as "H: hash hash" lines; `byHeight` holds every height's hashes (upper case).
 */
export function commitLogForks(procs: readonly NodeProcess[]): { forks: string[]; byHeight: Map<bigint, Set<string>> } {
  const byHeight = new Map<bigint, Set<string>>();
  for (const p of procs) {
    for (const c of p.commits()) {
      let s = byHeight.get(c.height);
      if (s === undefined) byHeight.set(c.height, (s = new Set()));
      s.add(c.hash.toUpperCase());
    }
  }
  const forks = [...byHeight].filter(([, s]) => s.size !== 1).map(([h, s]) => `${h}: ${[...s].join(' ')}`);
  return { forks, byHeight };
}

/** Block hash and header app_hash (upper case) by height for heights 1..max, from node `c` (`blockchain`, 20 metas per call). */
export async function blockMetas(c: RpcClient, max: bigint): Promise<Map<bigint, { hash: string; appHash: string }>> {
  const out = new Map<bigint, { hash: string; appHash: string }>();
  for (let hi = max; hi >= 1n; hi -= 20n) {
    const r = await c.blockchain(hi - 19n > 1n ? hi - 19n : 1n, hi);
    for (const m of r.block_metas) out.set(BigInt(m.header.height), { hash: m.block_id.hash.toUpperCase(), appHash: m.header.app_hash.toUpperCase() });
  }
  return out;
}
