// A real single-validator chain for the RPC method tests: the App on LevelDB, a real WAL and PrivValidator, the
// consensus host on a virtual clock (it proposes, votes and commits on its own; next() moves the clock past
// timeout_commit), the real mempool when it works, an EventBus fed by publish.ts, and the RpcContext the methods get.
// Txs reach blocks through the mempool (broadcast_*) or, for txs the mempool would refuse (a wrong nonce, garbage),
// through include(), which puts them straight into the next block.
import { join } from 'node:path';
import pino from 'pino';
import type { Test } from 'tap';
import { tempDir } from './tmp.ts';
import { VirtualClock } from './consensus-harness.ts';
import { fixture, type Fixture } from './chain.ts';
import { App } from '../../src/state/app.ts';
import { ConsensusHost, type CommittedBlock, type TxSource } from '../../src/consensus/host.ts';
import { Wal } from '../../src/consensus/wal.ts';
import { PrivValidator } from '../../src/consensus/signer.ts';
import { Mempool } from '../../src/mempool/mempool.ts';
import { defaultConfig } from '../../src/node/config.ts';
import { addressOf } from '../../src/crypto/keys.ts';
import { EventBus } from '../../src/rpc/events.ts';
import { commitPublisher } from '../../src/rpc/publish.ts';
import { cometbftMethods } from '../../src/rpc/cometbft.ts';
import type { PeerInfo, RpcContext } from '../../src/rpc/context.ts';
import type { Args, ChainEvent, MethodTable } from '../../src/rpc/types.ts';

export interface RpcChainOptions {
  users?: number;
  /** Start consensus (default true); without it the store holds only the genesis state. */
  consensus?: boolean;
}

export class RpcChain {
  readonly fx: Fixture;
  readonly clock: VirtualClock;
  readonly bus = new EventBus();
  readonly committed: CommittedBlock[] = [];
  /** Every event published, in order. */
  readonly published: ChainEvent[] = [];
  readonly peers: PeerInfo[] = [];
  app!: App;
  wal: Wal | null = null;
  host: ConsensusHost | null = null;
  /** The real mempool, or null while its implementation does not work yet. */
  mempool: Mempool | null = null;
  mempoolError: string | null = null;
  ctx!: RpcContext;
  methods!: MethodTable;
  catchingUp = false;
  fatal: Error | null = null;
  private queued: Uint8Array[] = [];

  private constructor(fx: Fixture) {
    this.fx = fx;
    this.clock = new VirtualClock(fx.genesis.genesisTime + 5_000_000_000n);
  }

  static async start(t: Test, opts: RpcChainOptions = {}): Promise<RpcChain> {
    const chain = new RpcChain(fixture({ users: opts.users ?? 6 }));
    const dir = tempDir('ac-rpc-');
    t.teardown(async () => {
      await chain.host?.stop();
      await chain.wal?.close();
      await chain.app?.close();
      dir.remove();
    });
    const { genesis, validator } = chain.fx;
    chain.app = await App.open(join(dir.path, 'state'), genesis);
    try {
      chain.mempool = new Mempool({ app: chain.app, size: 10_000, maxTxsBytes: 64 << 20 });
    } catch (err) {
      chain.mempoolError = (err as Error).message;
    }
    const config = defaultConfig('rpc-test');
    config.rpc.timeout_broadcast_tx_commit_ms = 5_000;
    chain.ctx = {
      app: chain.app,
      // Methods that need the mempool are skipped by the tests while it is missing (mempoolError says why).
      mempool: chain.mempool as Mempool,
      events: chain.bus,
      consensus: null,
      config,
      node: { id: 'ab'.repeat(20), listenAddr: 'tcp://127.0.0.1:26656', moniker: 'rpc-test' },
      validator: { address: addressOf(validator.publicKey), pubKey: validator.publicKey },
      peers: () => chain.peers,
      catchingUp: () => chain.catchingUp,
    };
    chain.methods = cometbftMethods(chain.ctx);
    chain.bus.subscribe('tm.event EXISTS', (ev) => chain.published.push(ev));
    if (opts.consensus === false) return chain;

    chain.wal = await Wal.open(join(dir.path, 'cs.wal'));
    const pv = await PrivValidator.load(validator, join(dir.path, 'priv_validator_state.json'), genesis.chainId);
    const publish = commitPublisher(chain.app, chain.bus);
    const txs: TxSource = {
      reap: (maxBytes) => [...chain.queued.splice(0), ...(chain.mempool?.reap(maxBytes) ?? [])],
      committed: (height, included) => chain.mempool?.committed(height, included),
    };
    chain.host = new ConsensusHost({
      app: chain.app,
      wal: chain.wal,
      privValidator: pv,
      consensusParams: genesis.consensusParams,
      logger: pino({ level: 'silent' }),
      clock: chain.clock,
      txs,
      onCommit: (c) => {
        chain.committed.push(c);
        publish(c);
      },
      onFatal: (err) => {
        chain.fatal = err;
      },
    });
    chain.ctx.consensus = chain.host;
    await chain.host.start();
    await chain.waitFor(chain.fx.genesis.initialHeight);
    return chain;
  }

  /** Puts txs straight into the next block (bypassing the mempool's admission checks). */
  include(...txs: Uint8Array[]): void {
    this.queued.push(...txs);
  }

  /** Moves the clock past timeout_commit; the host builds, votes and commits the next block. Returns it. */
  async next(): Promise<CommittedBlock> {
    const target = this.app.head().height + 1n;
    this.clock.tick(Number(this.fx.genesis.consensusParams.timeouts.commit_ms));
    return this.waitFor(target);
  }

  /** Waits until `height` is committed and its NewBlock event published. */
  async waitFor(height: bigint): Promise<CommittedBlock> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.fatal !== null) throw new Error(`consensus stopped: ${this.fatal.message}`);
      const c = this.committed.find((x) => x.height === height);
      const published = this.published.some((e) => e.kind === 'NewBlock' && e.events['block.height']?.[0] === height.toString());
      if (c !== undefined && published) return c;
      if (Date.now() > deadline) throw new Error(`timed out waiting for height ${height}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Calls a method's handler as the transport would, with parsed arguments. */
  async call(method: string, args: Args = {}, signal: AbortSignal = new AbortController().signal): Promise<any> {
    const m = this.methods[method];
    if (m === undefined) throw new Error(`no method ${method}`);
    return m.handler(args, { session: null, signal });
  }
}
