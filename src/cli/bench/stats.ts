// Order statistics of timing samples (lowbit bench, npm run bench, bench:server).

/** The q-quantile (0 ≤ q ≤ 1) of `xs` by linear interpolation between order statistics. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export interface Summary {
  median: number;
  p10: number;
  p90: number;
  n: number;
}

export function summarize(xs: readonly number[]): Summary {
  return { median: quantile(xs, 0.5), p10: quantile(xs, 0.1), p90: quantile(xs, 0.9), n: xs.length };
}
