// Governance parameter changes (issue 8): every invalid value is refused at submission, on the real chain, with
// PARAM_FIXED or INVALID_PARAM_CHANGE and a sentence naming the parameter; the boundary values are accepted.
// applyParamChanges directly: order, open maps, purity. The governance parameters' own genesis rules.
import t from 'tap';
import { ErrorCodes, type ErrorCode } from '../src/errors.ts';
import { AppError } from '../src/errors.ts';
import { applyParamChanges, validateAppParams, MAX_BLOCK_BYTES } from '../src/state/genesis.ts';
import { defaultAppParams, SLASH_APPEAL_MARGIN_SECONDS, type AppParams } from '../src/state/params.ts';
import { getGovState } from '../src/state/governance/store.ts';
import { Driver } from './helpers/agents.ts';
import { deposit, govFixture, proposalMsg, TIMELOCK_SECONDS, VOTING_SECONDS } from './helpers/gov.ts';

const code = (c: ErrorCode): number => ErrorCodes[c];
const BLOCK_BYTES = 65_536n;
const WINDOW = 21n * 86_400n; // slashing.appeal_window_seconds (default)
const M = SLASH_APPEAL_MARGIN_SECONDS;

t.test('parameter changes refused at submission (table); the boundary values accepted', async (t) => {
  const d = await Driver.open(govFixture({ params: (p) => void (p.governance.min_deposit_bps = 1n), consensus: (c) => { c.block.max_bytes = BLOCK_BYTES; c.evidence.max_bytes = 16_384n; } }), t.teardown);
  const proposer = d.fx.users[5];
  const total = d.params.supply.total_supply;
  type Row = [string, Array<[string, string]>, ErrorCode | 0, RegExp?];
  const rows: Row[] = [
    // names
    ['unknown parameter', [['staking.no_such', '"1"']], 'INVALID_PARAM_CHANGE', /^INVALID_PARAM_CHANGE: param_changes\[0\] \(staking\.no_such\): there is no parameter staking\.no_such; see the `params` query for the names$/],
    ['unknown group', [['nosuch.thing', '"1"']], 'INVALID_PARAM_CHANGE', /param_changes\[0\] \(nosuch\.thing\): there is no parameter group nosuch;/],
    ['below a leaf', [['staking.epoch_blocks.x', '"1"']], 'INVALID_PARAM_CHANGE', /there is no parameter group staking\.epoch_blocks;/],
    ['unknown nested group', [['slashing.nosuch.x', '"1"']], 'INVALID_PARAM_CHANGE', /there is no parameter group slashing\.nosuch;/],
    ['unknown fixed key', [['slashing.severity_bps.jaywalking', '"100"']], 'INVALID_PARAM_CHANGE', /there is no parameter slashing\.severity_bps\.jaywalking/],
    ['the second change is named', [['fees.burn_bps', '"1"'], ['staking.nope', '"1"']], 'INVALID_PARAM_CHANGE', /param_changes\[1\] \(staking\.nope\)/],
    // fixed sections
    ['supply.total_supply', [['supply.total_supply', '"1"']], 'PARAM_FIXED', /^PARAM_FIXED: param_changes\[0\] \(supply\.total_supply\): supply\.\* is fixed at genesis/],
    ['supply.distribution_bps.team', [['supply.distribution_bps.team', '"1200"']], 'PARAM_FIXED', /supply\.\* is fixed at genesis/],
    ['emission.periods', [['emission.periods', '"3"']], 'PARAM_FIXED', /emission\.\* is fixed at genesis/],
    ['fixed even when unknown', [['emission.nosuch', '"3"']], 'PARAM_FIXED', /emission\.\*/],
    ['fixed even after a valid change', [['fees.burn_bps', '"1"'], ['supply.team_cliff_seconds', '"1"']], 'PARAM_FIXED', /param_changes\[1\] \(supply\.team_cliff_seconds\)/],
    // JSON form
    ['not JSON', [['staking.epoch_blocks', 'fifty']], 'INVALID_PARAM_CHANGE', /param_changes\[0\] \(staking\.epoch_blocks\): the value is not JSON text/],
    ['JSON with trailing text', [['staking.epoch_blocks', '"5" x']], 'INVALID_PARAM_CHANGE', /is not JSON text/],
    ['a number instead of a decimal string', [['staking.epoch_blocks', '50']], 'INVALID_PARAM_CHANGE', /params\.staking\.epoch_blocks: must be a decimal integer in a JSON string \(e\.g\. "1000"\); got the number 50/],
    ['a boolean for an integer', [['staking.epoch_blocks', 'true']], 'INVALID_PARAM_CHANGE', /params\.staking\.epoch_blocks: must be a decimal integer in a JSON string/],
    ['an object for an integer', [['staking.epoch_blocks', '{"a":"1"}']], 'INVALID_PARAM_CHANGE', /params\.staking\.epoch_blocks: must be a decimal integer/],
    ['a leading zero', [['staking.epoch_blocks', '"050"']], 'INVALID_PARAM_CHANGE', /params\.staking\.epoch_blocks: must be a non-negative decimal integer with no sign, leading zeros/],
    ['a negative value', [['fees.msg_gas.send', '"-1"']], 'INVALID_PARAM_CHANGE', /params\.fees\.msg_gas\.send: must be a non-negative decimal/],
    ['beyond 64 bits', [['fees.tx_base_gas', '"18446744073709551616"']], 'INVALID_PARAM_CHANGE', /params\.fees\.tx_base_gas: 18446744073709551616 is too large/],
    ['a number for a string', [['agents.attestation_authorities.other', '5']], 'INVALID_PARAM_CHANGE', /params\.agents\.attestation_authorities\.other: must be a string; got the number 5/],
    ['a group replaced by a scalar', [['fees.msg_gas', '"5"']], 'INVALID_PARAM_CHANGE', /params\.fees\.msg_gas: must be a JSON object/],
    // null
    ['null on a parameter', [['staking.epoch_blocks', 'null']], 'INVALID_PARAM_CHANGE', /param_changes\[0\] \(staking\.epoch_blocks\): only entries of an open map \(fees\.msg_gas, agents\.attestation_authorities, agents\.tee_measurements\) can be removed with null/],
    ['null on a fixed map entry', [['slashing.severity_bps.downtime', 'null']], 'INVALID_PARAM_CHANGE', /only entries of an open map/],
    ['removing a missing entry', [['fees.msg_gas.no_such_msg', 'null']], 'INVALID_PARAM_CHANGE', /param_changes\[0\] \(fees\.msg_gas\.no_such_msg\): fees\.msg_gas has no entry no_such_msg to remove/],
    // open-map keys
    ['an open-map key not a name', [['fees.msg_gas._x', '"1"']], 'INVALID_PARAM_CHANGE', /^INVALID_PARAM_CHANGE: param_changes\[0\] \(fees\.msg_gas\._x\): an entry of fees\.msg_gas must be named with 1-64 lower-case letters, digits and underscores, starting with a letter; got "_x"$/],
    ['an open-map key starting with a digit', [['fees.msg_gas.9x', '"1"']], 'INVALID_PARAM_CHANGE', /an entry of fees\.msg_gas must be named/],
    ['an open-map key of 65 characters', [[`fees.msg_gas.${'a'.repeat(65)}`, '"1"']], 'INVALID_PARAM_CHANGE', /an entry of fees\.msg_gas must be named/],
    ['an open-map key of 64 characters', [[`fees.msg_gas.${'a'.repeat(64)}`, '"1"']], 0],
    ['__proto__ as an open-map key', [['fees.msg_gas.__proto__', '{"send":"1"}']], 'INVALID_PARAM_CHANGE', /an entry of fees\.msg_gas must be named .*; got "__proto__"/],
    ['__proto__ as an open-map key (null)', [['agents.tee_measurements.__proto__', 'null']], 'INVALID_PARAM_CHANGE', /an entry of agents\.tee_measurements must be named/],
    ['constructor as a parameter', [['staking.constructor', '"1"']], 'INVALID_PARAM_CHANGE', /there is no parameter staking\.constructor/],
    ['an authority that is no key', [['agents.attestation_authorities.other', '"nothex"']], 'INVALID_PARAM_CHANGE', /params\.agents\.attestation_authorities\.other: must be an ed25519 public key as 64 upper-case hex characters/],
    ['a measurement without a kind', [['agents.tee_measurements.box', '"0A1B"']], 'INVALID_PARAM_CHANGE', /params\.agents\.tee_measurements\.box: must be "<kind>:<measurement as upper-case hex>"/],
    // ranges: the sentence names the path
    ['quorum above 50%', [['governance.quorum_bps', '"5001"']], 'INVALID_PARAM_CHANGE', /^INVALID_PARAM_CHANGE: the changed parameters are invalid: params\.governance\.quorum_bps: must be at most 5000 bps \(half the voting weight\); got 5001$/],
    ['quorum 0', [['governance.quorum_bps', '"0"']], 'INVALID_PARAM_CHANGE', /params\.governance\.quorum_bps: must be at least 1 bps; got 0/],
    ['min deposit 0', [['governance.min_deposit_bps', '"0"']], 'INVALID_PARAM_CHANGE', /params\.governance\.min_deposit_bps: must be at least 1 bps \(a proposal must cost something\)/],
    ['min deposit above 10%', [['governance.min_deposit_bps', '"1001"']], 'INVALID_PARAM_CHANGE', /params\.governance\.min_deposit_bps: must be at most 1000 bps \(10% of the circulating supply\); got 1001/],
    ['min deposit 10%', [['governance.min_deposit_bps', '"1000"']], 0],
    // governance must stay reachable: proposals and votes fit and stay affordable
    ['tx size below what governance needs', [['tx.max_tx_bytes', '"4095"']], 'INVALID_PARAM_CHANGE', /params\.tx\.max_tx_bytes: must stay at least 4096 bytes so that proposals and votes still fit; got 4095/],
    ['tx size exactly what governance needs', [['tx.max_tx_bytes', '"4096"'], ['tx.max_memo_bytes', '"256"']], 0],
    // a 4096-byte vote: (1000 + 4096 x 10 + 10000) gas = 51,960 gas; 100 ACC allows a price of 1924 uacc, not 1925
    ['votes priced out', [['fees.min_gas_price', '"1925"']], 'INVALID_PARAM_CHANGE', /params\.fees: a 4096-byte vote would cost 100023000 uacc at the minimum gas price, more than 100000000: governance could price itself out/],
    ['votes just affordable', [['fees.min_gas_price', '"1924"']], 0],
    ['proposals priced out', [['fees.msg_gas.submit_proposal', '"999958041"']], 'INVALID_PARAM_CHANGE', /a 4096-byte submit_proposal would cost 1000000001 uacc/],
    ['proposals just affordable', [['fees.msg_gas.submit_proposal', '"999958040"']], 0],
    ['vote gas removed (then free)', [['fees.msg_gas.vote', 'null']], 0],
    ['veto 0', [['governance.veto_bps', '"0"']], 'INVALID_PARAM_CHANGE', /params\.governance\.veto_bps: must be at least 1/],
    ['veto above 100%', [['governance.veto_bps', '"10001"']], 'INVALID_PARAM_CHANGE', /params\.governance\.veto_bps: must be at most 10000/],
    ['voting period 0', [['governance.voting_seconds', '"0"']], 'INVALID_PARAM_CHANGE', /params\.governance\.voting_seconds: must be at least 1 second; got 0/],
    ['voting period above a year', [['governance.voting_seconds', '"31536001"']], 'INVALID_PARAM_CHANGE', /params\.governance\.voting_seconds: must be at most 31536000 seconds \(a year\)/],
    ['timelock above a year', [['governance.timelock_seconds', '"31536001"']], 'INVALID_PARAM_CHANGE', /params\.governance\.timelock_seconds: must be at most 31536000/],
    ['critical threshold above the supply', [['governance.critical_spend_threshold', `"${total + 1n}"`]], 'INVALID_PARAM_CHANGE', /params\.governance\.critical_spend_threshold: must be at most \d+ uacc \(the total supply\)/],
    ['burn above 100%', [['fees.burn_bps', '"10001"']], 'INVALID_PARAM_CHANGE', /params\.fees\.burn_bps: must be at most 10000/],
    ['severity below 1%', [['slashing.severity_bps.double_sign', '"99"']], 'INVALID_PARAM_CHANGE', /params\.slashing\.severity_bps\.double_sign: must be at least 100 bps/],
    ['agent bond 0', [['agents.bond', '"0"']], 'INVALID_PARAM_CHANGE', /params\.agents\.bond: must be at least 1 uacc/],
    ['no validators', [['staking.max_validators', '"0"']], 'INVALID_PARAM_CHANGE', /params\.staking\.max_validators: must be at least 1 validator/],
    ['epoch of 0 blocks', [['staking.epoch_blocks', '"0"']], 'INVALID_PARAM_CHANGE', /params\.staking\.epoch_blocks: must be at least 1 block/],
    ['reputation half life 0', [['reputation.half_life_seconds', '"0"']], 'INVALID_PARAM_CHANGE', /params\.reputation\.half_life_seconds/],
    ['a task range', [['tasks.committee_min', '"0"']], 'INVALID_PARAM_CHANGE', /params\.tasks\.committee_min/],
    // tx sizes
    ['tx above the block size', [['tx.max_tx_bytes', `"${BLOCK_BYTES + 1n}"`]], 'INVALID_PARAM_CHANGE', /^INVALID_PARAM_CHANGE: the changed parameters are invalid: params\.tx\.max_tx_bytes must not exceed consensus_params\.block\.max_bytes \(65536\): a larger tx could never be included in a block$/],
    ['tx exactly the block size', [['tx.max_tx_bytes', `"${BLOCK_BYTES}"`]], 0],
    ['tx below the floor', [['tx.max_tx_bytes', '"255"']], 'INVALID_PARAM_CHANGE', /params\.tx\.max_tx_bytes: must be between 256 and 1048576 bytes; got 255/],
    ['memo as large as a tx', [['tx.max_memo_bytes', '"32768"']], 'INVALID_PARAM_CHANGE', /params\.tx\.max_memo_bytes: must be smaller than max_tx_bytes \(32768\); got 32768/],
    ['memo and tx together', [['tx.max_tx_bytes', '"8192"'], ['tx.max_memo_bytes', '"8191"']], 0],
    // governance against the appeal window (voting 1,000 s + timelock 500 s + the 3,600 s margin, window 21 days)
    ['timelock reaching the appeal window', [['governance.timelock_seconds', `"${WINDOW - VOTING_SECONDS - M}"`]], 'INVALID_PARAM_CHANGE', new RegExp(`params\\.governance: voting_seconds \\+ timelock_seconds \\+ ${M} s of margin \\(${WINDOW} s\\) must be shorter than slashing\\.appeal_window_seconds \\(${WINDOW} s\\)`)],
    ['timelock one second short of it', [['governance.timelock_seconds', `"${WINDOW - VOTING_SECONDS - M - 1n}"`]], 0],
    ['appeal window down to voting + timelock + margin', [['slashing.appeal_window_seconds', `"${VOTING_SECONDS + TIMELOCK_SECONDS + M}"`]], 'INVALID_PARAM_CHANGE', /must be shorter than slashing\.appeal_window_seconds \(5100 s\)/],
    ['appeal window one second above', [['slashing.appeal_window_seconds', `"${VOTING_SECONDS + TIMELOCK_SECONDS + M + 1n}"`]], 0],
    ['voting and window changed together', [['governance.voting_seconds', '"5000"'], ['slashing.appeal_window_seconds', '"9101"']], 0],
    ['voting and window changed together, one short', [['governance.voting_seconds', '"5000"'], ['slashing.appeal_window_seconds', '"9100"']], 'INVALID_PARAM_CHANGE', /voting_seconds \+ timelock_seconds \+ 3600 s of margin \(9100 s\)/],
    // accepted boundaries and open maps
    ['quorum 50%', [['governance.quorum_bps', '"5000"']], 0],
    ['threshold = the supply', [['governance.critical_spend_threshold', `"${total}"`]], 0],
    ['a new msg_gas entry', [['fees.msg_gas.future_msg', '"5"']], 0],
    ['a msg_gas entry removed', [['fees.msg_gas.send', 'null']], 0],
    ['a whole open map replaced', [['agents.tee_measurements', '{"box":"tdx:0A1B"}']], 0],
    ['a new authority', [['agents.attestation_authorities.other', `"${'AB'.repeat(32)}"`]], 0],
    // refused at decode (no nonce used): last
    ['removing an entry twice in one proposal', [['fees.msg_gas.send', 'null'], ['fees.msg_gas.send', 'null']], 'INVALID_FIELD', /sets fees\.msg_gas\.send twice/],
  ];
  const txs: Uint8Array[] = [];
  for (const [, changes] of rows) txs.push(await d.tx(proposer, proposalMsg({ paramChanges: changes.map(([path, value]) => ({ path, value })), deposit: await deposit(d) })));
  const nextId = (await getGovState(d.app.store)).nextId;
  const out = await d.block(txs);
  rows.forEach(([name, , expected, log], i) => {
    const r = out.txResults[i];
    t.equal(r.code, expected === 0 ? 0 : code(expected), `${name}: ${r.log}`);
    if (log !== undefined) t.match(r.log, log, name);
  });
  const accepted = rows.filter(([, , e]) => e === 0).length;
  t.equal((await getGovState(d.app.store)).nextId, nextId + BigInt(accepted), 'only the accepted ones took ids');
});

t.test('applyParamChanges: in order, pure, open-map entries added and removed, errors name the change', async (t) => {
  const p = defaultAppParams();
  const copy = structuredClone(p);
  const next = applyParamChanges(p, [
    { path: 'fees.msg_gas.send', value: '"1"' },
    { path: 'fees.msg_gas', value: '{"vote":"2"}' },
    { path: 'fees.msg_gas.extra', value: '"3"' },
    { path: 'agents.tee_measurements.box', value: '"tdx:0A"' },
  ], MAX_BLOCK_BYTES);
  t.same(next.fees.msg_gas, { extra: 3n, vote: 2n }, 'later changes apply on top of earlier ones');
  t.same(next.agents.tee_measurements, { box: 'tdx:0A' });
  t.same(p, copy, 'the input is untouched');
  t.doesNotThrow(() => validateAppParams(next));
  const removed = applyParamChanges(next, [{ path: 'agents.tee_measurements.box', value: 'null' }, { path: 'fees.msg_gas.vote', value: 'null' }], MAX_BLOCK_BYTES);
  t.same(removed.agents.tee_measurements, {});
  t.same(removed.fees.msg_gas, { extra: 3n });
  t.same(applyParamChanges(p, [], MAX_BLOCK_BYTES), p, 'no change: the same parameters');
  const err = (f: () => unknown): AppError => {
    try {
      f();
    } catch (e) {
      if (e instanceof AppError) return e;
      throw e;
    }
    throw new Error('did not throw');
  };
  const e1 = err(() => applyParamChanges(p, [{ path: 'fees.burn_bps', value: '"1"' }, { path: 'staking.x', value: '"1"' }], MAX_BLOCK_BYTES));
  t.equal(e1.code, 'INVALID_PARAM_CHANGE');
  t.same(e1.meta, { path: 'staking.x' });
  const e2 = err(() => applyParamChanges(p, [{ path: 'governance.quorum_bps', value: '"0"' }], MAX_BLOCK_BYTES));
  t.equal(e2.code, 'INVALID_PARAM_CHANGE');
  t.equal(e2.meta.path, 'params.governance.quorum_bps', 'meta.path names the invalid value');
  const e3 = err(() => applyParamChanges(p, [{ path: 'tx.max_tx_bytes', value: '"40000"' }], 32_768n));
  t.same(e3.meta, { path: 'tx.max_tx_bytes' });
  const e4 = err(() => applyParamChanges(p, [{ path: 'emission.halving_seconds', value: '"1"' }], MAX_BLOCK_BYTES));
  t.equal(e4.code, 'PARAM_FIXED');
  // __proto__ must not slip through an open map as a change that does nothing.
  for (const path of ['fees.msg_gas.__proto__', 'agents.attestation_authorities.__proto__', 'agents.tee_measurements.__proto__']) {
    for (const value of ['{"send":"1"}', '"1"', 'null']) {
      t.equal(err(() => applyParamChanges(p, [{ path, value }], MAX_BLOCK_BYTES)).code, 'INVALID_PARAM_CHANGE', `${path} = ${value}`);
    }
  }
  t.equal(Object.getPrototypeOf(p.fees.msg_gas), Object.prototype, 'no prototype was touched');
});

t.test('governance parameters at genesis: ranges and the appeal window', async (t) => {
  const check = (mutate: (p: AppParams) => void): string | null => {
    const p = defaultAppParams();
    mutate(p);
    try {
      validateAppParams(p);
      return null;
    } catch (e) {
      return (e as AppError).message;
    }
  };
  t.equal(check(() => undefined), null, 'the defaults: 7 + 7 days against a 21-day window');
  t.equal(check((p) => void (p.governance.timelock_seconds = 14n * 86_400n - M - 1n)), null, '21 days less the margin and one second: fits');
  t.equal(
    check((p) => void (p.governance.timelock_seconds = 14n * 86_400n - M)),
    `params.governance: voting_seconds + timelock_seconds + 3600 s of margin (1814400 s) must be shorter than slashing.appeal_window_seconds (1814400 s), or no slashing appeal could execute before its escrow burns`,
  );
  t.equal(check((p) => void (p.governance.timelock_seconds = 0n)), null, 'no timelock is allowed');
  t.equal(check((p) => void (p.governance.voting_seconds = 0n)), 'params.governance.voting_seconds: must be at least 1 second; got 0');
  t.equal(check((p) => void (p.governance.quorum_bps = 5_001n)), 'params.governance.quorum_bps: must be at most 5000 bps (half the voting weight); got 5001');
  t.equal(check((p) => void (p.governance.quorum_bps = 5_000n)), null);
  t.equal(check((p) => void (p.governance.veto_bps = 10_000n)), null);
  t.equal(check((p) => void (p.governance.min_deposit_bps = 1_000n)), null);
  t.equal(check((p) => void (p.governance.min_deposit_bps = 1_001n)), 'params.governance.min_deposit_bps: must be at most 1000 bps (10% of the circulating supply); got 1001');
  t.equal(check((p) => void (p.governance.critical_spend_threshold = p.supply.total_supply)), null);
  t.match(check((p) => void (p.governance.critical_spend_threshold = p.supply.total_supply + 1n)) ?? '', /^params\.governance\.critical_spend_threshold: must be at most/);
});
