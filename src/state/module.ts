// How the state machine is extended: a module names message handlers and begin/end-block hooks, and the executor
// calls them. Staking, agents, tasks, reputation and governance each add a module; the executor never changes.
import { AppError } from '../errors.ts';
import type { Event, Evidence, MsgMap, MsgType, ValidatorUpdate } from '../codec/types.ts';
import type { AppParams } from './params.ts';
import type { StateOverlay } from './overlay.ts';
import type { Genesis } from './genesis.ts';

export interface BlockInfo {
  chainId: string;
  height: bigint;
  /** Block time (BFT time), ns since the epoch: the only clock the state machine knows. */
  time: bigint;
  proposer: Uint8Array;
}

/** One validator of the previous height's set, and whether its signature for that block is in this block's last commit. */
export interface CommitVote {
  address: Uint8Array;
  power: bigint;
  signed: boolean;
}

export interface HookContext extends BlockInfo {
  /** The previous block's validators and who signed it (empty for the first block): rewards and downtime use it. */
  lastCommit: readonly CommitVote[];
  /** Misbehaviour proven in this block (consensus verified it); the economics module slashes for it. */
  evidence: readonly Evidence[];
  /** The proposer's RANDAO reveal (its BLS signature over the height; consensus verified it): the beacon mixes it. */
  randaoReveal: Uint8Array;
  state: StateOverlay;
  /** Params as they stood at the start of the block. */
  params: AppParams;
  events: Event[];
  /** End-block hooks push validator-set changes here; consensus applies them at height + 2. */
  validatorUpdates: ValidatorUpdate[];
}

export interface TxContext extends BlockInfo {
  state: StateOverlay;
  params: AppParams;
  events: Event[];
  signer: Uint8Array;
  /** The signer's ed25519 public key (its address is derived from it): an agent's identity. */
  signerPubKey: Uint8Array;
  gas: GasMeter;
  txHash: Uint8Array;
}

export type MsgHandler<K extends MsgType> = (ctx: TxContext, msg: MsgMap[K]) => Promise<void>;
export type MsgHandlers = { [K in MsgType]?: MsgHandler<K> };

/** State keys a message will read besides its signer's account: prefetched for the whole block (an optimisation only). */
export type MsgPrefetch = { [K in MsgType]?: (msg: MsgMap[K]) => Uint8Array[] };

export interface Module {
  readonly name: string;
  readonly handlers?: MsgHandlers;
  readonly prefetch?: MsgPrefetch;
  /** Writes the module's genesis state. Modules run in the order the app lists them. */
  initGenesis?(state: StateOverlay, genesis: Genesis): Promise<void>;
  beginBlock?(ctx: HookContext): Promise<void>;
  endBlock?(ctx: HookContext): Promise<void>;
}

export class GasMeter {
  readonly limit: bigint;
  private usedGas = 0n;

  constructor(limit: bigint) {
    this.limit = limit;
  }

  get used(): bigint {
    return this.usedGas;
  }

  /** Charges gas; past the limit the tx fails with OUT_OF_GAS and pays for its whole limit. */
  consume(amount: bigint, what: string): void {
    this.usedGas += amount;
    if (this.usedGas > this.limit) {
      throw new AppError('OUT_OF_GAS', `out of gas at ${what}: needs more than gas_limit ${this.limit}; raise gas_limit`, {
        limit: this.limit.toString(),
      });
    }
  }
}

/** Builds a CometBFT-style event; every attribute is indexed (tx_search can match it). */
export function event(type: string, attributes: Record<string, string>): Event {
  return { type, attributes: Object.entries(attributes).map(([key, value]) => ({ key, value, index: true })) };
}
