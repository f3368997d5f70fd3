// The randomness beacon (src/crypto/bls.ts, src/state/beacon.ts, the reveal rule in src/consensus/block.ts): key
// derivation, RANDAO sign/verify, the mix formula across blocks, pruning, beaconMixAt, the consensus check of a
// proposal's reveal, and the genesis / MsgStake rules for BLS keys.
import t from 'tap';
import { join } from 'node:path';
import { createHash, createHmac } from 'node:crypto';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { tempDir } from './helpers/tmp.ts';
import { CHAIN_ID, GENESIS_TIME, blsKeyOf, fixture, nextBlock, openApp, revealOf, seededKey } from './helpers/chain.ts';
import { ACC, Driver, addr, agentsFixture, key } from './helpers/agents.ts';
import {
  BLS_PUBKEY_LENGTH,
  BLS_SIGNATURE_LENGTH,
  blsPublicKey,
  blsPublicKeyOfSeed,
  blsPublicKeyProblem,
  blsSecretFromSeed,
  randaoSign,
  randaoVerify,
} from '../src/crypto/bls.ts';
import { BEACON_HISTORY, beaconMixAt, currentBeacon, genesisMix } from '../src/state/beacon.ts';
import { App, defaultModules } from '../src/state/app.ts';
import { genesisHash, genesisToJSON, parseGenesis } from '../src/state/genesis.ts';
import { validators } from '../src/state/validators.ts';
import type { Module } from '../src/state/module.ts';
import { PrivValidator } from '../src/consensus/signer.ts';
import { ValidatorSet } from '../src/consensus/validator-set.ts';
import { checkBlock, checkReveal, makeBlock, resultsHash, type BlockContext } from '../src/consensus/block.ts';
import { BlockCodec, EMPTY_BLOCK_ID, TxBodyCodec, emptyCommit, type Msg } from '../src/codec/types.ts';
import { signBytes, SignDomain } from '../src/codec/signbytes.ts';
import { addressOf } from '../src/crypto/keys.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { toHex, u64be } from '../src/crypto/bytes.ts';
import { AppError, ErrorCodes } from '../src/errors.ts';

/** SHA-256 written against node:crypto directly, so the mix formula is checked independently of the module. */
const H = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'ascii'));
const flip = (b: Uint8Array, i = 0): Uint8Array => {
  const c = b.slice();
  c[i] ^= 1;
  return c;
};

t.test('BLS key derivation from the ed25519 seed is deterministic and domain-separated', async (t) => {
  const seed = new Uint8Array(32).fill(1);
  const a = blsSecretFromSeed(seed);
  t.same(blsSecretFromSeed(seed), a, 'same seed, same secret');
  t.notSame(blsSecretFromSeed(new Uint8Array(32).fill(2)), a, 'another seed, another secret');
  t.notSame(a, seed, 'the BLS secret is not the ed25519 seed itself');
  const pub = blsPublicKey(a);
  t.equal(pub.length, BLS_PUBKEY_LENGTH);
  t.equal(blsPublicKeyProblem(pub), null, 'a valid compressed G1 point');
  t.same(blsPublicKeyOfSeed(seed), pub);
  // Pinned: a validator's registered key must never change under it (it would make every one of its blocks invalid).
  t.equal(toHex(pub), 'A1168B3DEA5843C0FBCA99100355B62AD6728F98145C22D5BBE7808F2B68480F927A661DD8D9AC60B904EBCC07D1B0B3', 'derivation v1 is stable');
  // HKDF-SHA256 (RFC 5869: empty salt = 32 zero bytes, info "agentcluster/beacon-bls/v1", 48 bytes of output), then
  // the curve's key generation: the big-endian number mod (r - 1), plus 1. Recomputed here with HMAC alone.
  const hmac = (k: Uint8Array, d: Uint8Array) => new Uint8Array(createHmac('sha256', k).update(d).digest());
  const prk = hmac(new Uint8Array(32), seed);
  const info = ascii('agentcluster/beacon-bls/v1');
  const t1 = hmac(prk, new Uint8Array([...info, 1]));
  const t2 = hmac(prk, new Uint8Array([...t1, ...info, 2]));
  const okm = new Uint8Array([...t1, ...t2]).subarray(0, 48);
  const r = bls12_381.fields.Fr.ORDER;
  const scalar = (BigInt('0x' + Buffer.from(okm).toString('hex')) % (r - 1n)) + 1n;
  t.equal(BigInt('0x' + Buffer.from(a).toString('hex')), scalar, 'secret = HKDF-SHA256(seed) mod (r - 1) + 1');
  t.throws(() => blsSecretFromSeed(new Uint8Array(31)), { code: 'BAD_KEY' }, 'a seed is 32 bytes');
});

t.test('RANDAO reveals: unique, verify only for their key, chain and height', async (t) => {
  const sk = blsSecretFromSeed(new Uint8Array(32).fill(5));
  const pk = blsPublicKey(sk);
  const other = blsPublicKeyOfSeed(new Uint8Array(32).fill(6));
  const sig = randaoSign(sk, 'chain-a', 7n);
  t.equal(sig.length, BLS_SIGNATURE_LENGTH);
  t.same(randaoSign(sk, 'chain-a', 7n), sig, 'signing again gives the same bytes: the proposer has nothing to choose');
  t.ok(randaoVerify(pk, 'chain-a', 7n, sig), 'verifies for its key, chain and height');
  t.notOk(randaoVerify(pk, 'chain-a', 8n, sig), 'not for another height');
  t.notOk(randaoVerify(pk, 'chain-b', 7n, sig), 'not for another chain');
  t.notOk(randaoVerify(other, 'chain-a', 7n, sig), 'not under another key');
  t.notOk(randaoVerify(pk, 'chain-a', 7n, randaoSign(sk, 'chain-a', 8n)), "another height's reveal does not pass for this one");
  t.notOk(randaoVerify(pk, 'chain-a', 7n, flip(sig, 40)), 'a flipped bit');
  t.notOk(randaoVerify(pk, 'chain-a', 7n, sig.subarray(0, 95)), 'a short signature (no throw)');
  t.notOk(randaoVerify(new Uint8Array(48).fill(0xff), 'chain-a', 7n, sig), 'a malformed key (no throw)');
  // The signed message is the SignDoc of the RANDAO domain: a tx or vote signature can never be one.
  t.not(toHex(signBytes(SignDomain.RANDAO, 'chain-a', u64be(7n))), toHex(signBytes(SignDomain.TX, 'chain-a', u64be(7n))));
});

t.test('BLS public keys: 48 bytes, a G1 subgroup point, not the identity', async (t) => {
  const identity = new Uint8Array(48);
  identity[0] = 0xc0; // compressed + infinity flags
  const x0 = new Uint8Array(48);
  x0[0] = 0x80; // x = 0: (0, 2) lies on y^2 = x^3 + 4 but not in the prime-order subgroup
  const rows: Array<[string, Uint8Array, RegExp]> = [
    ['47 bytes', new Uint8Array(47), /must be 48 bytes/],
    ['the identity', identity, /infinity/],
    ['a curve point outside the subgroup', x0, /not a valid compressed/],
    ['garbage', new Uint8Array(48).fill(0xff), /not a valid compressed/],
    ['no compression flag', new Uint8Array(48), /not a valid compressed/],
  ];
  for (const [name, bytes, re] of rows) t.match(blsPublicKeyProblem(bytes), re, name);
});

t.test('the signer makes the reveal its node puts in blocks, under the key genesis registers', async (t) => {
  const dir = tempDir();
  t.teardown(() => dir.remove());
  const k = seededKey(7);
  const pv = await PrivValidator.load(k, join(dir.path, 'pv.json'), CHAIN_ID);
  t.same(pv.blsPublicKey, blsKeyOf(k), 'the same key the test helpers and genesis derive');
  const r = pv.randaoReveal(3n);
  t.ok(randaoVerify(pv.blsPublicKey, CHAIN_ID, 3n, r));
  t.same(pv.randaoReveal(3n), r, 'asked again (another round): the same reveal');
  t.same(r, revealOf(k, 3n));
});

t.test('the mix follows the formula from the genesis mix, block after block', async (t) => {
  const fx = fixture();
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const m0 = H(ascii('agentcluster/beacon/v1/genesis'), genesisHash(fx.genesis));
  t.same(genesisMix(fx.genesis), m0);
  t.same(await beaconMixAt(app.store, 0n), m0, 'the genesis mix sits at initial_height - 1');
  t.same(await currentBeacon(app.store), { height: 0n, mix: m0 });
  let prev = m0;
  for (let h = 1n; h <= 4n; h++) {
    const reveal = revealOf(fx.validator, h);
    await nextBlock(app, [], fx.validator, { randaoReveal: reveal });
    const want = H(ascii('agentcluster/beacon/v1/mix'), prev, H(reveal));
    t.same(await beaconMixAt(app.store, h), want, `m_${h} = sha256(domain || m_${h - 1n} || sha256(reveal_${h}))`);
    t.same(await currentBeacon(app.store), { height: h, mix: want });
    prev = want;
  }
  t.same(await beaconMixAt(app.store, 1n), H(ascii('agentcluster/beacon/v1/mix'), m0, H(revealOf(fx.validator, 1n))), 'older mixes stay readable');

  // Another genesis (another chain id), the same reveals: another beacon.
  const other = fixture();
  const g2 = { ...other.genesis, chainId: 'other-chain' };
  t.notSame(genesisMix(g2), m0, 'the genesis mix is bound to the genesis');
});

t.test('beaconMixAt: what a module reading it during block h sees, and the heights it answers for', async (t) => {
  const fx = fixture();
  const seen: Array<[bigint, Uint8Array | undefined]> = [];
  const spy: Module = {
    name: 'beacon-spy',
    async endBlock(ctx) {
      seen.push([ctx.height, await beaconMixAt(ctx.state, ctx.height)]);
    },
  };
  const dir = tempDir();
  const app = await App.open(join(dir.path, 'state'), fx.genesis, { modules: [...defaultModules(), spy] });
  t.teardown(async () => {
    await app.close();
    dir.remove();
  });
  await nextBlock(app, [], fx.validator);
  await nextBlock(app, [], fx.validator);
  t.same(seen.map(([h]) => h), [1n, 2n]);
  t.same(seen[1][1], await beaconMixAt(app.store, 2n), 'during block h the mix of h is already the one committed after h (mixed in begin-block)');
  t.equal(await beaconMixAt(app.store, 3n), undefined, 'a height not executed yet');
  t.equal(await beaconMixAt(app.store, -1n), undefined, 'a negative height');
  t.equal(await beaconMixAt(app.store, 10n ** 12n), undefined, 'a far height');
});

t.test('only the last BEACON_HISTORY mixes are kept', async (t) => {
  const fx = fixture();
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  t.equal(BEACON_HISTORY, 1024n);
  // The executor does not verify reveals (consensus does), so one valid reveal reused keeps this test from signing
  // a thousand times; the mix changes every block anyway (it chains the previous mix).
  const reveal = revealOf(fx.validator, 1n);
  const last = BEACON_HISTORY + 3n;
  const mixes: Uint8Array[] = [];
  for (let h = 1n; h <= last; h++) {
    await nextBlock(app, [], fx.validator, { randaoReveal: reveal, lastCommit: h === 1n ? [] : undefined });
    if (h === 2n || h === 3n || h === 4n) mixes.push((await beaconMixAt(app.store, h))!);
  }
  t.equal(new Set(mixes.map(toHex)).size, 3, 'the same reveal still gives a new mix each block');
  t.equal(await beaconMixAt(app.store, 0n), undefined, 'the genesis mix is pruned');
  t.equal(await beaconMixAt(app.store, last - BEACON_HISTORY), undefined, `height ${last - BEACON_HISTORY} is pruned`);
  t.ok(await beaconMixAt(app.store, last - BEACON_HISTORY + 1n), `height ${last - BEACON_HISTORY + 1n} (the oldest of ${BEACON_HISTORY}) is kept`);
  t.ok(await beaconMixAt(app.store, last));
  const kept = (await app.store.entries(new Uint8Array([0x0b, 0x01]))).length;
  t.equal(BigInt(kept), BEACON_HISTORY, 'exactly BEACON_HISTORY mixes in state');
});

t.test('the executor refuses a block without a 96-byte reveal (a wiring mistake, not a consensus rule)', async (t) => {
  const fx = fixture();
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const head = app.head();
  const base = { chainId: CHAIN_ID, height: 1n, time: head.time + 1n, proposer: addr(fx.validator), txs: [] };
  await t.rejects(app.execute(base), { code: 'BEACON_BAD_REVEAL' });
  await t.rejects(app.execute({ ...base, randaoReveal: new Uint8Array(95) }), { code: 'BEACON_BAD_REVEAL' });
});

t.test('consensus: a proposal whose reveal does not verify is invalid (the host prevotes nil on it)', async (t) => {
  const keys = [1, 2, 3].map(seededKey);
  const set = ValidatorSet.fromPowers(keys.map((k) => ({ pubKey: k.publicKey, power: 10n })));
  const blsKeys = new Map(keys.map((k) => [toHex(addressOf(k.publicKey)), blsKeyOf(k)] as const));
  const ctx: BlockContext = {
    chainId: CHAIN_ID,
    height: 1n,
    prevTime: GENESIS_TIME,
    isFirst: true,
    lastBlockId: EMPTY_BLOCK_ID,
    lastCommit: emptyCommit(),
    lastValidators: undefined,
    validators: set,
    nextValidators: set.incrementProposerPriority(1),
    consensusHash: sha256(ascii('params')),
    appHash: sha256(ascii('app')),
    lastResultsHash: resultsHash([]),
    blsKeys,
  };
  const proposer = set.proposer().address;
  const pk = keys.find((k) => toHex(addressOf(k.publicKey)) === toHex(proposer))!;
  const other = keys.find((k) => k !== pk)!;
  const build = (reveal: Uint8Array) => BlockCodec.decode(makeBlock(ctx, proposer, [], [], reveal).bytes);
  t.equal(checkBlock(ctx, build(revealOf(pk, 1n)), proposer), null, "the proposer's reveal for (chain, height): valid");
  const rows: Array<[string, Uint8Array]> = [
    ['another height', revealOf(pk, 2n)],
    ['another chain', revealOf(pk, 1n, 'other-chain')],
    ["another validator's reveal", revealOf(other, 1n)],
    ['a flipped bit', flip(revealOf(pk, 1n), 50)],
  ];
  for (const [name, reveal] of rows) {
    t.match(checkBlock(ctx, build(reveal), proposer), /^randao_reveal is not the proposer's BLS signature/, name);
  }
  t.equal(checkBlock(ctx, build(revealOf(other, 1n)), proposer, { verifyReveal: false }), null, 'block sync (trusted by its commit) skips the pairing');
  const noKey = { ...ctx, blsKeys: new Map<string, Uint8Array>() };
  t.match(checkReveal(noKey, build(revealOf(pk, 1n))), /has no BLS key in state/, 'a proposer without a key cannot propose a valid block');
  t.throws(() => BlockCodec.decode(BlockCodec.encode({ ...build(revealOf(pk, 1n)), randaoReveal: new Uint8Array(0) })), { code: 'INVALID_FIELD' }, 'a block without a reveal does not even decode');
});

t.test('genesis: bls_pub_key is required and must be a valid key, with a clear BAD_GENESIS', async (t) => {
  const fx = fixture();
  const base = () => JSON.parse(JSON.stringify(genesisToJSON(fx.genesis)));
  t.equal(base().validators[0].bls_pub_key, toHex(blsKeyOf(fx.validator)), 'genesis carries the derived key, as hex');
  t.same(parseGenesis(base()).validators[0].blsPubKey, blsKeyOf(fx.validator));
  const identity = 'C0' + '00'.repeat(47);
  const rows: Array<[string, (j: { validators: Array<Record<string, unknown>> }) => void, RegExp]> = [
    ['missing', (j) => void delete j.validators[0].bls_pub_key, /bls_pub_key/],
    ['not hex', (j) => void (j.validators[0].bls_pub_key = 'zz'.repeat(48)), /must be hex/],
    ['47 bytes', (j) => void (j.validators[0].bls_pub_key = 'AB'.repeat(47)), /must be 48 bytes/],
    ['the identity', (j) => void (j.validators[0].bls_pub_key = identity), /point at infinity/],
    ['not a curve point', (j) => void (j.validators[0].bls_pub_key = 'FF'.repeat(48)), /not a valid compressed BLS12-381 G1 point/],
    ['a number', (j) => void (j.validators[0].bls_pub_key = 5), /bls_pub_key/],
  ];
  for (const [name, mutate, re] of rows) {
    const j = base();
    mutate(j);
    try {
      parseGenesis(j);
      t.fail(`${name}: accepted`);
    } catch (e) {
      t.ok(e instanceof AppError, name);
      t.equal((e as AppError).code, 'BAD_GENESIS', `${name}: BAD_GENESIS`);
      t.match((e as AppError).message, /validators\[0\]\.bls_pub_key/, `${name}: names the field`);
      t.match((e as AppError).message, re, `${name}: ${(e as AppError).message}`);
    }
  }
});

t.test('MsgStake: a first stake must carry a valid BLS key; it never changes afterwards', async (t) => {
  const d = await Driver.open(agentsFixture(), t.teardown);
  const [u0, u1] = d.fx.users;
  const stake = (amount: bigint, blsPubKey: Uint8Array): Msg => ({ type: 'stake', value: { amount, consensusPubKey: new Uint8Array(0), moniker: '', blsPubKey } });
  const register = (k: typeof u0): Msg => ({ type: 'register_agent', value: { capabilities: { cpuCores: 1, gpuMemoryMb: 0n, llmTokensPerSecond: 0n, models: [], skills: [] }, attestation: d.attest(k), bond: d.params.agents.bond } });
  await d.block([await d.tx(u0, register(u0)), await d.tx(u1, register(u1))]);
  const amount = 2_000n * ACC;
  const bad = new Uint8Array(48).fill(0xff);
  const cases: Array<[string, Uint8Array, string]> = [
    ['no BLS key on the first stake', new Uint8Array(0), 'BAD_BLS_KEY'],
    ['a BLS key that is not a G1 point', bad, 'BAD_BLS_KEY'],
  ];
  for (const [name, k, code] of cases) {
    const { result } = await d.run(u0, stake(amount, k));
    t.equal(result.code, ErrorCodes[code as keyof typeof ErrorCodes], `${name}: ${result.log}`);
  }
  const noKey = await d.run(u0, stake(amount, new Uint8Array(0)));
  t.match(noKey.result.log, /first stake must carry bls_pub_key/, 'the log says what to send');
  t.throws(() => TxBodyCodec.decode(TxBodyCodec.encode({ chainId: CHAIN_ID, nonce: 0n, gasLimit: 1n, gasPrice: 1n, memo: '', msg: stake(amount, new Uint8Array(47)) })), { code: 'INVALID_FIELD' }, 'a 47-byte key fails validateBasic');

  const mine = blsKeyOf(u0);
  const ok = await d.run(u0, stake(amount, mine));
  t.equal(ok.result.code, 0, ok.result.log);
  const hexKey = async (k: typeof u0) => toHex((await validators.get(d.app.store, addr(k)))!.blsPubKey);
  t.equal(await hexKey(u0), toHex(mine), 'the validator record holds the key');
  t.equal((await d.run(u0, stake(ACC, new Uint8Array(0)))).result.code, 0, 'a later stake may leave it empty');
  t.equal((await d.run(u0, stake(ACC, mine))).result.code, 0, 'or send the same key');
  const change = await d.run(u0, stake(ACC, blsKeyOf(key(77))));
  t.equal(change.result.code, ErrorCodes.BAD_BLS_KEY, `another key is refused: ${change.result.log}`);
  t.equal(await hexKey(u0), toHex(mine), 'and the key is unchanged');
  // Genesis validators have theirs from genesis.
  t.equal(await hexKey(d.fx.validators[1]), toHex(blsKeyOf(d.fx.validators[1])), 'genesis validators have the key from genesis');
});
