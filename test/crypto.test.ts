import t from 'tap';
import { addressOf, generateKeyPair, isCurvePoint, isValidPublicKey, keyFileFromJSON, keyFileToJSON, sign, verify, verifyNoble } from '../src/crypto/keys.ts';
import { ed25519 } from '@noble/curves/ed25519.js';
import { merkleRoot } from '../src/crypto/merkle.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { concat, fromHex, toHex, u64be, readU64be } from '../src/crypto/bytes.ts';
import { Rng } from './helpers/rng.ts';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function leToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
  return n;
}
function bigToLe(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

t.test('RFC 8032 test vector 1 verifies through both implementations', async (t) => {
  const sk = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const kp = generateKeyPair(sk);
  t.equal(toHex(kp.publicKey), 'D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A');
  const sig = sign(new Uint8Array(0), sk);
  t.equal(
    toHex(sig),
    'E5564300C360AC729086E2CC806E828A84877F1EB8E5D974D873E065224901555FB8821590A33BACC61E39701CF9B46BD25BF5F0595BBE24655141438E7A100B',
  );
  t.ok(verify(sig, new Uint8Array(0), kp.publicKey));
  t.ok(verifyNoble(sig, new Uint8Array(0), kp.publicKey));
});

t.test('property: OpenSSL and noble agree on valid, tampered and malleated signatures', async (t) => {
  const rng = new Rng(42);
  let cases = 0;
  for (let i = 0; i < 150; i++) {
    const kp = generateKeyPair(rng.bytes(32));
    const msg = rng.bytes(rng.int(0, 200));
    const sig = sign(msg, kp.secretKey);
    const other = generateKeyPair(rng.bytes(32));
    const flipped = Uint8Array.from(sig);
    flipped[rng.int(0, 63)] ^= 1 << rng.int(0, 7);
    const flippedMsg = concat(msg, new Uint8Array([1]));
    // S + L: the classic malleation; strict verifiers must reject it.
    const malleated = concat(sig.subarray(0, 32), bigToLe(leToBig(sig.subarray(32)) + L, 32));
    const rows: Array<[string, Uint8Array, Uint8Array, Uint8Array, boolean]> = [
      ['valid', sig, msg, kp.publicKey, true],
      ['wrong key', sig, msg, other.publicKey, false],
      ['flipped signature bit', flipped, msg, kp.publicKey, false],
      ['changed message', sig, flippedMsg, kp.publicKey, false],
      ['malleated S + L', malleated, msg, kp.publicKey, false],
      ['short signature', sig.subarray(0, 63), msg, kp.publicKey, false],
      ['short key', sig, msg, kp.publicKey.subarray(0, 31), false],
    ];
    for (const [name, s, m, k, expected] of rows) {
      const a = verify(s, m, k);
      const b = verifyNoble(s, m, k);
      if (a !== b || a !== expected) t.fail(`${name}: openssl=${a} noble=${b} expected=${expected}`);
      cases++;
    }
  }
  t.equal(cases, 150 * 7);
});

t.test('non-canonical and small-order public keys: both implementations give the same verdict', async (t) => {
  const msg = new Uint8Array([1, 2, 3]);
  const sig = sign(msg, generateKeyPair(new Uint8Array(32).fill(7)).secretKey);
  const keys = [
    fromHex('0100000000000000000000000000000000000000000000000000000000000000'), // identity (small order)
    fromHex('ECFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF7F'), // y = p - 1 (order 2)
    fromHex('EDFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF7F'), // y = p: non-canonical
    fromHex('0200000000000000000000000000000000000000000000000000000000000000'), // not on the curve
  ];
  for (const k of keys) t.equal(verify(sig, msg, k), verifyNoble(sig, msg, k), `key ${toHex(k).slice(0, 8)}`);
  for (const k of keys) t.notOk(verify(sig, msg, k));
  // With the identity as public key, R = identity and S = 0 satisfy the verification equation for ANY message.
  const forged = concat(keys[0], new Uint8Array(32));
  t.notOk(verify(forged, msg, keys[0]), 'forged signature for the identity key is refused (OpenSSL alone accepts it)');
  t.notOk(verifyNoble(forged, msg, keys[0]), 'and by the noble path');
  t.notOk(isValidPublicKey(keys[0]));
  t.ok(isValidPublicKey(generateKeyPair().publicKey));
});

t.test('the small-order blocklist is exactly the 8-torsion of the curve, and non-canonical keys are refused', async (t) => {
  const P = ed25519.Point;
  const L = P.CURVE().n;
  // [L]Q lands in the torsion subgroup; find Q for which it has order 8, then list its 8 multiples.
  let torsion: InstanceType<typeof P> | null = null;
  for (let seed = 1; torsion === null; seed++) {
    const y = new Uint8Array(32);
    y[0] = seed;
    let q;
    try {
      q = P.fromBytes(y, false);
    } catch {
      continue;
    }
    const tp = q.multiplyUnsafe(L - 1n).add(q);
    if (!tp.double().double().equals(P.ZERO)) torsion = tp;
  }
  let x = P.ZERO;
  for (let k = 0; k < 8; k++) {
    const enc = x.toBytes();
    t.notOk(isValidPublicKey(enc), `torsion point ${k}`);
    enc[31] ^= 0x80; // the other sign: the same y, never valid either
    t.notOk(isValidPublicKey(enc), `torsion point ${k}, sign flipped`);
    x = x.add(torsion);
  }
  const nonCanonical = fromHex('EEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF7F'); // y = p + 1
  t.notOk(isValidPublicKey(nonCanonical), 'y >= p');
  const rng = new Rng(3);
  for (let i = 0; i < 50; i++) {
    const pk = generateKeyPair(rng.bytes(32)).publicKey;
    t.ok(isValidPublicKey(pk) && isCurvePoint(pk), 'real keys pass both checks');
  }
  const offCurve = fromHex('0200000000000000000000000000000000000000000000000000000000000000');
  t.ok(isValidPublicKey(offCurve) && !isCurvePoint(offCurve), 'a non-point passes the cheap check but not the full one');
  t.notOk(verify(sign(new Uint8Array([1]), generateKeyPair().secretKey), new Uint8Array([1]), offCurve), 'and never verifies');
});

t.test('address is the first 20 bytes of SHA-256(pubkey), upper-case hex', async (t) => {
  const kp = generateKeyPair(new Uint8Array(32).fill(1));
  const addr = addressOf(kp.publicKey);
  t.equal(addr.length, 20);
  t.equal(toHex(addr), toHex(sha256(kp.publicKey).subarray(0, 20)));
  t.match(toHex(addr), /^[0-9A-F]{40}$/);
  // the address binds the key: a different key never shares it
  t.not(toHex(addressOf(generateKeyPair(new Uint8Array(32).fill(2)).publicKey)), toHex(addr));
});

t.test('key files round-trip and reject damage', async (t) => {
  const kp = generateKeyPair();
  const json = keyFileToJSON(kp);
  const back = keyFileFromJSON(JSON.parse(JSON.stringify(json)));
  t.same(toHex(back.secretKey), toHex(kp.secretKey));
  const other = keyFileToJSON(generateKeyPair());
  const mixed = { ...json, priv_key: { ...json.priv_key, value: Buffer.concat([Buffer.from(json.priv_key.value, 'base64').subarray(0, 32), Buffer.from(other.pub_key.value, 'base64')]).toString('base64') } };
  t.throws(() => keyFileFromJSON(mixed), { code: 'BAD_KEY' });
  t.throws(() => keyFileFromJSON({ priv_key: { type: 'x', value: '' } }), { code: 'BAD_KEY' });
  t.throws(() => keyFileFromJSON({ ...json, priv_key: { ...json.priv_key, value: '!!' } }), { code: 'BAD_KEY' });
});

t.test('merkle root: RFC 6962 shape with domain separation', async (t) => {
  const leaf = (b: Uint8Array) => sha256(new Uint8Array([0]), b);
  const inner = (l: Uint8Array, r: Uint8Array) => sha256(new Uint8Array([1]), l, r);
  const [a, b, c] = [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])];
  t.equal(toHex(merkleRoot([])), toHex(sha256()));
  t.equal(toHex(merkleRoot([a])), toHex(leaf(a)));
  t.equal(toHex(merkleRoot([a, b])), toHex(inner(leaf(a), leaf(b))));
  t.equal(toHex(merkleRoot([a, b, c])), toHex(inner(inner(leaf(a), leaf(b)), leaf(c))));
  t.not(toHex(merkleRoot([a, b])), toHex(merkleRoot([b, a])), 'order matters');
  // a leaf can never pass for an inner node: the root of [x] differs from the root of the two halves of x
  t.not(toHex(merkleRoot([concat(leaf(a), leaf(b))])), toHex(merkleRoot([a, b])));
});

t.test('u64 big-endian keys sort like the numbers', async (t) => {
  const ns = [0n, 1n, 255n, 256n, 65_535n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n];
  for (let i = 1; i < ns.length; i++) t.ok(Buffer.compare(u64be(ns[i - 1]), u64be(ns[i])) < 0);
  for (const n of ns) t.equal(readU64be(u64be(n)), n);
  t.throws(() => u64be(-1n));
  t.throws(() => u64be(2n ** 64n));
});
