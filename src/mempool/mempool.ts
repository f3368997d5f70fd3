// PLACEHOLDER: the mempool's agreed interface; the implementation is being written (issue 4). Not wired anywhere yet.
import type { App } from '../state/app.ts';
import type { TxSource } from '../consensus/host.ts';
import type { Logger } from 'pino';

export interface MempoolOptions {
  app: App;
  /** config mempool.size: most txs held. */
  size: number;
  /** config mempool.max_txs_bytes. */
  maxTxsBytes: number;
  /** Recently seen tx hashes remembered (admitted or rejected), so a re-broadcast is refused cheaply. Default 10,000. */
  cacheSize?: number;
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

export class Mempool implements TxSource {
  constructor(_opts: MempoolOptions) {
    throw new Error('not implemented yet');
  }
  /** Admission checks; on success (and unless add = false, for the check_tx method) the tx joins the pool. Never throws for a bad tx. */
  checkTx(_tx: Uint8Array, _opts: { add?: boolean } = {}): Promise<CheckTxResponse> {
    throw new Error('not implemented yet');
  }
  /** Txs for the next block, in block order, within maxBytes (and maxTxs when given). */
  reap(_maxBytes: number, _maxTxs?: number): Uint8Array[] {
    throw new Error('not implemented yet');
  }
  /** After a block commits: drop its txs, re-check the rest against the new state. */
  committed(_height: bigint, _txs: readonly Uint8Array[]): Promise<void> {
    throw new Error('not implemented yet');
  }
  /** Number of txs held. */
  get size(): number {
    throw new Error('not implemented yet');
  }
  /** Bytes of txs held. */
  get bytes(): number {
    throw new Error('not implemented yet');
  }
  /** Up to `limit` txs in reap order (unconfirmed_txs). */
  list(_limit: number): Uint8Array[] {
    throw new Error('not implemented yet');
  }
  has(_hash: Uint8Array): boolean {
    throw new Error('not implemented yet');
  }
  /** Removes every tx (unsafe_flush_mempool). */
  flush(): void {
    throw new Error('not implemented yet');
  }
}
