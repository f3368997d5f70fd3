// The validator set of one height: who votes, with what power, and who proposes in each round.
//
// Immutable: every change (a proposer-priority step, a validator update) returns a new set. Sorted as CometBFT sorts
// it: voting power descending, then address ascending; the set hash commits to (pubKey, power) in that order.
//
// Proposer selection is CometBFT's weighted round robin. One step of it:
//   every validator's priority += its power; the one with the highest priority (ties: lowest address) is picked;
//   the picked validator's priority -= total power.
// Before a batch of steps the priorities are rescaled so their spread (max - min) is at most 2 x total power, and
// shifted so that their average is zero. Over k steps a validator of power p is picked about k x p / total times.
//
// proposer() of a set is the validator that the NEXT step picks (computed without changing the set), so the proposer
// of round r at a height whose set is S is S.incrementProposerPriority(r).proposer() (= S.proposerAt(r)), and the set
// for the next height is S.incrementProposerPriority(1) (with that height's validator updates applied). This is the
// same sequence of proposers as CometBFT's; a set only needs its priorities to be stored, never a separate
// "current proposer" field. (Taking the highest current priority instead, before adding powers, is not fair: with
// powers [3, 1] it would let the light validator propose half of the time.)
import { SimpleValidatorCodec } from '../codec/types.ts';
import { addressOf, ADDRESS_LENGTH, PUBKEY_LENGTH } from '../crypto/keys.ts';
import { compareBytes, equalBytes, toHex } from '../crypto/bytes.ts';
import { merkleRoot } from '../crypto/merkle.ts';
import { AppError } from '../errors.ts';

export interface ValidatorEntry {
  address: Uint8Array;
  pubKey: Uint8Array;
  power: bigint;
  proposerPriority: bigint;
}

export interface ValidatorChange {
  pubKey: Uint8Array;
  /** The new voting power; 0 removes the validator. */
  power: bigint;
}

/** CometBFT's bound (max int64 / 8): priorities and sums stay far from any 64-bit limit on the wire. */
export const MAX_TOTAL_VOTING_POWER = 0x7fff_ffff_ffff_ffffn / 8n;

const TRUSTED = Symbol('trusted');

function invalid(message: string, meta: Record<string, unknown> = {}): never {
  throw new AppError('INVALID_FIELD', message, meta);
}

function byPowerThenAddress(a: ValidatorEntry, b: ValidatorEntry): number {
  if (a.power !== b.power) return a.power > b.power ? -1 : 1;
  return compareBytes(a.address, b.address);
}

/** Floor division (rounds towards minus infinity), for averages of possibly negative priorities. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

export class ValidatorSet {
  readonly validators: readonly Readonly<ValidatorEntry>[];
  readonly totalPower: bigint;
  /** Strictly more than 2/3 of the total power: totalPower * 2 / 3 + 1. */
  readonly quorum: bigint;
  /** Strictly more than 1/3 of the total power (f + 1 in power): totalPower / 3 + 1. */
  readonly oneThirdPlus: bigint;

  readonly #index: Map<string, number>;
  #hash: Uint8Array | undefined;
  #proposerIndex: number | undefined;
  // Proposers of rounds 0..n-1 (proposerAt), and the priorities after that many steps, extended on demand.
  #roundProposers: number[] = [];
  #roundPriorities: bigint[] | undefined;

  /**
   * Builds a set from explicit entries (for example read back from the store). Validates them and sorts them into
   * set order. Throws AppError('INVALID_FIELD') for an empty set, a duplicate address, a non-positive power, an
   * address that is not derived from its key, or a total power above MAX_TOTAL_VOTING_POWER.
   */
  constructor(validators: readonly ValidatorEntry[], trusted?: symbol) {
    let entries: ValidatorEntry[];
    if (trusted === TRUSTED) {
      entries = validators as ValidatorEntry[];
    } else {
      if (validators.length === 0) invalid('a validator set must not be empty');
      entries = validators.map((v, i) => {
        if (v.pubKey.length !== PUBKEY_LENGTH) invalid(`validators[${i}].pub_key must be ${PUBKEY_LENGTH} bytes`, { index: i });
        if (v.address.length !== ADDRESS_LENGTH) invalid(`validators[${i}].address must be ${ADDRESS_LENGTH} bytes`, { index: i });
        if (!equalBytes(v.address, addressOf(v.pubKey))) invalid(`validators[${i}].address is not the address of its pub_key`, { index: i });
        if (v.power <= 0n) invalid(`validators[${i}] (${toHex(v.address)}) must have a positive voting power, got ${v.power}`, { index: i });
        return { address: v.address, pubKey: v.pubKey, power: v.power, proposerPriority: v.proposerPriority };
      });
      entries.sort(byPowerThenAddress);
    }
    const index = new Map<string, number>();
    let total = 0n;
    entries.forEach((v, i) => {
      const key = toHex(v.address);
      if (index.has(key)) invalid(`validator ${key} appears twice in the set`, { address: key });
      index.set(key, i);
      total += v.power;
    });
    if (total > MAX_TOTAL_VOTING_POWER) invalid(`total voting power ${total} exceeds the maximum ${MAX_TOTAL_VOTING_POWER}`);
    this.validators = entries.map((v) => Object.freeze(v));
    Object.freeze(this.validators);
    this.totalPower = total;
    this.quorum = (total * 2n) / 3n + 1n;
    this.oneThirdPlus = total / 3n + 1n;
    this.#index = index;
  }

  /** A new set from validator keys and powers (genesis): addresses derived from the keys, all priorities zero. */
  static fromPowers(validators: readonly { pubKey: Uint8Array; power: bigint }[]): ValidatorSet {
    return new ValidatorSet(validators.map((v) => ({ address: addressOf(v.pubKey), pubKey: v.pubKey, power: v.power, proposerPriority: 0n })));
  }

  get size(): number {
    return this.validators.length;
  }

  indexOf(address: Uint8Array): number {
    return this.#index.get(toHex(address)) ?? -1;
  }

  byAddress(address: Uint8Array): Readonly<ValidatorEntry> | undefined {
    const i = this.indexOf(address);
    return i < 0 ? undefined : this.validators[i];
  }

  byIndex(index: number): Readonly<ValidatorEntry> | undefined {
    return this.validators[index];
  }

  has(address: Uint8Array): boolean {
    return this.indexOf(address) >= 0;
  }

  /** The quorum threshold: the smallest power that is strictly more than 2/3 of the total. */
  twoThirdsPlusOne(): bigint {
    return this.quorum;
  }

  hasQuorum(power: bigint): boolean {
    return power >= this.quorum;
  }

  hasOneThirdPlus(power: bigint): boolean {
    return power >= this.oneThirdPlus;
  }

  /** Merkle root of SimpleValidator{pubKey, votingPower} in set order (CometBFT's validators hash). */
  hash(): Uint8Array {
    if (this.#hash === undefined) {
      this.#hash = merkleRoot(this.validators.map((v) => SimpleValidatorCodec.encode({ pubKey: v.pubKey, votingPower: v.power })));
    }
    return this.#hash;
  }

  /** The validator the next round-robin step picks: the proposer of round 0 at the height this set belongs to. */
  proposer(): Readonly<ValidatorEntry> {
    if (this.#proposerIndex === undefined) {
      const prios = this.#normalised();
      for (let i = 0; i < prios.length; i++) prios[i] += this.validators[i].power;
      this.#proposerIndex = this.#argmax(prios);
    }
    return this.validators[this.#proposerIndex];
  }

  /**
   * The proposer of round `round` at this set's height: incrementProposerPriority(round).proposer(), computed
   * incrementally and cached, so asking for rounds 0..r costs O(r x n) in total.
   */
  proposerAt(round: number): Readonly<ValidatorEntry> {
    if (!Number.isSafeInteger(round) || round < 0) throw new RangeError(`round must be a non-negative integer, got ${round}`);
    if (round === 0) return this.proposer();
    if (this.#roundPriorities === undefined) {
      this.#roundPriorities = this.#normalised();
      this.#roundProposers = [];
    }
    while (this.#roundProposers.length < round) {
      // #roundPriorities holds the priorities after #roundProposers.length steps from this set.
      this.#step(this.#roundPriorities);
      const after = this.#roundPriorities.slice();
      // The proposer of the set after k steps is what its own next step picks: normalise, add powers, argmax.
      this.#normalise(after);
      for (let i = 0; i < after.length; i++) after[i] += this.validators[i].power;
      this.#roundProposers.push(this.#argmax(after));
    }
    return this.validators[this.#roundProposers[round - 1]];
  }

  /** A new set, `times` round-robin steps ahead (rescale and centre once, then `times` steps). */
  incrementProposerPriority(times: number): ValidatorSet {
    if (!Number.isSafeInteger(times) || times < 0) throw new RangeError(`times must be a non-negative integer, got ${times}`);
    if (times === 0) return this;
    const prios = this.#normalised();
    for (let k = 0; k < times; k++) this.#step(prios);
    return this.#withPriorities(prios);
  }

  /**
   * A new set with validator updates applied (CometBFT's rules): power 0 removes a validator (it must be in the set),
   * a new power replaces the old one (the priority is kept), a new validator starts at priority
   * -(T + T/8) where T is the new total power (so it does not propose at once); then the priorities are rescaled and
   * centred. Throws AppError('INVALID_FIELD') on a bad key, a negative power, a key listed twice, removing an unknown
   * validator, or a result that is empty.
   */
  updateWithChanges(changes: readonly ValidatorChange[]): ValidatorSet {
    const byAddr = new Map<string, ValidatorEntry>();
    for (const v of this.validators) byAddr.set(toHex(v.address), { ...v });
    const seen = new Set<string>();
    const added: ValidatorEntry[] = [];
    changes.forEach((c, i) => {
      if (c.pubKey.length !== PUBKEY_LENGTH) invalid(`changes[${i}].pub_key must be ${PUBKEY_LENGTH} bytes`, { index: i });
      if (c.power < 0n) invalid(`changes[${i}].power must not be negative, got ${c.power}`, { index: i });
      const address = addressOf(c.pubKey);
      const key = toHex(address);
      if (seen.has(key)) invalid(`validator ${key} is changed twice in one update`, { address: key });
      seen.add(key);
      const existing = byAddr.get(key);
      if (c.power === 0n) {
        if (existing === undefined) invalid(`cannot remove validator ${key}: it is not in the set`, { address: key });
        byAddr.delete(key);
      } else if (existing !== undefined) {
        existing.power = c.power;
      } else {
        const entry = { address, pubKey: c.pubKey, power: c.power, proposerPriority: 0n };
        byAddr.set(key, entry);
        added.push(entry);
      }
    });
    const entries = [...byAddr.values()];
    if (entries.length === 0) invalid('the update would leave the validator set empty');
    let total = 0n;
    for (const v of entries) total += v.power;
    const start = -(total + total / 8n);
    for (const v of added) v.proposerPriority = start;
    entries.sort(byPowerThenAddress);
    const set = new ValidatorSet(entries, TRUSTED);
    const prios = set.validators.map((v) => v.proposerPriority);
    set.#normalise(prios);
    return set.#withPriorities(prios);
  }

  // ---- internals ----

  #withPriorities(prios: bigint[]): ValidatorSet {
    return new ValidatorSet(
      this.validators.map((v, i) => ({ address: v.address, pubKey: v.pubKey, power: v.power, proposerPriority: prios[i] })),
      TRUSTED,
    );
  }

  #normalised(): bigint[] {
    const prios = this.validators.map((v) => v.proposerPriority);
    this.#normalise(prios);
    return prios;
  }

  /** Rescales so that max - min <= 2 x totalPower, then shifts so that the average is zero (floor). In place. */
  #normalise(prios: bigint[]): void {
    const n = prios.length;
    let min = prios[0];
    let max = prios[0];
    for (const p of prios) {
      if (p < min) min = p;
      if (p > max) max = p;
    }
    const diffMax = 2n * this.totalPower;
    const diff = max - min;
    if (diff > diffMax) {
      const ratio = (diff + diffMax - 1n) / diffMax; // ceil
      for (let i = 0; i < n; i++) prios[i] = prios[i] / ratio; // truncates towards zero
    }
    let sum = 0n;
    for (const p of prios) sum += p;
    const avg = floorDiv(sum, BigInt(n));
    if (avg !== 0n) for (let i = 0; i < n; i++) prios[i] -= avg;
  }

  /** One round-robin step, in place; returns the index picked. */
  #step(prios: bigint[]): number {
    for (let i = 0; i < prios.length; i++) prios[i] += this.validators[i].power;
    const picked = this.#argmax(prios);
    prios[picked] -= this.totalPower;
    return picked;
  }

  /** Index of the highest priority; ties go to the lowest address. */
  #argmax(prios: readonly bigint[]): number {
    let best = 0;
    for (let i = 1; i < prios.length; i++) {
      if (prios[i] > prios[best] || (prios[i] === prios[best] && compareBytes(this.validators[i].address, this.validators[best].address) < 0)) {
        best = i;
      }
    }
    return best;
  }
}
