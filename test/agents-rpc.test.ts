// The issue 6 RPC methods on a real chain: agents registered, staked, deregistered, jailed and tombstoned by real
// signed txs and blocks (App on LevelDB), then `agent`, `agents`, `validator` and `validators` checked field by field
// against the state records, with paging, every filter, not found and bad parameters; the typed client over a real
// HTTP server returns the same JSON.
import t from 'tap';
import type { Test } from 'tap';
import { join } from 'node:path';
import pino from 'pino';
import { addressOf, type KeyPair } from '../src/crypto/keys.ts';
import { toBase64, toHex } from '../src/crypto/bytes.ts';
import { signTx } from '../src/codec/tx.ts';
import { formatTime } from '../src/codec/time.ts';
import type { Capabilities, Evidence, Msg, Vote } from '../src/codec/types.ts';
import { VoteType } from '../src/codec/types.ts';
import { App, defaultModules } from '../src/state/app.ts';
import type { Module } from '../src/state/module.ts';
import { agents, GENESIS_ATTESTATION, markCapabilitiesVerified } from '../src/state/agents.ts';
import { getAccount } from '../src/state/accounts.ts';
import { validators, JAILED_FOREVER } from '../src/state/validators.ts';
import { unbondings } from '../src/state/bonds.ts';
import { allSlashEscrows, signingInfos } from '../src/state/slashing.ts';
import { checkSupply } from '../src/state/economics.ts';
import { issueAuthorityAttestation } from '../src/state/attestation.ts';
import { UACC_PER_ACC } from '../src/state/params.ts';
import { DEFAULT_VALIDATOR_STAKE } from '../src/state/genesis.ts';
import { FACTOR_ONE, reputationFactor, SCORE_ONE } from '../src/reputation/factor.ts';
import { reputationView } from '../src/reputation/view.ts';
import { RpcCode, type Args, type MethodTable } from '../src/rpc/types.ts';
import { domainMethods, factorDecimal } from '../src/rpc/domain.ts';
import { RpcServer } from '../src/rpc/server.ts';
import { EventBus } from '../src/rpc/events.ts';
import { RpcClient, RpcClientError } from '../src/rpc/client.ts';
import { defaultConfig } from '../src/node/config.ts';
import { CHAIN_ID, SECOND, allSigned, blsKeyOf, fixture, nextBlock, seededKey, type Fixture } from './helpers/chain.ts';
import { RpcChain } from './helpers/rpc-chain.ts';
import { stateOnlyRpcContext } from './helpers/rpc-context.ts';
import { tempDir } from './helpers/tmp.ts';
import { call, rpcError } from './helpers/inproc.ts';

const ACC = UACC_PER_ACC;
const DAY = 86_400n * SECOND;
const addr = (k: KeyPair): Uint8Array => addressOf(k.publicKey);
const hex = (k: KeyPair): string => toHex(addr(k));

// ---------------------------------------------------------------------------------------------------------------
// The chain: a genesis listing a test authority, agents registered and staked with real signed txs
// ---------------------------------------------------------------------------------------------------------------

const authority = seededKey(99);
const EPOCH = 4n;
const WINDOW = 4n;

const GPU_CAPS: Capabilities = { cpuCores: 32, gpuMemoryMb: 81_920n, llmTokensPerSecond: 1_200n, models: ['llama-3-70b', 'mixtral-8x7b'], skills: ['code-review', 'summarize'] };
const CPU_CAPS: Capabilities = { cpuCores: 8, gpuMemoryMb: 0n, llmTokensPerSecond: 40n, models: ['mistral-7b'], skills: ['summarize', 'translate'] };
const NO_CAPS: Capabilities = { cpuCores: 0, gpuMemoryMb: 0n, llmTokensPerSecond: 0n, models: [], skills: [] };

interface World {
  fx: Fixture;
  app: App;
  table: MethodTable;
  /** Agents by role. */
  alice: KeyPair; // GPU agent, validator (consensus key aliceCons), jailed for downtime
  aliceCons: KeyPair;
  bob: KeyPair; // CPU agent, capabilities verified
  carol: KeyPair; // deregistered: bond unbonding
  dave: KeyPair; // staked then unstaked everything: stake unbonding, validator unbonded
  eve: KeyPair; // never registered
  frank: KeyPair; // validator, tombstoned for double-signing
  gina: KeyPair; // attestation expired
  /** Heights at which things happened. */
  heights: Record<string, bigint>;
}

/** The verification hook of issue 7's benchmark, driven by the test: marks queued agents verified at end-block. */
function verifierModule(queue: Uint8Array[]): Module {
  return {
    name: 'test-verifier',
    async endBlock(ctx) {
      for (const a of queue.splice(0)) await markCapabilitiesVerified(ctx.state, a, ctx.time);
    },
  };
}

async function world(t: Test): Promise<World> {
  const fx = fixture({
    users: 7,
    fund: 100_000n * ACC,
    params: (p) => {
      p.agents.attestation_authorities = { test: toHex(authority.publicKey) };
      p.staking.epoch_blocks = EPOCH;
      p.slashing.downtime_window_blocks = WINDOW;
    },
  });
  const dir = tempDir();
  const verify: Uint8Array[] = [];
  const app = await App.open(join(dir.path, 'state'), fx.genesis, { modules: [...defaultModules(), verifierModule(verify)] });
  t.teardown(async () => {
    await app.close();
    dir.remove();
  });
  const [alice, bob, carol, dave, eve, frank, gina] = fx.users;
  const aliceCons = seededKey(70);
  const heights: Record<string, bigint> = {};

  const nonces = new Map<string, bigint>();
  const tx = async (from: KeyPair, msg: Msg): Promise<Uint8Array> => {
    const k = hex(from);
    const nonce = nonces.get(k) ?? (await getAccount(app.store, addr(from))).nonce;
    nonces.set(k, nonce + 1n);
    return signTx({ chainId: CHAIN_ID, nonce, gasLimit: 200_000n, gasPrice: 1n, memo: '', msg }, from);
  };
  const block = async (txs: Uint8Array[], opts: Parameters<typeof nextBlock>[3] = {}) => {
    const out = await nextBlock(app, txs, undefined, opts);
    nonces.clear();
    for (const [i, r] of out.txResults.entries()) if (r.code !== 0) throw new Error(`tx ${i} of block ${app.head().height} failed: ${r.log}`);
    await checkSupply(app.store);
    return out;
  };
  const attest = (agent: KeyPair, validFor = 30n * DAY) => {
    const issuedNs = app.head().time;
    return issueAuthorityAttestation({ authority, chainId: CHAIN_ID, agentPubKey: agent.publicKey, issuedNs, expiresNs: issuedNs + validFor });
  };
  const bond = fx.genesis.appParams.agents.bond;
  const register = async (who: KeyPair, capabilities: Capabilities, extra = 0n, validFor?: bigint) =>
    tx(who, { type: 'register_agent', value: { capabilities, attestation: attest(who, validFor), bond: bond + extra } });

  // Height 1: six agents register (gina with a 20-second attestation).
  await block([
    await register(alice, GPU_CAPS, 5n * ACC),
    await register(bob, CPU_CAPS),
    await register(carol, NO_CAPS),
    await register(dave, NO_CAPS),
    await register(frank, NO_CAPS),
    await register(gina, NO_CAPS, 0n, 20n * SECOND),
  ]);
  heights.registered = app.head().height;
  // Height 2: alice, dave and frank stake; carol deregisters; bob's capabilities are verified at end-block.
  verify.push(addr(bob));
  await block([
    await tx(alice, { type: 'stake', value: { amount: 2_000n * ACC, consensusPubKey: aliceCons.publicKey, moniker: 'alice-val', blsPubKey: blsKeyOf(aliceCons) } }),
    await tx(dave, { type: 'stake', value: { amount: 1_000n * ACC, consensusPubKey: new Uint8Array(0), moniker: '', blsPubKey: blsKeyOf(dave) } }),
    await tx(frank, { type: 'stake', value: { amount: 1_500n * ACC, consensusPubKey: new Uint8Array(0), moniker: 'frank', blsPubKey: blsKeyOf(frank) } }),
    await tx(carol, { type: 'deregister_agent', value: {} }),
  ]);
  heights.staked = app.head().height;
  // Height 3: dave unstakes everything.
  await block([await tx(dave, { type: 'unstake', value: { amount: 1_000n * ACC } })]);
  heights.unstaked = app.head().height;
  // Height 4 is an epoch: alice and frank take power (dave has no stake left; gina never staked).
  await block([]);
  if (app.head().height % EPOCH !== 0n) throw new Error('expected an epoch boundary at height 4');
  heights.epoch = app.head().height;
  return { fx, app, table: domainMethods(stateOnlyRpcContext(app)), alice, aliceCons, bob, carol, dave, eve, frank, gina, heights };
}

/** Blocks in which alice's validator does not sign, until it is jailed for downtime. */
async function jailAlice(w: World): Promise<void> {
  const cons = toHex(addr(w.aliceCons));
  for (let i = 0n; i <= WINDOW + 1n; i++) {
    const v = (await validators.get(w.app.store, addr(w.aliceCons)))!;
    if (v.jailedUntilNs > 0n) return;
    const lastCommit = (await allSigned(w.app)).map((c) => (toHex(c.address) === cons ? { ...c, signed: false } : c));
    await nextBlock(w.app, [], undefined, { lastCommit });
  }
  throw new Error('alice was never jailed');
}

/** A duplicate-vote evidence against `validator` (consensus verified it; the app takes it as given). */
function duplicateVote(validator: KeyPair, height: bigint, time: bigint): Evidence {
  const vote = (b: number): Vote => ({
    type: VoteType.PREVOTE,
    height,
    round: 0,
    blockId: { hash: new Uint8Array(32).fill(b), partSetHeader: { total: 1, hash: new Uint8Array(32).fill(b) } },
    timestamp: time,
    validatorAddress: addr(validator),
    validatorIndex: 0,
    signature: new Uint8Array(64).fill(b),
  });
  return { type: 'duplicate_vote_evidence', value: { voteA: vote(1), voteB: vote(2), totalVotingPower: 10n, validatorPower: 1n, timestamp: time } };
}

/** The JSON `agent` must give for a state record, written from the record field by field. */
async function expectedAgent(app: App, who: Uint8Array): Promise<Record<string, unknown>> {
  const a = (await agents.get(app.store, who))!;
  const queue = (await unbondings.all(app.store)).map(([, u]) => u).filter((u) => toHex(u.owner) === toHex(who));
  return {
    address: toHex(a.address),
    pub_key: { type: 'tendermint/PubKeyEd25519', value: toBase64(a.pubKey) },
    status: a.status,
    bond: a.bond.toString(),
    capabilities: {
      cpu_cores: a.capabilities.cpuCores,
      gpu_memory_mb: a.capabilities.gpuMemoryMb.toString(),
      llm_tokens_per_second: a.capabilities.llmTokensPerSecond.toString(),
      models: a.capabilities.models,
      skills: a.capabilities.skills,
    },
    capabilities_status: a.capabilitiesVerified ? 'verified' : 'claimed',
    capabilities_verified_at: a.capabilitiesVerified ? formatTime(a.capabilitiesVerifiedNs) : null,
    attestation: { kind: a.attestationKind, expires_at: formatTime(a.attestationExpiresNs), measurement: toHex(a.measurement), valid: a.attestationExpiresNs > app.head().time },
    registered_at: formatTime(a.registeredNs),
    registered_height: a.registeredHeight.toString(),
    validator: a.validator.length === 0 ? null : toHex(a.validator),
    unbonding: queue.map((u) => ({ kind: u.kind, amount: u.amount.toString(), completes_at: formatTime(u.completesNs) })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// agent
// ---------------------------------------------------------------------------------------------------------------

t.test('agent: every field from the state record, for each kind of agent', async (t) => {
  const w = await world(t);
  const p = w.fx.genesis.appParams;
  const head = w.app.head();

  const alice = await call(w.table, 'agent', { address: hex(w.alice) });
  t.same(alice, await expectedAgent(w.app, addr(w.alice)), 'alice matches her record');
  // And the values themselves, not only "whatever the record holds".
  t.equal(alice.address, hex(w.alice));
  t.same(alice.pub_key, { type: 'tendermint/PubKeyEd25519', value: toBase64(w.alice.publicKey) });
  t.equal(alice.status, 'active');
  t.equal(alice.bond, (p.agents.bond + 5n * ACC).toString(), 'the bond she offered, above the minimum');
  t.same(alice.capabilities, { cpu_cores: 32, gpu_memory_mb: '81920', llm_tokens_per_second: '1200', models: ['llama-3-70b', 'mixtral-8x7b'], skills: ['code-review', 'summarize'] });
  t.equal(alice.capabilities_status, 'claimed');
  t.equal(alice.capabilities_verified_at, null);
  t.equal(alice.attestation.kind, 'authority');
  t.equal(alice.attestation.measurement, '', 'an authority attestation has no measurement');
  t.equal(alice.attestation.valid, true);
  t.equal(alice.attestation.expires_at, formatTime(w.fx.genesis.genesisTime + 30n * DAY), 'issued at genesis time (the head when she attested), valid 30 days');
  t.equal(alice.registered_height, w.heights.registered.toString());
  t.equal(alice.registered_at, formatTime(w.fx.genesis.genesisTime + SECOND));
  t.equal(alice.validator, toHex(addr(w.aliceCons)), 'the validator is named by its consensus address');
  t.same(alice.unbonding, []);

  const bob = await call(w.table, 'agent', { address: hex(w.bob) });
  t.same(bob, await expectedAgent(w.app, addr(w.bob)));
  t.equal(bob.capabilities_status, 'verified');
  t.equal(bob.capabilities_verified_at, formatTime(w.fx.genesis.genesisTime + 2n * SECOND), 'verified at the block time of height 2');
  t.equal(bob.validator, null, 'never staked');

  const carol = await call(w.table, 'agent', { address: hex(w.carol) });
  t.same(carol, await expectedAgent(w.app, addr(w.carol)));
  t.equal(carol.status, 'unbonding');
  t.equal(carol.bond, '0', 'the bond left the agent record');
  t.same(carol.unbonding, [{ kind: 'bond', amount: p.agents.bond.toString(), completes_at: formatTime(w.fx.genesis.genesisTime + 2n * SECOND + p.agents.unbonding_seconds * SECOND) }]);

  const dave = await call(w.table, 'agent', { address: hex(w.dave) });
  t.same(dave, await expectedAgent(w.app, addr(w.dave)));
  t.equal(dave.status, 'active');
  t.equal(dave.validator, hex(w.dave), 'staked without a consensus key: the agent key is the consensus key');
  t.same(dave.unbonding, [{ kind: 'stake', amount: (1_000n * ACC).toString(), completes_at: formatTime(w.fx.genesis.genesisTime + 3n * SECOND + p.staking.unbonding_seconds * SECOND) }]);

  // A genesis validator is an agent attested by the genesis itself.
  const v0 = await call(w.table, 'agent', { address: hex(w.fx.validator) });
  t.same(v0, await expectedAgent(w.app, addr(w.fx.validator)));
  t.equal(v0.attestation.kind, GENESIS_ATTESTATION);
  t.equal(v0.attestation.expires_at, formatTime(w.fx.genesis.genesisTime + p.agents.attestation_max_seconds * SECOND));
  t.equal(v0.registered_height, w.fx.genesis.initialHeight.toString());
  t.equal(v0.validator, hex(w.fx.validator));
  t.equal(v0.bond, p.agents.bond.toString());

  // gina's attestation lasted 20 seconds: valid now, not after the head passes its expiry.
  t.equal((await call(w.table, 'agent', { address: hex(w.gina) })).attestation.valid, true);
  const expiry = (await agents.get(w.app.store, addr(w.gina)))!.attestationExpiresNs;
  await nextBlock(w.app, [], undefined, { time: expiry });
  const gina = await call(w.table, 'agent', { address: hex(w.gina) });
  t.equal(gina.attestation.valid, false, 'an attestation expiring at the block time is no longer valid');
  t.equal(gina.status, 'active', 'the status says registered, valid says attested');
  t.same(gina, await expectedAgent(w.app, addr(w.gina)));
  t.ok(head.height < w.app.head().height);

  // lower case and 0x are accepted; the answer is upper case
  t.equal((await call(w.table, 'agent', { address: '0x' + hex(w.alice).toLowerCase() })).address, hex(w.alice));
});

t.test('agent: not found is -32603 "agent X not found"; a bad address is -32602', async (t) => {
  const w = await world(t);
  const missing = await rpcError(call(w.table, 'agent', { address: hex(w.eve) }));
  t.equal(missing.code, RpcCode.INTERNAL_ERROR);
  t.equal(missing.data, `agent ${hex(w.eve)} not found`);
  for (const address of [undefined, '', 'nope', 'AB'.repeat(19), 42n, new Uint8Array(20)]) {
    const err = await rpcError(call(w.table, 'agent', { address }));
    t.equal(err.code, RpcCode.INVALID_PARAMS, String(address));
    t.match(err.data, /^address must be 40 hex characters/);
  }
});

t.test('an agent whose bond has returned is gone', async (t) => {
  const w = await world(t);
  const carol = (await agents.get(w.app.store, addr(w.carol)))!;
  t.equal(carol.status, 'unbonding');
  const completes = (await call(w.table, 'agent', { address: hex(w.carol) })).unbonding[0].completes_at;
  await nextBlock(w.app, [], undefined, { time: w.app.head().time + w.fx.genesis.appParams.agents.unbonding_seconds * SECOND });
  t.ok(formatTime(w.app.head().time) >= completes);
  const err = await rpcError(call(w.table, 'agent', { address: hex(w.carol) }));
  t.equal(err.data, `agent ${hex(w.carol)} not found`);
});

// ---------------------------------------------------------------------------------------------------------------
// agents
// ---------------------------------------------------------------------------------------------------------------

t.test('agents: every agent by address, paged; the entries are the `agent` results', async (t) => {
  const w = await world(t);
  const all = (await agents.all(w.app.store)).map(([, a]) => toHex(a.address));
  t.equal(all.length, 7, 'the genesis validator and six registered agents');
  t.same(all, [...all].sort(), 'the store holds them in address order');
  const r = await call(w.table, 'agents');
  t.same(Object.keys(r), ['agents', 'count', 'total', 'height']);
  t.equal(r.total, '7');
  t.equal(r.count, '7');
  t.equal(r.height, w.app.head().height.toString());
  t.same(r.agents.map((a: { address: string }) => a.address), all);
  for (const a of r.agents) t.same(a, await call(w.table, 'agent', { address: a.address }), `${a.address} as \`agent\` shows it`);

  const pages = [];
  for (let page = 1; page <= 3; page++) pages.push(await call(w.table, 'agents', { page, per_page: 3 }));
  t.same(pages.map((p) => [p.count, p.total]), [['3', '7'], ['3', '7'], ['1', '7']]);
  t.same(pages.flatMap((p) => p.agents), r.agents, 'the pages follow each other');
  const past = await rpcError(call(w.table, 'agents', { page: 4, per_page: 3 }));
  t.equal(past.code, RpcCode.INVALID_PARAMS);
  t.equal(past.data, 'page 4 is past the last page 3 (7 in all, per_page 3)');
});

t.test('agents: status and capability filters', async (t) => {
  const w = await world(t);
  const list = async (args: Args) => {
    const r = await call(w.table, 'agents', { per_page: 100, ...args });
    t.equal(r.total, String(r.agents.length));
    return r.agents.map((a: { address: string }) => a.address).sort();
  };
  const sorted = (...ks: KeyPair[]) => ks.map(hex).sort();
  const v0 = w.fx.validator;

  t.same(await list({ status: 'active' }), sorted(v0, w.alice, w.bob, w.dave, w.frank, w.gina));
  t.same(await list({ status: 'unbonding' }), sorted(w.carol));
  t.same(await list({ status: 'validator' }), sorted(v0, w.alice, w.frank), 'agents whose validator holds power (dave has a validator without power)');
  t.same(await list({ capability: 'gpu' }), sorted(w.alice));
  t.same(await list({ capability: 'verified' }), sorted(w.bob));
  t.same(await list({ capability: 'summarize' }), sorted(w.alice, w.bob), 'a skill tag');
  t.same(await list({ capability: 'mistral-7b' }), sorted(w.bob), 'a model tag');
  t.same(await list({ capability: 'llama-3-70b', status: 'validator' }), sorted(w.alice), 'filters combine');
  t.same(await list({ capability: 'llama-3-70b', status: 'unbonding' }), [], 'to nothing, too');
  t.same(await call(w.table, 'agents', { capability: 'nobody-has-this' }), { agents: [], count: '0', total: '0', height: w.app.head().height.toString() }, 'page 1 of nothing is empty, not an error');

  // Jailing alice takes her validator's power away at once: she leaves the validator filter.
  await jailAlice(w);
  t.same(await list({ status: 'validator' }), sorted(v0, w.frank));

  // Paging a filtered list.
  const p1 = await call(w.table, 'agents', { status: 'active', per_page: 4 });
  const p2 = await call(w.table, 'agents', { status: 'active', page: 2, per_page: 4 });
  t.same([p1.count, p1.total, p2.count, p2.total], ['4', '6', '2', '6']);
  t.same([...p1.agents, ...p2.agents].map((a: { address: string }) => a.address).sort(), await list({ status: 'active' }));
});

t.test('agents: bad filters and pages are -32602 with a sentence', async (t) => {
  const w = await world(t);
  const cases: Array<[Args, RegExp]> = [
    [{ status: 'jailed' }, /^status must be one of active, unbonding, validator, got "jailed"$/],
    [{ status: 'Active!' }, /^status must be a lower-case word/],
    [{ status: 7 }, /^status must be a lower-case word/],
    [{ capability: 'GPU' }, /^capability must be a model or skill tag .*"gpu" or "verified", got "GPU"$/],
    [{ capability: '' }, /^capability must be a model or skill tag/],
    [{ capability: 'a'.repeat(65) }, /^capability must be a model or skill tag/],
    [{ capability: '-x' }, /^capability must be a model or skill tag/],
    [{ page: 0 }, /^page must be an integer of 1 or more/],
    [{ per_page: 101 }, /^per_page must be an integer from 1 to 100/],
  ];
  for (const [args, data] of cases) {
    const err = await rpcError(call(w.table, 'agents', args));
    t.equal(err.code, RpcCode.INVALID_PARAMS, JSON.stringify(args, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    t.match(err.data, data);
  }
  t.equal((await call(w.table, 'agents', { capability: 'hf.co/meta:llama_3.1-8b' })).total, '0', 'every tag character is accepted');
});

// ---------------------------------------------------------------------------------------------------------------
// validator
// ---------------------------------------------------------------------------------------------------------------

t.test('validator: the state record, its factor, signing info and slashes; bonded, unbonded, jailed, tombstoned', async (t) => {
  const w = await world(t);
  const p = w.fx.genesis.appParams;
  const v0 = await call(w.table, 'validator', { address: hex(w.fx.validator) });
  t.same(v0, {
    address: hex(w.fx.validator),
    pub_key: { type: 'tendermint/PubKeyEd25519', value: toBase64(w.fx.validator.publicKey) },
    bls_pub_key: toHex(blsKeyOf(w.fx.validator)),
    operator: hex(w.fx.validator),
    name: 'v0',
    stake: DEFAULT_VALIDATOR_STAKE.toString(),
    power: DEFAULT_VALIDATOR_STAKE.toString(),
    reputation_factor: FACTOR_ONE.toString(),
    reputation_factor_decimal: '1.000000',
    status: 'bonded',
    jailed_until: null,
    tombstoned: false,
    removed: false,
    signing: { missed: '0', window: WINDOW.toString() },
    slashes: [],
  });

  const aliceCons = hex(w.aliceCons);
  const alice = await call(w.table, 'validator', { address: aliceCons });
  t.equal(alice.operator, hex(w.alice));
  t.equal(alice.name, 'alice-val');
  t.equal(alice.stake, (2_000n * ACC).toString());
  t.equal(alice.power, (2_000n * ACC).toString(), 'the neutral factor: power = stake');
  t.equal(alice.status, 'bonded');
  t.same(alice.pub_key, { type: 'tendermint/PubKeyEd25519', value: toBase64(w.aliceCons.publicKey) });

  const dave = await call(w.table, 'validator', { address: hex(w.dave) });
  t.equal(dave.status, 'unbonded');
  t.equal(dave.stake, '0');
  t.equal(dave.power, '0');
  t.equal(dave.name, hex(w.dave).slice(0, 12), 'no moniker: the agent address\'s first 12 hex digits');

  // Downtime: alice's validator misses blocks until it is slashed and jailed.
  await jailAlice(w);
  const jailedRecord = (await validators.get(w.app.store, addr(w.aliceCons)))!;
  const escrows = (await allSlashEscrows(w.app.store)).filter(([, e]) => toHex(e.agent) === hex(w.alice));
  t.equal(escrows.length, 1);
  const [[id, escrow]] = escrows;
  const info = await signingInfos.get(w.app.store, addr(w.aliceCons));
  // The missed blocks cost alice (the operator) validator reputation; the factor shown is the one recorded at the last
  // epoch boundary (what her power was computed with), from her reputation then.
  const aliceView = await reputationView(w.app.store, p, addr(w.alice), w.app.head().time);
  t.ok(aliceView.validatorScore < SCORE_ONE, 'missed blocks lowered her validator score');
  t.ok(aliceView.epochHeight > 0n, 'a boundary has recorded a score');
  const aliceFactor = reputationFactor(aliceView.epochScore);
  const jailed = await call(w.table, 'validator', { address: aliceCons });
  t.same(jailed, {
    address: aliceCons,
    pub_key: { type: 'tendermint/PubKeyEd25519', value: toBase64(w.aliceCons.publicKey) },
    bls_pub_key: toHex(blsKeyOf(w.aliceCons)),
    operator: hex(w.alice),
    name: 'alice-val',
    stake: jailedRecord.stake.toString(),
    power: '0',
    reputation_factor: aliceFactor.toString(),
    reputation_factor_decimal: factorDecimal(aliceFactor),
    status: 'jailed',
    jailed_until: formatTime(jailedRecord.jailedUntilNs),
    tombstoned: false,
    removed: false,
    signing: { missed: (info?.missed ?? 0n).toString(), window: WINDOW.toString() },
    slashes: [{ id: id.toString(), kind: 'downtime', amount: escrow.amount.toString(), height: escrow.height.toString(), burns_at: formatTime(escrow.burnsAtNs) }],
  });
  t.equal(BigInt(jailed.stake), 2_000n * ACC - (2_000n * ACC * p.slashing.severity_bps.downtime) / 10_000n, 'the stake lost the downtime share');
  // jailAlice stops right after the block that jailed her: the head.
  const jailedAt = w.app.head();
  t.equal(jailed.slashes[0].height, jailedAt.height.toString());
  t.equal(jailed.jailed_until, formatTime(jailedAt.time + p.slashing.downtime_jail_seconds * SECOND), 'jailed for downtime_jail_seconds from the block time');
  t.equal(jailed.slashes[0].burns_at, formatTime(jailedAt.time + p.slashing.appeal_window_seconds * SECOND), 'burns after the appeal window');

  // Double-signing: frank's validator is slashed and tombstoned; no jail time is shown (it is forever).
  const frankBefore = (await validators.get(w.app.store, addr(w.frank)))!;
  t.equal((await call(w.table, 'validator', { address: hex(w.frank) })).signing.missed, '0', 'frank signed every block');
  await nextBlock(w.app, [], undefined, { evidence: [duplicateVote(w.frank, w.app.head().height, w.app.head().time)] });
  const frankRecord = (await validators.get(w.app.store, addr(w.frank)))!;
  t.equal(frankRecord.jailedUntilNs, JAILED_FOREVER);
  const frank = await call(w.table, 'validator', { address: hex(w.frank) });
  t.equal(frank.status, 'tombstoned');
  t.equal(frank.tombstoned, true);
  t.equal(frank.jailed_until, null, 'tombstoned: jailed for good, no time');
  t.equal(frank.power, '0');
  t.equal(frank.stake, frankRecord.stake.toString());
  t.ok(frankRecord.stake < frankBefore.stake);
  t.same(frank.slashes.map((s: { kind: string }) => s.kind), ['double_sign']);
  t.equal(frank.slashes[0].height, w.app.head().height.toString());

  await checkSupply(w.app.store); // the slashed tokens sit in escrow: the supply still adds up

  // Not found, bad address.
  const missing = await rpcError(call(w.table, 'validator', { address: hex(w.bob) }));
  t.equal(missing.code, RpcCode.INTERNAL_ERROR);
  t.equal(missing.data, `validator ${hex(w.bob)} not found`);
  const bad = await rpcError(call(w.table, 'validator', { address: 'xyz' }));
  t.equal(bad.code, RpcCode.INVALID_PARAMS);
  t.match(bad.data, /^address must be 40 hex characters/);
});

t.test('factorDecimal: six decimal places', async (t) => {
  t.equal(factorDecimal(FACTOR_ONE), '1.000000');
  t.equal(factorDecimal(1_333_333n), '1.333333');
  t.equal(factorDecimal(500_000n), '0.500000');
  t.equal(factorDecimal(1_999_999n), '1.999999');
  t.equal(factorDecimal(7n), '0.000007');
});

// ---------------------------------------------------------------------------------------------------------------
// validators (CometBFT) with the state's fields
// ---------------------------------------------------------------------------------------------------------------

t.test('validators: CometBFT entries plus stake, reputation_factor, operator and name from the state', async (t) => {
  const c = await RpcChain.start(t);
  await c.next();
  const r = await c.call('validators');
  t.equal(r.validators.length, 1);
  const [v] = r.validators;
  const record = (await validators.get(c.app.store, addr(c.fx.validator)))!;
  t.same(JSON.parse(JSON.stringify(v)), {
    address: hex(c.fx.validator),
    pub_key: { type: 'tendermint/PubKeyEd25519', value: toBase64(c.fx.validator.publicKey) },
    voting_power: record.power.toString(),
    proposer_priority: v.proposer_priority,
    stake: record.stake.toString(),
    reputation_factor: '1000000',
    operator: hex(c.fx.validator),
    name: 'v0',
  });
  t.same(Object.keys(v).slice(0, 4), ['address', 'pub_key', 'voting_power', 'proposer_priority'], "CometBFT's fields first, unchanged");
  const at1 = await c.call('validators', { height: 1n, page: 1, per_page: 1 });
  t.equal(at1.validators[0].stake, record.stake.toString(), 'at an older height too (the latest record)');
});

// ---------------------------------------------------------------------------------------------------------------
// The typed client over a real HTTP server
// ---------------------------------------------------------------------------------------------------------------

t.test('typed client: agent, agents, validator return the methods\' JSON', async (t) => {
  const w = await world(t);
  const server = await RpcServer.start({
    laddr: 'tcp://127.0.0.1:0',
    methods: domainMethods(stateOnlyRpcContext(w.app)),
    events: new EventBus(),
    config: { ...defaultConfig('agents-rpc').rpc },
    logger: pino({ level: 'silent' }),
  });
  t.teardown(() => server.close());
  const client = new RpcClient(server.url);
  t.teardown(() => client.close());

  const alice = await client.agent(addr(w.alice));
  t.same(alice, await call(w.table, 'agent', { address: hex(w.alice) }));
  t.equal(alice.capabilities.cpu_cores, 32);
  t.same(await client.agent(hex(w.bob).toLowerCase()), await call(w.table, 'agent', { address: hex(w.bob) }));
  const page = await client.agents({ status: 'validator', capability: 'gpu', page: 1, perPage: 10 });
  t.same(page.agents.map((a) => a.address), [hex(w.alice)]);
  t.equal(page.total, '1');
  const v = await client.validator(addr(w.aliceCons));
  t.equal(v.status, 'bonded');
  t.equal(v.reputation_factor_decimal, '1.000000');
  t.same(v, await call(w.table, 'validator', { address: hex(w.aliceCons) }));

  const missing = await client.agent(addr(w.eve)).then(
    () => null,
    (err: unknown) => err,
  );
  t.ok(missing instanceof RpcClientError);
  t.equal((missing as RpcClientError).code, RpcCode.INTERNAL_ERROR);
  t.equal((missing as RpcClientError).data, `agent ${hex(w.eve)} not found`);
  const bad = (await client.agents({ status: 'nope' as never }).catch((err: unknown) => err)) as RpcClientError;
  t.equal(bad.code, RpcCode.INVALID_PARAMS);
  t.match(bad.data, /^status must be one of active, unbonding, validator/);
  // GET with CometBFT's URI arguments works too.
  const res = await fetch(`${server.url}/agent?address="${hex(w.alice)}"`);
  t.equal(((await res.json()) as { result: { address: string } }).result.address, hex(w.alice));
});
