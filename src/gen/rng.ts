/**
 * The generator's only source of randomness: mulberry32 (a 32-bit state, one
 * add and two multiplies per draw), seeded from the user's `--seed` and the
 * workload's name. Never Math.random: the same parameters give the same bytes.
 */

/** 32-bit avalanche (murmur3's finaliser). */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The initial state for a seed (any non-negative integer, folded 32 bits at a
 * time) and a salt (the workload's name), so two workloads with the same seed
 * do not share a stream.
 */
export function seedState(seed: bigint, salt: string): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < salt.length; i++) h = mix32(h ^ salt.charCodeAt(i));
  let rest = seed < 0n ? -seed : seed;
  do {
    h = mix32(h ^ Number(rest & 0xffffffffn));
    h = mix32(h + 0x6d2b79f5);
    rest >>= 32n;
  } while (rest > 0n);
  return h;
}

export class Rng {
  private state: number;

  constructor(state: number) {
    this.state = state | 0;
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    const a = this.state;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform integer in [0, n), n ≥ 1 (bias below 2^-20 for the n used here). */
  below(n: number): number {
    return this.next() % n;
  }

  /** A uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }

  /** True with probability permille / 1000. */
  chance(permille: number): boolean {
    return this.next() % 1000 < permille;
  }
}
