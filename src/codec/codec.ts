// The one place that turns bytes into typed objects and back. Schemas live in proto/agentcluster.proto (loaded
// once with protobufjs); 64-bit integers become bigint and Timestamp becomes bigint nanoseconds since the epoch.
//
// Canonical form, enforced both ways: an all-default sub-message is never written (proto3: empty == absent) and an
// absent one decodes to its default value, so TypeScript objects never hold null and encode(decode(b)) === b for
// every accepted b. Decoding untrusted bytes is strict: malformed bytes, non-canonical encodings (unknown fields,
// non-minimal varints, explicit empty sub-messages) and objects failing validation are rejected with a coded AppError.
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { AppError, type ErrorCode } from '../errors.ts';
import { equalBytes } from '../crypto/bytes.ts';

const root = protobuf.loadSync(fileURLToPath(new URL('./proto/agentcluster.proto', import.meta.url)));
root.resolveAll();

const TO_OBJECT: protobuf.IConversionOptions = { longs: BigInt, defaults: true, arrays: true, oneofs: true };
const TIMESTAMP = '.agentcluster.Timestamp';
const NS_PER_SECOND = 1_000_000_000n;

type Obj = Record<string, unknown>;

/** The message-typed fields of a type, computed once per type. */
const messageFieldsOf = new Map<protobuf.Type, protobuf.Field[]>();
function messageFields(type: protobuf.Type): protobuf.Field[] {
  let fields = messageFieldsOf.get(type);
  if (fields === undefined) {
    fields = type.fieldsArray.filter((f) => f.resolvedType instanceof protobuf.Type);
    messageFieldsOf.set(type, fields);
  }
  return fields;
}

// protobufjs wraps out-of-range integers silently (2^64 encodes as 0): every integer field is range-checked instead.
const INT_RANGES: Record<string, readonly [bigint, bigint]> = {
  uint64: [0n, 2n ** 64n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
};

const intFieldsOf = new Map<protobuf.Type, Array<[protobuf.Field, readonly [bigint, bigint]]>>();
function intFields(type: protobuf.Type): Array<[protobuf.Field, readonly [bigint, bigint]]> {
  let fields = intFieldsOf.get(type);
  if (fields === undefined) {
    fields = type.fieldsArray.filter((f) => INT_RANGES[f.type] !== undefined).map((f) => [f, INT_RANGES[f.type]] as [protobuf.Field, readonly [bigint, bigint]]);
    intFieldsOf.set(type, fields);
  }
  return fields;
}

function checkRanges(type: protobuf.Type, obj: Obj): void {
  for (const [field, [lo, hi]] of intFields(type)) {
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    for (const x of field.repeated ? (v as unknown[]) : [v]) {
      const n = typeof x === 'bigint' ? x : typeof x === 'number' && Number.isInteger(x) ? BigInt(x) : null;
      if (n === null || n < lo || n > hi) {
        throw new AppError('INTERNAL', `${type.name}.${field.name} = ${String(x)} does not fit ${field.type}`, { field: field.name });
      }
    }
  }
}

function isDefaultScalar(v: unknown): boolean {
  return (
    v === undefined || v === null || v === 0 || v === 0n || v === '' || v === false ||
    (v instanceof Uint8Array && v.length === 0) || (Array.isArray(v) && v.length === 0)
  );
}

/** TypeScript shape -> protobufjs object: times to {seconds, nanos}; empty sub-messages dropped (oneof cases kept). */
function toWireObject(type: protobuf.Type, obj: Obj): Obj {
  checkRanges(type, obj);
  const fields = messageFields(type);
  if (fields.length === 0) return obj;
  const out: Obj = { ...obj };
  for (const field of fields) {
    const v = out[field.name];
    if (v === undefined || v === null) continue;
    const sub = field.resolvedType as protobuf.Type;
    const one = (x: unknown): Obj => (sub.fullName === TIMESTAMP ? checkedTime(sub, timeToWire(x)) : toWireObject(sub, x as Obj));
    if (field.repeated) {
      out[field.name] = (v as unknown[]).map(one);
      continue;
    }
    const w = one(v);
    if (field.partOf === null && Object.values(w).every(isDefaultScalar)) delete out[field.name];
    else out[field.name] = w;
  }
  return out;
}

/** protobufjs object -> TypeScript shape: times to bigint ns; absent (null) sub-messages become their defaults. */
function fromWireObject(type: protobuf.Type, obj: Obj): Obj {
  const fields = messageFields(type);
  if (fields.length === 0) return obj;
  for (const field of fields) {
    const sub = field.resolvedType as protobuf.Type;
    let v = obj[field.name];
    if (v === undefined && field.partOf !== null) continue; // an unset oneof case stays unset
    if (v === null || v === undefined) v = sub.toObject(sub.create(), TO_OBJECT);
    const one = (x: unknown): unknown => (sub.fullName === TIMESTAMP ? timeFromWire(x as Obj) : fromWireObject(sub, x as Obj));
    obj[field.name] = field.repeated ? (v as unknown[]).map(one) : one(v);
  }
  return obj;
}

function checkedTime(type: protobuf.Type, t: Obj): Obj {
  checkRanges(type, t);
  return t;
}

function timeToWire(ns: unknown): Obj {
  if (typeof ns !== 'bigint') throw new TypeError('a time must be a bigint of nanoseconds since the epoch');
  let seconds = ns / NS_PER_SECOND;
  let nanos = ns % NS_PER_SECOND;
  if (nanos < 0n) {
    nanos += NS_PER_SECOND;
    seconds -= 1n;
  }
  return { seconds, nanos: Number(nanos) };
}

function timeFromWire(t: Obj): bigint {
  const nanos = t.nanos as number;
  if (nanos < 0 || nanos >= 1e9) throw new AppError('INVALID_FIELD', 'Timestamp.nanos must be in [0, 999999999]');
  return (t.seconds as bigint) * NS_PER_SECOND + BigInt(nanos);
}

/** Encoder/decoder for one protobuf message type, mapping to the TypeScript type T. */
export interface MessageCodec<T> {
  readonly typeName: string;
  encode(value: T): Uint8Array;
  /** Decodes untrusted bytes: throws AppError(errorCode) on malformed, non-canonical or invalid input. */
  decode(bytes: Uint8Array): T;
}

interface CodecOptions<T> {
  /** Domain check run on every decoded value (validateBasic); throws AppError. */
  validate?: (value: T) => void;
  /** Maps the TypeScript shape to protobufjs's camelCase object shape where they differ (oneofs). */
  toWire?: (value: T) => Obj;
  fromWire?: (wire: Obj) => T;
  /** The code of a decoding failure: TX_DECODE for transactions, INVALID_FIELD for everything else. */
  errorCode?: ErrorCode;
  /**
   * Records only this node writes (state, store): skip the canonical re-encoding check, which guards against
   * malleable input from peers and clients but costs a second encode on every read.
   */
  trusted?: boolean;
}

export function messageCodec<T>(typeName: string, options: CodecOptions<T> = {}): MessageCodec<T> {
  const type = root.lookupType(`agentcluster.${typeName}`);
  const errorCode = options.errorCode ?? 'INVALID_FIELD';
  const hasSubMessages = messageFields(type).length > 0;
  const nonCanonical = () =>
    new AppError(errorCode, `${typeName} is not canonically encoded (unknown fields, explicit defaults or non-minimal varints); re-encode it with the published schema`);
  const encode = (value: T): Uint8Array => {
    const shaped = options.toWire ? options.toWire(value) : (value as Obj);
    return type.encode(type.fromObject(toWireObject(type, shaped))).finish();
  };
  return {
    typeName,
    encode,
    decode(bytes: Uint8Array): T {
      let value: T;
      try {
        const raw = type.toObject(type.decode(bytes), TO_OBJECT);
        if (!options.trusted && !equalBytes(type.encode(type.fromObject(raw)).finish(), bytes)) throw nonCanonical();
        value = options.fromWire ? options.fromWire(fromWireObject(type, raw)) : (fromWireObject(type, raw) as T);
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw new AppError(errorCode, `cannot decode ${typeName}: ${(err as Error).message}; send bytes produced by encoding a ${typeName}`);
      }
      // Sub-messages: an explicitly encoded empty one decodes like an absent one, so only one of the two is canonical.
      if (hasSubMessages && !options.trusted && !equalBytes(encode(value), bytes)) throw nonCanonical();
      options.validate?.(value);
      return value;
    },
  };
}

/** Protobuf type reflection, for tools that need the schema at run time (fuzzers, docs). */
export function lookupType(typeName: string): protobuf.Type {
  return root.lookupType(`agentcluster.${typeName}`);
}
