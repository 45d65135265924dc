// The trained Fashion-MNIST models (models/) run with their hidden activations "tapped": the
// dequantised value of every activation quantizer added as a graph output, in lowbit (lowered, or
// the literal graph with no rewrite rule) and in onnxruntime-node, on the bundled 256 test images.
// test/models/lowbit-layers.test.ts compares the taps and the logits.

import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { loadSubset, toInput } from '../../scripts/lib/fmnist.js';
import type { Graph } from '../../src/ir/graph.js';
import type { Backend } from '../../src/kernels/wasm.js';
import { compileKernels } from '../../src/kernels/wasm.js';
import { QONNX_DOMAINS } from '../../src/ir/domains.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { onnx } from '../../scripts/lib/onnx-proto.js';
import { Engine } from '../../src/session/engine.js';
import { inspectPlan, type InspectReport } from '../../src/session/inspect.js';

export const IMAGES = 256;
export const CLASSES = 10;
const subset = loadSubset();

export const modelBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../models/${file}`, import.meta.url)));

/** Outputs of one run: the logits and each tapped activation, by value name. */
export interface Run {
  logits: Float32Array;
  taps: Map<string, Float32Array>;
}

/**
 * The values holding a dequantised activation: outputs of QONNX Quant / BipolarQuant nodes and of
 * DequantizeLinear nodes, whose input is not a constant (a weight or bias).
 */
export function activationTaps(g: Graph): string[] {
  const quantizer = (op: string, domain: string) =>
    (QONNX_DOMAINS.includes(domain) && (op === 'Quant' || op === 'BipolarQuant')) || (domain === '' && op === 'DequantizeLinear');
  return g.nodes.filter((n) => quantizer(n.opType, n.domain) && !g.initializers.has(n.inputs[0])).map((n) => n.outputs[0]);
}

const f32 = (bytes: Uint8Array): Float32Array => new Float32Array(bytes.slice().buffer);

/**
 * lowbit on `backend` over the first `images` images: with the default rules, or none (`literal`:
 * every op as the graph writes it), taps as extra graph outputs when `tap`; the inspect report.
 */
export async function runLowbit(file: string, backend: Backend, opts: { literal?: boolean; tap?: boolean; images?: number } = {}): Promise<Run & { report: InspectReport }> {
  const images = opts.images ?? IMAGES;
  const g = decodeModel(modelBytes(file)).graph;
  const out = g.outputs[0].name;
  const taps = opts.tap ? activationTaps(g) : [];
  for (const t of taps) g.outputs.push({ name: t, dtype: 'float32', shape: null });
  const e = new Engine(g, await compileKernels(backend), backend, opts.literal ? { passes: [] } : {});
  const x = toInput(subset, 0, images);
  const feeds = new Map([[g.inputs[0].name, { dtype: 'float32' as const, dims: [images, 1, 28, 28], bytes: new Uint8Array(x.buffer) }]]);
  const y = e.run(feeds);
  return { logits: f32(y.get(out)!.bytes), taps: new Map(taps.map((t) => [t, f32(y.get(t)!.bytes)])), report: inspectPlan(e, e.planFor(feeds)) };
}

/** The model with `names` (float32 values) added as graph outputs. */
function withOutputs(bytes: Uint8Array, names: string[]): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  for (const name of names) m.graph!.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1 } } }));
  return onnx.ModelProto.encode(m).finish();
}

/** onnxruntime-node, one thread, on all IMAGES images, with the taps of lowbit's reading of the graph. */
export async function runOrt(file: string, tap: boolean): Promise<Run> {
  const bytes = modelBytes(file);
  const taps = tap ? activationTaps(decodeModel(bytes).graph) : [];
  const s = await ort.InferenceSession.create(withOutputs(bytes, taps), { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const y = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', toInput(subset, 0, IMAGES), [IMAGES, 1, 28, 28]) });
    return { logits: y[s.outputNames[0]].data as Float32Array, taps: new Map(taps.map((t) => [t, y[t].data as Float32Array])) };
  } finally {
    await s.release();
  }
}

export function argmaxRows(y: Float32Array): number[] {
  return Array.from({ length: y.length / CLASSES }, (_, r) => {
    let best = 0;
    for (let j = 1; j < CLASSES; j++) if (y[r * CLASSES + j] > y[r * CLASSES + best]) best = j;
    return best;
  });
}

/** The quantum of each tapped value (as activationTaps lists them): its quantizer's scale, twice it for BipolarQuant (±s). */
export function tapQuanta(file: string): Map<string, number> {
  const g = decodeModel(modelBytes(file)).graph;
  const out = new Map<string, number>();
  for (const t of activationTaps(g)) {
    const n = g.nodes.find((x) => x.outputs[0] === t)!;
    const s = g.initializers.get(n.inputs[1]);
    if (!s || s.dtype !== 'float32' || s.bytes.length !== 4) throw new Error(`${t}: no constant scalar scale`);
    out.set(t, f32(s.bytes)[0] * (n.opType === 'BipolarQuant' ? 2 : 1));
  }
  return out;
}
