// The issue 7 command lines: `tx task submit|cancel|accept|result|review|appeal|benchmark`, `tx reputation
// endorse|revoke`, `query task|tasks|committee|reputation` and `agent run`. Bad command lines are table-driven: each
// exits 2 with one line naming the problem and pointing to the command's --help, before any key is read or node asked.
// The happy flow runs in-process against the node's real method tables (cometbft + abci + domain + tasks) behind the
// real RPC server, over an App on LevelDB with the real mempool; the test produces the blocks (stored whole, events
// published), so `--commit` waits for a real inclusion.
import t, { type Test } from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Keyring } from '../src/cli/keyring.ts';
import { homePaths } from '../src/node/config.ts';
import type { KeyPair } from '../src/crypto/keys.ts';
import { toBase64, toHex, utf8 } from '../src/crypto/bytes.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { formatTime } from '../src/codec/time.ts';
import { TASK_STATUSES } from '../src/codec/types.ts';
import { getEndorsement } from '../src/reputation/endorsements.ts';
import { getTask, lastTaskId } from '../src/tasks/store.ts';
import { tempDir } from './helpers/tmp.ts';
import { Driver, SECOND, addr, fundValidators, registerAgents, tasksFixture, verifyAgents } from './helpers/tasks.ts';
import { cli } from './helpers/inproc.ts';
import { InProcNode } from './helpers/inproc-node.ts';

const hex = (k: KeyPair | Uint8Array): string => toHex(k instanceof Uint8Array ? k : addr(k));

function scratch(t: Test): string {
  const dir = tempDir('ac-tasks-cli-');
  t.teardown(() => dir.remove());
  return dir.path;
}

// ---------------------------------------------------------------------------------------------------------------
// Bad command lines
// ---------------------------------------------------------------------------------------------------------------

t.test('bad command lines exit 2 with one line naming the problem', async (t) => {
  const dir = scratch(t);
  const nowhere = join(dir, 'no-such-home');
  const empty = join(dir, 'empty-home');
  mkdirSync(empty);
  const three = join(dir, 'three-keys');
  const keyring = new Keyring(homePaths(three).keyringDir);
  for (const name of ['sub', 'ann', 'exe']) await keyring.add(name);
  const signer = ['--from', 'someone', '--home', nowhere];
  const hash = 'ab'.repeat(32);
  const submit = (...rest: string[]) => ['--from', 'someone', '--home', nowhere, ...rest];
  const ok = ['--bounty', '5acc', '--deadline-in', '60', '--input', 'x'];
  const statuses = TASK_STATUSES.join(', ');

  // [command path, the rest of the line, the problem]
  const cases: Array<[string, string[], RegExp]> = [
    // tx task submit
    ['tx task submit', submit('--deadline-in', '60', '--input', 'x'), /^missing required option --bounty AMOUNT$/],
    ['tx task submit', submit('--bounty', '0', '--deadline-in', '60', '--input', 'x'), /^--bounty must be more than 0$/],
    ['tx task submit', submit('--bounty', 'ten', '--deadline-in', '60', '--input', 'x'), /^--bounty: amount must be an integer number of uacc .*got "ten"$/],
    ['tx task submit', submit('--bounty', '5acc', '--input', 'x'), /^give the deadline once: --deadline RFC3339 or --deadline-in SECONDS$/],
    ['tx task submit', submit('--bounty', '5acc', '--deadline', '2030-01-01T00:00:00Z', '--deadline-in', '60', '--input', 'x'), /^give the deadline once/],
    ['tx task submit', submit('--bounty', '5acc', '--deadline', 'tomorrow', '--input', 'x'), /^--deadline: .*tomorrow/],
    ['tx task submit', submit('--bounty', '5acc', '--deadline-in', '0', '--input', 'x'), /^--deadline-in must be an integer from 1 to 18446744073709551615, got "0"$/],
    ['tx task submit', submit('--bounty', '5acc', '--deadline-in', '60', '--input', 'x', '--input-file', '/etc/hostname'), /^give the task input once: --input TEXT, --input-file FILE, or --input-hash HEX \(with --input-uri URI\)$/],
    ['tx task submit', submit('--bounty', '5acc', '--deadline-in', '60'), /^give the task input once/],
    ['tx task submit', submit('--bounty', '5acc', '--deadline-in', '60', '--input', 'x', '--input-hash', hash), /^give the task input once/],
    ['tx task submit', submit('--bounty', '5acc', '--deadline-in', '60', '--input-hash', 'zz'), /^--input-hash must be a sha256 as 64 hex characters, got "zz"$/],
    ['tx task submit', submit(...ok, '--cpu-cores', '4294967296'), /^--cpu-cores must be an integer from 0 to 4294967295, got 4294967296$/],
    ['tx task submit', submit(...ok, '--gpu-memory-mb=-5'), /^--gpu-memory-mb must be an integer from 0 to 18446744073709551615, got "-5"$/],
    ['tx task submit', submit(...ok, '--llm-tokens-per-second', '1.5'), /^--llm-tokens-per-second must be an integer from 0 to/],
    // node:util parseArgs' own sentence for a value starting with a dash (its first line only)
    ['tx task submit', submit(...ok, '--gpu-memory-mb', '-5'), /^Option '--gpu-memory-mb' argument is ambiguous/],
    ['tx task submit', submit(...ok, '--skills', 'summarize,Bad Tag'), /^--skills: tag "Bad Tag" must be 1-64 characters/],
    ['tx task submit', submit(...ok, '--sync', '--commit'), /^choose one of --sync, --async, --commit \(got --sync and --commit\)$/],
    ['tx task submit', submit(...ok, '--gas-limit', '0'), /^--gas-limit must be an integer from 1 to/],
    ['tx task submit', submit(...ok, '--priority', 'high'), /^unknown option '--priority'$/],
    ['tx task submit', [...ok, '--home', nowhere], /^missing required option --from NAME$/],
    ['tx task submit', [...ok, 'extra', ...signer], /^unexpected argument 'extra'$/],
    // cancel, accept, appeal: one TASK_ID
    ['tx task cancel', signer, /^missing argument TASK_ID$/],
    ['tx task accept', ['0', ...signer], /^TASK_ID must be a task id \(1, 2, \.\.\.\), got "0"$/],
    ['tx task appeal', ['abc', ...signer], /^TASK_ID must be a task id \(1, 2, \.\.\.\), got "abc"$/],
    ['tx task accept', ['007', ...signer], /^TASK_ID must be a task id/],
    ['tx task cancel', ['1', '2', ...signer], /^unexpected argument '2'$/],
    ['tx task appeal', ['3', '--sync', '--async', ...signer], /^choose one of --sync, --async, --commit \(got --sync and --async\)$/],
    // result
    ['tx task result', ['3', '--output', 'a', '--output-file', '/etc/hostname', ...signer], /^give the task output once: --output TEXT, --output-file FILE, or --output-hash HEX \(with --output-uri URI\)$/],
    ['tx task result', ['3', ...signer], /^give the task output once/],
    ['tx task result', ['3', '--output-hash', '12', ...signer], /^--output-hash must be a sha256 as 64 hex characters, got "12"$/],
    ['tx task result', ['x', '--output', 'a', ...signer], /^TASK_ID must be a task id/],
    ['tx task result', ['3', '--input', 'a', ...signer], /^unknown option '--input'$/],
    // review
    ['tx task review', ['3', 'maybe', ...signer], /^VERDICT must be approve or reject, got "maybe"$/],
    ['tx task review', ['3', ...signer], /^VERDICT must be approve or reject, got ""$/],
    ['tx task review', ['3', 'approve', '--reveal', ...signer], /^--reveal reveals the verdict already committed; give no VERDICT$/],
    ['tx task review', ['3', 'approve', '--round', '2', ...signer], /^--round must be 0 \(the first review\) or 1 \(the appeal's re-review\), got "2"$/],
    ['tx task review', ['0', 'approve', ...signer], /^TASK_ID must be a task id/],
    ['tx task review', ['3', 'approve', 'reject', ...signer], /^unexpected argument 'reject'$/],
    // benchmark and the group
    ['tx task benchmark', ['extra', ...signer], /^unexpected argument 'extra'$/],
    ['tx task', [], /^'tx task' needs a subcommand$/],
    ['tx task', ['frob'], /^unknown command 'tx task frob'$/],
    // tx reputation
    ['tx reputation endorse', signer, /^missing argument AGENT$/],
    ['tx reputation endorse', [hash.slice(0, 40)], /^missing required option --from NAME$/],
    ['tx reputation endorse', [hash.slice(0, 40), '--async', '--commit', ...signer], /^choose one of --sync, --async, --commit \(got --async and --commit\)$/],
    ['tx reputation revoke', ['a', 'b', ...signer], /^unexpected argument 'b'$/],
    ['tx reputation', ['boost'], /^unknown command 'tx reputation boost'$/],
    // query
    ['query task', ['abc'], /^ID must be a task id \(1, 2, \.\.\.\), got "abc"$/],
    ['query task', ['0'], /^ID must be a task id/],
    ['query task', [], /^missing argument ID$/],
    ['query task', ['1', '2'], /^unexpected argument '2'$/],
    ['query tasks', ['--page', '0'], /^--page must be an integer from 1 up, got "0"$/],
    ['query tasks', ['--per-page', '101'], /^--per-page must be an integer from 1 to 100, got "101"$/],
    ['query tasks', ['--submitter', 'alice'], /^--submitter must be an address \(40 hex characters\) or a key name with --home DIR; got "alice"$/],
    ['query tasks', ['--assignee', 'bob'], /^--assignee must be an address \(40 hex characters\) or a key name with --home DIR; got "bob"$/],
    ['query tasks', ['--node', 'localhost:26657'], /^--node must be an http:\/\/ or https:\/\/ URL/],
    ['query committee', ['x'], /^TASK_ID must be a task id/],
    ['query reputation', [], /^missing argument ADDRESS\|KEYNAME$/],
    ['query reputation', ['alice'], /^ADDRESS\|KEYNAME must be an address \(40 hex characters\) or a key name with --home DIR; got "alice"$/],
    // agent run (each fails before the worker would start)
    ['agent run', ['--home', empty], /^missing required option --exec CMD$/],
    ['agent run', ['--exec', 'cat'], /^missing required option --home DIR$/],
    ['agent run', ['--home', empty, '--exec', 'cat'], /^.*keyring holds 0 keys \(none\); name the agent's key with --from NAME$/],
    ['agent run', ['--home', three, '--exec', 'cat'], /^.*keyring holds 3 keys \(ann, exe, sub\); name the agent's key with --from NAME$/],
    ['agent run', ['--home', three, '--from', 'ann', '--exec', 'cat', '--node', 'ws://127.0.0.1:1'], /^--node must be an http:\/\/ or https:\/\/ URL/],
    ['agent run', ['--home', three, '--exec', 'cat', '--review'], /^option '--review' needs a value$/],
    ['agent run', ['extra', '--home', three, '--exec', 'cat'], /^unexpected argument 'extra'$/],
  ];
  for (const [path, rest, problem] of cases) {
    const argv = [...path.split(' '), ...rest];
    const name = argv.join(' ');
    const r = await cli(...argv);
    t.equal(r.code, 2, `${name}: exit 2`);
    t.equal(r.stdout, '', `${name}: nothing on stdout`);
    const m = /^error: (.*); run 'agentcluster (.*) --help'\n$/.exec(r.stderr);
    t.ok(m, `${name}: one line pointing to --help: ${JSON.stringify(r.stderr)}`);
    if (m === null) continue;
    t.equal(m[2], path, `${name}: the help of the command`);
    t.match(m[1], problem, name);
  }
  t.equal((await cli('tx', 'task', 'submit', ...submit(...ok, '--gpu-memory-mb', 'lots'))).code, 2, 'a non-numeric minimum');

  // A file that is not there is the command failing (exit 1), with a sentence, not an internal error.
  for (const argv of [
    ['tx', 'task', 'submit', ...submit('--bounty', '5acc', '--deadline-in', '60', '--input-file', join(dir, 'absent.txt'))],
    ['tx', 'task', 'result', '3', '--output-file', join(dir, 'absent.txt'), ...signer],
  ]) {
    const r = await cli(...argv);
    t.equal(r.code, 1, `${argv.slice(0, 3).join(' ')} --*-file absent: exit 1`);
    t.match(r.stderr, /absent\.txt/, 'names the file');
    t.match(r.stderr, /^error \[NOT_FOUND\]: /, 'NOT_FOUND, not INTERNAL');
  }

  const bad = await cli('query', 'tasks', '--status', 'done', '--node', 'http://127.0.0.1:1');
  t.equal(bad.code, 2, 'query tasks --status done: exit 2');
  t.match(bad.stderr, new RegExp(`^error: --status must be one of ${statuses}, got "done"`), 'names the problem, not the node');
});

// ---------------------------------------------------------------------------------------------------------------
// The node: real method tables behind the real RPC server, blocks produced by the test
// ---------------------------------------------------------------------------------------------------------------

/**
 * One validator v0; E (verified executor, the only one, so every task goes to it), A (an agent: endorses), R (an agent:
 * reviews), S (the submitter, a plain account), F (funds the validator). Blocks are committed as the consensus host
 * commits them: the mempool locked, the whole block and its commit stored (status, block and tx read them), then
 * the mempool updated and the events published (broadcast_tx_commit waits for them).
 */
class Node extends InProcNode {
  readonly E: KeyPair;
  readonly A: KeyPair;
  readonly R: KeyPair;
  readonly S: KeyPair;

  private constructor(d: Driver) {
    super(d, 'tasks-cli');
    [this.E, this.A, this.R, this.S] = d.fx.users;
  }

  static async open(t: Test): Promise<Node> {
    const fx = tasksFixture({ validators: 1, users: 5 });
    const d = await Driver.open(fx, (f) => t.teardown(f));
    const n = new Node(d);
    await n.listen(t);
    await fundValidators(d);
    await registerAgents(d, [n.E, n.A, n.R]);
    await verifyAgents(d, [n.E]);
    return n;
  }
}

const attribute = (r: { tx_result: { events: Array<{ type: string; attributes: Array<{ key: string; value: string }> }> } }, type: string, key: string): string | undefined =>
  r.tx_result.events.find((e) => e.type === type)?.attributes.find((a) => a.key === key)?.value;

t.test('in-process against the real server: submit --commit, query task(s) and committee, endorse, query reputation, cancel', async (t) => {
  const n = await Node.open(t);
  const home = scratch(t);
  const keyring = new Keyring(homePaths(home).keyringDir);
  await keyring.add('sub', n.S);
  await keyring.add('ann', n.A);
  await keyring.add('exe', n.E);
  const node = ['--node', n.url];

  // ---- tx task submit --commit ----
  const before = n.d.app.head();
  const input = 'summarize: the command line';
  const sub = await n.committing('tx', 'task', 'submit', '--bounty', '12.5acc', '--deadline-in', '600', '--input', input, '--skills', 'summarize', '--cpu-cores', '4', '--from', 'sub', '--home', home, ...node, '--commit');
  t.equal(sub.code, 0, sub.stderr);
  t.same(Object.keys(sub.json), ['check_tx', 'tx_result', 'hash', 'height']);
  t.equal(sub.json.tx_result.code, 0, sub.json.tx_result.log);
  t.equal(sub.json.height, (before.height + 1n).toString(), 'in the next block');
  const id = await lastTaskId(n.d.app.store);
  t.equal(attribute(sub.json, 'task_submitted', 'task'), id.toString(), 'the task id is in the tx events');
  const record = (await getTask(n.d.app.store, id))!;
  t.equal(hex(record.submitter), hex(n.S), 'signed by the keyring key');
  t.equal(record.bounty, 12_500_000n, '12.5acc in uacc');
  t.equal(record.deadlineNs, before.time + 600n * SECOND, '--deadline-in counts from the latest block time');
  t.same(record.requirements, { minCpuCores: 4, minGpuMemoryMb: 0n, minLlmTokensPerSecond: 0n, models: [], skills: ['summarize'] });

  // ---- query task ID: the node's `task` result ----
  const q = await cli('query', 'task', id.toString(), ...node);
  t.equal(q.code, 0, q.stderr);
  t.equal(q.stderr, '');
  t.same(q.json, await n.call('task', { id }), 'the node\'s `task` result');
  t.equal(q.json.status, 'assigned');
  t.equal(q.json.submitter, hex(n.S));
  t.equal(q.json.assignee, hex(n.E), 'routed to the only verified agent');
  t.equal(q.json.bounty, '12500000');
  t.equal(q.json.escrowed, '12500000');
  t.equal(q.json.deadline, formatTime(before.time + 600n * SECOND));
  t.same(q.json.input, { hash: toHex(sha256(utf8(input))), uri: '', inline: toBase64(utf8(input)) });
  t.same(q.json.requirements, { min_cpu_cores: 4, min_gpu_memory_mb: '0', min_llm_tokens_per_second: '0', models: [], skills: ['summarize'] });

  // ---- query tasks: by submitter (a key name), by assignee and status; paging ----
  const bySubmitter = await cli('query', 'tasks', '--submitter', 'sub', '--home', home, ...node);
  t.equal(bySubmitter.code, 0, bySubmitter.stderr);
  t.same(bySubmitter.json, { tasks: [q.json], count: '1', total: '1', height: n.d.app.head().height.toString() }, 'the one task sub submitted');
  const byAssignee = await cli('query', 'tasks', '--assignee', 'exe', '--status', 'assigned', '--home', home, ...node);
  t.equal(byAssignee.code, 0, byAssignee.stderr);
  t.same(byAssignee.json.tasks.map((x: { id: string }) => x.id), [id.toString()], 'assigned to exe: only it (its benchmark is finalized)');
  const paged = await cli('query', 'tasks', '--per-page', '1', '--page', '2', ...node);
  t.equal(paged.code, 0, paged.stderr);
  t.same([paged.json.tasks.map((x: { id: string }) => x.id), paged.json.total], [[(id - 1n).toString()], id.toString()], 'page 2 of 1: the second newest');
  const byAddress = await cli('query', 'tasks', '--submitter', hex(n.S).toLowerCase(), ...node);
  t.same(byAddress.json, bySubmitter.json, 'an address works as well as a key name');
  const committee = await cli('query', 'committee', id.toString(), ...node);
  t.same(committee.json, { task_id: id.toString(), status: 'assigned', rounds: [] }, 'no committee before a result');

  // ---- tx reputation endorse --commit, then query reputation ----
  const endorse = await n.committing('tx', 'reputation', 'endorse', 'exe', '--from', 'ann', '--home', home, ...node, '--commit');
  t.equal(endorse.code, 0, endorse.stderr);
  t.equal(endorse.json.tx_result.code, 0, endorse.json.tx_result.log);
  const stored = (await getEndorsement(n.d.app.store, addr(n.A), addr(n.E)))!;
  t.ok(stored, 'the endorsement is in the state');
  const entry = {
    endorser: hex(n.A),
    subject: hex(n.E),
    status: 'counts',
    credit: stored.credit.toString(),
    credit_given: stored.credit.toString(),
    created_at: formatTime(stored.createdNs),
    height: endorse.json.height,
  };
  const rep = await cli('query', 'reputation', 'exe', '--home', home, ...node);
  t.equal(rep.code, 0, rep.stderr);
  t.same(rep.json, await n.call('reputation', { address: hex(n.E) }), 'the node\'s `reputation` result');
  t.equal(rep.json.address, hex(n.E));
  t.same(rep.json.endorsements_received, { count: 1, counting: 1, list: [entry] }, 'exe holds ann\'s endorsement');
  t.equal(rep.json.dimensions.social, stored.credit.toString());
  const given = await cli('query', 'reputation', hex(n.A), ...node);
  t.same(given.json.endorsements_given.list, [entry], 'and ann lists it as given');
  t.equal(given.json.endorsements_given.slots_used, 1);
  const again = await n.committing('tx', 'reputation', 'endorse', 'exe', '--from', 'ann', '--home', home, ...node, '--commit');
  t.equal(again.code, 1, 'a second endorsement fails in the block');
  t.match(again.stderr, /^error \[ENDORSEMENT_EXISTS\]: the tx failed in block \d+: .*already endorses/);

  // ---- failures through the node: exit 1 with the code ----
  const missing = await cli('query', 'task', '999', ...node);
  t.equal(missing.code, 1);
  t.equal(missing.stdout, '');
  t.equal(missing.stderr, `error [NOT_FOUND]: the node at ${n.url} refused task: Internal error (-32603): task 999 not found\n`);
  const notMine = await n.committing('tx', 'task', 'accept', id.toString(), '--from', 'ann', '--home', home, ...node, '--commit');
  t.equal(notMine.code, 1);
  t.match(notMine.stderr, /^error \[NOT_TASK_ASSIGNEE\]: the tx failed in block \d+: task \d+ is assigned to [0-9A-F]{40}, not [0-9A-F]{40}/);
  const badStatus = await cli('query', 'tasks', '--status', 'done', ...node);
  t.not(badStatus.code, 0, 'a bad status is refused');
  t.match(badStatus.stderr, /status must be one of assigned, accepted/);

  // ---- tx task cancel --commit: the bounty returns ----
  const cancel = await n.committing('tx', 'task', 'cancel', id.toString(), '--from', 'sub', '--home', home, ...node, '--commit');
  t.equal(cancel.code, 0, cancel.stderr);
  const cancelled = await cli('query', 'task', id.toString(), ...node);
  t.equal(cancelled.json.status, 'cancelled');
  t.equal(cancelled.json.close_reason, 'cancelled');
  t.equal(cancelled.json.submitter_refund, '12500000', 'the whole bounty back');
  t.equal(cancelled.json.escrowed, '0');
  const byStatus = await cli('query', 'tasks', '--status', 'cancelled', '--submitter', 'sub', '--home', home, ...node);
  t.same(byStatus.json.tasks.map((x: { id: string }) => x.id), [id.toString()]);
});
