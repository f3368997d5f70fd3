import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../src/errors.ts';
import { addressOf, generateKeyPair } from '../src/crypto/keys.ts';
import { fromHex, toBase64, toHex, utf8 } from '../src/crypto/bytes.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { parseTime } from '../src/codec/time.ts';
import { MSG_TYPES } from '../src/codec/types.ts';
import { blsKeyOf } from './helpers/chain.ts';
import { BPS, CATEGORIES, TOTAL_SUPPLY_UACC, UACC_PER_ACC, defaultAppParams, defaultConsensusParams, type AppParams } from '../src/state/params.ts';
import {
  DEFAULT_VALIDATOR_STAKE,
  buildGenesis,
  genesisHash,
  genesisToJSON,
  loadGenesisFile,
  loadGenesisTemplate,
  parseGenesis,
  validateAppParams,
  validateConsensusParams,
  type Genesis,
} from '../src/state/genesis.ts';

// JSON mutated freely by the rejection table.
type J = any;

const GENESIS_TIME = parseTime('2026-11-25T00:00:00Z');
const keys = [1, 2, 3, 4].map((i) => generateKeyPair(new Uint8Array(32).fill(i)));
const faucet = addressOf(generateKeyPair(new Uint8Array(32).fill(99)).publicKey);
const FAUCET_AMOUNT = 1_000_000n * UACC_PER_ACC;
const ACC = UACC_PER_ACC;

function build(): Genesis {
  return buildGenesis({
    chainId: 'agentcluster-test',
    genesisTime: GENESIS_TIME,
    validators: keys.map((k, i) => ({ name: `validator-${i}`, publicKey: k.publicKey, blsPubKey: blsKeyOf(k) })),
    accounts: [{ category: 'marketplace', address: faucet, amount: FAUCET_AMOUNT }],
  });
}

function baseJSON(): J {
  return JSON.parse(JSON.stringify(genesisToJSON(build())));
}

function share(c: (typeof CATEGORIES)[number]): bigint {
  return (TOTAL_SUPPLY_UACC * defaultAppParams().supply.distribution_bps[c]) / BPS;
}

/** Asserts that fn throws BAD_GENESIS naming `path` (in the message and as meta.path), and matching `re` if given. */
function rejects(t: Tap, fn: () => unknown, path: string, re?: RegExp): void {
  try {
    fn();
    t.fail(`expected BAD_GENESIS at ${path}, but nothing was thrown`);
  } catch (e) {
    if (!(e instanceof AppError)) {
      t.fail(`expected an AppError, got ${String(e)}`);
      return;
    }
    t.equal(e.code, 'BAD_GENESIS', e.message);
    t.ok(e.message.includes(path), `message names ${path}: ${e.message}`);
    t.equal(e.meta.path, path, `meta.path of: ${e.message}`);
    if (re !== undefined) t.match(e.message, re, `reason of: ${e.message}`);
  }
}
/** The assertions `rejects` needs; both the root `t` and subtests have them. */
interface Tap {
  fail(message: string): unknown;
  ok(value: unknown, message: string): unknown;
  equal(found: unknown, wanted: unknown, message: string): unknown;
  match(found: unknown, pattern: RegExp, message: string): unknown;
}

// ---------------------------------------------------------------------------------------------------------------

t.test('a built genesis round-trips and serialises stably', async (t) => {
  const g = build();
  const json = genesisToJSON(g);
  const text = JSON.stringify(json);
  const again = parseGenesis(JSON.parse(text));
  t.same(again, g, 'parse(toJSON(g)) deep-equals g');
  t.equal(JSON.stringify(genesisToJSON(again)), text, 'JSON.stringify stable across a round trip');
  t.same(again.validators.map((v) => toHex(v.address)), g.validators.map((v) => toHex(v.address)));
  t.same(again.validators[0].publicKey, keys[0].publicKey);

  // The file layout of the spec, in this key order.
  t.same(Object.keys(json), ['genesis_time', 'chain_id', 'initial_height', 'consensus_params', 'validators', 'app_hash', 'app_state']);
  t.equal(json.genesis_time, '2026-11-25T00:00:00.000000000Z');
  t.equal(json.initial_height, '1');
  t.equal(json.app_hash, '');
  t.same(json.consensus_params, {
    block: { max_bytes: '2097152', max_gas: '-1' },
    evidence: { max_age_num_blocks: '100000', max_age_duration: '172800000000000', max_bytes: '1048576' },
    validator: { pub_key_types: ['ed25519'] },
    timeouts: { propose: '1500', propose_delta: '500', prevote: '1000', prevote_delta: '500', precommit: '1000', precommit_delta: '500', commit: '1000' },
  });
  t.same(json.validators[0], {
    name: 'validator-0',
    address: toHex(addressOf(keys[0].publicKey)),
    pub_key: { type: 'tendermint/PubKeyEd25519', value: toBase64(keys[0].publicKey) },
    stake: '1000000000000',
    bls_pub_key: toHex(blsKeyOf(keys[0])),
  });
  t.match(json.validators[0].address, /^[0-9A-F]{40}$/);
  t.same(json.app_state.params.supply.distribution_bps, {
    validators: '3000',
    compute_providers: '2500',
    marketplace: '1500',
    review_committees: '1000',
    treasury: '800',
    team: '1200',
  });
  t.same(json.app_state.params.fees.msg_gas.send, '1000');
  t.same(Object.keys(json.app_state.params.fees.msg_gas).sort(), [...MSG_TYPES].sort(), 'every message type has a gas price');
  t.same(
    json.app_state.allocations.map((a) => [a.category, a.amount]),
    [
      ['validators', '300000000000000'],
      ['compute_providers', '250000000000000'],
      ['marketplace', '150000000000000'],
      ['review_committees', '100000000000000'],
      ['treasury', '80000000000000'],
      ['team', '120000000000000'],
    ],
  );
});

t.test('genesisHash is sha256 of the canonical JSON and ignores formatting and order', async (t) => {
  const g = build();
  const h = genesisHash(g);
  t.equal(h.length, 32);
  t.equal(toHex(h), toHex(sha256(utf8(JSON.stringify(genesisToJSON(g))))));
  // Same genesis, written differently: allocations shuffled, keys reordered, an offset time, pretty-printed.
  const j = baseJSON();
  j.app_state.allocations.reverse();
  j.app_state.params.fees = { msg_gas: j.app_state.params.fees.msg_gas, ...j.app_state.params.fees };
  j.genesis_time = '2026-11-25T01:00:00+01:00';
  const reordered = { app_state: j.app_state, ...j };
  const g2 = parseGenesis(JSON.parse(JSON.stringify(reordered, null, 2)));
  t.same(g2, g);
  t.same(g2.allocations.map((a) => a.category), [...CATEGORIES], 'allocations come back in CATEGORIES order');
  t.equal(toHex(genesisHash(g2)), toHex(h));
  // Any change of content changes the hash.
  const j3 = baseJSON();
  j3.chain_id = 'agentcluster-test2';
  t.not(toHex(genesisHash(parseGenesis(j3))), toHex(h));
  const j4 = baseJSON();
  j4.app_state.params.fees.min_gas_price = '2';
  t.not(toHex(genesisHash(parseGenesis(j4))), toHex(h));
});

t.test('msg_gas maps are canonicalised by key order', async (t) => {
  const a = baseJSON();
  a.app_state.params.fees.msg_gas = { send: '1000', agent_register: '5000' };
  const b = baseJSON();
  b.app_state.params.fees.msg_gas = { agent_register: '5000', send: '1000' };
  const ga = parseGenesis(a);
  t.same(Object.keys(ga.appParams.fees.msg_gas), ['agent_register', 'send']);
  t.equal(ga.appParams.fees.msg_gas.agent_register, 5000n);
  t.equal(toHex(genesisHash(ga)), toHex(genesisHash(parseGenesis(b))));
});

t.test('buildGenesis with the defaults', async (t) => {
  const g = build();
  t.same(g.appParams, defaultAppParams());
  t.same(g.consensusParams, defaultConsensusParams());
  t.equal(g.initialHeight, 1n);
  t.equal(g.validators.length, 4);
  for (const v of g.validators) t.equal(v.stake, DEFAULT_VALIDATOR_STAKE);
  t.equal(DEFAULT_VALIDATOR_STAKE, 1_000_000_000_000n);
  t.same(g.allocations.map((a) => a.category), [...CATEGORIES]);
  let total = 0n;
  for (const a of g.allocations) {
    t.equal(a.amount, share(a.category), a.category);
    total += a.amount;
  }
  t.equal(total, TOTAL_SUPPLY_UACC);
  const team = g.allocations[5];
  t.same(team.accounts, [{ address: addressOf(keys[0].publicKey), amount: 120_000_000n * ACC }], 'team share to the first validator');
  t.same(g.allocations[2].accounts, [{ address: faucet, amount: FAUCET_AMOUNT }], 'extra account in its category');
  t.same(g.allocations[0].accounts, []);

  // The minimal build: one validator, nothing else.
  const one = buildGenesis({ chainId: 'c', genesisTime: 0n, validators: [{ name: 'v', publicKey: keys[0].publicKey, blsPubKey: blsKeyOf(keys[0]) }] });
  t.equal(one.validators.length, 1);

  // Options: custom stake and explicit team accounts.
  const custom = buildGenesis({
    chainId: 'c',
    genesisTime: GENESIS_TIME,
    validators: [{ name: 'v', publicKey: keys[0].publicKey, blsPubKey: blsKeyOf(keys[0]), stake: 5_000n * ACC }],
    team: [
      { address: faucet, amount: 100_000_000n * ACC },
      { address: addressOf(keys[1].publicKey), amount: 20_000_000n * ACC },
    ],
  });
  t.equal(custom.validators[0].stake, 5_000n * ACC);
  t.equal(custom.allocations[5].accounts.length, 2);
});

t.test('buildGenesis rejects what parseGenesis rejects', async (t) => {
  const v = (i: number) => ({ name: `v${i}`, publicKey: keys[i].publicKey, blsPubKey: blsKeyOf(keys[i]) });
  rejects(t, () => buildGenesis({ chainId: 'c', genesisTime: GENESIS_TIME, validators: [v(0), { ...v(0), name: 'other' }] }), 'validators[1].address', /duplicate/);
  rejects(t, () => buildGenesis({ chainId: 'c', genesisTime: GENESIS_TIME, validators: [] }), 'validators', /at least one/);
  rejects(
    t,
    () => buildGenesis({ chainId: 'c', genesisTime: GENESIS_TIME, validators: [v(0)], team: [{ address: faucet, amount: 1n }] }),
    'app_state.allocations[5].accounts',
    /team accounts sum to 1 uacc but must sum to exactly/,
  );
  rejects(
    t,
    () => buildGenesis({ chainId: 'c', genesisTime: GENESIS_TIME, validators: [{ ...v(0), stake: share('validators') + 1n }] }),
    'validators',
    /exceed the validators allocation/,
  );
  rejects(t, () => buildGenesis({ chainId: 'bad chain', genesisTime: GENESIS_TIME, validators: [v(0)] }), 'chain_id');
  rejects(t, () => buildGenesis({ chainId: 'c', genesisTime: -1n, validators: [v(0)] }), 'genesis_time');
  rejects(t, () => buildGenesis({ chainId: 'c', genesisTime: GENESIS_TIME, validators: [{ ...v(0), publicKey: new Uint8Array(31) }] }), 'validators[0].pub_key');
  const params = defaultAppParams();
  params.supply.total_supply = TOTAL_SUPPLY_UACC + 1n;
  rejects(t, () => buildGenesis({ chainId: 'c', genesisTime: GENESIS_TIME, validators: [v(0)], appParams: params }), 'app_state.params.supply.total_supply', /not divisible by 10000/);
  const cp = defaultConsensusParams();
  cp.timeouts.commit_ms = 0n;
  rejects(t, () => buildGenesis({ chainId: 'c', genesisTime: GENESIS_TIME, validators: [v(0)], consensusParams: cp }), 'consensus_params.timeouts.commit');
});

// ---------------------------------------------------------------------------------------------------------------
// One row per rule. `mutate` edits a valid genesis JSON (or returns a replacement); `path` must be named.
// ---------------------------------------------------------------------------------------------------------------

const OFF_CURVE = toBase64(fromHex('02'.padEnd(64, '0'))); // y = 2 has no x on ed25519
const SMALL_ORDER = toBase64(new Uint8Array(32)); // y = 0: a point of order 4
const IDENTITY = toBase64(fromHex('01'.padEnd(64, '0'))); // y = 1: the neutral element
const A1 = toHex(addressOf(keys[1].publicKey));

interface Row {
  name: string;
  mutate: (j: J) => J | void;
  path: string;
  re?: RegExp;
}

const rows: Row[] = [
  // ---- structure: strict objects, required fields, JSON types
  { name: 'root is not an object', mutate: () => [], path: '', re: /^genesis: must be a JSON object/ },
  { name: 'root is null', mutate: () => null, path: '', re: /must be a JSON object/ },
  { name: 'unknown field at top level', mutate: (j) => void (j.app_version = '1'), path: 'app_version', re: /unknown field/ },
  { name: 'unknown field in consensus_params.block', mutate: (j) => void (j.consensus_params.block.time_iota_ms = '1'), path: 'consensus_params.block.time_iota_ms', re: /unknown field/ },
  { name: 'unknown field in app params', mutate: (j) => void (j.app_state.params.fees.tip = '1'), path: 'app_state.params.fees.tip', re: /unknown field/ },
  { name: 'unknown params section', mutate: (j) => void (j.app_state.params.minting = {}), path: 'app_state.params.minting', re: /unknown field/ },
  { name: 'unknown distribution category', mutate: (j) => void (j.app_state.params.supply.distribution_bps.founders = '0'), path: 'app_state.params.supply.distribution_bps.founders', re: /unknown field/ },
  { name: 'unknown field in a validator', mutate: (j) => void (j.validators[0].power = '10'), path: 'validators[0].power', re: /unknown field/ },
  { name: 'unknown field in a pub_key', mutate: (j) => void (j.validators[0].pub_key.extra = 1), path: 'validators[0].pub_key.extra', re: /unknown field/ },
  { name: 'unknown field in app_state', mutate: (j) => void (j.app_state.accounts = []), path: 'app_state.accounts', re: /unknown field/ },
  { name: 'unknown field in an account', mutate: (j) => void (j.app_state.allocations[2].accounts[0].memo = 'x'), path: 'app_state.allocations[2].accounts[0].memo', re: /unknown field/ },
  { name: 'unknown field with an odd name', mutate: (j) => void (j['odd key'] = 1), path: '["odd key"]', re: /unknown field/ },
  { name: 'missing top-level field', mutate: (j) => void delete j.app_hash, path: 'app_hash', re: /missing required field/ },
  { name: 'missing app param', mutate: (j) => void delete j.app_state.params.supply.team_cliff_seconds, path: 'app_state.params.supply.team_cliff_seconds', re: /missing/ },
  { name: 'missing distribution category', mutate: (j) => void delete j.app_state.params.supply.distribution_bps.team, path: 'app_state.params.supply.distribution_bps.team', re: /missing/ },
  { name: 'missing timeout', mutate: (j) => void delete j.consensus_params.timeouts.commit, path: 'consensus_params.timeouts.commit', re: /missing/ },
  { name: 'missing validator stake', mutate: (j) => void delete j.validators[1].stake, path: 'validators[1].stake', re: /missing/ },
  { name: 'number instead of decimal string', mutate: (j) => void (j.initial_height = 1), path: 'initial_height', re: /decimal integer in a JSON string.*the number 1/ },
  { name: 'stake as a number', mutate: (j) => void (j.validators[0].stake = 1000), path: 'validators[0].stake', re: /JSON string/ },
  { name: 'validators not an array', mutate: (j) => void (j.validators = {}), path: 'validators', re: /must be a JSON array/ },
  { name: 'accounts not an array', mutate: (j) => void (j.app_state.allocations[0].accounts = null), path: 'app_state.allocations[0].accounts', re: /JSON array/ },
  { name: 'params section not an object', mutate: (j) => void (j.app_state.params.tx = 'x'), path: 'app_state.params.tx', re: /JSON object/ },
  { name: 'chain_id not a string', mutate: (j) => void (j.chain_id = 7), path: 'chain_id', re: /must be a string/ },
  // ---- canonical decimal strings that fit in 64 bits
  { name: 'leading zero', mutate: (j) => void (j.app_state.params.fees.burn_bps = '05000'), path: 'app_state.params.fees.burn_bps', re: /leading zeros/ },
  { name: 'plus sign', mutate: (j) => void (j.validators[0].stake = '+1000000'), path: 'validators[0].stake', re: /no sign/ },
  { name: 'negative stake', mutate: (j) => void (j.validators[0].stake = '-1'), path: 'validators[0].stake', re: /non-negative/ },
  { name: 'exponent', mutate: (j) => void (j.app_state.params.supply.total_supply = '1e15'), path: 'app_state.params.supply.total_supply', re: /exponent/ },
  { name: 'fraction', mutate: (j) => void (j.app_state.params.tx.max_tx_bytes = '1024.0'), path: 'app_state.params.tx.max_tx_bytes' },
  { name: 'whitespace', mutate: (j) => void (j.app_state.params.tx.max_tx_bytes = ' 1024'), path: 'app_state.params.tx.max_tx_bytes' },
  { name: 'empty decimal', mutate: (j) => void (j.app_state.allocations[0].amount = ''), path: 'app_state.allocations[0].amount' },
  { name: 'u64 overflow', mutate: (j) => void (j.app_state.params.fees.tx_base_gas = '18446744073709551616'), path: 'app_state.params.fees.tx_base_gas', re: /too large: the maximum is 18446744073709551615/ },
  { name: 'huge number', mutate: (j) => void (j.app_state.params.fees.tx_byte_gas = '9'.repeat(400)), path: 'app_state.params.fees.tx_byte_gas', re: /too large/ },
  { name: 'negative min_gas_price', mutate: (j) => void (j.app_state.params.fees.min_gas_price = '-1'), path: 'app_state.params.fees.min_gas_price', re: /non-negative/ },
  { name: 'negative gas value', mutate: (j) => void (j.app_state.params.fees.msg_gas.send = '-5'), path: 'app_state.params.fees.msg_gas.send', re: /non-negative/ },
  // ---- chain id, time, height, app hash
  { name: 'empty chain_id', mutate: (j) => void (j.chain_id = ''), path: 'chain_id', re: /1-50 characters/ },
  { name: 'chain_id too long', mutate: (j) => void (j.chain_id = 'a'.repeat(51)), path: 'chain_id', re: /1-50 characters/ },
  { name: 'chain_id bad characters', mutate: (j) => void (j.chain_id = 'agent cluster'), path: 'chain_id' },
  { name: 'bad time: impossible date', mutate: (j) => void (j.genesis_time = '2026-02-29T00:00:00Z'), path: 'genesis_time', re: /day must be 01-28/ },
  { name: 'bad time: not RFC 3339', mutate: (j) => void (j.genesis_time = 'yesterday'), path: 'genesis_time', re: /not an RFC 3339 time/ },
  { name: 'bad time: before 1970', mutate: (j) => void (j.genesis_time = '1969-12-31T23:59:59Z'), path: 'genesis_time', re: /1970/ },
  { name: 'bad time: a number', mutate: (j) => void (j.genesis_time = 1795564800), path: 'genesis_time', re: /must be a string/ },
  { name: 'initial_height 0', mutate: (j) => void (j.initial_height = '0'), path: 'initial_height', re: /at least 1/ },
  { name: 'initial_height beyond int64', mutate: (j) => void (j.initial_height = '9223372036854775808'), path: 'initial_height', re: /too large/ },
  { name: 'app_hash not empty', mutate: (j) => void (j.app_hash = 'AB'), path: 'app_hash', re: /must be ""/ },
  // ---- validators
  { name: 'no validators', mutate: (j) => void (j.validators = []), path: 'validators', re: /at least one validator/ },
  { name: 'pub_key not base64', mutate: (j) => void (j.validators[0].pub_key.value = 'not base64!'), path: 'validators[0].pub_key', re: /not base64/ },
  { name: 'pub_key wrong length', mutate: (j) => void (j.validators[0].pub_key.value = toBase64(new Uint8Array(31).fill(7))), path: 'validators[0].pub_key', re: /32 bytes/ },
  { name: 'pub_key not on the curve', mutate: (j) => void (j.validators[2].pub_key.value = OFF_CURVE), path: 'validators[2].pub_key', re: /not a valid ed25519 public key/ },
  { name: 'pub_key of small order', mutate: (j) => void (j.validators[0].pub_key.value = SMALL_ORDER), path: 'validators[0].pub_key', re: /not of small order/ },
  { name: 'pub_key is the identity point', mutate: (j) => void (j.validators[0].pub_key.value = IDENTITY), path: 'validators[0].pub_key', re: /not of small order/ },
  { name: 'pub_key of another type', mutate: (j) => void (j.validators[0].pub_key.type = 'tendermint/PubKeySecp256k1'), path: 'validators[0].pub_key', re: /PubKeyEd25519/ },
  { name: 'pub_key missing', mutate: (j) => void (j.validators[0].pub_key = 'abc'), path: 'validators[0].pub_key', re: /JSON object/ },
  { name: 'address not matching the key', mutate: (j) => void (j.validators[0].address = A1), path: 'validators[0].address', re: /does not match pub_key/ },
  { name: 'address in lower case', mutate: (j) => void (j.validators[0].address = j.validators[0].address.toLowerCase()), path: 'validators[0].address', re: /upper-case hex/ },
  { name: 'address wrong length', mutate: (j) => void (j.validators[0].address = 'ABCD'), path: 'validators[0].address', re: /40 upper-case hex/ },
  { name: 'duplicate validator', mutate: (j) => void j.validators.push({ ...j.validators[0], name: 'validator-again' }), path: 'validators[4].address', re: /duplicate validator: validators\[0\]/ },
  { name: 'duplicate validator name', mutate: (j) => void (j.validators[3].name = 'validator-1'), path: 'validators[3].name', re: /duplicate validator name/ },
  { name: 'zero stake', mutate: (j) => void (j.validators[1].stake = '0'), path: 'validators[1].stake', re: /greater than 0/ },
  { name: 'empty name', mutate: (j) => void (j.validators[0].name = ''), path: 'validators[0].name', re: /1-64 printable ASCII/ },
  { name: 'name too long', mutate: (j) => void (j.validators[0].name = 'v'.repeat(65)), path: 'validators[0].name', re: /1-64/ },
  { name: 'name with a control character', mutate: (j) => void (j.validators[0].name = 'a\nb'), path: 'validators[0].name' },
  // ---- app params
  { name: 'distribution not summing to 10000', mutate: (j) => void (j.app_state.params.supply.distribution_bps.validators = '3001'), path: 'app_state.params.supply.distribution_bps', re: /sum to 10000 bps.*10001/ },
  { name: 'stake below min_stake', mutate: (j) => void (j.validators[0].stake = '999999999'), path: 'validators[0].stake', re: /below app_state.params.staking.min_stake \(1000000000 uacc\)/ },
  { name: 'total_supply over the power bound', mutate: (j) => void (j.app_state.params.supply.total_supply = '1152921504606850000'), path: 'app_state.params.supply.total_supply', re: /at most 576460752303423487 uacc/ },
  { name: 'total_supply 0', mutate: (j) => void (j.app_state.params.supply.total_supply = '0'), path: 'app_state.params.supply.total_supply', re: /greater than 0/ },
  { name: 'burn_bps above 100%', mutate: (j) => void (j.app_state.params.fees.burn_bps = '10001'), path: 'app_state.params.fees.burn_bps', re: /at most 10000/ },
  { name: 'cliff longer than vesting', mutate: (j) => void (j.app_state.params.supply.team_cliff_seconds = '126144001'), path: 'app_state.params.supply.team_cliff_seconds', re: /not be longer/ },
  { name: 'vesting 0', mutate: (j) => void (j.app_state.params.supply.team_vesting_seconds = '0'), path: 'app_state.params.supply.team_vesting_seconds', re: /greater than 0/ },
  { name: 'max_tx_bytes too small', mutate: (j) => void (j.app_state.params.tx.max_tx_bytes = '255'), path: 'app_state.params.tx.max_tx_bytes', re: /between 256 and 1048576/ },
  { name: 'max_tx_bytes too large', mutate: (j) => void (j.app_state.params.tx.max_tx_bytes = '1048577'), path: 'app_state.params.tx.max_tx_bytes', re: /between 256 and 1048576/ },
  { name: 'memo as large as the tx', mutate: (j) => void (j.app_state.params.tx.max_memo_bytes = j.app_state.params.tx.max_tx_bytes), path: 'app_state.params.tx.max_memo_bytes', re: /smaller than max_tx_bytes/ },
  { name: 'msg_gas key not an identifier', mutate: (j) => void (j.app_state.params.fees.msg_gas['bad-key'] = '1'), path: 'app_state.params.fees.msg_gas["bad-key"]', re: /lower-case letters, digits and underscores/ },
  { name: 'msg_gas key in upper case', mutate: (j) => void (j.app_state.params.fees.msg_gas.Send = '1'), path: 'app_state.params.fees.msg_gas.Send', re: /lower-case/ },
  { name: 'msg_gas __proto__ key', mutate: (j) => JSON.parse(JSON.stringify(j).replace('"msg_gas":{', '"msg_gas":{"__proto__":"1",')), path: 'app_state.params.fees.msg_gas.__proto__' },
  { name: 'msg_gas not an object', mutate: (j) => void (j.app_state.params.fees.msg_gas = ['send']), path: 'app_state.params.fees.msg_gas', re: /JSON object/ },
  { name: 'max_tx_bytes above the block size', mutate: (j) => void Object.assign(j.consensus_params, { block: { max_bytes: '1000', max_gas: '-1' }, evidence: { ...j.consensus_params.evidence, max_bytes: '0' } }), path: 'app_state.params.tx.max_tx_bytes', re: /block.max_bytes/ },
  // ---- consensus params
  { name: 'block max_bytes 0', mutate: (j) => void (j.consensus_params.block.max_bytes = '0'), path: 'consensus_params.block.max_bytes', re: /between 1 and 4128768/ },
  { name: 'block max_bytes above what a WAL record holds', mutate: (j) => void (j.consensus_params.block.max_bytes = '4128769'), path: 'consensus_params.block.max_bytes' },
  { name: 'max_gas 0', mutate: (j) => void (j.consensus_params.block.max_gas = '0'), path: 'consensus_params.block.max_gas', re: /"-1"/ },
  { name: 'max_gas -2', mutate: (j) => void (j.consensus_params.block.max_gas = '-2'), path: 'consensus_params.block.max_gas' },
  { name: 'evidence age 0 blocks', mutate: (j) => void (j.consensus_params.evidence.max_age_num_blocks = '0'), path: 'consensus_params.evidence.max_age_num_blocks' },
  { name: 'evidence age 0 ns', mutate: (j) => void (j.consensus_params.evidence.max_age_duration = '0'), path: 'consensus_params.evidence.max_age_duration' },
  { name: 'evidence larger than a block', mutate: (j) => void (j.consensus_params.evidence.max_bytes = '2097153'), path: 'consensus_params.evidence.max_bytes', re: /block.max_bytes/ },
  { name: 'timeout 0', mutate: (j) => void (j.consensus_params.timeouts.propose = '0'), path: 'consensus_params.timeouts.propose', re: /between 1 and 3600000 ms/ },
  { name: 'delta timeout 0', mutate: (j) => void (j.consensus_params.timeouts.prevote_delta = '0'), path: 'consensus_params.timeouts.prevote_delta' },
  { name: 'timeout written in ns', mutate: (j) => void (j.consensus_params.timeouts.commit = '500000000'), path: 'consensus_params.timeouts.commit', re: /ms/ },
  { name: 'other key types', mutate: (j) => void (j.consensus_params.validator.pub_key_types = ['secp256k1']), path: 'consensus_params.validator.pub_key_types', re: /exactly \["ed25519"\]/ },
  { name: 'extra key type', mutate: (j) => void j.consensus_params.validator.pub_key_types.push('ed25519'), path: 'consensus_params.validator.pub_key_types' },
  { name: 'no key types', mutate: (j) => void (j.consensus_params.validator.pub_key_types = []), path: 'consensus_params.validator.pub_key_types' },
  { name: 'key type not a string', mutate: (j) => void (j.consensus_params.validator.pub_key_types = [1]), path: 'consensus_params.validator.pub_key_types[0]' },
  // ---- allocations
  { name: 'allocations not summing to the supply', mutate: (j) => void (j.app_state.allocations[1].amount = String(share('compute_providers') + 1n)), path: 'app_state.allocations', re: /sum to 1000000000000001 uacc but total_supply is 1000000000000000/ },
  {
    name: 'a category amount off by one uacc',
    mutate: (j) => {
      j.app_state.allocations[1].amount = String(share('compute_providers') + 1n);
      j.app_state.allocations[4].amount = String(share('treasury') - 1n);
    },
    path: 'app_state.allocations[1].amount',
    re: /must be 250000000000000 uacc/,
  },
  {
    name: 'bps division leaves a remainder',
    mutate: (j) => {
      j.app_state.params.supply.total_supply = '1000000000000001';
      j.app_state.allocations[0].amount = String(BigInt(j.app_state.allocations[0].amount) + 1n);
    },
    path: 'app_state.params.supply.total_supply',
    re: /not divisible by 10000 \(remainder 3000\)/,
  },
  { name: 'missing category', mutate: (j) => void j.app_state.allocations.splice(4, 1), path: 'app_state.allocations', re: /missing the treasury allocation/ },
  { name: 'duplicate category', mutate: (j) => void (j.app_state.allocations[5].category = 'treasury'), path: 'app_state.allocations[5].category', re: /duplicate category treasury/ },
  { name: 'unknown category', mutate: (j) => void (j.app_state.allocations[5].category = 'founders'), path: 'app_state.allocations[5].category', re: /unknown category/ },
  { name: 'seven allocations', mutate: (j) => void j.app_state.allocations.push({ ...j.app_state.allocations[0], accounts: [] }), path: 'app_state.allocations[6].category', re: /duplicate/ },
  { name: 'account with a bad address', mutate: (j) => void (j.app_state.allocations[2].accounts[0].address = 'XYZ'), path: 'app_state.allocations[2].accounts[0].address', re: /hex/ },
  { name: 'account with amount 0', mutate: (j) => void (j.app_state.allocations[2].accounts[0].amount = '0'), path: 'app_state.allocations[2].accounts[0].amount', re: /greater than 0/ },
  {
    name: 'duplicate account in one category',
    mutate: (j) => void j.app_state.allocations[2].accounts.push({ ...j.app_state.allocations[2].accounts[0], amount: '1' }),
    path: 'app_state.allocations[2].accounts[1].address',
    re: /duplicate account/,
  },
  { name: 'accounts above the category amount', mutate: (j) => void (j.app_state.allocations[2].accounts[0].amount = String(share('marketplace') + 1n)), path: 'app_state.allocations[2].accounts', re: /more than the marketplace allocation/ },
  { name: 'team vesting ending beyond int64 ns', mutate: (j) => void (j.app_state.params.supply.team_vesting_seconds = String(300n * 365n * 86_400n)), path: 'app_state.params.supply.team_vesting_seconds', re: /2262/ },
  { name: 'team accounts not summing', mutate: (j) => void (j.app_state.allocations[5].accounts[0].amount = String(share('team') - 1n)), path: 'app_state.allocations[5].accounts', re: /must sum to exactly the team allocation/ },
  { name: 'team accounts above the team amount', mutate: (j) => void j.app_state.allocations[5].accounts.push({ address: A1, amount: '1' }), path: 'app_state.allocations[5].accounts', re: /exactly/ },
  { name: 'no team accounts', mutate: (j) => void (j.app_state.allocations[5].accounts = []), path: 'app_state.allocations[5].accounts', re: /team accounts sum to 0/ },
  { name: 'validator stakes exceeding the validators category', mutate: (j) => void (j.validators[0].stake = String(share('validators'))), path: 'validators', re: /validator stakes and agent bonds \(303040000000000 uacc\).*exceed the validators allocation of 300000000000000/ },
  {
    name: 'validator stakes plus accounts exceeding the validators category',
    mutate: (j) => void j.app_state.allocations[0].accounts.push({ address: A1, amount: String(share('validators') - 4n * DEFAULT_VALIDATOR_STAKE + 1n) }),
    path: 'app_state.allocations[0].accounts',
    re: /exceed the validators allocation/,
  },
];

t.test('rejections: one row per rule', async (t) => {
  t.doesNotThrow(() => parseGenesis(baseJSON()), 'the unmutated base is valid');
  const names = new Set<string>();
  for (const row of rows) {
    t.notOk(names.has(row.name), `row names are unique: ${row.name}`);
    names.add(row.name);
    await t.test(row.name, async (t) => {
      const j = baseJSON();
      const replaced = row.mutate(j);
      const input = replaced === undefined ? j : replaced;
      rejects(t, () => parseGenesis(input), row.path, row.re);
    });
  }
});

t.test('accepted edge cases', async (t) => {
  const g = build();
  // Allocations in any order.
  const j = baseJSON();
  j.app_state.allocations = [3, 5, 0, 1, 4, 2].map((i) => j.app_state.allocations[i]);
  t.same(parseGenesis(j), g);
  // Stakes, agent bonds and accounts exactly filling the validators category.
  const k = baseJSON();
  k.app_state.allocations[0].accounts.push({ address: A1, amount: String(share('validators') - 4n * (DEFAULT_VALIDATOR_STAKE + defaultAppParams().agents.bond)) });
  t.equal(parseGenesis(k).allocations[0].accounts.length, 1);
  // The same address in two categories is fine (one per category).
  const m = baseJSON();
  m.app_state.allocations[3].accounts.push({ address: toHex(faucet), amount: '1' });
  t.equal(parseGenesis(m).allocations[3].accounts.length, 1);
  // max_gas as a positive limit; u64 max where a u64 is allowed; a category with a 0 share.
  const n = baseJSON();
  n.consensus_params.block.max_gas = '100000000';
  n.app_state.params.fees.tx_base_gas = '18446744073709551615';
  n.app_state.params.supply.distribution_bps.treasury = '0';
  n.app_state.params.supply.distribution_bps.compute_providers = '3300';
  n.app_state.allocations[4].amount = '0';
  n.app_state.allocations[1].amount = '330000000000000';
  const gn = parseGenesis(n);
  t.equal(gn.consensusParams.block.max_gas, 100_000_000n);
  t.equal(gn.appParams.fees.tx_base_gas, 18_446_744_073_709_551_615n);
  t.equal(gn.allocations[4].amount, 0n);
  // A 0-fraction time and an offset time.
  const o = baseJSON();
  o.genesis_time = '2026-11-24T19:00:00.5-05:00';
  t.equal(parseGenesis(o).genesisTime, GENESIS_TIME + 500_000_000n);
  t.equal(genesisToJSON(parseGenesis(o)).genesis_time, '2026-11-25T00:00:00.500000000Z');
});

t.test('validateAppParams on typed params (governance reuse)', async (t) => {
  t.doesNotThrow(() => validateAppParams(defaultAppParams()));
  const cases: Array<[string, (p: AppParams) => void, string]> = [
    ['negative min_gas_price', (p) => void (p.fees.min_gas_price = -1n), 'params.fees.min_gas_price'],
    ['negative gas', (p) => void (p.fees.msg_gas.send = -1n), 'params.fees.msg_gas.send'],
    ['negative base gas', (p) => void (p.fees.tx_base_gas = -1n), 'params.fees.tx_base_gas'],
    ['beyond u64', (p) => void (p.tx.max_memo_bytes = 1n << 64n), 'params.tx.max_memo_bytes'],
    ['not a bigint', (p) => void ((p.tx as unknown as Record<string, unknown>).max_tx_bytes = 1024), 'params.tx.max_tx_bytes'],
    ['unknown parameter', (p) => void ((p.fees as unknown as Record<string, unknown>).tip = 1n), 'params.fees.tip'],
    ['missing parameter', (p) => void delete (p.supply as Partial<AppParams['supply']>).team_cliff_seconds, 'params.supply.team_cliff_seconds'],
    ['missing category', (p) => void delete (p.supply.distribution_bps as Partial<Record<string, bigint>>).team, 'params.supply.distribution_bps.team'],
    ['bad msg_gas key', (p) => void (p.fees.msg_gas['Bad Key'] = 1n), 'params.fees.msg_gas["Bad Key"]'],
    ['bps sum', (p) => void (p.supply.distribution_bps.team = 1199n), 'params.supply.distribution_bps'],
    ['burn', (p) => void (p.fees.burn_bps = 10_001n), 'params.fees.burn_bps'],
  ];
  for (const [name, mutate, path] of cases) {
    const p = defaultAppParams();
    mutate(p);
    rejects(t, () => validateAppParams(p), path);
    t.ok(name);
  }
  const p = defaultAppParams();
  p.fees.burn_bps = 20_000n;
  rejects(t, () => validateAppParams(p, 'proposal.params'), 'proposal.params.fees.burn_bps', /at most 10000/);
  const c = defaultConsensusParams();
  t.doesNotThrow(() => validateConsensusParams(c));
  c.block.max_gas = -5n;
  rejects(t, () => validateConsensusParams(c), 'consensus_params.block.max_gas');
});

// ---------------------------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------------------------

const TEMPLATE = fileURLToPath(new URL('../genesis/devnet.template.json', import.meta.url));
const SCHEMA = fileURLToPath(new URL('../genesis/genesis.schema.json', import.meta.url));

t.test('loadGenesisTemplate reads the shipped template', async (t) => {
  const tpl = await loadGenesisTemplate();
  t.equal(tpl.chainId, 'agentcluster-devnet');
  t.same(tpl.appParams, defaultAppParams(), 'whitepaper economics');
  t.same(tpl.consensusParams, defaultConsensusParams());
  t.same(await loadGenesisTemplate(TEMPLATE), tpl, 'explicit path');
  const raw = JSON.parse(readFileSync(TEMPLATE, 'utf8'));
  t.same(raw.validators, []);
  t.equal(raw.genesis_time, '1970-01-01T00:00:00.000000000Z');
  t.same(raw.app_state.allocations.map((a: J) => a.accounts), CATEGORIES.map(() => []));
  // Filling it like the devnet tool does gives a valid genesis.
  const g = buildGenesis({
    chainId: tpl.chainId,
    genesisTime: GENESIS_TIME,
    validators: keys.map((k, i) => ({ name: `validator-${i}`, publicKey: k.publicKey, blsPubKey: blsKeyOf(k) })),
    appParams: tpl.appParams,
    consensusParams: tpl.consensusParams,
  });
  t.equal(g.chainId, 'agentcluster-devnet');
});

t.test('loadGenesisTemplate applies the same strict checks', async (t) => {
  const raw = JSON.parse(readFileSync(TEMPLATE, 'utf8'));
  const dir = t.testdir({
    'unknown.json': JSON.stringify({ ...raw, extra: 1 }),
    'validators.json': JSON.stringify({ ...raw, validators: baseJSON().validators }),
    'accounts.json': JSON.stringify({ ...raw, app_state: { ...raw.app_state, allocations: baseJSON().app_state.allocations } }),
    'params.json': JSON.stringify({ ...raw, app_state: { ...raw.app_state, params: { ...raw.app_state.params, tx: { max_tx_bytes: '10', max_memo_bytes: '1' } } } }),
    'broken.json': '{"chain_id": ',
  });
  const cases: Array<[string, string, RegExp]> = [
    ['unknown.json', 'extra', /unknown field/],
    ['validators.json', 'validators', /template has "validators": \[\]/],
    ['accounts.json', 'app_state.allocations[2].accounts', /template carries no accounts/],
    ['params.json', 'app_state.params.tx.max_tx_bytes', /between 256/],
    ['broken.json', '', /not valid JSON/],
  ];
  for (const [file, path, re] of cases) {
    const full = join(dir, file);
    await t.rejects(loadGenesisTemplate(full), { code: 'BAD_GENESIS', message: re }, file);
    await t.rejects(loadGenesisTemplate(full), { message: new RegExp(`^${full.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) }, `${file} names the file and path`);
  }
});

t.test('loadGenesisFile', async (t) => {
  const g = build();
  const dir = t.testdir({
    'genesis.json': JSON.stringify(genesisToJSON(g), null, 2),
    'bom.json': '\ufeff' + JSON.stringify(genesisToJSON(g)),
    'syntax.json': '{"genesis_time": "2026-11-25T00:00:00Z",,}',
    'empty.json': '',
    'invalid.json': JSON.stringify({ ...genesisToJSON(g), initial_height: '0' }),
  });
  t.same(await loadGenesisFile(join(dir, 'genesis.json')), g);
  t.same(await loadGenesisFile(join(dir, 'bom.json')), g, 'a UTF-8 BOM is tolerated');
  for (const name of ['syntax.json', 'empty.json']) {
    const file = join(dir, name);
    try {
      await loadGenesisFile(file);
      t.fail('should reject');
    } catch (e) {
      t.ok(e instanceof AppError);
      t.equal((e as AppError).code, 'BAD_GENESIS');
      t.ok((e as AppError).message.startsWith(`${file}: the genesis file is not valid JSON`), (e as AppError).message);
      t.equal((e as AppError).meta.file, file);
    }
  }
  const missing = join(dir, 'nope.json');
  await t.rejects(loadGenesisFile(missing), { code: 'BAD_GENESIS', message: /nope\.json: cannot read the genesis file/ });
  const invalid = join(dir, 'invalid.json');
  try {
    await loadGenesisFile(invalid);
    t.fail('should reject');
  } catch (e) {
    t.equal((e as AppError).code, 'BAD_GENESIS');
    t.ok((e as AppError).message.startsWith(`${invalid}: initial_height: must be at least 1`), (e as AppError).message);
    t.equal((e as AppError).meta.path, 'initial_height');
    t.equal((e as AppError).meta.file, invalid);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// JSON Schema: checked with a small validator for exactly the keywords the schema uses (it fails on any other).
// ---------------------------------------------------------------------------------------------------------------

type Schema = J;
const KEYWORDS = new Set([
  '$schema', '$id', '$defs', '$ref', 'title', 'description', 'type', 'properties', 'required', 'additionalProperties',
  'propertyNames', 'pattern', 'items', 'prefixItems', 'minItems', 'maxItems', 'enum', 'const',
]);

function checkKeywords(s: Schema, where: string, out: string[]): void {
  if (typeof s === 'boolean') return;
  for (const k of Object.keys(s)) if (!KEYWORDS.has(k)) out.push(`${where}: unsupported keyword ${k}`);
  for (const group of ['properties', '$defs']) for (const [k, v] of Object.entries(s[group] ?? {})) checkKeywords(v, `${where}.${group}.${k}`, out);
  for (const k of ['additionalProperties', 'propertyNames', 'items']) if (s[k] !== undefined) checkKeywords(s[k], `${where}.${k}`, out);
  for (const [i, v] of (s.prefixItems ?? []).entries()) checkKeywords(v, `${where}.prefixItems[${i}]`, out);
}

function validate(s: Schema, root: Schema, v: unknown, path: string, out: string[]): void {
  if (s === true) return;
  if (s === false) return void out.push(`${path}: not allowed`);
  if (s.$ref !== undefined) validate(root.$defs[s.$ref.replace('#/$defs/', '')], root, v, path, out);
  if (s.const !== undefined && JSON.stringify(v) !== JSON.stringify(s.const)) out.push(`${path}: must be ${JSON.stringify(s.const)}`);
  if (s.enum !== undefined && !s.enum.includes(v)) out.push(`${path}: not in enum`);
  if (s.type !== undefined) {
    const type = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
    if (type !== s.type) return void out.push(`${path}: must be ${s.type}`);
  }
  if (s.pattern !== undefined && typeof v === 'string' && !new RegExp(s.pattern, 'u').test(v)) out.push(`${path}: does not match ${s.pattern}`);
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!Object.hasOwn(o, r)) out.push(`${path}.${r}: required`);
    for (const [k, x] of Object.entries(o)) {
      if (s.propertyNames !== undefined) validate(s.propertyNames, root, k, `${path}[key ${k}]`, out);
      if (s.properties?.[k] !== undefined) validate(s.properties[k], root, x, `${path}.${k}`, out);
      else if (s.additionalProperties !== undefined) validate(s.additionalProperties, root, x, `${path}.${k}`, out);
    }
  }
  if (Array.isArray(v)) {
    const prefix: Schema[] = s.prefixItems ?? [];
    v.forEach((x, i) => {
      if (i < prefix.length) validate(prefix[i], root, x, `${path}[${i}]`, out);
      else if (s.items !== undefined) validate(s.items, root, x, `${path}[${i}]`, out);
    });
    if (s.minItems !== undefined && v.length < s.minItems) out.push(`${path}: fewer than ${s.minItems} items`);
    if (s.maxItems !== undefined && v.length > s.maxItems) out.push(`${path}: more than ${s.maxItems} items`);
  }
}

t.test('genesis.schema.json describes the files the node writes and reads', async (t) => {
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8'));
  t.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  const unsupported: string[] = [];
  checkKeywords(schema, '#', unsupported);
  t.same(unsupported, [], 'the test validator understands every keyword used');
  const errorsOf = (v: unknown): string[] => {
    const out: string[] = [];
    validate(schema, schema, v, '#', out);
    return out;
  };
  t.same(errorsOf(baseJSON()), [], 'a built genesis conforms (so every AppParams field is in the schema, and nothing more is required)');
  t.same(errorsOf(JSON.parse(readFileSync(TEMPLATE, 'utf8'))), [], 'the devnet template conforms');
  // Strictness: the schema rejects what parseGenesis rejects structurally.
  const bad: Array<[string, (j: J) => void]> = [
    ['unknown top-level field', (j) => void (j.extra = 1)],
    ['unknown nested field', (j) => void (j.app_state.params.tx.extra = '1')],
    ['number instead of string', (j) => void (j.initial_height = 1)],
    ['non-canonical decimal', (j) => void (j.validators[0].stake = '01')],
    ['lower-case address', (j) => void (j.validators[0].address = j.validators[0].address.toLowerCase())],
    ['bad category', (j) => void (j.app_state.allocations[0].category = 'founders')],
    ['bad msg_gas key', (j) => void (j.app_state.params.fees.msg_gas.Send = '1')],
    ['app_hash', (j) => void (j.app_hash = 'AB')],
    ['other key type', (j) => void (j.consensus_params.validator.pub_key_types = ['secp256k1'])],
    ['missing field', (j) => void delete j.app_state.params.supply.total_supply],
  ];
  for (const [name, mutate] of bad) {
    const j = baseJSON();
    mutate(j);
    t.not(errorsOf(j).length, 0, `schema rejects: ${name}`);
  }
  // Every field has a description somewhere up its chain: check the app params sections document themselves.
  for (const section of ['supply', 'fees', 'tx']) t.type(schema.$defs.app_params.properties[section].description, 'string', section);
});
