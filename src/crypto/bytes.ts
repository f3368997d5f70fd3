// Byte helpers shared by every module: hex (upper-case, as CometBFT shows hashes and addresses), concatenation,
// comparison, and fixed-width big-endian integers for sortable store keys.

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Parses hex (either case). Throws a plain Error: callers wrap it into the AppError that fits their context. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX.test(hex)) throw new Error(`not hex: ${JSON.stringify(hex.slice(0, 80))}`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function fromBase64(b64: string): Uint8Array {
  if (!B64.test(b64) || b64.length % 4 !== 0) throw new Error('not base64');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** 8-byte big-endian encoding, so that heights sort in key order. */
export function u64be(n: bigint): Uint8Array {
  if (n < 0n || n > 0xffff_ffff_ffff_ffffn) throw new RangeError(`u64 out of range: ${n}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

export function readU64be(bytes: Uint8Array, offset = 0): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset);
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
