// Shared pieces of the fuzzers (test/fuzz, run by `npm run test:fuzz`): a seeded, time-bounded loop, byte and JSON
// mutators, and a recorder of unhandled rejections and uncaught exceptions. FUZZ_SECONDS bounds each target (default
// 60); FUZZ_SEED picks the seed (default: random, printed so a failure replays with FUZZ_SEED=<seed>).
import type { Test } from 'tap';
import protobuf from 'protobufjs';
import { Rng } from './rng.ts';

export const FUZZ_SECONDS = Number(process.env.FUZZ_SECONDS ?? 60);

export function fuzzSeed(t: Test, target: string): number {
  const env = process.env.FUZZ_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) >>> 0 : (Math.random() * 0x1_0000_0000) >>> 0;
  t.comment(`${target}: FUZZ_SEED=${seed} FUZZ_SECONDS=${FUZZ_SECONDS}`);
  return seed;
}

/** Runs `one` until the time box is over (FUZZ_SECONDS split over `share` parts); returns how many inputs ran. */
export async function fuzzLoop(seconds: number, one: (i: number) => Promise<void> | void): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let i = 0;
  while (Date.now() < deadline) {
    await one(i);
    i++;
  }
  return i;
}

/** Records process-level failures for the duration of a test; `assertNone` fails the test if any happened. */
export function processRecorder(t: Test): { failures: string[] } {
  const failures: string[] = [];
  const onRejection = (r: unknown) => failures.push(`unhandledRejection: ${r instanceof Error ? r.stack : String(r)}`);
  const onException = (e: unknown) => failures.push(`uncaughtException: ${e instanceof Error ? e.stack : String(e)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  t.teardown(() => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });
  return { failures };
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x10, 0x12, 0x1a, 0x22];

/** A mutation of `src`: bit flips, byte sets, truncation, extension, insertion, deletion, splices from `donors`. */
export function mutateBytes(rng: Rng, src: Uint8Array, donors: readonly Uint8Array[] = []): Uint8Array {
  let b: Uint8Array = Uint8Array.from(src);
  const rounds = rng.int(1, 4);
  for (let r = 0; r < rounds; r++) {
    switch (rng.int(0, 8)) {
      case 0: // bit flip
        if (b.length > 0) b[rng.int(0, b.length - 1)] ^= 1 << rng.int(0, 7);
        break;
      case 1: // interesting byte
        if (b.length > 0) b[rng.int(0, b.length - 1)] = rng.pick(INTERESTING_BYTES);
        break;
      case 2: // truncate
        b = b.slice(0, rng.int(0, b.length));
        break;
      case 3: // extend with random bytes
        b = concat(b, rng.bytes(rng.int(1, 16)));
        break;
      case 4: { // insert random bytes
        const at = rng.int(0, b.length);
        b = concat(b.slice(0, at), rng.bytes(rng.int(1, 8)), b.slice(at));
        break;
      }
      case 5: { // delete a range
        const at = rng.int(0, b.length);
        b = concat(b.slice(0, at), b.slice(Math.min(b.length, at + rng.int(1, 8))));
        break;
      }
      case 6: { // splice a piece of a donor
        if (donors.length === 0) break;
        const d = rng.pick(donors);
        const from = rng.int(0, d.length);
        const piece = d.slice(from, from + rng.int(1, 32));
        const at = rng.int(0, b.length);
        b = concat(b.slice(0, at), piece, b.slice(at + (rng.chance(0.5) ? piece.length : 0)));
        break;
      }
      case 7: { // a huge varint (length prefix / uint64 overflow)
        const at = rng.int(0, b.length);
        const big = rng.pick([[0xff, 0xff, 0xff, 0xff, 0x0f], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]]);
        b = concat(b.slice(0, at), Uint8Array.from(big), b.slice(at));
        break;
      }
      default: // fully random
        b = rng.bytes(rng.int(0, 64));
    }
  }
  return b;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A random JSON-ish value: wrong types, huge and negative numbers, unicode, long strings, deep nesting. */
export function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(0, depth > 3 ? 9 : 13)) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.int(-5, 5);
    case 3: return rng.pick([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e308, -1e308, 2 ** 64, 0.5, -0.0, 1e-300]);
    case 4: return rng.pick(['', '0', '-1', '1', '18446744073709551616', '99999999999999999999999999', '1e9', '0x', '0xZZ', 'NaN', 'Infinity', ' 1', '"1"', "'x'"]);
    case 5: return rng.pick(['\u0000', '\ud800', '💥', 'é', '\u202e', 'tm.event=\'NewBlock\'', '/account', 'AND', '%00', '../../etc/passwd']);
    case 6: return 'x'.repeat(rng.pick([100, 10_000, 200_000]));
    case 7: return Buffer.from(rng.bytes(rng.int(0, 40))).toString(rng.chance(0.5) ? 'hex' : 'base64');
    case 8: return '0x' + Buffer.from(rng.bytes(rng.int(0, 40))).toString('hex');
    case 9: return rng.pick(['A'.repeat(40), 'a'.repeat(64), '0'.repeat(64)]);
    case 10: return Array.from({ length: rng.int(0, 4) }, () => randomValue(rng, depth + 1));
    case 11: return Object.fromEntries(Array.from({ length: rng.int(0, 4) }, () => [rng.pick(['height', 'page', 'per_page', 'hash', 'tx', 'query', 'address', 'id', 'path', 'data', 'prove', '__proto__', 'constructor']), randomValue(rng, depth + 1)]));
    case 12: return deepNest(rng.pick([10, 100, 1000]));
    default: return rng.pick([{}, []]);
  }
}

export function deepNest(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

/** Runs f, returning what it threw (undefined if nothing). */
export function thrown(f: () => unknown): unknown {
  try {
    f();
    return undefined;
  } catch (err) {
    return err;
  }
}

/** A protobufjs object of `type` with random values in every field (sub-messages recursively). */
export function randomWire(rng: Rng, type: protobuf.Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    if (f.partOf !== null && f.partOf.oneof.length > 1 && rng.chance(0.7)) continue;
    const one = (): unknown => {
      if (f.resolvedType instanceof protobuf.Type) return depth > 4 ? {} : randomWire(rng, f.resolvedType, depth + 1);
      if (f.resolvedType instanceof protobuf.Enum) return rng.pick(Object.values(f.resolvedType.values));
      switch (f.type) {
        case 'string': return rng.pick(['', 'a', 'llama-3-70b', 'é💥', 'x'.repeat(rng.int(0, 300)), 'test-chain', 'yes', 'jail', 'authority']);
        case 'bytes': return rng.bytes(rng.pick([0, 20, 32, 33, 48, 64, 96, rng.int(0, 200)]));
        case 'bool': return rng.chance(0.5);
        case 'uint64': case 'int64': case 'sint64': case 'fixed64': case 'sfixed64':
          return String(rng.pick([0n, 1n, rng.bigint(0n, 1_000_000n), rng.bigint(0n, 2n ** 63n - 1n)]));
        case 'double': case 'float': return rng.int(0, 100) / 7;
        default: return rng.int(0, 1000);
      }
    };
    out[f.name] = f.repeated ? Array.from({ length: rng.int(0, 3) }, one) : one();
  }
  return out;
}

