// The contract between the libp2p transport (transport.ts) and what rides on it: consensus gossip, mempool and
// evidence gossip, and block sync. A reactor sees peers and byte messages on its channel; framing, size limits,
// encryption, muxing, dialing and bans are the transport's business.

/** One libp2p protocol per channel (/agentcluster/<channel>/1). */
export type ChannelId = 'consensus' | 'mempool' | 'evidence' | 'sync';

/** Largest message accepted on each channel, in bytes; a larger one costs the sender score and is dropped. */
export const MAX_MESSAGE_BYTES: Record<ChannelId, number> = {
  consensus: 4 * 1024 * 1024, // a proposal carries its whole block (block.max_bytes is 2 MiB by default)
  mempool: 1024 * 1024, // a TxBatch (gossip.ts flushes at MEMPOOL_BATCH_BYTES, well below)
  evidence: 64 * 1024,
  sync: 8 * 1024 * 1024,
};

export interface PeerInfo {
  /** libp2p peer id (base58). */
  id: string;
  remoteAddr: string;
  outbound: boolean;
}

export interface Network {
  /** Connected peers. */
  peers(): PeerInfo[];
  /** Queues a message to one peer; never throws (a dead peer drops it). */
  send(peer: string, channel: ChannelId, bytes: Uint8Array): void;
  /** Sends to every connected peer except `except`. */
  broadcast(channel: ChannelId, bytes: Uint8Array, except?: string): void;
  /** The one handler of a channel's incoming messages. */
  onMessage(channel: ChannelId, handler: (peer: string, bytes: Uint8Array) => void): void;
  onPeer(handler: (event: 'connected' | 'disconnected', peer: string) => void): void;
  /** An invalid or abusive message: lowers the peer's score; below the threshold it is disconnected and banned. */
  penalize(peer: string, reason: string, cost?: number): void;
}
