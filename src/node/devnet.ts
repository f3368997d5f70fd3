// A local multi-validator network on one machine (DESIGN.md section 6): one home per validator under DIR, one shared
// genesis built from the devnet template, config.toml files whose persistent peers are every other node, a funded
// faucet key, an attestation authority key listed in the genesis (so agents can register: `agent attest
// --authority-key DIR/attestation_authority_key.json`), and DIR/nodes.json for tools. `startDevnet` runs the nodes as child processes and stops them cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import { addressOf, generateKeyPair, keyFileToJSON, type KeyPair } from '../crypto/keys.ts';
import { toHex } from '../crypto/bytes.ts';
import { buildGenesis, loadGenesisTemplate, DEFAULT_VALIDATOR_STAKE, type Genesis } from '../state/genesis.ts';
import { UACC_PER_ACC } from '../state/params.ts';
import { initHome } from '../cli/init.ts';
import { Keyring } from '../cli/keyring.ts';
import { defaultConfig, type NodeConfig } from './config.ts';
import { ensureDir, exists, PRIVATE_DIR_MODE, PUBLIC_FILE_MODE, SECRET_FILE_MODE, writeFileSafe } from './fsutil.ts';
import { peerIdOf } from '../p2p/identity.ts';
import { blsPublicKeyOfSeed } from '../crypto/bls.ts';

export const DEFAULT_BASE_PORT = 26656;
/** Ports of node i: p2p = base + PORT_STRIDE * i, rpc = that + 1 (room for more per-node ports later). */
export const PORT_STRIDE = 10;
export const MAX_DEVNET_VALIDATORS = 100;
/** The faucet's genesis balance: 10,000,000 ACC, taken from the marketplace allocation. */
export const FAUCET_AMOUNT = 10_000_000n * UACC_PER_ACC;
export const FAUCET_KEY_NAME = 'faucet';
export const NODES_FILE = 'nodes.json';
export const FAUCET_KEY_FILE = 'faucet_key.json';
/** The devnet's attestation authority: its key file in DIR, and its name in the genesis agents.attestation_authorities. */
export const ATTESTATION_AUTHORITY_KEY_FILE = 'attestation_authority_key.json';
export const ATTESTATION_AUTHORITY_NAME = 'devnet';

export interface DevnetNode {
  name: string;
  /** False for a full node: it follows the chain (block sync, consensus gossip) without a vote. */
  validator: boolean;
  /** Absolute path of the node's home. */
  home: string;
  /** http://127.0.0.1:PORT */
  rpc: string;
  /** /ip4/127.0.0.1/tcp/PORT/p2p/<peer id> */
  p2p: string;
}

export interface DevnetOptions {
  validators: number;
  /** Non-validator nodes after the validators (named fullI, ports continuing after the validators'). Default 0. */
  fullNodes?: number;
  dir: string;
  basePort?: number;
  /** Default: the template's chain id. */
  chainId?: string;
  /** Extra funded accounts (from the marketplace allocation), e.g. load-test senders. */
  accounts?: Array<{ address: Uint8Array; amount: bigint }>;
  /** ns since the epoch; default now, truncated to the second. */
  genesisTime?: bigint;
  /** Replace an existing devnet in DIR (its homes, nodes.json, faucet and authority keys are deleted first). */
  force?: boolean;
  /** Genesis template path; default genesis/devnet.template.json. */
  template?: string;
  /** Lets tests adjust a node's config (log level, empty blocks, ...) before it is written. */
  configure?: (config: NodeConfig, index: number) => void;
}

function checkPort(base: number): void {
  if (!Number.isSafeInteger(base) || base < 1 || base > 65535) {
    throw new AppError('INVALID_FIELD', `--base-port ${base} is not a valid port: use 1 to 65535`, { field: 'base_port' });
  }
}

/** The files and directories a devnet made in DIR, so that `force` removes exactly those. */
async function existingDevnetPaths(dir: string, validators: number, fullNodes: number): Promise<string[]> {
  const candidates = new Set<string>([join(dir, NODES_FILE), join(dir, FAUCET_KEY_FILE), join(dir, ATTESTATION_AUTHORITY_KEY_FILE)]);
  for (let i = 0; i < validators; i++) candidates.add(join(dir, `node${i}`));
  for (let i = 0; i < fullNodes; i++) candidates.add(join(dir, `full${i}`));
  // A previous devnet may have had more nodes than this one: its nodes.json lists them.
  try {
    const listed = JSON.parse(await readFile(join(dir, NODES_FILE), 'utf8')) as Array<{ home?: unknown }>;
    if (Array.isArray(listed)) for (const n of listed) if (typeof n.home === 'string') candidates.add(resolve(n.home));
  } catch {
    // no readable nodes.json: nothing more to remove
  }
  const found: string[] = [];
  for (const p of candidates) if (await exists(p)) found.push(p);
  return found;
}

/** Writes a devnet into opts.dir and returns its nodes (also written to DIR/nodes.json). */
export async function createDevnet(opts: DevnetOptions): Promise<DevnetNode[]> {
  const n = opts.validators;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_DEVNET_VALIDATORS) {
    throw new AppError('INVALID_FIELD', `--validators ${n} is not valid: use 1 to ${MAX_DEVNET_VALIDATORS}`, { field: 'validators' });
  }
  const full = opts.fullNodes ?? 0;
  if (!Number.isSafeInteger(full) || full < 0 || full > MAX_DEVNET_VALIDATORS) {
    throw new AppError('INVALID_FIELD', `--full-nodes ${full} is not valid: use 0 to ${MAX_DEVNET_VALIDATORS}`, { field: 'full_nodes' });
  }
  const basePort = opts.basePort ?? DEFAULT_BASE_PORT;
  checkPort(basePort);
  checkPort(basePort + PORT_STRIDE * (n + full - 1) + 1);
  const dir = resolve(opts.dir);

  const old = await existingDevnetPaths(dir, n, full);
  if (old.length > 0) {
    if (!opts.force) {
      throw new AppError('ALREADY_EXISTS', `${dir} already holds a devnet (${old[0]}); pass --force to replace it (its keys and data are lost) or choose another --dir`, {
        path: old[0],
      });
    }
    for (const p of old) await rm(p, { recursive: true, force: true });
  }
  await ensureDir(dir, PRIVATE_DIR_MODE);

  const template = await loadGenesisTemplate(opts.template);
  const nodes = Array.from({ length: n + full }, (_, i) => {
    const nodeKey = generateKeyPair();
    const p2pPort = basePort + PORT_STRIDE * i;
    const name = i < n ? `node${i}` : `full${i - n}`;
    return {
      i,
      name,
      validator: i < n,
      home: join(dir, name),
      nodeKey,
      validatorKey: generateKeyPair(),
      p2pPort,
      rpcPort: p2pPort + 1,
      peer: `/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${peerIdOf(nodeKey).toString()}`,
    };
  });

  const faucet = generateKeyPair();
  // The authority joins whatever authorities the template lists; agents attested by it can register out of the box.
  const authority = generateKeyPair();
  const appParams = {
    ...template.appParams,
    agents: {
      ...template.appParams.agents,
      attestation_authorities: { ...template.appParams.agents.attestation_authorities, [ATTESTATION_AUTHORITY_NAME]: toHex(authority.publicKey) },
    },
  };
  const genesis: Genesis = buildGenesis({
    chainId: opts.chainId ?? template.chainId,
    genesisTime: opts.genesisTime ?? BigInt(Math.floor(Date.now() / 1000)) * 1_000_000_000n,
    validators: nodes.filter((v) => v.validator).map((v) => ({
      name: v.name,
      publicKey: v.validatorKey.publicKey,
      // The beacon key every node derives from its consensus key (src/crypto/bls.ts): no extra key file.
      blsPubKey: blsPublicKeyOfSeed(v.validatorKey.secretKey),
      stake: DEFAULT_VALIDATOR_STAKE,
    })),
    accounts: [
      { category: 'marketplace', address: addressOf(faucet.publicKey), amount: FAUCET_AMOUNT },
      ...(opts.accounts ?? []).map((a) => ({ category: 'marketplace' as const, address: a.address, amount: a.amount })),
    ],
    appParams,
    consensusParams: template.consensusParams,
  });

  for (const v of nodes) {
    const config = defaultConfig(v.name);
    config.p2p.laddr = `/ip4/127.0.0.1/tcp/${v.p2pPort}`;
    config.rpc.laddr = `tcp://127.0.0.1:${v.rpcPort}`;
    // Validators keep each other connected; full nodes dial the validators (and are then their peers too).
    config.p2p.persistent_peers = nodes.filter((o) => o.i !== v.i && o.validator).map((o) => o.peer);
    opts.configure?.(config, v.i);
    await initHome({ home: v.home, moniker: v.name, nodeKey: v.nodeKey, validatorKey: v.validatorKey, genesis, config });
  }

  // The faucet: a key file in DIR for tools (bench --faucet) and the same key in node0's keyring, so that
  // `agentcluster tx bank send faucet ADDRESS AMOUNT --home DIR/node0 --node URL` works out of the box.
  await writeFaucetKey(join(dir, FAUCET_KEY_FILE), faucet);
  await new Keyring(join(nodes[0].home, 'keyring')).add(FAUCET_KEY_NAME, faucet);
  // The attestation authority: `agentcluster agent attest --authority-key DIR/attestation_authority_key.json ...`.
  await writeFileSafe(join(dir, ATTESTATION_AUTHORITY_KEY_FILE), JSON.stringify({ name: ATTESTATION_AUTHORITY_NAME, ...keyFileToJSON(authority) }, null, 2) + '\n', {
    mode: SECRET_FILE_MODE,
  });

  const out: DevnetNode[] = nodes.map((v) => ({ name: v.name, validator: v.validator, home: v.home, rpc: `http://127.0.0.1:${v.rpcPort}`, p2p: v.peer }));
  await writeFileSafe(join(dir, NODES_FILE), JSON.stringify(out, null, 2) + '\n', { mode: PUBLIC_FILE_MODE });
  return out;
}

async function writeFaucetKey(path: string, kp: KeyPair): Promise<void> {
  await writeFileSafe(path, JSON.stringify({ name: FAUCET_KEY_NAME, ...keyFileToJSON(kp) }, null, 2) + '\n', { mode: SECRET_FILE_MODE });
}

/** DIR/nodes.json of an existing devnet. */
export async function readDevnetNodes(dir: string): Promise<DevnetNode[]> {
  const path = join(resolve(dir), NODES_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AppError('NOT_FOUND', `${path} does not exist; create the devnet with 'agentcluster devnet --dir ${dir}'`, { path });
    }
    throw err;
  }
  const nodes = JSON.parse(text) as DevnetNode[];
  if (!Array.isArray(nodes) || nodes.some((x) => typeof x?.home !== 'string' || typeof x?.rpc !== 'string' || typeof x?.name !== 'string')) {
    throw new AppError('INVALID_FIELD', `${path} is not a devnet node list [{"name","home","rpc","p2p"}]`, { path });
  }
  // Lists written before full nodes existed hold validators only.
  return nodes.map((x) => ({ ...x, validator: x.validator !== false }));
}

// ---------------- running the nodes as child processes ----------------

export const BIN = fileURLToPath(new URL('../../bin/agentcluster.ts', import.meta.url));

export interface RunningDevnet {
  nodes: DevnetNode[];
  children: ChildProcess[];
  /** Resolves when every child has exited; the value is each node's exit code or signal. */
  exited: Promise<Array<{ name: string; code: number | null; signal: NodeJS.Signals | null }>>;
  /** SIGTERM to every node, then SIGKILL to those still running after graceMs. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export const DEFAULT_STOP_GRACE_MS = 10_000;

/**
 * Starts `agentcluster start --home HOME` for each node under this Node binary, appending the node's stderr (its JSON
 * log) to logDir/NAME.log (default: the devnet dir, the parent of the homes).
 */
export function startDevnet(nodes: DevnetNode[], opts: { logDir?: string; onExit?: (name: string, code: number | null, signal: NodeJS.Signals | null) => void } = {}): RunningDevnet {
  const logs: WriteStream[] = [];
  const children = nodes.map((node) => {
    const logPath = join(opts.logDir ?? resolve(node.home, '..'), `${node.name}.log`);
    const log = createWriteStream(logPath, { flags: 'a' });
    logs.push(log);
    // Own process group: a terminal's Ctrl-C reaches only the runner, which sends each node exactly one SIGTERM (a
    // second signal arriving while a node is closing would kill it mid-shutdown).
    // glibc gives each thread that allocates its own malloc arena; with libuv's signature-check threads that held
    // ~100 MB more RSS per node under load than two arenas do (BENCHMARKS.md). An operator's own setting wins.
    const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };
    const child = spawn(process.execPath, [BIN, 'start', '--home', node.home], { stdio: ['ignore', 'ignore', 'pipe'], detached: true, env });
    child.stderr!.pipe(log);
    return child;
  });
  const exited = Promise.all(
    children.map(
      (child, i) =>
        new Promise<{ name: string; code: number | null; signal: NodeJS.Signals | null }>((res) => {
          const done = (code: number | null, signal: NodeJS.Signals | null) => {
            opts.onExit?.(nodes[i].name, code, signal);
            res({ name: nodes[i].name, code, signal });
          };
          if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode, child.signalCode);
          else child.once('exit', done);
        }),
    ),
  );
  // Close the log files only once everything a child wrote has been flushed.
  const closed = exited.then(() => Promise.all(logs.map((l) => new Promise<void>((r) => l.end(r)))));
  let stopping: Promise<void> | null = null;
  const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  return {
    nodes,
    children,
    exited,
    stop(graceMs = DEFAULT_STOP_GRACE_MS) {
      stopping ??= (async () => {
        for (const c of children) if (running(c)) c.kill('SIGTERM');
        const timer = setTimeout(() => {
          for (const c of children) if (running(c)) c.kill('SIGKILL');
        }, graceMs);
        await exited;
        clearTimeout(timer);
        await closed;
      })();
      return stopping;
    },
  };
}
