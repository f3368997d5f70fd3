// End to end on loopback (issue 8): a 4-validator devnet of real node processes whose genesis has short governance
// params (voting 10 s, timelock 4 s). Every tx is signed with the library (signTx) and sent over RPC; the genesis
// validators (agents whose operator key is their consensus key) vote with their priv_validator keys, and a fresh
// proposer account, funded by the faucet, locks the deposits (the `supply` RPC's min_proposal_deposit).
//   1. param_change: tasks.min_bounty 1 -> 2.5 ACC and staking.epoch_blocks 100 -> 1000 (critical: staking.*). All
//      four vote yes; after the voting end and the timelock it executes, and `params` on every node shows both values.
//      A task bounty of 2 ACC passes the bounty check before and fails it (BOUNTY_TOO_SMALL) after.
//   2. validator_action: jail node3 for an hour (critical). Three vote yes, node3 votes no: 3 yes >= 2/3 of the
//      deciding weight, so it passes; at execution node3's power goes to 0 in the same block, it leaves the CometBFT
//      set two heights later, and the other three keep committing.
// Also checked: the tallies and the proposal records (abci_query /store on the governance keys, on every node), the
// deposits returned, the supply adding up, and no fork: every node has the same block hash and app hash at every
// height, and no process logged an error.
import t, { type Test } from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { homePaths } from '../../src/node/config.ts';
import { createDevnet, FAUCET_KEY_FILE, type DevnetNode } from '../../src/node/devnet.ts';
import { DEFAULT_TEMPLATE_PATH, loadGenesisFile, type AppParamsJSON } from '../../src/state/genesis.ts';
import { addressOf, generateKeyPair, keyFileFromJSON, type KeyPair } from '../../src/crypto/keys.ts';
import { fromBase64, toBase64, toHex } from '../../src/crypto/bytes.ts';
import { signTx } from '../../src/codec/tx.ts';
import { GovProposalCodec, type GovProposal, type Msg, type MsgSubmitProposal } from '../../src/codec/types.ts';
import { parseTime } from '../../src/codec/time.ts';
import { ErrorCodes } from '../../src/errors.ts';
import { BPS, UACC_PER_ACC } from '../../src/state/params.ts';
import { proposals } from '../../src/state/governance/store.ts';
import { estimateGas } from '../../src/cli/tx.ts';
import { RpcClient, supplyPartsSum, type BroadcastTxCommitResult, type EventJSON } from '../../src/rpc/client.ts';
import { NodeProcess, blockMetas, commitLogForks, killedAtTeardown, pollUntil } from '../helpers/proc.ts';
import { freeBasePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const ACC = UACC_PER_ACC;
const VALIDATORS = 4;
/** The validator the second proposal jails. */
const VICTIM = 3;
const VOTING_SECONDS = 10n;
const TIMELOCK_SECONDS = 4n;
const JAIL_SECONDS = 3600n;
const NEW_MIN_BOUNTY = 2_500_000n;
const NEW_EPOCH_BLOCKS = 1000n;
/** Between the old tasks.min_bounty (1 ACC) and the new one. */
const PROBE_BOUNTY = 2_000_000n;
const NS_PER_SECOND = 1_000_000_000n;
/** The whole test, within tap's 120 s per file. */
const TEST_TIMEOUT_MS = 115_000;

const attr = (e: EventJSON, key: string): string | undefined => e.attributes?.find((a) => a.key === key)?.value;

/** A proposal with no action set: the caller sets one. */
function emptyProposal(title: string, deposit: bigint): MsgSubmitProposal {
  return {
    title,
    summary: `${title} (devnet-governance e2e test)`,
    deposit,
    paramChanges: [],
    treasurySpend: { recipient: new Uint8Array(0), amount: 0n },
    validatorAction: { validator: new Uint8Array(0), action: '', jailSeconds: 0n },
    slashAppeal: { escrowId: 0n },
    upgrade: { name: '', height: 0n, info: '' },
  };
}

t.test('governance on a devnet: a parameter change and a validator jail, by vote', { timeout: TEST_TIMEOUT_MS }, async (t: Test) => {
  const dir = tempDir('ac-devnet-governance-');
  const procs = killedAtTeardown(t, dir.remove);

  // Short governance params; voting + timelock stays far below slashing.appeal_window_seconds (genesis checks it).
  const template = JSON.parse(await readFile(DEFAULT_TEMPLATE_PATH, 'utf8'));
  Object.assign(template.app_state.params.governance, { voting_seconds: VOTING_SECONDS.toString(), timelock_seconds: TIMELOCK_SECONDS.toString() });
  const templatePath = join(dir.path, 'template.json');
  await writeFile(templatePath, JSON.stringify(template));

  const nodes: DevnetNode[] = await createDevnet({ validators: VALIDATORS, dir: join(dir.path, 'net'), basePort: await freeBasePort(VALIDATORS), template: templatePath });
  const genesis = await loadGenesisFile(homePaths(nodes[0].home).genesisFile);
  const chainId = genesis.chainId;
  const faucet = keyFileFromJSON(JSON.parse(await readFile(join(dir.path, 'net', FAUCET_KEY_FILE), 'utf8')));
  const validatorKeys: KeyPair[] = await Promise.all(nodes.map(async (n) => keyFileFromJSON(JSON.parse(await readFile(homePaths(n.home).privValidatorKeyFile, 'utf8')))));
  const addrs = validatorKeys.map((k) => toHex(addressOf(k.publicKey)));
  t.same(genesis.validators.map((v) => toHex(v.address)), addrs, 'the genesis validators are the four nodes, in order');
  const victimHex = addrs[VICTIM];
  const others = addrs.filter((a) => a !== victimHex);
  const proposer = generateKeyPair();
  const proposerHex = toHex(addressOf(proposer.publicKey));
  // Voting weight = agent bond + validator stake; the four are equal.
  const bond = genesis.appParams.agents.bond;
  const weights = genesis.validators.map((v) => v.stake + bond);
  t.ok(weights.every((w) => w === weights[0]), 'the four validators have equal voting weight');
  const w = weights[0];

  for (const n of nodes) procs.push(new NodeProcess(['start', '--home', n.home]));
  const exited = () => {
    const i = procs.findIndex((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    return i < 0 ? null : `${nodes[i].name} exited; last lines: ${JSON.stringify(procs[i].lines.slice(-5))}`;
  };
  const rpc = nodes.map((n) => new RpcClient(n.rpc, { timeoutMs: 20_000 }));
  t.teardown(() => Promise.all(rpc.map((c) => c.close())));
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

  await pollUntil('the first blocks', 60_000, async () => (BigInt((await rpc[0].status()).sync_info.latest_block_height) >= 2n ? true : undefined), exited);
  t.comment(`chain running after ${elapsed()}`);
  const params: AppParamsJSON = await rpc[0].params();
  t.same(
    [params.governance.voting_seconds, params.governance.timelock_seconds, params.tasks.min_bounty, params.staking.epoch_blocks],
    [VOTING_SECONDS.toString(), TIMELOCK_SECONDS.toString(), '1000000', '100'],
    'params before: the short governance periods, the template min_bounty and epoch_blocks',
  );

  // Signs `msg` with the sender's next nonce and waits for its block (through `client`); fails unless check_tx passed.
  const commit = async (key: KeyPair, msg: Msg, client: RpcClient = rpc[0]): Promise<BroadcastTxCommitResult> => {
    const nonce = BigInt((await client.account(addressOf(key.publicKey))).next_nonce);
    const body = { chainId, nonce, gasLimit: 1n, gasPrice: BigInt(params.fees.min_gas_price), memo: '', msg };
    const r = await client.broadcastTxCommit(signTx({ ...body, gasLimit: estimateGas(params, body, key) }, key));
    if (r.check_tx.code !== 0) throw new Error(`${msg.type} refused by check_tx: ${r.check_tx.log}`);
    return r;
  };
  const succeed = async (what: string, key: KeyPair, msg: Msg, client?: RpcClient): Promise<BroadcastTxCommitResult> => {
    const r = await commit(key, msg, client);
    if (r.tx_result.code !== 0) throw new Error(`${what} failed in block ${r.height}: ${r.tx_result.log}`);
    return r;
  };
  const eventOf = (r: BroadcastTxCommitResult, type: string): EventJSON => {
    const e = (r.tx_result.events ?? []).find((x) => x.type === type);
    if (e === undefined) throw new Error(`no ${type} event in tx ${r.hash}: ${JSON.stringify(r.tx_result.events)}`);
    return e;
  };

  // ---- funds: the deposit for two proposals in flight at once, and gas for everyone ----
  const supply0 = await rpc[0].supply();
  const circulating = BigInt(supply0.circulating);
  const minDeposit = BigInt(supply0.min_proposal_deposit);
  t.equal(
    minDeposit,
    (circulating * BigInt(params.governance.min_deposit_bps) + BPS - 1n) / BPS,
    `supply: min_proposal_deposit = ceil(circulating ${circulating} x ${params.governance.min_deposit_bps} / 10,000) = ${minDeposit} uacc`,
  );
  // Circulating supply grows a little with every block's rewards: some slack over today's minimum.
  const deposit = minDeposit + minDeposit / 100n;
  const faucetNonce = BigInt((await rpc[0].account(addressOf(faucet.publicKey))).next_nonce);
  const fund = async (i: number, to: Uint8Array, amount: bigint) => {
    const body = { chainId, nonce: faucetNonce + BigInt(i), gasLimit: 1n, gasPrice: BigInt(params.fees.min_gas_price), memo: '', msg: { type: 'send', value: { to, amount } } as Msg };
    return signTx({ ...body, gasLimit: estimateGas(params, body, faucet) }, faucet);
  };
  const fundings = [
    await fund(0, addressOf(proposer.publicKey), 2n * deposit + 100n * ACC),
    ...(await Promise.all(validatorKeys.map((k, i) => fund(i + 1, addressOf(k.publicKey), 10n * ACC)))),
  ];
  for (const tx of fundings.slice(0, -1)) {
    const r = await rpc[0].broadcastTxSync(tx);
    if (r.code !== 0) throw new Error(`faucet send refused: ${r.log}`);
  }
  const lastFunding = await rpc[0].broadcastTxCommit(fundings[fundings.length - 1]);
  t.equal(lastFunding.tx_result.code, 0, `the faucet funded the proposer (${2n * deposit + 100n * ACC} uacc) and the four validators (in block ${lastFunding.height})`);
  await pollUntil('the funds', 15_000, async () => {
    const bs = await Promise.all([proposer, ...validatorKeys].map(async (k) => BigInt((await rpc[0].account(addressOf(k.publicKey))).balance)));
    return bs.every((b) => b > 0n) ? true : undefined;
  }, exited);

  // A task bounty between the old and the new min_bounty. No agent has verified capabilities, so the task is never
  // placed: the error says which check stopped it (NO_ELIGIBLE_AGENT comes after the bounty check).
  const probeTask = async (): Promise<BroadcastTxCommitResult> => {
    const latest = parseTime((await rpc[0].status()).sync_info.latest_block_time);
    return commit(proposer, {
      type: 'submit_task',
      value: {
        requirements: { minCpuCores: 1, minGpuMemoryMb: 0n, minLlmTokensPerSecond: 0n, models: [], skills: [] },
        bounty: PROBE_BOUNTY,
        deadline: latest + 600n * NS_PER_SECOND,
        input: { hash: new Uint8Array(0), uri: '', inline: new TextEncoder().encode('probe') },
      },
    });
  };

  // ---- proposal 1: a parameter change (critical: it touches staking.*) ----
  const p1 = emptyProposal('Raise the task bounty floor; lengthen epochs', deposit);
  p1.paramChanges = [
    { path: 'tasks.min_bounty', value: JSON.stringify(NEW_MIN_BOUNTY.toString()) },
    { path: 'staking.epoch_blocks', value: JSON.stringify(NEW_EPOCH_BLOCKS.toString()) },
  ];
  // The chain's minimum is the one the RPC shows: 1% below it is refused (fees burn and rewards pay out meanwhile,
  // moving the circulating supply by far less than that).
  const short = await commit(proposer, { type: 'submit_proposal', value: { ...p1, deposit: (minDeposit * 99n) / 100n } });
  t.equal(short.tx_result.code, ErrorCodes.DEPOSIT_TOO_SMALL, `a deposit 1% below min_proposal_deposit is refused (${short.tx_result.log.slice(0, 120)})`);
  const sub1 = await succeed('proposal 1', proposer, { type: 'submit_proposal', value: p1 });
  const se1 = eventOf(sub1, 'submit_proposal');
  const id1 = attr(se1, 'proposal')!;
  t.same(
    [attr(se1, 'kind'), attr(se1, 'critical'), attr(se1, 'proposer'), attr(se1, 'deposit')],
    ['param_change', 'true', proposerHex, deposit.toString()],
    `proposal ${id1} submitted in block ${sub1.height} (${elapsed()}): param_change, critical, deposit ${deposit}; voting ends ${attr(se1, 'voting_end')}`,
  );
  // Every validator votes yes, each through its own node (the tx travels by gossip to the proposer).
  const votes1 = await Promise.all(validatorKeys.map((k, i) => succeed(`node${i}'s vote on ${id1}`, k, { type: 'vote', value: { proposalId: BigInt(id1), option: 'yes' } }, rpc[i])));
  for (const [i, r] of votes1.entries()) {
    const e = eventOf(r, 'vote');
    t.same([attr(e, 'proposal'), attr(e, 'voter'), attr(e, 'option'), attr(e, 'weight')], [id1, addrs[i], 'yes', w.toString()], `node${i} voted yes on ${id1} in block ${r.height}, weight ${w}`);
  }
  const before = await probeTask();
  t.equal(before.tx_result.code, ErrorCodes.NO_ELIGIBLE_AGENT, `before the change a ${PROBE_BOUNTY} uacc bounty passes the bounty check (${before.tx_result.log.slice(0, 80)})`);

  // ---- proposal 2: jail node3 (critical); node3 votes no ----
  const p2 = emptyProposal('Jail node3 for an hour', deposit);
  p2.validatorAction = { validator: addressOf(validatorKeys[VICTIM].publicKey), action: 'jail', jailSeconds: JAIL_SECONDS };
  const sub2 = await succeed('proposal 2', proposer, { type: 'submit_proposal', value: p2 });
  const se2 = eventOf(sub2, 'submit_proposal');
  const id2 = attr(se2, 'proposal')!;
  t.same([attr(se2, 'kind'), attr(se2, 'critical')], ['validator_action', 'true'], `proposal ${id2} submitted in block ${sub2.height} (${elapsed()}): validator_action, critical`);
  t.equal(BigInt(id2), BigInt(id1) + 1n, 'proposal ids count up');
  const votes2 = await Promise.all(
    validatorKeys.map((k, i) => succeed(`node${i}'s vote on ${id2}`, k, { type: 'vote', value: { proposalId: BigInt(id2), option: i === VICTIM ? 'no' : 'yes' } }, rpc[i])),
  );
  t.same(votes2.map((r) => attr(eventOf(r, 'vote'), 'option')), ['yes', 'yes', 'yes', 'no'], `votes on ${id2}: node0-2 yes, node3 no (last in block ${votes2.map((r) => BigInt(r.height)).reduce((a, b) => (a > b ? a : b))})`);
  const held = await rpc[0].supply();
  t.equal(held.governance, (2n * deposit).toString(), 'supply: both deposits held by governance during the vote');
  t.equal(supplyPartsSum(held), BigInt(held.total), 'supply adds up during the vote');

  // ---- the end-block events of tally and execution, found by the index ----
  const blockEvent = async (query: string, type: string, id: string): Promise<{ height: bigint; event: EventJSON; events: EventJSON[] }> => {
    const found = await pollUntil(query, 40_000, async () => {
      const r = await rpc[0].blockSearch(query);
      return Number(r.total_count) > 0 ? r : undefined;
    }, exited);
    t.equal(found.total_count, '1', `one block matches ${query}`);
    const height = BigInt(found.blocks[0].block.header.height);
    const results = await rpc[0].blockResults(height);
    const events = results.finalize_block_events ?? [];
    const event = events.find((e) => e.type === type && attr(e, 'proposal') === id);
    if (event === undefined) throw new Error(`block ${height} has no ${type} event of proposal ${id}`);
    return { height, event, events };
  };
  const blockTime = async (h: bigint): Promise<bigint> => parseTime((await rpc[0].header(h)).header.time);

  const tally1 = await blockEvent(`proposal_tally.proposal = '${id1}'`, 'proposal_tally', id1);
  t.same(
    ['status', 'yes', 'no', 'abstain', 'veto', 'total_weight', 'deposit'].map((k) => attr(tally1.event, k)),
    ['passed', (4n * w).toString(), '0', '0', '0', (4n * w).toString(), 'returned'],
    `proposal ${id1} tallied in block ${tally1.height} (${elapsed()}): passed 4 of 4, deposit returned`,
  );
  const votingEnd1 = parseTime(attr(se1, 'voting_end')!);
  t.equal(votingEnd1, (await blockTime(BigInt(sub1.height))) + VOTING_SECONDS * NS_PER_SECOND, 'voting ends voting_seconds after the submission block');
  t.ok((await blockTime(tally1.height)) >= votingEnd1 && (await blockTime(tally1.height - 1n)) < votingEnd1, `the tally is the first block at or after the voting end`);
  const exec1 = await blockEvent(`proposal_executed.proposal = '${id1}'`, 'proposal_executed', id1);
  t.same([attr(exec1.event, 'kind'), attr(exec1.event, 'status'), attr(exec1.event, 'reason')], ['param_change', 'executed', undefined], `proposal ${id1} executed in block ${exec1.height} (${elapsed()})`);
  const executeAt1 = votingEnd1 + TIMELOCK_SECONDS * NS_PER_SECOND;
  t.ok((await blockTime(exec1.height)) >= executeAt1 && (await blockTime(exec1.height - 1n)) < executeAt1, 'execution is the first block at or after voting end + timelock');
  t.same(
    exec1.events.filter((e) => e.type === 'param_change').map((e) => [attr(e, 'proposal'), attr(e, 'path'), attr(e, 'value')]),
    p1.paramChanges.map((c) => [id1, c.path, c.value]),
    'one param_change event per changed path',
  );

  // The state after each block (abci_query /params, the params record as JSON): the old values up to the block
  // before the execution, the new ones from the execution's block on.
  const paramsAt = async (h: bigint): Promise<AppParamsJSON> => {
    const q = await rpc[2].abciQuery('/params', new Uint8Array(0), { height: h });
    return JSON.parse(new TextDecoder().decode(fromBase64(q.response.value!))) as AppParamsJSON;
  };
  const [pre, post] = [await paramsAt(exec1.height - 1n), await paramsAt(exec1.height)];
  t.same([pre.tasks.min_bounty, pre.staking.epoch_blocks], ['1000000', '100'], `abci_query /params at ${exec1.height - 1n}: the old values through the timelock`);
  t.same([post.tasks.min_bounty, post.staking.epoch_blocks], [NEW_MIN_BOUNTY.toString(), NEW_EPOCH_BLOCKS.toString()], `abci_query /params at ${exec1.height}: the new values`);

  // `params` on every node: the new values (from the block after the execution on).
  await pollUntil('the new params on every node', 15_000, async () => {
    const all = await Promise.all(rpc.map((c) => c.params()));
    return all.every((p) => p.tasks.min_bounty === NEW_MIN_BOUNTY.toString()) ? all : undefined;
  }, exited);
  for (const [i, c] of rpc.entries()) {
    const p = await c.params();
    t.same(
      [p.tasks.min_bounty, p.staking.epoch_blocks, p.governance.voting_seconds],
      [NEW_MIN_BOUNTY.toString(), NEW_EPOCH_BLOCKS.toString(), VOTING_SECONDS.toString()],
      `params on node${i}: tasks.min_bounty ${NEW_MIN_BOUNTY}, staking.epoch_blocks ${NEW_EPOCH_BLOCKS}, the rest unchanged`,
    );
  }
  const after = await probeTask();
  t.equal(after.tx_result.code, ErrorCodes.BOUNTY_TOO_SMALL, `after the change the same bounty is below tasks.min_bounty (${after.tx_result.log.slice(0, 90)})`);

  // ---- proposal 2's tally and execution ----
  const tally2 = await blockEvent(`proposal_tally.proposal = '${id2}'`, 'proposal_tally', id2);
  t.same(
    ['status', 'yes', 'no', 'veto', 'total_weight', 'deposit'].map((k) => attr(tally2.event, k)),
    ['passed', (3n * w).toString(), w.toString(), '0', (4n * w).toString(), 'returned'],
    `proposal ${id2} tallied in block ${tally2.height}: 3 yes, 1 no passes the two-thirds rule`,
  );
  const exec2 = await blockEvent(`proposal_executed.proposal = '${id2}'`, 'proposal_executed', id2);
  const J = exec2.height;
  t.same([attr(exec2.event, 'kind'), attr(exec2.event, 'status')], ['validator_action', 'executed'], `proposal ${id2} executed in block ${J} (${elapsed()})`);
  const va = exec2.events.find((e) => e.type === 'validator_action');
  t.same(va && ['proposal', 'validator', 'action', 'jail_seconds'].map((k) => attr(va, k)), [id2, victimHex, 'jail', JAIL_SECONDS.toString()], 'validator_action event: node3 jailed for an hour');
  const power = exec2.events.find((e) => e.type === 'validator_power' && attr(e, 'validator') === victimHex);
  t.equal(power && attr(power, 'power'), '0', "staking's end-block of the same block takes node3's power to 0");
  const results = await rpc[0].blockResults(J);
  const update = (results.validator_updates ?? []).find((u) => JSON.stringify(u.pub_key).includes(toBase64(validatorKeys[VICTIM].publicKey)));
  t.ok(update !== undefined && (update.power === undefined || update.power === '0'), 'validator_updates of that block remove node3');

  // ---- the chain goes on with three validators ----
  const target = J + 5n;
  await Promise.all(procs.map((p) => p.waitFor((l) => l.msg === 'committed block' && BigInt(l.height as string) >= target, 30_000)));
  t.pass(`all four processes committed up to height ${target} (${elapsed()})`);
  const setBefore = await rpc[0].validators(J + 1n);
  t.equal(setBefore.total, '4', `validators at height ${J + 1n}: still four (the update takes effect at height + 2)`);
  for (const [i, c] of rpc.entries()) {
    for (const h of [J + 2n, undefined]) {
      const set = await c.validators(h);
      t.same(set.validators.map((v) => v.address).sort(), [...others].sort(), `validators at ${h === undefined ? 'the latest height' : `height ${h}`} (node${i}): the three others only`);
    }
  }
  for (let h = J + 2n; h < target; h++) {
    const c = await rpc[Number(h % 3n)].commit(h);
    t.same(
      c.signed_header.commit.signatures.map((s) => [s.validator_address, s.block_id_flag]).sort(),
      [...others].sort().map((a) => [a, 2]),
      `block ${h} is committed by the three remaining validators`,
    );
  }
  const rec = await rpc[1].validator(victimHex);
  const jailedAt = await blockTime(J);
  t.same(
    [rec.status, rec.power, rec.tombstoned, rec.jailed_until === null ? null : parseTime(rec.jailed_until), rec.stake],
    ['jailed', '0', false, jailedAt + JAIL_SECONDS * NS_PER_SECOND, genesis.validators[VICTIM].stake.toString()],
    'validator node3: jailed until execution time + an hour, power 0, not tombstoned, stake untouched (not slashed)',
  );

  // ---- the proposal records, as every node stores them (abci_query /store on the governance keys) ----
  const common = procs.map((p) => p.head()).reduce((m, h) => (h < m ? h : m));
  for (const [i, c] of rpc.entries()) {
    const read = async (id: string): Promise<GovProposal> => {
      const q = await c.abciQuery('/store', proposals.stateKey(BigInt(id)), { height: common });
      if (q.response.value == null) throw new Error(`node${i} has no proposal ${id}: ${q.response.log}`);
      return GovProposalCodec.decode(fromBase64(q.response.value));
    };
    const r1 = await read(id1);
    const r2 = await read(id2);
    t.same(
      [r1.status, r1.depositStatus, r1.critical, r1.tallyHeight, r1.executedHeight, r1.failure, r1.tally.yes, r1.content.paramChanges],
      ['executed', 'returned', true, tally1.height, exec1.height, '', 4n * w, p1.paramChanges],
      `node${i} (state at ${common}): proposal ${id1} executed at ${exec1.height}`,
    );
    t.same(
      [r2.status, r2.depositStatus, r2.critical, r2.tallyHeight, r2.executedHeight, r2.tally.yes, r2.tally.no, toHex(r2.content.validatorAction.validator)],
      ['executed', 'returned', true, tally2.height, J, 3n * w, w, victimHex],
      `node${i} (state at ${common}): proposal ${id2} executed at ${J}`,
    );
    const s = await c.supply();
    t.equal(s.governance, '0', `supply (node${i}): no deposit held any more`);
    t.equal(supplyPartsSum(s), BigInt(s.total), `supply (node${i}, height ${s.height}) adds up`);
  }

  // ---- no fork: one block hash per height in the commit logs, one block hash and app hash per height over RPC ----
  const { forks, byHeight } = commitLogForks(procs);
  t.same(forks, [], `commit logs: one block hash per height across the four processes (${byHeight.size} heights)`);
  const views = (await Promise.all(rpc.map((c) => blockMetas(c, common)))).map((m) => new Map([...m].map(([h, v]) => [h, `${v.hash}/${v.appHash}`])));
  const differing: string[] = [];
  for (let h = 1n; h <= common; h++) {
    const hs = new Set(views.map((v) => v.get(h)));
    if (hs.size !== 1 || hs.has(undefined)) differing.push(`${h}: ${views.map((v, i) => `node${i}=${v.get(h)}`).join(' ')}`);
  }
  t.same(differing, [], `blockchain RPC: the four nodes report the same block hash and app hash at every height 1..${common}`);

  const bad = procs.flatMap((p, i) => p.lines.filter((l) => l.level >= 50).map((l) => `node${i}: ${JSON.stringify(l).slice(0, 300)}`));
  t.same(bad, [], 'no error or fatal log line');
  t.equal(exited(), null, 'no process died');
  t.comment(`done after ${elapsed()}`);
});
