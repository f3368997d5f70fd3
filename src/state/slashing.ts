// Slashing by severity (whitepaper 6.1: 1-100% of stake). An infraction of kind K takes severity_bps[K] of
// everything the agent has at risk: its validator stake, its agent bond, and its unbonding entries created at or
// after infraction height - 1. Power set in end-block of H takes effect at H + 2, so stake unstaked at H - 1 still
// voted at H (Cosmos's ValidatorUpdateDelay); tokens that started leaving earlier are not answerable. The slashed tokens
// wait in a slash escrow for slashing.appeal_window_seconds, during which governance (issue 8) may restore them with
// restoreSlash; then they burn.
//
// Infractions found here: double-sign evidence from consensus (slash, then tombstone: jailed for good) and downtime
// (fewer than downtime_min_signed_bps of the last downtime_window_blocks signed: slash, then jail for
// downtime_jail_seconds; MsgUnjail ends it). The tasks module calls `slash` for fraudulent results and missed reveals.
// Rounding: each holding loses floor(holding x bps / 10,000), so a slash never takes more than its share.
import { toHex } from '../crypto/bytes.ts';
import { formatTime } from '../codec/time.ts';
import { SigningInfoCodec, SlashEscrowCodec, type SigningInfo, type SlashEscrow } from '../codec/types.ts';
import { Namespace, Repo, u64Key } from './repo.ts';
import { BPS, type AppParams, type SlashKind } from './params.ts';
import { agents, getAgent } from './agents.ts';
import { nextId, unbondings, unbondingsOf } from './bonds.ts';
import { isJailed, JAILED_FOREVER, validators } from './validators.ts';
import { burn } from './supply.ts';
import { credit } from './accounts.ts';
import { event, type HookContext, type Module } from './module.ts';
import type { StateReader } from './store.ts';
import type { StateOverlay } from './overlay.ts';

export const signingInfos = new Repo<Uint8Array, SigningInfo>(Namespace.SIGNING_INFO, (a) => a, SigningInfoCodec);
export const slashEscrows = new Repo<bigint, SlashEscrow>(Namespace.SLASH_ESCROW, u64Key, SlashEscrowCodec);

const NS_PER_SECOND = 1_000_000_000n;
/** Blocks between the end-block that lowers a validator's power and the last height it votes with the old power. */
export const VALIDATOR_UPDATE_DELAY = 1n;

export interface SlashResult {
  /** Id of the escrow holding the slashed tokens; null when the agent had nothing at risk. */
  escrowId: bigint | null;
  amount: bigint;
}

const cut = (holding: bigint, bps: bigint): bigint => (holding * bps) / BPS;

/** Task infractions (an agent's work, not its validation) reach its bond only, never its validator stake. */
const BOND_ONLY: ReadonlySet<SlashKind> = new Set<SlashKind>(['fraudulent_result', 'missed_reveal']);

/**
 * Slashes an agent for an infraction of `kind` committed at `infractionHeight` (the hook the tasks module calls for
 * fraudulent results and missed reveals). Moves the slashed tokens into a new slash escrow. Consensus infractions
 * take from the stake, the bond and the unbonding entries; task infractions from the bond and its unbonding only, so
 * a validator that also reviews risks its agent bond for its reviews, not the stake that secures consensus.
 */
export async function slash(
  state: StateOverlay,
  params: AppParams,
  at: { height: bigint; time: bigint },
  agentAddress: Uint8Array,
  kind: SlashKind,
  infractionHeight: bigint,
): Promise<SlashResult> {
  const bps = params.slashing.severity_bps[kind];
  let taken = 0n;
  const agent = await getAgent(state, agentAddress);
  const bondOnly = BOND_ONLY.has(kind);
  if (agent !== undefined) {
    if (agent.validator.length > 0 && !bondOnly) {
      const v = await validators.get(state, agent.validator);
      if (v !== undefined) {
        const c = cut(v.stake, bps);
        validators.set(state, v.address, { ...v, stake: v.stake - c });
        taken += c;
      }
    }
    const c = cut(agent.bond, bps);
    agents.set(state, agentAddress, { ...agent, bond: agent.bond - c });
    taken += c;
  }
  let bondEntryGone = false;
  for (const [key, u] of await unbondingsOf(state, agentAddress)) {
    if (u.createdHeight + VALIDATOR_UPDATE_DELAY < infractionHeight) continue;
    if (bondOnly && u.kind !== 'bond') continue;
    const c = cut(u.amount, bps);
    if (c === 0n) continue;
    if (c === u.amount) {
      unbondings.delete(state, key);
      bondEntryGone ||= u.kind === 'bond';
    } else {
      unbondings.set(state, key, { ...u, amount: u.amount - c });
    }
    taken += c;
  }
  // A leaving agent whose returning bond was slashed to nothing is gone now: nothing will come back to end it.
  if (bondEntryGone && agent?.status === 'unbonding') agents.delete(state, agentAddress);
  if (taken === 0n) return { escrowId: null, amount: 0n };
  const id = await nextId(state);
  slashEscrows.set(state, id, {
    agent: agentAddress,
    kind,
    amount: taken,
    height: at.height,
    burnsAtNs: at.time + params.slashing.appeal_window_seconds * NS_PER_SECOND,
  });
  return { escrowId: id, amount: taken };
}

/**
 * Governance's slashing appeal (issue 8): returns an escrow's tokens to the agent's balance before they burn.
 * Returns the escrow, or undefined if there is none with that id (already burned or restored).
 */
export async function restoreSlash(state: StateOverlay, id: bigint): Promise<SlashEscrow | undefined> {
  const e = await slashEscrows.get(state, id);
  if (e === undefined) return undefined;
  slashEscrows.delete(state, id);
  await credit(state, e.agent, e.amount);
  return e;
}

export async function allSlashEscrows(state: StateReader): Promise<Array<[bigint, SlashEscrow]>> {
  return (await slashEscrows.all(state)).map(([k, e]) => [new DataView(k.buffer, k.byteOffset, 8).getBigUint64(0), e]);
}

async function punishDoubleSigns(ctx: HookContext): Promise<void> {
  for (const ev of ctx.evidence) {
    const address = ev.value.voteA.validatorAddress;
    const v = await validators.get(ctx.state, address);
    if (v === undefined || v.tombstoned) {
      ctx.events.push(event('evidence_ignored', { validator: toHex(address), reason: v === undefined ? 'no such validator' : 'already tombstoned' }));
      continue;
    }
    const r = await slash(ctx.state, ctx.params, ctx, v.operator, 'double_sign', ev.value.voteA.height);
    const after = (await validators.get(ctx.state, address))!;
    validators.set(ctx.state, address, { ...after, tombstoned: true, jailedUntilNs: JAILED_FOREVER });
    ctx.events.push(
      event('slash', {
        validator: toHex(address),
        agent: toHex(v.operator),
        kind: 'double_sign',
        amount: r.amount.toString(),
        escrow: r.escrowId?.toString() ?? '',
        infraction_height: ev.value.voteA.height.toString(),
        tombstoned: 'true',
      }),
    );
  }
}

function freshInfo(height: bigint, window: bigint): SigningInfo {
  return { startHeight: height, counted: 0n, missed: 0n, missedBits: new Uint8Array(Number((window + 7n) / 8n)) };
}

/** Counts who signed the previous block; a validator missing too many of the window is slashed and jailed. */
async function trackDowntime(ctx: HookContext): Promise<void> {
  const p = ctx.params.slashing;
  const window = p.downtime_window_blocks;
  // Slashed when it signed fewer than min_signed_bps of the window: the least number of blocks to sign rounds up.
  const minSigned = (window * p.downtime_min_signed_bps + BPS - 1n) / BPS;
  const maxMissed = window - minSigned;
  for (const vote of ctx.lastCommit) {
    const v = await validators.get(ctx.state, vote.address);
    if (v === undefined || isJailed(v)) continue;
    let info = (await signingInfos.get(ctx.state, vote.address)) ?? freshInfo(ctx.height, window);
    if (info.missedBits.length !== Number((window + 7n) / 8n)) info = freshInfo(ctx.height, window); // the window param changed
    const slot = Number(info.counted % window);
    const mask = 1 << slot % 8;
    const wasMissed = (info.missedBits[slot >> 3] & mask) !== 0;
    const bits = Uint8Array.from(info.missedBits);
    let missed = info.missed;
    if (!vote.signed && !wasMissed) {
      bits[slot >> 3] |= mask;
      missed += 1n;
    } else if (vote.signed && wasMissed) {
      bits[slot >> 3] &= ~mask;
      missed -= 1n;
    }
    info = { ...info, counted: info.counted + 1n, missed, missedBits: bits };
    if (info.counted >= window && missed > maxMissed) {
      const r = await slash(ctx.state, ctx.params, ctx, v.operator, 'downtime', ctx.height - 1n);
      const jailedUntilNs = ctx.time + p.downtime_jail_seconds * NS_PER_SECOND;
      const after = (await validators.get(ctx.state, vote.address))!;
      validators.set(ctx.state, vote.address, { ...after, jailedUntilNs: jailedUntilNs > 0n ? jailedUntilNs : 1n });
      info = freshInfo(ctx.height + 1n, window);
      ctx.events.push(
        event('slash', {
          validator: toHex(vote.address),
          agent: toHex(v.operator),
          kind: 'downtime',
          amount: r.amount.toString(),
          escrow: r.escrowId?.toString() ?? '',
          missed: missed.toString(),
          window: window.toString(),
          jailed_until: formatTime(jailedUntilNs),
        }),
      );
    }
    signingInfos.set(ctx.state, vote.address, info);
  }
}

/** Escrows whose appeal window is over burn. */
async function burnMatured(ctx: HookContext): Promise<void> {
  for (const [id, e] of await allSlashEscrows(ctx.state)) {
    if (e.burnsAtNs > ctx.time) continue;
    slashEscrows.delete(ctx.state, id);
    await burn(ctx.state, e.amount);
    ctx.events.push(event('slash_burned', { escrow: id.toString(), agent: toHex(e.agent), kind: e.kind, amount: e.amount.toString() }));
  }
}

export const slashingModule: Module = {
  name: 'slashing',
  async beginBlock(ctx) {
    await punishDoubleSigns(ctx);
    await trackDowntime(ctx);
  },
  async endBlock(ctx) {
    await burnMatured(ctx);
  },
};
