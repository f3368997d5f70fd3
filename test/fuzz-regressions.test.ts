// Deterministic regressions for what the fuzzers (test/fuzz, `npm run test:fuzz`) found. Each case is the minimal
// input that failed before its fix.
import t from 'tap';
import pino from 'pino';
import { WebSocket } from 'ws';
import { RpcServer } from '../src/rpc/server.ts';
import { EventBus } from '../src/rpc/events.ts';
import { defaultConfig } from '../src/node/config.ts';

const DEEP = 100_000;
const deepArray = (n: number): string => '['.repeat(n) + ']'.repeat(n);

// Found by test/fuzz/rpc.test.ts: a request nested too deeply for JSON.stringify made the error message's preview
// (shown()) throw a RangeError from String(array) as well, so a request that is simply not a request object was
// answered -32603 "internal error" over HTTP (logged as a bug) and closed the WebSocket session with 1011.
t.test('a deeply nested JSON request is answered -32600, over HTTP and WebSocket', async (t) => {
  const server = await RpcServer.start({
    laddr: 'tcp://127.0.0.1:0',
    methods: { health: { params: [], handler: () => ({}) } },
    events: new EventBus(),
    config: { ...defaultConfig('x').rpc },
    logger: pino({ level: 'silent' }),
  });
  t.teardown(() => server.close());

  const res = await fetch(server.url, { method: 'POST', body: deepArray(DEEP) });
  const body = (await res.json()) as Array<{ error: { code: number; data: string } }>;
  t.equal(body.length, 1, 'a batch of one');
  t.equal(body[0].error.code, -32600, 'not a request');
  t.match(body[0].error.data, /a request must be a JSON object/);

  const deepObject = '{"a":'.repeat(DEEP) + '1' + '}'.repeat(DEEP);
  const res2 = await fetch(server.url, { method: 'POST', body: `{"jsonrpc":"2.0","id":${deepObject},"method":"health"}` });
  const body2 = (await res2.json()) as { error: { code: number; data: string } };
  t.equal(body2.error.code, -32600, 'a deeply nested id: not a request');
  t.match(body2.error.data, /nested too deeply to show/, 'the sentence says why it is not shown');

  const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/websocket');
  t.teardown(() => ws.terminate());
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const reply = new Promise<string>((resolve, reject) => {
    ws.once('message', (d) => resolve(String(d)));
    ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
  });
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health', params: [] }).replace('[]', deepArray(DEEP)));
  const msg = JSON.parse(await reply) as { id: number; error: { code: number } };
  t.equal(msg.id, 1);
  t.equal(msg.error.code, -32602, 'bad params, the session stays open');
  ws.send(deepArray(DEEP));
  const second = await new Promise<string>((resolve, reject) => {
    ws.once('message', (d) => resolve(String(d)));
    ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
  });
  t.equal((JSON.parse(second) as Array<{ error: { code: number } }>)[0].error.code, -32600, 'a deep batch entry: not a request');
});
