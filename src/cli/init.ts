// `agentcluster init`: makes a CometBFT-like node home (DESIGN.md section 6) with a one-validator genesis:
//   HOME/config/{config.toml, genesis.json, node_key.json, priv_validator_key.json}
//   HOME/data/priv_validator_state.json
//   HOME/keyring/
// Key files are 0600 in 0700 directories. Existing keys, genesis or config are never replaced without --force.
import { mkdir } from 'node:fs/promises';
import { AppError } from '../errors.ts';
import { addressOf, generateKeyPair, keyFileToJSON, type KeyPair } from '../crypto/keys.ts';
import { toHex } from '../crypto/bytes.ts';
import { buildGenesis, genesisToJSON, type Genesis } from '../state/genesis.ts';
import { optBool, optString, reqString, toJson, type Command } from './command.ts';
import { checkMoniker, defaultConfig, homePaths, writeConfig, type NodeConfig } from '../node/config.ts';
import { ensureDir, exists, PRIVATE_DIR_MODE, PUBLIC_FILE_MODE, SECRET_FILE_MODE, writeFileSafe } from '../node/fsutil.ts';
import { blsPublicKeyOfSeed } from '../crypto/bls.ts';

export const DEFAULT_CHAIN_ID = 'agentcluster-local';
export const DEFAULT_MONIKER = 'node0';
export const CHAIN_ID = /^[\x21-\x7e]{1,50}$/;

/** The double-sign guard's starting point: nothing signed yet. */
export const INITIAL_PRIV_VALIDATOR_STATE = { height: '0', round: 0, step: 0 } as const;

export interface InitOptions {
  home: string;
  chainId?: string;
  moniker?: string;
  force?: boolean;
  /** Genesis time in ns since the epoch; defaults to now, truncated to the second. */
  genesisTime?: bigint;
  // The devnet builds one genesis over every validator's key before writing the homes, so it passes keys, genesis
  // and config in; a plain init generates the keys and a one-validator genesis.
  nodeKey?: KeyPair;
  validatorKey?: KeyPair;
  /** Written as is instead of the one-validator genesis (chainId and genesisTime are then ignored). */
  genesis?: Genesis;
  /** Written instead of defaultConfig(moniker). */
  config?: NodeConfig;
}

export interface InitResult {
  home: string;
  chain_id: string;
  moniker: string;
  validator_address: string;
  node_id: string;
  files: string[];
}

/** Creates the home. Usable from code (devnet, tests) as well as from the command. */
export async function initHome(opts: InitOptions): Promise<InitResult> {
  const chainId = opts.chainId ?? DEFAULT_CHAIN_ID;
  const moniker = opts.moniker ?? DEFAULT_MONIKER;
  const force = opts.force ?? false;
  if (!CHAIN_ID.test(chainId)) {
    throw new AppError('INVALID_FIELD', `--chain-id ${JSON.stringify(chainId)} is not valid: use 1 to 50 printable ASCII characters without spaces`, {
      field: 'chain_id',
    });
  }
  const monikerProblem = checkMoniker(moniker);
  if (monikerProblem !== null) {
    throw new AppError('INVALID_FIELD', `--moniker ${JSON.stringify(moniker)} ${monikerProblem}`, { field: 'moniker' });
  }

  const paths = homePaths(opts.home);
  const files = [paths.configFile, paths.genesisFile, paths.nodeKeyFile, paths.privValidatorKeyFile, paths.privValidatorStateFile];
  const existsHint = 'pass --force to replace the keys, genesis and config (the old keys are lost) or choose another --home';
  if (!force) {
    for (const f of files) {
      if (await exists(f)) throw new AppError('ALREADY_EXISTS', `${f} already exists; ${existsHint}`, { path: f });
    }
  }

  try {
    await mkdir(paths.home, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new AppError('INVALID_FIELD', `--home ${paths.home} is not a directory; choose another --home`, { path: paths.home });
    }
    throw err;
  }
  await ensureDir(paths.configDir, PRIVATE_DIR_MODE);
  await ensureDir(paths.dataDir, PRIVATE_DIR_MODE);
  await ensureDir(paths.keyringDir, PRIVATE_DIR_MODE);

  const write = (path: string, data: string, mode: number) => writeFileSafe(path, data, { mode, overwrite: force, existsHint });
  const nodeKey = opts.nodeKey ?? generateKeyPair();
  const validatorKey = opts.validatorKey ?? generateKeyPair();
  await write(paths.nodeKeyFile, JSON.stringify(keyFileToJSON(nodeKey), null, 2) + '\n', SECRET_FILE_MODE);
  await write(paths.privValidatorKeyFile, JSON.stringify(keyFileToJSON(validatorKey), null, 2) + '\n', SECRET_FILE_MODE);
  await write(paths.privValidatorStateFile, JSON.stringify(INITIAL_PRIV_VALIDATOR_STATE, null, 2) + '\n', SECRET_FILE_MODE);

  // The CLI may read the clock: genesis time is an input to the state machine, not something it computes.
  const genesisTime = opts.genesisTime ?? BigInt(Math.floor(Date.now() / 1000)) * 1_000_000_000n;
  const genesis = opts.genesis ?? buildGenesis({ chainId, genesisTime, validators: [{ name: moniker, publicKey: validatorKey.publicKey, blsPubKey: blsPublicKeyOfSeed(validatorKey.secretKey) }] });
  await write(paths.genesisFile, toJson(genesisToJSON(genesis)) + '\n', PUBLIC_FILE_MODE);
  await writeConfig(paths.home, opts.config ?? defaultConfig(moniker), { overwrite: force });

  return {
    home: paths.home,
    chain_id: genesis.chainId,
    moniker,
    validator_address: toHex(addressOf(validatorKey.publicKey)),
    // CometBFT shows node IDs as lower-case hex of the node key's address.
    node_id: toHex(addressOf(nodeKey.publicKey)).toLowerCase(),
    files,
  };
}

export const initCommand: Command = {
  name: 'init',
  summary: 'create a node home: config, one-validator genesis, validator and node keys',
  usage: '--home DIR [--chain-id ID] [--moniker NAME] [--force]',
  description: [
    'Writes DIR/config/{config.toml, genesis.json, node_key.json, priv_validator_key.json},',
    'DIR/data/priv_validator_state.json and an empty keyring DIR/keyring/. Key files are readable only by their owner.',
    'The genesis has this node as its only validator and gives the team share to the validator address.',
    'Prints {home, chain_id, moniker, validator_address, node_id, files}.',
  ].join('\n'),
  options: {
    home: { type: 'string', valueName: 'DIR', required: true, description: 'home directory to create' },
    'chain-id': { type: 'string', valueName: 'ID', default: DEFAULT_CHAIN_ID, description: 'chain id written in genesis' },
    moniker: { type: 'string', valueName: 'NAME', default: DEFAULT_MONIKER, description: 'node name; also the validator name in genesis' },
    force: { type: 'boolean', description: 'replace existing keys, genesis and config (the old keys are lost)' },
  },
  async run(args) {
    return initHome({
      home: reqString(args, 'home'),
      chainId: optString(args, 'chain-id'),
      moniker: optString(args, 'moniker'),
      force: optBool(args, 'force'),
    });
  },
};
