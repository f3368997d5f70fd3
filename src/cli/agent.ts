// `agentcluster agent attest`: an attestation authority issues an `authority` attestation for an agent key (the
// file `tx agent register --attestation FILE` reads). `agentcluster agent run`: the agent worker (src/agent/worker.ts).
//
// The attestation file is JSON: {"kind": "authority", "report": "<base64>", "expires_at": "<RFC 3339>"}; only kind and
// report are read back (readAttestationFile), expires_at is for people.
import { readFile } from 'node:fs/promises';
import type { Command, ParsedArgs } from './command.ts';
import { optString, reqString, UsageError } from './command.ts';
import { AppError } from '../errors.ts';
import { ATTESTATION_KIND, type Attestation } from '../codec/types.ts';
import { formatTime, MAX_TIME_NS, NS_PER_SECOND, parseTime } from '../codec/time.ts';
import { isCurvePoint, keyFileFromJSON, PUBKEY_LENGTH, type KeyPair } from '../crypto/keys.ts';
import { fromBase64, fromHex, toBase64 } from '../crypto/bytes.ts';
import { issueAuthorityAttestation } from '../state/attestation.ts';
import { join } from 'node:path';
import pino from 'pino';
import { addressOf } from '../crypto/keys.ts';
import { toHex } from '../crypto/bytes.ts';
import { homePaths } from '../node/config.ts';
import { RpcClient } from '../rpc/client.ts';
import { Worker } from '../agent/worker.ts';
import { Keyring } from './keyring.ts';
import { NODE_OPTION, nodeUrl } from './query.ts';

/** Default validity of an issued attestation: 30 days (the chain caps it at agents.attestation_max_seconds, 90 days by default). */
export const DEFAULT_VALID_FOR_SECONDS = 30n * 86_400n;

const CHAIN_ID = /^[A-Za-z0-9._-]{1,50}$/;
const SECONDS = /^[1-9][0-9]{0,11}$/;
const PUBKEY_HEX = /^[0-9A-Fa-f]{64}$/;
const PUBKEY_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

/** What `agent attest` prints and `tx agent register --attestation FILE` reads. */
export interface AttestationFileJSON {
  kind: string;
  /** Base64 of the report bytes. */
  report: string;
  /** RFC 3339, for people; not read back. */
  expires_at?: string;
}

export function attestationToJSON(a: Attestation, expiresNs?: bigint): AttestationFileJSON {
  return { kind: a.kind, report: toBase64(a.report), ...(expiresNs !== undefined ? { expires_at: formatTime(expiresNs) } : {}) };
}

/** Parses the JSON of an attestation file; `source` names it in errors (INVALID_FIELD with the field). */
export function attestationFromJSON(json: unknown, source = 'attestation file'): Attestation {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new AppError('INVALID_FIELD', `${source} must hold a JSON object {"kind": "...", "report": "<base64>"}, as 'agentcluster agent attest' prints`, { path: source });
  }
  const j = json as Record<string, unknown>;
  if (typeof j.kind !== 'string' || !ATTESTATION_KIND.test(j.kind)) {
    throw new AppError(
      'INVALID_FIELD',
      `${source}: "kind" must be an attestation kind (1-32 characters of a-z, 0-9 and "-", starting with a letter, e.g. "authority"), got ${JSON.stringify(j.kind ?? null)?.slice(0, 60)}`,
      { path: source, field: 'kind' },
    );
  }
  let report: Uint8Array | null = null;
  if (typeof j.report === 'string') {
    try {
      report = fromBase64(j.report);
    } catch {
      report = null;
    }
  }
  if (report === null || report.length === 0) {
    throw new AppError('INVALID_FIELD', `${source}: "report" must be the attestation report as non-empty base64; use the file 'agentcluster agent attest' printed`, {
      path: source,
      field: 'report',
    });
  }
  return { kind: j.kind, report };
}

/** Reads an attestation file (as `agent attest` prints it) for `tx agent register` / renewals. */
export async function readAttestationFile(path: string): Promise<Attestation> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('NOT_FOUND', `${path} does not exist; pass the file 'agentcluster agent attest' wrote`, { path });
    if (code === 'EISDIR') throw new AppError('INVALID_FIELD', `${path} is a directory; pass the file 'agentcluster agent attest' wrote`, { path });
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('INVALID_FIELD', `${path} is not valid JSON; pass the file 'agentcluster agent attest' wrote`, { path });
  }
  return attestationFromJSON(json, path);
}

async function loadKeyFile(path: string): Promise<KeyPair> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('NOT_FOUND', `${path} does not exist; pass the authority's ed25519 key file (the layout of priv_validator_key.json)`, { path });
    if (code === 'EISDIR') throw new AppError('BAD_KEY', `${path} is a directory; pass the authority's ed25519 key file`, { path });
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('BAD_KEY', `${path} is not valid JSON; pass the authority's ed25519 key file`, { path });
  }
  return keyFileFromJSON(json, path);
}

/** The agent key from --pub-key: 64 hex characters, or the base64 `value` that `keys show` prints. */
function parsePubKey(text: string): Uint8Array {
  let key: Uint8Array;
  if (PUBKEY_HEX.test(text)) key = fromHex(text);
  else if (PUBKEY_BASE64.test(text)) key = fromBase64(text);
  else {
    throw new AppError(
      'INVALID_FIELD',
      `--pub-key must be the agent's ed25519 public key as ${PUBKEY_LENGTH * 2} hex characters (or the base64 pub_key.value that 'agentcluster keys show' prints), got ${JSON.stringify(text.slice(0, 80))}`,
      { field: 'pub-key' },
    );
  }
  if (!isCurvePoint(key)) {
    throw new AppError('BAD_KEY', '--pub-key is not a valid ed25519 public key (a canonical curve point not of small order); pass the agent\'s own public key', { field: 'pub-key' });
  }
  return key;
}

function validFor(args: ParsedArgs): bigint {
  const text = optString(args, 'valid-for');
  if (text === undefined) return DEFAULT_VALID_FOR_SECONDS;
  if (!SECONDS.test(text)) throw new UsageError(`--valid-for must be a whole number of seconds from 1, got ${JSON.stringify(text)}`, []);
  return BigInt(text);
}

function issuedAt(args: ParsedArgs): bigint {
  const text = optString(args, 'issued-at');
  // The CLI may read the clock; the state machine never does (it checks against block time).
  if (text === undefined) return BigInt(Math.floor(Date.now() / 1000)) * NS_PER_SECOND;
  try {
    return parseTime(text);
  } catch (err) {
    throw new UsageError(`--issued-at: ${(err as Error).message}`, []);
  }
}

export const agentAttestCommand: Command = {
  name: 'attest',
  summary: 'as an attestation authority, issue an `authority` attestation for an agent key',
  usage: '--authority-key FILE --pub-key HEX --chain-id ID [--valid-for SECONDS] [--issued-at RFC3339]',
  description: [
    'Signs the statement "this agent key, on this chain, from --issued-at until --issued-at + --valid-for" with the',
    "authority's key and prints {kind, report, expires_at}; save it to a file for 'tx agent register --attestation FILE'.",
    "The chain accepts it only if the authority's public key is listed in the agents.attestation_authorities param",
    'and --valid-for is at most agents.attestation_max_seconds (90 days by default). Renew before expires_at.',
  ].join('\n'),
  options: {
    'authority-key': { type: 'string', valueName: 'FILE', required: true, description: "the authority's ed25519 key file (priv_validator_key.json layout)" },
    'pub-key': { type: 'string', valueName: 'HEX', required: true, description: "the agent's ed25519 public key, 64 hex characters" },
    'chain-id': { type: 'string', valueName: 'ID', required: true, description: 'chain id the attestation is for' },
    'valid-for': { type: 'string', valueName: 'SECONDS', default: DEFAULT_VALID_FOR_SECONDS.toString(), description: 'validity from --issued-at' },
    'issued-at': { type: 'string', valueName: 'RFC3339', description: 'issue time (default: now, truncated to the second)' },
  },
  async run(args) {
    const chainId = reqString(args, 'chain-id');
    if (!CHAIN_ID.test(chainId)) {
      throw new AppError('INVALID_FIELD', `--chain-id ${JSON.stringify(chainId.slice(0, 80))} is not valid: use 1 to 50 characters of A-Z, a-z, 0-9, ".", "_" or "-"`, { field: 'chain-id' });
    }
    const agentPubKey = parsePubKey(reqString(args, 'pub-key'));
    const seconds = validFor(args);
    const issuedNs = issuedAt(args);
    const expiresNs = issuedNs + seconds * NS_PER_SECOND;
    if (expiresNs > MAX_TIME_NS) throw new UsageError(`--valid-for ${seconds} from --issued-at ends after 9999-12-31; choose a shorter validity`, []);
    const authority = await loadKeyFile(reqString(args, 'authority-key'));
    const attestation = issueAuthorityAttestation({ authority, chainId, agentPubKey, issuedNs, expiresNs });
    return attestationToJSON(attestation, expiresNs);
  },
};

/** The keyring key the worker signs with: --from, or the keyring's only key. */
async function workerKey(home: string, from: string | undefined): Promise<KeyPair> {
  const keyring = new Keyring(homePaths(home).keyringDir);
  if (from !== undefined) return keyring.load(from);
  const keys = await keyring.list();
  if (keys.length !== 1) {
    throw new UsageError(`${home}/keyring holds ${keys.length} keys (${keys.map((k) => k.name).join(', ') || 'none'}); name the agent's key with --from NAME`, []);
  }
  return keyring.load(keys[0].name);
}

export const agentRunCommand: Command = {
  name: 'run',
  summary: "do an agent's duties: execute the tasks routed to it and review as a committee member",
  usage: '--home DIR --exec CMD [--review CMD] [--from NAME] [--node URL]',
  description: [
    "Follows the node over WebSocket and acts for the agent key (--from, or DIR/keyring's only key):",
    '  - a task routed to the agent is accepted, CMD runs with {"task": ...} as JSON on stdin (and TASK_ID, TASK_KIND,',
    '    TASK_INPUT in the environment), and its stdout is submitted as the result (inline, or its sha256 when larger',
    '    than tasks.max_inline_bytes);',
    '  - drawn onto a review committee, the --review command runs with {"task": ..., "result": ...} on stdin (and',
    '    RESULT_OUTPUT in the environment) and prints "approve" or "reject"; the worker commits the sealed verdict,',
    '    then reveals it in the reveal phase.',
    'Decisions are journaled in DIR/worker before they are sent, so a restart never runs a command twice for one task',
    'nor reveals another verdict than the one committed. Runs until SIGINT / SIGTERM; prints its counts when it stops.',
  ].join('\n'),
  options: {
    home: { type: 'string', valueName: 'DIR', required: true, description: 'home with the keyring (DIR/keyring) and the worker journal (DIR/worker)' },
    exec: { type: 'string', valueName: 'CMD', required: true, description: 'shell command that executes a task' },
    review: { type: 'string', valueName: 'CMD', description: 'shell command that reviews a result (without it, review duties are missed and slashed)' },
    from: { type: 'string', valueName: 'NAME', description: 'keyring key of the agent (default: the only key)' },
    node: NODE_OPTION,
  },
  async run(args, io) {
    const home = reqString(args, 'home');
    const key = await workerKey(home, optString(args, 'from'));
    const url = await nodeUrl(args);
    const client = new RpcClient(url);
    const log = pino({ base: { worker: toHex(addressOf(key.publicKey)) } }, pino.destination(2));
    const worker = new Worker({ client, key, exec: reqString(args, 'exec'), review: optString(args, 'review'), dir: join(home, 'worker'), log });
    await worker.start();
    log.info({ node: url }, 'agent worker started');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await worker.stop();
    await client.close();
    void io;
    return worker.stats;
  },
};

export const agentCommand: Command = {
  name: 'agent',
  summary: 'agent tools: issue attestations, run the agent worker',
  usage: '<command> [options]',
  options: {},
  subcommands: [agentAttestCommand, agentRunCommand],
};
