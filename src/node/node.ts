// A running node: wires config -> store/state -> mempool -> signer -> WAL -> consensus -> RPC (p2p comes with issue 5),
// and closes them in reverse order. `close()` undoes `start()` (DESIGN.md section 3, principle 9).
import { readFile } from 'node:fs/promises';
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
import { domainMethods } from '../rpc/domain.ts';
import type { RpcContext } from '../rpc/context.ts';
import { App } from '../state/app.ts';
import { loadGenesisFile } from '../state/genesis.ts';
import { homePaths, loadConfig, type NodeConfig } from './config.ts';
import { ConsensusHost, type Clock, type CommittedBlock } from '../consensus/host.ts';
import { PrivValidator } from '../consensus/signer.ts';
import { Wal } from '../consensus/wal.ts';

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
  readonly log: Logger;
  private readonly wal: Wal;

  private constructor(parts: { config: NodeConfig; app: App; mempool: Mempool; events: EventBus; wal: Wal; consensus: ConsensusHost; rpc: RpcServer; log: Logger }) {
    this.config = parts.config;
    this.app = parts.app;
    this.mempool = parts.mempool;
    this.events = parts.events;
    this.wal = parts.wal;
    this.consensus = parts.consensus;
    this.rpc = parts.rpc;
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
    const app = await App.open(join(paths.dataDir, 'state'), genesis);
    let wal: Wal | null = null;
    let consensus: ConsensusHost | null = null;
    let rpc: RpcServer | null = null;
    try {
      const mempool = new Mempool({ app, size: config.mempool.size, maxTxsBytes: config.mempool.max_txs_bytes, logger: log.child({ module: 'mempool' }) });
      const events = new EventBus({
        limits: { maxSubscriptionClients: config.rpc.max_subscription_clients, maxSubscriptionsPerClient: config.rpc.max_subscriptions_per_client },
        logger: log.child({ module: 'events' }),
      });
      const publish = commitPublisher(app, events, { logger: log.child({ module: 'events' }) });
      wal = await Wal.open(join(paths.dataDir, 'cs.wal'));
      const privValidator = await PrivValidator.load(key, paths.privValidatorStateFile, genesis.chainId);
      consensus = new ConsensusHost({
        app,
        wal,
        privValidator,
        consensusParams: genesis.consensusParams,
        logger: log.child({ module: 'consensus' }),
        clock: opts.clock,
        txs: mempool,
        onCommit: (c) => {
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
        peers: () => [],
        catchingUp: () => false,
      };
      rpc = await RpcServer.start({
        laddr: config.rpc.laddr,
        methods: { ...cometbftMethods(ctx), ...abciMethods(ctx), ...domainMethods(ctx) },
        events,
        config: config.rpc,
        logger: log.child({ module: 'rpc' }),
      });
      ctx.config = { ...config, rpc: { ...config.rpc, laddr: rpc.url.replace(/^http:/, 'tcp:') } };
      log.info({ url: rpc.url }, 'rpc listening');
      await consensus.start();
      const node = new Node({ config, app, mempool, events, wal, consensus, rpc, log });
      log.info({ chain_id: genesis.chainId, height: app.head().height.toString() }, 'node started');
      return node;
    } catch (err) {
      await rpc?.close();
      await consensus?.stop();
      await wal?.close();
      await app.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.rpc.close();
    await this.consensus.stop();
    await this.wal.close();
    await this.app.close();
    this.log.info('node stopped');
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
