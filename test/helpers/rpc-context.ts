// An RpcContext around a bare App, for tests of methods that read the state and the mempool (no events or consensus).
import type { App } from '../../src/state/app.ts';
import { Mempool } from '../../src/mempool/mempool.ts';
import type { RpcContext } from '../../src/rpc/context.ts';
import { defaultConfig } from '../../src/node/config.ts';

export function stateOnlyRpcContext(app: App): RpcContext {
  return {
    app,
    mempool: new Mempool({ app, size: 1_000, maxTxsBytes: 1 << 20 }),
    events: { publish() {}, subscribe: () => () => {} },
    consensus: null,
    config: defaultConfig('test'),
    node: { id: '00'.repeat(20), listenAddr: 'tcp://127.0.0.1:26656', moniker: 'test' },
    validator: null,
    peers: () => [],
    catchingUp: () => false,
  };
}
