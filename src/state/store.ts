// The node's LevelDB. Keys are one prefix byte + a sortable suffix (heights as 8-byte big-endian), behind typed
// accessors; nothing else in the node knows the key layout. Every height lands in ONE atomic batch: block, commit,
// results, tx index, search index, the state writes, the new commitment nodes and, last, the head pointer. A crash therefore leaves
// either the whole height or none of it.
import { Level } from 'level';
import { AppError } from '../errors.ts';
import { concat, readU64be, u64be, utf8 } from '../crypto/bytes.ts';
import {
  BlockResultsCodec,
  StoreHeadCodec,
  TxLocationCodec,
  type BlockResults,
  type StoreHead,
  type TxLocation,
} from '../codec/types.ts';
import type { NodeReader } from './smt.ts';

const P = {
  STATE: 0x73, // 's' + state key -> value (latest committed state, flat, for fast reads)
  NODE: 0x6e, // 'n' + node hash -> commitment node
  BLOCK: 0x62, // 'b' + height -> encoded Block
  BLOCK_HASH: 0x68, // 'h' + block hash -> height
  COMMIT: 0x63, // 'c' + height -> encoded Commit that finalised the block at height
  RESULTS: 0x72, // 'r' + height -> encoded BlockResults
  TX: 0x74, // 't' + tx hash -> TxLocation
  VALSET: 0x76, // 'v' + height -> the validator set of that height (consensus's encoding, priorities included)
  EVIDENCE: 0x65, // 'e' + evidence hash -> height of the block that carried it (evidence counts once)
  META: 0x6d, // 'm' + name -> metadata
  // Search indexes (tx_search, block_search). Strings are length-prefixed (u32 BE) so that no key or value can run
  // into the next field, and every entry of one composite key (or one key and value) is a contiguous key range.
  TX_EVENT: 0x78, // 'x' + len + "type.attr" + len + value + height(8) + index(4) -> (empty)
  TX_HEIGHT: 0x79, // 'y' + height(8) + index(4) -> tx hash: every committed tx in chain order (tx.height)
  BLOCK_EVENT: 0x6b, // 'k' + len + "type.attr" + len + value + height(8) -> (empty): begin/end-block events
} as const;

const HEAD_KEY = concat(new Uint8Array([P.META]), new TextEncoder().encode('head'));

const key = (prefix: number, ...parts: Uint8Array[]): Uint8Array => concat(new Uint8Array([prefix]), ...parts);

const u32be = (n: number): Uint8Array => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
};

/** A length-prefixed UTF-8 string: the building block of the search index keys. */
const lp = (s: string): Uint8Array => {
  const b = utf8(s);
  return concat(u32be(b.length), b);
};

/**
 * prefix + lp(key) + lp(value) + height (+ index), written into one buffer: a block of thousands of txs writes
 * several index keys per tx on the commit path, and building them from small arrays costs several times more.
 */
function attributeKey(prefix: number, a: IndexAttribute, height: bigint, index?: number): Uint8Array {
  const kl = Buffer.byteLength(a.key);
  const vl = Buffer.byteLength(a.value);
  const buf = Buffer.allocUnsafe(1 + 4 + kl + 4 + vl + 8 + (index === undefined ? 0 : 4));
  buf[0] = prefix;
  buf.writeUInt32BE(kl, 1);
  let o = 5 + buf.write(a.key, 5, 'utf8');
  buf.writeUInt32BE(vl, o);
  o += 4;
  o += buf.write(a.value, o, 'utf8');
  buf.writeBigUInt64BE(height, o);
  if (index !== undefined) buf.writeUInt32BE(index, o + 8);
  return buf;
}

/** An indexed event attribute: composite key "type.attr" and its value (what tx_search and block_search match). */
export interface IndexAttribute {
  key: string;
  value: string;
}

/** One committed tx as the search index knows it. */
export interface TxIndexEntry {
  /** Position in its block. */
  index: number;
  hash: Uint8Array;
  /** Indexed attributes of its events (duplicates are harmless: they write the same key). */
  attributes: readonly IndexAttribute[];
}

/** A tx position found by the index; `value` is the attribute value when scanning a whole composite key. */
export interface TxIndexHit {
  height: bigint;
  index: number;
  value?: string;
}

export interface BlockIndexHit {
  height: bigint;
  value?: string;
}

export interface StateWrite {
  key: Uint8Array;
  /** null deletes the key. */
  value: Uint8Array | null;
}

/** Everything one height writes; committed atomically by Store.commitHeight. */
export interface HeightWrites {
  head: StoreHead;
  state: readonly StateWrite[];
  nodes: ReadonlyArray<readonly [Uint8Array, Uint8Array]>;
  block?: { bytes: Uint8Array; hash: Uint8Array };
  /** The commit that finalised this height's block (CometBFT's "seen commit"). */
  commit?: Uint8Array;
  results?: BlockResults;
  txs?: ReadonlyArray<{ hash: Uint8Array; location: TxLocation }>;
  /** Hashes of the evidence the block carried. */
  evidence?: readonly Uint8Array[];
  /** Validator sets that become known with this height (consensus keeps the sets of H+1 and H+2). */
  validatorSets?: ReadonlyArray<{ height: bigint; bytes: Uint8Array }>;
  /** The block's txs for the search index (tx.height and their indexed event attributes). */
  txIndex?: readonly TxIndexEntry[];
  /** Indexed attributes of the block's begin/end-block events (block_search). */
  blockIndex?: readonly IndexAttribute[];
}

/** Read access to the latest committed state, by state key. */
export interface StateReader {
  get(stateKey: Uint8Array): Promise<Uint8Array | undefined>;
  /** Many reads in one round trip (LevelDB's getMany): how a block prefetches the records its txs will touch. */
  getMany(stateKeys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
  /** Committed entries whose state key starts with prefix, in key order. */
  entries(prefix: Uint8Array): Promise<Array<[Uint8Array, Uint8Array]>>;
}

export class Store implements StateReader, NodeReader {
  private readonly db: Level<Uint8Array, Uint8Array>;
  private readonly path: string;
  private headCache: StoreHead | null = null;
  /**
   * The first failed write. LevelDB does not keep it: after a failed log append (ENOSPC) it acknowledges later
   * writes, synced ones too, that the next open drops as a corrupt log tail. So the store keeps it and refuses
   * every later write, as the WAL does; the node must stop and restart (the reopen recovers up to the failure).
   */
  private writeFailure: AppError | null = null;

  private constructor(db: Level<Uint8Array, Uint8Array>, path: string) {
    this.db = db;
    this.path = path;
  }

  static async open(path: string): Promise<Store> {
    const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new AppError('STORE_CORRUPT', `cannot open the database at ${path}: ${cause}; is another node using this home?`, { path });
    }
    const store = new Store(db, path);
    const head = await db.get(HEAD_KEY);
    store.headCache = head === undefined ? null : StoreHeadCodec.decode(head);
    return store;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** The last committed height, or null for a store that has not been initialised from a genesis. */
  head(): StoreHead | null {
    return this.headCache;
  }

  get(stateKey: Uint8Array): Promise<Uint8Array | undefined> {
    return this.db.get(key(P.STATE, stateKey));
  }

  getMany(stateKeys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return this.db.getMany(stateKeys.map((k) => key(P.STATE, k)));
  }

  async entries(prefix: Uint8Array): Promise<Array<[Uint8Array, Uint8Array]>> {
    const lo = key(P.STATE, prefix);
    const hi = prefixEnd(lo);
    const out: Array<[Uint8Array, Uint8Array]> = [];
    for await (const [k, v] of this.db.iterator(hi === null ? { gte: lo } : { gte: lo, lt: hi })) out.push([k.subarray(1), v]);
    return out;
  }

  getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.db.get(key(P.NODE, hash));
  }

  getBlock(height: bigint): Promise<Uint8Array | undefined> {
    return this.db.get(key(P.BLOCK, u64be(height)));
  }

  async heightOfBlock(hash: Uint8Array): Promise<bigint | undefined> {
    const v = await this.db.get(key(P.BLOCK_HASH, hash));
    return v === undefined ? undefined : new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0);
  }

  getCommit(height: bigint): Promise<Uint8Array | undefined> {
    return this.db.get(key(P.COMMIT, u64be(height)));
  }

  async getResults(height: bigint): Promise<BlockResults | undefined> {
    const v = await this.db.get(key(P.RESULTS, u64be(height)));
    return v === undefined ? undefined : BlockResultsCodec.decode(v);
  }

  async getTxLocation(hash: Uint8Array): Promise<TxLocation | undefined> {
    const v = await this.db.get(key(P.TX, hash));
    return v === undefined ? undefined : TxLocationCodec.decode(v);
  }

  /** Writes one height atomically. Heights must follow each other; the head pointer moves only with the batch. */
  async commitHeight(w: HeightWrites): Promise<void> {
    const prev = this.headCache;
    if (prev !== null && w.head.height !== prev.height + 1n) {
      throw new AppError('INTERNAL', `store is at height ${prev.height}; cannot commit height ${w.head.height}`);
    }
    if (this.writeFailure !== null) throw this.writeFailure; // before opening a batch that would never be closed
    const batch = this.db.batch();
    for (const s of w.state) {
      if (s.value === null) batch.del(key(P.STATE, s.key));
      else batch.put(key(P.STATE, s.key), s.value);
    }
    for (const [hash, node] of w.nodes) batch.put(key(P.NODE, hash), node);
    const h = u64be(w.head.height);
    if (w.block) {
      batch.put(key(P.BLOCK, h), w.block.bytes);
      batch.put(key(P.BLOCK_HASH, w.block.hash), h);
    }
    if (w.commit) batch.put(key(P.COMMIT, h), w.commit);
    if (w.results) batch.put(key(P.RESULTS, h), BlockResultsCodec.encode(w.results));
    for (const tx of w.txs ?? []) batch.put(key(P.TX, tx.hash), TxLocationCodec.encode(tx.location));
    for (const vs of w.validatorSets ?? []) batch.put(key(P.VALSET, u64be(vs.height)), vs.bytes);
    for (const ev of w.evidence ?? []) batch.put(key(P.EVIDENCE, ev), h);
    const empty = new Uint8Array(0);
    for (const tx of w.txIndex ?? []) {
      batch.put(key(P.TX_HEIGHT, h, u32be(tx.index)), tx.hash);
      for (const a of tx.attributes) batch.put(attributeKey(P.TX_EVENT, a, w.head.height, tx.index), empty);
    }
    for (const a of w.blockIndex ?? []) batch.put(attributeKey(P.BLOCK_EVENT, a, w.head.height), empty);
    batch.put(HEAD_KEY, StoreHeadCodec.encode(w.head));
    // Synced: the WAL and the signer state are fsynced, and the state must never fall behind them on power loss.
    await this.write(`height ${w.head.height}`, () => batch.write({ sync: true }));
    this.headCache = w.head;
  }

  /** The hash of the committed tx at (height, index), from the search index. */
  getTxHashAt(height: bigint, index: number): Promise<Uint8Array | undefined> {
    return this.db.get(key(P.TX_HEIGHT, u64be(height), u32be(index)));
  }

  /** Committed txs with lo <= height <= hi, in (height, index) order (reverse: descending). */
  async *txsByHeight(lo: bigint, hi: bigint, opts: { reverse?: boolean } = {}): AsyncGenerator<TxIndexHit & { hash: Uint8Array }> {
    if (lo > hi) return;
    const range = { gte: key(P.TX_HEIGHT, u64be(lo)), lt: key(P.TX_HEIGHT, u64be(hi + 1n)), reverse: opts.reverse ?? false };
    for await (const [k, v] of this.db.iterator(range)) {
      yield { height: readU64be(k, 1), index: new DataView(k.buffer, k.byteOffset, k.byteLength).getUint32(9), hash: v };
    }
  }

  /**
   * Tx positions whose events carry the attribute `compositeKey` ("type.attr"): with `value`, exactly that value (in
   * (height, index) order); without, every value (ordered by value, then position), each hit naming its value.
   */
  async *txsByAttribute(compositeKey: string, value?: string): AsyncGenerator<TxIndexHit> {
    const prefix = value === undefined ? key(P.TX_EVENT, lp(compositeKey)) : key(P.TX_EVENT, lp(compositeKey), lp(value));
    const at = valueAt(compositeKey);
    for await (const k of this.db.keys(prefixRange(prefix))) {
      const { value: v, rest } = splitAttributeKey(k, at);
      const view = new DataView(rest.buffer, rest.byteOffset, rest.byteLength);
      yield { height: view.getBigUint64(0), index: view.getUint32(8), value: v };
    }
  }

  /** Block heights whose begin/end-block events carry the attribute (same rules as txsByAttribute). */
  async *blocksByAttribute(compositeKey: string, value?: string): AsyncGenerator<BlockIndexHit> {
    const prefix = value === undefined ? key(P.BLOCK_EVENT, lp(compositeKey)) : key(P.BLOCK_EVENT, lp(compositeKey), lp(value));
    const at = valueAt(compositeKey);
    for await (const k of this.db.keys(prefixRange(prefix))) {
      const { value: v, rest } = splitAttributeKey(k, at);
      yield { height: readU64be(rest), value: v };
    }
  }

  async hasEvidence(hash: Uint8Array): Promise<boolean> {
    return (await this.db.get(key(P.EVIDENCE, hash))) !== undefined;
  }

  getValidatorSet(height: bigint): Promise<Uint8Array | undefined> {
    return this.db.get(key(P.VALSET, u64be(height)));
  }

  /** Validator sets derived from the genesis state, written once when consensus first starts. */
  async putValidatorSets(sets: ReadonlyArray<{ height: bigint; bytes: Uint8Array }>): Promise<void> {
    await this.write('validator sets', () => this.db.batch(sets.map((vs) => ({ type: 'put' as const, key: key(P.VALSET, u64be(vs.height)), value: vs.bytes }))));
  }

  /**
   * Saves a decided block and its commit before it is applied (CometBFT's block store comes before its state): a
   * crash between this and commitHeight leaves the block at head + 1, and restart applies it.
   */
  async saveDecidedBlock(height: bigint, block: { bytes: Uint8Array; hash: Uint8Array }, commit: Uint8Array): Promise<void> {
    const head = this.headCache;
    if (head !== null && height !== head.height + 1n) throw new AppError('INTERNAL', `store is at height ${head.height}; cannot save a decided block for ${height}`);
    const h = u64be(height);
    await this.write(`decided block ${height}`, () =>
      this.db.batch(
        [
          { type: 'put', key: key(P.BLOCK, h), value: block.bytes },
          { type: 'put', key: key(P.BLOCK_HASH, block.hash), value: h },
          { type: 'put', key: key(P.COMMIT, h), value: commit },
        ],
        { sync: true },
      ),
    );
  }

  /** Runs a write unless one has failed before; a failure is kept (see writeFailure) and thrown now and later. */
  private async write(what: string, op: () => Promise<void>): Promise<void> {
    if (this.writeFailure !== null) throw this.writeFailure;
    try {
      await op();
    } catch (err) {
      this.writeFailure = new AppError(
        'INTERNAL',
        `the database at ${this.path} failed to write ${what} (${(err as Error).message}); its state on disk is unknown and it takes no more writes: stop the node, fix the disk and restart it`,
        { path: this.path },
      );
      throw this.writeFailure;
    }
  }
}

function prefixRange(prefix: Uint8Array): { gte: Uint8Array; lt?: Uint8Array } {
  const end = prefixEnd(prefix);
  return end === null ? { gte: prefix } : { gte: prefix, lt: end };
}

/** Offset of the value's length prefix in an attribute index key: after the prefix byte and the composite key. */
const valueAt = (compositeKey: string): number => 1 + 4 + utf8(compositeKey).length;

/** Reads the length-prefixed value that starts at `at` in an attribute index key; `rest` is the position after it. */
function splitAttributeKey(k: Uint8Array, at: number): { value: string; rest: Uint8Array } {
  const len = new DataView(k.buffer, k.byteOffset, k.byteLength).getUint32(at);
  const start = at + 4;
  return { value: new TextDecoder().decode(k.subarray(start, start + len)), rest: k.subarray(start + len) };
}

/** The smallest key greater than every key starting with prefix, or null if there is none (all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | null {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return null;
}
