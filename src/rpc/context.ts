// Everything the RPC methods read from the running node, passed in by src/node/node.ts (and built by hand in tests).
import type { App } from '../state/app.ts';
import type { Mempool } from '../mempool/mempool.ts';
import type { ConsensusHost } from '../consensus/host.ts';
import type { NodeConfig } from '../node/config.ts';
import type { EventSink } from './types.ts';

export interface PeerInfo {
  id: string;
  moniker: string;
  remoteIp: string;
  listenAddr: string;
  isOutbound: boolean;
}

export interface RpcContext {
  app: App;
  mempool: Mempool;
  events: EventSink;
  /** Null in tests that run without consensus. */
  consensus: ConsensusHost | null;
  config: NodeConfig;
  /** node_info: id = hex of the node key's address (CometBFT's node ID), listen_addr, moniker, network = chain id. */
  node: { id: string; listenAddr: string; moniker: string };
  /** This node's validator key, or null for a non-validator. */
  validator: { address: Uint8Array; pubKey: Uint8Array } | null;
  /** Connected peers (empty until p2p, issue 5). */
  peers(): PeerInfo[];
  /** True while the node is catching up (block sync, issue 5). */
  catchingUp(): boolean;
}
