// The node's libp2p identity is its node key (config/node_key.json, ed25519): the same key gives the same peer id.
import { privateKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import type { KeyPair } from '../crypto/keys.ts';

/** libp2p's private key object for a node key (libp2p's raw ed25519 form is secret || public, 64 bytes). */
export function libp2pPrivateKey(key: KeyPair): PrivateKey {
  const raw = new Uint8Array(64);
  raw.set(key.secretKey);
  raw.set(key.publicKey, 32);
  return privateKeyFromRaw(raw);
}

/** The peer id (12D3KooW...) other nodes use in multiaddrs such as /ip4/127.0.0.1/tcp/26656/p2p/<peer id>. */
export function peerIdOf(key: KeyPair): PeerId {
  return peerIdFromPrivateKey(libp2pPrivateKey(key));
}
