// Measuring one row: load the model in every runtime, check each output against onnxruntime-node,
// warm up, then time the runtimes round-robin so machine drift hits all of them alike.

import { compareOutput, type Tolerance } from '../../scripts/lib/differential.js';
import type { BenchCase } from './models.js';
import type { LoadedModel, Output, Runtime, RuntimeId } from './runtimes.js';
import { summarize, type Summary } from './stats.js';

export interface TimingPlan {
  /** Time each runtime for about this long per row… */
  targetMs: number;
  /** …but at least this many and at most this many iterations. */
  minIters: number;
  maxIters: number;
  /** Warm-up: at least this many runs per runtime and at least this long. */
  warmupRuns: number;
  warmupMs: number;
}

export const FULL_PLAN: TimingPlan = { targetMs: 1500, minIters: 20, maxIters: 2000, warmupRuns: 5, warmupMs: 300 };
export const QUICK_PLAN: TimingPlan = { targetMs: 100, minIters: 5, maxIters: 200, warmupRuns: 2, warmupMs: 0 };

/** Agreement of one runtime's outputs with onnxruntime-node's. */
export interface Agreement {
  max_abs: number;
  max_rel: number;
  ok: boolean;
}

/** A timed column: a runtime on the row's model, or onnxruntime-web on its int8 twin. */
export type TimedId = RuntimeId | 'ortweb_int8';

export interface RowMeasurement {
  timings: Partial<Record<TimedId, Summary>>;
  agreement: Partial<Record<TimedId, Agreement>>;
  /** Why a column was not timed, by column. */
  errors: Partial<Record<TimedId, string>>;
  iterations: number;
}

/** A second model of the same layer (the int8 twin), timed on onnxruntime-web as 'ortweb_int8'. */
export interface Twin {
  c: BenchCase;
  /** Agreement of onnxruntime-web with onnxruntime-node on the twin. */
  tol: Tolerance;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0];

function agreement(outs: Record<string, Output>, ref: Record<string, Output>, tol: Tolerance): Agreement {
  const names = [...new Set([...Object.keys(ref), ...Object.keys(outs)])];
  const reports = names.map((n) => compareOutput(n, outs[n], ref[n], tol));
  return {
    max_abs: Math.max(...reports.map((r) => r.maxAbsError)),
    max_rel: Math.max(...reports.map((r) => r.maxRelError)),
    ok: reports.every((r) => r.ok),
  };
}

async function timeRun(m: LoadedModel): Promise<number> {
  const t0 = performance.now();
  await m.run();
  return performance.now() - t0;
}

/**
 * Warms each loaded model up, then times them round-robin for the same number of iterations:
 * enough for the slowest to take about plan.targetMs, within [minIters, maxIters].
 */
export async function timeRoundRobin<Id extends string>(
  timed: readonly { id: Id; model: LoadedModel }[],
  plan: TimingPlan,
): Promise<{ timings: Partial<Record<Id, Summary>>; iterations: number }> {
  if (timed.length === 0) return { timings: {}, iterations: 0 };
  // Warm-up also estimates each runtime's time per run, which sizes the timed loop.
  const estimate = new Map<Id, number>();
  for (const t of timed) {
    const samples: number[] = [];
    const t0 = performance.now();
    while (samples.length < plan.warmupRuns || performance.now() - t0 < plan.warmupMs) samples.push(await timeRun(t.model));
    estimate.set(t.id, summarize(samples.slice(-plan.warmupRuns)).median);
  }
  const slowest = Math.max(...estimate.values());
  const iters = Math.min(plan.maxIters, Math.max(plan.minIters, Math.ceil(plan.targetMs / slowest)));

  const samples = new Map<Id, number[]>(timed.map((t) => [t.id, []]));
  for (let i = 0; i < iters; i++) {
    // Rotate the starting runtime so none always runs right after another's cache footprint.
    for (let j = 0; j < timed.length; j++) {
      const t = timed[(i + j) % timed.length];
      samples.get(t.id)!.push(await timeRun(t.model));
    }
  }
  const timings: Partial<Record<Id, Summary>> = {};
  for (const [id, xs] of samples) timings[id] = summarize(xs);
  return { timings, iterations: iters };
}

/** Loads c on rt and checks its outputs against ref's; records why not in out.errors[id]. */
async function loadChecked(
  out: RowMeasurement, id: TimedId, rt: Runtime, c: BenchCase, ref: Record<string, Output>, tol: Tolerance,
): Promise<LoadedModel | undefined> {
  try {
    const m = await rt.load(id === 'lowbit' ? c.model : c.ortModel ?? c.model, c.feeds);
    const a = agreement(await m.run(), ref, tol);
    out.agreement[id] = a;
    if (a.ok) return m;
    out.errors[id] = `output differs from ort-node (max abs ${a.max_abs.toExponential(2)}, max rel ${a.max_rel.toExponential(2)})`;
    await m.release();
  } catch (e) {
    out.errors[id] = message(e);
  }
  return undefined;
}

/**
 * Checks every runtime (and onnxruntime-web on the twin) against onnxruntime-node, then times
 * them all round-robin in one window.
 */
export async function measureRow(c: BenchCase, runtimes: readonly Runtime[], tol: Tolerance, plan: TimingPlan, twin?: Twin): Promise<RowMeasurement> {
  const out: RowMeasurement = { timings: {}, agreement: {}, errors: {}, iterations: 0 };
  const reference = runtimes.find((r) => r.id === 'ortnode');
  if (!reference) throw new Error('bench: onnxruntime-node is the reference and must be among the runtimes');
  const timed: { id: TimedId; model: LoadedModel }[] = [];
  /** Models loaded only as references (the twin on ort-node). */
  const loaded: LoadedModel[] = [];
  const keep = (id: TimedId, m: LoadedModel | undefined) => {
    if (m) timed.push({ id, model: m });
  };
  try {
    let refOut: Record<string, Output>;
    try {
      const refModel = await reference.load(c.ortModel ?? c.model, c.feeds);
      timed.push({ id: 'ortnode', model: refModel });
      refOut = await refModel.run();
    } catch (e) {
      // Without the reference nothing can be checked, so nothing is timed.
      out.errors.ortnode = message(e);
      return out;
    }
    for (const rt of runtimes) {
      if (rt.id !== 'ortnode') keep(rt.id, await loadChecked(out, rt.id, rt, c, refOut, tol));
    }
    const web = runtimes.find((r) => r.id === 'ortweb');
    if (twin && web) {
      try {
        const twinRef = await reference.load(twin.c.model, twin.c.feeds);
        loaded.push(twinRef);
        keep('ortweb_int8', await loadChecked(out, 'ortweb_int8', web, twin.c, await twinRef.run(), twin.tol));
      } catch (e) {
        out.errors.ortweb_int8 = `ort-node on the int8 twin: ${message(e)}`;
      }
    }
    // Timed in the order of `runtimes`, the twin right after ort-web on the row's model.
    const order: TimedId[] = ['lowbit', 'ortweb', 'ortweb_int8', 'ortnode'];
    timed.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
    const t = await timeRoundRobin(timed, plan);
    out.timings = t.timings;
    out.iterations = t.iterations;
  } finally {
    for (const m of new Set([...loaded, ...timed.map((t) => t.model)])) await m.release();
  }
  return out;
}
