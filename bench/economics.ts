// Block-level cost of the economics modules (issue 6): empty blocks on a chain of N validators, every validator
// signing the previous block, so each block releases emission, pays rewards to N signers, counts N signing records,
// and checks the validator set (a full recomputation at every epoch boundary).
// Usage: npm run bench:economics [-- --validators N --blocks N --epoch-blocks N]
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressOf } from '../src/crypto/keys.ts';
import { App } from '../src/state/app.ts';
import { buildGenesis } from '../src/state/genesis.ts';
import { defaultAppParams } from '../src/state/params.ts';
import { allValidators } from '../src/state/validators.ts';
import { BENCH_CHAIN_ID, BENCH_GENESIS_TIME, benchReveal, log, seededAccounts } from './fixture.ts';
import { blsPublicKeyOfSeed } from '../src/crypto/bls.ts';

const { values } = parseArgs({
  options: {
    validators: { type: 'string', default: '100' },
    blocks: { type: 'string', default: '200' },
    'epoch-blocks': { type: 'string', default: '10' },
  },
});
const n = Number(values.validators);
const blocks = Number(values.blocks);
const params = defaultAppParams();
params.staking.epoch_blocks = BigInt(values['epoch-blocks']);
params.staking.max_validators = BigInt(n);
const keys = seededAccounts(n);
const genesis = buildGenesis({
  chainId: BENCH_CHAIN_ID,
  genesisTime: BENCH_GENESIS_TIME,
  validators: keys.map((k, i) => ({ name: `v${i}`, publicKey: k.publicKey, blsPubKey: blsPublicKeyOfSeed(k.secretKey), stake: 1_000_000_000_000n })),
  appParams: params,
});

const dir = mkdtempSync(join(tmpdir(), 'ac-bench-'));
try {
  const app = await App.open(join(dir, 'state'), genesis);
  const set = (await allValidators(app.store)).map((v) => ({ address: v.address, power: v.power, signed: true }));
  const ms: number[] = [];
  const epochMs: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const head = app.head();
    const height = head.height + 1n;
    const randaoReveal = benchReveal(keys[0], height);
    const s = process.hrtime.bigint();
    await app.applyBlock({
      chainId: BENCH_CHAIN_ID,
      height,
      time: head.time + 1_000_000_000n,
      proposer: addressOf(keys[0].publicKey),
      txs: [],
      lastCommit: height === 1n ? [] : set,
      randaoReveal,
    });
    const took = Number(process.hrtime.bigint() - s) / 1e6;
    (height % params.staking.epoch_blocks === 0n ? epochMs : ms).push(took);
  }
  const pct = (xs: number[], p: number): number => {
    const sorted = [...xs].sort((a, b) => a - b);
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 10) / 10;
  };
  await app.close();
  const result = {
    bench: 'economics',
    node: process.version,
    validators: n,
    blocks,
    epoch_blocks: Number(params.staking.epoch_blocks),
    empty_block_ms: { p50: pct(ms, 50), p99: pct(ms, 99) },
    epoch_block_ms: { p50: pct(epochMs, 50), p99: pct(epochMs, 99) },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
log('done');
