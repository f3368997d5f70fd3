// BlockID helpers shared by the consensus core: nil test, equality, and a string key for maps.
import type { BlockID } from '../codec/types.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';

/** A vote for nil carries the empty block id (empty hash). */
export function isNilBlockId(id: BlockID): boolean {
  return id.hash.length === 0;
}

export function equalBlockId(a: BlockID, b: BlockID): boolean {
  return (
    equalBytes(a.hash, b.hash) &&
    a.partSetHeader.total === b.partSetHeader.total &&
    equalBytes(a.partSetHeader.hash, b.partSetHeader.hash)
  );
}

/** A string that identifies a block id (hash and part set header), for use as a Map key. Nil is the empty string. */
export function blockIdKey(id: BlockID): string {
  if (isNilBlockId(id)) return '';
  return `${toHex(id.hash)}:${id.partSetHeader.total}:${toHex(id.partSetHeader.hash)}`;
}
