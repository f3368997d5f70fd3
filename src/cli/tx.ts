// `agentcluster tx ...`: build a tx, sign it with a keyring key, broadcast it through a node, print the node's result.
//   tx bank send                     a transfer
//   tx agent register|deregister|renew   agent registration (MsgRegisterAgent, MsgDeregisterAgent, MsgRenewAttestation)
//   tx staking stake|unstake|unjail  validator stake (MsgStake, MsgUnstake, MsgUnjail)
// What is not given is asked of the node: the chain id (status), the nonce (account), the gas price (the minimum in
// params) and the gas limit (the params' gas schedule for this tx's message type, plus a margin; unused gas is
// refunded). With --sync (the default) the command returns after the mempool's check; a message's own failure
// (a bad attestation, a stake below the minimum) only shows in the block: --commit waits for it.
import { readFile } from 'node:fs/promises';
import type { Command, OptionSpec, ParsedArgs } from './command.ts';
import { optBool, optString, reqString, UsageError } from './command.ts';
import { AppError } from '../errors.ts';
import { homePaths } from '../node/config.ts';
import { Keyring } from './keyring.ts';
import { readAttestationFile } from './agent.ts';
import { signTx } from '../codec/tx.ts';
import { AttestationStatementCodec, AuthorityReportCodec, MAX_TAGS, TxBodyCodec, type Attestation, type Capabilities, type Msg, type TxBody } from '../codec/types.ts';
import { parseTime } from '../codec/time.ts';
import { AUTHORITY_KIND } from '../state/attestation.ts';
import type { KeyPair } from '../crypto/keys.ts';
import { addressOf, isCurvePoint, keyFileFromJSON } from '../crypto/keys.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { blsPublicKeyOfSeed, blsPublicKeyProblem } from '../crypto/bls.ts';
import { formatAcc, parseAmount, parseUint, type RpcClient } from '../rpc/client.ts';
import type { AppParamsJSON } from '../state/genesis.ts';
import { NODE_OPTION, addressOrKey, errorCodeOf, withClient } from './query.ts';

const U64 = /^(?:0|[1-9][0-9]{0,19})$/;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

export function optU64(args: ParsedArgs, name: string, min = 0n): bigint | undefined {
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

/** Options every tx command takes besides its own. */
export const BROADCAST_OPTIONS: Record<string, OptionSpec> = {
  node: NODE_OPTION,
  'gas-limit': { type: 'string', valueName: 'N', description: 'most gas the tx may use (default: estimated from the params)' },
  'gas-price': { type: 'string', valueName: 'N', description: 'uacc per unit of gas (default: the minimum gas price)' },
  memo: { type: 'string', valueName: 'S', description: 'a note carried by the tx' },
  nonce: { type: 'string', valueName: 'N', description: 'the sender\'s next nonce (default: asked of the node, counting its txs pending there)' },
  sync: { type: 'boolean', description: 'wait for the mempool\'s check (the default)' },
  async: { type: 'boolean', description: 'return as soon as the node has the tx' },
  commit: { type: 'boolean', description: 'wait until the tx is in a committed block (and fail if its message failed)' },
};

/** The broadcast options checked before a key is read or the node asked, so that a typo costs nothing. */
export function checkBroadcastOptions(args: ParsedArgs): Mode {
  const mode = broadcastMode(args);
  for (const name of ['nonce', 'gas-price'] as const) optU64(args, name);
  optU64(args, 'gas-limit', 1n);
  return mode;
}

/**
 * Signs one message with `key` and broadcasts it. `msgOf` builds the message once the params are known (they are
 * fetched when the gas limit or price is not given, or when `needParams` says the message needs them).
 */
export async function broadcastMsg(
  client: RpcClient,
  args: ParsedArgs,
  key: KeyPair,
  mode: Mode,
  msgOf: (params: AppParamsJSON | undefined) => Msg,
  needParams = false,
): Promise<unknown> {
  const from = addressOf(key.publicKey);
  let nonce = optU64(args, 'nonce');
  let gasLimit = optU64(args, 'gas-limit', 1n);
  let gasPrice = optU64(args, 'gas-price');
  const [status, account, params] = await Promise.all([
    client.status(),
    nonce === undefined ? client.account(from) : undefined,
    needParams || gasLimit === undefined || gasPrice === undefined ? client.params() : undefined,
  ]);
  nonce ??= parseUint(account!.next_nonce, 'account next_nonce');
  gasPrice ??= BigInt(params!.fees.min_gas_price);
  const body: TxBody = {
    chainId: status.node_info.network,
    nonce,
    gasLimit: 1n,
    gasPrice,
    memo: optString(args, 'memo') ?? '',
    msg: msgOf(params),
  };
  gasLimit ??= estimateGas(params!, body, key);
  // The chain's stateless checks, run here first: a malformed message is refused before it costs anything.
  TxBodyCodec.decode(TxBodyCodec.encode({ ...body, gasLimit }));
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
    ...BROADCAST_OPTIONS,
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
    // Checked before the key is read or the node asked, so that a typo costs nothing.
    const mode = checkBroadcastOptions(args);
    const key = await new Keyring(homePaths(home).keyringDir).load(fromName);
    const to = await addressOrKey(toText, args, 'TO_ADDRESS');
    return withClient(args, (client) => broadcastMsg(client, args, key, mode, () => ({ type: 'send', value: { to: fromHex(to), amount } })));
  },
};

export const txBankCommand: Command = {
  name: 'bank',
  summary: 'token transfers',
  usage: '<command> [options]',
  options: {},
  subcommands: [txBankSendCommand],
};

// ---------------------------------------------------------------------------------------------------------------
// tx agent, tx staking
// ---------------------------------------------------------------------------------------------------------------

const FROM_OPTION: OptionSpec = { type: 'string', valueName: 'NAME', required: true, description: 'the keyring key that signs (the agent)' };
const HOME_OPTION: OptionSpec = { type: 'string', valueName: 'DIR', required: true, description: 'home directory holding the keyring (DIR/keyring/)' };
export const SIGNER_OPTIONS: Record<string, OptionSpec> = { from: FROM_OPTION, home: HOME_OPTION };

export function loadSigner(args: ParsedArgs): Promise<KeyPair> {
  return new Keyring(homePaths(reqString(args, 'home')).keyringDir).load(reqString(args, 'from'));
}

export function amountArg(text: string, what: string): bigint {
  let amount: bigint;
  try {
    amount = parseAmount(text);
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`, []);
  }
  if (amount === 0n) throw new UsageError(`${what} must be more than 0`, []);
  return amount;
}

const U32_MAX = 0xffff_ffffn;
/** A model or skill tag, as the chain accepts it (Capabilities validation in src/codec/types.ts). */
const TAG = /^[a-z0-9][a-z0-9._:/-]{0,63}$/;

export function tagList(args: ParsedArgs, name: 'models' | 'skills'): string[] {
  const text = optString(args, name);
  if (text === undefined || text === '') return [];
  const tags = text.split(',').map((x) => x.trim());
  const seen = new Set<string>();
  for (const tag of tags) {
    if (!TAG.test(tag)) {
      throw new UsageError(
        `--${name}: tag ${JSON.stringify(tag.slice(0, 70))} must be 1-64 characters of a-z, 0-9, ".", "_", ":", "/", "-", starting with a letter or digit (separate tags with commas)`,
        [],
      );
    }
    if (seen.has(tag)) throw new UsageError(`--${name} lists ${JSON.stringify(tag)} twice`, []);
    seen.add(tag);
  }
  if (tags.length > MAX_TAGS) throw new UsageError(`--${name} lists ${tags.length} tags; at most ${MAX_TAGS} fit in a registration`, []);
  return tags;
}

function capabilitiesOf(args: ParsedArgs): Capabilities {
  const cores = optU64(args, 'cpu-cores') ?? 0n;
  if (cores > U32_MAX) throw new UsageError(`--cpu-cores must be an integer from 0 to ${U32_MAX}, got ${cores}`, []);
  return {
    cpuCores: Number(cores),
    gpuMemoryMb: optU64(args, 'gpu-memory-mb') ?? 0n,
    llmTokensPerSecond: optU64(args, 'llm-tokens-per-second') ?? 0n,
    models: tagList(args, 'models'),
    skills: tagList(args, 'skills'),
  };
}

/** The issue time of an `authority` attestation (read from its statement); undefined for other kinds or a bad report. */
function issuedAtOf(a: Attestation): bigint | undefined {
  if (a.kind !== AUTHORITY_KIND) return undefined;
  try {
    return AttestationStatementCodec.decode(AuthorityReportCodec.decode(a.report).statement).issuedNs;
  } catch {
    return undefined; // the chain says what is wrong with it
  }
}

/** Longest wait for the chain's time to reach an attestation's issue time. */
const ISSUE_WAIT_MS = 15_000;

/**
 * The chain checks an attestation against the block time, which trails the wall clock by up to a block interval
 * (BFT time: the median of the previous commit's vote times). One issued "now" by 'agent attest' would then be
 * refused as issued in the future; so, before broadcasting, wait until the latest block time has reached the issue
 * time (every later block is later still). Gives up after ISSUE_WAIT_MS and lets the chain answer.
 */
async function awaitChainTime(client: RpcClient, attestation: Attestation): Promise<void> {
  const issued = issuedAtOf(attestation);
  if (issued === undefined) return;
  const deadline = Date.now() + ISSUE_WAIT_MS;
  for (;;) {
    const latest = parseTime((await client.status()).sync_info.latest_block_time);
    if (latest >= issued || Date.now() >= deadline) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const txAgentRegisterCommand: Command = {
  name: 'register',
  summary: 'register the --from key as an agent: declared capabilities, an attestation and a locked bond',
  usage:
    '--from NAME --home DIR --attestation FILE [--bond AMOUNT] [--cpu-cores N] [--gpu-memory-mb N] [--llm-tokens-per-second N] [--models a,b] [--skills x,y] [--node URL] [--sync|--async|--commit]',
  description: [
    'Signs MsgRegisterAgent with the key NAME of DIR/keyring/ and broadcasts it. The agent locks --bond (default: the',
    "chain's agents.bond, 10,000 ACC by default) and the registration fee (agents.registration_fee) burns, so the key",
    "needs bond + fee + gas. FILE is the attestation 'agentcluster agent attest' wrote for this key and this chain.",
    'Capabilities are claims until a compute benchmark verifies them. AMOUNT is uacc (2500, 2500uacc) or ACC (1.5acc).',
    'An attestation issued after the chain\'s latest block time (block time trails the clock) is held back until',
    "the chain's time has caught up (at most 15 s). Prints the node's broadcast result; use --commit to wait for the",
    "block and see whether the registration itself succeeded, then 'agentcluster query agent NAME --home DIR'.",
  ].join('\n'),
  options: {
    ...SIGNER_OPTIONS,
    attestation: { type: 'string', valueName: 'FILE', required: true, description: "the attestation file ('agentcluster agent attest' output)" },
    bond: { type: 'string', valueName: 'AMOUNT', description: "bond to lock, at least the chain's agents.bond (default: exactly that)" },
    'cpu-cores': { type: 'string', valueName: 'N', description: 'CPU cores offered (default 0)' },
    'gpu-memory-mb': { type: 'string', valueName: 'N', description: 'GPU memory offered, in MB (default 0)' },
    'llm-tokens-per-second': { type: 'string', valueName: 'N', description: 'LLM inference throughput claimed, tokens per second (default 0)' },
    models: { type: 'string', valueName: 'a,b', description: 'model tags, comma-separated (e.g. llama-3-70b,mistral-7b)' },
    skills: { type: 'string', valueName: 'x,y', description: 'skill tags, comma-separated (e.g. code-review,summarize)' },
    ...BROADCAST_OPTIONS,
  },
  async run(args) {
    const mode = checkBroadcastOptions(args);
    const bondText = optString(args, 'bond');
    const bond = bondText === undefined ? undefined : amountArg(bondText, '--bond');
    const capabilities = capabilitiesOf(args);
    const attestation = await readAttestationFile(reqString(args, 'attestation'));
    const key = await loadSigner(args);
    return withClient(args, async (client) => {
      await awaitChainTime(client, attestation);
      return broadcastMsg(
        client,
        args,
        key,
        mode,
        (params) => {
          const p = params!.agents;
          const required = BigInt(p.bond);
          if (bond !== undefined && bond < required) {
            throw new AppError('BOND_TOO_SMALL', `--bond ${bond} uacc is below the chain's agents.bond of ${required} uacc (${formatAcc(required)} ACC); bond at least that much`, {
              required: required.toString(),
            });
          }
          for (const field of ['models', 'skills'] as const) {
            if (BigInt(capabilities[field].length) > BigInt(p.max_tags)) {
              throw new AppError('INVALID_FIELD', `--${field} lists ${capabilities[field].length} tags; the chain allows at most agents.max_tags = ${p.max_tags}`, { field });
            }
          }
          return { type: 'register_agent', value: { capabilities, attestation, bond: bond ?? required } };
        },
        true,
      );
    });
  },
};

export const txAgentDeregisterCommand: Command = {
  name: 'deregister',
  summary: 'deregister the --from agent; its bond returns after agents.unbonding_seconds',
  usage: '--from NAME --home DIR [--node URL] [--sync|--async|--commit]',
  description: [
    'Signs MsgDeregisterAgent. The bond enters the unbonding queue (still slashable) and returns after',
    'agents.unbonding_seconds (21 days by default); then the agent record is removed and the key may register again.',
    "An agent with validator stake must unstake it all first ('agentcluster tx staking unstake').",
  ].join('\n'),
  options: { ...SIGNER_OPTIONS, ...BROADCAST_OPTIONS },
  async run(args) {
    const mode = checkBroadcastOptions(args);
    const key = await loadSigner(args);
    return withClient(args, (client) => broadcastMsg(client, args, key, mode, () => ({ type: 'deregister_agent', value: {} })));
  },
};

export const txAgentRenewCommand: Command = {
  name: 'renew',
  summary: "renew the --from agent's attestation with a fresh one",
  usage: '--from NAME --home DIR --attestation FILE [--node URL] [--sync|--async|--commit]',
  description: "Signs MsgRenewAttestation. FILE is a fresh attestation ('agentcluster agent attest') for this key and chain; renew before the current one expires.",
  options: {
    ...SIGNER_OPTIONS,
    attestation: { type: 'string', valueName: 'FILE', required: true, description: "the new attestation file ('agentcluster agent attest' output)" },
    ...BROADCAST_OPTIONS,
  },
  async run(args) {
    const mode = checkBroadcastOptions(args);
    const attestation = await readAttestationFile(reqString(args, 'attestation'));
    const key = await loadSigner(args);
    return withClient(args, async (client) => {
      await awaitChainTime(client, attestation);
      return broadcastMsg(client, args, key, mode, () => ({ type: 'renew_attestation', value: { attestation } }));
    });
  },
};

export const txAgentCommand: Command = {
  name: 'agent',
  summary: 'agent registration: register, deregister, renew',
  usage: '<command> [options]',
  options: {},
  subcommands: [txAgentRegisterCommand, txAgentDeregisterCommand, txAgentRenewCommand],
};

const PUBKEY_HEX = /^(?:0x)?([0-9A-Fa-f]{64})$/;
const MONIKER = /^[\x20-\x7e]{1,64}$/;

/**
 * The consensus key of a new validator: from a priv_validator_key.json (then with its seed, from which the beacon's
 * BLS key derives), or hex; empty = the agent's own key.
 */
async function consensusKey(args: ParsedArgs): Promise<{ pubKey: Uint8Array; seed?: Uint8Array }> {
  const file = optString(args, 'consensus-key');
  const hex = optString(args, 'consensus-pub-key');
  if (file !== undefined && hex !== undefined) throw new UsageError('give --consensus-key FILE or --consensus-pub-key HEX, not both', []);
  if (hex !== undefined) {
    const m = PUBKEY_HEX.exec(hex);
    if (m === null) throw new UsageError(`--consensus-pub-key must be an ed25519 public key as 64 hex characters, got ${JSON.stringify(hex.slice(0, 80))}`, []);
    const key = fromHex(m[1]);
    if (!isCurvePoint(key)) throw new UsageError('--consensus-pub-key is not a valid ed25519 public key (a canonical curve point not of small order)', []);
    return { pubKey: key };
  }
  if (file === undefined) return { pubKey: new Uint8Array(0) };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('NOT_FOUND', `${file} does not exist; pass the node's config/priv_validator_key.json`, { path: file });
    if (code === 'EISDIR') throw new AppError('BAD_KEY', `${file} is a directory; pass the node's config/priv_validator_key.json`, { path: file });
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('BAD_KEY', `${file} is not valid JSON; pass the node's config/priv_validator_key.json`, { path: file });
  }
  // The whole key file is checked (its public half must match its seed): a validator whose node signs with another
  // key than the one staked would miss every block.
  const kp = keyFileFromJSON(json, file);
  return { pubKey: kp.publicKey, seed: kp.secretKey };
}

const BLS_HEX = /^(?:0x)?([0-9A-Fa-f]{96})$/;

/** --bls-pub-key HEX, checked here as the chain will check it (48 bytes, a G1 point of the prime-order subgroup). */
function blsPubKeyOption(args: ParsedArgs): Uint8Array | undefined {
  const hex = optString(args, 'bls-pub-key');
  if (hex === undefined) return undefined;
  const m = BLS_HEX.exec(hex);
  if (m === null) throw new UsageError(`--bls-pub-key must be a BLS12-381 G1 public key as 96 hex characters, got ${JSON.stringify(hex.slice(0, 120))}`, []);
  const key = fromHex(m[1]);
  const problem = blsPublicKeyProblem(key);
  if (problem !== null) throw new UsageError(`--bls-pub-key ${problem}`, []);
  return key;
}

/**
 * The bls_pub_key a stake carries: --bls-pub-key; else derived from the consensus key when this command holds its
 * seed (--consensus-key FILE, or the agent's own key when that is, or becomes, the consensus key); else empty (a
 * later stake: the key is fixed already; a first stake with --consensus-pub-key then needs --bls-pub-key).
 */
async function stakeBlsKey(client: RpcClient, args: ParsedArgs, consensus: { pubKey: Uint8Array; seed?: Uint8Array }, agentKey: KeyPair): Promise<Uint8Array> {
  const given = blsPubKeyOption(args);
  if (given !== undefined) return given;
  if (consensus.seed !== undefined) return blsPublicKeyOfSeed(consensus.seed);
  if (consensus.pubKey.length > 0) return new Uint8Array(0);
  // No consensus option: the agent's own key is the consensus key on a first stake. On a later stake the validator
  // may have another key, whose BLS key this command cannot derive: then nothing is sent (the chain keeps its key).
  let validator: string | null = null;
  try {
    validator = (await client.agent(addressOf(agentKey.publicKey))).validator;
  } catch {
    validator = null; // not registered: the chain refuses the stake with the reason
  }
  const own = toHex(addressOf(agentKey.publicKey));
  return validator === null || validator.toUpperCase() === own ? blsPublicKeyOfSeed(agentKey.secretKey) : new Uint8Array(0);
}

export const txStakingStakeCommand: Command = {
  name: 'stake',
  summary: "bond stake to the --from agent's validator (created on the first stake)",
  usage: 'AMOUNT --from NAME --home DIR [--consensus-key FILE | --consensus-pub-key HEX [--bls-pub-key HEX]] [--moniker NAME] [--node URL] [--sync|--async|--commit]',
  description: [
    'Signs MsgStake: moves AMOUNT (uacc, or ACC as 1.5acc) from the agent\'s balance into its validator\'s stake. The',
    'first stake creates the validator with its consensus key: the public key of --consensus-key FILE (the',
    "validating node's config/priv_validator_key.json) or --consensus-pub-key HEX; without either, the agent's own key",
    'is the consensus key (its node must then sign with it). The key cannot change later. The stake must reach',
    'staking.min_stake; the validator joins the set at the next epoch (every staking.epoch_blocks blocks) if it ranks',
    'in the top staking.max_validators by stake x reputation. The agent must be registered with a valid attestation.',
    'The first stake also registers the BLS key of the randomness beacon (fixed afterwards): derived from the',
    'consensus key when this command holds it (--consensus-key FILE, or the agent\'s own key), else --bls-pub-key HEX',
    '(the 48-byte G1 key the validating node derives from its priv_validator_key.json).',
  ].join('\n'),
  options: {
    ...SIGNER_OPTIONS,
    'consensus-key': { type: 'string', valueName: 'FILE', description: "a priv_validator_key.json whose public key becomes the validator's consensus key" },
    'consensus-pub-key': { type: 'string', valueName: 'HEX', description: 'the consensus public key as 64 hex characters' },
    'bls-pub-key': { type: 'string', valueName: 'HEX', description: "the validator's BLS public key for beacon reveals, 96 hex characters (default: derived from the consensus key when known)" },
    moniker: { type: 'string', valueName: 'NAME', description: "the validator's name, 1-64 printable ASCII characters (default: kept, or the agent address's first 12 hex digits)" },
    ...BROADCAST_OPTIONS,
  },
  args: [{ name: 'AMOUNT', description: 'uacc (e.g. 1000000000) or ACC (e.g. 1000acc), more than 0', required: true }],
  async run(args) {
    const amount = amountArg(args.positionals[0], 'AMOUNT');
    const moniker = optString(args, 'moniker');
    if (moniker !== undefined && !MONIKER.test(moniker)) throw new UsageError(`--moniker must be 1-64 printable ASCII characters, got ${JSON.stringify(moniker.slice(0, 80))}`, []);
    const mode = checkBroadcastOptions(args);
    const consensus = await consensusKey(args);
    blsPubKeyOption(args); // a malformed key is refused before any key file is opened
    const key = await loadSigner(args);
    return withClient(args, async (client) => {
      const blsPubKey = await stakeBlsKey(client, args, consensus, key);
      return broadcastMsg(client, args, key, mode, () => ({ type: 'stake', value: { amount, consensusPubKey: consensus.pubKey, moniker: moniker ?? '', blsPubKey } }));
    });
  },
};

export const txStakingUnstakeCommand: Command = {
  name: 'unstake',
  summary: "unbond stake from the --from agent's validator; it returns after staking.unbonding_seconds",
  usage: 'AMOUNT --from NAME --home DIR [--node URL] [--sync|--async|--commit]',
  description: [
    'Signs MsgUnstake. AMOUNT leaves the stake at once (the validator loses that power) and waits in the unbonding',
    'queue, still slashable, for staking.unbonding_seconds (21 days by default). What remains must be 0 or at least',
    'staking.min_stake.',
  ].join('\n'),
  options: { ...SIGNER_OPTIONS, ...BROADCAST_OPTIONS },
  args: [{ name: 'AMOUNT', description: 'uacc or ACC (e.g. 500acc), more than 0 and at most the stake', required: true }],
  async run(args) {
    const amount = amountArg(args.positionals[0], 'AMOUNT');
    const mode = checkBroadcastOptions(args);
    const key = await loadSigner(args);
    return withClient(args, (client) => broadcastMsg(client, args, key, mode, () => ({ type: 'unstake', value: { amount } })));
  },
};

export const txStakingUnjailCommand: Command = {
  name: 'unjail',
  summary: "end the jailing of the --from agent's validator once its jail time is over",
  usage: '--from NAME --home DIR [--node URL] [--sync|--async|--commit]',
  description: "Signs MsgUnjail. A validator jailed for downtime may unjail after its jailed_until time ('agentcluster query validator ADDRESS'); a tombstoned one never can.",
  options: { ...SIGNER_OPTIONS, ...BROADCAST_OPTIONS },
  async run(args) {
    const mode = checkBroadcastOptions(args);
    const key = await loadSigner(args);
    return withClient(args, (client) => broadcastMsg(client, args, key, mode, () => ({ type: 'unjail', value: {} })));
  },
};

export const txStakingCommand: Command = {
  name: 'staking',
  summary: 'validator stake: stake, unstake, unjail',
  usage: '<command> [options]',
  options: {},
  subcommands: [txStakingStakeCommand, txStakingUnstakeCommand, txStakingUnjailCommand],
};

export const txCommand: Command = {
  name: 'tx',
  summary: 'sign and broadcast transactions through a node',
  usage: '<command> [options]',
  options: {},
  subcommands: [txBankCommand, txAgentCommand, txStakingCommand],
};
