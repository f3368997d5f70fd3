// Test fixtures for the state machine: a genesis with funded accounts, an App on a real LevelDB in a temp dir,
// transfer builders, and block drivers.
import { join } from 'node:path';
import { tempDir } from './tmp.ts';
import { generateKeyPair, addressOf, type KeyPair } from '../../src/crypto/keys.ts';
import { signTx } from '../../src/codec/tx.ts';
import type { TxBody } from '../../src/codec/types.ts';
import { buildGenesis, type Genesis } from '../../src/state/genesis.ts';
import { defaultAppParams, UACC_PER_ACC, type AppParams } from '../../src/state/params.ts';
import { App } from '../../src/state/app.ts';
import type { BlockOutput } from '../../src/state/executor.ts';
import type { CommitVote } from '../../src/state/module.ts';
import type { Evidence } from '../../src/codec/types.ts';
import { allValidators } from '../../src/state/validators.ts';
import { blsPublicKey, blsSecretFromSeed, randaoSign } from '../../src/crypto/bls.ts';
import { toHex } from '../../src/crypto/bytes.ts';

export const CHAIN_ID = 'test-chain';
export const GENESIS_TIME = 1_764_000_000_000_000_000n; // 2025-11-24T16:00:00Z
export const SECOND = 1_000_000_000n;

export const seededKey = (n: number): KeyPair => generateKeyPair(new Uint8Array(32).fill(n));

// Deriving a BLS key costs a few ms: tests reuse each validator's.
const blsSecrets = new Map<string, { secret: Uint8Array; publicKey: Uint8Array }>();
function blsOf(k: KeyPair): { secret: Uint8Array; publicKey: Uint8Array } {
  const id = toHex(k.secretKey);
  let b = blsSecrets.get(id);
  if (b === undefined) {
    const secret = blsSecretFromSeed(k.secretKey);
    b = { secret, publicKey: blsPublicKey(secret) };
    blsSecrets.set(id, b);
  }
  return b;
}

/** The BLS public key a validator with consensus key `k` registers (derived from its seed, as the node does). */
export const blsKeyOf = (k: KeyPair): Uint8Array => blsOf(k).publicKey;

/** A real RANDAO reveal of validator `k` for `height` (as its node would put in its block). */
export const revealOf = (k: KeyPair, height: bigint, chainId = CHAIN_ID): Uint8Array => randaoSign(blsOf(k).secret, chainId, height);

/** A genesis validator entry for buildGenesis, BLS key included. */
export const genesisValidator = (name: string, k: KeyPair, stake?: bigint) => ({ name, publicKey: k.publicKey, blsPubKey: blsKeyOf(k), ...(stake === undefined ? {} : { stake }) });

export interface Fixture {
  genesis: Genesis;
  validator: KeyPair;
  users: KeyPair[];
  team: KeyPair;
}

/** One validator, `users` accounts funded with `fund` uacc each from the marketplace category. */
export function fixture(opts: { users?: number; fund?: bigint; params?: (p: AppParams) => void } = {}): Fixture {
  const validator = seededKey(1);
  const team = seededKey(2);
  const users = Array.from({ length: opts.users ?? 4 }, (_, i) => seededKey(10 + i));
  const appParams = defaultAppParams();
  opts.params?.(appParams);
  const fund = opts.fund ?? 1_000n * UACC_PER_ACC;
  const genesis = buildGenesis({
    chainId: CHAIN_ID,
    genesisTime: GENESIS_TIME,
    validators: [genesisValidator('v0', validator)],
    accounts: users.map((u) => ({ category: 'marketplace' as const, address: addressOf(u.publicKey), amount: fund })),
    team: [{ address: addressOf(team.publicKey), amount: (appParams.supply.total_supply * appParams.supply.distribution_bps.team) / 10_000n }],
    appParams,
  });
  return { genesis, validator, users, team };
}

/** Opens an App on a fresh LevelDB; call the returned cleanup in t.teardown. */
export async function openApp(genesis: Genesis): Promise<{ app: App; dir: string; cleanup: () => Promise<void> }> {
  const dir = tempDir();
  const app = await App.open(join(dir.path, 'state'), genesis);
  return { app, dir: dir.path, cleanup: async () => { await app.close(); dir.remove(); } };
}

export function sendBody(over: Partial<TxBody> & { to: Uint8Array; amount: bigint; nonce: bigint }): TxBody {
  const { to, amount, ...rest } = over;
  return { chainId: CHAIN_ID, gasLimit: 10_000n, gasPrice: 1n, memo: '', msg: { type: 'send', value: { to, amount } }, ...rest };
}

export function send(from: KeyPair, to: KeyPair | Uint8Array, amount: bigint, nonce: bigint, over: Partial<TxBody> = {}): Uint8Array {
  const toAddr = to instanceof Uint8Array ? to : addressOf(to.publicKey);
  return signTx(sendBody({ to: toAddr, amount, nonce, ...over }), from);
}

/** Who signed the previous block, as consensus reports it: here every validator holding power signed. */
export async function allSigned(app: App): Promise<CommitVote[]> {
  if (app.head().height < app.genesis.initialHeight) return [];
  return (await allValidators(app.store)).filter((v) => v.power > 0n).map((v) => ({ address: v.address, power: v.power, signed: true }));
}

export interface NextBlockOptions {
  /** Default: one second after the head. */
  time?: bigint;
  /** Default: every validator with power signed the previous block (allSigned). */
  lastCommit?: CommitVote[];
  evidence?: Evidence[];
  /** Default: the proposer's real reveal for the height. */
  randaoReveal?: Uint8Array;
}

/** Applies the next block (one second after the head, signed by every validator) and returns its output. */
export async function nextBlock(app: App, txs: Uint8Array[], proposer = seededKey(1), opts: NextBlockOptions = {}): Promise<BlockOutput> {
  const head = app.head();
  return app.applyBlock({
    chainId: app.genesis.chainId,
    height: head.height + 1n,
    time: opts.time ?? head.time + SECOND,
    proposer: addressOf(proposer.publicKey),
    txs,
    evidence: opts.evidence,
    lastCommit: opts.lastCommit ?? (await allSigned(app)),
    randaoReveal: opts.randaoReveal ?? revealOf(proposer, head.height + 1n, app.genesis.chainId),
  });
}
