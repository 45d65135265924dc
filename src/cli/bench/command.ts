// `lowbit bench MODEL [--vs ort|ort-web|ort-node]`: times the model in lowbit and, when asked,
// in onnxruntime-web (WASM, 1 thread) and onnxruntime-node in the same process on the same
// inputs — random values of each input's type and shape, or files given with --input — after
// checking how far each runtime's outputs are from lowbit's. Progress goes to stderr on a
// terminal only; --json prints the report as JSON.

import { readFile } from 'node:fs/promises';
import { InferenceSession, Tensor, type Backend, type Precision, type TensorType, type ValueMetadata } from '../../index.js';
import { fail } from '../cli-error.js';
import { progressBar } from '../progress.js';
import { readInput } from '../tensor-files.js';
import { firstOutputs, maxAbsDiff, timeInBlocks, type TimingPlan } from './measure.js';
import { formatReport, type BenchReport } from './report.js';
import { importOrt, lowbitRuntime, ortRuntime, type BenchRuntime, type Importer } from './runtimes.js';
import { seededRandom } from '../seeded-random.js';

export interface BenchFlags {
  backend: Backend | 'auto';
  precision: Precision;
  vs?: 'ort' | 'ort-web' | 'ort-node';
  /** name → DIMS and name → FILE, already checked against the model's inputs. */
  shapes: Map<string, number[]>;
  files: Map<string, string>;
  plan: TimingPlan;
  json?: boolean;
  seed: number;
}

export interface BenchIO {
  out(text: string): void;
  err(text: string): void;
  /** Terminal width of stderr; undefined when it is not a terminal (no progress bar). */
  errColumns?: number;
  importer?: Importer;
}

/** Uniform values for an input: floats in [0, 1), integers in 0…9, booleans. */
function randomTensor(meta: ValueMetadata, dims: number[], next: () => number): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const t: TensorType = meta.type;
  if (t === 'float32' || t === 'float64') return new Tensor(t, Array.from({ length: n }, next), dims);
  if (t === 'bool') return new Tensor(t, Array.from({ length: n }, () => next() < 0.5), dims);
  if (t === 'float16' || t === 'bfloat16') return Tensor.fromBytes(t, new Uint8Array(n * 2), dims);
  return new Tensor(t, Array.from({ length: n }, () => Math.floor(next() * 10)), dims);
}

async function feedsFor(session: InferenceSession, o: BenchFlags): Promise<Record<string, Tensor>> {
  const names = session.inputNames;
  for (const [flag, m] of [['shape', o.shapes], ['input', o.files]] as const) {
    for (const name of m.keys()) if (!names.includes(name)) fail(`--${flag}: '${name}' is not an input of this model (inputs: ${names.join(', ')})`);
  }
  const next = seededRandom(o.seed);
  const feeds: Record<string, Tensor> = {};
  for (const meta of session.inputMetadata) {
    const file = o.files.get(meta.name);
    if (file !== undefined) {
      feeds[meta.name] = await readInput(meta, file, { dims: o.shapes.get(meta.name) });
      continue;
    }
    const dims = o.shapes.get(meta.name) ?? meta.shape.map((d) => (typeof d === 'number' ? d : 1));
    if (dims.length !== meta.shape.length || dims.some((d, i) => typeof meta.shape[i] === 'number' && meta.shape[i] !== d)) {
      fail(`--shape ${meta.name}=${dims.join('x')} does not fit the input's shape [${meta.shape.join(',')}]`);
    }
    feeds[meta.name] = randomTensor(meta, dims, next);
  }
  return feeds;
}

const oneLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0].trim();

export async function benchCommand(io: BenchIO, modelFile: string, o: BenchFlags, version: string): Promise<void> {
  const ortIds = o.vs === 'ort' ? (['ort-web', 'ort-node'] as const) : o.vs ? [o.vs] : [];
  const ort = await importOrt(ortIds, io.importer);
  let model: Uint8Array;
  try {
    model = new Uint8Array(await readFile(modelFile));
  } catch (e) {
    return fail(`cannot read model '${modelFile}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : oneLine(e)}`);
  }
  const probe = await InferenceSession.create(model, { backend: o.backend, precision: o.precision });
  let feeds: Record<string, Tensor>;
  try {
    feeds = await feedsFor(probe, o);
  } finally {
    await probe.release();
  }
  const runtimes: BenchRuntime[] = [await lowbitRuntime(model, feeds, o, version)];
  const errors: BenchReport['errors'] = {};
  try {
    for (const id of ortIds) {
      try {
        runtimes.push(await ortRuntime(id, ort.get(id)!, model, feeds));
      } catch (e) {
        errors[id] = `cannot load the model: ${oneLine(e)}`;
      }
    }
    const first = await firstOutputs(runtimes);
    const bar = progressBar('lowbit bench', io.err, io.errColumns);
    const { timings, rounds } = await timeInBlocks(runtimes, o.plan, bar);
    const lowbit = timings.get('lowbit')!.steady;
    const report: BenchReport = {
      model: modelFile,
      inputs: Object.entries(feeds).map(([name, t]) => ({ name, type: t.type, dims: [...t.dims] })),
      runtimes: runtimes.map((rt) => {
        const { steady, cold, block } = timings.get(rt.id)!;
        return {
          id: rt.id,
          version: rt.version,
          detail: rt.detail,
          median_ms: steady.median,
          p10_ms: steady.p10,
          p90_ms: steady.p90,
          runs: steady.n,
          blocks: rounds,
          runs_per_block: block,
          // Only other runtimes make a block's first run cold.
          ...(runtimes.length > 1 ? { cold_ms: cold.median } : {}),
          over_lowbit: steady.median / lowbit.median,
          max_abs_diff_vs_lowbit: maxAbsDiff(first.get(rt.id)!, first.get('lowbit')!),
        };
      }),
      errors,
    };
    io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  } finally {
    for (const rt of runtimes) await rt.release();
  }
}
