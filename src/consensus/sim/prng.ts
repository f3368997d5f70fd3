// The one seeded PRNG of a simulation run: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 32-bit),
// its state filled from the seed by splitmix32. Deterministic, fast, and good enough for drawing latencies and
// coin flips; never for keys or anything that must be unpredictable.

/** splitmix32: a stream of well-mixed 32-bit words from a 32-bit seed. */
export function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** seed: an integer in [0, 2^32). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
    const mix = splitmix32(seed);
    this.#a = mix();
    this.#b = mix();
    this.#c = mix();
    this.#d = mix();
    for (let i = 0; i < 12; i++) this.u32(); // discard the first outputs, as sfc32's author advises
  }

  /** A uniform 32-bit unsigned integer (sfc32). */
  u32(): number {
    const a = this.#a;
    const b = this.#b;
    const c = this.#c;
    const d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const c2 = (c << 21) | (c >>> 11);
    this.#c = (c2 + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform real in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.float();
  }

  /** Uniform integer in [0, n), n >= 1 (multiply-shift; the bias is below 2^-32 x n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** True with probability p. Draws nothing when p <= 0, so a zero-probability feature does not shift the stream. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}
