import t from 'tap';
import { ValidatorSet, type ValidatorEntry } from '../src/consensus/validator-set.ts';
import { addressOf, generateKeyPair } from '../src/crypto/keys.ts';
import { compareBytes, toHex } from '../src/crypto/bytes.ts';
import { merkleRoot } from '../src/crypto/merkle.ts';
import { SimpleValidatorCodec } from '../src/codec/types.ts';
import { AppError } from '../src/errors.ts';

// A tiny seeded PRNG (mulberry32) for the property tests: replays exactly from its seed.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** n keys sorted by address, so that keys[0] is "A" (lowest address), keys[1] "B", ... */
function keysByAddress(n: number, offset = 1): { pubKey: Uint8Array; address: Uint8Array }[] {
  const ks = Array.from({ length: n }, (_, i) => {
    const kp = generateKeyPair(new Uint8Array(32).fill(offset + i));
    return { pubKey: kp.publicKey, address: addressOf(kp.publicKey) };
  });
  return ks.sort((a, b) => compareBytes(a.address, b.address));
}

function makeSet(powers: bigint[], priorities?: bigint[]): { set: ValidatorSet; names: Map<string, string> } {
  const ks = keysByAddress(powers.length);
  const names = new Map<string, string>();
  ks.forEach((k, i) => names.set(toHex(k.address), String.fromCharCode(65 + i)));
  const set = new ValidatorSet(ks.map((k, i) => ({ ...k, power: powers[i], proposerPriority: priorities?.[i] ?? 0n })));
  return { set, names };
}

function proposerSequence(set: ValidatorSet, names: Map<string, string>, n: number): string {
  const out: string[] = [];
  let s = set;
  for (let i = 0; i < n; i++) {
    out.push(names.get(toHex(s.proposer().address))!);
    s = s.incrementProposerPriority(1);
  }
  return out.join('');
}

function prioritiesByName(set: ValidatorSet, names: Map<string, string>): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const v of set.validators) out[names.get(toHex(v.address))!] = v.proposerPriority;
  return out;
}

t.test('hand-worked proposer rotations', async (t) => {
  // Names A, B, C... are in address order. One step: p += power; pick max (tie: lowest address); picked -= total.
  // proposer() is what the next step picks.
  //
  // [1,1,1], priorities 0, total 3:
  //   (0,0,0)   +1 -> (1,1,1)    pick A -> (-2,1,1)
  //   (-2,1,1)  +1 -> (-1,2,2)   pick B -> (-1,-1,2)
  //   (-1,-1,2) +1 -> (0,0,3)    pick C -> (0,0,0)     ... A B C A B C
  //
  // [A:3, B:1], total 4:
  //   (0,0) +p -> (3,1) pick A -> (-1,1); +p -> (2,2) tie: A -> (-2,2); +p -> (1,3) pick B -> (1,-1);
  //   +p -> (4,0) pick A -> (0,0)                         ... A A B A
  // [A:1, B:3] (the heavy validator has the higher address), total 4:
  //   (0,0) +p -> (1,3) pick B -> (1,-1); +p -> (2,2) tie: A -> (-2,2); +p -> (-1,5) pick B -> (-1,1);
  //   +p -> (0,4) pick B -> (0,0)                         ... B A B B
  // [A:2, B:1, C:1], total 4:
  //   (0,0,0) -> (2,1,1) A -> (-2,1,1) -> (0,2,2) B -> (0,-2,2) -> (2,-1,3) C -> (2,-1,-1)
  //   -> (4,0,0) A -> (0,0,0)                             ... A B C A
  const rows: { powers: bigint[]; expect: string }[] = [
    { powers: [1n, 1n, 1n], expect: 'ABCABCABC' },
    { powers: [3n, 1n], expect: 'AABAAABA' },
    { powers: [1n, 3n], expect: 'BABBBABB' },
    { powers: [2n, 1n, 1n], expect: 'ABCAABCA' },
  ];
  for (const { powers, expect } of rows) {
    const { set, names } = makeSet(powers);
    t.equal(proposerSequence(set, names, expect.length), expect, `powers [${powers.join(',')}]`);
  }
});

t.test('priorities after steps, and proposerAt(r) == incrementProposerPriority(r).proposer()', async (t) => {
  const { set, names } = makeSet([1n, 1n, 1n]);
  t.same(prioritiesByName(set.incrementProposerPriority(1), names), { A: -2n, B: 1n, C: 1n });
  t.same(prioritiesByName(set.incrementProposerPriority(2), names), { A: -1n, B: -1n, C: 2n });
  t.same(prioritiesByName(set.incrementProposerPriority(3), names), { A: 0n, B: 0n, C: 0n });
  t.equal(set.incrementProposerPriority(0), set, 'zero steps is the same set');

  const big = makeSet([7n, 5n, 3n, 2n, 1n, 1n]);
  for (let r = 0; r < 60; r++) {
    const a = big.set.proposerAt(r).address;
    const b = big.set.incrementProposerPriority(r).proposer().address;
    if (toHex(a) !== toHex(b)) t.fail(`round ${r}: proposerAt ${toHex(a)} != incremented ${toHex(b)}`);
  }
  // asking for a lower round after a higher one uses the cache
  t.equal(toHex(big.set.proposerAt(3).address), toHex(big.set.incrementProposerPriority(3).proposer().address));
  t.pass('proposerAt agrees for rounds 0..59');
});

t.test('rescaling and centring before a batch of steps', async (t) => {
  // [A:1, B:1] with priorities (100, -100): spread 200 > 2 x total = 4, ratio = ceil(200 / 4) = 50 -> (2, -2);
  // average 0; step: (3, -1) pick A -> (1, -1).
  const { set, names } = makeSet([1n, 1n], [100n, -100n]);
  t.same(prioritiesByName(set.incrementProposerPriority(1), names), { A: 1n, B: -1n });
  // (10, 4): spread 6 > 4 -> ratio 2 -> (5, 2); average floor(7/2) = 3 -> (2, -1); step (3, 0) pick A -> (1, 0)
  const b = makeSet([1n, 1n], [10n, 4n]);
  t.same(prioritiesByName(b.set.incrementProposerPriority(1), b.names), { A: 1n, B: 0n });
  // negative average rounds down: (-3, -4) -> spread 1; avg floor(-7/2) = -4 -> (1, 0); step (2, 1) A -> (0, 1)
  const c = makeSet([1n, 1n], [-3n, -4n]);
  t.same(prioritiesByName(c.set.incrementProposerPriority(1), c.names), { A: 0n, B: 1n });
});

t.test('updateWithChanges: additions start at -1.125 x total, removals, power changes; then recentred', async (t) => {
  const ks = keysByAddress(4);
  const base = new ValidatorSet(ks.slice(0, 3).map((k) => ({ ...k, power: 1n, proposerPriority: 0n })));
  // add D (power 1): total 4, D starts at -(4 + 4/8) = -4; sum -4, average -1 -> A,B,C = 1, D = -3
  const added = base.updateWithChanges([{ pubKey: ks[3].pubKey, power: 1n }]);
  t.same(added.validators.map((v) => v.proposerPriority), [1n, 1n, 1n, -3n]);
  t.equal(added.totalPower, 4n);
  // the newcomer does not propose next: (2,2,2,-2) -> A
  t.equal(toHex(added.proposer().address), toHex(ks[0].address));

  // [A:10, B:10] + C:20: total 40, C starts at -(40 + 5) = -45; average floor(-45/3) = -15 -> A,B = 15, C = -30
  const ab = new ValidatorSet(ks.slice(0, 2).map((k) => ({ ...k, power: 10n, proposerPriority: 0n })));
  const abc = ab.updateWithChanges([{ pubKey: ks[2].pubKey, power: 20n }]);
  t.equal(toHex(abc.validators[0].address), toHex(ks[2].address), 'heaviest first');
  t.equal(abc.byAddress(ks[2].address)!.proposerPriority, -30n);
  t.equal(abc.byAddress(ks[0].address)!.proposerPriority, 15n);
  t.equal(abc.byAddress(ks[1].address)!.proposerPriority, 15n);

  // removal and a power change keep the others' priorities (then recentre)
  const stepped = added.incrementProposerPriority(1); // (1,1,1,-3) -> +1 -> (2,2,2,-2) pick A -> (-2,2,2,-2)
  t.same(stepped.validators.map((v) => v.proposerPriority), [-2n, 2n, 2n, -2n]);
  const removed = stepped.updateWithChanges([{ pubKey: ks[1].pubKey, power: 0n }]);
  // left A:-2, C:2, D:-2; sum -2, average floor(-2/3) = -1 -> A:-1, C:3, D:-1
  t.same(removed.validators.map((v) => [toHex(v.address), v.proposerPriority]), [
    [toHex(ks[0].address), -1n],
    [toHex(ks[2].address), 3n],
    [toHex(ks[3].address), -1n],
  ]);
  const changed = stepped.updateWithChanges([{ pubKey: ks[3].pubKey, power: 5n }]);
  t.equal(toHex(changed.validators[0].address), toHex(ks[3].address), 'D moves first with power 5');
  t.equal(changed.byAddress(ks[3].address)!.power, 5n);
  t.equal(changed.totalPower, 8n);
  t.equal(stepped.totalPower, 4n, 'the original set is unchanged');
});

t.test('rejections are coded AppErrors', async (t) => {
  const ks = keysByAddress(3);
  const good = ks.map((k) => ({ ...k, power: 1n, proposerPriority: 0n }));
  const set = new ValidatorSet(good);
  const cases: [string, () => unknown][] = [
    ['empty set', () => new ValidatorSet([])],
    ['duplicate address', () => new ValidatorSet([good[0], good[1], { ...good[0] }])],
    ['zero power', () => new ValidatorSet([good[0], { ...good[1], power: 0n }])],
    ['negative power', () => new ValidatorSet([{ ...good[0], power: -1n }])],
    ['address not derived from the key', () => new ValidatorSet([{ ...good[0], address: good[1].address }])],
    ['removing an unknown validator', () => set.updateWithChanges([{ pubKey: keysByAddress(1, 99)[0].pubKey, power: 0n }])],
    ['removing everyone', () => set.updateWithChanges(ks.map((k) => ({ pubKey: k.pubKey, power: 0n })))],
    ['the same key twice', () => set.updateWithChanges([{ pubKey: ks[0].pubKey, power: 2n }, { pubKey: ks[0].pubKey, power: 3n }])],
    ['negative change', () => set.updateWithChanges([{ pubKey: ks[0].pubKey, power: -2n }])],
  ];
  for (const [name, fn] of cases) {
    let caught: unknown = null;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    t.ok(caught instanceof AppError && caught.code === 'INVALID_FIELD', `${name}: ${(caught as Error | null)?.message}`);
  }
});

t.test('order, lookups, thresholds', async (t) => {
  const ks = keysByAddress(4);
  const set = new ValidatorSet([
    { ...ks[3], power: 5n, proposerPriority: 0n },
    { ...ks[0], power: 1n, proposerPriority: 0n },
    { ...ks[2], power: 5n, proposerPriority: 0n },
    { ...ks[1], power: 2n, proposerPriority: 0n },
  ]);
  // power descending, then address ascending
  t.same(set.validators.map((v) => toHex(v.address)), [ks[2], ks[3], ks[1], ks[0]].map((k) => toHex(k.address)));
  t.equal(set.indexOf(ks[1].address), 2);
  t.equal(set.indexOf(keysByAddress(1, 77)[0].address), -1);
  t.equal(set.byAddress(ks[0].address)!.power, 1n);
  t.equal(set.totalPower, 13n);
  // quorum: more than 2/3 of 13 = 8.67 -> 9; f+1: more than 1/3 = 4.33 -> 5
  t.equal(set.quorum, 9n);
  t.equal(set.twoThirdsPlusOne(), 9n);
  t.equal(set.oneThirdPlus, 5n);
  const thresholds: [total: bigint[], quorum: bigint, oneThird: bigint][] = [
    [[1n, 1n, 1n], 3n, 2n], // exactly 2/3 (2) is not a quorum
    [[1n, 1n, 1n, 1n], 3n, 2n],
    [[2n, 2n, 2n], 5n, 3n], // total 6: 4 is exactly 2/3
    [[100n], 67n, 34n],
  ];
  for (const [powers, quorum, oneThird] of thresholds) {
    const s = makeSet(powers).set;
    t.equal(s.quorum, quorum, `quorum of [${powers.join(',')}]`);
    t.equal(s.oneThirdPlus, oneThird, `f+1 of [${powers.join(',')}]`);
  }
});

t.test('hash: merkle root of (pubKey, power) in set order; changes with power, not with priority', async (t) => {
  const ks = keysByAddress(3);
  const set = new ValidatorSet(ks.map((k, i) => ({ ...k, power: BigInt(3 - i), proposerPriority: 0n })));
  const expected = merkleRoot(set.validators.map((v) => SimpleValidatorCodec.encode({ pubKey: v.pubKey, votingPower: v.power })));
  t.equal(toHex(set.hash()), toHex(expected));
  t.equal(toHex(set.incrementProposerPriority(5).hash()), toHex(set.hash()), 'priorities are not hashed');
  const changed = set.updateWithChanges([{ pubKey: ks[2].pubKey, power: 2n }]);
  t.not(toHex(changed.hash()), toHex(set.hash()), 'a power change changes the hash');
  const again = set.updateWithChanges([{ pubKey: ks[2].pubKey, power: 1n }]);
  t.equal(toHex(again.hash()), toHex(set.hash()), 'the same powers give the same hash');
});

t.test('property: each validator proposes about power/total of the time', async (t) => {
  const rand = prng(20260101);
  let worst = 0;
  for (let trial = 0; trial < 40; trial++) {
    const n = 2 + Math.floor(rand() * 9);
    const powers = Array.from({ length: n }, () => BigInt(1 + Math.floor(rand() * 100)));
    const entries: ValidatorEntry[] = keysByAddress(n, 1 + trial * 16).map((k, i) => ({ ...k, power: powers[i], proposerPriority: 0n }));
    let set = new ValidatorSet(entries);
    const steps = 2000;
    const counts = new Map<string, number>();
    for (let i = 0; i < steps; i++) {
      const key = toHex(set.proposer().address);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      set = set.incrementProposerPriority(1);
    }
    for (const v of set.validators) {
      // |count - steps x power / total| <= 1, compared exactly: |count x total - steps x power| <= total
      const count = BigInt(counts.get(toHex(v.address)) ?? 0);
      const diff = count * set.totalPower - BigInt(steps) * v.power;
      const abs = diff < 0n ? -diff : diff;
      const off = Number(abs) / Number(set.totalPower);
      if (off > worst) worst = off;
      if (abs > set.totalPower) t.fail(`trial ${trial}: power ${v.power}/${set.totalPower} proposed ${count} of ${steps}`);
    }
  }
  t.ok(worst <= 1, `worst deviation ${worst.toFixed(3)} proposals`);
});
