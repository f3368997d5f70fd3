// The CometBFT v0.38-compatible methods (rpc/core/routes.go of v0.38): names, parameters and result shapes field for
// field, in the encodings of encode.ts. Differences, all deliberate: errors caused by the caller's arguments (height
// out of range, malformed hash, bad query, page out of range, bad order_by) are -32602 Invalid params, where CometBFT
// answers -32603 with the same sentence; dump_consensus_state, genesis_chunked, abci_* (abci.ts), broadcast_evidence
// and the unsafe profiler methods are not here; dial_seeds/dial_peers refuse until peer-to-peer networking exists.
// `validators` entries carry four fields more than CometBFT's (stake, reputation_factor, operator, name, from the
// state's validator records); CometBFT clients ignore fields they do not know.
import { sha256, HASH_LENGTH } from '../crypto/hash.ts';
import { toHex } from '../crypto/bytes.ts';
import { BlockCodec, CommitCodec, EMPTY_BLOCK_ID, VoteType, type Block, type BlockID, type BlockResults } from '../codec/types.ts';
import { blockIdOf } from '../consensus/block.ts';
import { decodeValidatorSet } from '../consensus/host.ts';
import type { RoundState } from '../consensus/round.ts';
import type { ValidatorSet } from '../consensus/validator-set.ts';
import type { CheckTxResponse } from '../mempool/mempool.ts';
import type { RpcContext } from './context.ts';
import { RpcError, type ChainEvent, type MethodTable } from './types.ts';
import { parseQuery } from './query.ts';
import { pageOf, perPageOf, searchBlocks, searchTxs } from './search.ts';
import { validatorExtras } from './domain.ts';
import * as enc from './encode.ts';

// ---------------------------------------------------------------------------------------------------------------
// Reading the chain
// ---------------------------------------------------------------------------------------------------------------

interface LoadedBlock {
  block: Block;
  bytes: Uint8Array;
  id: BlockID;
}

async function loadBlock(ctx: RpcContext, height: bigint): Promise<LoadedBlock> {
  const bytes = await ctx.app.store.getBlock(height);
  if (bytes === undefined) throw RpcError.internal(`block ${height} is missing from this node's store`);
  const block = BlockCodec.decode(bytes);
  return { block, bytes, id: blockIdOf(block.header, bytes) };
}

/** First height of the chain and the latest committed one (first - 1 before any block). */
function chainRange(ctx: RpcContext): { first: bigint; latest: bigint } {
  return { first: ctx.app.genesis.initialHeight, latest: ctx.app.head().height };
}

/**
 * CometBFT's getHeight: an absent height is the latest; a given one must be positive, at most `latest`, and held by
 * the store. `latest` is the committed height, or one more for what consensus already knows (validators, params).
 */
function resolveHeight(ctx: RpcContext, height: bigint | undefined, latest = chainRange(ctx).latest): bigint {
  const { first } = chainRange(ctx);
  if (height === undefined) {
    if (latest < first) throw RpcError.invalidParams(`no block has been committed yet: the chain starts at height ${first}`);
    return latest;
  }
  if (height <= 0n) throw RpcError.invalidParams(`height must be greater than 0, but got ${height}`);
  if (height > latest) throw RpcError.invalidParams(`height ${height} must be less than or equal to the current blockchain height ${latest}`);
  if (height < first) throw RpcError.invalidParams(`height ${height} is not available, lowest height is ${first}`);
  return height;
}

/** What consensus already knows beyond the committed chain: the validators and params of the next height. */
function uncommittedHeight(ctx: RpcContext): bigint {
  const latest = chainRange(ctx).latest;
  return ctx.catchingUp() ? latest : latest + 1n;
}

function hashArg(value: unknown, name = 'hash'): Uint8Array {
  const hash = value as Uint8Array;
  if (hash.length !== HASH_LENGTH) throw RpcError.invalidParams(`${name} must be ${HASH_LENGTH} bytes (${HASH_LENGTH * 2} hex digits), got ${hash.length} bytes`);
  return hash;
}

async function validatorSetAt(ctx: RpcContext, height: bigint): Promise<ValidatorSet> {
  const bytes = await ctx.app.store.getValidatorSet(height);
  if (bytes === undefined) throw RpcError.internal(`the validator set of height ${height} is not known to this node`);
  return decodeValidatorSet(bytes);
}

const emptyBlockResult = (): Record<string, unknown> => ({ block_id: enc.blockId(EMPTY_BLOCK_ID), block: null });

/** block_results: CometBFT prints nil lists as null (an empty block has "txs_results": null). */
async function blockResults(ctx: RpcContext, height: bigint): Promise<Record<string, unknown>> {
  const r = await ctx.app.store.getResults(height);
  if (r === undefined) throw RpcError.internal(`the results of height ${height} are missing from this node's store`);
  const events = [...r.beginBlockEvents, ...r.endBlockEvents];
  return {
    height: enc.i64(height),
    txs_results: r.txResults.length === 0 ? null : r.txResults.map(enc.execTxResult),
    finalize_block_events: events.length === 0 ? null : events.map((e) => enc.event(e, { omitEmpty: true })),
    validator_updates: r.validatorUpdates.length === 0 ? null : r.validatorUpdates.map(enc.validatorUpdate),
    consensus_param_updates: null,
    app_hash: enc.b64(r.appHash),
  };
}

/** A block and its results, read once per height while a page of txs is built. */
type HeightCache = Map<bigint, { loaded: LoadedBlock; results: BlockResults | undefined; tree?: enc.TxTree }>;

/**
 * Committed blocks never change, so the last few decoded ones are kept across requests: clients look up the txs of
 * a recent block one after another, and decoding a block of thousands of txs per lookup would dominate.
 */
const RECENT_BLOCKS = 4;

function recentBlocks(): HeightCache {
  const cache: HeightCache = new Map();
  const set = cache.set.bind(cache);
  cache.set = (height, entry) => {
    if (cache.size >= RECENT_BLOCKS) cache.delete(cache.keys().next().value!);
    return set(height, entry);
  };
  return cache;
}

/** ResultTx of the tx at a position (hash, height, index, tx_result, tx, and proof when asked). */
async function resultTx(ctx: RpcContext, height: bigint, index: number, prove: boolean, cache: HeightCache = new Map()): Promise<Record<string, unknown>> {
  let entry = cache.get(height);
  if (entry === undefined) {
    entry = { loaded: await loadBlock(ctx, height), results: await ctx.app.store.getResults(height) };
    cache.set(height, entry);
  }
  const txs = entry.loaded.block.data.txs;
  const tx = txs[index];
  const result = entry.results?.txResults[index];
  if (tx === undefined || result === undefined) throw RpcError.internal(`tx ${index} of block ${height} is missing from this node's store`);
  const out: Record<string, unknown> = {
    hash: enc.hex(sha256(tx)),
    height: enc.i64(height),
    index,
    tx_result: enc.execTxResult(result),
    tx: enc.b64(tx),
  };
  if (prove) out.proof = enc.txProof(txs, index, (entry.tree ??= new enc.TxTree(txs)));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Node info
// ---------------------------------------------------------------------------------------------------------------

function nodeInfo(ctx: RpcContext, node: { id: string; listenAddr: string; moniker: string }): Record<string, unknown> {
  return {
    protocol_version: { p2p: enc.i64(enc.PROTOCOL.p2p), block: enc.i64(enc.PROTOCOL.block), app: enc.i64(enc.PROTOCOL.app) },
    id: node.id,
    listen_addr: node.listenAddr,
    network: ctx.app.genesis.chainId,
    version: enc.COMETBFT_DIALECT,
    // The p2p channel ids arrive with networking (issue 5).
    channels: '',
    moniker: node.moniker,
    other: { tx_index: 'on', rpc_address: ctx.config.rpc.laddr },
  };
}

/** flowrate.Status of an idle connection (no tags in Go: field names as written). */
function idleFlow(): Record<string, unknown> {
  return {
    Start: enc.ZERO_TIME,
    Bytes: '0',
    Samples: '0',
    InstRate: '0',
    CurRate: '0',
    AvgRate: '0',
    PeakRate: '0',
    BytesRem: '0',
    Duration: '0',
    Idle: '0',
    TimeRem: '0',
    Progress: 0,
    Active: false,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Consensus state (RoundStateSimple)
// ---------------------------------------------------------------------------------------------------------------

/** CometBFT's RoundStepType numbers, for the "height/round/step" string. */
function stepNumber(s: RoundState): number {
  switch (s.step) {
    case 'new':
      return 1; // RoundStepNewHeight
    case 'propose':
      return 3;
    case 'prevote':
      return s.prevoteTimeoutScheduled ? 5 : 4; // PrevoteWait once 2/3+ of anything arrived
    case 'precommit':
      return s.precommitTimeoutScheduled ? 7 : 6;
    case 'commit':
      return 8;
  }
}

/** cmtbytes.Fingerprint: the first 6 bytes, zero-padded, as upper-case hex. */
function fingerprint(b: Uint8Array): string {
  const out = new Uint8Array(6);
  out.set(b.subarray(0, 6));
  return toHex(out);
}

function roundVotes(s: RoundState, round: number): Record<string, unknown> {
  const set = s.validatorSet!;
  const votes = s.votes!;
  const side = (type: typeof VoteType.PREVOTE | typeof VoteType.PRECOMMIT) => {
    const name = type === VoteType.PREVOTE ? 'SIGNED_MSG_TYPE_PREVOTE(Prevote)' : 'SIGNED_MSG_TYPE_PRECOMMIT(Precommit)';
    const list = set.validators.map((v) => {
      const vote = votes.voteOf(round, type, v.address);
      if (vote === undefined) return 'nil-Vote';
      const r = String(vote.round).padStart(2, '0');
      return `Vote{${vote.validatorIndex}:${fingerprint(vote.validatorAddress)} ${vote.height}/${r}/${name} ${fingerprint(vote.blockId.hash)} ${fingerprint(vote.signature)} ${fingerprint(new Uint8Array(0))} @ ${enc.time(vote.timestamp)}}`;
    });
    const bits = set.validators.map((v) => (votes.voteOf(round, type, v.address) === undefined ? '_' : 'x')).join('');
    const voted = votes.power(round, type, null);
    const frac = set.totalPower === 0n ? 0 : Number(voted) / Number(set.totalPower);
    return { list, bits: `BA{${set.size}:${bits}} ${voted}/${set.totalPower} = ${frac.toFixed(2)}` };
  };
  const pv = side(VoteType.PREVOTE);
  const pc = side(VoteType.PRECOMMIT);
  return { round, prevotes: pv.list, prevotes_bit_array: pv.bits, precommits: pc.list, precommits_bit_array: pc.bits };
}

function roundStateSimple(s: RoundState, startTime: bigint): Record<string, unknown> {
  const set = s.validatorSet;
  const proposal = s.proposals.get(s.round)?.[0]?.proposal;
  const proposer = set === null ? null : set.proposerAt(s.round);
  return {
    'height/round/step': `${s.height}/${s.round}/${stepNumber(s)}`,
    start_time: enc.time(startTime),
    proposal_block_hash: enc.hex(proposal?.blockId.hash ?? new Uint8Array(0)),
    locked_block_hash: enc.hex(s.lockedValue?.hash ?? new Uint8Array(0)),
    valid_block_hash: enc.hex(s.validValue?.hash ?? new Uint8Array(0)),
    height_vote_set: set === null || s.votes === null ? [] : Array.from({ length: s.round + 1 }, (_, r) => roundVotes(s, r)),
    proposer: { address: proposer === null ? '' : enc.hex(proposer.address), index: proposer === null ? -1 : set!.indexOf(proposer.address) },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Txs
// ---------------------------------------------------------------------------------------------------------------

function broadcastResult(r: CheckTxResponse): Record<string, unknown> {
  return { code: r.code, data: '', log: r.log, codespace: r.codespace, hash: enc.hex(r.hash) };
}

/** Resolves with the first event from `subscribe`, or rejects on timeout or abort; always unsubscribes. */
function waitForEvent(ctx: RpcContext, query: string, timeoutMs: number, signal: AbortSignal): { promise: Promise<ChainEvent>; cancel: () => void } {
  let cancel = (): void => {};
  const promise = new Promise<ChainEvent>((resolve, reject) => {
    const done = (): void => {
      unsubscribe();
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const unsubscribe = ctx.events.subscribe(query, (ev) => {
      done();
      resolve(ev);
    });
    const timer = setTimeout(() => {
      done();
      reject(RpcError.internal('timed out waiting for tx to be included in a block'));
    }, timeoutMs);
    const onAbort = (): void => {
      done();
      reject(RpcError.internal('the request was cancelled before the tx was included in a block'));
    };
    signal.addEventListener('abort', onAbort);
    cancel = done;
    if (signal.aborted) onAbort();
  });
  return { promise, cancel };
}

// ---------------------------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------------------------

const opt = true;

export function cometbftMethods(ctx: RpcContext): MethodTable {
  const recent = recentBlocks();
  return {
    health: { params: [], handler: () => ({}) },

    status: {
      params: [],
      async handler() {
        const { first, latest } = chainRange(ctx);
        const head = ctx.app.head();
        const genesisTime = enc.time(ctx.app.genesis.genesisTime);
        let latestInfo = { hash: '', appHash: enc.hex(head.appHash), height: '0', time: genesisTime };
        let earliestInfo = latestInfo;
        if (latest >= first) {
          // CometBFT reports the app hash of the latest block's header (the state after the block before it).
          const last = await loadBlock(ctx, latest);
          latestInfo = { hash: enc.hex(last.id.hash), appHash: enc.hex(last.block.header.appHash), height: enc.i64(latest), time: enc.time(last.block.header.time) };
          const earliest = latest === first ? last : await loadBlock(ctx, first);
          earliestInfo = { hash: enc.hex(earliest.id.hash), appHash: enc.hex(earliest.block.header.appHash), height: enc.i64(first), time: enc.time(earliest.block.header.time) };
        }
        let validatorInfo: Record<string, unknown> = { address: '', pub_key: null, voting_power: '0' };
        if (ctx.validator !== null) {
          const bytes = await ctx.app.store.getValidatorSet(uncommittedHeight(ctx));
          const power = bytes === undefined ? 0n : (decodeValidatorSet(bytes).byAddress(ctx.validator.address)?.power ?? 0n);
          validatorInfo = { address: enc.hex(ctx.validator.address), pub_key: enc.pubKey(ctx.validator.pubKey), voting_power: enc.i64(power) };
        }
        return {
          node_info: nodeInfo(ctx, ctx.node),
          sync_info: {
            latest_block_hash: latestInfo.hash,
            latest_app_hash: latestInfo.appHash,
            latest_block_height: latestInfo.height,
            latest_block_time: latestInfo.time,
            earliest_block_hash: earliestInfo.hash,
            earliest_app_hash: earliestInfo.appHash,
            earliest_block_height: earliestInfo.height,
            earliest_block_time: earliestInfo.time,
            catching_up: ctx.catchingUp(),
          },
          validator_info: validatorInfo,
        };
      },
    },

    net_info: {
      params: [],
      handler() {
        const peers = ctx.peers();
        return {
          listening: true,
          listeners: [`Listener(@${ctx.node.listenAddr})`],
          n_peers: enc.i64(peers.length),
          peers: peers.map((p) => ({
            node_info: nodeInfo(ctx, { id: p.id, listenAddr: p.listenAddr, moniker: p.moniker }),
            is_outbound: p.isOutbound,
            connection_status: { Duration: '0', SendMonitor: idleFlow(), RecvMonitor: idleFlow(), Channels: [] },
            remote_ip: p.remoteIp,
          })),
        };
      },
    },

    genesis: { params: [], handler: () => ({ genesis: enc.genesis(ctx.app.genesis) }) },

    blockchain: {
      params: [
        { name: 'minHeight', type: 'int64', optional: opt },
        { name: 'maxHeight', type: 'int64', optional: opt },
      ],
      async handler(args) {
        // CometBFT's filterMinMax: 0 or absent means "from the first" / "to the latest"; at most 20 metas, newest first.
        const limit = 20n;
        const { first, latest } = chainRange(ctx);
        let min = (args.minHeight as bigint | undefined) ?? 0n;
        let max = (args.maxHeight as bigint | undefined) ?? 0n;
        if (min < 0n || max < 0n) throw RpcError.invalidParams('heights must be non-negative');
        const height = latest >= first ? latest : 0n;
        if (min === 0n) min = 1n;
        if (max === 0n) max = height;
        if (max > height) max = height;
        if (min < first) min = first;
        if (min < max - limit + 1n) min = max - limit + 1n;
        if (min > max) throw RpcError.invalidParams(`min height ${min} can't be greater than max height ${max}`);
        const metas: unknown[] = [];
        for (let h = max; h >= min; h--) {
          const b = await loadBlock(ctx, h);
          metas.push(enc.blockMeta(b.block, b.id, b.bytes.length));
        }
        return { last_height: enc.i64(height), block_metas: metas };
      },
    },

    block: {
      params: [{ name: 'height', type: 'int64', optional: opt }],
      async handler(args) {
        const b = await loadBlock(ctx, resolveHeight(ctx, args.height as bigint | undefined));
        return { block_id: enc.blockId(b.id), block: enc.block(b.block) };
      },
    },

    block_by_hash: {
      params: [{ name: 'hash', type: 'hex' }],
      async handler(args) {
        const height = await ctx.app.store.heightOfBlock(hashArg(args.hash));
        // CometBFT answers an unknown hash with an empty result, not an error.
        if (height === undefined || height > chainRange(ctx).latest) return emptyBlockResult();
        const b = await loadBlock(ctx, height);
        return { block_id: enc.blockId(b.id), block: enc.block(b.block) };
      },
    },

    block_results: {
      params: [{ name: 'height', type: 'int64', optional: opt }],
      handler: (args) => blockResults(ctx, resolveHeight(ctx, args.height as bigint | undefined)),
    },

    commit: {
      params: [{ name: 'height', type: 'int64', optional: opt }],
      async handler(args) {
        const { latest } = chainRange(ctx);
        const height = resolveHeight(ctx, args.height as bigint | undefined);
        const b = await loadBlock(ctx, height);
        // The latest block's commit is the one this node saw (not yet canonical); an older block's commit is the
        // canonical one, carried by the next block as its last_commit.
        if (height === latest) {
          const bytes = await ctx.app.store.getCommit(height);
          if (bytes === undefined) throw RpcError.internal(`the commit of height ${height} is missing from this node's store`);
          return { signed_header: { header: enc.header(b.block.header), commit: enc.commit(CommitCodec.decode(bytes)) }, canonical: false };
        }
        const next = await loadBlock(ctx, height + 1n);
        return { signed_header: { header: enc.header(b.block.header), commit: enc.commit(next.block.lastCommit) }, canonical: true };
      },
    },

    header: {
      params: [{ name: 'height', type: 'int64', optional: opt }],
      async handler(args) {
        const b = await loadBlock(ctx, resolveHeight(ctx, args.height as bigint | undefined));
        return { header: enc.header(b.block.header) };
      },
    },

    header_by_hash: {
      params: [{ name: 'hash', type: 'hex' }],
      async handler(args) {
        const height = await ctx.app.store.heightOfBlock(hashArg(args.hash));
        if (height === undefined || height > chainRange(ctx).latest) return { header: null };
        return { header: enc.header((await loadBlock(ctx, height)).block.header) };
      },
    },

    validators: {
      params: [
        { name: 'height', type: 'int64', optional: opt },
        { name: 'page', type: 'int', optional: opt },
        { name: 'per_page', type: 'int', optional: opt },
      ],
      async handler(args) {
        const next = uncommittedHeight(ctx);
        const height = (args.height as bigint | undefined) ?? next;
        resolveHeight(ctx, height, next);
        const set = await validatorSetAt(ctx, height);
        const perPage = perPageOf(args.per_page as number | undefined);
        const page = pageOf(args.page as number | undefined, perPage, set.size);
        const slice = set.validators.slice((page - 1) * perPage, page * perPage);
        // CometBFT's entry plus, from the latest state's validator record, stake, reputation_factor (FACTOR_ONE-scaled),
        // operator and name: extra fields CometBFT clients ignore. Read without stableRead's retries: this CometBFT
        // method must not fail on a busy node, and a page straddling a commit only mixes two adjacent states' records.
        const state = ctx.app.store;
        const [params, now] = [await ctx.app.params(), ctx.app.head().time];
        const validators = await Promise.all(slice.map(async (v) => ({ ...enc.validator(v), ...(await validatorExtras(state, v.address, params, now)) })));
        return { block_height: enc.i64(height), validators, count: enc.i64(slice.length), total: enc.i64(set.size) };
      },
    },

    consensus_params: {
      params: [{ name: 'height', type: 'int64', optional: opt }],
      handler(args) {
        const next = uncommittedHeight(ctx);
        const height = (args.height as bigint | undefined) ?? next;
        resolveHeight(ctx, height, next);
        // Consensus params are fixed at genesis until governance (issue 8) can change them.
        return { block_height: enc.i64(height), consensus_params: enc.consensusParams(ctx.app.genesis.consensusParams) };
      },
    },

    consensus_state: {
      params: [],
      handler() {
        if (ctx.consensus === null) throw RpcError.internal('consensus is not running on this node');
        const { state, startTime } = ctx.consensus.roundState();
        return { round_state: roundStateSimple(state, startTime) };
      },
    },

    unconfirmed_txs: {
      params: [{ name: 'limit', type: 'int', optional: opt }],
      handler(args) {
        const txs = ctx.mempool.list(perPageOf(args.limit as number | undefined));
        return { n_txs: enc.i64(txs.length), total: enc.i64(ctx.mempool.size), total_bytes: enc.i64(ctx.mempool.bytes), txs: txs.map(enc.b64) };
      },
    },

    num_unconfirmed_txs: {
      params: [],
      handler: () => ({ n_txs: enc.i64(ctx.mempool.size), total: enc.i64(ctx.mempool.size), total_bytes: enc.i64(ctx.mempool.bytes), txs: null }),
    },

    broadcast_tx_async: {
      params: [{ name: 'tx', type: 'bytes' }],
      handler(args) {
        const tx = args.tx as Uint8Array;
        // CometBFT v0.38 answers before CheckTx has run; the check goes on in the background, and its verdict (or
        // any failure) never changes the answer.
        try {
          ctx.mempool.checkTx(tx).catch(() => {});
        } catch {
          // the answer does not depend on the check
        }
        return { code: 0, data: '', log: '', codespace: '', hash: enc.hex(sha256(tx)) };
      },
    },

    broadcast_tx_sync: {
      params: [{ name: 'tx', type: 'bytes' }],
      async handler(args) {
        return broadcastResult(await ctx.mempool.checkTx(args.tx as Uint8Array));
      },
    },

    broadcast_tx_commit: {
      params: [{ name: 'tx', type: 'bytes' }],
      async handler(args, call) {
        const tx = args.tx as Uint8Array;
        const hash = enc.hex(sha256(tx));
        // Subscribe before CheckTx, so a block committed in between cannot be missed.
        const wait = waitForEvent(ctx, `tm.event='Tx' AND tx.hash='${hash}'`, ctx.config.rpc.timeout_broadcast_tx_commit_ms, call.signal);
        wait.promise.catch(() => {}); // observed below or cancelled
        let check: CheckTxResponse;
        try {
          check = await ctx.mempool.checkTx(tx);
        } catch (err) {
          wait.cancel();
          throw err;
        }
        if (check.code !== 0) {
          wait.cancel();
          return { check_tx: enc.checkTxResult(check), tx_result: enc.emptyExecTxResult(), hash, height: '0' };
        }
        const ev = await wait.promise;
        const txr = (ev.data.value as { TxResult: { height: string; result: unknown } }).TxResult;
        return { check_tx: enc.checkTxResult(check), tx_result: txr.result, hash, height: txr.height };
      },
    },

    check_tx: {
      params: [{ name: 'tx', type: 'bytes' }],
      async handler(args) {
        return enc.checkTxResult(await ctx.mempool.checkTx(args.tx as Uint8Array, { add: false }));
      },
    },

    tx: {
      params: [
        { name: 'hash', type: 'hex' },
        { name: 'prove', type: 'bool', optional: opt },
      ],
      async handler(args) {
        const hash = hashArg(args.hash);
        const loc = await ctx.app.store.getTxLocation(hash);
        if (loc === undefined) throw RpcError.internal(`tx (${toHex(hash)}) not found`);
        return resultTx(ctx, loc.height, loc.index, args.prove === true, recent);
      },
    },

    tx_search: {
      params: [
        { name: 'query', type: 'string' },
        { name: 'prove', type: 'bool', optional: opt },
        { name: 'page', type: 'int', optional: opt },
        { name: 'per_page', type: 'int', optional: opt },
        { name: 'order_by', type: 'string', optional: opt },
      ],
      async handler(args, call) {
        const query = parseQuery(args.query as string);
        const found = await searchTxs(ctx.app.store, query, {
          page: args.page as number | undefined,
          perPage: args.per_page as number | undefined,
          orderBy: args.order_by as string | undefined,
          signal: call.signal,
        });
        const txs: unknown[] = [];
        for (const p of found.items) txs.push(await resultTx(ctx, p.height, p.index, args.prove === true, recent));
        return { txs, total_count: enc.i64(found.total) };
      },
    },

    block_search: {
      params: [
        { name: 'query', type: 'string' },
        { name: 'page', type: 'int', optional: opt },
        { name: 'per_page', type: 'int', optional: opt },
        { name: 'order_by', type: 'string', optional: opt },
      ],
      async handler(args, call) {
        const query = parseQuery(args.query as string);
        const { first, latest } = chainRange(ctx);
        const found = await searchBlocks(ctx.app.store, { first, last: latest }, query, {
          page: args.page as number | undefined,
          perPage: args.per_page as number | undefined,
          orderBy: args.order_by as string | undefined,
          signal: call.signal,
        });
        const blocks: unknown[] = [];
        for (const h of found.items) {
          const b = await loadBlock(ctx, h);
          blocks.push({ block_id: enc.blockId(b.id), block: enc.block(b.block) });
        }
        return { blocks, total_count: enc.i64(found.total) };
      },
    },

    unsafe_flush_mempool: {
      params: [],
      unsafe: true,
      handler() {
        ctx.mempool.flush();
        return {};
      },
    },

    dial_seeds: {
      params: [{ name: 'seeds', type: 'string', optional: opt }],
      unsafe: true,
      handler() {
        throw RpcError.internal('dial_seeds is not available yet: peer-to-peer networking arrives with issue 5');
      },
    },

    dial_peers: {
      params: [
        { name: 'peers', type: 'string', optional: opt },
        { name: 'persistent', type: 'bool', optional: opt },
        { name: 'unconditional', type: 'bool', optional: opt },
        { name: 'private', type: 'bool', optional: opt },
      ],
      unsafe: true,
      handler() {
        throw RpcError.internal('dial_peers is not available yet: peer-to-peer networking arrives with issue 5');
      },
    },
  };
}
