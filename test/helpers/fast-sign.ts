// Ed25519 signing through OpenSSL for tests that sign thousands of txs and attestations: the same deterministic
// RFC 8032 signatures as src/crypto/keys.ts sign() (noble, which re-derives the key on every call and is ~20x
// slower). fastSignTx and fastAttestation build byte-for-byte what signTx and issueAuthorityAttestation build;
// test/economics-long.test.ts checks that on samples.
import { createPrivateKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import type { KeyPair } from '../../src/crypto/keys.ts';
import { txSignBytes, attestationSignBytes } from '../../src/codec/signbytes.ts';
import { AttestationStatementCodec, AuthorityReportCodec, TxBodyCodec, TxCodec, type Attestation, type TxBody } from '../../src/codec/types.ts';

// PKCS#8 DER prefix of a raw 32-byte ed25519 seed (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const keys = new Map<string, KeyObject>();

function keyObject(secretKey: Uint8Array): KeyObject {
  const id = Buffer.from(secretKey).toString('hex');
  let k = keys.get(id);
  if (k === undefined) {
    k = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(secretKey)]), format: 'der', type: 'pkcs8' });
    keys.set(id, k);
  }
  return k;
}

export function fastSign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, keyObject(secretKey)));
}

/** signTx (src/codec/tx.ts), signed through OpenSSL. */
export function fastSignTx(body: TxBody, key: KeyPair): Uint8Array {
  const bodyBytes = TxBodyCodec.encode(body);
  return TxCodec.encode({ body: bodyBytes, pubKey: key.publicKey, signature: fastSign(txSignBytes(body.chainId, bodyBytes), key.secretKey) });
}

/** issueAuthorityAttestation (src/state/attestation.ts) without its input checks, signed through OpenSSL. */
export function fastAttestation(input: { authority: KeyPair; chainId: string; agentPubKey: Uint8Array; issuedNs: bigint; expiresNs: bigint }): Attestation {
  const statement = AttestationStatementCodec.encode({ chainId: input.chainId, agentPubKey: input.agentPubKey, issuedNs: input.issuedNs, expiresNs: input.expiresNs });
  const signature = fastSign(attestationSignBytes(input.chainId, statement), input.authority.secretKey);
  return { kind: 'authority', report: AuthorityReportCodec.encode({ statement, authorityPubKey: input.authority.publicKey, signature }) };
}
