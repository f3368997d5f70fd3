// The governance RPC methods (`proposal`, `proposals`, `upgrade_plan`; src/rpc/domain-gov.ts) on a real chain (App on
// LevelDB, real signed txs and blocks, short governance periods: 10 s of voting, a 5 s timelock). Six proposals, one
// of each kind, walked through voting, tally and execution so that every status shows up: a critical parameter change
// (executed), a text proposal short of its quorum (rejected), a treasury spend vetoed (deposit burned), a jail of a
// validator tombstoned meanwhile (failed), a slash appeal and a software upgrade (executed). Every field is checked
// against the state records, written here field by field: the live tally while voting (which follows the voters'
// bonds and stakes), the stored one after; the list's order, status filter and pages; every bad parameter.
import t from 'tap';
import type { Test } from 'tap';
import type { KeyPair } from '../src/crypto/keys.ts';
import { toHex } from '../src/crypto/bytes.ts';
import { formatTime } from '../src/codec/time.ts';
import { PROPOSAL_STATUSES, textProposal, type Msg, type MsgSubmitProposal } from '../src/codec/types.ts';
import { getAccount, moduleAddress, ModuleAccount } from '../src/state/accounts.ts';
import { getAgent } from '../src/state/agents.ts';
import { validators } from '../src/state/validators.ts';
import { allSlashEscrows } from '../src/state/slashing.ts';
import { readParams } from '../src/state/executor.ts';
import { minDeposit } from '../src/state/governance/module.ts';
import { getGovState, getProposal, votesOf } from '../src/state/governance/store.ts';
import { agents as agentsRepo } from '../src/state/agents.ts';
import { allValidators } from '../src/state/validators.ts';
import { RpcCode, type MethodTable } from '../src/rpc/types.ts';
import { allDomainMethods } from '../src/rpc/domain-tasks.ts';
import { stateOnlyRpcContext } from './helpers/rpc-context.ts';
import { ACC, Driver, SECOND, addr, agentsFixture, duplicateVote } from './helpers/agents.ts';
import { expectOk, fundValidators, registerAgents, signAll } from './helpers/tasks.ts';
import { call, rpcError } from './helpers/inproc.ts';

const VOTING_SECONDS = 10n;
const TIMELOCK_SECONDS = 5n;
const QUORUM_BPS = 1_000n;

const hex = (k: KeyPair | Uint8Array): string => toHex(k instanceof Uint8Array ? k : addr(k));
const time = (ns: bigint): string | null => (ns === 0n ? null : formatTime(ns));
const orNull = (s: string): string | null => (s === '' ? null : s);

interface World {
  d: Driver;
  table: MethodTable;
  /** Genesis validators (stake and bond vote). */
  v: KeyPair[];
  /** Agents (their bonds vote). */
  voters: KeyPair[];
  /** Plain accounts that propose. */
  proposers: KeyPair[];
}

async function world(t: Test): Promise<World> {
  const fx = agentsFixture({
    validators: 3,
    users: 6,
    params: (p) => {
      p.governance.voting_seconds = VOTING_SECONDS;
      p.governance.timelock_seconds = TIMELOCK_SECONDS;
      p.governance.quorum_bps = QUORUM_BPS;
    },
  });
  const d = await Driver.open(fx, (f) => t.teardown(f));
  await fundValidators(d);
  const u = d.fx.users;
  await registerAgents(d, u.slice(0, 3));
  return { d, table: allDomainMethods(stateOnlyRpcContext(d.app)), v: d.fx.validators, voters: u.slice(0, 3), proposers: u.slice(3) };
}

function proposal(title: string, over: Partial<MsgSubmitProposal> = {}): MsgSubmitProposal {
  return { ...textProposal(title), ...over };
}

/** The minimum deposit of the next block: the one of the head, plus headroom for the supply the block releases. */
async function deposit(d: Driver): Promise<bigint> {
  const min = await minDeposit(d.app.store, await readParams(d.app.store));
  return min + min / 1000n;
}

const vote = (proposalId: bigint, option: string): Msg => ({ type: 'vote', value: { proposalId, option } });

/** An account's voting weight from the records: its agent bond plus its validator's stake. */
async function weight(d: Driver, k: KeyPair): Promise<bigint> {
  const a = await getAgent(d.app.store, addr(k));
  if (a === undefined) return 0n;
  const val = a.validator.length > 0 ? await validators.get(d.app.store, a.validator) : undefined;
  return a.bond + (val?.stake ?? 0n);
}

async function totalWeight(d: Driver): Promise<bigint> {
  let sum = 0n;
  for (const [, a] of await agentsRepo.all(d.app.store)) sum += a.bond;
  for (const val of await allValidators(d.app.store)) sum += val.stake;
  return sum;
}

/** The content each proposal must show, written down by the test when it submits it (not derived from the record). */
const CONTENT = new Map<bigint, Record<string, unknown>>();

/**
 * The JSON `proposal` must give, from the records: the live tally (weights from the agent and validator records) while
 * voting, the stored tally afterwards.
 */
async function expected(d: Driver, id: bigint, withVotes = true): Promise<Record<string, unknown>> {
  const p = (await getProposal(d.app.store, id))!;
  const vs = await votesOf(d.app.store, id);
  let tally = p.tally;
  if (p.status === 'voting') {
    tally = { yes: 0n, no: 0n, abstain: 0n, veto: 0n, totalWeight: await totalWeight(d) };
    for (const v of vs) {
      const a = (await getAgent(d.app.store, v.voter))!;
      const val = a.validator.length > 0 ? await validators.get(d.app.store, a.validator) : undefined;
      tally[v.option] += a.bond + (val?.stake ?? 0n);
    }
  }
  const cast = tally.yes + tally.no + tally.abstain + tally.veto;
  const needed = (tally.totalWeight * QUORUM_BPS + 9_999n) / 10_000n;
  return {
    id: id.toString(),
    kind: p.kind,
    title: p.content.title,
    summary: orNull(p.content.summary),
    proposer: toHex(p.proposer),
    content: CONTENT.get(id),
    critical: p.critical,
    status: p.status,
    deposit: p.deposit.toString(),
    deposit_status: p.depositStatus,
    submitted_at: formatTime(p.submitNs),
    submit_height: p.submitHeight.toString(),
    voting_end: formatTime(p.votingEndNs),
    tally: {
      yes: tally.yes.toString(),
      no: tally.no.toString(),
      abstain: tally.abstain.toString(),
      veto: tally.veto.toString(),
      total_weight: tally.totalWeight.toString(),
      cast: cast.toString(),
      quorum_bps: QUORUM_BPS.toString(),
      quorum_needed: needed.toString(),
      quorum_reached: tally.totalWeight > 0n && cast >= needed,
      pass_rule: p.critical ? 'two_thirds' : 'majority',
    },
    tally_final: p.status !== 'voting',
    tallied_at: time(p.tallyNs),
    tally_height: p.tallyHeight === 0n ? null : p.tallyHeight.toString(),
    outcome: orNull(p.outcome),
    execute_at: time(p.executeNs),
    executed_height: p.executedHeight === 0n ? null : p.executedHeight.toString(),
    failure: orNull(p.failure),
    ...(withVotes ? { votes: vs.map((v) => ({ voter: toHex(v.voter), option: v.option, height: v.height.toString() })) } : {}),
  };
}

/** Blocks, 1 s apart, until every listed proposal has left `status`. */
async function past(d: Driver, ids: bigint[], status: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const ps = await Promise.all(ids.map((id) => getProposal(d.app.store, id)));
    if (ps.every((p) => p!.status !== status)) return;
    await d.block();
  }
  throw new Error(`proposals ${ids.join(', ')} still ${status}`);
}

t.test('proposal, proposals, upgrade_plan through a whole governance flow: every field against the state', async (t) => {
  const w = await world(t);
  const { d, table } = w;
  const [v0, v1, v2] = w.v;
  const [u0, u1] = w.voters;
  const [pa, pb, pc] = w.proposers;
  const TREASURY = moduleAddress(ModuleAccount.TREASURY);

  // ---- nothing yet ----
  t.same(await call(table, 'proposals', {}), { proposals: [], count: '0', total: '0', height: d.app.head().height.toString() }, 'no proposals: page 1 is empty');
  t.same(await call(table, 'upgrade_plan', {}), { name: null, height: null, info: null, proposal_id: null }, 'no upgrade plan');
  const none = await rpcError(call(table, 'proposal', { id: 1n }));
  t.equal(none.code, RpcCode.INTERNAL_ERROR);
  t.equal(none.data, 'proposal 1 not found');

  // ---- block A: four proposals ----
  const dep = await deposit(d);
  const spend = 1_000n * ACC;
  t.ok((await getAccount(d.app.store, TREASURY)).balance > spend, 'the treasury can pay');
  const submitA = await d.block(
    await signAll(d, [
      [pa, { type: 'submit_proposal', value: proposal('Longer epochs', { summary: 'Fewer validator-set changes.\nTwo changes.', deposit: dep, paramChanges: [{ path: 'staking.epoch_blocks', value: '"7"' }, { path: 'tasks.min_bounty', value: '"2000000"' }] }) }],
      [pb, { type: 'submit_proposal', value: proposal('A statement', { deposit: dep + 5n }) }],
      [pc, { type: 'submit_proposal', value: proposal('Fund a grant', { deposit: dep, treasurySpend: { recipient: addr(pc), amount: spend } }) }],
      [pa, { type: 'submit_proposal', value: proposal('Jail v2', { deposit: dep, validatorAction: { validator: addr(v2), action: 'jail', jailSeconds: 60n } }) }],
    ]),
  );
  submitA.txResults.forEach((r, i) => t.equal(r.code, 0, `proposal ${i + 1}: ${r.log}`));
  const [P1, P2, P3, P4] = [1n, 2n, 3n, 4n];
  CONTENT.set(P1, { param_changes: [{ path: 'staking.epoch_blocks', value: '"7"' }, { path: 'tasks.min_bounty', value: '"2000000"' }] });
  CONTENT.set(P2, {});
  CONTENT.set(P3, { treasury_spend: { recipient: hex(pc), amount: spend.toString() } });
  CONTENT.set(P4, { validator_action: { validator: hex(v2), action: 'jail', jail_seconds: '60' } });

  // Submitted: voting, deposit held, no votes, a live tally of nothing.
  const p1 = await call(table, 'proposal', { id: P1 });
  t.same(p1, await expected(d, P1), 'proposal 1 as the records say');
  t.equal(p1.status, 'voting');
  t.equal(p1.kind, 'param_change');
  t.equal(p1.critical, true, 'staking.* is critical');
  t.equal(p1.summary, 'Fewer validator-set changes.\nTwo changes.');
  t.same(p1.content, { param_changes: [{ path: 'staking.epoch_blocks', value: '"7"' }, { path: 'tasks.min_bounty', value: '"2000000"' }] });
  t.equal(p1.deposit, dep.toString());
  t.equal(p1.deposit_status, 'held');
  t.equal(p1.submit_height, d.app.head().height.toString());
  t.equal(p1.submitted_at, formatTime(d.time));
  t.equal(p1.voting_end, formatTime(d.time + VOTING_SECONDS * SECOND));
  t.equal(p1.tally_final, false, 'a live tally');
  t.same(p1.votes, []);
  t.equal(p1.tally.cast, '0');
  t.equal(p1.tally.total_weight, (await totalWeight(d)).toString());
  t.equal(p1.tally.quorum_reached, false);
  t.equal(p1.tally.pass_rule, 'two_thirds');
  for (const k of ['tallied_at', 'tally_height', 'outcome', 'execute_at', 'executed_height', 'failure']) t.equal(p1[k], null, `${k} not set yet`);
  const p2 = await call(table, 'proposal', { id: P2 });
  t.same(p2, await expected(d, P2));
  t.same([p2.kind, p2.critical, p2.summary, p2.content, p2.tally.pass_rule, p2.deposit], ['text', false, null, {}, 'majority', (dep + 5n).toString()]);
  const p3 = await call(table, 'proposal', { id: P3 });
  t.same(p3, await expected(d, P3));
  t.same([p3.kind, p3.critical, p3.content], ['treasury_spend', false, { treasury_spend: { recipient: hex(pc), amount: spend.toString() } }], 'below the critical threshold');
  const p4 = await call(table, 'proposal', { id: P4 });
  t.same(p4, await expected(d, P4));
  t.same([p4.kind, p4.critical, p4.content], ['validator_action', true, { validator_action: { validator: hex(v2), action: 'jail', jail_seconds: '60' } }]);

  // ---- block B: v2 double-signs: slashed into an escrow and tombstoned ----
  const v2rec = (await validators.get(d.app.store, addr(v2)))!;
  const slashed = await d.block([], { evidence: [duplicateVote(v2, d.app.head().height - 1n, v2rec.power, 3n * v2rec.power, d.time)] });
  t.ok(slashed.beginBlockEvents.some((e) => e.type === 'slash'), 'v2 slashed');
  const [[escrowId]] = await allSlashEscrows(d.app.store);

  // ---- block C: a slash appeal and a software upgrade; the first votes ----
  const upgradeHeight = d.app.head().height + 1_000n;
  const submitC = await d.block(
    await signAll(d, [
      [pb, { type: 'submit_proposal', value: proposal('Return the slash', { deposit: await deposit(d), slashAppeal: { escrowId } }) }],
      [pc, { type: 'submit_proposal', value: proposal('Release 2.0', { deposit: await deposit(d), upgrade: { name: 'v2.0.0', height: upgradeHeight, info: 'https://example.org/v2.0.0 sha256:ab12' } }) }],
      [v0, vote(P1, 'yes')],
      [v1, vote(P1, 'yes')],
      [u0, vote(P1, 'no')],
      [u0, vote(P2, 'abstain')],
      [v0, vote(P3, 'veto')],
      [v1, vote(P3, 'yes')],
      [v0, vote(P4, 'yes')],
      [v1, vote(P4, 'yes')],
    ]),
  );
  submitC.txResults.forEach((r, i) => t.equal(r.code, 0, `block C tx ${i}: ${r.log}`));
  const [P5, P6] = [5n, 6n];
  CONTENT.set(P5, { slash_appeal: { escrow_id: escrowId.toString() } });
  CONTENT.set(P6, { upgrade: { name: 'v2.0.0', height: upgradeHeight.toString(), info: 'https://example.org/v2.0.0 sha256:ab12' } });
  const voteHeight = d.app.head().height.toString();
  t.same((await call(table, 'proposal', { id: P5 })).content, { slash_appeal: { escrow_id: escrowId.toString() } });
  const p6 = await call(table, 'proposal', { id: P6 });
  t.same(p6, await expected(d, P6));
  t.same(p6.content, { upgrade: { name: 'v2.0.0', height: upgradeHeight.toString(), info: 'https://example.org/v2.0.0 sha256:ab12' } });
  t.equal(p6.critical, true);

  // The live tally: the voters' weights as the records stand now.
  const live1 = await call(table, 'proposal', { id: P1 });
  t.same(live1, await expected(d, P1));
  const [w0, w1, wu0] = [await weight(d, v0), await weight(d, v1), await weight(d, u0)];
  t.same(
    { yes: live1.tally.yes, no: live1.tally.no, abstain: live1.tally.abstain, veto: live1.tally.veto, cast: live1.tally.cast },
    { yes: (w0 + w1).toString(), no: wu0.toString(), abstain: '0', veto: '0', cast: (w0 + w1 + wu0).toString() },
    'v0 and v1 yes, u0 no, weighted by bond + stake',
  );
  t.equal(live1.tally.quorum_reached, true);
  t.equal(live1.tally_final, false);
  const byVoter = [...live1.votes].sort((a: { voter: string }, b: { voter: string }) => (a.voter < b.voter ? -1 : 1));
  t.same(live1.votes, byVoter, 'votes in voter address order');
  t.same(
    live1.votes.map((v: { voter: string; option: string; height: string }) => [v.voter, v.option, v.height]).sort(),
    [[hex(v0), 'yes', voteHeight], [hex(v1), 'yes', voteHeight], [hex(u0), 'no', voteHeight]].sort(),
  );

  // Weight is read at the tally: v1 stakes 100 ACC more and its yes weighs that much more at once; u1 votes after.
  await expectOk(d.run(v1, { type: 'stake', value: { amount: 100n * ACC, consensusPubKey: new Uint8Array(0), moniker: '', blsPubKey: new Uint8Array(0) } }), 'stake');
  await expectOk(d.run(u1, vote(P1, 'yes')), 'a late vote');
  const live2 = await call(table, 'proposal', { id: P1 });
  t.same(live2, await expected(d, P1));
  t.equal(BigInt(live2.tally.yes), w0 + w1 + 100n * ACC + (await weight(d, u1)), 'the added stake and the new voter count at once');
  t.equal(live2.votes.length, 4);

  // ---- the list while all six vote: newest first ----
  const all = await call(table, 'proposals', {});
  t.same(all.proposals.map((p: { id: string }) => p.id), ['6', '5', '4', '3', '2', '1'], 'newest first');
  t.same([all.count, all.total, all.height], ['6', '6', d.app.head().height.toString()]);
  for (const item of all.proposals) t.same(item, await expected(d, BigInt(item.id), false), `list item ${item.id}: as \`proposal\` without votes`);
  t.notOk('votes' in all.proposals[0], 'list items carry no votes');
  t.same((await call(table, 'proposals', { status: 'voting', per_page: 100 })).total, '6');
  t.same((await call(table, 'proposals', { status: 'executed' })).proposals, [], 'none executed yet');

  // ---- votes on the later two, then the tallies ----
  await expectOk(d.run(v0, vote(P5, 'yes')), 'vote 5');
  await expectOk(d.run(v0, vote(P6, 'yes')), 'vote 6');
  await past(d, [P1, P2, P3, P4], 'voting');

  // P1 passed (critical, >= two thirds) and waits for its timelock; P2 missed its quorum; P3 was vetoed.
  const t1 = await call(table, 'proposal', { id: P1 });
  t.same(t1, await expected(d, P1));
  const rec1 = (await getProposal(d.app.store, P1))!;
  if (t1.status === 'passed') {
    t.equal(t1.tally_final, true, 'the stored tally');
    t.equal(t1.execute_at, formatTime(rec1.votingEndNs + TIMELOCK_SECONDS * SECOND), 'voting end + timelock');
    t.equal(t1.executed_height, null);
    t.same((await call(table, 'proposals', { status: 'passed' })).proposals.map((p: { id: string }) => p.id), ['4', '1'], 'status filter: passed, newest first');
  } else {
    t.fail(`proposal 1 should wait out its timelock, is ${t1.status}`);
  }
  t.same(
    { yes: t1.tally.yes, no: t1.tally.no, total_weight: t1.tally.total_weight },
    { yes: rec1.tally.yes.toString(), no: rec1.tally.no.toString(), total_weight: rec1.tally.totalWeight.toString() },
  );
  t.match(t1.outcome, /^passed: /);
  t.equal(t1.tally_height, rec1.tallyHeight.toString());
  t.equal(t1.tallied_at, formatTime(rec1.tallyNs));
  t.ok(rec1.tallyNs >= rec1.votingEndNs, 'tallied at the first block at or after the voting end');

  const t2 = await call(table, 'proposal', { id: P2 });
  t.same(t2, await expected(d, P2));
  t.same([t2.status, t2.deposit_status, t2.tally_final, t2.tally.quorum_reached, t2.execute_at], ['rejected', 'returned', true, false, null]);
  t.match(t2.outcome, /^quorum not reached/);
  t.equal(t2.tally.abstain, wu0.toString());
  t.equal(t2.tally.quorum_needed, ((BigInt(t2.tally.total_weight) * QUORUM_BPS + 9_999n) / 10_000n).toString(), 'ceil(total x quorum_bps / 10,000)');

  const t3 = await call(table, 'proposal', { id: P3 });
  t.same(t3, await expected(d, P3));
  t.same([t3.status, t3.deposit_status, t3.execute_at], ['vetoed', 'burned', null]);
  t.equal(t3.tally.veto, w0.toString());

  // ---- the timelock: P1 and P4 execute (P4 fails: v2 is tombstoned) ----
  await past(d, [P1, P4], 'passed');
  const e1 = await call(table, 'proposal', { id: P1 });
  t.same(e1, await expected(d, P1));
  t.equal(e1.status, 'executed');
  t.equal(e1.failure, null);
  t.ok(BigInt(e1.executed_height) > BigInt(e1.tally_height), 'executed after the tally');
  t.equal((await readParams(d.app.store)).staking.epoch_blocks, 7n, 'the change applied');
  const e4 = await call(table, 'proposal', { id: P4 });
  t.same(e4, await expected(d, P4));
  t.equal(e4.status, 'failed');
  t.match(e4.failure, /^INVALID_PROPOSAL_TARGET: validator [0-9A-F]{40} is already out of the set for good/);
  t.ok(e4.executed_height !== null, 'the height of the attempt');

  // ---- P5 and P6: executed; the upgrade plan ----
  await past(d, [P5, P6], 'voting');
  await past(d, [P5, P6], 'passed');
  const e5 = await call(table, 'proposal', { id: P5 });
  t.same(e5, await expected(d, P5));
  t.equal(e5.status, 'executed');
  t.same(await allSlashEscrows(d.app.store), [], 'the escrow returned');
  const e6 = await call(table, 'proposal', { id: P6 });
  t.same(e6, await expected(d, P6));
  t.equal(e6.status, 'executed');
  const gs = await getGovState(d.app.store);
  t.same(await call(table, 'upgrade_plan', {}), { name: 'v2.0.0', height: upgradeHeight.toString(), info: 'https://example.org/v2.0.0 sha256:ab12', proposal_id: '6' }, 'the plan of proposal 6');
  t.same([gs.upgrade.name, gs.upgradeProposal], ['v2.0.0', 6n], 'as the governance record holds it');

  // ---- the list at the end: status filter and pages ----
  const byStatus: Record<string, string[]> = {};
  for (const status of PROPOSAL_STATUSES) {
    const r = await call(table, 'proposals', { status });
    byStatus[status] = r.proposals.map((p: { id: string }) => p.id);
    t.equal(r.total, String(r.proposals.length));
    for (const item of r.proposals) t.equal(item.status, status);
  }
  t.same(byStatus, { voting: [], passed: [], rejected: ['2'], vetoed: ['3'], executed: ['6', '5', '1'], failed: ['4'] }, 'each status, newest first');
  const pages = [];
  for (const page of [1, 2, 3]) {
    const r = await call(table, 'proposals', { page, per_page: 2 });
    t.same([r.count, r.total], ['2', '6'], `page ${page}`);
    pages.push(...r.proposals.map((p: { id: string }) => p.id));
  }
  t.same(pages, ['6', '5', '4', '3', '2', '1'], 'pages follow each other');
  const executedPage2 = await call(table, 'proposals', { status: 'executed', page: 2, per_page: 2 });
  t.same([executedPage2.proposals.map((p: { id: string }) => p.id), executedPage2.count, executedPage2.total], [['1'], '1', '3'], 'a filtered page');
  const past4 = await rpcError(call(table, 'proposals', { page: 4, per_page: 2 }));
  t.equal(past4.code, RpcCode.INVALID_PARAMS);
  t.equal(past4.data, 'page 4 is past the last page 3 (6 in all, per_page 2)');
  const noneVoting = await rpcError(call(table, 'proposals', { status: 'voting', page: 2 }));
  t.equal(noneVoting.data, 'page 2 is past the last page 1 (0 in all, per_page 30)');
});

t.test('bad parameters: -32602 with a sentence; an unknown id is not found', async (t) => {
  const w = await world(t);
  const { table } = w;
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['proposal', {}, /^id must be a non-negative integer, got nothing$/],
    ['proposal', { id: -1n }, /^id must be a non-negative integer, got -1$/],
    ['proposal', { id: 2n ** 64n }, /^id must be a non-negative integer/],
    ['proposal', { id: 'one' }, /^id must be a non-negative integer, got "one"$/],
    ['proposals', { status: 'open' }, /^status must be one of voting, passed, rejected, vetoed, executed, failed, got "open"$/],
    ['proposals', { status: 'Passed' }, /^status must be a lower-case word of at most 32 characters such as "voting", got "Passed"$/],
    ['proposals', { status: 7 }, /^status must be a lower-case word/],
    ['proposals', { page: 0 }, /^page must be an integer of 1 or more, got 0$/],
    ['proposals', { page: -1 }, /^page must be an integer of 1 or more/],
    ['proposals', { per_page: 0 }, /^per_page must be an integer from 1 to 100, got 0$/],
    ['proposals', { per_page: 101 }, /^per_page must be an integer from 1 to 100, got 101$/],
  ];
  for (const [method, args, data] of cases) {
    const err = await rpcError(call(table, method, args as never));
    t.equal(err.code, RpcCode.INVALID_PARAMS, `${method} ${JSON.stringify(args, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
    t.match(err.data, data);
  }
  t.same(table.proposals.params.slice(0, 2), [{ name: 'page', type: 'int', optional: true }, { name: 'per_page', type: 'int', optional: true }]);
  t.same(table.proposal.params, [{ name: 'id', type: 'int64' }]);
  t.same(table.upgrade_plan.params, []);
  for (const id of [0n, 99n]) {
    const err = await rpcError(call(table, 'proposal', { id }));
    t.equal(err.code, RpcCode.INTERNAL_ERROR);
    t.equal(err.data, `proposal ${id} not found`);
  }
});
