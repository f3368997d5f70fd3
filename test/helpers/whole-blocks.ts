// Blocks stored whole for in-process RPC tests: wraps an App's applyBlock so that every block, whoever applies it
// (a test driver's nextBlock or a block reaped from the mempool), is committed as the consensus host commits it: the
// mempool locked meanwhile, the whole block and a commit signed by every validator stored with the state (status,
// block, tx and broadcast_tx_commit read them), then the mempool updated and the block's events published.
import { addressOf, sign, type KeyPair } from '../../src/crypto/keys.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { BlockCodec, BlockIdFlag, CommitCodec, EMPTY_BLOCK_ID, VoteType, type Block, type BlockID, type Commit, type TxResult } from '../../src/codec/types.ts';
import { voteSignBytes } from '../../src/codec/signbytes.ts';
import { blockIdOf, commitHash, dataHashOf, evidenceHash, resultsHash } from '../../src/consensus/block.ts';
import type { App, CommitExtras } from '../../src/state/app.ts';
import type { BlockInput, BlockOutput } from '../../src/state/executor.ts';
import type { Mempool } from '../../src/mempool/mempool.ts';
import { commitPublisher } from '../../src/rpc/publish.ts';
import type { EventSink } from '../../src/rpc/types.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A precommit of every validator for `blockId`: the commit the next block carries (and the store keeps). */
export function commitFor(chainId: string, height: bigint, blockId: BlockID, time: bigint, validators: readonly KeyPair[]): Commit {
  return {
    height,
    round: 0,
    blockId,
    signatures: validators.map((k, i) => {
      const address = addressOf(k.publicKey);
      const vote = { type: VoteType.PRECOMMIT, height, round: 0, blockId, timestamp: time, validatorAddress: address, validatorIndex: i, signature: new Uint8Array(0) };
      return { blockIdFlag: BlockIdFlag.COMMIT, validatorAddress: address, timestamp: time, signature: sign(voteSignBytes(chainId, vote), k.secretKey) };
    }),
  };
}

/** Called after each stored block with its txs and their results. */
export type OnCommitted = (input: BlockInput, out: BlockOutput) => void;

/** Wraps `app.applyBlock` (see the header); `bus` is read at each block, so a test may swap it. */
export function storeWholeBlocks(app: App, mempool: Mempool, bus: () => EventSink, validators: readonly KeyPair[], onCommitted?: OnCommitted): void {
  const raw = app.applyBlock.bind(app);
  const publish = commitPublisher(app, { publish: (e) => bus().publish(e), subscribe: (q, l) => bus().subscribe(q, l) });
  let last: { id: BlockID; commit: Commit; results: TxResult[] } | null = null;
  app.applyBlock = async (input: BlockInput, extras: CommitExtras = {}): Promise<BlockOutput> => {
    const txs = [...input.txs];
    const evidence = [...(input.evidence ?? [])];
    const lastCommit: Commit = last?.commit ?? { height: 0n, round: 0, blockId: EMPTY_BLOCK_ID, signatures: [] };
    const header = {
      chainId: input.chainId,
      height: input.height,
      time: input.time,
      lastBlockId: last?.id ?? EMPTY_BLOCK_ID,
      lastCommitHash: commitHash(lastCommit),
      dataHash: dataHashOf(txs),
      validatorsHash: sha256(utf8('validators')),
      nextValidatorsHash: sha256(utf8('validators')),
      consensusHash: sha256(utf8('consensus params')),
      appHash: app.head().appHash,
      lastResultsHash: resultsHash(last?.results ?? []),
      evidenceHash: evidenceHash(evidence),
      proposerAddress: input.proposer,
    };
    const block: Block = { header, data: { txs }, evidence, lastCommit, randaoReveal: input.randaoReveal! };
    const bytes = BlockCodec.encode(block);
    const blockId = blockIdOf(header, bytes);
    const commit = commitFor(input.chainId, input.height, blockId, input.time, validators);
    mempool.lock();
    let out: BlockOutput;
    try {
      out = await raw(input, { ...extras, block: { bytes, hash: blockId.hash }, commit: CommitCodec.encode(commit), txHashes: txs.map((tx) => sha256(tx)) });
    } finally {
      await mempool.committed(input.height, txs);
    }
    last = { id: blockId, commit, results: out.txResults };
    onCommitted?.(input, out);
    publish({ height: input.height, block, blockId, commit });
    return out;
  };
}
