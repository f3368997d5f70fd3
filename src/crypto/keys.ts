// ed25519 keys. Generation and client-side signing use @noble/curves; verification on hot paths (mempool admission,
// votes, block execution) uses node:crypto (OpenSSL), ~16x faster on these machines (DESIGN.md section 5).
// test/crypto.test.ts shows that both accept and reject exactly the same signatures.
import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from './hash.ts';
import { concat, fromBase64, fromHex, toBase64, toHex } from './bytes.ts';
import { AppError } from '../errors.ts';

export const PUBKEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;
export const ADDRESS_LENGTH = 20;

export interface KeyPair {
  /** 32-byte seed (the RFC 8032 secret key). */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function generateKeyPair(seed?: Uint8Array): KeyPair {
  const secretKey = seed ?? ed25519.utils.randomSecretKey();
  if (secretKey.length !== 32) throw new AppError('BAD_KEY', 'an ed25519 secret key is 32 bytes');
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}

// SubjectPublicKeyInfo DER prefix for a raw ed25519 key (RFC 8410), so OpenSSL can take the 32 raw bytes.
const SPKI_ED25519_PREFIX = fromHex('302a300506032b6570032100');
const keyObjects = new Map<string, KeyObject>();
const KEY_CACHE_LIMIT = 65_536;

// The y-coordinates (little-endian, sign bit cleared) of the eight points of small order: the identity, the point of
// order 2, the two of order 4 (y = 0) and the four of order 8. test/crypto.test.ts derives them from the curve.
const SMALL_ORDER_Y = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
]);
const FIELD_P = 2n ** 255n - 19n;

/**
 * A public key that signatures may be checked against: 32 bytes, a canonical encoding (y < p) and not one of the
 * small-order points. OpenSSL checks none of this, and a small-order key such as the identity lets anyone forge
 * signatures. Bytes that are not a curve point at all pass here but never verify. Cheap: no point decompression.
 */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBKEY_LENGTH) return false;
  const y = Uint8Array.from(publicKey);
  y[31] &= 0x7f;
  if (SMALL_ORDER_Y.has(Buffer.from(y).toString('hex'))) return false;
  return BigInt(`0x${Buffer.from(y.reverse()).toString('hex')}`) < FIELD_P;
}

/** The full check for keys read from files and genesis: also that the bytes decode to a curve point. */
export function isCurvePoint(publicKey: Uint8Array): boolean {
  if (!isValidPublicKey(publicKey)) return false;
  try {
    ed25519.Point.fromBytes(publicKey, false);
    return true;
  } catch {
    return false;
  }
}

function keyObject(publicKey: Uint8Array): KeyObject | null {
  const id = toHex(publicKey);
  let key = keyObjects.get(id);
  if (key === undefined) {
    if (!isValidPublicKey(publicKey)) return null;
    try {
      key = createPublicKey({ key: Buffer.from(concat(SPKI_ED25519_PREFIX, publicKey)), format: 'der', type: 'spki' });
    } catch {
      return null;
    }
    if (keyObjects.size >= KEY_CACHE_LIMIT) keyObjects.delete(keyObjects.keys().next().value!);
    keyObjects.set(id, key);
  }
  return key;
}

/** Strict RFC 8032 verification through OpenSSL. Never throws: malformed input is simply not a valid signature. */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBKEY_LENGTH) return false;
  const key = keyObject(publicKey);
  if (key === null) return false;
  try {
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/**
 * verify() on libuv's thread pool: the same verdict, but many verifications run in parallel across cores. Batches
 * (a block's txs, a burst of mempool admissions) use it.
 */
export function verifyAsync(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBKEY_LENGTH) return Promise.resolve(false);
  const key = keyObject(publicKey);
  if (key === null) return Promise.resolve(false);
  // An error here is this node's failure (OpenSSL, the thread pool), not a verdict on the signature: it rejects, so
  // that no node ever records "bad signature" for a tx its peers accept.
  return new Promise((resolve, reject) => {
    nodeVerify(null, message, key, signature, (err, ok) => (err === null ? resolve(ok) : reject(new AppError('INTERNAL', `signature verification failed to run: ${err.message}`))));
  });
}

/** The same check in pure JS (noble, strict mode): used by tests to cross-check, and by clients without OpenSSL. */
export function verifyNoble(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH || !isValidPublicKey(publicKey)) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** Address = first 20 bytes of SHA-256(public key), as CometBFT derives ed25519 addresses. */
export function addressOf(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).subarray(0, ADDRESS_LENGTH);
}

/** Parses an upper- or lower-case hex address; throws INVALID_FIELD with the field name on anything else. */
export function parseAddress(hex: string, field = 'address'): Uint8Array {
  if (typeof hex !== 'string' || hex.length !== ADDRESS_LENGTH * 2) {
    throw new AppError('INVALID_FIELD', `${field} must be ${ADDRESS_LENGTH * 2} hex characters (a 20-byte address)`, { field });
  }
  try {
    return fromHex(hex);
  } catch {
    throw new AppError('INVALID_FIELD', `${field} must be hex, got ${JSON.stringify(hex)}`, { field });
  }
}

// ---- Key files, in CometBFT's JSON layout so that its tooling recognises them. ----

export const PUBKEY_TYPE = 'tendermint/PubKeyEd25519';
export const PRIVKEY_TYPE = 'tendermint/PrivKeyEd25519';

export interface PubKeyJSON {
  type: typeof PUBKEY_TYPE;
  value: string;
}

export function pubKeyToJSON(publicKey: Uint8Array): PubKeyJSON {
  return { type: PUBKEY_TYPE, value: toBase64(publicKey) };
}

export function pubKeyFromJSON(json: unknown, field = 'pub_key'): Uint8Array {
  const j = json as Partial<PubKeyJSON> | null;
  if (j === null || typeof j !== 'object' || j.type !== PUBKEY_TYPE || typeof j.value !== 'string') {
    throw new AppError('BAD_KEY', `${field} must be {"type":"${PUBKEY_TYPE}","value":"<base64 of 32 bytes>"}`, { field });
  }
  let key: Uint8Array;
  try {
    key = fromBase64(j.value);
  } catch {
    throw new AppError('BAD_KEY', `${field}.value is not base64`, { field });
  }
  if (!isCurvePoint(key) || keyObject(key) === null) {
    throw new AppError('BAD_KEY', `${field} is not a valid ed25519 public key (32 bytes, a canonical curve point not of small order)`, { field });
  }
  return key;
}

/** priv_validator_key.json / keyring entry: CometBFT stores seed || public key (64 bytes) as the private key. */
export interface KeyFileJSON {
  address: string;
  pub_key: PubKeyJSON;
  priv_key: { type: typeof PRIVKEY_TYPE; value: string };
}

export function keyFileToJSON(kp: KeyPair): KeyFileJSON {
  return {
    address: toHex(addressOf(kp.publicKey)),
    pub_key: pubKeyToJSON(kp.publicKey),
    priv_key: { type: PRIVKEY_TYPE, value: toBase64(concat(kp.secretKey, kp.publicKey)) },
  };
}

export function keyFileFromJSON(json: unknown, source = 'key file'): KeyPair {
  const j = json as Partial<KeyFileJSON> | null;
  if (j === null || typeof j !== 'object' || j.priv_key?.type !== PRIVKEY_TYPE || typeof j.priv_key.value !== 'string') {
    throw new AppError('BAD_KEY', `${source}: priv_key must be {"type":"${PRIVKEY_TYPE}","value":"<base64>"}`);
  }
  let raw: Uint8Array;
  try {
    raw = fromBase64(j.priv_key.value);
  } catch {
    throw new AppError('BAD_KEY', `${source}: priv_key.value is not base64`);
  }
  if (raw.length !== 64) throw new AppError('BAD_KEY', `${source}: priv_key must hold 64 bytes (seed and public key)`);
  const kp = generateKeyPair(raw.slice(0, 32));
  if (toHex(kp.publicKey) !== toHex(raw.subarray(32))) {
    throw new AppError('BAD_KEY', `${source}: the public half of priv_key does not match its seed; the file is damaged`);
  }
  return kp;
}
