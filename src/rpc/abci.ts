// abci_info and abci_query, in CometBFT v0.38's shapes ({response: {...}}), over the state commitment.
//
// abci_query {path, data, height, prove}
//   path    what `data` names (QUERY_PATHS below): /store takes a raw state key (namespace byte + record key, see
//           src/state/repo.ts); the friendly paths take the record's key and map it to its state key.
//   height  0 or absent = the latest committed state; H = the state after block H (as in CometBFT and the Cosmos SDK).
//           Every height from the genesis state (initial_height - 1) on is readable: the sparse Merkle tree's nodes
//           are content-addressed and never pruned, so the root of height H (results of H record it) still resolves.
//   prove   adds a proof of membership (the value is in the state) or of non-membership (the key is absent).
// The response's `key` is the state key the value and the proof are about; `value` is the record's stored bytes
// (protobuf, or the params JSON), null when the key is absent; `height` is H; `log` says "exists" or "does not exist".
// A query the app cannot answer (unknown path, malformed data, a height not committed yet) has a non-zero `code`
// (codespace "agentcluster", the numbers of src/errors.ts) and a `log` saying what to fix, as a CometBFT app answers.
//
// Verifying a proof (what RpcClient.queryProven does):
//   1. proofOps.ops is one op {type: "smt:agentcluster", key: K, data: P}; K must equal response.key, and must be the
//      state key the client meant (stateKeyForQuery(path, data)).
//   2. The app hash of the state after H: block H+1's header carries it (`header` at H+1, field app_hash; CometBFT's
//      semantics). For the latest height there is no such header yet: abci_info's last_block_app_hash is it while
//      last_block_height = H (status.sync_info.latest_app_hash, taken from the latest header as in CometBFT, is the
//      hash of the state after latest - 1), or wait for block H+1.
//   3. verifyProof(appHash, K, value or null, decodeProof(P)) from src/state/smt.ts must return true.
//   The header is only as trustworthy as its source: a light client checks commit H+1 (more than 2/3 of the voting
//   power signed block H+1) before trusting its app_hash.
import { readFile } from 'node:fs/promises';
import type { App } from '../state/app.ts';
import { Executor, paramsRecord } from '../state/executor.ts';
import { accounts } from '../state/accounts.ts';
import { supply, vesting } from '../state/economics.ts';
import { validators } from '../state/validators.ts';
import { agents } from '../state/agents.ts';
import { signingInfos } from '../state/slashing.ts';
import { SparseMerkleTree, encodeProof } from '../state/smt.ts';
import type { StateReader } from '../state/store.ts';
import { ADDRESS_LENGTH } from '../crypto/keys.ts';
import { toBase64 } from '../crypto/bytes.ts';
import { CODESPACE, ErrorCodes, type ErrorCode } from '../errors.ts';
import { RpcError, type MethodTable } from './types.ts';
import type { RpcContext } from './context.ts';

/** Type of the proof op abci_query returns: an encoded SmtProof (src/state/smt.ts encodeProof). */
export const SMT_PROOF_TYPE = 'smt:agentcluster';
/** abci_info.response.data: the application's name. */
export const APP_NAME = 'agentcluster';
/** abci_info.response.app_version: the state machine's protocol version (bumped by software upgrades, issue 8). */
export const APP_VERSION = 1n;
/** Longest raw state key /store accepts (namespace byte + a record key; today's keys are at most 21 bytes). */
export const MAX_STATE_KEY_BYTES = 256;

/** A query the app refuses: becomes a response with a non-zero code. */
export class QueryError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'QueryError';
    this.code = code;
  }
}

export interface QueryPath {
  path: string;
  /** What `data` holds, for errors and help. */
  data: string;
  /** The state key `data` names; throws QueryError with a sentence on malformed data. */
  stateKey(data: Uint8Array): Uint8Array;
}

function addressPath(path: string, stateKey: (address: Uint8Array) => Uint8Array): QueryPath {
  return {
    path,
    data: `a ${ADDRESS_LENGTH}-byte address`,
    stateKey(data) {
      if (data.length !== ADDRESS_LENGTH) throw new QueryError('INVALID_FIELD', `${path} takes data = a ${ADDRESS_LENGTH}-byte address (40 hex characters), got ${data.length} bytes`);
      return stateKey(data);
    },
  };
}

function singletonPath(path: string, key: Uint8Array): QueryPath {
  return {
    path,
    data: 'nothing (empty data)',
    stateKey(data) {
      if (data.length !== 0) throw new QueryError('INVALID_FIELD', `${path} takes no data, got ${data.length} bytes`);
      return key;
    },
  };
}

/** Every path abci_query answers. Later modules add theirs (/agent, /task, ...) next to their repositories. */
export const QUERY_PATHS: ReadonlyMap<string, QueryPath> = new Map(
  [
    {
      path: '/store',
      data: `a raw state key (1 to ${MAX_STATE_KEY_BYTES} bytes: namespace byte + record key)`,
      stateKey(data: Uint8Array): Uint8Array {
        if (data.length === 0 || data.length > MAX_STATE_KEY_BYTES) {
          throw new QueryError('INVALID_FIELD', `/store takes data = a raw state key of 1 to ${MAX_STATE_KEY_BYTES} bytes (namespace byte + record key), got ${data.length} bytes`);
        }
        return data;
      },
    },
    addressPath('/account', (a) => accounts.stateKey(a)),
    addressPath('/vesting', (a) => vesting.stateKey(a)),
    addressPath('/validator', (a) => validators.stateKey(a)),
    addressPath('/agent', (a) => agents.stateKey(a)),
    addressPath('/signing_info', (a) => signingInfos.stateKey(a)),
    singletonPath('/supply', supply.stateKey),
    singletonPath('/params', paramsRecord.stateKey),
  ].map((p) => [p.path, p]),
);

/** The state key a (path, data) query is about; throws QueryError for an unknown path or malformed data. */
export function stateKeyForQuery(path: string, data: Uint8Array): Uint8Array {
  const p = QUERY_PATHS.get(path);
  if (p === undefined) {
    const known = [...QUERY_PATHS.values()].map((q) => `${q.path} (data: ${q.data})`).join('; ');
    throw new QueryError('INVALID_FIELD', `unknown query path ${JSON.stringify(path)}; use one of: ${known}`);
  }
  return p.stateKey(data);
}

// ---------------------------------------------------------------------------------------------------------------
// App hashes by height, and a tree to read old roots
// ---------------------------------------------------------------------------------------------------------------

const EMPTY_STATE: StateReader = {
  get: async () => undefined,
  getMany: async (keys) => keys.map(() => undefined),
  entries: async () => [],
};

const genesisHashes = new WeakMap<App, Promise<Uint8Array>>();
const trees = new WeakMap<App, SparseMerkleTree>();

/** The genesis state's app hash, recomputed once from the genesis (the store keeps no record of it past height 0). */
function genesisAppHash(app: App): Promise<Uint8Array> {
  let p = genesisHashes.get(app);
  if (p === undefined) {
    // A fresh executor, so that the genesis nodes do not churn the block executor's node cache.
    p = new Executor(app.executor.modules, app.store).initChain(EMPTY_STATE, app.genesis).then((out) => out.appHash);
    genesisHashes.set(app, p);
  }
  return p;
}

/** A tree for queries, with its own node cache (the executor's is for blocks). */
export function queryTree(app: App): SparseMerkleTree {
  let t = trees.get(app);
  if (t === undefined) {
    t = new SparseMerkleTree(app.store, { cacheNodes: 20_000 });
    trees.set(app, t);
  }
  return t;
}

/**
 * The app hash of the state after block `height` (the genesis state for initial_height - 1), or undefined if that
 * height is not committed. Block results record it for every height (and block H+1's header carries it).
 */
export async function appHashAt(app: App, height: bigint, head = app.head()): Promise<Uint8Array | undefined> {
  if (height === head.height) return head.appHash;
  const genesisHeight = app.genesis.initialHeight - 1n;
  if (height > head.height || height < genesisHeight) return undefined;
  if (height === genesisHeight) return genesisAppHash(app);
  return (await app.store.getResults(height))?.appHash;
}

// ---------------------------------------------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------------------------------------------

/** CometBFT v0.38 ResponseQuery as JSON (int64 as strings, bytes as base64, JSON null for absent bytes). */
export interface AbciQueryResponseJSON {
  code: number;
  log: string;
  info: string;
  index: string;
  key: string | null;
  value: string | null;
  proofOps: { ops: Array<{ type: string; key: string; data: string }> } | null;
  height: string;
  codespace: string;
}

let versionPromise: Promise<string> | null = null;

function packageVersion(): Promise<string> {
  versionPromise ??= readFile(new URL('../../package.json', import.meta.url), 'utf8')
    .then((text) => {
      const v = (JSON.parse(text) as { version?: unknown }).version;
      return typeof v === 'string' ? v : 'unknown';
    })
    .catch(() => 'unknown');
  return versionPromise;
}

function failure(err: QueryError, height: bigint): AbciQueryResponseJSON {
  return { code: ErrorCodes[err.code], log: err.message, info: '', index: '0', key: null, value: null, proofOps: null, height: height.toString(), codespace: CODESPACE };
}

/** Answers one query against the committed state; never throws for a bad query (it returns a non-zero code). */
export async function abciQuery(app: App, path: string, data: Uint8Array, height: bigint, prove: boolean): Promise<AbciQueryResponseJSON> {
  // One head for the whole query: its root stays readable even if blocks commit meanwhile.
  const head = app.head();
  const h = height === 0n ? head.height : height;
  try {
    const key = stateKeyForQuery(path, data);
    if (h > head.height) throw new QueryError('INVALID_FIELD', `height ${h} is not committed yet; the latest height is ${head.height} (pass 0 for the latest)`);
    const root = await appHashAt(app, h, head);
    if (root === undefined) {
      throw new QueryError('NOT_FOUND', `no state at height ${h}: the first state is the genesis state at height ${app.genesis.initialHeight - 1n}`);
    }
    const tree = queryTree(app);
    const value = await tree.get(root, key);
    const proofOps = prove ? { ops: [{ type: SMT_PROOF_TYPE, key: toBase64(key), data: toBase64(encodeProof(await tree.prove(root, key))) }] } : null;
    return {
      code: 0,
      log: value === undefined ? 'does not exist' : 'exists',
      info: '',
      index: '0',
      key: toBase64(key),
      value: value === undefined ? null : toBase64(value),
      proofOps,
      height: h.toString(),
      codespace: '',
    };
  } catch (err) {
    if (err instanceof QueryError) return failure(err, h);
    throw err;
  }
}

export function abciMethods(ctx: RpcContext): MethodTable {
  const { app } = ctx;
  return {
    abci_info: {
      params: [],
      async handler() {
        const head = app.head();
        return {
          response: {
            data: APP_NAME,
            version: await packageVersion(),
            app_version: APP_VERSION.toString(),
            last_block_height: head.height.toString(),
            last_block_app_hash: toBase64(head.appHash),
          },
        };
      },
    },
    abci_query: {
      params: [
        { name: 'path', type: 'string', optional: true },
        { name: 'data', type: 'hex', optional: true },
        { name: 'height', type: 'int64', optional: true },
        { name: 'prove', type: 'bool', optional: true },
      ],
      async handler(args) {
        const height = (args.height as bigint | undefined) ?? 0n;
        if (height < 0n) throw RpcError.invalidParams(`height must be 0 (the latest state) or a committed height, got ${height}`);
        const path = (args.path as string | undefined) ?? '';
        const data = (args.data as Uint8Array | undefined) ?? new Uint8Array(0);
        return { response: await abciQuery(app, path, data, height, args.prove === true) };
      },
    },
  };
}
