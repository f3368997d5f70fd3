// A write buffer over committed state. The executor stacks them: block overlay over the store, tx overlay over the
// block, so that a failing message is dropped by simply not merging its overlay. Nothing touches LevelDB until the
// block's single batch.
import type { StateReader, StateWrite } from './store.ts';
import { compareBytes } from '../crypto/bytes.ts';

const id = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');

export class StateOverlay implements StateReader {
  private readonly parent: StateReader;
  private readonly writes = new Map<string, StateWrite>();
  /** Values read from the parent; only for an overlay whose parent cannot change while it lives (a block's). */
  private readonly reads: Map<string, Uint8Array | undefined> | null;
  /** The parent's entries under a prefix, by prefix; cached on the same condition as `reads`. */
  private readonly scans: Map<string, Array<[Uint8Array, Uint8Array]>> | null;

  constructor(parent: StateReader, options: { cacheReads?: boolean } = {}) {
    this.parent = parent;
    this.reads = options.cacheReads ? new Map() : null;
    this.scans = options.cacheReads ? new Map() : null;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const k = id(key);
    const w = this.writes.get(k);
    if (w !== undefined) return w.value ?? undefined;
    if (this.reads === null) return this.parent.get(key);
    if (this.reads.has(k)) return this.reads.get(k);
    const v = await this.parent.get(key);
    this.reads.set(k, v);
    return v;
  }

  async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    if (this.reads === null) {
      // Only what this overlay wrote is answered here; the rest goes to the parent in one call.
      const out: Array<Uint8Array | undefined> = keys.map((key) => this.writes.get(id(key))?.value ?? undefined);
      const rest = keys.map((key, i) => i).filter((i) => !this.writes.has(id(keys[i])));
      const values = rest.length === 0 ? [] : await this.parent.getMany(rest.map((i) => keys[i]));
      rest.forEach((i, j) => (out[i] = values[j]));
      return out;
    }
    await this.prefetch(keys);
    return Promise.all(keys.map((k) => this.get(k)));
  }

  /** Reads keys from the parent in one round trip into the read cache, so the block's txs find them in memory. */
  async prefetch(keys: readonly Uint8Array[]): Promise<void> {
    if (this.reads === null) return;
    const missing = new Map<string, Uint8Array>();
    for (const key of keys) {
      const k = id(key);
      if (!this.writes.has(k) && !this.reads.has(k)) missing.set(k, key);
    }
    if (missing.size === 0) return;
    const values = await this.parent.getMany([...missing.values()]);
    let i = 0;
    for (const k of missing.keys()) this.reads.set(k, values[i++]);
  }

  set(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(id(key), { key, value });
  }

  delete(key: Uint8Array): void {
    this.writes.set(id(key), { key, value: null });
  }

  /** Parent entries under prefix with this overlay's writes applied, in key order. */
  async entries(prefix: Uint8Array): Promise<Array<[Uint8Array, Uint8Array]>> {
    const merged = new Map<string, [Uint8Array, Uint8Array]>();
    for (const e of await this.parentEntries(prefix)) merged.set(id(e[0]), e);
    for (const [k, w] of this.writes) {
      if (!startsWith(w.key, prefix)) continue;
      if (w.value === null) merged.delete(k);
      else merged.set(k, [w.key, w.value]);
    }
    return [...merged.values()].sort((a, b) => compareBytes(a[0], b[0]));
  }

  private async parentEntries(prefix: Uint8Array): Promise<Array<[Uint8Array, Uint8Array]>> {
    if (this.scans === null) return this.parent.entries(prefix);
    const k = id(prefix);
    let rows = this.scans.get(k);
    if (rows === undefined) {
      rows = await this.parent.entries(prefix);
      this.scans.set(k, rows);
    }
    return rows;
  }

  /** A child overlay whose writes reach this one only through merge(). */
  fork(): StateOverlay {
    return new StateOverlay(this);
  }

  /** Applies a child's writes to this overlay. */
  merge(child: StateOverlay): void {
    for (const [k, w] of child.writes) this.writes.set(k, w);
  }

  /** Every write, sorted by key: deterministic input for the commitment and the batch. */
  changes(): StateWrite[] {
    return [...this.writes.values()].sort((a, b) => compareBytes(a.key, b.key));
  }
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}
