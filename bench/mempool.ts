// Mempool throughput: admission (checkTx with add) of signed transfers into a pool over a real LevelDB state,
// nothing pre-verified; then reap of a full block and committed() (removal plus re-check of the rest).
// Usage: node bench/mempool.ts [--txs N --accounts N --in-flight N]
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressOf } from '../src/crypto/keys.ts';
import { signTx } from '../src/codec/tx.ts';
import { BENCH_CHAIN_ID, benchGenesis, benchReveal, log, seededAccounts } from './fixture.ts';
import { App } from '../src/state/app.ts';
import { Mempool, type CheckTxResponse } from '../src/mempool/mempool.ts';

const { values } = parseArgs({
  options: {
    txs: { type: 'string', default: '10000' },
    accounts: { type: 'string', default: '2000' },
    'in-flight': { type: 'string', default: '256' },
  },
});
const nTxs = Number(values.txs);
const nAccounts = Number(values.accounts);
const inFlight = Number(values['in-flight']);
const chainId = BENCH_CHAIN_ID;
const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

log(`generating ${nAccounts} accounts, signing ${nTxs} transfers (not timed)`);
const keys = seededAccounts(nAccounts);
const { genesis, validator } = benchGenesis(keys);
const nonces = new Array<bigint>(nAccounts).fill(0n);
const txs: Uint8Array[] = [];
for (let i = 0; i < nTxs; i++) {
  const from = i % nAccounts;
  const to = (from * 7919 + 13) % nAccounts;
  const gasPrice = BigInt(1 + (i % 5));
  txs.push(signTx({ chainId, nonce: nonces[from]++, gasLimit: 10_000n, gasPrice, memo: '', msg: { type: 'send', value: { to: addressOf(keys[to].publicKey), amount: 1_000n } } }, keys[from]));
}

const dir = mkdtempSync(join(tmpdir(), 'ac-bench-'));
try {
  const app = await App.open(join(dir, 'state'), genesis);
  const pool = new Mempool({ app, size: nTxs, maxTxsBytes: 1 << 30 });

  // Submitted in order with a bounded number in flight, as an RPC server or gossip would.
  const t0 = process.hrtime.bigint();
  let pending = 0;
  let rejected = 0;
  let wake: (() => void) | null = null;
  const done = (r: CheckTxResponse) => {
    pending--;
    if (r.code !== 0) rejected++;
    wake?.();
    wake = null;
  };
  for (const tx of txs) {
    pending++;
    void pool.checkTx(tx).then(done);
    if (pending >= inFlight) await new Promise<void>((resolve) => { wake = resolve; });
  }
  while (pending > 0) await new Promise<void>((resolve) => { wake = resolve; });
  const admitMs = ms(t0);

  const maxBytes = Number(genesis.consensusParams.block.max_bytes) - 16 * 1024;
  const r0 = process.hrtime.bigint();
  const block = pool.reap(maxBytes, Math.ceil(nTxs / 2)); // half: committed() then re-checks the other half
  const reapMs = ms(r0);

  const head = app.head();
  await app.applyBlock({ chainId, height: head.height + 1n, time: head.time + 1_000_000_000n, proposer: addressOf(validator.publicKey), txs: block, randaoReveal: benchReveal(validator, head.height + 1n) });
  const c0 = process.hrtime.bigint();
  await pool.committed(app.head().height, block);
  const committedMs = ms(c0);
  await app.close();

  console.log(
    JSON.stringify({
      bench: 'mempool',
      node: process.version,
      accounts: nAccounts,
      txs: nTxs,
      in_flight: inFlight,
      rejected,
      admitted_per_s: Math.round((nTxs - rejected) / (admitMs / 1000)),
      reap: { txs: block.length, pool: nTxs, ms: Number(reapMs.toFixed(1)) },
      committed: { removed: block.length, rechecked: pool.size, ms: Number(committedMs.toFixed(1)) },
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
