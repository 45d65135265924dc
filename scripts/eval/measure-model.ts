// One model of models/models.json measured for `npm run eval`: lowbit's accuracy on the test
// images (batches), onnxruntime-node's on the same images and how many predictions differ
// (standard ONNX only: onnxruntime cannot run QONNX's custom ops), the bytes lowbit holds for the
// weights, the kernels each layer takes, and the latency of one image in lowbit and in
// onnxruntime-web (WASM, 1 thread), timed in alternating blocks of runs in this process (the
// steady-state medians of src/cli/bench/measure.ts).

import * as ort from 'onnxruntime-node';
import { InferenceSession, Tensor, type Backend } from '../../src/index.js';
import { timeInBlocks, type TimingPlan } from '../../src/cli/bench/measure.js';
import { lowbitRuntime, ortWebRuntime, type LoadedModel, type Runtime, type RuntimeId } from '../../bench/lib/runtimes.js';
import type { Summary } from '../../bench/lib/stats.js';
import { createReferenceSession, type Feeds } from '../lib/differential.js';
import { toInput, type Images } from '../lib/fmnist.js';
import { layerPath, type LayerPath } from './render.js';

/** An entry of models/models.json (the fields eval reads). */
export interface ModelEntry {
  file: string;
  arch: string;
  precision: string;
  precision_detail: string;
  format: string;
  /** The runtime that measured test_accuracy: 'onnxruntime' or 'qonnx'. */
  reference: string;
  /** The reference's accuracy on all 10,000 test images (Python, scripts/train/measure_models.py). */
  test_accuracy: number;
}

export interface EvalRow extends LayerPath {
  file: string;
  arch: string;
  precision: string;
  precision_detail: string;
  format: string;
  reference: string;
  images: number;
  lowbit_accuracy: number | null;
  /** models.json: the Python reference on all 10,000 test images. */
  reference_accuracy: number;
  /** onnxruntime-node in this process on the same images (null: QONNX, or it failed). */
  ortnode_accuracy: number | null;
  /** Images on which lowbit's predicted class differs from onnxruntime-node's. */
  ortnode_differs: number | null;
  /**
   * When some differ: the same count against onnxruntime-node with graph optimizations at
   * 'basic', which computes the graph as written (its default 'all' level may rewrite a layer
   * approximately, e.g. DequantizeLinear(int4) → MatMul into MatMulNBits on int8 activations).
   */
  ortnode_basic_differs: number | null;
  file_bytes: number;
  /** Bytes lowbit's kernels read for the weights (packed, with scales and zero points). */
  packed_weight_bytes: number | null;
  /** The same weights in fp32. */
  fp32_weight_bytes: number | null;
  /** Rewrite rules that fired at load time, with counts. */
  passes: Record<string, number>;
  /** One image [1,1,28,28]: lowbit and onnxruntime-web, ms. */
  latency: Partial<Record<'lowbit' | 'ortweb', Summary>>;
  /** lowbit's steady runs timed. */
  latency_runs: number;
  errors: Partial<Record<'lowbit' | 'ortnode' | 'ortweb', string>>;
}

/** ≥ 50 steady runs each after a warm-up, more if they fit in about a second (blocks of ≈ 20 ms). */
export const LATENCY_PLAN: TimingPlan = { targetMs: 1000, blockMs: 20, minRuns: 50, maxRounds: 1000, warmupRuns: 10, warmupMs: 200 };
const BATCH = 500;
const CLASSES = 10;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** Argmax of each row of [rows, 10] class scores (the first maximum on ties). */
export function argmaxRows(scores: ArrayLike<number>, rows: number): Uint8Array {
  const out = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < CLASSES; j++) if (scores[r * CLASSES + j] > scores[r * CLASSES + best]) best = j;
    out[r] = best;
  }
  return out;
}

type RunBatch = (input: Float32Array, n: number) => Promise<ArrayLike<number>>;

async function predict(run: RunBatch, images: Images, count: number, progress: (done: number) => void): Promise<Uint8Array> {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i += BATCH) {
    const n = Math.min(BATCH, count - i);
    out.set(argmaxRows(await run(toInput(images, i, n), n), n), i);
    progress(i + n);
  }
  return out;
}

const accuracy = (pred: Uint8Array, labels: Uint8Array): number => pred.reduce((s, p, i) => s + (p === labels[i] ? 1 : 0), 0) / pred.length;

const lowbitBatch = (s: InferenceSession): RunBatch => async (input, n) => {
  const r = await s.run({ [s.inputNames[0]]: new Tensor('float32', input, [n, 1, 28, 28]) });
  return r[s.outputNames[0]].data as Float32Array;
};

const ortBatch = (s: ort.InferenceSession): RunBatch => async (input, n) => {
  const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input, [n, 1, 28, 28]) });
  return r[s.outputNames[0]].data as Float32Array;
};

const differing = (a: Uint8Array, b: Uint8Array): number => a.reduce((s, p, i) => s + (p !== b[i] ? 1 : 0), 0);

async function predictOrtNode(bytes: Uint8Array, ctx: EvalContext, level: 'all' | 'basic'): Promise<Uint8Array> {
  const session = await createReferenceSession(bytes, { graphOptimizationLevel: level });
  try {
    return await predict(ortBatch(session), ctx.images, ctx.count, (d) => ctx.progress(level === 'all' ? 'ort-node' : 'ort-node basic', d));
  } finally {
    await session.release();
  }
}

export interface EvalContext {
  images: Images;
  count: number;
  backend: Backend;
  /** Progress of the accuracy passes: which runtime, images done. */
  progress: (what: string, done: number) => void;
}

export async function evaluateModel(entry: ModelEntry, bytes: Uint8Array, ctx: EvalContext): Promise<EvalRow> {
  const row: EvalRow = {
    file: entry.file, arch: entry.arch, precision: entry.precision, precision_detail: entry.precision_detail,
    format: entry.format, reference: entry.reference, images: ctx.count,
    lowbit_accuracy: null, reference_accuracy: entry.test_accuracy, ortnode_accuracy: null, ortnode_differs: null, ortnode_basic_differs: null,
    file_bytes: bytes.byteLength, packed_weight_bytes: null, fp32_weight_bytes: null,
    path: '', kernels: {}, float_layers: [], passes: {}, latency: {}, latency_runs: 0, errors: {},
  };
  const labels = ctx.images.labels.subarray(0, ctx.count);
  const standard = entry.reference === 'onnxruntime';

  let lowbitPred: Uint8Array | undefined;
  let inputName = 'input';
  try {
    const session = await InferenceSession.create(bytes, { backend: ctx.backend });
    inputName = session.inputNames[0];
    try {
      const r = session.inspect({ [session.inputNames[0]]: [1, 1, 28, 28] });
      Object.assign(row, layerPath(r.nodes));
      row.passes = r.passes;
      if (r.totals.layers > 0) {
        row.packed_weight_bytes = r.totals.packedWeightBytes;
        row.fp32_weight_bytes = r.totals.fp32WeightBytes;
      }
      lowbitPred = await predict(lowbitBatch(session), ctx.images, ctx.count, (d) => ctx.progress('lowbit', d));
      row.lowbit_accuracy = accuracy(lowbitPred, labels);
    } finally {
      await session.release();
    }
  } catch (e) {
    row.errors.lowbit = message(e);
  }

  if (standard) {
    try {
      const refPred = await predictOrtNode(bytes, ctx, 'all');
      row.ortnode_accuracy = accuracy(refPred, labels);
      if (lowbitPred) {
        row.ortnode_differs = differing(refPred, lowbitPred);
        if (row.ortnode_differs > 0) row.ortnode_basic_differs = differing(await predictOrtNode(bytes, ctx, 'basic'), lowbitPred);
      }
    } catch (e) {
      row.errors.ortnode = message(e);
    }
  }

  ctx.progress('latency', 0);
  const feeds: Feeds = { [inputName]: { type: 'float32', data: toInput(ctx.images, 0, 1), dims: [1, 1, 28, 28] } };
  const candidates: [RuntimeId, Runtime][] = [];
  if (!row.errors.lowbit) candidates.push(['lowbit', lowbitRuntime(ctx.backend)]);
  if (standard) candidates.push(['ortweb', ortWebRuntime]);
  const loaded: { id: RuntimeId; model: LoadedModel }[] = [];
  try {
    for (const [id, runtime] of candidates) {
      let model: LoadedModel | undefined;
      try {
        model = await runtime.load(bytes, feeds);
        await model.run();
        loaded.push({ id, model });
      } catch (e) {
        row.errors[id as 'lowbit' | 'ortweb'] = message(e);
        await model?.release();
      }
    }
    const t = await timeInBlocks(loaded.map(({ id, model }) => ({ id, run: () => model.run() })), LATENCY_PLAN);
    row.latency = { lowbit: t.timings.get('lowbit')?.steady, ortweb: t.timings.get('ortweb')?.steady };
    row.latency_runs = t.timings.get('lowbit')?.steady.n ?? 0;
  } finally {
    for (const l of loaded) await l.model.release();
  }
  return row;
}
