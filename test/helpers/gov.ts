// Governance test fixtures (test/governance*.test.ts): a genesis whose validators' stakes and users' funds the test
// chooses, so that vote weights (agent bond + validator stake) are exact; proposal and vote builders; and helpers
// that drive a proposal through its voting end and timelock on the real state machine.
import type { Test } from 'tap';
import { toHex } from '../../src/crypto/bytes.ts';
import { textProposal, type Event, type Msg, type MsgSubmitProposal, type TxResult } from '../../src/codec/types.ts';
import { buildGenesis } from '../../src/state/genesis.ts';
import { defaultAppParams, defaultConsensusParams, type AppParams, type ConsensusParams } from '../../src/state/params.ts';
import { minDeposit } from '../../src/state/governance/module.ts';
import { getProposal } from '../../src/state/governance/store.ts';
import { circulatingSupply, supplyBreakdown } from '../../src/state/economics.ts';
import { StateOverlay } from '../../src/state/overlay.ts';
import type { BlockOutput } from '../../src/state/executor.ts';
import type { StateReader } from '../../src/state/store.ts';
import type { GovProposal } from '../../src/codec/types.ts';
import { ACC, CAPS, CHAIN_ID, GENESIS_TIME, Driver, addr, key, type AgentsFixture } from './agents.ts';
import { allSigned, genesisValidator, revealOf } from './chain.ts';
import { addressOf, type KeyPair } from '../../src/crypto/keys.ts';

export const VOTING_SECONDS = 1000n;
export const TIMELOCK_SECONDS = 500n;

/**
 * Validators with the given stakes (default three of 99,000 ACC: with the 1,000 ACC agent bond each weighs 100,000
 * ACC), `users` accounts with `fund` uacc each, an attestation authority. Governance: voting 1,000 s, timelock 500 s,
 * min deposit 10 bps (0.1%); the agent bond is 1,000 ACC so that tests can register agents with the bonds they need.
 */
export function govFixture(opts: { stakes?: bigint[]; users?: number; fund?: bigint; params?: (p: AppParams) => void; consensus?: (c: ConsensusParams) => void } = {}): AgentsFixture {
  const stakes = opts.stakes ?? [99_000n * ACC, 99_000n * ACC, 99_000n * ACC];
  const validators = stakes.map((_, i) => key(1 + i));
  const users = Array.from({ length: opts.users ?? 6 }, (_, i) => key(40 + i));
  const authority = key(99);
  const appParams = defaultAppParams();
  appParams.agents.attestation_authorities = { test: toHex(authority.publicKey) };
  appParams.agents.bond = 1_000n * ACC;
  appParams.staking.epoch_blocks = 5n;
  appParams.governance.voting_seconds = VOTING_SECONDS;
  appParams.governance.timelock_seconds = TIMELOCK_SECONDS;
  appParams.governance.min_deposit_bps = 10n;
  opts.params?.(appParams);
  const consensusParams = defaultConsensusParams();
  opts.consensus?.(consensusParams);
  const genesis = buildGenesis({
    chainId: CHAIN_ID,
    genesisTime: GENESIS_TIME,
    validators: validators.map((v, i) => genesisValidator(`v${i}`, v, stakes[i])),
    accounts: users.map((u) => ({ category: 'marketplace' as const, address: addr(u), amount: opts.fund ?? 300_000n * ACC })),
    team: [{ address: addr(key(98)), amount: (appParams.supply.total_supply * appParams.supply.distribution_bps.team) / 10_000n }],
    appParams,
    consensusParams,
  });
  return { genesis, validators, users, authority };
}

export const NO_ACTION: MsgSubmitProposal = textProposal('a proposal');

export const proposalMsg = (over: Partial<MsgSubmitProposal>): Msg => ({ type: 'submit_proposal', value: { ...NO_ACTION, ...over } });
export const voteMsg = (proposalId: bigint, option: string): Msg => ({ type: 'vote', value: { proposalId, option } });
export const registerMsg = (d: Driver, k: KeyPair, bond: bigint): Msg => ({ type: 'register_agent', value: { capabilities: CAPS, attestation: d.attest(k), bond } });
export const sendMsg = (to: Uint8Array, amount: bigint): Msg => ({ type: 'send', value: { to, amount } });
export const paramChanges = (...pairs: Array<[string, string]>): Pick<MsgSubmitProposal, 'paramChanges'> => ({ paramChanges: pairs.map(([path, value]) => ({ path, value })) });

export const events = (evs: readonly Event[], type: string): Array<Record<string, string>> =>
  evs.filter((e) => e.type === type).map((e) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value])));

/** A deposit safely above the minimum (the circulating supply grows a little with every block's rewards). */
export async function deposit(d: Driver): Promise<bigint> {
  const min = await minDeposit(d.app.store, await d.app.params());
  return min + min / 100n + 10n * ACC;
}

/** Submits a proposal in its own block; its id from the submit event (0n when it failed). */
export async function submit(d: Driver, from: KeyPair, over: Partial<MsgSubmitProposal>, opts: { time?: bigint } = {}): Promise<{ id: bigint; result: TxResult; out: BlockOutput }> {
  const dep = over.deposit ?? (await deposit(d));
  const { result, out } = await d.run(from, proposalMsg({ ...over, deposit: dep }), opts);
  return { id: result.code === 0 ? BigInt(events(result.events, 'submit_proposal')[0].proposal) : 0n, result, out };
}

/** One block of votes; throws unless every vote succeeded. */
export async function castVotes(d: Driver, votes: Array<[KeyPair, bigint, string]>): Promise<BlockOutput> {
  const txs: Uint8Array[] = [];
  for (const [k, id, option] of votes) txs.push(await d.tx(k, voteMsg(id, option)));
  const out = await d.block(txs);
  out.txResults.forEach((r, i) => {
    if (r.code !== 0) throw new Error(`vote ${i} failed: ${r.log}`);
  });
  return out;
}

/** One block of txs; throws unless every tx succeeded. */
export async function okBlock(d: Driver, msgs: Array<[KeyPair, Msg]>, opts: { time?: bigint } = {}): Promise<BlockOutput> {
  const txs: Uint8Array[] = [];
  for (const [k, m] of msgs) txs.push(await d.tx(k, m));
  const out = await d.block(txs, opts);
  out.txResults.forEach((r, i) => {
    if (r.code !== 0) throw new Error(`tx ${i} (${msgs[i][1].type}) failed: ${r.log}`);
  });
  return out;
}

export async function proposal(d: Driver, id: bigint): Promise<GovProposal> {
  const p = await getProposal(d.app.store, id);
  if (p === undefined) throw new Error(`no proposal ${id}`);
  return p;
}

/** The empty block at the proposal's voting end (its tally). */
export async function toTally(d: Driver, id: bigint, txs: Uint8Array[] = []): Promise<BlockOutput> {
  return d.block(txs, { time: (await proposal(d, id)).votingEndNs });
}

/** The empty block at the proposal's execution time (voting end + timelock). */
export async function toExecution(d: Driver, id: bigint, txs: Uint8Array[] = []): Promise<BlockOutput> {
  const p = await proposal(d, id);
  if (p.executeNs === 0n) throw new Error(`proposal ${id} is ${p.status}, not passed`);
  return d.block(txs, { time: p.executeNs });
}

/** Gives each genesis validator some liquid ACC for its gas (they start with none). */
export async function fundValidators(d: Driver, amount = 1_000n * ACC): Promise<void> {
  await okBlock(d, d.fx.validators.map((v) => [d.fx.users[d.fx.users.length - 1], sendMsg(addr(v), amount)]));
}

/**
 * Executes (without committing) the next block with `txs` at `time` and returns the state it leaves, on top of the
 * committed state: what a tx of that block saw, when the block's other writes do not matter.
 */
export async function dryRun(d: Driver, txs: Uint8Array[], time: bigint): Promise<{ out: BlockOutput; state: StateOverlay }> {
  const head = d.app.head();
  const proposer = d.fx.validators[0];
  const out = await d.app.execute({
    chainId: CHAIN_ID,
    height: head.height + 1n,
    time,
    proposer: addressOf(proposer.publicKey),
    txs,
    lastCommit: await allSigned(d.app),
    randaoReveal: revealOf(proposer, head.height + 1n),
  });
  const state = new StateOverlay(d.app.store);
  for (const w of out.state) {
    if (w.value === null) state.delete(w.key);
    else state.set(w.key, w.value);
  }
  return { out, state };
}

/** liquid + bonded + staked + unbonding + slash escrow + tasks + governance of the supply breakdown. */
export async function heldSupply(state: StateReader): Promise<bigint> {
  const b = await supplyBreakdown(state);
  return b.liquid + b.bonded + b.staked + b.unbonding + b.slashEscrow + b.tasks + b.governance;
}

/** circulatingSupply (the O(modules) one) against the breakdown's parts; returns it. */
export async function checkCirculating(t: Test, state: StateReader, what: string): Promise<bigint> {
  const c = await circulatingSupply(state);
  t.equal(c, await heldSupply(state), `${what}: circulatingSupply = liquid + bonded + staked + unbonding + slash escrow + tasks + governance`);
  t.equal(c, (await supplyBreakdown(state)).circulating, `${what}: and the breakdown's circulating`);
  return c;
}

export { ACC, GENESIS_TIME };
