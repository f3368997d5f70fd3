// An RpcContext around a bare App, for tests of methods that read only the state (no mempool, events or consensus).
import type { App } from '../../src/state/app.ts';
import type { Mempool } from '../../src/mempool/mempool.ts';
import type { RpcContext } from '../../src/rpc/context.ts';
import { defaultConfig } from '../../src/node/config.ts';

export function stateOnlyRpcContext(app: App): RpcContext {
  return {
    app,
    mempool: null as unknown as Mempool, // the methods these tests call never touch it
    events: { publish() {}, subscribe: () => () => {} },
    consensus: null,
    config: defaultConfig('test'),
    node: { id: '00'.repeat(20), listenAddr: 'tcp://127.0.0.1:26656', moniker: 'test' },
    validator: null,
    peers: () => [],
    catchingUp: () => false,
  };
}
