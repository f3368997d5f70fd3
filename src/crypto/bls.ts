// BLS12-381 for the randomness beacon (min-pk, as Ethereum: 48-byte compressed G1 public keys, 96-byte compressed
// G2 signatures). A BLS signature is unique: for one key and one message exactly one signature verifies, so a
// proposer's RANDAO reveal over the height is fixed the moment its key is; it can only publish it or withhold it.
//
// The secret key is derived from the validator's ed25519 seed, so priv_validator_key.json and the keyring need no
// new file, and anyone holding the consensus key can recompute the BLS key (it is the same secret, re-used under a
// domain separation that makes the two keys independent as far as anyone without the seed can tell).
import { hkdfSync } from 'node:crypto';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { AppError } from '../errors.ts';
import { u64be, toHex } from './bytes.ts';
import { signBytes, SignDomain } from '../codec/signbytes.ts';

export const BLS_PUBKEY_LENGTH = 48;
export const BLS_SIGNATURE_LENGTH = 96;

const bls = bls12_381.longSignatures;
/** HKDF info: names what the derived bytes are for; a new scheme gets a new version. */
const DERIVE_INFO = 'agentcluster/beacon-bls/v1';
// Ciphersuite tag of the IRTF BLS draft's basic scheme (G2 signatures). The basic scheme is enough: the beacon never
// aggregates signatures, so rogue-key attacks (what the proof-of-possession scheme defends against) do not apply.
const DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_';

/** Bytes of key material the curve's key generation takes: 1.5x the scalar size, so reducing them is unbiased enough. */
const KEYGEN_INPUT_LENGTH = 48;

/**
 * The BLS secret key (32 bytes, a scalar in [1, r)) of a validator, from its 32-byte ed25519 seed: 48 bytes of
 * HKDF-SHA256 (empty salt, info DERIVE_INFO), which the curve's key generation maps to (n mod (r - 1)) + 1.
 */
export function blsSecretFromSeed(ed25519Seed: Uint8Array): Uint8Array {
  if (ed25519Seed.length !== 32) throw new AppError('BAD_KEY', 'an ed25519 seed (the secret half of a consensus key) is 32 bytes');
  const okm = new Uint8Array(hkdfSync('sha256', ed25519Seed, new Uint8Array(0), DERIVE_INFO, KEYGEN_INPUT_LENGTH));
  return bls.keygen(okm).secretKey;
}

/** The 48-byte compressed G1 public key of a BLS secret key. */
export function blsPublicKey(secret: Uint8Array): Uint8Array {
  return bls.getPublicKey(secret).toBytes(true);
}

/** The BLS public key of the validator whose ed25519 seed this is: what its genesis entry or first MsgStake registers. */
export function blsPublicKeyOfSeed(ed25519Seed: Uint8Array): Uint8Array {
  return blsPublicKey(blsSecretFromSeed(ed25519Seed));
}

/** Why a byte string is not a usable BLS public key, or null when it is one (48 bytes, a G1 subgroup point, not the identity). */
export function blsPublicKeyProblem(pub: Uint8Array): string | null {
  if (pub.length !== BLS_PUBKEY_LENGTH) return `must be ${BLS_PUBKEY_LENGTH} bytes (a compressed BLS12-381 G1 point), got ${pub.length}`;
  try {
    const p = bls12_381.G1.Point.fromBytes(pub);
    p.assertValidity();
    // The identity would make every reveal the identity too: public in advance, so it contributes nothing.
    if (p.is0()) return 'is the point at infinity, which is not a valid key';
  } catch {
    return 'is not a valid compressed BLS12-381 G1 point in the prime-order subgroup';
  }
  return null;
}

export function isValidBlsPublicKey(pub: Uint8Array): boolean {
  return blsPublicKeyProblem(pub) === null;
}

/** What a RANDAO reveal signs: the height, in a SignDoc bound to the chain id and the RANDAO domain. */
export function randaoMessage(chainId: string, height: bigint): Uint8Array {
  return signBytes(SignDomain.RANDAO, chainId, u64be(height));
}

// The message point H(chain id, height) is the same for every validator of a height, and costs ~7.5 ms to compute:
// it is cached, so the host can compute the next height's during its idle commit wait (prepareRandao).
type MessagePoint = ReturnType<typeof bls.hash>;
const messagePoints = new Map<string, MessagePoint>();
const MESSAGE_POINTS_LIMIT = 16;

function messagePoint(chainId: string, height: bigint): MessagePoint {
  const key = `${height}/${chainId}`;
  let point = messagePoints.get(key);
  if (point === undefined) {
    point = bls.hash(randaoMessage(chainId, height), DST);
    if (messagePoints.size >= MESSAGE_POINTS_LIMIT) messagePoints.delete(messagePoints.keys().next().value!);
    messagePoints.set(key, point);
  }
  return point;
}

// Decoding a public key checks its subgroup (~1 ms): a node sees the same few validator keys every height.
type PublicPoint = ReturnType<typeof bls12_381.G1.Point.fromBytes>;
const publicPoints = new Map<string, PublicPoint>();
const PUBLIC_POINTS_LIMIT = 1024;

function publicPoint(pub: Uint8Array): PublicPoint | null {
  const key = toHex(pub);
  let point = publicPoints.get(key);
  if (point === undefined) {
    if (blsPublicKeyProblem(pub) !== null) return null;
    point = bls12_381.G1.Point.fromBytes(pub);
    if (publicPoints.size >= PUBLIC_POINTS_LIMIT) publicPoints.delete(publicPoints.keys().next().value!);
    publicPoints.set(key, point);
  }
  return point;
}

/** Computes ahead what signing or verifying the reveals of (chain id, height) will need. */
export function prepareRandao(chainId: string, height: bigint): void {
  messagePoint(chainId, height);
}

/** The proposer's RANDAO reveal for `height`: its unique BLS signature over (chain id, height), 96 bytes. */
export function randaoSign(secret: Uint8Array, chainId: string, height: bigint): Uint8Array {
  return bls.Signature.toBytes(bls.sign(messagePoint(chainId, height), secret));
}

/** Whether `sig` is the reveal of `pub` for (chain id, height). Malformed keys or signatures are false, never a throw. */
export function randaoVerify(pub: Uint8Array, chainId: string, height: bigint, sig: Uint8Array): boolean {
  if (sig.length !== BLS_SIGNATURE_LENGTH) return false;
  const point = publicPoint(pub);
  if (point === null) return false;
  try {
    return bls.verify(sig, messagePoint(chainId, height), point);
  } catch {
    return false; // not a G2 point of the subgroup
  }
}

/** Per-node memo of reveals already verified (the same proposal arrives from many peers and rounds). */
const verifiedReveals = new Set<string>();
const VERIFIED_LIMIT = 1024;

/** randaoVerify, remembering successes: a pairing costs ~20 ms and a proposal may be checked more than once. */
export function randaoVerifyCached(pub: Uint8Array, chainId: string, height: bigint, sig: Uint8Array): boolean {
  const key = `${chainId}/${height}/${toHex(pub)}/${toHex(sig)}`;
  if (verifiedReveals.has(key)) return true;
  const ok = randaoVerify(pub, chainId, height, sig);
  if (ok) {
    if (verifiedReveals.size >= VERIFIED_LIMIT) verifiedReveals.delete(verifiedReveals.values().next().value!);
    verifiedReveals.add(key);
  }
  return ok;
}
