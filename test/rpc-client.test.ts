// The typed client (src/rpc/client.ts) and the CLI commands tx / query, against a minimal JSON-RPC server written
// here (node:http + ws) over a real App: the domain and abci methods are the real handlers; the few CometBFT methods
// the client needs (status, header, block, tx, broadcast_tx_*) are canned but real-shaped and built from the App.
// The real server arrives in parallel; end-to-end tests against it come with it.
import t from 'tap';
import type { Test } from 'tap';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { sha256 } from '../src/crypto/hash.ts';
import { addressOf } from '../src/crypto/keys.ts';
import { fromBase64, fromHex, toBase64, toHex } from '../src/crypto/bytes.ts';
import { formatTime } from '../src/codec/time.ts';
import { getAccount } from '../src/state/accounts.ts';
import type { App } from '../src/state/app.ts';
import { defaultConfig, homePaths, writeConfig } from '../src/node/config.ts';
import { RpcCode, RpcError, type Args, type Method, type MethodTable, type ParamSpec } from '../src/rpc/types.ts';
import { allDomainMethods } from '../src/rpc/domain-tasks.ts';
import { abciMethods, appHashAt } from '../src/rpc/abci.ts';
import {
  AbciQueryError,
  ProofVerificationError,
  RpcClient,
  RpcClientError,
  RpcTransportError,
  bytesOf,
  formatAcc,
  parseAmount,
  parseInt64,
  parseUint,
  type SubscriptionEvent,
  supplyPartsSum,
} from '../src/rpc/client.ts';
import { urlOfListenAddress } from '../src/cli/query.ts';
import { Keyring } from '../src/cli/keyring.ts';
import { mkdir } from 'node:fs/promises';
import { blsKeyOf, fixture, nextBlock, openApp, send, seededKey, type Fixture } from './helpers/chain.ts';
import { keyFileToJSON } from '../src/crypto/keys.ts';
import { agents as agentsRepo } from '../src/state/agents.ts';
import { validators as validatorsRepo } from '../src/state/validators.ts';
import { UACC_PER_ACC, type AppParams } from '../src/state/params.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './helpers/tmp.ts';
import { stateOnlyRpcContext } from './helpers/rpc-context.ts';
import { cli } from './helpers/inproc.ts';

const addr = (k: { publicKey: Uint8Array }) => addressOf(k.publicKey);


// ---------------------------------------------------------------------------------------------------------------
// A minimal JSON-RPC node
// ---------------------------------------------------------------------------------------------------------------

interface Tamper {
  value?: boolean;
  proof?: boolean;
  key?: boolean;
  appHash?: boolean;
  height?: boolean;
}

/** JSON param -> the typed value the transport contract promises (types.ts), strictly enough for these tests. */
function convert(spec: ParamSpec, v: unknown): Args[string] {
  if (v === undefined || v === null) return undefined;
  const bad = (): never => {
    throw RpcError.invalidParams(`${spec.name} has the wrong type`);
  };
  switch (spec.type) {
    case 'int64':
    case 'int': {
      if (!(typeof v === 'number' && Number.isInteger(v)) && !(typeof v === 'string' && /^-?[0-9]+$/.test(v))) bad();
      return spec.type === 'int' ? Number(v) : BigInt(v as string | number);
    }
    case 'string':
      return typeof v === 'string' ? v : bad();
    case 'bool':
      return typeof v === 'boolean' ? v : bad();
    case 'bytes':
      return typeof v === 'string' ? fromBase64(v) : bad();
    case 'hex': {
      if (typeof v !== 'string') return bad();
      const h = v.replace(/^0x/, '');
      return /^(?:[0-9a-fA-F]{2})*$/.test(h) ? fromHex(h) : fromBase64(v);
    }
  }
}

function headerJSON(app: App, height: bigint, appHash: Uint8Array) {
  const z = toHex(new Uint8Array(32));
  return {
    version: { block: '11', app: '1' },
    chain_id: app.genesis.chainId,
    height: height.toString(),
    time: formatTime(app.genesis.genesisTime + height * 1_000_000_000n),
    last_block_id: { hash: z, parts: { total: 1, hash: z } },
    last_commit_hash: z,
    data_hash: z,
    validators_hash: z,
    next_validators_hash: z,
    consensus_hash: z,
    app_hash: toHex(appHash),
    last_results_hash: z,
    evidence_hash: z,
    proposer_address: toHex(new Uint8Array(20)),
  };
}

class TestNode {
  readonly app: App;
  readonly server: Server;
  readonly wss: WebSocketServer;
  url = '';
  tamper: Tamper = {};
  readonly hanging: ServerResponse[] = [];
  readonly subs = new Map<WebSocket, Map<string, string | number>>();
  /** Every method call the node saw, in order (method names). */
  readonly seen: string[] = [];
  /** How many validators the canned `validators` method pages through. */
  cannedValidators = 3;
  private readonly txs = new Map<string, { height: bigint; index: number; tx: Uint8Array; result: unknown }>();
  private readonly table: MethodTable;

  constructor(app: App) {
    this.app = app;
    const real = { ...allDomainMethods(stateOnlyRpcContext(app)), ...abciMethods(stateOnlyRpcContext(app)) };
    this.table = { ...real, ...this.canned(real) };
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => void this.http(req.url ?? '/', body, res));
    });
    this.wss = new WebSocketServer({ server: this.server, path: '/websocket' });
    this.wss.on('connection', (ws) => {
      this.subs.set(ws, new Map());
      ws.on('message', (data) => void this.ws(ws, String(data)));
      ws.on('close', () => this.subs.delete(ws));
    });
  }

  static async start(t: Test, app: App): Promise<TestNode> {
    const node = new TestNode(app);
    await new Promise<void>((resolve) => node.server.listen(0, '127.0.0.1', resolve));
    node.url = `http://127.0.0.1:${(node.server.address() as AddressInfo).port}`;
    t.teardown(() => node.close());
    return node;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Sends an event to every socket subscribed to `query`, with CometBFT's "<id>#event" id. */
  publish(query: string, value: unknown): number {
    let sent = 0;
    for (const [ws, queries] of this.subs) {
      const id = queries.get(query);
      if (id === undefined) continue;
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: `${id}#event`, result: { query, data: { type: 'tendermint/event/NewBlock', value }, events: { 'tm.event': ['NewBlock'] } } }));
      sent++;
    }
    return sent;
  }

  private async dispatch(method: string, params: unknown): Promise<{ result?: unknown; error?: { code: number; message: string; data: string } } | null> {
    this.seen.push(method);
    if (method === 'slow') return null; // never answers
    const m = this.table[method];
    try {
      if (m === undefined) throw new RpcError(RpcCode.METHOD_NOT_FOUND, `method ${method} does not exist`);
      const p = (params ?? {}) as Record<string, unknown>;
      const args: Args = {};
      for (const spec of m.params) args[spec.name] = convert(spec, p[spec.name]);
      return { result: await m.handler(args, { session: null, signal: new AbortController().signal }) };
    } catch (err) {
      if (err instanceof RpcError) return { error: { code: err.code, message: err.message, data: err.data } };
      return { error: { code: RpcCode.INTERNAL_ERROR, message: 'Internal error', data: (err as Error).message } };
    }
  }

  private async http(path: string, body: string, res: ServerResponse): Promise<void> {
    if (path === '/garbage') return void res.end('hello, this is not JSON');
    if (path === '/notrpc') return void res.end('{"hello":"world"}');
    const req = JSON.parse(body) as { id: unknown; method: string; params?: unknown };
    const out = await this.dispatch(req.method, req.params);
    if (out === null) return void this.hanging.push(res);
    const status = path === '/status500' && out.error ? 500 : 200;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: req.id, ...out }));
  }

  private async ws(ws: WebSocket, text: string): Promise<void> {
    const req = JSON.parse(text) as { id: string | number; method: string; params?: { query?: string } };
    const queries = this.subs.get(ws)!;
    const reply = (body: object) => ws.send(JSON.stringify({ jsonrpc: '2.0', id: req.id, ...body }));
    this.seen.push(`ws:${req.method}`);
    if (req.method === 'subscribe') {
      const q = req.params?.query ?? '';
      if (q === 'bad') return reply({ error: { code: RpcCode.INVALID_PARAMS, message: 'Invalid params', data: 'failed to parse query: bad' } });
      queries.set(q, req.id);
      return reply({ result: {} });
    }
    if (req.method === 'unsubscribe') {
      queries.delete(req.params?.query ?? '');
      return reply({ result: {} });
    }
    if (req.method === 'unsubscribe_all') {
      queries.clear();
      return reply({ result: {} });
    }
    const out = await this.dispatch(req.method, req.params);
    if (out !== null) reply(out);
  }

  private async broadcast(tx: Uint8Array) {
    const out = await nextBlock(this.app, [tx]);
    const r = out.txResults[0];
    const hash = toHex(sha256(tx));
    const height = this.app.head().height;
    const result = {
      code: r.code,
      data: null,
      log: r.log,
      info: '',
      gas_wanted: r.gasWanted.toString(),
      gas_used: r.gasUsed.toString(),
      events: r.events.map((e) => ({ type: e.type, attributes: e.attributes })),
      codespace: r.codespace,
    };
    if (r.code === 0) this.txs.set(hash, { height, index: 0, tx, result });
    return { hash, height, result };
  }

  private canned(real: MethodTable): MethodTable {
    const app = this.app;
    const tamper = () => this.tamper;
    const flip = (b64: string): string => {
      const b = fromBase64(b64);
      b[b.length - 1] ^= 1;
      return toBase64(b);
    };
    const txParam: ParamSpec[] = [{ name: 'tx', type: 'bytes' }];
    const m = (params: ParamSpec[], handler: Method['handler']): Method => ({ params, handler });
    return {
      status: m([], () => {
        const head = app.head();
        return {
          node_info: {
            protocol_version: { p2p: '8', block: '11', app: '1' },
            id: '00'.repeat(20),
            listen_addr: 'tcp://127.0.0.1:26656',
            network: app.genesis.chainId,
            version: '0.38.17',
            channels: '',
            moniker: 'test',
            other: { tx_index: 'on', rpc_address: this.url },
          },
          sync_info: {
            latest_block_hash: toHex(new Uint8Array(32)),
            latest_app_hash: toHex(head.appHash),
            latest_block_height: head.height.toString(),
            latest_block_time: formatTime(head.time),
            earliest_block_hash: toHex(new Uint8Array(32)),
            earliest_app_hash: toHex(head.appHash),
            earliest_block_height: '1',
            earliest_block_time: formatTime(head.time),
            catching_up: false,
          },
          validator_info: { address: toHex(new Uint8Array(20)), pub_key: { type: 'tendermint/PubKeyEd25519', value: toBase64(new Uint8Array(32)) }, voting_power: '0' },
        };
      }),
      header: m([{ name: 'height', type: 'int64', optional: true }], async (args) => {
        const head = app.head().height;
        const h = (args.height as bigint | undefined) ?? head;
        if (h > head) throw RpcError.internal(`height ${h} must be less than or equal to the current blockchain height ${head}`);
        const appHash = (await appHashAt(app, h - 1n))!.slice();
        if (tamper().appHash) appHash[0] ^= 1;
        return { header: headerJSON(app, h, appHash) };
      }),
      block: m([{ name: 'height', type: 'int64', optional: true }], async (args) => {
        const h = (args.height as bigint | undefined) ?? app.head().height;
        if (h > app.head().height) throw RpcError.internal(`height ${h} must be less than or equal to the current blockchain height ${app.head().height}`);
        const z = toHex(new Uint8Array(32));
        return {
          block_id: { hash: z, parts: { total: 1, hash: z } },
          block: { header: headerJSON(app, h, (await appHashAt(app, h - 1n))!), data: { txs: [] }, evidence: { evidence: [] }, last_commit: null },
        };
      }),
      abci_info: m([], async (args, ctx) => {
        const r = (await real.abci_info.handler(args, ctx)) as { response: { last_block_app_hash: string } };
        if (tamper().appHash) r.response.last_block_app_hash = flip(r.response.last_block_app_hash);
        return r;
      }),
      abci_query: m(real.abci_query.params as ParamSpec[], async (args, ctx) => {
        const r = (await real.abci_query.handler(args, ctx)) as { response: { value: string | null; key: string; height: string; proofOps: { ops: Array<{ data: string }> } | null } };
        const tp = tamper();
        if (tp.value && r.response.value !== null) r.response.value = flip(r.response.value);
        if (tp.value && r.response.value === null) r.response.value = toBase64(new Uint8Array([8, 1]));
        if (tp.proof && r.response.proofOps) r.response.proofOps.ops[0].data = flip(r.response.proofOps.ops[0].data);
        if (tp.key) r.response.key = flip(r.response.key);
        if (tp.height) r.response.height = (BigInt(r.response.height) - 1n).toString();
        return r;
      }),
      broadcast_tx_sync: m(txParam, async (args) => {
        const { hash, result } = await this.broadcast(args.tx as Uint8Array);
        const r = result as { code: number; log: string; codespace: string };
        return { code: r.code, data: null, log: r.log, codespace: r.codespace, hash };
      }),
      broadcast_tx_async: m(txParam, async (args) => {
        const { hash } = await this.broadcast(args.tx as Uint8Array);
        return { code: 0, data: null, log: '', codespace: '', hash };
      }),
      broadcast_tx_commit: m(txParam, async (args) => {
        const { hash, height, result } = await this.broadcast(args.tx as Uint8Array);
        const check = { code: 0, data: null, log: '', info: '', gas_wanted: '0', gas_used: '0', events: [], codespace: '' };
        return { check_tx: check, tx_result: result, hash, height: height.toString() };
      }),
      // CometBFT's paging over `cannedValidators` synthetic entries (the bare App keeps no validator sets).
      validators: m(
        [
          { name: 'height', type: 'int64', optional: true },
          { name: 'page', type: 'int', optional: true },
          { name: 'per_page', type: 'int', optional: true },
        ],
        (args) => {
          this.seen.push(`validators:${args.height ?? ''}:${args.page ?? ''}:${args.per_page ?? ''}`);
          const perPage = Math.min((args.per_page as number | undefined) ?? 30, 100);
          const page = (args.page as number | undefined) ?? 1;
          const all = Array.from({ length: this.cannedValidators }, (_, i) => ({
            address: toHex(new Uint8Array(20).fill(i + 1)),
            pub_key: { type: 'tendermint/PubKeyEd25519', value: toBase64(new Uint8Array(32).fill(i + 1)) },
            voting_power: String(1000 + i),
            proposer_priority: '0',
            stake: String(1000 + i),
            reputation_factor: '1000000',
            operator: toHex(new Uint8Array(20).fill(i + 1)),
            name: `v${i}`,
          }));
          if (page > Math.max(1, Math.ceil(all.length / perPage))) throw RpcError.invalidParams(`page should be within [1, ${Math.ceil(all.length / perPage)}] range, given ${page}`);
          const slice = all.slice((page - 1) * perPage, page * perPage);
          return { block_height: (args.height as bigint | undefined)?.toString() ?? (app.head().height + 1n).toString(), validators: slice, count: String(slice.length), total: String(all.length) };
        },
      ),
      tx: m([{ name: 'hash', type: 'hex' }, { name: 'prove', type: 'bool', optional: true }], (args) => {
        const hash = toHex(args.hash as Uint8Array);
        const found = this.txs.get(hash);
        if (found === undefined) throw RpcError.internal(`tx (${hash}) not found`);
        return { hash, height: found.height.toString(), index: found.index, tx_result: found.result, tx: toBase64(found.tx) };
      }),
    };
  }
}

interface Setup {
  fx: Fixture;
  app: App;
  node: TestNode;
  client: RpcClient;
}

async function setup(t: Test, options: { timeoutMs?: number; fund?: bigint; params?: (p: AppParams) => void } = {}): Promise<Setup> {
  const fx = fixture({ fund: options.fund, params: options.params });
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const [alice, bob] = fx.users;
  await nextBlock(app, [send(alice, bob, 1_000n, 0n)]);
  await nextBlock(app, [send(alice, bob, 2_000n, 1n)]);
  const node = await TestNode.start(t, app);
  const client = new RpcClient(node.url, { timeoutMs: options.timeoutMs ?? 5_000 });
  t.teardown(() => client.close());
  return { fx, app, node, client };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, the call succeeded');
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------------------------

t.test('value helpers: strict decimal strings, amounts, bytes', async (t) => {
  t.equal(parseUint('0'), 0n);
  t.equal(parseUint('1000000000000000'), 10n ** 15n);
  for (const bad of ['', '01', '-1', '1.0', '1e3', ' 1', 'x']) t.throws(() => parseUint(bad), TypeError, bad);
  t.equal(parseInt64('-1'), -1n);
  t.throws(() => parseInt64('--1'));
  t.equal(parseAmount('2500'), 2500n);
  t.equal(parseAmount('2500uacc'), 2500n);
  t.equal(parseAmount('1.5acc'), 1_500_000n);
  t.equal(parseAmount('3ACC'), 3_000_000n);
  t.equal(parseAmount('0.000001acc'), 1n);
  for (const bad of ['1.5', '1.5uacc', '0.0000001acc', 'acc', '-1', '1 000', '1e6', '']) t.throws(() => parseAmount(bad), /amount must be/, bad);
  t.equal(formatAcc(1_500_000n), '1.5');
  t.equal(formatAcc(2_000_000n), '2');
  t.equal(formatAcc(1n), '0.000001');
  t.same(bytesOf('0xABcd'), new Uint8Array([0xab, 0xcd]));
  t.throws(() => bytesOf('xyz'), /must be bytes or hex/);
  t.throws(() => new RpcClient('ftp://x'), /http:\/\/ or https:\/\//);
  t.throws(() => new RpcClient('not a url'), /node URL must be like/);
  t.equal(new RpcClient('https://example.org:443/rpc/').wsUrl, 'wss://example.org:443/rpc/websocket');
});

t.test('typed calls return the node\'s JSON as is', async (t) => {
  const { fx, app, client } = await setup(t);
  const alice = addr(fx.users[0]);
  const acc = await client.account(alice);
  t.same(acc, { address: toHex(alice), balance: (await getAccount(app.store, alice)).balance.toString(), nonce: '2', next_nonce: '2', vesting: null });
  t.equal(parseUint(acc.balance), (await getAccount(app.store, alice)).balance, 'amounts parse to bigint');
  t.same(await client.account(toHex(alice).toLowerCase()), acc, 'hex text works too');
  const s = await client.supply();
  t.equal(supplyPartsSum(s), BigInt(s.total));
  t.equal((await client.params()).fees.burn_bps, '5000');
  t.equal((await client.abciInfo()).response.last_block_height, '2');
  t.equal((await client.status()).node_info.network, 'test-chain');
  t.equal((await client.header(1)).header.height, '1');
  const q = await client.abciQuery('/account', alice);
  t.equal(q.response.code, 0);
  t.equal(q.response.proofOps, null);
  // issue 6: the genesis validator is an agent (and a validator)
  const v0 = toHex(addr(fx.validator));
  const agents = await client.agents({ page: 1, perPage: 10, status: 'active' });
  t.same(agents.agents.map((a) => a.address), [v0]);
  t.equal(agents.total, '1');
  t.same(await client.agent(v0), agents.agents[0]);
  t.equal((await client.validator(addr(fx.validator))).status, 'bonded');
  const none = await rejection(client.agent(addr(fx.users[0])));
  t.ok(none instanceof RpcClientError);
  t.equal((none as RpcClientError).code, RpcCode.INTERNAL_ERROR);
  t.match((none as RpcClientError).data, /^agent [0-9A-F]{40} not found$/);
  const noTasks = await client.tasks({ page: 1, perPage: 10, status: 'reviewing' });
  t.same(noTasks.tasks, []);
  t.equal(noTasks.total, '0');
  // issue 8: no proposal yet, no upgrade plan
  const noProposals = await client.proposals({ page: 1, perPage: 10, status: 'voting' });
  t.same(noProposals.proposals, []);
  t.equal(noProposals.total, '0');
  t.same(await client.upgradePlan(), { name: null, height: null, info: null, proposal_id: null });
  const noProposal = await rejection(client.proposal(1));
  t.ok(noProposal instanceof RpcClientError);
  t.equal((noProposal as RpcClientError).code, RpcCode.INTERNAL_ERROR);
  t.equal((noProposal as RpcClientError).data, 'proposal 1 not found');
});

t.test('allValidators: every page of one height, merged', async (t) => {
  const { node, client } = await setup(t);
  node.cannedValidators = 250;
  const all = await client.allValidators();
  t.equal(all.validators.length, 250);
  t.equal(all.count, '250');
  t.equal(all.total, '250');
  t.same(all.validators.map((v) => v.name), Array.from({ length: 250 }, (_, i) => `v${i}`), 'in order, none twice');
  const calls = node.seen.filter((m) => m.startsWith('validators:'));
  t.same(calls, ['validators::1:100', `validators:${all.block_height}:2:100`, `validators:${all.block_height}:3:100`], 'later pages at the first page\'s height');
  node.cannedValidators = 2;
  t.equal((await client.allValidators(1)).validators.length, 2);
});

t.test('errors: JSON-RPC errors are RpcClientError {code, message, data}; transport failures name the URL', async (t) => {
  const { node, client } = await setup(t);
  const bad = (await rejection(client.call('account', { address: 'xyz' }))) as RpcClientError;
  t.ok(bad instanceof RpcClientError);
  t.equal(bad.code, RpcCode.INVALID_PARAMS);
  t.equal(bad.rpcMessage, 'Invalid params');
  t.match(bad.data, /^address must be 40 hex characters/);
  t.equal(bad.method, 'account');
  t.match(bad.message, /^account: Invalid params \(-32602\): address must be/);

  const unknown = (await rejection(client.call('no_such_method'))) as RpcClientError;
  t.equal(unknown.code, RpcCode.METHOD_NOT_FOUND);

  const c500 = new RpcClient(`${node.url}/status500`);
  const e500 = (await rejection(c500.call('no_such_method'))) as RpcClientError;
  t.ok(e500 instanceof RpcClientError, 'an HTTP 500 carrying a JSON-RPC error is still that error');
  t.equal(e500.code, RpcCode.METHOD_NOT_FOUND);

  const garbage = (await rejection(new RpcClient(`${node.url}/garbage`).status())) as RpcTransportError;
  t.ok(garbage instanceof RpcTransportError);
  t.equal(garbage.reason, 'protocol');
  t.match(garbage.message, /is not JSON/);
  const notRpc = (await rejection(new RpcClient(`${node.url}/notrpc`).status())) as RpcTransportError;
  t.equal(notRpc.reason, 'protocol');
  t.match(notRpc.message, /not a JSON-RPC response/);

  const url = `http://127.0.0.1:${await closedPort()}`;
  const down = (await rejection(new RpcClient(url).status())) as RpcTransportError;
  t.ok(down instanceof RpcTransportError);
  t.equal(down.reason, 'unreachable');
  t.equal(down.url, url);
  t.match(down.message, new RegExp(`^cannot reach the node at ${url} \\(ECONNREFUSED`));
  const wsDown = (await rejection(new RpcClient(url).subscribe("tm.event='NewBlock'", () => {}))) as RpcTransportError;
  t.equal(wsDown.reason, 'unreachable');
  t.match(wsDown.message, /cannot open a WebSocket to ws:\/\/127\.0\.0\.1:\d+\/websocket/);
});

t.test('timeouts: HTTP and WebSocket requests give up after timeoutMs', async (t) => {
  const { node } = await setup(t);
  const client = new RpcClient(node.url, { timeoutMs: 150 });
  t.teardown(() => client.close());
  const started = Date.now();
  const e = (await rejection(client.call('slow'))) as RpcTransportError;
  t.ok(e instanceof RpcTransportError);
  t.equal(e.reason, 'timeout');
  t.match(e.message, /did not answer slow within 150 ms/);
  t.ok(Date.now() - started < 3_000);
  const ew = (await rejection(client.callWs('slow'))) as RpcTransportError;
  t.equal(ew.reason, 'timeout');
  t.equal((await client.callWs<{ response: { data: string } }>('abci_info')).response.data, 'agentcluster', 'the socket still works');
  t.equal((await client.call('slow', {}, { timeoutMs: 50 }).catch((err: RpcTransportError) => err.reason)), 'timeout', 'per-call timeout');
});

t.test('queryProven accepts good proofs at the latest and older heights, for present and absent keys', async (t) => {
  const { fx, app, node, client } = await setup(t);
  const alice = addr(fx.users[0]);
  const latest = await client.queryProven('/account', alice);
  t.equal(latest.height, 2n);
  t.equal(latest.appHashSource, 'abci_info', 'the latest state: no header carries its app hash yet');
  t.same(latest.appHash, app.head().appHash);
  t.ok(latest.value !== null);

  const older = await client.queryProven('/account', alice, 1);
  t.equal(older.height, 1n);
  t.equal(older.appHashSource, 'header', 'an older state: header height+1 carries its app hash');
  t.same(older.appHash, await appHashAt(app, 1n));
  t.notSame(older.value, latest.value);

  const absent = await client.queryProven('/account', new Uint8Array(20).fill(7));
  t.equal(absent.value, null, 'non-membership proven');
  const store = await client.queryProven('/store', latest.key);
  t.same(store.value, latest.value);
  t.same((await client.queryProven('/supply')).key, new Uint8Array([0x04]));

  const trusted = await client.queryProven('/account', alice, 1, { trustedAppHash: async () => (await appHashAt(app, 1n))! });
  t.equal(trusted.appHashSource, 'trusted');
  const distrusted = await rejection(client.queryProven('/account', alice, 1, { trustedAppHash: async () => app.head().appHash }));
  t.ok(distrusted instanceof ProofVerificationError, 'a proof for height 1 does not verify against another app hash');

  // a block commits between the query and the app hash lookup: the header path takes over
  await nextBlock(app, []);
  t.equal((await client.queryProven('/account', alice, 2)).appHashSource, 'header');
  t.notOk(node.seen.includes('no_such_method'));
});

t.test('queryProven rejects a tampered value, proof, key, height or app hash', async (t) => {
  const { fx, node, client } = await setup(t);
  const alice = addr(fx.users[0]);
  const nobody = new Uint8Array(20).fill(9);
  const cases: Array<[string, Tamper, Uint8Array, number, RegExp]> = [
    ['value (latest)', { value: true }, alice, 0, /does not verify against app hash/],
    ['value (older)', { value: true }, alice, 1, /does not verify against app hash/],
    ['value made up for an absent key', { value: true }, nobody, 0, /does not verify/],
    ['proof bytes', { proof: true }, alice, 0, /does not verify|malformed/],
    ['proof bytes (absent key)', { proof: true }, nobody, 1, /does not verify|malformed/],
    ['key', { key: true }, alice, 0, /answered for key/],
    ['height', { height: true }, alice, 2, /answered for height 1, not the height 2 asked/],
    ['app hash in the header (older)', { appHash: true }, alice, 1, /does not verify against app hash .* \(from header\)/],
    ['app hash in abci_info (latest)', { appHash: true }, alice, 0, /does not verify against app hash .* \(from abci_info\)/],
  ];
  for (const [name, tamper, data, height, message] of cases) {
    node.tamper = tamper;
    const err = await rejection(client.queryProven('/account', data, height));
    t.ok(err instanceof ProofVerificationError, `${name}: ${err.message}`);
    t.match(err.message, message, name);
  }
  node.tamper = {};
  t.ok(await client.queryProven('/account', alice, 1), 'untampered, it verifies again');

  const refused = await rejection(client.queryProven('/account', alice, 99));
  t.ok(refused instanceof AbciQueryError);
  t.equal((refused as AbciQueryError).code, 4);
  t.match((refused as AbciQueryError).log, /height 99 is not committed yet/);
  t.match((await rejection(client.queryProven('/nope', alice))).message, /unknown query path/, 'an unknown path fails before asking');
});

t.test('WebSocket: subscribe, events routed by query, shared subscriptions, unsubscribe, close', async (t) => {
  const { node, client } = await setup(t);
  const q = "tm.event='NewBlock'";
  const a: SubscriptionEvent[] = [];
  const b: SubscriptionEvent[] = [];
  const closedWith: Error[] = [];
  const offA = await client.subscribe(q, (e) => a.push(e), (err) => closedWith.push(err));
  const offB = await client.subscribe(q, (e) => b.push(e));
  t.equal(node.seen.filter((m) => m === 'ws:subscribe').length, 1, 'one wire subscription for two listeners');
  const wait = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  };
  t.equal(node.publish(q, { height: '3' }), 1);
  await wait(() => a.length === 1 && b.length === 1);
  t.same(a, [{ query: q, data: { type: 'tendermint/event/NewBlock', value: { height: '3' } }, events: { 'tm.event': ['NewBlock'] } }]);
  t.same(b, a);
  node.publish("tm.event='Tx'", {});
  await offB();
  t.equal(node.seen.filter((m) => m === 'ws:unsubscribe').length, 0, 'A still listens');
  node.publish(q, { height: '4' });
  await wait(() => a.length === 2);
  t.equal(a.length, 2);
  t.equal(b.length, 1);
  await offA();
  t.equal(node.seen.filter((m) => m === 'ws:unsubscribe').length, 1, 'the last listener unsubscribes on the wire');
  t.equal(node.publish(q, {}), 0);

  const refused = (await rejection(client.subscribe('bad', () => {}))) as RpcClientError;
  t.ok(refused instanceof RpcClientError);
  t.equal(refused.data, 'failed to parse query: bad');

  await client.subscribe(q, () => {}, (err) => closedWith.push(err));
  for (const ws of node.wss.clients) ws.terminate();
  await wait(() => closedWith.length === 1);
  t.equal(closedWith.length, 1, 'a dropped connection reaches the subscriber');
  t.ok(closedWith[0] instanceof RpcTransportError && (closedWith[0] as RpcTransportError).reason === 'closed');
  // the next call opens a new socket
  await client.subscribe(q, () => {});
  await client.unsubscribeAll();
  t.ok(node.seen.includes('ws:unsubscribe_all'));
});

// ---------------------------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------------------------

async function homeWithKeys(t: Test, fx: Fixture): Promise<string> {
  const dir = tempDir();
  t.teardown(dir.remove);
  const keyring = new Keyring(homePaths(dir.path).keyringDir);
  await keyring.add('alice', fx.users[0]);
  await keyring.add('bob', fx.users[1]);
  return dir.path;
}

t.test('query: account, supply, params, block, tx print the node\'s JSON', async (t) => {
  const { fx, app, node } = await setup(t);
  const alice = addr(fx.users[0]);
  const home = await homeWithKeys(t, fx);
  const byAddress = await cli('query', 'account', toHex(alice), '--node', node.url);
  t.equal(byAddress.code, 0, byAddress.stderr);
  t.same(byAddress.json, { address: toHex(alice), balance: (await getAccount(app.store, alice)).balance.toString(), nonce: '2', next_nonce: '2', vesting: null });
  const byName = await cli('query', 'account', 'alice', '--home', home, '--node', node.url);
  t.same(byName.json, byAddress.json, 'a key name resolves through the keyring');
  const supply = await cli('query', 'supply', '--node', node.url);
  t.equal(supply.json.total, '1000000000000000');
  t.equal((await cli('query', 'params', '--node', node.url)).json.fees.min_gas_price, '1');
  const block = await cli('query', 'block', '2', '--node', node.url);
  t.equal(block.json.block.header.height, '2');
  t.equal((await cli('query', 'block', '--node', node.url)).json.block.header.height, '2', 'the latest without HEIGHT');

  // tx: one the node knows, and one it does not (an RPC error: its code and data on stderr, exit 1)
  const sent = await cli('tx', 'bank', 'send', 'alice', 'bob', '5', '--home', home, '--node', node.url);
  t.equal(sent.code, 0, sent.stderr);
  const tx = await cli('query', 'tx', sent.json.hash, '--node', node.url);
  t.equal(tx.code, 0, tx.stderr);
  t.equal(tx.json.hash, sent.json.hash);
  t.equal(tx.json.tx_result.code, 0);
  const missing = await cli('query', 'tx', 'AB'.repeat(32), '--node', node.url);
  t.equal(missing.code, 1);
  t.equal(missing.stdout, '');
  t.equal(missing.stderr, `error [NOT_FOUND]: the node at ${node.url} refused tx: Internal error (-32603): tx (${'AB'.repeat(32)}) not found\n`);
});

t.test('query: argument checks (exit 2) and an unreachable node (exit 1, names the URL)', async (t) => {
  const { node } = await setup(t);
  const usage: Array<[string[], RegExp]> = [
    [['query', 'account', 'alice', '--node', node.url], /ADDRESS\|KEYNAME must be an address \(40 hex characters\) or a key name with --home DIR/],
    [['query', 'account', '--node', node.url], /missing argument ADDRESS\|KEYNAME/],
    [['query', 'block', '0', '--node', node.url], /HEIGHT must be a positive integer/],
    [['query', 'block', 'x', '--node', node.url], /HEIGHT must be a positive integer/],
    [['query', 'tx', 'ABCD', '--node', node.url], /HASH must be 64 hex characters/],
    [['query', 'supply', '--node', 'localhost:26657'], /--node must be an http:\/\/ or https:\/\/ URL/],
    [['query', 'supply', 'extra', '--node', node.url], /unexpected argument 'extra'/],
    [['query', 'nope'], /unknown command 'query nope'/],
  ];
  for (const [argv, message] of usage) {
    const r = await cli(...argv);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.stderr, message);
    t.equal(r.stdout, '');
  }
  const url = `http://127.0.0.1:${await closedPort()}`;
  const down = await cli('query', 'supply', '--node', url);
  t.equal(down.code, 1);
  t.match(down.stderr, new RegExp(`^error \\[NOT_FOUND\\]: cannot reach the node at ${url} \\(ECONNREFUSED`));
  const help = await cli('query', 'account', '--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: agentcluster query account ADDRESS\|KEYNAME/);
});

t.test('the node URL: --node, else rpc.laddr of --home\'s config.toml, else the default', async (t) => {
  const { node } = await setup(t);
  t.equal(urlOfListenAddress('tcp://0.0.0.0:26657'), 'http://127.0.0.1:26657');
  t.equal(urlOfListenAddress('tcp://[::]:1234'), 'http://[::1]:1234');
  t.equal(urlOfListenAddress('tcp://10.0.0.2:80'), 'http://10.0.0.2:80');
  t.throws(() => urlOfListenAddress('tcp://127.0.0.1:0'), /port 0/);
  const dir = tempDir();
  t.teardown(dir.remove);
  await mkdir(homePaths(dir.path).configDir, { recursive: true });
  const cfg = defaultConfig('n0');
  cfg.rpc.laddr = `tcp://0.0.0.0:${new URL(node.url).port}`;
  await writeConfig(dir.path, cfg);
  const r = await cli('query', 'supply', '--home', dir.path);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.json.total, '1000000000000000', 'reached the node through rpc.laddr');
  // a home without config.toml (a keyring only) falls back to the default URL, which nothing serves here
  const bare = tempDir();
  t.teardown(bare.remove);
  const d = await cli('query', 'supply', '--home', bare.path);
  if (d.code !== 0) t.match(d.stderr, /http:\/\/127\.0\.0\.1:26657/, 'the default URL is named');
});

t.test('tx bank send: signs with the keyring key, asks the node for chain id, nonce and fees, broadcasts', async (t) => {
  const { fx, app, node } = await setup(t);
  const home = await homeWithKeys(t, fx);
  const [alice, bob, carol] = fx.users.map(addr);
  const before = await getAccount(app.store, carol);

  const sync = await cli('tx', 'bank', 'send', 'alice', toHex(carol), '1.5acc', '--home', home, '--node', node.url, '--memo', 'hi');
  t.equal(sync.code, 0, sync.stderr);
  t.same(Object.keys(sync.json), ['code', 'data', 'log', 'codespace', 'hash']);
  t.equal(sync.json.code, 0);
  t.match(sync.json.hash, /^[0-9A-F]{64}$/);
  t.equal((await getAccount(app.store, carol)).balance, before.balance + 1_500_000n);
  t.equal((await getAccount(app.store, alice)).nonce, 3n, 'the nonce came from the account method');
  t.ok(node.seen.includes('status') && node.seen.includes('account') && node.seen.includes('params'));

  const commit = await cli('tx', 'bank', 'send', 'bob', 'alice', '7', '--home', home, '--node', node.url, '--commit', '--gas-price', '2', '--gas-limit', '50000');
  t.equal(commit.code, 0, commit.stderr);
  t.equal(commit.json.tx_result.code, 0);
  t.equal(commit.json.height, app.head().height.toString());
  t.equal(BigInt(commit.json.tx_result.gas_wanted), 50_000n);

  const async = await cli('tx', 'bank', 'send', 'bob', toHex(alice), '7uacc', '--home', home, '--node', node.url, '--async', '--nonce', '1');
  t.equal(async.code, 0, async.stderr);
  t.same(Object.keys(async.json), ['code', 'data', 'log', 'codespace', 'hash']);
  t.equal((await getAccount(app.store, bob)).nonce, 2n, 'the given nonce was used');

  // the node refuses: the command fails with the tx's own code
  const replay = await cli('tx', 'bank', 'send', 'alice', toHex(bob), '1', '--home', home, '--node', node.url, '--nonce', '0');
  t.equal(replay.code, 1);
  t.equal(replay.stdout, '');
  t.match(replay.stderr, /^error \[WRONG_NONCE\]: the node refused the tx: nonce 0 is not the account's next nonce 3 \(code 22, codespace agentcluster; tx [0-9A-F]{64}\)\n$/);
  const poor = await cli('tx', 'bank', 'send', 'alice', toHex(bob), '1', '--home', home, '--node', node.url, '--gas-limit', String(10n ** 12n));
  t.equal(poor.code, 1);
  t.match(poor.stderr, /^error \[INSUFFICIENT_FUNDS\]: /);
});

t.test('tx bank send: argument checks', async (t) => {
  const { fx, node } = await setup(t);
  const home = await homeWithKeys(t, fx);
  const to = toHex(addr(fx.users[1]));
  const base = ['tx', 'bank', 'send'];
  const usage: Array<[string[], RegExp]> = [
    [[...base, 'alice', to, '10', '--node', node.url], /missing required option --home DIR/],
    [[...base, 'alice', to, '--home', home], /missing argument AMOUNT/],
    [[...base, 'alice', to, 'ten', '--home', home], /AMOUNT: amount must be an integer number of uacc/],
    [[...base, 'alice', to, '0', '--home', home], /AMOUNT must be more than 0/],
    [[...base, 'alice', to, '1', '--home', home, '--sync', '--commit'], /choose one of --sync, --async, --commit \(got --sync and --commit\)/],
    [[...base, 'alice', to, '1', '--home', home, '--gas-limit', '0'], /--gas-limit must be an integer from 1 to/],
    [[...base, 'alice', to, '1', '--home', home, '--gas-price=-1'], /--gas-price must be an integer from 0 to/],
    [[...base, 'alice', to, '1', '--home', home, '--nonce', '1.5'], /--nonce must be an integer from 0 to/],
    [[...base, 'alice', to, '1', '--home', home, '--node', 'nope'], /--node must be an http:\/\/ or https:\/\/ URL/],
    [[...base, 'alice', to, '1', '--home', home, '--fast'], /unknown option '--fast'/],
  ];
  for (const [argv, message] of usage) {
    const r = await cli(...argv);
    t.equal(r.code, 2, `${argv.slice(3).join(' ')}: ${r.stderr}`);
    t.match(r.stderr, message);
  }
  const noRecipient = await cli(...base, 'alice', 'nobody', '1', '--home', home, '--node', node.url);
  t.equal(noRecipient.code, 1, 'a recipient that is neither an address nor a key name');
  t.match(noRecipient.stderr, /^error \[NOT_FOUND\]: no key named 'nobody'/);
  const noKey = await cli(...base, 'carol', to, '1', '--home', home, '--node', node.url);
  t.equal(noKey.code, 1);
  t.match(noKey.stderr, /^error \[NOT_FOUND\]: no key named 'carol'/);
  t.equal(node.seen.filter((m) => m.startsWith('broadcast')).length, 0, 'nothing was broadcast');
  const help = await cli(...base, '--help');
  t.match(help.stdout, /Usage: agentcluster tx bank send FROM_KEY TO_ADDRESS AMOUNT --home DIR/);
});

// ---------------------------------------------------------------------------------------------------------------
// CLI: tx agent, tx staking, query agent(s) / validator(s)
// ---------------------------------------------------------------------------------------------------------------

const ACC = UACC_PER_ACC;

interface AgentSetup extends Setup {
  home: string;
  dir: string;
  /** An attestation file for alice issued by the chain's authority, valid from genesis time for 30 days. */
  attestation: string;
  authorityFile: string;
  consensusKeyFile: string;
}

async function agentSetup(t: Test): Promise<AgentSetup> {
  const authority = seededKey(99);
  const base = await setup(t, {
    fund: 100_000n * ACC,
    params: (p) => {
      p.agents.attestation_authorities = { test: toHex(authority.publicKey) };
    },
  });
  const home = await homeWithKeys(t, base.fx);
  const dir = tempDir();
  t.teardown(dir.remove);
  const authorityFile = join(dir.path, 'authority.json');
  await writeFile(authorityFile, JSON.stringify(keyFileToJSON(authority)));
  const consensusKeyFile = join(dir.path, 'priv_validator_key.json');
  await writeFile(consensusKeyFile, JSON.stringify(keyFileToJSON(seededKey(70))));
  const attestation = join(dir.path, 'attestation.json');
  // `agent attest` as the authority would run it; issued at genesis time so that it is valid at the test chain's block times.
  const issued = await cli(
    'agent', 'attest', '--authority-key', authorityFile, '--pub-key', toHex(base.fx.users[0].publicKey), '--chain-id', base.app.genesis.chainId,
    '--issued-at', formatTime(base.app.genesis.genesisTime),
  );
  t.equal(issued.code, 0, issued.stderr);
  await writeFile(attestation, issued.stdout);
  return { ...base, home, dir: dir.path, attestation, authorityFile, consensusKeyFile };
}

t.test('tx agent register, tx staking stake/unstake, tx agent renew/deregister, and the queries that show them', async (t) => {
  const s = await agentSetup(t);
  const { fx, app, node, home } = s;
  const alice = toHex(addr(fx.users[0]));
  const p = fx.genesis.appParams;
  const common = ['--from', 'alice', '--home', home, '--node', node.url];

  const reg = await cli(
    'tx', 'agent', 'register', ...common, '--attestation', s.attestation, '--cpu-cores', '16', '--gpu-memory-mb', '24576',
    '--llm-tokens-per-second', '900', '--models', 'llama-3-70b,mistral-7b', '--skills', 'code-review', '--commit',
  );
  t.equal(reg.code, 0, reg.stderr);
  t.equal(reg.json.tx_result.code, 0, 'the registration succeeded in its block');
  t.ok(node.seen.includes('params'), 'the default bond and the gas came from the params');
  const gasWanted = BigInt(reg.json.tx_result.gas_wanted);
  t.ok(gasWanted >= BigInt(reg.json.tx_result.gas_used) && BigInt(reg.json.tx_result.gas_used) > p.fees.msg_gas.register_agent, 'the gas limit covers the message\'s schedule entry');
  const record = (await agentsRepo.get(app.store, addr(fx.users[0])))!;
  t.equal(record.bond, p.agents.bond, 'the default bond is the chain\'s agents.bond');

  const shown = await cli('query', 'agent', 'alice', '--home', home, '--node', node.url);
  t.equal(shown.code, 0, shown.stderr);
  t.equal(shown.json.address, alice);
  t.equal(shown.json.status, 'active');
  t.equal(shown.json.bond, p.agents.bond.toString());
  t.same(shown.json.capabilities, { cpu_cores: 16, gpu_memory_mb: '24576', llm_tokens_per_second: '900', models: ['llama-3-70b', 'mistral-7b'], skills: ['code-review'] });
  t.equal(shown.json.attestation.kind, 'authority');
  t.equal(shown.json.attestation.valid, true);
  t.equal(shown.json.attestation.expires_at, formatTime(app.genesis.genesisTime + 30n * 86_400n * 1_000_000_000n));
  t.equal(shown.json.validator, null);
  t.same((await cli('query', 'agent', alice, '--node', node.url)).json, shown.json, 'by address too');

  const listed = await cli('query', 'agents', '--status', 'active', '--capability', 'gpu', '--per-page', '10', '--page', '1', '--node', node.url);
  t.equal(listed.code, 0, listed.stderr);
  t.same(listed.json.agents.map((a: { address: string }) => a.address), [alice]);
  t.equal(listed.json.total, '1');
  t.equal((await cli('query', 'agents', '--node', node.url)).json.total, '2', 'alice and the genesis validator');

  // Stake with a node's consensus key; the validator record appears.
  const cons = toHex(addr(seededKey(70)));
  const stake = await cli('tx', 'staking', 'stake', '1500acc', ...common, '--consensus-key', s.consensusKeyFile, '--moniker', 'alice-val');
  t.equal(stake.code, 0, stake.stderr);
  t.equal(stake.json.code, 0);
  t.equal((await cli('query', 'agent', 'alice', '--home', home, '--node', node.url)).json.validator, cons);
  const v = await cli('query', 'validator', cons, '--node', node.url);
  t.equal(v.code, 0, v.stderr);
  t.equal(v.json.address, cons);
  t.equal(v.json.operator, alice);
  t.equal(v.json.name, 'alice-val');
  t.equal(v.json.stake, (1_500n * ACC).toString());
  t.equal(v.json.status, 'unbonded', 'power comes at the next epoch');
  t.equal(v.json.reputation_factor_decimal, '1.000000');
  t.same(v.json.pub_key, { type: 'tendermint/PubKeyEd25519', value: toBase64(seededKey(70).publicKey) });

  // A second stake adds to it (the consensus key is already fixed); then unstake part of it.
  t.equal((await cli('tx', 'staking', 'stake', '500000000', ...common, '--commit')).code, 0);
  t.equal((await cli('query', 'validator', cons, '--node', node.url)).json.stake, (2_000n * ACC).toString());
  const unstake = await cli('tx', 'staking', 'unstake', '1000acc', ...common, '--commit');
  t.equal(unstake.code, 0, unstake.stderr);
  const after = await cli('query', 'agent', 'alice', '--home', home, '--node', node.url);
  t.same(after.json.unbonding.map((u: { kind: string; amount: string }) => [u.kind, u.amount]), [['stake', (1_000n * ACC).toString()]]);
  t.equal((await cli('query', 'validator', cons, '--node', node.url)).json.stake, (1_000n * ACC).toString());

  // The chain refuses what its rules forbid: the command fails with the tx's own code.
  const jail = await cli('tx', 'staking', 'unjail', ...common);
  t.equal(jail.code, 1);
  t.match(jail.stderr, /^error \[VALIDATOR_STATE\]: the node refused the tx: validator [0-9A-F]{40} is not jailed \(code 106, codespace agentcluster; tx [0-9A-F]{64}\)\n$/);
  const small = await cli('tx', 'staking', 'unstake', '999acc', ...common);
  t.equal(small.code, 1);
  t.match(small.stderr, /^error \[STAKE_TOO_SMALL\]: /);
  const notAgent = await cli('tx', 'staking', 'stake', '1000acc', '--from', 'bob', '--home', home, '--node', node.url);
  t.equal(notAgent.code, 1);
  t.match(notAgent.stderr, /^error \[NOT_AN_AGENT\]: .* is not a registered agent/);
  const again = await cli('tx', 'agent', 'register', ...common, '--attestation', s.attestation);
  t.equal(again.code, 1);
  t.match(again.stderr, /^error \[ALREADY_REGISTERED\]: /);

  // Renew with a fresh attestation (a later issue time): the expiry moves.
  const renewFile = join(s.dir, 'renew.json');
  const fresh = await cli(
    'agent', 'attest', '--authority-key', s.authorityFile, '--pub-key', toHex(fx.users[0].publicKey), '--chain-id', app.genesis.chainId,
    '--issued-at', formatTime(app.head().time), '--valid-for', '86400',
  );
  await writeFile(renewFile, fresh.stdout);
  const renew = await cli('tx', 'agent', 'renew', ...common, '--attestation', renewFile, '--commit');
  t.equal(renew.code, 0, renew.stderr);
  t.equal((await cli('query', 'agent', 'alice', '--home', home, '--node', node.url)).json.attestation.expires_at, fresh.json.expires_at);

  // Deregistering needs the stake gone first; then the bond unbonds.
  const early = await cli('tx', 'agent', 'deregister', ...common);
  t.equal(early.code, 1);
  t.match(early.stderr, /^error \[VALIDATOR_STATE\]: .*unstake it all first/);
  t.equal((await cli('tx', 'staking', 'unstake', '1000acc', ...common)).code, 0);
  const dereg = await cli('tx', 'agent', 'deregister', ...common, '--commit');
  t.equal(dereg.code, 0, dereg.stderr);
  const gone = await cli('query', 'agent', 'alice', '--home', home, '--node', node.url);
  t.equal(gone.json.status, 'unbonding');
  t.equal(gone.json.bond, '0');
  t.same(gone.json.unbonding.map((u: { kind: string }) => u.kind).sort(), ['bond', 'stake', 'stake']);
  t.same((await cli('query', 'agents', '--status', 'unbonding', '--node', node.url)).json.agents.map((a: { address: string }) => a.address), [alice]);

  // Not found: exit 1, NOT_FOUND, the node's sentence.
  const bob = toHex(addr(fx.users[1]));
  const missing = await cli('query', 'agent', 'bob', '--home', home, '--node', node.url);
  t.equal(missing.code, 1);
  t.equal(missing.stderr, `error [NOT_FOUND]: the node at ${node.url} refused agent: Internal error (-32603): agent ${bob} not found\n`);
  const noValidator = await cli('query', 'validator', bob, '--node', node.url);
  t.equal(noValidator.code, 1);
  t.match(noValidator.stderr, /^error \[NOT_FOUND\]: .*validator [0-9A-F]{40} not found\n$/);
  const badFilter = await cli('query', 'agents', '--capability', 'Not A Tag', '--node', node.url);
  t.equal(badFilter.code, 1);
  t.match(badFilter.stderr, /^error \[INVALID_FIELD\]: .*Invalid params \(-32602\): capability must be a model or skill tag/);
});

t.test('tx staking stake: --consensus-pub-key, and the agent key by default', async (t) => {
  const s = await agentSetup(t);
  const { fx, app, node, home } = s;
  const common = ['--from', 'alice', '--home', home, '--node', node.url];
  t.equal((await cli('tx', 'agent', 'register', ...common, '--attestation', s.attestation, '--bond', '10001acc')).code, 0);
  t.equal((await agentsRepo.get(app.store, addr(fx.users[0])))!.bond, 10_001n * ACC, '--bond above the minimum');
  const key = seededKey(71);
  // With only the consensus public key the CLI cannot derive the beacon's BLS key: the chain refuses a first stake
  // without one, with a code saying what to send.
  const noBls = await cli('tx', 'staking', 'stake', '1000acc', ...common, '--consensus-pub-key', toHex(key.publicKey));
  t.equal(noBls.code, 1);
  t.match(noBls.stderr, /^error \[BAD_BLS_KEY\]: .*first stake must carry bls_pub_key/);
  const r = await cli('tx', 'staking', 'stake', '1000acc', ...common, '--consensus-pub-key', '0x' + toHex(key.publicKey).toLowerCase(), '--bls-pub-key', toHex(blsKeyOf(key)));
  t.equal(r.code, 0, r.stderr);
  t.equal(toHex((await validatorsRepo.get(app.store, addr(key)))!.blsPubKey), toHex(blsKeyOf(key)), 'the validator holds the BLS key given');
  const v = (await cli('query', 'validator', toHex(addr(key)), '--node', node.url)).json;
  t.equal(v.operator, toHex(addr(fx.users[0])));
  t.equal(v.name, toHex(addr(fx.users[0])).slice(0, 12), 'no moniker: the address\'s first 12 hex digits');
  // bob registers and stakes without a consensus key: his own key is the consensus key.
  const bobAtt = join(s.dir, 'bob.json');
  const issued = await cli('agent', 'attest', '--authority-key', s.authorityFile, '--pub-key', toHex(fx.users[1].publicKey), '--chain-id', app.genesis.chainId, '--issued-at', formatTime(app.genesis.genesisTime));
  await writeFile(bobAtt, issued.stdout);
  const bobArgs = ['--from', 'bob', '--home', home, '--node', node.url];
  t.equal((await cli('tx', 'agent', 'register', ...bobArgs, '--attestation', bobAtt)).code, 0);
  t.equal((await cli('tx', 'staking', 'stake', '1000acc', ...bobArgs)).code, 0);
  t.equal((await cli('query', 'agent', 'bob', '--home', home, '--node', node.url)).json.validator, toHex(addr(fx.users[1])));
  t.equal(toHex((await validatorsRepo.get(app.store, addr(fx.users[1])))!.blsPubKey), toHex(blsKeyOf(fx.users[1])), 'the CLI derived the BLS key from the agent key');
  // another agent may not take alice's consensus key
  const taken = await cli('tx', 'staking', 'stake', '1000acc', ...bobArgs, '--consensus-pub-key', toHex(key.publicKey));
  t.equal(taken.code, 1);
  t.match(taken.stderr, /^error \[VALIDATOR_STATE\]: .*cannot change/);
});

t.test('tx agent / tx staking / query agents|validator|validators: argument checks', async (t) => {
  const s = await agentSetup(t);
  const { node, home } = s;
  const common = ['--from', 'alice', '--home', home, '--node', node.url];
  const reg = ['tx', 'agent', 'register', ...common, '--attestation', s.attestation];
  const usage: Array<[string[], RegExp]> = [
    [['tx', 'agent', 'register', '--home', home, '--attestation', s.attestation], /missing required option --from NAME/],
    [['tx', 'agent', 'register', ...common], /missing required option --attestation FILE/],
    [[...reg, '--models', 'Llama'], /--models: tag "Llama" must be 1-64 characters/],
    [[...reg, '--skills', 'a,,b'], /--skills: tag "" must be/],
    [[...reg, '--skills', 'a,b,a'], /--skills lists "a" twice/],
    [[...reg, '--cpu-cores', '4294967296'], /--cpu-cores must be an integer from 0 to 4294967295/],
    [[...reg, '--gpu-memory-mb=-1'], /--gpu-memory-mb must be an integer from 0/],
    [[...reg, '--llm-tokens-per-second', 'fast'], /--llm-tokens-per-second must be an integer/],
    [[...reg, '--bond', '1.5'], /--bond: amount must be an integer number of uacc/],
    [[...reg, '--bond', '0'], /--bond must be more than 0/],
    [[...reg, '--sync', '--async'], /choose one of --sync, --async, --commit/],
    [['tx', 'agent', 'renew', ...common], /missing required option --attestation FILE/],
    [['tx', 'agent', 'deregister', '--from', 'alice'], /missing required option --home DIR/],
    [['tx', 'agent', 'frob'], /unknown command 'tx agent frob'/],
    [['tx', 'staking', 'stake', ...common], /missing argument AMOUNT/],
    [['tx', 'staking', 'stake', '0', ...common], /AMOUNT must be more than 0/],
    [['tx', 'staking', 'stake', 'lots', ...common], /AMOUNT: amount must be/],
    [['tx', 'staking', 'stake', '1acc', ...common, '--consensus-key', s.consensusKeyFile, '--consensus-pub-key', 'AB'.repeat(32)], /not both/],
    [['tx', 'staking', 'stake', '1acc', ...common, '--consensus-pub-key', 'AB'], /--consensus-pub-key must be an ed25519 public key as 64 hex characters/],
    [['tx', 'staking', 'stake', '1acc', ...common, '--consensus-pub-key', '00'.repeat(32)], /--consensus-pub-key is not a valid ed25519 public key/],
    [['tx', 'staking', 'stake', '1acc', ...common, '--moniker', 'x'.repeat(65)], /--moniker must be 1-64 printable ASCII characters/],
    [['tx', 'staking', 'unstake', ...common], /missing argument AMOUNT/],
    [['tx', 'staking', 'unjail', ...common, 'extra'], /unexpected argument 'extra'/],
    [['query', 'agent', 'alice', '--node', node.url], /ADDRESS\|KEYNAME must be an address \(40 hex characters\) or a key name with --home DIR/],
    [['query', 'agents', '--status', 'jailed', '--node', node.url], /--status must be one of active, unbonding, validator, got "jailed"/],
    [['query', 'agents', '--page', '0', '--node', node.url], /--page must be an integer from 1 up/],
    [['query', 'agents', '--per-page', '101', '--node', node.url], /--per-page must be an integer from 1 to 100/],
    [['query', 'validator', 'alice', '--node', node.url], /ADDRESS must be a consensus address \(40 hex characters\)/],
    [['query', 'validators', 'x', '--node', node.url], /HEIGHT must be a positive integer/],
  ];
  for (const [argv, message] of usage) {
    const r = await cli(...argv);
    t.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    t.match(r.stderr, message);
    t.equal(r.stdout, '');
  }
  // Failures that are not the command line's: exit 1 with the error's code, before anything is broadcast.
  const failures: Array<[string[], RegExp]> = [
    [[...reg, '--bond', '5000acc'], /^error \[BOND_TOO_SMALL\]: --bond 5000000000 uacc is below the chain's agents\.bond of 10000000000 uacc \(10000 ACC\)/],
    [[...reg, '--models', Array.from({ length: 17 }, (_, i) => `m${i}`).join(',')], /^error \[INVALID_FIELD\]: --models lists 17 tags; the chain allows at most agents\.max_tags = 16/],
    [['tx', 'agent', 'register', ...common, '--attestation', join(s.dir, 'nope.json')], /^error \[NOT_FOUND\]: .*nope\.json does not exist/],
    [['tx', 'agent', 'register', '--from', 'carol', '--home', home, '--attestation', s.attestation, '--node', node.url], /^error \[NOT_FOUND\]: no key named 'carol'/],
    [['tx', 'staking', 'stake', '1acc', ...common, '--consensus-key', join(s.dir, 'nope.json')], /^error \[NOT_FOUND\]: .*nope\.json does not exist/],
    [['tx', 'staking', 'stake', '1acc', ...common, '--consensus-key', s.attestation], /^error \[BAD_KEY\]: /],
  ];
  for (const [argv, message] of failures) {
    const r = await cli(...argv);
    t.equal(r.code, 1, `${argv.join(' ')}: ${r.stderr}`);
    t.match(r.stderr, message);
  }
  t.equal(node.seen.filter((m) => m.startsWith('broadcast')).length, 0, 'nothing was broadcast');

  // help for every new command
  for (const path of [['tx', 'agent'], ['tx', 'agent', 'register'], ['tx', 'agent', 'deregister'], ['tx', 'agent', 'renew'], ['tx', 'staking'], ['tx', 'staking', 'stake'], ['tx', 'staking', 'unstake'], ['tx', 'staking', 'unjail'], ['query', 'agent'], ['query', 'agents'], ['query', 'validator'], ['query', 'validators']]) {
    const help = await cli(...path, '--help');
    t.equal(help.code, 0);
    t.match(help.stdout, new RegExp(`^Usage: agentcluster ${path.join(' ')}`));
  }
});

t.test('query validators: every page merged, with the state fields', async (t) => {
  const { node } = await setup(t);
  node.cannedValidators = 130;
  const r = await cli('query', 'validators', '--node', node.url);
  t.equal(r.code, 0, r.stderr);
  t.same(Object.keys(r.json), ['block_height', 'validators', 'count', 'total']);
  t.equal(r.json.validators.length, 130);
  t.equal(r.json.count, '130');
  t.same(Object.keys(r.json.validators[0]), ['address', 'pub_key', 'voting_power', 'proposer_priority', 'stake', 'reputation_factor', 'operator', 'name']);
  const at = await cli('query', 'validators', '7', '--node', node.url);
  t.equal(at.json.block_height, '7');
});

t.test('tx agent register holds back an attestation issued after the chain\'s latest block time', async (t) => {
  const s = await agentSetup(t);
  const { fx, app, node, home } = s;
  const file = join(s.dir, 'ahead.json');
  const ahead = await cli(
    'agent', 'attest', '--authority-key', s.authorityFile, '--pub-key', toHex(fx.users[0].publicKey), '--chain-id', app.genesis.chainId,
    '--issued-at', formatTime(app.head().time + 2_000_000_000n),
  );
  await writeFile(file, ahead.stdout);
  // The chain's time moves on by two blocks of one second while the command waits.
  const timers = [300, 700].map((ms) => setTimeout(() => void nextBlock(app, []), ms));
  t.teardown(() => timers.forEach(clearTimeout));
  const before = node.seen.filter((m) => m === 'status').length;
  const r = await cli('tx', 'agent', 'register', '--from', 'alice', '--home', home, '--node', node.url, '--attestation', file);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.json.code, 0, 'accepted: its block is after the issue time');
  t.ok(node.seen.filter((m) => m === 'status').length - before >= 3, 'it polled the node\'s status until the chain caught up');
  t.equal((await agentsRepo.get(app.store, addr(fx.users[0])))!.attestationKind, 'authority');
});
