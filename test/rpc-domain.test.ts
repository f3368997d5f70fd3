// Domain methods (account, supply, params and the family of later issues) and abci_info / abci_query, called
// directly on a real App (LevelDB in a temp dir, blocks with transfers): values, encodings, every parameter check,
// and state proofs at the latest height, at older heights and of absent keys, checked with verifyProof against app
// hashes recorded by the test itself as the blocks were committed.
import t from 'tap';
import type { Test } from 'tap';
import { readFile } from 'node:fs/promises';
import { addressOf } from '../src/crypto/keys.ts';
import { concat, fromBase64, toBase64, toHex } from '../src/crypto/bytes.ts';
import { AccountCodec, SupplyInfoCodec, type Account } from '../src/codec/types.ts';
import { accounts, getAccount, moduleAddress, ModuleAccount } from '../src/state/accounts.ts';
import { checkSupply, vesting } from '../src/state/economics.ts';
import { appParamsToJSON } from '../src/state/genesis.ts';
import { TOTAL_SUPPLY_UACC } from '../src/state/params.ts';
import { decodeProof, encodeProof, verifyProof } from '../src/state/smt.ts';
import type { App } from '../src/state/app.ts';
import { RpcCode, type Args, type MethodTable } from '../src/rpc/types.ts';
import type { RpcContext } from '../src/rpc/context.ts';
import {
  addressParam,
  defineListMethod,
  defineRecordMethod,
  pageOf,
  pending,
  stableRead,
  wordFilter,
} from '../src/rpc/domain.ts';
import { allDomainMethods } from '../src/rpc/domain-tasks.ts';
import { abciMethods, appHashAt, QUERY_PATHS, SMT_PROOF_TYPE, type AbciQueryResponseJSON } from '../src/rpc/abci.ts';
import { fixture, nextBlock, openApp, send, type Fixture } from './helpers/chain.ts';
import { stateOnlyRpcContext } from './helpers/rpc-context.ts';
import { callCtx, rpcError } from './helpers/inproc.ts';

const addr = (k: { publicKey: Uint8Array }) => addressOf(k.publicKey);
const PKG = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };



async function call(table: MethodTable, method: string, args: Args = {}): Promise<any> {
  const m = table[method];
  if (m === undefined) throw new Error(`no method ${method}`);
  return m.handler(args, callCtx());
}

interface Chain {
  fx: Fixture;
  app: App;
  table: MethodTable;
  /** App hash of the state after each height, recorded by the test as the blocks committed. */
  appHashes: Map<bigint, Uint8Array>;
  /** Accounts as they stood after each height. */
  snapshots: Map<bigint, Map<string, Account>>;
  ctx: RpcContext;
}

async function chain(t: Test): Promise<Chain> {
  const fx = fixture();
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const ctx = stateOnlyRpcContext(app);
  const table = { ...allDomainMethods(ctx), ...abciMethods(ctx) };
  const appHashes = new Map<bigint, Uint8Array>();
  const snapshots = new Map<bigint, Map<string, Account>>();
  const record = async () => {
    const head = app.head();
    appHashes.set(head.height, head.appHash);
    const snap = new Map<string, Account>();
    for (const u of [...fx.users, fx.validator]) snap.set(toHex(addr(u)), await getAccount(app.store, addr(u)));
    snapshots.set(head.height, snap);
  };
  await record();
  const [alice, bob, carol] = fx.users;
  await nextBlock(app, [send(alice, bob, 1_000n, 0n), send(bob, carol, 7n, 0n, { gasPrice: 3n })]);
  await record();
  await nextBlock(app, [send(alice, carol, 250_000n, 1n)]);
  await record();
  await nextBlock(app, []);
  await record();
  return { fx, app, ctx, table, appHashes, snapshots };
}

t.test('account: balance and nonce as decimal strings, address upper-case hex, vesting when there is one', async (t) => {
  const { fx, app, table } = await chain(t);
  const alice = addr(fx.users[0]);
  const acc = await getAccount(app.store, alice);
  t.same(await call(table, 'account', { address: toHex(alice) }), { address: toHex(alice), balance: acc.balance.toString(), nonce: '2', next_nonce: '2', vesting: null });
  // lower case and 0x are accepted; the answer is upper case
  t.equal((await call(table, 'account', { address: '0x' + toHex(alice).toLowerCase() })).address, toHex(alice));

  const team = addr(fx.team);
  const v = (await vesting.get(app.store, team))!;
  const got = await call(table, 'account', { address: toHex(team) });
  t.equal(got.balance, '0', 'nothing released before the cliff');
  t.same(got.vesting, {
    total: v.total.toString(),
    released: '0',
    unvested: v.total.toString(),
    start_time: '2025-11-24T16:00:00.000000000Z',
    cliff_time: '2026-11-24T16:00:00.000000000Z',
    end_time: '2029-11-23T16:00:00.000000000Z',
  });

  const unknown = new Uint8Array(20).fill(0xab);
  t.same(await call(table, 'account', { address: toHex(unknown) }), { address: toHex(unknown), balance: '0', nonce: '0', next_nonce: '0', vesting: null }, 'an unknown address is an empty account, not an error');
});

t.test('account: next_nonce counts the sender\'s txs pending in the mempool; nonce does not', async (t) => {
  const { fx, ctx, table } = await chain(t);
  const [alice, bob] = fx.users;
  for (const nonce of [2n, 3n]) t.equal((await ctx.mempool.checkTx(send(alice, bob, 5n, nonce))).code, 0, `pending tx with nonce ${nonce} admitted`);
  const got = await call(table, 'account', { address: toHex(addr(alice)) });
  t.equal(got.nonce, '2', 'the committed nonce');
  t.equal(got.next_nonce, '4', 'two txs pending: the next one carries 4');
  t.equal((await call(table, 'account', { address: toHex(addr(bob)) })).next_nonce, '1', 'a sender with nothing pending: its nonce');
});

t.test('account: every bad address is -32602 with a sentence', async (t) => {
  const { table } = await chain(t);
  for (const address of [undefined, '', 'AB'.repeat(19), 'AB'.repeat(21), 'ZZ'.repeat(20), 'AB'.repeat(20) + ' ', 42n, true, new Uint8Array(20)]) {
    const err = await rpcError(call(table, 'account', { address }));
    t.equal(err.code, RpcCode.INVALID_PARAMS, String(address));
    t.equal(err.message, 'Invalid params');
    t.match(err.data, /^address must be 40 hex characters/, err.data);
  }
});

t.test('supply: the breakdown adds up to 10^15 uacc and matches the state', async (t) => {
  const { app, table } = await chain(t);
  const s = await call(table, 'supply');
  const b = await checkSupply(app.store);
  t.equal(s.total, TOTAL_SUPPLY_UACC.toString());
  t.equal(s.total, '1000000000000000');
  const parts = [s.liquid, s.pools_total, s.bonded, s.staked, s.unbonding, s.slash_escrow, s.tasks, s.governance, s.unvested, s.burned];
  t.equal(parts.reduce((sum: bigint, v: string) => sum + BigInt(v), 0n), BigInt(s.total), 'liquid + pools + bonded + staked + unbonding + slash escrow + tasks + governance + unvested + burned = total');
  t.same(parts, [b.liquid, b.modulesTotal, b.bonded, b.staked, b.unbonding, b.slashEscrow, b.tasks, b.governance, b.unvested, b.burned].map(String));
  // circulating: everything out of the reserves (total - burned - module accounts - unvested), locked or liquid
  const held = [s.liquid, s.bonded, s.staked, s.unbonding, s.slash_escrow, s.tasks, s.governance].reduce((sum: bigint, v: string) => sum + BigInt(v), 0n);
  t.equal(BigInt(s.circulating), held, 'circulating = liquid + bonded + staked + unbonding + slash escrow + tasks + governance');
  t.equal(BigInt(s.circulating), BigInt(s.total) - BigInt(s.burned) - BigInt(s.pools_total) - BigInt(s.unvested), 'circulating = total - burned - pools - unvested');
  t.equal(BigInt(s.min_proposal_deposit), (BigInt(s.circulating) * 100n + 9999n) / 10_000n, 'min_proposal_deposit: 1% of circulating, rounded up');
  t.ok(BigInt(s.burned) > 0n, 'the fees of the transfers burned something');
  t.same(Object.keys(s.pools), [
    'validators', 'compute_providers', 'marketplace', 'review_committees', 'treasury',
    'rewards/compute_providers', 'rewards/marketplace', 'rewards/review_committees', 'fee_collector',
  ]);
  t.equal(Object.values(s.pools as Record<string, string>).reduce((sum, v) => sum + BigInt(v), 0n), BigInt(s.pools_total));
  t.equal(s.pools.treasury, (await getAccount(app.store, moduleAddress(ModuleAccount.TREASURY))).balance.toString());
  t.equal(s.height, app.head().height.toString());
  for (const v of [s.total, ...parts, ...Object.values(s.pools)]) t.match(v, /^(0|[1-9][0-9]*)$/);
});

t.test('params: the app params JSON, as in genesis', async (t) => {
  const { fx, table } = await chain(t);
  const p = await call(table, 'params');
  t.same(p, appParamsToJSON(fx.genesis.appParams));
  t.equal(p.fees.min_gas_price, '1');
  t.equal(p.supply.total_supply, '1000000000000000');
});

t.test('the family of later issues: every method real now, parameters checked with a sentence', async (t) => {
  const { table } = await chain(t);
  // agent, agents and validator are real since issue 6 (test/agents-rpc.test.ts).
  t.ok(['agent', 'agents', 'validator'].every((m) => m in table));
  // task, committee and reputation are real since issue 7 (test/tasks-rpc.test.ts), proposal(s) and upgrade_plan since
  // issue 8 (test/gov-rpc.test.ts): an unknown task or proposal is not found.
  for (const [method, args, noun] of [['task', { id: 7n }, 'task'], ['committee', { task_id: 7n }, 'task'], ['proposal', { id: 7n }, 'proposal']] as const) {
    const err = await rpcError(call(table, method, args));
    t.equal(err.code, RpcCode.INTERNAL_ERROR, method);
    t.equal(err.data, `${noun} 7 not found`);
  }
  t.same(await call(table, 'upgrade_plan'), { name: null, height: null, info: null, proposal_id: null });
  const badKeys: Array<[string, Args, RegExp]> = [
    ['agent', { address: 'nope' }, /^address must be 40 hex characters/],
    ['validator', { address: 'nope' }, /^address must be 40 hex characters/],
    ['reputation', {}, /^address must be 40 hex characters/],
    ['task', { id: -1n }, /^id must be a non-negative integer/],
    ['task', {}, /^id must be a non-negative integer/],
    ['committee', { task_id: 'x' }, /^task_id must be a non-negative integer/],
    ['proposal', { id: 2n ** 64n }, /^id must be a non-negative integer/],
  ];
  for (const [method, args, data] of badKeys) {
    const err = await rpcError(call(table, method, args));
    t.equal(err.code, RpcCode.INVALID_PARAMS, `${method} ${err.data}`);
    t.match(err.data, data);
  }

  for (const method of ['proposals', 'tasks'] as const) {
    t.same(table[method].params.slice(0, 2), [{ name: 'page', type: 'int', optional: true }, { name: 'per_page', type: 'int', optional: true }]);
    t.same(await call(table, method, { page: 1, per_page: 100 }), { [method]: [], count: '0', total: '0', height: (await call(table, 'abci_info')).response.last_block_height }, `${method}: none yet`);
    for (const [args, data] of [
      [{ page: 0 }, /^page must be an integer of 1 or more/],
      [{ page: -3 }, /^page must be an integer of 1 or more/],
      [{ per_page: 0 }, /^per_page must be an integer from 1 to 100/],
      [{ per_page: 101 }, /^per_page must be an integer from 1 to 100/],
      [{ status: 'Not A Word' }, /^status must be a lower-case word/],
      [{ status: 'open' }, /^status must be one of /],
    ] as Array<[Args, RegExp]>) {
      const e = await rpcError(call(table, method, args));
      t.equal(e.code, RpcCode.INVALID_PARAMS, `${method} ${e.data}`);
      t.match(e.data, data);
    }
  }
  t.match((await rpcError(call(table, 'tasks', { submitter: 'xyz' }))).data, /^submitter must be 40 hex characters/);
  t.match((await rpcError(call(table, 'tasks', { assignee: '12' }))).data, /^assignee must be 40 hex characters/);
  t.match((await rpcError(call(table, 'agents', { capability: 'GPU!' }))).data, /^capability must be a model or skill tag/);
  t.match((await rpcError(call(table, 'agents', { status: 'open' }))).data, /^status must be one of active, unbonding, validator/);
});

t.test('agent, agents, validator on a chain without registered agents: the genesis validator is one', async (t) => {
  const { fx, table } = await chain(t);
  const v = toHex(addr(fx.validator));
  const list = await call(table, 'agents', {});
  t.same(list.agents.map((a: { address: string }) => a.address), [v]);
  t.equal((await call(table, 'agent', { address: v })).attestation.kind, 'genesis');
  t.equal((await call(table, 'validator', { address: v })).status, 'bonded');
  const missing = await rpcError(call(table, 'agent', { address: toHex(addr(fx.users[0])) }));
  t.equal(missing.code, RpcCode.INTERNAL_ERROR);
  t.equal(missing.data, `agent ${toHex(addr(fx.users[0]))} not found`);
});

t.test('the registry with a reader: what a later issue adds (record, not found, paging, filters)', async (t) => {
  const { fx, app } = await chain(t);
  // "widgets": the accounts, read as a later module would read its own namespace.
  const widget = defineRecordMethod(app, {
    name: 'widget',
    noun: 'widget',
    key: addressParam('address'),
    read: (view, a) => accounts.get(view.state, a),
    encode: (acc, a) => ({ address: toHex(a), balance: acc.balance.toString() }),
  });
  const widgets = defineListMethod(app, {
    name: 'widgets',
    items: 'widgets',
    filters: [wordFilter('kind', 'rich', ['rich', 'poor'])],
    async list(view, filters, page) {
      let all = await accounts.all(view.state);
      if (filters.kind === 'rich') all = all.filter(([, a]) => a.balance >= 1_000_000n);
      return pageOf(all, page);
    },
    encode: ([a, acc]) => ({ address: toHex(a), balance: acc.balance.toString() }),
  });
  const table: MethodTable = { widget, widgets };
  const alice = addr(fx.users[0]);
  t.same(await call(table, 'widget', { address: toHex(alice) }), { address: toHex(alice), balance: (await getAccount(app.store, alice)).balance.toString() });
  const missing = await rpcError(call(table, 'widget', { address: '00'.repeat(20) }));
  t.equal(missing.code, RpcCode.INTERNAL_ERROR);
  t.equal(missing.data, `widget ${'00'.repeat(20)} not found`);

  const total = (await accounts.all(app.store)).length;
  t.ok(total > 3);
  const first = await call(table, 'widgets', {});
  t.equal(first.total, String(total));
  t.equal(first.count, String(total), 'default per_page 30 holds them all');
  t.equal(first.height, app.head().height.toString());
  const p1 = await call(table, 'widgets', { per_page: 2 });
  const p2 = await call(table, 'widgets', { page: 2, per_page: 2 });
  t.equal(p1.count, '2');
  t.same([...p1.widgets, ...p2.widgets], first.widgets.slice(0, 4), 'pages follow each other');
  const last = Math.ceil(total / 2);
  t.equal((await call(table, 'widgets', { page: last, per_page: 2 })).count, String(total - 2 * (last - 1)));
  const past = await rpcError(call(table, 'widgets', { page: last + 1, per_page: 2 }));
  t.equal(past.code, RpcCode.INVALID_PARAMS);
  t.equal(past.data, `page ${last + 1} is past the last page ${last} (${total} in all, per_page 2)`);
  t.match((await rpcError(call(table, 'widgets', { kind: 'medium' }))).data, /^kind must be one of rich, poor/);
  const rich = await call(table, 'widgets', { kind: 'rich', per_page: 100 });
  t.ok(rich.widgets.every((w: { balance: string }) => BigInt(w.balance) >= 1_000_000n));
  t.ok(Number(rich.total) < total);

  // An entry whose module does not exist yet: its parameters are checked, then -32601 says which issue brings it.
  const later = defineRecordMethod(app, { name: 'gadget', noun: 'gadget', key: addressParam('address'), read: pending('gadgets arrive with issue 99'), encode: () => ({}) });
  const laterList = defineListMethod(app, { name: 'gadgets', items: 'gadgets', filters: [wordFilter('kind', 'big')], list: pending('gadgets arrive with issue 99'), encode: () => ({}) });
  t.match((await rpcError(Promise.resolve().then(() => later.handler({ address: 'nope' }, callCtx())))).data, /^address must be 40 hex characters/);
  t.match((await rpcError(Promise.resolve().then(() => laterList.handler({ page: 0 }, callCtx())))).data, /^page must be an integer of 1 or more/);
  for (const [m, name] of [[later, 'gadget'], [laterList, 'gadgets']] as const) {
    const e = await rpcError(Promise.resolve().then(() => m.handler(m === later ? { address: toHex(alice) } : {}, callCtx())));
    t.equal(e.code, RpcCode.METHOD_NOT_FOUND, name);
    t.equal(e.data, `${name} is not available on this node yet: gadgets arrive with issue 99`);
  }

  const empty = defineListMethod(app, { name: 'none', items: 'none', filters: [], list: async (_v, _f, page) => pageOf([], page), encode: () => ({}) });
  t.same(await empty.handler({}, callCtx()), { none: [], count: '0', total: '0', height: app.head().height.toString() }, 'page 1 of nothing is an empty page');

  const err = await rpcError(stableRead(app, async () => 1, () => false));
  t.equal(err.code, RpcCode.INTERNAL_ERROR, 'a read that never settles gives up with a sentence');
  t.match(err.data, /retry/);
});

t.test('abci_info: CometBFT shape, last height and app hash of the latest state', async (t) => {
  const { app, table } = await chain(t);
  const head = app.head();
  t.same(await call(table, 'abci_info'), {
    response: {
      data: 'agentcluster',
      version: PKG.version,
      app_version: '1',
      last_block_height: head.height.toString(),
      last_block_app_hash: toBase64(head.appHash),
    },
  });
});

function checkProof(r: AbciQueryResponseJSON, appHash: Uint8Array): boolean {
  t.equal(r.proofOps!.ops.length, 1);
  const op = r.proofOps!.ops[0];
  t.equal(op.type, SMT_PROOF_TYPE);
  t.equal(op.key, r.key);
  return verifyProof(appHash, fromBase64(r.key!), r.value === null ? null : fromBase64(r.value), decodeProof(fromBase64(op.data)));
}

t.test('abci_query at the latest height: the record, its state key, and a proof that verifies', async (t) => {
  const { fx, app, table, appHashes } = await chain(t);
  const alice = addr(fx.users[0]);
  const head = app.head();
  const { response: r } = await call(table, 'abci_query', { path: '/account', data: alice, prove: true });
  t.same(Object.keys(r), ['code', 'log', 'info', 'index', 'key', 'value', 'proofOps', 'height', 'codespace'], 'CometBFT v0.38 ResponseQuery fields, in order');
  t.equal(r.code, 0);
  t.equal(r.log, 'exists');
  t.equal(r.index, '0');
  t.equal(r.codespace, '');
  t.equal(r.height, head.height.toString());
  t.equal(r.key, toBase64(accounts.stateKey(alice)));
  t.same(AccountCodec.decode(fromBase64(r.value)), await getAccount(app.store, alice));
  t.ok(checkProof(r, appHashes.get(head.height)!), 'membership proof verifies against the app hash of the head');

  // height 0 and the latest height by number are the same query
  t.same((await call(table, 'abci_query', { path: '/account', data: alice, height: head.height, prove: true })).response, r);
  t.same((await call(table, 'abci_query', { path: '/account', data: alice, height: 0n, prove: true })).response, r);

  // without prove: same value, proofOps null
  const plain = (await call(table, 'abci_query', { path: '/account', data: alice })).response;
  t.equal(plain.value, r.value);
  t.equal(plain.proofOps, null);

  // /store with the raw state key answers the same
  const raw = (await call(table, 'abci_query', { path: '/store', data: accounts.stateKey(alice), prove: true })).response;
  t.same(raw, r);

  // singletons
  const supplyR = (await call(table, 'abci_query', { path: '/supply', prove: true })).response;
  t.ok(SupplyInfoCodec.decode(fromBase64(supplyR.value)).burned > 0n);
  t.ok(checkProof(supplyR, head.appHash));
  const paramsR = (await call(table, 'abci_query', { path: '/params', data: new Uint8Array(0) })).response;
  t.same(JSON.parse(Buffer.from(fromBase64(paramsR.value)).toString('utf8')), await call(table, 'params'));
  const valR = (await call(table, 'abci_query', { path: '/validator', data: addr(fx.validator), prove: true })).response;
  t.equal(valR.log, 'exists');
  t.ok(checkProof(valR, head.appHash));
  const vestR = (await call(table, 'abci_query', { path: '/vesting', data: addr(fx.team), prove: true })).response;
  t.equal(vestR.log, 'exists');
  t.ok(checkProof(vestR, head.appHash));
});

t.test('abci_query at older heights reads the state of that height, with proofs against that height\'s app hash', async (t) => {
  const { fx, app, table, appHashes, snapshots } = await chain(t);
  const head = app.head().height;
  t.equal(head, 3n);
  t.same(await appHashAt(app, 0n), appHashes.get(0n), 'the genesis state\'s app hash is recomputed from the genesis');
  t.equal(await appHashAt(app, head + 1n), undefined);
  // Height 0 means "the latest" (CometBFT): the genesis state of a chain starting at height 1 is read only while it is
  // the latest; a chain with initial_height > 1 reads it at initial_height - 1 (next test).
  for (let h = 1n; h <= head; h++) {
    t.same(await appHashAt(app, h), appHashes.get(h), `appHashAt(${h}) is the recorded app hash`);
    for (const u of fx.users.slice(0, 3)) {
      const a = addr(u);
      const { response: r } = await call(table, 'abci_query', { path: '/account', data: a, height: h, prove: true });
      t.equal(r.height, h.toString());
      t.same(AccountCodec.decode(fromBase64(r.value)), snapshots.get(h)!.get(toHex(a)), `account at height ${h}`);
      t.ok(checkProof(r, appHashes.get(h)!), `proof at height ${h} verifies against that height's app hash`);
      if (h === 1n) t.notOk(checkProof(r, appHashes.get(head)!), 'and not against a later one');
    }
  }
  // the values really differ between heights (so the test above can tell them apart); block 3 was empty, but
  // emission and rewards change the state of every block
  const alice = toHex(addr(fx.users[0]));
  t.not(snapshots.get(1n)!.get(alice)!.balance, snapshots.get(2n)!.get(alice)!.balance);
  t.same(snapshots.get(3n)!.get(alice), snapshots.get(2n)!.get(alice), 'an empty block left the accounts of the users as they were');
  t.notSame(appHashes.get(3n), appHashes.get(2n), 'and the block-level work (emission, rewards) changed the state');
});

t.test('a chain with initial_height 10: the genesis state is readable and provable at height 9', async (t) => {
  const fx = fixture();
  const { app, cleanup } = await openApp({ ...fx.genesis, initialHeight: 10n });
  t.teardown(cleanup);
  const table = abciMethods(stateOnlyRpcContext(app));
  const genesisRoot = app.head().appHash;
  t.equal(app.head().height, 9n);
  const alice = addr(fx.users[0]);
  const before = await getAccount(app.store, alice);
  await nextBlock(app, [send(fx.users[0], fx.users[1], 5n, 0n)]);
  await nextBlock(app, []);
  t.equal(app.head().height, 11n);
  t.same(await appHashAt(app, 9n), genesisRoot);
  const { response: r } = await call(table, 'abci_query', { path: '/account', data: alice, height: 9n, prove: true });
  t.equal(r.height, '9');
  t.same(AccountCodec.decode(fromBase64(r.value)), before);
  t.ok(checkProof(r, genesisRoot));
  const early = (await call(table, 'abci_query', { path: '/account', data: alice, height: 8n })).response;
  t.equal(early.code, 64);
  t.match(early.log, /^no state at height 8: the first state is the genesis state at height 9/);
});

t.test('abci_query of an absent key: value null and a non-membership proof; tampering never verifies', async (t) => {
  const { fx, app, table } = await chain(t);
  const root = app.head().appHash;
  const nobody = new Uint8Array(20).fill(0x5a);
  const { response: r } = await call(table, 'abci_query', { path: '/account', data: nobody, prove: true });
  t.equal(r.code, 0);
  t.equal(r.value, null);
  t.equal(r.log, 'does not exist');
  t.ok(checkProof(r, root), 'non-membership proof verifies with value null');
  const op = r.proofOps.ops[0];
  const proof = decodeProof(fromBase64(op.data));
  t.notOk(verifyProof(root, fromBase64(r.key), AccountCodec.encode({ balance: 1n, nonce: 0n }), proof), 'and proves no value for the key');
  // at an older height too
  t.ok(checkProof((await call(table, 'abci_query', { path: '/account', data: nobody, height: 1n, prove: true })).response, (await appHashAt(app, 1n))!));

  // tampering with a membership proof's value, proof bytes, key or app hash
  const alice = addr(fx.users[0]);
  const m = (await call(table, 'abci_query', { path: '/account', data: alice, prove: true })).response;
  const key = fromBase64(m.key);
  const value = fromBase64(m.value);
  const good = decodeProof(fromBase64(m.proofOps.ops[0].data));
  t.ok(verifyProof(root, key, value, good));
  const other = AccountCodec.encode({ ...AccountCodec.decode(value), balance: AccountCodec.decode(value).balance + 1n });
  t.notOk(verifyProof(root, key, other, good), 'a changed value does not verify');
  t.notOk(verifyProof(root, key, null, good), 'a membership proof is no non-membership proof');
  t.notOk(verifyProof(root, accounts.stateKey(addr(fx.users[1])), value, good), 'nor a proof for another key');
  const wrongRoot = root.slice();
  wrongRoot[0] ^= 1;
  t.notOk(verifyProof(wrongRoot, key, value, good), 'a changed app hash does not verify');
  const bytes = encodeProof(good);
  let rejected = 0;
  for (let i = 3; i < bytes.length; i++) {
    const bad = bytes.slice();
    bad[i] ^= 0x01;
    let ok = false;
    try {
      ok = verifyProof(root, key, value, decodeProof(bad));
    } catch {
      ok = false; // malformed after the flip: rejected too
    }
    if (!ok) rejected++;
  }
  t.equal(rejected, bytes.length - 3, 'every flipped bit of the proof body is rejected');
  const truncated = { ...good, siblings: good.siblings.slice(1) };
  t.notOk(verifyProof(root, key, value, truncated), 'a truncated proof does not verify');
});

t.test('abci_query refusals: a non-zero code and a log that says what to fix', async (t) => {
  const { app, table } = await chain(t);
  const head = app.head().height;
  const cases: Array<[Args, number, RegExp]> = [
    [{ path: '/nope' }, 4, /^unknown query path "\/nope"; use one of: \/store/],
    [{}, 4, /^unknown query path ""/],
    [{ path: '/account', data: new Uint8Array(19) }, 4, /^\/account takes data = a 20-byte address/],
    [{ path: '/supply', data: new Uint8Array(1) }, 4, /^\/supply takes no data/],
    [{ path: '/store', data: new Uint8Array(0) }, 4, /^\/store takes data = a raw state key of 1 to 256 bytes/],
    [{ path: '/store', data: new Uint8Array(257) }, 4, /^\/store takes data = a raw state key/],
    [{ path: '/supply', height: head + 1n }, 4, new RegExp(`^height ${head + 1n} is not committed yet; the latest height is ${head}`)],
  ];
  for (const [args, code, log] of cases) {
    const { response: r } = await call(table, 'abci_query', args);
    t.equal(r.code, code, r.log);
    t.equal(r.codespace, 'agentcluster');
    t.match(r.log, log);
    t.equal(r.value, null);
    t.equal(r.proofOps, null);
  }
  const neg = await rpcError(call(table, 'abci_query', { path: '/supply', height: -1n }));
  t.equal(neg.code, RpcCode.INVALID_PARAMS);
  t.match(neg.data, /^height must be 0 \(the latest state\) or a committed height/);
  // an unknown namespace through /store is simply absent
  const { response: r } = await call(table, 'abci_query', { path: '/store', data: concat(new Uint8Array([0x7f]), new Uint8Array(4)), prove: true });
  t.equal(r.code, 0);
  t.equal(r.value, null);
  t.ok(checkProof(r, app.head().appHash));
  t.same([...QUERY_PATHS.keys()], ['/store', '/account', '/vesting', '/validator', '/agent', '/signing_info', '/supply', '/params']);
});
