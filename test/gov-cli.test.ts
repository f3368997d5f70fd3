// The governance command lines: `tx gov propose|vote` and `query proposal|proposals|upgrade-plan`. The happy flow runs
// in-process against the node's real method tables (cometbft + abci + every domain method) behind the real RPC server,
// over an App on LevelDB with the real mempool; the test produces the blocks (stored whole, events published), so
// `--commit` waits for a real inclusion, and governance's 30 s of voting and 5 s of timelock pass in block time. Bad
// command lines are table-driven and run against that same node with a real key: each exits 2 with one line naming
// the problem and pointing to the command's --help, and the node receives nothing.
import t, { type Test } from 'tap';
import { Keyring } from '../src/cli/keyring.ts';
import { paramChangeArg } from '../src/cli/tx-gov.ts';
import { homePaths } from '../src/node/config.ts';
import type { KeyPair } from '../src/crypto/keys.ts';
import { toHex } from '../src/crypto/bytes.ts';
import { getAccount } from '../src/state/accounts.ts';
import { readParams } from '../src/state/executor.ts';
import { getProposal, votesOf } from '../src/state/governance/store.ts';
import { tempDir } from './helpers/tmp.ts';
import { ACC, Driver, addr, agentsFixture } from './helpers/agents.ts';
import { fundValidators, registerAgents } from './helpers/tasks.ts';
import { cli, type Outcome } from './helpers/inproc.ts';
import { InProcNode } from './helpers/inproc-node.ts';

/** Long enough for the flow's ~15 blocks (1 s apart) of proposing and voting. */
const VOTING_SECONDS = 30n;

const hex = (k: KeyPair | Uint8Array): string => toHex(k instanceof Uint8Array ? k : addr(k));

function scratch(t: Test): string {
  const dir = tempDir('ac-gov-cli-');
  t.teardown(() => dir.remove());
  return dir.path;
}

t.test('--set PATH=VALUE: JSON when it looks like JSON, else a JSON string', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['staking.epoch_blocks=50', 'staking.epoch_blocks', '"50"'],
    ['tasks.min_bounty=2000000', 'tasks.min_bounty', '"2000000"'],
    ['a.b="quoted"', 'a.b', '"quoted"'],
    ['a.b={"x":"1"}', 'a.b', '{"x":"1"}'],
    ['a.b=[1,2]', 'a.b', '[1,2]'],
    ['a.b=true', 'a.b', 'true'],
    ['a.b=false', 'a.b', 'false'],
    ['a.b=null', 'a.b', 'null'],
    ['a.b=nullish', 'a.b', '"nullish"'],
    ['a.b=two words', 'a.b', '"two words"'],
    ['a.b=x=y', 'a.b', '"x=y"'],
    ['a.b=', 'a.b', '""'],
    ['agents.tee_measurements.tdx_ab=ff00', 'agents.tee_measurements.tdx_ab', '"ff00"'],
  ];
  for (const [arg, path, value] of cases) t.same(paramChangeArg(arg), { path, value }, arg);
});

/**
 * One validator v0 (it and the agent u0 vote), u1 and u2 plain accounts that propose. Blocks are committed as the
 * consensus host commits them: the whole block and its commit stored, then the mempool updated and the events published.
 */
class Node extends InProcNode {
  static async open(t: Test): Promise<Node> {
    const fx = agentsFixture({
      validators: 1,
      users: 4,
      params: (p) => {
        p.governance.voting_seconds = VOTING_SECONDS;
        p.governance.timelock_seconds = 5n;
      },
    });
    const d = await Driver.open(fx, (f) => t.teardown(f));
    const n = new Node(d, 'gov-cli');
    await n.listen(t);
    await fundValidators(d);
    await registerAgents(d, [d.fx.users[0]]);
    return n;
  }
}

const ids = (r: Outcome): string[] => r.json.proposals.map((p: { id: string }) => p.id);

t.test('in-process against the real server: propose (every action kind), vote, query proposal(s) and upgrade-plan, then tally and execution', async (t) => {
  const n = await Node.open(t);
  const [v0] = n.d.fx.validators;
  const [u0, u1, u2] = n.d.fx.users;
  const home = scratch(t);
  const keyring = new Keyring(homePaths(home).keyringDir);
  await keyring.add('val', v0);
  await keyring.add('ag', u0);
  await keyring.add('prop', u1);
  await keyring.add('prop2', u2);
  const node = ['--node', n.url];
  const signer = (name: string) => ['--from', name, '--home', home, ...node];

  const plan0 = await cli('query', 'upgrade-plan', ...node);
  t.equal(plan0.code, 0, plan0.stderr);
  t.same(plan0.json, { name: null, height: null, info: null, proposal_id: null }, 'no plan yet');
  const empty = await cli('query', 'proposals', ...node);
  t.same(empty.json, { proposals: [], count: '0', total: '0', height: n.d.app.head().height.toString() });

  // ---- propose a parameter change (--commit): the default deposit, the proposal id printed ----
  const min = BigInt((await n.call('supply', {})).min_proposal_deposit);
  const p1 = await n.committing('tx', 'gov', 'propose', '--title', 'Longer epochs', '--summary', 'Fewer set changes.', '--set', 'staking.epoch_blocks=50', '--set', 'fees.msg_gas.vote=null', ...signer('prop'), '--commit');
  t.equal(p1.code, 0, p1.stderr);
  t.same(Object.keys(p1.json), ['proposal_id', 'check_tx', 'tx_result', 'hash', 'height'], 'the broadcast result and the proposal id');
  t.equal(p1.json.proposal_id, '1');
  t.equal(p1.json.tx_result.code, 0);
  const rec1 = (await getProposal(n.d.app.store, 1n))!;
  t.equal(hex(rec1.proposer), hex(u1), 'signed by the keyring key');
  t.same(rec1.content.paramChanges, [{ path: 'staking.epoch_blocks', value: '"50"' }, { path: 'fees.msg_gas.vote', value: 'null' }], 'a bare value as a JSON string, null as JSON');
  t.same([rec1.content.title, rec1.content.summary, rec1.kind, rec1.critical], ['Longer epochs', 'Fewer set changes.', 'param_change', true]);
  t.equal(rec1.deposit, min + (min + 999n) / 1000n, 'default deposit: the minimum plus 0.1%');
  t.equal(rec1.submitHeight.toString(), p1.json.height);

  // ---- a software upgrade (--commit) and a text proposal (--sync, the default: no id yet) ----
  const upgradeHeight = n.d.app.head().height + 500n;
  const p2 = await n.committing('tx', 'gov', 'propose', '--title', 'Release 2.0', '--upgrade-name', 'v2.0.0', '--upgrade-height', upgradeHeight.toString(), '--upgrade-info', 'see the notes', ...signer('prop2'), '--commit');
  t.equal(p2.code, 0, p2.stderr);
  t.equal(p2.json.proposal_id, '2');
  t.same((await getProposal(n.d.app.store, 2n))!.content.upgrade, { name: 'v2.0.0', height: upgradeHeight, info: 'see the notes' });
  const p3 = await cli('tx', 'gov', 'propose', '--title', 'We like agents', ...signer('prop'));
  t.equal(p3.code, 0, p3.stderr);
  t.same(Object.keys(p3.json), ['code', 'data', 'log', 'codespace', 'hash'], '--sync: the mempool check only');
  t.equal(p3.json.code, 0);
  await n.produce();
  t.equal((await getProposal(n.d.app.store, 3n))?.kind, 'text', 'in the next block');

  // ---- a treasury spend to a key name, with an explicit deposit ----
  const p4 = await n.committing('tx', 'gov', 'propose', '--title', 'A grant', '--spend-to', 'ag', '--spend-amount', '5acc', '--deposit', '20000acc', ...signer('prop2'), '--commit');
  t.equal(p4.code, 0, p4.stderr);
  t.equal(p4.json.proposal_id, '4');
  const rec4 = (await getProposal(n.d.app.store, 4n))!;
  t.same([hex(rec4.content.treasurySpend.recipient), rec4.content.treasurySpend.amount, rec4.deposit], [hex(u0), 5n * ACC, 20_000n * ACC]);

  // ---- votes: a later vote replaces the earlier one ----
  for (const [id, option, who] of [['1', 'yes', 'val'], ['1', 'no', 'ag'], ['1', 'abstain', 'ag'], ['2', 'yes', 'val'], ['4', 'veto', 'val']]) {
    const r = await n.committing('tx', 'gov', 'vote', id, option, ...signer(who), '--commit');
    t.equal(r.code, 0, `vote ${id} ${option} by ${who}: ${r.stderr}`);
    t.equal(r.json.tx_result.code, 0);
  }
  const votes1 = await votesOf(n.d.app.store, 1n);
  t.same(votes1.map((v) => [hex(v.voter), v.option]).sort(), [[hex(u0), 'abstain'], [hex(v0), 'yes']].sort(), "ag's abstain replaced its no");

  // ---- query proposal / proposals while voting ----
  const q1 = await cli('query', 'proposal', '1', ...node);
  t.equal(q1.code, 0, q1.stderr);
  t.equal(q1.stderr, '');
  t.same(q1.json, await n.call('proposal', { id: 1n }), "the node's `proposal` result");
  t.same([q1.json.status, q1.json.tally_final, q1.json.votes.length, q1.json.proposer], ['voting', false, 2, hex(u1)]);
  t.same(q1.json.content, { param_changes: [{ path: 'staking.epoch_blocks', value: '"50"' }, { path: 'fees.msg_gas.vote', value: 'null' }] });
  const paged = await cli('query', 'proposals', '--status', 'voting', '--per-page', '2', '--page', '2', ...node);
  t.equal(paged.code, 0, paged.stderr);
  t.same([ids(paged), paged.json.total], [['2', '1'], '4'], 'page 2 of 2, newest first');
  t.same(paged.json.proposals[1], (({ votes: _v, ...rest }) => rest)(q1.json), 'a list item: the proposal without its votes');

  // ---- failures through the node: exit 1 with the chain's code ----
  const unknown = await n.committing('tx', 'gov', 'vote', '99', 'yes', ...signer('val'), '--commit');
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /^error \[PROPOSAL_NOT_FOUND\]: the tx failed in block \d+: there is no proposal 99/);
  const weightless = await n.committing('tx', 'gov', 'vote', '1', 'yes', ...signer('prop'), '--commit');
  t.equal(weightless.code, 1);
  t.match(weightless.stderr, /^error \[NO_VOTING_WEIGHT\]: the tx failed in block \d+: [0-9A-F]{40} holds no bonded ACC/);
  const small = await n.committing('tx', 'gov', 'propose', '--title', 'Cheap', '--deposit', '1acc', ...signer('prop'), '--commit');
  t.equal(small.code, 1);
  t.match(small.stderr, /^error \[DEPOSIT_TOO_SMALL\]: the tx failed in block \d+: a deposit of 1000000 uacc is below 100 bps/);
  const ghost = await n.committing('tx', 'gov', 'propose', '--title', 'Remove a ghost', '--remove', 'AB'.repeat(20), ...signer('prop'), '--commit');
  t.equal(ghost.code, 1);
  t.match(ghost.stderr, /^error \[INVALID_PROPOSAL_TARGET\]: the tx failed in block \d+: there is no validator ABAB/);
  const missing = await cli('query', 'proposal', '99', ...node);
  t.equal(missing.code, 1);
  t.equal(missing.stdout, '');
  t.equal(missing.stderr, `error [NOT_FOUND]: the node at ${n.url} refused proposal: Internal error (-32603): proposal 99 not found\n`);
  t.same(ids(await cli('query', 'proposals', ...node)), ['4', '3', '2', '1'], 'the failed proposals left no record');

  // ---- voting end, tally, timelock, execution ----
  for (let i = 0; i < 60; i++) {
    const [a, b] = await Promise.all([getProposal(n.d.app.store, 1n), getProposal(n.d.app.store, 2n)]);
    if (a!.status === 'executed' && b!.status === 'executed') break;
    await n.produce();
  }
  const e1 = await cli('query', 'proposal', '1', ...node);
  t.same([e1.json.status, e1.json.tally_final, e1.json.failure], ['executed', true, null], e1.json.outcome);
  t.same(e1.json, await n.call('proposal', { id: 1n }));
  const params = await cli('query', 'params', ...node);
  t.equal(params.json.staking.epoch_blocks, '50', 'the parameter changed');
  t.notOk('vote' in params.json.fees.msg_gas, 'the open-map entry removed');
  t.equal((await readParams(n.d.app.store)).staking.epoch_blocks, 50n);
  const plan = await cli('query', 'upgrade-plan', ...node);
  t.equal(plan.code, 0, plan.stderr);
  t.same(plan.json, { name: 'v2.0.0', height: upgradeHeight.toString(), info: 'see the notes', proposal_id: '2' });
  for (const [status, expected] of [['executed', ['2', '1']], ['rejected', ['3']], ['vetoed', ['4']], ['voting', []]] as const) {
    const r = await cli('query', 'proposals', '--status', status, ...node);
    t.equal(r.code, 0, r.stderr);
    t.same(ids(r), expected, `--status ${status}`);
  }
  const vetoed = await cli('query', 'proposal', '4', ...node);
  t.same([vetoed.json.deposit_status, vetoed.json.tally.veto], ['burned', vetoed.json.tally.cast], 'vetoed: the deposit burned');
});

t.test('bad command lines exit 2 with one line naming the problem, and send nothing', async (t) => {
  const n = await Node.open(t);
  const home = scratch(t);
  const keyring = new Keyring(homePaths(home).keyringDir);
  const [, u1] = n.d.fx.users;
  await keyring.add('prop', u1);
  const signer = ['--from', 'prop', '--home', home, '--node', n.url];
  const propose = (...rest: string[]) => ['--title', 'T', ...rest, ...signer];
  const V = 'AB'.repeat(20);
  const U64_MAX = '18446744073709551615';
  const ACTIONS = /^a proposal does one thing: give one of --set PATH=VALUE, --spend-to with --spend-amount, --jail with --jail-seconds, --remove, --restore-slash, or --upgrade-name with --upgrade-height \(none: a text proposal\); got /;
  const before = { height: n.d.app.head().height, nonce: (await getAccount(n.d.app.store, addr(u1))).nonce };

  // [command path, the rest of the line, the problem]
  const cases: Array<[string, string[], RegExp]> = [
    // the title and summary
    ['tx gov propose', signer, /^missing required option --title T$/],
    ['tx gov propose', ['--title', '', ...signer], /^missing required option --title T$/],
    ['tx gov propose', ['--title', 'x'.repeat(141), ...signer], /^--title must be 1-140 characters, got 141$/],
    ['tx gov propose', ['--title', '   ', ...signer], /^--title must be 1-140 characters, got 3$/],
    ['tx gov propose', ['--title', 'bell\u0007', ...signer], /^MsgSubmitProposal\.title must be 1-140 characters without control characters$/],
    ['tx gov propose', propose('--summary', 'x'.repeat(4097)), /^--summary must be at most 4096 characters, got 4097$/],
    ['tx gov propose', propose('--deposit', '0'), /^--deposit must be more than 0$/],
    ['tx gov propose', propose('--deposit', 'lots'), /^--deposit: amount must be an integer number of uacc .*got "lots"$/],
    // --set
    ['tx gov propose', propose('--set', 'staking.epoch_blocks'), /^--set takes PATH=VALUE \(e\.g\. staking\.epoch_blocks=50\), got "staking\.epoch_blocks"$/],
    ['tx gov propose', propose('--set', 'staking=5'), /^--set: PATH must name a parameter as dotted lower-case words .*got "staking"$/],
    ['tx gov propose', propose('--set', 'Staking.Epoch_blocks=5'), /^--set: PATH must name a parameter/],
    ['tx gov propose', propose('--set', '=5'), /^--set: PATH must name a parameter .*got ""$/],
    ['tx gov propose', propose('--set', 'a.b={"x":'), /^--set a\.b: VALUE starts like JSON but is not valid JSON: "\{\\"x\\":"$/],
    ['tx gov propose', propose('--set', 'a.b="unterminated'), /^--set a\.b: VALUE starts like JSON but is not valid JSON/],
    ['tx gov propose', propose('--set', 'a.b=1', '--set', 'a.b=2'), /^--set sets a\.b twice$/],
    ['tx gov propose', propose(...Array.from({ length: 33 }, (_, i) => ['--set', `a.b${i}=1`]).flat()), /^--set is given 33 times; a proposal changes at most 32 parameters$/],
    // two actions
    ['tx gov propose', propose('--set', 'a.b=1', '--jail', V, '--jail-seconds', '5'), new RegExp(ACTIONS.source + '--set and --jail/--jail-seconds$')],
    ['tx gov propose', propose('--remove', V, '--jail-seconds', '5'), new RegExp(ACTIONS.source + '--jail-seconds and --remove$')],
    ['tx gov propose', propose('--remove', V, '--restore-slash', '1'), new RegExp(ACTIONS.source + '--remove and --restore-slash$')],
    ['tx gov propose', propose('--spend-to', V, '--spend-amount', '5', '--upgrade-name', 'v2', '--upgrade-height', '9'), new RegExp(ACTIONS.source + '--spend-to/--spend-amount and --upgrade-name/--upgrade-height$')],
    // half an action
    ['tx gov propose', propose('--spend-to', V), /^a treasury spend needs --spend-amount$/],
    ['tx gov propose', propose('--spend-amount', '5acc'), /^a treasury spend needs --spend-to$/],
    ['tx gov propose', propose('--jail', V), /^a jail needs --jail-seconds$/],
    ['tx gov propose', propose('--jail-seconds', '60'), /^a jail needs --jail$/],
    ['tx gov propose', propose('--upgrade-name', 'v2'), /^a software upgrade needs --upgrade-height$/],
    ['tx gov propose', propose('--upgrade-height', '100'), /^a software upgrade needs --upgrade-name$/],
    ['tx gov propose', propose('--upgrade-info', 'notes'), /^a software upgrade needs --upgrade-name and --upgrade-height$/],
    // bad values
    ['tx gov propose', propose('--spend-to', V, '--spend-amount', '0'), /^--spend-amount must be more than 0$/],
    ['tx gov propose', propose('--jail', 'v1', '--jail-seconds', '60'), /^--jail must be a validator's consensus address \(40 hex characters; see 'agentcluster query validators'\), got "v1"$/],
    ['tx gov propose', propose('--jail', V, '--jail-seconds', '0'), new RegExp(`^--jail-seconds must be an integer from 1 to ${U64_MAX}, got "0"$`)],
    ['tx gov propose', propose('--jail', V, '--jail-seconds', '1h'), /^--jail-seconds must be an integer from 1 to/],
    ['tx gov propose', propose('--remove', V.slice(2)), /^--remove must be a validator's consensus address/],
    ['tx gov propose', propose('--restore-slash', '0'), /^--restore-slash must be a slash escrow id \(1, 2, \.\.\.\), got "0"$/],
    ['tx gov propose', propose('--restore-slash', 'first'), /^--restore-slash must be a slash escrow id/],
    ['tx gov propose', propose('--upgrade-name', 'v 2', '--upgrade-height', '9'), /^--upgrade-name must be 1-64 characters of letters, digits, "\.", "_" and "-", starting with a letter or digit, got "v 2"$/],
    ['tx gov propose', propose('--upgrade-name', '.v2', '--upgrade-height', '9'), /^--upgrade-name must be 1-64 characters/],
    ['tx gov propose', propose('--upgrade-name', 'v2', '--upgrade-height', '0'), new RegExp(`^--upgrade-height must be an integer from 1 to ${U64_MAX}, got "0"$`)],
    ['tx gov propose', propose('--upgrade-name', 'v2', '--upgrade-height', '9', '--upgrade-info', 'a\u0000b'), /^MsgSubmitProposal\.upgrade\.info must be at most 1024 characters without control characters/],
    // the broadcast options and the line itself
    ['tx gov propose', propose('--sync', '--commit'), /^choose one of --sync, --async, --commit \(got --sync and --commit\)$/],
    ['tx gov propose', propose('--gas-limit', '0'), /^--gas-limit must be an integer from 1 to/],
    ['tx gov propose', ['--title', 'T', ...signer, '--set'], /^option '--set' needs a value$/],
    ['tx gov propose', propose('--kind', 'text'), /^unknown option '--kind'$/],
    ['tx gov propose', ['extra', ...propose()], /^unexpected argument 'extra'$/],
    // vote
    ['tx gov vote', signer, /^missing argument PROPOSAL_ID$/],
    ['tx gov vote', ['1', ...signer], /^missing argument OPTION$/],
    ['tx gov vote', ['0', 'yes', ...signer], /^PROPOSAL_ID must be a proposal id \(1, 2, \.\.\.\), got "0"$/],
    ['tx gov vote', ['one', 'yes', ...signer], /^PROPOSAL_ID must be a proposal id/],
    ['tx gov vote', ['18446744073709551616', 'yes', ...signer], /^PROPOSAL_ID must be a proposal id/],
    ['tx gov vote', ['1', 'maybe', ...signer], /^OPTION must be one of yes, no, abstain, veto, got "maybe"$/],
    ['tx gov vote', ['1', 'YES', ...signer], /^OPTION must be one of yes, no, abstain, veto, got "YES"$/],
    ['tx gov vote', ['1', 'yes', 'no', ...signer], /^unexpected argument 'no'$/],
    ['tx gov vote', ['1', 'yes', '--home', home], /^missing required option --from NAME$/],
    ['tx gov vote', ['1', 'yes', '--async', '--commit', ...signer], /^choose one of --sync, --async, --commit \(got --async and --commit\)$/],
    // the group
    ['tx gov', [], /^'tx gov' needs a subcommand$/],
    ['tx gov', ['withdraw'], /^unknown command 'tx gov withdraw'$/],
    // queries
    ['query proposal', [], /^missing argument ID$/],
    ['query proposal', ['abc'], /^ID must be a proposal id \(1, 2, \.\.\.\), got "abc"$/],
    ['query proposal', ['0'], /^ID must be a proposal id/],
    ['query proposal', ['99999999999999999999'], /^ID must be a proposal id/],
    ['query proposal', ['1', '2'], /^unexpected argument '2'$/],
    ['query proposals', ['--status', 'open'], /^--status must be one of voting, passed, rejected, vetoed, executed, failed, got "open"$/],
    ['query proposals', ['--page', '0'], /^--page must be an integer from 1 up, got "0"$/],
    ['query proposals', ['--per-page', '101'], /^--per-page must be an integer from 1 to 100, got "101"$/],
    ['query proposals', ['--node', 'localhost:26657'], /^--node must be an http:\/\/ or https:\/\/ URL/],
    ['query upgrade-plan', ['v2'], /^unexpected argument 'v2'$/],
  ];
  for (const [path, rest, problem] of cases) {
    const argv = [...path.split(' '), ...rest];
    const name = argv.join(' ').slice(0, 160);
    const r = await cli(...argv);
    t.equal(r.code, 2, `${name}: exit 2`);
    t.equal(r.stdout, '', `${name}: nothing on stdout`);
    const m = /^error: (.*); run 'agentcluster (.*) --help'\n$/s.exec(r.stderr);
    t.ok(m, `${name}: one line pointing to --help: ${JSON.stringify(r.stderr)}`);
    if (m === null) continue;
    t.equal(m[2], path, `${name}: the help of the command`);
    t.match(m[1], problem, name);
  }
  // A recipient key that is not in the keyring: the command fails (exit 1) naming it, before anything is signed.
  const noKey = await cli('tx', 'gov', 'propose', ...propose('--spend-to', 'nobody', '--spend-amount', '5'));
  t.equal(noKey.code, 1);
  t.match(noKey.stderr, /^error \[NOT_FOUND\]: .*nobody/);

  t.equal(n.mempool.size, 0, 'the node received no tx');
  t.equal(n.d.app.head().height, before.height, 'no block');
  t.equal((await getAccount(n.d.app.store, addr(u1))).nonce, before.nonce, "the proposer's nonce is untouched");
});
