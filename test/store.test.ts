import t from 'tap';
import { join } from 'node:path';
import { Store, prefixEnd } from '../src/state/store.ts';
import { StateOverlay } from '../src/state/overlay.ts';
import { toHex } from '../src/crypto/bytes.ts';
import { tempDir } from './helpers/tmp.ts';

const b = (...xs: number[]) => new Uint8Array(xs);
const head = (height: bigint) => ({ height, appHash: new Uint8Array(32).fill(Number(height)), blockHash: new Uint8Array(0), time: height, genesisHash: new Uint8Array(32) });

t.test('prefixEnd', async (t) => {
  t.same([...prefixEnd(b(1, 2))!], [1, 3]);
  t.same([...prefixEnd(b(1, 0xff))!], [2]);
  t.equal(prefixEnd(b(0xff, 0xff)), null);
});

t.test('a height lands whole: state, nodes, results, tx index and head together; heights must follow', async (t) => {
  const dir = tempDir();
  t.teardown(dir.remove);
  const store = await Store.open(join(dir.path, 'db'));
  t.equal(store.head(), null, 'a new store has no head');
  await store.commitHeight({ head: head(0n), state: [{ key: b(1, 1), value: b(9) }, { key: b(1, 2), value: b(8) }, { key: b(2, 1), value: b(7) }], nodes: [[new Uint8Array(32).fill(5), b(1, 2, 3)]] });
  await store.commitHeight({
    head: head(1n),
    state: [{ key: b(1, 2), value: null }],
    nodes: [],
    block: { bytes: b(4, 4), hash: new Uint8Array(32).fill(4) },
    results: { height: 1n, txResults: [], beginBlockEvents: [], endBlockEvents: [], validatorUpdates: [], appHash: new Uint8Array(32) },
    txs: [{ hash: new Uint8Array(32).fill(6), location: { height: 1n, index: 0 } }],
  });
  await t.rejects(store.commitHeight({ head: head(3n), state: [], nodes: [] }), /cannot commit height 3/);
  t.same((await store.entries(b(1))).map(([k, v]) => [toHex(k), toHex(v)]), [['0101', '09']], 'deleted key gone, other namespace excluded');
  t.equal(toHex((await store.getNode(new Uint8Array(32).fill(5)))!), '010203');
  t.equal(await store.heightOfBlock(new Uint8Array(32).fill(4)), 1n);
  t.same(await store.getTxLocation(new Uint8Array(32).fill(6)), { height: 1n, index: 0 });
  await store.close();
  const again = await Store.open(join(dir.path, 'db'));
  t.equal(again.head()?.height, 1n, 'head survives reopen');
  t.equal(toHex((await again.getBlock(1n))!), '0404');
  await again.close();
});

t.test('opening a locked database fails with a clear error', async (t) => {
  const dir = tempDir();
  t.teardown(dir.remove);
  const a = await Store.open(join(dir.path, 'db'));
  t.teardown(() => a.close());
  await t.rejects(Store.open(join(dir.path, 'db')), { code: 'STORE_CORRUPT', message: /another node/ });
});

t.test('overlays: reads see writes, forks merge or vanish, entries merge with the parent', async (t) => {
  const base = new StateOverlay({ get: async () => undefined, getMany: async (ks) => ks.map(() => undefined), entries: async () => [] });
  base.set(b(1, 1), b(1));
  base.set(b(1, 3), b(3));
  const child = base.fork();
  child.set(b(1, 2), b(2));
  child.delete(b(1, 1));
  t.equal(toHex((await child.get(b(1, 3)))!), '03', 'child reads through');
  t.equal(await child.get(b(1, 1)), undefined, 'child sees its delete');
  t.equal(toHex((await base.get(b(1, 1)))!), '01', 'parent untouched before merge');
  t.same((await child.entries(b(1))).map(([k]) => toHex(k)), ['0102', '0103']);
  const dropped = base.fork();
  dropped.set(b(1, 9), b(9));
  base.merge(child);
  t.same(base.changes().map((w) => [toHex(w.key), w.value && toHex(w.value)]), [['0101', null], ['0102', '02'], ['0103', '03']], 'sorted, deletes kept, dropped fork absent');
});
