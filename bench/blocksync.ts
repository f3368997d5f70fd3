// Block sync throughput: a single-validator chain of blocks full of signed transfers is built by a real consensus
// host (virtual clock, real commits), then a fresh full node syncs it through the BlockSync reactor over an in-memory
// network (no libp2p: the transport is measured elsewhere). Timed from connect to the last block applied: requests,
// strict decoding, commit and header verification, execution with every tx signature checked (nothing pre-verified),
// the WAL marker and the atomic batch per height. DESIGN.md section 7: >= 5,000 tx/s of replayed history.
// Usage: node bench/blocksync.ts [--blocks N --txs-per-block N --accounts N]
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { KeyPair } from '../src/crypto/keys.ts';
import type { Genesis } from '../src/state/genesis.ts';
import { App } from '../src/state/app.ts';
import { VerifiedTxCache } from '../src/state/executor.ts';
import { ConsensusHost, type Clock } from '../src/consensus/host.ts';
import { Wal } from '../src/consensus/wal.ts';
import { PrivValidator } from '../src/consensus/signer.ts';
import { MS_NS } from '../src/consensus/evidence.ts';
import { BlockSync } from '../src/p2p/sync.ts';
import type { ChannelId, Network, PeerInfo } from '../src/p2p/types.ts';
import { BENCH_CHAIN_ID, benchGenesis, log, seededAccounts, transferBlocks } from './fixture.ts';

const { values } = parseArgs({
  options: {
    blocks: { type: 'string', default: '25' },
    'txs-per-block': { type: 'string', default: '2000' },
    accounts: { type: 'string', default: '2000' },
  },
});
const blocks = Number(values.blocks);
const perBlock = Number(values['txs-per-block']);
const nAccounts = Number(values.accounts);
const chainId = BENCH_CHAIN_ID;
const quiet = pino({ level: 'silent' });

/** A clock that moves only when told (the server's blocks), or never (the client's timers stay idle). */
class StepClock implements Clock {
  ms = 0;
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  now(): bigint {
    return 1_764_000_010_000_000_000n + BigInt(this.ms) * MS_NS;
  }
  monotonicMs(): number {
    return this.ms;
  }
  setTimer(ms: number, fn: () => void): { cancel(): void } {
    const t = { at: this.ms + ms, fn, live: true };
    this.timers.push(t);
    return { cancel: () => { t.live = false; } };
  }
  tick(ms: number): void {
    this.ms += ms;
    const due = this.timers.filter((t) => t.live && t.at <= this.ms).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((t) => t.live && t.at > this.ms);
    for (const t of due) t.fn();
  }
}

class Loopback implements Network {
  readonly id: string;
  peer: Loopback | null = null;
  private handler: ((peer: string, bytes: Uint8Array) => void) | null = null;
  private peerHandlers: Array<(e: 'connected' | 'disconnected', p: string) => void> = [];
  constructor(id: string) {
    this.id = id;
  }
  peers(): PeerInfo[] {
    return this.peer === null ? [] : [{ id: this.peer.id, remoteAddr: 'loop', outbound: true }];
  }
  send(_peer: string, _channel: ChannelId, bytes: Uint8Array): void {
    const to = this.peer!;
    setImmediate(() => to.handler?.(this.id, bytes));
  }
  broadcast(channel: ChannelId, bytes: Uint8Array): void {
    if (this.peer !== null) this.send(this.peer.id, channel, bytes);
  }
  onMessage(_channel: ChannelId, handler: (peer: string, bytes: Uint8Array) => void): void {
    this.handler = handler;
  }
  onPeer(handler: (e: 'connected' | 'disconnected', p: string) => void): void {
    this.peerHandlers.push(handler);
  }
  penalize(peer: string, reason: string): void {
    log(`penalised ${peer}: ${reason}`);
  }
  static connect(a: Loopback, b: Loopback): void {
    a.peer = b;
    b.peer = a;
    for (const h of a.peerHandlers) h('connected', b.id);
    for (const h of b.peerHandlers) h('connected', a.id);
  }
}

async function node(dir: string, genesis: Genesis, key: KeyPair | null, clock: Clock, txs: Uint8Array[][], net: Loopback) {
  // The node shares one verified-signature cache between its executor and block sync (node.ts wires it the same way).
  const verifiedTxs = new VerifiedTxCache();
  const app = await App.open(join(dir, 'state'), genesis, { verified: verifiedTxs });
  const wal = await Wal.open(join(dir, 'cs.wal'));
  const pv = key === null ? null : await PrivValidator.load(key, join(dir, 'pv.json'), chainId);
  const host = new ConsensusHost({
    app,
    wal,
    privValidator: pv,
    consensusParams: genesis.consensusParams,
    logger: quiet,
    clock,
    txs: { reap: () => txs.shift() ?? [], committed: () => {} },
  });
  const sync = new BlockSync({ network: net, app, host, logger: quiet, clock, verifiedTxs: process.env.NO_PREVERIFY ? undefined : verifiedTxs });
  await host.start();
  sync.start();
  return { app, wal, host, sync, close: async () => { await sync.stop(); await host.stop(); await wal.close(); await app.close(); } };
}

const keys = seededAccounts(nAccounts);
const { genesis, validator } = benchGenesis(keys);

log(`signing ${blocks} x ${perBlock} transfers (not timed)`);
const txBlocks: Uint8Array[][] = [[], ...transferBlocks(keys, blocks, perBlock)]; // block 1 is proposed at start, before the txs: empty

const root = mkdtempSync(join(tmpdir(), 'ac-bench-sync-'));
try {
  log('building the chain (not timed)');
  const serverClock = new StepClock();
  const serverNet = new Loopback('server');
  const server = await node(join(root, 'server'), genesis, validator, serverClock, txBlocks, serverNet);
  const commitMs = Number(genesis.consensusParams.timeouts.commit_ms);
  const last = BigInt(blocks + 1);
  while (server.app.head().height < last) {
    const h = server.app.head().height;
    serverClock.tick(commitMs);
    while (server.app.head().height === h) await new Promise((r) => setTimeout(r, 2));
  }
  await server.host.stop(); // the chain is built: the server only serves now

  log(`syncing ${last} blocks`);
  const clientNet = new Loopback('client');
  const client = await node(join(root, 'client'), genesis, null, new StepClock(), [], clientNet);
  const t0 = process.hrtime.bigint();
  Loopback.connect(clientNet, serverNet);
  while (client.app.head().height < last) await new Promise((r) => setTimeout(r, 1));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const same = Buffer.compare(client.app.head().appHash, server.app.head().appHash) === 0;
  const txs = blocks * perBlock;
  console.log(
    JSON.stringify({
      bench: 'blocksync',
      node: process.version,
      accounts: nAccounts,
      blocks: Number(last),
      txs,
      txs_per_block: perBlock,
      seconds: Number((ms / 1000).toFixed(2)),
      blocks_per_s: Number((Number(last) / (ms / 1000)).toFixed(1)),
      tx_per_s: Math.round(txs / (ms / 1000)),
      same_app_hash: same,
      rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
    }),
  );
  await client.close();
  await server.close();
} finally {
  rmSync(root, { recursive: true, force: true });
}
