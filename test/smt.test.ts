import t from 'tap';
import { createHash } from 'node:crypto';
import {
  EMPTY_HASH,
  SparseMerkleTree,
  decodeProof,
  encodeProof,
  verifyProof,
  type NodeReader,
  type SmtProof,
  type SmtUpdate,
} from '../src/state/smt.ts';
import { toHex, concat, equalBytes, compareBytes, utf8 } from '../src/crypto/bytes.ts';

// ---------------------------------------------------------------------------------------------------------------
// Helpers: an independent SHA-256 (so that a mistake in the shared helper cannot hide), a reference root computed
// from the definition, an in-memory store, a seeded PRNG.

function H(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const Z = new Uint8Array(32);
const bit = (path: Uint8Array, i: number): number => (path[i >> 3] >> (7 - (i % 8))) & 1;
const leafH = (keyHash: Uint8Array, value: Uint8Array): Uint8Array => H(new Uint8Array([0]), keyHash, H(value));
const innerH = (l: Uint8Array, r: Uint8Array): Uint8Array => H(new Uint8Array([1]), l, r);

/** Root from the definition: 0 entries = empty, 1 = its leaf, else split on the depth bit. */
function refRoot(entries: Map<string, Uint8Array>): Uint8Array {
  const list = [...entries].map(([k, v]) => ({ kh: H(utf8(k)), v }));
  const rec = (items: typeof list, depth: number): Uint8Array => {
    if (items.length === 0) return Z;
    if (items.length === 1) return leafH(items[0].kh, items[0].v);
    return innerH(
      rec(items.filter((x) => bit(x.kh, depth) === 0), depth + 1),
      rec(items.filter((x) => bit(x.kh, depth) === 1), depth + 1),
    );
  };
  return rec(list, 0);
}

class MemStore implements NodeReader {
  readonly map = new Map<string, Uint8Array>();
  reads = 0;
  async getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    this.reads++;
    return this.map.get(toHex(hash));
  }
  put(nodes: Array<[Uint8Array, Uint8Array]>): void {
    for (const [h, e] of nodes) this.map.set(toHex(h), e);
  }
  clone(): MemStore {
    const s = new MemStore();
    for (const [k, v] of this.map) s.map.set(k, v);
    return s;
  }
}

/** xorshift128-style integer PRNG (no floats). */
function prng(seed: number) {
  let a = seed | 0 || 1;
  let b = 0x9e3779b9;
  let c = 0x243f6a88;
  let d = 0xb7e15162;
  const next = (): number => {
    const x = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (x ^ (x >>> 8))) >>> 0;
    return d;
  };
  for (let i = 0; i < 16; i++) next();
  return {
    int: (n: number): number => next() % n,
    bytes: (n: number): Uint8Array => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = next() & 0xff;
      return out;
    },
    shuffle<T>(xs: T[]): T[] {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = next() % (i + 1);
        [xs[i], xs[j]] = [xs[j], xs[i]];
      }
      return xs;
    },
  };
}

const hex = toHex;
const u = (key: string, value: string | Uint8Array | null): SmtUpdate => ({
  key: utf8(key),
  value: value === null ? null : typeof value === 'string' ? utf8(value) : value,
});

/** A tree plus its store, with every update's nodes written, as the node does it. */
async function setup(entries: Map<string, Uint8Array>, batchSize = 1_000) {
  const store = new MemStore();
  const tree = new SparseMerkleTree(store);
  let root: Uint8Array = EMPTY_HASH;
  const all = [...entries].map(([k, v]) => ({ key: utf8(k), value: v }));
  for (let i = 0; i < all.length; i += batchSize) {
    const res = await tree.update(root, all.slice(i, i + batchSize));
    store.put(res.nodes);
    root = res.root;
  }
  return { store, tree, root };
}

/** Every node hash reachable from `root`, read through a fresh tree over the store only. */
function reachable(store: MemStore, root: Uint8Array): Set<string> {
  const seen = new Set<string>();
  const walk = (h: Uint8Array): void => {
    if (equalBytes(h, Z)) return;
    const enc = store.map.get(hex(h));
    if (enc === undefined) throw new Error(`unreachable in test store: ${hex(h)}`);
    seen.add(hex(h));
    if (enc[0] === 1) {
      walk(enc.subarray(1, 33));
      walk(enc.subarray(33, 65));
    }
  };
  walk(root);
  return seen;
}

function randomEntries(r: ReturnType<typeof prng>, n: number, tag = 'k'): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>();
  for (let i = 0; i < n; i++) m.set(`${tag}-${i}-${r.int(1_000_000)}`, r.bytes(r.int(40)));
  return m;
}

// ---------------------------------------------------------------------------------------------------------------

t.test('empty tree', async (t) => {
  t.equal(hex(EMPTY_HASH), hex(Z), 'EMPTY_HASH is 32 zero bytes');
  const store = new MemStore();
  const tree = new SparseMerkleTree(store);
  t.equal(await tree.get(EMPTY_HASH, utf8('anything')), undefined);
  const proof = await tree.prove(EMPTY_HASH, utf8('anything'));
  t.same(proof, { siblings: [], leaf: null });
  t.ok(verifyProof(EMPTY_HASH, utf8('anything'), null, proof), 'non-membership on the empty tree');
  t.notOk(verifyProof(EMPTY_HASH, utf8('anything'), utf8('x'), proof), 'membership on the empty tree fails');
  t.ok(verifyProof(EMPTY_HASH, utf8('anything'), null, decodeProof(encodeProof(proof))));
  const res = await tree.update(EMPTY_HASH, []);
  t.equal(hex(res.root), hex(Z));
  t.same(res.nodes, []);
  const del = await tree.update(EMPTY_HASH, [u('nope', null)]);
  t.equal(hex(del.root), hex(Z), 'deleting from the empty tree');
  t.same(del.nodes, []);
  t.equal(store.reads, 0, 'the empty tree is never read');
});

/** Keys whose path hashes share at least `bits` leading bits, found among candidate names. */
function keysSharingPrefix(bits: number, count: number, candidates = 5_000): string[] {
  const groups = new Map<string, string[]>();
  for (let i = 0; i < candidates; i++) {
    const k = `prefix-${i}`;
    const kh = H(utf8(k));
    let p = '';
    for (let b = 0; b < bits; b++) p += bit(kh, b);
    const g = groups.get(p) ?? [];
    g.push(k);
    if (g.length === count) return g;
    groups.set(p, g);
  }
  throw new Error('no such keys');
}

/** The first bit where two paths differ. */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 256; i++) if (bit(a, i) !== bit(b, i)) return i;
  return -1;
}

/** Hand-built root of a two-key tree: an internal pair at the first differing bit, then a chain of (x, empty). */
function twoKeyRoot(k1: string, v1: Uint8Array, k2: string, v2: Uint8Array): { root: Uint8Array; internals: number } {
  const a = H(utf8(k1));
  const b = H(utf8(k2));
  const d = firstDiff(a, b);
  let node = bit(a, d) === 0 ? innerH(leafH(a, v1), leafH(b, v2)) : innerH(leafH(b, v2), leafH(a, v1));
  for (let i = d - 1; i >= 0; i--) node = bit(a, i) === 0 ? innerH(node, Z) : innerH(Z, node);
  return { root: node, internals: d + 1 };
}

t.test('table-driven updates', async (t) => {
  const [p1, p2] = keysSharingPrefix(16, 2);
  const [q1, q2, q3] = keysSharingPrefix(8, 3);
  const v = (s: string) => utf8(s);
  const cases: Array<{
    name: string;
    batches: SmtUpdate[][];
    expect: Map<string, Uint8Array>;
    root?: () => Uint8Array;
    lastNodes?: number;
  }> = [
    {
      name: 'single insert',
      batches: [[u('alice', 'one')]],
      expect: new Map([['alice', v('one')]]),
      root: () => leafH(H(utf8('alice')), v('one')),
      lastNodes: 1,
    },
    {
      name: 'empty value',
      batches: [[u('alice', '')]],
      expect: new Map([['alice', v('')]]),
      root: () => leafH(H(utf8('alice')), new Uint8Array(0)),
      lastNodes: 1,
    },
    {
      name: 'overwrite',
      batches: [[u('alice', 'one')], [u('alice', 'two')]],
      expect: new Map([['alice', v('two')]]),
      root: () => leafH(H(utf8('alice')), v('two')),
      lastNodes: 1,
    },
    {
      name: 'overwrite with the same value creates nothing',
      batches: [[u('alice', 'one'), u('bob', 'b')], [u('alice', 'one')]],
      expect: new Map([['alice', v('one')], ['bob', v('b')]]),
      lastNodes: 0,
    },
    {
      name: 'delete back to the empty root',
      batches: [[u('alice', 'one')], [u('alice', null)]],
      expect: new Map(),
      root: () => Z,
      lastNodes: 0,
    },
    {
      name: 'delete an absent key is a no-op',
      batches: [[u('alice', 'one'), u('bob', 'b')], [u('carol', null)]],
      expect: new Map([['alice', v('one')], ['bob', v('b')]]),
      lastNodes: 0,
    },
    {
      name: 'two keys',
      batches: [[u('alice', 'one'), u('bob', 'two')]],
      expect: new Map([['alice', v('one')], ['bob', v('two')]]),
      root: () => twoKeyRoot('alice', v('one'), 'bob', v('two')).root,
      lastNodes: 2 + twoKeyRoot('alice', v('one'), 'bob', v('two')).internals,
    },
    {
      name: 'two keys, one per batch',
      batches: [[u('alice', 'one')], [u('bob', 'two')]],
      expect: new Map([['alice', v('one')], ['bob', v('two')]]),
      root: () => twoKeyRoot('alice', v('one'), 'bob', v('two')).root,
      lastNodes: 1 + twoKeyRoot('alice', v('one'), 'bob', v('two')).internals,
    },
    {
      name: 'delete one of two keys lifts the other leaf to the root',
      batches: [[u('alice', 'one'), u('bob', 'two')], [u('bob', null)]],
      expect: new Map([['alice', v('one')]]),
      root: () => leafH(H(utf8('alice')), v('one')),
      lastNodes: 0,
    },
    {
      name: 'keys sharing a 16-bit prefix',
      batches: [[u(p1, 'x'), u(p2, 'y')]],
      expect: new Map([[p1, v('x')], [p2, v('y')]]),
      root: () => twoKeyRoot(p1, v('x'), p2, v('y')).root,
      lastNodes: 2 + twoKeyRoot(p1, v('x'), p2, v('y')).internals,
    },
    {
      name: 'long shared prefix, then delete one: leaf rises 16+ levels',
      batches: [[u(p1, 'x'), u(p2, 'y'), u('alice', 'a')], [u(p2, null)]],
      expect: new Map([[p1, v('x')], ['alice', v('a')]]),
    },
    {
      name: 'three keys sharing a byte',
      batches: [[u(q1, '1')], [u(q2, '2')], [u(q3, '3')]],
      expect: new Map([[q1, v('1')], [q2, v('2')], [q3, v('3')]]),
    },
    {
      name: 'repeated key in one batch: last wins',
      batches: [[u('alice', 'one'), u('bob', 'b'), u('alice', 'two'), u('bob', null), u('carol', null), u('carol', 'c')]],
      expect: new Map([['alice', v('two')], ['carol', v('c')]]),
    },
  ];
  for (const c of cases) {
    const store = new MemStore();
    const tree = new SparseMerkleTree(store);
    let root: Uint8Array = EMPTY_HASH;
    let last: Array<[Uint8Array, Uint8Array]> = [];
    for (const b of c.batches) {
      const res = await tree.update(root, b);
      store.put(res.nodes);
      root = res.root;
      last = res.nodes;
    }
    t.equal(hex(root), hex(refRoot(c.expect)), `${c.name}: root matches the definition`);
    if (c.root) t.equal(hex(root), hex(c.root()), `${c.name}: root matches the hand-built tree`);
    if (c.lastNodes !== undefined) t.equal(last.length, c.lastNodes, `${c.name}: new node count`);
    const fresh = new SparseMerkleTree(store);
    for (const [k, val] of c.expect) t.equal(hex((await fresh.get(root, utf8(k))) ?? utf8('MISSING')), hex(val), `${c.name}: get ${k}`);
    t.equal(await fresh.get(root, utf8('never-written')), undefined, `${c.name}: absent key`);
  }

  // The 16-bit-prefix pair: its proofs run at least 17 levels, the first 16 siblings empty.
  const { tree, root } = await setup(new Map([[p1, v('x')], [p2, v('y')]]));
  const proof = await tree.prove(root, utf8(p1));
  t.ok(proof.siblings.length >= 17, 'proof is at least 17 levels deep');
  t.ok(proof.siblings.slice(0, 16).every((s) => equalBytes(s, Z)), 'the shared prefix has empty siblings');
  t.equal(hex(proof.siblings[proof.siblings.length - 1]), hex(leafH(H(utf8(p2)), v('y'))), 'the last sibling is the other leaf');
  t.ok(verifyProof(root, utf8(p1), v('x'), proof));
  t.equal(encodeProof(proof).length, 3 + Math.ceil(proof.siblings.length / 8) + 32, 'empty siblings cost one bit each');
});

t.test('order independence (property)', async (t) => {
  const r = prng(12345);
  const universe = Array.from({ length: 120 }, (_, i) => `key-${i}`);
  let rounds = 0;
  for (let round = 0; round < 40; round++) {
    const finalSet = new Map<string, Uint8Array>();
    for (const k of universe) if (r.int(3) === 0) finalSet.set(k, r.bytes(1 + r.int(20)));
    const expected = hex(refRoot(finalSet));

    // (a) one big batch in random order
    const store = new MemStore();
    const tree = new SparseMerkleTree(store);
    const big = r.shuffle([...finalSet].map(([k, v]) => ({ key: utf8(k), value: v })));
    const a = await tree.update(EMPTY_HASH, big);
    store.put(a.nodes);
    t.equal(hex(a.root), expected, `round ${round}: one batch`);

    // (b) many small batches with noise: wrong values and extra keys first, fixed up later
    const ops: SmtUpdate[] = [];
    for (const k of universe) {
      const noise = r.int(4);
      if (noise === 1) ops.push({ key: utf8(k), value: r.bytes(5) });
      if (noise === 2) ops.push({ key: utf8(k), value: null });
    }
    r.shuffle(ops);
    const fix = r.shuffle(universe.map((k) => ({ key: utf8(k), value: finalSet.get(k) ?? null })));
    const all = [...ops, ...fix];
    const store2 = new MemStore();
    const tree2 = new SparseMerkleTree(store2);
    let root: Uint8Array = EMPTY_HASH;
    for (let i = 0; i < all.length; ) {
      const n = 1 + r.int(25);
      const res = await tree2.update(root, all.slice(i, i + n));
      // nodes: new, unique, and together with the store they cover the new tree
      // (a node of an older, unrelated version may be recreated: content-addressed, rewriting it is harmless)
      const before = reachable(store2, root);
      const listed = res.nodes.map(([h]) => hex(h));
      t.equal(new Set(listed).size, listed.length, 'no duplicate nodes');
      t.notOk(listed.some((h) => before.has(h)), 'no node of the old root listed');
      for (const [h, e] of res.nodes) t.equal(hex(H(e[0] === 1 ? e : concat(e.subarray(0, 33), H(e.subarray(33))))), hex(h), 'node hash matches encoding');
      store2.put(res.nodes);
      const reach = reachable(store2, res.root);
      t.ok(listed.every((h) => reach.has(h)), 'every listed node is reachable from the new root');
      root = res.root;
      i += n;
    }
    t.equal(hex(root), expected, `round ${round}: small batches with noise`);

    // (c) one batch holding all the noise and fixes (repeated keys, the last wins)
    const c = await new SparseMerkleTree(new MemStore()).update(EMPTY_HASH, all);
    t.equal(hex(c.root), expected, `round ${round}: one batch with repeats`);

    // the store alone answers every read
    const fresh = new SparseMerkleTree(store2, { cacheNodes: 0 });
    for (const k of universe) {
      const got = await fresh.get(root, utf8(k));
      const want = finalSet.get(k);
      if ((got === undefined) !== (want === undefined) || (got && want && !equalBytes(got, want))) t.fail(`round ${round}: get ${k}`);
    }

    // delete everything, in random batches
    const dels = r.shuffle(universe.map((k) => ({ key: utf8(k), value: null })));
    for (let i = 0; i < dels.length; i += 30) {
      const res = await tree2.update(root, dels.slice(i, i + 30));
      store2.put(res.nodes);
      root = res.root;
    }
    t.equal(hex(root), hex(Z), `round ${round}: deleting everything gives EMPTY_HASH`);
    rounds++;
  }
  t.equal(rounds, 40);
});

t.test('reads at old roots', async (t) => {
  const r = prng(7);
  const store = new MemStore();
  const tree = new SparseMerkleTree(store);
  const roots: Uint8Array[] = [];
  const states: Array<Map<string, Uint8Array>> = [];
  let root: Uint8Array = EMPTY_HASH;
  const state = new Map<string, Uint8Array>();
  for (let h = 0; h < 20; h++) {
    const batch: SmtUpdate[] = [];
    for (let i = 0; i < 30; i++) {
      const k = `acct-${r.int(60)}`;
      const value = r.int(5) === 0 ? null : r.bytes(8);
      batch.push({ key: utf8(k), value });
      if (value === null) state.delete(k);
      else state.set(k, value);
    }
    const res = await tree.update(root, batch);
    store.put(res.nodes);
    root = res.root;
    roots.push(root);
    states.push(new Map(state));
  }
  const fresh = new SparseMerkleTree(store);
  let bad = 0;
  for (let h = 0; h < roots.length; h++) {
    t.equal(hex(roots[h]), hex(refRoot(states[h])), `height ${h} root`);
    for (let i = 0; i < 60; i++) {
      const k = `acct-${i}`;
      const got = await fresh.get(roots[h], utf8(k));
      const want = states[h].get(k);
      if (want === undefined ? got !== undefined : got === undefined || !equalBytes(got, want)) bad++;
      const proof = await fresh.prove(roots[h], utf8(k));
      if (!verifyProof(roots[h], utf8(k), want ?? null, proof)) bad++;
    }
  }
  t.equal(bad, 0, 'every historical get and proof matches the state at that height');
  // A value changed later still reads the old value at the old root.
  const first = await tree.update(EMPTY_HASH, [u('x', 'old')]);
  const second = await tree.update(first.root, [u('x', 'new'), u('y', 'y')]);
  t.equal(hex((await tree.get(first.root, utf8('x')))!), hex(utf8('old')));
  t.equal(hex((await tree.get(second.root, utf8('x')))!), hex(utf8('new')));
  t.equal(await tree.get(first.root, utf8('y')), undefined);
});

t.test('proofs verify for every key, present and absent', async (t) => {
  const r = prng(99);
  for (const size of [0, 1, 2, 3, 100, 1000]) {
    const entries = randomEntries(r, size);
    const { tree, root } = await setup(entries, 97);
    t.equal(hex(root), hex(refRoot(entries)), `size ${size}: root`);
    const failures: string[] = [];
    let maxDepth = 0;
    for (const [k, v] of entries) {
      const proof = await tree.prove(root, utf8(k));
      maxDepth = Math.max(maxDepth, proof.siblings.length);
      if (proof.leaf !== null) failures.push(`${k}: membership proof carries a leaf`);
      if (!verifyProof(root, utf8(k), v, proof)) failures.push(`${k}: membership`);
      const round = decodeProof(encodeProof(proof));
      if (!verifyProof(root, utf8(k), v, round)) failures.push(`${k}: membership after encode/decode`);
      if (verifyProof(root, utf8(k), null, proof)) failures.push(`${k}: also proves absence`);
      if (verifyProof(root, utf8(k), concat(v, new Uint8Array([1])), proof)) failures.push(`${k}: proves another value`);
    }
    let endsOnLeaf = 0;
    for (let i = 0; i < 200; i++) {
      const k = `absent-${i}`;
      const proof = await tree.prove(root, utf8(k));
      if (proof.leaf !== null) endsOnLeaf++;
      if (!verifyProof(root, utf8(k), null, proof)) failures.push(`${k}: non-membership`);
      const round = decodeProof(encodeProof(proof));
      t.same(round, proof);
      if (!verifyProof(root, utf8(k), null, round)) failures.push(`${k}: non-membership after encode/decode`);
      if (verifyProof(root, utf8(k), utf8('v'), proof)) failures.push(`${k}: proves a value`);
    }
    t.same(failures, [], `size ${size}: all proofs`);
    if (size > 0) t.ok(endsOnLeaf > 0, `size ${size}: some absence proofs end on another leaf`);
    if (size >= 100) t.ok(maxDepth <= 2 * Math.log2(size) + 10, `size ${size}: proofs are short (max ${maxDepth})`);
  }
});

t.test('forged proofs fail', async (t) => {
  const r = prng(2024);
  const entries = randomEntries(r, 300);
  const { tree, root } = await setup(entries);
  const [key, value] = [...entries][17];
  const k = utf8(key);
  const good = await tree.prove(root, k);
  t.ok(verifyProof(root, k, value, good), 'genuine membership proof verifies');

  // An absent key whose proof ends on another leaf, and one that ends on an empty subtree.
  let absentLeaf: { k: Uint8Array; p: SmtProof } | undefined;
  let absentEmpty: { k: Uint8Array; p: SmtProof } | undefined;
  for (let i = 0; (!absentLeaf || !absentEmpty) && i < 10_000; i++) {
    const ak = utf8(`nobody-${i}`);
    const p = await tree.prove(root, ak);
    if (p.leaf && !absentLeaf) absentLeaf = { k: ak, p };
    if (!p.leaf && !absentEmpty) absentEmpty = { k: ak, p };
  }
  if (!absentLeaf || !absentEmpty) throw new Error('test setup: absent keys not found');
  t.ok(verifyProof(root, absentLeaf.k, null, absentLeaf.p), 'genuine absence proof (other leaf) verifies');
  t.ok(verifyProof(root, absentEmpty.k, null, absentEmpty.p), 'genuine absence proof (empty) verifies');

  const clone = (p: SmtProof): SmtProof => ({
    siblings: p.siblings.map((s) => s.slice()),
    leaf: p.leaf && { keyHash: p.leaf.keyHash.slice(), valueHash: p.leaf.valueHash.slice() },
  });

  t.notOk(verifyProof(root, k, utf8('wrong'), good), 'wrong value');
  t.notOk(verifyProof(root, k, value.subarray(0, value.length - 1), good), 'truncated value');
  t.notOk(verifyProof(root, absentEmpty.k, utf8('x'), absentEmpty.p), 'value for an absent key (empty end)');
  t.notOk(verifyProof(root, absentLeaf.k, utf8('x'), absentLeaf.p), 'value for an absent key (leaf end)');
  t.notOk(verifyProof(root, absentLeaf.k, utf8('x'), { ...absentLeaf.p, leaf: null }), 'value for an absent key, leaf dropped');
  t.notOk(verifyProof(root, k, null, good), 'absent claim for a present key');

  // Flip every bit of every sibling, in all three proofs.
  let flipsAccepted = 0;
  let flips = 0;
  for (const [kk, vv, p] of [
    [k, value, good],
    [absentLeaf.k, null, absentLeaf.p],
    [absentEmpty.k, null, absentEmpty.p],
  ] as const) {
    for (let i = 0; i < p.siblings.length; i++) {
      for (let b = 0; b < 256; b += 37) {
        const f = clone(p);
        f.siblings[i][b >> 3] ^= 0x80 >> (b & 7);
        flips++;
        if (verifyProof(root, kk, vv, f)) flipsAccepted++;
      }
    }
  }
  t.ok(flips > 50, `${flips} sibling bit flips tried`);
  t.equal(flipsAccepted, 0, 'a flipped bit in any sibling fails');

  for (const [name, p, kk, vv] of [
    ['membership', good, k, value],
    ['absence on a leaf', absentLeaf.p, absentLeaf.k, null],
    ['absence on empty', absentEmpty.p, absentEmpty.k, null],
  ] as const) {
    t.ok(p.siblings.length > 0, `${name}: has siblings`);
    t.notOk(verifyProof(root, kk, vv, { ...p, siblings: p.siblings.slice(1) }), `${name}: dropped first sibling`);
    t.notOk(verifyProof(root, kk, vv, { ...p, siblings: p.siblings.slice(0, -1) }), `${name}: dropped last sibling`);
    t.notOk(verifyProof(root, kk, vv, { ...p, siblings: [...p.siblings, Z] }), `${name}: extra empty sibling`);
    t.notOk(verifyProof(root, kk, vv, { ...p, siblings: [...p.siblings, r.bytes(32)] }), `${name}: extra sibling`);
    t.notOk(verifyProof(root, kk, vv, { ...p, siblings: [Z, ...p.siblings] }), `${name}: extra sibling on top`);
    t.notOk(verifyProof(r.bytes(32), kk, vv, p), `${name}: against a random root`);
    t.notOk(verifyProof(Z, kk, vv, p), `${name}: against the empty root`);
  }

  // Against a different (real) root: the tree after one more write.
  const later = await tree.update(root, [u('someone-else', 'z')]);
  t.notOk(verifyProof(later.root, k, value, good), 'membership against a different root');
  t.notOk(verifyProof(later.root, absentLeaf.k, null, absentLeaf.p), 'absence against a different root');
  t.ok(verifyProof(later.root, k, value, await tree.prove(later.root, k)), 'the fresh proof for that root verifies');

  // Leaf tampering in an absence proof.
  const leaf = absentLeaf.p.leaf!;
  t.notOk(verifyProof(root, absentLeaf.k, null, { ...absentLeaf.p, leaf: { keyHash: leaf.valueHash, valueHash: leaf.keyHash } }), 'swapped keyHash/valueHash');
  t.notOk(verifyProof(root, absentLeaf.k, null, { ...absentLeaf.p, leaf: { keyHash: leaf.keyHash, valueHash: r.bytes(32) } }), 'other valueHash');
  t.notOk(verifyProof(root, absentLeaf.k, null, { ...absentLeaf.p, leaf: null }), 'leaf dropped');
  t.notOk(verifyProof(root, absentEmpty.k, null, { ...absentEmpty.p, leaf: { keyHash: r.bytes(32), valueHash: r.bytes(32) } }), 'leaf added');

  // Other-leaf whose keyHash is the key's own: the real leaf presented as "another" leaf hashes to the real root.
  const ownLeaf: SmtProof = { siblings: good.siblings, leaf: { keyHash: H(k), valueHash: H(value) } };
  t.notOk(verifyProof(root, k, null, ownLeaf), "other-leaf whose keyHash equals the key's");

  // Other-leaf with a diverging prefix. Real tree: another real leaf on a different branch fails on hashes;
  // hand-built tree (leaf placed on the wrong side of the root) fails only on the prefix check.
  const [otherKey, otherValue] = [...entries].find(([kk]) => bit(H(utf8(kk)), 0) !== bit(H(absentLeaf!.k), 0))!;
  t.notOk(
    verifyProof(root, absentLeaf.k, null, { ...absentLeaf.p, leaf: { keyHash: H(utf8(otherKey)), valueHash: H(otherValue) } }),
    'other-leaf from a different branch',
  );
  {
    const ak = absentLeaf.k;
    const wrongSide = [...entries].find(([kk]) => bit(H(utf8(kk)), 0) !== bit(H(ak), 0))!;
    const L = { keyHash: H(utf8(wrongSide[0])), valueHash: H(wrongSide[1]) };
    const X = r.bytes(32);
    const cur = leafH(L.keyHash, wrongSide[1]);
    const forgedRoot = bit(H(ak), 0) === 0 ? innerH(cur, X) : innerH(X, cur);
    t.notOk(verifyProof(forgedRoot, ak, null, { siblings: [X], leaf: L }), 'other-leaf with a diverging prefix');
    // Control: the same shape with a leaf that does share bit 0 is accepted, so only the prefix check rejects above.
    const sameSide = [...entries].find(([kk]) => bit(H(utf8(kk)), 0) === bit(H(ak), 0) && !equalBytes(H(utf8(kk)), H(ak)))!;
    const L2 = { keyHash: H(utf8(sameSide[0])), valueHash: H(sameSide[1]) };
    const cur2 = leafH(L2.keyHash, sameSide[1]);
    const root2 = bit(H(ak), 0) === 0 ? innerH(cur2, X) : innerH(X, cur2);
    t.ok(verifyProof(root2, ak, null, { siblings: [X], leaf: L2 }), 'control: same shape with a shared prefix verifies');
  }

  // A leaf lifted above an empty sibling: (leaf, empty) is not a compact tree, its hash-consistent proof is rejected.
  {
    const kh = H(k);
    const lifted = bit(kh, 0) === 0 ? innerH(leafH(kh, value), Z) : innerH(Z, leafH(kh, value));
    t.notOk(verifyProof(lifted, k, value, { siblings: [Z], leaf: null }), 'membership: leaf above an empty sibling');
    const L = absentLeaf.p.leaf!;
    const ok = H(absentLeaf.k);
    // other leaf sharing bit 0 with the absent key, sitting under an empty sibling
    const sharing = [...entries].find(([kk]) => bit(H(utf8(kk)), 0) === bit(ok, 0))!;
    const L3 = { keyHash: H(utf8(sharing[0])), valueHash: H(sharing[1]) };
    const c3 = leafH(L3.keyHash, sharing[1]);
    const lifted3 = bit(ok, 0) === 0 ? innerH(c3, Z) : innerH(Z, c3);
    t.notOk(verifyProof(lifted3, absentLeaf.k, null, { siblings: [Z], leaf: L3 }), 'absence: other leaf above an empty sibling');
    t.notOk(verifyProof(innerH(Z, Z), absentLeaf.k, null, { siblings: [Z], leaf: null }), 'absence: (empty, empty) node');
    t.ok(L.keyHash.length === 32);
    // Control: a leaf above a non-empty sibling is fine.
    const X = r.bytes(32);
    const okRoot = bit(kh, 0) === 0 ? innerH(leafH(kh, value), X) : innerH(X, leafH(kh, value));
    t.ok(verifyProof(okRoot, k, value, { siblings: [X], leaf: null }), 'control: leaf above a non-empty sibling verifies');
  }

  // A membership proof must not carry an other-leaf (proofs are unique).
  t.notOk(verifyProof(root, k, value, { ...good, leaf: absentLeaf.p.leaf }), 'membership proof carrying a leaf');

  // More than 256 siblings: rejected even when they fold to the given root (paths only have 256 bits).
  {
    const kh = H(k);
    const sibs = Array.from({ length: 257 }, () => r.bytes(32));
    let cur = leafH(kh, value);
    for (let i = 256; i >= 0; i--) cur = (i < 256 && bit(kh, i) === 1) ? innerH(sibs[i], cur) : innerH(cur, sibs[i]);
    t.notOk(verifyProof(cur, k, value, { siblings: sibs, leaf: null }), '257 siblings folding to the root');
    // Control: 256 siblings folding to the root are accepted.
    let cur2 = leafH(kh, value);
    for (let i = 255; i >= 1; i--) cur2 = bit(kh, i) === 1 ? innerH(sibs[i], cur2) : innerH(cur2, sibs[i]);
    cur2 = bit(kh, 0) === 1 ? innerH(sibs[0], cur2) : innerH(cur2, sibs[0]);
    t.ok(verifyProof(cur2, k, value, { siblings: sibs.slice(0, 256), leaf: null }), 'control: 256 siblings fold');
  }

  // Malformed inputs never throw.
  const bad: unknown[] = [
    { siblings: null, leaf: null },
    { siblings: [new Uint8Array(31)], leaf: null },
    { siblings: ['00'.repeat(32)], leaf: null },
    { siblings: [], leaf: { keyHash: new Uint8Array(31), valueHash: new Uint8Array(32) } },
    { siblings: [], leaf: 'x' },
    null,
    { siblings: Array.from({ length: 257 }, () => r.bytes(32)), leaf: null },
  ];
  for (const p of bad) t.notOk(verifyProof(root, k, value, p as SmtProof), `malformed proof ${JSON.stringify(p)?.slice(0, 40)}`);
  t.notOk(verifyProof(new Uint8Array(31), k, value, good), 'short root');
  t.notOk(verifyProof(root, 'key' as unknown as Uint8Array, value, good), 'non-bytes key');
});

t.test('proof encoding', async (t) => {
  const r = prng(5);
  const entries = randomEntries(r, 200);
  const { tree, root } = await setup(entries);
  const [key] = [...entries][3];
  const proof = await tree.prove(root, utf8(key));
  const enc = encodeProof(proof);
  const nonEmpty = proof.siblings.filter((s) => !equalBytes(s, Z)).length;
  t.equal(enc.length, 3 + Math.ceil(proof.siblings.length / 8) + 32 * nonEmpty, 'bitmap + non-empty siblings');
  t.same(decodeProof(enc), proof);
  let absent: SmtProof | undefined;
  for (let i = 0; !absent; i++) {
    const p = await tree.prove(root, utf8(`no-${i}`));
    if (p.leaf) absent = p;
  }
  const encA = encodeProof(absent);
  t.equal(encA[0], 1, 'leaf flag');
  t.equal(encA.length, 3 + Math.ceil(absent.siblings.length / 8) + 32 * absent.siblings.filter((s) => !equalBytes(s, Z)).length + 64);
  t.same(decodeProof(encA), absent);
  t.same(decodeProof(encodeProof({ siblings: [], leaf: null })), { siblings: [], leaf: null });
  const full: SmtProof = { siblings: Array.from({ length: 256 }, (_, i) => (i % 3 ? r.bytes(32) : new Uint8Array(32))), leaf: null };
  t.same(decodeProof(encodeProof(full)), full, '256 siblings round-trip');
  t.throws(() => encodeProof({ siblings: Array.from({ length: 257 }, () => r.bytes(32)), leaf: null }), /at most 256/);

  // Every truncation and any trailing byte is rejected with an Error.
  let rejected = 0;
  for (const e of [enc, encA]) {
    for (let n = 0; n < e.length; n++) {
      try {
        decodeProof(e.subarray(0, n));
      } catch (err) {
        if (err instanceof Error && /SMT proof/.test(err.message)) rejected++;
      }
    }
  }
  t.equal(rejected, enc.length + encA.length, 'every truncation is rejected');
  t.throws(() => decodeProof(concat(enc, new Uint8Array([0]))), /trailing bytes/);
  t.throws(() => decodeProof(new Uint8Array([0, 1, 1])), /at most 256/, 'sibling count above 256');
  t.throws(() => decodeProof(new Uint8Array([2, 0, 0])), /flags/, 'unknown flag');
  t.throws(() => decodeProof(new Uint8Array([0, 0, 1, 0x40])), /bitmap/, 'bitmap bit past the count');
  t.throws(() => decodeProof(concat(new Uint8Array([0, 0, 1, 0x80]), new Uint8Array(32))), /all zero/, 'non-empty sibling that is zero');
  t.same(decodeProof(new Uint8Array([0, 0, 1, 0])), { siblings: [Z], leaf: null }, 'one empty sibling');
});

t.test('missing and corrupt nodes', async (t) => {
  const r = prng(11);
  const entries = randomEntries(r, 50);
  const { store, root } = await setup(entries);
  const rootEnc = store.map.get(hex(root))!;
  t.equal(rootEnc[0], 1, 'root is internal');
  const leftChild = rootEnc.subarray(1, 33);
  const broken = store.clone();
  broken.map.delete(hex(leftChild));
  const keyLeft = [...entries.keys()].find((k) => bit(H(utf8(k)), 0) === 0)!;
  const keyRight = [...entries.keys()].find((k) => bit(H(utf8(k)), 0) === 1)!;
  const tree = new SparseMerkleTree(broken);
  const msg = new RegExp(`missing node ${hex(leftChild)}.*corrupt or pruned`);
  await t.rejects(tree.get(root, utf8(keyLeft)), { message: msg }, 'get');
  await t.rejects(tree.prove(root, utf8(keyLeft)), { message: msg }, 'prove');
  await t.rejects(tree.update(root, [u(keyLeft, 'new')]), { message: msg }, 'update');
  t.ok(await tree.get(root, utf8(keyRight)), 'the other half still reads');

  const noRoot = store.clone();
  noRoot.map.delete(hex(root));
  const t2 = new SparseMerkleTree(noRoot);
  await t.rejects(t2.get(root, utf8(keyLeft)), { message: new RegExp(`missing node ${hex(root)}`) });
  await t.rejects(t2.update(root, [u('x', 'y')]), { message: new RegExp(`missing node ${hex(root)}`) });

  // Deleting next to an untouched subtree reads that subtree to know whether it collapses: missing -> error.
  {
    const names = Array.from({ length: 50 }, (_, i) => `n-${i}`);
    const x = names.find((n) => bit(H(utf8(n)), 0) === 0)!;
    const [y, z] = names.filter((n) => bit(H(utf8(n)), 0) === 1);
    const three = await setup(new Map([[x, utf8('x')], [y, utf8('y')], [z, utf8('z')]]));
    const enc = three.store.map.get(hex(three.root))!;
    const right = enc.subarray(33, 65);
    const ok = await new SparseMerkleTree(three.store).update(three.root, [u(x, null)]);
    t.equal(hex(ok.root), hex(innerH(Z, right)), 'deleting the lone left leaf leaves a (empty, internal) chain node');
    const gone = three.store.clone();
    gone.map.delete(hex(right));
    await t.rejects(new SparseMerkleTree(gone).update(three.root, [u(x, null)]), { message: new RegExp(`missing node ${hex(right)}`) });
  }

  const malformed = store.clone();
  malformed.map.set(hex(leftChild), new Uint8Array([1, 2, 3]));
  await t.rejects(new SparseMerkleTree(malformed).get(root, utf8(keyLeft)), { message: /malformed node/ }, 'malformed node');
  malformed.map.set(hex(leftChild), new Uint8Array([0, 1, 2, 3, 4]));
  await t.rejects(new SparseMerkleTree(malformed).get(root, utf8(keyLeft)), { message: /malformed node/ }, 'leaf shorter than its keyHash');
  malformed.map.set(hex(leftChild), concat(new Uint8Array([2]), r.bytes(64)));
  await t.rejects(new SparseMerkleTree(malformed).get(root, utf8(keyLeft)), { message: /malformed node/ }, 'unknown tag');
  await t.rejects(new SparseMerkleTree(store).get(new Uint8Array(31), utf8('x')), /32-byte/, 'short root');
});

t.test('node cache and the returned node list', async (t) => {
  const r = prng(3);
  const store = new MemStore();
  const tree = new SparseMerkleTree(store);
  // Chain three updates without writing anything: the cache serves the new nodes.
  const a = await tree.update(EMPTY_HASH, [...randomEntries(r, 200)].map(([k, v]) => ({ key: utf8(k), value: v })));
  const b = await tree.update(a.root, [u('k-extra', 'x'), ...[...randomEntries(r, 50, 'z')].map(([k, v]) => ({ key: utf8(k), value: v }))]);
  const c = await tree.update(b.root, [u('k-extra', null)]);
  t.equal(store.reads, 0, 'nothing read from the store');
  t.equal(hex((await tree.get(b.root, utf8('k-extra')))!), hex(utf8('x')));
  t.equal(await tree.get(c.root, utf8('k-extra')), undefined);

  // Without a cache the caller must write the nodes first.
  const noCache = new SparseMerkleTree(new MemStore(), { cacheNodes: 0 });
  const d = await noCache.update(EMPTY_HASH, [u('a', '1'), u('b', '2')]);
  await t.rejects(noCache.update(d.root, [u('c', '3')]), /missing node/, 'cacheNodes: 0 really disables the cache');

  // Approximate LRU: a node read while in the older generation is kept when that generation is dropped.
  {
    const nothing: NodeReader = { getNode: async () => undefined };
    const lru = new SparseMerkleTree(nothing, { cacheNodes: 20 }); // generations of 10
    const hot = (await lru.update(EMPTY_HASH, [u('hot', 'h')])).root;
    const filler = async (n: number, tag: string) => {
      for (let i = 0; i < n; i++) await lru.update(EMPTY_HASH, [u(`${tag}-${i}`, 'x')]);
    };
    await filler(9, 'a'); // young is full: it becomes the older generation
    t.equal(hex((await lru.get(hot, utf8('hot')))!), hex(utf8('h')), 'hot node read from the older generation');
    await filler(10, 'b'); // with the hot node promoted, this rotates once more
    t.equal(hex((await lru.get(hot, utf8('hot')))!), hex(utf8('h')), 'hot node survived the next rotation');
    const cold = (await lru.update(EMPTY_HASH, [u('cold', 'c')])).root;
    await filler(25, 'c');
    await t.rejects(lru.get(cold, utf8('cold')), /missing node/, 'a node not read for two generations is evicted');
  }

  // Returned roots are copies: mutating one does not reach the cached nodes.
  {
    const own = new SparseMerkleTree({ getNode: async () => undefined });
    const two = await own.update(EMPTY_HASH, [u('alice', '1'), u('bob', '2')]);
    const lifted = await own.update(two.root, [u('bob', null)]);
    t.equal(hex(lifted.root), hex(leafH(H(utf8('alice')), utf8('1'))), 'the remaining leaf is the root');
    lifted.root.fill(0xee);
    t.equal(hex((await own.get(two.root, utf8('alice')))!), hex(utf8('1')), 'old root still reads after mutating a returned root');
    const same = await own.update(two.root, [u('carol', null)]);
    same.root.fill(0xee);
    t.equal(hex((await own.get(two.root, utf8('bob')))!), hex(utf8('2')), 'no-op update returns a copy of the root');
    const value = await own.get(two.root, utf8('bob'));
    value!.fill(0);
    t.equal(hex((await own.get(two.root, utf8('bob')))!), hex(utf8('2')), 'get returns a copy of the value');
  }

  // A small cache still works when the caller writes the nodes (evicted nodes come back from the store).
  const s2 = new MemStore();
  const small = new SparseMerkleTree(s2, { cacheNodes: 16 });
  const entries = randomEntries(r, 500);
  let root: Uint8Array = EMPTY_HASH;
  const list = [...entries].map(([k, v]) => ({ key: utf8(k), value: v }));
  for (let i = 0; i < list.length; i += 50) {
    const res = await small.update(root, list.slice(i, i + 50));
    s2.put(res.nodes);
    root = res.root;
  }
  t.equal(hex(root), hex(refRoot(entries)), 'small cache: same root');
  t.ok(s2.reads > 0, 'small cache: nodes were re-read from the store');

  // Node list of one block on a 1000-leaf tree: only new nodes, roughly updates x depth (upper levels shared).
  const big = await setup(randomEntries(r, 1000, 'b'));
  const before = reachable(big.store, big.root);
  const block = [...randomEntries(r, 100, 'n')].map(([k, v]) => ({ key: utf8(k), value: v }));
  const res = await big.tree.update(big.root, block);
  t.ok(res.nodes.every(([h]) => !before.has(hex(h))), 'no node of the old root listed');
  big.store.put(res.nodes);
  const reach = reachable(big.store, res.root);
  const listed = new Set(res.nodes.map(([h]) => hex(h)));
  t.ok([...listed].every((h) => reach.has(h)), 'all listed nodes are reachable');
  t.equal([...reach].filter((h) => !before.has(h)).length, listed.size, 'exactly the new reachable nodes are listed');
  // Without sharing, each insert would write its leaf plus one node per level of its path.
  let unshared = 0;
  for (const { key } of block) unshared += 1 + (await big.tree.prove(res.root, key)).siblings.length;
  t.ok(res.nodes.length >= 2 * block.length, `node count ${res.nodes.length}: a leaf and at least its split node per insert`);
  t.ok(res.nodes.length < unshared * 0.75, `node count ${res.nodes.length} vs ${unshared} unshared: upper paths are shared`);
});

t.test('key ordering helper sanity', async (t) => {
  // The tree sorts by keyHash; make sure compareBytes orders paths as bits do (msb first).
  const a = new Uint8Array(32);
  const b = new Uint8Array(32);
  b[0] = 0x80;
  t.ok(compareBytes(a, b) < 0 && bit(b, 0) === 1 && bit(a, 0) === 0);
});
