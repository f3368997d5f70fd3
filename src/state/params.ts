// Protocol parameters: the whitepaper's table (DESIGN.md section 4) as typed defaults. All are genesis parameters,
// changeable later by governance (src/state/governance) except supply.* and emission.*, which are fixed at genesis;
// every value is an integer (bigint for amounts), never a float.

export const UACC_PER_ACC = 1_000_000n;
export const TOTAL_SUPPLY_UACC = 1_000_000_000n * UACC_PER_ACC;
/** Basis points: 10,000 = 100%. Shares and rates are expressed in bps so that every split is integer arithmetic. */
export const BPS = 10_000n;

export const DAY_SECONDS = 86_400n;
export const YEAR_SECONDS = 365n * DAY_SECONDS;

/** The genesis allocation categories of whitepaper section 5.2, in a fixed order. */
export const CATEGORIES = ['validators', 'compute_providers', 'marketplace', 'review_committees', 'treasury', 'team'] as const;
export type Category = (typeof CATEGORIES)[number];

export interface FeeParams {
  /** Minimum price of one unit of gas, in uacc. */
  min_gas_price: bigint;
  /** Share of every fee that is burned, in bps; the rest goes to the validators. */
  burn_bps: bigint;
  /** Gas every tx pays before its message runs. */
  tx_base_gas: bigint;
  /** Gas per byte of the encoded tx. */
  tx_byte_gas: bigint;
  /** Gas per message type (the name of the Tx.msg oneof case), on top of the base and byte gas. */
  msg_gas: Record<string, bigint>;
}

export interface TxParams {
  /** Largest encoded tx accepted, in bytes. */
  max_tx_bytes: bigint;
  /** Longest memo, in bytes. */
  max_memo_bytes: bigint;
}

export interface SupplyParams {
  /** Fixed at genesis; no minting afterwards. */
  total_supply: bigint;
  /** Genesis split by category, in bps of total_supply; the shares sum to 10,000. */
  distribution_bps: Record<Category, bigint>;
  /** Team vesting: nothing before the cliff, then linear until the end of the duration (both from genesis time). */
  team_cliff_seconds: bigint;
  team_vesting_seconds: bigint;
}

export interface AgentParams {
  /** Least bond an agent locks to register, in uacc (whitepaper: 10,000 ACC). */
  bond: bigint;
  /** Burned at registration, in uacc. */
  registration_fee: bigint;
  /** How long a deregistered agent's bond waits (still slashable) before it returns. */
  unbonding_seconds: bigint;
  /** The longest an attestation may stay valid; genesis validators' attestations last this long from genesis. */
  attestation_max_seconds: bigint;
  /** Keys trusted by the `authority` attestation kind: name -> ed25519 public key, 64 upper-case hex characters. */
  attestation_authorities: Record<string, string>;
  /** Allow-listed TEE measurements: label -> "<kind>:<hex measurement>" (governance adds and removes entries). */
  tee_measurements: Record<string, string>;
  /** Most model tags and most skill tags an agent may declare (each). */
  max_tags: bigint;
}

export interface StakingParams {
  /** Least stake for a place in the validator set, in uacc. */
  min_stake: bigint;
  max_validators: bigint;
  /** The validator set is recomputed from stake x reputation every this many blocks (jails act at once). */
  epoch_blocks: bigint;
  unbonding_seconds: bigint;
}

export interface EmissionParams {
  /** The reward pools release over `periods` periods of this length, each releasing half of the one before. */
  halving_seconds: bigint;
  periods: bigint;
}

/** Severity table keys: what the slashing module slashes for. */
export const SLASH_KINDS = ['double_sign', 'downtime', 'fraudulent_result', 'missed_reveal'] as const;
export type SlashKind = (typeof SLASH_KINDS)[number];

export interface SlashingParams {
  /** Share of an agent's stake, unbonding entries and bond taken per infraction kind, in bps (100 = 1% .. 10,000 = 100%). */
  severity_bps: Record<SlashKind, bigint>;
  /** Downtime: a validator signing fewer than min_signed_bps of the last window_blocks is slashed and jailed. */
  downtime_window_blocks: bigint;
  downtime_min_signed_bps: bigint;
  downtime_jail_seconds: bigint;
  /** Slashed funds wait this long in the slash escrow (governance may restore them), then burn. */
  appeal_window_seconds: bigint;
}

/** Tasks and review committees (src/tasks; whitepaper 4.2). */
export interface TaskParams {
  /** Least bounty a task escrows, in uacc. */
  min_bounty: bigint;
  /** Longest time from submission to deadline. */
  max_deadline_seconds: bigint;
  /** Largest inline payload (task input or result), in bytes. */
  max_inline_bytes: bigint;
  /** Share of the bounty kept as the protocol fee when a review reaches a verdict (approved or rejected), in bps; it
   * pays the reviewers who voted with the final verdict. */
  protocol_fee_bps: bigint;
  /** An assignee has this long to accept before the task moves on to the next candidate. */
  accept_seconds: bigint;
  /** Assignments tried (the first included) before the task expires and is refunded; an assignee silent for
   * accept_seconds is replaced by the next candidate. */
  max_assignments: bigint;
  /** Committee size: committee_min + bounty / committee_bounty_step, at most committee_max (whitepaper: 10-100). */
  committee_min: bigint;
  /** Largest round-0 committee. */
  committee_max: bigint;
  /** Bounty (uacc) per extra committee member above committee_min. */
  committee_bounty_step: bigint;
  /** A result's committee is drawn from the beacon mix of the block this many blocks after the result's block. */
  beacon_delay_blocks: bigint;
  /** Review phases, counted from the committee's draw: commit, then reveal. */
  commit_seconds: bigint;
  /** Length of the reveal phase, which starts when the commit phase ends. */
  reveal_seconds: bigint;
  /** Least share of the committee that must reveal for a verdict, in bps (rounded up, at least one member); with
   * fewer there is no verdict and the bounty is refunded. */
  min_reveal_bps: bigint;
  /** After round 0's verdict, the party it went against (the submitter an approval, the executor a rejection or no
   * verdict) may appeal for this long. */
  appeal_seconds: bigint;
  /** Locked by an appeal (uacc): returned if the appeal succeeds or its committee reaches no verdict, else paid to the
   * appeal committee's majority. */
  appeal_deposit: bigint;
  /** The appeal's re-review committee size (round 1; round 0's members are not drawn). */
  appeal_committee_size: bigint;
  /** A benchmark challenge must be answered within this long. */
  benchmark_seconds: bigint;
  /** Reward pots (issue 6 fills them by emission), paid per finalized task, in bps of the pot's balance at the time:
   * compute providers' to the executor of an approved task, review committees' to its majority reviewers. */
  compute_pot_bps: bigint;
  /** Share of the review committees' reward pot paid per finalized verdict to the reviewers who voted with it, in bps
   * of the pot's balance. */
  review_pot_bps: bigint;
  /** The marketplace pot adds this share of the bounty to an approved task's executor, while the pot lasts. */
  marketplace_subsidy_bps: bigint;
}

/**
 * Reputation (src/reputation; whitepaper 4.3). Scores are fixed point: 1,000,000 = one unit (SCORE_ONE). Every
 * dimension decays toward zero with the half-life; the gains and penalties below are in score units.
 */
export interface ReputationParams {
  half_life_seconds: bigint;
  /** Task dimension: a result approved / rejected, a deadline missed by the assignee. */
  task_completed: bigint;
  task_rejected: bigint;
  task_expired: bigint;
  /** Task dimension, as a reviewer: verdict with the final outcome / against it / committed or drawn but no reveal. */
  review_majority: bigint;
  review_minority: bigint;
  review_no_reveal: bigint;
  /** Validator dimension: per block signed / missed (from the last commit), per double-sign evidence. */
  validator_signed: bigint;
  validator_missed: bigint;
  validator_double_sign: bigint;
  /** Compute dimension: a benchmark approved; a result delivered before its deadline (uptime). */
  compute_benchmark: bigint;
  compute_uptime: bigint;
  /** Social dimension: most live endorsements one agent may give; the most credit one endorsement can carry. */
  endorsement_max_per_endorser: bigint;
  endorsement_credit: bigint;
  /** Bond plus validator stake (uacc) at which an endorser's credit is no longer scaled down by what it holds. */
  endorsement_full_stake: bigint;
}

/**
 * Governance (src/state/governance/module.ts; whitepaper 7). Voting weight is bonded ACC (agent bonds + validator stakes)
 * counted at the tally. Pass rules are fixed, not parameters: a simple majority of the non-abstaining weight for a
 * standard proposal, at least two thirds of it for a critical one.
 */
export interface GovernanceParams {
  /** Least deposit a proposal locks, in bps of the circulating supply at submission (whitepaper: 1%). */
  min_deposit_bps: bigint;
  /** Votes are taken for this long after submission. */
  voting_seconds: bigint;
  /** Least share of the total voting weight that must vote (abstain and veto count), in bps (whitepaper: 10%). */
  quorum_bps: bigint;
  /** A proposal with at least this share of the cast weight voting veto is rejected as spam and its deposit burns. */
  veto_bps: bigint;
  /** A passed proposal executes this long after its voting period ends (whitepaper: 7 days). */
  timelock_seconds: bigint;
  /** Treasury spends above this amount (uacc) are critical. */
  critical_spend_threshold: bigint;
}

/**
 * A slashing appeal must be able to execute more than this long before its escrow burns: execution waits for the
 * first block at or after its time, and the escrow burns in slashing's end-block (before governance's) of the first
 * block at or after its own, so only a gap in the chain longer than this can make an accepted appeal fail.
 */
export const SLASH_APPEAL_MARGIN_SECONDS = 3_600n;

export interface AppParams {
  supply: SupplyParams;
  fees: FeeParams;
  tx: TxParams;
  agents: AgentParams;
  staking: StakingParams;
  emission: EmissionParams;
  slashing: SlashingParams;
  tasks: TaskParams;
  reputation: ReputationParams;
  governance: GovernanceParams;
}

export function defaultAppParams(): AppParams {
  return {
    supply: {
      total_supply: TOTAL_SUPPLY_UACC,
      distribution_bps: {
        validators: 3000n,
        compute_providers: 2500n,
        marketplace: 1500n,
        review_committees: 1000n,
        treasury: 800n,
        team: 1200n,
      },
      team_cliff_seconds: YEAR_SECONDS,
      team_vesting_seconds: 4n * YEAR_SECONDS,
    },
    fees: {
      min_gas_price: 1n,
      burn_bps: 5000n,
      tx_base_gas: 1000n,
      tx_byte_gas: 10n,
      msg_gas: {
        send: 1000n,
        register_agent: 50_000n,
        deregister_agent: 10_000n,
        renew_attestation: 20_000n,
        stake: 10_000n,
        unstake: 10_000n,
        unjail: 10_000n,
        submit_task: 20_000n,
        cancel_task: 10_000n,
        accept_task: 10_000n,
        submit_result: 20_000n,
        commit_review: 10_000n,
        reveal_review: 10_000n,
        appeal: 20_000n,
        request_benchmark: 20_000n,
        endorse: 10_000n,
        revoke_endorsement: 10_000n,
        submit_proposal: 100_000n,
        vote: 10_000n,
      },
    },
    tx: {
      max_tx_bytes: 32_768n,
      max_memo_bytes: 256n,
    },
    agents: {
      bond: 10_000n * UACC_PER_ACC,
      registration_fee: 100n * UACC_PER_ACC,
      unbonding_seconds: 21n * DAY_SECONDS,
      attestation_max_seconds: 90n * DAY_SECONDS,
      attestation_authorities: {},
      tee_measurements: {},
      max_tags: 16n,
    },
    staking: {
      min_stake: 1_000n * UACC_PER_ACC,
      max_validators: 100n,
      epoch_blocks: 100n,
      unbonding_seconds: 21n * DAY_SECONDS,
    },
    emission: {
      halving_seconds: 2n * YEAR_SECONDS,
      periods: 5n,
    },
    slashing: {
      // Cosmos SDK's defaults for double-sign (5%, with tombstoning) and downtime (1% over 100 blocks, 50% signed,
      // 10 minutes in jail); task fraud costs 10%, a missed review reveal 1% (whitepaper: 1-100% by severity).
      severity_bps: { double_sign: 500n, downtime: 100n, fraudulent_result: 1000n, missed_reveal: 100n },
      downtime_window_blocks: 100n,
      downtime_min_signed_bps: 5000n,
      downtime_jail_seconds: 600n,
      appeal_window_seconds: 21n * DAY_SECONDS,
    },
    tasks: {
      min_bounty: UACC_PER_ACC,
      max_deadline_seconds: 30n * DAY_SECONDS,
      max_inline_bytes: 4096n,
      protocol_fee_bps: 1000n,
      accept_seconds: 60n,
      max_assignments: 5n,
      committee_min: 11n,
      committee_max: 100n,
      committee_bounty_step: 100n * UACC_PER_ACC,
      beacon_delay_blocks: 2n,
      commit_seconds: 120n,
      reveal_seconds: 120n,
      min_reveal_bps: 5000n,
      appeal_seconds: DAY_SECONDS,
      appeal_deposit: 100n * UACC_PER_ACC,
      appeal_committee_size: 100n,
      benchmark_seconds: 600n,
      compute_pot_bps: 1n,
      review_pot_bps: 1n,
      marketplace_subsidy_bps: 1000n,
    },
    reputation: {
      half_life_seconds: 90n * DAY_SECONDS,
      task_completed: 100_000n,
      task_rejected: 300_000n,
      task_expired: 200_000n,
      review_majority: 20_000n,
      review_minority: 50_000n,
      review_no_reveal: 100_000n,
      // At ~1 block/s a steady gain g per block settles at g x half-life / ln 2 = g x 11.2 million: 1 per signed block
      // reaches 0.09 units in a day, 2.3 in 30 days (factor 1.53) and tends to 11.2 (factor 1.85); a validator missing
      // more than 1 block in 11 loses reputation.
      validator_signed: 1n,
      validator_missed: 10n,
      validator_double_sign: 5_000_000n,
      compute_benchmark: 500_000n,
      compute_uptime: 10_000n,
      endorsement_max_per_endorser: 10n,
      endorsement_credit: 100_000n,
      // 10x the agent bond: a bond-only endorser's credit weighs 1/10, so Sybil endorsements cost real stake
      endorsement_full_stake: 100_000n * UACC_PER_ACC,
    },
    governance: {
      min_deposit_bps: 100n,
      voting_seconds: 7n * DAY_SECONDS,
      quorum_bps: 1000n,
      // Cosmos SDK's veto threshold (a third of the cast weight)
      veto_bps: 3334n,
      timelock_seconds: 7n * DAY_SECONDS,
      critical_spend_threshold: 1_000_000n * UACC_PER_ACC,
    },
  };
}

/** Consensus parameters (CometBFT's block / evidence / validator sections, plus the round timeouts in ms). */
export interface ConsensusParams {
  block: { max_bytes: bigint; max_gas: bigint };
  evidence: { max_age_num_blocks: bigint; max_age_duration_ns: bigint; max_bytes: bigint };
  validator: { pub_key_types: string[] };
  /** Round timeouts grow as base + delta x round (CometBFT); commit is the pause between a decision and the next height. */
  timeouts: {
    propose_ms: bigint;
    propose_delta_ms: bigint;
    prevote_ms: bigint;
    prevote_delta_ms: bigint;
    precommit_ms: bigint;
    precommit_delta_ms: bigint;
    commit_ms: bigint;
  };
}

/**
 * Upper bound on block.max_bytes: a proposal travels and is logged with its whole block, and one WAL record holds at
 * most 4 MiB (src/consensus/wal.ts), so a block may use 4 MiB less 64 KiB for the proposal around it.
 */
export const MAX_BLOCK_BYTES = 4n * 1024n * 1024n - 64n * 1024n;

export function defaultConsensusParams(): ConsensusParams {
  return {
    block: { max_bytes: 2_097_152n, max_gas: -1n },
    evidence: { max_age_num_blocks: 100_000n, max_age_duration_ns: 172_800_000_000_000n, max_bytes: 1_048_576n },
    validator: { pub_key_types: ['ed25519'] },
    // CometBFT's defaults, except propose: 1.5 s (CometBFT 3 s) keeps the whitepaper's ~3 s finality when a proposer
    // is dead (its heights then take the propose timeout plus a round). A timeout only fires when a step is slow, so
    // blocks still come about every timeout_commit; the earlier 0.5 s vote timeouts cost extra rounds under load.
    timeouts: {
      propose_ms: 1500n,
      propose_delta_ms: 500n,
      prevote_ms: 1000n,
      prevote_delta_ms: 500n,
      precommit_ms: 1000n,
      precommit_delta_ms: 500n,
      commit_ms: 1000n,
    },
  };
}
