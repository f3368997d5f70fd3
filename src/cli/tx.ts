// `agentcluster tx bank send`: build a tx, sign it with a keyring key, broadcast it through a node, print the node's
// result. What is not given is asked of the node: the chain id (status), the nonce (account), the gas price (the
// minimum in params) and the gas limit (the params' gas schedule for this tx, plus a margin; unused gas is refunded).
import type { Command, OptionSpec, ParsedArgs } from './command.ts';
import { optBool, optString, reqString, UsageError } from './command.ts';
import { AppError } from '../errors.ts';
import { homePaths } from '../node/config.ts';
import { Keyring } from './keyring.ts';
import { signTx } from '../codec/tx.ts';
import type { TxBody } from '../codec/types.ts';
import type { KeyPair } from '../crypto/keys.ts';
import { addressOf } from '../crypto/keys.ts';
import { fromHex } from '../crypto/bytes.ts';
import { parseAmount, parseUint, type RpcClient } from '../rpc/client.ts';
import type { AppParamsJSON } from '../state/genesis.ts';
import { NODE_OPTION, addressOrKey, errorCodeOf, withClient } from './query.ts';

const U64 = /^(?:0|[1-9][0-9]{0,19})$/;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

function optU64(args: ParsedArgs, name: string, min = 0n): bigint | undefined {
  const text = optString(args, name);
  if (text === undefined) return undefined;
  const n = U64.test(text) ? BigInt(text) : -1n;
  if (n < min || n > U64_MAX) throw new UsageError(`--${name} must be an integer from ${min} to ${U64_MAX}, got ${JSON.stringify(text)}`, []);
  return n;
}

type Mode = 'sync' | 'async' | 'commit';

function broadcastMode(args: ParsedArgs): Mode {
  const chosen = (['sync', 'async', 'commit'] as const).filter((m) => optBool(args, m));
  if (chosen.length > 1) throw new UsageError(`choose one of --sync, --async, --commit (got ${chosen.map((m) => `--${m}`).join(' and ')})`, []);
  return chosen[0] ?? 'sync';
}

/** Gas margin over the schedule's intrinsic gas, in percent: room for message costs the schedule may add. */
const GAS_MARGIN_PERCENT = 20n;

/** Gas limit for `body` from the params' schedule: base + bytes x byte gas + the message's entry, plus the margin. */
export function estimateGas(params: AppParamsJSON, body: TxBody, key: KeyPair): bigint {
  // Sized with a gas limit whose varint is at least as long as the final one, so the estimate never falls short.
  const bytes = BigInt(signTx({ ...body, gasLimit: 1n << 40n }, key).length);
  const fees = params.fees;
  const intrinsic = BigInt(fees.tx_base_gas) + bytes * BigInt(fees.tx_byte_gas) + BigInt(fees.msg_gas[body.msg.type] ?? '0');
  return intrinsic + (intrinsic * GAS_MARGIN_PERCENT + 99n) / 100n;
}

/** A rejected tx fails the command with its own code (WRONG_NONCE, INSUFFICIENT_FUNDS, ...) and the node's log. */
function checkResult(stage: string, r: { code: number; log: string; codespace: string }, hash: string): void {
  if (r.code === 0) return;
  const code = r.codespace === 'agentcluster' || r.codespace === '' ? errorCodeOf(r.code) : 'INTERNAL';
  const log = r.log.startsWith(`${code}: `) ? r.log.slice(code.length + 2) : r.log;
  throw new AppError(code, `${stage}: ${log} (code ${r.code}${r.codespace ? `, codespace ${r.codespace}` : ''}; tx ${hash})`, { hash, code: r.code });
}

async function send(client: RpcClient, args: ParsedArgs, key: KeyPair, to: string, amount: bigint, mode: Mode): Promise<unknown> {
  const from = addressOf(key.publicKey);
  let nonce = optU64(args, 'nonce');
  let gasLimit = optU64(args, 'gas-limit', 1n);
  let gasPrice = optU64(args, 'gas-price');
  const [status, account, params] = await Promise.all([
    client.status(),
    nonce === undefined ? client.account(from) : undefined,
    gasLimit === undefined || gasPrice === undefined ? client.params() : undefined,
  ]);
  nonce ??= parseUint(account!.nonce, 'account nonce');
  gasPrice ??= BigInt(params!.fees.min_gas_price);
  const body: TxBody = {
    chainId: status.node_info.network,
    nonce,
    gasLimit: 1n,
    gasPrice,
    memo: optString(args, 'memo') ?? '',
    msg: { type: 'send', value: { to: fromHex(to), amount } },
  };
  gasLimit ??= estimateGas(params!, body, key);
  const tx = signTx({ ...body, gasLimit }, key);
  if (mode === 'async') return client.broadcastTxAsync(tx);
  if (mode === 'sync') {
    const r = await client.broadcastTxSync(tx);
    checkResult('the node refused the tx', r, r.hash);
    return r;
  }
  const r = await client.broadcastTxCommit(tx);
  checkResult('the node refused the tx', r.check_tx, r.hash);
  checkResult(`the tx failed in block ${r.height}`, r.tx_result, r.hash);
  return r;
}

export const txBankSendCommand: Command = {
  name: 'send',
  summary: 'send uacc from a keyring key to an address',
  usage: 'FROM_KEY TO_ADDRESS AMOUNT --home DIR [--node URL] [--gas-limit N] [--gas-price N] [--memo S] [--nonce N] [--sync|--async|--commit]',
  description:
    'Signs a transfer with the key FROM_KEY of DIR/keyring/ and broadcasts it; prints the node\'s broadcast result\n' +
    '({code, data, log, codespace, hash}; with --commit {check_tx, tx_result, hash, height}). AMOUNT is uacc (2500,\n' +
    '2500uacc) or ACC (1.5acc). The chain id comes from the node\'s status; the nonce, gas price and gas limit from the\n' +
    'node unless given. A tx the node refuses (or, with --commit, that fails) exits 1 with its error code.',
  options: {
    home: { type: 'string', valueName: 'DIR', description: 'home directory holding the keyring (DIR/keyring/)', required: true },
    node: NODE_OPTION,
    'gas-limit': { type: 'string', valueName: 'N', description: 'most gas the tx may use (default: estimated from the params)' },
    'gas-price': { type: 'string', valueName: 'N', description: 'uacc per unit of gas (default: the minimum gas price)' },
    memo: { type: 'string', valueName: 'S', description: 'a note carried by the tx' },
    nonce: { type: 'string', valueName: 'N', description: 'the sender\'s next nonce (default: asked of the node)' },
    sync: { type: 'boolean', description: 'wait for the mempool\'s check (the default)' },
    async: { type: 'boolean', description: 'return as soon as the node has the tx' },
    commit: { type: 'boolean', description: 'wait until the tx is in a committed block' },
  },
  args: [
    { name: 'FROM_KEY', description: 'name of the sending key in the keyring', required: true },
    { name: 'TO_ADDRESS', description: 'recipient: an address (40 hex characters) or a keyring key name', required: true },
    { name: 'AMOUNT', description: 'uacc (e.g. 2500) or ACC (e.g. 1.5acc), more than 0', required: true },
  ],
  async run(args) {
    const [fromName, toText, amountText] = args.positionals;
    const home = reqString(args, 'home');
    let amount: bigint;
    try {
      amount = parseAmount(amountText);
    } catch (err) {
      throw new UsageError(`AMOUNT: ${(err as Error).message}`, []);
    }
    if (amount === 0n) throw new UsageError('AMOUNT must be more than 0', []);
    const mode = broadcastMode(args);
    // Checked before the key is read or the node asked, so that a typo costs nothing.
    for (const name of ['nonce', 'gas-price'] as const) optU64(args, name);
    optU64(args, 'gas-limit', 1n);
    const key = await new Keyring(homePaths(home).keyringDir).load(fromName);
    const to = await addressOrKey(toText, args, 'TO_ADDRESS');
    return withClient(args, (client) => send(client, args, key, to, amount, mode));
  },
};

export const txBankCommand: Command = {
  name: 'bank',
  summary: 'token transfers',
  usage: '<command> [options]',
  options: {},
  subcommands: [txBankSendCommand],
};

export const txCommand: Command = {
  name: 'tx',
  summary: 'sign and broadcast transactions through a node',
  usage: '<command> [options]',
  options: {},
  subcommands: [txBankCommand],
};
