// The agent worker behind `agentcluster agent run`: it follows the chain over WebSocket and does the agent's duties.
//   - a task routed to it: accept it, run the executor command with the task as JSON on stdin, submit its stdout;
//   - committee duty: run the review command with the task and the result on stdin, commit H(verdict, salt) and,
//     once the reveal phase opens, reveal.
// Any language plugs in through stdin / stdout (see workerEnv for the environment the commands also get).
//
// Restarts and reconnects never double-submit: every decision (a result, a verdict and its salt) is written to the
// journal (fsync) before its tx is broadcast, and the chain is the source of truth for what is still to do (the
// `duties` RPC lists only what the agent has not yet done). A tx broadcast but not yet in a block is not sent again
// until RESEND_AFTER_BLOCKS blocks have passed without the duty going away (it was dropped: send it again, same
// content). A restarted worker reads the journal and so never runs a command twice for one task, nor reveals a
// verdict other than the one it committed.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import { addressOf, type KeyPair } from '../crypto/keys.ts';
import { fromBase64, fromHex, toBase64, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { signTx } from '../codec/tx.ts';
import type { Msg, Payload, TxBody } from '../codec/types.ts';
import { newReviewSalt, reviewCommitment } from '../tasks/commitment.ts';
import { ensureDir, PRIVATE_DIR_MODE, SECRET_FILE_MODE, writeFileSafe } from '../node/fsutil.ts';
import { estimateGas } from '../cli/tx.ts';
import { parseUint, type DutiesJSON, type ReviewDutyJSON, type RpcClient, type TaskJSON } from '../rpc/client.ts';
import { parseTime } from '../codec/time.ts';
import type { AppParamsJSON } from '../state/genesis.ts';

/** A broadcast tx whose duty is still listed after this many blocks is sent again (it was dropped or failed). */
export const RESEND_AFTER_BLOCKS = 5n;
/** Largest command output kept: a result above tasks.max_inline_bytes goes on chain as its sha256 only. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** How long a command may run when the task gives no earlier bound. */
const COMMAND_TIMEOUT_MS = 10 * 60_000;
/** Commands (executions and reviews) one worker runs at once. */
const MAX_COMMANDS = 4;
/** A tick also runs on this period, in case the WebSocket misses a block. */
const POLL_MS = 2_000;

export interface Journal {
  /** task id -> the output submitted (base64); kept while the task awaits its result */
  results: Record<string, string>;
  /** "task/round" -> the verdict committed, its salt (hex) and the block time it was decided at (RFC 3339); kept
   * until the round's reveal phase is surely over */
  reviews: Record<string, { approve: boolean; salt: string; at?: string }>;
}

/** The journal file of one agent in `dir` (HOME/worker): the worker and `tx task review` share it. */
export function journalPath(dir: string, address: Uint8Array): string {
  return join(dir, `journal-${toHex(address)}.json`);
}

export async function readJournal(path: string): Promise<Journal> {
  try {
    const j = JSON.parse(await readFile(path, 'utf8')) as Journal;
    if (typeof j?.results !== 'object' || j.results === null || typeof j.reviews !== 'object' || j.reviews === null) throw new Error('it holds no {results, reviews} object');
    return j;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { results: {}, reviews: {} };
    throw new AppError('BAD_CONFIG', `the worker journal ${path} is unreadable (${(err as Error).message}); move it away only if no commit of this agent awaits its reveal`);
  }
}

/** Durable (fsync, atomic rename) before it returns: a commit is only sent once its verdict and salt are safe. */
export async function writeJournal(dir: string, path: string, journal: Journal): Promise<void> {
  await ensureDir(dir, PRIVATE_DIR_MODE);
  await writeFileSafe(path, JSON.stringify(journal), { mode: SECRET_FILE_MODE, overwrite: true });
}

export interface WorkerOptions {
  client: RpcClient;
  key: KeyPair;
  /** Shell command run per task (stdin: {"task": ...}); its stdout is the result. */
  exec: string;
  /** Shell command run per review (stdin: {"task": ..., "result": ...}); stdout "approve" or "reject". */
  review?: string;
  /** Directory of the journal (HOME/worker). */
  dir: string;
  log: Logger;
}

export interface WorkerStats {
  accepted: number;
  results: number;
  commits: number;
  reveals: number;
  errors: number;
}

export class Worker {
  readonly address: Uint8Array;
  readonly stats: WorkerStats = { accepted: 0, results: 0, commits: 0, reveals: 0, errors: 0 };
  private readonly opts: WorkerOptions;
  private readonly journalPath: string;
  private journal: Journal = { results: {}, reviews: {} };
  /** duty key -> the height it was last broadcast at */
  private readonly sent = new Map<string, bigint>();
  /** duty keys whose command is running */
  private readonly running = new Set<string>();
  private nextNonce: bigint | null = null;
  private firstTick = true;
  /** The journal write in progress (they are serialized, each writing the journal as it is when it runs). */
  private saving: Promise<void> = Promise.resolve();
  /** A journal write waiting for the one in progress; later changes join it. */
  private queuedSave: Promise<void> | null = null;
  /** Commands running now, and the duties waiting for one to end. */
  private commands = 0;
  private readonly slots: Array<() => void> = [];
  /** The broadcast in progress (they are serialized). */
  private sending: Promise<void> = Promise.resolve();
  private chainId = '';
  /** The block time of the latest duties read (RFC 3339): the journal's clock. */
  private lastTime = '';
  private params: AppParamsJSON | null = null;
  private ticking = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(opts: WorkerOptions) {
    this.opts = opts;
    this.address = addressOf(opts.key.publicKey);
    this.journalPath = journalPath(opts.dir, this.address);
  }

  async start(): Promise<void> {
    this.journal = await readJournal(this.journalPath);
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.kick();
  }

  /** Stops ticking, waits for the tick and the commands under way (their txs still go out), then unsubscribes. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    while (this.ticking || this.running.size > 0) await new Promise((r) => setTimeout(r, 50));
    await this.sending;
    await this.saving;
    if (this.unsubscribe !== null) await this.unsubscribe().catch(() => undefined);
    this.unsubscribe = null;
  }

  /** Runs a tick now, or right after the one in progress. */
  private kick(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    void this.tick()
      .catch((err: Error) => {
        this.stats.errors++;
        this.opts.log.warn({ err: err.message }, 'worker tick failed; retrying on the next block');
      })
      .finally(() => {
        this.ticking = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** (Re)subscribes to new blocks; a lost connection falls back to polling until the next tick resubscribes. */
  private async follow(): Promise<void> {
    if (this.unsubscribe !== null || this.stopped) return;
    const unsubscribe = await this.opts.client.subscribe(
      "tm.event='NewBlock'",
      () => this.kick(),
      (err) => {
        this.unsubscribe = null;
        this.opts.log.warn({ err: err.message }, 'lost the node subscription; polling until it is back');
      },
    );
    if (this.stopped) await unsubscribe().catch(() => undefined);
    else this.unsubscribe = unsubscribe;
  }

  private async tick(): Promise<void> {
    const client = this.opts.client;
    if (this.chainId === '') this.chainId = (await client.status()).node_info.network;
    await this.currentParams();
    await this.follow().catch((err: Error) => this.opts.log.debug({ err: err.message }, 'subscribe failed; polling'));
    if (this.stopped) return;
    const duties = await client.duties(this.address);
    const height = parseUint(duties.height, 'height');
    this.lastTime = duties.time;
    await this.prune(duties);
    if (this.firstTick) {
      this.firstTick = false;
      // A restart while txs of this agent wait in the mempool (next_nonce above nonce): the duties they do are still
      // listed, so count them as sent now; one that does not land within RESEND_AFTER_BLOCKS is sent again.
      const account = await client.account(this.address);
      if (parseUint(account.next_nonce, 'next_nonce') > parseUint(account.nonce, 'nonce')) {
        for (const key of dutyKeys(duties)) this.sent.set(key, height);
        this.opts.log.info({ pending: account.next_nonce }, 'txs of this agent are pending in the mempool; their duties wait before being sent again');
      }
    }
    if (this.stopped) return;
    const due = (key: string): boolean => {
      if (this.running.has(key)) return false;
      const at = this.sent.get(key);
      return at === undefined || height >= at + RESEND_AFTER_BLOCKS;
    };
    for (const task of duties.accept) {
      const key = `accept/${task.id}`;
      if (!due(key)) continue;
      if (await this.tryBroadcast(key, height, { type: 'accept_task', value: { taskId: BigInt(task.id) } })) this.stats.accepted++;
    }
    for (const task of duties.execute) {
      const key = `result/${task.id}`;
      if (due(key)) this.background(key, height, () => this.execute(task));
    }
    for (const duty of duties.commit) {
      const key = `commit/${duty.task.id}/${duty.round}`;
      if (due(key)) this.background(key, height, () => this.commit(duty));
    }
    for (const duty of duties.reveal) {
      const key = `reveal/${duty.task.id}/${duty.round}`;
      if (!due(key)) continue;
      const j = this.journal.reviews[`${duty.task.id}/${duty.round}`];
      if (j === undefined) {
        this.opts.log.error({ task: duty.task.id, round: duty.round }, 'cannot reveal: the journal has no verdict for this commit (was the journal removed?)');
        this.sent.set(key, height + 1_000_000n);
        continue;
      }
      const reveal: Msg = { type: 'reveal_review', value: { taskId: BigInt(duty.task.id), round: duty.round, approve: j.approve, salt: fromHex(j.salt) } };
      if (await this.tryBroadcast(key, height, reveal)) this.stats.reveals++;
    }
  }

  /**
   * Keeps the journal and the resend table small on a long run. A result is dropped once its task no longer awaits
   * it (the result landed, or the deadline passed); a verdict once its round's commit and reveal phases are over
   * for certain (decided more than commit_seconds + reveal_seconds ago, block time), since between its commit and
   * the reveal phase a round is in neither list of duties. A resend entry goes with its duty.
   */
  private async prune(duties: DutiesJSON): Promise<void> {
    const now = parseTime(duties.time);
    const tasks = (await this.currentParams()).tasks;
    const horizon = (BigInt(tasks.commit_seconds) + BigInt(tasks.reveal_seconds)) * 1_000_000_000n;
    const open = new Set(dutyKeys(duties));
    let changed = false;
    for (const id of Object.keys(this.journal.results)) {
      if (open.has(`result/${id}`) || this.running.has(`result/${id}`)) continue;
      delete this.journal.results[id];
      changed = true;
    }
    for (const [key, j] of Object.entries(this.journal.reviews)) {
      if (j.at === undefined) {
        j.at = duties.time; // written by an older worker or by `tx task review`: start its clock now
        changed = true;
      } else if (now - parseTime(j.at) > horizon && !open.has(`reveal/${key}`)) {
        delete this.journal.reviews[key];
        changed = true;
      }
    }
    for (const key of this.sent.keys()) if (!open.has(key) && !this.running.has(key)) this.sent.delete(key);
    if (changed) await this.saveJournal();
  }

  /** A broadcast whose refusal is logged (and retried on the next block) without holding up the tick's other duties. */
  private async tryBroadcast(key: string, height: bigint, msg: Msg): Promise<boolean> {
    try {
      await this.broadcast(key, height, msg);
      return true;
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      this.stats.errors++;
      this.opts.log.warn({ duty: key, err: err.message }, 'duty refused; it is sent again on the next block');
      return false;
    }
  }

  /** Runs a duty that needs a command off the tick, so that a slow command does not hold up the others. */
  private background(key: string, height: bigint, work: () => Promise<Msg>): void {
    this.running.add(key);
    void work()
      .then((msg) => this.broadcast(key, height, msg))
      .catch((err: Error) => {
        this.stats.errors++;
        this.opts.log.warn({ duty: key, err: err.message }, 'duty failed; it is retried on a later block');
        // A refused tx is sent again on the next block (with a fresh nonce); a failed command waits a few blocks.
        if (err instanceof Refused) this.sent.delete(key);
        else this.sent.set(key, height);
      })
      .finally(() => this.running.delete(key));
  }

  /**
   * Runs `fn` when fewer than MAX_COMMANDS commands run: a burst of duties (a hundred committee seats drawn at once)
   * would otherwise start a hundred processes together and make every one of them late for its phase.
   */
  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.commands >= MAX_COMMANDS) await new Promise<void>((r) => this.slots.push(r));
    this.commands++;
    try {
      return await fn();
    } finally {
      this.commands--;
      this.slots.shift()?.();
    }
  }

  private async execute(task: TaskJSON): Promise<Msg> {
    const id = task.id;
    let output = this.journal.results[id];
    if (output === undefined) {
      const stdout = await this.limited(() => runCommand(this.opts.exec, JSON.stringify({ task }), workerEnv(task), timeoutFor(this.lastTime, task)));
      output = toBase64(stdout);
      this.journal.results[id] = output;
      await this.saveJournal();
    }
    this.stats.results++;
    return { type: 'submit_result', value: { taskId: BigInt(id), output: await this.payloadOf(fromBase64(output)) } };
  }

  private async commit(duty: ReviewDutyJSON): Promise<Msg> {
    const id = duty.task.id;
    const jkey = `${id}/${duty.round}`;
    let j = this.journal.reviews[jkey];
    if (j === undefined) {
      const review = this.opts.review;
      if (review === undefined) throw new AppError('BAD_CONFIG', `drawn to review task ${id} but no --review command was given; such duties go unrevealed and are slashed`);
      const result = duty.task.result;
      const stdout = await this.limited(() => runCommand(review, JSON.stringify({ task: duty.task, result }), workerEnv(duty.task), timeoutFor(this.lastTime, duty.task, duty.ends)));
      j = { approve: parseVerdict(new TextDecoder().decode(stdout)), salt: toHex(newReviewSalt()), at: this.lastTime };
      this.journal.reviews[jkey] = j;
      await this.saveJournal(); // before the commit leaves: the reveal must match it after any restart
    }
    this.stats.commits++;
    const commitment = reviewCommitment({ taskId: BigInt(id), round: duty.round, approve: j.approve, salt: fromHex(j.salt), reviewer: this.address });
    return { type: 'commit_review', value: { taskId: BigInt(id), round: duty.round, commitment } };
  }

  /** The chain's params, read again after a refusal (they change by governance). */
  private async currentParams(): Promise<AppParamsJSON> {
    this.params ??= await this.opts.client.params();
    return this.params;
  }

  /** Output inline when it fits the chain's limit, else by its sha256 only. */
  private async payloadOf(output: Uint8Array): Promise<Payload> {
    const max = BigInt((await this.currentParams()).tasks.max_inline_bytes);
    if (BigInt(output.length) <= max && output.length > 0) return { hash: new Uint8Array(0), uri: '', inline: output };
    return { hash: sha256(output), uri: '', inline: new Uint8Array(0) };
  }

  /**
   * Writes the journal as it is when the write starts. Writes run one at a time, and callers arriving while one waits
   * to start share it (a burst of commits costs one fsync, not one each); each caller resolves only once a write that
   * started after its change is on disk.
   */
  private saveJournal(): Promise<void> {
    if (this.queuedSave !== null) return this.queuedSave;
    const saved = this.saving.then(() => {
      this.queuedSave = null;
      return writeJournal(this.opts.dir, this.journalPath, this.journal);
    });
    this.queuedSave = saved;
    this.saving = saved.catch(() => undefined);
    return saved;
  }

  /**
   * Signs and broadcasts one message with the next nonce. Broadcasts run one at a time (duties finish concurrently,
   * and two txs must never be signed with the same nonce); after a refusal the nonce is asked of the node again.
   */
  private broadcast(key: string, height: bigint, msg: Msg): Promise<void> {
    const sent = this.sending.then(() => this.sendNow(key, height, msg));
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  private async sendNow(key: string, height: bigint, msg: Msg): Promise<void> {
    const client = this.opts.client;
    const params = await this.currentParams();
    if (this.nextNonce === null) this.nextNonce = parseUint((await client.account(this.address)).next_nonce, 'account next_nonce');
    const body: TxBody = { chainId: this.chainId, nonce: this.nextNonce, gasLimit: 1n, gasPrice: BigInt(params.fees.min_gas_price), memo: '', msg };
    const tx = signTx({ ...body, gasLimit: estimateGas(params, body, this.opts.key) }, this.opts.key);
    this.sent.set(key, height);
    const r = await client.broadcastTxSync(tx);
    if (r.code !== 0) {
      this.nextNonce = null; // whatever the cause, the next tx asks the node for the nonce again
      this.params = null; // and the params (governance may have raised the gas price)
      this.sent.delete(key);
      throw new Refused(`the node refused ${msg.type} (${key}): ${r.log}`);
    }
    this.nextNonce++;
    this.opts.log.info({ duty: key, tx: r.hash }, `sent ${msg.type}`);
  }
}

/** The key of each duty listed (the `sent` and `running` tables' keys). */
function dutyKeys(d: DutiesJSON): string[] {
  return [
    ...d.accept.map((t) => `accept/${t.id}`),
    ...d.execute.map((t) => `result/${t.id}`),
    ...d.commit.map((r) => `commit/${r.task.id}/${r.round}`),
    ...d.reveal.map((r) => `reveal/${r.task.id}/${r.round}`),
  ];
}

/** The node refused a tx at admission (CheckTx): nothing was spent; the duty is tried again on the next block. */
class Refused extends AppError {
  constructor(message: string) {
    super('INTERNAL', message);
  }
}

/**
 * Environment for the commands besides the JSON on stdin: the plain-text essentials, for shell one-liners. An
 * environment value cannot hold a NUL byte (the command would not start at all), so NULs are dropped here; the
 * exact bytes are in the stdin JSON (base64).
 */
export function workerEnv(task: TaskJSON): Record<string, string> {
  const text = (b64: string | undefined): string => (b64 === undefined || b64 === '' ? '' : new TextDecoder().decode(fromBase64(b64)).replaceAll('\0', ''));
  return { TASK_ID: task.id, TASK_KIND: task.kind, TASK_INPUT: text(task.input.inline), RESULT_OUTPUT: text(task.result?.output.inline) };
}

/** "approve" / "reject" (or true / false, yes / no) as the first word of the review command's output. */
export function parseVerdict(stdout: string): boolean {
  const word = stdout.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  if (['approve', 'approved', 'true', 'yes', 'accept'].includes(word)) return true;
  if (['reject', 'rejected', 'false', 'no'].includes(word)) return false;
  throw new AppError('INVALID_FIELD', `the review command printed ${JSON.stringify(stdout.slice(0, 60))}; it must print "approve" or "reject"`);
}

/** Time left until `ends` (or the task's deadline), by the chain's clock (the latest block time `now`, RFC 3339). */
function timeoutFor(now: string, task: TaskJSON, ends?: string): number {
  const left = Date.parse(ends ?? task.deadline) - Date.parse(now);
  return Math.max(1_000, Math.min(COMMAND_TIMEOUT_MS, Number.isFinite(left) ? left : COMMAND_TIMEOUT_MS));
}

/**
 * Runs `sh -c command` with `stdin`; resolves with stdout when it exits 0, rejects with its stderr otherwise. The
 * command runs in its own process group, so a timeout (or too much output) kills everything it started, not only the
 * shell: a child left behind would hold the output pipe open and the duty with it.
 */
export function runCommand(command: string, stdin: string, env: Record<string, string>, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    const killAll = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL'); // the group is gone already
      }
    };
    const timer = setTimeout(killAll, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_OUTPUT_BYTES) killAll();
      else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 2000) err += b.toString('utf8');
    });
    child.stdin.on('error', () => undefined); // a command that ignores its stdin closes the pipe early
    child.stdin.end(stdin);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new AppError('INTERNAL', `could not run ${JSON.stringify(command)}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(new Uint8Array(Buffer.concat(out)));
      else if (size > MAX_OUTPUT_BYTES) reject(new AppError('INTERNAL', `${JSON.stringify(command)} wrote more than ${MAX_OUTPUT_BYTES} bytes`));
      else reject(new AppError('INTERNAL', `${JSON.stringify(command)} ${signal !== null ? `was killed (${signal}, timeout ${timeoutMs} ms)` : `exited ${code}`}: ${err.trim().slice(0, 500)}`));
    });
  });
}
