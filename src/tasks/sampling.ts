// Deterministic weighted sampling for routing and review committees. Pure integer arithmetic over a seed that the
// caller derives from the beacon: the same (candidates, weights, seed) always give the same picks on every node.
//
//   uniformBelow(seed, label, n): a uniform integer in [0, n). Draw x = sha256(seed || label || counter) as a 256-bit
//     integer; accept it when x < limit = 2^256 - (2^256 mod n) (the largest multiple of n that fits) and return
//     x mod n; otherwise try the next counter. Every residue then has exactly limit / n preimages, so there is no
//     modulo bias; a try is rejected with probability below n / 2^256, so one try is all it ever takes in practice.
//   sampleWeighted(items, k, seed): k picks WITHOUT replacement. Pick i draws r = uniformBelow(seed, i, W) over the
//     remaining total weight W and takes the item whose cumulative-weight interval holds r (items in the caller's
//     order, which must itself be deterministic: agents in address order); that item leaves the pool and W shrinks.
//     So the first pick takes item j with probability w_j / W exactly, and each later pick is proportional to weight
//     among those left. With k at least the pool's size every item is taken (in a weight-biased random order).
//     Items of weight 0 are never picked.
import { AppError } from '../errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { SCORE_ONE } from '../reputation/factor.ts';

const TWO_256 = 1n << 256n;

function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

function toBigInt(bytes: Uint8Array): bigint {
  let x = 0n;
  for (const b of bytes) x = (x << 8n) | BigInt(b);
  return x;
}

/** A uniform integer in [0, n), derived from (seed, label) without modulo bias (see the header). */
export function uniformBelow(seed: Uint8Array, label: number, n: bigint): bigint {
  if (n <= 0n) throw new AppError('INTERNAL', `uniformBelow needs a positive bound, got ${n}`);
  const limit = TWO_256 - (TWO_256 % n);
  const l = u32be(label);
  for (let counter = 0; ; counter++) {
    const x = toBigInt(sha256(seed, l, u32be(counter)));
    if (x < limit) return x % n;
  }
}

export interface Weighted<T> {
  item: T;
  weight: bigint;
}

/** k weighted picks without replacement, in pick order (see the header). */
export function sampleWeighted<T>(pool: readonly Weighted<T>[], k: number, seed: Uint8Array): Array<Weighted<T>> {
  for (const p of pool) if (p.weight < 0n) throw new AppError('INTERNAL', 'a sampling weight must not be negative');
  const left = pool.filter((p) => p.weight > 0n);
  let total = left.reduce((s, p) => s + p.weight, 0n);
  const picks: Array<Weighted<T>> = [];
  for (let i = 0; i < k && left.length > 0; i++) {
    const r = uniformBelow(seed, i, total);
    let acc = 0n;
    let j = 0;
    // r < total, so some interval [acc, acc + w) holds it before the end of the list.
    for (; j < left.length; j++) {
      acc += left[j].weight;
      if (r < acc) break;
    }
    picks.push(left[j]);
    total -= left[j].weight;
    left.splice(j, 1);
  }
  return picks;
}

/**
 * Selection weight of an agent (routing and committees alike) from its task reputation: SCORE_ONE for a newcomer or
 * an agent with a negative score (the floor keeps newcomers drawn), plus its positive score capped at
 * WEIGHT_REPUTATION_CAP. The cap bounds the heaviest agent at 10x the lightest: src/tasks/security.ts shows that
 * sampling without replacement among unequal weights raises an adversary's share of the later seats by up to
 * 1 / (1 - (k-1) w) for a member holding a share w of the weight, so no member may dominate the pool however much
 * reputation it gathers.
 */
export const WEIGHT_REPUTATION_CAP = 9n * SCORE_ONE;

export function selectionWeight(taskReputation: bigint): bigint {
  const bonus = taskReputation <= 0n ? 0n : taskReputation > WEIGHT_REPUTATION_CAP ? WEIGHT_REPUTATION_CAP : taskReputation;
  return SCORE_ONE + bonus;
}
