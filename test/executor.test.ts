import t from 'tap';
import { addressOf, sign } from '../src/crypto/keys.ts';
import { concat, toHex } from '../src/crypto/bytes.ts';
import { ErrorCodes } from '../src/errors.ts';
import { TxCodec, TxBodyCodec, type Event } from '../src/codec/types.ts';
import { txSignBytes } from '../src/codec/signbytes.ts';
import { signTx } from '../src/codec/tx.ts';
import { getAccount, moduleAddress, ModuleAccount } from '../src/state/accounts.ts';
import { checkSupply, getSupply, supplyBreakdown, supplySum } from '../src/state/economics.ts';
import { App } from '../src/state/app.ts';
import { CHAIN_ID, SECOND, fixture, nextBlock, openApp, revealOf, send, sendBody, seededKey } from './helpers/chain.ts';
import { tempDir } from './helpers/tmp.ts';
import { Rng } from './helpers/rng.ts';
import { join } from 'node:path';

const addr = (k: { publicKey: Uint8Array }) => addressOf(k.publicKey);

t.test('a valid transfer moves the amount, charges gas used x price, bumps the nonce', async (t) => {
  const fx = fixture();
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const [alice, bob] = fx.users;
  const before = await getAccount(app.store, addr(alice));
  const out = await nextBlock(app, [send(alice, bob, 5_000n, 0n, { gasPrice: 2n })]);
  const r = out.txResults[0];
  t.equal(r.code, 0, r.log);
  t.ok(r.gasUsed > 0n && r.gasUsed <= r.gasWanted);
  const after = await getAccount(app.store, addr(alice));
  t.equal(after.balance, before.balance - 5_000n - r.gasUsed * 2n);
  t.equal(after.nonce, 1n);
  t.equal((await getAccount(app.store, addr(bob))).balance, before.balance + 5_000n);
  const transfer = r.events.find((e) => e.type === 'transfer')!;
  t.same(Object.fromEntries(transfer.attributes.map((a) => [a.key, a.value])), { sender: toHex(addr(alice)), recipient: toHex(addr(bob)), amount: '5000' });
  await checkSupply(app.store);
});

t.test('fees: half burned, half paid to the validators that signed, in the next block', async (t) => {
  const fx = fixture();
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const [alice, bob] = fx.users;
  const collector = moduleAddress(ModuleAccount.FEE_COLLECTOR);
  const valBefore = (await getAccount(app.store, addr(fx.validator))).balance;
  const emitted = (out: { beginBlockEvents: Event[] }): bigint =>
    out.beginBlockEvents.filter((e) => e.type === 'emission' && e.attributes.some((a) => a.key === 'pool' && a.value === 'validators'))
      .reduce((s, e) => s + BigInt(e.attributes.find((a) => a.key === 'amount')!.value), 0n);
  const first = await nextBlock(app, [send(alice, bob, 1n, 0n, { gasPrice: 3n })]);
  const fee = first.txResults[0].gasUsed * 3n;
  t.equal((await getSupply(app.store)).burned, fee - fee / 2n, 'burned half (rounding toward the burn)');
  t.equal((await getAccount(app.store, collector)).balance, fee / 2n + emitted(first), 'the first block has no last commit: its fees and emission wait');
  t.equal((await getAccount(app.store, addr(fx.validator))).balance, valBefore, 'nobody was paid yet');
  const second = await nextBlock(app, []);
  t.ok(emitted(first) > 0n && emitted(second) > 0n, 'the validators pool released something in each block');
  t.equal((await getAccount(app.store, addr(fx.validator))).balance - valBefore, fee / 2n + emitted(first) + emitted(second), 'the single signer got the fees and the emission');
  t.equal((await getAccount(app.store, collector)).balance, 0n, 'collector emptied');
  await checkSupply(app.store);
});

function rawTx(bodyBytes: Uint8Array, key = seededKey(10)): Uint8Array {
  return TxCodec.encode({ body: bodyBytes, pubKey: key.publicKey, signature: sign(txSignBytes(CHAIN_ID, bodyBytes), key.secretKey) });
}

t.test('every rejection code: ante failures change nothing at all', async (t) => {
  const fx = fixture({ params: (p) => { p.fees.min_gas_price = 1n; } });
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const [alice, bob] = fx.users;
  const good = send(alice, bob, 10n, 0n);
  const wrongSig = TxCodec.decode(good);
  const otherKey = seededKey(99);
  const rows: Array<[string, Uint8Array, keyof typeof ErrorCodes]> = [
    ['undecodable bytes', new Uint8Array([1, 2, 3, 4]), 'TX_DECODE'],
    ['oversized tx', new Uint8Array(40_000), 'TX_TOO_LARGE'],
    ['signature by another key', TxCodec.encode({ ...wrongSig, pubKey: otherKey.publicKey }), 'BAD_SIGNATURE'],
    ['tampered signature', TxCodec.encode({ ...wrongSig, signature: concat(wrongSig.signature.subarray(0, 63), new Uint8Array([wrongSig.signature[63] ^ 1])) }), 'BAD_SIGNATURE'],
    ['wrong chain id', send(alice, bob, 10n, 0n, { chainId: 'other-chain' }), 'WRONG_CHAIN_ID'],
    ['future nonce', send(alice, bob, 10n, 5n), 'WRONG_NONCE'],
    ['gas price below minimum', send(alice, bob, 10n, 0n, { gasPrice: 0n }), 'FEE_TOO_LOW'],
    ['max fee above balance', send(alice, bob, 10n, 0n, { gasLimit: 10n ** 12n, gasPrice: 10n ** 6n }), 'INSUFFICIENT_FUNDS'],
    ['zero amount', rawTx(TxBodyCodec.encode(sendBody({ to: addr(bob), amount: 1n, nonce: 0n })).map((b, i, a) => (i === a.length - 1 ? 0 : b))), 'TX_DECODE'],
    ['unknown message (empty oneof)', rawTx(new Uint8Array([0x0a, 0x0a, ...Buffer.from(CHAIN_ID), 0x18, 0x01])), 'UNKNOWN_MESSAGE'],
    ['memo too long', send(alice, bob, 10n, 0n, { memo: 'x'.repeat(300) }), 'INVALID_FIELD'],
  ];
  // Block-level work (emission, rewards, downtime counting) changes the state of every block: the failing txs must
  // leave exactly the state an empty block at the same height and time leaves.
  const head = app.head();
  const emptyBlock = { chainId: CHAIN_ID, height: head.height + 1n, time: head.time + SECOND, proposer: addr(fx.validator), txs: [], lastCommit: [], randaoReveal: revealOf(fx.validator, head.height + 1n) };
  const root = (await app.execute(emptyBlock)).appHash;
  const out = await nextBlock(app, rows.map((r) => r[1]), undefined, { lastCommit: [] });
  rows.forEach(([name, , code], i) => {
    t.equal(out.txResults[i].code, ErrorCodes[code], `${name}: ${out.txResults[i].log}`);
    t.ok(out.txResults[i].log.startsWith(code), `${name}: log names the code`);
    t.equal(out.txResults[i].gasUsed, 0n, `${name}: no gas charged`);
  });
  t.equal(toHex(out.appHash), toHex(root), 'the state is exactly what an empty block leaves');
});

t.test('message failures keep only the fee and the nonce', async (t) => {
  const fx = fixture({ fund: 1_000_000n });
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const [alice, bob] = fx.users;
  const rows: Array<[string, (nonce: bigint) => Uint8Array, keyof typeof ErrorCodes]> = [
    ['amount above balance', (n) => send(alice, bob, 995_000n, n), 'INSUFFICIENT_FUNDS'],
    ['amount beyond the total supply', (n) => send(alice, bob, 2n ** 63n, n), 'INVALID_AMOUNT'],
    ['gas limit below the intrinsic gas', (n) => send(alice, bob, 1n, n, { gasLimit: 100n }), 'OUT_OF_GAS'],
  ];
  let nonce = 0n;
  for (const [name, build, code] of rows) {
    const before = await getAccount(app.store, addr(alice));
    const bobBefore = await getAccount(app.store, addr(bob));
    const out = await nextBlock(app, [build(nonce)]);
    const r = out.txResults[0];
    t.equal(r.code, ErrorCodes[code], `${name}: ${r.log}`);
    t.ok(r.gasUsed > 0n, `${name}: gas charged`);
    const after = await getAccount(app.store, addr(alice));
    t.equal(after.nonce, before.nonce + 1n, `${name}: nonce bumped`);
    t.equal(after.balance, before.balance - r.gasUsed, `${name}: only the fee left the account`);
    t.same(await getAccount(app.store, addr(bob)), bobBefore, `${name}: recipient untouched`);
    nonce++;
    await checkSupply(app.store);
  }
});

t.test('replay: the same signed tx is refused once its nonce is used', async (t) => {
  const fx = fixture();
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const tx = send(fx.users[0], fx.users[1], 7n, 0n);
  const first = await nextBlock(app, [tx, tx]);
  t.equal(first.txResults[0].code, 0);
  t.equal(first.txResults[1].code, ErrorCodes.WRONG_NONCE, 'twice in one block');
  const again = await nextBlock(app, [tx]);
  t.equal(again.txResults[0].code, ErrorCodes.WRONG_NONCE, 'in a later block');
});

t.test('determinism: the same block on the same state gives the same app hash, on any node', async (t) => {
  const fx = fixture();
  const a = await openApp(fx.genesis);
  const b = await openApp(fx.genesis);
  t.teardown(async () => { await a.cleanup(); await b.cleanup(); });
  t.equal(toHex(a.app.head().appHash), toHex(b.app.head().appHash), 'same genesis state');
  const [alice, bob, carol] = fx.users;
  const txs = [send(alice, bob, 100n, 0n), send(bob, carol, 50n, 0n), send(carol, alice, 10n ** 17n, 0n), send(alice, carol, 1n, 1n)];
  const block = { chainId: CHAIN_ID, height: 1n, time: fx.genesis.genesisTime + SECOND, proposer: addr(fx.validator), txs, randaoReveal: revealOf(fx.validator, 1n) };
  const x = await a.app.execute(block);
  const y = await a.app.execute(block);
  t.equal(toHex(x.appHash), toHex(y.appHash), 'executing twice before commit');
  t.same(x.txResults, y.txResults);
  await a.app.commit(block, x);
  const z = await b.app.applyBlock(block);
  t.equal(toHex(z.appHash), toHex(x.appHash), 'another store');
  t.not(toHex(x.appHash), toHex(b.app.store.head()!.genesisHash));
});

t.test('property: the supply invariant holds after long random transfer sequences', async (t) => {
  const rng = new Rng(2026);
  const fx = fixture({ users: 8, fund: 1_000_000_000n });
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const nonces = fx.users.map(() => 0n);
  let ok = 0;
  let failed = 0;
  for (let h = 0; h < 60; h++) {
    const txs: Uint8Array[] = [];
    for (let i = rng.int(0, 25); i > 0; i--) {
      const from = rng.int(0, fx.users.length - 1);
      const to = rng.int(0, fx.users.length - 1);
      const amount = rng.chance(0.1) ? rng.bigint(1n, 10n ** 16n) : rng.bigint(1n, 20_000n);
      const badNonce = rng.chance(0.05);
      txs.push(send(fx.users[from], fx.users[to], amount, badNonce ? nonces[from] + 3n : nonces[from], { gasPrice: rng.bigint(1n, 4n) }));
      if (!badNonce) nonces[from]++;
    }
    const out = await nextBlock(app, txs);
    for (const r of out.txResults) if (r.code === 0) ok++; else failed++;
    // A tx that passed the ante bumped the nonce even if its message failed; resync from state.
    for (let i = 0; i < fx.users.length; i++) nonces[i] = (await getAccount(app.store, addr(fx.users[i]))).nonce;
    const b = await checkSupply(app.store);
    if (supplySum(b) !== 10n ** 15n) t.fail(`supply broken at height ${h}`);
  }
  t.ok(ok > 300, `many transfers succeeded (${ok})`);
  t.ok(failed > 10, `and some failed (${failed})`);
  const b = await supplyBreakdown(app.store);
  t.ok(b.burned > 0n, 'fees were burned');
});

t.test('team tokens vest: nothing before the cliff, linear after, all at the end', async (t) => {
  const fx = fixture({ params: (p) => { p.supply.team_cliff_seconds = 10n; p.supply.team_vesting_seconds = 40n; } });
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const total = (10n ** 15n * 1200n) / 10_000n;
  const balance = async () => (await getAccount(app.store, addr(fx.team))).balance;
  for (let s = 1; s <= 9; s++) await nextBlock(app, []);
  t.equal(await balance(), 0n, 'before the cliff (9 s)');
  await nextBlock(app, []);
  t.equal(await balance(), total / 4n, 'at the cliff: 10 of 40 seconds vested');
  for (let s = 11; s <= 20; s++) await nextBlock(app, []);
  t.equal(await balance(), total / 2n, 'half way');
  for (let s = 21; s <= 45; s++) await nextBlock(app, []);
  t.equal(await balance(), total, 'everything after the end');
  await checkSupply(app.store);
});

t.test('the store persists across reopen and refuses a different genesis', async (t) => {
  const fx = fixture();
  const dir = tempDir();
  t.teardown(dir.remove);
  const path = join(dir.path, 'state');
  const app = await App.open(path, fx.genesis);
  await nextBlock(app, [send(fx.users[0], fx.users[1], 3n, 0n)]);
  const head = app.head();
  await app.close();
  const again = await App.open(path, fx.genesis);
  t.equal(again.head().height, head.height);
  t.equal(toHex(again.head().appHash), toHex(head.appHash));
  t.equal((await getAccount(again.store, addr(fx.users[0]))).nonce, 1n);
  const results = await again.store.getResults(head.height);
  t.equal(results?.txResults[0].code, 0);
  await again.close();
  const other = fixture({ fund: 7n });
  await t.rejects(App.open(path, other.genesis), { code: 'BAD_GENESIS' });
});

t.test('signTx signs exactly the body bytes it carries', async (t) => {
  const key = seededKey(10);
  const tx = TxCodec.decode(signTx(sendBody({ to: addr(seededKey(11)), amount: 1n, nonce: 0n }), key));
  t.equal(toHex(tx.pubKey), toHex(key.publicKey));
});
