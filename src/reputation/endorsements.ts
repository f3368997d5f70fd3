// Social reputation: endorsements between agents, with anti-gaming rules.
//
//   - Credit is earned, not printed: an endorsement carries
//       credit = endorsement_credit x min(1, R / SCORE_ONE) x min(1, B / endorsement_full_stake)
//     where R is the endorser's net non-social reputation (task + validator + compute, decayed, at least 0) and B its
//     bond plus validator stake, both at the time of endorsing (one floor at the end). The credit is fixed then and
//     decays from then with the half-life. Social reputation never feeds R, so endorsements cannot amplify each other.
//   - At most endorsement_max_per_endorser live endorsements per endorser; revoking frees a slot.
//   - No self-endorsement; only active agents (registered, not leaving, attested) endorse and are endorsed, and an
//     endorsement counts only while its endorser is active.
//   - Circles give nothing: an endorsement E -> S does not count while S endorses E back (mutual pair) or S endorses
//     some X that endorses E (a triangle); every edge of such a cycle loses its credit, and regains it when the cycle
//     is broken. Cycles of length 2 and 3 are detected: that costs at most cap point reads per endorsement (S's given
//     list, then one lookup of X -> E each). Longer rings are not looked for: each more hop multiplies the reads by the
//     cap, a ring needs that many bonded agents with real non-social reputation, and since credit does not flow back
//     into endorsing weight, a ring is worth no more than the same agents endorsing an outsider.
//   - An endorsement is tied to the registrations of both agents (their registered heights): if either deregisters
//     and registers again, the old endorsement is stale, counts for nothing and is cleared when the endorser next endorses.
//
// Layout (ENDORSEMENT namespace): 0x00 endorser subject -> Endorsement (given), 0x01 subject endorser -> the same
// record (received), so both lists are prefix scans.
import { AppError } from '../errors.ts';
import { concat, equalBytes, toHex } from '../crypto/bytes.ts';
import { EndorsementCodec, type Agent, type Endorsement } from '../codec/types.ts';
import { Namespace } from '../state/repo.ts';
import { getAgent, isActiveAgent, requireActiveAgent } from '../state/agents.ts';
import { validators } from '../state/validators.ts';
import { event, type MsgHandlers } from '../state/module.ts';
import type { AppParams } from '../state/params.ts';
import type { StateReader } from '../state/store.ts';
import type { StateOverlay } from '../state/overlay.ts';
import { SCORE_ONE } from './factor.ts';
import { decay } from './decay.ts';
import { halfLifeNs, storedDimensions } from './records.ts';

const GIVEN = 0x00;
const RECEIVED = 0x01;

const givenKey = (endorser: Uint8Array, subject: Uint8Array): Uint8Array => new Uint8Array([Namespace.ENDORSEMENT, GIVEN, ...endorser, ...subject]);
const receivedKey = (subject: Uint8Array, endorser: Uint8Array): Uint8Array => new Uint8Array([Namespace.ENDORSEMENT, RECEIVED, ...subject, ...endorser]);

export async function getEndorsement(state: StateReader, endorser: Uint8Array, subject: Uint8Array): Promise<Endorsement | undefined> {
  const v = await state.get(givenKey(endorser, subject));
  return v === undefined ? undefined : EndorsementCodec.decode(v);
}

function putEndorsement(state: StateOverlay, e: Endorsement): void {
  const bytes = EndorsementCodec.encode(e);
  state.set(givenKey(e.endorser, e.subject), bytes);
  state.set(receivedKey(e.subject, e.endorser), bytes);
}

function deleteEndorsement(state: StateOverlay, e: Pick<Endorsement, 'endorser' | 'subject'>): void {
  state.delete(givenKey(e.endorser, e.subject));
  state.delete(receivedKey(e.subject, e.endorser));
}

/** Every stored endorsement `endorser` gave, stale ones included, in subject order. */
export async function endorsementsGiven(state: StateReader, endorser: Uint8Array): Promise<Endorsement[]> {
  return (await state.entries(concat(new Uint8Array([Namespace.ENDORSEMENT, GIVEN]), endorser))).map(([, v]) => EndorsementCodec.decode(v));
}

/** Every stored endorsement `subject` received, stale ones included, in endorser order. */
export async function endorsementsReceived(state: StateReader, subject: Uint8Array): Promise<Endorsement[]> {
  return (await state.entries(concat(new Uint8Array([Namespace.ENDORSEMENT, RECEIVED]), subject))).map(([, v]) => EndorsementCodec.decode(v));
}

/** Agent reads memoised for one computation (a social score reads the same agents many times). */
class AgentCache {
  private readonly cache = new Map<string, Agent | undefined>();
  private readonly state: StateReader;
  constructor(state: StateReader) {
    this.state = state;
  }
  async get(address: Uint8Array): Promise<Agent | undefined> {
    const k = toHex(address);
    if (!this.cache.has(k)) this.cache.set(k, await getAgent(this.state, address));
    return this.cache.get(k);
  }
}

type NotLive = 'endorser_reregistered' | 'subject_reregistered' | 'endorser_inactive';

/** Why an endorsement gives no credit at `now`, or null if it counts (before the cycle rule). */
async function staleReason(agents: AgentCache, e: Endorsement, now: bigint): Promise<NotLive | null> {
  const endorser = await agents.get(e.endorser);
  if (endorser === undefined || endorser.registeredHeight !== e.endorserRegisteredHeight) return 'endorser_reregistered';
  const subject = await agents.get(e.subject);
  if (subject === undefined || subject.registeredHeight !== e.subjectRegisteredHeight) return 'subject_reregistered';
  if (!isActiveAgent(endorser, now)) return 'endorser_inactive';
  return null;
}

/** Does `from` hold a live endorsement of `to`? */
async function liveEdge(state: StateReader, agents: AgentCache, from: Uint8Array, to: Uint8Array, now: bigint): Promise<boolean> {
  const e = await getEndorsement(state, from, to);
  return e !== undefined && (await staleReason(agents, e, now)) === null;
}

/** 'mutual' (S endorses E back), 'triangle' (S -> X -> E), or null: is E -> S part of a detected cycle? */
async function cycleOf(state: StateReader, agents: AgentCache, e: Endorsement, now: bigint): Promise<'mutual' | 'triangle' | null> {
  let triangle = false;
  for (const out of await endorsementsGiven(state, e.subject)) {
    if ((await staleReason(agents, out, now)) !== null) continue;
    if (equalBytes(out.subject, e.endorser)) return 'mutual';
    if (!triangle && (await liveEdge(state, agents, out.subject, e.endorser, now))) triangle = true;
  }
  return triangle ? 'triangle' : null;
}

/** 'counts', or why not: in a detected cycle, its endorser not active now, or either side registered again since. */
export type EndorsementStatus = 'counts' | 'mutual' | 'triangle' | NotLive;

export interface EndorsementState {
  endorsement: Endorsement;
  status: EndorsementStatus;
  /** The credit decayed to `now` (0 unless status is 'counts'). */
  credit: bigint;
  /** The credit decayed to `now` whether or not it counts. */
  decayedCredit: bigint;
}

/** Evaluates endorsements at `now`: whether each counts, and its decayed credit. */
export async function evaluateEndorsements(state: StateReader, params: AppParams, list: Endorsement[], now: bigint): Promise<EndorsementState[]> {
  const agents = new AgentCache(state);
  const h = halfLifeNs(params);
  const out: EndorsementState[] = [];
  for (const e of list) {
    const status: EndorsementStatus = (await staleReason(agents, e, now)) ?? (await cycleOf(state, agents, e, now)) ?? 'counts';
    const decayedCredit = decay(e.credit, now - e.createdNs, h);
    out.push({ endorsement: e, status, credit: status === 'counts' ? decayedCredit : 0n, decayedCredit });
  }
  return out;
}

/** Social reputation at `now`: the decayed credits of the live, non-circular endorsements `subject` holds. */
export async function socialOf(state: StateReader, params: AppParams, subject: Uint8Array, now: bigint): Promise<bigint> {
  let total = 0n;
  for (const s of await evaluateEndorsements(state, params, await endorsementsReceived(state, subject), now)) total += s.credit;
  return total;
}

/** The credit an endorsement by `endorser` would carry at `now` (see the header). */
export async function endorsementCredit(state: StateReader, params: AppParams, endorser: Agent, now: bigint): Promise<bigint> {
  const p = params.reputation;
  const d = await storedDimensions(state, params, endorser.address, now);
  const net = d.task + d.validator + d.compute;
  const rep = net <= 0n ? 0n : net > SCORE_ONE ? SCORE_ONE : net;
  let holding = endorser.bond;
  if (endorser.validator.length > 0) holding += (await validators.get(state, endorser.validator))?.stake ?? 0n;
  const full = p.endorsement_full_stake;
  // min(1, holding / full) as a fraction held/full; full = 0 means stake does not weigh.
  const [held, of] = full === 0n ? [1n, 1n] : [holding < full ? holding : full, full];
  return (p.endorsement_credit * rep * held) / (SCORE_ONE * of);
}

export const endorsementHandlers: MsgHandlers = {
  async endorse(ctx, msg) {
    const endorser = await requireActiveAgent(ctx);
    const p = ctx.params.reputation;
    if (equalBytes(msg.subject, ctx.signer)) {
      throw new AppError('SELF_ENDORSEMENT', `${toHex(ctx.signer)} cannot endorse itself; endorse another active agent`);
    }
    const found = await getAgent(ctx.state, msg.subject);
    const subject = isActiveAgent(found, ctx.time) ? found : undefined;
    if (subject === undefined) {
      const why = found === undefined ? 'is not a registered agent' : found.status !== 'active' ? 'has deregistered' : 'has an expired attestation';
      throw new AppError('SUBJECT_NOT_AN_AGENT', `${toHex(msg.subject)} ${why}; only active agents can be endorsed`, { subject: toHex(msg.subject) });
    }
    const agents = new AgentCache(ctx.state);
    let live = 0n;
    for (const e of await endorsementsGiven(ctx.state, ctx.signer)) {
      // A stale endorsement (either side registered again) never counts again: clear it, freeing its slot.
      const reason = await staleReason(agents, e, ctx.time);
      if (reason === 'endorser_reregistered' || reason === 'subject_reregistered') {
        deleteEndorsement(ctx.state, e);
        continue;
      }
      if (equalBytes(e.subject, msg.subject)) {
        throw new AppError('ENDORSEMENT_EXISTS', `${toHex(ctx.signer)} already endorses ${toHex(msg.subject)}; an endorsement is given once (revoke it first to renew it)`);
      }
      live++;
    }
    if (live >= p.endorsement_max_per_endorser) {
      throw new AppError(
        'ENDORSEMENT_LIMIT',
        `${toHex(ctx.signer)} already gives ${live} endorsements, the most reputation.endorsement_max_per_endorser (${p.endorsement_max_per_endorser}) allows; revoke one first`,
        { limit: p.endorsement_max_per_endorser.toString() },
      );
    }
    const credit = await endorsementCredit(ctx.state, ctx.params, endorser, ctx.time);
    putEndorsement(ctx.state, {
      endorser: ctx.signer,
      subject: msg.subject,
      credit,
      createdNs: ctx.time,
      height: ctx.height,
      endorserRegisteredHeight: endorser.registeredHeight,
      subjectRegisteredHeight: subject.registeredHeight,
    });
    ctx.events.push(event('endorse', { endorser: toHex(ctx.signer), subject: toHex(msg.subject), credit: credit.toString() }));
  },

  async revoke_endorsement(ctx, msg) {
    // No agent check: a deregistered or unattested agent may still withdraw what it gave.
    const e = await getEndorsement(ctx.state, ctx.signer, msg.subject);
    if (e === undefined) {
      throw new AppError('ENDORSEMENT_NOT_FOUND', `${toHex(ctx.signer)} holds no endorsement of ${toHex(msg.subject)}; nothing to revoke`);
    }
    deleteEndorsement(ctx.state, e);
    ctx.events.push(event('revoke_endorsement', { endorser: toHex(ctx.signer), subject: toHex(msg.subject) }));
  },
};
