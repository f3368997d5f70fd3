// Block sync replays history as fast as one core executes it, and about half of executing a transfer is checking its
// signature. The executor skips signatures its VerifiedTxCache has seen verified, so block sync checks the txs of
// the next blocks in a worker thread (tx-verify-worker.ts), in parallel with the execution of the current one, and
// records the verified hashes in that cache. Only a cache: a tx the worker did not verify is checked by execution.
import { Worker } from 'node:worker_threads';
import type { VerifiedTxCache } from '../state/executor.ts';
import type { VerifyReply, VerifyRequest } from './tx-verify-worker.ts';

export class TxPreverifier {
  private readonly cache: VerifiedTxCache;
  private readonly chainId: string;
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, () => void>();
  private closed = false;

  constructor(cache: VerifiedTxCache, chainId: string) {
    this.cache = cache;
    this.chainId = chainId;
  }

  /** Checks the txs in the worker; resolves once their verified hashes are in the cache (never rejects). */
  verify(txs: readonly Uint8Array[]): Promise<void> {
    if (this.closed || txs.length === 0) return Promise.resolve();
    const worker = this.start();
    if (worker === null) return Promise.resolve();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      const req: VerifyRequest = { id, chainId: this.chainId, txs: [...txs] };
      worker.postMessage(req);
    });
  }

  /** Stops the worker; pending checks resolve without effect. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.settleAll();
    await worker?.terminate();
  }

  private start(): Worker | null {
    if (this.worker !== null) return this.worker;
    let worker: Worker;
    try {
      worker = new Worker(new URL('./tx-verify-worker.ts', import.meta.url));
    } catch {
      this.closed = true; // no worker threads here: execution checks every signature itself
      return null;
    }
    worker.unref(); // never what keeps the process alive
    worker.on('message', (reply: VerifyReply) => {
      for (let i = 0; i + 32 <= reply.hashes.length; i += 32) this.cache.add(reply.hashes.subarray(i, i + 32));
      const done = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      done?.();
    });
    worker.on('error', () => {
      // A broken worker only costs speed: execution verifies what it did not.
      if (this.worker === worker) this.worker = null;
      this.settleAll();
    });
    this.worker = worker;
    return worker;
  }

  private settleAll(): void {
    for (const done of this.waiting.values()) done();
    this.waiting.clear();
  }
}
