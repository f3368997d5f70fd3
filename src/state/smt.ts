// The chain's state commitment: a compact sparse Merkle tree over 256-bit paths (path = sha256(state key), most
// significant bit first, bit 0 picks the root's child). Its root is the block's app hash.
//
// Encoding (part of the protocol: never change it):
//   empty subtree  hash = 32 zero bytes (EMPTY_HASH), never stored
//   leaf           encoded 0x00 || keyHash (32) || value          hash = sha256(0x00 || keyHash || sha256(value))
//   internal       encoded 0x01 || leftHash || rightHash (65)     hash = sha256(0x01 || leftHash || rightHash)
// Compactness: a subtree holding exactly one leaf is that leaf, placed as high as possible, so an internal node never
// has (empty, empty), (empty, leaf) or (leaf, empty) children. The root therefore depends only on the set of
// (key, value) pairs. A leaf's hash does not depend on its depth, so moving a leaf up or down never rehashes it.
//
// Nodes are content-addressed and immutable: update() returns the new root plus the nodes it created, which the caller
// writes (with the block, atomically); every older root stays readable for historical queries and proofs.
import { sha256, HASH_LENGTH } from '../crypto/hash.ts';
import { compareBytes, concat, equalBytes, toHex } from '../crypto/bytes.ts';
import { AppError } from '../errors.ts';

export const EMPTY_HASH: Uint8Array = new Uint8Array(HASH_LENGTH);

export interface NodeReader {
  getNode(hash: Uint8Array): Promise<Uint8Array | undefined>;
}

export interface SmtUpdate {
  key: Uint8Array;
  /** null = delete */
  value: Uint8Array | null;
}

export interface SmtProof {
  /** Sibling hashes from the root downwards, one per level until the path ends (EMPTY_HASH allowed). */
  siblings: Uint8Array[];
  /** For a non-membership proof that ends on a different leaf: that leaf's keyHash and sha256(value). Otherwise null. */
  leaf: { keyHash: Uint8Array; valueHash: Uint8Array } | null;
}

/** Paths are 256 bits, so no proof is longer than this and no internal node sits deeper than depth 255. */
export const MAX_DEPTH = 256;

const LEAF_TAG = 0x00;
const INTERNAL_TAG = 0x01;
const LEAF_PREFIX = new Uint8Array([LEAF_TAG]);
const INTERNAL_LENGTH = 1 + 2 * HASH_LENGTH;
const DEFAULT_CACHE_NODES = 100_000;

function bitAt(path: Uint8Array, depth: number): number {
  return (path[depth >> 3] >> (7 - (depth & 7))) & 1;
}

function isEmpty(hash: Uint8Array): boolean {
  for (let i = 0; i < HASH_LENGTH; i++) if (hash[i] !== 0) return false;
  return true;
}

function leafHash(keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, keyHash, valueHash);
}

function cacheKey(hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('latin1');
}

type Node =
  | { kind: 'leaf'; keyHash: Uint8Array; value: Uint8Array }
  | { kind: 'internal'; left: Uint8Array; right: Uint8Array };

function decodeNode(hash: Uint8Array, enc: Uint8Array): Node {
  if (enc.length === INTERNAL_LENGTH && enc[0] === INTERNAL_TAG) {
    return { kind: 'internal', left: enc.subarray(1, 33), right: enc.subarray(33, 65) };
  }
  if (enc.length >= 1 + HASH_LENGTH && enc[0] === LEAF_TAG) {
    return { kind: 'leaf', keyHash: enc.subarray(1, 33), value: enc.subarray(33) };
  }
  throw new AppError('STORE_CORRUPT', `SMT store holds a malformed node ${toHex(hash)} (${enc.length} bytes): corrupt store`, {
    hash: toHex(hash),
  });
}

/** Kind of a subtree root as far as the parent needs it: 'unknown' = non-empty, not yet loaded. */
type Kind = 'empty' | 'leaf' | 'internal' | 'unknown';

interface Ref {
  hash: Uint8Array;
  kind: Kind;
}

const EMPTY_REF: Ref = { hash: EMPTY_HASH, kind: 'empty' };

/** One pending write, sorted by keyHash. `stored` is set for a leaf that already exists (it must not be re-emitted). */
interface Item {
  keyHash: Uint8Array;
  value: Uint8Array | null;
  stored?: Uint8Array;
}

/**
 * Bounded approximate-LRU over decoded nodes, in two generations: entries go into `young`; when it holds half the
 * budget it becomes `old` (the previous `old` is dropped) and a hit in `old` promotes the entry back to `young`.
 * Every operation is O(1) (a Map used as an LRU by deleting its first key degrades badly on V8), and an entry
 * survives at least max/2 later insertions.
 */
class NodeCache {
  readonly #half: number;
  #young = new Map<string, Node>();
  #old = new Map<string, Node>();

  constructor(max: number) {
    this.#half = Math.max(0, Math.floor(max / 2));
  }

  get(key: string): Node | undefined {
    const v = this.#young.get(key);
    if (v !== undefined) return v;
    const o = this.#old.get(key);
    if (o !== undefined) this.set(key, o);
    return o;
  }

  set(key: string, node: Node): void {
    if (this.#half === 0) return;
    this.#young.set(key, node);
    if (this.#young.size >= this.#half) {
      this.#old = this.#young;
      this.#young = new Map();
    }
  }
}

function checkHash(hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_LENGTH) {
    throw new Error(`${what} must be a ${HASH_LENGTH}-byte hash`);
  }
}

export class SparseMerkleTree {
  readonly #reader: NodeReader;
  readonly #cache: NodeCache;

  /**
   * `cacheNodes` bounds the in-memory node cache (default 100,000 nodes; 0 disables it). Nodes created by update()
   * go into it, so the next update can run on the new root before the caller has written them: an entry survives at
   * least cacheNodes/2 later insertions, so keep cacheNodes above twice the nodes one block creates and reads.
   */
  constructor(reader: NodeReader, options: { cacheNodes?: number } = {}) {
    this.#reader = reader;
    this.#cache = new NodeCache(options.cacheNodes ?? DEFAULT_CACHE_NODES);
  }

  /**
   * Applies all updates at once (keys may repeat: the last one wins) and returns the new root and every node created
   * (reachable from the new root, absent from the old one; write them as they are, never mutate them: the cache shares
   * them). Unchanged subtrees, same-value overwrites and deletes of absent keys create nothing.
   */
  async update(
    root: Uint8Array,
    updates: readonly SmtUpdate[],
  ): Promise<{ root: Uint8Array; nodes: Array<[hash: Uint8Array, encoded: Uint8Array]> }> {
    checkHash(root, 'SMT root');
    const items: Item[] = new Array(updates.length);
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i];
      if (!(u.key instanceof Uint8Array)) throw new Error(`SMT update ${i}: key must be bytes`);
      if (u.value !== null && !(u.value instanceof Uint8Array)) throw new Error(`SMT update ${i}: value must be bytes or null`);
      items[i] = { keyHash: sha256(u.key), value: u.value };
    }
    items.sort((a, b) => compareBytes(a.keyHash, b.keyHash)); // stable: equal keys keep their batch order
    const unique: Item[] = [];
    for (const it of items) {
      const last = unique.length - 1;
      if (last >= 0 && equalBytes(unique[last].keyHash, it.keyHash)) unique[last] = it;
      else unique.push(it);
    }
    const nodes: Array<[Uint8Array, Uint8Array]> = [];
    if (unique.length === 0) return { root: root.slice(), nodes };
    const rootRef = isEmpty(root) ? EMPTY_REF : { hash: root, kind: 'unknown' as Kind };
    const out = await this.#update(rootRef, 0, unique, 0, unique.length, nodes);
    return { root: out.hash.slice(), nodes }; // a copy: the caller may keep or mutate it, the cache must not change
  }

  async get(root: Uint8Array, key: Uint8Array): Promise<Uint8Array | undefined> {
    checkHash(root, 'SMT root');
    const path = sha256(key);
    let hash = root;
    for (let depth = 0; depth <= MAX_DEPTH; depth++) {
      if (isEmpty(hash)) return undefined;
      const node = await this.#load(hash);
      if (node.kind === 'leaf') return equalBytes(node.keyHash, path) ? node.value.slice() : undefined;
      if (depth === MAX_DEPTH) break;
      hash = bitAt(path, depth) === 0 ? node.left : node.right;
    }
    throw this.#tooDeep(root);
  }

  async prove(root: Uint8Array, key: Uint8Array): Promise<SmtProof> {
    checkHash(root, 'SMT root');
    const path = sha256(key);
    const siblings: Uint8Array[] = [];
    let hash = root;
    for (let depth = 0; depth <= MAX_DEPTH; depth++) {
      if (isEmpty(hash)) return { siblings, leaf: null };
      const node = await this.#load(hash);
      if (node.kind === 'leaf') {
        if (equalBytes(node.keyHash, path)) return { siblings, leaf: null };
        return { siblings, leaf: { keyHash: node.keyHash.slice(), valueHash: sha256(node.value) } };
      }
      if (depth === MAX_DEPTH) break;
      if (bitAt(path, depth) === 0) {
        siblings.push(node.right.slice());
        hash = node.left;
      } else {
        siblings.push(node.left.slice());
        hash = node.right;
      }
    }
    throw this.#tooDeep(root);
  }

  #tooDeep(root: Uint8Array): AppError {
    return new AppError('STORE_CORRUPT', `SMT under root ${toHex(root)} is deeper than ${MAX_DEPTH} levels: corrupt store`);
  }

  async #load(hash: Uint8Array): Promise<Node> {
    const key = cacheKey(hash);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const enc = await this.#reader.getNode(hash);
    if (enc === undefined) {
      throw new AppError('STORE_CORRUPT', `SMT store is missing node ${toHex(hash)} (corrupt or pruned store)`, {
        hash: toHex(hash),
      });
    }
    // The content is checked for shape, not rehashed: the store is local (LevelDB checksums its blocks), rehashing
    // would add one hash per read, and a wrong node could only lead to an app hash that consensus rejects.
    const node = decodeNode(hash, enc);
    this.#cache.set(key, node);
    return node;
  }

  #emit(hash: Uint8Array, enc: Uint8Array, node: Node, nodes: Array<[Uint8Array, Uint8Array]>): void {
    this.#cache.set(cacheKey(hash), node);
    nodes.push([hash, enc]);
  }

  /** Applies items[lo, hi) (sorted, unique keyHashes, all under this subtree) to the subtree `ref` at `depth`. */
  async #update(ref: Ref, depth: number, items: Item[], lo: number, hi: number, nodes: Array<[Uint8Array, Uint8Array]>): Promise<Ref> {
    if (lo === hi) return ref;
    if (ref.kind === 'empty') return this.#build(depth, items, lo, hi, nodes);
    const node = await this.#load(ref.hash);
    if (node.kind === 'leaf') {
      // Merge the existing leaf into the batch, then build the subtree from scratch (reusing the stored leaf).
      const merged: Item[] = [];
      let placed = false;
      for (let i = lo; i < hi; i++) {
        const it = items[i];
        if (!placed) {
          const c = compareBytes(it.keyHash, node.keyHash);
          if (c === 0) {
            placed = true;
            if (it.value === null) continue; // delete
            merged.push(equalBytes(it.value, node.value) ? { keyHash: node.keyHash, value: node.value, stored: ref.hash } : it);
            continue;
          }
          if (c > 0) {
            merged.push({ keyHash: node.keyHash, value: node.value, stored: ref.hash });
            placed = true;
          }
        }
        merged.push(it);
      }
      if (!placed) merged.push({ keyHash: node.keyHash, value: node.value, stored: ref.hash });
      return this.#build(depth, merged, 0, merged.length, nodes);
    }
    if (depth >= MAX_DEPTH) throw this.#tooDeep(ref.hash);
    const mid = splitIndex(items, lo, hi, depth);
    const leftRef: Ref = isEmpty(node.left) ? EMPTY_REF : { hash: node.left, kind: 'unknown' };
    const rightRef: Ref = isEmpty(node.right) ? EMPTY_REF : { hash: node.right, kind: 'unknown' };
    let left: Ref;
    let right: Ref;
    if (lo < mid && mid < hi) {
      [left, right] = await Promise.all([
        this.#update(leftRef, depth + 1, items, lo, mid, nodes),
        this.#update(rightRef, depth + 1, items, mid, hi, nodes),
      ]);
    } else if (lo < mid) {
      left = await this.#update(leftRef, depth + 1, items, lo, mid, nodes);
      right = rightRef;
    } else {
      left = leftRef;
      right = await this.#update(rightRef, depth + 1, items, mid, hi, nodes);
    }
    if (equalBytes(left.hash, node.left) && equalBytes(right.hash, node.right)) return { hash: ref.hash, kind: 'internal' };
    return this.#combine(left, right, nodes);
  }

  /** Builds a fresh subtree at `depth` from items[lo, hi) (sorted; null values are skipped). */
  async #build(depth: number, items: Item[], lo: number, hi: number, nodes: Array<[Uint8Array, Uint8Array]>): Promise<Ref> {
    let count = 0;
    let only = -1;
    for (let i = lo; i < hi && count < 2; i++) {
      if (items[i].value !== null) {
        count++;
        only = i;
      }
    }
    if (count === 0) return EMPTY_REF;
    if (count === 1) {
      const it = items[only];
      if (it.stored !== undefined) return { hash: it.stored, kind: 'leaf' };
      const value = it.value as Uint8Array;
      const hash = leafHash(it.keyHash, sha256(value));
      const enc = concat(LEAF_PREFIX, it.keyHash, value);
      this.#emit(hash, enc, { kind: 'leaf', keyHash: enc.subarray(1, 33), value: enc.subarray(33) }, nodes);
      return { hash, kind: 'leaf' };
    }
    // Two distinct 256-bit keyHashes differ at some bit below 256, so this recursion stops before depth 256.
    const mid = splitIndex(items, lo, hi, depth);
    const left = await this.#build(depth + 1, items, lo, mid, nodes);
    const right = await this.#build(depth + 1, items, mid, hi, nodes);
    return this.#combine(left, right, nodes);
  }

  /** The node for children (left, right), collapsing a lone leaf upwards and (empty, empty) to empty. */
  async #combine(left: Ref, right: Ref, nodes: Array<[Uint8Array, Uint8Array]>): Promise<Ref> {
    if (left.kind === 'empty' && right.kind === 'empty') return EMPTY_REF;
    if (left.kind === 'empty' || right.kind === 'empty') {
      const other = left.kind === 'empty' ? right : left;
      let kind = other.kind;
      if (kind === 'unknown') kind = (await this.#load(other.hash)).kind;
      if (kind === 'leaf') return { hash: other.hash, kind: 'leaf' };
    }
    const enc = new Uint8Array(INTERNAL_LENGTH);
    enc[0] = INTERNAL_TAG;
    enc.set(left.hash, 1);
    enc.set(right.hash, 1 + HASH_LENGTH);
    const hash = sha256(enc);
    this.#emit(hash, enc, { kind: 'internal', left: enc.subarray(1, 33), right: enc.subarray(33, 65) }, nodes);
    return { hash, kind: 'internal' };
  }
}

/** First index in [lo, hi) whose keyHash has bit `depth` set (items are sorted and share the bits above `depth`). */
function splitIndex(items: Item[], lo: number, hi: number, depth: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (bitAt(items[m].keyHash, depth) === 0) a = m + 1;
    else b = m;
  }
  return a;
}

function isHash(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === HASH_LENGTH;
}

/** Pure: true iff `proof` shows that `key` maps to `value` under `root` (value === null: key is absent). Never throws. */
export function verifyProof(root: Uint8Array, key: Uint8Array, value: Uint8Array | null, proof: SmtProof): boolean {
  try {
    if (!isHash(root) || !(key instanceof Uint8Array)) return false;
    if (value !== null && !(value instanceof Uint8Array)) return false;
    if (proof === null || typeof proof !== 'object' || !Array.isArray(proof.siblings)) return false;
    const siblings = proof.siblings;
    const n = siblings.length;
    if (n > MAX_DEPTH) return false;
    for (const s of siblings) if (!isHash(s)) return false;
    const path = sha256(key);
    let current: Uint8Array;
    let bottomIsLeaf: boolean;
    if (value !== null) {
      if (proof.leaf !== null) return false;
      current = leafHash(path, sha256(value));
      bottomIsLeaf = true;
    } else if (proof.leaf === null) {
      current = EMPTY_HASH;
      bottomIsLeaf = false;
    } else {
      const other = proof.leaf;
      if (typeof other !== 'object' || !isHash(other.keyHash) || !isHash(other.valueHash)) return false;
      if (equalBytes(other.keyHash, path)) return false;
      for (let i = 0; i < n; i++) if (bitAt(other.keyHash, i) !== bitAt(path, i)) return false;
      current = leafHash(other.keyHash, other.valueHash);
      bottomIsLeaf = true;
    }
    for (let i = n - 1; i >= 0; i--) {
      const sibling = siblings[i];
      if (i === n - 1 && isEmpty(sibling)) {
        // (leaf, empty) would have collapsed to the leaf one level up; (empty, empty) to empty.
        if (bottomIsLeaf || isEmpty(current)) return false;
      }
      const enc = new Uint8Array(INTERNAL_LENGTH);
      enc[0] = INTERNAL_TAG;
      if (bitAt(path, i) === 0) {
        enc.set(current, 1);
        enc.set(sibling, 1 + HASH_LENGTH);
      } else {
        enc.set(sibling, 1);
        enc.set(current, 1 + HASH_LENGTH);
      }
      current = sha256(enc);
    }
    return equalBytes(current, root);
  } catch {
    return false;
  }
}

// Proof encoding (stable, used over RPC):
//   flags (1 byte: bit 0 = has other-leaf, other bits zero) || siblingCount (u16 big-endian, <= 256)
//   || bitmap (ceil(count / 8) bytes, bit i MSB-first = sibling i is non-empty, padding bits zero)
//   || the non-empty siblings (32 bytes each, never all zero) || [keyHash (32) || valueHash (32)]
const FLAG_LEAF = 0x01;

export function encodeProof(proof: SmtProof): Uint8Array {
  const n = proof.siblings.length;
  if (n > MAX_DEPTH) throw new Error(`SMT proof has ${n} siblings, at most ${MAX_DEPTH} allowed`);
  const bitmap = new Uint8Array((n + 7) >> 3);
  const present: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = proof.siblings[i];
    if (!isHash(s)) throw new Error(`SMT proof sibling ${i} is not a ${HASH_LENGTH}-byte hash`);
    if (!isEmpty(s)) {
      bitmap[i >> 3] |= 0x80 >> (i & 7);
      present.push(s);
    }
  }
  const header = new Uint8Array([proof.leaf === null ? 0 : FLAG_LEAF, n >> 8, n & 0xff]);
  const parts = [header, bitmap, ...present];
  if (proof.leaf !== null) {
    if (!isHash(proof.leaf.keyHash) || !isHash(proof.leaf.valueHash)) {
      throw new Error(`SMT proof leaf must hold a ${HASH_LENGTH}-byte keyHash and valueHash`);
    }
    parts.push(proof.leaf.keyHash, proof.leaf.valueHash);
  }
  return concat(...parts);
}

export function decodeProof(bytes: Uint8Array): SmtProof {
  if (!(bytes instanceof Uint8Array)) throw new Error('SMT proof must be bytes');
  if (bytes.length < 3) throw new Error(`SMT proof truncated: ${bytes.length} bytes, header needs 3`);
  const flags = bytes[0];
  if ((flags & ~FLAG_LEAF) !== 0) throw new Error(`SMT proof has unknown flags 0x${flags.toString(16)}`);
  const n = (bytes[1] << 8) | bytes[2];
  if (n > MAX_DEPTH) throw new Error(`SMT proof has ${n} siblings, at most ${MAX_DEPTH} allowed`);
  const bitmapLength = (n + 7) >> 3;
  if (bytes.length < 3 + bitmapLength) throw new Error('SMT proof truncated in the sibling bitmap');
  const bitmap = bytes.subarray(3, 3 + bitmapLength);
  if (n % 8 !== 0 && (bitmap[bitmapLength - 1] & (0xff >> (n % 8))) !== 0) {
    throw new Error('SMT proof bitmap has bits set past the sibling count');
  }
  let present = 0;
  for (let i = 0; i < n; i++) if ((bitmap[i >> 3] & (0x80 >> (i & 7))) !== 0) present++;
  const hasLeaf = (flags & FLAG_LEAF) !== 0;
  const expected = 3 + bitmapLength + present * HASH_LENGTH + (hasLeaf ? 2 * HASH_LENGTH : 0);
  if (bytes.length !== expected) {
    throw new Error(`SMT proof is ${bytes.length} bytes, expected exactly ${expected} (${bytes.length < expected ? 'truncated' : 'trailing bytes'})`);
  }
  let offset = 3 + bitmapLength;
  const siblings: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) {
    if ((bitmap[i >> 3] & (0x80 >> (i & 7))) !== 0) {
      const s = bytes.slice(offset, offset + HASH_LENGTH);
      offset += HASH_LENGTH;
      if (isEmpty(s)) throw new Error(`SMT proof sibling ${i} is marked non-empty but is all zero`);
      siblings[i] = s;
    } else {
      siblings[i] = EMPTY_HASH.slice();
    }
  }
  let leaf: SmtProof['leaf'] = null;
  if (hasLeaf) {
    leaf = { keyHash: bytes.slice(offset, offset + HASH_LENGTH), valueHash: bytes.slice(offset + HASH_LENGTH, offset + 2 * HASH_LENGTH) };
  }
  return { siblings, leaf };
}
