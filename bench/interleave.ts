/** Orders for interleaving: round r starts with the r-th target, so noise hits all alike. */

export const rotate = <T>(xs: readonly T[], by: number): T[] =>
  xs.map((_, i) => xs[(i + by) % xs.length]!);

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
