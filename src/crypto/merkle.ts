// Merkle root of an ordered list (tx root, validator-set hash, last-commit hash), RFC 6962 style as CometBFT does it:
// leaves and inner nodes are domain-separated so that a leaf can never pass for an inner node; the split point is the
// largest power of two below n. The empty list hashes to SHA-256 of nothing.
import { sha256 } from './hash.ts';

const LEAF = new Uint8Array([0]);
const INNER = new Uint8Array([1]);

export function merkleRoot(items: readonly Uint8Array[]): Uint8Array {
  if (items.length === 0) return sha256();
  return rootOf(items, 0, items.length);
}

function rootOf(items: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 1) return sha256(LEAF, items[start]);
  const k = splitPoint(n);
  return sha256(INNER, rootOf(items, start, start + k), rootOf(items, start + k, end));
}

function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
