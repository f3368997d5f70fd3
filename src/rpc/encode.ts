// CometBFT v0.38 JSON encodings of the node's types, as CometBFT's RPC prints them (rpc/core/types/responses.go and
// the JSON tags of types/*.go, written by its libs/json):
//   - int64, uint64 and Go `int` as decimal strings; int32, uint32 and bytes-sized enums (round, index, code,
//     block_id_flag, parts.total) as JSON numbers;
//   - HexBytes (hashes, addresses) as upper-case hex, "" when empty; plain []byte (tx bytes, signatures, the
//     app_hash of block_results) as base64, null when nil;
//   - times RFC 3339 in UTC with nine fractional digits (Go's zero time for an absent commit signature);
//   - public keys in the amino envelope {"type": "tendermint/PubKeyEd25519", "value": base64}.
// ABCI results (ExecTxResult, ResponseCheckTx) are printed by gogoproto's jsonpb with EmitDefaults: every field is
// present, nil bytes are null. ABCI structs without that override (Event, ValidatorUpdate, TxResult,
// ResponseFinalizeBlock) keep their proto3 `omitempty` tags: empty fields are left out, as CometBFT leaves them out.
import { toBase64, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { merkleRoot } from '../crypto/merkle.ts';
import { formatTime } from '../codec/time.ts';
import {
  BlockIdFlag,
  type Block,
  type BlockID,
  type Commit,
  type CommitSig,
  type Event,
  type Evidence,
  type Header,
  type TxResult,
  type ValidatorUpdate,
  type Vote,
} from '../codec/types.ts';
import type { ConsensusParams } from '../state/params.ts';
import { genesisToJSON, type Genesis } from '../state/genesis.ts';

/** The CometBFT RPC dialect this node speaks: node_info.version (clients such as cosmjs pick their decoder by it). */
export const COMETBFT_DIALECT = '0.38.x';
/** CometBFT v0.38's protocol versions, reported so that tooling recognises the dialect (node_info, header.version). */
export const PROTOCOL = { p2p: 8n, block: 11n, app: 0n } as const;
/** Go's zero time, which CometBFT prints for the timestamp of an absent commit signature. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export const i64 = (n: bigint | number): string => n.toString();
export const hex = (b: Uint8Array): string => toHex(b);
export const b64 = (b: Uint8Array): string => toBase64(b);
/** A Go []byte field: base64, or null when empty (a nil slice). */
export const b64OrNull = (b: Uint8Array): string | null => (b.length === 0 ? null : toBase64(b));
export const time = (ns: bigint): string => formatTime(ns);

export interface PubKeyJSON {
  type: 'tendermint/PubKeyEd25519';
  value: string;
}

export const pubKey = (key: Uint8Array): PubKeyJSON => ({ type: 'tendermint/PubKeyEd25519', value: b64(key) });

export interface BlockIdJSON {
  hash: string;
  parts: { total: number; hash: string };
}

export function blockId(id: BlockID): BlockIdJSON {
  return { hash: hex(id.hash), parts: { total: id.partSetHeader.total, hash: hex(id.partSetHeader.hash) } };
}

export function header(h: Header): Record<string, unknown> {
  return {
    version: { block: i64(PROTOCOL.block), app: i64(PROTOCOL.app) },
    chain_id: h.chainId,
    height: i64(h.height),
    time: time(h.time),
    last_block_id: blockId(h.lastBlockId),
    last_commit_hash: hex(h.lastCommitHash),
    data_hash: hex(h.dataHash),
    validators_hash: hex(h.validatorsHash),
    next_validators_hash: hex(h.nextValidatorsHash),
    consensus_hash: hex(h.consensusHash),
    app_hash: hex(h.appHash),
    last_results_hash: hex(h.lastResultsHash),
    evidence_hash: hex(h.evidenceHash),
    proposer_address: hex(h.proposerAddress),
  };
}

export function commitSig(s: CommitSig): Record<string, unknown> {
  if (s.blockIdFlag === BlockIdFlag.ABSENT) {
    return { block_id_flag: s.blockIdFlag, validator_address: '', timestamp: ZERO_TIME, signature: null };
  }
  return { block_id_flag: s.blockIdFlag, validator_address: hex(s.validatorAddress), timestamp: time(s.timestamp), signature: b64OrNull(s.signature) };
}

export function commit(c: Commit): Record<string, unknown> {
  return { height: i64(c.height), round: c.round, block_id: blockId(c.blockId), signatures: c.signatures.map(commitSig) };
}

export function vote(v: Vote): Record<string, unknown> {
  return {
    type: v.type,
    height: i64(v.height),
    round: v.round,
    block_id: blockId(v.blockId),
    timestamp: time(v.timestamp),
    validator_address: hex(v.validatorAddress),
    validator_index: v.validatorIndex,
    signature: b64OrNull(v.signature),
    extension: null,
    extension_signature: null,
  };
}

/** DuplicateVoteEvidence: its ABCI fields have no JSON tags in CometBFT, hence the Go field names. */
export function evidence(e: Evidence): Record<string, unknown> {
  const d = e.value;
  return {
    type: 'tendermint/DuplicateVoteEvidence',
    value: {
      vote_a: vote(d.voteA),
      vote_b: vote(d.voteB),
      TotalVotingPower: i64(d.totalVotingPower),
      ValidatorPower: i64(d.validatorPower),
      Timestamp: time(d.timestamp),
    },
  };
}

export function block(b: Block): Record<string, unknown> {
  return {
    header: header(b.header),
    data: { txs: b.data.txs.map(b64) },
    evidence: { evidence: b.evidence.map(evidence) },
    last_commit: commit(b.lastCommit),
  };
}

export function blockMeta(b: Block, id: BlockID, size: number): Record<string, unknown> {
  return { block_id: blockId(id), block_size: i64(size), header: header(b.header), num_txs: i64(b.data.txs.length) };
}

/** An ABCI event. jsonpb (inside ExecTxResult, CheckTx) prints every field; libs/json (finalize_block_events) omits empty ones. */
export function event(e: Event, opts: { omitEmpty?: boolean } = {}): Record<string, unknown> {
  const attributes = e.attributes.map((a) => ({ key: a.key, value: a.value, index: a.index }));
  if (!opts.omitEmpty) return { type: e.type, attributes };
  const out: Record<string, unknown> = {};
  if (e.type !== '') out.type = e.type;
  if (attributes.length > 0) out.attributes = attributes;
  return out;
}

/** abci.ExecTxResult (jsonpb, every field). Our results carry no data or info: data is null, info "". */
export function execTxResult(r: TxResult): Record<string, unknown> {
  return {
    code: r.code,
    data: null,
    log: r.log,
    info: '',
    gas_wanted: i64(r.gasWanted),
    gas_used: i64(r.gasUsed),
    events: r.events.map((e) => event(e)),
    codespace: r.codespace,
  };
}

/** The ExecTxResult of a tx that never ran (broadcast_tx_commit of a rejected tx). */
export function emptyExecTxResult(): Record<string, unknown> {
  return execTxResult({ code: 0, codespace: '', log: '', gasWanted: 0n, gasUsed: 0n, events: [] });
}

/** abci.ResponseCheckTx of v0.38 (jsonpb, every field; sender, priority and mempool_error left with v0.37). */
export function checkTxResult(r: { code: number; codespace: string; log: string; gasWanted: bigint; gasUsed: bigint }): Record<string, unknown> {
  return { code: r.code, data: null, log: r.log, info: '', gas_wanted: i64(r.gasWanted), gas_used: i64(r.gasUsed), events: [], codespace: r.codespace };
}

/**
 * abci.ValidatorUpdate as libs/json prints the proto type: the key is a oneof (`Sum`) registered as
 * "tendermint.crypto.PublicKey_Ed25519", and `power` carries omitempty (a removal shows no power).
 */
export function validatorUpdate(u: ValidatorUpdate): Record<string, unknown> {
  const out: Record<string, unknown> = { pub_key: { Sum: { type: 'tendermint.crypto.PublicKey_Ed25519', value: { ed25519: b64(u.pubKey) } } } };
  if (u.power !== 0n) out.power = i64(u.power);
  return out;
}

export function validator(v: { address: Uint8Array; pubKey: Uint8Array; power: bigint; proposerPriority: bigint }): Record<string, unknown> {
  return { address: hex(v.address), pub_key: pubKey(v.pubKey), voting_power: i64(v.power), proposer_priority: i64(v.proposerPriority) };
}

/** types.ConsensusParams of v0.38 (block, evidence, validator, version, abci). Our round timeouts have no place in it. */
export function consensusParams(p: ConsensusParams): Record<string, unknown> {
  return {
    block: { max_bytes: i64(p.block.max_bytes), max_gas: i64(p.block.max_gas) },
    evidence: {
      max_age_num_blocks: i64(p.evidence.max_age_num_blocks),
      max_age_duration: i64(p.evidence.max_age_duration_ns),
      max_bytes: i64(p.evidence.max_bytes),
    },
    validator: { pub_key_types: [...p.validator.pub_key_types] },
    version: { app: i64(PROTOCOL.app) },
    abci: { vote_extensions_enable_height: '0' },
  };
}

/**
 * The genesis as CometBFT's GenesisDoc prints it. Validators carry CometBFT's fields (power = the genesis stake,
 * which is the voting power while reputation is neutral); app_state is our genesis file's app_state, unchanged.
 */
export function genesis(g: Genesis): Record<string, unknown> {
  const ours = genesisToJSON(g);
  return {
    genesis_time: ours.genesis_time,
    chain_id: ours.chain_id,
    initial_height: ours.initial_height,
    consensus_params: consensusParams(g.consensusParams),
    validators: g.validators.map((v) => ({ address: hex(v.address), pub_key: pubKey(v.publicKey), power: i64(v.stake), name: v.name })),
    app_hash: ours.app_hash,
    app_state: ours.app_state,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Tx inclusion proofs against header.data_hash: as in CometBFT, the RFC 6962 root over the txs' SHA-256 hashes, so
// a leaf is the tx hash.
// ---------------------------------------------------------------------------------------------------------------

const LEAF = new Uint8Array([0]);
const INNER = new Uint8Array([1]);

function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The Merkle tree of a block's txs (the same tree as merkleRoot), each node hashed once: a page of proofs over a
 * block of thousands of txs then costs one pass over the block, not one per proof.
 */
export class TxTree {
  /** The leaves: the txs' hashes. */
  private readonly txs: readonly Uint8Array[];
  private readonly memo = new Map<number, Uint8Array>();

  constructor(txs: readonly Uint8Array[]) {
    this.txs = txs.map((tx) => sha256(tx));
  }

  private node(start: number, end: number): Uint8Array {
    const key = start * (this.txs.length + 1) + end;
    let h = this.memo.get(key);
    if (h === undefined) {
      if (end - start === 1) h = sha256(LEAF, this.txs[start]);
      else {
        const k = splitPoint(end - start);
        h = sha256(INNER, this.node(start, start + k), this.node(start + k, end));
      }
      this.memo.set(key, h);
    }
    return h;
  }

  root(): Uint8Array {
    return this.txs.length === 0 ? merkleRoot([]) : this.node(0, this.txs.length);
  }

  /** Sibling hashes from the leaf's sibling up to the root's child (CometBFT's `aunts` order). */
  aunts(index: number): Uint8Array[] {
    const path: Uint8Array[] = [];
    let start = 0;
    let end = this.txs.length;
    while (end - start > 1) {
      const mid = start + splitPoint(end - start);
      if (index < mid) {
        path.push(this.node(mid, end));
        end = mid;
      } else {
        path.push(this.node(start, mid));
        start = mid;
      }
    }
    return path.reverse();
  }
}

export interface TxProofJSON {
  root_hash: string;
  data: string;
  proof: { total: string; index: string; leaf_hash: string; aunts: string[] };
}

/** types.TxProof of the tx at `index` among a block's txs (pass the block's TxTree when proving several). */
export function txProof(txs: readonly Uint8Array[], index: number, tree: TxTree = new TxTree(txs)): TxProofJSON {
  return {
    root_hash: hex(tree.root()),
    data: b64(txs[index]),
    proof: { total: i64(txs.length), index: i64(index), leaf_hash: b64(sha256(LEAF, sha256(txs[index]))), aunts: tree.aunts(index).map(b64) },
  };
}

/** Checks a TxProof (as JSON) against a data hash: the typed client and the tests use it. */
export function verifyTxProof(proof: TxProofJSON, dataHash: Uint8Array): boolean {
  const tx = Buffer.from(proof.data, 'base64');
  const total = Number(proof.proof.total);
  const index = Number(proof.proof.index);
  const leaf = sha256(LEAF, sha256(tx));
  if (b64(leaf) !== proof.proof.leaf_hash || !Number.isSafeInteger(total) || index < 0 || index >= total) return false;
  const siblings = proof.proof.aunts.map((a) => new Uint8Array(Buffer.from(a, 'base64')));
  const root = rootFromAunts(index, total, leaf, siblings);
  return root !== null && hex(root) === hex(dataHash) && proof.root_hash === hex(dataHash);
}

function rootFromAunts(index: number, total: number, leaf: Uint8Array, siblings: Uint8Array[]): Uint8Array | null {
  if (total === 1) return siblings.length === 0 ? leaf : null;
  if (siblings.length === 0) return null;
  const k = splitPoint(total);
  const top = siblings[siblings.length - 1];
  const rest = siblings.slice(0, -1);
  if (index < k) {
    const left = rootFromAunts(index, k, leaf, rest);
    return left === null ? null : sha256(INNER, left, top);
  }
  const right = rootFromAunts(index - k, total - k, leaf, rest);
  return right === null ? null : sha256(INNER, top, right);
}
