// The agent worker (src/agent/worker.ts), in-process but with every part real: an App on LevelDB, the real Mempool,
// the real RPC server (the node's method tables: cometbft + abci + domain + tasks) with its EventBus, and the real
// RpcClient over HTTP and WebSocket. The test plays the block producer: it reaps the mempool, commits the block (stored
// whole, as the consensus host stores it, so `status` and the block events work), updates the mempool and publishes
// NewBlock, moving block time on to walk a task through its phases. Shell commands stand in for the executor and the
// reviewer and count their runs in a file.
// Why: the worker is the only thing between an agent's key and its slashable duties; what it must never do is run a
// command twice for one task, reveal a verdict other than the one it committed, lose a tx to a nonce mix-up, or stop
// working when its node connection drops. Each case below fails if the worker gets one of those wrong.
import t, { type Test } from 'tap';
import { readFileSync, existsSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { tempDir } from './helpers/tmp.ts';
import { storeWholeBlocks } from './helpers/whole-blocks.ts';
import {
  CAPS,
  Driver,
  addr,
  commitMsg,
  committee,
  fundValidators,
  inline,
  NO_REQUIREMENTS,
  ref,
  registerAgents,
  resultMsg,
  revealMsg,
  submitMsg,
  tasksFixture,
  verifyAgents,
} from './helpers/tasks.ts';
import { AppError } from '../src/errors.ts';
import { addressOf, type KeyPair } from '../src/crypto/keys.ts';
import { fromBase64, toBase64, toHex } from '../src/crypto/bytes.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { TxBodyCodec, TxCodec, type Msg, type TxResult } from '../src/codec/types.ts';
import type { App } from '../src/state/app.ts';
import type { BlockOutput } from '../src/state/executor.ts';
import type { AppParams } from '../src/state/params.ts';
import { Mempool } from '../src/mempool/mempool.ts';
import { defaultConfig } from '../src/node/config.ts';
import { EventBus } from '../src/rpc/events.ts';
import { RpcServer } from '../src/rpc/server.ts';
import { RpcClient, type TaskJSON } from '../src/rpc/client.ts';
import { cometbftMethods } from '../src/rpc/cometbft.ts';
import { abciMethods } from '../src/rpc/abci.ts';
import { allDomainMethods } from '../src/rpc/domain-tasks.ts';
import type { RpcContext } from '../src/rpc/context.ts';
import type { ChainEvent, MethodTable } from '../src/rpc/types.ts';
import { getTask } from '../src/tasks/queries.ts';
import { getMember, getRound, lastTaskId } from '../src/tasks/store.ts';
import { reviewCommitment } from '../src/tasks/commitment.ts';
import { Worker, journalPath, parseVerdict, readJournal, runCommand, workerEnv, writeJournal, RESEND_AFTER_BLOCKS, type WorkerOptions } from '../src/agent/worker.ts';

const hex = (k: KeyPair | Uint8Array): string => toHex(k instanceof Uint8Array ? k : addr(k));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

// ---------------------------------------------------------------------------------------------------------------
// The node the worker talks to
// ---------------------------------------------------------------------------------------------------------------

interface DecodedTx {
  signer: string;
  nonce: bigint;
  type: string;
  msg: Msg;
}

function decodeTx(tx: Uint8Array): DecodedTx {
  const wire = TxCodec.decode(tx);
  const body = TxBodyCodec.decode(wire.body);
  return { signer: hex(addressOf(wire.pubKey)), nonce: body.nonce, type: body.msg.type, msg: body.msg };
}

interface CommittedTx extends DecodedTx {
  height: bigint;
  result: TxResult;
}

/**
 * The world: one genesis validator v0 (an agent, unverified), users W (the worker's agent, verified, skill "w-skill"),
 * E (another executor, verified, skill "e-skill"), R (an agent, unverified: a reviewer the test plays), S (the
 * submitter, a plain account). A task needing "w-skill" goes to W; one needing "e-skill" to E, and its committee is
 * the whole pool {v0, W, R} (committee_min 3, the executor and the submitter excluded), so W always reviews it.
 */
class Net {
  readonly d: Driver;
  readonly app: App;
  readonly mempool: Mempool;
  readonly W: KeyPair;
  readonly E: KeyPair;
  readonly R: KeyPair;
  readonly S: KeyPair;
  readonly v0: KeyPair;
  bus = new EventBus();
  server!: RpcServer;
  port = 0;
  /** Every tx of every committed block, decoded, with its result. */
  readonly committed: CommittedTx[] = [];
  /** The last height of the setup (agents registered and verified): onChain counts only what came after. */
  setupHeight = 0n;
  /** Heights the `duties` method answered at (the worker's ticks, seen from the node). */
  readonly dutiesAt: bigint[] = [];
  /** Extra time broadcast_tx_sync takes before it answers (a node under load). */
  broadcastDelayMs = 0;
  readonly logs: string[] = [];
  readonly methods: MethodTable;
  private readonly workers = new Set<Worker>();
  private readonly clients = new Set<RpcClient>();
  private readonly cleanups: Array<() => Promise<void>>;

  private constructor(d: Driver, cleanups: Array<() => Promise<void>>) {
    this.d = d;
    this.app = d.app;
    this.cleanups = cleanups;
    [this.W, this.E, this.R, this.S] = d.fx.users;
    this.v0 = d.fx.validators[0];
    this.mempool = new Mempool({ app: this.app, size: 1_000, maxTxsBytes: 1 << 20 });
    const config = defaultConfig('worker-test');
    const ctx: RpcContext = {
      app: this.app,
      mempool: this.mempool,
      // Always the current bus (restartRpc makes a new one).
      events: { publish: (e: ChainEvent) => this.bus.publish(e), subscribe: (q, l) => this.bus.subscribe(q, l) },
      consensus: null,
      config,
      node: { id: 'cd'.repeat(20), listenAddr: 'tcp://127.0.0.1:26656', moniker: 'worker-test' },
      validator: { address: addr(this.v0), pubKey: this.v0.publicKey },
      peers: () => [],
      catchingUp: () => false,
    };
    const methods = { ...cometbftMethods(ctx), ...abciMethods(ctx), ...allDomainMethods(ctx) };
    const duties = methods.duties;
    // The real method; the heights it answered at tell the test the worker has looked at the latest block.
    methods.duties = {
      ...duties,
      handler: async (args, call) => {
        const r = (await duties.handler(args, call)) as { height: string };
        this.dutiesAt.push(BigInt(r.height));
        return r;
      },
    };
    const broadcast = methods.broadcast_tx_sync;
    methods.broadcast_tx_sync = {
      ...broadcast,
      handler: async (args, call) => {
        if (this.broadcastDelayMs > 0) await sleep(this.broadcastDelayMs);
        return broadcast.handler(args, call);
      },
    };
    this.methods = methods;
    // Every block, the Driver's (nextBlock) and produce()'s alike, is stored whole and its events published.
    storeWholeBlocks(this.app, this.mempool, () => this.bus, d.fx.validators, (input, out) => {
      input.txs.forEach((tx, i) => this.committed.push({ ...decodeTx(tx), height: input.height, result: out.txResults[i] }));
    });
  }

  static async open(t: Test, params?: (p: AppParams) => void): Promise<Net> {
    const cleanups: Array<() => Promise<void>> = [];
    const fx = tasksFixture({
      validators: 1,
      users: 5,
      params: (p) => {
        // Phases long enough for RESEND_AFTER_BLOCKS blocks of 1 s; tests jump block time to move on.
        Object.assign(p.tasks, { accept_seconds: 30n, commit_seconds: 20n, reveal_seconds: 20n });
        params?.(p);
      },
    });
    const d = await Driver.open(fx, (f) => cleanups.push(f));
    const n = new Net(d, cleanups);
    t.teardown(() => n.close());
    await n.startRpc(0);
    const [W, E, R] = d.fx.users;
    await fundValidators(d);
    await registerAgents(d, [W], { ...CAPS, skills: [...CAPS.skills, 'w-skill'] });
    await registerAgents(d, [E], { ...CAPS, skills: [...CAPS.skills, 'e-skill'] });
    await registerAgents(d, [R]);
    await verifyAgents(d, [W, E]);
    n.setupHeight = n.height;
    return n;
  }

  private async startRpc(port: number): Promise<void> {
    this.server = await RpcServer.start({
      laddr: `tcp://127.0.0.1:${port}`,
      methods: this.methods,
      events: this.bus,
      config: defaultConfig('worker-test').rpc,
      logger: pino({ level: 'silent' }),
    });
    this.port = Number(new URL(this.server.url).port);
  }

  /** Closes the RPC server (every WebSocket with it), runs `meanwhile`, and starts a new one (new event bus) on the same port. */
  async restartRpc(meanwhile: () => Promise<void>): Promise<void> {
    await this.server.close();
    this.bus = new EventBus();
    await meanwhile();
    await this.startRpc(this.port);
  }

  get height(): bigint {
    return this.app.head().height;
  }

  get time(): bigint {
    return this.app.head().time;
  }

  /** One block: what the mempool holds (as a proposer reaps it), then `txs` (the test's own, signed by the Driver). */
  produce(opts: { txs?: Uint8Array[]; time?: bigint } = {}): Promise<BlockOutput> {
    return this.d.block([...this.mempool.reap(1 << 20), ...(opts.txs ?? [])], { time: opts.time });
  }

  pooled(k: KeyPair, type?: string): DecodedTx[] {
    return this.mempool.list(1_000).map(decodeTx).filter((x) => x.signer === hex(k) && (type === undefined || x.type === type));
  }

  /** The txs of `k` (of `type`) committed after the setup. */
  onChain(k: KeyPair, type?: string): CommittedTx[] {
    return this.committed.filter((x) => x.height > this.setupHeight && x.signer === hex(k) && (type === undefined || x.type === type));
  }

  client(): RpcClient {
    const c = new RpcClient(this.server.url, { timeoutMs: 3_000 });
    this.clients.add(c);
    return c;
  }

  async startWorker(opts: Partial<WorkerOptions> & { dir: string; exec: string }): Promise<Worker> {
    const log = pino({ level: 'debug' }, { write: (s: string) => void this.logs.push(s.trim()) });
    const w = new Worker({ client: this.client(), key: this.W, log, ...opts });
    this.workers.add(w);
    await w.start();
    return w;
  }

  async stopWorker(w: Worker): Promise<void> {
    await w.stop();
    this.workers.delete(w);
  }

  /** Polls until `cond` holds; the error shows the worker's last log lines. */
  async waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 6_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; worker log:\n${this.logs.slice(-12).join('\n')}`);
      await sleep(15);
    }
  }

  /** Waits until the worker has put `count` txs of `type` in the mempool. */
  waitPooled(type: string, count = 1): Promise<void> {
    return this.waitFor(`${count} ${type} from W in the mempool`, () => this.pooled(this.W, type).length >= count);
  }

  /** Waits until the worker has read its duties at the latest height, then a little for anything it started. */
  async settled(): Promise<void> {
    const h = this.height;
    await this.waitFor(`the worker's duties read at height ${h}`, () => this.dutiesAt.some((x) => x >= h));
    await sleep(250);
  }

  /** Blocks, each once the worker has looked at the one before, until `cond` holds (at most `max` blocks). */
  async blocksUntil(what: string, cond: () => boolean | Promise<boolean>, max: number): Promise<void> {
    for (let i = 0; !(await cond()); i++) {
      if (i >= max) throw new Error(`${what}: not reached within ${max} blocks; worker log:\n${this.logs.slice(-12).join('\n')}`);
      await this.settled();
      await this.produce();
    }
  }

  task(id: bigint) {
    return getTask(this.app.store, id).then((x) => x!);
  }

  /** S submits a task; returns its id. */
  async submit(skill: string, input: string): Promise<bigint> {
    const requirements = { ...NO_REQUIREMENTS, skills: [skill] };
    const out = await this.produce({ txs: [await this.d.tx(this.S, submitMsg(this.d, { requirements, input: inline(input) }))] });
    const r = out.txResults[out.txResults.length - 1];
    if (r.code !== 0) throw new Error(`submit: ${r.log}`);
    return lastTaskId(this.app.store);
  }

  /** A task for E, accepted and with `output` as its result; returns its id once its committee is drawn. */
  async reviewable(output: string): Promise<bigint> {
    const id = await this.submit('e-skill', 'what is 6 x 7?');
    for (const msg of [ref('accept_task', id), resultMsg(id, output)]) {
      const out = await this.produce({ txs: [await this.d.tx(this.E, msg)] });
      const r = out.txResults[out.txResults.length - 1];
      if (r.code !== 0) throw new Error(`${msg.type}: ${r.log}`);
    }
    for (let i = 0; (await getRound(this.app.store, id, 0)) === undefined; i++) {
      if (i > 5) throw new Error('no committee drawn');
      await this.produce();
    }
    return id;
  }

  async close(): Promise<void> {
    for (const w of this.workers) await w.stop();
    for (const c of this.clients) await c.close().catch(() => undefined);
    await this.server.close();
    for (const f of this.cleanups) await f();
  }
}

/** A scratch directory for a worker's journal and the commands' count files, removed at the end of the test. */
function scratch(t: Test): string {
  const dir = tempDir('ac-worker-');
  t.teardown(() => dir.remove());
  return dir.path;
}

/** Lines of a count file (each run of a command appends its task id). */
const runs = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);

function caught(fn: () => unknown): AppError | undefined {
  try {
    fn();
  } catch (err) {
    return err as AppError;
  }
  return undefined;
}


/** The executor: upper-cases its input; "big" gives 300 bytes (over max_inline_bytes 256); logs its task id. */
const execCommand = (count: string): string =>
  `echo "$TASK_ID" >> '${count}'; if [ "$TASK_INPUT" = big ]; then head -c 300 /dev/zero | tr '\\0' x; else printf '%s' "$TASK_INPUT" | tr a-z A-Z; fi`;

/** The reviewer: approves only the answer 42; keeps its stdin; logs its task id. */
const reviewCommand = (count: string, stdinFile: string): string =>
  `echo "$TASK_ID" >> '${count}'; cat > '${stdinFile}'; if [ "$RESULT_OUTPUT" = 42 ]; then echo approve; else echo 'reject (not 42)'; fi`;

// ---------------------------------------------------------------------------------------------------------------
// 1. A task routed to the worker's agent
// ---------------------------------------------------------------------------------------------------------------

t.test('a task routed to the agent: accepted, executed once, its stdout submitted as the result', async (t) => {
  const dir = scratch(t); // registered first: torn down after the node and its workers
  const n = await Net.open(t);
  const count = join(dir, 'exec.count');
  await n.startWorker({ dir, exec: execCommand(count) });

  const id = await n.submit('w-skill', 'hello worker');
  t.equal(hex((await n.task(id)).assignee), hex(n.W), 'routed to W (the only verified agent with w-skill)');
  await n.waitPooled('accept_task');
  await n.produce();
  t.equal((await n.task(id)).status, 'accepted', 'the accept landed');

  await n.waitPooled('submit_result');
  const journal = await readJournal(journalPath(dir, addr(n.W)));
  t.equal(journal.results[id.toString()], toBase64(utf8('HELLO WORKER')), 'the result was journaled before its tx left');
  await n.produce();
  const task = await n.task(id);
  t.equal(task.status, 'awaiting_committee', 'the result is in');
  t.equal(text(task.output.inline), 'HELLO WORKER', 'the on-chain output is the command stdout');
  t.same(task.output.hash, sha256(utf8('HELLO WORKER')), 'the chain hashed the inline output');

  // A result over max_inline_bytes goes on chain as its sha256 only.
  const big = await n.submit('w-skill', 'big');
  await n.waitPooled('accept_task');
  await n.produce();
  await n.waitPooled('submit_result');
  await n.produce();
  const bigTask = await n.task(big);
  t.equal(bigTask.output.inline.length, 0, 'a 300-byte output is not inline (limit 256)');
  t.same(bigTask.output.hash, sha256(utf8('x'.repeat(300))), 'its sha256 is');

  // More blocks: the duty is gone, nothing is sent or run again.
  for (let i = 0; i < 3; i++) {
    await n.produce();
    await n.settled();
  }
  t.same(runs(count), [id.toString(), big.toString()], 'the executor ran once per task');
  t.same(n.onChain(n.W).map((x) => [x.type, x.result.code]), [
    ['accept_task', 0],
    ['submit_result', 0],
    ['accept_task', 0],
    ['submit_result', 0],
  ], 'exactly one accept and one result per task, all succeeded');
});

// ---------------------------------------------------------------------------------------------------------------
// 2. Committee duty
// ---------------------------------------------------------------------------------------------------------------

t.test('committee duty: the worker reviews, commits, reveals once the reveal phase opens, and its verdict counts', async (t) => {
  const dir = scratch(t);
  const n = await Net.open(t);
  const count = join(dir, 'review.count');
  const stdin = join(dir, 'review.stdin');
  await n.startWorker({ dir, exec: 'false', review: reviewCommand(count, stdin) });

  const id = await n.reviewable('41');
  const c = await committee(n.d, id, 0);
  t.same(c.members.map((m) => hex(m.reviewer)).sort(), [hex(n.v0), hex(n.W), hex(n.R)].sort(), 'W sits on the committee');

  // Commit phase: W commits (its review says reject), R commits approve, v0 stays silent.
  await n.waitPooled('commit_review');
  t.equal(n.pooled(n.W, 'reveal_review').length, 0, 'no reveal during the commit phase');
  await n.produce({ txs: [await n.d.tx(n.R, commitMsg(n.R, id, 0, true))] });
  const member = await getMember(n.app.store, id, 0, addr(n.W));
  t.ok(member !== undefined && member.commitment.length === 32, 'the chain holds W\'s commitment');
  const fed = JSON.parse(readFileSync(stdin, 'utf8')) as { task: TaskJSON; result: TaskJSON['result'] };
  t.equal(fed.task.id, id.toString(), 'the review command got the task on stdin');
  t.equal(text(fromBase64(fed.result!.output.inline)), '41', 'and the result');

  // Still in the commit phase: nothing to reveal yet.
  await n.produce();
  await n.settled();
  t.equal(n.pooled(n.W).length, 0, 'nothing sent before the reveal phase');

  // The reveal phase opens.
  await n.produce({ time: c.round.commitEndNs });
  await n.waitPooled('reveal_review');
  await n.produce({ txs: [await n.d.tx(n.R, revealMsg(n.R, id, 0, true))] });
  const revealed = (await getMember(n.app.store, id, 0, addr(n.W)))!;
  t.ok(revealed.revealed, 'the chain accepted W\'s reveal');
  t.equal(revealed.approve, false, 'the revealed verdict is the review command\'s (reject)');

  // Settles at the end of the reveal phase: 2 of 3 revealed (quorum 2), 1 approval: 3 x 1 < 2 x 2 -> rejected. Without
  // W's reveal it would be no_verdict, with an approval approved.
  await n.produce({ time: c.round.revealEndNs });
  const task = await n.task(id);
  t.equal(task.verdict, 'rejected', 'the task settled as the rules say with W\'s reject');
  const round = (await getRound(n.app.store, id, 0))!;
  t.same([round.committed, round.revealed, round.approvals], [2, 2, 1]);

  await n.produce();
  await n.settled();
  t.same(runs(count), [id.toString()], 'the review command ran once');
  t.same(n.onChain(n.W).map((x) => [x.type, x.result.code]), [
    ['commit_review', 0],
    ['reveal_review', 0],
  ], 'one commit and one reveal from W');
});

// ---------------------------------------------------------------------------------------------------------------
// 3. Restarts
// ---------------------------------------------------------------------------------------------------------------

t.test('restarts around a review: the lost commit resent from the journal, the reveal with the journaled verdict; one review', async (t) => {
  const dir = scratch(t);
  const n = await Net.open(t);
  const count = join(dir, 'review.count');
  const review = reviewCommand(count, join(dir, 'review.stdin'));
  const first = await n.startWorker({ dir, exec: 'false', review });
  const id = await n.reviewable('42');
  const c = await committee(n.d, id, 0);
  await n.waitPooled('commit_review');
  const sentCommit = n.pooled(n.W, 'commit_review')[0].msg as Extract<Msg, { type: 'commit_review' }>;
  // Stopped with its commit in the pool, which the node then loses: the commit never reaches a block.
  await n.stopWorker(first);
  n.mempool.flush();
  await n.produce({ txs: [await n.d.tx(n.R, commitMsg(n.R, id, 0, false))] });
  t.notOk((await getMember(n.app.store, id, 0, addr(n.W)))!.commitment.length, 'W has not committed on chain');

  // A second worker sends the same commitment again, from the journal, without reviewing again.
  const second = await n.startWorker({ dir, exec: 'false', review });
  await n.waitPooled('commit_review');
  await n.produce();
  const commitment = (await getMember(n.app.store, id, 0, addr(n.W)))!.commitment;
  t.same(commitment, sentCommit.value.commitment, 'W committed the commitment the first worker had sent');
  t.same(runs(count), [id.toString()], 'reviewed once so far');
  await n.stopWorker(second);

  // The reveal phase opens while no worker runs.
  await n.produce({ time: c.round.commitEndNs });
  const journal = await readJournal(journalPath(dir, addr(n.W)));
  const saved = journal.reviews[`${id}/0`];
  t.ok(saved !== undefined, 'the verdict and salt were journaled');

  const third = await n.startWorker({ dir, exec: 'false', review });
  await n.waitPooled('reveal_review');
  const reveal = n.pooled(n.W, 'reveal_review')[0].msg as Extract<Msg, { type: 'reveal_review' }>;
  t.equal(toHex(reveal.value.salt), saved.salt, 'the reveal carries the journaled salt');
  t.same(reviewCommitment({ taskId: id, round: 0, approve: reveal.value.approve, salt: reveal.value.salt, reviewer: addr(n.W) }), commitment, 'and matches the commitment on chain');
  await n.produce({ txs: [await n.d.tx(n.R, revealMsg(n.R, id, 0, false))] });
  const member = (await getMember(n.app.store, id, 0, addr(n.W)))!;
  t.ok(member.revealed, 'the chain accepted the reveal');
  t.equal(member.approve, true, 'with the verdict the first worker committed (42: approve)');

  await n.produce();
  await n.settled();
  t.same(runs(count), [id.toString()], 'the review command ran once across the three workers');
  t.same(n.onChain(n.W).map((x) => [x.type, x.result.code]), [
    ['commit_review', 0],
    ['reveal_review', 0],
  ], 'one commit and one reveal from W');
  t.equal(third.stats.commits, 0, 'the third worker had nothing to commit');
});

t.test('restart after the executor ran, its result lost from the mempool: resent from the journal, not recomputed', async (t) => {
  const dir = scratch(t);
  const n = await Net.open(t);
  const count = join(dir, 'exec.count');
  const first = await n.startWorker({ dir, exec: execCommand(count) });
  const id = await n.submit('w-skill', 'once only');
  await n.waitPooled('accept_task');
  await n.produce();
  await n.waitPooled('submit_result');
  await n.stopWorker(first);
  // The node lost the tx (a restart of the node, an eviction): it never reaches a block.
  n.mempool.flush();
  await n.produce();
  t.equal((await n.task(id)).resultHeight, 0n, 'no result on chain yet');

  await n.startWorker({ dir, exec: execCommand(count) });
  await n.waitPooled('submit_result');
  await n.produce();
  const task = await n.task(id);
  t.equal(text(task.output.inline), 'ONCE ONLY', 'the journaled result landed');
  await n.produce();
  await n.settled();
  t.same(runs(count), [id.toString()], 'the executor ran once');
  t.same(n.onChain(n.W, 'submit_result').map((x) => x.result.code), [0], 'one submit_result on chain');
});

t.test('restart while its result is still pending in the mempool: no second submit_result', async (t) => {
  const dir = scratch(t);
  const n = await Net.open(t);
  const count = join(dir, 'exec.count');
  const first = await n.startWorker({ dir, exec: execCommand(count) });
  const id = await n.submit('w-skill', 'pending');
  await n.waitPooled('accept_task');
  await n.produce();
  await n.waitPooled('submit_result');
  await n.stopWorker(first);

  // Restarted before any block: the tx is still in the pool.
  await n.startWorker({ dir, exec: execCommand(count) });
  await n.settled();
  await n.produce();
  t.equal(text((await n.task(id)).output.inline), 'PENDING', 'the result landed');
  for (let i = 0; i < 2; i++) {
    await n.produce();
    await n.settled();
  }
  t.same(runs(count), [id.toString()], 'the executor ran once');
  t.same(n.onChain(n.W, 'submit_result').map((x) => x.result.code), [0], 'exactly one submit_result on chain');
});

// ---------------------------------------------------------------------------------------------------------------
// 4. Reconnect and stop
// ---------------------------------------------------------------------------------------------------------------

t.test('the node\'s RPC restarts mid-run: the worker resubscribes and goes on with its duties', async (t) => {
  const dir = scratch(t);
  const n = await Net.open(t);
  const count = join(dir, 'exec.count');
  await n.startWorker({ dir, exec: execCommand(count) });
  await n.waitFor('the worker subscribed', () => n.bus.clientCount === 1);
  const a = await n.submit('w-skill', 'before');
  await n.waitPooled('accept_task');

  // Down for a moment, a block committed meanwhile (its event is lost to the worker).
  await n.restartRpc(async () => {
    await n.produce();
    await sleep(300);
  });
  t.equal((await n.task(a)).status, 'accepted');
  await n.waitFor('the worker resubscribed on the new server', () => n.bus.clientCount === 1, 6_000);
  await n.waitPooled('submit_result');
  await n.produce();
  t.equal(text((await n.task(a)).output.inline), 'BEFORE');

  // The new subscription drives it: a task in a block is accepted well within a poll period.
  const b = await n.submit('w-skill', 'after');
  const started = Date.now();
  await n.waitPooled('accept_task');
  t.ok(Date.now() - started < 1_500, `accepted ${Date.now() - started} ms after the block (poll period 2 s)`);
  await n.produce();
  await n.waitPooled('submit_result');
  await n.produce();
  t.equal(text((await n.task(b)).output.inline), 'AFTER');
  t.same(runs(count), [a.toString(), b.toString()], 'each task executed once');
  t.ok(n.onChain(n.W).every((x) => x.result.code === 0), 'every tx of W succeeded');
  t.equal(n.onChain(n.W).length, 4, 'two accepts and two results');
});

t.test('stop() leaves nothing behind: no subscription, no tick', async (t) => {
  const dir = scratch(t);
  const n = await Net.open(t);
  const count = join(dir, 'exec.count');
  const later = await n.startWorker({ dir, exec: execCommand(count) });
  await n.waitFor('the worker subscribed', () => n.bus.clientCount === 1);
  await n.stopWorker(later);
  await n.waitFor('the subscription gone', () => n.bus.clientCount === 0, 2_000);
  // Stopped while its first tick is still under way (reading status): that tick must not subscribe after the stop.
  const early = await n.startWorker({ dir, exec: execCommand(count) });
  await n.stopWorker(early);
  await sleep(300);
  t.equal(n.bus.clientCount, 0, 'no subscription left by a worker stopped during its first tick');
  // Nothing runs after stop(): a task for W stays unaccepted.
  const id = await n.submit('w-skill', 'nobody home');
  await sleep(2_200); // one poll period
  t.equal((await n.task(id)).status, 'assigned', 'no stopped worker accepted it');
  t.equal(n.pooled(n.W).length, 0, 'nothing sent');
});

// ---------------------------------------------------------------------------------------------------------------
// 5. Nonces
// ---------------------------------------------------------------------------------------------------------------

t.test('several duties in one block interval: consecutive nonces, all in the next block', async (t) => {
  const dir = scratch(t);
  const n = await Net.open(t);
  const count = join(dir, 'exec.count');
  // The three commands wait for each other, so they finish together and their three txs leave at the same moment.
  const barrier = `echo "$TASK_ID" >> '${count}'; while [ "$(wc -l < '${count}')" -lt 3 ]; do sleep 0.01; done; printf '%s' "$TASK_INPUT" | tr a-z A-Z`;
  const w = await n.startWorker({ dir, exec: barrier });
  n.broadcastDelayMs = 150; // broadcasts in flight overlap whenever two duties finish within 150 ms
  const requirements = { ...NO_REQUIREMENTS, skills: ['w-skill'] };
  const submits: Uint8Array[] = [];
  for (const input of ['one', 'two', 'three']) submits.push(await n.d.tx(n.S, submitMsg(n.d, { requirements, input: inline(input) })));
  await n.produce({ txs: submits });
  const last = await lastTaskId(n.app.store);
  const ids = [last - 2n, last - 1n, last];

  await n.waitPooled('accept_task', 3);
  let out = await n.produce();
  t.same(out.txResults.map((r) => r.code), [0, 0, 0], 'three accepts landed in one block');
  await n.waitPooled('submit_result', 3);
  const nonces = n.pooled(n.W).map((x) => x.nonce);
  t.same(nonces, [nonces[0], nonces[0] + 1n, nonces[0] + 2n], 'three results with consecutive nonces');
  t.equal(w.stats.errors, 0, 'none refused (no two signed with one nonce)');
  out = await n.produce();
  t.same(out.txResults.map((r) => r.code), [0, 0, 0], 'all three landed in the next block');
  for (const [i, id] of ids.entries()) t.equal(text((await n.task(id)).output.inline), ['ONE', 'TWO', 'THREE'][i]);
  t.same(runs(count).sort(), ids.map(String).sort(), 'each executed once (and all at once)');
});

t.test('a refused tx (a nonce gap after the mempool was flushed) is recovered with the account\'s next_nonce', async (t) => {
  const dir = scratch(t);
  const n = await Net.open(t);
  const count = join(dir, 'exec.count');
  const w = await n.startWorker({ dir, exec: execCommand(count) });
  const a = await n.submit('w-skill', 'first');
  await n.waitPooled('accept_task');
  const lostNonce = n.pooled(n.W)[0].nonce;
  n.mempool.flush(); // the accept of a is gone; the worker does not know

  // The next duty is signed with the nonce after the lost one: a gap, refused at admission.
  const b = await n.submit('w-skill', 'second');
  await n.waitFor('the refusal', () => w.stats.errors > 0);
  t.equal(n.pooled(n.W).length, 0, 'nothing of W in the pool');
  t.match(n.logs.join('\n'), /leaves a gap/, 'the node refused a nonce gap');

  // Both accepts are sent again (the refused one at once, the lost one after RESEND_AFTER_BLOCKS), then both results.
  await n.blocksUntil('both results on chain', async () => (await n.task(a)).resultHeight > 0n && (await n.task(b)).resultHeight > 0n, Number(RESEND_AFTER_BLOCKS) + 8);
  const mine = n.onChain(n.W);
  t.same(mine.map((x) => x.result.code), [0, 0, 0, 0], 'two accepts and two results, none failed on chain');
  t.same(mine.map((x) => x.nonce), [lostNonce, lostNonce + 1n, lostNonce + 2n, lostNonce + 3n], 'numbered from the lost nonce on: the next tx asked the account');
  t.same(mine.map((x) => x.type).sort(), ['accept_task', 'accept_task', 'submit_result', 'submit_result']);
  t.equal(text((await n.task(a)).output.inline), 'FIRST');
  t.equal(text((await n.task(b)).output.inline), 'SECOND');
  t.same(runs(count).sort(), [a, b].map(String).sort(), 'each executed once');
});

// ---------------------------------------------------------------------------------------------------------------
// 6. The pieces
// ---------------------------------------------------------------------------------------------------------------

t.test('parseVerdict', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['approve', true],
    ['approved', true],
    ['true', true],
    ['yes', true],
    ['accept', true],
    ['  APPROVE\n', true],
    ['Yes it is right', true],
    ['approve\nreasons follow', true],
    ['reject', false],
    ['rejected', false],
    ['false', false],
    ['no', false],
    ['REJECTED wrong answer', false],
    ['\tno\n', false],
  ];
  for (const [out, want] of cases) t.equal(parseVerdict(out), want, JSON.stringify(out));
  // Only the first whitespace-separated word counts, as it is: "reject:" or "yes," is no verdict.
  for (const out of ['', '   ', 'maybe', 'approves', 'reject: not 42', 'yes, fine', 'ok', '1', 'disapprove', 'x'.repeat(200)]) {
    const err = caught(() => parseVerdict(out));
    t.ok(err instanceof AppError && err.code === 'INVALID_FIELD', `${JSON.stringify(out.slice(0, 20))}: INVALID_FIELD`);
    t.match(err?.message, /^the review command printed ".*"; it must print "approve" or "reject"$/, 'a sentence saying what is expected');
    t.ok(err !== undefined && err.message.length < 140, 'quoting at most 60 characters of the output');
  }
});

t.test('runCommand', async (t) => {
  t.same(text(await runCommand('printf hello', '', {}, 5_000)), 'hello', 'stdout is returned');
  t.same(text(await runCommand('cat', '{"task":1}', {}, 5_000)), '{"task":1}', 'stdin is passed');
  t.same(text(await runCommand('printf %s "$FOO"', '', { FOO: 'bar baz' }, 5_000)), 'bar baz', 'env is passed');
  t.same(text(await runCommand('true', 'ignored', {}, 5_000)), '', 'a command that ignores its stdin');
  const big = await runCommand('head -c 3000000 /dev/zero', '', {}, 10_000);
  t.equal(big.length, 3_000_000, 'a large output whole');
  await t.rejects(runCommand('echo out; echo oops >&2; exit 3', '', {}, 5_000), /exited 3: oops/, 'non-zero exit rejects with its stderr');
  await t.rejects(runCommand('no-such-program-xyz', '', {}, 5_000), /exited 127: .*no-such-program-xyz.*not found/, 'a missing program: exit 127 and the shell\'s sentence');
  await t.rejects(runCommand('echo x', '', { PATH: '/nonexistent' }, 5_000), /could not run "echo x": spawn sh ENOENT/, 'no shell at all');
  const started = Date.now();
  await t.rejects(runCommand('exec sleep 5', '', {}, 200), /was killed \(SIGKILL, timeout 200 ms\)/, 'the timeout kills the command');
  t.ok(Date.now() - started < 2_000, `and ends it promptly (${Date.now() - started} ms)`);
});

t.test('runCommand: a timed-out command that started children is not waited for', async (t) => {
  const started = Date.now();
  await t.rejects(runCommand('sleep 2; echo late', '', {}, 200), /was killed/);
  const ms = Date.now() - started;
  t.ok(ms < 1_500, `rejected after ${ms} ms (timeout 200 ms; the shell's child sleeps 2 s)`);
});

t.test('workerEnv', async (t) => {
  const base = { id: '7', kind: 'task', input: { hash: null, uri: '', inline: toBase64(utf8('the input')) }, result: null } as unknown as TaskJSON;
  t.same(workerEnv(base), { TASK_ID: '7', TASK_KIND: 'task', TASK_INPUT: 'the input', RESULT_OUTPUT: '' });
  const withResult = { ...base, kind: 'benchmark', input: { hash: 'AB', uri: 'https://x', inline: '' }, result: { output: { hash: null, uri: '', inline: toBase64(utf8('42')) }, submitted_at: '', height: '3' } } as TaskJSON;
  t.same(workerEnv(withResult), { TASK_ID: '7', TASK_KIND: 'benchmark', TASK_INPUT: '', RESULT_OUTPUT: '42' }, 'no inline input: empty; the result output decoded');
  // A payload with NUL bytes (any bytes are valid on chain) must not stop the command from starting.
  const nul = { ...base, input: { hash: null, uri: '', inline: toBase64(utf8('a\0b')) } } as unknown as TaskJSON;
  t.equal(workerEnv(nul).TASK_INPUT, 'ab', 'NUL bytes dropped from the environment');
  const out = await runCommand('printf %s "$TASK_INPUT"; cat >/dev/null', JSON.stringify({ task: nul }), workerEnv(nul), 5_000);
  t.equal(text(out), 'ab', 'the command runs with it');
});

t.test('journal: path, missing, round trip, garbage', async (t) => {
  const dir = scratch(t);
  const address = new Uint8Array(20).fill(0xab);
  const path = journalPath(join(dir, 'worker'), address);
  t.equal(path, join(dir, 'worker', `journal-${'AB'.repeat(20)}.json`), 'one file per agent, named by its address');
  t.same(await readJournal(path), { results: {}, reviews: {} }, 'a missing journal is empty');
  const j = { results: { '3': toBase64(utf8('out')) }, reviews: { '4/0': { approve: true, salt: 'AA'.repeat(32) } } };
  await writeJournal(join(dir, 'worker'), path, j);
  t.same(await readJournal(path), j, 'what was written is read back');
  t.equal(statSync(path).mode & 0o777, 0o600, 'the journal (it holds salts) is private');
  writeFileSync(path, '{"results": {"3": "trunc');
  const err = await readJournal(path).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof AppError && err.code === 'BAD_CONFIG', 'garbage: BAD_CONFIG');
  t.ok((err as Error).message.includes(path), 'naming the file');
});
