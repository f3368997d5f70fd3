// A running node: wires config -> store/state -> signer -> WAL -> consensus (-> p2p and RPC in later issues), and
// closes them in reverse order. `close()` undoes `start()` (DESIGN.md section 3, principle 9).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { AppError } from '../errors.ts';
import { keyFileFromJSON } from '../crypto/keys.ts';
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
  readonly consensus: ConsensusHost;
  readonly log: Logger;
  private readonly wal: Wal;

  private constructor(config: NodeConfig, app: App, wal: Wal, consensus: ConsensusHost, log: Logger) {
    this.config = config;
    this.app = app;
    this.wal = wal;
    this.consensus = consensus;
    this.log = log;
  }

  static async start(opts: NodeOptions): Promise<Node> {
    const paths = homePaths(opts.home);
    const config = await loadConfig(opts.home);
    if (!config.consensus.create_empty_blocks) {
      // Waiting for txs needs the mempool (issue 4); until then a node that never proposed would never commit.
      throw new AppError('BAD_CONFIG', 'consensus.create_empty_blocks = false is not supported yet: set it to true in config.toml');
    }
    const log = opts.logger ?? pino({ level: config.log.level, base: { node: config.moniker } }, pino.destination(2));
    const genesis = await loadGenesisFile(paths.genesisFile);
    const key = keyFileFromJSON(await readJSON(paths.privValidatorKeyFile), paths.privValidatorKeyFile);
    const app = await App.open(join(paths.dataDir, 'state'), genesis);
    let wal: Wal | null = null;
    let consensus: ConsensusHost | null = null;
    try {
      wal = await Wal.open(join(paths.dataDir, 'cs.wal'));
      const privValidator = await PrivValidator.load(key, paths.privValidatorStateFile, genesis.chainId);
      consensus = new ConsensusHost({
        app,
        wal,
        privValidator,
        consensusParams: genesis.consensusParams,
        logger: log.child({ module: 'consensus' }),
        clock: opts.clock,
        onCommit: opts.onCommit,
        onFatal: opts.onFatal,
      });
      const node = new Node(config, app, wal, consensus, log);
      await consensus.start();
      log.info({ chain_id: genesis.chainId, height: app.head().height.toString() }, 'node started');
      return node;
    } catch (err) {
      await consensus?.stop();
      await wal?.close();
      await app.close();
      throw err;
    }
  }

  async close(): Promise<void> {
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
