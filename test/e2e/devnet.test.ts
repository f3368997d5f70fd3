// The devnet tool: createDevnet writes consistent homes (one genesis, peers = the others, ports by index), refuses to
// overwrite, and writes nodes.json; the CLI command; startDevnet and `npm run devnet` run nodes and stop them cleanly.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createDevnet,
  readDevnetNodes,
  startDevnet,
  ATTESTATION_AUTHORITY_KEY_FILE,
  ATTESTATION_AUTHORITY_NAME,
  FAUCET_AMOUNT,
  PORT_STRIDE,
} from '../../src/node/devnet.ts';
import { formatTime, parseTime } from '../../src/codec/time.ts';
import { homePaths, loadConfig } from '../../src/node/config.ts';
import { genesisHash, loadGenesisFile } from '../../src/state/genesis.ts';
import { Keyring } from '../../src/cli/keyring.ts';
import { addressOf, generateKeyPair, keyFileFromJSON } from '../../src/crypto/keys.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { peerIdOf } from '../../src/p2p/identity.ts';
import { runCli } from '../../src/cli/index.ts';
import type { Io } from '../../src/cli/command.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import { tempDir } from '../helpers/tmp.ts';
import { freeBasePort } from '../helpers/ports.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/devnet.ts', import.meta.url));

async function readJson(path: string): Promise<any> {
  return JSON.parse(await readFile(path, 'utf8'));
}

/** Polls `status` until the node's latest height reaches `min` or 30 s pass; the last height seen (0 if none). */
async function heightReached(client: RpcClient, min: bigint): Promise<bigint> {
  const deadline = Date.now() + 30_000;
  let height = 0n;
  while (height < min && Date.now() < deadline) {
    try {
      height = BigInt((await client.status()).sync_info.latest_block_height);
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return height;
}

t.test('createDevnet writes consistent homes and nodes.json', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const dir = join(tmp.path, 'net');
  const extra = generateKeyPair();
  const nodes = await createDevnet({
    validators: 4,
    dir,
    basePort: 30000,
    genesisTime: 1_800_000_000n * 1_000_000_000n,
    accounts: [{ address: addressOf(extra.publicKey), amount: 5_000n }],
  });
  t.equal(nodes.length, 4);
  t.same(await readJson(join(dir, 'nodes.json')), nodes, 'nodes.json lists the returned nodes');
  t.same(
    nodes.map((n) => Object.keys(n)),
    nodes.map(() => ['name', 'validator', 'home', 'rpc', 'p2p']),
    'each entry has exactly name, validator, home, rpc, p2p',
  );
  t.ok(nodes.every((n) => n.validator), 'all validators');

  const hashes = new Set<string>();
  const validatorAddresses: string[] = [];
  let genesis = null as Awaited<ReturnType<typeof loadGenesisFile>> | null;
  for (const [i, n] of nodes.entries()) {
    t.equal(n.name, `node${i}`);
    t.equal(n.home, join(dir, `node${i}`));
    const p2pPort = 30000 + PORT_STRIDE * i;
    t.equal(n.rpc, `http://127.0.0.1:${p2pPort + 1}`);
    const paths = homePaths(n.home);
    const nodeKey = keyFileFromJSON(await readJson(paths.nodeKeyFile));
    t.equal(n.p2p, `/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${peerIdOf(nodeKey).toString()}`, 'p2p multiaddr carries the node key peer id');
    const cfg = await loadConfig(n.home);
    t.equal(cfg.moniker, n.name);
    t.equal(cfg.p2p.laddr, `/ip4/127.0.0.1/tcp/${p2pPort}`);
    t.equal(cfg.rpc.laddr, `tcp://127.0.0.1:${p2pPort + 1}`);
    t.same(
      [...cfg.p2p.persistent_peers].sort(),
      nodes.filter((o) => o !== n).map((o) => o.p2p).sort(),
      'persistent peers are every other node',
    );
    genesis = await loadGenesisFile(paths.genesisFile);
    hashes.add(toHex(genesisHash(genesis)));
    validatorAddresses.push(toHex(addressOf(keyFileFromJSON(await readJson(paths.privValidatorKeyFile)).publicKey)));
    t.same(await readJson(paths.privValidatorStateFile), { height: '0', round: 0, step: 0 });
    t.equal((await stat(paths.privValidatorKeyFile)).mode & 0o777, 0o600);
  }
  t.equal(hashes.size, 1, 'every node has the same genesis');
  t.equal(genesis!.chainId, 'agentcluster-devnet', "the template's chain id");
  t.equal(genesis!.genesisTime, 1_800_000_000n * 1_000_000_000n);
  t.same(
    genesis!.validators.map((v) => [v.name, toHex(v.address)]),
    validatorAddresses.map((a, i) => [`node${i}`, a]),
    'every node is a validator, in order',
  );

  const faucet = keyFileFromJSON(await readJson(join(dir, 'faucet_key.json')));
  t.equal((await stat(join(dir, 'faucet_key.json'))).mode & 0o777, 0o600);
  const inKeyring = await new Keyring(homePaths(nodes[0].home).keyringDir).load('faucet');
  t.equal(toHex(inKeyring.publicKey), toHex(faucet.publicKey), "node0's keyring holds the faucet key");
  const funded = genesis!.allocations.flatMap((a) => a.accounts).map((a) => [toHex(a.address), a.amount]);
  t.ok(funded.some(([a, v]) => a === toHex(addressOf(faucet.publicKey)) && v === FAUCET_AMOUNT), 'the faucet is funded');
  t.ok(funded.some(([a, v]) => a === toHex(addressOf(extra.publicKey)) && v === 5_000n), 'extra accounts are funded');

  // The attestation authority: a private key file in DIR, its public key listed in the genesis as "devnet".
  t.equal(ATTESTATION_AUTHORITY_KEY_FILE, 'attestation_authority_key.json');
  const authorityPath = join(dir, ATTESTATION_AUTHORITY_KEY_FILE);
  const authority = keyFileFromJSON(await readJson(authorityPath));
  t.equal((await stat(authorityPath)).mode & 0o777, 0o600, 'the authority key is private, like the faucet key');
  t.same(genesis!.appParams.agents.attestation_authorities, { [ATTESTATION_AUTHORITY_NAME]: toHex(authority.publicKey) }, 'the genesis lists it as "devnet"');
  t.equal(ATTESTATION_AUTHORITY_NAME, 'devnet');
  t.not(toHex(authority.publicKey), toHex(faucet.publicKey), 'a key of its own');

  t.same(await readDevnetNodes(dir), nodes, 'readDevnetNodes reads nodes.json back');
});

t.test('createDevnet --full-nodes: non-validators that dial the validators', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const dir = join(tmp.path, 'net');
  const nodes = await createDevnet({ validators: 3, fullNodes: 2, dir, basePort: 31000 });
  t.same(
    nodes.map((n) => [n.name, n.validator, n.rpc]),
    [
      ['node0', true, 'http://127.0.0.1:31001'],
      ['node1', true, 'http://127.0.0.1:31011'],
      ['node2', true, 'http://127.0.0.1:31021'],
      ['full0', false, 'http://127.0.0.1:31031'],
      ['full1', false, 'http://127.0.0.1:31041'],
    ],
    'full nodes come after the validators, ports continuing',
  );
  const validators = nodes.slice(0, 3);
  const genesis = await loadGenesisFile(homePaths(nodes[3].home).genesisFile);
  const keyOf = async (home: string) => toHex(addressOf(keyFileFromJSON(await readJson(homePaths(home).privValidatorKeyFile)).publicKey));
  t.same(
    genesis.validators.map((v) => toHex(v.address)),
    await Promise.all(validators.map((n) => keyOf(n.home))),
    'the genesis holds the validators only',
  );
  for (const n of nodes) {
    const peers = (await loadConfig(n.home)).p2p.persistent_peers;
    t.same([...peers].sort(), validators.filter((v) => v !== n).map((v) => v.p2p).sort(), `${n.name} keeps the validators connected`);
  }
  await t.rejects(createDevnet({ validators: 1, fullNodes: -1, dir: join(tmp.path, 'x') }), { code: 'INVALID_FIELD' });
});

t.test('createDevnet refuses to overwrite unless forced', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const dir = join(tmp.path, 'net');
  const first = await createDevnet({ validators: 3, dir, basePort: 31000 });
  await t.rejects(createDevnet({ validators: 2, dir, basePort: 31000 }), { code: 'ALREADY_EXISTS' });
  t.same(await readJson(join(dir, 'nodes.json')), first, 'the refused call changed nothing');
  const second = await createDevnet({ validators: 2, dir, basePort: 32000, force: true });
  t.equal(second.length, 2);
  t.same(await readJson(join(dir, 'nodes.json')), second);
  await t.rejects(stat(join(dir, 'node2')), { code: 'ENOENT' }, 'the old third home is gone');
  t.not(second[0].p2p, first[0].p2p, 'fresh keys');
  const authorityKey = async () => toHex(keyFileFromJSON(await readJson(join(dir, ATTESTATION_AUTHORITY_KEY_FILE))).publicKey);
  const secondAuthority = await authorityKey();
  await createDevnet({ validators: 2, dir, basePort: 32000, force: true });
  t.not(await authorityKey(), secondAuthority, '--force replaces the authority key too');
  // A stray authority key alone also counts as an existing devnet.
  const stray = join(tmp.path, 'stray');
  await createDevnet({ validators: 1, dir: stray });
  for (const f of ['nodes.json', 'faucet_key.json', 'node0']) await rm(join(stray, f), { recursive: true, force: true });
  await t.rejects(createDevnet({ validators: 1, dir: stray }), { code: 'ALREADY_EXISTS', message: /attestation_authority_key\.json/ });
  await createDevnet({ validators: 1, dir: stray, force: true });
  t.ok(await stat(join(stray, ATTESTATION_AUTHORITY_KEY_FILE)), 'and --force replaces it');
  // A stray node0 directory alone also counts as an existing devnet.
  const other = join(tmp.path, 'other');
  await createDevnet({ validators: 1, dir: other });
  await writeFile(join(other, 'nodes.json'), '[]');
  await t.rejects(createDevnet({ validators: 1, dir: other }), { code: 'ALREADY_EXISTS' });
});

t.test('createDevnet rejects bad arguments', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  await t.rejects(createDevnet({ validators: 0, dir: tmp.path }), { code: 'INVALID_FIELD' });
  await t.rejects(createDevnet({ validators: 4, dir: tmp.path, basePort: 65530 }), { code: 'INVALID_FIELD' });
});

t.test('agentcluster devnet', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
  const dir = join(tmp.path, 'net');
  t.equal(await runCli(['devnet', '--validators', '2', '--dir', dir, '--base-port', '33000'], io), 0, stderr);
  const nodes = JSON.parse(stdout);
  t.same(nodes, await readJson(join(dir, 'nodes.json')));
  t.equal(nodes[1].rpc, 'http://127.0.0.1:33011');
  stdout = stderr = '';
  t.equal(await runCli(['devnet', '--validators', '2', '--dir', dir], io), 1);
  t.match(stderr, /^error \[ALREADY_EXISTS\]: .*--force/);
  stdout = stderr = '';
  t.equal(await runCli(['devnet', '--validators', 'x', '--dir', dir], io), 2);
  t.match(stderr, /--validators must be a positive integer/);
});

t.test('startDevnet runs the nodes and stops them cleanly', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const dir = join(tmp.path, 'net');
  const nodes = await createDevnet({ validators: 1, dir, basePort: await freeBasePort(1) });
  const net = startDevnet(nodes);
  t.teardown(() => net.stop(1000));
  const client = new RpcClient(nodes[0].rpc, { timeoutMs: 2000 });
  const height = await heightReached(client, 2n);
  t.ok(height >= 2n, `the node commits blocks (height ${height})`);
  await net.stop();
  const results = await net.exited;
  t.same(results.map((r) => [r.name, r.code]), [['node0', 0]], 'SIGTERM stops the node with exit code 0');
  const log = await readFile(join(dir, 'node0.log'), 'utf8');
  t.match(log, /committed block/, 'the node log is written to DIR/node0.log');
});

t.test('on a running devnet, the devnet authority attests and an agent registers, stakes and shows in the queries', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const dir = join(tmp.path, 'net');
  const nodes = await createDevnet({ validators: 1, dir, basePort: await freeBasePort(1) });
  const net = startDevnet(nodes);
  t.teardown(() => net.stop(1000));
  const url = nodes[0].rpc;
  const home = nodes[0].home;
  const client = new RpcClient(url, { timeoutMs: 5000 });
  const height = await heightReached(client, 1n);
  t.ok(height >= 1n, 'the node commits blocks');

  const run = async (...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const io: Io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
    const code = await runCli(argv, io);
    return { code, stdout, stderr, json: code === 0 && stdout !== '' ? JSON.parse(stdout) : undefined };
  };
  // The faucet (in node0's keyring) becomes an agent: attest its key with the devnet authority, as the README shows.
  const faucet = (await run('keys', 'show', 'faucet', '--home', home)).json;
  const attest = await run('agent', 'attest', '--authority-key', join(dir, ATTESTATION_AUTHORITY_KEY_FILE), '--pub-key', faucet.pub_key.value, '--chain-id', 'agentcluster-devnet');
  t.equal(attest.code, 0, attest.stderr);
  const file = join(tmp.path, 'attestation.json');
  await writeFile(file, attest.stdout);
  const reg = await run('tx', 'agent', 'register', '--from', 'faucet', '--home', home, '--attestation', file, '--gpu-memory-mb', '24576', '--models', 'llama-3-70b', '--commit');
  t.equal(reg.code, 0, reg.stderr);
  t.equal(reg.json.tx_result.code, 0, 'registered in a block');
  const agent = await run('query', 'agent', 'faucet', '--home', home);
  t.equal(agent.code, 0, agent.stderr);
  t.equal(agent.json.address, faucet.address);
  t.equal(agent.json.status, 'active');
  t.equal(agent.json.attestation.kind, 'authority');
  t.equal(agent.json.attestation.valid, true);
  t.equal(agent.json.attestation.expires_at, formatTime(parseTime(attest.json.expires_at)));
  t.same(agent.json.capabilities.models, ['llama-3-70b']);

  const stake = await run('tx', 'staking', 'stake', '1000acc', '--from', 'faucet', '--home', home, '--moniker', 'faucet-val', '--commit');
  t.equal(stake.code, 0, stake.stderr);
  const v = await run('query', 'validator', faucet.address, '--home', home);
  t.equal(v.code, 0, v.stderr);
  t.equal(v.json.name, 'faucet-val');
  t.equal(v.json.stake, '1000000000');
  t.equal(v.json.operator, faucet.address);
  t.same((await run('query', 'agents', '--capability', 'gpu', '--home', home)).json.agents.map((a: { address: string }) => a.address), [faucet.address]);
  const set = await run('query', 'validators', '--home', home);
  t.equal(set.code, 0, set.stderr);
  t.equal(set.json.validators.length, 1, 'the genesis validator (the faucet joins at the next epoch)');
  t.equal(set.json.validators[0].name, 'node0');
  t.equal(set.json.validators[0].reputation_factor, '1000000');
  t.equal(set.json.validators[0].stake, set.json.validators[0].voting_power);
  await net.stop();
});

t.test('npm run devnet (scripts/devnet.ts) creates, starts and stops on SIGINT', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const dir = join(tmp.path, 'devnet');
  const env: NodeJS.ProcessEnv = { ...process.env, DEVNET_DIR: dir, DEVNET_VALIDATORS: '1', DEVNET_BASE_PORT: String(await freeBasePort(1)) };
  delete env.NODE_OPTIONS; // tap's loader hooks are not for the child
  const child = spawn(process.execPath, [SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed; stderr: ${err}`)), 20_000);
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
  });
  const nodes = await readDevnetNodes(dir);
  t.equal(url, nodes[0].rpc, 'prints the RPC URL of each node');
  const client = new RpcClient(url, { timeoutMs: 2000 });
  const height = await heightReached(client, 1n);
  t.ok(height >= 1n, 'the node runs');
  child.kill('SIGINT');
  const r = await exited;
  t.same(r, { code: 0, signal: null }, `exits 0 after stopping the nodes; stderr: ${err}`);
  t.match(err, /node0 exited \(code 0\)/);
  await t.rejects(client.status(), 'the node is stopped');
});
