// The mempool: txs waiting for a block. Admission runs the executor's own stateless checks (so the pool and a block
// agree on what is valid) plus the ante checks against committed state and the sender's pending txs, so that every
// tx the pool offers would pass the executor's nonce and funds checks in the offered order.
//
// Structure: one queue per sender, in nonce order and gap-free from the account's next nonce; reap takes the best
// head of all queues (gas price, then arrival) so a sender's n+1 never precedes n. The stateful parts of checkTx and
// committed() run one at a time, in the order they were called (a promise chain), so two txs of one sender cannot
// both take the same nonce and the outcome does not depend on which signature check finished first.
import type { Logger } from 'pino';
import type { App } from '../state/app.ts';
import type { TxSource } from '../consensus/host.ts';
import type { AppParams } from '../state/params.ts';
import { AppError, CODESPACE, toAppError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { toHex } from '../crypto/bytes.ts';
import { accounts, getAccount } from '../state/accounts.ts';
import { AccountCodec, type Account, type TxBody } from '../codec/types.ts';

export interface MempoolOptions {
  app: App;
  /** config mempool.size: most txs held. */
  size: number;
  /** config mempool.max_txs_bytes. */
  maxTxsBytes: number;
  /** Recently seen tx hashes remembered (admitted or rejected), so a re-broadcast is refused cheaply. Default 10,000. */
  cacheSize?: number;
  /** Most checkTx calls under way at once; more are refused with MEMPOOL_FULL. Default 2,000. */
  maxChecking?: number;
  logger?: Logger;
}

/** CometBFT's ResponseCheckTx, as the RPC returns it (code 0 = accepted). */
export interface CheckTxResponse {
  code: number;
  codespace: string;
  log: string;
  gasWanted: bigint;
  gasUsed: bigint;
  /** SHA-256 of the tx bytes. */
  hash: Uint8Array;
}

/** Counters since start (for metrics and the RPC's num_unconfirmed_txs-like views). */
export interface MempoolStats {
  size: number;
  bytes: number;
  senders: number;
  cached: number;
  admitted: number;
  rejected: number;
  evicted: number;
  /** Dropped by the re-check after a block (stale nonce, funds gone, or behind such a tx). */
  dropped: number;
}

interface Entry {
  tx: Uint8Array;
  hash: Uint8Array;
  key: string;
  sender: SenderQueue;
  nonce: bigint;
  gasPrice: bigint;
  gasLimit: bigint;
  /** Most the tx can take from its sender: gas_limit x gas_price + what its message spends. */
  cost: bigint;
  bytes: number;
  body: TxBody;
  /** Arrival order: breaks gas price ties (first come, first served). */
  seq: number;
}

interface SenderQueue {
  key: string;
  address: Uint8Array;
  /** Committed account as last read (refreshed after every block). */
  account: Account;
  /** Pending txs, nonce ascending, consecutive. */
  txs: Entry[];
}

/** What the checks outside the lock produce: a verdict, or a decoded tx for the stateful checks. */
type Precheck =
  | { kind: 'done'; response: CheckTxResponse }
  | { kind: 'ok'; entry: Omit<Entry, 'sender' | 'seq'>; signer: Uint8Array; account: Account | null };

const DEFAULT_CACHE_SIZE = 10_000;
/** About a tenth of a second of signature checks on two cores: the most a block's re-check can wait behind. */
const DEFAULT_MAX_CHECKING = 2_000;

export class Mempool implements TxSource {
  private readonly app: App;
  private readonly maxTxs: number;
  private readonly maxTxsBytes: number;
  private readonly log: Logger | null;
  private readonly cache: HashCache;
  /** Message types some module handles: a tx with another type would fail in the block and still pay its gas. */
  private readonly handled: ReadonlySet<string>;

  private readonly byHash = new Map<string, Entry>();
  private readonly senders = new Map<string, SenderQueue>();
  private totalBytes = 0;
  private seq = 0;
  private paramsCache: { height: bigint; params: Promise<AppParams> } | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(tx: Uint8Array, hash: Uint8Array) => void>();
  private readonly counters = { admitted: 0, rejected: 0, evicted: 0, dropped: 0 };
  /** checkTx calls not answered yet; bounded so a flood cannot grow memory or hold up committed() behind it. */
  private checking = 0;
  private readonly maxChecking: number;

  /** Set by lock() until the next committed(): checks called meanwhile wait for it. */
  private lockedUntil: Promise<void> | null = null;
  private releaseLock: (() => void) | null = null;

  constructor(opts: MempoolOptions) {
    if (!(opts.size > 0) || !(opts.maxTxsBytes > 0)) throw new AppError('BAD_CONFIG', 'mempool.size and mempool.max_txs_bytes must be positive');
    this.app = opts.app;
    this.maxTxs = opts.size;
    this.maxTxsBytes = opts.maxTxsBytes;
    this.cache = new HashCache(opts.cacheSize ?? DEFAULT_CACHE_SIZE);
    this.maxChecking = opts.maxChecking ?? DEFAULT_MAX_CHECKING;
    this.log = opts.logger?.child({ module: 'mempool' }) ?? null;
    this.handled = new Set(this.app.executor.modules.flatMap((m) => Object.keys(m.handlers ?? {})));
  }

  /** Admission checks; on success (and unless add = false, for the check_tx method) the tx joins the pool. Never throws for a bad tx. */
  checkTx(tx: Uint8Array, opts: { add?: boolean } = {}): Promise<CheckTxResponse> {
    if (this.lockedUntil !== null) {
      // A block is being executed (lock()): the check starts once it is committed. Waiting checks count as under way.
      if (this.checking >= this.maxChecking) {
        return Promise.resolve(this.reject(response(new AppError('MEMPOOL_FULL', `${this.checking} txs are waiting to be checked already; retry shortly`), sha256(tx), 0n)));
      }
      this.checking++;
      return this.lockedUntil.then(() => {
        this.checking--;
        return this.checkTx(tx, opts);
      });
    }
    const add = opts.add ?? true;
    const hash = sha256(tx);
    const key = toHex(hash);
    // A duplicate is refused before its signature is checked again.
    const dup = this.duplicate(key, hash);
    if (dup !== null) return Promise.resolve(this.reject(dup));
    // broadcast_tx_async answers before the check ends, so the number of checks under way must be capped here: each
    // holds its tx and a signature verification, and committed() queues behind them.
    if (this.checking >= this.maxChecking) {
      return Promise.resolve(this.reject(response(new AppError('MEMPOOL_FULL', `${this.checking} txs are being checked already; retry shortly`), hash, 0n)));
    }
    this.checking++;
    // The stateless checks start now and run concurrently; the stateful part waits its turn in call order.
    const pre = this.precheck(tx, hash, key, add);
    const done = this.exclusive(async () => {
      const p = await pre;
      if (p.kind === 'done') return this.reject(p.response);
      try {
        const r = await this.admit(p, add);
        return r.code === 0 ? r : this.reject(r);
      } catch (err) {
        return this.reject(this.internal(err, hash, p.entry.gasLimit));
      }
    });
    void done.finally(() => this.checking--).catch(noop);
    return done;
  }

  /** Txs for the next block, in block order, within maxBytes (and maxTxs when given). */
  reap(maxBytes: number, maxTxs: number = Number.POSITIVE_INFINITY): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (!(maxBytes > 0) || !(maxTxs > 0)) return out;
    let used = 0;
    const heads = new Heap<{ q: SenderQueue; i: number }>((a, b) => before(a.q.txs[a.i], b.q.txs[b.i]));
    for (const q of this.senders.values()) if (q.txs.length > 0) heads.push({ q, i: 0 });
    while (heads.size > 0 && out.length < maxTxs) {
      const h = heads.pop()!;
      const e = h.q.txs[h.i];
      // Too big for the room left: skip this sender (its later txs need this one first), others may still fit.
      if (used + e.bytes > maxBytes) continue;
      out.push(e.tx);
      used += e.bytes;
      if (h.i + 1 < h.q.txs.length) heads.push({ q: h.q, i: h.i + 1 });
    }
    return out;
  }

  /** After a block commits: drop its txs, re-check the rest against the new state. */
  committed(height: bigint, txs: readonly Uint8Array[]): Promise<void> {
    // Hashes now, so a re-broadcast arriving while the re-check waits is already refused.
    const hashes = txs.map((tx) => sha256(tx));
    for (const h of hashes) this.cache.add(toHex(h));
    return this.exclusive(() => this.recheck(height, hashes)).finally(() => this.unlock());
  }

  /**
   * A block was decided: new checks wait until committed() has removed its txs and re-checked the rest, as CometBFT
   * locks its mempool for the update. The cores go to executing the block (every node executes it at the same time)
   * instead of to signature checks of txs that could not enter a block before then anyway.
   */
  lock(): void {
    if (this.lockedUntil !== null) return;
    this.lockedUntil = new Promise((resolve) => {
      this.releaseLock = resolve;
    });
  }

  private unlock(): void {
    const release = this.releaseLock;
    this.lockedUntil = null;
    this.releaseLock = null;
    release?.();
  }

  /** Number of txs held. */
  get size(): number {
    return this.byHash.size;
  }

  /** Bytes of txs held. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Up to `limit` txs in reap order (unconfirmed_txs). */
  list(limit: number): Uint8Array[] {
    return this.reap(Number.POSITIVE_INFINITY, limit);
  }

  has(hash: Uint8Array): boolean {
    return this.byHash.has(toHex(hash));
  }

  /** Removes every tx (unsafe_flush_mempool). Like CometBFT's Flush, it also forgets the recent-hash cache. */
  flush(): void {
    this.byHash.clear();
    this.senders.clear();
    this.totalBytes = 0;
    this.cache.clear();
  }

  // ---------------- additions to the agreed interface ----------------

  /** Calls fn with every tx admitted to the pool (for gossip and events); returns the unsubscribe function. */
  onAdded(fn: (tx: Uint8Array, hash: Uint8Array) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The sender's next nonce counting its pending txs, or undefined when it has none here (use the account's nonce). */
  nextNonce(address: Uint8Array): bigint | undefined {
    const q = this.senders.get(toHex(address));
    if (q === undefined || q.txs.length === 0) return undefined;
    return q.txs[q.txs.length - 1].nonce + 1n;
  }

  stats(): MempoolStats {
    return { size: this.size, bytes: this.totalBytes, senders: this.senders.size, cached: this.cache.size, ...this.counters };
  }

  // ---------------- internals ----------------

  /** Runs fn after every earlier exclusive section, in call order. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.then(noop, noop);
    return run;
  }

  private duplicate(key: string, hash: Uint8Array): CheckTxResponse | null {
    if (this.byHash.has(key)) return response(new AppError('ALREADY_EXISTS', 'tx already exists in the mempool'), hash, 0n);
    if (this.cache.touch(key)) return response(new AppError('ALREADY_EXISTS', 'tx already exists in cache (seen recently: committed, pending or rejected)'), hash, 0n);
    return null;
  }

  /** Params of the committed head, read once per height. */
  private params(): Promise<AppParams> {
    const height = this.app.head().height;
    if (this.paramsCache === null || this.paramsCache.height !== height) {
      const params = this.app.params();
      this.paramsCache = { height, params };
      // A failed read is reported by the caller and not kept.
      params.catch(() => { if (this.paramsCache?.params === params) this.paramsCache = null; });
    }
    return this.paramsCache.params;
  }

  /** Stateless checks and the account read: everything that can run concurrently with other admissions. */
  private async precheck(tx: Uint8Array, hash: Uint8Array, key: string, add: boolean): Promise<Precheck> {
    let gasLimit = 0n;
    try {
      const params = await this.params();
      const { body, signer } = await this.app.executor.decodeAndVerify(tx, this.app.genesis.chainId, params);
      gasLimit = body.gasLimit;
      const err = this.paramChecks(tx, body, params);
      if (err !== null) throw err;
      // A sender with pending txs is judged on its queue's account: no read (most of a burst).
      const account = this.senders.has(toHex(signer)) ? null : await getAccount(this.app.store, signer);
      const entry = { tx, hash, key, nonce: body.nonce, gasPrice: body.gasPrice, gasLimit, cost: maxSpend(body), bytes: tx.length, body };
      return { kind: 'ok', entry, signer, account };
    } catch (err) {
      const e = toAppError(err);
      if (isNodeFault(e)) return { kind: 'done', response: this.internal(e, hash, gasLimit) };
      // Every check so far depends only on the bytes and the params: the same tx would fail again.
      if (add) this.cache.add(key);
      return { kind: 'done', response: response(e, hash, gasLimit) };
    }
  }

  /**
   * Checks beyond decodeAndVerify that need no state: the gas limit covers the intrinsic gas, a module handles the
   * message. Also re-run after each block (params may change): size, memo and gas price against the new params.
   */
  private paramChecks(tx: Uint8Array, body: TxBody, params: AppParams): AppError | null {
    if (BigInt(tx.length) > params.tx.max_tx_bytes) return new AppError('TX_TOO_LARGE', `tx is ${tx.length} bytes; the limit is ${params.tx.max_tx_bytes}`);
    if (BigInt(Buffer.byteLength(body.memo)) > params.tx.max_memo_bytes) return new AppError('INVALID_FIELD', `memo is longer than ${params.tx.max_memo_bytes} bytes`, { field: 'memo' });
    if (body.gasPrice < params.fees.min_gas_price) {
      return new AppError('FEE_TOO_LOW', `gas_price ${body.gasPrice} is below the minimum ${params.fees.min_gas_price} uacc per gas; raise it`);
    }
    const intrinsic = this.app.executor.intrinsicGas(tx, body, params);
    if (body.gasLimit < intrinsic) {
      return new AppError('OUT_OF_GAS', `gas_limit ${body.gasLimit} is below the ${intrinsic} gas this tx needs before its message runs; raise gas_limit`, {
        limit: body.gasLimit.toString(),
        needed: intrinsic.toString(),
      });
    }
    if (!this.handled.has(body.msg.type)) return new AppError('UNKNOWN_MESSAGE', `no module handles message ${body.msg.type}`);
    return null;
  }

  /** The stateful checks, under the lock: duplicate, nonce, funds, room. */
  private async admit(p: Extract<Precheck, { kind: 'ok' }>, add: boolean): Promise<CheckTxResponse> {
    const { entry, signer } = p;
    // A copy of this tx may have been admitted (or committed) while this one was being verified.
    const dup = this.duplicate(entry.key, entry.hash);
    if (dup !== null) return { ...dup, gasWanted: entry.gasLimit };
    const senderKey = toHex(signer);
    let queue = this.senders.get(senderKey);
    // The account: the queue's (refreshed by every re-check, so it agrees with the queue), else the one precheck
    // read, else (the queue went meanwhile: re-check or flush) read now. If a block was stored whose committed() is
    // still queued behind us, this may admit a tx that block made stale; that committed() re-checks it before the host
    // reaps again.
    const account = queue?.account ?? p.account ?? (await getAccount(this.app.store, signer));

    // Pending txs below the account's nonce are already committed (only if the state ran ahead of committed()): skip.
    const live = queue?.txs.filter((e) => e.nonce >= account.nonce) ?? [];
    const expected = account.nonce + BigInt(live.length);
    if (entry.nonce !== expected) {
      const err = this.nonceError(entry.nonce, account.nonce, expected, live.length);
      if (add && entry.nonce < account.nonce) this.cache.add(entry.key); // a used nonce stays used
      return response(err, entry.hash, entry.gasLimit);
    }
    const reserved = live.reduce((sum, e) => sum + e.cost, 0n);
    if (account.balance < reserved + entry.cost) {
      const pending = live.length === 0 ? '' : ` plus ${reserved} uacc reserved by ${live.length} pending tx(s)`;
      const err = new AppError('INSUFFICIENT_FUNDS', `balance ${account.balance} uacc cannot cover this tx's gas_limit x gas_price + amount = ${entry.cost} uacc${pending}`, {
        balance: account.balance.toString(),
        needed: (reserved + entry.cost).toString(),
      });
      return response(err, entry.hash, entry.gasLimit);
    }
    const victims = this.makeRoom(entry, queue);
    if (victims instanceof AppError) return response(victims, entry.hash, entry.gasLimit);
    if (!add) return accepted(entry.hash, entry.gasLimit);

    for (const v of victims) this.evict(v);
    if (queue === undefined) {
      queue = { key: senderKey, address: signer, account, txs: [] };
      this.senders.set(senderKey, queue);
    }
    const e: Entry = { ...entry, sender: queue, seq: this.seq++ };
    queue.txs.push(e);
    this.byHash.set(e.key, e);
    this.totalBytes += e.bytes;
    this.cache.add(e.key);
    this.counters.admitted++;
    for (const fn of this.listeners) {
      try {
        fn(e.tx, e.hash);
      } catch (err) {
        this.log?.error({ err }, 'a mempool listener failed'); // observers never block admission
      }
    }
    return accepted(e.hash, e.gasLimit);
  }

  private nonceError(nonce: bigint, accountNonce: bigint, expected: bigint, pending: number): AppError {
    const meta = { expected: expected.toString() };
    if (nonce < accountNonce) {
      return new AppError('WRONG_NONCE', `nonce ${nonce} is already used: the account's next nonce is ${accountNonce}, and this sender's next is ${expected}`, meta);
    }
    if (nonce < expected) {
      return new AppError('WRONG_NONCE', `nonce ${nonce} is taken by a pending tx in the mempool; this sender's next nonce is ${expected}`, meta);
    }
    return new AppError('WRONG_NONCE', `nonce ${nonce} leaves a gap: this sender's next nonce is ${expected} (account nonce ${accountNonce} + ${pending} pending)`, meta);
  }

  /**
   * The txs to evict so the new one fits, or MEMPOOL_FULL. Only a sender's last pending tx is evictable (evicting an
   * earlier one would leave a gap), never one of the new tx's sender (the new tx follows it), and only for a strictly
   * higher gas price. The cheapest goes first; among equals, the newest.
   */
  private makeRoom(entry: Omit<Entry, 'sender' | 'seq'>, own: SenderQueue | undefined): Entry[] | AppError {
    if (entry.bytes > this.maxTxsBytes) {
      return new AppError('MEMPOOL_FULL', `tx is ${entry.bytes} bytes, more than the whole mempool holds (${this.maxTxsBytes} bytes)`);
    }
    let count = this.byHash.size + 1;
    let bytes = this.totalBytes + entry.bytes;
    const victims: Entry[] = [];
    const taken = new Map<SenderQueue, number>();
    while (count > this.maxTxs || bytes > this.maxTxsBytes) {
      let victim: Entry | null = null;
      for (const q of this.senders.values()) {
        if (q === own) continue;
        const i = q.txs.length - 1 - (taken.get(q) ?? 0);
        if (i < 0) continue;
        const c = q.txs[i];
        if (victim === null || c.gasPrice < victim.gasPrice || (c.gasPrice === victim.gasPrice && c.seq > victim.seq)) victim = c;
      }
      if (victim === null || victim.gasPrice >= entry.gasPrice) {
        const cheapest = victim === null ? '' : `; the cheapest evictable tx pays ${victim.gasPrice}`;
        return new AppError('MEMPOOL_FULL', `mempool is full (${this.byHash.size} txs, ${this.totalBytes} bytes; limits ${this.maxTxs} txs, ${this.maxTxsBytes} bytes) and gas_price ${entry.gasPrice} evicts nothing${cheapest}; retry later or raise gas_price`);
      }
      victims.push(victim);
      taken.set(victim.sender, (taken.get(victim.sender) ?? 0) + 1);
      count--;
      bytes -= victim.bytes;
    }
    return victims;
  }

  /** Removes a sender's last tx; it may come back (it leaves the recent-hash cache). */
  private evict(e: Entry): void {
    this.remove(e);
    this.cache.delete(e.key);
    this.counters.evicted++;
    this.log?.debug({ hash: e.key, gas_price: e.gasPrice.toString() }, 'evicted tx for a better-paying one');
  }

  /** Drops an entry from the indexes (not from its queue's array: callers rebuild or pop that). */
  private unindex(e: Entry): void {
    this.byHash.delete(e.key);
    this.totalBytes -= e.bytes;
  }

  private remove(e: Entry): void {
    this.unindex(e);
    const q = e.sender;
    const last = q.txs.length - 1;
    const i = q.txs[last] === e ? last : q.txs.indexOf(e); // evictions always take the last
    if (i >= 0) q.txs.splice(i, 1);
    if (q.txs.length === 0 && this.senders.get(q.key) === q) this.senders.delete(q.key);
  }

  /** committed(): remove the block's txs, then re-check every sender against the new state. Under the lock. */
  private async recheck(height: bigint, hashes: Uint8Array[]): Promise<void> {
    // Unindex the block's txs, then rebuild each touched queue once (not one splice per tx).
    const touched = new Set<SenderQueue>();
    let removed = 0;
    for (const h of hashes) {
      const e = this.byHash.get(toHex(h));
      if (e !== undefined) {
        this.unindex(e);
        touched.add(e.sender);
        removed++;
      }
    }
    for (const q of touched) {
      q.txs = q.txs.filter((e) => this.byHash.get(e.key) === e);
      if (q.txs.length === 0 && this.senders.get(q.key) === q) this.senders.delete(q.key);
    }
    const queues = [...this.senders.values()];
    let params: AppParams;
    let raw: Array<Uint8Array | undefined>;
    try {
      params = await this.params();
      raw = await this.app.store.getMany(queues.map((q) => accounts.stateKey(q.address)));
    } catch (err) {
      // The store failed: keep the pool as it is (the next block re-checks it) rather than stop consensus.
      this.log?.error({ err, height: height.toString() }, 'mempool re-check failed to read the state');
      return;
    }
    let dropped = 0;
    queues.forEach((q, qi) => {
      if (this.senders.get(q.key) !== q) return; // flushed meanwhile
      const account = raw[qi] === undefined ? { balance: 0n, nonce: 0n } : AccountCodec.decode(raw[qi]!);
      q.account = account;
      const keep: Entry[] = [];
      let expected = account.nonce;
      let spent = 0n;
      let broken = false;
      for (const e of q.txs) {
        // Below the account's nonce: replaced by a tx committed elsewhere; dropping it leaves no gap.
        const stale = e.nonce < account.nonce;
        if (!broken && !stale) {
          broken = e.nonce !== expected || account.balance < spent + e.cost || this.paramChecks(e.tx, e.body, params) !== null;
        }
        if (stale || broken) {
          this.unindex(e);
          if (!stale) this.cache.delete(e.key); // it may become valid again (funds arrive): let it be re-sent
          dropped++;
          continue;
        }
        keep.push(e);
        expected++;
        spent += e.cost;
      }
      q.txs = keep;
      if (keep.length === 0) this.senders.delete(q.key);
    });
    this.counters.dropped += dropped;
    if (removed > 0 || dropped > 0) {
      this.log?.debug({ height: height.toString(), removed, dropped, size: this.byHash.size }, 'mempool updated after block');
    }
  }

  private reject(r: CheckTxResponse): CheckTxResponse {
    this.counters.rejected++;
    this.log?.debug({ hash: toHex(r.hash), code: r.code, log: r.log }, 'tx rejected');
    return r;
  }

  /** A failure of this node (store, thread pool), not of the tx: reported as it is, logged, never cached. */
  private internal(err: unknown, hash: Uint8Array, gasLimit: bigint): CheckTxResponse {
    const e = toAppError(err);
    this.log?.error({ err, hash: toHex(hash) }, 'mempool admission failed');
    return response(isNodeFault(e) ? e : new AppError('INTERNAL', e.message), hash, gasLimit);
  }
}

/** Errors that say nothing about the tx: it may pass on a healthy node, so it is neither cached nor blamed. */
function isNodeFault(e: AppError): boolean {
  return e.code === 'INTERNAL' || e.code === 'STORE_CORRUPT';
}

/** Reap order: higher gas price first, then earlier arrival. */
function before(a: Entry, b: Entry): boolean {
  return a.gasPrice !== b.gasPrice ? a.gasPrice > b.gasPrice : a.seq < b.seq;
}

/**
 * Most a tx can take from its sender's balance: its max fee plus what its message spends. Each module whose message
 * spends funds (stake, bonds, escrow) adds its case here, or the pool could offer txs the executor refuses.
 */
function maxSpend(body: TxBody): bigint {
  const fee = body.gasLimit * body.gasPrice;
  switch (body.msg.type) {
    case 'send':
      return fee + body.msg.value.amount;
    default:
      return fee;
  }
}

function response(err: AppError, hash: Uint8Array, gasWanted: bigint): CheckTxResponse {
  return { code: err.number, codespace: CODESPACE, log: `${err.code}: ${err.message}`, gasWanted, gasUsed: 0n, hash };
}

function accepted(hash: Uint8Array, gasWanted: bigint): CheckTxResponse {
  return { code: 0, codespace: '', log: '', gasWanted, gasUsed: 0n, hash };
}

function noop(): void {}

/** An LRU set of hex hashes (Map keeps insertion order: the first key is the least recently used). */
class HashCache {
  private readonly keys = new Map<string, true>();
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = Math.max(0, Math.floor(limit));
  }

  get size(): number {
    return this.keys.size;
  }

  /** True if present; a hit becomes the most recently used. */
  touch(key: string): boolean {
    if (!this.keys.has(key)) return false;
    this.keys.delete(key);
    this.keys.set(key, true);
    return true;
  }

  add(key: string): void {
    if (this.limit === 0) return;
    this.keys.delete(key);
    this.keys.set(key, true);
    if (this.keys.size > this.limit) this.keys.delete(this.keys.keys().next().value!);
  }

  delete(key: string): void {
    this.keys.delete(key);
  }

  clear(): void {
    this.keys.clear();
  }
}

/** A binary min-heap under `less`. */
class Heap<T> {
  private readonly items: T[] = [];
  private readonly less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.less = less;
  }

  get size(): number {
    return this.items.length;
  }

  push(x: T): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}
