// The genesis file: CometBFT-shaped JSON (snake_case; 64-bit integers and uacc amounts as decimal strings; addresses
// upper-case hex; times RFC 3339 with nanoseconds) and its typed form. Parsing is strict and total: unknown fields,
// missing fields, wrong JSON types, non-canonical numbers and every economic inconsistency are rejected with a
// BAD_GENESIS AppError whose message starts with the JSON path of the offending value and says what to fix
// (`app_state.allocations[2].amount: must be 150000000000000 ...`); meta.path holds the same path.
//
// Canonical form: genesisToJSON emits keys in one fixed order (the order of the file layout below, parameter maps
// sorted by key, allocations in CATEGORIES order), so genesisHash (sha256 of that JSON without whitespace) does not
// depend on how a file was formatted or ordered, and parseGenesis(genesisToJSON(g)) deep-equals g.
//
// App parameters are (de)serialised generically from the shape of defaultAppParams(): every field of AppParams, same
// names, bigints as decimal strings. A field added to AppParams and its defaults is therefore carried by genesis files
// without changes here (add its semantic checks to validateAppParams, and to genesis/genesis.schema.json); maps with
// open keys (like fees.msg_gas) must be listed in OPEN_MAPS.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import { formatTime, parseTime, MAX_TIME_NS, MIN_TIME_NS } from '../codec/time.ts';
import { ADDRESS_LENGTH, addressOf, pubKeyFromJSON, pubKeyToJSON, type PubKeyJSON } from '../crypto/keys.ts';
import { equalBytes, fromHex, toHex, utf8 } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { BLS_PUBKEY_LENGTH, blsPublicKeyProblem } from '../crypto/bls.ts';
import { taskParamProblems } from '../tasks/params.ts';
import {
  BPS,
  CATEGORIES,
  SLASH_KINDS,
  UACC_PER_ACC,
  defaultAppParams,
  defaultConsensusParams,
  type AppParams,
  type Category,
  type ConsensusParams,
} from './params.ts';

// ---------------------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------------------

export interface GenesisValidator {
  name: string;
  address: Uint8Array;
  publicKey: Uint8Array;
  /** Bonded at genesis, taken from the `validators` allocation. */
  stake: bigint;
  /** 48-byte BLS12-381 G1 key its beacon reveals verify under (src/crypto/bls.ts derives it from the consensus key). */
  blsPubKey: Uint8Array;
}

export interface GenesisAccount {
  address: Uint8Array;
  amount: bigint;
}

export interface GenesisAllocation {
  category: Category;
  /** total_supply x distribution_bps[category] / 10,000, exactly. */
  amount: bigint;
  /** Funded accounts (team: vesting accounts). What the accounts (and, for `validators`, the stakes) leave is the category's pool. */
  accounts: GenesisAccount[];
}

export interface Genesis {
  /** ns since the Unix epoch */
  genesisTime: bigint;
  chainId: string;
  initialHeight: bigint;
  consensusParams: ConsensusParams;
  validators: GenesisValidator[];
  appParams: AppParams;
  /** Exactly one per category, in CATEGORIES order. */
  allocations: GenesisAllocation[];
}

/** JSON form of a parameter value: bigints (and integer numbers) become decimal strings, objects keep their names. */
export type ParamJSON<T> = T extends bigint | number
  ? string
  : T extends string | boolean
    ? T
    : T extends readonly (infer U)[]
      ? ParamJSON<U>[]
      : T extends object
        ? { [K in keyof T]: ParamJSON<T[K]> }
        : never;

export type AppParamsJSON = ParamJSON<AppParams>;

export interface ConsensusParamsJSON {
  block: { max_bytes: string; max_gas: string };
  evidence: { max_age_num_blocks: string; max_age_duration: string; max_bytes: string };
  validator: { pub_key_types: string[] };
  timeouts: {
    propose: string;
    propose_delta: string;
    prevote: string;
    prevote_delta: string;
    precommit: string;
    precommit_delta: string;
    commit: string;
  };
}

export interface GenesisValidatorJSON {
  name: string;
  address: string;
  pub_key: PubKeyJSON;
  stake: string;
  /** Hex of the 48-byte compressed BLS12-381 G1 public key. */
  bls_pub_key: string;
}

export interface GenesisAccountJSON {
  address: string;
  amount: string;
}

export interface GenesisAllocationJSON {
  category: Category;
  amount: string;
  accounts: GenesisAccountJSON[];
}

export interface GenesisJSON {
  genesis_time: string;
  chain_id: string;
  initial_height: string;
  consensus_params: ConsensusParamsJSON;
  validators: GenesisValidatorJSON[];
  app_hash: string;
  app_state: {
    params: AppParamsJSON;
    allocations: GenesisAllocationJSON[];
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------------------------

export const U64_MAX = 0xffff_ffff_ffff_ffffn;
export const I64_MAX = 0x7fff_ffff_ffff_ffffn;
/** Default genesis stake of a validator built by buildGenesis: 1,000,000 ACC. */
export const DEFAULT_VALIDATOR_STAKE = 1_000_000n * UACC_PER_ACC;
export const MAX_CHAIN_ID_LENGTH = 50;
export const MAX_VALIDATOR_NAME_LENGTH = 64;
export const MIN_MAX_TX_BYTES = 256n;
export const MAX_MAX_TX_BYTES = 1_048_576n;
import { MAX_BLOCK_BYTES, SLASH_APPEAL_MARGIN_SECONDS } from './params.ts';
import { MAX_TOTAL_VOTING_POWER } from '../consensus/validator-set.ts';
export { MAX_BLOCK_BYTES };
/** Upper bound on any round timeout: timeouts are milliseconds, and an hour catches a value written in ns or us. */
export const MAX_TIMEOUT_MS = 3_600_000n;
export const DEFAULT_TEMPLATE_PATH = fileURLToPath(new URL('../../genesis/devnet.template.json', import.meta.url));

const CHAIN_ID = /^[A-Za-z0-9._-]{1,50}$/;
const VALIDATOR_NAME = /^[\x20-\x7e]{1,64}$/;
const ADDRESS_HEX = /^[0-9A-F]{40}$/;
const U64_DECIMAL = /^(0|[1-9][0-9]*)$/;
/** Keys of open parameter maps (msg_gas: message type names, as the Tx.msg oneof cases are spelled; names and labels). */
const PARAM_KEY = /^[a-z][a-z0-9_]{0,63}$/;

/** Parameter maps whose keys are open (not fixed by defaultAppParams), by path inside AppParams, with their value shape. */
const OPEN_MAPS: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ['fees.msg_gas', 0n],
  ['agents.attestation_authorities', ''],
  ['agents.tee_measurements', ''],
]);
const PUBKEY_HEX = /^[0-9A-F]{64}$/;
const MEASUREMENT_ENTRY = /^([a-z][a-z0-9-]{0,31}):([0-9A-F]{2,256})$/;

// ---------------------------------------------------------------------------------------------------------------
// Small strict-JSON helpers. Every failure names the JSON path.
// ---------------------------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function fail(path: string, message: string, meta: Record<string, unknown> = {}): never {
  throw new AppError('BAD_GENESIS', `${path === '' ? 'genesis' : path}: ${message}`, { ...meta, path });
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `a.b`, or `a["odd key"]` for keys that are not identifiers, so that paths stay unambiguous. */
function at(path: string, key: string): string {
  if (!IDENT.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
    case 'number':
      return `the number ${v}`;
    case 'boolean':
      return `the boolean ${v}`;
    case 'object':
      return 'an object';
    case 'undefined':
      return 'nothing';
    default:
      return `a ${typeof v}`;
  }
}

function isPlainObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** An object with exactly these fields: unknown ones and missing ones are both errors. */
function strictObject(v: unknown, path: string, keys: readonly string[]): Obj {
  if (!isPlainObject(v)) fail(path, `must be a JSON object with the fields ${keys.join(', ')}; got ${describe(v)}`);
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) fail(at(path, k), `unknown field; remove it (the fields allowed here are ${keys.join(', ')})`);
  }
  for (const k of keys) {
    if (!Object.hasOwn(v, k)) fail(at(path, k), 'missing required field');
  }
  return v;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, `must be a JSON array; got ${describe(v)}`);
  return v;
}

function string(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, `must be a string; got ${describe(v)}`);
  return v;
}

/** A canonical decimal string of a non-negative integer no larger than max. */
function decimal(v: unknown, path: string, max: bigint = U64_MAX): bigint {
  if (typeof v !== 'string') {
    fail(path, `must be a decimal integer in a JSON string (e.g. "1000"); got ${describe(v)}`);
  }
  if (!U64_DECIMAL.test(v)) {
    fail(path, `must be a non-negative decimal integer with no sign, leading zeros, spaces, exponent or fraction; got ${describe(v)}`);
  }
  const n = v.length > 21 ? max + 1n : BigInt(v);
  if (n > max) fail(path, `${v.length > 30 ? `${v.slice(0, 30)}...` : v} is too large: the maximum is ${max}`);
  return n;
}

function positive(n: bigint, path: string, what = 'must be greater than 0'): bigint {
  if (n <= 0n) fail(path, what);
  return n;
}

function addressFromJSON(v: unknown, path: string): Uint8Array {
  const s = string(v, path);
  if (!ADDRESS_HEX.test(s)) {
    fail(path, `must be ${ADDRESS_LENGTH * 2} upper-case hex characters (a ${ADDRESS_LENGTH}-byte address); got ${describe(s)}`);
  }
  return fromHex(s);
}

function publicKeyFromJSON(v: unknown, path: string): Uint8Array {
  strictObject(v, path, ['type', 'value']);
  try {
    return pubKeyFromJSON(v, path);
  } catch (e) {
    if (e instanceof AppError) throw new AppError('BAD_GENESIS', `${e.message}; use the pub_key of the validator key file`, { path, cause: e.code });
    throw e;
  }
}

const BLS_HEX = /^[0-9A-Fa-f]*$/;

function blsPubKeyFromJSON(v: unknown, path: string): Uint8Array {
  const s = string(v, path);
  if (!BLS_HEX.test(s) || s.length % 2 !== 0) fail(path, `must be hex (the 48-byte BLS public key, ${BLS_PUBKEY_LENGTH * 2} hex characters); got ${describe(s)}`);
  const key = fromHex(s);
  const problem = blsPublicKeyProblem(key);
  if (problem !== null) fail(path, `${problem}; use the key agentcluster derives from the validator's consensus key (\`agentcluster init\` and \`devnet\` write it)`);
  return key;
}

function timeFromJSON(v: unknown, path: string): bigint {
  const s = string(v, path);
  try {
    return parseTime(s);
  } catch (e) {
    fail(path, (e as Error).message);
  }
}

function sum(xs: Iterable<bigint>): bigint {
  let total = 0n;
  for (const x of xs) total += x;
  return total;
}

// ---------------------------------------------------------------------------------------------------------------
// App parameters: generic over the shape of defaultAppParams()
// ---------------------------------------------------------------------------------------------------------------

function unsupported(rel: string, template: unknown): never {
  throw new Error(
    `src/state/genesis.ts cannot carry the parameter ${rel} (${describe(template)}): parameters must be bigint, ` +
      'integer number, string, boolean or nested objects; list maps with open keys in OPEN_MAPS',
  );
}

function relAt(rel: string, key: string): string {
  return rel === '' ? key : `${rel}.${key}`;
}

function sortedKeys(o: Obj): string[] {
  return Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function paramToJSON(template: unknown, value: unknown, rel: string): unknown {
  switch (typeof template) {
    case 'bigint':
    case 'number':
      return String(value);
    case 'string':
    case 'boolean':
      return value;
    case 'object': {
      if (!isPlainObject(template)) return unsupported(rel, template);
      const v = value as Obj;
      const open = OPEN_MAPS.get(rel);
      if (open !== undefined) return Object.fromEntries(sortedKeys(v).map((k) => [k, paramToJSON(open, v[k], `${rel}.*`)]));
      return Object.fromEntries(Object.keys(template).map((k) => [k, paramToJSON(template[k], v[k], relAt(rel, k))]));
    }
    default:
      return unsupported(rel, template);
  }
}

function paramFromJSON(template: unknown, json: unknown, path: string, rel: string): unknown {
  switch (typeof template) {
    case 'bigint':
      return decimal(json, path);
    case 'number':
      return Number(decimal(json, path, BigInt(Number.MAX_SAFE_INTEGER)));
    case 'string':
      return string(json, path);
    case 'boolean':
      if (typeof json !== 'boolean') fail(path, `must be true or false; got ${describe(json)}`);
      return json;
    case 'object': {
      if (!isPlainObject(template)) return unsupported(rel, template);
      const open = OPEN_MAPS.get(rel);
      if (open !== undefined) {
        if (!isPlainObject(json)) fail(path, `must be a JSON object; got ${describe(json)}`);
        return Object.fromEntries(sortedKeys(json).map((k) => [k, paramFromJSON(open, json[k], at(path, k), `${rel}.*`)]));
      }
      const keys = Object.keys(template);
      const o = strictObject(json, path, keys);
      return Object.fromEntries(keys.map((k) => [k, paramFromJSON(template[k], o[k], at(path, k), relAt(rel, k))]));
    }
    default:
      return unsupported(rel, template);
  }
}

/** Checks that a typed parameter object has exactly the shape of the defaults, with integers in range. */
function checkParamShape(template: unknown, value: unknown, path: string, rel: string): void {
  switch (typeof template) {
    case 'bigint':
      if (typeof value !== 'bigint') fail(path, `must be a bigint; got ${describe(value)}`);
      if (value < 0n) fail(path, `must not be negative; got ${value}`);
      if (value > U64_MAX) fail(path, `must fit in 64 bits (at most ${U64_MAX}); got ${value}`);
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        fail(path, `must be a non-negative safe integer; got ${describe(value)}`);
      }
      return;
    case 'string':
    case 'boolean':
      if (typeof value !== typeof template) fail(path, `must be a ${typeof template}; got ${describe(value)}`);
      return;
    case 'object': {
      if (!isPlainObject(template)) return unsupported(rel, template);
      if (!isPlainObject(value)) fail(path, `must be an object; got ${describe(value)}`);
      const open = OPEN_MAPS.get(rel);
      if (open !== undefined) {
        for (const k of Object.keys(value)) {
          if (!PARAM_KEY.test(k)) fail(at(path, k), 'keys here must be names of 1-64 lower-case letters, digits and underscores, starting with a letter');
          checkParamShape(open, value[k], at(path, k), `${rel}.*`);
        }
        return;
      }
      for (const k of Object.keys(value)) {
        if (!Object.hasOwn(template, k)) fail(at(path, k), 'unknown parameter; remove it');
      }
      for (const k of Object.keys(template)) {
        if (!Object.hasOwn(value, k)) fail(at(path, k), 'missing parameter');
        checkParamShape(template[k], value[k], at(path, k), relAt(rel, k));
      }
      return;
    }
    default:
      return unsupported(rel, template);
  }
}

export function appParamsToJSON(p: AppParams): AppParamsJSON {
  return paramToJSON(defaultAppParams(), p, '') as AppParamsJSON;
}

/** Decodes and validates app params (the JSON shape of a genesis file's app_state.params). */
export function appParamsFromJSON(json: unknown, path = 'app_state.params'): AppParams {
  const p = paramFromJSON(defaultAppParams(), json, path, '') as AppParams;
  validateAppParams(p, path);
  return p;
}

/**
 * Validates app parameters: the shape of AppParams with every integer in u64 range, then the economic rules.
 * Throws BAD_GENESIS naming the path (prefixed by `path`). Governance reuses it for parameter changes.
 */
export function validateAppParams(p: AppParams, path = 'params'): void {
  checkParamShape(defaultAppParams(), p, path, '');
  const supply = at(path, 'supply');
  const fees = at(path, 'fees');
  const tx = at(path, 'tx');

  positive(p.supply.total_supply, at(supply, 'total_supply'), 'must be greater than 0 (uacc; the whitepaper fixes 1,000,000,000 ACC = 1000000000000000 uacc)');
  // Voting power may reach twice the stake (the reputation factor is below 2) and stake is bounded by the supply, so
  // a supply within half of CometBFT's power bound keeps every possible validator set within it.
  if (2n * p.supply.total_supply > MAX_TOTAL_VOTING_POWER) {
    fail(at(supply, 'total_supply'), `must be at most ${MAX_TOTAL_VOTING_POWER / 2n} uacc (half the total voting power bound); got ${p.supply.total_supply}`);
  }
  const bpsTotal = sum(CATEGORIES.map((c) => p.supply.distribution_bps[c]));
  if (bpsTotal !== BPS) {
    fail(at(supply, 'distribution_bps'), `the shares of the six categories must sum to ${BPS} bps (100%); they sum to ${bpsTotal}`);
  }
  if (p.supply.team_vesting_seconds <= 0n) fail(at(supply, 'team_vesting_seconds'), 'must be greater than 0 (seconds)');
  if (p.supply.team_cliff_seconds > p.supply.team_vesting_seconds) {
    fail(
      at(supply, 'team_cliff_seconds'),
      `the cliff (${p.supply.team_cliff_seconds} s) must not be longer than the vesting duration team_vesting_seconds (${p.supply.team_vesting_seconds} s)`,
    );
  }

  if (p.fees.burn_bps > BPS) fail(at(fees, 'burn_bps'), `must be at most ${BPS} (100% of the fee); got ${p.fees.burn_bps}`);
  // min_gas_price, tx_base_gas, tx_byte_gas and msg_gas values are >= 0 and msg_gas keys are names: checkParamShape.

  if (p.tx.max_tx_bytes < MIN_MAX_TX_BYTES || p.tx.max_tx_bytes > MAX_MAX_TX_BYTES) {
    fail(at(tx, 'max_tx_bytes'), `must be between ${MIN_MAX_TX_BYTES} and ${MAX_MAX_TX_BYTES} bytes; got ${p.tx.max_tx_bytes}`);
  }
  if (p.tx.max_memo_bytes >= p.tx.max_tx_bytes) {
    fail(at(tx, 'max_memo_bytes'), `must be smaller than max_tx_bytes (${p.tx.max_tx_bytes}); got ${p.tx.max_memo_bytes}`);
  }
  validateEconomicParams(p, path);
}

/** Agents, staking, emission and slashing (issue 6): each value in its meaningful range, with a sentence. */
function validateEconomicParams(p: AppParams, path: string): void {
  const agents = at(path, 'agents');
  const staking = at(path, 'staking');
  const emission = at(path, 'emission');
  const slashing = at(path, 'slashing');
  const total = p.supply.total_supply;
  const atLeast = (n: bigint, min: bigint, where: string, unit: string): void => {
    if (n < min) fail(where, `must be at least ${min}${unit}; got ${n}`);
  };
  const atMost = (n: bigint, max: bigint, where: string, unit: string): void => {
    if (n > max) fail(where, `must be at most ${max}${unit}; got ${n}`);
  };
  const TEN_YEARS = 3650n * 86_400n;
  atLeast(p.agents.bond, 1n, at(agents, 'bond'), ' uacc');
  atMost(p.agents.bond, total, at(agents, 'bond'), ' uacc (the total supply)');
  atMost(p.agents.registration_fee, total, at(agents, 'registration_fee'), ' uacc (the total supply)');
  atMost(p.agents.unbonding_seconds, TEN_YEARS, at(agents, 'unbonding_seconds'), ' seconds (ten years)');
  atLeast(p.agents.attestation_max_seconds, 1n, at(agents, 'attestation_max_seconds'), ' second');
  atMost(p.agents.attestation_max_seconds, TEN_YEARS, at(agents, 'attestation_max_seconds'), ' seconds (ten years)');
  for (const [name, key] of Object.entries(p.agents.attestation_authorities)) {
    if (!PUBKEY_HEX.test(key)) fail(at(at(agents, 'attestation_authorities'), name), `must be an ed25519 public key as 64 upper-case hex characters; got ${describe(key)}`);
  }
  for (const [label, entry] of Object.entries(p.agents.tee_measurements)) {
    if (!MEASUREMENT_ENTRY.test(entry)) {
      fail(at(at(agents, 'tee_measurements'), label), `must be "<kind>:<measurement as upper-case hex>", e.g. "tdx:0A1B..."; got ${describe(entry)}`);
    }
  }
  atMost(p.agents.max_tags, 32n, at(agents, 'max_tags'), ' (the wire limit)');

  atLeast(p.staking.min_stake, 1n, at(staking, 'min_stake'), ' uacc');
  atMost(p.staking.min_stake, total, at(staking, 'min_stake'), ' uacc (the total supply)');
  atLeast(p.staking.max_validators, 1n, at(staking, 'max_validators'), ' validator');
  atMost(p.staking.max_validators, 10_000n, at(staking, 'max_validators'), ' validators');
  atLeast(p.staking.epoch_blocks, 1n, at(staking, 'epoch_blocks'), ' block');
  atMost(p.staking.unbonding_seconds, TEN_YEARS, at(staking, 'unbonding_seconds'), ' seconds (ten years)');

  atLeast(p.emission.halving_seconds, 1n, at(emission, 'halving_seconds'), ' second');
  atLeast(p.emission.periods, 1n, at(emission, 'periods'), ' period');
  // Weights of the periods are 2^(periods-1) .. 1: 62 periods keep them in 64 bits.
  atMost(p.emission.periods, 62n, at(emission, 'periods'), ' periods');
  if (p.emission.halving_seconds * p.emission.periods > 100n * 365n * 86_400n) {
    fail(emission, `halving_seconds x periods must be at most 100 years; got ${p.emission.halving_seconds * p.emission.periods} seconds`);
  }

  for (const kind of SLASH_KINDS) {
    const where = at(at(slashing, 'severity_bps'), kind);
    atLeast(p.slashing.severity_bps[kind], 100n, where, ' bps (1%; the whitepaper slashes 1-100% of stake)');
    atMost(p.slashing.severity_bps[kind], BPS, where, ' bps (100%)');
  }
  atLeast(p.slashing.downtime_window_blocks, 1n, at(slashing, 'downtime_window_blocks'), ' block');
  atMost(p.slashing.downtime_window_blocks, 100_000n, at(slashing, 'downtime_window_blocks'), ' blocks');
  atMost(p.slashing.downtime_min_signed_bps, BPS, at(slashing, 'downtime_min_signed_bps'), ' bps (100%)');
  atMost(p.slashing.downtime_jail_seconds, TEN_YEARS, at(slashing, 'downtime_jail_seconds'), ' seconds (ten years)');
  atMost(p.slashing.appeal_window_seconds, TEN_YEARS, at(slashing, 'appeal_window_seconds'), ' seconds (ten years)');

  // Reputation decays by half every half_life_seconds: zero would divide by zero in every read.
  atLeast(p.reputation.half_life_seconds, 1n, at(at(path, 'reputation'), 'half_life_seconds'), ' second');

  // Tasks (src/tasks/params.ts holds the ranges).
  for (const problem of taskParamProblems(p.tasks, total)) fail(at(at(path, 'tasks'), problem.field), problem.message);

  const gov = at(path, 'governance');
  const g = p.governance;
  const YEAR = 365n * 86_400n;
  // Ceilings keep governance reachable: a deposit or a quorum set out of reach could never be voted down again.
  atLeast(g.min_deposit_bps, 1n, at(gov, 'min_deposit_bps'), ' bps (a proposal must cost something)');
  atMost(g.min_deposit_bps, 1000n, at(gov, 'min_deposit_bps'), ' bps (10% of the circulating supply)');
  atLeast(g.voting_seconds, 1n, at(gov, 'voting_seconds'), ' second');
  atMost(g.voting_seconds, YEAR, at(gov, 'voting_seconds'), ' seconds (a year)');
  atLeast(g.quorum_bps, 1n, at(gov, 'quorum_bps'), ' bps');
  atMost(g.quorum_bps, 5000n, at(gov, 'quorum_bps'), ' bps (half the voting weight)');
  atLeast(g.veto_bps, 1n, at(gov, 'veto_bps'), ' bps');
  atMost(g.veto_bps, BPS, at(gov, 'veto_bps'), ' bps (100%)');
  atMost(g.timelock_seconds, YEAR, at(gov, 'timelock_seconds'), ' seconds (a year)');
  atMost(g.critical_spend_threshold, total, at(gov, 'critical_spend_threshold'), ' uacc (the total supply)');
  // A slashing appeal submitted right after the slash must be able to execute before its escrow burns.
  if (g.voting_seconds + g.timelock_seconds + SLASH_APPEAL_MARGIN_SECONDS >= p.slashing.appeal_window_seconds) {
    fail(
      gov,
      `voting_seconds + timelock_seconds + ${SLASH_APPEAL_MARGIN_SECONDS} s of margin (${g.voting_seconds + g.timelock_seconds + SLASH_APPEAL_MARGIN_SECONDS} s) ` +
        `must be shorter than slashing.appeal_window_seconds (${p.slashing.appeal_window_seconds} s), or no slashing appeal could execute before its escrow burns`,
    );
  }
}

/**
 * Applies a proposal's parameter changes to `p` and validates the result (every rule of validateAppParams, and
 * tx.max_tx_bytes against the chain's block size). Each change sets the value at `path` (genesis JSON form) or, with
 * "null", removes an entry of an open map. Throws INVALID_PARAM_CHANGE or PARAM_FIXED naming the change.
 */
export function applyParamChanges(p: AppParams, changes: ReadonlyArray<{ path: string; value: string }>, maxBlockBytes: bigint): AppParams {
  const json = appParamsToJSON(p) as unknown as Obj;
  changes.forEach((c, i) => {
    const where = `param_changes[${i}] (${c.path})`;
    const segments = c.path.split('.');
    if (FIXED_PARAM_SECTIONS.includes(segments[0])) {
      throw new AppError('PARAM_FIXED', `${where}: ${segments[0]}.* is fixed at genesis (the token supply and its emission schedule are promises made at launch); governance cannot change it`, { path: c.path });
    }
    let value: unknown;
    try {
      value = JSON.parse(c.value);
    } catch {
      throw new AppError('INVALID_PARAM_CHANGE', `${where}: the value is not JSON text; write it as in genesis.json (an integer as a JSON string with its quotes, e.g. "50")`, { path: c.path });
    }
    let node: unknown = json;
    let rel = '';
    for (const key of segments.slice(0, -1)) {
      rel = relAt(rel, key);
      node = isPlainObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
      if (!isPlainObject(node)) throw new AppError('INVALID_PARAM_CHANGE', `${where}: there is no parameter group ${rel}; see the \`params\` query for the names`, { path: c.path });
    }
    const obj = node as Obj;
    const last = segments[segments.length - 1];
    const openMap = OPEN_MAPS.has(rel);
    if (!openMap && !Object.hasOwn(obj, last)) {
      throw new AppError('INVALID_PARAM_CHANGE', `${where}: there is no parameter ${c.path}; see the \`params\` query for the names`, { path: c.path });
    }
    // An open map's entry is named like its keys in genesis (and "__proto__" would set the object's prototype: a
    // change that silently changed nothing).
    if (openMap && !PARAM_KEY.test(last)) {
      throw new AppError('INVALID_PARAM_CHANGE', `${where}: an entry of ${rel} must be named with 1-64 lower-case letters, digits and underscores, starting with a letter; got ${JSON.stringify(last)}`, { path: c.path });
    }
    if (value === null) {
      if (!openMap) throw new AppError('INVALID_PARAM_CHANGE', `${where}: only entries of an open map (${[...OPEN_MAPS.keys()].join(', ')}) can be removed with null`, { path: c.path });
      if (!Object.hasOwn(obj, last)) throw new AppError('INVALID_PARAM_CHANGE', `${where}: ${rel} has no entry ${last} to remove`, { path: c.path });
      delete obj[last];
    } else {
      obj[last] = value;
    }
  });
  let next: AppParams;
  try {
    next = appParamsFromJSON(json, 'params');
  } catch (e) {
    if (e instanceof AppError && e.code === 'BAD_GENESIS') throw new AppError('INVALID_PARAM_CHANGE', `the changed parameters are invalid: ${e.message}`, { ...e.meta });
    throw e;
  }
  governanceStaysReachable(next);
  if (next.tx.max_tx_bytes > maxBlockBytes) {
    throw new AppError('INVALID_PARAM_CHANGE', `the changed parameters are invalid: params.tx.max_tx_bytes must not exceed consensus_params.block.max_bytes (${maxBlockBytes}): a larger tx could never be included in a block`, {
      path: 'tx.max_tx_bytes',
    });
  }
  return next;
}

/** A proposal or a vote of GOV_TX_BYTES must fit in a tx and cost at most these fees after a parameter change. */
export const GOV_TX_BYTES = 4096n;
export const GOV_MAX_FEE = { vote: 100n * UACC_PER_ACC, submit_proposal: 1_000n * UACC_PER_ACC } as const;

/**
 * Governance must be able to undo what it did: a change may not make a proposal or a vote impossible (too large for
 * tx.max_tx_bytes) or priced out (fees). Checked for parameter changes only; genesis is its authors' choice.
 */
function governanceStaysReachable(p: AppParams): void {
  const invalid = (path: string, message: string): never => {
    throw new AppError('INVALID_PARAM_CHANGE', `the changed parameters are invalid: params.${path}: ${message}`, { path });
  };
  if (p.tx.max_tx_bytes < GOV_TX_BYTES) invalid('tx.max_tx_bytes', `must stay at least ${GOV_TX_BYTES} bytes so that proposals and votes still fit; got ${p.tx.max_tx_bytes}`);
  for (const [msg, max] of Object.entries(GOV_MAX_FEE) as Array<[keyof typeof GOV_MAX_FEE, bigint]>) {
    const gas = p.fees.tx_base_gas + GOV_TX_BYTES * p.fees.tx_byte_gas + (p.fees.msg_gas[msg] ?? 0n);
    const fee = gas * p.fees.min_gas_price;
    if (fee > max) {
      invalid('fees', `a ${GOV_TX_BYTES}-byte ${msg} would cost ${fee} uacc at the minimum gas price, more than ${max}: governance could price itself out; lower the gas or the price`);
    }
  }
}

/** Parameter groups governance cannot change. */
export const FIXED_PARAM_SECTIONS: readonly string[] = ['supply', 'emission'];

// ---------------------------------------------------------------------------------------------------------------
// Consensus parameters (JSON names as CometBFT's, timeouts in ms and evidence age in ns)
// ---------------------------------------------------------------------------------------------------------------

const TIMEOUTS = ['propose', 'propose_delta', 'prevote', 'prevote_delta', 'precommit', 'precommit_delta', 'commit'] as const;
type TimeoutName = (typeof TIMEOUTS)[number];
type TimeoutField = `${TimeoutName}_ms`;

export function consensusParamsToJSON(c: ConsensusParams): ConsensusParamsJSON {
  const timeouts = {} as Record<TimeoutName, string>;
  for (const name of TIMEOUTS) timeouts[name] = c.timeouts[`${name}_ms` satisfies TimeoutField].toString();
  return {
    block: { max_bytes: c.block.max_bytes.toString(), max_gas: c.block.max_gas.toString() },
    evidence: {
      max_age_num_blocks: c.evidence.max_age_num_blocks.toString(),
      max_age_duration: c.evidence.max_age_duration_ns.toString(),
      max_bytes: c.evidence.max_bytes.toString(),
    },
    validator: { pub_key_types: [...c.validator.pub_key_types] },
    timeouts,
  };
}

/** Decodes and validates consensus params from their genesis JSON shape. */
export function consensusParamsFromJSON(json: unknown, path = 'consensus_params'): ConsensusParams {
  const o = strictObject(json, path, ['block', 'evidence', 'validator', 'timeouts']);
  const bp = at(path, 'block');
  const block = strictObject(o.block, bp, ['max_bytes', 'max_gas']);
  const maxGasText = block.max_gas;
  const ep = at(path, 'evidence');
  const evidence = strictObject(o.evidence, ep, ['max_age_num_blocks', 'max_age_duration', 'max_bytes']);
  const vp = at(path, 'validator');
  const validator = strictObject(o.validator, vp, ['pub_key_types']);
  const tp = at(path, 'timeouts');
  const timeouts = strictObject(o.timeouts, tp, TIMEOUTS);
  const types = array(validator.pub_key_types, at(vp, 'pub_key_types')).map((v, i) => string(v, `${at(vp, 'pub_key_types')}[${i}]`));
  const t = (name: TimeoutName): bigint => decimal(timeouts[name], at(tp, name), I64_MAX);
  const c: ConsensusParams = {
    block: {
      max_bytes: decimal(block.max_bytes, at(bp, 'max_bytes'), I64_MAX),
      max_gas: maxGasText === '-1' ? -1n : decimal(maxGasText, at(bp, 'max_gas'), I64_MAX),
    },
    evidence: {
      max_age_num_blocks: decimal(evidence.max_age_num_blocks, at(ep, 'max_age_num_blocks'), I64_MAX),
      max_age_duration_ns: decimal(evidence.max_age_duration, at(ep, 'max_age_duration'), I64_MAX),
      max_bytes: decimal(evidence.max_bytes, at(ep, 'max_bytes'), I64_MAX),
    },
    validator: { pub_key_types: types },
    timeouts: {
      propose_ms: t('propose'),
      propose_delta_ms: t('propose_delta'),
      prevote_ms: t('prevote'),
      prevote_delta_ms: t('prevote_delta'),
      precommit_ms: t('precommit'),
      precommit_delta_ms: t('precommit_delta'),
      commit_ms: t('commit'),
    },
  };
  validateConsensusParams(c, path);
  return c;
}

/** CometBFT's consensus-param rules plus ours; paths use the JSON names (consensus_params.timeouts.propose, ...). */
export function validateConsensusParams(c: ConsensusParams, path = 'consensus_params'): void {
  const bp = at(path, 'block');
  const ep = at(path, 'evidence');
  const range = (n: bigint, p: string, min: bigint, max: bigint, unit: string): void => {
    if (typeof n !== 'bigint') fail(p, `must be a bigint; got ${describe(n)}`);
    if (n < min || n > max) fail(p, `must be between ${min} and ${max}${unit}; got ${n}`);
  };
  range(c.block.max_bytes, at(bp, 'max_bytes'), 1n, MAX_BLOCK_BYTES, ' bytes');
  if (typeof c.block.max_gas !== 'bigint' || (c.block.max_gas !== -1n && (c.block.max_gas <= 0n || c.block.max_gas > I64_MAX))) {
    fail(at(bp, 'max_gas'), `must be "-1" (no limit) or a positive gas amount; got ${describe(c.block.max_gas)}`);
  }
  range(c.evidence.max_age_num_blocks, at(ep, 'max_age_num_blocks'), 1n, I64_MAX, ' blocks');
  range(c.evidence.max_age_duration_ns, at(ep, 'max_age_duration'), 1n, I64_MAX, ' ns');
  range(c.evidence.max_bytes, at(ep, 'max_bytes'), 0n, c.block.max_bytes, ' bytes (evidence must fit in a block: at most block.max_bytes)');
  const types = c.validator.pub_key_types;
  if (!Array.isArray(types) || types.length !== 1 || types[0] !== 'ed25519') {
    fail(at(at(path, 'validator'), 'pub_key_types'), `must be exactly ["ed25519"] (the only key type this chain supports); got ${JSON.stringify(types)}`);
  }
  for (const name of TIMEOUTS) {
    range(c.timeouts[`${name}_ms`], at(at(path, 'timeouts'), name), 1n, MAX_TIMEOUT_MS, ' ms');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Whole genesis
// ---------------------------------------------------------------------------------------------------------------

const TOP_KEYS = ['genesis_time', 'chain_id', 'initial_height', 'consensus_params', 'validators', 'app_hash', 'app_state'] as const;

type Mode = 'genesis' | 'template';

function validatorsFromJSON(json: unknown, path: string): GenesisValidator[] {
  const list = array(json, path);
  const out: GenesisValidator[] = [];
  const byAddress = new Map<string, number>();
  const byName = new Map<string, number>();
  list.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const v = strictObject(item, p, ['name', 'address', 'pub_key', 'stake', 'bls_pub_key']);
    const name = string(v.name, at(p, 'name'));
    if (!VALIDATOR_NAME.test(name)) {
      fail(at(p, 'name'), `must be 1-${MAX_VALIDATOR_NAME_LENGTH} printable ASCII characters; got ${describe(name)}`);
    }
    const publicKey = publicKeyFromJSON(v.pub_key, at(p, 'pub_key'));
    const address = addressFromJSON(v.address, at(p, 'address'));
    const expected = addressOf(publicKey);
    if (!equalBytes(address, expected)) {
      fail(at(p, 'address'), `does not match pub_key: the address of that key is ${toHex(expected)} (first 20 bytes of sha256(pub_key))`);
    }
    const stake = positive(decimal(v.stake, at(p, 'stake')), at(p, 'stake'), 'must be greater than 0 (uacc bonded at genesis)');
    const blsPubKey = blsPubKeyFromJSON(v.bls_pub_key, at(p, 'bls_pub_key'));
    const hex = toHex(address);
    const sameKey = byAddress.get(hex);
    if (sameKey !== undefined) fail(at(p, 'address'), `duplicate validator: ${path}[${sameKey}] has the same key and address ${hex}; list each validator once`);
    const sameName = byName.get(name);
    if (sameName !== undefined) fail(at(p, 'name'), `duplicate validator name ${JSON.stringify(name)}, also used by ${path}[${sameName}]; names must be unique`);
    byAddress.set(hex, i);
    byName.set(name, i);
    out.push({ name, address: Uint8Array.from(address), publicKey: Uint8Array.from(publicKey), stake, blsPubKey });
  });
  return out;
}

interface IndexedAllocation extends GenesisAllocation {
  /** Index in the JSON array, for error paths. */
  index: number;
}

function allocationsFromJSON(json: unknown, path: string): IndexedAllocation[] {
  const list = array(json, path);
  const seen = new Map<Category, number>();
  const out: IndexedAllocation[] = [];
  list.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const a = strictObject(item, p, ['category', 'amount', 'accounts']);
    const categoryText = string(a.category, at(p, 'category'));
    if (!(CATEGORIES as readonly string[]).includes(categoryText)) {
      fail(at(p, 'category'), `unknown category ${JSON.stringify(categoryText)}; the categories are ${CATEGORIES.join(', ')}`);
    }
    const category = categoryText as Category;
    const dup = seen.get(category);
    if (dup !== undefined) fail(at(p, 'category'), `duplicate category ${category} (also ${path}[${dup}]); list each category once`);
    seen.set(category, i);
    const amount = decimal(a.amount, at(p, 'amount'));
    const accountsPath = at(p, 'accounts');
    const byAddress = new Map<string, number>();
    const accounts = array(a.accounts, accountsPath).map((acc, j): GenesisAccount => {
      const ap = `${accountsPath}[${j}]`;
      const o = strictObject(acc, ap, ['address', 'amount']);
      const address = addressFromJSON(o.address, at(ap, 'address'));
      const hex = toHex(address);
      const dupAccount = byAddress.get(hex);
      if (dupAccount !== undefined) {
        fail(at(ap, 'address'), `duplicate account ${hex} in the ${category} allocation (also ${accountsPath}[${dupAccount}]); merge them into one entry`);
      }
      byAddress.set(hex, j);
      const accAmount = positive(decimal(o.amount, at(ap, 'amount')), at(ap, 'amount'), 'must be greater than 0 (uacc); drop accounts with nothing to hold');
      return { address, amount: accAmount };
    });
    out.push({ category, amount, accounts, index: i });
  });
  for (const c of CATEGORIES) {
    if (!seen.has(c)) fail(path, `missing the ${c} allocation: there must be exactly one entry per category (${CATEGORIES.join(', ')})`);
  }
  return out;
}

function checkAllocations(allocations: IndexedAllocation[], params: AppParams, validators: GenesisValidator[], mode: Mode): void {
  const path = 'app_state.allocations';
  const supply = params.supply.total_supply;
  for (const c of CATEGORIES) {
    const remainder = (supply * params.supply.distribution_bps[c]) % BPS;
    if (remainder !== 0n) {
      fail(
        'app_state.params.supply.total_supply',
        `total_supply x distribution_bps.${c} (${params.supply.distribution_bps[c]}) is not divisible by ${BPS} (remainder ${remainder}), ` +
          `so the ${c} allocation would not be a whole number of uacc and the six could not add up to the supply exactly; ` +
          `choose a total_supply that is a multiple of ${BPS} uacc (or shares that divide it)`,
      );
    }
  }
  const total = sum(allocations.map((a) => a.amount));
  if (total !== supply) {
    fail(path, `the six allocation amounts sum to ${total} uacc but total_supply is ${supply} uacc; they must add up to it exactly`);
  }
  for (const a of allocations) {
    const p = `${path}[${a.index}]`;
    const expected = (supply * params.supply.distribution_bps[a.category]) / BPS;
    if (a.amount !== expected) {
      fail(
        at(p, 'amount'),
        `the ${a.category} allocation must be ${expected} uacc (total_supply x ${params.supply.distribution_bps[a.category]} bps / ${BPS}); got ${a.amount}`,
      );
    }
    const held = sum(a.accounts.map((x) => x.amount));
    if (mode === 'template' && a.accounts.length > 0) {
      fail(at(p, 'accounts'), 'a genesis template carries no accounts (the devnet tool adds them); use []');
    }
    if (a.category === 'validators') {
      // Each genesis validator is also a registered agent whose bond (agents.bond) comes from this allocation too.
      const staked = sum(validators.map((v) => v.stake + params.agents.bond));
      if (held + staked > a.amount) {
        fail(
          staked > a.amount ? 'validators' : at(p, 'accounts'),
          `validator stakes and agent bonds (${staked} uacc) plus the validators accounts (${held} uacc) exceed the validators allocation of ${a.amount} uacc; lower them`,
        );
      }
    } else if (a.category === 'team') {
      if (mode === 'genesis' && held !== a.amount) {
        fail(at(p, 'accounts'), `team accounts sum to ${held} uacc but must sum to exactly the team allocation, ${a.amount} uacc (every team token vests to a named account)`);
      }
    } else if (held > a.amount) {
      fail(at(p, 'accounts'), `the accounts hold ${held} uacc, more than the ${a.category} allocation of ${a.amount} uacc; lower them`);
    }
  }
}

function decode(json: unknown, mode: Mode): Genesis {
  const top = strictObject(json, '', TOP_KEYS);
  const genesisTime = timeFromJSON(top.genesis_time, 'genesis_time');
  const chainId = string(top.chain_id, 'chain_id');
  if (!CHAIN_ID.test(chainId)) {
    fail('chain_id', `must be 1-${MAX_CHAIN_ID_LENGTH} characters of A-Z, a-z, 0-9, ".", "_" or "-"; got ${describe(chainId)}`);
  }
  const initialHeight = positive(decimal(top.initial_height, 'initial_height', I64_MAX), 'initial_height', 'must be at least 1');
  const consensusParams = consensusParamsFromJSON(top.consensus_params, 'consensus_params');
  const validators = validatorsFromJSON(top.validators, 'validators');
  if (mode === 'genesis' && validators.length === 0) fail('validators', 'at least one validator is required');
  if (mode === 'template' && validators.length > 0) fail('validators', 'a genesis template has "validators": [] (the devnet tool fills them in)');
  const appHash = string(top.app_hash, 'app_hash');
  if (appHash !== '') fail('app_hash', 'must be "" (the app hash of a chain starts empty; the state machine computes it)');
  const appState = strictObject(top.app_state, 'app_state', ['params', 'allocations']);
  const appParams = appParamsFromJSON(appState.params, 'app_state.params');
  if (appParams.tx.max_tx_bytes > consensusParams.block.max_bytes) {
    fail(
      'app_state.params.tx.max_tx_bytes',
      `must not exceed consensus_params.block.max_bytes (${consensusParams.block.max_bytes}): a larger tx could never be included in a block`,
    );
  }
  // Times are int64 ns in state: the end of the team vesting must fit.
  if (genesisTime + appParams.supply.team_vesting_seconds * 1_000_000_000n > I64_MAX) {
    fail('app_state.params.supply.team_vesting_seconds', 'ends after the year 2262 counted from genesis_time (times are int64 nanoseconds); shorten it');
  }
  // A genesis validator is a validator like any other: its stake must reach the minimum it could stake later.
  validators.forEach((v, i) => {
    if (v.stake < appParams.staking.min_stake) {
      fail(`validators[${i}].stake`, `${v.stake} uacc is below app_state.params.staking.min_stake (${appParams.staking.min_stake} uacc); stake at least the minimum`);
    }
  });
  const indexed = allocationsFromJSON(appState.allocations, 'app_state.allocations');
  checkAllocations(indexed, appParams, validators, mode);
  const allocations = CATEGORIES.map((c): GenesisAllocation => {
    const a = indexed.find((x) => x.category === c)!;
    return { category: a.category, amount: a.amount, accounts: a.accounts };
  });
  return { genesisTime, chainId, initialHeight, consensusParams, validators, appParams, allocations };
}

/** Validates everything; throws AppError('BAD_GENESIS', "<json path>: <what is wrong and what to do>", { path }). */
export function parseGenesis(json: unknown): Genesis {
  return decode(json, 'genesis');
}

/** Inverse of parseGenesis, in canonical key order. */
export function genesisToJSON(g: Genesis): GenesisJSON {
  return {
    genesis_time: formatTime(g.genesisTime),
    chain_id: g.chainId,
    initial_height: g.initialHeight.toString(),
    consensus_params: consensusParamsToJSON(g.consensusParams),
    validators: g.validators.map((v) => ({
      name: v.name,
      address: toHex(v.address),
      pub_key: pubKeyToJSON(v.publicKey),
      stake: v.stake.toString(),
      bls_pub_key: toHex(v.blsPubKey),
    })),
    app_hash: '',
    app_state: {
      params: appParamsToJSON(g.appParams),
      allocations: [...g.allocations]
        .sort((a, b) => CATEGORIES.indexOf(a.category) - CATEGORIES.indexOf(b.category))
        .map((a) => ({
          category: a.category,
          amount: a.amount.toString(),
          accounts: a.accounts.map((x) => ({ address: toHex(x.address), amount: x.amount.toString() })),
        })),
    },
  };
}

/** The canonical serialisation: genesisToJSON without whitespace. */
export function canonicalGenesisJSON(g: Genesis): string {
  return JSON.stringify(genesisToJSON(g));
}

/** sha256 of the canonical JSON (key order as genesisToJSON emits it, no whitespace). */
export function genesisHash(g: Genesis): Uint8Array {
  return sha256(utf8(canonicalGenesisJSON(g)));
}

async function readJSONFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AppError('BAD_GENESIS', `${file}: cannot read the ${what}: ${(e as Error).message}`, { file, path: '' });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 byte order mark, as some editors write
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AppError('BAD_GENESIS', `${file}: the ${what} is not valid JSON: ${(e as Error).message}`, { file, path: '' });
  }
}

function inFile<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof AppError && e.code === 'BAD_GENESIS') {
      throw new AppError('BAD_GENESIS', `${file}: ${e.message}`, { ...e.meta, file });
    }
    throw e;
  }
}

/** Reads and parses a genesis file; every failure (IO, JSON syntax, validation) is BAD_GENESIS naming the file. */
export async function loadGenesisFile(path: string): Promise<Genesis> {
  const json = await readJSONFile(path, 'genesis file');
  return inFile(path, () => parseGenesis(json));
}

export interface GenesisTemplate {
  chainId: string;
  appParams: AppParams;
  consensusParams: ConsensusParams;
}

/**
 * Reads a genesis template (default: genesis/devnet.template.json): a full genesis with the same strict checks,
 * except that it must have no validators and no allocation accounts (the devnet tool adds them, and the time).
 */
export async function loadGenesisTemplate(path: string = DEFAULT_TEMPLATE_PATH): Promise<GenesisTemplate> {
  const json = await readJSONFile(path, 'genesis template');
  const g = inFile(path, () => decode(json, 'template'));
  return { chainId: g.chainId, appParams: g.appParams, consensusParams: g.consensusParams };
}

// ---------------------------------------------------------------------------------------------------------------
// Building a genesis (init, devnet, tests)
// ---------------------------------------------------------------------------------------------------------------

export interface GenesisBuildOptions {
  chainId: string;
  genesisTime: bigint;
  /** Default stake: DEFAULT_VALIDATOR_STAKE (1,000,000 ACC), taken from the validators allocation. */
  /** blsPubKey: blsPublicKeyOfSeed(consensus seed) for a key this node holds (src/crypto/bls.ts). */
  validators: Array<{ name: string; publicKey: Uint8Array; blsPubKey: Uint8Array; stake?: bigint }>;
  /** Extra funded accounts, e.g. a devnet faucet. Entries of category `team` are added to the team accounts. */
  accounts?: Array<{ category: Category; address: Uint8Array; amount: bigint }>;
  /** Team (vesting) accounts; default: the whole team share to the first validator's address. */
  team?: Array<{ address: Uint8Array; amount: bigint }>;
  appParams?: AppParams;
  consensusParams?: ConsensusParams;
}

/**
 * Computes the allocations (total_supply x bps / 10,000 per category) and returns the genesis after validating it by
 * a round trip through genesisToJSON + parseGenesis (so what it returns is exactly what a node loading the file gets).
 */
export function buildGenesis(opts: GenesisBuildOptions): Genesis {
  const appParams = opts.appParams ?? defaultAppParams();
  const consensusParams = opts.consensusParams ?? defaultConsensusParams();
  if (typeof opts.genesisTime !== 'bigint' || opts.genesisTime < MIN_TIME_NS || opts.genesisTime > MAX_TIME_NS) {
    fail('genesis_time', `must be a bigint of ns between 1970-01-01 and 9999-12-31; got ${describe(opts.genesisTime)}`);
  }
  validateAppParams(appParams, 'app_state.params');
  validateConsensusParams(consensusParams, 'consensus_params');
  const validators = opts.validators.map((v): GenesisValidator => ({
    name: v.name,
    address: addressOf(v.publicKey),
    publicKey: v.publicKey,
    stake: v.stake ?? DEFAULT_VALIDATOR_STAKE,
    blsPubKey: v.blsPubKey,
  }));
  const share = (c: Category): bigint => (appParams.supply.total_supply * appParams.supply.distribution_bps[c]) / BPS;
  const teamShare = share('team');
  const team: GenesisAccount[] =
    opts.team !== undefined
      ? opts.team.map((a) => ({ address: a.address, amount: a.amount }))
      : validators.length > 0 && teamShare > 0n
        ? [{ address: validators[0].address, amount: teamShare }]
        : [];
  const allocations = CATEGORIES.map((category): GenesisAllocation => {
    const accounts = (opts.accounts ?? []).filter((a) => a.category === category).map((a) => ({ address: a.address, amount: a.amount }));
    return { category, amount: share(category), accounts: category === 'team' ? [...team, ...accounts] : accounts };
  });
  const g: Genesis = {
    genesisTime: opts.genesisTime,
    chainId: opts.chainId,
    initialHeight: 1n,
    consensusParams,
    validators,
    appParams,
    allocations,
  };
  return parseGenesis(JSON.parse(JSON.stringify(genesisToJSON(g))));
}
