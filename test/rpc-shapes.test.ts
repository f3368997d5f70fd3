// Every shared method's result checked field by field against CometBFT v0.38's documented shape. The schemas below
// are written from CometBFT's Go types (rpc/core/types/responses.go, types/block.go, types/vote.go, types/params.go,
// types/genesis.go, p2p/node_info.go, abci/types: the JSON tags, printed by libs/json: int64/uint64/int as decimal
// strings, int32/uint32 as numbers, HexBytes as upper-case hex, []byte as base64, times RFC 3339; ExecTxResult and
// ResponseCheckTx through jsonpb with EmitDefaults), not from our encoder. The checker is strict: no field missing,
// none extra (omitempty fields are listed as optional), and every value's JSON type and encoding as documented. One
// documented extension: `validators` entries carry stake, reputation_factor, operator and name (VALIDATOR_WITH_STATE).
import t from 'tap';
import { RpcChain } from './helpers/rpc-chain.ts';
import { send } from './helpers/chain.ts';
import { doubleVoteEvidence } from './helpers/consensus-harness.ts';
import { cometbftMethods } from '../src/rpc/cometbft.ts';
import * as enc from '../src/rpc/encode.ts';
import { ValidatorSet } from '../src/consensus/validator-set.ts';
import { generateKeyPair } from '../src/crypto/keys.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { fromHex } from '../src/crypto/bytes.ts';
import { BlockCodec, BlockIdFlag, CommitCodec } from '../src/codec/types.ts';

// ---------------------------------------------------------------------------------------------------------------
// A small schema language and its checker
// ---------------------------------------------------------------------------------------------------------------

type Schema =
  | { k: 'i64' }
  | { k: 'int'; min?: number; max?: number }
  | { k: 'string'; re?: RegExp }
  | { k: 'bool' }
  | { k: 'hex'; bytes?: number; empty?: boolean }
  | { k: 'b64'; bytes?: number }
  | { k: 'time' }
  | { k: 'literal'; value: unknown }
  | { k: 'object'; fields: Record<string, Schema>; optional: readonly string[] }
  | { k: 'array'; of: Schema }
  | { k: 'nullable'; of: Schema }
  | { k: 'oneOf'; of: Schema[] }
  | { k: 'any' };

const I64: Schema = { k: 'i64' };
const NUM: Schema = { k: 'int' };
const STR: Schema = { k: 'string' };
const BOOL: Schema = { k: 'bool' };
const B64: Schema = { k: 'b64' };
const TIME: Schema = { k: 'time' };
const ANY: Schema = { k: 'any' };
const int = (min?: number, max?: number): Schema => ({ k: 'int', min, max });
const str = (re: RegExp): Schema => ({ k: 'string', re });
const hex = (bytes?: number, empty = false): Schema => ({ k: 'hex', bytes, empty });
const b64 = (bytes: number): Schema => ({ k: 'b64', bytes });
const lit = (value: unknown): Schema => ({ k: 'literal', value });
const obj = (fields: Record<string, Schema>, optional: readonly string[] = []): Schema => ({ k: 'object', fields, optional });
const arr = (of: Schema): Schema => ({ k: 'array', of });
const nul = (of: Schema): Schema => ({ k: 'nullable', of });
const oneOf = (...of: Schema[]): Schema => ({ k: 'oneOf', of });

const RE = {
  i64: /^-?(0|[1-9][0-9]*)$/,
  // RFC 3339 in UTC with nanoseconds, as DESIGN.md section 6 asks.
  time: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{9}Z$/,
  hex: /^([0-9A-F]{2})*$/,
  b64: /^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
};

function check(v: unknown, s: Schema, path: string, errors: string[]): void {
  const fail = (what: string): void => {
    errors.push(`${path}: ${what}, got ${JSON.stringify(v)?.slice(0, 80)}`);
  };
  switch (s.k) {
    case 'any':
      return;
    case 'i64':
      if (typeof v !== 'string' || !RE.i64.test(v)) fail('expected an int64 as a decimal string');
      return;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) return fail('expected a JSON integer');
      if ((s.min !== undefined && v < s.min) || (s.max !== undefined && v > s.max)) fail(`expected an integer in [${s.min ?? '-inf'}, ${s.max ?? 'inf'}]`);
      return;
    case 'string':
      if (typeof v !== 'string') return fail('expected a string');
      if (s.re !== undefined && !s.re.test(v)) fail(`expected a string matching ${s.re}`);
      return;
    case 'bool':
      if (typeof v !== 'boolean') fail('expected a boolean');
      return;
    case 'hex':
      if (typeof v !== 'string' || !RE.hex.test(v)) return fail('expected upper-case hex');
      if (v === '' && s.empty) return;
      if (v === '' && s.bytes !== undefined) return fail('expected a non-empty hash');
      if (s.bytes !== undefined && v.length !== s.bytes * 2) fail(`expected ${s.bytes} bytes of hex`);
      return;
    case 'b64':
      if (typeof v !== 'string' || !RE.b64.test(v)) return fail('expected base64');
      if (Buffer.from(Buffer.from(v, 'base64').toString('base64')).toString() !== v) return fail('expected canonical base64');
      if (s.bytes !== undefined && Buffer.from(v, 'base64').length !== s.bytes) fail(`expected base64 of ${s.bytes} bytes`);
      return;
    case 'time':
      if (typeof v !== 'string' || !RE.time.test(v)) fail('expected an RFC 3339 UTC time with nanoseconds');
      return;
    case 'literal':
      if (JSON.stringify(v) !== JSON.stringify(s.value)) fail(`expected ${JSON.stringify(s.value)}`);
      return;
    case 'nullable':
      if (v !== null) check(v, s.of, path, errors);
      return;
    case 'array':
      if (!Array.isArray(v)) return fail('expected an array');
      v.forEach((x, i) => check(x, s.of, `${path}[${i}]`, errors));
      return;
    case 'oneOf': {
      const tries = s.of.map((alt) => {
        const e: string[] = [];
        check(v, alt, path, e);
        return e;
      });
      if (!tries.some((e) => e.length === 0)) errors.push(...tries.sort((a, b) => a.length - b.length)[0]);
      return;
    }
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('expected an object');
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) if (!(k in s.fields)) errors.push(`${path}: unexpected field ${JSON.stringify(k)}`);
      for (const [k, fs] of Object.entries(s.fields)) {
        if (!(k in o)) {
          if (!s.optional.includes(k)) errors.push(`${path}: missing field ${JSON.stringify(k)}`);
          continue;
        }
        check(o[k], fs, `${path}.${k}`, errors);
      }
      return;
    }
  }
}

function errorsOf(v: unknown, s: Schema, path = '$'): string[] {
  const errors: string[] = [];
  check(JSON.parse(JSON.stringify(v)), s, path, errors); // through JSON, as the transport sends it
  return errors;
}

// ---------------------------------------------------------------------------------------------------------------
// CometBFT v0.38 shapes
// ---------------------------------------------------------------------------------------------------------------

const HASH = hex(32);
const HASH_OR_EMPTY = hex(32, true);
const ADDRESS = hex(20);
// types.BlockID {hash HexBytes "hash"; PartSetHeader "parts" {total uint32; hash HexBytes}}. A block's id always
// names a part set (total >= 1); the "previous block" of the first block is the zero id.
const BLOCK_ID = obj({ hash: HASH, parts: obj({ total: int(1), hash: HASH }) });
const MAYBE_BLOCK_ID = oneOf(BLOCK_ID, lit({ hash: '', parts: { total: 0, hash: '' } }));
const PUB_KEY = obj({ type: lit('tendermint/PubKeyEd25519'), value: b64(32) });

const HEADER = obj({
  version: obj({ block: I64, app: I64 }), // cmtversion.Consensus, uint64s
  chain_id: STR,
  height: I64,
  time: TIME,
  last_block_id: MAYBE_BLOCK_ID,
  last_commit_hash: HASH,
  data_hash: HASH,
  validators_hash: HASH,
  next_validators_hash: HASH,
  consensus_hash: HASH,
  app_hash: HASH,
  last_results_hash: HASH,
  evidence_hash: HASH,
  proposer_address: ADDRESS,
});
// CommitSig: an absent one carries Go's zero time and a nil signature.
const COMMIT_SIG = oneOf(
  obj({ block_id_flag: lit(BlockIdFlag.ABSENT), validator_address: lit(''), timestamp: lit('0001-01-01T00:00:00Z'), signature: lit(null) }),
  obj({ block_id_flag: int(2, 3), validator_address: ADDRESS, timestamp: TIME, signature: b64(64) }),
);
const COMMIT = obj({ height: I64, round: NUM, block_id: MAYBE_BLOCK_ID, signatures: arr(COMMIT_SIG) });
const VOTE = obj({
  type: int(1, 2),
  height: I64,
  round: NUM,
  block_id: MAYBE_BLOCK_ID,
  timestamp: TIME,
  validator_address: ADDRESS,
  validator_index: NUM,
  signature: b64(64),
  extension: nul(B64),
  extension_signature: nul(B64),
});
const EVIDENCE = obj({
  type: lit('tendermint/DuplicateVoteEvidence'),
  value: obj({ vote_a: VOTE, vote_b: VOTE, TotalVotingPower: I64, ValidatorPower: I64, Timestamp: TIME }),
});
const BLOCK = obj({ header: HEADER, data: obj({ txs: arr(B64) }), evidence: obj({ evidence: arr(EVIDENCE) }), last_commit: COMMIT });

const ATTRIBUTE = obj({ key: STR, value: STR, index: BOOL });
const EVENT_JSONPB = obj({ type: STR, attributes: arr(ATTRIBUTE) });
const EVENT_OMITEMPTY = obj({ type: STR, attributes: arr(ATTRIBUTE) }, ['type', 'attributes']);
const EXEC_TX_RESULT = obj({ code: NUM, data: nul(B64), log: STR, info: STR, gas_wanted: I64, gas_used: I64, events: arr(EVENT_JSONPB), codespace: STR });
// v0.38 ResponseCheckTx: the same fields (sender, priority, mempool_error were removed in v0.38).
const CHECK_TX = EXEC_TX_RESULT;
const VALIDATOR_UPDATE = obj(
  { pub_key: obj({ Sum: obj({ type: lit('tendermint.crypto.PublicKey_Ed25519'), value: obj({ ed25519: b64(32) }) }) }), power: I64 },
  ['power'],
);
// CometBFT's types.Validator as `validators` prints it.
const VALIDATOR_FIELDS: Record<string, Schema> = { address: ADDRESS, pub_key: PUB_KEY, voting_power: I64, proposer_priority: I64 };
// Our `validators` entries: CometBFT's, plus four fields from the state's validator record (null without one), which
// CometBFT clients ignore. The only deliberate additions to a CometBFT shape in this table.
const VALIDATOR_WITH_STATE = obj({
  ...VALIDATOR_FIELDS,
  stake: nul(I64),
  reputation_factor: nul(I64),
  operator: nul(ADDRESS),
  name: nul(STR),
});
const CONSENSUS_PARAMS = obj({
  block: obj({ max_bytes: I64, max_gas: I64 }),
  evidence: obj({ max_age_num_blocks: I64, max_age_duration: I64, max_bytes: I64 }),
  validator: obj({ pub_key_types: arr(STR) }),
  version: obj({ app: I64 }),
  abci: obj({ vote_extensions_enable_height: I64 }),
});
const NODE_INFO = obj({
  protocol_version: obj({ p2p: I64, block: I64, app: I64 }),
  id: str(/^[0-9a-f]{40}$/),
  listen_addr: STR,
  network: STR,
  version: str(/^0\.38\./),
  channels: hex(undefined, true),
  moniker: STR,
  other: obj({ tx_index: str(/^(on|off)$/), rpc_address: STR }),
});
// flowrate.Status and p2p.ChannelStatus have no JSON tags: Go field names.
const FLOW = obj({
  Start: oneOf(TIME, lit('0001-01-01T00:00:00Z')),
  Bytes: I64,
  Samples: I64,
  InstRate: I64,
  CurRate: I64,
  AvgRate: I64,
  PeakRate: I64,
  BytesRem: I64,
  Duration: I64,
  Idle: I64,
  TimeRem: I64,
  Progress: NUM,
  Active: BOOL,
});
const PEER = obj({
  node_info: NODE_INFO,
  is_outbound: BOOL,
  connection_status: obj({
    Duration: I64,
    SendMonitor: FLOW,
    RecvMonitor: FLOW,
    Channels: arr(obj({ ID: NUM, SendQueueCapacity: I64, SendQueueSize: I64, Priority: I64, RecentlySent: I64 })),
  }),
  remote_ip: STR,
});
const TX_PROOF = obj({ root_hash: HASH, data: B64, proof: obj({ total: I64, index: I64, leaf_hash: b64(32), aunts: arr(b64(32)) }) });
const RESULT_TX = obj({ hash: HASH, height: I64, index: NUM, tx_result: EXEC_TX_RESULT, tx: B64, proof: TX_PROOF }, ['proof']);
const RESULT_BLOCK = obj({ block_id: BLOCK_ID, block: BLOCK });
const BROADCAST = obj({ code: NUM, data: hex(undefined, true), log: STR, codespace: STR, hash: HASH });

/** The result of every CometBFT method this node shares, as CometBFT v0.38 documents it. */
const METHOD_SHAPES: Record<string, Schema> = {
  health: obj({}),
  status: obj({
    node_info: NODE_INFO,
    sync_info: obj({
      latest_block_hash: HASH_OR_EMPTY,
      latest_app_hash: HASH, // never empty (issue 4)
      latest_block_height: I64,
      latest_block_time: TIME,
      earliest_block_hash: HASH_OR_EMPTY,
      earliest_app_hash: HASH,
      earliest_block_height: I64,
      earliest_block_time: TIME,
      catching_up: BOOL,
    }),
    validator_info: obj({ address: ADDRESS, pub_key: PUB_KEY, voting_power: I64 }),
  }),
  net_info: obj({ listening: BOOL, listeners: arr(STR), n_peers: I64, peers: arr(PEER) }),
  genesis: obj({
    genesis: obj(
      {
        genesis_time: TIME,
        chain_id: STR,
        initial_height: I64,
        consensus_params: CONSENSUS_PARAMS,
        validators: arr(obj({ address: ADDRESS, pub_key: PUB_KEY, power: I64, name: STR })),
        app_hash: hex(undefined, true),
        app_state: ANY, // json.RawMessage: the application's own
      },
      ['consensus_params', 'validators', 'app_state'],
    ),
  }),
  blockchain: obj({ last_height: I64, block_metas: arr(obj({ block_id: BLOCK_ID, block_size: I64, header: HEADER, num_txs: I64 })) }),
  block: RESULT_BLOCK,
  block_by_hash: RESULT_BLOCK,
  block_results: obj({
    height: I64,
    txs_results: nul(arr(EXEC_TX_RESULT)),
    finalize_block_events: nul(arr(EVENT_OMITEMPTY)),
    validator_updates: nul(arr(VALIDATOR_UPDATE)),
    consensus_param_updates: nul(CONSENSUS_PARAMS),
    app_hash: b64(32), // []byte in ResultBlockResults: base64
  }),
  commit: obj({ signed_header: obj({ header: HEADER, commit: COMMIT }), canonical: BOOL }),
  header: obj({ header: HEADER }),
  header_by_hash: obj({ header: HEADER }),
  validators: obj({ block_height: I64, validators: arr(VALIDATOR_WITH_STATE), count: I64, total: I64 }),
  consensus_params: obj({ block_height: I64, consensus_params: CONSENSUS_PARAMS }),
  consensus_state: obj({
    round_state: obj({
      'height/round/step': str(/^\d+\/\d+\/[1-8]$/),
      start_time: TIME,
      proposal_block_hash: HASH_OR_EMPTY,
      locked_block_hash: HASH_OR_EMPTY,
      valid_block_hash: HASH_OR_EMPTY,
      height_vote_set: arr(
        obj({
          round: NUM,
          prevotes: arr(str(/^(nil-Vote|Vote\{\d+:[0-9A-F]{12} \d+\/\d{2,}\/SIGNED_MSG_TYPE_PREVOTE\(Prevote\) [0-9A-F]{12} [0-9A-F]{12} [0-9A-F]{12} @ .+\})$/)),
          prevotes_bit_array: str(/^BA\{\d+:[x_]*\} \d+\/\d+ = \d+\.\d\d$/),
          precommits: arr(str(/^(nil-Vote|Vote\{\d+:[0-9A-F]{12} \d+\/\d{2,}\/SIGNED_MSG_TYPE_PRECOMMIT\(Precommit\) [0-9A-F]{12} [0-9A-F]{12} [0-9A-F]{12} @ .+\})$/)),
          precommits_bit_array: str(/^BA\{\d+:[x_]*\} \d+\/\d+ = \d+\.\d\d$/),
        }),
      ),
      proposer: obj({ address: ADDRESS, index: NUM }),
    }),
  }),
  unconfirmed_txs: obj({ n_txs: I64, total: I64, total_bytes: I64, txs: arr(B64) }),
  num_unconfirmed_txs: obj({ n_txs: I64, total: I64, total_bytes: I64, txs: nul(arr(B64)) }),
  broadcast_tx_async: BROADCAST,
  broadcast_tx_sync: BROADCAST,
  broadcast_tx_commit: obj({ check_tx: CHECK_TX, tx_result: EXEC_TX_RESULT, hash: HASH, height: I64 }),
  check_tx: CHECK_TX,
  tx: RESULT_TX,
  tx_search: obj({ txs: arr(RESULT_TX), total_count: I64 }),
  block_search: obj({ blocks: arr(RESULT_BLOCK), total_count: I64 }),
  unsafe_flush_mempool: obj({}),
};

/** Event data envelopes (types/events.go): result.data of a subscription. */
const EVENT_SHAPES: Record<string, Schema> = {
  NewBlock: obj({
    type: lit('tendermint/event/NewBlock'),
    value: obj({
      block: BLOCK,
      block_id: BLOCK_ID,
      // abci.ResponseFinalizeBlock has no JSON override: its omitempty tags hold.
      result_finalize_block: obj(
        { events: arr(EVENT_OMITEMPTY), tx_results: arr(EXEC_TX_RESULT), validator_updates: arr(VALIDATOR_UPDATE), consensus_param_updates: CONSENSUS_PARAMS, app_hash: b64(32) },
        ['events', 'tx_results', 'validator_updates', 'consensus_param_updates', 'app_hash'],
      ),
    }),
  }),
  NewBlockHeader: obj({ type: lit('tendermint/event/NewBlockHeader'), value: obj({ header: HEADER }) }),
  // EventDataTx embeds abci.TxResult (omitempty tags: index 0 is left out).
  Tx: obj({ type: lit('tendermint/event/Tx'), value: obj({ TxResult: obj({ height: I64, index: NUM, tx: B64, result: EXEC_TX_RESULT }, ['index']) }) }),
};

// ---------------------------------------------------------------------------------------------------------------

t.test('the checker is strict: it catches each kind of deviation', async (t) => {
  const s = obj({ h: I64, n: NUM, x: HASH, b: B64, tm: TIME, o: obj({ a: STR, z: STR }, ['z']) });
  const good = { h: '-5', n: 3, x: 'AB'.repeat(32), b: 'AAE=', tm: '2026-01-01T00:00:00.123456789Z', o: { a: '' } };
  t.same(errorsOf(good, s), []);
  const bad: Array<[string, unknown, RegExp]> = [
    ['an int64 as a number', { ...good, h: 5 }, /\$\.h: expected an int64/],
    ['an int64 with a leading zero', { ...good, h: '05' }, /\$\.h: expected an int64/],
    ['a number as a string', { ...good, n: '3' }, /\$\.n: expected a JSON integer/],
    ['lower-case hex', { ...good, x: 'ab'.repeat(32) }, /\$\.x: expected upper-case hex/],
    ['a short hash', { ...good, x: 'AB' }, /\$\.x: expected 32 bytes/],
    ['an empty hash where one is required', { ...good, x: '' }, /non-empty/],
    ['bad base64', { ...good, b: 'AAE' }, /\$\.b: expected base64/],
    ['a time without nanoseconds', { ...good, tm: '2026-01-01T00:00:00Z' }, /\$\.tm: expected an RFC 3339/],
    ['a time with an offset', { ...good, tm: '2026-01-01T00:00:00.000000000+01:00' }, /\$\.tm/],
    ['an extra field', { ...good, extra: 1 }, /unexpected field "extra"/],
    ['a missing field', { ...good, o: {} }, /\$\.o: missing field "a"/],
  ];
  for (const [what, v, re] of bad) t.match(errorsOf(v, s).join('\n'), re, what);
  t.same(errorsOf({ ...good, o: { a: 'x', z: 'y' } }, s), [], 'an optional field may be present');
});

t.test("every shared method's response has CometBFT v0.38's shape, field by field", async (t) => {
  const c = await RpcChain.start(t);
  const [u0, u1, u2, u3] = c.fx.users;
  const samples = new Map<string, unknown[]>();
  const sample = async (method: string, args: Record<string, unknown> = {}): Promise<any> => {
    const r = await c.call(method, args as never);
    samples.set(method, [...(samples.get(method) ?? []), r]);
    return r;
  };

  // Blocks with successful transfers, a failed tx, several txs in one block, and fees paid out at end-block.
  c.include(send(u0, u1, 100n, 0n), send(u1, u2, 200n, 0n), send(u0, u2, 300n, 1n));
  await c.next();
  c.include(send(u2, u3, 50n, 0n), send(u0, u3, 1n, 9n));
  await c.next();
  await c.next();
  c.peers.push({ id: 'cd'.repeat(20), moniker: 'peer-1', remoteIp: '10.0.0.2', listenAddr: 'tcp://10.0.0.2:26656', isOutbound: false });

  const first = await sample('block', { height: 1n });
  for (const h of [1n, 2n, 3n, 4n]) {
    await sample('block', { height: h });
    await sample('block_results', { height: h });
    await sample('header', { height: h });
    await sample('commit', { height: h });
    await sample('validators', { height: h });
    await sample('consensus_params', { height: h });
  }
  await sample('block_by_hash', { hash: fromHex(first.block_id.hash) });
  await sample('header_by_hash', { hash: fromHex(first.block_id.hash) });
  await sample('health');
  await sample('status');
  await sample('net_info');
  await sample('genesis');
  await sample('blockchain');
  await sample('consensus_state');
  const anyTx = (await c.call('block', { height: 2n })).block.data.txs[1];
  const txHash = sha256(Buffer.from(anyTx, 'base64'));
  await sample('tx', { hash: txHash });
  await sample('tx', { hash: txHash, prove: true });
  await sample('tx_search', { query: 'tx.height >= 1', prove: true });
  await sample('tx_search', { query: 'tx.height >= 1' });
  await sample('tx_search', { query: 'tx.height > 100' });
  await sample('block_search', { query: 'block.height >= 1' });
  await sample('block_search', { query: 'fees.amount > 0' });

  if (c.mempool !== null) {
    await sample('check_tx', { tx: send(u3, u0, 1n, 0n) });
    await sample('check_tx', { tx: new Uint8Array([1, 2, 3]) });
    await sample('broadcast_tx_sync', { tx: send(u3, u0, 1n, 0n) });
    await sample('broadcast_tx_sync', { tx: new Uint8Array([9]) });
    await sample('broadcast_tx_async', { tx: send(u3, u0, 2n, 1n) });
    await sample('unconfirmed_txs');
    await sample('num_unconfirmed_txs');
    await sample('unsafe_flush_mempool');
    await sample('broadcast_tx_commit', { tx: new Uint8Array([9, 9]) });
    const pending = sample('broadcast_tx_commit', { tx: send(u1, u0, 3n, 1n) });
    for (let i = 0; i < 1000 && c.mempool.size === 0; i++) await new Promise((r) => setTimeout(r, 1));
    await c.next();
    await pending;
  } else {
    t.comment(`mempool methods not sampled: ${c.mempoolError}`);
  }

  for (const [method, results] of samples) {
    const schema = METHOD_SHAPES[method];
    t.ok(schema !== undefined, `${method} has a documented shape`);
    if (schema === undefined) continue;
    results.forEach((r, i) => t.same(errorsOf(r, schema, `${method}#${i}`), [], `${method} sample ${i} matches CometBFT's shape`));
  }
  const shared = Object.keys(cometbftMethods(c.ctx)).filter((m) => m !== 'dial_seeds' && m !== 'dial_peers');
  const unsampled = shared.filter((m) => !samples.has(m) && !(c.mempool === null && /tx_|unconfirmed|flush|check_tx/.test(m)));
  t.same(unsampled, [], 'every shared method was sampled');
  t.same(shared.filter((m) => !(m in METHOD_SHAPES)), [], 'and has a shape in the table');

  t.test('published events carry CometBFT event data', async (t) => {
    const kinds = new Set<string>();
    for (const ev of c.published) {
      kinds.add(ev.kind);
      const errs = errorsOf(ev.data, EVENT_SHAPES[ev.kind], ev.kind);
      if (errs.length > 0) t.same(errs, [], `${ev.kind} at ${ev.events['block.height'] ?? ev.events['tx.height']}`);
    }
    t.same([...kinds].sort(), ['NewBlock', 'NewBlockHeader', 'Tx']);
    t.pass(`${c.published.length} events checked`);
  });
});

t.test('shapes the chain does not produce yet: evidence, absent signatures, validator updates, the no-block status', async (t) => {
  const keys = [31, 32, 33].map((n) => generateKeyPair(new Uint8Array(32).fill(n)));
  const set = ValidatorSet.fromPowers(keys.map((k) => ({ pubKey: k.publicKey, power: 10n })));
  const blockId = (n: number) => ({ hash: sha256(new Uint8Array([n])), partSetHeader: { total: 1, hash: sha256(new Uint8Array([n, n])) } });
  const ev = doubleVoteEvidence(keys[0], set, 7n, 0, blockId(1), blockId(2), 1_764_000_000_123_456_789n);

  const c = await RpcChain.start(t);
  await c.next();
  const bytes = (await c.app.store.getBlock(2n))!;
  const block = BlockCodec.decode(bytes);
  const absent = { blockIdFlag: BlockIdFlag.ABSENT, validatorAddress: new Uint8Array(0), timestamp: 0n, signature: new Uint8Array(0) };
  const withEverything = { ...block, evidence: [ev], lastCommit: { ...block.lastCommit, signatures: [...block.lastCommit.signatures, absent] } };
  t.same(errorsOf(enc.block(withEverything), BLOCK), [], 'a block with duplicate-vote evidence and an absent commit signature');
  const seen = CommitCodec.decode((await c.app.store.getCommit(2n))!);
  t.same(errorsOf(enc.commit({ ...seen, signatures: [...seen.signatures, absent, { ...seen.signatures[0], blockIdFlag: BlockIdFlag.NIL }] }), COMMIT), [], 'absent and nil signatures');
  for (const power of [5n, 0n]) {
    t.same(errorsOf(enc.validatorUpdate({ pubKey: keys[1].publicKey, power }), VALIDATOR_UPDATE), [], `a validator update of power ${power}`);
  }
  t.notOk('power' in enc.validatorUpdate({ pubKey: keys[1].publicKey, power: 0n }), 'a removal has no power field (omitempty)');

  const fresh = await RpcChain.start(t, { consensus: false });
  const status = await fresh.call('status');
  t.same(errorsOf(status, METHOD_SHAPES.status), [], 'status before the first block (and before any validator set)');
  t.same(errorsOf(await fresh.call('tx_search', { query: 'tx.height > 0' }), METHOD_SHAPES.tx_search), []);
});
