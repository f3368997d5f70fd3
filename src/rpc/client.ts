// The typed JSON-RPC client: HTTP (fetch, JSON-RPC 2.0 POST with named params) for calls, WebSocket (`ws`) for
// subscriptions. Used by the CLI, the tests and any TypeScript program that talks to a node.
//
// Results keep the wire encoding (int64 and uacc amounts as decimal strings, hashes and addresses as upper-case hex,
// bytes as base64): the types below say which is which, and parseUint / parseAmount turn strings into bigints.
// Failures are typed: RpcClientError (the node answered with a JSON-RPC error: code, message, data),
// RpcTransportError (no usable answer: unreachable, timeout, not JSON-RPC, connection closed), AbciQueryError (a query
// the app refused) and ProofVerificationError (queryProven got a proof that does not check out).
import WebSocket from 'ws';
import { equalBytes, fromBase64, fromHex, toBase64, toHex } from '../crypto/bytes.ts';
import { decodeProof, verifyProof, type SmtProof } from '../state/smt.ts';
import type { AppParamsJSON, GenesisJSON } from '../state/genesis.ts';
import type { PubKeyJSON } from '../crypto/keys.ts';
import { SMT_PROOF_TYPE, stateKeyForQuery, type AbciQueryResponseJSON } from './abci.ts';

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/** The node answered with a JSON-RPC error. */
export class RpcClientError extends Error {
  readonly code: number;
  readonly data: string;
  readonly method: string;
  /** The JSON-RPC message ("Invalid params"), kept apart from Error.message, which reads as a sentence. */
  readonly rpcMessage: string;

  constructor(method: string, code: number, message: string, data: string) {
    super(data ? `${method}: ${message} (${code}): ${data}` : `${method}: ${message} (${code})`);
    this.name = 'RpcClientError';
    this.method = method;
    this.code = code;
    this.data = data;
    this.rpcMessage = message;
  }
}

export type TransportFailure = 'unreachable' | 'timeout' | 'protocol' | 'closed';

/** No usable answer from the node. `url` names the endpoint that failed. */
export class RpcTransportError extends Error {
  readonly reason: TransportFailure;
  readonly url: string;

  constructor(reason: TransportFailure, url: string, message: string) {
    super(message);
    this.name = 'RpcTransportError';
    this.reason = reason;
    this.url = url;
  }
}

/** abci_query answered with a non-zero code. */
export class AbciQueryError extends Error {
  readonly code: number;
  readonly codespace: string;
  readonly log: string;

  constructor(r: Pick<AbciQueryResponseJSON, 'code' | 'codespace' | 'log'>) {
    super(`abci_query failed with code ${r.code} (${r.codespace || 'no codespace'}): ${r.log}`);
    this.name = 'AbciQueryError';
    this.code = r.code;
    this.codespace = r.codespace;
    this.log = r.log;
  }
}

/** A proven query whose proof, key, height or app hash does not check out. */
export class ProofVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProofVerificationError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Value helpers
// ---------------------------------------------------------------------------------------------------------------

const UINT = /^(?:0|[1-9][0-9]*)$/;
const INT = /^-?(?:0|[1-9][0-9]*)$/;

/** A decimal string of the wire (int64, uacc amount) as a bigint; throws on anything else. */
export function parseUint(s: string, what = 'value'): bigint {
  if (typeof s !== 'string' || !UINT.test(s)) throw new TypeError(`${what} must be a decimal string of a non-negative integer, got ${JSON.stringify(s)}`);
  return BigInt(s);
}

/** As parseUint, allowing a minus sign (proposer_priority, max_gas = -1). */
export function parseInt64(s: string, what = 'value'): bigint {
  if (typeof s !== 'string' || !INT.test(s)) throw new TypeError(`${what} must be a decimal string of an integer, got ${JSON.stringify(s)}`);
  return BigInt(s);
}

export const UACC_PER_ACC = 1_000_000n;

const AMOUNT = /^(0|[1-9][0-9]*)(?:\.([0-9]{1,6}))?(uacc|acc)?$/i;

/**
 * A token amount typed by a person: "2500" or "2500uacc" (uacc), "1.5acc" or "3ACC" (ACC, up to 6 decimals).
 * Returns uacc; throws a sentence on anything else.
 */
export function parseAmount(text: string): bigint {
  const m = typeof text === 'string' ? AMOUNT.exec(text.trim()) : null;
  const unit = m?.[3]?.toLowerCase();
  if (m === null || (m[2] !== undefined && unit !== 'acc')) {
    throw new TypeError(`amount must be an integer number of uacc (e.g. 2500 or 2500uacc) or of ACC with up to 6 decimals (e.g. 1.5acc), got ${JSON.stringify(text)}`);
  }
  if (unit === 'acc') return BigInt(m[1]) * UACC_PER_ACC + BigInt((m[2] ?? '').padEnd(6, '0'));
  return BigInt(m[1]);
}

/** uacc as ACC text with no trailing zeros: 1500000n -> "1.5". */
export function formatAcc(uacc: bigint): string {
  const sign = uacc < 0n ? '-' : '';
  const abs = uacc < 0n ? -uacc : uacc;
  const frac = (abs % UACC_PER_ACC).toString().padStart(6, '0').replace(/0+$/, '');
  return `${sign}${abs / UACC_PER_ACC}${frac ? '.' + frac : ''}`;
}

/** Bytes from a Uint8Array or hex text (either case, optional 0x). */
export function bytesOf(v: Uint8Array | string, what = 'value'): Uint8Array {
  if (v instanceof Uint8Array) return v;
  try {
    return fromHex(v.startsWith('0x') || v.startsWith('0X') ? v.slice(2) : v);
  } catch {
    throw new TypeError(`${what} must be bytes or hex text, got ${JSON.stringify(v.slice(0, 80))}`);
  }
}

type Height = bigint | number;

const heightArg = (h: Height | undefined): string | undefined => (h === undefined ? undefined : BigInt(h).toString());

// ---------------------------------------------------------------------------------------------------------------
// Result types: CometBFT v0.38's shapes (strings stay strings)
// ---------------------------------------------------------------------------------------------------------------

export interface BlockIdJSON {
  hash: string;
  parts: { total: number; hash: string };
}

export interface HeaderJSON {
  version: { block: string; app: string };
  chain_id: string;
  height: string;
  time: string;
  last_block_id: BlockIdJSON;
  last_commit_hash: string;
  data_hash: string;
  validators_hash: string;
  next_validators_hash: string;
  consensus_hash: string;
  app_hash: string;
  last_results_hash: string;
  evidence_hash: string;
  proposer_address: string;
}

export interface CommitSigJSON {
  block_id_flag: number;
  validator_address: string;
  timestamp: string;
  signature: string | null;
}

export interface CommitJSON {
  height: string;
  round: number;
  block_id: BlockIdJSON;
  signatures: CommitSigJSON[];
}

export interface BlockJSON {
  header: HeaderJSON;
  data: { txs: string[] | null };
  evidence: { evidence: unknown[] | null };
  last_commit: CommitJSON | null;
}

export interface EventJSON {
  type: string;
  attributes: Array<{ key: string; value: string; index: boolean }>;
}

export interface ExecTxResultJSON {
  code: number;
  data: string | null;
  log: string;
  info: string;
  gas_wanted: string;
  gas_used: string;
  events: EventJSON[] | null;
  codespace: string;
}

export type CheckTxResultJSON = ExecTxResultJSON;

export interface StatusResult {
  node_info: {
    protocol_version: { p2p: string; block: string; app: string };
    id: string;
    listen_addr: string;
    network: string;
    version: string;
    channels: string;
    moniker: string;
    other: { tx_index: string; rpc_address: string };
  };
  sync_info: {
    latest_block_hash: string;
    latest_app_hash: string;
    latest_block_height: string;
    latest_block_time: string;
    earliest_block_hash: string;
    earliest_app_hash: string;
    earliest_block_height: string;
    earliest_block_time: string;
    catching_up: boolean;
  };
  validator_info: { address: string; pub_key: PubKeyJSON; voting_power: string };
}

export interface NetInfoResult {
  listening: boolean;
  listeners: string[];
  n_peers: string;
  peers: Array<{ node_info: StatusResult['node_info']; is_outbound: boolean; connection_status: unknown; remote_ip: string }>;
}

export interface BlockMetaJSON {
  block_id: BlockIdJSON;
  block_size: string;
  header: HeaderJSON;
  num_txs: string;
}

export interface BlockResult {
  block_id: BlockIdJSON;
  block: BlockJSON;
}

export interface BlockResultsResult {
  height: string;
  txs_results: ExecTxResultJSON[] | null;
  finalize_block_events: EventJSON[] | null;
  validator_updates: Array<{ pub_key: unknown; power: string }> | null;
  consensus_param_updates: unknown;
  app_hash: string;
}

/**
 * An entry of `validators`: CometBFT's four fields, plus four from the state's validator record (null if the state
 * holds none): stake (uacc), reputation_factor (fixed point, 1000000 = 1), operator (the agent that staked), name.
 */
export interface ValidatorJSON {
  address: string;
  pub_key: PubKeyJSON;
  voting_power: string;
  proposer_priority: string;
  stake: string | null;
  reputation_factor: string | null;
  operator: string | null;
  name: string | null;
}

export interface ValidatorsResult {
  block_height: string;
  validators: ValidatorJSON[];
  count: string;
  total: string;
}

export interface ConsensusParamsResult {
  block_height: string;
  consensus_params: {
    block: { max_bytes: string; max_gas: string };
    evidence: { max_age_num_blocks: string; max_age_duration: string; max_bytes: string };
    validator: { pub_key_types: string[] };
    version: { app: string };
    abci?: { vote_extensions_enable_height: string };
  };
}

export interface UnconfirmedTxsResult {
  n_txs: string;
  total: string;
  total_bytes: string;
  txs: string[] | null;
}

export interface BroadcastTxResult {
  code: number;
  data: string | null;
  log: string;
  codespace: string;
  hash: string;
}

export interface BroadcastTxCommitResult {
  check_tx: CheckTxResultJSON;
  tx_result: ExecTxResultJSON;
  hash: string;
  height: string;
}

export interface TxResultJSON {
  hash: string;
  height: string;
  index: number;
  tx_result: ExecTxResultJSON;
  tx: string;
  proof?: unknown;
}

export interface TxSearchResult {
  txs: TxResultJSON[];
  total_count: string;
}

export interface BlockSearchResult {
  blocks: BlockResult[];
  total_count: string;
}

export interface AbciInfoResult {
  response: { data: string; version: string; app_version: string; last_block_height: string; last_block_app_hash: string };
}

export interface AbciQueryResult {
  response: AbciQueryResponseJSON;
}

/** One event pushed to a subscription (result of a subscribe notification). */
export interface SubscriptionEvent {
  query: string;
  data: { type: string; value: unknown };
  events: Record<string, string[]>;
}

// ---- domain results ----

export interface VestingJSON {
  total: string;
  released: string;
  unvested: string;
  start_time: string;
  cliff_time: string;
  end_time: string;
}

export interface AccountResult {
  address: string;
  balance: string;
  /** the next nonce as of the latest block */
  nonce: string;
  /** the nonce a new tx should carry: `nonce` plus this sender's txs pending in the node's mempool */
  next_nonce: string;
  vesting: VestingJSON | null;
}

/**
 * liquid + pools_total + bonded + staked + unbonding + slash_escrow + tasks + governance + unvested + burned = total.
 * circulating = total - burned - pools_total - unvested (every token out of the protocol's reserves, locked or not).
 */
export interface SupplyResult {
  height: string;
  total: string;
  circulating: string;
  /** Liquid balances of non-module accounts. */
  liquid: string;
  bonded: string;
  staked: string;
  unbonding: string;
  slash_escrow: string;
  /** Task bounties and appeal deposits held in escrow. */
  tasks: string;
  /** Deposits held by proposals in their voting period. */
  governance: string;
  unvested: string;
  burned: string;
  pools_total: string;
  pools: Record<string, string>;
  /** The least deposit a proposal locks now: governance.min_deposit_bps of `circulating`, rounded up. */
  min_proposal_deposit: string;
}

/** The sum of a supply result's parts: equals `total` for any committed state. */
export function supplyPartsSum(s: SupplyResult): bigint {
  return [s.liquid, s.pools_total, s.bonded, s.staked, s.unbonding, s.slash_escrow, s.tasks, s.governance, s.unvested, s.burned].reduce((sum, v) => sum + BigInt(v), 0n);
}

export interface PageInfo {
  count: string;
  total: string;
  height: string;
}

export interface CapabilitiesJSON {
  cpu_cores: number;
  gpu_memory_mb: string;
  llm_tokens_per_second: string;
  models: string[];
  skills: string[];
}

export interface UnbondingJSON {
  /** "stake" (unstaked validator stake) or "bond" (a deregistered agent's bond). */
  kind: 'stake' | 'bond';
  amount: string;
  completes_at: string;
}

/** The `agent` method's result (and each entry of `agents`). */
export interface AgentJSON {
  address: string;
  pub_key: PubKeyJSON;
  status: 'active' | 'unbonding';
  /** uacc locked by the registration (0 once deregistered: it is then in `unbonding`). */
  bond: string;
  capabilities: CapabilitiesJSON;
  capabilities_status: 'claimed' | 'verified';
  capabilities_verified_at: string | null;
  attestation: {
    kind: string;
    expires_at: string;
    /** Upper-case hex of the TEE measurement; "" for kinds without one (authority, genesis). */
    measurement: string;
    /** The attestation expires after the latest block time. */
    valid: boolean;
  };
  registered_at: string;
  registered_height: string;
  /** Consensus address of the agent's validator, null if it never staked. */
  validator: string | null;
  unbonding: UnbondingJSON[];
}

export type AgentStatusFilter = 'active' | 'unbonding' | 'validator';

export interface AgentsOptions extends PageOptions {
  /** active | unbonding | validator (its validator holds voting power). */
  status?: AgentStatusFilter;
  /** A model or skill tag, "gpu" (gpu_memory_mb > 0) or "verified" (capabilities verified). */
  capability?: string;
}

export interface SlashJSON {
  id: string;
  kind: string;
  amount: string;
  height: string;
  burns_at: string;
}

/** The `validator` method's result: the state's record of a validator, by consensus address. */
export interface ValidatorRecordJSON {
  address: string;
  pub_key: PubKeyJSON;
  /** BLS12-381 public key (48 bytes, upper-case hex) its block reveals for the randomness beacon verify against. */
  bls_pub_key: string;
  /** The agent that staked. */
  operator: string;
  name: string;
  stake: string;
  power: string;
  /** Fixed point: 1000000 = 1 (neutral). */
  reputation_factor: string;
  /** The same as a decimal with six places, e.g. "1.000000". */
  reputation_factor_decimal: string;
  status: 'bonded' | 'unbonded' | 'jailed' | 'tombstoned' | 'removed';
  jailed_until: string | null;
  tombstoned: boolean;
  /** Removed by a governance vote: out of the set for good. */
  removed: boolean;
  signing: { missed: string; window: string };
  /** The operator's slash escrows (slashed tokens waiting out the appeal window before they burn). */
  slashes: SlashJSON[];
}

export interface PayloadJSON {
  /** sha256 of the content, upper-case hex (null when not given). */
  hash: string | null;
  uri: string;
  /** The inline content, base64 ("" when none). */
  inline: string;
}

/** The `task` result (src/rpc/domain-tasks.ts); times RFC 3339, amounts uacc strings, null when not set. */
export interface TaskJSON {
  id: string;
  kind: 'task' | 'benchmark';
  status: string;
  submitter: string;
  requirements: { min_cpu_cores: number; min_gpu_memory_mb: string; min_llm_tokens_per_second: string; models: string[]; skills: string[] };
  bounty: string;
  escrowed: string;
  deadline: string;
  input: PayloadJSON;
  submitted_at: string;
  submitted_height: string;
  assignee: string | null;
  tried: string[];
  accept_by: string | null;
  accepted_at: string | null;
  result: { output: PayloadJSON; submitted_at: string; height: string } | null;
  round: number;
  draw_height: string | null;
  next_timer: string | null;
  verdict: string | null;
  verdict_at: string | null;
  appellant: string | null;
  appeal_verdict: string | null;
  final_verdict: string | null;
  closed_at: string | null;
  close_reason: string | null;
  executor_paid: string;
  submitter_refund: string;
  reviewers_paid: string;
}

export interface CommitteeMemberJSON {
  reviewer: string;
  seat: number;
  weight: string;
  committed: boolean;
  committed_at: string | null;
  revealed: boolean;
  verdict: 'approve' | 'reject' | null;
  revealed_at: string | null;
}

export interface CommitteeJSON {
  task_id: string;
  status: string;
  rounds: Array<{
    round: number;
    /** as of the latest block: commit, reveal, closed (settles at the next end-block) or settled */
    phase: 'commit' | 'reveal' | 'closed' | 'settled';
    /** reveals needed for a verdict */
    quorum: number;
    seed_height: string;
    drawn_height: string;
    drawn_at: string | null;
    commit_ends: string | null;
    reveal_ends: string | null;
    wanted: number;
    size: number;
    committed: number;
    revealed: number;
    approvals: number;
    verdict: string | null;
    settled_at: string | null;
    members: CommitteeMemberJSON[];
  }>;
}

export interface ReputationJSON {
  address: string;
  at: string;
  is_agent: boolean;
  score_one: string;
  dimensions: { task: string; validator: string; compute: string; social: string };
  stored: Record<'task' | 'validator' | 'compute', { value: string; raw: string; updated_at: string | null }>;
  validator_score: string;
  validator_factor: string;
  validator_factor_decimal: string;
  endorsements_given: { count: number; counting: number; slots_used: number; slots_max: string; list: unknown[] };
  endorsements_received: { count: number; counting: number; list: unknown[] };
}

export interface ReviewDutyJSON {
  task: TaskJSON;
  round: number;
  ends: string;
}

/** The `duties` result: what an agent has still to do as of the latest block. */
export interface DutiesJSON {
  height: string;
  time: string;
  accept: TaskJSON[];
  execute: TaskJSON[];
  commit: ReviewDutyJSON[];
  reveal: ReviewDutyJSON[];
}

export interface ParamChangeJSON {
  /** Dotted path under app_state.params, e.g. "staking.epoch_blocks". */
  path: string;
  /** The new value as JSON text, as genesis.json writes it ("\"50\"" for an integer; "null" removes an open-map entry). */
  value: string;
}

/** A proposal's action (src/rpc/domain-gov.ts): one key, the one of its kind; {} for a text proposal. */
export type ProposalContentJSON =
  | { param_changes: ParamChangeJSON[] }
  | { treasury_spend: { recipient: string; amount: string } }
  | { validator_action: { validator: string; action: 'jail' | 'remove'; jail_seconds: string } }
  | { slash_appeal: { escrow_id: string } }
  | { upgrade: { name: string; height: string; info: string | null } }
  | Record<string, never>;

export type ProposalKindJSON = 'param_change' | 'treasury_spend' | 'validator_action' | 'slash_appeal' | 'software_upgrade' | 'text';
export type ProposalStatusJSON = 'voting' | 'passed' | 'rejected' | 'vetoed' | 'executed' | 'failed';
export type VoteOptionJSON = 'yes' | 'no' | 'abstain' | 'veto';

/** Weights in uacc of bonded ACC (agent bonds + validator stakes). */
export interface TallyJSON {
  yes: string;
  no: string;
  abstain: string;
  veto: string;
  /** Every bond plus every stake: the quorum's base. */
  total_weight: string;
  /** yes + no + abstain + veto. */
  cast: string;
  /** governance.quorum_bps: the current one while voting, the one the tally judged with afterwards. */
  quorum_bps: string;
  /** ceil(total_weight x quorum_bps / 10,000): the least cast weight that reaches the quorum. */
  quorum_needed: string;
  quorum_reached: boolean;
  /** majority: yes > half of yes + no + veto; two_thirds (critical): 3 x yes >= 2 x (yes + no + veto). */
  pass_rule: 'majority' | 'two_thirds';
}

/** The `proposal` result (each entry of `proposals` has every field but `votes`); null where not set. */
export interface ProposalJSON {
  id: string;
  kind: ProposalKindJSON;
  title: string;
  summary: string | null;
  proposer: string;
  content: ProposalContentJSON;
  critical: boolean;
  status: ProposalStatusJSON;
  deposit: string;
  /** held while voting; returned, or burned (vetoed), at the tally. */
  deposit_status: 'held' | 'returned' | 'burned';
  submitted_at: string;
  submit_height: string;
  voting_end: string;
  /** While `voting`: a live tally (weights as of the latest block); then the one the tally stored. */
  tally: TallyJSON;
  tally_final: boolean;
  tallied_at: string | null;
  tally_height: string | null;
  /** The tally's sentence (why it passed, was rejected or vetoed). */
  outcome: string | null;
  /** When a passed proposal executes (voting end + governance.timelock_seconds). */
  execute_at: string | null;
  executed_height: string | null;
  /** Why the execution failed (`CODE: sentence`). */
  failure: string | null;
  /** `proposal` only: every vote, by voter address. */
  votes?: Array<{ voter: string; option: VoteOptionJSON; height: string }>;
}

/** The `upgrade_plan` result: the last software upgrade a proposal executed, every field null if none. */
export interface UpgradePlanJSON {
  name: string | null;
  height: string | null;
  info: string | null;
  proposal_id: string | null;
}

export interface PageOptions {
  page?: number;
  perPage?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------------------------

export interface RpcClientOptions {
  /** Per-request timeout in ms (default 10,000); broadcast_tx_commit waits at least 30 s. */
  timeoutMs?: number;
  /** WebSocket endpoint; default: the URL with ws(s):// and path /websocket. */
  wsUrl?: string;
  /** fetch to use (tests); default the global one. */
  fetch?: typeof fetch;
}

export interface CallOptions {
  timeoutMs?: number;
}

export interface ProvenQuery {
  path: string;
  /** The state key the value and proof are about. */
  key: Uint8Array;
  /** The record's stored bytes, or null: the proof shows the key is absent. */
  value: Uint8Array | null;
  /** The state after this block. */
  height: bigint;
  /** The app hash the proof verified against. */
  appHash: Uint8Array;
  /** Where that app hash came from: block height+1's header, abci_info (the latest state), or the caller. */
  appHashSource: 'header' | 'abci_info' | 'trusted';
  proof: SmtProof;
}

interface Pending {
  method: string;
  resolve(result: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface Listener {
  onEvent(event: SubscriptionEvent): void;
  onError?(err: Error): void;
}

interface Subscription {
  listeners: Set<Listener>;
  /** Settles when the node confirmed (or refused) the subscription. */
  ready: Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const COMMIT_TIMEOUT_MS = 30_000;

function describeCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message && !cause.message.includes(cause.code) ? ` ${cause.message}` : ''}`;
  return cause?.message ?? (err instanceof Error ? err.message : String(err));
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

export class RpcClient {
  readonly url: string;
  readonly wsUrl: string;
  readonly timeoutMs: number;
  readonly #fetch: typeof fetch;
  #nextId = 1;
  #ws: Promise<WebSocket> | null = null;
  readonly #pending = new Map<number, Pending>();
  readonly #subs = new Map<string, Subscription>();

  constructor(url: string, options: RpcClientOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`node URL must be like http://127.0.0.1:26657, got ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`node URL must start with http:// or https://, got ${JSON.stringify(url)}`);
    }
    this.url = url;
    const base = url.replace(/\/+$/, '');
    this.wsUrl = options.wsUrl ?? `${base.replace(/^http/, 'ws')}/websocket`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#fetch = options.fetch ?? fetch;
  }

  // ---- transport ----

  /** One JSON-RPC call over HTTP POST; params are sent as named params, undefined ones left out. */
  async call<T>(method: string, params: Record<string, unknown> = {}, options: CallOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const id = this.#nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    let text: string;
    let status: number;
    try {
      const res = await this.#fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      if (isTimeout(err)) throw new RpcTransportError('timeout', this.url, `the node at ${this.url} did not answer ${method} within ${timeoutMs} ms`);
      throw new RpcTransportError('unreachable', this.url, `cannot reach the node at ${this.url} (${describeCause(err)}); is it running, and is the URL right?`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RpcTransportError('protocol', this.url, `the node at ${this.url} answered ${method} with HTTP ${status} and a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
    }
    return this.#unwrap<T>(method, json, `HTTP ${status}`);
  }

  #unwrap<T>(method: string, json: unknown, what: string): T {
    const msg = json as { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } } | null;
    if (msg !== null && typeof msg === 'object' && msg.error !== undefined && msg.error !== null) {
      const e = msg.error;
      const code = typeof e.code === 'number' ? e.code : -32603;
      const message = typeof e.message === 'string' ? e.message : 'Internal error';
      const data = typeof e.data === 'string' ? e.data : e.data === undefined ? '' : JSON.stringify(e.data);
      throw new RpcClientError(method, code, message, data);
    }
    if (msg === null || typeof msg !== 'object' || !('result' in msg)) {
      throw new RpcTransportError('protocol', this.url, `the node at ${this.url} answered ${method} (${what}) with JSON that is not a JSON-RPC response`);
    }
    return msg.result as T;
  }

  /** Opens the WebSocket once; a failed or closed socket is opened anew on the next call. */
  #socket(): Promise<WebSocket> {
    if (this.#ws !== null) return this.#ws;
    const opening = new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(this.wsUrl, { handshakeTimeout: this.timeoutMs });
      let open = false;
      ws.on('open', () => {
        open = true;
        resolve(ws);
      });
      ws.on('message', (data) => this.#onMessage(String(data)));
      // Always listened to: an unhandled 'error' event would crash the process.
      ws.on('error', (err) => {
        if (!open) reject(new RpcTransportError('unreachable', this.wsUrl, `cannot open a WebSocket to ${this.wsUrl} (${describeCause(err)}); is the node running?`));
      });
      ws.on('close', (code, reason) => {
        if (this.#ws === opening) this.#ws = null;
        this.#onClose(new RpcTransportError('closed', this.wsUrl, `the WebSocket to ${this.wsUrl} closed (${code}${reason.length ? ` ${String(reason)}` : ''})`));
        if (!open) reject(new RpcTransportError('unreachable', this.wsUrl, `the WebSocket to ${this.wsUrl} closed before it opened (${code})`));
      });
    });
    this.#ws = opening;
    opening.catch(() => {
      if (this.#ws === opening) this.#ws = null;
    });
    return opening;
  }

  /** One JSON-RPC call over the WebSocket (subscribe and friends; any other method works too). */
  async callWs<T>(method: string, params: Record<string, unknown> = {}, options: CallOptions = {}): Promise<T> {
    const ws = await this.#socket();
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RpcTransportError('timeout', this.wsUrl, `the node at ${this.wsUrl} did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { method, resolve: resolve as (r: unknown) => void, reject, timer });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }), (err) => {
        if (err === undefined || err === null) return;
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new RpcTransportError('closed', this.wsUrl, `cannot send ${method} on the WebSocket to ${this.wsUrl}: ${err.message}`));
      });
    });
  }

  #onMessage(text: string): void {
    let msg: { id?: unknown; result?: unknown; error?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return; // not JSON: nothing can be matched to it
    }
    if (msg === null || typeof msg !== 'object') return;
    const result = msg.result as Partial<SubscriptionEvent> | undefined;
    // An event: CometBFT sends it with the subscribe call's id (+ "#event"); the query names the subscription.
    if (result !== null && typeof result === 'object' && typeof result.query === 'string' && result.data !== undefined) {
      const sub = this.#subs.get(result.query);
      if (sub === undefined) return;
      const event: SubscriptionEvent = { query: result.query, data: result.data, events: result.events ?? {} };
      for (const l of sub.listeners) {
        try {
          l.onEvent(event);
        } catch {
          // A listener's failure must not stop the others or the socket.
        }
      }
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = this.#pending.get(msg.id);
    if (p === undefined) return;
    this.#pending.delete(msg.id);
    clearTimeout(p.timer);
    try {
      p.resolve(this.#unwrap(p.method, msg, 'WebSocket'));
    } catch (err) {
      p.reject(err as Error);
    }
  }

  #onClose(err: RpcTransportError): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.#pending.delete(id);
    }
    const subs = [...this.#subs.values()];
    this.#subs.clear();
    for (const s of subs) for (const l of s.listeners) l.onError?.(err);
  }

  /**
   * Subscribes to events matching `query` (CometBFT syntax, e.g. "tm.event='Tx' AND transfer.recipient='0A...'")
   * and returns the function that ends this subscription. One wire subscription per query, shared by listeners.
   * `onError` hears that the connection closed (the subscription is then gone; reconnecting is the caller's choice).
   */
  async subscribe(query: string, onEvent: (event: SubscriptionEvent) => void, onError?: (err: Error) => void): Promise<() => Promise<void>> {
    const listener: Listener = { onEvent, onError };
    let sub = this.#subs.get(query);
    if (sub === undefined) {
      const created: Subscription = { listeners: new Set([listener]), ready: Promise.resolve() };
      created.ready = this.callWs<unknown>('subscribe', { query }).then(
        () => undefined,
        (err: Error) => {
          if (this.#subs.get(query) === created) this.#subs.delete(query);
          throw err;
        },
      );
      this.#subs.set(query, created);
      sub = created;
    } else {
      sub.listeners.add(listener);
    }
    try {
      await sub.ready;
    } catch (err) {
      sub.listeners.delete(listener);
      throw err;
    }
    const owned = sub;
    return async () => {
      if (!owned.listeners.delete(listener)) return;
      if (owned.listeners.size > 0 || this.#subs.get(query) !== owned) return;
      this.#subs.delete(query);
      await this.callWs('unsubscribe', { query });
    };
  }

  /** Ends every subscription of this client (the node refuses unsubscribe_all when there is none, so none is sent then). */
  async unsubscribeAll(): Promise<void> {
    const had = this.#subs.size > 0;
    this.#subs.clear();
    if (had && this.#ws !== null) await this.callWs('unsubscribe_all', {});
  }

  /** Closes the WebSocket, if one is open; pending WebSocket calls fail with RpcTransportError('closed'). */
  async close(): Promise<void> {
    const opening = this.#ws;
    if (opening === null) return;
    // Closing on purpose ends the subscriptions without calling their onError.
    this.#subs.clear();
    let ws: WebSocket;
    try {
      ws = await opening;
    } catch {
      return;
    }
    if (ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000, 'client closed');
    });
  }

  // ---- CometBFT methods ----

  health(): Promise<Record<string, never>> {
    return this.call('health');
  }

  status(): Promise<StatusResult> {
    return this.call('status');
  }

  netInfo(): Promise<NetInfoResult> {
    return this.call('net_info');
  }

  genesis(): Promise<{ genesis: GenesisJSON }> {
    return this.call('genesis');
  }

  blockchain(minHeight?: Height, maxHeight?: Height): Promise<{ last_height: string; block_metas: BlockMetaJSON[] }> {
    return this.call('blockchain', { minHeight: heightArg(minHeight), maxHeight: heightArg(maxHeight) });
  }

  block(height?: Height): Promise<BlockResult> {
    return this.call('block', { height: heightArg(height) });
  }

  blockByHash(hash: Uint8Array | string): Promise<BlockResult> {
    return this.call('block_by_hash', { hash: toBase64(bytesOf(hash, 'hash')) });
  }

  blockResults(height?: Height): Promise<BlockResultsResult> {
    return this.call('block_results', { height: heightArg(height) });
  }

  commit(height?: Height): Promise<{ signed_header: { header: HeaderJSON; commit: CommitJSON }; canonical: boolean }> {
    return this.call('commit', { height: heightArg(height) });
  }

  header(height?: Height): Promise<{ header: HeaderJSON }> {
    return this.call('header', { height: heightArg(height) });
  }

  headerByHash(hash: Uint8Array | string): Promise<{ header: HeaderJSON }> {
    return this.call('header_by_hash', { hash: toBase64(bytesOf(hash, 'hash')) });
  }

  validators(height?: Height, page?: PageOptions): Promise<ValidatorsResult> {
    return this.call('validators', { height: heightArg(height), page: page?.page?.toString(), per_page: page?.perPage?.toString() });
  }

  /**
   * Every validator of a height (default: the next one, as `validators`), all pages merged: the first page fixes the
   * height, the others are read at that height so that they belong to one set.
   */
  async allValidators(height?: Height): Promise<ValidatorsResult> {
    const perPage = 100;
    const first = await this.validators(height, { page: 1, perPage });
    const total = parseUint(first.total, 'validators total');
    const validators = [...first.validators];
    for (let page = 2; BigInt(validators.length) < total; page++) {
      const next = await this.validators(BigInt(first.block_height), { page, perPage });
      if (next.validators.length === 0) break;
      validators.push(...next.validators);
    }
    return { block_height: first.block_height, validators, count: String(validators.length), total: first.total };
  }

  consensusParams(height?: Height): Promise<ConsensusParamsResult> {
    return this.call('consensus_params', { height: heightArg(height) });
  }

  consensusState(): Promise<{ round_state: Record<string, unknown> }> {
    return this.call('consensus_state');
  }

  unconfirmedTxs(limit?: number): Promise<UnconfirmedTxsResult> {
    return this.call('unconfirmed_txs', { limit: limit?.toString() });
  }

  numUnconfirmedTxs(): Promise<UnconfirmedTxsResult> {
    return this.call('num_unconfirmed_txs');
  }

  broadcastTxAsync(tx: Uint8Array): Promise<BroadcastTxResult> {
    return this.call('broadcast_tx_async', { tx: toBase64(tx) });
  }

  broadcastTxSync(tx: Uint8Array): Promise<BroadcastTxResult> {
    return this.call('broadcast_tx_sync', { tx: toBase64(tx) });
  }

  /** Waits for the block: the request timeout is at least 30 s (the node's own limit is rpc.timeout_broadcast_tx_commit_ms). */
  broadcastTxCommit(tx: Uint8Array, options: CallOptions = {}): Promise<BroadcastTxCommitResult> {
    return this.call('broadcast_tx_commit', { tx: toBase64(tx) }, { timeoutMs: options.timeoutMs ?? Math.max(this.timeoutMs, COMMIT_TIMEOUT_MS) });
  }

  checkTx(tx: Uint8Array): Promise<CheckTxResultJSON> {
    return this.call('check_tx', { tx: toBase64(tx) });
  }

  tx(hash: Uint8Array | string, prove = false): Promise<TxResultJSON> {
    return this.call('tx', { hash: toBase64(bytesOf(hash, 'hash')), prove });
  }

  txSearch(query: string, options: PageOptions & { prove?: boolean; orderBy?: 'asc' | 'desc' } = {}): Promise<TxSearchResult> {
    return this.call('tx_search', {
      query,
      prove: options.prove,
      page: options.page?.toString(),
      per_page: options.perPage?.toString(),
      order_by: options.orderBy,
    });
  }

  blockSearch(query: string, options: PageOptions & { orderBy?: 'asc' | 'desc' } = {}): Promise<BlockSearchResult> {
    return this.call('block_search', { query, page: options.page?.toString(), per_page: options.perPage?.toString(), order_by: options.orderBy });
  }

  abciInfo(): Promise<AbciInfoResult> {
    return this.call('abci_info');
  }

  /** data: the query's bytes (hex text accepted); sent as hex, as CometBFT expects. */
  abciQuery(path: string, data: Uint8Array | string = new Uint8Array(0), options: { height?: Height; prove?: boolean } = {}): Promise<AbciQueryResult> {
    return this.call('abci_query', { path, data: toHex(bytesOf(data, 'data')), height: heightArg(options.height), prove: options.prove });
  }

  // ---- domain methods ----

  account(address: Uint8Array | string): Promise<AccountResult> {
    return this.call('account', { address: addressText(address) });
  }

  supply(): Promise<SupplyResult> {
    return this.call('supply');
  }

  params(): Promise<AppParamsJSON> {
    return this.call('params');
  }

  /** An agent by address; RpcClientError -32603 "agent X not found" if there is none. */
  agent(address: Uint8Array | string): Promise<AgentJSON> {
    return this.call('agent', { address: addressText(address) });
  }

  agents(options: AgentsOptions = {}): Promise<PageInfo & { agents: AgentJSON[] }> {
    return this.call('agents', { ...pageParams(options), status: options.status, capability: options.capability });
  }

  /** A validator's state record by consensus address; RpcClientError -32603 "validator X not found" if there is none. */
  validator(address: Uint8Array | string): Promise<ValidatorRecordJSON> {
    return this.call('validator', { address: addressText(address) });
  }

  task(id: bigint | number): Promise<TaskJSON> {
    return this.call('task', { id: BigInt(id).toString() });
  }

  tasks(options: PageOptions & { status?: string; submitter?: Uint8Array | string; assignee?: Uint8Array | string } = {}): Promise<PageInfo & { tasks: TaskJSON[] }> {
    return this.call('tasks', {
      ...pageParams(options),
      status: options.status,
      submitter: options.submitter === undefined ? undefined : addressText(options.submitter),
      assignee: options.assignee === undefined ? undefined : addressText(options.assignee),
    });
  }

  committee(taskId: bigint | number): Promise<CommitteeJSON> {
    return this.call('committee', { task_id: BigInt(taskId).toString() });
  }

  reputation(address: Uint8Array | string): Promise<ReputationJSON> {
    return this.call('reputation', { address: addressText(address) });
  }

  duties(address: Uint8Array | string): Promise<DutiesJSON> {
    return this.call('duties', { address: addressText(address) });
  }

  beacon(): Promise<{ height: string; mix: string; history: string }> {
    return this.call('beacon', {});
  }

  /** A proposal with its votes; RpcClientError -32603 "proposal N not found" if there is none. */
  proposal(id: bigint | number): Promise<ProposalJSON & { votes: NonNullable<ProposalJSON['votes']> }> {
    return this.call('proposal', { id: BigInt(id).toString() });
  }

  /** Proposals, newest first (without their votes). */
  proposals(options: PageOptions & { status?: ProposalStatusJSON } = {}): Promise<PageInfo & { proposals: ProposalJSON[] }> {
    return this.call('proposals', { ...pageParams(options), status: options.status });
  }

  upgradePlan(): Promise<UpgradePlanJSON> {
    return this.call('upgrade_plan', {});
  }

  // ---- proven queries ----

  /**
   * The app hash of the state after block `height`: block height+1's header carries it; for the latest height,
   * abci_info's last_block_app_hash (no header carries it yet).
   */
  async appHashAfter(height: bigint): Promise<{ appHash: Uint8Array; source: 'header' | 'abci_info' }> {
    const info = (await this.abciInfo()).response;
    const last = parseUint(info.last_block_height, 'abci_info last_block_height');
    let text: string;
    let source: 'header' | 'abci_info';
    let decode: (s: string) => Uint8Array;
    if (height === last) {
      [text, source, decode] = [info.last_block_app_hash, 'abci_info', fromBase64];
    } else if (height < last) {
      [text, source, decode] = [(await this.header(height + 1n)).header.app_hash, 'header', fromHex];
    } else {
      throw new ProofVerificationError(`the node answered for height ${height}, above its latest height ${last}`);
    }
    try {
      return { appHash: decode(text), source };
    } catch {
      throw new ProofVerificationError(`the app hash for height ${height} from ${source} is malformed: ${JSON.stringify(String(text).slice(0, 80))}`);
    }
  }

  /**
   * abci_query with prove = true, checked: the key is the one (path, data) names, the proof decodes and verifies the
   * value (or the key's absence) against the app hash of the state after the answered height. `height` 0 = latest.
   * `trustedAppHash` replaces the node's word for the app hash (a light client's verified header).
   * Throws AbciQueryError if the node refuses the query, ProofVerificationError if anything does not check out.
   */
  async queryProven(
    path: string,
    data: Uint8Array | string = new Uint8Array(0),
    height: Height = 0n,
    options: { trustedAppHash?: (height: bigint) => Promise<Uint8Array> } = {},
  ): Promise<ProvenQuery> {
    const dataBytes = bytesOf(data, 'data');
    const expectedKey = stateKeyForQuery(path, dataBytes);
    const asked = BigInt(height);
    const r = (await this.abciQuery(path, dataBytes, { height: asked, prove: true })).response;
    if (r.code !== 0) throw new AbciQueryError(r);
    let answered: bigint;
    let key: Uint8Array;
    let value: Uint8Array | null;
    let proof: SmtProof;
    try {
      answered = parseUint(r.height, 'response.height');
      key = fromBase64(r.key ?? '');
      value = r.value === null ? null : fromBase64(r.value);
      const ops = r.proofOps?.ops ?? [];
      if (ops.length !== 1 || ops[0].type !== SMT_PROOF_TYPE) throw new Error(`expected one proof op of type ${SMT_PROOF_TYPE}, got ${JSON.stringify(ops.map((o) => o.type))}`);
      if (!equalBytes(fromBase64(ops[0].key), expectedKey)) throw new Error('the proof op is about another key');
      proof = decodeProof(fromBase64(ops[0].data));
    } catch (err) {
      throw new ProofVerificationError(`abci_query ${path} returned a malformed proven answer: ${(err as Error).message}`);
    }
    if (!equalBytes(key, expectedKey)) throw new ProofVerificationError(`abci_query ${path} answered for key ${toHex(key)}, not ${toHex(expectedKey)}`);
    if (asked !== 0n && answered !== asked) throw new ProofVerificationError(`abci_query ${path} answered for height ${answered}, not the height ${asked} asked`);
    let appHash: Uint8Array;
    let appHashSource: ProvenQuery['appHashSource'];
    if (options.trustedAppHash !== undefined) {
      appHash = await options.trustedAppHash(answered);
      appHashSource = 'trusted';
    } else {
      ({ appHash, source: appHashSource } = await this.appHashAfter(answered));
    }
    if (!verifyProof(appHash, expectedKey, value, proof)) {
      throw new ProofVerificationError(
        `the proof for ${path} key ${toHex(expectedKey)} at height ${answered} does not verify against app hash ${toHex(appHash)} (from ${appHashSource})`,
      );
    }
    return { path, key: expectedKey, value, height: answered, appHash, appHashSource, proof };
  }
}

function addressText(a: Uint8Array | string): string {
  return typeof a === 'string' ? a : toHex(a);
}

function pageParams(p: PageOptions): Record<string, string | undefined> {
  return { page: p.page?.toString(), per_page: p.perPage?.toString() };
}
