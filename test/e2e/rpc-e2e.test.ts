// End to end over real sockets: a real node process (`agentcluster start`) with a funded genesis, its JSON-RPC
// reached over HTTP and WebSocket by the typed client, raw HTTP for malformed input, and a separate client process that
// submits 10,000 transfers. After every bad request the node must keep committing with its state unchanged.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/index.ts';
import type { Io } from '../../src/cli/command.ts';
import { homePaths } from '../../src/node/config.ts';
import { addressOf, keyFileFromJSON } from '../../src/crypto/keys.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { buildGenesis, genesisToJSON } from '../../src/state/genesis.ts';
import { defaultAppParams } from '../../src/state/params.ts';
import { signTx } from '../../src/codec/tx.ts';
import { TxCodec } from '../../src/codec/types.ts';
import { RpcClient, RpcClientError, supplyPartsSum } from '../../src/rpc/client.ts';
import { NodeProcess } from '../helpers/proc.ts';
import { CHAIN_ID, genesisValidator, seededKey, send, sendBody } from '../helpers/chain.ts';
import { tempDir } from '../helpers/tmp.ts';

const SENDERS = 20;
const PER_SENDER = 500;
const FIRST_SEED = 100;
const FUND = 1_000_000_000n; // uacc per funded account
const LOAD_CLIENT = fileURLToPath(new URL('../helpers/load-client.ts', import.meta.url));

const quiet: Io = { stdout: { write: () => true }, stderr: { write: () => true } };

/** A home made by `init`, with a genesis that funds seededKey(FIRST_SEED ..) and the RPC on an ephemeral port. */
async function makeHome(dir: string): Promise<string> {
  const home = `${dir}/node`;
  if ((await runCli(['init', '--home', home, '--chain-id', CHAIN_ID], quiet)) !== 0) throw new Error('init failed');
  const paths = homePaths(home);
  const key = keyFileFromJSON(JSON.parse(await readFile(paths.privValidatorKeyFile, 'utf8')), paths.privValidatorKeyFile);
  const genesis = buildGenesis({
    chainId: CHAIN_ID,
    genesisTime: 1_764_000_000_000_000_000n,
    validators: [genesisValidator('node', key)],
    accounts: Array.from({ length: SENDERS + 2 }, (_, i) => ({ category: 'marketplace' as const, address: addressOf(seededKey(FIRST_SEED + i).publicKey), amount: FUND })),
    appParams: defaultAppParams(),
  });
  await writeFile(paths.genesisFile, JSON.stringify(genesisToJSON(genesis), null, 2));
  const config = await readFile(paths.configFile, 'utf8');
  await writeFile(paths.configFile, config.replace('tcp://127.0.0.1:26657', 'tcp://127.0.0.1:0').replace('/ip4/127.0.0.1/tcp/26656', '/ip4/127.0.0.1/tcp/0').replace('level = "info"', 'level = "info"'));
  return home;
}

async function post(url: string, body: string): Promise<{ status: number; json: unknown }> {
  const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await r.text();
  return { status: r.status, json: text === '' ? null : JSON.parse(text) };
}

const dir = tempDir();
t.teardown(() => dir.remove());
const home = await makeHome(dir.path);
const node = new NodeProcess(['start', '--home', home]);
t.teardown(() => node.kill());
const url = (await node.waitFor((l) => l.msg === 'rpc listening', 30_000)).url as string;
await node.waitFor((l) => l.msg === 'committed block', 30_000);
const client = new RpcClient(url, { timeoutMs: 30_000 });
t.teardown(() => client.close());

const victim = seededKey(FIRST_SEED + SENDERS); // funded, used only for rejected txs
const victimAddress = toHex(addressOf(victim.publicKey));
const other = seededKey(FIRST_SEED + SENDERS + 1); // funded, used for the accepted txs of the first test

async function height(): Promise<bigint> {
  return BigInt((await client.status()).sync_info.latest_block_height);
}

async function waitForHeight(h: bigint): Promise<void> {
  for (let i = 0; i < 100 && (await height()) < h; i++) await new Promise((r) => setTimeout(r, 100));
}

t.test('every method answers over HTTP, and a tx goes from broadcast to a proven query', async (t) => {
  const status = await client.status();
  t.equal(status.node_info.network, CHAIN_ID);
  t.match(status.node_info.version, /^0\.38\./);
  t.same(await client.health(), {});
  t.equal((await client.netInfo()).n_peers, '0');
  t.equal((await client.genesis()).genesis.chain_id, CHAIN_ID);
  const h = BigInt(status.sync_info.latest_block_height);
  const block = await client.block(h);
  t.equal(block.block.header.height, h.toString());
  t.equal((await client.blockByHash(block.block_id.hash)).block.header.height, h.toString());
  t.equal((await client.header(h)).header.app_hash, block.block.header.app_hash);
  t.equal((await client.headerByHash(block.block_id.hash)).header.height, h.toString());
  t.equal((await client.commit(h)).signed_header.header.height, h.toString());
  t.equal((await client.blockResults(h)).height, h.toString());
  t.ok((await client.blockchain(1n, h)).block_metas.length >= 1);
  t.equal((await client.validators(h)).total, '1');
  t.ok((await client.consensusParams(h)).consensus_params.block);
  t.ok((await client.consensusState()).round_state);
  t.equal((await client.numUnconfirmedTxs()).n_txs, '0');

  // a transfer through broadcast_tx_commit, then found by tx, tx_search and block_search
  const tx = send(other, victim, 1234n, 0n);
  t.equal((await client.checkTx(tx)).code, 0, 'check_tx accepts it (and does not add it)');
  const committed = await client.broadcastTxCommit(tx);
  t.equal(committed.check_tx.code, 0);
  t.equal(committed.tx_result.code, 0, committed.tx_result.log);
  t.equal(committed.hash, toHex(sha256(tx)));
  const found = await client.tx(committed.hash, true);
  t.equal(found.height, committed.height);
  t.ok(found.proof, 'with a proof');
  const search = await client.txSearch(`transfer.sender='${toHex(addressOf(other.publicKey))}'`);
  t.equal(search.total_count, '1');
  t.equal(search.txs[0].hash, committed.hash);
  const blocks = await client.blockSearch(`block.height = ${committed.height}`);
  t.equal(blocks.total_count, '1');
  // the recipient's balance, proven against the app hash of the next block
  await waitForHeight(BigInt(committed.height) + 1n);
  const account = await client.account(victimAddress);
  t.equal(account.balance, (FUND + 1234n).toString());
  const proven = await client.queryProven('/account', addressOf(victim.publicKey), BigInt(committed.height));
  t.ok(proven.value !== null, 'the account record is proven to exist at that height');
  t.equal((await client.abciInfo()).response.data, 'agentcluster');
  const supply = await client.supply();
  t.equal(supplyPartsSum(supply), BigInt(supply.total));
  t.ok((await client.params()) !== null);
  await t.rejects(client.call('agent', { address: victimAddress }), RpcClientError, 'agents arrive with issue 6');
});

t.test('WebSocket: NewBlock and Tx events', async (t) => {
  const blocks: unknown[] = [];
  const txs: unknown[] = [];
  const offBlocks = await client.subscribe("tm.event='NewBlock'", (e) => blocks.push(e));
  const offTxs = await client.subscribe(`tm.event='Tx' AND transfer.recipient='${victimAddress}'`, (e) => txs.push(e));
  const tx = send(other, victim, 7n, 1n);
  t.equal((await client.broadcastTxSync(tx)).code, 0);
  for (let i = 0; i < 100 && (txs.length === 0 || blocks.length === 0); i++) await new Promise((r) => setTimeout(r, 100));
  t.ok(blocks.length >= 1, 'NewBlock events arrive');
  t.equal(txs.length, 1, 'exactly the matching Tx event arrives');
  t.match(txs[0], { data: { type: 'tendermint/event/Tx' } });
  await offBlocks();
  await offTxs();
});

t.test('bad input gets the right error; the node keeps committing and the state is unchanged', async (t) => {
  const before = await client.account(victimAddress);
  const supplyBefore = await client.supply();
  const h0 = await height();

  const rows: [string, string, number][] = [
    ['malformed JSON', '{"jsonrpc":"2.0","id":1,"method":', -32700],
    ['not a request', '42', -32600],
    ['unknown method', '{"jsonrpc":"2.0","id":1,"method":"no_such_method"}', -32601],
    ['wrong parameter type', '{"jsonrpc":"2.0","id":1,"method":"block","params":{"height":"ten"}}', -32602],
    ['bad tx encoding', '{"jsonrpc":"2.0","id":1,"method":"broadcast_tx_sync","params":{"tx":12}}', -32602],
    ['batch of 11', JSON.stringify(Array.from({ length: 11 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'health' }))), -32600],
    ['oversized body', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health', params: { pad: 'x'.repeat(1_100_000) } }), -32600],
  ];
  for (const [name, body, code] of rows) {
    const r = await post(url, body);
    const err = (Array.isArray(r.json) ? r.json[0] : r.json) as { error?: { code: number; data: string } };
    t.equal(err.error?.code, code, `${name}: ${err.error?.data}`);
    t.ok((err.error?.data ?? '').length > 10, `${name}: a sentence says what was wrong`);
  }

  const nonce = BigInt(before.nonce);
  const good = sendBody({ to: addressOf(other.publicKey), amount: 5n, nonce });
  const signed = TxCodec.decode(signTx(good, victim));
  const txRows: [string, Uint8Array, number][] = [
    ['undecodable tx', new Uint8Array([1, 2, 3, 255]), 2],
    ['bad signature', TxCodec.encode({ ...signed, signature: signed.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) }), 20],
    ['wrong chain id', signTx({ ...good, chainId: 'other-chain' }, victim), 21],
    ['nonce gap', signTx({ ...good, nonce: nonce + 5n }, victim), 22],
    ['overspend', signTx({ ...good, msg: { type: 'send', value: { to: addressOf(other.publicKey), amount: FUND * 10n } } }, victim), 40],
  ];
  for (const [name, tx, code] of txRows) {
    const r = await client.broadcastTxSync(tx);
    t.equal(r.code, code, `${name}: ${r.log}`);
    t.ok(r.log.length > 10, `${name}: the log says why`);
  }
  // a replay: the tx of the first test, already committed
  const replay = await client.broadcastTxSync(send(other, victim, 1234n, 0n));
  t.not(replay.code, 0, `replayed tx refused: ${replay.log}`);

  await waitForHeight(h0 + 2n);
  t.ok((await height()) >= h0 + 2n, 'the node kept committing blocks');
  t.same(await client.account(victimAddress), before, 'the victim account is unchanged');
  const supplyAfter = await client.supply();
  t.equal(supplyAfter.burned, supplyBefore.burned, 'no fee was charged for a rejected tx');
});

t.test('a client in another process submits 10,000 transfers; every one is found, balances add up', async (t) => {
  const child = spawn(process.execPath, [LOAD_CLIENT, url, String(SENDERS), String(PER_SENDER), String(FIRST_SEED)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const code = await new Promise<number | null>((res) => child.once('exit', res));
  t.equal(code, 0, err);
  const load = JSON.parse(out) as { submitted: number; rejected: number; hashes: string[]; senders: string[]; recipients: string[]; ms: number };
  t.equal(load.submitted, SENDERS * PER_SENDER);
  t.equal(load.rejected, 0, err);

  const t0 = performance.now();
  const lap = (what: string) => t.comment(`${what}: ${Math.round(performance.now() - t0)} ms`);
  // wait until the pool is empty and one more block has committed
  for (let i = 0; i < 600 && (await client.numUnconfirmedTxs()).n_txs !== '0'; i++) await new Promise((r) => setTimeout(r, 100));
  await waitForHeight((await height()) + 1n);

  lap('committed');
  // every hash by `tx` (in batches of 10), summing the fees paid
  let fees = 0n;
  let missing = 0;
  for (let i = 0; i < load.hashes.length; i += 10) {
    const batch = load.hashes.slice(i, i + 10).map((hash, k) => ({ jsonrpc: '2.0', id: k, method: 'tx', params: { hash: Buffer.from(hash, 'hex').toString('base64') } }));
    const r = (await post(url, JSON.stringify(batch))).json as Array<{ result?: { tx_result: { code: number; gas_used: string } } }>;
    for (const item of r) {
      if (item.result === undefined || item.result.tx_result.code !== 0) missing++;
      else fees += BigInt(item.result.tx_result.gas_used); // gas price 1
    }
  }
  t.equal(missing, 0, 'every tx is found by `tx`, with code 0');

  lap('tx lookups');
  // every hash by tx_search, per sender, paged
  const seen = new Set<string>();
  for (const sender of load.senders) {
    for (let page = 1; ; page++) {
      const r = await client.txSearch(`transfer.sender='${sender}'`, { page, perPage: 100 });
      for (const tx of r.txs) seen.add(tx.hash);
      if (page * 100 >= Number(r.total_count)) break;
    }
  }
  t.equal(load.hashes.filter((h) => seen.has(h)).length, load.hashes.length, 'every tx is found by tx_search');

  lap('tx_search');
  // balances: each sender paid its amounts and fees; the recipients got exactly the amounts
  let paid = 0n;
  for (let n = 0; n < PER_SENDER; n++) paid += BigInt(1 + (n % 7));
  let senderTotal = 0n;
  for (const s of load.senders) {
    const a = await client.account(s);
    t.equal(a.nonce, String(PER_SENDER));
    senderTotal += BigInt(a.balance);
  }
  t.equal(senderTotal, BigInt(SENDERS) * (FUND - paid) - fees, 'senders: funds - amounts - fees');
  let received = 0n;
  for (const r of load.recipients) received += BigInt((await client.account(r)).balance);
  t.equal(received, BigInt(SENDERS) * paid, 'recipients: exactly the amounts sent');
  const supply = await client.supply();
  t.equal(supplyPartsSum(supply), BigInt(supply.total), 'supply invariant');
  t.equal(supply.total, '1000000000000000');
  t.comment(`10,000 transfers submitted in ${load.ms} ms by the client process`);
});
