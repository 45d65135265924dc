// The benchmarks' order statistics are the CLI's (src/cli/bench/stats.ts).
export { quantile, summarize, type Summary } from '../../src/cli/bench/stats.js';
