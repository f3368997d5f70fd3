// Fault injection on real node processes (test/faults/, `npm run test:faults`): a 4-validator devnet on loopback whose
// processes a test can SIGKILL, SIGSTOP/SIGCONT and restart; a small transfer load (funded from the devnet faucet,
// submitted with broadcast_tx_commit, so the load knows which txs it saw committed); and the invariant checker run
// after every fault, over RPC on every running node:
//   - the chain resumes: every running node reaches a new height within `resumeWithinMs`;
//   - no fork: one block hash per height across all nodes (RPC `blockchain`), and across every "committed block" log
//     line of every process ever started (killed ones included);
//   - app hashes agree per height (header app_hash from every node, and each node's own abci_info app hash);
//   - every tx the load saw committed is found by `tx` (hash) on every node, at the height it was committed in;
//   - no validator signed conflicting votes: no evidence in any block and no double_sign slash (unless the test made a
//     duplicate key: `allowDuplicateVotes`).
// The randomness of a fault schedule comes from FAULT_SEED (printed; a fresh one when unset).
import type { Test } from 'tap';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { createDevnet, FAUCET_KEY_FILE, type DevnetNode } from '../../src/node/devnet.ts';
import { addressOf, keyFileFromJSON, generateKeyPair, type KeyPair } from '../../src/crypto/keys.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { signTx } from '../../src/codec/tx.ts';
import type { TxBody } from '../../src/codec/types.ts';
import { estimateGas } from '../../src/cli/tx.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import { NodeProcess, blockMetas, commitLogForks, killedAtTeardown, pollUntil } from './proc.ts';
import { freeBasePort } from './ports.ts';
import { tempDir } from './tmp.ts';
import { Rng } from './rng.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The seed of this run's fault schedule: FAULT_SEED, or a fresh one; printed either way so a run can be replayed. */
export function faultRng(t: Test): { rng: Rng; seed: number } {
  const env = process.env.FAULT_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) >>> 0 : Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
  t.comment(`FAULT_SEED=${seed}`);
  process.stderr.write(`FAULT_SEED=${seed}\n`);
  return { rng: new Rng(seed), seed };
}

export type NodeState = 'running' | 'stopped' | 'paused';

/** How a node's process is started: extra environment and Node options (a fault-injection preload), kept across restarts. */
export interface Launch {
  env?: Record<string, string>;
  execArgv?: string[];
}

export class FaultNet {
  readonly nodes: DevnetNode[];
  readonly dir: string;
  /** Every process ever started for node i (restarts append). */
  readonly procs: NodeProcess[][];
  readonly rpc: RpcClient[];
  readonly state: NodeState[];
  /** Per node: how `start` launches it (set before a start; restarts reuse it). */
  readonly launch: Launch[];
  private readonly all: NodeProcess[];

  constructor(nodes: DevnetNode[], dir: string, all: NodeProcess[]) {
    this.nodes = nodes;
    this.dir = dir;
    this.all = all;
    this.procs = nodes.map(() => []);
    this.rpc = nodes.map((n) => new RpcClient(n.rpc, { timeoutMs: 5_000 }));
    this.state = nodes.map(() => 'stopped');
    this.launch = nodes.map(() => ({}));
  }

  start(i: number): NodeProcess {
    if (this.state[i] !== 'stopped') throw new Error(`${this.nodes[i].name} is ${this.state[i]}`);
    const p = new NodeProcess(['start', '--home', this.nodes[i].home], this.launch[i].env, this.launch[i].execArgv);
    this.procs[i].push(p);
    this.all.push(p);
    this.state[i] = 'running';
    return p;
  }

  current(i: number): NodeProcess {
    return this.procs[i][this.procs[i].length - 1];
  }

  async kill(i: number): Promise<void> {
    const p = this.current(i);
    this.state[i] = 'stopped';
    await p.kill('SIGKILL');
  }

  pause(i: number): void {
    if (this.state[i] !== 'running') throw new Error(`${this.nodes[i].name} is ${this.state[i]}`);
    this.current(i).child.kill('SIGSTOP');
    this.state[i] = 'paused';
  }

  resume(i: number): void {
    if (this.state[i] !== 'paused') throw new Error(`${this.nodes[i].name} is ${this.state[i]}`);
    this.current(i).child.kill('SIGCONT');
    this.state[i] = 'running';
  }

  running(): number[] {
    return this.state.flatMap((s, i) => (s === 'running' ? [i] : []));
  }

  /** Null, or which process that should be running has exited (for pollUntil). */
  exited(): string | null {
    for (const i of this.running()) {
      const p = this.current(i);
      if (p.child.exitCode !== null || p.child.signalCode !== null) return `${this.nodes[i].name} exited (${p.child.exitCode ?? p.child.signalCode}); last lines: ${JSON.stringify(p.lines.slice(-5))}`;
    }
    return null;
  }

  async height(i: number): Promise<bigint> {
    return BigInt((await this.rpc[i].status()).sync_info.latest_block_height);
  }

  /** Highest height among the running nodes that answer. */
  async maxHeight(): Promise<bigint> {
    const hs = await Promise.all(this.running().map((i) => this.height(i).catch(() => 0n)));
    return hs.reduce((m, h) => (h > m ? h : m), 0n);
  }

  /** Heights of `nodes` (default: the running ones), in that order. */
  heights(nodes: readonly number[] = this.running()): Promise<bigint[]> {
    return Promise.all(nodes.map((i) => this.height(i)));
  }

  /** Waits until each of `nodes` (default: the running ones) is at `h` or above; returns the ms it took. */
  async waitAll(h: bigint, ms: number, what = `every running node at height ${h}`, nodes?: readonly number[]): Promise<number> {
    const t0 = Date.now();
    await pollUntil(what, ms, async () => ((await this.heights(nodes)).every((x) => x >= h) ? true : undefined), () => this.exited());
    return Date.now() - t0;
  }

  async close(): Promise<void> {
    await Promise.all(this.rpc.map((c) => c.close().catch(() => {})));
  }
}

export interface FaultNetOptions {
  validators?: number;
  fullNodes?: number;
  /**
   * Runs after createDevnet and before any process starts: rewrite a config.toml, copy a key, set `net.launch[i]`.
   * Nodes whose `launch` it leaves alone start plainly.
   */
  prepare?: (net: FaultNet) => Promise<void> | void;
  /** Nodes not started with the others (a test starts them later with `net.start`). */
  hold?: number[];
}

/** A devnet (createDevnet; 4 validators by default) in a temp dir, all started; every process is SIGKILLed at teardown. */
export async function startFaultNet(t: Test, opts: FaultNetOptions = {}): Promise<FaultNet> {
  const validators = opts.validators ?? 4;
  const fullNodes = opts.fullNodes ?? 0;
  const dir = tempDir('ac-faults-');
  const all = killedAtTeardown(t, dir.remove);
  const nodes = await createDevnet({ validators, fullNodes, dir: join(dir.path, 'net'), basePort: await freeBasePort(validators + fullNodes) });
  const net = new FaultNet(nodes, join(dir.path, 'net'), all);
  t.teardown(() => net.close());
  await opts.prepare?.(net);
  for (let i = 0; i < nodes.length; i++) if (!(opts.hold ?? []).includes(i)) net.start(i);
  await net.waitAll(2n, 90_000, 'the devnet committing height 2 on every node');
  return net;
}

// ------------------------------------------------------------------ load

export interface SeenTx {
  hash: string;
  height: bigint;
}

/**
 * Steady transfer load: `senders` accounts funded from the devnet faucet, each submitting one transfer at a time with
 * broadcast_tx_commit to a running node (its own first, another when that one is down), re-reading its nonce after
 * any failure. `seen` lists the txs the load saw committed (hash and height).
 */
export class Load {
  readonly seen: SeenTx[] = [];
  failures = 0;
  private stopped = false;
  private loops: Promise<void>[] = [];

  private readonly net: FaultNet;
  private readonly keys: KeyPair[];
  private readonly chainId: string;
  private readonly gasLimit: bigint;
  private readonly gasPrice: bigint;
  private readonly rng: Rng;

  private constructor(net: FaultNet, keys: KeyPair[], chainId: string, gasLimit: bigint, gasPrice: bigint, rng: Rng) {
    this.net = net;
    this.keys = keys;
    this.chainId = chainId;
    this.gasLimit = gasLimit;
    this.gasPrice = gasPrice;
    this.rng = rng;
  }

  static async start(net: FaultNet, faultRng: Rng, senders = 8): Promise<Load> {
    // One draw from the fault schedule's generator, at a fixed point: the load's own choices (timing-dependent) then
    // never shift the schedule, so FAULT_SEED replays the same faults.
    const rng = new Rng(faultRng.u32());
    const faucet = keyFileFromJSON(JSON.parse(await readFile(join(net.dir, FAUCET_KEY_FILE), 'utf8')));
    const c = net.rpc[0];
    const [status, params] = await Promise.all([c.status(), c.params()]);
    const chainId = status.node_info.network;
    const gasPrice = BigInt(params.fees.min_gas_price);
    const keys = Array.from({ length: senders }, (_, i) => generateKeyPair(sha256(new TextEncoder().encode(`fault-sender-${rng.u32()}-${i}`))));
    const probe: TxBody = { chainId, nonce: 1n << 20n, gasLimit: 1n, gasPrice, memo: '', msg: { type: 'send', value: { to: addressOf(keys[0].publicKey), amount: 1n } } };
    const gasLimit = estimateGas(params, probe, keys[0]);
    // Fund every sender with enough for ~100k transfers.
    let nonce = BigInt((await c.account(addressOf(faucet.publicKey))).next_nonce);
    const fund = 100_000n * (1n + gasLimit * gasPrice);
    const hashes: string[] = [];
    for (const k of keys) {
      const body: TxBody = { ...probe, nonce, msg: { type: 'send', value: { to: addressOf(k.publicKey), amount: fund } } };
      const tx = signTx({ ...body, gasLimit: estimateGas(params, body, faucet) }, faucet);
      const r = await c.broadcastTxSync(tx);
      if (r.code !== 0) throw new Error(`funding a sender: code ${r.code} ${r.log}`);
      hashes.push(toHex(sha256(tx)));
      nonce++;
    }
    await pollUntil('the senders funded', 60_000, async () => ((await c.tx(hashes[hashes.length - 1])).height !== undefined ? true : undefined), () => net.exited());
    const load = new Load(net, keys, chainId, gasLimit, gasPrice, rng);
    load.loops = keys.map((_, i) => load.loop(i));
    return load;
  }

  private async loop(i: number): Promise<void> {
    const key = this.keys[i];
    const addr = addressOf(key.publicKey);
    const to = sha256(new TextEncoder().encode(`fault-recipient-${i}`)).subarray(0, 20);
    // Own client per sender: broadcast_tx_commit waits for the block; a paused node must not hold up others.
    const clients = this.net.nodes.map((n) => new RpcClient(n.rpc, { timeoutMs: 12_000 }));
    try {
      while (!this.stopped) {
        const running = this.net.running();
        if (running.length === 0) {
          await sleep(500);
          continue;
        }
        const n = running.includes(i % this.net.nodes.length) ? i % this.net.nodes.length : running[this.rng.int(0, running.length - 1)];
        try {
          const nonce = BigInt((await clients[n].account(addr)).next_nonce);
          const tx = signTx({ chainId: this.chainId, nonce, gasLimit: this.gasLimit, gasPrice: this.gasPrice, memo: '', msg: { type: 'send', value: { to, amount: 1n } } }, key);
          const r = await clients[n].broadcastTxCommit(tx, { timeoutMs: 12_000 });
          if (r.check_tx.code !== 0 || r.tx_result.code !== 0 || BigInt(r.height) <= 0n) {
            this.failures++;
            await sleep(300);
            continue;
          }
          this.seen.push({ hash: r.hash.toUpperCase(), height: BigInt(r.height) });
        } catch {
          this.failures++;
          await sleep(300);
        }
      }
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

// ------------------------------------------------------------------ the invariant checker

export interface CheckOptions {
  label: string;
  load?: Load;
  /** How long the running nodes may take to reach a new height (default 30 s). */
  resumeWithinMs?: number;
  /** A test that runs one key in two places expects duplicate-vote evidence. */
  allowDuplicateVotes?: boolean;
}

/** What the checker found, by invariant: each list holds one line per violation (empty = the invariant holds). */
export interface Violations {
  resumed: string[];
  forks: string[];
  appHashes: string[];
  ownAppHash: string[];
  logForks: string[];
  missingTxs: string[];
  conflictingVotes: string[];
}

export interface CheckReport {
  /** Heights 1..H were checked. */
  H: bigint;
  violations: Violations;
  /** Figures for the test's comments: resume time, counts. */
  notes: string[];
}

/**
 * Runs every invariant on every running node and reports the violations (no assertion: a negative control uses it
 * to show that a check does fail). `checkInvariants` asserts that there are none.
 */
export async function findViolations(net: FaultNet, opts: CheckOptions): Promise<CheckReport> {
  const L = opts.label;
  const live = net.running();
  const v: Violations = { resumed: [], forks: [], appHashes: [], ownAppHash: [], logForks: [], missingTxs: [], conflictingVotes: [] };
  const notes: string[] = [];

  // The chain resumes: every running node passes the highest height seen now.
  const h0 = await net.maxHeight();
  const t0 = Date.now();
  try {
    await net.waitAll(h0 + 1n, opts.resumeWithinMs ?? 30_000, `${L}: every running node past height ${h0}`);
    notes.push(`chain resumed: every running node passed height ${h0} within ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    v.resumed.push(String(err));
  }

  // No fork, app hashes agree (RPC, every running node, heights 1..H).
  const H = (await net.heights(live)).reduce((m, h) => (h < m ? h : m));
  const metas = await Promise.all(live.map((i) => blockMetas(net.rpc[i], H)));
  for (let h = 1n; h <= H; h++) {
    const hashes = new Set(metas.map((m) => m.get(h)?.hash ?? 'missing'));
    if (hashes.size !== 1 || hashes.has('missing')) v.forks.push(`${h}: ${[...hashes].join(' ')}`);
    const apps = new Set(metas.map((m) => m.get(h)?.appHash ?? 'missing'));
    if (apps.size !== 1) v.appHashes.push(`${h}: ${[...apps].join(' ')}`);
  }
  // Each node's own app state after its last block equals the app hash the next block (if any) carries.
  const infos = await Promise.all(live.map(async (i) => ({ i, r: (await net.rpc[i].abciInfo()).response })));
  for (const { i, r } of infos) {
    const ownHex = Buffer.from(r.last_block_app_hash, 'base64').toString('hex').toUpperCase(); // abci_info: base64
    // The next block's header (from the first running node; wait for it if it is not committed yet).
    const h = BigInt(r.last_block_height) + 1n;
    try {
      const header = await pollUntil(`${L}: header ${h}`, 20_000, async () => (await net.rpc[live[0]].header(h)).header, () => net.exited());
      if (header.app_hash.toUpperCase() !== ownHex) v.ownAppHash.push(`${net.nodes[i].name} after ${r.last_block_height}: ${ownHex} vs header ${h} ${header.app_hash}`);
    } catch (err) {
      v.ownAppHash.push(`${net.nodes[i].name}: ${String(err)}`);
    }
  }

  // No fork in the logs of every process ever started (killed and restarted ones too).
  const { byHeight } = commitLogForks(net.procs.flat());
  v.logForks = [...byHeight].filter(([h, s]) => s.size !== 1 || (h <= H && metas[0].get(h)?.hash !== [...s][0])).map(([h, s]) => `${h}: ${[...s].join(' ')}`);
  notes.push(`commit logs: ${byHeight.size} heights, ${net.procs.flat().length} processes`);

  // Every tx the load saw committed is there, on every running node, at its height.
  if (opts.load !== undefined) {
    const seen = opts.load.seen.filter((s) => s.height <= H);
    for (const i of live) {
      for (let k = 0; k < seen.length; k += 16) {
        await Promise.all(
          seen.slice(k, k + 16).map(async (s) => {
            try {
              const r = await net.rpc[i].tx(s.hash);
              if (BigInt(r.height) !== s.height) v.missingTxs.push(`${net.nodes[i].name} ${s.hash}: height ${r.height}, committed at ${s.height}`);
            } catch (err) {
              v.missingTxs.push(`${net.nodes[i].name} ${s.hash}@${s.height}: ${String(err)}`);
            }
          }),
        );
      }
    }
    notes.push(`load: ${seen.length} committed txs checked (of ${opts.load.seen.length} seen; ${opts.load.failures} failed submissions retried)`);
  }

  // No conflicting votes: no evidence in any block, no double_sign slash.
  const c = net.rpc[live[0]];
  for (let h = 1n; h <= H; h += 8n) {
    const top = h + 7n > H ? H : h + 7n;
    const hs: bigint[] = [];
    for (let x = h; x <= top; x++) hs.push(x);
    const blocks = await Promise.all(hs.map((x) => c.block(x)));
    for (const b of blocks) {
      const ev = (b.block.evidence?.evidence ?? []) as unknown[];
      if (ev.length > 0) v.conflictingVotes.push(`evidence in block ${b.block.header.height}: ${JSON.stringify(ev).slice(0, 300)}`);
    }
  }
  const slashes = Number((await c.blockSearch(`slash.kind = 'double_sign'`)).total_count);
  if (slashes > 0) v.conflictingVotes.push(`${slashes} block(s) with a double_sign slash`);
  const refused = net.procs.flat().flatMap((p) => p.lines.filter((l) => l.msg === 'signer refused'));
  notes.push(`checked heights 1..${H}; 'signer refused' log lines: ${refused.length}`);
  return { H, violations: v, notes };
}

/** Runs every invariant on every running node; each one is a tap assertion. Returns the height checked up to. */
export async function checkInvariants(t: Test, net: FaultNet, opts: CheckOptions): Promise<bigint> {
  const L = opts.label;
  const live = net.running();
  t.ok(live.length >= 3, `${L}: ${live.length} nodes running for the check`);
  const { H, violations: v, notes } = await findViolations(net, opts);
  t.same(v.resumed, [], `${L}: the chain resumed within ${(opts.resumeWithinMs ?? 30_000) / 1000} s`);
  t.same(v.forks.slice(0, 10), [], `${L}: one block hash per height on all ${live.length} running nodes (heights 1..${H})`);
  t.same(v.appHashes.slice(0, 10), [], `${L}: header app hashes agree per height (1..${H})`);
  t.same(v.ownAppHash, [], `${L}: each node's own app hash (abci_info) equals the app_hash in the next block's header`);
  t.same(v.logForks.slice(0, 10), [], `${L}: one hash per height across every process's commit log`);
  if (opts.load !== undefined) {
    t.same(v.missingTxs.slice(0, 10), [], `${L}: every tx the load saw committed is found by hash on every running node, at its height`);
    t.ok(opts.load.seen.length > 0, `${L}: the load committed ${opts.load.seen.length} txs`);
  }
  if (opts.allowDuplicateVotes) t.comment(`${L}: conflicting votes (duplicate key expected): ${v.conflictingVotes.length} finding(s)`);
  else t.same(v.conflictingVotes.slice(0, 10), [], `${L}: no evidence of conflicting votes and no double_sign slash (heights 1..${H})`);
  for (const n of notes) t.comment(`${L}: ${n}`);
  return H;
}
