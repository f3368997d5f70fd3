// `agentcluster bench`: the load benchmark (DESIGN.md section 7). It funds K fresh accounts from a faucet, signs every
// transfer of the run before the timed window (in worker threads: noble signs ~1,600/s per core, so signing inside the
// window would cap the rate), then for S seconds releases them at R per second spread across the nodes, and times each
// one from broadcast_tx_sync to the NewBlock event of the block that holds it. Prints one JSON object.
//
// Ordering: the mempool takes a sender's txs only gap-free in nonce order, so each account always talks to the same
// node, one request at a time; the accounts run in parallel.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { AppError } from '../errors.ts';
import { addressOf, generateKeyPair, keyFileFromJSON, sign, verify, type KeyPair } from '../crypto/keys.ts';
import { fromBase64, toBase64, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { signTx } from '../codec/tx.ts';
import type { TxBody } from '../codec/types.ts';
import { RpcClient, parseUint, type SubscriptionEvent } from '../rpc/client.ts';
import { homePaths } from '../node/config.ts';
import { sampleValue } from '../node/metrics.ts';
import { FAUCET_KEY_FILE, FAUCET_KEY_NAME, readDevnetNodes } from '../node/devnet.ts';
import { Keyring } from './keyring.ts';
import { estimateGas } from './tx.ts';
import { optString, UsageError, type Command, type Io } from './command.ts';

/** broadcast_tx_sync's code for a full mempool: the tx is retried (the pool empties with the next block). */
const MEMPOOL_FULL_CODE = 45;
const MEMPOOL_FULL_RETRY_MS = 50;
/** Below this many txs signing in-process beats starting workers. */
const WORKER_THRESHOLD = 2_000;
const TRANSFER_AMOUNT = 1n;

export interface BenchOptions {
  nodes: string[];
  durationS: number;
  /** Offered load, tx/s. */
  rate: number;
  accounts: number;
  faucet: KeyPair;
  /** How long to wait after the window for submitted txs to commit; default 15 s. */
  drainMs?: number;
  /** Signing threads; default: every core. */
  workers?: number;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface BenchResult {
  nodes: string[];
  duration_s: number;
  rate: number;
  accounts: number;
  /** Txs the nodes accepted (broadcast_tx_sync code 0) during the window. */
  submitted: number;
  /** Refused by a node's checkTx (other than a full mempool, which is retried), by code. */
  rejected: number;
  rejected_codes: Record<string, number>;
  /** Transport failures (timeouts, connection errors). */
  errors: number;
  /** Txs due in the window that the client did not get to send (it fell behind). */
  unsent: number;
  /** Submitted txs seen in a committed block (during the window or the drain after it). */
  committed: number;
  /** Of those, txs that failed in the block (non-zero result code). */
  failed_in_block: number;
  committed_in_window: number;
  /** committed_in_window / duration_s. */
  tps: number;
  /** submitted / duration_s. */
  submitted_tps: number;
  latency_ms: { p50: number | null; p90: number | null; p99: number | null; max: number | null; mean: number | null };
  /** Blocks committed during the window. */
  blocks: number;
  block_interval_ms: number | null;
  txs_per_block_max: number;
  start_height: string;
  end_height: string;
  sign_per_s: number;
  verify_per_s_per_core: number;
  cores: number;
  validators: number;
  /** cores x verify_per_s_per_core / validators (DESIGN.md section 7). */
  verify_ceiling_tps: number;
  /** tps / verify_ceiling_tps. */
  ceiling_ratio: number;
  /** Largest process_resident_memory_bytes seen per node (from its /metrics), MB; null when the node has no metrics. */
  rss_mb: Record<string, number | null>;
}

// ---------------- signing (in workers for big runs) ----------------

export interface SignJob {
  seed: Uint8Array;
  to: Uint8Array;
  firstNonce: bigint;
  count: number;
}

export interface SignParams {
  chainId: string;
  gasLimit: bigint;
  gasPrice: bigint;
  amount: bigint;
}

function signJob(p: SignParams, job: SignJob): Uint8Array[] {
  const key = generateKeyPair(job.seed);
  const txs: Uint8Array[] = [];
  for (let n = 0; n < job.count; n++) {
    const body: TxBody = {
      chainId: p.chainId,
      nonce: job.firstNonce + BigInt(n),
      gasLimit: p.gasLimit,
      gasPrice: p.gasPrice,
      memo: '',
      msg: { type: 'send', value: { to: job.to, amount: p.amount } },
    };
    txs.push(signTx(body, key));
  }
  return txs;
}

/** One buffer and the lengths, so that a worker's output is transferred, not cloned tx by tx. */
function pack(txs: Uint8Array[]): { buf: Uint8Array; lens: Uint32Array } {
  const lens = new Uint32Array(txs.length);
  let total = 0;
  txs.forEach((tx, i) => {
    lens[i] = tx.length;
    total += tx.length;
  });
  const buf = new Uint8Array(total);
  let off = 0;
  for (const tx of txs) {
    buf.set(tx, off);
    off += tx.length;
  }
  return { buf, lens };
}

function unpack(buf: Uint8Array, lens: Uint32Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  for (const len of lens) {
    out.push(buf.subarray(off, off + len));
    off += len;
  }
  return out;
}

// This same module is the worker's entry: started with role 'bench-sign', it signs its jobs and posts them back.
if (!isMainThread && (workerData as { role?: string } | null)?.role === 'bench-sign') {
  const { params, jobs } = workerData as { params: SignParams; jobs: SignJob[] };
  const packed = jobs.map((j) => pack(signJob(params, j)));
  parentPort!.postMessage(
    packed,
    packed.flatMap((p) => [p.buf.buffer as ArrayBuffer, p.lens.buffer as ArrayBuffer]),
  );
}

/** Signs each job's transfers (nonces firstNonce..), in `workers` threads when there are at least `threshold` txs. */
export async function signAll(params: SignParams, jobs: SignJob[], workers: number, threshold = WORKER_THRESHOLD): Promise<Uint8Array[][]> {
  const total = jobs.reduce((s, j) => s + j.count, 0);
  if (workers <= 1 || total < threshold) return jobs.map((j) => signJob(params, j));
  // Jobs are dealt round-robin so that each worker gets about the same number of txs.
  const shares: number[][] = Array.from({ length: workers }, () => []);
  jobs.forEach((_, i) => shares[i % workers].push(i));
  const out: Uint8Array[][] = new Array(jobs.length);
  await Promise.all(
    shares
      .filter((s) => s.length > 0)
      .map(
        (share) =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(new URL(import.meta.url), { workerData: { role: 'bench-sign', params, jobs: share.map((i) => jobs[i]) } });
            w.once('message', (packed: Array<{ buf: Uint8Array; lens: Uint32Array }>) => {
              packed.forEach((p, k) => (out[share[k]] = unpack(p.buf, p.lens)));
              resolve();
            });
            w.once('error', reject);
            w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a signing worker exited with code ${code}`))));
          }),
      ),
  );
  return out;
}

// ---------------- measurements ----------------

/** Single-thread native (OpenSSL, node:crypto) ed25519 verifications per second, over about `ms`. */
export function measureVerifyRate(ms = 1000): number {
  const keys = Array.from({ length: 16 }, () => generateKeyPair());
  const msg = randomBytes(150); // about a transfer's sign bytes
  const sigs = keys.map((k) => sign(msg, k.secretKey));
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 64; i++, n++) {
      const k = n % keys.length;
      if (!verify(sigs[k], msg, keys[k].publicKey)) throw new Error('verify failed on a valid signature');
    }
    elapsed = performance.now() - start;
  }
  return (n * 1000) / elapsed;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function fetchRssMb(url: string): Promise<number | null | 'absent'> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (res.status === 404) return 'absent';
    if (!res.ok) return null;
    const v = sampleValue(await res.text(), 'process_resident_memory_bytes');
    return v === null ? 'absent' : v / 1024 / 1024;
  } catch {
    return null;
  }
}

// ---------------- submission ----------------

/** The server's most requests per JSON-RPC batch (MAX_BATCH_REQUESTS in src/rpc/server.ts). */
const MAX_BATCH = 10;

/** broadcast_tx_sync for each tx in one JSON-RPC batch; returns each tx's check code (-1 for a JSON-RPC error). */
async function broadcastBatch(url: string, txs: Uint8Array[]): Promise<number[]> {
  const body = JSON.stringify(txs.map((tx, id) => ({ jsonrpc: '2.0', id, method: 'broadcast_tx_sync', params: { tx: toBase64(tx) } })));
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) });
  const answers = (await res.json()) as Array<{ id: number; result?: { code: number }; error?: unknown }> | { error?: unknown };
  if (!Array.isArray(answers)) throw new Error(`batch refused: ${JSON.stringify(answers).slice(0, 200)}`);
  const codes = new Array<number>(txs.length).fill(-1);
  for (const a of answers) if (typeof a.id === 'number' && a.result !== undefined) codes[a.id] = a.result.code;
  return codes;
}

// ---------------- the run ----------------

interface Tracked {
  submittedAt: number;
  committedAt?: number;
  code?: number;
}

interface SeenBlock {
  height: bigint;
  at: number;
  txs: number;
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const log = opts.log ?? (() => {});
  const K = opts.accounts;
  const clients = opts.nodes.map((url) => new RpcClient(url, { timeoutMs: 15_000 }));
  const main = clients[0];
  try {
    const [status, params, vals] = await Promise.all([main.status(), main.params(), main.validators()]);
    const chainId = status.node_info.network;
    const validators = Number(vals.total);
    const total = Math.ceil(opts.durationS * opts.rate);
    const perAccount = Array.from({ length: K }, (_, i) => Math.floor(total / K) + (i < total % K ? 1 : 0));
    const seeds = Array.from({ length: K }, () => new Uint8Array(randomBytes(32)));
    const keys = seeds.map((s) => generateKeyPair(s));
    const addrs = keys.map((k) => addressOf(k.publicKey));
    const gasPrice = BigInt(params.fees.min_gas_price);
    // Every transfer has the same shape; the gas limit is estimated once on the largest nonce, so it covers them all.
    const probe: TxBody = {
      chainId,
      nonce: BigInt(Math.max(...perAccount)),
      gasLimit: 1n,
      gasPrice,
      memo: '',
      msg: { type: 'send', value: { to: addrs[0], amount: TRANSFER_AMOUNT } },
    };
    const gasLimit = estimateGas(params, probe, keys[0]);
    const costPerTx = TRANSFER_AMOUNT + gasLimit * gasPrice;

    // ---- fund the accounts from the faucet ----
    const faucetAddr = addressOf(opts.faucet.publicKey);
    const faucetAccount = await main.account(faucetAddr);
    let faucetNonce = parseUint(faucetAccount.nonce, 'faucet nonce');
    const need = perAccount.reduce((s, n) => s + BigInt(n + 1) * costPerTx, 0n);
    const fundGas = estimateGas(params, { ...probe, nonce: faucetNonce + BigInt(K), msg: { type: 'send', value: { to: addrs[0], amount: need } } }, opts.faucet);
    if (parseUint(faucetAccount.balance, 'faucet balance') < need + BigInt(K) * fundGas * gasPrice) {
      throw new AppError('INSUFFICIENT_FUNDS', `the faucet ${toHex(faucetAddr)} holds ${faucetAccount.balance} uacc; this run needs about ${need} uacc: lower --rate, --duration or --accounts`);
    }
    log(`funding ${K} accounts from ${toHex(faucetAddr)}`);
    const target = faucetNonce + BigInt(K);
    for (let i = 0; i < K; i++) {
      const amount = BigInt(perAccount[i] + 1) * costPerTx;
      const tx = signTx({ ...probe, nonce: faucetNonce, gasLimit: fundGas, msg: { type: 'send', value: { to: addrs[i], amount } } }, opts.faucet);
      for (;;) {
        const r = await main.broadcastTxSync(tx);
        if (r.code === 0) break;
        if (r.code === MEMPOOL_FULL_CODE) {
          await sleep(200);
          continue;
        }
        throw new AppError('INTERNAL', `funding transfer ${i} was refused: code ${r.code}: ${r.log}`);
      }
      faucetNonce++;
    }
    // Every node checks txs against its own committed state: wait until each has the funding.
    const fundDeadline = Date.now() + 60_000;
    for (const c of clients) {
      while (parseUint((await c.account(faucetAddr)).nonce) < target) {
        if (Date.now() > fundDeadline) throw new AppError('INTERNAL', `the funding transfers were not committed on ${c.url} within 60 s; is the chain making blocks?`);
        await sleep(200);
      }
    }

    // ---- sign everything before the window ----
    const workers = Math.max(1, opts.workers ?? availableParallelism());
    log(`signing ${total} transfers${total >= WORKER_THRESHOLD && workers > 1 ? ` in ${workers} workers` : ''}`);
    const signStart = performance.now();
    const signed = await signAll(
      { chainId, gasLimit, gasPrice, amount: TRANSFER_AMOUNT },
      perAccount.map((count, i) => ({ seed: seeds[i], to: addrs[(i + 1) % K], firstNonce: 0n, count })),
      workers,
    );
    const signPerS = total / ((performance.now() - signStart) / 1000);

    // ---- commit tracking: NewBlock events from the first node ----
    const tracked = new Map<string, Tracked>();
    const blocks: SeenBlock[] = [];
    let lastHeight = parseUint((await main.status()).sync_info.latest_block_height);
    const startHeight = lastHeight;
    const onBlock = (height: bigint, txs: string[], codes: number[], at: number) => {
      if (height <= lastHeight) return;
      lastHeight = height;
      blocks.push({ height, at, txs: txs.length });
      txs.forEach((b64, i) => {
        const t = tracked.get(toHex(sha256(fromBase64(b64))));
        if (t !== undefined && t.committedAt === undefined) {
          t.committedAt = at;
          t.code = codes[i] ?? 0;
        }
      });
    };
    // Heights the subscription skipped (or everything, if it broke) are read over HTTP, timed when read.
    let filling: Promise<void> = Promise.resolve();
    const fillTo = (height: bigint) => {
      filling = filling.then(async () => {
        for (let h = lastHeight + 1n; h <= height; h++) {
          const [b, r] = await Promise.all([main.block(h), main.blockResults(h)]);
          onBlock(h, b.block.data.txs ?? [], (r.txs_results ?? []).map((x) => x.code), performance.now());
        }
      }).catch((err: unknown) => log(`block catch-up failed: ${(err as Error).message}`));
      return filling;
    };
    let wsBroken = false;
    const unsubscribe = await main.subscribe(
      "tm.event='NewBlock'",
      (ev: SubscriptionEvent) => {
        const at = performance.now();
        const v = ev.data.value as { block: { header: { height: string }; data: { txs: string[] | null } }; result_finalize_block?: { tx_results?: Array<{ code?: number }> } };
        const height = BigInt(v.block.header.height);
        if (height > lastHeight + 1n) void fillTo(height - 1n).then(() => onBlock(height, v.block.data.txs ?? [], (v.result_finalize_block?.tx_results ?? []).map((x) => x.code ?? 0), at));
        else onBlock(height, v.block.data.txs ?? [], (v.result_finalize_block?.tx_results ?? []).map((x) => x.code ?? 0), at);
      },
      (err) => {
        wsBroken = true;
        log(`event subscription closed (${err.message}); polling blocks instead`);
      },
    );

    // ---- the timed window ----
    let submitted = 0;
    let rejected = 0;
    let errors = 0;
    const rejectedCodes: Record<string, number> = {};
    const queues: Uint8Array[][] = Array.from({ length: K }, () => []);
    const nextIndex = new Array<number>(K).fill(0);
    const pumping = new Array<boolean>(K).fill(false);
    const pumps: Promise<void>[] = [];
    let windowOver = false;
    const rss: Record<string, number | null> = Object.fromEntries(opts.nodes.map((u) => [u, null]));
    const rssAbsent = new Set<string>();

    const pump = async (i: number) => {
      pumping[i] = true;
      const url = opts.nodes[i % opts.nodes.length];
      while (queues[i].length > 0 && !windowOver) {
        // Up to a batch of this account's txs in one request: the server runs a batch in order, so nonces stay in order.
        const txs = queues[i].splice(0, MAX_BATCH);
        const hashes = txs.map((tx) => toHex(sha256(tx)));
        const at = performance.now();
        // Tracked before sending: the block can arrive before the answer. A retried tx keeps its first submission time.
        for (const h of hashes) if (!tracked.has(h)) tracked.set(h, { submittedAt: at });
        let codes: number[];
        try {
          codes = await broadcastBatch(url, txs);
        } catch {
          errors += txs.length;
          for (const h of hashes) tracked.delete(h);
          continue;
        }
        for (let k = 0; k < txs.length; k++) {
          if (codes[k] === 0) {
            submitted++;
          } else if (codes[k] === MEMPOOL_FULL_CODE && !windowOver) {
            // The rest of the batch failed on the gap this one left: send them all again, in order, a little later.
            queues[i].unshift(...txs.slice(k));
            await sleep(MEMPOOL_FULL_RETRY_MS);
            break;
          } else {
            rejected++;
            rejectedCodes[codes[k]] = (rejectedCodes[codes[k]] ?? 0) + 1;
            tracked.delete(hashes[k]);
          }
        }
      }
      pumping[i] = false;
    };

    const windowStart = performance.now();
    const windowMs = opts.durationS * 1000;
    let released = 0;
    let lastProgress = windowStart;
    let lastRssSample = 0;
    let lastPoll = 0;
    log(`window: ${opts.durationS} s at ${opts.rate} tx/s over ${opts.nodes.length} node(s), ${K} accounts`);
    for (;;) {
      const now = performance.now();
      const elapsed = now - windowStart;
      if (elapsed >= windowMs) break;
      const due = Math.min(total, Math.floor((elapsed / 1000) * opts.rate) + 1);
      for (; released < due; released++) {
        const i = released % K;
        queues[i].push(signed[i][nextIndex[i]++]);
        if (!pumping[i]) pumps.push(pump(i));
      }
      if (wsBroken && now - lastPoll >= 250) {
        lastPoll = now;
        void main.status().then((st) => fillTo(parseUint(st.sync_info.latest_block_height)), () => {});
      }
      if (now - lastRssSample >= 1000) {
        lastRssSample = now;
        void sampleRss();
      }
      if (now - lastProgress >= 1000) {
        lastProgress = now;
        log(`t=${(elapsed / 1000).toFixed(0)}s released=${released} submitted=${submitted} committed=${countCommitted()} height=${lastHeight} rejected=${rejected} errors=${errors}`);
      }
      await sleep(5);
    }
    const windowEnd = performance.now();
    windowOver = true;
    const unsent = queues.reduce((s, q) => s + q.length, 0) + (total - released);
    await Promise.all(pumps);

    function countCommitted(): number {
      let n = 0;
      for (const t of tracked.values()) if (t.committedAt !== undefined) n++;
      return n;
    }
    async function sampleRss(): Promise<void> {
      await Promise.all(
        opts.nodes.map(async (url) => {
          if (rssAbsent.has(url)) return;
          const v = await fetchRssMb(url);
          if (v === 'absent') rssAbsent.add(url);
          else if (v !== null) rss[url] = Math.max(rss[url] ?? 0, round1(v));
        }),
      );
    }

    // ---- drain: wait for the submitted txs to commit ----
    const drainDeadline = performance.now() + (opts.drainMs ?? 15_000);
    while (countCommitted() < tracked.size && performance.now() < drainDeadline) {
      if (wsBroken) await fillTo(parseUint((await main.status()).sync_info.latest_block_height));
      log(`draining: committed=${countCommitted()} of ${tracked.size} height=${lastHeight}`);
      await sleep(500);
    }
    await sampleRss();
    await unsubscribe().catch(() => {});
    await filling;

    // ---- the verify ceiling, on this machine, now ----
    log('measuring the native ed25519 verify rate');
    const verifyPerS = measureVerifyRate(1000);
    const cores = availableParallelism();
    const ceiling = (cores * verifyPerS) / Math.max(1, validators);

    const latencies: number[] = [];
    let committedInWindow = 0;
    let failedInBlock = 0;
    for (const t of tracked.values()) {
      if (t.committedAt === undefined) continue;
      latencies.push(t.committedAt - t.submittedAt);
      if (t.committedAt <= windowEnd) committedInWindow++;
      if (t.code !== 0) failedInBlock++;
    }
    latencies.sort((a, b) => a - b);
    const inWindow = blocks.filter((b) => b.at >= windowStart && b.at <= windowEnd);
    const interval = inWindow.length >= 2 ? (inWindow[inWindow.length - 1].at - inWindow[0].at) / (inWindow.length - 1) : null;
    const tps = committedInWindow / opts.durationS;
    return {
      nodes: opts.nodes,
      duration_s: opts.durationS,
      rate: opts.rate,
      accounts: K,
      submitted,
      rejected,
      rejected_codes: rejectedCodes,
      errors,
      unsent,
      committed: latencies.length,
      failed_in_block: failedInBlock,
      committed_in_window: committedInWindow,
      tps: round1(tps),
      submitted_tps: round1(submitted / opts.durationS),
      latency_ms: {
        p50: nullableRound(percentile(latencies, 50)),
        p90: nullableRound(percentile(latencies, 90)),
        p99: nullableRound(percentile(latencies, 99)),
        max: nullableRound(percentile(latencies, 100)),
        mean: latencies.length ? Math.round(latencies.reduce((s, x) => s + x, 0) / latencies.length) : null,
      },
      blocks: inWindow.length,
      block_interval_ms: interval === null ? null : Math.round(interval),
      txs_per_block_max: blocks.reduce((m, b) => Math.max(m, b.txs), 0),
      start_height: startHeight.toString(),
      end_height: lastHeight.toString(),
      sign_per_s: Math.round(signPerS),
      verify_per_s_per_core: Math.round(verifyPerS),
      cores,
      validators,
      verify_ceiling_tps: Math.round(ceiling),
      ceiling_ratio: Math.round((tps / ceiling) * 1000) / 1000,
      rss_mb: rss,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  }
}

function nullableRound(x: number | null): number | null {
  return x === null ? null : Math.round(x);
}

// ---------------- the command ----------------

function num(text: string | undefined, name: string, fallback: number, opts: { integer?: boolean; min: number; max: number }): number {
  if (text === undefined) return fallback;
  const ok = opts.integer ? /^[0-9]+$/.test(text) : /^[0-9]+(\.[0-9]+)?$/.test(text);
  const v = Number(text);
  if (!ok || v < opts.min || v > opts.max) {
    throw new UsageError(`--${name} must be ${opts.integer ? 'an integer' : 'a number'} from ${opts.min} to ${opts.max}, got ${JSON.stringify(text)}`, ['bench']);
  }
  return v;
}

async function loadKeyFile(path: string): Promise<KeyPair> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('NOT_FOUND', `${path} does not exist; pass the faucet key file (DIR/${FAUCET_KEY_FILE} of a devnet)`, { path });
    throw err;
  }
  try {
    return keyFileFromJSON(JSON.parse(text), path);
  } catch (err) {
    if (err instanceof SyntaxError) throw new AppError('BAD_KEY', `${path} is not valid JSON; pass a key file`, { path });
    throw err;
  }
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'load benchmark: signed transfers at a fixed rate; prints throughput and commit latency',
  usage: '(--nodes URL[,URL...] (--faucet KEYFILE | --home DIR) | --devnet DIR) [--duration S] [--rate R] [--accounts K]',
  description: [
    'Funds K fresh accounts from the faucet, signs every transfer of the run beforehand, then for S seconds submits',
    'them at R per second with broadcast_tx_sync, each account to one node (round-robin over --nodes), and times each',
    'from submission to the NewBlock event (of the first node) of the block that holds it. After the window it waits',
    'up to --drain seconds for the rest to commit, then measures the native ed25519 verify rate of this machine.',
    'Prints {submitted, committed, tps, latency_ms {p50, p90, p99, max}, blocks, block_interval_ms,',
    'verify_ceiling_tps, rss_mb, ...}; progress goes to stderr. --devnet DIR takes the nodes from DIR/nodes.json',
    `and the faucet from DIR/${FAUCET_KEY_FILE}; --home DIR uses the key '${FAUCET_KEY_NAME}' of DIR/keyring/.`,
  ].join('\n'),
  options: {
    nodes: { type: 'string', valueName: 'URL[,URL...]', description: 'RPC URLs of the nodes to load' },
    devnet: { type: 'string', valueName: 'DIR', description: 'a devnet directory: nodes and faucet from it' },
    faucet: { type: 'string', valueName: 'KEYFILE', description: 'key file of a funded account' },
    home: { type: 'string', valueName: 'DIR', description: `home whose keyring holds the key '${FAUCET_KEY_NAME}'` },
    duration: { type: 'string', valueName: 'S', default: '10', description: 'seconds of load' },
    rate: { type: 'string', valueName: 'R', default: '100', description: 'transfers submitted per second' },
    accounts: { type: 'string', valueName: 'K', default: '100', description: 'sending accounts, funded first' },
    drain: { type: 'string', valueName: 'S', default: '15', description: 'most seconds to wait after the window for commits' },
    workers: { type: 'string', valueName: 'N', description: 'signing threads (default: every core)' },
  },
  async run(args, io: Io) {
    const durationS = num(optString(args, 'duration'), 'duration', 10, { min: 0.1, max: 86_400 });
    const rate = num(optString(args, 'rate'), 'rate', 100, { min: 0.1, max: 1_000_000 });
    const accounts = num(optString(args, 'accounts'), 'accounts', 100, { integer: true, min: 1, max: 100_000 });
    const drain = num(optString(args, 'drain'), 'drain', 15, { min: 0, max: 3600 });
    const workersText = optString(args, 'workers');
    const workers = workersText === undefined ? undefined : num(workersText, 'workers', 1, { integer: true, min: 1, max: 256 });
    const devnet = optString(args, 'devnet');
    let nodes = optString(args, 'nodes')?.split(',').map((s) => s.trim()).filter((s) => s !== '');
    let faucet: KeyPair | undefined;
    const faucetFile = optString(args, 'faucet');
    const home = optString(args, 'home');
    if (faucetFile !== undefined && home !== undefined) throw new UsageError('give either --faucet or --home, not both', ['bench']);
    if (faucetFile !== undefined) faucet = await loadKeyFile(faucetFile);
    else if (home !== undefined) faucet = await new Keyring(homePaths(home).keyringDir).load(FAUCET_KEY_NAME);
    if (devnet !== undefined) {
      nodes ??= (await readDevnetNodes(devnet)).map((n) => n.rpc);
      faucet ??= await loadKeyFile(join(devnet, FAUCET_KEY_FILE));
    }
    if (nodes === undefined || nodes.length === 0) throw new UsageError('missing --nodes URL[,URL...] (or --devnet DIR)', ['bench']);
    if (faucet === undefined) throw new UsageError('missing the faucet: give --faucet KEYFILE, --home DIR or --devnet DIR', ['bench']);
    for (const url of nodes) {
      try {
        new RpcClient(url);
      } catch (err) {
        throw new UsageError(`--nodes: ${(err as Error).message}`, ['bench']);
      }
    }
    return runBench({ nodes, durationS, rate, accounts, faucet, drainMs: drain * 1000, workers, log: (line) => io.stderr.write(`bench: ${line}\n`) });
  },
};
