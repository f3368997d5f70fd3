// The randomness beacon (issue 7): a RANDAO mix updated by every block with its proposer's reveal.
//
//   genesis mix  m_{h0-1} = sha256("agentcluster/beacon/v1/genesis" || genesis hash)      (h0 = initial height)
//   block h      m_h      = sha256("agentcluster/beacon/v1/mix" || m_{h-1} || sha256(reveal_h))
//
// reveal_h is the proposer's BLS signature over (chain id, h) (src/crypto/bls.ts). BLS signatures are unique, so the
// proposer cannot grind it: consensus prevotes nil on a block whose reveal does not verify under the proposer's
// registered BLS key (src/consensus/block.ts), and the key is fixed in state before the proposer's turn comes.
//
// Remaining bias (what a consumer must assume):
// - The proposer of block h sees m_h before anyone else (it can compute its own reveal early) and may withhold its
//   block: the round moves to another proposer, whose reveal gives a different m_h. That is one bit of influence
//   (publish or not) per withheld block. Its price today is only visibility (the height commits a round later and
//   the missing round-0 proposer is known): the chain has no proposer reward and no missed-proposal mark yet, so
//   pricing withholding (e.g. reputation counting missed proposals) is open work.
// - c colluding validators that propose consecutive blocks before a draw can choose among up to 2^c outcomes (each
//   decides to publish or withhold); with a weighted round robin, long runs of one coalition are rare unless it holds
//   a large share of the power.
// - So a consumer must draw from the mix of a block at least K blocks after the thing being decided (a result's
//   block) was committed: when the input is fixed nobody can yet know m_{h+K}, and biasing it needs control of the
//   proposers of those K blocks. K trades latency for the number of proposers an attacker must control. Drawing
//   from a mix that already exists when the input is chosen (K = 0) would let the submitter grind its input instead.
// - A draw is only as fresh as the last honest reveal: if the proposers of h+1 to h+K all collude, they steer
//   m_{h+K} with about K bits (more with the extra rounds each withholding opens).
import { AppError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { utf8 } from '../crypto/bytes.ts';
import { BLS_SIGNATURE_LENGTH } from '../crypto/bls.ts';
import { messageCodec } from '../codec/codec.ts';
import { Namespace, Repo, Singleton, u64Key } from './repo.ts';
import { genesisHash, type Genesis } from './genesis.ts';
import type { Module } from './module.ts';
import type { StateReader } from './store.ts';
import type { StateOverlay } from './overlay.ts';

export const MIX_LENGTH = 32;
/** How many heights of mixes are kept in state (older ones are deleted): a consumer's lag K must stay below this. */
export const BEACON_HISTORY = 1024n;

const GENESIS_DOMAIN = utf8('agentcluster/beacon/v1/genesis');
const MIX_DOMAIN = utf8('agentcluster/beacon/v1/mix');

/** The beacon as it stands after block `height` (the current record; the genesis mix has height initial_height - 1). */
export interface BeaconMix {
  height: bigint;
  mix: Uint8Array;
}

const BeaconMixCodec = messageCodec<BeaconMix>('BeaconMix', { trusted: true });

// A mix in the history is just its 32 bytes; a wrong length means a corrupt store.
const rawMix = {
  encode: (m: Uint8Array) => m,
  decode: (b: Uint8Array) => {
    if (b.length !== MIX_LENGTH) throw new AppError('STORE_CORRUPT', `a beacon mix record is ${b.length} bytes, not ${MIX_LENGTH}; the state is damaged`);
    return b;
  },
};

// Key layout under Namespace.BEACON: (no suffix) -> the current BeaconMix; 0x01 || height (8-byte BE) -> that height's mix.
const current = new Singleton<BeaconMix>(Namespace.BEACON, {
  encode: (v) => BeaconMixCodec.encode(v),
  decode: (b) => BeaconMixCodec.decode(b),
});
const history = new Repo<bigint, Uint8Array>(Namespace.BEACON, (h) => new Uint8Array([0x01, ...u64Key(h)]), rawMix);

/** The mix before the first block: bound to the genesis (so two chains never share a beacon). */
export function genesisMix(genesis: Genesis): Uint8Array {
  return sha256(GENESIS_DOMAIN, genesisHash(genesis));
}

/** One step of the beacon: the mix after a block with this reveal. */
export function nextMix(previous: Uint8Array, reveal: Uint8Array): Uint8Array {
  return sha256(MIX_DOMAIN, previous, sha256(reveal));
}

/** The 32-byte beacon mix as it stood after block `height` executed, or undefined when that height is not kept. */
export async function beaconMixAt(state: StateReader, height: bigint): Promise<Uint8Array | undefined> {
  if (height < 0n) return undefined;
  return history.get(state, height);
}

/** The latest mix and its height (undefined only before genesis ran). The RPC's `beacon` method shows this. */
export function currentBeacon(state: StateReader): Promise<BeaconMix | undefined> {
  return current.get(state);
}

function record(state: StateOverlay, height: bigint, mix: Uint8Array): void {
  history.set(state, height, mix);
  current.set(state, { height, mix });
  // Keep heights (height - BEACON_HISTORY, height]; exactly one falls out per block.
  if (height >= BEACON_HISTORY) history.delete(state, height - BEACON_HISTORY);
}

export const beaconModule: Module = {
  name: 'beacon',

  async initGenesis(state, genesis) {
    record(state, genesis.initialHeight - 1n, genesisMix(genesis));
  },

  // Begin-block, so every later hook and message of block h already sees m_h.
  async beginBlock(ctx) {
    // Not re-verified here: consensus verified the reveal before prevoting, and a committed block cannot be refused
    // by the executor anyway (refusing would halt the chain, not undo the commit); a BLS pairing (~30 ms) per block
    // would also slow block sync, which trusts blocks by their commit. The length check catches wiring mistakes.
    if (ctx.randaoReveal.length !== BLS_SIGNATURE_LENGTH) {
      throw new AppError('BEACON_BAD_REVEAL', `block ${ctx.height} carries a ${ctx.randaoReveal.length}-byte randao_reveal; a block must carry its proposer's 96-byte BLS signature over the height`);
    }
    const prev = await current.get(ctx.state);
    if (prev === undefined || prev.height !== ctx.height - 1n) {
      throw new AppError('STORE_CORRUPT', `the beacon holds no mix for height ${ctx.height - 1n}; the state is damaged`);
    }
    const mix = nextMix(prev.mix, ctx.randaoReveal);
    // No event: it would add an indexed entry to every block; the RPC reads the mix from state instead.
    record(ctx.state, ctx.height, mix);
  },
};
