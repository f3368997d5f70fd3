// The block sync channel's messages (proto/sync.proto) as TypeScript values. Decoding is strict like the shared codec:
// a size limit first, then malformed bytes, non-canonical encodings (unknown fields, out-of-order or explicit default
// fields, non-minimal varints) and invalid values are rejected with AppError('INVALID_FIELD'), so a peer's message has
// one encoding and every value that reaches the reactor has passed its validation.
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import { equalBytes } from '../crypto/bytes.ts';
import { MAX_MESSAGE_BYTES } from './types.ts';

const root = protobuf.loadSync(fileURLToPath(new URL('../codec/proto/sync.proto', import.meta.url)));
root.resolveAll();
const SyncMessageType = root.lookupType('agentcluster.sync.SyncMessage');

const TO_OBJECT: protobuf.IConversionOptions = { longs: BigInt, defaults: true, oneofs: true, bytes: Uint8Array };
const U64_MAX = 0xffff_ffff_ffff_ffffn;

export type SyncMessage =
  | { type: 'status_request' }
  | { type: 'status_response'; base: bigint; height: bigint }
  | { type: 'block_request'; height: bigint }
  | { type: 'block_response'; height: bigint; block: Uint8Array; commit: Uint8Array }
  | { type: 'no_block_response'; height: bigint };

export type SyncMessageType = SyncMessage['type'];

// TypeScript case name -> protobufjs (camelCase) oneof field name.
const WIRE_CASE: Record<SyncMessageType, string> = {
  status_request: 'statusRequest',
  status_response: 'statusResponse',
  block_request: 'blockRequest',
  block_response: 'blockResponse',
  no_block_response: 'noBlockResponse',
};
const TS_CASE = new Map(Object.entries(WIRE_CASE).map(([ts, wire]) => [wire, ts as SyncMessageType]));

function invalid(message: string): never {
  throw new AppError('INVALID_FIELD', message);
}

function checkU64(name: string, v: bigint): void {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) invalid(`${name} = ${String(v)} does not fit uint64`);
}

/** validateBasic of every case: what a well-formed message looks like, independent of any node's state. */
export function validateSyncMessage(m: SyncMessage): void {
  switch (m.type) {
    case 'status_request':
      return;
    case 'status_response':
      checkU64('StatusResponse.base', m.base);
      checkU64('StatusResponse.height', m.height);
      if (m.base > m.height) invalid(`StatusResponse.base ${m.base} is above its height ${m.height}`);
      return;
    case 'block_request':
    case 'no_block_response':
      checkU64(`${m.type}.height`, m.height);
      if (m.height < 1n) invalid(`${m.type === 'block_request' ? 'BlockRequest' : 'NoBlockResponse'}.height must be at least 1`);
      return;
    case 'block_response':
      checkU64('BlockResponse.height', m.height);
      if (m.height < 1n) invalid('BlockResponse.height must be at least 1');
      if (m.block.length === 0) invalid('BlockResponse.block must not be empty');
      if (m.commit.length === 0) invalid('BlockResponse.commit must not be empty');
      return;
    default:
      invalid(`unknown sync message type ${(m as { type: string }).type}`);
  }
}

export function encodeSyncMessage(m: SyncMessage): Uint8Array {
  validateSyncMessage(m);
  const { type, ...fields } = m;
  return SyncMessageType.encode(SyncMessageType.fromObject({ [WIRE_CASE[type]]: fields })).finish();
}

/** Decodes a peer's bytes; throws AppError('INVALID_FIELD') saying what is wrong. */
export function decodeSyncMessage(bytes: Uint8Array, maxBytes: number = MAX_MESSAGE_BYTES.sync): SyncMessage {
  if (bytes.length > maxBytes) invalid(`sync message of ${bytes.length} bytes is over the ${maxBytes}-byte limit`);
  let raw: Record<string, unknown>;
  try {
    raw = SyncMessageType.toObject(SyncMessageType.decode(bytes), TO_OBJECT);
  } catch (err) {
    invalid(`cannot decode SyncMessage: ${(err as Error).message}`);
  }
  const type = TS_CASE.get(raw.sum as string);
  if (type === undefined) invalid('SyncMessage carries no known message');
  const value = { type, ...(raw[raw.sum as string] as Record<string, unknown>) } as SyncMessage;
  validateSyncMessage(value);
  if (!equalBytes(encodeSyncMessage(value), bytes)) {
    invalid('SyncMessage is not canonically encoded (unknown fields, explicit defaults, field order or non-minimal varints)');
  }
  return value;
}
