// Executor throughput: blocks of 1,000 signed transfers applied to a real LevelDB state, including signature
// verification (nothing pre-verified), the state commitment and the atomic batch write.
// Usage: npm run bench:executor [-- --blocks N --txs-per-block N --accounts N]
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressOf, sign, verify } from '../src/crypto/keys.ts';
import { App } from '../src/state/app.ts';
import { BENCH_CHAIN_ID, benchGenesis, benchReveal, log, seededAccounts, transferBlocks } from './fixture.ts';

const { values } = parseArgs({
  options: {
    blocks: { type: 'string', default: '20' },
    'txs-per-block': { type: 'string', default: '1000' },
    accounts: { type: 'string', default: '10000' },
  },
});
const blocks = Number(values.blocks);
const perBlock = Number(values['txs-per-block']);
const nAccounts = Number(values.accounts);
const chainId = BENCH_CHAIN_ID;

log(`generating ${nAccounts} accounts`);
const keys = seededAccounts(nAccounts);
const { genesis, validator } = benchGenesis(keys);
log(`signing ${blocks} x ${perBlock} transfers (not timed)`);
const txBlocks = transferBlocks(keys, blocks, perBlock);
const reveals = txBlocks.map((_, b) => benchReveal(validator, BigInt(b + 1)));

const dir = mkdtempSync(join(tmpdir(), 'ac-bench-'));
try {
  const app = await App.open(join(dir, 'state'), genesis);
  const ms: number[] = [];
  let failed = 0;
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < blocks; b++) {
    const s = process.hrtime.bigint();
    const head = app.head();
    const out = await app.applyBlock({ chainId, height: head.height + 1n, time: head.time + 1_000_000_000n, proposer: addressOf(validator.publicKey), txs: txBlocks[b], randaoReveal: reveals[b] });
    ms.push(Number(process.hrtime.bigint() - s) / 1e6);
    failed += out.txResults.filter((r) => r.code !== 0).length;
  }
  const totalMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await app.close();

  // The machine's native verify ceiling on one core, for the ratio.
  const msg = new Uint8Array(150);
  const sig = sign(msg, validator.secretKey);
  const v0 = process.hrtime.bigint();
  let n = 0;
  while (Number(process.hrtime.bigint() - v0) < 1e9) {
    verify(sig, msg, validator.publicKey);
    n++;
  }
  const verifyPerSec = Math.round(n / (Number(process.hrtime.bigint() - v0) / 1e9));

  ms.sort((a, b) => a - b);
  const tps = Math.round((blocks * perBlock) / (totalMs / 1000));
  console.log(
    JSON.stringify({
      bench: 'executor',
      node: process.version,
      accounts: nAccounts,
      blocks,
      txs_per_block: perBlock,
      failed_txs: failed,
      transfers_per_s: tps,
      block_ms: { p50: Math.round(ms[Math.floor(ms.length / 2)]), max: Math.round(ms[ms.length - 1]) },
      native_verify_per_s_one_core: verifyPerSec,
      share_of_verify_ceiling: Number((tps / verifyPerSec).toFixed(2)),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
