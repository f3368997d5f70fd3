// Typed repositories over state keys. A state key is one namespace byte + the record's key; the namespaces below are
// the whole layout of the committed state (and so of the app hash): add new ones, never renumber.
import { concat } from '../crypto/bytes.ts';
import type { MessageCodec } from '../codec/codec.ts';

/** What a repository needs of a codec: protobuf records use a MessageCodec, params their canonical JSON. */
export type RecordCodec<V> = Pick<MessageCodec<V>, 'encode' | 'decode'>;
import type { StateReader } from './store.ts';
import type { StateOverlay } from './overlay.ts';

export const Namespace = {
  ACCOUNT: 0x01,
  VESTING: 0x02,
  VALIDATOR: 0x03,
  SUPPLY: 0x04,
  PARAMS: 0x05,
  AGENT: 0x06,
  SIGNING_INFO: 0x07,
  UNBONDING: 0x08,
  SLASH_ESCROW: 0x09,
  EMISSION: 0x0a,
  // issue 7: each module appends its own namespaces here (never renumber)
  BEACON: 0x0b,
  TASK: 0x0c,
  TASK_QUEUE: 0x0d,
  REVIEW: 0x0e,
  REPUTATION: 0x0f,
  ENDORSEMENT: 0x10,
  // issue 8
  GOV: 0x11,
} as const;

/** 8-byte big-endian: ids and times in keys sort in numeric order. */
export function u64Key(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

export class Repo<K, V> {
  private readonly prefix: Uint8Array;
  private readonly encodeKey: (k: K) => Uint8Array;
  private readonly codec: RecordCodec<V>;

  /** `prefix`: a namespace byte, or a longer prefix inside one (a module keeping several tables in its namespace). */
  constructor(prefix: number | Uint8Array, encodeKey: (k: K) => Uint8Array, codec: RecordCodec<V>) {
    this.prefix = typeof prefix === 'number' ? new Uint8Array([prefix]) : prefix;
    this.encodeKey = encodeKey;
    this.codec = codec;
  }

  stateKey(k: K): Uint8Array {
    return concat(this.prefix, this.encodeKey(k));
  }

  async get(state: StateReader, k: K): Promise<V | undefined> {
    const v = await state.get(this.stateKey(k));
    return v === undefined ? undefined : this.codec.decode(v);
  }

  /** Many records in one round trip (the store's getMany), in the order of `keys`. */
  async getMany(state: StateReader, keys: readonly K[]): Promise<Array<V | undefined>> {
    const values = await state.getMany(keys.map((k) => this.stateKey(k)));
    return values.map((v) => (v === undefined ? undefined : this.codec.decode(v)));
  }

  set(state: StateOverlay, k: K, value: V): void {
    state.set(this.stateKey(k), this.codec.encode(value));
  }

  delete(state: StateOverlay, k: K): void {
    state.delete(this.stateKey(k));
  }

  /** Every record, in key order, with its key suffix (the bytes encodeKey produced). */
  all(state: StateReader): Promise<Array<[Uint8Array, V]>> {
    return this.entries(state);
  }

  /** The records whose key suffix starts with `sub`, in key order, each with its whole key suffix. */
  async entries(state: StateReader, sub: Uint8Array = new Uint8Array(0)): Promise<Array<[Uint8Array, V]>> {
    const rows = await state.entries(concat(this.prefix, sub));
    return rows.map(([k, v]) => [k.subarray(this.prefix.length), this.codec.decode(v)]);
  }
}

/** A repository holding exactly one record. */
export class Singleton<V> {
  private readonly repo: Repo<null, V>;

  constructor(namespace: number, codec: RecordCodec<V>) {
    this.repo = new Repo(namespace, () => new Uint8Array(0), codec);
  }

  get stateKey(): Uint8Array {
    return this.repo.stateKey(null);
  }

  get(state: StateReader): Promise<V | undefined> {
    return this.repo.get(state, null);
  }

  set(state: StateOverlay, value: V): void {
    this.repo.set(state, null, value);
  }
}
