// What the benchmarks share: seeded sender accounts, a one-validator genesis funding them, and blocks of signed
// transfers (signed before any timing starts).
import { generateKeyPair, addressOf, type KeyPair } from '../src/crypto/keys.ts';
import { signTx } from '../src/codec/tx.ts';
import { buildGenesis, type Genesis } from '../src/state/genesis.ts';
import { defaultAppParams } from '../src/state/params.ts';
import { blsPublicKeyOfSeed, blsSecretFromSeed, randaoSign } from '../src/crypto/bls.ts';
import { toHex } from '../src/crypto/bytes.ts';
import type { App } from '../src/state/app.ts';
import type { BlockOutput } from '../src/state/executor.ts';
import { allValidators } from '../src/state/validators.ts';

export const BENCH_CHAIN_ID = 'bench-chain';
export const BENCH_GENESIS_TIME = 1_764_000_000_000_000_000n;

export const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

/** n accounts from seeds 1..n (the same on every run). */
export function seededAccounts(n: number): KeyPair[] {
  return Array.from({ length: n }, (_, i) => {
    const seed = new Uint8Array(32);
    new DataView(seed.buffer).setUint32(0, i + 1);
    return generateKeyPair(seed);
  });
}

/** One validator (a fixed key) and every account funded with 1,000 ACC. */
export function benchGenesis(keys: readonly KeyPair[], chainId = BENCH_CHAIN_ID): { genesis: Genesis; validator: KeyPair } {
  const validator = generateKeyPair(new Uint8Array(32).fill(0xaa));
  const genesis = buildGenesis({
    chainId,
    genesisTime: BENCH_GENESIS_TIME,
    validators: [{ name: 'v0', publicKey: validator.publicKey, blsPubKey: blsPublicKeyOfSeed(validator.secretKey) }],
    accounts: keys.map((k) => ({ category: 'marketplace' as const, address: addressOf(k.publicKey), amount: 1_000_000_000n })),
    appParams: defaultAppParams(),
  });
  return { genesis, validator };
}

const blsSecrets = new Map<string, Uint8Array>();

/** The beacon reveal of `proposer` for `height`, as its node signs it (~20 ms: sign before timing starts). */
export function benchReveal(proposer: KeyPair, height: bigint, chainId = BENCH_CHAIN_ID): Uint8Array {
  const id = toHex(proposer.publicKey);
  let secret = blsSecrets.get(id);
  if (secret === undefined) blsSecrets.set(id, (secret = blsSecretFromSeed(proposer.secretKey)));
  return randaoSign(secret, chainId, height);
}

/** `blocks` blocks of `perBlock` transfers, senders in turn, each with its next nonce. */
export function transferBlocks(keys: readonly KeyPair[], blocks: number, perBlock: number, chainId = BENCH_CHAIN_ID): Uint8Array[][] {
  const nonces = new Array<bigint>(keys.length).fill(0n);
  const out: Uint8Array[][] = [];
  let next = 0;
  for (let b = 0; b < blocks; b++) {
    const txs: Uint8Array[] = [];
    for (let i = 0; i < perBlock; i++) {
      const from = next++ % keys.length;
      const to = (from * 7919 + 13) % keys.length;
      txs.push(signTx({ chainId, nonce: nonces[from]++, gasLimit: 10_000n, gasPrice: 1n, memo: '', msg: { type: 'send', value: { to: addressOf(keys[to].publicKey), amount: 1_000n } } }, keys[from]));
    }
    out.push(txs);
  }
  return out;
}

/**
 * Applies the next block `dtNs` after the head, proposed by `proposer`, every validator with power signing the last
 * one; only App.applyBlock is timed (the reveal and the last commit are made before). Throws if a tx failed.
 */
export async function timedBlock(app: App, proposer: KeyPair, txs: Uint8Array[], what: string, dtNs: bigint, chainId = BENCH_CHAIN_ID): Promise<{ out: BlockOutput; ms: number }> {
  const head = app.head();
  const height = head.height + 1n;
  const randaoReveal = benchReveal(proposer, height, chainId);
  const lastCommit = height === 1n ? [] : (await allValidators(app.store)).filter((v) => v.power > 0n).map((v) => ({ address: v.address, power: v.power, signed: true }));
  const t = process.hrtime.bigint();
  const out = await app.applyBlock({ chainId, height, time: head.time + dtNs, proposer: addressOf(proposer.publicKey), txs, lastCommit, randaoReveal });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  out.txResults.forEach((r, i) => {
    if (r.code !== 0) throw new Error(`${what}: tx ${i} failed: ${r.log}`);
  });
  return { out, ms };
}
