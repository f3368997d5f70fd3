// Client-side transaction building: encode the body once, sign exactly those bytes, wrap. Used by the CLI, the
// benchmark, the tests and any TypeScript client.
import { sign } from '../crypto/keys.ts';
import type { KeyPair } from '../crypto/keys.ts';
import { txSignBytes } from './signbytes.ts';
import { TxBodyCodec, TxCodec, type TxBody } from './types.ts';

export function signTx(body: TxBody, key: KeyPair): Uint8Array {
  const bodyBytes = TxBodyCodec.encode(body);
  const signature = sign(txSignBytes(body.chainId, bodyBytes), key.secretKey);
  return TxCodec.encode({ body: bodyBytes, pubKey: key.publicKey, signature });
}
