// Blocks as consensus builds and checks them. Pure: no IO, no clock. The header follows CometBFT's semantics: block H
// carries the app hash and results hash of executing H-1, so a proposer never has to execute before proposing, and
// every header field is determined by the committed chain except the txs, the evidence and who proposes.
import { sha256 } from '../crypto/hash.ts';
import { merkleRoot } from '../crypto/merkle.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';
import { verify } from '../crypto/keys.ts';
import { randaoVerifyCached } from '../crypto/bls.ts';
import { voteSignBytes } from '../codec/signbytes.ts';
import {
  BlockCodec,
  BlockIdFlag,
  EMPTY_BLOCK_ID,
  EvidenceCodec,
  HeaderCodec,
  TxResultCodec,
  VoteType,
  type Block,
  type BlockID,
  type Commit,
  type Evidence,
  type Header,
  type TxResult,
} from '../codec/types.ts';
import { equalBlockId } from './block-id.ts';
import { bftTime, nextBlockTime } from './evidence.ts';
import type { ValidatorSet } from './validator-set.ts';

/** Hash of a header: what a BlockID names and what validators vote for. */
/** header.data_hash: the Merkle root of the txs' SHA-256 hashes, as CometBFT (so its tx proofs carry over). */
export function dataHashOf(txs: readonly Uint8Array[]): Uint8Array {
  return merkleRoot(txs.map((tx) => sha256(tx)));
}

export function headerHash(header: Header): Uint8Array {
  return sha256(HeaderCodec.encode(header));
}

/** A block travels whole, so its part set is one part: the Merkle root of [block bytes]. */
export function blockIdOf(header: Header, blockBytes: Uint8Array): BlockID {
  return { hash: headerHash(header), partSetHeader: { total: 1, hash: merkleRoot([blockBytes]) } };
}

/** Results hash of a block: only the deterministic parts of each tx result (CometBFT hashes code, data and gas). */
export function resultsHash(results: readonly TxResult[]): Uint8Array {
  return merkleRoot(results.map((r) => TxResultCodec.encode({ code: r.code, codespace: '', log: '', gasWanted: r.gasWanted, gasUsed: r.gasUsed, events: [] })));
}

export function evidenceHash(evidence: readonly Evidence[]): Uint8Array {
  return merkleRoot(evidence.map((e) => EvidenceCodec.encode(e)));
}

export function commitHash(commit: Commit): Uint8Array {
  return merkleRoot(commit.signatures.map((s) => sha256(new Uint8Array([s.blockIdFlag]), s.validatorAddress, s.signature)));
}

/** Everything about the next block that the committed chain already determines. */
export interface BlockContext {
  chainId: string;
  height: bigint;
  /** Genesis time for the first block; the time of the previous block otherwise. */
  prevTime: bigint;
  isFirst: boolean;
  lastBlockId: BlockID;
  /** The commit of the previous block (empty for the first block). */
  lastCommit: Commit;
  /** The validator set that signed lastCommit (undefined for the first block). */
  lastValidators: ValidatorSet | undefined;
  validators: ValidatorSet;
  nextValidators: ValidatorSet;
  consensusHash: Uint8Array;
  appHash: Uint8Array;
  lastResultsHash: Uint8Array;
  /**
   * BLS keys of this height's validators (hex address -> 48 bytes), from the committed state: a block's
   * randao_reveal must verify under its proposer's. Keys never change once set (src/state/staking.ts), so the
   * state after height - 1 holds the key of every validator of the height.
   */
  blsKeys: ReadonlyMap<string, Uint8Array>;
}

/** The block time the context demands: genesis time for the first block, else BFT time of the last commit. */
export function expectedTime(ctx: BlockContext): bigint {
  if (ctx.isFirst) return ctx.prevTime;
  return nextBlockTime(ctx.prevTime, bftTime(ctx.lastCommit, ctx.lastValidators!));
}

/** `randaoReveal`: the proposer's BLS signature over (chain id, height) (PrivValidator.randaoReveal). */
export function makeBlock(
  ctx: BlockContext,
  proposer: Uint8Array,
  txs: Uint8Array[],
  evidence: Evidence[],
  randaoReveal: Uint8Array,
): { block: Block; bytes: Uint8Array; blockId: BlockID } {
  const header: Header = {
    chainId: ctx.chainId,
    height: ctx.height,
    time: expectedTime(ctx),
    lastBlockId: ctx.lastBlockId,
    lastCommitHash: commitHash(ctx.lastCommit),
    dataHash: dataHashOf(txs),
    validatorsHash: ctx.validators.hash(),
    nextValidatorsHash: ctx.nextValidators.hash(),
    consensusHash: ctx.consensusHash,
    appHash: ctx.appHash,
    lastResultsHash: ctx.lastResultsHash,
    evidenceHash: evidenceHash(evidence),
    proposerAddress: proposer,
  };
  // The reveal stays out of the header: the block id's part-set hash covers the whole block bytes, reveal included.
  const block: Block = { header, data: { txs }, evidence, lastCommit: ctx.lastCommit, randaoReveal };
  const bytes = BlockCodec.encode(block);
  return { block, bytes, blockId: blockIdOf(header, bytes) };
}

/**
 * Checks a decoded block against the context: every derived header field, the last commit's signatures, the
 * proposer, and (unless `verifyReveal` is false) the proposer's RANDAO reveal. Returns null if valid, else a
 * sentence saying what is wrong. Evidence validity is checked by the caller (it needs the validator sets of older
 * heights). Block sync passes verifyReveal false: a block that comes with a commit by more than 2/3 was prevoted by
 * validators that checked its reveal, and a ~30 ms pairing per block would slow catching up.
 */
export function checkBlock(ctx: BlockContext, block: Block, expectedProposer: Uint8Array, opts: { verifyReveal?: boolean } = {}): string | null {
  const h = block.header;
  const want = (name: string, got: Uint8Array, exp: Uint8Array) => (equalBytes(got, exp) ? null : `${name} is ${toHex(got)}, expected ${toHex(exp)}`);
  if (h.chainId !== ctx.chainId) return `chain_id is ${h.chainId}, expected ${ctx.chainId}`;
  if (h.height !== ctx.height) return `height is ${h.height}, expected ${ctx.height}`;
  if (!equalBlockId(h.lastBlockId, ctx.lastBlockId)) return 'last_block_id does not name the previous block';
  if (!ctx.isFirst) {
    const why = verifyCommit(ctx.chainId, block.lastCommit, ctx.lastValidators!, ctx.height - 1n, ctx.lastBlockId);
    if (why !== null) return `last_commit: ${why}`;
  } else if (block.lastCommit.signatures.length !== 0) return 'the first block must not carry a last commit';
  let time: bigint;
  try {
    time = ctx.isFirst ? ctx.prevTime : nextBlockTime(ctx.prevTime, bftTime(block.lastCommit, ctx.lastValidators!));
  } catch (err) {
    return `last_commit: ${(err as Error).message}`;
  }
  if (h.time !== time) return `time is ${h.time}, expected ${time} (${ctx.isFirst ? 'the genesis time' : 'BFT time of the last commit'})`;
  const why =
    want('last_commit_hash', h.lastCommitHash, commitHash(block.lastCommit)) ??
    want('data_hash', h.dataHash, dataHashOf(block.data.txs)) ??
    want('validators_hash', h.validatorsHash, ctx.validators.hash()) ??
    want('next_validators_hash', h.nextValidatorsHash, ctx.nextValidators.hash()) ??
    want('consensus_hash', h.consensusHash, ctx.consensusHash) ??
    want('app_hash', h.appHash, ctx.appHash) ??
    want('last_results_hash', h.lastResultsHash, ctx.lastResultsHash) ??
    want('evidence_hash', h.evidenceHash, evidenceHash(block.evidence)) ??
    want('proposer_address', h.proposerAddress, expectedProposer);
  // Last: the pairing is the costliest check, worth doing only on a block that is otherwise valid.
  if (why !== null || opts.verifyReveal === false) return why;
  return checkReveal(ctx, block);
}

/**
 * The beacon rule: a block's randao_reveal is its proposer's BLS signature over (chain id, height). A unique
 * signature, so the proposer had exactly one reveal to choose from: publish it or withhold the block.
 */
export function checkReveal(ctx: BlockContext, block: Block): string | null {
  const proposer = toHex(block.header.proposerAddress);
  const key = ctx.blsKeys.get(proposer);
  if (key === undefined) return `randao_reveal: proposer ${proposer} has no BLS key in state`;
  if (!randaoVerifyCached(key, ctx.chainId, ctx.height, block.randaoReveal)) {
    return `randao_reveal is not the proposer's BLS signature over (chain id ${ctx.chainId}, height ${ctx.height})`;
  }
  return null;
}

/**
 * A commit is valid for (height, blockId) if its signatures line up with the validator set, every present signature
 * verifies, and the COMMIT signatures for the block carry more than 2/3 of the power. Returns null or the reason.
 */
export function verifyCommit(chainId: string, commit: Commit, validators: ValidatorSet, height: bigint, blockId: BlockID): string | null {
  if (commit.height !== height) return `is for height ${commit.height}, expected ${height}`;
  if (!equalBlockId(commit.blockId, blockId)) return 'is for another block';
  if (commit.signatures.length !== validators.size) return `has ${commit.signatures.length} signatures for ${validators.size} validators`;
  let power = 0n;
  for (let i = 0; i < commit.signatures.length; i++) {
    const sig = commit.signatures[i];
    if (sig.blockIdFlag === BlockIdFlag.ABSENT) continue;
    const v = validators.byIndex(i)!;
    if (!equalBytes(sig.validatorAddress, v.address)) return `signature ${i} is from ${toHex(sig.validatorAddress)}, expected ${toHex(v.address)}`;
    const voted = sig.blockIdFlag === BlockIdFlag.COMMIT ? commit.blockId : EMPTY_BLOCK_ID;
    const vote = { type: VoteType.PRECOMMIT, height, round: commit.round, blockId: voted, timestamp: sig.timestamp, validatorAddress: sig.validatorAddress, validatorIndex: i, signature: sig.signature };
    if (!verify(sig.signature, voteSignBytes(chainId, vote), v.pubKey)) return `signature ${i} (${toHex(v.address)}) does not verify`;
    if (sig.blockIdFlag === BlockIdFlag.COMMIT) power += v.power;
  }
  if (!validators.hasQuorum(power)) return `signatures for the block carry ${power} of ${validators.totalPower} power, not more than 2/3`;
  return null;
}
