// The invariants a simulation run is judged by. Fed by the simulation as things happen; knows nothing of the
// network, so a test can also feed it by hand (a forged fork must be caught).
//
// Agreement (safety): no two honest nodes decide different values at one height. Checked at every honest decision,
//   which is the only event that can break it, so it holds after every processed event.
// Validity: a value an honest node decides was proposed, at that height, by the proposer of some round of it.
// Single decision: an honest node decides a height at most once.
// No false evidence: no honest node reports an equivocation of an honest validator.
// Evidence: a DOUBLE VOTE is a slot (validator, height, round, vote type) for which honest nodes accepted at least two
//   different block ids (nil counts as one), each accepted by at least one honest node. "Accepted" means that the
//   node handed the vote to its consensus for that height: to the core while at that height (a vote that arrived
//   one height early counts when that height starts and the buffered vote is fed), or to the vote keeper the node
//   kept for a past height. The slot becomes a double vote when its second block id is accepted (time d). Every
//   double vote must end the run with evidence reported for it by some honest node (its core's `evidence` effect, or
//   an equivocation found by a kept past-height keeper), unless max(d, end of the last partition) + grace > end of
//   the run, the grace being the simulation's drain time: gossip needs a connected network and a little time to
//   bring the two halves of a split double vote together. Checked at the end of the run.

export class Checker {
  readonly violations: string[] = [];
  readonly #honest: readonly boolean[];
  /** height -> first honest decision. */
  readonly #decided = new Map<number, { node: number; value: string }>();
  /** node/height pairs decided, for the single-decision check. */
  readonly #decisions = new Set<string>();
  /** height -> values proposed by that height's proposers (any round). */
  readonly #proposed = new Map<number, Set<string>>();
  /** slot -> distinct block ids accepted by honest nodes. */
  readonly #slots = new Map<string, Set<number | string>>();
  /** slot -> time its second block id was accepted. */
  readonly #doubleAt = new Map<string, number>();
  readonly #evidence = new Set<string>();
  #delivered = 0;
  #found = 0;

  /** honest[i]: whether validator i is honest. */
  constructor(honest: readonly boolean[]) {
    this.#honest = honest;
  }

  static slot(validator: number, height: number, round: number, type: number): string {
    return `${validator}/${height}/${round}/${type}`;
  }

  /** A proposal for `value` was published at `height` by that round's proposer. */
  onProposed(height: number, value: string): void {
    let set = this.#proposed.get(height);
    if (set === undefined) this.#proposed.set(height, (set = new Set()));
    set.add(value);
  }

  /** Node `node` decided `value` at `height`. Returns the violation it caused, if any. */
  onDecide(node: number, height: number, value: string, at = 0): string | null {
    if (!this.#honest[node]) return null;
    const key = `${node}/${height}`;
    let violation: string | null = null;
    if (this.#decisions.has(key)) violation = `node ${node} decided height ${height} twice (t=${at} ms)`;
    this.#decisions.add(key);
    const first = this.#decided.get(height);
    if (first === undefined) {
      this.#decided.set(height, { node, value });
    } else if (first.value !== value) {
      violation = `agreement violated at height ${height}: node ${first.node} decided ${short(first.value)} but node ${node} decided ${short(value)} (t=${at} ms)`;
    }
    if (violation === null && !(this.#proposed.get(height)?.has(value) ?? false)) {
      violation = `validity violated at height ${height}: node ${node} decided ${short(value)}, which no proposer of that height proposed (t=${at} ms)`;
    }
    if (violation !== null) this.violations.push(violation);
    return violation;
  }

  /** An honest node accepted a vote of `validator` for `value` in (height, round, type). */
  onVoteAccepted(validator: number, height: number, round: number, type: number, value: number | string, at = 0): void {
    const slot = Checker.slot(validator, height, round, type);
    let set = this.#slots.get(slot);
    if (set === undefined) {
      this.#slots.set(slot, (set = new Set([value])));
      return;
    }
    if (set.has(value)) return;
    set.add(value);
    if (set.size === 2) {
      this.#delivered++;
      this.#doubleAt.set(slot, at);
      if (this.#evidence.has(slot)) this.#found++;
    }
  }

  /** Honest node `node` reported an equivocation of `validator` in (height, round, type). */
  onEvidence(node: number, validator: number, height: number, round: number, type: number, at = 0): void {
    if (!this.#honest[node]) return;
    if (this.#honest[validator]) {
      this.violations.push(`false evidence: node ${node} reported honest validator ${validator} for double voting at ${height}/${round}/type ${type} (t=${at} ms)`);
      return;
    }
    const slot = Checker.slot(validator, height, round, type);
    if (this.#evidence.has(slot)) return;
    this.#evidence.add(slot);
    if ((this.#slots.get(slot)?.size ?? 0) >= 2) this.#found++;
  }

  /** Double votes delivered (slots with two or more block ids accepted by honest nodes). */
  get doubleVotesDelivered(): number {
    return this.#delivered;
  }

  /** Delivered double votes for which some honest node reported evidence. */
  get evidenceFound(): number {
    return this.#found;
  }

  /** True when every delivered double vote has evidence. */
  get evidenceComplete(): boolean {
    return this.#found === this.#delivered;
  }

  /**
   * The double votes without evidence that should have it: those that became double votes at time d with
   * max(d, healedAt) + graceMs <= endAt (see the header). Defaults require evidence for all.
   */
  evidenceMissing(endAt = Infinity, healedAt = 0, graceMs = 0): string[] {
    const out: string[] = [];
    for (const [slot, values] of this.#slots) {
      if (values.size < 2 || this.#evidence.has(slot)) continue;
      const d = this.#doubleAt.get(slot) ?? 0;
      if (Math.max(d, healedAt) + graceMs > endAt) continue;
      const [v, h, r, t] = slot.split('/');
      out.push(`validator ${v} cast ${values.size} different ${t === '1' ? 'prevotes' : 'precommits'} at ${h}/${r} (a double vote from t=${d} ms), accepted by honest nodes, but no honest node reported evidence`);
    }
    return out;
  }
}

function short(value: string): string {
  return value === '' ? 'nil' : value.slice(0, 12);
}
