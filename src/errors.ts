// One error type for everything that reaches a user: a stable string code, a stable numeric code (the ABCI-style
// `code` of a tx result), and a sentence that says what to fix. Never throw strings.

/** Stable error codes. Numbers are part of the protocol (tx results carry them): never renumber, only append. */
export const ErrorCodes = {
  // 1-19: decoding and basic validation
  INTERNAL: 1,
  TX_DECODE: 2,
  TX_TOO_LARGE: 3,
  INVALID_FIELD: 4,
  UNKNOWN_MESSAGE: 5,
  // 20-39: authentication and replay protection
  BAD_SIGNATURE: 20,
  WRONG_CHAIN_ID: 21,
  WRONG_NONCE: 22,
  // 40-59: funds and fees
  INSUFFICIENT_FUNDS: 40,
  INVALID_AMOUNT: 41,
  FEE_TOO_LOW: 42,
  OUT_OF_GAS: 43,
  LOCKED_FUNDS: 44,
  // 60-79: genesis, configuration and keys
  BAD_GENESIS: 60,
  BAD_CONFIG: 61,
  BAD_KEY: 62,
  ALREADY_EXISTS: 63,
  NOT_FOUND: 64,
  // 80-99: storage
  STORE_CORRUPT: 80,
  // 100-139: agents, attestation, staking and slashing (appended below)
  // appended (issue 4), numbered in the range it belongs to
  /** Funds and fees: the mempool is full and the tx's gas price does not beat the cheapest evictable pending tx. */
  MEMPOOL_FULL: 45,
  // appended (issue 6): agents, attestation, staking
  /** The bond offered is below agents.bond. */
  BOND_TOO_SMALL: 46,
  /** The amount to unstake is more than the stake. */
  UNSTAKE_EXCEEDS_STAKE: 47,
  /** The stake would be below staking.min_stake. */
  STAKE_TOO_SMALL: 48,
  /** The signer is not a registered, active agent. */
  NOT_AN_AGENT: 100,
  /** The signer is already a registered agent (or its bond is still unbonding). */
  ALREADY_REGISTERED: 101,
  /** The attestation does not verify (signature, format, authority, measurement). */
  BAD_ATTESTATION: 102,
  /** The attestation's validity is over, or it claims longer than agents.attestation_max_seconds. */
  ATTESTATION_EXPIRED: 103,
  /** The attestation is bound to another agent key or another chain. */
  ATTESTATION_MISMATCH: 104,
  /** No verifier for this attestation kind is built into this node. */
  UNSUPPORTED_ATTESTATION: 105,
  /** The signer has no validator, or its validator cannot do this (jailed, tombstoned, still has stake). */
  VALIDATOR_STATE: 106,
  /** The consensus key is another validator's. */
  CONSENSUS_KEY_IN_USE: 107,
  /** The owner already has bonds.MAX_UNBONDING_ENTRIES stake entries in the unbonding queue. */
  TOO_MANY_UNBONDINGS: 108,
  // appended (issue 7): 140-169 tasks and reviews (src/tasks), 170-179 reputation, 180-189 the randomness beacon
  // 140-169: tasks and reviews (src/tasks)
  /** There is no task with this id. */
  TASK_NOT_FOUND: 140,
  /** The bounty is below tasks.min_bounty. */
  BOUNTY_TOO_SMALL: 141,
  /** The deadline is not after the block time, or later than tasks.max_deadline_seconds from it. */
  BAD_DEADLINE: 142,
  /** An inline payload is larger than tasks.max_inline_bytes. */
  PAYLOAD_TOO_LARGE: 143,
  /** No active agent with verified capabilities meets the task's requirements (the submitter excluded). */
  NO_ELIGIBLE_AGENT: 144,
  /** Only the task's submitter may do this. */
  NOT_TASK_SUBMITTER: 145,
  /** Only the task's assignee may do this. */
  NOT_TASK_ASSIGNEE: 146,
  /** The task is not at the stage this message needs (the message names its stage). */
  TASK_WRONG_STATE: 147,
  /** The assignee's accept window (tasks.accept_seconds) is over. */
  ACCEPT_WINDOW_CLOSED: 148,
  /** The task's deadline has passed. */
  DEADLINE_PASSED: 149,
  /** The signer is not on the committee of this task and round. */
  NOT_COMMITTEE_MEMBER: 150,
  /** The round has no committee yet, or the task is reviewed in another round. */
  NO_REVIEW_ROUND: 151,
  /** A commit outside the commit phase. */
  NOT_COMMIT_PHASE: 152,
  /** A reveal outside the reveal phase. */
  NOT_REVEAL_PHASE: 153,
  /** The member already committed in this round. */
  ALREADY_COMMITTED: 154,
  /** A reveal from a member that did not commit. */
  NOT_COMMITTED: 155,
  /** The revealed verdict and salt do not hash to the commitment. */
  REVEAL_MISMATCH: 156,
  /** The member already revealed in this round. */
  ALREADY_REVEALED: 157,
  /** The appeal window (tasks.appeal_seconds after the verdict) is over. */
  APPEAL_WINDOW_CLOSED: 158,
  /** The signer may not appeal this verdict (only the party it went against: the submitter or the executor). */
  NOT_APPEAL_PARTY: 159,
  /** The task was already appealed (one appeal per task). */
  ALREADY_APPEALED: 160,
  /** The agent's capabilities are already verified, or a benchmark of it is under way. */
  BENCHMARK_NOT_ALLOWED: 161,
  // 170-179: reputation and endorsements (src/reputation)
  /** An agent tried to endorse itself. */
  SELF_ENDORSEMENT: 170,
  /** The signer already endorses this subject (revoke it first to renew it). */
  ENDORSEMENT_EXISTS: 171,
  /** The signer already gives reputation.endorsement_max_per_endorser live endorsements. */
  ENDORSEMENT_LIMIT: 172,
  /** There is no endorsement by the signer of this subject to revoke. */
  ENDORSEMENT_NOT_FOUND: 173,
  /** The endorsed address is not an active agent (not registered, deregistered, or its attestation expired). */
  SUBJECT_NOT_AN_AGENT: 174,
  /** Beacon: a block's randao_reveal is missing, malformed, or not the proposer's BLS signature over (chain id, height). */
  BEACON_BAD_REVEAL: 180,
  /** Beacon: a BLS public key is missing where one is required (a validator's first stake) or is not a valid G1 point. */
  BAD_BLS_KEY: 181,
  // 190-199: governance (src/state/governance/module.ts)
  /** A proposal's deposit is below governance.min_deposit_bps of the circulating supply. */
  DEPOSIT_TOO_SMALL: 190,
  /** A parameter change names no parameter, or its value is invalid (the sentence says which rule it breaks). */
  INVALID_PARAM_CHANGE: 191,
  /** A parameter change touches a parameter fixed at genesis (supply.*, emission.*). */
  PARAM_FIXED: 192,
  /** A proposal acts on something that does not exist or cannot be acted on (validator, slash escrow, height, treasury). */
  INVALID_PROPOSAL_TARGET: 193,
  /** No proposal has this id. */
  PROPOSAL_NOT_FOUND: 194,
  /** The proposal's voting period is over (or it never had one). */
  VOTING_CLOSED: 195,
  /** The voter holds no bonded ACC (agent bond or validator stake): only bonded tokens vote. */
  NO_VOTING_WEIGHT: 196,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** Codespace of all codes above, as CometBFT tx results carry one. */
export const CODESPACE = 'agentcluster';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly meta: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.meta = meta;
  }

  /** The numeric code carried in tx results. */
  get number(): number {
    return ErrorCodes[this.code];
  }

  toJSON(): { code: ErrorCode; number: number; message: string; meta: Record<string, unknown> } {
    return { code: this.code, number: this.number, message: this.message, meta: { ...this.meta } };
  }
}

/** Wraps anything thrown into an AppError; unknown failures become INTERNAL without leaking internals to users. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AppError('INTERNAL', `internal error: ${message}`);
}
