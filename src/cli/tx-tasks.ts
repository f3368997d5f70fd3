// `agentcluster tx task ...` and `tx reputation ...`: the task lifecycle and endorsements by hand (the agent worker,
// `agentcluster agent run`, does the task duties by itself).
//   tx task submit      MsgSubmitTask: requirements, bounty (escrowed), deadline, input inline or by hash + URI
//   tx task cancel      MsgCancelTask: withdraw a task nobody accepted
//   tx task accept      MsgAcceptTask: take a task routed to you
//   tx task result      MsgSubmitResult: the assignee's output
//   tx task review      MsgCommitReview (VERDICT approve|reject; the salt goes to the worker journal) or, with
//                       --reveal, MsgRevealReview from that journal
//   tx task appeal      MsgAppeal: contest a verdict within tasks.appeal_seconds, locking tasks.appeal_deposit
//   tx task benchmark   MsgRequestBenchmark: a seeded challenge that verifies the agent's claimed capabilities
//   tx reputation endorse|revoke   MsgEndorse / MsgRevokeEndorsement
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command, ParsedArgs } from './command.ts';
import { idArg, optBool, optString, reqString, UsageError } from './command.ts';
import { AppError } from '../errors.ts';
import { addressOf } from '../crypto/keys.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { parseTime, NS_PER_SECOND } from '../codec/time.ts';
import type { Msg, Payload, TaskRequirements } from '../codec/types.ts';
import { newReviewSalt, reviewCommitment } from '../tasks/commitment.ts';
import { journalPath, readJournal, writeJournal } from '../agent/worker.ts';
import { addressOrKey, withClient } from './query.ts';
import { amountArg, broadcastMsg, BROADCAST_OPTIONS, checkBroadcastOptions, loadSigner, optU64, SIGNER_OPTIONS, tagList, txCommand } from './tx.ts';

const U32_MAX = 0xffff_ffffn;
const HASH_HEX = /^[0-9A-Fa-f]{64}$/;

function taskIdArg(text: string | undefined): bigint {
  return idArg(text, 'TASK_ID', 'a task id');
}

function roundOf(args: ParsedArgs): number {
  const r = optString(args, 'round') ?? '0';
  if (r !== '0' && r !== '1') throw new UsageError(`--round must be 0 (the first review) or 1 (the appeal's re-review), got ${JSON.stringify(r)}`, []);
  return Number(r);
}

/** A payload from its options: --NAME TEXT, --NAME-file FILE, or --NAME-hash HEX [--NAME-uri URI] (NAME: input or output). */
async function payloadOf(args: ParsedArgs, name: 'input' | 'output'): Promise<Payload> {
  const text = optString(args, name);
  const file = optString(args, `${name}-file`);
  const hash = optString(args, `${name}-hash`);
  const given = [text, file, hash].filter((x) => x !== undefined).length;
  if (given !== 1) throw new UsageError(`give the task ${name} once: --${name} TEXT, --${name}-file FILE, or --${name}-hash HEX (with --${name}-uri URI)`, []);
  const uri = optString(args, `${name}-uri`) ?? '';
  if (hash !== undefined) {
    if (!HASH_HEX.test(hash)) throw new UsageError(`--${name}-hash must be a sha256 as 64 hex characters, got ${JSON.stringify(hash.slice(0, 80))}`, []);
    return { hash: fromHex(hash), uri, inline: new Uint8Array(0) };
  }
  if (text !== undefined) return { hash: new Uint8Array(0), uri, inline: new TextEncoder().encode(text) };
  try {
    return { hash: new Uint8Array(0), uri, inline: new Uint8Array(await readFile(file!)) };
  } catch (err) {
    throw new AppError('NOT_FOUND', `--${name}-file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a readable file`);
  }
}

function requirementsOf(args: ParsedArgs): TaskRequirements {
  const cores = optU64(args, 'cpu-cores') ?? 0n;
  if (cores > U32_MAX) throw new UsageError(`--cpu-cores must be an integer from 0 to ${U32_MAX}, got ${cores}`, []);
  return {
    minCpuCores: Number(cores),
    minGpuMemoryMb: optU64(args, 'gpu-memory-mb') ?? 0n,
    minLlmTokensPerSecond: optU64(args, 'llm-tokens-per-second') ?? 0n,
    models: tagList(args, 'models'),
    skills: tagList(args, 'skills'),
  };
}

/** --deadline RFC3339, or --deadline-in SECONDS from the node's latest block time. */
function deadlineOf(args: ParsedArgs): { at?: bigint; inSeconds?: bigint } {
  const at = optString(args, 'deadline');
  const inSeconds = optU64(args, 'deadline-in', 1n);
  if ((at === undefined) === (inSeconds === undefined)) throw new UsageError('give the deadline once: --deadline RFC3339 or --deadline-in SECONDS', []);
  if (at === undefined) return { inSeconds };
  try {
    return { at: parseTime(at) };
  } catch (err) {
    throw new UsageError(`--deadline: ${(err as Error).message}`, []);
  }
}

export const txTaskSubmitCommand: Command = {
  name: 'submit',
  summary: 'submit a task: requirements, a bounty escrowed until settlement, a deadline and the input',
  usage: '--bounty AMOUNT (--deadline RFC3339 | --deadline-in SECONDS) (--input TEXT | --input-file FILE | --input-hash HEX [--input-uri URI]) [requirements] --from NAME --home DIR',
  description: [
    'Signs MsgSubmitTask. The bounty (at least tasks.min_bounty) leaves the balance into the task escrow; the chain',
    'routes the task to an agent whose verified capabilities meet the requirements (--cpu-cores, --gpu-memory-mb,',
    '--llm-tokens-per-second minimums; every tag of --models and --skills). Inline input is at most',
    'tasks.max_inline_bytes; larger content goes by its sha256 and a URI. Follow it with `agentcluster query task ID`',
    '(the id is in the tx events: --commit prints them).',
  ].join('\n'),
  options: {
    ...SIGNER_OPTIONS,
    bounty: { type: 'string', valueName: 'AMOUNT', required: true, description: 'uacc or ACC (e.g. 25acc)' },
    deadline: { type: 'string', valueName: 'RFC3339', description: 'block time by which the result is due' },
    'deadline-in': { type: 'string', valueName: 'SECONDS', description: 'deadline as seconds after the latest block time' },
    input: { type: 'string', valueName: 'TEXT', description: 'the input, inline (UTF-8)' },
    'input-file': { type: 'string', valueName: 'FILE', description: 'the input, inline, from a file' },
    'input-hash': { type: 'string', valueName: 'HEX', description: 'sha256 of input kept off chain' },
    'input-uri': { type: 'string', valueName: 'URI', description: 'where the input can be fetched' },
    'cpu-cores': { type: 'string', valueName: 'N', description: 'least CPU cores' },
    'gpu-memory-mb': { type: 'string', valueName: 'N', description: 'least GPU memory, MB' },
    'llm-tokens-per-second': { type: 'string', valueName: 'N', description: 'least LLM throughput' },
    models: { type: 'string', valueName: 'TAGS', description: 'required model tags, comma separated' },
    skills: { type: 'string', valueName: 'TAGS', description: 'required skill tags, comma separated' },
    ...BROADCAST_OPTIONS,
  },
  async run(args) {
    const bounty = amountArg(reqString(args, 'bounty'), '--bounty');
    const deadline = deadlineOf(args);
    const requirements = requirementsOf(args);
    const input = await payloadOf(args, 'input');
    const mode = checkBroadcastOptions(args);
    const key = await loadSigner(args);
    return withClient(args, async (client) => {
      let at = deadline.at;
      if (at === undefined) at = parseTime((await client.status()).sync_info.latest_block_time) + deadline.inSeconds! * NS_PER_SECOND;
      return broadcastMsg(client, args, key, mode, () => ({ type: 'submit_task', value: { requirements, bounty, deadline: at, input } }));
    });
  },
};

/** A command that signs one message about one task. */
function taskCommand(name: string, summary: string, description: string, msgOf: (taskId: bigint) => Msg): Command {
  return {
    name,
    summary,
    usage: 'TASK_ID --from NAME --home DIR [--node URL] [--sync|--async|--commit]',
    description,
    options: { ...SIGNER_OPTIONS, ...BROADCAST_OPTIONS },
    args: [{ name: 'TASK_ID', description: 'the task id', required: true }],
    async run(args) {
      const taskId = taskIdArg(args.positionals[0]);
      const mode = checkBroadcastOptions(args);
      const key = await loadSigner(args);
      return withClient(args, (client) => broadcastMsg(client, args, key, mode, () => msgOf(taskId)));
    },
  };
}

export const txTaskCancelCommand = taskCommand('cancel', 'withdraw a task nobody has accepted; the bounty returns', 'Signs MsgCancelTask (the submitter only, before an assignee accepted).', (taskId) => ({
  type: 'cancel_task',
  value: { taskId },
}));

export const txTaskAcceptCommand = taskCommand('accept', 'take a task routed to you', 'Signs MsgAcceptTask within tasks.accept_seconds of the routing; otherwise the task moves on.', (taskId) => ({
  type: 'accept_task',
  value: { taskId },
}));

export const txTaskAppealCommand = taskCommand(
  'appeal',
  "contest a task's verdict: a larger committee reviews it again",
  'Signs MsgAppeal (the submitter or the executor, within tasks.appeal_seconds of the verdict). tasks.appeal_deposit is locked; a failed appeal loses it.',
  (taskId) => ({ type: 'appeal', value: { taskId } }),
);

export const txTaskResultCommand: Command = {
  name: 'result',
  summary: "submit the assignee's result of a task",
  usage: 'TASK_ID (--output TEXT | --output-file FILE | --output-hash HEX [--output-uri URI]) --from NAME --home DIR',
  description: 'Signs MsgSubmitResult (the accepted assignee, before the deadline); the tx signature signs the result.',
  options: {
    ...SIGNER_OPTIONS,
    output: { type: 'string', valueName: 'TEXT', description: 'the output, inline (UTF-8)' },
    'output-file': { type: 'string', valueName: 'FILE', description: 'the output, inline, from a file' },
    'output-hash': { type: 'string', valueName: 'HEX', description: 'sha256 of output kept off chain' },
    'output-uri': { type: 'string', valueName: 'URI', description: 'where the output can be fetched' },
    ...BROADCAST_OPTIONS,
  },
  args: [{ name: 'TASK_ID', description: 'the task id', required: true }],
  async run(args) {
    const taskId = taskIdArg(args.positionals[0]);
    const output = await payloadOf(args, 'output');
    const mode = checkBroadcastOptions(args);
    const key = await loadSigner(args);
    return withClient(args, (client) => broadcastMsg(client, args, key, mode, () => ({ type: 'submit_result', value: { taskId, output } })));
  },
};

export const txTaskReviewCommand: Command = {
  name: 'review',
  summary: 'as a committee member: commit a sealed verdict, or (--reveal) reveal it',
  usage: 'TASK_ID (approve|reject | --reveal) [--round 0|1] --from NAME --home DIR',
  description: [
    'Without --reveal: signs MsgCommitReview with sha256 of (task, round, verdict, a fresh 32-byte salt, reviewer);',
    'the verdict and salt are saved first in DIR/worker/journal-ADDRESS.json (the agent worker uses the same journal).',
    'With --reveal: signs MsgRevealReview from that journal, in the reveal phase. Do not run it for tasks the agent',
    'worker of the same key handles.',
  ].join('\n'),
  options: {
    ...SIGNER_OPTIONS,
    reveal: { type: 'boolean', description: 'reveal the committed verdict' },
    round: { type: 'string', valueName: '0|1', description: "0: the first review (default); 1: the appeal's" },
    ...BROADCAST_OPTIONS,
  },
  args: [
    { name: 'TASK_ID', description: 'the task id', required: true },
    { name: 'VERDICT', description: 'approve or reject (not with --reveal)' },
  ],
  async run(args) {
    const taskId = taskIdArg(args.positionals[0]);
    const verdict = args.positionals[1];
    const reveal = optBool(args, 'reveal');
    const round = roundOf(args);
    if (reveal && verdict !== undefined) throw new UsageError('--reveal reveals the verdict already committed; give no VERDICT', []);
    if (!reveal && verdict !== 'approve' && verdict !== 'reject') throw new UsageError(`VERDICT must be approve or reject, got ${JSON.stringify(verdict ?? '')}`, []);
    const mode = checkBroadcastOptions(args);
    const key = await loadSigner(args);
    const reviewer = addressOf(key.publicKey);
    const dir = join(reqString(args, 'home'), 'worker');
    const path = journalPath(dir, reviewer);
    const journal = await readJournal(path);
    const entryKey = `${taskId}/${round}`;
    if (reveal) {
      const j = journal.reviews[entryKey];
      if (j === undefined) throw new AppError('NOT_FOUND', `${path} holds no committed verdict for task ${taskId} round ${round}; reveal with the home that committed it`);
      return withClient(args, (client) =>
        broadcastMsg(client, args, key, mode, () => ({ type: 'reveal_review', value: { taskId, round, approve: j.approve, salt: fromHex(j.salt) } })),
      );
    }
    const j = { approve: verdict === 'approve', salt: toHex(newReviewSalt()) };
    journal.reviews[entryKey] = j;
    await writeJournal(dir, path, journal);
    const commitment = reviewCommitment({ taskId, round, approve: j.approve, salt: fromHex(j.salt), reviewer });
    return withClient(args, (client) => broadcastMsg(client, args, key, mode, () => ({ type: 'commit_review', value: { taskId, round, commitment } })));
  },
};

export const txTaskBenchmarkCommand: Command = {
  name: 'benchmark',
  summary: "ask for a benchmark of the --from agent's claimed capabilities",
  usage: '--from NAME --home DIR [--node URL] [--sync|--async|--commit]',
  description: 'Signs MsgRequestBenchmark: the chain assigns the agent a seeded challenge due in tasks.benchmark_seconds; a committee reviews the answer; approved, the capabilities become verified.',
  options: { ...SIGNER_OPTIONS, ...BROADCAST_OPTIONS },
  async run(args) {
    const mode = checkBroadcastOptions(args);
    const key = await loadSigner(args);
    return withClient(args, (client) => broadcastMsg(client, args, key, mode, () => ({ type: 'request_benchmark', value: {} })));
  },
};

export const txTaskCommand: Command = {
  name: 'task',
  summary: 'tasks: submit, cancel, accept, result, review, appeal, benchmark',
  usage: '<command> [options]',
  options: {},
  subcommands: [txTaskSubmitCommand, txTaskCancelCommand, txTaskAcceptCommand, txTaskResultCommand, txTaskReviewCommand, txTaskAppealCommand, txTaskBenchmarkCommand],
};

function endorsementCommand(name: 'endorse' | 'revoke', summary: string, description: string): Command {
  return {
    name,
    summary,
    usage: 'AGENT --from NAME --home DIR [--node URL] [--sync|--async|--commit]',
    description,
    options: { ...SIGNER_OPTIONS, ...BROADCAST_OPTIONS },
    args: [{ name: 'AGENT', description: 'the agent: an address (40 hex characters) or a keyring key name', required: true }],
    async run(args) {
      const mode = checkBroadcastOptions(args);
      const key = await loadSigner(args);
      const subject = fromHex(await addressOrKey(args.positionals[0], args, 'AGENT'));
      return withClient(args, (client) =>
        broadcastMsg(client, args, key, mode, () => (name === 'endorse' ? { type: 'endorse', value: { subject } } : { type: 'revoke_endorsement', value: { subject } })),
      );
    },
  };
}

export const txReputationCommand: Command = {
  name: 'reputation',
  summary: 'social reputation: endorse an agent, or revoke an endorsement',
  usage: '<command> [options]',
  options: {},
  subcommands: [
    endorsementCommand('endorse', 'endorse an agent (social reputation)', 'Signs MsgEndorse. Its credit weighs by your own reputation and stake, decays like every dimension, counts nothing for a mutual pair, and you hold at most reputation.endorsement_max_per_endorser at once.'),
    endorsementCommand('revoke', 'revoke an endorsement you gave', 'Signs MsgRevokeEndorsement; it frees one of your endorsement slots.'),
  ],
};

/** `tx` with the task and reputation families (kept here so that tx.ts need not import this file). */
export const txCommandWithTasks: Command = { ...txCommand, subcommands: [...(txCommand.subcommands ?? []), txTaskCommand, txReputationCommand] };
