// Agents (whitepaper 4.1): the network's citizens. An agent registers with its public key (the tx signer's),
// declared capabilities, a hardware attestation and a locked bond; the registration fee burns. Capabilities stay
// claimed until a compute benchmark (a task kind, issue 7) calls markCapabilitiesVerified. An attestation expires and
// is renewed with MsgRenewAttestation; an agent whose attestation lapsed cannot stake and drops out of the validator
// set. Deregistering starts returning the bond after agents.unbonding_seconds (slashable until then); once it has
// returned, the agent record is removed and the key may register again.
import { AppError } from '../errors.ts';
import { toHex } from '../crypto/bytes.ts';
import { formatTime } from '../codec/time.ts';
import { AgentCodec, type Agent, type Capabilities } from '../codec/types.ts';
import { Namespace, Repo } from './repo.ts';
import { debit } from './accounts.ts';
import { burn } from './supply.ts';
import { startUnbonding } from './bonds.ts';
import { verifyAttestation } from './attestation.ts';
import { validators } from './validators.ts';
import { event, type Module, type TxContext } from './module.ts';
import type { StateReader } from './store.ts';
import type { StateOverlay } from './overlay.ts';
import type { Genesis } from './genesis.ts';

export const agents = new Repo<Uint8Array, Agent>(Namespace.AGENT, (a) => a, AgentCodec);

const NS_PER_SECOND = 1_000_000_000n;

/** Attestation kind of genesis validators: the genesis file itself, which every node checked by its hash. */
export const GENESIS_ATTESTATION = 'genesis';

export const NO_CAPABILITIES: Capabilities = { cpuCores: 0, gpuMemoryMb: 0n, llmTokensPerSecond: 0n, models: [], skills: [] };

export function getAgent(state: StateReader, address: Uint8Array): Promise<Agent | undefined> {
  return agents.get(state, address);
}

export function isAttested(agent: Agent, now: bigint): boolean {
  return agent.attestationExpiresNs > now;
}

/** Registered, not leaving, and attested at `now`: may stake, validate and (issue 7) take tasks. */
export function isActiveAgent(agent: Agent | undefined, now: bigint): agent is Agent {
  return agent !== undefined && agent.status === 'active' && isAttested(agent, now);
}

/** The signer as an active agent, or NOT_AN_AGENT saying what to do. */
export async function requireActiveAgent(ctx: Pick<TxContext, 'state' | 'signer' | 'time'>): Promise<Agent> {
  const agent = await getAgent(ctx.state, ctx.signer);
  if (agent === undefined) {
    throw new AppError('NOT_AN_AGENT', `${toHex(ctx.signer)} is not a registered agent; register first (agentcluster tx agent register)`);
  }
  if (agent.status !== 'active') throw new AppError('NOT_AN_AGENT', `agent ${toHex(ctx.signer)} has deregistered; its bond is unbonding`);
  if (!isAttested(agent, ctx.time)) {
    throw new AppError('NOT_AN_AGENT', `the attestation of agent ${toHex(ctx.signer)} expired at ${formatTime(agent.attestationExpiresNs)}; renew it (agentcluster tx agent renew)`);
  }
  return agent;
}

/**
 * The compute-benchmark hook (issue 7's benchmark task kind calls it when a committee verified the agent's claims):
 * its capabilities become verified as of `now`. Returns false if there is no such agent.
 */
export async function markCapabilitiesVerified(state: StateOverlay, address: Uint8Array, now: bigint): Promise<boolean> {
  const agent = await getAgent(state, address);
  if (agent === undefined) return false;
  agents.set(state, address, { ...agent, capabilitiesVerified: true, capabilitiesVerifiedNs: now });
  return true;
}

function checkTags(c: Capabilities, maxTags: bigint): void {
  for (const field of ['models', 'skills'] as const) {
    if (BigInt(c[field].length) > maxTags) {
      throw new AppError('INVALID_FIELD', `capabilities.${field} lists ${c[field].length} tags; at most agents.max_tags = ${maxTags} are allowed`, { field });
    }
  }
}

/** Genesis validators are agents from the start, attested by the genesis itself (see GENESIS_ATTESTATION). */
async function initGenesis(state: StateOverlay, genesis: Genesis): Promise<void> {
  const p = genesis.appParams.agents;
  for (const v of genesis.validators) {
    agents.set(state, v.address, {
      address: v.address,
      pubKey: v.publicKey,
      capabilities: NO_CAPABILITIES,
      capabilitiesVerified: false,
      capabilitiesVerifiedNs: 0n,
      attestationKind: GENESIS_ATTESTATION,
      attestationExpiresNs: genesis.genesisTime + p.attestation_max_seconds * NS_PER_SECOND,
      measurement: new Uint8Array(0),
      bond: p.bond,
      status: 'active',
      registeredNs: genesis.genesisTime,
      registeredHeight: genesis.initialHeight,
      validator: v.address,
    });
  }
}

export const agentsModule: Module = {
  name: 'agents',
  initGenesis,
  handlers: {
    async register_agent(ctx, msg) {
      const existing = await getAgent(ctx.state, ctx.signer);
      if (existing !== undefined) {
        throw new AppError(
          'ALREADY_REGISTERED',
          existing.status === 'active'
            ? `${toHex(ctx.signer)} is already a registered agent; use renew_attestation to refresh its attestation`
            : `agent ${toHex(ctx.signer)} deregistered and its bond is still unbonding; register again once it has returned`,
        );
      }
      const p = ctx.params.agents;
      checkTags(msg.capabilities, p.max_tags);
      if (msg.bond < p.bond) {
        throw new AppError('BOND_TOO_SMALL', `bond ${msg.bond} uacc is below the required agents.bond of ${p.bond} uacc; bond at least that much`, {
          required: p.bond.toString(),
        });
      }
      const att = verifyAttestation(msg.attestation, { chainId: ctx.chainId, agentPubKey: ctx.signerPubKey, now: ctx.time, params: p });
      await debit(ctx.state, ctx.signer, msg.bond + p.registration_fee);
      await burn(ctx.state, p.registration_fee);
      agents.set(ctx.state, ctx.signer, {
        address: ctx.signer,
        pubKey: ctx.signerPubKey,
        capabilities: msg.capabilities,
        capabilitiesVerified: false,
        capabilitiesVerifiedNs: 0n,
        attestationKind: att.kind,
        attestationExpiresNs: att.expiresNs,
        measurement: att.measurement,
        bond: msg.bond,
        status: 'active',
        registeredNs: ctx.time,
        registeredHeight: ctx.height,
        validator: new Uint8Array(0),
      });
      ctx.events.push(
        event('register_agent', {
          agent: toHex(ctx.signer),
          bond: msg.bond.toString(),
          fee_burned: p.registration_fee.toString(),
          attestation: att.kind,
          attestation_expires: formatTime(att.expiresNs),
        }),
      );
    },

    async renew_attestation(ctx, msg) {
      const agent = await getAgent(ctx.state, ctx.signer);
      if (agent === undefined || agent.status !== 'active') {
        throw new AppError('NOT_AN_AGENT', `${toHex(ctx.signer)} is not an active agent; register first (agentcluster tx agent register)`);
      }
      const att = verifyAttestation(msg.attestation, { chainId: ctx.chainId, agentPubKey: ctx.signerPubKey, now: ctx.time, params: ctx.params.agents });
      agents.set(ctx.state, ctx.signer, { ...agent, attestationKind: att.kind, attestationExpiresNs: att.expiresNs, measurement: att.measurement });
      ctx.events.push(event('renew_attestation', { agent: toHex(ctx.signer), attestation: att.kind, attestation_expires: formatTime(att.expiresNs) }));
    },

    async deregister_agent(ctx) {
      const agent = await getAgent(ctx.state, ctx.signer);
      if (agent === undefined || agent.status !== 'active') {
        throw new AppError('NOT_AN_AGENT', `${toHex(ctx.signer)} is not an active agent; there is nothing to deregister`);
      }
      if (agent.validator.length > 0) {
        const v = await validators.get(ctx.state, agent.validator);
        if (v !== undefined && v.stake > 0n) {
          throw new AppError('VALIDATOR_STATE', `agent ${toHex(ctx.signer)} still has ${v.stake} uacc of validator stake; unstake it all first (agentcluster tx staking unstake)`);
        }
        // Until its power is gone the validator still votes, and its bond must stay answerable for those votes.
        if (v !== undefined && v.power > 0n) {
          throw new AppError('VALIDATOR_STATE', `validator ${toHex(v.address)} still holds ${v.power} voting power; deregister once it has left the set (the end of the block after the unstake)`);
        }
      }
      const completesNs = ctx.time + ctx.params.agents.unbonding_seconds * NS_PER_SECOND;
      if (agent.bond > 0n) {
        await startUnbonding(ctx.state, { owner: ctx.signer, kind: 'bond', amount: agent.bond, height: ctx.height, completesNs });
        agents.set(ctx.state, ctx.signer, { ...agent, status: 'unbonding', bond: 0n });
      } else {
        agents.delete(ctx.state, ctx.signer); // slashed to nothing: there is no bond to wait for
      }
      ctx.events.push(event('deregister_agent', { agent: toHex(ctx.signer), bond: agent.bond.toString(), completes: formatTime(completesNs) }));
    },
  },
};
