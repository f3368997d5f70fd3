// Secure defaults (issue 9, part 4), checked against the real code: RPC and p2p on loopback with unsafe methods off
// by default; the RPC limits exist, cannot be switched off by config, and reach the server of a real node; every
// secret file is 0600 in a 0700 directory whatever the umask; no private key (seed, key-file value or derived BLS
// secret) appears in any log line, CLI output, RPC answer or error; and replay protection across chains, within a
// chain and (the limit) across forks that share a chain id. RELIABILITY.md "## Secure defaults" maps each promise
// to its test. The transport limits themselves (body size, batch size, connections, subscriptions, slow consumers)
// are proven in detail on a fake method table by test/rpc-server.test.ts; here only the wiring into a real node.
import t, { type Test } from 'tap';
import net from 'node:net';
import http from 'node:http';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { defaultConfig, homePaths, parseConfig, validateConfig } from '../src/node/config.ts';
import { RpcServer } from '../src/rpc/server.ts';
import { EventBus } from '../src/rpc/events.ts';
import { createDevnet, FAUCET_KEY_FILE, ATTESTATION_AUTHORITY_KEY_FILE } from '../src/node/devnet.ts';
import { keyFileFromJSON, keyFileToJSON, generateKeyPair, addressOf, type KeyPair } from '../src/crypto/keys.ts';
import { blsSecretFromSeed } from '../src/crypto/bls.ts';
import { ErrorCodes } from '../src/errors.ts';
import { NodeProcess, killedAtTeardown } from './helpers/proc.ts';
import { cli, type Outcome } from './helpers/inproc.ts';
import { tempDir } from './helpers/tmp.ts';
import { fixture, openApp, nextBlock, send, CHAIN_ID } from './helpers/chain.ts';

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** Every text form a private key could leak in: seed and seed||pub in hex (both cases) and base64, and its BLS secret. */
function secretForms(kp: KeyPair): string[] {
  const full = new Uint8Array([...kp.secretKey, ...kp.publicKey]);
  const bls = blsSecretFromSeed(kp.secretKey);
  const forms: string[] = [];
  for (const bytes of [kp.secretKey, full, bls]) {
    const hex = Buffer.from(bytes).toString('hex');
    forms.push(hex, hex.toUpperCase(), b64(bytes), b64(bytes).replace(/=+$/, ''));
  }
  return forms;
}

async function readKey(path: string): Promise<KeyPair> {
  return keyFileFromJSON(JSON.parse(await readFile(path, 'utf8')), path);
}

function assertNoSecret(t: Test, text: string, keys: KeyPair[], what: string): void {
  const found = keys.flatMap(secretForms).filter((s) => text.includes(s));
  t.same(found, [], `${what}: no private key material (${text.length} characters checked)`);
}

// umask 0: the modes below are the code's own choice, not the umask's.
const oldUmask = process.umask(0);
t.teardown(() => void process.umask(oldUmask));

t.test('defaults: RPC and p2p on loopback, unsafe off, limits on; init writes them; config cannot switch limits off', async (t) => {
  const d = defaultConfig('n');
  t.match(d.rpc.laddr, /^tcp:\/\/127\.0\.0\.1:/);
  t.match(d.p2p.laddr, /^\/ip4\/127\.0\.0\.1\/tcp\//);
  t.equal(d.rpc.unsafe, false);
  t.same(
    { ...d.rpc, laddr: undefined, timeout_broadcast_tx_commit_ms: undefined },
    { laddr: undefined, unsafe: false, max_open_connections: 900, max_subscription_clients: 100, max_subscriptions_per_client: 5, timeout_broadcast_tx_commit_ms: undefined },
  );
  t.equal(d.p2p.max_connections, 40);
  // A config.toml that says nothing gets the same.
  t.same(validateConfig({}).rpc, defaultConfig('node0').rpc);

  const dir = tempDir();
  t.teardown(dir.remove);
  const r = await cli('init', '--home', join(dir.path, 'h'));
  t.equal(r.code, 0);
  const written = parseConfig(await readFile(homePaths(join(dir.path, 'h')).configFile, 'utf8'));
  t.same(written.rpc, d.rpc);
  t.equal(written.p2p.laddr, d.p2p.laddr);

  // No limit can be configured away (0, negative or absurdly large is BAD_CONFIG naming the key).
  for (const [key, bad] of [
    ['max_open_connections', 0n],
    ['max_open_connections', 1_000_000n],
    ['max_subscriptions_per_client', 0n],
    ['max_subscription_clients', -1n],
    ['timeout_broadcast_tx_commit_ms', 0n],
  ] as const) {
    t.throws(() => validateConfig({ rpc: { [key]: bad } }), { code: 'BAD_CONFIG', message: new RegExp(`rpc\\.${key}`) }, `${key} = ${bad}`);
  }
  t.throws(() => validateConfig({ p2p: { max_connections: 0n } }), { code: 'BAD_CONFIG' });
  t.throws(() => validateConfig({ mempool: { size: 0n } }), { code: 'BAD_CONFIG' });
  t.throws(() => validateConfig({ rpc: { unsafe: 'yes' } }), { code: 'BAD_CONFIG' }, 'unsafe must be a real boolean');
});

t.test('RpcServer binds the default address on loopback; unsafe beyond loopback is warned about', async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  const methods = { health: { params: [], handler: () => ({}) } };
  const rpc = defaultConfig('n').rpc;
  const s = await RpcServer.start({ laddr: rpc.laddr.replace(/:\d+$/, ':0'), methods, events: new EventBus(), config: rpc, logger });
  t.teardown(() => s.close());
  t.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound on loopback');
  t.notMatch(lines.join(''), /rpc\.unsafe is on/);

  const loud = await RpcServer.start({ laddr: 'tcp://127.0.0.1:0', methods, events: new EventBus(), config: { ...rpc, unsafe: true }, logger });
  t.teardown(() => loud.close());
  t.notMatch(lines.join(''), /rpc\.unsafe is on/, 'unsafe on loopback: no warning');
  const open = await RpcServer.start({ laddr: 'tcp://0.0.0.0:0', methods, events: new EventBus(), config: { ...rpc, unsafe: true }, logger });
  t.teardown(() => open.close());
  t.match(lines.join(''), /"level":40.*rpc\.unsafe is on and the RPC listens beyond loopback/);
});

t.test('init, keys add and devnet write secrets 0600 in 0700 directories (umask 0), and repair or refuse looser ones', async (t) => {
  const dir = tempDir();
  t.teardown(dir.remove);
  const home = join(dir.path, 'home');
  const p = homePaths(home);
  t.equal((await cli('init', '--home', home)).code, 0);
  for (const f of [p.privValidatorKeyFile, p.nodeKeyFile, p.privValidatorStateFile]) t.equal(await mode(f), 0o600, f);
  for (const d of [p.configDir, p.dataDir, p.keyringDir]) t.equal(await mode(d), 0o700, d);
  t.equal(await mode(p.genesisFile), 0o644, 'genesis is public');
  t.equal(await mode(p.configFile), 0o644, 'config.toml holds no secret');

  t.equal((await cli('keys', 'add', 'alice', '--home', home)).code, 0);
  t.equal(await mode(join(p.keyringDir, 'alice.json')), 0o600);
  // A keyring directory opened up by hand is closed again by the next add.
  await chmod(p.keyringDir, 0o755);
  t.equal((await cli('keys', 'add', 'bob', '--home', home)).code, 0);
  t.equal(await mode(p.keyringDir), 0o700, 'keyring dir repaired');
  t.equal(await mode(join(p.keyringDir, 'bob.json')), 0o600);

  // A loosened key file: init refuses to touch it; init --force replaces it with a fresh 0600 file and the dirs go back to 0700.
  await chmod(p.privValidatorKeyFile, 0o644);
  await chmod(p.configDir, 0o755);
  const again = await cli('init', '--home', home);
  t.equal(again.code, 1);
  t.match(again.stderr, /ALREADY_EXISTS/);
  t.equal((await cli('init', '--home', home, '--force')).code, 0);
  t.equal(await mode(p.privValidatorKeyFile), 0o600, 'replaced 0600');
  t.equal(await mode(p.configDir), 0o700, 'config dir repaired');

  const net = join(dir.path, 'net');
  const nodes = await createDevnet({ validators: 2, fullNodes: 1, dir: net, basePort: 40_000 });
  t.equal(await mode(net), 0o700, 'devnet dir');
  t.equal(await mode(join(net, FAUCET_KEY_FILE)), 0o600, 'faucet key');
  t.equal(await mode(join(net, ATTESTATION_AUTHORITY_KEY_FILE)), 0o600, 'authority key');
  t.equal(await mode(join(nodes[0].home, 'keyring', 'faucet.json')), 0o600, 'faucet in node0 keyring');
  for (const n of nodes) {
    const np = homePaths(n.home);
    for (const f of [np.privValidatorKeyFile, np.nodeKeyFile, np.privValidatorStateFile]) t.equal(await mode(f), 0o600, f);
    for (const d of [np.configDir, np.dataDir, np.keyringDir]) t.equal(await mode(d), 0o700, d);
  }
});

t.test('a real node process: loopback, unsafe methods -32601, limits wired, and no secret in any log, CLI output, answer or error', async (t) => {
  const dir = tempDir();
  t.teardown(dir.remove);
  const procs = killedAtTeardown(t);
  const home = join(dir.path, 'node');
  const p = homePaths(home);
  const outputs: Array<[string, Outcome]> = [];
  const run = async (...argv: string[]) => {
    const r = await cli(...argv);
    outputs.push([argv.slice(0, 2).join(' '), r]);
    return r;
  };
  t.equal((await run('init', '--home', home, '--chain-id', 'secure-a')).code, 0);
  t.equal((await run('keys', 'add', 'alice', '--home', home)).code, 0);
  await run('keys', 'add', 'alice', '--home', home); // ALREADY_EXISTS
  await run('keys', 'list', '--home', home);
  await run('keys', 'show', 'alice', '--home', home);
  await run('init', '--home', home); // ALREADY_EXISTS
  const validator = await readKey(p.privValidatorKeyFile);
  const nodeKey = await readKey(p.nodeKeyFile);
  const alice = await readKey(join(p.keyringDir, 'alice.json'));
  const keys = [validator, nodeKey, alice];

  // Ephemeral ports, debug logs (the most the node ever says), few RPC connections so the limit is testable.
  const cfg = await readFile(p.configFile, 'utf8');
  await writeFile(
    p.configFile,
    cfg
      .replace('tcp://127.0.0.1:26657', 'tcp://127.0.0.1:0')
      .replace('/ip4/127.0.0.1/tcp/26656', '/ip4/127.0.0.1/tcp/0')
      .replace('level = "info"', 'level = "debug"')
      .replace('max_open_connections = 900', 'max_open_connections = 4'),
  );
  // node_key.json opened up by hand: the node starts, and warns about that file only.
  await chmod(p.nodeKeyFile, 0o644);
  const node = new NodeProcess(['start', '--home', home]);
  procs.push(node);
  const url = (await node.waitFor((l) => l.msg === 'rpc listening', 30_000)).url as string;
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'RPC on loopback');
  await node.waitFor((l) => l.msg === 'committed block', 30_000);
  const modeWarnings = node.lines.filter((l) => /readable by other users/.test(l.msg));
  t.same(modeWarnings.map((l) => [l.level, l.path]), [[40, p.nodeKeyFile]], 'one warning, for the 0644 node key, none for the 0600 validator key');
  t.match(modeWarnings[0]?.msg, /chmod 600/);

  const answers: string[] = [];
  const post = async (body: string) => {
    const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const text = await r.text();
    answers.push(text);
    return { status: r.status, json: text === '' ? null : JSON.parse(text) };
  };
  const call = (method: string, params: object = {}) => post(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }));

  for (const m of ['unsafe_flush_mempool', 'dial_peers', 'dial_seeds']) {
    const r = await call(m);
    t.equal(r.json.error.code, -32601, `${m} is off`);
    t.match(r.json.error.data, /rpc\.unsafe = true/);
    t.equal((await fetch(`${url}/${m}`)).status, 404, `GET /${m}`);
  }
  const index = await (await fetch(`${url}/`)).text();
  t.match(index, /health/);
  t.notMatch(index, /unsafe_flush_mempool|dial_peers|dial_seeds/, 'GET / does not list them');
  // The transport limits of test/rpc-server.test.ts, on the real node's server.
  const batch = Array.from({ length: 11 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'health', params: {} }));
  const big = await post(JSON.stringify(batch));
  t.equal(big.status, 400);
  t.equal(big.json.error.code, -32600);
  const huge = await fetch(url, { method: 'POST', body: 'x'.repeat(1_000_001) });
  t.equal(huge.status, 400, 'body over 1,000,000 bytes');
  const held: net.Socket[] = [];
  t.teardown(() => held.forEach((s) => s.destroy()));
  const { port } = new URL(url);
  for (let i = 0; i < 4; i++) {
    const s = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    held.push(s);
  }
  await new Promise((r) => setTimeout(r, 100));
  // A fresh connection (no keep-alive pool) beyond the limit.
  const over = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: Number(port), path: '/health', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });
  t.equal(over.status, 503, 'the connection over rpc.max_open_connections = 4 is refused');
  t.match(over.text, /this server allows 4 \(rpc\.max_open_connections\)/);
  held.splice(0).forEach((s) => s.destroy());
  await new Promise((r) => setTimeout(r, 100));

  // Txs through the node's check and execution paths: one valid, one for another chain, one with a bad signature.
  const to = addressOf(alice.publicKey);
  const body = { chainId: 'secure-a', gasLimit: 100_000n, gasPrice: 1n, memo: '', msg: { type: 'send' as const, value: { to, amount: 1n } } };
  const { signTx } = await import('../src/codec/tx.ts');
  const txs = [
    signTx({ ...body, nonce: 0n }, validator),
    signTx({ ...body, nonce: 1n, chainId: 'secure-b' }, validator),
    signTx({ ...body, nonce: 0n }, alice),
  ];
  for (const tx of txs) await call('broadcast_tx_sync', { tx: b64(tx) });
  const seen = node.commits().length;
  await node.waitFor(() => node.commits().length > seen, 30_000);
  t.equal((await call('status')).status, 200);
  await node.kill('SIGTERM');

  const log = node.lines.map((l) => JSON.stringify(l)).join('\n');
  t.ok(node.lines.length > 10, `${node.lines.length} log lines at debug level`);
  assertNoSecret(t, log, keys, 'node log');
  assertNoSecret(t, answers.join('\n'), keys, 'RPC answers');
  for (const [what, r] of outputs) assertNoSecret(t, r.stdout + r.stderr, keys, `agentcluster ${what}`);

  // Damaged key files: `start` refuses them (in process: it fails before anything runs) and names the file, never its content.
  const good = await readFile(p.privValidatorKeyFile, 'utf8');
  const wrongPub = JSON.stringify({ ...keyFileToJSON(validator), priv_key: { type: 'tendermint/PrivKeyEd25519', value: b64(new Uint8Array([...validator.secretKey, ...generateKeyPair().publicKey])) } });
  const errors: string[] = [];
  for (const [name, text] of [['truncated', good.slice(0, -3)], ['mismatched public half', wrongPub]] as const) {
    await writeFile(p.privValidatorKeyFile, text, { mode: 0o600 });
    const r = await cli('start', '--home', home);
    t.equal(r.code, 1, `${name}: the node refuses to start`);
    t.match(r.stderr, /BAD_KEY/, `${name}: BAD_KEY`);
    t.match(r.stderr, /priv_validator_key\.json/, `${name}: the error names the file`);
    errors.push(r.stdout + r.stderr);
  }
  await writeFile(join(p.keyringDir, 'broken.json'), JSON.stringify({ name: 'broken', ...keyFileToJSON(alice) }).slice(0, -5), { mode: 0o600 });
  const shown = await cli('keys', 'show', 'broken', '--home', home);
  t.equal(shown.code, 1);
  t.match(shown.stderr, /BAD_KEY/);
  errors.push(shown.stdout + shown.stderr);
  assertNoSecret(t, errors.join('\n'), keys, 'errors for damaged key files');
});

t.test('replay: across chains refused (WRONG_CHAIN_ID, BAD_SIGNATURE), on its own chain refused (WRONG_NONCE); forks sharing a chain id are NOT told apart', async (t) => {
  const fx = fixture();
  const [alice, bob] = fx.users;
  const a = await openApp(fx.genesis);
  t.teardown(a.cleanup);
  const b = await openApp({ ...fx.genesis, chainId: 'other-chain' });
  t.teardown(b.cleanup);

  const tx = send(alice, bob, 5n, 0n);
  t.equal((await nextBlock(a.app, [tx])).txResults[0].code, 0, 'accepted on its chain');
  t.equal((await nextBlock(a.app, [tx])).txResults[0].code, ErrorCodes.WRONG_NONCE, 'replayed on its own chain');
  t.equal((await nextBlock(b.app, [tx])).txResults[0].code, ErrorCodes.WRONG_CHAIN_ID, 'replayed on another chain');

  // Rewriting the body's chain id does not help: the signature covers the chain id of the chain that verifies it.
  const { TxCodec, TxBodyCodec } = await import('../src/codec/types.ts');
  const decoded = TxCodec.decode(tx);
  const forged = TxCodec.encode({ ...decoded, body: TxBodyCodec.encode({ ...TxBodyCodec.decode(decoded.body), chainId: 'other-chain' }) });
  t.equal((await nextBlock(b.app, [forged])).txResults[0].code, ErrorCodes.BAD_SIGNATURE, 'body re-labelled for the other chain');

  // The limit, stated as a test so that it cannot change silently: a second network started from a different genesis
  // (another genesis time, the same chain id) accepts the tx too. Sign bytes bind the chain id, not the genesis
  // hash, as in CometBFT / Cosmos SDK; a network must use a chain id of its own (and a new one after a hard fork).
  const fork = { ...fx.genesis, genesisTime: fx.genesis.genesisTime + 1_000_000_000n };
  t.equal(fork.chainId, CHAIN_ID);
  const c = await openApp(fork);
  t.teardown(c.cleanup);
  t.equal((await nextBlock(c.app, [tx])).txResults[0].code, 0, 'same chain id, different genesis: the tx replays (documented limitation)');
});
