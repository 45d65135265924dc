// Timing for `lowbit bench` and `npm run bench`: each runtime is warmed up (which also estimates
// its time per run), then the runtimes take turns in rounds, each running a block of consecutive
// runs of about `blockMs` (at least two), with a rotating start. A block's first run comes right
// after the other runtimes' blocks, whose data fill the caches and the TLB: it is timed apart
// ("cold"). The others are the runtime's steady state, as an application running the model again
// and again sees it — the headline numbers. Blocks are short against the drift of a shared
// machine's speed (seconds), so the drift still hits every runtime alike.

import type { BenchRuntime, Output, RuntimeId } from './runtimes.js';
import { summarize, type Summary } from './stats.js';

export interface TimingPlan {
  /** Timed milliseconds per runtime, about (the runtime with the longest blocks decides the rounds). */
  targetMs: number;
  /** A block of one runtime's consecutive runs lasts about this long (at least 2 runs). */
  blockMs: number;
  /** Warm-up: at least this many runs and this many milliseconds per runtime. */
  warmupRuns: number;
  warmupMs: number;
  /** At least this many steady runs per runtime; at most this many rounds. */
  minRuns: number;
  maxRounds: number;
}

export interface BlockTiming {
  /** Runs 2… of every block: the steady state. */
  steady: Summary;
  /** The first run of every block, right after the other runtimes' blocks. */
  cold: Summary;
  /** Runs per block. */
  block: number;
}

export interface Progress {
  /** `done` of `total` of the current phase. */
  update(phase: string, done: number, total: number): void;
  end(): void;
}

/** Something timed: an id and one run. */
export interface Timed<Id extends string> {
  id: Id;
  run(): Promise<unknown>;
}

/** Runs per block: blockMs of runs of `estimate` ms, at least 2, at most 256. */
export function blockRuns(estimate: number, blockMs: number): number {
  return Math.min(256, Math.max(2, Math.round(blockMs / Math.max(estimate, 1e-3))));
}

/**
 * Rounds: enough for the slowest runtime's blocks to add up to about plan.targetMs and for every
 * runtime to have plan.minRuns steady runs, within plan.maxRounds.
 */
export function roundsFor(estimates: readonly number[], plan: TimingPlan): number {
  const blocks = estimates.map((e) => blockRuns(e, plan.blockMs));
  const longest = Math.max(...estimates.map((e, i) => e * blocks[i]));
  const forRuns = Math.max(...blocks.map((b) => Math.ceil(plan.minRuns / (b - 1))));
  return Math.max(1, Math.min(plan.maxRounds, Math.max(forRuns, Math.ceil(plan.targetMs / Math.max(longest, 1e-3)))));
}

async function timeRun(t: Timed<string>): Promise<number> {
  const t0 = performance.now();
  await t.run();
  return performance.now() - t0;
}

const NO_PROGRESS: Progress = { update() {}, end() {} };

/**
 * Warms each of `timed` up, then times them in roundsFor(…) rounds of blocks (blockRuns(…) runs
 * each, per runtime), rotating which runtime starts a round.
 */
export async function timeInBlocks<Id extends string>(
  timed: readonly Timed<Id>[], plan: TimingPlan, progress: Progress = NO_PROGRESS,
): Promise<{ timings: Map<Id, BlockTiming>; rounds: number }> {
  if (timed.length === 0) return { timings: new Map(), rounds: 0 };
  const estimate = new Map<Id, number>();
  for (const t of timed) {
    const samples: number[] = [];
    const t0 = performance.now();
    while (samples.length < plan.warmupRuns || performance.now() - t0 < plan.warmupMs) {
      samples.push(await timeRun(t));
      progress.update(`warming up ${t.id}`, Math.min(performance.now() - t0, plan.warmupMs), plan.warmupMs);
    }
    estimate.set(t.id, summarize(samples.slice(-plan.warmupRuns)).median);
  }
  const rounds = roundsFor([...estimate.values()], plan);
  const block = new Map(timed.map((t) => [t.id, blockRuns(estimate.get(t.id)!, plan.blockMs)]));
  const steady = new Map<Id, number[]>(timed.map((t) => [t.id, []]));
  const cold = new Map<Id, number[]>(timed.map((t) => [t.id, []]));
  for (let i = 0; i < rounds; i++) {
    // Rotate the starting runtime so none always runs right after the same other one.
    for (let j = 0; j < timed.length; j++) {
      const t = timed[(i + j) % timed.length];
      cold.get(t.id)!.push(await timeRun(t));
      for (let r = 1; r < block.get(t.id)!; r++) steady.get(t.id)!.push(await timeRun(t));
    }
    progress.update('timing', i + 1, rounds);
  }
  progress.end();
  const timings = new Map(timed.map((t) => [t.id, { steady: summarize(steady.get(t.id)!), cold: summarize(cold.get(t.id)!), block: block.get(t.id)! }]));
  return { timings, rounds };
}

/** The first run's outputs of every runtime (before warm-up: a wrong first answer counts). */
export async function firstOutputs(runtimes: readonly BenchRuntime[]): Promise<Map<RuntimeId, Record<string, Output>>> {
  const out = new Map<RuntimeId, Record<string, Output>>();
  for (const rt of runtimes) out.set(rt.id, await rt.run());
  return out;
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
