// Domain methods of issue 8, governance: `proposal`, `proposals` and `upgrade_plan`. Same encodings as domain.ts:
// int64 and amounts as decimal strings, bytes as upper-case hex, times RFC 3339; a time, height or text not set is null.
//
// A proposal's tally: while it is `voting`, a live one (tallyVotes: its votes weighted by the bonds and stakes of the
// latest state, `tally_final: false`), which can still change until the tally counts them again at the voting end;
// afterwards the one the tally stored (`tally_final: true`). The quorum figures are derived with the current
// governance.quorum_bps while voting and with the one the tally judged with afterwards; the pass rule comes from the
// proposal's `critical` flag (module.ts, `judge`).
import type { GovProposal, GovVote, MsgSubmitProposal, ProposalStatus, TallyResult } from '../codec/types.ts';
import { PROPOSAL_STATUSES } from '../codec/types.ts';
import { toHex } from '../crypto/bytes.ts';
import { formatTime } from '../codec/time.ts';
import { BPS } from '../state/params.ts';
import { tallyVotes, totalVotingWeight } from '../state/governance/module.ts';
import { allProposals, getGovState, getProposal, votesOf } from '../state/governance/store.ts';
import { defineListMethod, defineRecordMethod, idParam, pageOf, stableRead, wordFilter, type ListMethodDef, type RecordMethodDef, type StateView } from './domain.ts';
import type { RpcContext } from './context.ts';
import type { Method, MethodTable } from './types.ts';

const time = (ns: bigint): string | null => (ns === 0n ? null : formatTime(ns));
const height = (h: bigint): string | null => (h === 0n ? null : h.toString());
const text = (s: string): string | null => (s === '' ? null : s);

/** A proposal with what its JSON needs besides the record: the tally to show, the quorum share, and (`proposal`) its votes. */
export interface ProposalRecord {
  proposal: GovProposal;
  /** The live tally of a `voting` proposal, else the stored one. */
  tally: TallyResult;
  tallyFinal: boolean;
  quorumBps: bigint;
  /** undefined in list items. */
  votes?: GovVote[];
}

/** The one action of a proposal, under its own name; {} for a text proposal. */
export function proposalContentJSON(kind: GovProposal['kind'], m: MsgSubmitProposal): Record<string, unknown> {
  switch (kind) {
    case 'param_change':
      return { param_changes: m.paramChanges.map((c) => ({ path: c.path, value: c.value })) };
    case 'treasury_spend':
      return { treasury_spend: { recipient: toHex(m.treasurySpend.recipient), amount: m.treasurySpend.amount.toString() } };
    case 'validator_action':
      return { validator_action: { validator: toHex(m.validatorAction.validator), action: m.validatorAction.action, jail_seconds: m.validatorAction.jailSeconds.toString() } };
    case 'slash_appeal':
      return { slash_appeal: { escrow_id: m.slashAppeal.escrowId.toString() } };
    case 'software_upgrade':
      return { upgrade: { name: m.upgrade.name, height: m.upgrade.height.toString(), info: text(m.upgrade.info) } };
    case 'text':
      return {};
  }
}

/** ceil(total x bps / 10,000): the least cast weight that reaches the quorum (judge: cast x 10,000 >= total x bps). */
export function quorumNeeded(total: bigint, quorumBps: bigint): bigint {
  return (total * quorumBps + BPS - 1n) / BPS;
}

export function tallyJSON(t: TallyResult, critical: boolean, quorumBps: bigint): Record<string, unknown> {
  const cast = t.yes + t.no + t.abstain + t.veto;
  const needed = quorumNeeded(t.totalWeight, quorumBps);
  return {
    yes: t.yes.toString(),
    no: t.no.toString(),
    abstain: t.abstain.toString(),
    veto: t.veto.toString(),
    total_weight: t.totalWeight.toString(),
    cast: cast.toString(),
    quorum_bps: quorumBps.toString(),
    quorum_needed: needed.toString(),
    quorum_reached: t.totalWeight > 0n && cast >= needed,
    pass_rule: critical ? 'two_thirds' : 'majority',
  };
}

export function proposalJSON(r: ProposalRecord): Record<string, unknown> {
  const p = r.proposal;
  const m = p.content;
  return {
    id: p.id.toString(),
    kind: p.kind,
    title: m.title,
    summary: text(m.summary),
    proposer: toHex(p.proposer),
    content: proposalContentJSON(p.kind, m),
    critical: p.critical,
    status: p.status,
    deposit: p.deposit.toString(),
    deposit_status: p.depositStatus,
    submitted_at: formatTime(p.submitNs),
    submit_height: p.submitHeight.toString(),
    voting_end: formatTime(p.votingEndNs),
    tally: tallyJSON(r.tally, p.critical, r.quorumBps),
    tally_final: r.tallyFinal,
    tallied_at: time(p.tallyNs),
    tally_height: height(p.tallyHeight),
    outcome: text(p.outcome),
    execute_at: time(p.executeNs),
    executed_height: height(p.executedHeight),
    failure: text(p.failure),
    ...(r.votes === undefined ? {} : { votes: r.votes.map((v) => ({ voter: toHex(v.voter), option: v.option, height: v.height.toString() })) }),
  };
}

/** `totalWeight`: the state's total voting weight when the caller already has it (a page of live tallies reads it once). */
async function recordOf(view: StateView, proposal: GovProposal, quorumBps: bigint, withVotes: boolean, totalWeight?: bigint): Promise<ProposalRecord> {
  const live = proposal.status === 'voting';
  return {
    proposal,
    tally: live ? await tallyVotes(view.state, proposal.id, totalWeight) : proposal.tally,
    tallyFinal: !live,
    quorumBps: live ? quorumBps : proposal.tallyQuorumBps,
    votes: withVotes ? await votesOf(view.state, proposal.id) : undefined,
  };
}

export const proposalMethod: RecordMethodDef<bigint, ProposalRecord> = {
  name: 'proposal',
  noun: 'proposal',
  key: idParam('id'),
  async read(view, id) {
    const proposal = await getProposal(view.state, id);
    if (proposal === undefined) return undefined;
    return recordOf(view, proposal, (await view.app.params()).governance.quorum_bps, true);
  },
  encode: proposalJSON,
};

/** `proposals`: newest first (proposals are few: each locks 1% of the circulating supply, so the table is scanned). */
export const proposalsMethod: ListMethodDef<ProposalRecord> = {
  name: 'proposals',
  items: 'proposals',
  filters: [wordFilter('status', 'voting', PROPOSAL_STATUSES)],
  async list(view, filters, page) {
    const status = filters.status as ProposalStatus | undefined;
    let all = (await allProposals(view.state)).reverse();
    if (status !== undefined) all = all.filter((p) => p.status === status);
    const { items, total } = pageOf(all, page);
    const quorumBps = (await view.app.params()).governance.quorum_bps;
    const totalWeight = items.some((p) => p.status === 'voting') ? await totalVotingWeight(view.state) : undefined;
    const records: ProposalRecord[] = [];
    for (const p of items) records.push(await recordOf(view, p, quorumBps, false, totalWeight));
    return { items: records, total };
  },
  encode: proposalJSON,
};

/** `upgrade_plan`: the last software upgrade a proposal executed ({name, height, info, proposal_id}), all null if none. */
export function upgradePlanMethod(ctx: RpcContext): Method {
  return {
    params: [],
    handler: () =>
      stableRead(ctx.app, async (view) => {
        const gs = await getGovState(view.state);
        if (gs.upgradeProposal === 0n) return { name: null, height: null, info: null, proposal_id: null };
        return { name: gs.upgrade.name, height: gs.upgrade.height.toString(), info: text(gs.upgrade.info), proposal_id: gs.upgradeProposal.toString() };
      }),
  };
}

/** The governance methods (src/rpc/domain-tasks.ts adds them to every domain method). */
export function govDomainMethods(ctx: RpcContext): MethodTable {
  return {
    proposal: defineRecordMethod(ctx.app, proposalMethod),
    proposals: defineListMethod(ctx.app, proposalsMethod),
    upgrade_plan: upgradePlanMethod(ctx),
  };
}
