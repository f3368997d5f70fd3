// Issue 7's costs on this machine: the randomness beacon, reputation decay, committee sampling, and tasks through the
// real executor on a real LevelDB state.
//
//   1. BLS beacon (src/crypto/bls.ts, as src/consensus/signer.ts and block.ts use it): deriving a validator's BLS key
//      from its ed25519 seed; signing a RANDAO reveal for a new height (message hash-to-curve included) and for a
//      height whose message point was prepared (prepareRandao, which the host runs during its commit wait); verifying
//      one: cold (new height, new public key), warm (message point and key cached: the pairing alone) and a hit of
//      randaoVerifyCached; the beacon mix (nextMix) and the beacon's begin-block hook on an overlay of a real state.
//   2. Reputation decay (src/reputation/decay.ts): ns per decay() call for random int64 values and random elapsed
//      times (0 to 4 half-lives of 90 days), for one block's elapsed second, and for whole half-lives (the shift path).
//   3. Committee sampling (src/tasks/sampling.ts, pure): sampleWeighted of 11 and of 100 from pools of 100, 1,000 and
//      10,000 agents weighted by selectionWeight.
//   4. Tasks through the executor: a chain with N registered agents (100 and 1,000), every one verified through a real
//      benchmark task (request, result, committee commit-reveal, finalization: not timed). Then, timed end to end
//      (App.applyBlock: execution, commitment, batch write): empty blocks; blocks of 100 submit_task txs (each routes
//      its task, scanning every agent, and pays tasks.ROUTE_GAS_PER_AGENT per agent); a block of every assignee's
//      accept_task and one of their submit_result; and the end-blocks that draw MAX_DRAWS_PER_BLOCK (32) committees
//      of 11 each. Also the scans themselves on the committed state: reading the agent list, building the weighted
//      pool (weightedAgents) and its per-agent reputation reads (with and without the social dimension).
//
// Usage: npm run bench:tasks [-- --agents 100,1000 --submit-blocks 5,3 --tasks-per-block 100 --reps 15]
//        (= node bench/tasks.ts; --submit-blocks: timed blocks of submissions per agent count, after one warm-up)
// One JSON object on stdout; progress and a short summary on stderr. About 2-3 minutes on 2 cores.
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressOf, generateKeyPair, type KeyPair } from '../src/crypto/keys.ts';
import { toHex } from '../src/crypto/bytes.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { blsPublicKey, blsPublicKeyOfSeed, blsPublicKeyProblem, blsSecretFromSeed, prepareRandao, randaoSign, randaoVerify, randaoVerifyCached } from '../src/crypto/bls.ts';
import type { Event, Msg } from '../src/codec/types.ts';
import { App } from '../src/state/app.ts';
import { buildGenesis } from '../src/state/genesis.ts';
import { defaultAppParams, DAY_SECONDS, type AppParams } from '../src/state/params.ts';
import { agents } from '../src/state/agents.ts';
import { beaconModule, currentBeacon, nextMix } from '../src/state/beacon.ts';
import { StateOverlay } from '../src/state/overlay.ts';
import type { BlockOutput } from '../src/state/executor.ts';
import type { HookContext } from '../src/state/module.ts';
import { decay } from '../src/reputation/decay.ts';
import { reputationOf, storedReputationOf } from '../src/reputation/reputation.ts';
import { socialOf } from '../src/reputation/endorsements.ts';
import { SCORE_ONE } from '../src/reputation/factor.ts';
import { sampleWeighted, selectionWeight, type Weighted } from '../src/tasks/sampling.ts';
import { MAX_DRAWS_PER_BLOCK, ROUTE_GAS_PER_AGENT, committeeSeed, selectCommittee, weightedAgents } from '../src/tasks/tasks.ts';
import { ACC, CAPS, SECOND, commitMsg, inline, NO_REQUIREMENTS, resultMsg, revealMsg, shortTaskParams } from '../test/helpers/tasks.ts';
import { fastAttestation, fastSignTx } from '../test/helpers/fast-sign.ts';
import { BENCH_CHAIN_ID, BENCH_GENESIS_TIME, benchReveal, log, seededAccounts, timedBlock } from './fixture.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '100,1000' },
    'submit-blocks': { type: 'string', default: '5,3' },
    'tasks-per-block': { type: 'string', default: '100' },
    reps: { type: 'string', default: '15' },
  },
});
const AGENT_COUNTS = values.agents.split(',').map(Number);
// Timed submit blocks per agent count (the last figure repeats); each chain runs one more first, as a warm-up.
const SUBMIT_BLOCKS = values['submit-blocks'].split(',').map(Number);
const submitBlocks = (i: number): number => SUBMIT_BLOCKS[Math.min(i, SUBMIT_BLOCKS.length - 1)];
const TASKS_PER_BLOCK = Number(values['tasks-per-block']);
const REPS = Number(values.reps);
const chainId = BENCH_CHAIN_ID;
const started = process.hrtime.bigint();

// ---------------------------------------------------------------------------------------------------------------
// timing helpers
// ---------------------------------------------------------------------------------------------------------------

const now = (): bigint => process.hrtime.bigint();
const msSince = (t: bigint): number => Number(now() - t) / 1e6;
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

interface Stats {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

/** Median, nearest-rank p95, min and max, rounded to `digits`. */
function stats(xs: readonly number[], digits = 2): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  const median = s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median: round(median, digits), p95: round(at(0.95), digits), min: round(s[0], digits), max: round(s[s.length - 1], digits) };
}

/** `warm` untimed calls, then `reps` timed ones (ms each); `fn(i)` gets the call's index (warm-ups first). */
function timeSync(reps: number, warm: number, fn: (i: number) => void): Stats {
  for (let i = 0; i < warm; i++) fn(i);
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = now();
    fn(warm + i);
    ms.push(msSince(t));
  }
  return stats(ms, 3);
}

async function timeAsync(reps: number, warm: number, fn: (i: number) => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < warm; i++) await fn(i);
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = now();
    await fn(warm + i);
    ms.push(msSince(t));
  }
  return stats(ms, 3);
}

/** ns per call of `fn` over `inputs`, `reps` passes after one warm pass: stats of the per-pass averages. */
function nsPerCall<T>(inputs: readonly T[], reps: number, fn: (x: T) => unknown): Stats {
  let sink = 0;
  const pass = (): number => {
    const t = now();
    for (const x of inputs) if (fn(x) !== undefined) sink++;
    return Number(now() - t) / inputs.length;
  };
  pass();
  const ns: number[] = [];
  for (let r = 0; r < reps; r++) ns.push(pass());
  if (sink < 0) log('unreachable');
  return stats(ns, 0);
}

/** A deterministic stream of pseudo-random bytes (sha256 in counter mode): the same inputs on every run. */
function rng(label: string): { bytes: () => Uint8Array; below: (n: bigint) => bigint; int: (n: number) => number } {
  let counter = 0;
  const bytes = (): Uint8Array => sha256(new TextEncoder().encode(`${label}/${counter++}`));
  const big = (): bigint => BigInt(`0x${toHex(bytes())}`);
  return { bytes, below: (n) => big() % n, int: (n) => Number(big() % BigInt(n)) };
}

// ---------------------------------------------------------------------------------------------------------------
// 1. BLS beacon
// ---------------------------------------------------------------------------------------------------------------

function benchBls(): Record<string, unknown> {
  log('1/4 BLS beacon');
  const seeds = seededAccounts(16 + REPS).map((k) => k.secretKey);
  const n = seeds.length; // 16 extra: the message-point cache holds 16 heights (see the cold verify below)
  const secrets: Uint8Array[] = [];
  const pubs: Uint8Array[] = [];
  blsPublicKey(blsSecretFromSeed(seeds[0])); // warm-up (the curve's lazy tables)
  const deriveSecret = timeSync(n, 0, (i) => secrets.push(blsSecretFromSeed(seeds[i])));
  const derivePublic = timeSync(n, 0, (i) => pubs.push(blsPublicKey(secrets[i])));
  const deriveBoth = timeSync(Math.min(n, 10), 1, (i) => blsPublicKeyOfSeed(seeds[i % n]));
  // Warm-up sign and verify on a height of their own, with the one key the cold runs below do not use.
  const warmHeight = 3_000_000n;
  const warmSig = randaoSign(secrets[n - 1], chainId, warmHeight);
  // Heights no earlier run of this process used, one per key: signing each computes its message point (hash to G2).
  const base = 1_000_000n;
  const sigs: Uint8Array[] = [];
  const signCold = timeSync(n, 0, (i) => sigs.push(randaoSign(secrets[i], chainId, base + BigInt(i))));
  if (!randaoVerify(pubs[n - 1], chainId, warmHeight, warmSig)) throw new Error('reveal did not verify');
  // The message-point cache keeps the last 16 heights it saw (base + REPS.. and the warm-up's), so heights
  // base..base + REPS - 1 are misses, and verifying them evicts only later ones; their keys were never verified.
  const verifyCold = timeSync(REPS, 0, (i) => {
    if (!randaoVerify(pubs[i], chainId, base + BigInt(i), sigs[i])) throw new Error('reveal did not verify');
  });
  const verifyWarm = timeSync(REPS, 1, (i) => {
    const j = i % REPS;
    if (!randaoVerify(pubs[j], chainId, base + BigInt(j), sigs[j])) throw new Error('reveal did not verify');
  });
  const signWarm = timeSync(REPS, 1, (i) => randaoSign(secrets[i % REPS], chainId, base + BigInt(i % REPS)));
  const hashToCurve = timeSync(REPS, 0, (i) => prepareRandao(chainId, 2_000_000n + BigInt(i)));
  const keyCheck = timeSync(REPS, 0, (i) => {
    if (blsPublicKeyProblem(pubs[i]) !== null) throw new Error('bad key');
  });
  randaoVerifyCached(pubs[0], chainId, base, sigs[0]);
  const cachedHit = nsPerCall(Array.from({ length: 2000 }, () => 0), 5, () => randaoVerifyCached(pubs[0], chainId, base, sigs[0]));
  const mixInputs = Array.from({ length: 20_000 }, (_, i) => sigs[i % n]);
  let mix: Uint8Array = new Uint8Array(32);
  const mixNs = nsPerCall(mixInputs, 5, (reveal) => (mix = nextMix(mix, reveal)));
  return {
    key_derivation_ms: { secret_from_seed: deriveSecret, public_key: derivePublic, both: deriveBoth },
    sign_reveal_ms: { new_height: signCold, prepared_height: signWarm },
    hash_to_curve_ms: hashToCurve,
    verify_reveal_ms: { cold_new_height_new_key: verifyCold, warm_pairing_only: verifyWarm, public_key_subgroup_check: keyCheck },
    verify_cached_hit_ns: cachedHit,
    next_mix_ns: mixNs,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. reputation decay
// ---------------------------------------------------------------------------------------------------------------

function benchDecay(): Record<string, unknown> {
  log('2/4 reputation decay');
  const halfLife = 90n * DAY_SECONDS * SECOND;
  const r = rng('decay');
  const value = (): bigint => r.below(1n << 64n) - (1n << 63n); // int64, both signs
  const n = 10_000;
  const random = Array.from({ length: n }, () => ({ v: value(), e: r.below(4n * halfLife) }));
  const oneBlock = Array.from({ length: n }, () => ({ v: value(), e: SECOND }));
  const whole = Array.from({ length: n }, () => ({ v: value(), e: BigInt(1 + r.int(40)) * halfLife }));
  // Stored reputation values (score x 2^20, scores up to 1,000 units) and one block's second: what the validator
  // dimension costs per block and signer.
  const stored = Array.from({ length: n }, () => ({ v: r.below(1000n * SCORE_ONE) << 20n, e: SECOND }));
  const f = (x: { v: bigint; e: bigint }): bigint => decay(x.v, x.e, halfLife);
  return {
    half_life_s: Number(90n * DAY_SECONDS),
    random_value_random_elapsed: nsPerCall(random, 7, f),
    random_value_one_second: nsPerCall(oneBlock, 7, f),
    stored_score_one_second: nsPerCall(stored, 7, f),
    whole_half_lives: nsPerCall(whole, 7, f),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 3. committee sampling
// ---------------------------------------------------------------------------------------------------------------

function benchSampling(): Record<string, unknown> {
  log('3/4 committee sampling');
  const out: Record<string, Stats> = {};
  for (const size of [100, 1_000, 10_000]) {
    const r = rng(`pool/${size}`);
    // Weights as routing makes them: SCORE_ONE for newcomers and negative scores, plus the positive score up to 9x.
    const pool: Array<Weighted<number>> = Array.from({ length: size }, (_, i) => ({ item: i, weight: selectionWeight(r.below(12n * SCORE_ONE) - 2n * SCORE_ONE) }));
    for (const k of [11, 100]) {
      const seeds = Array.from({ length: REPS + 3 }, () => r.bytes());
      out[`pool_${size}_k_${k}`] = timeSync(REPS, 3, (i) => {
        if (sampleWeighted(pool, k, seeds[i]).length !== k) throw new Error('short committee');
      });
    }
  }
  return { ms: out };
}

// ---------------------------------------------------------------------------------------------------------------
// 4. tasks through the executor
// ---------------------------------------------------------------------------------------------------------------

const attr = (e: Event, key: string): string => e.attributes.find((a) => a.key === key)?.value ?? '';
const eventsOf = (evs: readonly Event[], type: string): Event[] => evs.filter((e) => e.type === type);
const BOUNTY = 800n * ACC; // committee_min 3 + 800 / 100 = 11 members

function chainParams(): AppParams {
  const p = defaultAppParams();
  shortTaskParams(p); // committees of 3 for the benchmarks, appeal window 10 s
  Object.assign(p.tasks, {
    committee_max: 100n, // a task's committee: 3 + bounty / 100 ACC, so 11 for BOUNTY
    accept_seconds: 600n, // no accept timer fires while we measure
    commit_seconds: 600n, // nor a settlement: the timed draw blocks only draw
    reveal_seconds: 600n,
  });
  return p;
}

interface Chain {
  app: App;
  validator: KeyPair;
  keyring: Map<string, KeyPair>;
  nonces: Map<string, bigint>;
}

function signed(c: Chain, k: KeyPair, msg: Msg, gasLimit = 1_000_000n): Uint8Array {
  const a = toHex(addressOf(k.publicKey));
  const nonce = c.nonces.get(a) ?? 0n;
  c.nonces.set(a, nonce + 1n);
  return fastSignTx({ chainId, nonce, gasLimit, gasPrice: 1n, memo: '', msg }, k);
}

/** Applies the next block (dt after the head); only App.applyBlock is timed (reveal and last commit made before). */
function block(c: Chain, txs: Uint8Array[], what: string, dt = SECOND): Promise<{ out: BlockOutput; ms: number }> {
  return timedBlock(c.app, c.validator, txs, what, dt);
}

/** Registers `keys` as agents and verifies every one through a real benchmark task whose committee approves it. */
async function registerAndVerify(c: Chain, keys: KeyPair[], authority: KeyPair, params: AppParams): Promise<number> {
  const t0 = now();
  let blocks = 0;
  for (let i = 0; i < keys.length; i += 500) {
    const issuedNs = c.app.head().time;
    const txs = keys.slice(i, i + 500).map((k) =>
      signed(c, k, {
        type: 'register_agent',
        value: { capabilities: CAPS, attestation: fastAttestation({ authority, chainId, agentPubKey: k.publicKey, issuedNs, expiresNs: issuedNs + 30n * DAY_SECONDS * SECOND }), bond: params.agents.bond },
      }),
    );
    await block(c, txs, 'register_agent');
    blocks++;
  }
  const requested = await block(c, keys.map((k) => signed(c, k, { type: 'request_benchmark', value: {} })), 'request_benchmark');
  const ids = requested.out.txResults.map((r) => BigInt(attr(eventsOf(r.events, 'benchmark_requested')[0], 'task')));
  await block(c, keys.map((k, i) => signed(c, k, resultMsg(ids[i], 'benchmark answer'))), 'benchmark results');
  blocks += 2;
  // Every member commits approve in the block after its draw; once every committee is drawn and committed, one block
  // (its time past the last commit phase) carries every reveal; then blocks until every benchmark is finalized.
  let commits: Uint8Array[] = [];
  const reveals: Array<[KeyPair, bigint]> = [];
  let lastCommitEnd = 0n;
  let drawn = 0;
  let finalized = 0;
  let revealed = false;
  while (finalized < keys.length) {
    let txs: Uint8Array[] = commits;
    let dt = SECOND;
    commits = [];
    if (revealed) {
      dt = params.tasks.appeal_seconds * SECOND; // settlements, then finalizations when the appeal windows close
    } else if (drawn === keys.length && txs.length === 0) {
      txs = reveals.map(([k, id]) => signed(c, k, revealMsg(k, id, 0, true)));
      dt = lastCommitEnd + SECOND - c.app.head().time; // inside every committee's reveal phase
      revealed = true;
    }
    const { out } = await block(c, txs, 'benchmark review', dt);
    blocks++;
    const time = c.app.head().time;
    for (const e of eventsOf(out.endBlockEvents, 'committee_drawn')) {
      const id = BigInt(attr(e, 'task'));
      for (const m of attr(e, 'members').split(',').filter((x) => x !== '')) {
        const k = c.keyring.get(m)!;
        commits.push(signed(c, k, commitMsg(k, id, 0, true)));
        reveals.push([k, id]);
      }
      drawn++;
      lastCommitEnd = time + params.tasks.commit_seconds * SECOND;
    }
    for (const e of eventsOf(out.endBlockEvents, 'task_finalized')) {
      if (attr(e, 'verdict') !== 'approved') throw new Error(`benchmark ${attr(e, 'task')} finalized ${attr(e, 'verdict')}`);
      finalized++;
    }
  }
  for (const k of keys) if (!(await agents.get(c.app.store, addressOf(k.publicKey)))!.capabilitiesVerified) throw new Error('agent not verified');
  log(`  ${keys.length} agents registered and verified in ${blocks} blocks, ${(msSince(t0) / 1000).toFixed(1)} s`);
  return blocks;
}

async function benchChain(nAgents: number, timedSubmitBlocks: number): Promise<Record<string, unknown>> {
  log(`4/4 tasks through the executor, ${nAgents} agents`);
  const params = chainParams();
  const authority = seededAccounts(1)[0];
  const all = seededAccounts(nAgents + TASKS_PER_BLOCK + 1).slice(1);
  const agentKeys = all.slice(0, nAgents);
  const submitters = all.slice(nAgents);
  const validator = generateKeyPair(new Uint8Array(32).fill(0xaa)); // benchGenesis's validator key
  params.agents.attestation_authorities = { bench: toHex(authority.publicKey) };
  const genesis = buildGenesis({
    chainId,
    genesisTime: BENCH_GENESIS_TIME,
    validators: [{ name: 'v0', publicKey: validator.publicKey, blsPubKey: blsPublicKeyOfSeed(validator.secretKey) }],
    accounts: [validator, ...all].map((k) => ({ category: 'marketplace' as const, address: addressOf(k.publicKey), amount: 100_000n * ACC })),
    appParams: params,
  });
  const dir = mkdtempSync(join(tmpdir(), 'ac-bench-'));
  const app = await App.open(join(dir, 'state'), genesis);
  try {
    const c: Chain = { app, validator, keyring: new Map([validator, ...all].map((k) => [toHex(addressOf(k.publicKey)), k])), nonces: new Map() };
    const setupBlocks = await registerAndVerify(c, agentKeys, authority, params);
    const agentRecords = (await agents.all(app.store)).length;

    // Empty blocks: the fixed cost (economics, beacon, an end-block with nothing due).
    const empty: number[] = [];
    for (let i = 0; i < 4; i++) empty.push((await block(c, [], 'empty')).ms);

    // Blocks of submit_task (the first is a warm-up).
    const submitMs: number[] = [];
    const gas = new Set<bigint>();
    const assigned: Array<{ id: bigint; assignee: string }> = [];
    let submitWrites = 0;
    for (let b = 0; b <= timedSubmitBlocks; b++) {
      const deadline = app.head().time + SECOND + 1800n * SECOND;
      const txs = submitters.map((k) =>
        signed(c, k, { type: 'submit_task', value: { requirements: NO_REQUIREMENTS, bounty: BOUNTY, deadline, input: inline(`summarize: block ${b}`) } }),
      );
      const { out, ms } = await block(c, txs, 'submit_task');
      if (b > 0) submitMs.push(ms);
      submitWrites = out.state.length;
      for (const r of out.txResults) {
        gas.add(r.gasUsed);
        const e = eventsOf(r.events, 'task_assigned')[0];
        assigned.push({ id: BigInt(attr(e, 'task')), assignee: attr(e, 'assignee') });
      }
    }
    const distinctAssignees = new Set(assigned.map((a) => a.assignee)).size;

    // Every assignee accepts, then submits its result: all the draws fall due at the same height.
    const accept = await block(c, assigned.map((a) => signed(c, c.keyring.get(a.assignee)!, { type: 'accept_task', value: { taskId: a.id } })), 'accept_task');
    const results = await block(c, assigned.map((a) => signed(c, c.keyring.get(a.assignee)!, resultMsg(a.id))), 'submit_result');
    const drawHeight = BigInt(attr(eventsOf(results.out.txResults[0].events, 'task_result')[0], 'committee_height'));
    while (app.head().height + 1n < drawHeight) empty.push((await block(c, [], 'empty')).ms);

    // The draw blocks: MAX_DRAWS_PER_BLOCK committees each until every task has its committee.
    const drawMs: number[] = [];
    const sizes = new Set<number>();
    let drawnTotal = 0;
    let partial: { committees: number; ms: number } | undefined;
    while (drawnTotal < assigned.length) {
      const { out, ms } = await block(c, [], 'draw');
      const drawn = eventsOf(out.endBlockEvents, 'committee_drawn');
      for (const e of drawn) sizes.add(Number(attr(e, 'size')));
      drawnTotal += drawn.length;
      if (drawn.length === MAX_DRAWS_PER_BLOCK) drawMs.push(ms);
      else partial = { committees: drawn.length, ms: round(ms) };
      if (drawn.length === 0) throw new Error('no committee drawn');
    }
    for (let i = 0; i < 3; i++) empty.push((await block(c, [], 'empty')).ms);

    // The scans, on the committed state at the head's time.
    const t = app.head().time;
    const list = await agents.all(app.store);
    const scanAgents = await timeAsync(5, 1, () => agents.all(app.store));
    const pool = await weightedAgents(app.store, params, t);
    const buildPool = await timeAsync(5, 1, () => weightedAgents(app.store, params, t, () => true, list));
    const repFull = await timeAsync(5, 1, async () => {
      for (const [, a] of list) await reputationOf(app.store, params, a.address, t);
    });
    const repStored = await timeAsync(5, 1, async () => {
      for (const [, a] of list) await storedReputationOf(app.store, params, a.address, t);
    });
    const social = await timeAsync(5, 1, async () => {
      for (const [, a] of list) await socialOf(app.store, params, a.address, t);
    });
    // The pool as a submit_task builds it: from a tx overlay forked off the block's overlay (reads cached, warm), with
    // no writes in the block yet and with as many as one block of submissions leaves (unrelated keys: entries()
    // looks at every write of every overlay below it).
    const inBlock = async (writes: number): Promise<Stats> => {
      const blockState = new StateOverlay(app.store, { cacheReads: true });
      for (let i = 0; i < writes; i++) blockState.set(Uint8Array.of(0xfe, i >> 16, (i >> 8) & 0xff, i & 0xff), Uint8Array.of(1));
      return timeAsync(5, 1, () => weightedAgents(blockState.fork(), params, t));
    };
    const inBlockNoWrites = await inBlock(0);
    const inBlockWithWrites = await inBlock(submitWrites);
    const mix = (await currentBeacon(app.store))!.mix;
    const select = timeSync(REPS, 2, (i) => selectCommittee(pool, [], 11, committeeSeed(mix, BigInt(i), 0)));

    // The beacon's begin-block hook on an overlay of this state (one read, two writes and a delete).
    const overlay = new StateOverlay(app.store);
    const head = app.head();
    const reveal = benchReveal(validator, head.height + 1n);
    const hookCtx = (h: bigint): HookContext => ({
      chainId,
      height: h,
      time: head.time + (h - head.height) * SECOND,
      proposer: addressOf(validator.publicKey),
      lastCommit: [],
      evidence: [],
      randaoReveal: reveal,
      state: overlay,
      params,
      events: [],
      validatorUpdates: [],
    });
    const beaconHook = await timeAsync(200, 20, (i) => beaconModule.beginBlock!(hookCtx(head.height + 1n + BigInt(i))));

    const emptyStats = stats(empty);
    const submitStats = stats(submitMs);
    const drawStats = stats(drawMs);
    const perAgent = (s: Stats): number => round((s.median * 1000) / list.length, 2);
    return {
      agents: nAgents,
      agent_records: agentRecords,
      setup_blocks: setupBlocks,
      empty_block_ms: emptyStats,
      submit_block: {
        txs: TASKS_PER_BLOCK,
        ms: submitStats,
        per_task_ms: round(submitStats.median / TASKS_PER_BLOCK, 3),
        per_task_over_empty_ms: round((submitStats.median - emptyStats.median) / TASKS_PER_BLOCK, 3),
        tasks_per_s: Math.round((TASKS_PER_BLOCK * 1000) / submitStats.median),
        distinct_assignees: distinctAssignees,
      },
      submit_task_gas: [...gas].map(Number),
      routing_gas: Number(ROUTE_GAS_PER_AGENT) * agentRecords,
      accept_block: { txs: assigned.length, ms: round(accept.ms) },
      result_block: { txs: assigned.length, ms: round(results.ms) },
      draw_block: {
        committees: MAX_DRAWS_PER_BLOCK,
        committee_sizes: [...sizes],
        ms: drawStats,
        per_committee_over_empty_ms: round((drawStats.median - emptyStats.median) / MAX_DRAWS_PER_BLOCK, 3),
        last_partial: partial,
      },
      scans_ms: {
        agents_all: scanAgents,
        weighted_pool: buildPool,
        weighted_pool_us_per_agent: perAgent(buildPool),
        reputation_of_every_agent: repFull,
        stored_reputation_of_every_agent: repStored,
        social_of_every_agent: social,
        pool_in_block_overlay_no_writes: inBlockNoWrites,
        pool_in_block_overlay_with_writes: { writes: submitWrites, ms: inBlockWithWrites },
        select_committee_11: select,
      },
      beacon_begin_block_ms: beaconHook,
    };
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------

const result: Record<string, unknown> = { bench: 'tasks', node: process.version };
result.bls = benchBls();
result.decay = benchDecay();
result.sampling = benchSampling();
const chains: Array<Record<string, unknown>> = [];
for (const [i, n] of AGENT_COUNTS.entries()) chains.push(await benchChain(n, submitBlocks(i)));
result.chain = chains;
type ChainFigures = { agents: number; submit_block: { per_task_over_empty_ms: number }; submit_task_gas: number[]; draw_block: { ms: Stats }; scans_ms: { weighted_pool: Stats } };
if (chains.length >= 2) {
  // How the costs grow from the fewest agents to the most.
  const [lo, hi] = [chains[0] as ChainFigures, chains[chains.length - 1] as ChainFigures];
  const ratio = (a: number, b: number): number => round(b / a, 1);
  result.growth = {
    agents: `${lo.agents} -> ${hi.agents}`,
    agents_x: ratio(lo.agents, hi.agents),
    submit_per_task_x: ratio(lo.submit_block.per_task_over_empty_ms, hi.submit_block.per_task_over_empty_ms),
    submit_gas_x: ratio(lo.submit_task_gas[0], hi.submit_task_gas[0]),
    draw_block_x: ratio(lo.draw_block.ms.median, hi.draw_block.ms.median),
    weighted_pool_x: ratio(lo.scans_ms.weighted_pool.median, hi.scans_ms.weighted_pool.median),
  };
}
result.total_s = round(msSince(started) / 1000, 1);
process.stdout.write(`${JSON.stringify(result)}\n`);

const b = result.bls as { sign_reveal_ms: { new_height: Stats }; verify_reveal_ms: { warm_pairing_only: Stats }; next_mix_ns: Stats };
const d = result.decay as { random_value_random_elapsed: Stats };
const s = (result.sampling as { ms: Record<string, Stats> }).ms;
log(`bls: sign ${b.sign_reveal_ms.new_height.median} ms (new height), verify ${b.verify_reveal_ms.warm_pairing_only.median} ms (pairing), mix ${b.next_mix_ns.median} ns`);
log(`decay: ${d.random_value_random_elapsed.median} ns/call; sampling 11 of 10,000: ${s.pool_10000_k_11.median} ms, 100 of 10,000: ${s.pool_10000_k_100.median} ms`);
for (const ch of chains as Array<{ agents: number; empty_block_ms: Stats; submit_block: { ms: Stats; per_task_over_empty_ms: number }; submit_task_gas: number[]; draw_block: { ms: Stats }; scans_ms: { weighted_pool: Stats } }>) {
  log(
    `${ch.agents} agents: empty block ${ch.empty_block_ms.median} ms, ${TASKS_PER_BLOCK} submits ${ch.submit_block.ms.median} ms (${ch.submit_block.per_task_over_empty_ms} ms/task over empty, gas ${ch.submit_task_gas.join('/')}), ` +
      `32 draws ${ch.draw_block.ms.median} ms, pool build ${ch.scans_ms.weighted_pool.median} ms`,
  );
}
log(`done in ${result.total_s} s`);
