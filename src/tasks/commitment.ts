// The sealed review verdict of commit-reveal (src/tasks/tasks.ts). A committee member first publishes
//   commitment = sha256(DOMAIN || task id (8 bytes BE) || round (1 byte) || verdict (1 byte: 1 approve, 0 reject)
//                       || salt (32 bytes) || reviewer address (20 bytes))
// and later reveals (verdict, salt). Every field after the domain has a fixed width, so no two inputs share an
// encoding. The reviewer's address is inside so that a member cannot copy another member's commitment and reveal it
// as its own; the task id and round keep a commitment from being replayed into another review. The salt (32 random
// bytes, kept secret until the reveal) stops anyone from guessing the one-bit verdict by hashing both candidates.
//
// The state machine checks reveals with reviewCommitment; the agent worker imports the same function to commit.
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { u64be, utf8 } from '../crypto/bytes.ts';
import { ADDRESS_LENGTH } from '../crypto/keys.ts';
import { MAX_REVIEW_ROUND, REVIEW_SALT_LENGTH } from '../codec/types.ts';

export const REVIEW_COMMITMENT_DOMAIN = utf8('agentcluster/tasks/review-commitment/v1');

export interface ReviewVote {
  taskId: bigint;
  round: number;
  approve: boolean;
  salt: Uint8Array;
  reviewer: Uint8Array;
}

/** The 32-byte commitment to a review verdict (see the header for the exact bytes). */
export function reviewCommitment(v: ReviewVote): Uint8Array {
  if (v.salt.length !== REVIEW_SALT_LENGTH) throw new AppError('INVALID_FIELD', `a review salt must be ${REVIEW_SALT_LENGTH} bytes, got ${v.salt.length}`, { field: 'salt' });
  if (v.reviewer.length !== ADDRESS_LENGTH) throw new AppError('INVALID_FIELD', `a reviewer address must be ${ADDRESS_LENGTH} bytes, got ${v.reviewer.length}`, { field: 'reviewer' });
  if (!Number.isInteger(v.round) || v.round < 0 || v.round > MAX_REVIEW_ROUND) {
    throw new AppError('INVALID_FIELD', `a review round must be 0 or ${MAX_REVIEW_ROUND}, got ${v.round}`, { field: 'round' });
  }
  return sha256(REVIEW_COMMITMENT_DOMAIN, u64be(v.taskId), Uint8Array.of(v.round), Uint8Array.of(v.approve ? 1 : 0), v.salt, v.reviewer);
}

/**
 * A fresh random salt, for the agent worker only (the state machine never calls it: its randomness is the beacon).
 * Keep it until the reveal: without it the commitment cannot be opened and the member counts as not revealing.
 */
export function newReviewSalt(): Uint8Array {
  return new Uint8Array(randomBytes(REVIEW_SALT_LENGTH));
}
