// A separate client process for the end-to-end RPC test: signs `perSender` transfers from each of `senders` funded
// keys (seededKey(firstSeed + i)) to fresh recipients and submits them with broadcast_tx_sync, each sender's txs in
// nonce order, the senders in parallel. Prints one JSON line: {submitted, hashes, recipients, rejected, ms}.
// Usage: node test/helpers/load-client.ts URL SENDERS PER_SENDER FIRST_SEED
import { RpcClient } from '../../src/rpc/client.ts';
import { addressOf } from '../../src/crypto/keys.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { seededKey, send } from './chain.ts';

const [url, sendersArg, perSenderArg, firstSeedArg] = process.argv.slice(2);
const senders = Number(sendersArg);
const perSender = Number(perSenderArg);
const firstSeed = Number(firstSeedArg);
const client = new RpcClient(url, { timeoutMs: 30_000 });
const started = performance.now();

// Recipient of sender i's n-th transfer: one of 50 fresh addresses, amount 1 + (n % 7) uacc.
const recipients = Array.from({ length: 50 }, (_, k) => sha256(new TextEncoder().encode(`recipient-${k}`)).subarray(0, 20));
const hashes: string[] = [];
let rejected = 0;

async function runSender(i: number): Promise<void> {
  const key = seededKey(firstSeed + i);
  for (let n = 0; n < perSender; n++) {
    const to = recipients[(i * perSender + n) % recipients.length];
    const tx = send(key, to, BigInt(1 + (n % 7)), BigInt(n));
    for (;;) {
      const r = await client.broadcastTxSync(tx);
      if (r.code === 0) break;
      // A full pool empties with the next block: wait and re-submit. Anything else is a failure of the test.
      if (r.code === 45) {
        await new Promise((res) => setTimeout(res, 200));
        continue;
      }
      rejected++;
      process.stderr.write(`sender ${i} nonce ${n}: code ${r.code} ${r.log}\n`);
      break;
    }
    hashes.push(toHex(sha256(tx)));
  }
}

await Promise.all(Array.from({ length: senders }, (_, i) => runSender(i)));
await client.close();
process.stdout.write(
  JSON.stringify({
    submitted: hashes.length,
    rejected,
    hashes,
    senders: Array.from({ length: senders }, (_, i) => toHex(addressOf(seededKey(firstSeed + i).publicKey))),
    recipients: recipients.map((r) => toHex(r)),
    ms: Math.round(performance.now() - started),
  }) + '\n',
);
