// Worker thread of block sync's signature pre-check (sync-preverify.ts): checks the signatures of a synced block's
// txs on another core while the main thread executes the blocks before it. Answers, per request, the SHA-256 hashes
// of the txs whose signature verifies (the same decode and the same verify() the executor uses); anything else is
// left out and judged by execution as always.
import { parentPort } from 'node:worker_threads';
import { TxCodec } from '../codec/types.ts';
import { txSignBytes } from '../codec/signbytes.ts';
import { verify } from '../crypto/keys.ts';
import { sha256 } from '../crypto/hash.ts';

export interface VerifyRequest {
  id: number;
  chainId: string;
  txs: Uint8Array[];
}

export interface VerifyReply {
  id: number;
  /** Concatenated 32-byte hashes of the txs whose signature verified. */
  hashes: Uint8Array;
}

parentPort?.on('message', (req: VerifyRequest) => {
  const out = new Uint8Array(req.txs.length * 32);
  let n = 0;
  for (const bytes of req.txs) {
    try {
      const tx = TxCodec.decode(bytes);
      if (!verify(tx.signature, txSignBytes(req.chainId, tx.body), tx.pubKey)) continue;
      out.set(sha256(bytes), n * 32);
      n++;
    } catch {
      // undecodable: execution rejects it
    }
  }
  const hashes = out.slice(0, n * 32);
  const reply: VerifyReply = { id: req.id, hashes };
  parentPort!.postMessage(reply, [hashes.buffer]);
});
