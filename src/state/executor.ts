// The block executor: (state at H-1, block H) -> (state writes, per-tx results, app hash). Deterministic: it reads
// only committed state, the block and its header fields (height, BFT time, proposer); it never reads the clock.
//
// A tx first passes the ante checks (size, decoding, chain id, signature, fee price, nonce, funds for its gas limit).
// A tx failing them changes nothing. A tx passing them pays for its gas and bumps its nonce whatever its message does;
// the message's own writes land only if it succeeds.
import { AppError, CODESPACE, toAppError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { addressOf, verifyAsync } from '../crypto/keys.ts';
import { toHex } from '../crypto/bytes.ts';
import { txSignBytes } from '../codec/signbytes.ts';
import { TxBodyCodec, TxCodec, type Event, type Evidence, type TxBody, type TxResult, type ValidatorUpdate } from '../codec/types.ts';
import { StateOverlay } from './overlay.ts';
import { Singleton, Namespace } from './repo.ts';
import { SparseMerkleTree, EMPTY_HASH, type NodeReader } from './smt.ts';
import type { StateReader, StateWrite } from './store.ts';
import type { AppParams } from './params.ts';
import { accounts, getAccount } from './accounts.ts';
import { settleFee, checkSupply } from './economics.ts';
import { event, GasMeter, type BlockInfo, type CommitVote, type HookContext, type Module, type MsgHandler, type TxContext } from './module.ts';
import { appParamsFromJSON, appParamsToJSON, type Genesis } from './genesis.ts';
import type { MsgType } from '../codec/types.ts';

/** Params live in state as their genesis JSON (field order fixed by the defaults, open maps sorted): committed like any record. */
export const paramsRecord = new Singleton<AppParams>(Namespace.PARAMS, {
  encode: (p) => new TextEncoder().encode(JSON.stringify(appParamsToJSON(p))),
  decode: (b) => appParamsFromJSON(JSON.parse(new TextDecoder().decode(b)), 'state.params'),
});

/** Tx hashes whose signature was already verified on this node, so each tx is verified once (mempool, then block). */
export class VerifiedTxCache {
  private readonly seen = new Set<string>();
  private readonly limit: number;

  constructor(limit = 100_000) {
    this.limit = limit;
  }

  has(hash: Uint8Array): boolean {
    return this.seen.has(toHex(hash));
  }

  add(hash: Uint8Array): void {
    if (this.seen.size >= this.limit) this.seen.delete(this.seen.values().next().value!);
    this.seen.add(toHex(hash));
  }
}

export interface BlockInput extends BlockInfo {
  txs: readonly Uint8Array[];
  /** Verified evidence of misbehaviour carried by the block. */
  evidence?: readonly Evidence[];
  /** The previous height's validators and which of them signed it (from the block's last commit). */
  lastCommit?: readonly CommitVote[];
  /** The block's randao_reveal: the proposer's 96-byte BLS signature over (chain id, height), mixed into the beacon. */
  randaoReveal?: Uint8Array;
}

export interface BlockOutput {
  txResults: TxResult[];
  beginBlockEvents: Event[];
  endBlockEvents: Event[];
  validatorUpdates: ValidatorUpdate[];
  /** Root of the state commitment after the block. */
  appHash: Uint8Array;
  /** State writes, sorted by key, and the new commitment nodes: both go into the height's batch. */
  state: StateWrite[];
  nodes: Array<[Uint8Array, Uint8Array]>;
}

export interface DecodedTx {
  hash: Uint8Array;
  body: TxBody;
  signer: Uint8Array;
  pubKey: Uint8Array;
}

export class Executor {
  readonly modules: readonly Module[];
  private readonly handlers = new Map<MsgType, { module: string; handler: MsgHandler<MsgType>; prefetch?: (msg: never) => Uint8Array[] }>();
  private readonly verified: VerifiedTxCache;
  private readonly tree: SparseMerkleTree;

  constructor(modules: readonly Module[], nodes: NodeReader, verified = new VerifiedTxCache()) {
    this.modules = modules;
    this.verified = verified;
    this.tree = new SparseMerkleTree(nodes);
    for (const m of modules) {
      for (const [type, handler] of Object.entries(m.handlers ?? {}) as Array<[MsgType, MsgHandler<MsgType>]>) {
        if (this.handlers.has(type)) throw new Error(`message ${type} is handled by both ${this.handlers.get(type)!.module} and ${m.name}`);
        this.handlers.set(type, { module: m.name, handler, prefetch: m.prefetch?.[type] as ((msg: never) => Uint8Array[]) | undefined });
      }
    }
  }

  /** Genesis state: every module's initGenesis, then the supply invariant. Returns the writes and the initial app hash. */
  async initChain(base: StateReader, genesis: Genesis): Promise<Pick<BlockOutput, 'appHash' | 'state' | 'nodes'>> {
    const state = new StateOverlay(base);
    paramsRecord.set(state, genesis.appParams);
    for (const m of this.modules) await m.initGenesis?.(state, genesis);
    await checkSupply(state);
    return this.commitment(EMPTY_HASH, state);
  }

  async executeBlock(base: StateReader, prevAppHash: Uint8Array, block: BlockInput): Promise<BlockOutput> {
    const state = new StateOverlay(base, { cacheReads: true });
    const params = await readParams(state);
    const info: BlockInfo = { chainId: block.chainId, height: block.height, time: block.time, proposer: block.proposer };
    const evidence = block.evidence ?? [];
    const lastCommit = block.lastCommit ?? [];
    const randaoReveal = block.randaoReveal ?? new Uint8Array(0);
    const hook = (events: Event[], validatorUpdates: ValidatorUpdate[]): HookContext => ({ ...info, evidence, lastCommit, randaoReveal, state, params, events, validatorUpdates });

    const beginBlockEvents: Event[] = [];
    const validatorUpdates: ValidatorUpdate[] = [];
    for (const m of this.modules) await m.beginBlock?.(hook(beginBlockEvents, validatorUpdates));

    // Decode and verify every tx first (CPU only), then read every record they will touch in one round trip.
    const decoded = await Promise.all(block.txs.map((tx) => this.tryDecode(tx, info.chainId, params)));
    await state.prefetch(decoded.flatMap((d) => (d instanceof AppError ? [] : this.keysTouched(d))));
    const txResults: TxResult[] = [];
    const fees = { total: 0n };
    for (let i = 0; i < block.txs.length; i++) txResults.push(await this.deliverTx(state, params, info, block.txs[i], decoded[i], fees));
    // All of the block's fees are split at once: the burned share burns, the validators' share waits in the fee
    // collector for the signers of this block (paid in the next block, when its last commit names them).
    const endBlockEvents: Event[] = [];
    if (fees.total > 0n) {
      const split = await settleFee(state, fees.total, params);
      endBlockEvents.push(event('fees', { amount: fees.total.toString(), burned: split.burned.toString(), to_validators: split.toValidators.toString() }));
    }

    for (const m of this.modules) await m.endBlock?.(hook(endBlockEvents, validatorUpdates));

    const { appHash, state: writes, nodes } = await this.commitment(prevAppHash, state);
    return { txResults, beginBlockEvents, endBlockEvents, validatorUpdates, appHash, state: writes, nodes };
  }

  /**
   * The stateless checks of a tx: size, decoding, chain id, memo, fee price, then the signature (once per node: a
   * hash verified before, by the mempool or an earlier execution, is not verified again). Shared by the mempool's
   * admission and by block execution. Throws the AppError of the first failed check.
   */
  async decodeAndVerify(txBytes: Uint8Array, chainId: string, params: AppParams): Promise<DecodedTx> {
    const { decoded, signature, signBytes, pubKey } = this.decodeUnverified(txBytes, chainId, params);
    if (!this.verified.has(decoded.hash)) {
      if (!(await verifyAsync(signature, signBytes, pubKey))) {
        throw new AppError('BAD_SIGNATURE', 'signature does not match the tx body and pub_key; sign the exact body bytes for this chain id');
      }
      this.verified.add(decoded.hash);
    }
    return decoded;
  }

  private decodeUnverified(txBytes: Uint8Array, chainId: string, params: AppParams) {
    if (BigInt(txBytes.length) > params.tx.max_tx_bytes) {
      throw new AppError('TX_TOO_LARGE', `tx is ${txBytes.length} bytes; the limit is ${params.tx.max_tx_bytes}`);
    }
    const hash = sha256(txBytes);
    const tx = TxCodec.decode(txBytes);
    const body = TxBodyCodec.decode(tx.body);
    if (body.chainId !== chainId) {
      throw new AppError('WRONG_CHAIN_ID', `tx is for chain ${JSON.stringify(body.chainId)} but this is ${JSON.stringify(chainId)}; sign it for this chain`);
    }
    if (BigInt(Buffer.byteLength(body.memo)) > params.tx.max_memo_bytes) {
      throw new AppError('INVALID_FIELD', `memo is longer than ${params.tx.max_memo_bytes} bytes`, { field: 'memo' });
    }
    if (body.gasPrice < params.fees.min_gas_price) {
      throw new AppError('FEE_TOO_LOW', `gas_price ${body.gasPrice} is below the minimum ${params.fees.min_gas_price} uacc per gas; raise it`);
    }
    return { decoded: { hash, body, signer: addressOf(tx.pubKey), pubKey: tx.pubKey }, signature: tx.signature, signBytes: txSignBytes(chainId, tx.body), pubKey: tx.pubKey };
  }

  /** Gas a tx needs before its message runs: base + bytes + the message's schedule entry. */
  intrinsicGas(txBytes: Uint8Array, body: TxBody, params: AppParams): bigint {
    return params.fees.tx_base_gas + BigInt(txBytes.length) * params.fees.tx_byte_gas + (params.fees.msg_gas[body.msg.type] ?? 0n);
  }

  /** A tx's own fault becomes its result; a failure of this node (INTERNAL) aborts the block instead. */
  private async tryDecode(txBytes: Uint8Array, chainId: string, params: AppParams): Promise<DecodedTx | AppError> {
    try {
      return await this.decodeAndVerify(txBytes, chainId, params);
    } catch (err) {
      const e = toAppError(err);
      if (e.code === 'INTERNAL') throw e;
      return e;
    }
  }

  private keysTouched(tx: DecodedTx): Uint8Array[] {
    const extra = this.handlers.get(tx.body.msg.type)?.prefetch?.(tx.body.msg.value as never) ?? [];
    return [accounts.stateKey(tx.signer), ...extra];
  }

  private async deliverTx(
    state: StateOverlay,
    params: AppParams,
    info: BlockInfo,
    txBytes: Uint8Array,
    decoded: DecodedTx | AppError,
    fees: { total: bigint },
  ): Promise<TxResult> {
    if (decoded instanceof AppError) return failed(decoded, 0n, 0n);
    const { body, signer, hash, pubKey } = decoded;
    const gas = new GasMeter(body.gasLimit);

    // Ante: nonce and funds for the whole gas limit. Failing here changes nothing.
    const account = await getAccount(state, signer);
    if (body.nonce !== account.nonce) {
      return failed(new AppError('WRONG_NONCE', `nonce ${body.nonce} is not the account's next nonce ${account.nonce}`, { expected: account.nonce.toString() }), body.gasLimit, 0n);
    }
    const maxFee = body.gasLimit * body.gasPrice;
    if (account.balance < maxFee) {
      return failed(new AppError('INSUFFICIENT_FUNDS', `balance ${account.balance} uacc cannot cover gas_limit x gas_price = ${maxFee} uacc`), body.gasLimit, 0n);
    }
    accounts.set(state, signer, { balance: account.balance - maxFee, nonce: account.nonce + 1n });

    // The message runs in its own overlay: merged on success, dropped on failure.
    const msgState = state.fork();
    const events: Event[] = [];
    let error: AppError | null = null;
    try {
      gas.consume(this.intrinsicGas(txBytes, body, params), body.msg.type);
      const entry = this.handlers.get(body.msg.type);
      if (entry === undefined) throw new AppError('UNKNOWN_MESSAGE', `no module handles message ${body.msg.type}`);
      const ctx: TxContext = { ...info, state: msgState, params, events, signer, signerPubKey: pubKey, gas, txHash: hash };
      await entry.handler(ctx, body.msg.value as never);
      state.merge(msgState);
    } catch (err) {
      error = toAppError(err);
    }

    // Pay for the gas used (all of it when out of gas), refund the rest of the reservation.
    const gasUsed = gas.used > gas.limit ? gas.limit : gas.used;
    const fee = gasUsed * body.gasPrice;
    const after = await getAccount(state, signer);
    accounts.set(state, signer, { ...after, balance: after.balance + (maxFee - fee) });
    fees.total += fee;

    const txEvents = [
      event('tx', { fee: fee.toString(), signer: toHex(signer), nonce: body.nonce.toString() }),
      event('message', { action: body.msg.type, sender: toHex(signer) }),
    ];
    if (error !== null) return { ...failed(error, body.gasLimit, gasUsed), events: txEvents };
    return { code: 0, codespace: '', log: '', gasWanted: body.gasLimit, gasUsed, events: [...txEvents, ...events] };
  }

  private async commitment(prevRoot: Uint8Array, state: StateOverlay): Promise<Pick<BlockOutput, 'appHash' | 'state' | 'nodes'>> {
    const writes = state.changes();
    const { root, nodes } = await this.tree.update(prevRoot, writes);
    return { appHash: root, state: writes, nodes };
  }
}

export async function readParams(state: StateReader): Promise<AppParams> {
  const p = await paramsRecord.get(state);
  if (p === undefined) throw new AppError('STORE_CORRUPT', 'the params record is missing: the state was not initialised from a genesis');
  return p;
}

function failed(err: AppError, gasWanted: bigint, gasUsed: bigint): TxResult {
  return { code: err.number, codespace: CODESPACE, log: `${err.code}: ${err.message}`, gasWanted, gasUsed, events: [] };
}
