// `agentcluster query account|supply|params|block|tx`: read the chain through a node's JSON-RPC (src/rpc/client.ts)
// and print the node's JSON result. Also the helpers every client command shares: which node to talk to (--node,
// else rpc.laddr of --home's config.toml, else http://127.0.0.1:26657) and how client failures read on stderr.
import type { Command, OptionSpec, ParsedArgs } from './command.ts';
import { optString, UsageError } from './command.ts';
import { AppError, ErrorCodes, type ErrorCode } from '../errors.ts';
import { homePaths, loadConfig, parseTcpAddress } from '../node/config.ts';
import { Keyring } from './keyring.ts';
import { RpcClient, RpcClientError, RpcTransportError } from '../rpc/client.ts';
import { RpcCode } from '../rpc/types.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';

export const DEFAULT_NODE_URL = 'http://127.0.0.1:26657';

export const NODE_OPTION: OptionSpec = {
  type: 'string',
  valueName: 'URL',
  description: `JSON-RPC address of the node (default: rpc.laddr of --home's config.toml, else ${DEFAULT_NODE_URL})`,
};

/** The node to talk to: --node, else rpc.laddr of --home's config.toml (if it has one), else the default. */
export async function nodeUrl(args: ParsedArgs): Promise<string> {
  const node = optString(args, 'node');
  if (node !== undefined) {
    let url: URL | null = null;
    try {
      url = new URL(node);
    } catch {
      url = null;
    }
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new UsageError(`--node must be an http:// or https:// URL such as ${DEFAULT_NODE_URL}, got ${JSON.stringify(node)}`, []);
    }
    return node;
  }
  const home = optString(args, 'home');
  if (home === undefined) return DEFAULT_NODE_URL;
  let laddr: string;
  try {
    laddr = (await loadConfig(home)).rpc.laddr;
  } catch (err) {
    // A home holding only a keyring (a client machine) has no config: the default node it is.
    if (err instanceof AppError && err.code === 'NOT_FOUND') return DEFAULT_NODE_URL;
    throw err;
  }
  return urlOfListenAddress(laddr, homePaths(home).configFile);
}

/** tcp://HOST:PORT -> http://HOST:PORT; a wildcard listen address is reached on loopback. */
export function urlOfListenAddress(laddr: string, source = 'config.toml'): string {
  const a = parseTcpAddress(laddr);
  if (a === null) throw new AppError('BAD_CONFIG', `${source}: rpc.laddr ${JSON.stringify(laddr)} is not tcp://HOST:PORT; fix it or pass --node URL`);
  if (a.port === 0) throw new AppError('BAD_CONFIG', `${source}: rpc.laddr uses port 0 (any free port), so the node's address is unknown; pass --node URL`);
  let host = a.host;
  if (host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
}

function codeOfRpcError(err: RpcClientError): ErrorCode {
  if (err.code === RpcCode.INVALID_PARAMS) return 'INVALID_FIELD';
  if (err.code === RpcCode.METHOD_NOT_FOUND) return 'NOT_FOUND';
  if (/not found/i.test(err.data)) return 'NOT_FOUND';
  return 'INTERNAL';
}

/**
 * How a client failure reads on stderr: an unreachable node names its URL; a JSON-RPC error shows its code, message
 * and data. (errors.ts has no client codes yet: NOT_FOUND for no node at the URL, INTERNAL for timeouts.)
 */
export function clientFailure(err: unknown, url: string): unknown {
  if (err instanceof RpcTransportError) {
    return new AppError(err.reason === 'unreachable' ? 'NOT_FOUND' : 'INTERNAL', err.message, { url: err.url });
  }
  if (err instanceof RpcClientError) {
    return new AppError(codeOfRpcError(err), `the node at ${url} refused ${err.method}: ${err.rpcMessage} (${err.code})${err.data ? `: ${err.data}` : ''}`, {
      url,
      rpc_code: err.code,
      data: err.data,
    });
  }
  return err;
}

/** Runs `fn` with a client for the command's node; maps its failures to sentences that name the node. */
export async function withClient<T>(args: ParsedArgs, fn: (client: RpcClient) => Promise<T>): Promise<T> {
  const url = await nodeUrl(args);
  const client = new RpcClient(url);
  try {
    return await fn(client);
  } catch (err) {
    throw clientFailure(err, url);
  } finally {
    await client.close();
  }
}

/** A tx result code of this chain as its AppError code name (codespace agentcluster); INTERNAL if unknown. */
export function errorCodeOf(code: number): ErrorCode {
  const entry = Object.entries(ErrorCodes).find(([, n]) => n === code);
  return (entry?.[0] as ErrorCode | undefined) ?? 'INTERNAL';
}

const ADDRESS_TEXT = /^(?:0x)?([0-9A-Fa-f]{40})$/;

/** An address given as 40 hex characters, or the name of a key in --home's keyring. */
export async function addressOrKey(text: string, args: ParsedArgs, what: string): Promise<string> {
  const m = ADDRESS_TEXT.exec(text);
  if (m !== null) return toHex(fromHex(m[1]));
  const home = optString(args, 'home');
  if (home === undefined) {
    throw new UsageError(`${what} must be an address (40 hex characters) or a key name with --home DIR; got ${JSON.stringify(text)}`, []);
  }
  return (await new Keyring(homePaths(home).keyringDir).get(text)).address;
}

const HOME_OPTION: OptionSpec = { type: 'string', valueName: 'DIR', description: 'home directory: its keyring names addresses, its config.toml the node' };

const queryOptions = { node: NODE_OPTION, home: HOME_OPTION };

export const queryAccountCommand: Command = {
  name: 'account',
  summary: 'show an account: balance and nonce in uacc, vesting if any',
  usage: 'ADDRESS|KEYNAME [--node URL] [--home DIR]',
  description: 'Prints the node\'s `account` result: {address, balance, nonce, vesting}. A KEYNAME is looked up in DIR/keyring/.',
  options: queryOptions,
  args: [{ name: 'ADDRESS|KEYNAME', description: 'an address (40 hex characters) or the name of a keyring key', required: true }],
  async run(args) {
    const address = await addressOrKey(args.positionals[0], args, 'ADDRESS|KEYNAME');
    return withClient(args, (c) => c.account(address));
  },
};

export const querySupplyCommand: Command = {
  name: 'supply',
  summary: 'show the token supply: total, balances, staked, unvested, burned and the pools, in uacc',
  usage: '[--node URL] [--home DIR]',
  description: 'Prints the node\'s `supply` result. balances + staked + unvested + burned = total.',
  options: queryOptions,
  async run(args) {
    return withClient(args, (c) => c.supply());
  },
};

export const queryParamsCommand: Command = {
  name: 'params',
  summary: 'show the protocol parameters (as in genesis app_state.params)',
  usage: '[--node URL] [--home DIR]',
  options: queryOptions,
  async run(args) {
    return withClient(args, (c) => c.params());
  },
};

const HEIGHT = /^[1-9][0-9]{0,18}$/;

export const queryBlockCommand: Command = {
  name: 'block',
  summary: 'show a block (the latest without HEIGHT), in CometBFT\'s JSON',
  usage: '[HEIGHT] [--node URL] [--home DIR]',
  options: queryOptions,
  args: [{ name: 'HEIGHT', description: 'block height, 1 or more (default: the latest)' }],
  async run(args) {
    const text = args.positionals[0];
    if (text !== undefined && !HEIGHT.test(text)) throw new UsageError(`HEIGHT must be a positive integer, got ${JSON.stringify(text)}`, []);
    return withClient(args, (c) => c.block(text === undefined ? undefined : BigInt(text)));
  },
};

const TX_HASH = /^(?:0x)?([0-9A-Fa-f]{64})$/;

export const queryTxCommand: Command = {
  name: 'tx',
  summary: 'show a committed transaction and its result, by hash',
  usage: 'HASH [--node URL] [--home DIR]',
  options: queryOptions,
  args: [{ name: 'HASH', description: 'tx hash: 64 hex characters (SHA-256 of the tx bytes)', required: true }],
  async run(args) {
    const m = TX_HASH.exec(args.positionals[0]);
    if (m === null) throw new UsageError(`HASH must be 64 hex characters (a tx hash), got ${JSON.stringify(args.positionals[0])}`, []);
    return withClient(args, (c) => c.tx(m[1]));
  },
};

export const queryCommand: Command = {
  name: 'query',
  summary: 'read the chain through a node: account, supply, params, block, tx',
  usage: '<command> [options]',
  options: {},
  subcommands: [queryAccountCommand, querySupplyCommand, queryParamsCommand, queryBlockCommand, queryTxCommand],
};
