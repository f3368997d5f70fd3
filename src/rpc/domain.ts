// Domain methods: the chain's own queries, with bare snake_case names and CometBFT's encodings (int64 and uacc
// amounts as decimal strings, addresses upper-case hex, times RFC 3339 with nanoseconds).
//
// The family is built from two kinds of entries, so that the modules of later issues only add a reader and an
// encoder:
//   defineRecordMethod  one record by key      `agent {address}`   -> the record's JSON, or -32603 "agent X not found"
//   defineListMethod    a page of records      `agents {page, per_page, ...filters}` -> {agents: [...], count, total, height}
// An entry whose module does not exist yet has `read: pending('...')`: its parameters are still validated (a bad
// address is -32602 today), then it answers -32601 "Method not found" with data saying which issue brings it, the
// JSON-RPC 2.0 code for a method that "is not available"; nothing is faked.
//
// Not found: -32603 with data "<noun> <key> not found", CometBFT's convention for `tx` and `block` (its handlers'
// errors are internal errors), so a client handles both the same way. Accounts are never "not found": an address that
// never received funds has balance 0 and nonce 0, which is what a client needs to sign its first tx.
//
// Paging as CometBFT's `validators`: page from 1 (default 1), per_page 1-100 (default 30), count and total as
// strings; a page past the last is -32602 (page 1 of an empty list is valid).
import type { App } from '../state/app.ts';
import type { StateReader } from '../state/store.ts';
import type { Agent, SigningInfo, SlashEscrow, StoreHead, Unbonding, Validator, Vesting } from '../codec/types.ts';
import { getAccount, moduleAddress, ModuleAccount } from '../state/accounts.ts';
import { supplyBreakdown, supplySum, vesting as vestingRepo, type SupplyBreakdown } from '../state/economics.ts';
import { readParams } from '../state/executor.ts';
import { minDeposit } from '../state/governance/module.ts';
import { CATEGORIES, type AppParams, type Category } from '../state/params.ts';
import { appParamsToJSON } from '../state/genesis.ts';
import { agents as agentsRepo, isAttested } from '../state/agents.ts';
import { validators as validatorsRepo } from '../state/validators.ts';
import type { ValidatorScorer } from '../state/staking.ts';
import { reputationScorer } from '../reputation/module.ts';
import { unbondings as unbondingsRepo } from '../state/bonds.ts';
import { allSlashEscrows, signingInfos } from '../state/slashing.ts';
import { FACTOR_ONE, reputationFactor } from '../reputation/factor.ts';
import { equalBytes, fromHex, toHex } from '../crypto/bytes.ts';
import { formatTime } from '../codec/time.ts';
import { pubKey, type PubKeyJSON } from './encode.ts';
import { RpcCode, RpcError, type Args, type Method, type MethodTable, type ParamSpec } from './types.ts';
import type { RpcContext } from './context.ts';

// ---------------------------------------------------------------------------------------------------------------
// Reading a consistent state
// ---------------------------------------------------------------------------------------------------------------

/** What a reader sees: the committed head the read started from, and the latest committed state. */
export interface StateView {
  app: App;
  head: StoreHead;
  state: StateReader;
}

const READ_ATTEMPTS = 3;

/**
 * Runs a multi-key read against the latest state and retries it if a block committed meanwhile (the store's reads
 * are not one snapshot, and a record read before a commit and another after it could disagree). `accept` may reject
 * a result that cannot belong to one committed state (the supply must add up).
 */
export async function stableRead<T>(app: App, read: (view: StateView) => Promise<T>, accept: (value: T) => boolean = () => true): Promise<T> {
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const head = app.head();
    const value = await read({ app, head, state: app.store });
    if (app.head().height === head.height && accept(value)) return value;
  }
  throw RpcError.internal(`the state changed during the read ${READ_ATTEMPTS} times in a row (blocks are committing fast); retry the request`);
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------------------------

type ArgValue = Args[string];

/** The key parameter of a record method: how it travels, and how its value is checked (with a sentence) and shown. */
export interface KeyParam<K> {
  spec: ParamSpec;
  parse(value: ArgValue): K;
  show(key: K): string;
}

/** A received value for an error sentence: strings quoted (and cut), bytes by length. */
function shown(v: ArgValue): string {
  if (v === undefined) return 'nothing';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'string') return JSON.stringify(v.length > 50 ? `${v.slice(0, 50)}...` : v);
  return String(v);
}

const ADDRESS_TEXT = /^(?:0x)?([0-9A-Fa-f]{40})$/;

/**
 * An address parameter: 40 hex characters (either case, optional 0x), the CometBFT text form. Declared as a string
 * (not `hex`) so that the check and its sentence are the same over POST and GET, and base64 is never guessed.
 */
export function parseAddressArg(name: string, v: ArgValue): Uint8Array {
  const m = typeof v === 'string' ? ADDRESS_TEXT.exec(v) : null;
  if (m === null) {
    throw RpcError.invalidParams(`${name} must be 40 hex characters (a 20-byte address such as ${'0A'.repeat(20)}), got ${shown(v)}`);
  }
  return fromHex(m[1]);
}

export function addressParam(name = 'address'): KeyParam<Uint8Array> {
  return { spec: { name, type: 'string' }, parse: (v) => parseAddressArg(name, v), show: toHex };
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** A numeric id (tasks, proposals): a non-negative integer, as a JSON number or decimal string. */
export function idParam(name = 'id'): KeyParam<bigint> {
  return {
    spec: { name, type: 'int64' },
    parse(v) {
      if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw RpcError.invalidParams(`${name} must be a non-negative integer, got ${shown(v)}`);
      return v;
    },
    show: (id) => id.toString(),
  };
}

/** An optional filter of a list method. `parse` only sees present values. */
export interface FilterParam {
  spec: ParamSpec;
  parse(value: ArgValue): unknown;
}

export function addressFilter(name: string): FilterParam {
  return { spec: { name, type: 'string', optional: true }, parse: (v) => parseAddressArg(name, v) };
}

const WORD = /^[a-z][a-z0-9_]{0,31}$/;

/** A lower-case word (a status, a capability tag); `allowed` narrows it to an enumeration once the module defines one. */
export function wordFilter(name: string, example: string, allowed?: readonly string[]): FilterParam {
  return {
    spec: { name, type: 'string', optional: true },
    parse(v) {
      if (typeof v !== 'string' || !WORD.test(v)) {
        throw RpcError.invalidParams(`${name} must be a lower-case word of at most 32 characters such as "${example}", got ${shown(v)}`);
      }
      if (allowed !== undefined && !allowed.includes(v)) throw RpcError.invalidParams(`${name} must be one of ${allowed.join(', ')}, got "${v}"`);
      return v;
    },
  };
}

export const DEFAULT_PER_PAGE = 30;
export const MAX_PER_PAGE = 100;

export interface PageRequest {
  /** 1-based. */
  page: number;
  perPage: number;
  /** (page - 1) x perPage: the first item of the page. */
  offset: number;
}

function parsePage(args: Args): PageRequest {
  const page = args.page ?? 1;
  const perPage = args.per_page ?? DEFAULT_PER_PAGE;
  if (typeof page !== 'number' || !Number.isSafeInteger(page) || page < 1) throw RpcError.invalidParams(`page must be an integer of 1 or more, got ${shown(page)}`);
  if (typeof perPage !== 'number' || !Number.isSafeInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE) {
    throw RpcError.invalidParams(`per_page must be an integer from 1 to ${MAX_PER_PAGE}, got ${shown(perPage)}`);
  }
  return { page, perPage, offset: (page - 1) * perPage };
}

const PAGE_PARAMS: readonly ParamSpec[] = [
  { name: 'page', type: 'int', optional: true },
  { name: 'per_page', type: 'int', optional: true },
];

// ---------------------------------------------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------------------------------------------

/** Marks an entry whose module does not exist yet. */
export interface Pending {
  pending: string;
}

export function pending(reason: string): Pending {
  return { pending: reason };
}

function isPending(x: unknown): x is Pending {
  return typeof x === 'object' && x !== null && 'pending' in x;
}

function unavailable(method: string, p: Pending): RpcError {
  return new RpcError(RpcCode.METHOD_NOT_FOUND, `${method} is not available on this node yet: ${p.pending}`);
}

export interface RecordMethodDef<K, R> {
  /** Method name, also used in messages. */
  name: string;
  /** What a record is called: "agent" -> "agent 0A0B... not found". */
  noun: string;
  key: KeyParam<K>;
  /** The record, or undefined if there is none. Reads through view.state (the latest state). */
  read: ((view: StateView, key: K) => Promise<R | undefined>) | Pending;
  /** The wire JSON of a record. */
  encode(record: R, key: K, view: StateView): unknown;
}

export function defineRecordMethod<K, R>(app: App, def: RecordMethodDef<K, R>): Method {
  return {
    params: [def.key.spec],
    async handler(args) {
      const key = def.key.parse(args[def.key.spec.name]);
      const read = def.read;
      if (isPending(read)) throw unavailable(def.name, read);
      return stableRead(app, async (view) => {
        const record = await read(view, key);
        if (record === undefined) throw RpcError.internal(`${def.noun} ${def.key.show(key)} not found`);
        return def.encode(record, key, view);
      });
    },
  };
}

export interface ListMethodDef<R> {
  name: string;
  /** Field of the response holding the page, e.g. "agents". */
  items: string;
  filters: readonly FilterParam[];
  /**
   * One page of the records matching the filters, in a stable order, and how many match in all. `pageOf` turns a
   * full sorted list into that; a module with an index can read only the page.
   */
  list: ((view: StateView, filters: Record<string, unknown>, page: PageRequest) => Promise<{ items: R[]; total: number }>) | Pending;
  encode(record: R, view: StateView): unknown;
}

/** The page of a full, sorted list. */
export function pageOf<R>(all: readonly R[], page: PageRequest): { items: R[]; total: number } {
  return { items: all.slice(page.offset, page.offset + page.perPage), total: all.length };
}

export function defineListMethod<R>(app: App, def: ListMethodDef<R>): Method {
  return {
    params: [...PAGE_PARAMS, ...def.filters.map((f) => f.spec)],
    async handler(args) {
      const page = parsePage(args);
      const filters: Record<string, unknown> = {};
      for (const f of def.filters) {
        const v = args[f.spec.name];
        if (v !== undefined) filters[f.spec.name] = f.parse(v);
      }
      const list = def.list;
      if (isPending(list)) throw unavailable(def.name, list);
      return stableRead(app, async (view) => {
        const { items, total } = await list(view, filters, page);
        const pages = Math.max(1, Math.ceil(total / page.perPage));
        if (page.page > pages) {
          throw RpcError.invalidParams(`page ${page.page} is past the last page ${pages} (${total} in all, per_page ${page.perPage})`);
        }
        return {
          [def.items]: items.map((r) => def.encode(r, view)),
          count: String(items.length),
          total: String(total),
          height: view.head.height.toString(),
        };
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// account, supply, params
// ---------------------------------------------------------------------------------------------------------------

export interface AccountRecord {
  balance: bigint;
  nonce: bigint;
  vesting: Vesting | undefined;
}

export function vestingJSON(v: Vesting): Record<string, string> {
  return {
    total: v.total.toString(),
    released: v.released.toString(),
    // Counted as `unvested` by the supply invariant until released into the balance (at the start of a block).
    unvested: (v.total - v.released).toString(),
    start_time: formatTime(v.startNs),
    cliff_time: formatTime(v.cliffNs),
    end_time: formatTime(v.endNs),
  };
}

export const accountMethod: RecordMethodDef<Uint8Array, AccountRecord> = {
  name: 'account',
  noun: 'account',
  key: addressParam('address'),
  async read(view, address) {
    const [acc, vest] = await Promise.all([getAccount(view.state, address), vestingRepo.get(view.state, address)]);
    return { balance: acc.balance, nonce: acc.nonce, vesting: vest };
  },
  encode: (r, address) => ({
    address: toHex(address),
    balance: r.balance.toString(),
    nonce: r.nonce.toString(),
    vesting: r.vesting === undefined ? null : vestingJSON(r.vesting),
  }),
};

/**
 * `account` also answers next_nonce: the nonce a new tx from this address should carry, counting its txs pending in
 * this node's mempool (Ethereum's "pending" transaction count), so a client that sends several txs per block, or
 * that restarts with txs in flight, signs the right one. At least `nonce`: the pool lags a block behind at most.
 */
function withNextNonce(ctx: RpcContext, method: Method): Method {
  return {
    ...method,
    async handler(args, call) {
      const r = (await method.handler(args, call)) as { address: string; nonce: string };
      const pending = ctx.mempool.nextNonce(fromHex(r.address)) ?? 0n;
      const committed = BigInt(r.nonce);
      return { ...r, next_nonce: (pending > committed ? pending : committed).toString() };
    },
  };
}

interface SupplyRead {
  height: bigint;
  breakdown: SupplyBreakdown;
  minDeposit: bigint;
}

/**
 * The supply breakdown of economics.ts: liquid (balances of non-module accounts) + pools (every module account:
 * unreleased reward pools, treasury, reward pots, fee collector) + bonded + staked + unbonding + slash escrow + tasks +
 * governance deposits + unvested + burned = total; circulating = total - burned - pools - unvested.
 */
async function readSupply(app: App): Promise<SupplyRead> {
  return stableRead(
    app,
    async (view) => ({ height: view.head.height, breakdown: await supplyBreakdown(view.state), minDeposit: await minDeposit(view.state, await readParams(view.state)) }),
    // A read that straddled a commit may not add up; one committed state always does.
    ({ breakdown }) => supplySum(breakdown) === breakdown.total,
  );
}

function supplyMethod(app: App): Method {
  return {
    params: [],
    async handler() {
      const { height, breakdown: b, minDeposit: min } = await readSupply(app);
      return {
        height: height.toString(),
        total: b.total.toString(),
        circulating: b.circulating.toString(),
        liquid: b.liquid.toString(),
        bonded: b.bonded.toString(),
        staked: b.staked.toString(),
        unbonding: b.unbonding.toString(),
        slash_escrow: b.slashEscrow.toString(),
        tasks: b.tasks.toString(),
        governance: b.governance.toString(),
        unvested: b.unvested.toString(),
        burned: b.burned.toString(),
        pools_total: b.modulesTotal.toString(),
        pools: Object.fromEntries(b.modules.map(([name, v]) => [name, v.toString()])),
        min_proposal_deposit: min.toString(),
      };
    },
  };
}

function paramsMethod(app: App): Method {
  return {
    params: [],
    // One record: a single read is already consistent.
    handler: async () => appParamsToJSON(await app.params()),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// agent, agents, validator (issue 6)
// ---------------------------------------------------------------------------------------------------------------

/**
 * The scorer whose score turns into a validator's reputation factor. It must be the one the app's staking module
 * uses (src/state/app.ts builds stakingModule(reputationScorer)), so that the factor shown is the one the voting power
 * was computed with (the score recorded at the last epoch boundary).
 */
export const rpcValidatorScorer: ValidatorScorer = reputationScorer;

/** A factor (FACTOR_ONE-scaled) as a decimal with six places: 1000000n -> "1.000000". */
export function factorDecimal(factor: bigint): string {
  const sign = factor < 0n ? '-' : '';
  const abs = factor < 0n ? -factor : factor;
  return `${sign}${abs / FACTOR_ONE}.${(abs % FACTOR_ONE).toString().padStart(6, '0')}`;
}

/** The reputation factor (FACTOR_ONE-scaled) a validator's power is computed with (as of `now`, the head's time). */
export async function validatorFactor(state: StateReader, v: Validator, params: AppParams, now: bigint): Promise<bigint> {
  return reputationFactor(await rpcValidatorScorer(state, v, params, now));
}

/** The fields `validators` adds from the state's validator record to each CometBFT entry; null without a record. */
export interface ValidatorExtrasJSON {
  stake: string | null;
  reputation_factor: string | null;
  operator: string | null;
  name: string | null;
}

export async function validatorExtras(state: StateReader, address: Uint8Array, params: AppParams, now: bigint): Promise<ValidatorExtrasJSON> {
  const v = await validatorsRepo.get(state, address);
  if (v === undefined) return { stake: null, reputation_factor: null, operator: null, name: null };
  return { stake: v.stake.toString(), reputation_factor: (await validatorFactor(state, v, params, now)).toString(), operator: toHex(v.operator), name: v.name };
}

/** `agents` status filter: the agent's status, or "validator" (its validator holds voting power). */
export const AGENT_STATUSES = ['active', 'unbonding', 'validator'] as const;
/** A model or skill tag, as MsgRegisterAgent's validation accepts it (src/codec/types.ts). */
const TAG = /^[a-z0-9][a-z0-9._:/-]{0,63}$/;

/** An agent with what its JSON needs besides the record: its entries in the unbonding queue. */
export interface AgentRecord {
  agent: Agent;
  unbonding: Unbonding[];
}

function agentJSON(r: AgentRecord, view: StateView): Record<string, unknown> {
  const a = r.agent;
  const c = a.capabilities;
  return {
    address: toHex(a.address),
    pub_key: pubKey(a.pubKey),
    status: a.status,
    bond: a.bond.toString(),
    capabilities: {
      cpu_cores: c.cpuCores,
      gpu_memory_mb: c.gpuMemoryMb.toString(),
      llm_tokens_per_second: c.llmTokensPerSecond.toString(),
      models: [...c.models],
      skills: [...c.skills],
    },
    capabilities_status: a.capabilitiesVerified ? 'verified' : 'claimed',
    capabilities_verified_at: a.capabilitiesVerified ? formatTime(a.capabilitiesVerifiedNs) : null,
    attestation: {
      kind: a.attestationKind,
      expires_at: formatTime(a.attestationExpiresNs),
      measurement: toHex(a.measurement),
      // Against the latest block time: what the state machine checks the next block's txs against is at least that.
      valid: isAttested(a, view.head.time),
    },
    registered_at: formatTime(a.registeredNs),
    registered_height: a.registeredHeight.toString(),
    validator: a.validator.length > 0 ? toHex(a.validator) : null,
    unbonding: r.unbonding.map((u) => ({ kind: u.kind, amount: u.amount.toString(), completes_at: formatTime(u.completesNs) })),
  };
}

export const agentMethod: RecordMethodDef<Uint8Array, AgentRecord> = {
  name: 'agent',
  noun: 'agent',
  key: addressParam('address'),
  async read(view, address) {
    const agent = await agentsRepo.get(view.state, address);
    if (agent === undefined) return undefined;
    const unbonding = (await unbondingsRepo.all(view.state)).map(([, u]) => u).filter((u) => equalBytes(u.owner, address));
    return { agent, unbonding };
  },
  encode: (r, _address, view) => agentJSON(r, view),
};

function capabilityFilter(): FilterParam {
  return {
    spec: { name: 'capability', type: 'string', optional: true },
    parse(v) {
      if (typeof v !== 'string' || !TAG.test(v)) {
        throw RpcError.invalidParams(
          `capability must be a model or skill tag (1-64 characters of a-z, 0-9, ".", "_", ":", "/", "-", starting with a letter or digit, such as "llama-3-70b"), "gpu" or "verified", got ${shown(v)}`,
        );
      }
      return v;
    },
  };
}

/** A capability filter: a model or skill tag, or one of two words that are not tags, "gpu" and "verified". */
function matchesCapability(a: Agent, capability: string): boolean {
  if (capability === 'gpu') return a.capabilities.gpuMemoryMb > 0n;
  if (capability === 'verified') return a.capabilitiesVerified;
  return a.capabilities.models.includes(capability) || a.capabilities.skills.includes(capability);
}

export const agentsMethod: ListMethodDef<AgentRecord> = {
  name: 'agents',
  items: 'agents',
  filters: [wordFilter('status', 'active', AGENT_STATUSES), capabilityFilter()],
  async list(view, filters, page) {
    const status = filters.status as (typeof AGENT_STATUSES)[number] | undefined;
    const capability = filters.capability as string | undefined;
    let all = (await agentsRepo.all(view.state)).map(([, a]) => a); // key order: by address
    if (status === 'active' || status === 'unbonding') all = all.filter((a) => a.status === status);
    if (status === 'validator') {
      const powered = new Set((await validatorsRepo.all(view.state)).filter(([, v]) => v.power > 0n).map(([k]) => toHex(k)));
      all = all.filter((a) => a.validator.length > 0 && powered.has(toHex(a.validator)));
    }
    if (capability !== undefined) all = all.filter((a) => matchesCapability(a, capability));
    const { items, total } = pageOf(all, page);
    // The queue is read once for the page, not once per agent.
    const byOwner = new Map<string, Unbonding[]>();
    if (items.length > 0) {
      for (const [, u] of await unbondingsRepo.all(view.state)) {
        const k = toHex(u.owner);
        byOwner.set(k, [...(byOwner.get(k) ?? []), u]);
      }
    }
    return { items: items.map((agent) => ({ agent, unbonding: byOwner.get(toHex(agent.address)) ?? [] })), total };
  },
  encode: agentJSON,
};

/** A validator record with what its JSON needs: its score's factor, signing info, params, its operator's escrows. */
export interface ValidatorRecord {
  validator: Validator;
  factor: bigint;
  signing: SigningInfo | undefined;
  window: bigint;
  slashes: Array<[bigint, SlashEscrow]>;
}

export type ValidatorStatus = 'bonded' | 'unbonded' | 'jailed' | 'tombstoned' | 'removed';

export function validatorStatus(v: Validator): ValidatorStatus {
  if (v.tombstoned) return 'tombstoned';
  if (v.removed) return 'removed';
  if (v.jailedUntilNs > 0n) return 'jailed';
  return v.power > 0n ? 'bonded' : 'unbonded';
}

export interface ValidatorRecordJSON {
  address: string;
  pub_key: PubKeyJSON;
  bls_pub_key: string;
  operator: string;
  name: string;
  stake: string;
  power: string;
  reputation_factor: string;
  reputation_factor_decimal: string;
  status: ValidatorStatus;
  jailed_until: string | null;
  tombstoned: boolean;
  removed: boolean;
  signing: { missed: string; window: string };
  slashes: Array<{ id: string; kind: string; amount: string; height: string; burns_at: string }>;
}

export function validatorRecordJSON(r: ValidatorRecord): ValidatorRecordJSON {
  const v = r.validator;
  return {
    address: toHex(v.address),
    pub_key: pubKey(v.pubKey),
    bls_pub_key: toHex(v.blsPubKey),
    operator: toHex(v.operator),
    name: v.name,
    stake: v.stake.toString(),
    power: v.power.toString(),
    reputation_factor: r.factor.toString(),
    reputation_factor_decimal: factorDecimal(r.factor),
    status: validatorStatus(v),
    // A tombstoned or removed validator is jailed for good (JAILED_FOREVER): no time to show.
    jailed_until: v.tombstoned || v.removed || v.jailedUntilNs === 0n ? null : formatTime(v.jailedUntilNs),
    tombstoned: v.tombstoned,
    removed: v.removed,
    signing: { missed: (r.signing?.missed ?? 0n).toString(), window: r.window.toString() },
    slashes: r.slashes.map(([id, e]) => ({ id: id.toString(), kind: e.kind, amount: e.amount.toString(), height: e.height.toString(), burns_at: formatTime(e.burnsAtNs) })),
  };
}

export const validatorMethod: RecordMethodDef<Uint8Array, ValidatorRecord> = {
  name: 'validator',
  noun: 'validator',
  key: addressParam('address'),
  async read(view, address) {
    const validator = await validatorsRepo.get(view.state, address);
    if (validator === undefined) return undefined;
    const params = await view.app.params();
    const [factor, signing, escrows] = await Promise.all([
      validatorFactor(view.state, validator, params, view.head.time),
      signingInfos.get(view.state, address),
      allSlashEscrows(view.state),
    ]);
    const slashes = escrows.filter(([, e]) => equalBytes(e.agent, validator.operator));
    return { validator, factor, signing, window: params.slashing.downtime_window_blocks, slashes };
  },
  encode: (r) => validatorRecordJSON(r),
};

/** The domain methods of this file; src/rpc/domain-tasks.ts adds issue 7's and src/rpc/domain-gov.ts issue 8's. */
export function domainMethods(ctx: RpcContext): MethodTable {
  const { app } = ctx;
  return {
    account: withNextNonce(ctx, defineRecordMethod(app, accountMethod)),
    supply: supplyMethod(app),
    params: paramsMethod(app),
    agent: defineRecordMethod(app, agentMethod),
    agents: defineListMethod(app, agentsMethod),
    validator: defineRecordMethod(app, validatorMethod),
  };
}
