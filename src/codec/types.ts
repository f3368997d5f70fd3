// Typed wire objects and their codecs, each with its validateBasic. The TypeScript shapes mirror
// proto/agentcluster.proto in camelCase; bytes are Uint8Array, 64-bit integers bigint, times bigint ns.
import { AppError } from '../errors.ts';
import { messageCodec } from './codec.ts';
import { ADDRESS_LENGTH, PUBKEY_LENGTH, SIGNATURE_LENGTH } from '../crypto/keys.ts';
import { HASH_LENGTH, sha256 } from '../crypto/hash.ts';
import { BLS_PUBKEY_LENGTH, BLS_SIGNATURE_LENGTH } from '../crypto/bls.ts';
import { equalBytes } from '../crypto/bytes.ts';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

function invalid(typeName: string, field: string, what: string): never {
  throw new AppError('INVALID_FIELD', `${typeName}.${field} ${what}`, { field });
}

function requireLength(typeName: string, field: string, bytes: Uint8Array, length: number, optional = false): void {
  if (optional && bytes.length === 0) return;
  if (bytes.length !== length) invalid(typeName, field, `must be ${length} bytes, got ${bytes.length}`);
}

// ---------------- transactions ----------------

export interface Tx {
  body: Uint8Array;
  pubKey: Uint8Array;
  signature: Uint8Array;
}

export interface MsgSend {
  to: Uint8Array;
  amount: bigint;
}

export interface Capabilities {
  cpuCores: number;
  gpuMemoryMb: bigint;
  llmTokensPerSecond: bigint;
  models: string[];
  skills: string[];
}

export interface Attestation {
  kind: string;
  report: Uint8Array;
}

export interface MsgRegisterAgent {
  capabilities: Capabilities;
  attestation: Attestation;
  bond: bigint;
}

export interface MsgRenewAttestation {
  attestation: Attestation;
}

export interface MsgStake {
  amount: bigint;
  consensusPubKey: Uint8Array;
  moniker: string;
  /** 48-byte BLS12-381 G1 key for beacon reveals: required on a validator's first stake, then empty or the same. */
  blsPubKey: Uint8Array;
}

export interface MsgUnstake {
  amount: bigint;
}

/** Content by reference (sha256 + URI) or inline (then hash, if given, is sha256(inline)). */
export interface Payload {
  hash: Uint8Array;
  uri: string;
  inline: Uint8Array;
}

export interface TaskRequirements {
  minCpuCores: number;
  minGpuMemoryMb: bigint;
  minLlmTokensPerSecond: bigint;
  models: string[];
  skills: string[];
}

export interface MsgSubmitTask {
  requirements: TaskRequirements;
  bounty: bigint;
  /** Block time (ns) by which the result must be in. */
  deadline: bigint;
  input: Payload;
}

export interface TaskRef {
  taskId: bigint;
}

export interface MsgSubmitResult {
  taskId: bigint;
  output: Payload;
}

export interface MsgCommitReview {
  taskId: bigint;
  round: number;
  commitment: Uint8Array;
}

export interface MsgRevealReview {
  taskId: bigint;
  round: number;
  approve: boolean;
  salt: Uint8Array;
}

export interface MsgEndorse {
  subject: Uint8Array;
}

/** Governance (src/state/governance/module.ts): a proposal's parameter change, in the genesis JSON form. */
export interface ParamChange {
  /** Dotted path under app_state.params, e.g. "staking.epoch_blocks". */
  path: string;
  /** The new value as JSON text ("\"50\"" for an integer); "null" removes an open-map entry. */
  value: string;
}

export interface TreasurySpend {
  recipient: Uint8Array;
  amount: bigint;
}

export const VALIDATOR_ACTIONS = ['jail', 'remove'] as const;
export type ValidatorActionKind = (typeof VALIDATOR_ACTIONS)[number];

export interface ValidatorAction {
  validator: Uint8Array;
  action: string;
  jailSeconds: bigint;
}

export interface SlashAppeal {
  escrowId: bigint;
}

export interface UpgradePlan {
  name: string;
  height: bigint;
  info: string;
}

/** At most one action is set (the others hold their defaults); none: a text proposal. */
export interface MsgSubmitProposal {
  title: string;
  summary: string;
  deposit: bigint;
  paramChanges: ParamChange[];
  treasurySpend: TreasurySpend;
  validatorAction: ValidatorAction;
  slashAppeal: SlashAppeal;
  upgrade: UpgradePlan;
}

export const VOTE_OPTIONS = ['yes', 'no', 'abstain', 'veto'] as const;
export type VoteOption = (typeof VOTE_OPTIONS)[number];

export interface MsgVote {
  proposalId: bigint;
  option: string;
}

export const PROPOSAL_KINDS = ['param_change', 'treasury_spend', 'validator_action', 'slash_appeal', 'software_upgrade', 'text'] as const;
export type ProposalKind = (typeof PROPOSAL_KINDS)[number];

/** The kinds whose action field a proposal sets (validateBasic lets at most one through). */
function proposalKindsSet(m: MsgSubmitProposal): ProposalKind[] {
  const kinds: ProposalKind[] = [];
  if (m.paramChanges.length > 0) kinds.push('param_change');
  if (m.treasurySpend.recipient.length > 0 || m.treasurySpend.amount > 0n) kinds.push('treasury_spend');
  if (m.validatorAction.validator.length > 0 || m.validatorAction.action !== '' || m.validatorAction.jailSeconds > 0n) kinds.push('validator_action');
  if (m.slashAppeal.escrowId > 0n) kinds.push('slash_appeal');
  if (m.upgrade.name !== '' || m.upgrade.height > 0n || m.upgrade.info !== '') kinds.push('software_upgrade');
  return kinds;
}

/** A text proposal: every action field at its default; spread an action (and the deposit) over it. */
export function textProposal(title: string, summary = ''): MsgSubmitProposal {
  return {
    title,
    summary,
    deposit: 0n,
    paramChanges: [],
    treasurySpend: { recipient: new Uint8Array(0), amount: 0n },
    validatorAction: { validator: new Uint8Array(0), action: '', jailSeconds: 0n },
    slashAppeal: { escrowId: 0n },
    upgrade: { name: '', height: 0n, info: '' },
  };
}

/** What a (valid) proposal does. */
export function proposalKind(m: MsgSubmitProposal): ProposalKind {
  return proposalKindsSet(m)[0] ?? 'text';
}

/** A message with no fields (its signer says everything). */
export type EmptyMsg = Record<string, never>;

/** Every message kind, by its oneof case name in TxBody. Later modules add entries here and in the .proto. */
export interface MsgMap {
  send: MsgSend;
  register_agent: MsgRegisterAgent;
  deregister_agent: EmptyMsg;
  renew_attestation: MsgRenewAttestation;
  stake: MsgStake;
  unstake: MsgUnstake;
  unjail: EmptyMsg;
  submit_task: MsgSubmitTask;
  cancel_task: TaskRef;
  accept_task: TaskRef;
  submit_result: MsgSubmitResult;
  commit_review: MsgCommitReview;
  reveal_review: MsgRevealReview;
  appeal: TaskRef;
  request_benchmark: EmptyMsg;
  endorse: MsgEndorse;
  revoke_endorsement: MsgEndorse;
  submit_proposal: MsgSubmitProposal;
  vote: MsgVote;
}
export type MsgType = keyof MsgMap;
export type Msg = { [K in MsgType]: { type: K; value: MsgMap[K] } }[MsgType];
export const MSG_TYPES: readonly MsgType[] = [
  'send', 'register_agent', 'deregister_agent', 'renew_attestation', 'stake', 'unstake', 'unjail',
  'submit_task', 'cancel_task', 'accept_task', 'submit_result', 'commit_review', 'reveal_review', 'appeal', 'request_benchmark',
  'endorse', 'revoke_endorsement', 'submit_proposal', 'vote',
];

export interface TxBody {
  chainId: string;
  nonce: bigint;
  gasLimit: bigint;
  gasPrice: bigint;
  memo: string;
  msg: Msg;
}

/** A message type name as protobufjs spells its oneof case: register_agent -> registerAgent. */
function wireCase(type: MsgType): string {
  return type.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Structural limits that need no state; the executor checks the parameterised ones (size, memo, fees). */
const MAX_CHAIN_ID = 50;

export const TxCodec = messageCodec<Tx>('Tx', {
  errorCode: 'TX_DECODE',
  validate(tx) {
    if (tx.body.length === 0) throw new AppError('TX_DECODE', 'Tx.body is empty; it must hold an encoded TxBody');
    if (tx.pubKey.length !== PUBKEY_LENGTH) throw new AppError('BAD_SIGNATURE', `Tx.pub_key must be a ${PUBKEY_LENGTH}-byte ed25519 key`);
    if (tx.signature.length !== SIGNATURE_LENGTH) throw new AppError('BAD_SIGNATURE', `Tx.signature must be ${SIGNATURE_LENGTH} bytes`);
  },
});

export const TxBodyCodec = messageCodec<TxBody>('TxBody', {
  errorCode: 'TX_DECODE',
  // The oneof's cases are camelCase on the protobufjs side (registerAgent), snake_case as message type names.
  toWire(body) {
    const { msg, ...rest } = body;
    return { ...rest, [wireCase(msg.type)]: msg.value };
  },
  fromWire(wire) {
    const wireType = wire.msg as string | undefined;
    const type = wireType === undefined ? undefined : MSG_TYPES.find((t) => wireCase(t) === wireType);
    if (type === undefined) {
      throw new AppError('UNKNOWN_MESSAGE', `TxBody carries no known message; use one of: ${MSG_TYPES.join(', ')}`);
    }
    const { msg: _case, ...rest } = wire;
    for (const t of MSG_TYPES) delete rest[wireCase(t)];
    return { ...(rest as Omit<TxBody, 'msg'>), msg: { type, value: wire[wireType!] } as Msg };
  },
  validate(body) {
    if (body.chainId.length === 0 || body.chainId.length > MAX_CHAIN_ID) invalid('TxBody', 'chain_id', `must be 1-${MAX_CHAIN_ID} characters`);
    if (body.gasLimit === 0n) invalid('TxBody', 'gas_limit', 'must be positive');
    validateMsg(body.msg);
  },
});

function validateMsg(msg: Msg): void {
  switch (msg.type) {
    case 'send':
      requireLength('MsgSend', 'to', msg.value.to, ADDRESS_LENGTH);
      if (msg.value.amount === 0n) throw new AppError('INVALID_AMOUNT', 'MsgSend.amount must be positive (in uacc)');
      return;
    case 'register_agent':
      validateCapabilities(msg.value.capabilities);
      validateAttestation('MsgRegisterAgent', msg.value.attestation);
      if (msg.value.bond === 0n) throw new AppError('INVALID_AMOUNT', 'MsgRegisterAgent.bond must be positive (in uacc; at least the agents.bond parameter)');
      return;
    case 'renew_attestation':
      validateAttestation('MsgRenewAttestation', msg.value.attestation);
      return;
    case 'stake':
      if (msg.value.amount === 0n) throw new AppError('INVALID_AMOUNT', 'MsgStake.amount must be positive (in uacc)');
      requireLength('MsgStake', 'consensus_pub_key', msg.value.consensusPubKey, PUBKEY_LENGTH, true);
      // The length only: whether the bytes are a G1 point is checked when the message runs (a decompression, ~1 ms).
      requireLength('MsgStake', 'bls_pub_key', msg.value.blsPubKey, BLS_PUBKEY_LENGTH, true);
      if (msg.value.moniker.length > MAX_MONIKER || !PRINTABLE.test(msg.value.moniker)) {
        invalid('MsgStake', 'moniker', `must be at most ${MAX_MONIKER} printable ASCII characters`);
      }
      return;
    case 'unstake':
      if (msg.value.amount === 0n) throw new AppError('INVALID_AMOUNT', 'MsgUnstake.amount must be positive (in uacc)');
      return;
    case 'deregister_agent':
    case 'unjail':
    case 'request_benchmark':
      return;
    case 'submit_task':
      validateRequirements(msg.value.requirements);
      if (msg.value.bounty === 0n) throw new AppError('INVALID_AMOUNT', 'MsgSubmitTask.bounty must be positive (in uacc; at least the tasks.min_bounty parameter)');
      if (msg.value.deadline <= 0n) invalid('MsgSubmitTask', 'deadline', 'must be set (the block time by which the result is due)');
      validatePayload('MsgSubmitTask', 'input', msg.value.input);
      return;
    case 'cancel_task':
    case 'accept_task':
    case 'appeal':
      requireTaskId(msg.type, msg.value.taskId);
      return;
    case 'submit_result':
      requireTaskId(msg.type, msg.value.taskId);
      validatePayload('MsgSubmitResult', 'output', msg.value.output);
      return;
    case 'commit_review':
      requireTaskId(msg.type, msg.value.taskId);
      requireRound('MsgCommitReview', msg.value.round);
      requireLength('MsgCommitReview', 'commitment', msg.value.commitment, HASH_LENGTH);
      return;
    case 'reveal_review':
      requireTaskId(msg.type, msg.value.taskId);
      requireRound('MsgRevealReview', msg.value.round);
      requireLength('MsgRevealReview', 'salt', msg.value.salt, REVIEW_SALT_LENGTH);
      return;
    case 'endorse':
    case 'revoke_endorsement':
      requireLength(msg.type === 'endorse' ? 'MsgEndorse' : 'MsgRevokeEndorsement', 'subject', msg.value.subject, ADDRESS_LENGTH);
      return;
    case 'submit_proposal':
      validateProposal(msg.value);
      return;
    case 'vote':
      if (msg.value.proposalId === 0n) invalid('MsgVote', 'proposal_id', 'must be set (proposal ids start at 1)');
      if (!(VOTE_OPTIONS as readonly string[]).includes(msg.value.option)) invalid('MsgVote', 'option', `must be one of ${VOTE_OPTIONS.join(', ')}; got ${JSON.stringify(msg.value.option.slice(0, 20))}`);
      return;
    default:
      throw new AppError('UNKNOWN_MESSAGE', `unknown message type ${(msg as { type: string }).type}`);
  }
}

const MAX_MONIKER = 64;
const PRINTABLE = /^[\x20-\x7e]*$/;
/** Tag lists are bounded structurally; the agents.max_tags parameter may lower the count further. */
export const MAX_TAGS = 32;
const TAG = /^[a-z0-9][a-z0-9._:/-]{0,63}$/;
export const ATTESTATION_KIND = /^[a-z][a-z0-9-]{0,31}$/;
const MAX_ATTESTATION_REPORT = 16_384;

/** Tasks: inline payloads are bounded structurally; tasks.max_inline_bytes may lower the bound. */
export const MAX_INLINE_PAYLOAD = 16_384;
const MAX_URI = 512;
export const REVIEW_SALT_LENGTH = 32;
/** Review rounds: 0 is the first committee, 1 the appeal's re-review. */
export const MAX_REVIEW_ROUND = 1;

/** Governance: structural limits of a proposal (the module checks the rest against state and params). */
export const MAX_PROPOSAL_TITLE = 140;
export const MAX_PROPOSAL_SUMMARY = 4096;
export const MAX_PARAM_CHANGES = 32;
const MAX_PARAM_PATH = 128;
const MAX_PARAM_VALUE = 4096;
export const PARAM_PATH = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;
export const UPGRADE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_UPGRADE_INFO = 1024;

function validateProposal(m: MsgSubmitProposal): void {
  const T = 'MsgSubmitProposal';
  if (m.title.trim().length === 0 || m.title.length > MAX_PROPOSAL_TITLE || !PRINTABLE_UNICODE.test(m.title)) {
    invalid(T, 'title', `must be 1-${MAX_PROPOSAL_TITLE} characters without control characters`);
  }
  if (m.summary.length > MAX_PROPOSAL_SUMMARY || !TEXT.test(m.summary)) invalid(T, 'summary', `must be at most ${MAX_PROPOSAL_SUMMARY} characters without control characters other than newlines and tabs`);
  if (m.deposit === 0n) throw new AppError('INVALID_AMOUNT', `${T}.deposit must be positive (in uacc; at least governance.min_deposit_bps of the circulating supply)`);
  const kinds = proposalKindsSet(m);
  if (kinds.length > 1) invalid(T, kinds.join(', '), `a proposal does one thing: it sets ${kinds.join(' and ')}; submit separate proposals`);
  switch (kinds[0]) {
    case 'param_change': {
      if (m.paramChanges.length > MAX_PARAM_CHANGES) invalid(T, 'param_changes', `must hold at most ${MAX_PARAM_CHANGES} changes`);
      const seen = new Set<string>();
      m.paramChanges.forEach((c, i) => {
        if (c.path.length > MAX_PARAM_PATH || !PARAM_PATH.test(c.path)) {
          invalid(T, `param_changes[${i}].path`, `must name a parameter as dotted lower-case words, e.g. "staking.epoch_blocks"; got ${JSON.stringify(c.path.slice(0, 70))}`);
        }
        if (seen.has(c.path)) invalid(T, `param_changes[${i}].path`, `sets ${c.path} twice`);
        seen.add(c.path);
        if (c.value.length === 0 || c.value.length > MAX_PARAM_VALUE) invalid(T, `param_changes[${i}].value`, `must be 1-${MAX_PARAM_VALUE} characters of JSON`);
      });
      return;
    }
    case 'treasury_spend':
      requireLength(T, 'treasury_spend.recipient', m.treasurySpend.recipient, ADDRESS_LENGTH);
      if (m.treasurySpend.amount === 0n) throw new AppError('INVALID_AMOUNT', `${T}.treasury_spend.amount must be positive (in uacc)`);
      return;
    case 'validator_action': {
      const a = m.validatorAction;
      requireLength(T, 'validator_action.validator', a.validator, ADDRESS_LENGTH);
      if (a.action === 'jail' && a.jailSeconds === 0n) invalid(T, 'validator_action.jail_seconds', 'must be positive for a jail (seconds; "remove" takes a validator out for good)');
      else if (a.action === 'remove' && a.jailSeconds !== 0n) invalid(T, 'validator_action.jail_seconds', 'must be 0 for "remove" (the removal is for good)');
      else if (!(VALIDATOR_ACTIONS as readonly string[]).includes(a.action)) invalid(T, 'validator_action.action', `must be "jail" or "remove"; got ${JSON.stringify(a.action.slice(0, 20))}`);
      return;
    }
    case 'software_upgrade':
      if (!UPGRADE_NAME.test(m.upgrade.name)) invalid(T, 'upgrade.name', 'must be 1-64 characters of letters, digits, ".", "_" and "-", starting with a letter or digit');
      if (m.upgrade.height === 0n) invalid(T, 'upgrade.height', 'must be set (the height from which nodes run the new release)');
      if (m.upgrade.info.length > MAX_UPGRADE_INFO || !TEXT.test(m.upgrade.info)) invalid(T, 'upgrade.info', `must be at most ${MAX_UPGRADE_INFO} characters without control characters other than newlines and tabs`);
      return;
    default:
      return; // slash_appeal (escrow_id > 0 is what set it) and text
  }
}

/** Titles: any character but controls; summaries and upgrade info may also hold newlines and tabs. */
const PRINTABLE_UNICODE = /^[^\p{Cc}]*$/u;
const TEXT = /^(?:[^\p{Cc}]|[\n\t])*$/u;

function requireTaskId(type: MsgType, id: bigint): void {
  if (id === 0n) throw new AppError('INVALID_FIELD', `${type}.task_id must be set (task ids start at 1)`, { field: 'task_id' });
}

function requireRound(typeName: string, round: number): void {
  if (round > MAX_REVIEW_ROUND) invalid(typeName, 'round', `must be 0 (the first review) or 1 (the appeal's re-review), got ${round}`);
}

function validateTags(typeName: string, field: string, tags: string[]): void {
  if (tags.length > MAX_TAGS) invalid(typeName, field, `must hold at most ${MAX_TAGS} tags`);
  const seen = new Set<string>();
  for (const t of tags) {
    if (!TAG.test(t)) invalid(typeName, field, `tag ${JSON.stringify(t.slice(0, 70))} must be 1-64 characters of a-z, 0-9, ".", "_", ":", "/", "-", starting with a letter or digit`);
    if (seen.has(t)) invalid(typeName, field, `lists ${JSON.stringify(t)} twice`);
    seen.add(t);
  }
}

function validateRequirements(r: TaskRequirements): void {
  validateTags('TaskRequirements', 'models', r.models);
  validateTags('TaskRequirements', 'skills', r.skills);
}

function validatePayload(typeName: string, field: string, p: Payload): void {
  if (p.inline.length === 0 && p.hash.length === 0) invalid(typeName, field, 'must carry inline content or a 32-byte sha256 hash of the content');
  requireLength(typeName, `${field}.hash`, p.hash, HASH_LENGTH, true);
  if (p.inline.length > MAX_INLINE_PAYLOAD) invalid(typeName, `${field}.inline`, `must be at most ${MAX_INLINE_PAYLOAD} bytes; put larger content behind a hash and a URI`);
  if (p.uri.length > MAX_URI || !PRINTABLE.test(p.uri)) invalid(typeName, `${field}.uri`, `must be at most ${MAX_URI} printable ASCII characters`);
  if (p.inline.length > 0 && p.hash.length > 0 && !equalBytes(p.hash, sha256(p.inline))) {
    invalid(typeName, `${field}.hash`, 'must be sha256 of the inline content (or empty: the chain computes it)');
  }
}

function validateCapabilities(c: Capabilities): void {
  validateTags('Capabilities', 'models', c.models);
  validateTags('Capabilities', 'skills', c.skills);
}

function validateAttestation(typeName: string, a: Attestation): void {
  if (!ATTESTATION_KIND.test(a.kind)) invalid(typeName, 'attestation.kind', 'must name a verifier: 1-32 characters of a-z, 0-9 and "-", starting with a letter (e.g. "authority")');
  if (a.report.length === 0) invalid(typeName, 'attestation.report', 'must not be empty');
  if (a.report.length > MAX_ATTESTATION_REPORT) invalid(typeName, 'attestation.report', `must be at most ${MAX_ATTESTATION_REPORT} bytes`);
}

// ---------------- blocks ----------------

export interface PartSetHeader {
  total: number;
  hash: Uint8Array;
}

export interface BlockID {
  hash: Uint8Array;
  partSetHeader: PartSetHeader;
}

export interface Header {
  chainId: string;
  height: bigint;
  time: bigint;
  lastBlockId: BlockID;
  lastCommitHash: Uint8Array;
  dataHash: Uint8Array;
  validatorsHash: Uint8Array;
  nextValidatorsHash: Uint8Array;
  consensusHash: Uint8Array;
  appHash: Uint8Array;
  lastResultsHash: Uint8Array;
  evidenceHash: Uint8Array;
  proposerAddress: Uint8Array;
}

export const BlockIdFlag = { ABSENT: 1, COMMIT: 2, NIL: 3 } as const;

export interface CommitSig {
  blockIdFlag: number;
  validatorAddress: Uint8Array;
  timestamp: bigint;
  signature: Uint8Array;
}

export interface Commit {
  height: bigint;
  round: number;
  blockId: BlockID;
  signatures: CommitSig[];
}

export const VoteType = { PREVOTE: 1, PRECOMMIT: 2, PROPOSAL: 32 } as const;

export interface Vote {
  type: number;
  height: bigint;
  round: number;
  blockId: BlockID;
  timestamp: bigint;
  validatorAddress: Uint8Array;
  validatorIndex: number;
  signature: Uint8Array;
}

export interface Proposal {
  type: number;
  height: bigint;
  round: number;
  polRound: number;
  blockId: BlockID;
  timestamp: bigint;
  signature: Uint8Array;
}

export interface DuplicateVoteEvidence {
  voteA: Vote;
  voteB: Vote;
  totalVotingPower: bigint;
  validatorPower: bigint;
  timestamp: bigint;
}

export type Evidence = { type: 'duplicate_vote_evidence'; value: DuplicateVoteEvidence };

export interface Block {
  header: Header;
  data: { txs: Uint8Array[] };
  evidence: Evidence[];
  lastCommit: Commit;
  /** The proposer's BLS signature over (chain id, height): its beacon input (src/state/beacon.ts). */
  randaoReveal: Uint8Array;
}

export const EMPTY_BLOCK_ID: BlockID = { hash: new Uint8Array(0), partSetHeader: { total: 0, hash: new Uint8Array(0) } };

function validateBlockId(typeName: string, field: string, id: BlockID, allowEmpty: boolean): void {
  if (id.hash.length === 0) {
    if (!allowEmpty) invalid(typeName, field, 'must not be empty');
    if (id.partSetHeader.total !== 0 || id.partSetHeader.hash.length !== 0) invalid(typeName, field, 'is empty but has a part set header');
    return;
  }
  requireLength(typeName, `${field}.hash`, id.hash, HASH_LENGTH);
  requireLength(typeName, `${field}.part_set_header.hash`, id.partSetHeader.hash, HASH_LENGTH);
  if (id.partSetHeader.total < 1) invalid(typeName, `${field}.part_set_header.total`, 'must be at least 1');
}

export function validateHeader(h: Header): void {
  if (h.chainId.length === 0 || h.chainId.length > MAX_CHAIN_ID) invalid('Header', 'chain_id', `must be 1-${MAX_CHAIN_ID} characters`);
  if (h.height < 1n) invalid('Header', 'height', 'must be at least 1');
  validateBlockId('Header', 'last_block_id', h.lastBlockId, true);
  for (const [field, value] of [
    ['last_commit_hash', h.lastCommitHash],
    ['data_hash', h.dataHash],
    ['validators_hash', h.validatorsHash],
    ['next_validators_hash', h.nextValidatorsHash],
    ['consensus_hash', h.consensusHash],
    ['app_hash', h.appHash],
    ['last_results_hash', h.lastResultsHash],
    ['evidence_hash', h.evidenceHash],
  ] as const) {
    requireLength('Header', field, value, HASH_LENGTH);
  }
  requireLength('Header', 'proposer_address', h.proposerAddress, ADDRESS_LENGTH);
}

export function validateVote(v: Vote): void {
  if (v.type !== VoteType.PREVOTE && v.type !== VoteType.PRECOMMIT) invalid('Vote', 'type', 'must be 1 (prevote) or 2 (precommit)');
  if (v.height < 1n) invalid('Vote', 'height', 'must be at least 1');
  validateBlockId('Vote', 'block_id', v.blockId, true);
  requireLength('Vote', 'validator_address', v.validatorAddress, ADDRESS_LENGTH);
  requireLength('Vote', 'signature', v.signature, SIGNATURE_LENGTH);
}

export function validateCommit(c: Commit): void {
  if (c.height < 1n) invalid('Commit', 'height', 'must be at least 1');
  validateBlockId('Commit', 'block_id', c.blockId, false);
  if (c.signatures.length === 0) invalid('Commit', 'signatures', 'must not be empty');
  c.signatures.forEach((s, i) => {
    const f = `signatures[${i}]`;
    if (s.blockIdFlag === BlockIdFlag.ABSENT) {
      if (s.validatorAddress.length !== 0 || s.signature.length !== 0) invalid('Commit', f, 'is absent but carries an address or signature');
      return;
    }
    if (s.blockIdFlag !== BlockIdFlag.COMMIT && s.blockIdFlag !== BlockIdFlag.NIL) invalid('Commit', `${f}.block_id_flag`, 'must be 1, 2 or 3');
    requireLength('Commit', `${f}.validator_address`, s.validatorAddress, ADDRESS_LENGTH);
    requireLength('Commit', `${f}.signature`, s.signature, SIGNATURE_LENGTH);
  });
}

export function validateEvidence(e: Evidence): void {
  const { voteA, voteB } = e.value;
  validateVote(voteA);
  validateVote(voteB);
  if (voteA.height !== voteB.height || voteA.round !== voteB.round || voteA.type !== voteB.type) {
    invalid('DuplicateVoteEvidence', 'votes', 'must share height, round and type');
  }
  if (Buffer.compare(voteA.validatorAddress, voteB.validatorAddress) !== 0) invalid('DuplicateVoteEvidence', 'votes', 'must come from one validator');
  if (Buffer.compare(voteA.blockId.hash, voteB.blockId.hash) === 0) invalid('DuplicateVoteEvidence', 'votes', 'must be for different blocks');
}

export const VoteCodec = messageCodec<Vote>('Vote', { validate: validateVote });

export const ProposalCodec = messageCodec<Proposal>('Proposal', {
  validate(p) {
    if (p.type !== VoteType.PROPOSAL) invalid('Proposal', 'type', 'must be 32');
    if (p.height < 1n) invalid('Proposal', 'height', 'must be at least 1');
    if (p.polRound < -1 || p.polRound >= p.round) invalid('Proposal', 'pol_round', 'must be -1 or lower than round');
    validateBlockId('Proposal', 'block_id', p.blockId, false);
    requireLength('Proposal', 'signature', p.signature, SIGNATURE_LENGTH);
  },
});

export const CommitCodec = messageCodec<Commit>('Commit', { validate: validateCommit });

function evidenceFromWire(w: Record<string, unknown>): Evidence {
  if (w.sum !== 'duplicate_vote_evidence' && w.sum !== 'duplicateVoteEvidence') {
    throw new AppError('INVALID_FIELD', 'Evidence carries no known kind; only duplicate_vote_evidence exists');
  }
  return { type: 'duplicate_vote_evidence', value: w.duplicateVoteEvidence as DuplicateVoteEvidence };
}

const evidenceToWire = (e: Evidence): Record<string, unknown> => ({ duplicateVoteEvidence: e.value });

export const EvidenceCodec = messageCodec<Evidence>('Evidence', {
  toWire: evidenceToWire,
  fromWire: evidenceFromWire,
  validate: validateEvidence,
});

export const HeaderCodec = messageCodec<Header>('Header', { validate: validateHeader });

export const BlockCodec = messageCodec<Block>('Block', {
  toWire: (b) => ({ ...b, evidence: b.evidence.map(evidenceToWire) }),
  fromWire: (w) => ({ ...(w as unknown as Block), evidence: (w.evidence as Record<string, unknown>[]).map(evidenceFromWire) }),
  validate(b) {
    validateHeader(b.header);
    b.evidence.forEach(validateEvidence);
    // The first block has no last commit; every later one must carry the commit of its parent.
    if (b.header.height > 1n || b.lastCommit.signatures.length > 0) validateCommit(b.lastCommit);
    // Its validity (a BLS signature by the proposer) needs state: consensus checks it (src/consensus/block.ts).
    requireLength('Block', 'randao_reveal', b.randaoReveal, BLS_SIGNATURE_LENGTH);
  },
});

export function emptyCommit(): Commit {
  return { height: 0n, round: 0, blockId: EMPTY_BLOCK_ID, signatures: [] };
}

export interface SimpleValidator {
  pubKey: Uint8Array;
  votingPower: bigint;
}

export const SimpleValidatorCodec = messageCodec<SimpleValidator>('SimpleValidator');

// ---------------- state records ----------------

export interface Account {
  balance: bigint;
  nonce: bigint;
}

export interface Vesting {
  total: bigint;
  released: bigint;
  startNs: bigint;
  cliffNs: bigint;
  endNs: bigint;
}

export interface Validator {
  /** Consensus address. */
  address: Uint8Array;
  /** Consensus key. */
  pubKey: Uint8Array;
  stake: bigint;
  /** Voting power handed to consensus; 0 while out of the set. */
  power: bigint;
  name: string;
  /** The agent that staked. */
  operator: Uint8Array;
  /** Block time until which the validator is jailed; 0 when not jailed. */
  jailedUntilNs: bigint;
  tombstoned: boolean;
  /** Removed by a governance vote: out of the set for good (not tombstoned, so evidence still slashes it). */
  removed: boolean;
  /** 48-byte BLS12-381 G1 key: the validator's beacon reveals verify under it. Set once, never changed. */
  blsPubKey: Uint8Array;
}

export type AgentStatus = 'active' | 'unbonding';

export interface Agent {
  address: Uint8Array;
  pubKey: Uint8Array;
  capabilities: Capabilities;
  capabilitiesVerified: boolean;
  capabilitiesVerifiedNs: bigint;
  attestationKind: string;
  attestationExpiresNs: bigint;
  measurement: Uint8Array;
  bond: bigint;
  status: AgentStatus;
  registeredNs: bigint;
  registeredHeight: bigint;
  /** Consensus address of the agent's validator; empty if it never staked. */
  validator: Uint8Array;
}

export interface SigningInfo {
  startHeight: bigint;
  counted: bigint;
  missed: bigint;
  missedBits: Uint8Array;
}

export type UnbondingKind = 'stake' | 'bond';

export interface Unbonding {
  owner: Uint8Array;
  kind: UnbondingKind;
  amount: bigint;
  createdHeight: bigint;
  completesNs: bigint;
}

export interface SlashEscrow {
  agent: Uint8Array;
  kind: string;
  amount: bigint;
  height: bigint;
  burnsAtNs: bigint;
}

export interface EmissionPool {
  initial: bigint;
  released: bigint;
}

export interface SupplyInfo {
  total: bigint;
  burned: bigint;
  /** Genesis time: the emission schedule counts from it. */
  emissionStartNs: bigint;
  /** The next id of an unbonding entry or a slash escrow. */
  nextId: bigint;
}

export interface AttestationStatement {
  chainId: string;
  agentPubKey: Uint8Array;
  issuedNs: bigint;
  expiresNs: bigint;
}

export interface AuthorityReport {
  statement: Uint8Array;
  authorityPubKey: Uint8Array;
  signature: Uint8Array;
}

export interface EventAttribute {
  key: string;
  value: string;
  index: boolean;
}

export interface Event {
  type: string;
  attributes: EventAttribute[];
}

export interface TxResult {
  code: number;
  codespace: string;
  log: string;
  gasWanted: bigint;
  gasUsed: bigint;
  events: Event[];
}

// State records are written only by this node: decoding them skips the canonical check (malformed bytes still fail,
// so a corrupt store surfaces as an error rather than a wrong value).
export const AccountCodec = messageCodec<Account>('Account', { trusted: true });
export const VestingCodec = messageCodec<Vesting>('Vesting', { trusted: true });
export const ValidatorCodec = messageCodec<Validator>('Validator', { trusted: true });
export const SupplyInfoCodec = messageCodec<SupplyInfo>('SupplyInfo', { trusted: true });
export const AgentCodec = messageCodec<Agent>('Agent', { trusted: true });
export const SigningInfoCodec = messageCodec<SigningInfo>('SigningInfo', { trusted: true });
export const UnbondingCodec = messageCodec<Unbonding>('Unbonding', { trusted: true });
export const SlashEscrowCodec = messageCodec<SlashEscrow>('SlashEscrow', { trusted: true });
export const EmissionPoolCodec = messageCodec<EmissionPool>('EmissionPool', { trusted: true });
// Attestation reports come from users: decoded strictly.
export const AttestationStatementCodec = messageCodec<AttestationStatement>('AttestationStatement');
export const AuthorityReportCodec = messageCodec<AuthorityReport>('AuthorityReport');
export const CapabilitiesCodec = messageCodec<Capabilities>('Capabilities');
export const TxResultCodec = messageCodec<TxResult>('TxResult', { trusted: true });

export { U64_MAX };

// ---------------- storage records ----------------

export interface StoreHead {
  height: bigint;
  appHash: Uint8Array;
  blockHash: Uint8Array;
  time: bigint;
  genesisHash: Uint8Array;
}

export interface ValidatorUpdate {
  pubKey: Uint8Array;
  power: bigint;
}

export interface BlockResults {
  height: bigint;
  txResults: TxResult[];
  beginBlockEvents: Event[];
  endBlockEvents: Event[];
  validatorUpdates: ValidatorUpdate[];
  appHash: Uint8Array;
}

export interface TxLocation {
  height: bigint;
  index: number;
}

export const StoreHeadCodec = messageCodec<StoreHead>('StoreHead', { trusted: true });
export const BlockResultsCodec = messageCodec<BlockResults>('BlockResults', { trusted: true });
export const TxLocationCodec = messageCodec<TxLocation>('TxLocation', { trusted: true });

// ---------------- mempool channel ----------------

export const TxBatchCodec = messageCodec<{ txs: Uint8Array[] }>('TxBatch', {
  validate(b) {
    if (b.txs.length === 0) invalid('TxBatch', 'txs', 'must not be empty');
    if (b.txs.some((tx) => tx.length === 0)) invalid('TxBatch', 'txs', 'must not hold an empty tx');
  },
});

// ---------------- consensus channel and WAL ----------------

export const TimeoutKindCode = { propose: 1, prevote: 2, precommit: 3 } as const;

export type ConsensusMessage =
  | { type: 'proposal'; value: { proposal: Proposal; block: Uint8Array } }
  | { type: 'vote'; value: Vote }
  | { type: 'timeout'; value: { kind: number; height: bigint; round: number } };

export const ConsensusMessageCodec = messageCodec<ConsensusMessage>('ConsensusMessage', {
  toWire: (m) => ({ [m.type]: m.value }),
  fromWire(w) {
    const type = w.sum as ConsensusMessage['type'] | undefined;
    if (type === undefined) throw new AppError('INVALID_FIELD', 'ConsensusMessage carries nothing');
    return { type, value: w[type] } as ConsensusMessage;
  },
  validate(m) {
    if (m.type === 'vote') validateVote(m.value);
    else if (m.type === 'proposal') {
      if (m.value.block.length === 0) invalid('ProposalMessage', 'block', 'must not be empty');
      ProposalCodec.decode(ProposalCodec.encode(m.value.proposal));
    } else if (m.value.kind < 1 || m.value.kind > 3) invalid('TimeoutInfo', 'kind', 'must be 1, 2 or 3');
  },
});

export interface ValidatorSetEntryRecord {
  address: Uint8Array;
  pubKey: Uint8Array;
  votingPower: bigint;
  proposerPriority: bigint;
}

export const ValidatorSetRecordCodec = messageCodec<{ validators: ValidatorSetEntryRecord[] }>('ValidatorSetRecord', { trusted: true });

// ---------------- reputation records (src/reputation) ----------------

/** One stored reputation dimension: signed value in 2^-20 score units (score x 2^20) as of updatedNs (block time). */
export interface ReputationScore {
  value: bigint;
  updatedNs: bigint;
}

/** An agent's stored dimensions; social is computed from endorsements when read. */
export interface ReputationRecord {
  task: ReputationScore;
  validator: ReputationScore;
  compute: ReputationScore;
  /** The validator score at the last epoch boundary (epochHeight; 0: none yet), which staking's power uses. */
  epochScore: bigint;
  epochHeight: bigint;
}

export interface Endorsement {
  endorser: Uint8Array;
  subject: Uint8Array;
  /** Score units when given (at most reputation.endorsement_credit); decays from createdNs. */
  credit: bigint;
  createdNs: bigint;
  height: bigint;
  endorserRegisteredHeight: bigint;
  subjectRegisteredHeight: bigint;
}

export const ReputationRecordCodec = messageCodec<ReputationRecord>('ReputationRecord', { trusted: true });
export const EndorsementCodec = messageCodec<Endorsement>('Endorsement', { trusted: true });

// ---------------- task records ----------------

export type TaskKind = 'task' | 'benchmark';
/** The lifecycle stages of a task (src/tasks/tasks.ts); the last three are final. */
export const TASK_STATUSES = ['assigned', 'accepted', 'awaiting_committee', 'reviewing', 'settled', 'finalized', 'expired', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
/** A review round's outcome; '' until it is settled. */
export type Verdict = '' | 'approved' | 'rejected' | 'no_verdict';

export interface Task {
  id: bigint;
  kind: TaskKind;
  status: TaskStatus;
  submitter: Uint8Array;
  requirements: TaskRequirements;
  bounty: bigint;
  deadlineNs: bigint;
  input: Payload;
  submittedNs: bigint;
  submittedHeight: bigint;
  assignee: Uint8Array;
  tried: Uint8Array[];
  acceptByNs: bigint;
  acceptedNs: bigint;
  output: Payload;
  resultNs: bigint;
  resultHeight: bigint;
  round: number;
  drawHeight: bigint;
  timerNs: bigint;
  verdict: Verdict;
  verdictNs: bigint;
  appellant: Uint8Array;
  appealVerdict: Verdict;
  finalVerdict: Verdict;
  closedNs: bigint;
  closeReason: string;
  executorPaid: bigint;
  submitterRefund: bigint;
  reviewersPaid: bigint;
}

export interface TaskEscrow {
  bounty: bigint;
  deposit: bigint;
}

export interface TaskCounter {
  nextId: bigint;
}

export interface ReviewRound {
  taskId: bigint;
  round: number;
  seedHeight: bigint;
  drawnHeight: bigint;
  drawnNs: bigint;
  commitEndNs: bigint;
  revealEndNs: bigint;
  wanted: number;
  size: number;
  committed: number;
  revealed: number;
  approvals: number;
  verdict: Verdict;
  settledNs: bigint;
  settledHeight: bigint;
}

export interface ReviewMember {
  reviewer: Uint8Array;
  seat: number;
  weight: bigint;
  commitment: Uint8Array;
  committedNs: bigint;
  revealed: boolean;
  approve: boolean;
  revealedNs: bigint;
}

export const TaskCodec = messageCodec<Task>('Task', { trusted: true });
export const TaskEscrowCodec = messageCodec<TaskEscrow>('TaskEscrow', { trusted: true });
export const TaskCounterCodec = messageCodec<TaskCounter>('TaskCounter', { trusted: true });
export const ReviewRoundCodec = messageCodec<ReviewRound>('ReviewRound', { trusted: true });
export const ReviewMemberCodec = messageCodec<ReviewMember>('ReviewMember', { trusted: true });

// ---------------- governance records ----------------

export const PROPOSAL_STATUSES = ['voting', 'passed', 'rejected', 'vetoed', 'executed', 'failed'] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

export interface TallyResult {
  yes: bigint;
  no: bigint;
  abstain: bigint;
  veto: bigint;
  totalWeight: bigint;
}

export interface GovProposal {
  id: bigint;
  kind: ProposalKind;
  critical: boolean;
  status: ProposalStatus;
  proposer: Uint8Array;
  content: MsgSubmitProposal;
  deposit: bigint;
  depositStatus: 'held' | 'returned' | 'burned';
  submitHeight: bigint;
  submitNs: bigint;
  votingEndNs: bigint;
  tally: TallyResult;
  tallyNs: bigint;
  tallyHeight: bigint;
  outcome: string;
  executeNs: bigint;
  executedHeight: bigint;
  failure: string;
  /** The thresholds the tally judged with (parameters may change later). */
  tallyQuorumBps: bigint;
  tallyVetoBps: bigint;
}

export interface GovVote {
  voter: Uint8Array;
  option: VoteOption;
  height: bigint;
}

export interface GovState {
  nextId: bigint;
  maxBlockBytes: bigint;
  upgrade: UpgradePlan;
  upgradeProposal: bigint;
}

export const GovProposalCodec = messageCodec<GovProposal>('GovProposal', { trusted: true });
export const GovVoteCodec = messageCodec<GovVote>('GovVote', { trusted: true });
export const GovStateCodec = messageCodec<GovState>('GovState', { trusted: true });
