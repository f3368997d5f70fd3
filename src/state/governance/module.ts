// Governance (whitepaper 7): proposals, votes, tally, timelock, execution. Every amount is uacc, every time block time.
//
// KINDS (MsgSubmitProposal sets at most one action; none is a text proposal):
//   param_change      sets parameters by their genesis JSON path (supply.* and emission.* are fixed at genesis);
//                     the changed set is validated at submission and again at execution
//   treasury_spend    pays an amount from the treasury to an address
//   validator_action  jails a validator for a time, or removes it for good (`removed`: never unjails, takes no stake;
//                     not slashed, but evidence of a double-sign it made still slashes and tombstones it)
//   slash_appeal      returns a slash escrow's tokens to the slashed agent before they burn
//   software_upgrade  records a plan (release name, height) that `upgrade_plan` shows; nodes are not halted by it
//   text              records a decision; executing it changes nothing
// CRITICAL (isCritical): validator actions, slashing appeals, software upgrades, treasury spends above
// governance.critical_spend_threshold (counted with the spends still in flight, so splitting does not help), and
// parameter changes touching consensus or security (CRITICAL_PARAMS).
//
// SUBMIT (any account): the deposit, at least ceil(circulating supply x min_deposit_bps / 10,000) (circulating
// supply: src/state/economics.ts), is locked in the proposal. Voting opens at once and ends at submission time +
// voting_seconds (block time; a vote counts if its block's time is before the end).
//
// VOTE: yes, no, abstain or veto, by an account holding bonded ACC (its agent bond + its validator stake); a later
// vote replaces the earlier one. Weight is read at the tally, not at the vote: tokens that left the bond meanwhile
// (deregistered, unstaked: unbonding tokens do not vote) no longer count, and a token is bonded to one account only,
// so no token votes twice.
//
// TALLY (begin-block of the first block at or after the voting end, before its txs: the weights are those of the last
// block in which votes were open, so no tx of the tally block can change a weight that counts), in this order:
//   quorum   cast weight (all four options) x 10,000 >= total voting weight (every bond + every stake) x quorum_bps,
//            else rejected, deposit returned
//   veto     veto weight x 10,000 >= cast weight x veto_bps: vetoed as spam, the deposit burns (Cosmos's NoWithVeto)
//   pass     standard: yes > half of yes + no + veto; critical: yes >= two thirds of it (3 yes >= 2 (yes + no + veto));
//            nobody but abstainers: rejected. A passed or rejected proposal's deposit returns to the proposer.
// EXECUTE (end-block of the first block at or after voting end + timelock_seconds): the action runs in its own
// overlay: all of it applies, or, if any check fails (the validator is gone, the escrow burned, the treasury is
// short, the parameters no longer validate), nothing does and the proposal is `failed` with the reason. Changed
// parameters apply from the next block. Governance's end-block runs before staking's, so a jail or removal leaves
// the validator set in the same block (effective at H + 2).
import { AppError } from '../../errors.ts';
import { toHex } from '../../crypto/bytes.ts';
import { formatTime } from '../../codec/time.ts';
import { proposalKind, type GovProposal, type MsgSubmitProposal, type ProposalKind, type TallyResult, type VoteOption } from '../../codec/types.ts';
import { BPS, SLASH_APPEAL_MARGIN_SECONDS, type AppParams } from '../params.ts';
import { applyParamChanges } from '../genesis.ts';
import { credit, debit, getAccount, moduleAddress, ModuleAccount } from '../accounts.ts';
import { agents } from '../agents.ts';
import { allValidators, isOutForGood, JAILED_FOREVER, validators } from '../validators.ts';
import { restoreSlash, slashEscrows } from '../slashing.ts';
import { anotherValidatorRemains } from '../staking.ts';
import { burn } from '../supply.ts';
import { circulatingSupply } from '../economics.ts';
import { paramsRecord, readParams } from '../executor.ts';
import { event, type HookContext, type Module, type TxContext } from '../module.ts';
import type { StateReader } from '../store.ts';
import type { StateOverlay } from '../overlay.ts';
import type { Event } from '../../codec/types.ts';
import { allProposals, getGovState, getProposal, govState, proposals, scheduleTimer, takeDueTimers, Timers, votes, votesOf } from './store.ts';

const NS_PER_SECOND = 1_000_000_000n;
const TEN_YEARS_SECONDS = 3650n * 86_400n;
const TREASURY = moduleAddress(ModuleAccount.TREASURY);


/**
 * Parameters whose change is critical: consensus (the validator set, its stake and power, tx limits, fees), security
 * (slashing, attestation trust, the agent bond, committee sizes and the beacon delay) and governance itself. A path
 * is critical if it equals an entry or lies under it.
 */
export const CRITICAL_PARAMS: readonly string[] = [
  // fees gate every message, governance's own votes included: a simple majority must not be able to price them out
  'fees',
  'staking',
  'slashing',
  'governance',
  'tx',
  'agents.bond',
  'agents.attestation_authorities',
  'agents.tee_measurements',
  'agents.attestation_max_seconds',
  // the bond stays answerable for a validator's votes while it unbonds
  'agents.unbonding_seconds',
  // it shapes the validator reputation dimension, and with it consensus power
  'reputation.half_life_seconds',
  'reputation.validator_signed',
  'reputation.validator_missed',
  'reputation.validator_double_sign',
  'tasks.committee_min',
  'tasks.committee_max',
  'tasks.min_reveal_bps',
  'tasks.beacon_delay_blocks',
  'tasks.appeal_committee_size',
];

export function isCriticalParam(path: string): boolean {
  return CRITICAL_PARAMS.some((c) => path === c || path.startsWith(`${c}.`));
}

/**
 * `treasuryInFlight`: the treasury spends of proposals still voting or waiting out their timelock. A spend is critical
 * if, with them, it exceeds the threshold: splitting a large spend into small ones does not make it standard.
 */
export function isCritical(kind: ProposalKind, content: MsgSubmitProposal, params: AppParams, treasuryInFlight = 0n): boolean {
  switch (kind) {
    case 'validator_action':
    case 'slash_appeal':
    case 'software_upgrade':
      return true;
    case 'treasury_spend':
      return content.treasurySpend.amount + treasuryInFlight > params.governance.critical_spend_threshold;
    case 'param_change':
      return content.paramChanges.some((c) => isCriticalParam(c.path));
    case 'text':
      return false;
  }
}

/** What treasury spends still voting or passed (not yet executed) ask for. */
async function treasuryInFlight(state: StateReader): Promise<bigint> {
  let sum = 0n;
  for (const p of await allProposals(state)) {
    if (p.kind === 'treasury_spend' && (p.status === 'voting' || p.status === 'passed')) sum += p.content.treasurySpend.amount;
  }
  return sum;
}

/** The least deposit a proposal locks now: ceil(circulating x min_deposit_bps / 10,000). */
export async function minDeposit(state: StateReader, params: AppParams): Promise<bigint> {
  const circulating = await circulatingSupply(state);
  return (circulating * params.governance.min_deposit_bps + BPS - 1n) / BPS;
}

/** An account's voting weight: its agent bond plus its validator's stake (uacc), as of `state`. */
export async function votingWeight(state: StateReader, address: Uint8Array): Promise<bigint> {
  return (await votingWeights(state, [address]))[0];
}

/** votingWeight of each address, in two batched reads (their agents, then their validators). */
async function votingWeights(state: StateReader, addresses: readonly Uint8Array[]): Promise<bigint[]> {
  const holders = await agents.getMany(state, addresses);
  const staking = holders.map((a) => (a !== undefined && a.validator.length > 0 ? a.validator : undefined));
  const stakes = await validators.getMany(state, staking.filter((a): a is Uint8Array => a !== undefined));
  let next = 0;
  return holders.map((a, i) => (a?.bond ?? 0n) + (staking[i] === undefined ? 0n : (stakes[next++]?.stake ?? 0n)));
}

/** Every bond plus every stake: the base of the quorum. O(agents + validators), once per tally. */
export async function totalVotingWeight(state: StateReader): Promise<bigint> {
  let total = 0n;
  for (const [, a] of await agents.all(state)) total += a.bond;
  for (const v of await allValidators(state)) total += v.stake;
  return total;
}

/**
 * The proposal's votes weighted as of `state` (a live tally while voting, the final one at the voting end).
 * `totalWeight`: totalVotingWeight(state), when the caller tallies several proposals on one state.
 */
export async function tallyVotes(state: StateReader, id: bigint, totalWeight?: bigint): Promise<TallyResult> {
  const t: TallyResult = { yes: 0n, no: 0n, abstain: 0n, veto: 0n, totalWeight: totalWeight ?? (await totalVotingWeight(state)) };
  const vs = await votesOf(state, id);
  const weights = await votingWeights(state, vs.map((v) => v.voter));
  vs.forEach((v, i) => (t[v.option] += weights[i]));
  return t;
}

export type TallyOutcome = { status: 'passed' | 'rejected' | 'vetoed'; reason: string };

/** The tally rules of the header, on weights alone (pure; the thresholds' tests call it directly too). */
export function judge(t: TallyResult, critical: boolean, quorumBps: bigint, vetoBps: bigint): TallyOutcome {
  const cast = t.yes + t.no + t.abstain + t.veto;
  if (t.totalWeight === 0n || cast * BPS < t.totalWeight * quorumBps) {
    return { status: 'rejected', reason: `quorum not reached: ${cast} of ${t.totalWeight} uacc of voting weight voted; ${quorumBps} bps (${ceilShare(t.totalWeight, quorumBps)} uacc) must` };
  }
  if (t.veto * BPS >= cast * vetoBps) {
    return { status: 'vetoed', reason: `vetoed: ${t.veto} of ${cast} uacc cast voted veto, at least ${vetoBps} bps; the deposit burns` };
  }
  const deciding = t.yes + t.no + t.veto;
  if (deciding === 0n) return { status: 'rejected', reason: 'every vote abstained: nobody decided' };
  const passed = critical ? 3n * t.yes >= 2n * deciding : 2n * t.yes > deciding;
  const rule = critical ? 'at least two thirds (critical)' : 'more than half (standard)';
  return passed
    ? { status: 'passed', reason: `passed: ${t.yes} of ${deciding} uacc of non-abstaining weight voted yes, ${rule}` }
    : { status: 'rejected', reason: `rejected: ${t.yes} of ${deciding} uacc of non-abstaining weight voted yes; it needed ${rule}` };
}

function ceilShare(total: bigint, bps: bigint): bigint {
  return (total * bps + BPS - 1n) / BPS;
}

/**
 * Checks a proposal's action against the state at submission. Execution checks again: what holds now may not hold a
 * voting period and a timelock later.
 */
async function checkAction(ctx: TxContext, kind: ProposalKind, m: MsgSubmitProposal): Promise<void> {
  const g = ctx.params.governance;
  switch (kind) {
    case 'param_change':
      applyParamChanges(ctx.params, m.paramChanges, (await getGovState(ctx.state)).maxBlockBytes);
      return;
    case 'treasury_spend': {
      const balance = (await getAccount(ctx.state, TREASURY)).balance;
      if (m.treasurySpend.amount > balance) {
        throw new AppError('INVALID_PROPOSAL_TARGET', `the treasury holds ${balance} uacc, less than the ${m.treasurySpend.amount} uacc asked for; ask for at most ${balance}`);
      }
      return;
    }
    case 'validator_action': {
      const a = m.validatorAction;
      const v = await validators.get(ctx.state, a.validator);
      if (v === undefined) throw new AppError('INVALID_PROPOSAL_TARGET', `there is no validator ${toHex(a.validator)}; name a validator by its consensus address (see \`validators\`)`);
      if (isOutForGood(v)) throw new AppError('INVALID_PROPOSAL_TARGET', `validator ${toHex(a.validator)} is already out of the set for good (${v.tombstoned ? 'tombstoned' : 'removed'})`);
      if (a.jailSeconds > TEN_YEARS_SECONDS) throw new AppError('INVALID_PROPOSAL_TARGET', `jail_seconds ${a.jailSeconds} is more than ten years; use "remove" to take a validator out for good`);
      return;
    }
    case 'slash_appeal': {
      const id = m.slashAppeal.escrowId;
      const e = await slashEscrows.get(ctx.state, id);
      if (e === undefined) throw new AppError('INVALID_PROPOSAL_TARGET', `there is no slash escrow ${id} (burned, restored, or never made); see the slashed validator's \`validator\` query for its escrows`);
      const earliest = ctx.time + (g.voting_seconds + g.timelock_seconds) * NS_PER_SECOND;
      if (e.burnsAtNs <= earliest + SLASH_APPEAL_MARGIN_SECONDS * NS_PER_SECOND) {
        throw new AppError(
          'INVALID_PROPOSAL_TARGET',
          `slash escrow ${id} burns at ${formatTime(e.burnsAtNs)}, too soon for this appeal, which could execute at ${formatTime(earliest)} ` +
            `(after the voting period and the timelock) and needs ${SLASH_APPEAL_MARGIN_SECONDS} s to spare`,
        );
      }
      return;
    }
    case 'software_upgrade':
      if (m.upgrade.height <= ctx.height) throw new AppError('INVALID_PROPOSAL_TARGET', `upgrade height ${m.upgrade.height} is not above the current height ${ctx.height}`);
      return;
    case 'text':
      return;
  }
}

/** Runs a passed proposal's action on `state` (a fork the caller merges only on success); throws to fail it. */
async function execute(state: StateOverlay, ctx: HookContext, p: GovProposal, events: Event[]): Promise<void> {
  const m = p.content;
  const id = p.id.toString();
  switch (p.kind) {
    case 'param_change': {
      const next = applyParamChanges(await readParams(state), m.paramChanges, (await getGovState(state)).maxBlockBytes);
      paramsRecord.set(state, next);
      for (const c of m.paramChanges) events.push(event('param_change', { proposal: id, path: c.path, value: c.value }));
      return;
    }
    case 'treasury_spend':
      await debit(state, TREASURY, m.treasurySpend.amount);
      await credit(state, m.treasurySpend.recipient, m.treasurySpend.amount);
      events.push(event('treasury_spend', { proposal: id, recipient: toHex(m.treasurySpend.recipient), amount: m.treasurySpend.amount.toString() }));
      return;
    case 'validator_action': {
      const a = m.validatorAction;
      const v = await validators.get(state, a.validator);
      if (v === undefined) throw new AppError('INVALID_PROPOSAL_TARGET', `validator ${toHex(a.validator)} no longer exists`);
      if (isOutForGood(v)) throw new AppError('INVALID_PROPOSAL_TARGET', `validator ${toHex(a.validator)} is already out of the set for good (${v.tombstoned ? 'tombstoned' : 'removed'})`);
      if (v.power > 0n && !(await anotherValidatorRemains({ state, params: ctx.params, time: ctx.time }, v))) {
        throw new AppError('INVALID_PROPOSAL_TARGET', `validator ${toHex(a.validator)} is the last one holding power; the chain cannot go on without it`);
      }
      if (a.action === 'remove') {
        // Not tombstoned: evidence of a double-sign it made (it still votes until H + 2) slashes it and tombstones it.
        validators.set(state, v.address, { ...v, removed: true, jailedUntilNs: JAILED_FOREVER });
      } else {
        const until = ctx.time + a.jailSeconds * NS_PER_SECOND;
        validators.set(state, v.address, { ...v, jailedUntilNs: v.jailedUntilNs > until ? v.jailedUntilNs : until });
      }
      events.push(event('validator_action', { proposal: id, validator: toHex(v.address), action: a.action, jail_seconds: a.jailSeconds.toString() }));
      return;
    }
    case 'slash_appeal': {
      const e = await restoreSlash(state, m.slashAppeal.escrowId);
      if (e === undefined) throw new AppError('INVALID_PROPOSAL_TARGET', `slash escrow ${m.slashAppeal.escrowId} no longer exists (burned or restored)`);
      events.push(event('slash_restored', { proposal: id, escrow: m.slashAppeal.escrowId.toString(), agent: toHex(e.agent), amount: e.amount.toString() }));
      return;
    }
    case 'software_upgrade': {
      if (m.upgrade.height <= ctx.height) throw new AppError('INVALID_PROPOSAL_TARGET', `upgrade height ${m.upgrade.height} has passed (now ${ctx.height})`);
      const gs = await getGovState(state);
      govState.set(state, { ...gs, upgrade: m.upgrade, upgradeProposal: p.id });
      events.push(event('upgrade_plan', { proposal: id, name: m.upgrade.name, height: m.upgrade.height.toString() }));
      return;
    }
    case 'text':
      return;
  }
}

async function tally(ctx: HookContext, p: GovProposal, totalWeight: bigint): Promise<void> {
  const t = await tallyVotes(ctx.state, p.id, totalWeight);
  const g = ctx.params.governance;
  const outcome = judge(t, p.critical, g.quorum_bps, g.veto_bps);
  let depositStatus: GovProposal['depositStatus'];
  if (outcome.status === 'vetoed') {
    await burn(ctx.state, p.deposit);
    depositStatus = 'burned';
  } else {
    await credit(ctx.state, p.proposer, p.deposit);
    depositStatus = 'returned';
  }
  const executeNs = outcome.status === 'passed' ? p.votingEndNs + g.timelock_seconds * NS_PER_SECOND : 0n;
  const next: GovProposal = {
    ...p,
    status: outcome.status,
    tally: t,
    tallyNs: ctx.time,
    tallyHeight: ctx.height,
    tallyQuorumBps: g.quorum_bps,
    tallyVetoBps: g.veto_bps,
    outcome: outcome.reason,
    depositStatus,
    executeNs,
  };
  proposals.set(ctx.state, p.id, next);
  // A timelock already over (timelock_seconds 0, or a tally late by more than it) executes in this block's end-block.
  if (executeNs > 0n) scheduleTimer(ctx.state, Timers.EXECUTION, executeNs, p.id);
  ctx.events.push(
    event('proposal_tally', {
      proposal: p.id.toString(),
      status: outcome.status,
      yes: t.yes.toString(),
      no: t.no.toString(),
      abstain: t.abstain.toString(),
      veto: t.veto.toString(),
      total_weight: t.totalWeight.toString(),
      deposit: depositStatus,
      ...(executeNs > 0n ? { executes_at: formatTime(executeNs) } : {}),
    }),
  );
}

async function executeProposal(ctx: HookContext, p: GovProposal): Promise<void> {
  const fork = ctx.state.fork();
  const events: Event[] = [];
  let failure = '';
  try {
    await execute(fork, ctx, p, events);
  } catch (err) {
    if (!(err instanceof AppError) || err.code === 'INTERNAL' || err.code === 'STORE_CORRUPT') throw err;
    failure = `${err.code}: ${err.message}`;
  }
  if (failure === '') {
    ctx.state.merge(fork);
    ctx.events.push(...events);
  }
  const status = failure === '' ? 'executed' : 'failed';
  proposals.set(ctx.state, p.id, { ...p, status, executedHeight: ctx.height, failure });
  ctx.events.push(event('proposal_executed', { proposal: p.id.toString(), kind: p.kind, status, ...(failure === '' ? {} : { reason: failure }) }));
}

export const governanceModule: Module = {
  name: 'governance',

  async initGenesis(state, genesis) {
    govState.set(state, {
      nextId: 1n,
      maxBlockBytes: genesis.consensusParams.block.max_bytes,
      upgrade: { name: '', height: 0n, info: '' },
      upgradeProposal: 0n,
    });
  },

  handlers: {
    async submit_proposal(ctx, msg) {
      const kind = proposalKind(msg);
      const min = await minDeposit(ctx.state, ctx.params);
      if (msg.deposit < min) {
        throw new AppError(
          'DEPOSIT_TOO_SMALL',
          `a deposit of ${msg.deposit} uacc is below ${ctx.params.governance.min_deposit_bps} bps of the circulating supply (${min} uacc); deposit at least ${min}`,
          { min_deposit: min.toString() },
        );
      }
      // The deposit first: a signer who cannot pay it does not get the action's checks run for the intrinsic gas.
      await debit(ctx.state, ctx.signer, msg.deposit);
      await checkAction(ctx, kind, msg);
      const gs = await getGovState(ctx.state);
      const id = gs.nextId;
      govState.set(ctx.state, { ...gs, nextId: id + 1n });
      const votingEndNs = ctx.time + ctx.params.governance.voting_seconds * NS_PER_SECOND;
      const critical = isCritical(kind, msg, ctx.params, kind === 'treasury_spend' ? await treasuryInFlight(ctx.state) : 0n);
      proposals.set(ctx.state, id, {
        id,
        kind,
        critical,
        status: 'voting',
        proposer: ctx.signer,
        content: msg,
        deposit: msg.deposit,
        depositStatus: 'held',
        submitHeight: ctx.height,
        submitNs: ctx.time,
        votingEndNs,
        tally: { yes: 0n, no: 0n, abstain: 0n, veto: 0n, totalWeight: 0n },
        tallyNs: 0n,
        tallyHeight: 0n,
        outcome: '',
        executeNs: 0n,
        executedHeight: 0n,
        failure: '',
        tallyQuorumBps: 0n,
        tallyVetoBps: 0n,
      });
      scheduleTimer(ctx.state, Timers.VOTING_END, votingEndNs, id);
      ctx.events.push(
        event('submit_proposal', {
          proposal: id.toString(),
          kind,
          critical: String(critical),
          proposer: toHex(ctx.signer),
          deposit: msg.deposit.toString(),
          voting_end: formatTime(votingEndNs),
        }),
      );
    },

    async vote(ctx, msg) {
      const p = await getProposal(ctx.state, msg.proposalId);
      if (p === undefined) throw new AppError('PROPOSAL_NOT_FOUND', `there is no proposal ${msg.proposalId}; see \`proposals\``);
      if (p.status !== 'voting' || ctx.time >= p.votingEndNs) {
        throw new AppError('VOTING_CLOSED', `voting on proposal ${p.id} ended at ${formatTime(p.votingEndNs)}; it is ${p.status === 'voting' ? 'being tallied' : p.status}`);
      }
      const weight = await votingWeight(ctx.state, ctx.signer);
      if (weight === 0n) {
        throw new AppError('NO_VOTING_WEIGHT', `${toHex(ctx.signer)} holds no bonded ACC; only agent bonds and validator stakes vote (register an agent: agentcluster tx agent register)`);
      }
      votes.set(ctx.state, [p.id, ctx.signer], { voter: ctx.signer, option: msg.option as VoteOption, height: ctx.height });
      ctx.events.push(event('vote', { proposal: p.id.toString(), voter: toHex(ctx.signer), option: msg.option, weight: weight.toString() }));
    },
  },

  // The tally runs before the block's txs, on the state of the last block before the voting end: no tx of the
  // tally block (where votes are closed) can change a weight that counts.
  async beginBlock(ctx) {
    const due = await takeDueTimers(ctx.state, Timers.VOTING_END, ctx.time);
    if (due.length === 0) return;
    const totalWeight = await totalVotingWeight(ctx.state);
    for (const id of due) {
      const p = await getProposal(ctx.state, id);
      if (p?.status === 'voting') await tally(ctx, p, totalWeight);
    }
  },

  async endBlock(ctx) {
    for (const id of await takeDueTimers(ctx.state, Timers.EXECUTION, ctx.time)) {
      const p = await getProposal(ctx.state, id);
      if (p?.status === 'passed') await executeProposal(ctx, p);
    }
  },
};
