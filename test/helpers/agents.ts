// Fixtures for the agents, staking and slashing tests: a genesis with several validators, an attestation authority,
// funded users, and a small driver that signs messages with the right nonces and applies blocks on a real LevelDB.
import { addressOf, generateKeyPair, type KeyPair } from '../../src/crypto/keys.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { signTx } from '../../src/codec/tx.ts';
import type { Attestation, Capabilities, Evidence, Msg, TxResult, Vote } from '../../src/codec/types.ts';
import { VoteType } from '../../src/codec/types.ts';
import { voteSignBytes } from '../../src/codec/signbytes.ts';
import { sign } from '../../src/crypto/keys.ts';
import { buildGenesis, type Genesis } from '../../src/state/genesis.ts';
import { defaultAppParams, UACC_PER_ACC, type AppParams } from '../../src/state/params.ts';
import { issueAuthorityAttestation } from '../../src/state/attestation.ts';
import { getAccount } from '../../src/state/accounts.ts';
import { checkSupply } from '../../src/state/economics.ts';
import type { App } from '../../src/state/app.ts';
import type { BlockOutput } from '../../src/state/executor.ts';
import type { CommitVote } from '../../src/state/module.ts';
import { CHAIN_ID, GENESIS_TIME, SECOND, allSigned, genesisValidator, nextBlock, openApp } from './chain.ts';

export const ACC = UACC_PER_ACC;
export const DAY = 86_400n * SECOND;

export const key = (n: number): KeyPair => generateKeyPair(new Uint8Array(32).fill(n));
export const addr = (k: KeyPair): Uint8Array => addressOf(k.publicKey);

export interface AgentsFixture {
  genesis: Genesis;
  validators: KeyPair[];
  users: KeyPair[];
  authority: KeyPair;
}

/** `validators` genesis validators (stake 1,000,000 ACC each), `users` accounts with 100,000 ACC, an authority. */
export function agentsFixture(opts: { validators?: number; users?: number; params?: (p: AppParams) => void } = {}): AgentsFixture {
  const validators = Array.from({ length: opts.validators ?? 3 }, (_, i) => key(1 + i));
  const users = Array.from({ length: opts.users ?? 4 }, (_, i) => key(40 + i));
  const authority = key(99);
  const appParams = defaultAppParams();
  appParams.agents.attestation_authorities = { test: toHex(authority.publicKey) };
  appParams.staking.epoch_blocks = 5n;
  opts.params?.(appParams);
  const genesis = buildGenesis({
    chainId: CHAIN_ID,
    genesisTime: GENESIS_TIME,
    validators: validators.map((v, i) => genesisValidator(`v${i}`, v)),
    accounts: users.map((u) => ({ category: 'marketplace' as const, address: addr(u), amount: 100_000n * ACC })),
    team: [{ address: addr(key(98)), amount: (appParams.supply.total_supply * appParams.supply.distribution_bps.team) / 10_000n }],
    appParams,
  });
  return { genesis, validators, users, authority };
}

export const CAPS: Capabilities = { cpuCores: 16, gpuMemoryMb: 24_576n, llmTokensPerSecond: 900n, models: ['llama-3-70b'], skills: ['code-review', 'summarize'] };

/** Drives an App: signs one message per tx with the signer's next nonce, applies blocks, checks the supply each time. */
export class Driver {
  readonly app: App;
  readonly fx: AgentsFixture;
  private readonly nonces = new Map<string, bigint>();

  private constructor(app: App, fx: AgentsFixture) {
    this.app = app;
    this.fx = fx;
  }

  static async open(fx: AgentsFixture, teardown: (f: () => Promise<void>) => void): Promise<Driver> {
    const { app, cleanup } = await openApp(fx.genesis);
    teardown(cleanup);
    return new Driver(app, fx);
  }

  get params(): AppParams {
    return this.fx.genesis.appParams;
  }

  get time(): bigint {
    return this.app.head().time;
  }

  /** An authority attestation for `agent`, valid from the head's time for `validFor` (default 30 days). */
  attest(agent: KeyPair, over: { chainId?: string; issuedNs?: bigint; expiresNs?: bigint; authority?: KeyPair; agentPubKey?: Uint8Array } = {}): Attestation {
    const issuedNs = over.issuedNs ?? this.time;
    return issueAuthorityAttestation({
      authority: over.authority ?? this.fx.authority,
      chainId: over.chainId ?? CHAIN_ID,
      agentPubKey: over.agentPubKey ?? agent.publicKey,
      issuedNs,
      expiresNs: over.expiresNs ?? issuedNs + 30n * DAY,
    });
  }

  async tx(from: KeyPair, msg: Msg, gasLimit = 500_000n): Promise<Uint8Array> {
    const a = toHex(addr(from));
    const nonce = this.nonces.get(a) ?? (await getAccount(this.app.store, addr(from))).nonce;
    this.nonces.set(a, nonce + 1n);
    return signTx({ chainId: CHAIN_ID, nonce, gasLimit, gasPrice: 1n, memo: '', msg }, from);
  }

  /** Applies a block (one second after the head unless `time` is given) and checks the supply invariant after it. */
  async block(txs: Uint8Array[] = [], opts: { time?: bigint; lastCommit?: CommitVote[]; evidence?: Evidence[]; proposer?: KeyPair } = {}): Promise<BlockOutput> {
    // Proposed (and its beacon reveal signed) by the first validator unless the test names another.
    const out = await nextBlock(this.app, txs, opts.proposer ?? this.fx.validators[0], opts);
    await checkSupply(this.app.store);
    // A failed tx still bumped its nonce if it passed the ante checks; resync from the state.
    this.nonces.clear();
    return out;
  }

  /** One tx in its own block; returns its result. */
  async run(from: KeyPair, msg: Msg, opts: { time?: bigint; gasLimit?: bigint } = {}): Promise<{ result: TxResult; out: BlockOutput }> {
    const out = await this.block([await this.tx(from, msg, opts.gasLimit)], { time: opts.time });
    return { result: out.txResults[0], out };
  }

  /** Blocks until the height is a multiple of staking.epoch_blocks (an epoch boundary's block included). */
  async toEpoch(): Promise<BlockOutput[]> {
    const outs: BlockOutput[] = [];
    do outs.push(await this.block());
    while (this.app.head().height % this.params.staking.epoch_blocks !== 0n);
    return outs;
  }

  signedByAll(): Promise<CommitVote[]> {
    return allSigned(this.app);
  }
}

/** A real duplicate vote: two signed prevotes of `validator` for different blocks at one height and round. */
export function duplicateVote(validator: KeyPair, height: bigint, power: bigint, totalPower: bigint, time: bigint): Evidence {
  const vote = (hashByte: number): Vote => {
    const v: Vote = {
      type: VoteType.PREVOTE,
      height,
      round: 0,
      blockId: { hash: new Uint8Array(32).fill(hashByte), partSetHeader: { total: 1, hash: new Uint8Array(32).fill(hashByte) } },
      timestamp: time,
      validatorAddress: addr(validator),
      validatorIndex: 0,
      signature: new Uint8Array(64),
    };
    return { ...v, signature: sign(voteSignBytes(CHAIN_ID, v), validator.secretKey) };
  };
  return { type: 'duplicate_vote_evidence', value: { voteA: vote(1), voteB: vote(2), totalVotingPower: totalPower, validatorPower: power, timestamp: time } };
}

export { GENESIS_TIME, SECOND, CHAIN_ID };
