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
