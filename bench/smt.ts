// Benchmark of the state tree: builds a 100,000-leaf tree in batches, then times blocks of 3,000 updates
// (two thirds overwrites of existing keys, one third inserts) against it, writing each block's nodes to an
// in-memory store as the node does to LevelDB. Prints one JSON line.
//   npx node bench/smt.ts [leaves=100000] [perBlock=3000] [blocks=20]      (CACHE=n sets cacheNodes, default 100,000)
// msPerBlock is wall time; cpuMsPerBlock is this process's CPU time (steadier on a shared machine, but it includes
// the garbage collector's helper threads).
import { SparseMerkleTree, EMPTY_HASH, type NodeReader, type SmtUpdate } from '../src/state/smt.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { toHex, utf8 } from '../src/crypto/bytes.ts';

const LEAVES = Number(process.argv[2] ?? 100_000);
const PER_BLOCK = Number(process.argv[3] ?? 3_000);
const BLOCKS = Number(process.argv[4] ?? 20);
const BUILD_BATCH = 10_000;

/**
 * Stands in for LevelDB: keeps nodes as strings (off the typed-array heap, as LevelDB keeps them off the JS heap)
 * and returns a fresh copy on every read.
 */
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
class MemStore implements NodeReader {
  readonly map = new Map<string, string>();
  reads = 0;
  async getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    this.reads++;
    const s = this.map.get(latin1(hash));
    return s === undefined ? undefined : Buffer.from(s, 'latin1');
  }
  put(nodes: Array<[Uint8Array, Uint8Array]>): void {
    for (const [h, e] of nodes) this.map.set(latin1(h), latin1(e));
  }
}

/** Deterministic xorshift32. */
let seed = 0x2545f491;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

const key = (i: number): Uint8Array => utf8(`account/${i}`);
const value = (i: number, version: number): Uint8Array => sha256(utf8(`${i}:${version}`)).subarray(0, 24);

/** Hashes an update performs: one keyHash per update, two per new leaf (value, leaf), one per new internal node. */
function hashesOf(updates: number, nodes: Array<[Uint8Array, Uint8Array]>): number {
  let n = updates;
  for (const [, enc] of nodes) n += enc[0] === 0 ? 2 : 1;
  return n;
}

const store = new MemStore();
const CACHE = Number(process.env.CACHE ?? 100_000);
const tree = new SparseMerkleTree(store, { cacheNodes: CACHE });
let root: Uint8Array = EMPTY_HASH;

const buildStart = performance.now();
for (let i = 0; i < LEAVES; i += BUILD_BATCH) {
  const batch: SmtUpdate[] = [];
  for (let j = i; j < Math.min(LEAVES, i + BUILD_BATCH); j++) batch.push({ key: key(j), value: value(j, 0) });
  const res = await tree.update(root, batch);
  store.put(res.nodes);
  root = res.root;
}
const buildMs = performance.now() - buildStart;

let next = LEAVES;
let totalMs = 0;
let cpuMs = 0;
let hashes = 0;
let nodesWritten = 0;
const readsBefore = store.reads;
for (let b = 0; b < BLOCKS; b++) {
  const batch: SmtUpdate[] = [];
  for (let j = 0; j < PER_BLOCK; j++) {
    if (rand(3) < 2) {
      const i = rand(next);
      batch.push({ key: key(i), value: value(i, b + 1) });
    } else {
      batch.push({ key: key(next), value: value(next, 0) });
      next++;
    }
  }
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await tree.update(root, batch);
  totalMs += performance.now() - t0;
  const c = process.cpuUsage(c0);
  cpuMs += (c.user + c.system) / 1000;
  store.put(res.nodes);
  root = res.root;
  hashes += hashesOf(batch.length, res.nodes);
  nodesWritten += res.nodes.length;
}

const msPerBlock = totalMs / BLOCKS;
console.log(
  JSON.stringify({
    leaves: LEAVES,
    leavesAfter: next,
    updatesPerBlock: PER_BLOCK,
    blocks: BLOCKS,
    cacheNodes: CACHE,
    msPerBlock: Math.round(msPerBlock * 100) / 100,
    cpuMsPerBlock: Math.round((cpuMs / BLOCKS) * 100) / 100,
    updatesPerSec: Math.round((PER_BLOCK * BLOCKS * 1000) / totalMs),
    hashesPerBlock: Math.round(hashes / BLOCKS),
    hashesPerUpdate: Math.round((hashes / (BLOCKS * PER_BLOCK)) * 100) / 100,
    hashesPerSec: Math.round((hashes * 1000) / totalMs),
    nodesPerBlock: Math.round(nodesWritten / BLOCKS),
    storeReadsPerBlock: Math.round((store.reads - readsBefore) / BLOCKS),
    buildMs: Math.round(buildMs),
    root: toHex(root),
  }),
);
