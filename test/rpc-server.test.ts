// The JSON-RPC transport (src/rpc/server.ts) and event bus (src/rpc/events.ts) over real sockets on 127.0.0.1, with
// a small fake method table (the real methods live elsewhere): framing, argument rules for POST and GET, every error
// path, limits, WebSocket subscriptions, slow consumers, keepalive and a clean close().
import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import pino from 'pino';
import { WebSocket } from 'ws';
import { RpcServer, MAX_BODY_BYTES, type RpcServerOptions } from '../src/rpc/server.ts';
import { EventBus } from '../src/rpc/events.ts';
import { RpcError, type ChainEvent, type MethodTable } from '../src/rpc/types.ts';
import { AppError, type ErrorCode } from '../src/errors.ts';
import { defaultConfig, type NodeConfig } from '../src/node/config.ts';

type Json = any;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

async function until(what: string, pred: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// ---- the fake method table ----

interface Probe {
  calls: string[];
  aborted: string[];
}

function fakeMethods(probe: Probe): MethodTable {
  return {
    health: { params: [], handler: () => ({}) },
    echo: {
      params: [
        { name: 's', type: 'string' },
        { name: 'n', type: 'int64', optional: true },
        { name: 'i', type: 'int', optional: true },
        { name: 'b', type: 'bytes', optional: true },
        { name: 'h', type: 'hex', optional: true },
        { name: 'f', type: 'bool', optional: true },
      ],
      handler: (a) => {
        probe.calls.push(`echo:${String(a.s)}`);
        return {
          s: a.s,
          n: typeof a.n === 'bigint' ? a.n.toString() : null,
          i: a.i ?? null,
          b: a.b instanceof Uint8Array ? Buffer.from(a.b).toString('base64') : null,
          h: a.h instanceof Uint8Array ? Buffer.from(a.h).toString('hex').toUpperCase() : null,
          f: a.f ?? null,
        };
      },
    },
    slow: {
      params: [{ name: 'ms', type: 'int' }],
      handler: async (a, ctx) => {
        probe.calls.push(`slow:${a.ms}`);
        ctx.signal.addEventListener('abort', () => probe.aborted.push(`slow:${a.ms}`), { once: true });
        await sleep(a.ms as number, ctx.signal);
        return { slept: a.ms };
      },
    },
    broadcast_tx_commit: {
      params: [{ name: 'ms', type: 'int' }],
      handler: async (a, ctx) => {
        await sleep(a.ms as number, ctx.signal);
        return { slept: a.ms };
      },
    },
    boom: {
      params: [],
      handler: () => {
        throw new Error('secret detail: /home/node/key at line 3');
      },
    },
    app_error: {
      params: [{ name: 'code', type: 'string' }],
      handler: (a) => {
        throw new AppError(a.code as ErrorCode, 'the thing is wrong');
      },
    },
    rpc_error: {
      params: [],
      handler: () => {
        throw RpcError.invalidParams('custom sentence from the handler');
      },
    },
    not_json: { params: [], handler: () => ({ x: 1n }) },
    nothing: { params: [], handler: () => undefined },
    flush: { params: [], unsafe: true, handler: () => ({ flushed: true }) },
    ws_only: { params: [], websocketOnly: true, handler: (_a, ctx) => ({ session: ctx.session !== null }) },
  };
}

interface Started {
  server: RpcServer;
  events: EventBus;
  probe: Probe;
  logs: Json[];
  port: number;
}

async function start(
  t: Test,
  over: { config?: Partial<NodeConfig['rpc']>; opts?: Partial<RpcServerOptions> } = {},
): Promise<Started> {
  const logs: Json[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const probe: Probe = { calls: [], aborted: [] };
  const events = new EventBus({ logger });
  const server = await RpcServer.start({
    laddr: 'tcp://127.0.0.1:0',
    methods: fakeMethods(probe),
    events,
    config: { ...defaultConfig('test').rpc, laddr: 'tcp://127.0.0.1:0', ...over.config },
    logger,
    ...over.opts,
  });
  t.teardown(() => server.close());
  return { server, events, probe, logs, port: Number(new URL(server.url).port) };
}

// ---- HTTP client (a fresh connection per request, so connection counts are exact) ----

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Json;
}

function request(
  port: number,
  opts: { method?: string; path?: string; body?: string | Buffer; headers?: Record<string, string | number>; chunked?: boolean } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.body !== undefined && !opts.chunked) headers['Content-Length'] = Buffer.byteLength(opts.body);
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'), path: opts.path ?? '/', headers, agent: false });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Json = undefined;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON (HTML list, empty body)
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    // The server may answer (413-like cases) before the whole body is sent; a write error after that is expected.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (opts.body !== undefined) {
      if (opts.chunked) {
        const buf = Buffer.from(opts.body);
        for (let i = 0; i < buf.length; i += 64 * 1024) req.write(buf.subarray(i, i + 64 * 1024));
      } else {
        req.write(opts.body);
      }
    }
    req.end();
  });
}

const post = (port: number, body: unknown): Promise<Reply> => request(port, { body: typeof body === 'string' ? body : JSON.stringify(body) });
const rpc = (method: string, params?: unknown, id: unknown = 1): Json => ({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });

// ---- WebSocket client ----

class Client {
  readonly ws: WebSocket;
  readonly inbox: Json[] = [];
  private wake: (() => void) | null = null;
  closed: { code: number; reason: string } | null = null;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      this.inbox.push(JSON.parse(data.toString()));
      this.wake?.();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake?.();
    });
    ws.on('error', () => {});
  }

  static async open(t: Test, port: number, opts: { autoPong?: boolean } = {}): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/websocket`, { autoPong: opts.autoPong ?? true });
    const client = new Client(ws);
    t.teardown(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The next message matching `pred` (removed from the inbox). */
  async next(pred: (m: Json) => boolean = () => true, timeoutMs = 3000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a WebSocket message');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Sends a request and returns its answer (not an event, which carries the subscribe id but a result.query). */
  async call(method: string, params: unknown, id: string | number): Promise<Json> {
    this.send(rpc(method, params, id));
    return this.next((m) => m.id === id && !(m.result && typeof m.result === 'object' && 'query' in m.result));
  }

  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    await until('the WebSocket to close', () => this.closed !== null, timeoutMs);
    return this.closed!;
  }
}

function newBlock(height: number): ChainEvent {
  return {
    kind: 'NewBlock',
    events: { 'tm.event': ['NewBlock'], 'block.height': [String(height)] },
    data: { type: 'tendermint/event/NewBlock', value: { block: { header: { height: String(height) } } } },
  };
}

function txEvent(height: number, amount: string, recipient = 'AAA'): ChainEvent {
  return {
    kind: 'Tx',
    events: { 'tm.event': ['Tx'], 'tx.hash': ['AB'], 'tx.height': [String(height)], 'transfer.amount': [amount], 'transfer.recipient': [recipient] },
    data: { type: 'tendermint/event/Tx', value: { TxResult: { height: String(height) } } },
  };
}

// ============================================================================================================

t.test('POST: one request, by name and by position; ids of every kind; the result envelope', async (t) => {
  const { port, probe } = await start(t);
  const named = await post(port, rpc('echo', { s: 'hi', n: '-12', i: 7, b: 'aGVsbG8=', h: '0xabCD', f: true }, 1));
  t.equal(named.status, 200);
  t.equal(named.headers['content-type'], 'application/json');
  t.same(named.json, { jsonrpc: '2.0', id: 1, result: { s: 'hi', n: '-12', i: 7, b: 'aGVsbG8=', h: 'ABCD', f: true } });
  const positional = await post(port, rpc('echo', ['hi', 5, '7', 'aGk=', 'q80=', false], 'abc'));
  t.same(positional.json, { jsonrpc: '2.0', id: 'abc', result: { s: 'hi', n: '5', i: 7, b: 'aGk=', h: 'ABCD', f: false } }, 'hex may be base64');
  const partial = await post(port, rpc('echo', ['only'], 2));
  t.same(partial.json.result, { s: 'only', n: null, i: null, b: null, h: null, f: null }, 'missing optional trailing parameters are absent');
  const nulls = await post(port, rpc('echo', { s: 'x', n: null, b: null }, 3));
  t.equal(nulls.json.result.n, null, 'null counts as absent');
  t.equal((await post(port, rpc('health', undefined, null))).json.id, null, 'an id of null is answered with id null');
  t.equal((await post(port, rpc('health', undefined, 1.5))).json.id, 1.5);
  t.same((await post(port, rpc('nothing', undefined, 4))).json, { jsonrpc: '2.0', id: 4, result: null }, 'an undefined result is sent as null');
  t.same(probe.calls, ['echo:hi', 'echo:hi', 'echo:only', 'echo:x']);
});

t.test('POST: notifications are neither run nor answered (CometBFT)', async (t) => {
  const { port, probe } = await start(t);
  const r = await post(port, { jsonrpc: '2.0', method: 'echo', params: { s: 'n1' } });
  t.equal(r.status, 200);
  t.equal(r.text, '');
  const batch = await post(port, [{ jsonrpc: '2.0', method: 'echo', params: { s: 'n2' } }, rpc('echo', { s: 'r' }, 9)]);
  t.same(batch.json, [{ jsonrpc: '2.0', id: 9, result: { s: 'r', n: null, i: null, b: null, h: null, f: null } }]);
  const allNotifications = await post(port, [{ jsonrpc: '2.0', method: 'health' }, { jsonrpc: '2.0', method: 'health' }]);
  t.equal(allNotifications.text, '');
  t.same(probe.calls, ['echo:r']);
});

t.test('POST: malformed JSON is -32700 with HTTP 500; bad request shapes are -32600', async (t) => {
  const { port } = await start(t);
  for (const body of ['{"jsonrpc":"2.0",', 'not json', '{"a":1}}', '\u0000']) {
    const r = await post(port, body);
    t.equal(r.status, 500, JSON.stringify(body));
    t.equal(r.json.error.code, -32700);
    t.equal(r.json.error.message, 'Parse error');
    t.match(r.json.error.data, /not valid JSON/);
    t.equal(r.json.id, null);
  }
  const shapes: Array<[unknown, RegExp, unknown]> = [
    [42, /must be a JSON object/, null],
    ['"str"', /must be a JSON object/, null],
    [null, /must be a JSON object/, null],
    [{}, /"jsonrpc" must be "2.0"/, null],
    [{ jsonrpc: '1.0', id: 3, method: 'health' }, /"jsonrpc" must be "2.0"; got "1.0"/, 3],
    [{ id: 3, method: 'health' }, /"jsonrpc" must be "2.0"/, 3],
    [{ jsonrpc: '2.0', id: 4 }, /"method" must be a non-empty string/, 4],
    [{ jsonrpc: '2.0', id: 4, method: 7 }, /"method" must be a non-empty string; got 7/, 4],
    [{ jsonrpc: '2.0', id: 4, method: '' }, /"method" must be a non-empty string/, 4],
    [{ jsonrpc: '2.0', id: true, method: 'health' }, /"id" must be a string, a number or null; got true/, null],
    [{ jsonrpc: '2.0', id: { a: 1 }, method: 'health' }, /"id" must be a string/, null],
  ];
  for (const [body, re, id] of shapes) {
    const r = await post(port, typeof body === 'string' ? body : JSON.stringify(body));
    t.equal(r.status, 200, JSON.stringify(body));
    t.equal(r.json.error.code, -32600);
    t.equal(r.json.error.message, 'Invalid Request');
    t.match(r.json.error.data, re);
    t.equal(r.json.id, id);
  }
  const inBatch = await post(port, [1, rpc('health', undefined, 2)]);
  t.equal(inBatch.json[0].error.code, -32600, 'an invalid entry of a batch gets its own error');
  t.same(inBatch.json[1], { jsonrpc: '2.0', id: 2, result: {} });
});

t.test('POST: unknown methods are -32601 and name the method; GET / lists the methods', async (t) => {
  const { port } = await start(t);
  const r = await post(port, rpc('no_such', {}, 1));
  t.equal(r.status, 200);
  t.same(r.json.error, { code: -32601, message: 'Method not found', data: 'method "no_such" does not exist; GET / lists the available methods' });
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    t.equal((await post(port, rpc(name, {}, 1))).json.error.code, -32601, `${name} is not a method`);
  }
  const list = await request(port, { path: '/' });
  t.equal(list.status, 200);
  t.equal(list.headers['content-type'], 'text/html');
  t.match(list.text, /Available endpoints:/);
  t.match(list.text, /<a href="\/health">health<\/a>/);
  t.match(list.text, /<a href="\/echo\?s=_&amp;n=_&amp;i=_&amp;b=_&amp;h=_&amp;f=_">/);
  t.match(list.text, /subscribe\?query=_/, 'the subscription methods are listed');
  t.notMatch(list.text, /flush/, 'disabled unsafe methods are not listed');
  const emptyPost = await request(port, { method: 'POST', path: '/', body: '' });
  t.match(emptyPost.text, /Available endpoints/, 'an empty POST lists the endpoints too, as in CometBFT');
});

t.test('POST: wrong or missing parameters are -32602 naming the parameter and the expected form', async (t) => {
  const { port, probe } = await start(t);
  const rows: Array<[unknown, RegExp]> = [
    [{ s: 5 }, /parameter "s" must be a string; got 5/],
    [{}, /echo needs parameter "s": a string/],
    [{ s: null }, /echo needs parameter "s"/],
    [{ s: 'x', n: 'abc' }, /parameter "n" must be an integer, as a number or a decimal string such as "42"; got "abc"/],
    [{ s: 'x', n: 1.5 }, /parameter "n" must be an integer.*\(not an integer\); got 1.5/],
    [{ s: 'x', n: 2 ** 60 }, /too large for a JSON number; send it as a string/],
    [{ s: 'x', n: '9223372036854775808' }, /outside the int64 range/],
    [{ s: 'x', n: '-9223372036854775809' }, /outside the int64 range/],
    [{ s: 'x', n: true }, /parameter "n" must be an integer/],
    [{ s: 'x', n: '' }, /parameter "n" must be an integer/],
    [{ s: 'x', n: ' 5' }, /parameter "n" must be an integer/],
    [{ s: 'x', i: '9007199254740993' }, /parameter "i" must be an integer such as 42 \(out of range\)/],
    [{ s: 'x', i: [1] }, /parameter "i" must be an integer/],
    [{ s: 'x', b: 'not base64!' }, /parameter "b" must be base64 bytes \(a string\); got "not base64!"/],
    [{ s: 'x', b: 'aGk' }, /parameter "b" must be base64/],
    [{ s: 'x', b: 12 }, /parameter "b" must be base64/],
    [{ s: 'x', h: 'xyz' }, /parameter "h" must be hex bytes \(a string, 0x optional\) or base64; got "xyz"/],
    [{ s: 'x', h: 0xab }, /parameter "h" must be hex bytes/],
    [{ s: 'x', f: 'true' }, /parameter "f" must be true or false; got "true"/],
    [{ s: 'x', f: 1 }, /parameter "f" must be true or false/],
    [{ s: 'x', extra: 1 }, /echo has no parameter "extra"; it takes: s \(string\), n \(int64, optional\)/],
    [['a', 1, 2, 'aGk=', 'ab', true, 'one too many'], /echo takes at most 6 positional parameters .*; got 7/],
    ['a string', /params must be an object \(by name\) or an array \(by position\); got "a string"/],
    [5, /params must be an object/],
  ];
  for (const [params, re] of rows) {
    const r = await post(port, rpc('echo', params, 1));
    t.equal(r.status, 200);
    t.equal(r.json.error?.code, -32602, JSON.stringify(params));
    t.equal(r.json.error?.message, 'Invalid params');
    t.match(r.json.error?.data, re, JSON.stringify(params));
  }
  t.same(probe.calls, [], 'no handler ran');
});

t.test('POST: handler errors map to -32602 / -32603 and never leak internals', async (t) => {
  const { port, logs } = await start(t);
  const boom = await post(port, rpc('boom', {}, 1));
  t.equal(boom.status, 200);
  t.same(boom.json.error, { code: -32603, message: 'Internal error', data: 'internal error' });
  t.notMatch(boom.text, /secret|at line|node_modules|\.ts:/);
  t.ok(logs.some((l) => l.level === 50 && l.method === 'boom' && /secret detail/.test(l.err?.message)), 'the real error is logged');
  const rows: Array<[string, number, string]> = [
    ['INVALID_FIELD', -32602, 'INVALID_FIELD: the thing is wrong'],
    ['TX_DECODE', -32602, 'TX_DECODE: the thing is wrong'],
    ['BAD_SIGNATURE', -32602, 'BAD_SIGNATURE: the thing is wrong'],
    ['NOT_FOUND', -32603, 'NOT_FOUND: the thing is wrong'],
    ['WRONG_NONCE', -32603, 'WRONG_NONCE: the thing is wrong'],
    ['INTERNAL', -32603, 'internal error'],
    ['STORE_CORRUPT', -32603, 'internal error'],
  ];
  for (const [code, want, data] of rows) {
    const r = await post(port, rpc('app_error', { code }, code));
    t.same(r.json, { jsonrpc: '2.0', id: code, error: { code: want, message: want === -32602 ? 'Invalid params' : 'Internal error', data } }, code);
  }
  t.same((await post(port, rpc('rpc_error', {}, 1))).json.error, { code: -32602, message: 'Invalid params', data: 'custom sentence from the handler' });
  const notJson = await post(port, rpc('not_json', {}, 1));
  t.same(notJson.json.error, { code: -32603, message: 'Internal error', data: 'internal error' }, 'a result JSON cannot carry is an internal error');
  t.equal((await post(port, rpc('health', {}, 2))).status, 200, 'the server carries on');
});

t.test('POST: batches answer in order, up to 10 requests; 11 or none is -32600 with HTTP 400', async (t) => {
  const { port, probe } = await start(t);
  const ten = Array.from({ length: 10 }, (_, i) => rpc('echo', { s: `b${i}` }, i));
  const r = await post(port, ten);
  t.equal(r.status, 200);
  t.equal(r.json.length, 10);
  t.same(r.json.map((x: Json) => x.id), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.same(probe.calls, Array.from({ length: 10 }, (_, i) => `echo:b${i}`), 'run one after another, in order');
  const single = await post(port, [rpc('health', {}, 'only')]);
  t.same(single.json, [{ jsonrpc: '2.0', id: 'only', result: {} }], 'a batch of one is answered with an array');
  const mixed = await post(port, [rpc('boom', {}, 1), rpc('no_such', {}, 2), rpc('echo', { s: 5 }, 3), rpc('health', {}, 4)]);
  t.same(mixed.json.map((x: Json) => x.error?.code ?? 'ok'), [-32603, -32601, -32602, 'ok']);
  const eleven = await post(port, Array.from({ length: 11 }, (_, i) => rpc('echo', { s: `x${i}` }, i)));
  t.equal(eleven.status, 400);
  t.same(eleven.json.error, { code: -32600, message: 'Invalid Request', data: 'the batch holds 11 requests; at most 10 are allowed (max_request_batch_size)' });
  t.equal(eleven.json.id, null);
  const empty = await post(port, []);
  t.equal(empty.status, 400);
  t.match(empty.json.error.data, /the batch is empty/);
  t.notOk(probe.calls.some((c) => c.startsWith('echo:x')), 'nothing of an oversized batch ran');
});

t.test('GET /method: CometBFT URI argument rules', async (t) => {
  const { port } = await start(t);
  const ok: Array<[string, Json]> = [
    ['s=%22hello%20world%22', { s: 'hello world' }],
    ['s=bare', { s: 'bare' }],
    ['s=%22with%20%5C%22escape%5C%22%22', { s: 'with "escape"' }],
    ['s=0xab', { s: '0xab' }], // strings are never hex-decoded (the contract's rule)
    ['s=x&n=5', { n: '5' }],
    ['s=x&n=%225%22', { n: '5' }],
    ['s=x&n=-9223372036854775808', { n: '-9223372036854775808' }],
    ['s=x&i=42', { i: 42 }],
    ['s=x&i=%2242%22', { i: 42 }],
    ['s=x&b=0x68656c6c6f', { b: 'aGVsbG8=' }],
    ['s=x&b=0X68', { b: 'aA==' }],
    ['s=x&b=%22hi%22', { b: 'aGk=' }],
    ['s=x&b=0x', { b: '' }], // zero bytes
    ['s=x&h=ABCDEF', { h: 'ABCDEF' }],
    ['s=x&h=0xabcdef', { h: 'ABCDEF' }],
    ['s=x&f=true', { f: true }],
    ['s=x&f=false', { f: false }],
    ['s=x&n=', { n: null }], // an empty value is absent, as in CometBFT
    ['s=a+b', { s: 'a b' }],
  ];
  for (const [query, want] of ok) {
    const r = await request(port, { path: `/echo?${query}` });
    t.equal(r.status, 200, query);
    t.equal(r.json.id, -1, 'URI calls answer with id -1, as CometBFT');
    t.match(r.json.result, want, query);
  }
  const bad: Array<[string, RegExp]> = [
    ['', /echo needs parameter "s": a "quoted" or bare string/],
    ['s=%22unterminated%5C%22', /parameter "s" must be a "quoted" or bare string \(the quoted string is not a valid JSON string\)/],
    ['s=x&n=abc', /parameter "n" must be an integer such as 42 or "42"; got "abc"/],
    ['s=x&n=1.5', /parameter "n" must be an integer/],
    ['s=x&n=0x10', /parameter "n" must be an integer/],
    ['s=x&n=99999999999999999999', /outside the int64 range/],
    ['s=x&i=9007199254740993', /out of range/],
    ['s=x&b=hello', /parameter "b" must be 0xHEX or a "quoted string"; got "hello"/],
    ['s=x&b=0xabc', /odd length or non-hex digits/],
    ['s=x&b=0xzz', /odd length or non-hex digits/],
    ['s=x&h=%22AB%22', /parameter "h" must be 0xHEX or bare HEX/],
    ['s=x&h=xyz', /parameter "h" must be 0xHEX or bare HEX/],
    ['s=x&f=1', /parameter "f" must be true or false; got "1"/],
    ['s=x&f=%22true%22', /parameter "f" must be true or false/],
    ['s=x&s=y', /parameter "s" is given more than once/],
    ['s=x&zz=1', /echo has no parameter "zz"/],
  ];
  for (const [query, re] of bad) {
    const r = await request(port, { path: `/echo?${query}` });
    t.equal(r.status, 500, `${query}: HTTP 500 as CometBFT`);
    t.equal(r.json.error.code, -32602, query);
    t.match(r.json.error.data, re, query);
    t.equal(r.json.id, -1);
  }
  const unknown = await request(port, { path: '/no_such?x=1' });
  t.equal(unknown.status, 404);
  t.equal(unknown.json.error.code, -32601);
  t.match(unknown.json.error.data, /"no_such" does not exist; GET \/ lists/);
  const boom = await request(port, { path: '/boom' });
  t.equal(boom.status, 500);
  t.same(boom.json, { jsonrpc: '2.0', id: -1, error: { code: -32603, message: 'Internal error', data: 'internal error' } });
  const notFound = await request(port, { path: '/app_error?code=NOT_FOUND' });
  t.equal(notFound.status, 500);
  t.equal(notFound.json.error.data, 'NOT_FOUND: the thing is wrong');
  const health = await request(port, { path: '/health' });
  t.same(health.json, { jsonrpc: '2.0', id: -1, result: {} });
  const posted = await request(port, { method: 'POST', path: '/echo?s=viaPost', body: 'ignored' });
  t.equal(posted.json.result.s, 'viaPost', 'POST /method takes its arguments from the query string too');
});

t.test('unsafe methods are hidden unless rpc.unsafe is set; WebSocket-only methods refuse HTTP', async (t) => {
  const safe = await start(t);
  const refused = await post(safe.port, rpc('flush', {}, 1));
  t.equal(refused.json.error.code, -32601);
  t.match(refused.json.error.data, /"flush" changes the node and is disabled; .*rpc\.unsafe = true/);
  t.equal((await request(safe.port, { path: '/flush' })).status, 404);
  for (const name of ['ws_only', 'subscribe', 'unsubscribe', 'unsubscribe_all']) {
    const r = await post(safe.port, rpc(name, name === 'ws_only' || name === 'unsubscribe_all' ? {} : { query: "tm.event='NewBlock'" }, 1));
    t.equal(r.json.error.code, -32601, name);
    t.match(r.json.error.data, /available only over WebSocket: connect to \/websocket/);
    const g = await request(safe.port, { path: `/${name}` });
    t.equal(g.status, 404, `GET /${name}`);
    t.equal(g.json.error.code, -32601);
  }
  const notWs = await request(safe.port, { path: '/websocket' });
  t.equal(notWs.status, 400);
  t.match(notWs.json.error.data, /WebSocket connections only/);

  const unsafe = await start(t, { config: { unsafe: true } });
  t.same((await post(unsafe.port, rpc('flush', {}, 1))).json.result, { flushed: true });
  t.same((await request(unsafe.port, { path: '/flush' })).json.result, { flushed: true });
  t.match((await request(unsafe.port, { path: '/' })).text, /flush/);
});

t.test('bodies over 1,000,000 bytes are refused with -32600 (HTTP 400), by Content-Length and while streaming', async (t) => {
  const { port, probe } = await start(t);
  const prefix = '{"jsonrpc":"2.0","id":1,"method":"echo","params":{"s":"';
  const suffix = '"}}';
  const exact = prefix + 'x'.repeat(MAX_BODY_BYTES - prefix.length - suffix.length) + suffix;
  t.equal(exact.length, MAX_BODY_BYTES);
  const fits = await post(port, exact);
  t.equal(fits.status, 200, 'exactly the limit is accepted');
  t.equal(fits.json.result.s.length, MAX_BODY_BYTES - prefix.length - suffix.length);

  const over = prefix + 'x'.repeat(MAX_BODY_BYTES - prefix.length - suffix.length + 1) + suffix;
  const declared = await request(port, { body: over });
  t.equal(declared.status, 400);
  t.same(declared.json, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request', data: 'the request body is larger than 1000000 bytes (max_body_bytes)' } });
  t.equal(declared.headers.connection, 'close');

  const streamed = await request(port, { body: prefix + 'y'.repeat(3 * MAX_BODY_BYTES) + suffix, chunked: true });
  t.equal(streamed.status, 400, 'a chunked body is cut off once it passes the limit');
  t.equal(streamed.json.error.code, -32600);
  t.equal(probe.calls.length, 1, 'only the body within the limit ran');
  t.equal((await post(port, rpc('health', {}, 1))).status, 200, 'the server carries on');

  // Declared beyond 8x the limit: the server does not read it to the end; the connection is cut without an answer.
  const raw = net.connect(port, '127.0.0.1');
  let answer = '';
  raw.on('data', (c) => void (answer += c.toString()));
  raw.on('error', () => undefined);
  raw.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${8 * MAX_BODY_BYTES + 1}\r\n\r\n${prefix}`);
  await new Promise<void>((resolve) => raw.on('close', () => resolve()));
  t.equal(answer, '', 'cut, unanswered');
  t.equal((await post(port, rpc('health', {}, 1))).status, 200, 'the server carries on');
  t.equal(probe.calls.length, 1, 'nothing more ran');
});

t.test('a handler that takes too long is abandoned with -32603 and its signal aborted; broadcast_tx_commit gets its own timeout', async (t) => {
  const { port, probe } = await start(t, { opts: { requestTimeoutMs: 150 }, config: { timeout_broadcast_tx_commit_ms: 400 } });
  const started = Date.now();
  const r = await post(port, rpc('slow', { ms: 3000 }, 1));
  t.ok(Date.now() - started < 2000, 'answered at the timeout, not when the handler would have finished');
  t.same(r.json.error, { code: -32603, message: 'Internal error', data: 'slow did not finish within 150 ms; the call was abandoned' });
  await until('the abort to reach the handler', () => probe.aborted.includes('slow:3000'));
  t.same((await post(port, rpc('slow', { ms: 20 }, 2))).json.result, { slept: 20 }, 'quick calls are unaffected');
  const get = await request(port, { path: '/slow?ms=3000' });
  t.equal(get.status, 500);
  t.match(get.json.error.data, /did not finish within 150 ms/);
  const commit = await post(port, rpc('broadcast_tx_commit', { ms: 300 }, 3));
  t.same(commit.json.result, { slept: 300 }, 'broadcast_tx_commit may run up to timeout_broadcast_tx_commit_ms + 1 s');
  const commitTooLong = await post(port, rpc('broadcast_tx_commit', { ms: 5000 }, 4));
  t.match(commitTooLong.json.error.data, /broadcast_tx_commit did not finish within 1400 ms/);
});

t.test('a client that goes away aborts its call', async (t) => {
  const { port, probe } = await start(t);
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const body = JSON.stringify(rpc('slow', { ms: 5000 }, 1));
  sock.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  await sleep(100);
  sock.destroy();
  await until('the abort to reach the handler', () => probe.aborted.includes('slow:5000'));
  t.pass('aborted');
});

t.test('the read timeout closes slow senders; a slow handler is not cut by it', async (t) => {
  const { port } = await start(t, { opts: { readTimeoutMs: 200 } });
  const slowBody = net.connect(port, '127.0.0.1');
  const slowHeaders = net.connect(port, '127.0.0.1');
  const got: Record<string, string> = { body: '', headers: '' };
  slowBody.on('data', (d) => (got.body += d.toString()));
  slowHeaders.on('data', (d) => (got.headers += d.toString()));
  const closed = (s: net.Socket): Promise<void> => new Promise((r) => s.once('close', () => r()));
  const bothClosed = Promise.all([closed(slowBody), closed(slowHeaders)]);
  slowBody.on('error', () => {});
  slowHeaders.on('error', () => {});
  slowBody.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"jsonrpc"');
  slowHeaders.write('GET /health HTTP/1.1\r\nHost: x\r\n');
  const started = Date.now();
  await bothClosed;
  t.ok(Date.now() - started < 3000, `closed after ${Date.now() - started} ms`);
  t.match(got.body, /^HTTP\/1\.1 408/, 'Node answers 408 Request Timeout');
  const ws = await Client.open(t, port);
  const slow = await post(port, rpc('slow', { ms: 500 }, 1));
  t.same(slow.json.result, { slept: 500 }, 'the read timeout covers receiving the request only');
  t.same((await ws.call('health', {}, 1)).result, {}, 'a WebSocket open longer than the read timeout is not cut by it');
});

t.test('garbage on the wire gets HTTP 400 and the server carries on', async (t) => {
  const { port } = await start(t);
  for (const junk of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', `GET /${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, '\u0000\u0001\u0002\r\n\r\n']) {
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => {});
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.write(junk);
    await new Promise((r) => sock.once('close', r));
    t.match(got, /^HTTP\/1\.1 (400|431|505)/, JSON.stringify(junk.slice(0, 20)));
  }
  t.equal((await post(port, rpc('health', {}, 1))).status, 200);
});

t.test('connections beyond max_open_connections get 503 and are closed; freed slots are reused', async (t) => {
  const { server, port } = await start(t, { config: { max_open_connections: 2 } });
  const idle = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
  for (const s of idle) {
    s.on('error', () => {});
    t.teardown(() => s.destroy());
  }
  await until('two open connections', () => server.stats.connections === 2);
  const refused = await post(port, rpc('health', {}, 1));
  t.equal(refused.status, 503);
  t.equal(refused.headers.connection, 'close');
  t.same(refused.json.error, {
    code: -32603,
    message: 'Internal error',
    data: 'too many open connections: this server allows 2 (rpc.max_open_connections); retry later',
  });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/websocket`);
  const wsStatus = await new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
  ws.terminate();
  t.equal(wsStatus, 503, 'a WebSocket beyond the limit is refused too');
  idle[0].destroy();
  await until('a slot to free', () => server.stats.connections === 1);
  t.equal((await post(port, rpc('health', {}, 2))).status, 200);
  t.equal(server.stats.connections, 1, 'the finished request released its slot');
});

t.test('WebSocket: requests, errors, notifications and batches over the socket', async (t) => {
  const { port, probe } = await start(t);
  const c = await Client.open(t, port);
  t.same(await c.call('echo', { s: 'ws', n: 3 }, 1), { jsonrpc: '2.0', id: 1, result: { s: 'ws', n: '3', i: null, b: null, h: null, f: null } });
  t.same((await c.call('ws_only', {}, 2)).result, { session: true }, 'the handler sees the session');
  t.equal((await c.call('no_such', {}, 3)).error.code, -32601);
  t.equal((await c.call('echo', { s: 1 }, 4)).error.code, -32602);
  t.equal((await c.call('flush', {}, 5)).error.code, -32601, 'unsafe methods stay disabled over WebSocket');
  c.send('{oops');
  const parseError = await c.next();
  t.equal(parseError.error.code, -32700);
  t.equal(parseError.id, null);
  c.send({ jsonrpc: '2.0', method: 'echo', params: { s: 'notification' } });
  t.same((await c.call('health', {}, 6)).result, {}, 'a notification gets no answer; the next request does');
  c.send([rpc('echo', { s: 'a' }, 7), rpc('echo', { s: 'b' }, 8)]);
  const batch = await c.next();
  t.same(batch.map((x: Json) => x.result.s), ['a', 'b']);
  c.send(Array.from({ length: 11 }, (_, i) => rpc('health', {}, i)));
  t.equal((await c.next()).error.code, -32600);
  t.notOk(probe.calls.includes('echo:notification'));
  t.equal(c.closed, null, 'the connection stays open through bad messages');
});

t.test('WebSocket: subscribe, events in the CometBFT envelope matched by query, unsubscribe, unsubscribe_all', async (t) => {
  const { port, events } = await start(t);
  const c = await Client.open(t, port);
  t.same(await c.call('subscribe', { query: "tm.event='NewBlock'" }, 5), { jsonrpc: '2.0', id: 5, result: {} });
  t.same(await c.call('subscribe', ["tm.event = 'Tx' AND transfer.amount > 100"], 'tx-sub'), { jsonrpc: '2.0', id: 'tx-sub', result: {} });
  t.equal(events.clientCount, 1);

  events.publish(newBlock(7));
  t.same(await c.next(), {
    jsonrpc: '2.0',
    id: 5,
    result: {
      query: "tm.event='NewBlock'",
      data: { type: 'tendermint/event/NewBlock', value: { block: { header: { height: '7' } } } },
      events: { 'tm.event': ['NewBlock'], 'block.height': ['7'] },
    },
  });
  events.publish(txEvent(7, '50'));
  events.publish(txEvent(7, '150uacc', 'BBB'));
  events.publish(newBlock(8));
  const tx = await c.next();
  t.equal(tx.id, 'tx-sub');
  t.equal(tx.result.query, "tm.event = 'Tx' AND transfer.amount > 100", 'the query as the client wrote it');
  t.same(tx.result.events['transfer.recipient'], ['BBB'], 'only the Tx whose attribute matched');
  t.equal((await c.next()).result.events['block.height'][0], '8', 'then the next block; the 50 uacc Tx never came');

  const dup = await c.call('subscribe', { query: "tm.event = 'NewBlock'" }, 6);
  t.equal(dup.error.code, -32603);
  t.match(dup.error.data, /^already subscribed to "tm\.event = 'NewBlock'"/, 'the same query, whatever its spacing');
  const bad = await c.call('subscribe', { query: 'tm.event ==' }, 7);
  t.equal(bad.error.code, -32602);
  t.match(bad.error.data, /invalid query/);
  t.equal((await c.call('subscribe', {}, 8)).error.code, -32602, 'query is required');

  t.same(await c.call('unsubscribe', { query: "tm.event='NewBlock'" }, 9), { jsonrpc: '2.0', id: 9, result: {} });
  const notFound = await c.call('unsubscribe', { query: "tm.event='NewBlock'" }, 10);
  t.equal(notFound.error.code, -32603);
  t.match(notFound.error.data, /^subscription not found/);
  events.publish(newBlock(9));
  events.publish(txEvent(9, '101'));
  const after = await c.next();
  t.equal(after.id, 'tx-sub', 'no NewBlock after unsubscribing from it');

  t.same(await c.call('unsubscribe_all', {}, 11), { jsonrpc: '2.0', id: 11, result: {} });
  t.equal(events.clientCount, 0);
  t.match((await c.call('unsubscribe_all', [], 12)).error.data, /^subscription not found/);
  events.publish(txEvent(10, '500'));
  t.same(await c.call('health', {}, 13), { jsonrpc: '2.0', id: 13, result: {} });
  t.same(c.inbox, [], 'nothing arrives after unsubscribe_all');
});

t.test('WebSocket: subscription limits per client and clients; a disconnect frees them', async (t) => {
  const { port, events } = await start(t, { config: { max_subscriptions_per_client: 2, max_subscription_clients: 1 } });
  const a = await Client.open(t, port);
  const b = await Client.open(t, port);
  t.same((await a.call('subscribe', { query: "tm.event='NewBlock'" }, 1)).result, {});
  t.same((await a.call('subscribe', { query: "tm.event='Tx'" }, 2)).result, {});
  const third = await a.call('subscribe', { query: "tm.event='NewBlockHeader'" }, 3);
  t.same(third.error, {
    code: -32603,
    message: 'Internal error',
    data: 'max_subscriptions_per_client 2 reached: unsubscribe from a query before subscribing to another',
  });
  const other = await b.call('subscribe', { query: "tm.event='NewBlock'" }, 1);
  t.match(other.error.data, /^max_subscription_clients 1 reached/);
  t.same((await b.call('health', {}, 2)).result, {}, 'b may still call methods');
  a.ws.close();
  await until('a to be forgotten', () => events.clientCount === 0);
  t.same((await b.call('subscribe', { query: "tm.event='NewBlock'" }, 3)).result, {}, 'the slot is free again');
  events.publish(newBlock(1));
  t.equal((await b.next()).id, 3);
});

t.test('WebSocket: a consumer that stops reading is dropped; memory stays bounded; others carry on', async (t) => {
  const cap = 1024 * 1024;
  const { server, port, events } = await start(t, { opts: { wsMaxPendingBytes: cap } });
  const slow = await Client.open(t, port);
  const fast = await Client.open(t, port);
  t.same((await slow.call('subscribe', { query: "tm.event='NewBlock'" }, 1)).result, {});
  t.same((await fast.call('subscribe', { query: "tm.event='NewBlock'" }, 1)).result, {});
  slow.ws.pause(); // stops reading: the kernel buffers fill, then the server's
  let fastReceived = 0;
  fast.ws.on('message', () => {
    fastReceived++;
    fast.inbox.length = 0;
  });
  const blob = 'z'.repeat(64 * 1024);
  const event: ChainEvent = { kind: 'NewBlock', events: { 'tm.event': ['NewBlock'] }, data: { type: 'tendermint/event/NewBlock', value: { blob } } };
  let published = 0;
  let maxBuffered = 0;
  const heapBefore = process.memoryUsage().heapUsed;
  while (events.clientCount === 2 && published < 5000) {
    events.publish(event);
    published++;
    maxBuffered = Math.max(maxBuffered, server.stats.maxWsBufferedBytes);
    if (published % 4 === 0) await tick();
  }
  t.equal(events.clientCount, 1, `the slow client was dropped after ${published} events`);
  t.ok(maxBuffered <= cap + 2 * blob.length, `its outgoing buffer stayed bounded (max ${maxBuffered} bytes)`);
  t.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, 'the heap did not grow with the events published');
  t.same((await post(port, rpc('health', {}, 1))).json.result, {}, 'the server stays responsive');
  slow.ws.resume();
  const closed = await slow.waitClosed(5000);
  t.ok(closed.code === 1008 || closed.code === 1006, `the slow client is closed (${closed.code} ${closed.reason})`);
  await until('the fast client to catch up', () => fastReceived === published, 10_000);
  t.equal(fastReceived, published, 'the reading client got every event');
  events.publish(newBlock(1));
  await until('one more', () => fastReceived === published + 1);
});

t.test('WebSocket: a client answering no pings is closed; one that answers stays', async (t) => {
  const { server, port } = await start(t, { opts: { wsPingIntervalMs: 100 } });
  const mute = await Client.open(t, port, { autoPong: false });
  const live = await Client.open(t, port);
  const closed = await mute.waitClosed(3000);
  t.ok(closed.code === 1001 || closed.code === 1006, `closed (${closed.code})`);
  await sleep(200);
  t.equal(live.closed, null);
  t.same((await live.call('health', {}, 1)).result, {});
  t.equal(server.stats.websockets, 1);
});

t.test('WebSocket: messages over 1 MB close the connection (1009); other paths are refused', async (t) => {
  const { port } = await start(t);
  const c = await Client.open(t, port);
  c.send('x'.repeat(1_000_001));
  t.equal((await c.waitClosed()).code, 1009);
  const wrongPath = new WebSocket(`ws://127.0.0.1:${port}/other`);
  const status = await new Promise<number>((resolve) => {
    wrongPath.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    wrongPath.on('error', () => resolve(-1));
  });
  wrongPath.terminate();
  t.equal(status, 404);
});

t.test('one debug log line per request', async (t) => {
  const { port, logs } = await start(t);
  await post(port, rpc('health', {}, 1));
  await post(port, [rpc('health', {}, 1), rpc('echo', { s: 'x' }, 2)]);
  await request(port, { path: '/health' });
  await post(port, '{bad');
  const c = await Client.open(t, port);
  await c.call('health', {}, 1);
  await until('the logs', () => logs.filter((l) => /^RPC (WebSocket )?request$/.test(l.msg)).length === 5);
  const lines = logs.filter((l) => /^RPC (WebSocket )?request$/.test(l.msg));
  t.same(lines.map((l) => l.methods), [['health'], ['health', 'echo'], ['health'], [], ['health']]);
  t.ok(lines.every((l) => l.level === 20));
  t.same(lines.slice(0, 4).map((l) => l.status), [200, 200, 200, 500]);
});

t.test('close() ends pending calls, closes WebSockets and sockets, and frees the port', async (t) => {
  const logs: Json[] = [];
  const logger = pino({ level: 'silent' }, { write: (l: string) => void logs.push(l) });
  const probe: Probe = { calls: [], aborted: [] };
  const events = new EventBus();
  const server = await RpcServer.start({ laddr: 'tcp://127.0.0.1:0', methods: fakeMethods(probe), events, config: { ...defaultConfig('x').rpc }, logger });
  const port = Number(new URL(server.url).port);
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const c = await Client.open(t, port);
  await c.call('subscribe', { query: "tm.event='NewBlock'" }, 1);
  const agent = new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  await new Promise<void>((resolve) => http.get({ host: '127.0.0.1', port, path: '/health', agent }, (res) => res.resume().on('end', () => resolve())));
  const pending = post(port, rpc('slow', { ms: 10_000 }, 1));
  await until('the slow call to start', () => probe.calls.includes('slow:10000'));
  t.equal(server.stats.connections, 3, 'a WebSocket, an idle keep-alive connection and the pending call');
  const started = Date.now();
  await server.close();
  t.ok(Date.now() - started < 2000, `close() took ${Date.now() - started} ms`);
  const answer = await pending.catch((err: Error) => ({ json: { error: { data: err.message } } }));
  t.match(answer.json.error.data, /shutting down|socket hang up|ECONNRESET/, 'the pending call ended');
  t.ok(probe.aborted.includes('slow:10000'), 'its handler saw the abort');
  const closed = await c.waitClosed();
  t.ok(closed.code === 1001 || closed.code === 1006, `the WebSocket closed (${closed.code})`);
  t.equal(events.clientCount, 0, 'subscriptions are gone');
  t.equal(server.stats.connections, 0);
  await t.rejects(post(port, rpc('health', {}, 1)), /ECONNREFUSED/, 'nothing listens any more');
  await server.close(); // idempotent
  const again = await RpcServer.start({ laddr: `tcp://127.0.0.1:${port}`, methods: {}, events, config: { ...defaultConfig('x').rpc }, logger });
  t.equal(again.url, `http://127.0.0.1:${port}`, 'the port is free again');
  await again.close();
});

t.test('start() refuses a bad laddr or a port in use with BAD_CONFIG', async (t) => {
  const logger = pino({ level: 'silent' });
  const base = { methods: {}, events: new EventBus(), config: { ...defaultConfig('x').rpc }, logger };
  await t.rejects(RpcServer.start({ ...base, laddr: 'http://127.0.0.1:1' }), { code: 'BAD_CONFIG', message: /must be tcp:\/\/HOST:PORT/ });
  const first = await RpcServer.start({ ...base, laddr: 'tcp://127.0.0.1:0' });
  t.teardown(() => first.close());
  const port = new URL(first.url).port;
  await t.rejects(RpcServer.start({ ...base, laddr: `tcp://127.0.0.1:${port}` }), { code: 'BAD_CONFIG', message: /cannot listen on .*EADDRINUSE/ });
});

t.test('EventBus: internal listeners, isolation from failing listeners, cheap and safe publishing', async (t) => {
  const logs: Json[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void logs.push(JSON.parse(l)) });
  const bus = new EventBus({ logger });
  bus.publish(newBlock(1)); // nobody listens: nothing happens
  const seen: string[] = [];
  const off = bus.subscribe("tm.event='Tx' AND tx.height >= 2", (e) => seen.push(`a:${e.events['tx.height'][0]}`));
  bus.subscribe("tm.event='Tx'", () => {
    throw new Error('listener bug');
  });
  bus.subscribe('tm.event EXISTS', (e) => seen.push(`c:${e.kind}`));
  t.equal(bus.listenerCount, 3);
  bus.publish(txEvent(1, '5'));
  bus.publish(txEvent(2, '5'));
  bus.publish(newBlock(3));
  t.same(seen, ['c:Tx', 'a:2', 'c:Tx', 'c:NewBlock'], 'each listener gets what its query matches; a throwing one harms nobody');
  t.equal(logs.filter((l) => l.msg === 'event listener threw').length, 2);
  off();
  off();
  bus.publish(txEvent(4, '5'));
  t.same(seen.slice(4), ['c:Tx'], 'an unsubscribed listener hears nothing');
  t.throws(() => bus.subscribe('bad query ==', () => {}), { code: -32602, data: /invalid query/ });
  // A listener that unsubscribes another during publishing.
  const order: string[] = [];
  let offLater: () => void = () => {};
  bus.subscribe("tm.event='NewBlock'", () => {
    order.push('first');
    offLater();
  });
  offLater = bus.subscribe("tm.event='NewBlock'", () => order.push('second'));
  bus.publish(newBlock(5));
  t.same(order, ['first'], 'removed mid-publish: not called');
  // Event data JSON cannot carry: WebSocket delivery is skipped, publish still does not throw.
  const sub = { name: 'fake', got: [] as string[], deliver(m: string) { this.got.push(m); } };
  bus.addSubscription(sub, "tm.event='NewBlock'", 1);
  t.doesNotThrow(() => bus.publish({ kind: 'NewBlock', events: { 'tm.event': ['NewBlock'] }, data: { type: 'x', value: { n: 1n } } }));
  t.same(sub.got, []);
  bus.publish(newBlock(6));
  t.same(JSON.parse(sub.got[0]).result.events, { 'tm.event': ['NewBlock'], 'block.height': ['6'] });
  // A subscriber whose delivery throws does not stop the others.
  const bad = { name: 'bad', deliver() { throw new Error('deliver bug'); } };
  bus.addSubscription(bad, "tm.event='NewBlock'", 2);
  const before = sub.got.length;
  bus.publish(newBlock(7));
  t.equal(sub.got.length, before + 1);
});
