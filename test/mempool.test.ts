import t from 'tap';
import type { Test } from 'tap';
import { addressOf, sign, type KeyPair } from '../src/crypto/keys.ts';
import { concat, toHex } from '../src/crypto/bytes.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { CODESPACE, ErrorCodes, type ErrorCode } from '../src/errors.ts';
import { TxCodec } from '../src/codec/types.ts';
import { txSignBytes } from '../src/codec/signbytes.ts';
import { getAccount } from '../src/state/accounts.ts';
import { checkSupply } from '../src/state/economics.ts';
import type { App } from '../src/state/app.ts';
import { Mempool, type CheckTxResponse, type MempoolOptions } from '../src/mempool/mempool.ts';
import { CHAIN_ID, fixture, nextBlock, openApp, send, seededKey, type Fixture } from './helpers/chain.ts';
import { Rng } from './helpers/rng.ts';

const addr = (k: KeyPair) => addressOf(k.publicKey);
const hex = (b: Uint8Array) => toHex(b);

interface Env {
  fx: Fixture;
  app: App;
  pool: Mempool;
  users: KeyPair[];
}

async function setup(t: Test, opts: { users?: number; fund?: bigint; pool?: Partial<Omit<MempoolOptions, 'app'>> } = {}): Promise<Env> {
  const fx = fixture({ users: opts.users ?? 4, fund: opts.fund });
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const pool = new Mempool({ app, size: 10_000, maxTxsBytes: 1 << 20, ...opts.pool });
  return { fx, app, pool, users: fx.users };
}

function expectCode(t: Test, r: CheckTxResponse, code: ErrorCode, log?: RegExp, what = ''): void {
  t.equal(r.code, ErrorCodes[code], `${what} code ${code}: ${r.log}`);
  t.equal(r.codespace, CODESPACE, `${what} codespace`);
  t.ok(r.log.startsWith(`${code}: `), `${what} log names the code`);
  if (log !== undefined) t.match(r.log, log, `${what} log says why`);
  t.equal(r.gasUsed, 0n, `${what} no gas used`);
}

function expectOk(t: Test, r: CheckTxResponse, what = ''): void {
  t.equal(r.code, 0, `${what} accepted: ${r.log}`);
}

/** Applies `txs` as the next block, tells the pool, and returns the tx result codes. */
async function commitBlock(env: Env, txs: Uint8Array[]): Promise<number[]> {
  const out = await nextBlock(env.app, txs);
  await env.pool.committed(env.app.head().height, txs);
  return out.txResults.map((r) => r.code);
}

function rawTx(bodyBytes: Uint8Array, key: KeyPair): Uint8Array {
  return TxCodec.encode({ body: bodyBytes, pubKey: key.publicKey, signature: sign(txSignBytes(CHAIN_ID, bodyBytes), key.secretKey) });
}

t.test('a valid tx is admitted: response, indexes and size', async (t) => {
  const { pool, users } = await setup(t);
  const [alice, bob] = users;
  const tx = send(alice, bob, 5n, 0n, { gasLimit: 12_345n });
  const added: string[] = [];
  const off = pool.onAdded((_tx, hash) => added.push(hex(hash)));
  const r = await pool.checkTx(tx);
  expectOk(t, r);
  t.same(r, { code: 0, codespace: '', log: '', gasWanted: 12_345n, gasUsed: 0n, hash: sha256(tx) });
  t.ok(pool.has(sha256(tx)));
  t.notOk(pool.has(sha256(send(alice, bob, 6n, 0n))));
  t.equal(pool.size, 1);
  t.equal(pool.bytes, tx.length);
  t.same(pool.list(10), [tx]);
  t.same(pool.reap(1 << 20), [tx]);
  t.equal(pool.size, 1, 'reap does not remove');
  t.same(added, [hex(sha256(tx))], 'onAdded saw it');
  t.equal(pool.nextNonce(addr(alice)), 1n);
  t.equal(pool.nextNonce(addr(bob)), undefined);
  off();
  expectOk(t, await pool.checkTx(send(alice, bob, 5n, 1n)));
  t.equal(added.length, 1, 'unsubscribed');
  t.match(pool.stats(), { size: 2, senders: 1, admitted: 2, rejected: 0 });
});

t.test('every rejection: code, log, nothing added', async (t) => {
  const { pool, users } = await setup(t, { fund: 1_000_000n });
  const [alice, bob] = users;
  const good = TxCodec.decode(send(alice, bob, 10n, 0n));
  const rows: Array<[string, Uint8Array, ErrorCode, RegExp]> = [
    ['undecodable bytes', new Uint8Array([1, 2, 3, 4]), 'TX_DECODE', /./],
    ['too large', new Uint8Array(40_000), 'TX_TOO_LARGE', /limit is 32768/],
    ['signed by another key', TxCodec.encode({ ...good, pubKey: seededKey(99).publicKey }), 'BAD_SIGNATURE', /signature/],
    ['tampered signature', TxCodec.encode({ ...good, signature: concat(good.signature.subarray(0, 63), new Uint8Array([good.signature[63] ^ 1])) }), 'BAD_SIGNATURE', /signature/],
    ['wrong chain id', send(alice, bob, 10n, 0n, { chainId: 'other-chain' }), 'WRONG_CHAIN_ID', /other-chain/],
    ['gas price below minimum', send(alice, bob, 10n, 0n, { gasPrice: 0n }), 'FEE_TOO_LOW', /below the minimum 1/],
    ['gas limit below intrinsic gas', send(alice, bob, 10n, 0n, { gasLimit: 2_000n }), 'OUT_OF_GAS', /gas_limit 2000 is below the \d+ gas/],
    ['memo too long', send(alice, bob, 10n, 0n, { memo: 'x'.repeat(300) }), 'INVALID_FIELD', /memo/],
    ['unknown message', rawTx(new Uint8Array([0x0a, 0x0a, ...Buffer.from(CHAIN_ID), 0x18, 0x01]), alice), 'UNKNOWN_MESSAGE', /send/],
    ['nonce gap', send(alice, bob, 10n, 5n), 'WRONG_NONCE', /nonce 5 leaves a gap: this sender's next nonce is 0/],
    ['max fee above balance', send(alice, bob, 1n, 0n, { gasLimit: 1_000_000n, gasPrice: 2n }), 'INSUFFICIENT_FUNDS', /cannot cover/],
    ['amount above balance', send(alice, bob, 999_000n, 0n), 'INSUFFICIENT_FUNDS', /= 1009000 uacc/],
  ];
  for (const [name, tx, code, log] of rows) {
    for (const add of [false, true]) {
      const r = await pool.checkTx(tx, { add });
      expectCode(t, r, code, log, `${name} (add=${add}):`);
      t.same(r.hash, sha256(tx), `${name}: hash of the bytes`);
    }
  }
  t.equal(pool.size, 0);
  t.equal(pool.bytes, 0);
  t.equal(pool.stats().rejected, rows.length * 2);
});

t.test('nonces against committed state and pending txs', async (t) => {
  const env = await setup(t);
  const { pool, users } = env;
  const [alice, bob] = users;
  const a0 = send(alice, bob, 1n, 0n);
  t.same(await commitBlock(env, [a0]), [0]);
  const rows: Array<[string, Uint8Array, ErrorCode | 0, RegExp | null]> = [
    ['reused (committed) nonce', send(alice, bob, 2n, 0n), 'WRONG_NONCE', /nonce 0 is already used: the account's next nonce is 1/],
    ['gap after committed nonce', send(alice, bob, 2n, 2n), 'WRONG_NONCE', /nonce 2 leaves a gap: this sender's next nonce is 1 \(account nonce 1 \+ 0 pending\)/],
    ['next nonce', send(alice, bob, 2n, 1n), 0, null],
    ['nonce taken by a pending tx', send(alice, bob, 3n, 1n), 'WRONG_NONCE', /nonce 1 is taken by a pending tx in the mempool; this sender's next nonce is 2/],
    ['gap after pending', send(alice, bob, 3n, 3n), 'WRONG_NONCE', /next nonce is 2 \(account nonce 1 \+ 1 pending\)/],
    ['next after pending', send(alice, bob, 3n, 2n), 0, null],
  ];
  for (const [name, tx, code, log] of rows) {
    const r = await pool.checkTx(tx);
    if (code === 0) expectOk(t, r, name);
    else expectCode(t, r, code, log!, `${name}:`);
  }
  t.equal(pool.size, 2);
  t.equal(pool.nextNonce(addr(alice)), 3n);
});

t.test('funds: the pending txs of a sender reserve their max fee and amount', async (t) => {
  // Max fee 10,000 x 1; balance 50,000.
  const { pool, users } = await setup(t, { fund: 50_000n });
  const [alice, bob] = users;
  expectOk(t, await pool.checkTx(send(alice, bob, 15_000n, 0n)), 'first (25,000 reserved)');
  expectOk(t, await pool.checkTx(send(alice, bob, 5_000n, 1n)), 'second (40,000 reserved)');
  // Alone this one fits the balance (10,000 + 1 <= 50,000); after the pending ones it does not.
  const third = send(alice, bob, 1n, 2n);
  expectCode(t, await pool.checkTx(third), 'INSUFFICIENT_FUNDS', /balance 50000 uacc cannot cover this tx's gas_limit x gas_price \+ amount = 10001 uacc plus 40000 uacc reserved by 2 pending/);
  expectOk(t, await pool.checkTx(send(alice, bob, 1n, 2n, { gasLimit: 9_999n })), 'exactly the remainder: 9,999 + 1');
  // The fee alone counts too: pending fees with no amount.
  expectCode(t, await pool.checkTx(send(bob, alice, 1n, 0n, { gasLimit: 25_000n, gasPrice: 2n })), 'INSUFFICIENT_FUNDS', /= 50001 uacc/);
  t.equal(pool.size, 3);
});

t.test('duplicates and the recent-hash cache', async (t) => {
  const env = await setup(t, { pool: { cacheSize: 3 } });
  const { pool, users } = env;
  const [alice, bob, carol] = users;
  const tx = send(alice, bob, 1n, 0n);
  expectOk(t, await pool.checkTx(tx));
  expectCode(t, await pool.checkTx(tx), 'ALREADY_EXISTS', /already exists in the mempool/, 'in the pool:');
  expectCode(t, await pool.checkTx(tx, { add: false }), 'ALREADY_EXISTS', /already exists/, 'check only:');

  // A permanently bad tx is remembered; re-sending it is refused from the cache.
  const cheap = send(carol, bob, 1n, 0n, { gasPrice: 0n });
  expectCode(t, await pool.checkTx(cheap), 'FEE_TOO_LOW');
  expectCode(t, await pool.checkTx(cheap), 'ALREADY_EXISTS', /already exists in cache/, 'rejected, cached:');

  // A gap is not permanent: the same bytes are admitted once the missing nonce arrives.
  const b1 = send(bob, alice, 1n, 1n);
  expectCode(t, await pool.checkTx(b1), 'WRONG_NONCE', /gap/);
  expectOk(t, await pool.checkTx(send(bob, alice, 1n, 0n)));
  expectOk(t, await pool.checkTx(b1), 'gap filled, same bytes');

  // A committed tx stays in the cache after leaving the pool.
  t.same(await commitBlock(env, [tx]), [0]);
  t.notOk(pool.has(sha256(tx)));
  expectCode(t, await pool.checkTx(tx), 'ALREADY_EXISTS', /cache/, 'committed, re-broadcast:');

  // The cache is an LRU of cacheSize: three newer hashes push the committed one out; then the nonce check refuses it.
  for (let i = 0; i < 3; i++) await pool.checkTx(new Uint8Array([9, 9, i]));
  expectCode(t, await pool.checkTx(tx), 'WRONG_NONCE', /already used/, 'forgotten by the cache, still refused:');
});

t.test('check_tx (add = false) runs every check and changes nothing', async (t) => {
  const { pool, users } = await setup(t, { pool: { size: 1 } });
  const [alice, bob] = users;
  const tx = send(alice, bob, 1n, 0n);
  const r = await pool.checkTx(tx, { add: false });
  expectOk(t, r);
  t.equal(r.gasWanted, 10_000n);
  t.equal(pool.size, 0);
  expectCode(t, await pool.checkTx(send(alice, bob, 1n, 1n), { add: false }), 'WRONG_NONCE', /gap/, 'the checked tx did not take nonce 0:');
  expectOk(t, await pool.checkTx(tx), 'not cached by the check');
  expectCode(t, await pool.checkTx(send(bob, alice, 1n, 0n), { add: false }), 'MEMPOOL_FULL', /mempool is full/, 'full pool, same price:');
  expectOk(t, await pool.checkTx(send(bob, alice, 1n, 0n, { gasPrice: 2n }), { add: false }), 'would evict');
  t.equal(pool.size, 1);
  t.ok(pool.has(sha256(tx)), 'nothing was evicted by a check');
});

t.test('limits and eviction', async (t) => {
  t.test('count limit: a higher gas price evicts the cheapest last tx of another sender', async (t) => {
    const { pool, users } = await setup(t, { users: 5, pool: { size: 3 } });
    const [a, b, c, d] = users;
    const aTx = send(a, d, 1n, 0n, { gasPrice: 1n });
    const bTx = send(b, d, 1n, 0n, { gasPrice: 2n });
    const cTx = send(c, d, 1n, 0n, { gasPrice: 3n });
    for (const tx of [aTx, bTx, cTx]) expectOk(t, await pool.checkTx(tx));
    const dLow = send(d, a, 1n, 0n, { gasPrice: 1n });
    expectCode(t, await pool.checkTx(dLow), 'MEMPOOL_FULL', /gas_price 1 evicts nothing; the cheapest evictable tx pays 1/, 'equal price:');
    expectOk(t, await pool.checkTx(send(d, a, 1n, 0n, { gasPrice: 2n })), 'higher price evicts');
    t.equal(pool.size, 3);
    t.notOk(pool.has(sha256(aTx)), 'the cheapest went');
    t.equal(pool.stats().evicted, 1);
    // The evicted tx may come back (it left the cache): here it is refused for room, not as a duplicate.
    expectCode(t, await pool.checkTx(aTx), 'MEMPOOL_FULL', undefined, 'evicted, re-sent:');
  });

  t.test('only a sender\'s last tx is evictable, never the new tx\'s own', async (t) => {
    const { pool, users } = await setup(t, { users: 4, pool: { size: 3 } });
    const [a, b, c] = users;
    const a0 = send(a, c, 1n, 0n, { gasPrice: 1n });
    const a1 = send(a, c, 1n, 1n, { gasPrice: 9n });
    const b0 = send(b, c, 1n, 0n, { gasPrice: 3n });
    for (const tx of [a0, a1, b0]) expectOk(t, await pool.checkTx(tx));
    // a0 is the cheapest but evicting it would strand a1: the candidates are a1 (9) and b0 (3).
    expectCode(t, await pool.checkTx(send(c, a, 1n, 0n, { gasPrice: 3n })), 'MEMPOOL_FULL', /cheapest evictable tx pays 3/);
    // a's own next tx cannot evict a's earlier ones; b0 pays 3 < 5 so it goes instead.
    expectOk(t, await pool.checkTx(send(a, c, 1n, 2n, { gasPrice: 5n })));
    t.notOk(pool.has(sha256(b0)));
    t.ok(pool.has(sha256(a0)) && pool.has(sha256(a1)));
    // Now only a holds txs: nothing is evictable for a itself.
    expectCode(t, await pool.checkTx(send(a, c, 1n, 3n, { gasPrice: 100n })), 'MEMPOOL_FULL', /evicts nothing/);
    // Another sender evicts a's last (a2 at 5), never a0.
    expectOk(t, await pool.checkTx(send(b, c, 1n, 0n, { gasPrice: 6n })));
    t.equal(pool.nextNonce(addr(a)), 2n);
    t.equal(pool.size, 3);
  });

  t.test('byte limit: evicts as many as needed, all cheaper; a tx larger than the pool never fits', async (t) => {
    const { app, users } = await setup(t, { users: 4 });
    const [a, b, c] = users;
    const small1 = send(a, c, 1n, 0n, { gasPrice: 1n });
    const small2 = send(b, c, 1n, 0n, { gasPrice: 2n });
    const big = send(c, a, 1n, 0n, { gasPrice: 3n, memo: 'm'.repeat(Math.floor(small1.length / 2)) });
    const limit = small1.length + small2.length + 5;
    const p2 = new Mempool({ app: app, size: 100, maxTxsBytes: limit });
    expectOk(t, await p2.checkTx(small1));
    expectOk(t, await p2.checkTx(small2));
    t.equal(p2.bytes, small1.length + small2.length);
    t.ok(big.length <= limit && big.length > limit - small1.length, 'big needs both evicted');
    expectOk(t, await p2.checkTx(big), 'evicts both');
    t.equal(p2.size, 1);
    t.equal(p2.bytes, big.length);
    const p3 = new Mempool({ app: app, size: 100, maxTxsBytes: big.length - 1 });
    expectCode(t, await p3.checkTx(big), 'MEMPOOL_FULL', /more than the whole mempool holds/);
    // One cheaper victim is not enough and the next candidate pays as much: refused, and nothing evicted.
    const p4 = new Mempool({ app: app, size: 100, maxTxsBytes: limit });
    expectOk(t, await p4.checkTx(small1));
    expectOk(t, await p4.checkTx(send(b, c, 1n, 0n, { gasPrice: 3n })));
    expectCode(t, await p4.checkTx(big), 'MEMPOOL_FULL');
    t.equal(p4.size, 2, 'a refused tx evicts nothing');
  });

  t.test('reap respects maxBytes and maxTxs', async (t) => {
    const { pool, users } = await setup(t);
    const txs = users.map((u, i) => send(u, users[(i + 1) % users.length], 1n, 0n, { gasPrice: BigInt(10 - i) }));
    for (const tx of txs) expectOk(t, await pool.checkTx(tx));
    t.same(pool.reap(1 << 20), txs, 'by gas price');
    t.same(pool.reap(1 << 20, 2), txs.slice(0, 2));
    t.same(pool.reap(txs[0].length + txs[1].length), txs.slice(0, 2));
    t.same(pool.reap(txs[0].length - 1), []);
    t.same(pool.reap(0), []);
    t.same(pool.reap(1 << 20, 0), []);
    t.same(pool.list(3), txs.slice(0, 3));
    // A tx that does not fit is skipped with the rest of its sender; a smaller one after it still goes in.
    const big = send(users[0], users[1], 1n, 1n, { gasPrice: 10n, memo: 'b'.repeat(250) });
    expectOk(t, await pool.checkTx(big));
    const room = txs[0].length + txs[1].length + txs[2].length;
    t.ok(big.length > room - txs[0].length, 'big does not fit after txs[0]');
    t.same(pool.reap(room), txs.slice(0, 3), 'big skipped, the cheaper ones after it fill the room');
    const all = txs.reduce((s, x) => s + x.length, big.length);
    t.same(pool.reap(all), [txs[0], big, ...txs.slice(1)], 'with room: nonce 1 right after nonce 0');
  });
});

t.test('reap order: gas price, then arrival, each sender in nonce order (seeded property)', async (t) => {
  const { app, users } = await setup(t, { users: 6 });
  for (let seed = 1; seed <= 12; seed++) {
    const rng = new Rng(seed);
    const pool = new Mempool({ app, size: 10_000, maxTxsBytes: 1 << 20 });
    // Per sender, txs with random prices and sizes; submitted interleaved at random, each sender in nonce order.
    const plan = users.map((u) => ({ u, n: rng.int(0, 5), next: 0 }));
    const meta = new Map<string, { sender: number; nonce: number; price: bigint; bytes: number; arrival: number }>();
    let arrival = 0;
    for (;;) {
      const open = plan.filter((p) => p.next < p.n);
      if (open.length === 0) break;
      const p = rng.pick(open);
      const price = BigInt(rng.int(1, 4));
      const tx = send(p.u, users[0], 1n, BigInt(p.next), { gasPrice: price, memo: 'x'.repeat(rng.int(0, 120)) });
      expectOk(t, await pool.checkTx(tx), `seed ${seed}`);
      meta.set(hex(tx), { sender: plan.indexOf(p), nonce: p.next, price, bytes: tx.length, arrival: arrival++ });
      p.next++;
    }
    const total = [...meta.values()].reduce((s, m) => s + m.bytes, 0);
    for (const maxBytes of [1 << 20, Math.floor(total / 2), Math.floor(total / 5)]) {
      const maxTxs = rng.chance(0.3) ? rng.int(1, 10) : undefined;
      const out = pool.reap(maxBytes, maxTxs);
      // Replay against the rule: each pick is its sender's next tx, and every better head was out of room.
      const next = plan.map(() => 0);
      const excluded = new Set<number>();
      let used = 0;
      let ok = true;
      for (const tx of out) {
        const m = meta.get(hex(tx))!;
        if (m.nonce !== next[m.sender] || excluded.has(m.sender)) ok = false;
        for (let s = 0; s < plan.length; s++) {
          if (s === m.sender || excluded.has(s) || next[s] >= plan[s].n) continue;
          const h = [...meta.values()].find((x) => x.sender === s && x.nonce === next[s])!;
          const better = h.price > m.price || (h.price === m.price && h.arrival < m.arrival);
          if (better) {
            if (used + h.bytes <= maxBytes) ok = false;
            excluded.add(s);
          }
        }
        next[m.sender]++;
        used += m.bytes;
      }
      // And it stopped only when nothing else fitted (or at maxTxs).
      if (out.length < (maxTxs ?? Infinity)) {
        for (let s = 0; s < plan.length; s++) {
          if (excluded.has(s) || next[s] >= plan[s].n) continue;
          const h = [...meta.values()].find((x) => x.sender === s && x.nonce === next[s])!;
          if (used + h.bytes <= maxBytes) ok = false;
        }
      }
      t.ok(ok, `seed ${seed}, maxBytes ${maxBytes}: nonce order per sender, best head first, full`);
      t.ok(used <= maxBytes, `seed ${seed}: within maxBytes`);
      if (maxBytes === 1 << 20 && out.length === meta.size) t.same(pool.list(1_000), out, `seed ${seed}: list is reap order`);
    }
  }
});

t.test('committed: the block\'s txs leave, stale ones and everything behind them are dropped', async (t) => {
  const env = await setup(t, { users: 6, fund: 100_000n });
  const { pool, users } = env;
  const [alice, bob, carol, dave, eve, frank] = users;
  const a = [0n, 1n, 2n].map((n) => send(alice, frank, 1n, n));
  const b0 = send(bob, frank, 1n, 0n);
  const c = [0n, 1n, 2n].map((n) => send(carol, frank, 1_000n, n));
  const e = [0n, 1n, 2n].map((n) => send(eve, frank, 1n, n));
  const d0 = send(dave, frank, 1n, 0n);
  for (const tx of [...a, b0, ...c, ...e, d0]) expectOk(t, await pool.checkTx(tx));
  t.equal(pool.size, 11);

  const bobElsewhere = send(bob, frank, 2n, 0n); // bob's nonce 0 used by another tx: b0 is stale
  const carolDrain = send(carol, frank, 88_000n, 0n); // carol's funds go: c1 cannot pay, c2 follows it out
  const codes = await commitBlock(env, [a[0], bobElsewhere, carolDrain, e[1]]);
  t.same(codes, [0, 0, 0, ErrorCodes.WRONG_NONCE], 'e1 was included out of order and failed');
  t.ok(!pool.has(sha256(a[0])) && pool.has(sha256(a[1])) && pool.has(sha256(a[2])), 'alice: committed one gone, the rest kept');
  t.notOk(pool.has(sha256(b0)), 'bob: stale nonce dropped');
  t.ok(c.every((tx) => !pool.has(sha256(tx))), 'carol: stale c0, unfunded c1, and c2 behind it dropped');
  t.ok(pool.has(sha256(e[0])) && !pool.has(sha256(e[1])) && !pool.has(sha256(e[2])), 'eve: e0 kept, e1 removed, e2 dropped (gap)');
  t.ok(pool.has(sha256(d0)), 'dave untouched');
  t.equal(pool.size, 4);
  t.equal(pool.bytes, [a[1], a[2], e[0], d0].reduce((s, x) => s + x.length, 0));
  t.equal(pool.nextNonce(addr(eve)), 1n);
  t.match(pool.stats(), { dropped: 5 });

  // A committed tx stays cached, even one that failed (CometBFT's rule); a dropped one is not (it may become valid).
  expectCode(t, await pool.checkTx(e[2]), 'WRONG_NONCE', /next nonce is 1/);
  expectCode(t, await pool.checkTx(e[1]), 'ALREADY_EXISTS', /cache/, 'e1 was in a block:');
  expectCode(t, await pool.checkTx(bobElsewhere), 'ALREADY_EXISTS', /cache/);
  expectCode(t, await pool.checkTx(b0), 'ALREADY_EXISTS', /cache/, 'a stale nonce stays refused from the cache:');
  expectOk(t, await pool.checkTx(send(eve, frank, 2n, 1n)), 'eve re-signs nonce 1');
  expectOk(t, await pool.checkTx(e[2]), 'the dropped e2 is welcome again');
  // Everything left executes.
  const reaped = pool.reap(1 << 20);
  t.equal(reaped.length, 6);
  t.same(await commitBlock(env, reaped), reaped.map(() => 0));
  t.equal(pool.size, 0);
  t.equal(pool.bytes, 0);
  await checkSupply(env.app.store);
});

t.test('concurrent checkTx: one nonce, one winner; arrival order decides', async (t) => {
  const env = await setup(t);
  const { pool, users } = env;
  const [alice, bob, carol] = users;
  // Ten different txs all with alice's nonce 0, submitted at once.
  const rivals = Array.from({ length: 10 }, (_, i) => send(alice, bob, BigInt(i + 1), 0n));
  const rs = await Promise.all(rivals.map((tx) => pool.checkTx(tx)));
  t.equal(rs.filter((r) => r.code === 0).length, 1, 'exactly one admitted');
  t.equal(rs[0].code, 0, 'the first to arrive');
  t.ok(rs.slice(1).every((r) => r.code === ErrorCodes.WRONG_NONCE));
  // The same bytes five times at once.
  const same = send(bob, alice, 1n, 0n);
  const dup = await Promise.all([1, 2, 3, 4, 5].map(() => pool.checkTx(same)));
  t.same(dup.map((r) => r.code), [0, 63, 63, 63, 63]);
  // A burst of consecutive nonces: all admitted although signatures are checked concurrently.
  const burst = Array.from({ length: 30 }, (_, i) => send(carol, alice, 1n, BigInt(i)));
  t.ok((await Promise.all(burst.map((tx) => pool.checkTx(tx)))).every((r) => r.code === 0), 'burst of nonces 0..29 admitted');
  t.equal(pool.size, 32);

  // committed() while admissions are in flight: the pool stays consistent and every reaped tx executes.
  const block = pool.reap(1 << 20, 10);
  await nextBlock(env.app, block);
  const more = Array.from({ length: 10 }, (_, i) => send(carol, bob, 1n, BigInt(30 + i)));
  const pending = more.map((tx) => pool.checkTx(tx));
  const commit = pool.committed(env.app.head().height, block);
  const late = more.map((tx) => pool.checkTx(tx)); // duplicates queued behind the commit
  await commit;
  t.ok((await Promise.all(pending)).every((r) => r.code === 0));
  t.ok((await Promise.all(late)).every((r) => r.code === ErrorCodes.ALREADY_EXISTS));
  const rest = pool.reap(1 << 20);
  t.equal(rest.length, 32 - 10 + 10);
  t.same(await commitBlock(env, rest), rest.map(() => 0));
});

t.test('checks under way are capped: a flood of async broadcasts is refused at once, and the cap frees up', async (t) => {
  const env = await setup(t, { pool: { maxChecking: 5 } });
  const { pool, users } = env;
  const [alice, bob] = users;
  const txs = Array.from({ length: 8 }, (_, i) => send(alice, bob, 1n, BigInt(i)));
  const rs = await Promise.all(txs.map((tx) => pool.checkTx(tx)));
  t.same(rs.map((r) => r.code), [0, 0, 0, 0, 0, ErrorCodes.MEMPOOL_FULL, ErrorCodes.MEMPOOL_FULL, ErrorCodes.MEMPOOL_FULL], 'five checked, three refused');
  t.match(rs[5].log, /5 txs are being checked already; retry shortly/);
  const again = await Promise.all(txs.slice(5).map((tx) => pool.checkTx(tx)));
  t.same(again.map((r) => r.code), [0, 0, 0], 'once the checks ended, the refused ones are admitted (not cached as bad)');
  t.equal(pool.size, 8);
});

t.test('lock(): checks wait while a block executes and run after committed(); the block\'s own txs are then refused', async (t) => {
  const env = await setup(t, { pool: { maxChecking: 2 } });
  const [a, b] = env.users;
  const inBlock = send(a, b, 1n, 0n);
  expectOk(t, await env.pool.checkTx(inBlock));
  env.pool.lock();
  let settled = 0;
  const waiting = [env.pool.checkTx(send(a, b, 1n, 1n)), env.pool.checkTx(inBlock)].map((p) => p.finally(() => settled++));
  await new Promise((r) => setTimeout(r, 30));
  t.equal(settled, 0, 'no check finishes while the block executes');
  t.equal(env.pool.size, 1, 'nothing admitted meanwhile');
  expectCode(t, await env.pool.checkTx(send(b, a, 1n, 0n)), 'MEMPOOL_FULL', /waiting to be checked/, 'beyond maxChecking (the waiting ones count)');
  await commitBlock(env, [inBlock]);
  const [next, again] = await Promise.all(waiting);
  expectOk(t, next, 'the next nonce, checked after the commit');
  expectCode(t, again, 'ALREADY_EXISTS', /cache/, "the block's own tx, checked after the commit");
  t.equal(env.pool.size, 1);
  expectOk(t, await env.pool.checkTx(send(b, a, 1n, 0n)), 'unlocked: checks run at once again');
});

t.test('a sender whose queue vanishes between precheck and admission is read from the state', async (t) => {
  const env = await setup(t);
  const { app, pool, users } = env;
  const [alice, bob] = users;
  const a0 = send(alice, bob, 1n, 0n);
  const a1 = send(alice, bob, 1n, 1n);
  expectOk(t, await pool.checkTx(a0));
  expectOk(t, await pool.checkTx(a1, { add: false }), 'a1 checked (its signature is now cached)');
  // Another tx with alice's nonce 0 commits: the re-check will find a0 stale and drop alice's queue.
  const other = send(alice, bob, 2n, 0n);
  await nextBlock(app, [other]);
  const getMany = app.store.getMany.bind(app.store);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  app.store.getMany = async (keys) => { await gate; return getMany(keys); };
  t.teardown(() => { app.store.getMany = getMany; });
  const commit = pool.committed(app.head().height, [other]); // waits in getMany
  const r = pool.checkTx(a1); // precheck sees alice's queue, so it reads no account
  await new Promise((resolve) => setImmediate(resolve));
  release();
  await commit;
  t.notOk(pool.has(sha256(a0)), 'a0 dropped as stale');
  expectOk(t, await r, 'a1 judged on the committed account (nonce 1)');
  t.equal(pool.nextNonce(addr(alice)), 2n);
});

t.test('reaped txs always execute with code 0 (seeded random workload with bad txs)', async (t) => {
  const env = await setup(t, { users: 6, fund: 120_000n, pool: { size: 40 } });
  const { pool, users } = env;
  const rng = new Rng(4711);
  const guess = users.map(() => 0n); // what a client believes the next nonce is: sometimes wrong
  let admitted = 0;
  let included = 0;
  for (let h = 0; h < 8; h++) {
    for (let i = 0; i < 30; i++) {
      const s = rng.int(0, users.length - 1);
      const nonce = rng.chance(0.15) ? guess[s] + BigInt(rng.int(-2, 2)) : guess[s];
      if (nonce < 0n) continue;
      const tx = send(users[s], users[rng.int(0, users.length - 1)], BigInt(rng.int(1, 40_000)), nonce, { gasPrice: BigInt(rng.int(1, 3)) });
      const r = await pool.checkTx(tx);
      if (r.code === 0) {
        admitted++;
        if (nonce === guess[s]) guess[s]++;
      }
    }
    const block = pool.reap(rng.int(300, 4_000));
    const codes = await commitBlock(env, block);
    t.same(codes, block.map(() => 0), `height ${h + 1}: all ${block.length} reaped txs executed`);
    included += block.length;
    // Clients re-sync their nonces from the chain and the pool now and then.
    for (let s = 0; s < users.length; s++) {
      if (rng.chance(0.5)) guess[s] = pool.nextNonce(addr(users[s])) ?? (await getAccount(env.app.store, addr(users[s]))).nonce;
    }
  }
  t.ok(admitted > 20 && included > 20, `a real workload (${admitted} admitted, ${included} included)`);
  await checkSupply(env.app.store);
});

t.test('flush empties the pool and forgets the cache', async (t) => {
  const { pool, users } = await setup(t);
  const [alice, bob] = users;
  const tx = send(alice, bob, 1n, 0n);
  expectOk(t, await pool.checkTx(tx));
  expectOk(t, await pool.checkTx(send(alice, bob, 1n, 1n)));
  pool.flush();
  t.equal(pool.size, 0);
  t.equal(pool.bytes, 0);
  t.same(pool.reap(1 << 20), []);
  t.equal(pool.nextNonce(addr(alice)), undefined);
  expectOk(t, await pool.checkTx(tx), 'the same tx is welcome again');
});

t.test('a failing store gives INTERNAL responses, never a throw', async (t) => {
  const fx = fixture();
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const pool = new Mempool({ app, size: 10, maxTxsBytes: 1 << 20 });
  const [alice, bob] = fx.users;
  await app.store.close();
  const tx = send(alice, bob, 1n, 0n);
  const r = await pool.checkTx(tx);
  expectCode(t, r, 'INTERNAL');
  await pool.committed(app.head().height, [tx]);
  t.equal(pool.size, 0);
  t.throws(() => new Mempool({ app, size: 0, maxTxsBytes: 1 }), { code: 'BAD_CONFIG' });
});
