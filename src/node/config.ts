// The node home (CometBFT-like layout, DESIGN.md section 6) and its config.toml: one place that knows where every file
// lives, a typed NodeConfig, and a strict loader that names the key and what to fix on any mistake.
import { readFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { join, resolve } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { AppError } from '../errors.ts';
import { PUBLIC_FILE_MODE, writeFileSafe } from './fsutil.ts';

// ---------------- home layout ----------------

export interface HomePaths {
  home: string;
  configDir: string;
  dataDir: string;
  keyringDir: string;
  configFile: string;
  genesisFile: string;
  nodeKeyFile: string;
  privValidatorKeyFile: string;
  privValidatorStateFile: string;
}

/** Every path of a node home. `home` is resolved to an absolute path. */
export function homePaths(home: string): HomePaths {
  const root = resolve(home);
  const configDir = join(root, 'config');
  const dataDir = join(root, 'data');
  return {
    home: root,
    configDir,
    dataDir,
    keyringDir: join(root, 'keyring'),
    configFile: join(configDir, 'config.toml'),
    genesisFile: join(configDir, 'genesis.json'),
    nodeKeyFile: join(configDir, 'node_key.json'),
    privValidatorKeyFile: join(configDir, 'priv_validator_key.json'),
    privValidatorStateFile: join(dataDir, 'priv_validator_state.json'),
  };
}

// ---------------- config ----------------

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface NodeConfig {
  /** Human-readable name of this node; also the validator's name in a genesis made by `init`. */
  moniker: string;
  rpc: {
    /** JSON-RPC listen address, tcp://HOST:PORT. */
    laddr: string;
    /** Enables the methods that change the node (dial_peers, unsafe_flush_mempool). */
    unsafe: boolean;
    /** Most simultaneous HTTP and WebSocket connections. */
    max_open_connections: number;
    /** Most WebSocket clients with subscriptions. */
    max_subscription_clients: number;
    /** Most subscriptions per WebSocket client. */
    max_subscriptions_per_client: number;
    /** How long broadcast_tx_commit waits for the tx to be committed, ms. */
    timeout_broadcast_tx_commit_ms: number;
  };
  p2p: {
    /** libp2p listen multiaddr, e.g. /ip4/127.0.0.1/tcp/26656. */
    laddr: string;
    /** Multiaddrs of peers to stay connected to. */
    persistent_peers: string[];
    /** Multiaddrs of peers used only to discover others. */
    seeds: string[];
    max_connections: number;
  };
  consensus: {
    create_empty_blocks: boolean;
  };
  mempool: {
    /** Most transactions held. */
    size: number;
    /** Most bytes of transactions held. */
    max_txs_bytes: number;
  };
  log: {
    level: LogLevel;
  };
}

export const DEFAULT_RPC_PORT = 26657;
export const DEFAULT_P2P_PORT = 26656;

export function defaultConfig(moniker: string): NodeConfig {
  return {
    moniker,
    rpc: {
      laddr: `tcp://127.0.0.1:${DEFAULT_RPC_PORT}`,
      unsafe: false,
      max_open_connections: 900,
      max_subscription_clients: 100,
      max_subscriptions_per_client: 5,
      timeout_broadcast_tx_commit_ms: 10_000,
    },
    p2p: { laddr: `/ip4/127.0.0.1/tcp/${DEFAULT_P2P_PORT}`, persistent_peers: [], seeds: [], max_connections: 40 },
    consensus: { create_empty_blocks: true },
    mempool: { size: 10_000, max_txs_bytes: 67_108_864 },
    log: { level: 'info' },
  };
}

// ---- listen and peer addresses ----

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const PORT = /^(?:0|[1-9][0-9]{0,4})$/;
const PEER_ID = /^[A-Za-z0-9]{1,128}$/;

function parsePort(s: string, allowZero: boolean): number | null {
  if (!PORT.test(s)) return null;
  const port = Number(s);
  if (port > 65535 || (!allowZero && port === 0)) return null;
  return port;
}

export interface TcpAddress {
  host: string;
  port: number;
}

/** Parses `tcp://HOST:PORT` (HOST an IPv4 address, a [bracketed] IPv6 address or a host name); null if malformed. */
export function parseTcpAddress(s: string): TcpAddress | null {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/[\]]+):([0-9]+)$/.exec(s);
  if (m === null) return null;
  const port = parsePort(m[2], true);
  if (port === null) return null;
  let host = m[1];
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (!isIPv6(host)) return null;
  } else if (!isIPv4(host) && !(HOSTNAME.test(host) && !/^[0-9.]+$/.test(host))) {
    return null;
  }
  return { host, port };
}

export interface MultiaddrParts {
  proto: 'ip4' | 'ip6' | 'dns' | 'dns4' | 'dns6';
  host: string;
  port: number;
  peerId?: string;
}

/**
 * Parses the multiaddrs the node accepts: /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT. Peer addresses (listen: false) may end
 * with /p2p/PEER_ID and need a port above 0; listen addresses take no peer id and may use port 0. Null if malformed.
 */
export function parseMultiaddr(s: string, opts: { listen: boolean }): MultiaddrParts | null {
  const parts = s.split('/');
  if (parts[0] !== '' || (parts.length !== 5 && parts.length !== 7)) return null;
  const [, proto, host, tcp, portText, p2p, peerId] = parts;
  if (tcp !== 'tcp') return null;
  if (proto === 'ip4') {
    if (!isIPv4(host)) return null;
  } else if (proto === 'ip6') {
    if (!isIPv6(host)) return null;
  } else if (proto === 'dns' || proto === 'dns4' || proto === 'dns6') {
    if (!HOSTNAME.test(host)) return null;
  } else {
    return null;
  }
  const port = parsePort(portText, opts.listen);
  if (port === null) return null;
  if (parts.length === 7) {
    if (opts.listen || p2p !== 'p2p' || !PEER_ID.test(peerId)) return null;
    return { proto, host, port, peerId };
  }
  return { proto, host, port };
}

// ---- strict validation ----

type Kind = 'string' | 'boolean' | 'integer' | 'string[]';

interface FieldSpec {
  kind: Kind;
  /** Comment written above the key in config.toml. */
  doc: string;
  min?: number;
  max?: number;
  /** Returns what is wrong and how to fix it, or null when the value is fine. */
  check?(value: never): string | null;
}

type Section = Exclude<keyof NodeConfig, 'moniker'>;

const TOP_FIELDS: Record<'moniker', FieldSpec> = {
  moniker: {
    kind: 'string',
    doc: 'A name for this node, shown to operators; init also uses it as the validator name in genesis.',
    check: (v: string) => checkMoniker(v),
  },
};

const SECTIONS: { [S in Section]: { doc: string; fields: Record<keyof NodeConfig[S], FieldSpec> } } = {
  rpc: {
    doc: 'JSON-RPC server (HTTP and WebSocket), CometBFT-compatible for the shared methods.',
    fields: {
      laddr: {
        kind: 'string',
        doc: 'Listen address, tcp://HOST:PORT. Keep it on loopback unless the RPC is meant to be public.',
        check: (v: string) => (parseTcpAddress(v) ? null : 'must be tcp://HOST:PORT, for example "tcp://127.0.0.1:26657"'),
      },
      unsafe: { kind: 'boolean', doc: 'Enable the methods that change the node (dial_peers, unsafe_flush_mempool). Keep false on a public RPC.' },
      max_open_connections: { kind: 'integer', doc: 'Most simultaneous HTTP and WebSocket connections.', min: 1, max: 100_000 },
      max_subscription_clients: { kind: 'integer', doc: 'Most WebSocket clients holding subscriptions.', min: 0, max: 100_000 },
      max_subscriptions_per_client: { kind: 'integer', doc: 'Most subscriptions per WebSocket client.', min: 1, max: 10_000 },
      timeout_broadcast_tx_commit_ms: { kind: 'integer', doc: 'How long broadcast_tx_commit waits for the tx to be committed, in ms.', min: 1, max: 600_000 },
    },
  },
  p2p: {
    doc: 'Peer-to-peer networking (libp2p). Addresses are multiaddrs.',
    fields: {
      laddr: {
        kind: 'string',
        doc: 'Listen multiaddr, /ip4/HOST/tcp/PORT (or /ip6/..., /dns4/...).',
        check: (v: string) =>
          parseMultiaddr(v, { listen: true }) ? null : 'must be a multiaddr /ip4/HOST/tcp/PORT, for example "/ip4/127.0.0.1/tcp/26656"',
      },
      persistent_peers: {
        kind: 'string[]',
        doc: 'Peers to keep connected to: multiaddrs such as "/ip4/10.0.0.2/tcp/26656/p2p/<peer id>".',
        check: (v: string[]) => checkPeers(v),
      },
      seeds: {
        kind: 'string[]',
        doc: 'Peers used only to discover other peers, in the same multiaddr form.',
        check: (v: string[]) => checkPeers(v),
      },
      max_connections: { kind: 'integer', doc: 'Most simultaneous peer connections.', min: 1, max: 10_000 },
    },
  },
  consensus: {
    doc: 'Consensus (Tendermint). Round timeouts are consensus parameters in genesis, not local settings.',
    fields: {
      create_empty_blocks: { kind: 'boolean', doc: 'Propose blocks even when the mempool is empty.' },
    },
  },
  mempool: {
    doc: 'Pool of valid transactions waiting for a block.',
    fields: {
      size: { kind: 'integer', doc: 'Most transactions held.', min: 1, max: 10_000_000 },
      max_txs_bytes: { kind: 'integer', doc: 'Most bytes of transactions held.', min: 1, max: Number.MAX_SAFE_INTEGER },
    },
  },
  log: {
    doc: 'Logging (JSON lines on stderr).',
    fields: {
      level: {
        kind: 'string',
        doc: `One of ${LOG_LEVELS.join(', ')}.`,
        check: (v: string) => ((LOG_LEVELS as readonly string[]).includes(v) ? null : `must be one of ${LOG_LEVELS.join(', ')}`),
      },
    },
  },
};

const SECTION_NAMES = Object.keys(SECTIONS) as Section[];

export const MONIKER_MAX_LENGTH = 64;

/** Null if `moniker` is acceptable, else what to fix. */
export function checkMoniker(moniker: string): string | null {
  if (moniker.length === 0 || moniker.length > MONIKER_MAX_LENGTH) return `must be 1 to ${MONIKER_MAX_LENGTH} characters`;
  if (/[\p{Cc}\p{Cf}]/u.test(moniker)) return 'must not contain control or format characters';
  if (moniker.trim() !== moniker) return 'must not start or end with spaces';
  return null;
}

function checkPeers(peers: string[]): string | null {
  for (const p of peers) {
    if (parseMultiaddr(p, { listen: false }) === null) {
      return `has ${JSON.stringify(p)}, which is not a peer multiaddr such as "/ip4/10.0.0.2/tcp/26656/p2p/<peer id>"`;
    }
  }
  return null;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'bigint') return `the integer ${v}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `the float ${v}.0` : `the float ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  if (v !== null && typeof v === 'object') return 'a table';
  return String(v);
}

function isTable(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * Checks one value against its spec and returns it in its NodeConfig type. TOML integers arrive as bigint; a JS
 * number is accepted as an integer only when `numbersAreIntegers` (objects built in code, not parsed TOML, where a
 * number is a float).
 */
function checkField(source: string, key: string, spec: FieldSpec, v: unknown, numbersAreIntegers: boolean): unknown {
  const bad = (what: string): never => {
    throw new AppError('BAD_CONFIG', `${source}: ${key} ${what}, got ${describe(v)}`, { key });
  };
  let value: unknown;
  switch (spec.kind) {
    case 'string':
      if (typeof v !== 'string') bad('must be a string');
      value = v;
      break;
    case 'boolean':
      if (typeof v !== 'boolean') bad('must be true or false');
      value = v;
      break;
    case 'integer': {
      const range = `an integer from ${spec.min} to ${spec.max}`;
      let n: number;
      if (typeof v === 'bigint') {
        if (v < BigInt(spec.min!) || v > BigInt(spec.max!)) bad(`must be ${range}`);
        n = Number(v);
      } else if (typeof v === 'number' && numbersAreIntegers && Number.isSafeInteger(v)) {
        n = v;
      } else {
        return bad(`must be ${range} (no decimal point)`);
      }
      if (n < spec.min! || n > spec.max!) bad(`must be ${range}`);
      value = n;
      break;
    }
    case 'string[]':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad('must be an array of strings');
      value = [...(v as string[])];
      break;
  }
  if (spec.check) {
    const problem = spec.check(value as never);
    if (problem !== null) bad(problem);
  }
  return value;
}

function unknownKey(source: string, key: string, known: string[]): never {
  throw new AppError('BAD_CONFIG', `${source}: unknown key '${key}'; remove it or correct its name (known here: ${known.join(', ')})`, { key });
}

/**
 * Validates a raw config table (parsed TOML or an object built in code) and returns a NodeConfig. Missing keys take
 * their default; unknown keys, wrong types and malformed addresses are BAD_CONFIG errors naming the key.
 */
export function validateConfig(raw: unknown, source = 'config', opts: { numbersAreIntegers?: boolean } = {}): NodeConfig {
  const ints = opts.numbersAreIntegers ?? true;
  if (!isTable(raw)) throw new AppError('BAD_CONFIG', `${source}: must be a table of settings`);
  const topKnown = [...Object.keys(TOP_FIELDS), ...SECTION_NAMES.map((s) => `[${s}]`)];
  for (const key of Object.keys(raw)) {
    if (!(key in TOP_FIELDS) && !(SECTION_NAMES as string[]).includes(key)) unknownKey(source, key, topKnown);
  }
  const moniker = raw.moniker === undefined ? defaultConfig('node0').moniker : raw.moniker;
  const cfg = defaultConfig(checkField(source, 'moniker', TOP_FIELDS.moniker, moniker, ints) as string);
  const out = cfg as unknown as Record<string, Record<string, unknown>>;
  for (const section of SECTION_NAMES) {
    const table = raw[section];
    if (table === undefined) continue;
    if (!isTable(table)) {
      throw new AppError('BAD_CONFIG', `${source}: ${section} must be a table ([${section}] section), got ${describe(table)}`, { key: section });
    }
    const fields = SECTIONS[section].fields as Record<string, FieldSpec>;
    for (const [key, v] of Object.entries(table)) {
      const spec = fields[key];
      if (!Object.hasOwn(fields, key) || spec === undefined) unknownKey(source, `${section}.${key}`, Object.keys(fields));
      out[section][key] = checkField(source, `${section}.${key}`, spec, v, ints);
    }
  }
  return cfg;
}

/** Parses config.toml text; `source` names the file in error messages. */
export function parseConfig(text: string, source = 'config.toml'): NodeConfig {
  let raw: unknown;
  try {
    raw = parseToml(text, { integersAsBigInt: true, unsafeKeyBehaviour: 'throw' });
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new AppError('BAD_CONFIG', `${source}: not valid TOML: ${message}`);
  }
  return validateConfig(raw, source, { numbersAreIntegers: false });
}

/** Reads and validates HOME/config/config.toml. */
export async function loadConfig(home: string): Promise<NodeConfig> {
  const paths = homePaths(home);
  let text: string;
  try {
    text = await readFile(paths.configFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AppError('NOT_FOUND', `${paths.configFile} does not exist; run 'agentcluster init --home ${home}' first`, {
        path: paths.configFile,
      });
    }
    throw err;
  }
  return parseConfig(text, paths.configFile);
}

function comment(text: string): string {
  return `# ${text}\n`;
}

/** config.toml text: every section and key with a comment saying what it does. */
export function renderConfig(cfg: NodeConfig): string {
  const checked = validateConfig(cfg, 'config');
  let out =
    comment('AgentCluster node configuration (CometBFT-like layout).') +
    comment('Unknown keys are rejected when the node starts; missing keys take their default.') +
    comment('Consensus and economic parameters live in genesis.json, not here.') +
    '\n';
  out += comment(TOP_FIELDS.moniker.doc) + stringifyToml({ moniker: checked.moniker });
  for (const section of SECTION_NAMES) {
    const { doc, fields } = SECTIONS[section];
    out += '\n' + comment(doc) + `[${section}]\n`;
    const values = checked[section] as Record<string, unknown>;
    for (const [key, spec] of Object.entries(fields as Record<string, FieldSpec>)) {
      out += comment(spec.doc) + stringifyToml({ [key]: values[key] });
    }
  }
  return out;
}

/** Writes HOME/config/config.toml (the config directory must exist). Refuses to replace it unless `overwrite`. */
export async function writeConfig(home: string, cfg: NodeConfig, opts: { overwrite?: boolean } = {}): Promise<string> {
  const path = homePaths(home).configFile;
  await writeFileSafe(path, renderConfig(cfg), {
    mode: PUBLIC_FILE_MODE,
    overwrite: opts.overwrite ?? false,
    existsHint: 'pass --force to replace it or choose another --home',
  });
  return path;
}
