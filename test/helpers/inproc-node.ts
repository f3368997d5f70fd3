// An in-process node for CLI tests: a real App (through the test Driver), a real mempool, the real RPC method table
// and a real RpcServer on loopback. Blocks are committed as the consensus host commits them: the whole block and its
// commit stored (status, block and tx read them), then the mempool updated and the events published
// (broadcast_tx_commit waits for them).
import type { Test } from 'tap';
import pino from 'pino';
import { defaultConfig } from '../../src/node/config.ts';
import type { BlockOutput } from '../../src/state/executor.ts';
import { Mempool } from '../../src/mempool/mempool.ts';
import { EventBus } from '../../src/rpc/events.ts';
import { RpcServer } from '../../src/rpc/server.ts';
import { cometbftMethods } from '../../src/rpc/cometbft.ts';
import { abciMethods } from '../../src/rpc/abci.ts';
import { allDomainMethods } from '../../src/rpc/domain-tasks.ts';
import type { RpcContext } from '../../src/rpc/context.ts';
import type { MethodTable } from '../../src/rpc/types.ts';
import { storeWholeBlocks } from './whole-blocks.ts';
import { addr, type Driver } from './agents.ts';
import { cli, type Outcome } from './inproc.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class InProcNode {
  readonly d: Driver;
  readonly mempool: Mempool;
  readonly bus = new EventBus();
  readonly methods: MethodTable;
  private readonly moniker: string;
  server!: RpcServer;

  /** The first genesis validator of the Driver's fixture is the node's validator. */
  constructor(d: Driver, moniker: string) {
    this.d = d;
    this.moniker = moniker;
    this.mempool = new Mempool({ app: d.app, size: 1_000, maxTxsBytes: 1 << 20 });
    const v0 = d.fx.validators[0];
    const ctx: RpcContext = {
      app: d.app,
      mempool: this.mempool,
      events: this.bus,
      consensus: null,
      config: defaultConfig(moniker),
      node: { id: 'ef'.repeat(20), listenAddr: 'tcp://127.0.0.1:26656', moniker },
      validator: { address: addr(v0), pubKey: v0.publicKey },
      peers: () => [],
      catchingUp: () => false,
    };
    this.methods = { ...cometbftMethods(ctx), ...abciMethods(ctx), ...allDomainMethods(ctx) };
    storeWholeBlocks(d.app, this.mempool, () => this.bus, d.fx.validators);
  }

  /** Starts the RPC server on a free loopback port; closed at the test's teardown. */
  async listen(t: Test): Promise<void> {
    this.server = await RpcServer.start({ laddr: 'tcp://127.0.0.1:0', methods: this.methods, events: this.bus, config: defaultConfig(this.moniker).rpc, logger: pino({ level: 'silent' }) });
    t.teardown(() => this.server.close());
  }

  get url(): string {
    return this.server.url;
  }

  /** A block of what the mempool holds, as a proposer reaps it. */
  produce(): Promise<BlockOutput> {
    return this.d.block(this.mempool.reap(1 << 20));
  }

  /** Runs a command line that waits for a block (--commit), producing blocks whenever the mempool holds a tx. */
  async committing(...argv: string[]): Promise<Outcome> {
    let done = false;
    const p = cli(...argv).finally(() => {
      done = true;
    });
    const deadline = Date.now() + 10_000;
    while (!done && Date.now() < deadline) {
      if (this.mempool.size > 0) await this.produce();
      await sleep(5);
    }
    return p;
  }

  /** Calls an RPC method in process; the result as a client would parse it. */
  call(method: string, args: Record<string, unknown>): Promise<any> {
    return Promise.resolve(this.methods[method].handler(args as never, { session: null, signal: new AbortController().signal })).then((r) => JSON.parse(JSON.stringify(r)));
  }
}
