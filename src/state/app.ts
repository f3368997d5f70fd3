// The state machine as one object: the store, the module list and the executor. Consensus drives it with
// finalized blocks; RPC reads from it. `open` initialises a new store from the genesis, or checks that an existing
// store was made from the same genesis.
import { AppError } from '../errors.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';
import { Store } from './store.ts';
import { Executor, VerifiedTxCache, readParams, type BlockInput, type BlockOutput } from './executor.ts';
import { economicsModule } from './economics.ts';
import { bankModule } from './accounts.ts';
import { agentsModule } from './agents.ts';
import { stakingModule } from './staking.ts';
import { slashingModule } from './slashing.ts';
import { rewardsModule } from './rewards.ts';
import { reputationModule, reputationScorer } from '../reputation/module.ts';
import { beaconModule } from './beacon.ts';
import { tasksModule } from '../tasks/tasks.ts';
import { governanceModule } from './governance/module.ts';
import { genesisHash, type Genesis } from './genesis.ts';
import type { Module } from './module.ts';
import type { AppParams } from './params.ts';
import type { Event, StoreHead } from '../codec/types.ts';
import type { IndexAttribute } from './store.ts';

/**
 * Every module, in the order their genesis, begin-block and end-block hooks run. The order matters: rewards reads
 * the pools economics funded at genesis; slashing (begin-block) jails, and governance (end-block) jails or removes
 * by vote, before staking (end-block) recomputes the set.
 */
export function defaultModules(): Module[] {
  return [economicsModule, rewardsModule, beaconModule, agentsModule, slashingModule, reputationModule, tasksModule, governanceModule, stakingModule(reputationScorer), bankModule];
}

export interface CommitExtras {
  block?: { bytes: Uint8Array; hash: Uint8Array };
  commit?: Uint8Array;
  txHashes?: readonly Uint8Array[];
  validatorSets?: ReadonlyArray<{ height: bigint; bytes: Uint8Array }>;
  evidenceHashes?: readonly Uint8Array[];
}

export class App {
  readonly store: Store;
  readonly executor: Executor;
  readonly genesis: Genesis;

  private constructor(store: Store, executor: Executor, genesis: Genesis) {
    this.store = store;
    this.executor = executor;
    this.genesis = genesis;
  }

  static async open(dbPath: string, genesis: Genesis, options: { modules?: Module[]; verified?: VerifiedTxCache } = {}): Promise<App> {
    const store = await Store.open(dbPath);
    try {
      const executor = new Executor(options.modules ?? defaultModules(), store, options.verified);
      const app = new App(store, executor, genesis);
      const gh = genesisHash(genesis);
      const head = store.head();
      if (head === null) {
        const init = await executor.initChain(store, genesis);
        await store.commitHeight({
          head: { height: genesis.initialHeight - 1n, appHash: init.appHash, blockHash: new Uint8Array(0), time: genesis.genesisTime, genesisHash: gh },
          state: init.state,
          nodes: init.nodes,
        });
      } else if (!equalBytes(head.genesisHash, gh)) {
        throw new AppError('BAD_GENESIS', `the data directory was made from another genesis (${toHex(head.genesisHash)}, this one is ${toHex(gh)}); use the original genesis.json or a fresh data directory`);
      }
      return app;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  head(): StoreHead {
    return this.store.head()!;
  }

  params(): Promise<AppParams> {
    return readParams(this.store);
  }

  /** Executes the next block against the committed state without writing anything. */
  execute(block: BlockInput): Promise<BlockOutput> {
    const head = this.head();
    if (block.height !== head.height + 1n) throw new AppError('INTERNAL', `next height is ${head.height + 1n}, not ${block.height}`);
    // The first block may carry the genesis time itself (CometBFT); every later one is strictly after its parent.
    const isFirst = head.blockHash.length === 0;
    if (block.time < head.time || (!isFirst && block.time === head.time)) {
      throw new AppError('INTERNAL', `block time must increase: ${block.time} after ${head.time}`);
    }
    return this.executor.executeBlock(this.store, head.appHash, block);
  }

  /** Writes an executed block, its results and everything it changed in one atomic batch. */
  async commit(block: BlockInput, out: BlockOutput, extras: CommitExtras = {}): Promise<void> {
    // A tx hash names one committed tx. A copy included again (it fails: its nonce is used) must not replace the
    // entry of the one that ran (CometBFT's rule).
    const txs: Array<{ hash: Uint8Array; location: { height: bigint; index: number } }> = [];
    for (const [index, hash] of (extras.txHashes ?? []).entries()) {
      if (out.txResults[index].code !== 0 && (await this.store.getTxLocation(hash)) !== undefined) continue;
      txs.push({ hash, location: { height: block.height, index } });
    }
    // The search index: every tx of the block by position (a re-included copy too: it has its own result), with
    // the attributes its events mark as indexed; and the block's own begin/end-block events.
    const txIndex = (extras.txHashes ?? []).map((hash, index) => ({ index, hash, attributes: indexedAttributes(out.txResults[index].events) }));
    const blockIndex = extras.block === undefined ? undefined : indexedAttributes([...out.beginBlockEvents, ...out.endBlockEvents]);
    await this.store.commitHeight({
      head: { height: block.height, appHash: out.appHash, blockHash: extras.block?.hash ?? new Uint8Array(0), time: block.time, genesisHash: this.head().genesisHash },
      state: out.state,
      nodes: out.nodes,
      block: extras.block,
      commit: extras.commit,
      results: {
        height: block.height,
        txResults: out.txResults,
        beginBlockEvents: out.beginBlockEvents,
        endBlockEvents: out.endBlockEvents,
        validatorUpdates: out.validatorUpdates,
        appHash: out.appHash,
      },
      txs,
      validatorSets: extras.validatorSets,
      evidence: extras.evidenceHashes,
      txIndex,
      blockIndex,
    });
  }

  async applyBlock(block: BlockInput, extras: CommitExtras = {}): Promise<BlockOutput> {
    const out = await this.execute(block);
    await this.commit(block, out, extras);
    return out;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** The attributes tx_search and block_search can match: "type.key" -> value, for attributes marked index (CometBFT's rule). */
export function indexedAttributes(events: readonly Event[]): IndexAttribute[] {
  const out: IndexAttribute[] = [];
  for (const e of events) for (const a of e.attributes) if (a.index) out.push({ key: `${e.type}.${a.key}`, value: a.value });
  return out;
}
