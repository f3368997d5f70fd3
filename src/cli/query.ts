// `agentcluster query account|supply|params|block|tx|agent|agents|validator|validators|task|tasks|committee|reputation|
// proposal|proposals|upgrade-plan`: read the chain through a node's JSON-RPC (src/rpc/client.ts) and print the node's JSON result. Also the helpers every client command shares: which node to talk to (--node,
// else rpc.laddr of --home's config.toml, else http://127.0.0.1:26657) and how client failures read on stderr.
import type { Command, OptionSpec, ParsedArgs } from './command.ts';
import { idArg, optString, UsageError } from './command.ts';
import { AppError, ErrorCodes, type ErrorCode } from '../errors.ts';
import { homePaths, loadConfig, parseTcpAddress } from '../node/config.ts';
import { Keyring } from './keyring.ts';
import { RpcClient, RpcClientError, RpcTransportError } from '../rpc/client.ts';
import { RpcCode } from '../rpc/types.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { PROPOSAL_STATUSES, TASK_STATUSES, type ProposalStatus } from '../codec/types.ts';

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
  summary: 'show the token supply: total, circulating, liquid, pools, bonded, staked, unbonding, escrows, unvested, burned (uacc)',
  usage: '[--node URL] [--home DIR]',
  description:
    'Prints the node\'s `supply` result. liquid + pools_total + bonded + staked + unbonding + slash_escrow + tasks + governance + unvested + burned = total; ' +
    'circulating = total - burned - pools_total - unvested; min_proposal_deposit is the least deposit a governance proposal locks now.',
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

export const queryAgentCommand: Command = {
  name: 'agent',
  summary: 'show a registered agent: status, bond, capabilities, attestation, validator, unbonding',
  usage: 'ADDRESS|KEYNAME [--node URL] [--home DIR]',
  description: [
    "Prints the node's `agent` result: {address, pub_key, status, bond, capabilities, capabilities_status,",
    'capabilities_verified_at, attestation {kind, expires_at, measurement, valid}, registered_at, registered_height,',
    'validator, unbonding}. A KEYNAME is looked up in DIR/keyring/. An address that is no agent fails with NOT_FOUND.',
  ].join('\n'),
  options: queryOptions,
  args: [{ name: 'ADDRESS|KEYNAME', description: "the agent's address (40 hex characters) or the name of a keyring key", required: true }],
  async run(args) {
    const address = await addressOrKey(args.positionals[0], args, 'ADDRESS|KEYNAME');
    return withClient(args, (c) => c.agent(address));
  },
};

const AGENT_STATUSES = ['active', 'unbonding', 'validator'] as const;
const PAGE = /^[1-9][0-9]{0,8}$/;

function pageOption(args: ParsedArgs, name: string, max?: number): number | undefined {
  const text = optString(args, name);
  if (text === undefined) return undefined;
  const n = PAGE.test(text) ? Number(text) : 0;
  if (n < 1 || (max !== undefined && n > max)) {
    throw new UsageError(`--${name} must be an integer from 1${max === undefined ? ' up' : ` to ${max}`}, got ${JSON.stringify(text)}`, []);
  }
  return n;
}

export const queryAgentsCommand: Command = {
  name: 'agents',
  summary: 'list agents, by address, a page at a time, with optional filters',
  usage: '[--status active|unbonding|validator] [--capability TAG|gpu|verified] [--page N] [--per-page N] [--node URL] [--home DIR]',
  description: [
    "Prints the node's `agents` result: {agents: [...], count, total, height}, each agent as 'query agent' shows it.",
    '--status validator lists the agents whose validator holds voting power. --capability matches a model or skill',
    'tag, or "gpu" (any GPU memory) or "verified" (capabilities verified by a benchmark). Pages count from 1;',
    '--per-page is 1-100 (default 30).',
  ].join('\n'),
  options: {
    ...queryOptions,
    status: { type: 'string', valueName: 'S', description: 'active, unbonding or validator' },
    capability: { type: 'string', valueName: 'C', description: 'a model or skill tag, gpu, or verified' },
    page: { type: 'string', valueName: 'N', description: 'page number, from 1 (default 1)' },
    'per-page': { type: 'string', valueName: 'N', description: 'agents per page, 1-100 (default 30)' },
  },
  async run(args) {
    const status = optString(args, 'status');
    if (status !== undefined && !(AGENT_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(`--status must be one of ${AGENT_STATUSES.join(', ')}, got ${JSON.stringify(status)}`, []);
    }
    const page = pageOption(args, 'page');
    const perPage = pageOption(args, 'per-page', 100);
    const capability = optString(args, 'capability');
    return withClient(args, (c) => c.agents({ status: status as (typeof AGENT_STATUSES)[number] | undefined, capability, page, perPage }));
  },
};

export const queryValidatorCommand: Command = {
  name: 'validator',
  summary: "show a validator's state record: stake, power, reputation factor, status, signing, slashes",
  usage: 'ADDRESS [--node URL] [--home DIR]',
  description: [
    "Prints the node's `validator` result: {address, pub_key, operator, name, stake, power, reputation_factor,",
    'reputation_factor_decimal, status (bonded, unbonded, jailed, tombstoned, removed), jailed_until, tombstoned, removed, signing',
    "{missed, window}, slashes}. ADDRESS is the consensus address ('query agent' shows an agent's validator).",
  ].join('\n'),
  options: queryOptions,
  args: [{ name: 'ADDRESS', description: "the validator's consensus address (40 hex characters)", required: true }],
  async run(args) {
    const m = ADDRESS_TEXT.exec(args.positionals[0]);
    if (m === null) throw new UsageError(`ADDRESS must be a consensus address (40 hex characters), got ${JSON.stringify(args.positionals[0])}`, []);
    return withClient(args, (c) => c.validator(m[1]));
  },
};

export const queryValidatorsCommand: Command = {
  name: 'validators',
  summary: 'list the validator set (CometBFT `validators`, every page), with stake, reputation factor, operator and name',
  usage: '[HEIGHT] [--node URL] [--home DIR]',
  description: [
    "Prints {block_height, validators, count, total}: CometBFT's `validators` result with all its pages merged (the",
    'set of HEIGHT, default the next height). Each entry adds stake, reputation_factor, operator and name from the',
    "state's validator record to CometBFT's address, pub_key, voting_power and proposer_priority.",
  ].join('\n'),
  options: queryOptions,
  args: [{ name: 'HEIGHT', description: 'block height, 1 or more (default: the next height)' }],
  async run(args) {
    const text = args.positionals[0];
    if (text !== undefined && !HEIGHT.test(text)) throw new UsageError(`HEIGHT must be a positive integer, got ${JSON.stringify(text)}`, []);
    return withClient(args, (c) => c.allValidators(text === undefined ? undefined : BigInt(text)));
  },
};

const TASK_STATUSES_HINT = `one of ${TASK_STATUSES.join(', ')}`;

export const queryTaskCommand: Command = {
  name: 'task',
  summary: 'show a task: requirements, bounty, deadline, assignee, result, review rounds, verdict, payouts',
  usage: 'ID [--node URL] [--home DIR]',
  description: "Prints the node's `task` result. An unknown id fails with NOT_FOUND.",
  options: queryOptions,
  args: [{ name: 'ID', description: 'the task id (1, 2, ...)', required: true }],
  async run(args) {
    const id = idArg(args.positionals[0], 'ID', 'a task id');
    return withClient(args, (c) => c.task(id));
  },
};

export const queryTasksCommand: Command = {
  name: 'tasks',
  summary: 'list tasks, newest first, by status, submitter or assignee',
  usage: '[--status S] [--submitter ADDRESS|KEYNAME] [--assignee ADDRESS|KEYNAME] [--page N] [--per-page N] [--node URL] [--home DIR]',
  description: `Prints the node's \`tasks\` result: {tasks: [...], count, total, height}. --status is a task status (${TASK_STATUSES_HINT}).`,
  options: {
    ...queryOptions,
    status: { type: 'string', valueName: 'S', description: 'a task status' },
    submitter: { type: 'string', valueName: 'ADDRESS', description: 'tasks this address or key submitted' },
    assignee: { type: 'string', valueName: 'ADDRESS', description: 'tasks routed to this address or key' },
    page: { type: 'string', valueName: 'N', description: 'page number, from 1 (default 1)' },
    'per-page': { type: 'string', valueName: 'N', description: 'tasks per page, 1-100 (default 30)' },
  },
  async run(args) {
    const status = optString(args, 'status');
    if (status !== undefined && !(TASK_STATUSES as readonly string[]).includes(status)) throw new UsageError(`--status must be ${TASK_STATUSES_HINT}, got ${JSON.stringify(status)}`, []);
    const page = pageOption(args, 'page');
    const perPage = pageOption(args, 'per-page', 100);
    const who = async (name: string): Promise<string | undefined> => {
      const v = optString(args, name);
      return v === undefined ? undefined : addressOrKey(v, args, `--${name}`);
    };
    const submitter = await who('submitter');
    const assignee = await who('assignee');
    return withClient(args, (c) => c.tasks({ status, submitter, assignee, page, perPage }));
  },
};

export const queryCommitteeCommand: Command = {
  name: 'committee',
  summary: "show a task's review committees: members, weights, commit and reveal status, windows, tally",
  usage: 'TASK_ID [--node URL] [--home DIR]',
  description: "Prints the node's `committee` result. A verdict stays hidden until its member reveals it.",
  options: queryOptions,
  args: [{ name: 'TASK_ID', description: 'the task id', required: true }],
  async run(args) {
    const id = idArg(args.positionals[0], 'TASK_ID', 'a task id');
    return withClient(args, (c) => c.committee(id));
  },
};

export const queryReputationCommand: Command = {
  name: 'reputation',
  summary: "show an agent's reputation: task, validator, compute and social, decayed to the latest block time",
  usage: 'ADDRESS|KEYNAME [--node URL] [--home DIR]',
  description: "Prints the node's `reputation` result: every dimension decayed to the latest block time, the stored values, the validator factor and the endorsements.",
  options: queryOptions,
  args: [{ name: 'ADDRESS|KEYNAME', description: 'an address (40 hex characters) or the name of a keyring key', required: true }],
  async run(args) {
    const address = await addressOrKey(args.positionals[0], args, 'ADDRESS|KEYNAME');
    return withClient(args, (c) => c.reputation(address));
  },
};

const PROPOSAL_STATUSES_HINT = `one of ${PROPOSAL_STATUSES.join(', ')}`;

export const queryProposalCommand: Command = {
  name: 'proposal',
  summary: 'show a governance proposal: its action, status, deposit, tally (live while voting), execution and votes',
  usage: 'ID [--node URL] [--home DIR]',
  description: [
    "Prints the node's `proposal` result: {id, kind, title, summary, proposer, content, critical, status, deposit,",
    'deposit_status, submitted_at, submit_height, voting_end, tally {yes, no, abstain, veto, total_weight, cast,',
    'quorum_bps, quorum_needed, quorum_reached, pass_rule}, tally_final, tallied_at, tally_height, outcome, execute_at,',
    'executed_height, failure, votes}. While the proposal is voting the tally is live (weights as of the latest',
    'block; tally_final false). An unknown id fails with NOT_FOUND.',
  ].join('\n'),
  options: queryOptions,
  args: [{ name: 'ID', description: 'the proposal id (1, 2, ...)', required: true }],
  async run(args) {
    const id = idArg(args.positionals[0], 'ID', 'a proposal id');
    return withClient(args, (c) => c.proposal(id));
  },
};

export const queryProposalsCommand: Command = {
  name: 'proposals',
  summary: 'list governance proposals, newest first, by status',
  usage: '[--status S] [--page N] [--per-page N] [--node URL] [--home DIR]',
  description: `Prints the node's \`proposals\` result: {proposals: [...], count, total, height}, each as 'query proposal' shows it but without its votes. --status is ${PROPOSAL_STATUSES_HINT}.`,
  options: {
    ...queryOptions,
    status: { type: 'string', valueName: 'S', description: 'a proposal status' },
    page: { type: 'string', valueName: 'N', description: 'page number, from 1 (default 1)' },
    'per-page': { type: 'string', valueName: 'N', description: 'proposals per page, 1-100 (default 30)' },
  },
  async run(args) {
    const status = optString(args, 'status');
    if (status !== undefined && !(PROPOSAL_STATUSES as readonly string[]).includes(status)) throw new UsageError(`--status must be ${PROPOSAL_STATUSES_HINT}, got ${JSON.stringify(status)}`, []);
    const page = pageOption(args, 'page');
    const perPage = pageOption(args, 'per-page', 100);
    return withClient(args, (c) => c.proposals({ status: status as ProposalStatus | undefined, page, perPage }));
  },
};

export const queryUpgradePlanCommand: Command = {
  name: 'upgrade-plan',
  summary: 'show the software-upgrade plan the last executed upgrade proposal recorded',
  usage: '[--node URL] [--home DIR]',
  description: "Prints the node's `upgrade_plan` result: {name, height, info, proposal_id}, every field null if no upgrade proposal executed. Nodes are not halted by it: switch binaries at the height.",
  options: queryOptions,
  async run(args) {
    return withClient(args, (c) => c.upgradePlan());
  },
};

export const queryCommand: Command = {
  name: 'query',
  summary: 'read the chain through a node: account, supply, params, block, tx, agent(s), validator(s), task(s), committee, reputation, proposal(s), upgrade-plan',
  usage: '<command> [options]',
  options: {},
  subcommands: [
    queryAccountCommand,
    querySupplyCommand,
    queryParamsCommand,
    queryBlockCommand,
    queryTxCommand,
    queryAgentCommand,
    queryAgentsCommand,
    queryValidatorCommand,
    queryValidatorsCommand,
    queryTaskCommand,
    queryTasksCommand,
    queryCommitteeCommand,
    queryReputationCommand,
    queryProposalCommand,
    queryProposalsCommand,
    queryUpgradePlanCommand,
  ],
};
