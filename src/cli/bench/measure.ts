// Timing for `lowbit bench`: each runtime is warmed up (which also estimates its time per run),
// then every runtime runs once per round, round-robin with a rotating start, so drift of the
// machine hits all of them alike; the number of rounds gives the slowest runtime about
// `seconds` of timed runs.

import type { BenchRuntime, Output, RuntimeId } from './runtimes.js';
import { summarize, type Summary } from './stats.js';

export interface TimingPlan {
  /** Timed seconds for the slowest runtime. */
  seconds: number;
  /** Warm-up: at least this many runs and this many seconds per runtime. */
  warmupRuns: number;
  warmupSeconds: number;
  minRuns: number;
  maxRuns: number;
}

export interface Progress {
  /** `done` of `total` runs of the current phase. */
  update(phase: string, done: number, total: number): void;
  end(): void;
}

async function timed(rt: BenchRuntime): Promise<number> {
  const t0 = performance.now();
  await rt.run();
  return performance.now() - t0;
}

/** The first run's outputs of every runtime (before warm-up: a wrong first answer counts). */
export async function firstOutputs(runtimes: readonly BenchRuntime[]): Promise<Map<RuntimeId, Record<string, Output>>> {
  const out = new Map<RuntimeId, Record<string, Output>>();
  for (const rt of runtimes) out.set(rt.id, await rt.run());
  return out;
}

export async function measure(runtimes: readonly BenchRuntime[], plan: TimingPlan, progress: Progress): Promise<{ timings: Map<RuntimeId, Summary>; rounds: number }> {
  const estimate = new Map<RuntimeId, number>();
  for (const rt of runtimes) {
    const samples: number[] = [];
    const t0 = performance.now();
    while (samples.length < plan.warmupRuns || performance.now() - t0 < plan.warmupSeconds * 1000) {
      samples.push(await timed(rt));
      progress.update(`warming up ${rt.id}`, Math.min(performance.now() - t0, plan.warmupSeconds * 1000), plan.warmupSeconds * 1000);
    }
    estimate.set(rt.id, summarize(samples.slice(-plan.warmupRuns)).median);
  }
  const slowest = Math.max(...estimate.values());
  const rounds = Math.min(plan.maxRuns, Math.max(plan.minRuns, Math.ceil((plan.seconds * 1000) / Math.max(slowest, 1e-3))));
  const samples = new Map<RuntimeId, number[]>(runtimes.map((r) => [r.id, []]));
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < runtimes.length; j++) {
      const rt = runtimes[(i + j) % runtimes.length];
      samples.get(rt.id)!.push(await timed(rt));
    }
    progress.update('timing', i + 1, rounds);
  }
  progress.end();
  return { timings: new Map([...samples].map(([id, xs]) => [id, summarize(xs)])), rounds };
}

/**
 * Largest |a − b| over every element of every output of `ref`: NaN when names or shapes differ
 * or only one side is NaN (NaN against NaN and equal infinities count as equal).
 */
export function maxAbsDiff(a: Record<string, Output>, ref: Record<string, Output>): number {
  let max = 0;
  for (const [name, r] of Object.entries(ref)) {
    const o = a[name];
    if (!o || o.data.length !== r.data.length || o.dims.join() !== r.dims.join()) return NaN;
    for (let i = 0; i < r.data.length; i++) {
      const x = Number(o.data[i]);
      const y = Number(r.data[i]);
      if (Number.isNaN(x) || Number.isNaN(y)) {
        if (Number.isNaN(x) && Number.isNaN(y)) continue;
        return NaN;
      }
      if (x !== y) max = Math.max(max, Math.abs(x - y));
    }
  }
  return max;
}
