// A running node: wires config -> store/state -> mempool -> p2p (transport and reactors) -> signer -> WAL -> consensus
// -> block sync -> RPC (with /metrics), and closes them in reverse order. `close()` undoes `start()` (DESIGN.md section 3, principle 9).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { AppError } from '../errors.ts';
import { addressOf, keyFileFromJSON } from '../crypto/keys.ts';
import { toHex } from '../crypto/bytes.ts';
import { Mempool } from '../mempool/mempool.ts';
import { EventBus } from '../rpc/events.ts';
import { RpcServer } from '../rpc/server.ts';
import { commitPublisher } from '../rpc/publish.ts';
import { cometbftMethods } from '../rpc/cometbft.ts';
import { abciMethods } from '../rpc/abci.ts';
import { allDomainMethods } from '../rpc/domain-tasks.ts';
import type { RpcContext } from '../rpc/context.ts';
import { App } from '../state/app.ts';
import { loadGenesisFile } from '../state/genesis.ts';
import { homePaths, loadConfig, type NodeConfig } from './config.ts';
import { ConsensusHost, type Clock, type CommittedBlock } from '../consensus/host.ts';
import { PrivValidator } from '../consensus/signer.ts';
import { Wal } from '../consensus/wal.ts';
import { P2PTransport, nodeIdOf } from '../p2p/transport.ts';
import { ConsensusReactor, EvidenceReactor, MempoolReactor, type GossipHost } from '../p2p/gossip.ts';
import { BlockSync } from '../p2p/sync.ts';
import { VerifiedTxCache } from '../state/executor.ts';
import { Metrics } from './metrics.ts';

/** How often the gauges that nothing else updates (round, mempool, peers, sync height) are sampled. */
const METRICS_SAMPLE_MS = 1_000;

export interface NodeOptions {
  home: string;
  logger?: Logger;
  clock?: Clock;
  onCommit?: (c: CommittedBlock) => void;
  onFatal?: (err: Error) => void;
}

export class Node {
  readonly config: NodeConfig;
  readonly app: App;
  readonly mempool: Mempool;
  readonly events: EventBus;
  readonly consensus: ConsensusHost;
  readonly rpc: RpcServer;
  readonly p2p: P2PTransport;
  readonly sync: BlockSync;
  readonly metrics: Metrics;
  readonly log: Logger;
  private readonly wal: Wal;
  private readonly reactors: { consensus: ConsensusReactor; mempool: MempoolReactor; evidence: EvidenceReactor };
  private readonly sampler: NodeJS.Timeout;

  private constructor(parts: {
    config: NodeConfig;
    app: App;
    mempool: Mempool;
    events: EventBus;
    p2p: P2PTransport;
    reactors: { consensus: ConsensusReactor; mempool: MempoolReactor; evidence: EvidenceReactor };
    wal: Wal;
    consensus: ConsensusHost;
    sync: BlockSync;
    rpc: RpcServer;
    metrics: Metrics;
    sampler: NodeJS.Timeout;
    log: Logger;
  }) {
    this.config = parts.config;
    this.app = parts.app;
    this.mempool = parts.mempool;
    this.events = parts.events;
    this.wal = parts.wal;
    this.consensus = parts.consensus;
    this.rpc = parts.rpc;
    this.p2p = parts.p2p;
    this.reactors = parts.reactors;
    this.sync = parts.sync;
    this.metrics = parts.metrics;
    this.sampler = parts.sampler;
    this.log = parts.log;
  }

  static async start(opts: NodeOptions): Promise<Node> {
    const paths = homePaths(opts.home);
    const config = await loadConfig(opts.home);
    if (!config.consensus.create_empty_blocks) {
      // The host does not yet hold a height open until the mempool has txs (CometBFT's wait in NewHeight), so refuse it.
      throw new AppError('BAD_CONFIG', 'consensus.create_empty_blocks = false is not supported yet: set it to true in config.toml');
    }
    const log = opts.logger ?? pino({ level: config.log.level, base: { node: config.moniker } }, pino.destination(2));
    const genesis = await loadGenesisFile(paths.genesisFile);
    const key = keyFileFromJSON(await readJSON(paths.privValidatorKeyFile), paths.privValidatorKeyFile);
    const nodeKey = keyFileFromJSON(await readJSON(paths.nodeKeyFile), paths.nodeKeyFile);
    for (const f of [paths.privValidatorKeyFile, paths.nodeKeyFile]) await warnIfShared(f, log);
    // One cache of verified tx signatures for the mempool, execution and block sync's worker: each is checked once.
    const verifiedTxs = new VerifiedTxCache();
    const app = await App.open(join(paths.dataDir, 'state'), genesis, { verified: verifiedTxs });
    const metrics = new Metrics();
    let p2p: P2PTransport | null = null;
    let reactors: { consensus: ConsensusReactor; mempool: MempoolReactor; evidence: EvidenceReactor } | null = null;
    let wal: Wal | null = null;
    let consensus: ConsensusHost | null = null;
    let sync: BlockSync | null = null;
    let rpc: RpcServer | null = null;
    let sampler: NodeJS.Timeout | null = null;
    try {
      const mempool = new Mempool({ app, size: config.mempool.size, maxTxsBytes: config.mempool.max_txs_bytes, logger: log.child({ module: 'mempool' }) });
      const events = new EventBus({
        limits: { maxSubscriptionClients: config.rpc.max_subscription_clients, maxSubscriptionsPerClient: config.rpc.max_subscriptions_per_client },
        logger: log.child({ module: 'events' }),
      });
      const publish = commitPublisher(app, events, { logger: log.child({ module: 'events' }) });
      const p2pLog = log.child({ module: 'p2p' });
      p2p = await P2PTransport.start({
        nodeKey,
        listen: config.p2p.laddr,
        persistentPeers: config.p2p.persistent_peers,
        seeds: config.p2p.seeds,
        maxConnections: config.p2p.max_connections,
        logger: p2pLog,
      });
      reactors = {
        consensus: new ConsensusReactor({ network: p2p, logger: p2pLog.child({ reactor: 'consensus' }) }),
        mempool: new MempoolReactor({ network: p2p, mempool, logger: p2pLog.child({ reactor: 'mempool' }) }),
        evidence: new EvidenceReactor({ network: p2p, logger: p2pLog.child({ reactor: 'evidence' }) }),
      };
      const gossip = reactors.consensus;
      wal = await Wal.open(join(paths.dataDir, 'cs.wal'), { onFsync: (ms) => metrics.observeWalFsync(ms) });
      if (wal.repaired !== null) log.warn({ wal: wal.path, ...wal.repaired }, 'consensus WAL had a torn tail (a crash mid-write); cut it off and recovered');
      const privValidator = await PrivValidator.load(key, paths.privValidatorStateFile, genesis.chainId);
      let lastCommitAt: number | null = null;
      consensus = new ConsensusHost({
        app,
        wal,
        privValidator,
        consensusParams: genesis.consensusParams,
        logger: log.child({ module: 'consensus' }),
        clock: opts.clock,
        txs: mempool,
        network: gossip,
        onCommit: (c) => {
          gossip.committed();
          const now = Date.now(); // metrics only: never part of state
          metrics.observeCommit(c.height, c.block.data.txs.length, lastCommitAt === null ? null : now - lastCommitAt);
          lastCommitAt = now;
          publish(c);
          opts.onCommit?.(c);
        },
        onFatal: opts.onFatal,
      });
      const ctx: RpcContext = {
        app,
        mempool,
        events,
        consensus,
        config,
        // CometBFT's node ID: the node key's address in lower-case hex.
        node: { id: toHex(addressOf(nodeKey.publicKey)).toLowerCase(), listenAddr: config.p2p.laddr, moniker: config.moniker },
        validator: { address: addressOf(key.publicKey), pubKey: key.publicKey },
        peers: () =>
          p2p!.peers().map((p) => ({
            id: nodeIdOf(p.id),
            moniker: '',
            remoteIp: remoteIp(p.remoteAddr),
            listenAddr: p.remoteAddr,
            isOutbound: p.outbound,
          })),
        catchingUp: () => sync?.isCatchingUp() ?? false,
      };
      rpc = await RpcServer.start({
        laddr: config.rpc.laddr,
        methods: { ...cometbftMethods(ctx), ...abciMethods(ctx), ...allDomainMethods(ctx) },
        events,
        config: config.rpc,
        logger: log.child({ module: 'rpc' }),
        extraRoutes: metrics.routes(),
      });
      ctx.config = { ...config, rpc: { ...config.rpc, laddr: rpc.url.replace(/^http:/, 'tcp:') } };
      log.info({ url: rpc.url }, 'rpc listening');
      gossip.attach(countingVotes(consensus, metrics));
      reactors.evidence.attach(consensus);
      await consensus.start();
      sync = new BlockSync({ network: p2p, app, host: consensus, logger: log.child({ module: 'blocksync' }), verifiedTxs });
      sync.start();
      const live = { consensus, mempool, p2p, sync };
      sampler = setInterval(() => sampleGauges(metrics, live), METRICS_SAMPLE_MS).unref();
      sampleGauges(metrics, live);
      const node = new Node({ config, app, mempool, events, p2p, reactors, wal, consensus, sync, rpc, metrics, sampler, log });
      log.info({ chain_id: genesis.chainId, height: app.head().height.toString() }, 'node started');
      return node;
    } catch (err) {
      if (sampler !== null) clearInterval(sampler);
      await rpc?.close();
      await sync?.stop();
      reactors?.consensus.close();
      reactors?.mempool.close();
      reactors?.evidence.close();
      await consensus?.stop();
      await p2p?.close();
      await wal?.close();
      await app.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sampler);
    await this.rpc.close();
    await this.sync.stop();
    this.reactors.consensus.close();
    this.reactors.mempool.close();
    this.reactors.evidence.close();
    await this.consensus.stop();
    await this.p2p.close();
    await this.wal.close();
    await this.app.close();
    this.log.info('node stopped');
  }
}

/** init writes key files 0600; one that others can read (a copy, a restore from backup) is worth a warning. */
async function warnIfShared(path: string, log: Logger): Promise<void> {
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    log.warn({ path, mode: mode.toString(8) }, `key file is readable by other users; run chmod 600 ${path}`);
  }
}

async function readJSON(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new AppError('BAD_CONFIG', `cannot read ${path}: ${(err as Error).message}; run 'agentcluster init --home DIR' first`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('BAD_KEY', `${path} is not valid JSON`);
  }
}

/** The IP of a multiaddr such as /ip4/10.0.0.2/tcp/26656 ('' if it has none). */
function remoteIp(addr: string): string {
  const m = /^\/(?:ip4|ip6)\/([^/]+)/.exec(addr);
  return m === null ? '' : m[1];
}

/** The host as the consensus reactor sees it, counting the votes peers send (metrics). */
function countingVotes(host: ConsensusHost, metrics: Metrics): GossipHost {
  return {
    receive(msg) {
      if (msg.type === 'vote') metrics.voteReceived(msg.value.type === 1 ? 'prevote' : 'precommit');
      host.receive(msg);
    },
    gossipMessages: () => host.gossipMessages(),
    status: () => host.status(),
  };
}

function sampleGauges(metrics: Metrics, live: { consensus: ConsensusHost; mempool: Mempool; p2p: P2PTransport; sync: BlockSync }): void {
  metrics.setRound(live.consensus.status().round);
  const pool = live.mempool.stats();
  metrics.setMempool(pool.size, pool.bytes);
  metrics.setPeers(live.p2p.peers().length);
  const progress = live.sync.progress();
  metrics.setBlocksyncHeight(progress.syncedBlocks > 0 ? progress.height : 0n);
}
