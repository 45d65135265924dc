// Measuring one row: load the model in every runtime, check each output against onnxruntime-node,
// warm up, then time the runtimes in interleaved blocks of runs (src/cli/bench/measure.ts, as
// `lowbit bench`): steady-state medians, and apart the first run of each block, right after the
// other runtimes' runs.

import { compareOutput, type Tolerance } from '../../scripts/lib/differential.js';
import type { BenchCase } from './models.js';
import type { LoadedModel, Output, Runtime, RuntimeId } from './runtimes.js';
import { timeInBlocks, type TimingPlan } from '../../src/cli/bench/measure.js';
import type { Summary } from './stats.js';

export type { TimingPlan };

export const FULL_PLAN: TimingPlan = { targetMs: 1500, blockMs: 25, minRuns: 20, maxRounds: 2000, warmupRuns: 5, warmupMs: 300 };
export const QUICK_PLAN: TimingPlan = { targetMs: 100, blockMs: 10, minRuns: 5, maxRounds: 200, warmupRuns: 2, warmupMs: 0 };

/** Agreement of one runtime's outputs with onnxruntime-node's. */
export interface Agreement {
  max_abs: number;
  max_rel: number;
  ok: boolean;
}

/** A timed column: a runtime on the row's model, or onnxruntime-web on its int8 twin. */
export type TimedId = RuntimeId | 'ortweb_int8';

export interface RowMeasurement {
  /** The steady runs (every run of a block but its first). */
  timings: Partial<Record<TimedId, Summary>>;
  /** The first run of each block, right after the other runtimes' blocks. */
  cold: Partial<Record<TimedId, Summary>>;
  agreement: Partial<Record<TimedId, Agreement>>;
  /** Why a column was not timed, by column. */
  errors: Partial<Record<TimedId, string>>;
  /** Rounds: blocks per runtime. */
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
 * them all in interleaved blocks in one window.
 */
export async function measureRow(c: BenchCase, runtimes: readonly Runtime[], tol: Tolerance, plan: TimingPlan, twin?: Twin): Promise<RowMeasurement> {
  const out: RowMeasurement = { timings: {}, cold: {}, agreement: {}, errors: {}, iterations: 0 };
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
    const t = await timeInBlocks(timed.map(({ id, model }) => ({ id, run: () => model.run() })), plan);
    for (const [id, x] of t.timings) {
      out.timings[id] = x.steady;
      out.cold[id] = x.cold;
    }
    out.iterations = t.rounds;
  } finally {
    for (const m of new Set([...loaded, ...timed.map((t) => t.model)])) await m.release();
  }
  return out;
}
