// Issue 8's costs on this machine: governance through the real executor on a real LevelDB state.
//
// For each agent count N: a chain with N registered agents (bond 10,000 ACC each) and one funded proposer. Timed end
// to end (App.applyBlock: execution, commitment, batch write): the block carrying a param_change proposal (its
// deposit threshold reads the circulating supply, its parameters are validated like a genesis file); the blocks of
// every agent's vote (500 per block); the end-block that tallies the proposal (every vote's weight and the total
// weight of every bond and stake are read at the tally: O(votes + agents)); and the end-block that executes it. Also,
// outside blocks: the live tally the `proposal` RPC computes while voting (tallyVotes) and minDeposit (the `supply`
// RPC's min_proposal_deposit).
//
// Usage: npm run bench:governance [-- --agents 100,1000,5000 --reps 5]   (= node bench/governance.ts)
// One JSON object on stdout; progress on stderr. About a minute on 2 cores.
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressOf, generateKeyPair, type KeyPair } from '../src/crypto/keys.ts';
import { toHex } from '../src/crypto/bytes.ts';
import { blsPublicKeyOfSeed } from '../src/crypto/bls.ts';
import { textProposal, type Msg } from '../src/codec/types.ts';
import { App } from '../src/state/app.ts';
import { buildGenesis } from '../src/state/genesis.ts';
import { defaultAppParams, DAY_SECONDS, UACC_PER_ACC } from '../src/state/params.ts';
import { readParams } from '../src/state/executor.ts';
import { minDeposit, tallyVotes } from '../src/state/governance/module.ts';
import { getProposal } from '../src/state/governance/store.ts';
import { fastAttestation, fastSignTx } from '../test/helpers/fast-sign.ts';
import { BENCH_CHAIN_ID, BENCH_GENESIS_TIME, log, seededAccounts, timedBlock } from './fixture.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '100,1000,5000' },
    reps: { type: 'string', default: '5' },
  },
});
const AGENT_COUNTS = values.agents.split(',').map(Number);
const REPS = Number(values.reps);
const chainId = BENCH_CHAIN_ID;
const SECOND = 1_000_000_000n;
const ACC = UACC_PER_ACC;
const VOTES_PER_BLOCK = 500;

const now = (): bigint => process.hrtime.bigint();
const msSince = (t: bigint): number => Number(now() - t) / 1e6;
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const median = (xs: number[]): number => round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);

interface Chain {
  app: App;
  validator: KeyPair;
  nonces: Map<string, bigint>;
}

function signed(c: Chain, k: KeyPair, msg: Msg): Uint8Array {
  const a = toHex(addressOf(k.publicKey));
  const nonce = c.nonces.get(a) ?? 0n;
  c.nonces.set(a, nonce + 1n);
  return fastSignTx({ chainId, nonce, gasLimit: 1_000_000n, gasPrice: 1n, memo: '', msg }, k);
}

/** Applies the next block `dt` after the head; only App.applyBlock is timed. */
async function block(c: Chain, txs: Uint8Array[], what: string, dt = SECOND): Promise<number> {
  return (await timedBlock(c.app, c.validator, txs, what, dt)).ms;
}

const NO_ACTION = textProposal('bench');

async function benchChain(n: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-gov-'));
  try {
    const keys = seededAccounts(n);
    const proposer = generateKeyPair(new Uint8Array(32).fill(0xbb));
    const authority = generateKeyPair(new Uint8Array(32).fill(0xcc));
    const validator = generateKeyPair(new Uint8Array(32).fill(0xaa));
    const params = defaultAppParams();
    params.agents.attestation_authorities = { bench: toHex(authority.publicKey) };
    params.governance.voting_seconds = 3_600n;
    params.governance.timelock_seconds = 600n;
    const genesis = buildGenesis({
      chainId,
      genesisTime: BENCH_GENESIS_TIME,
      validators: [{ name: 'v0', publicKey: validator.publicKey, blsPubKey: blsPublicKeyOfSeed(validator.secretKey) }],
      accounts: [
        ...keys.map((k) => ({ category: 'marketplace' as const, address: addressOf(k.publicKey), amount: 11_000n * ACC })),
        { category: 'marketplace' as const, address: addressOf(proposer.publicKey), amount: 10_000_000n * ACC },
      ],
      appParams: params,
    });
    const c: Chain = { app: await App.open(join(dir, 'state'), genesis), validator, nonces: new Map() };
    try {
      log(`governance: registering ${n} agents`);
      for (let i = 0; i < n; i += 500) {
        const issuedNs = c.app.head().time;
        const txs = keys.slice(i, i + 500).map((k) =>
          signed(c, k, {
            type: 'register_agent',
            value: {
              capabilities: { cpuCores: 1, gpuMemoryMb: 0n, llmTokensPerSecond: 0n, models: [], skills: [] },
              attestation: fastAttestation({ authority, chainId, agentPubKey: k.publicKey, issuedNs, expiresNs: issuedNs + 30n * DAY_SECONDS * SECOND }),
              bond: params.agents.bond,
            },
          }),
        );
        await block(c, txs, 'register_agent');
      }

      const state = c.app.store;
      const depositMs: number[] = [];
      let deposit = 0n;
      for (let r = 0; r < REPS; r++) {
        const t = now();
        deposit = await minDeposit(state, await readParams(state));
        depositMs.push(msSince(t));
      }
      // The circulating supply grows between blocks (emission reaches the validators), so pay a little above it.
      deposit += deposit / 1000n;
      const submit = signed(c, proposer, { type: 'submit_proposal', value: { ...NO_ACTION, deposit, paramChanges: [{ path: 'tasks.min_bounty', value: '"2000000"' }] } });
      const submitMs = await block(c, [submit], 'submit_proposal');
      const id = 1n;

      const voteBlockMs: number[] = [];
      for (let i = 0; i < n; i += VOTES_PER_BLOCK) {
        const txs = keys.slice(i, i + VOTES_PER_BLOCK).map((k, j) => signed(c, k, { type: 'vote', value: { proposalId: id, option: (i + j) % 4 === 3 ? 'no' : 'yes' } }));
        voteBlockMs.push(await block(c, txs, 'vote'));
      }
      const liveMs: number[] = [];
      for (let r = 0; r < REPS; r++) {
        const t = now();
        await tallyVotes(state, id);
        liveMs.push(msSince(t));
      }
      const emptyMs: number[] = [];
      for (let r = 0; r < REPS; r++) emptyMs.push(await block(c, [], 'empty'));

      // Jump to the voting end: the tally runs in this block's end-block.
      const p = (await getProposal(state, id))!;
      const tallyMs = await block(c, [], 'tally', p.votingEndNs - c.app.head().time);
      const tallied = (await getProposal(state, id))!;
      if (tallied.status !== 'passed') throw new Error(`the proposal should pass: ${tallied.outcome}`);
      const executeMs = await block(c, [], 'execute', tallied.executeNs - c.app.head().time);
      const executed = (await getProposal(state, id))!;
      if (executed.status !== 'executed' || (await readParams(state)).tasks.min_bounty !== 2_000_000n) throw new Error(`the proposal should have executed: ${executed.failure}`);
      const r = {
        agents: n,
        min_deposit_ms: median(depositMs),
        submit_proposal_block_ms: round(submitMs),
        vote_block_ms: { votes_per_block: Math.min(n, VOTES_PER_BLOCK), median: median(voteBlockMs), per_vote: round(median(voteBlockMs) / Math.min(n, VOTES_PER_BLOCK), 3) },
        live_tally_ms: median(liveMs),
        empty_block_ms: median(emptyMs),
        tally_block_ms: round(tallyMs),
        execute_block_ms: round(executeMs),
      };
      log(`governance ${n} agents: ${JSON.stringify(r)}`);
      return r;
    } finally {
      await c.app.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Record<string, unknown>[] = [];
for (const n of AGENT_COUNTS) results.push(await benchChain(n));
process.stdout.write(`${JSON.stringify({ bench: 'governance', node: process.version, cpus: (await import('node:os')).cpus().length, results }, null, 2)}\n`);
