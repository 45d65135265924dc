// What the demo page shows, computed once in Node when the server starts: the CNN at each
// precision with its file size, packed weight bytes and kernel path (lowbit's own inspect), and
// the layers of the benchmark panel (the seeded models of bench/lib, as base64 JSON).

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from '../src/index.js';
import { binaryConv, convF32, type BenchCase, type ConvShape } from '../bench/lib/models.js';
import { binaryConvInt8, qlinearConv, qlinearMatmul } from '../bench/lib/quant-models.js';
import { ternaryMatmul, ternaryMatmulInt8 } from '../bench/lib/ternary-models.js';
import { CLASSES } from '../scripts/lib/fmnist.js';

/** The CNN forms whose layers run on lowbit's kernels of that precision (models/README.md). */
const PRECISIONS = [
  { id: 'fp32', label: 'fp32', file: 'models/fmnist-cnn-fp32.onnx' },
  { id: 'int8', label: 'int8', file: 'models/fmnist-cnn-int8-qdq.onnx' },
  { id: 'int4', label: 'int4', file: 'models/fmnist-cnn-int4-qdq.onnx' },
  { id: 'ternary', label: 'ternary · w2a8', file: 'models/fmnist-cnn-w2a8-qdq.onnx' },
  { id: 'binary', label: 'binary · w1a1', file: 'models/fmnist-cnn-w1a1-qonnx.onnx' },
];

export interface DemoModel {
  id: string;
  label: string;
  url: string;
  detail: string;
  fileBytes: number;
  packedWeightBytes: number;
  fp32WeightBytes: number;
  /** Kernels in layer order, runs collapsed: ['conv_i8 ×3', 'qgemm_i8 ×2']. */
  kernels: string[];
  /** The reference runtime's accuracy on the 10,000 test images (models.json). */
  testAccuracy: number;
}

interface Layer { id: string; label: string; note: string; macs: number; build(): BenchCase; twin?(): BenchCase }

const conv = (cin: number, cout: number, hw: number): { shape: ConvShape; macs: number } =>
  ({ shape: { n: 1, cin, cout, h: hw, w: hw, kernel: 3, pad: 1, stride: 1 }, macs: cin * cout * 9 * hw * hw });

/** Small layers: one run takes milliseconds in either runtime. */
const LAYERS: Layer[] = [
  {
    id: 'binary_conv3x3_64x64x28', label: 'binary conv 3×3, 64→64, 28×28', note: 'bipolar(x) ⊛ ±s weights; lowbit: xnor-popcount',
    macs: conv(64, 64, 28).macs, build: () => binaryConv(conv(64, 64, 28).shape, 1), twin: () => binaryConvInt8(conv(64, 64, 28).shape, 1),
  },
  {
    id: 'ternary_gemv_1x1024x1024', label: 'ternary matmul 1×1024×1024 (w2a8)', note: '{−s, 0, s} weights between 8-bit quantisers',
    macs: 1024 * 1024, build: () => ternaryMatmul(1, 1024, 1024, 1), twin: () => ternaryMatmulInt8(1, 1024, 1024, 1),
  },
  {
    id: 'int8_qlinearconv3x3_32x32x28', label: 'int8 QLinearConv 3×3, 32→32, 28×28', note: 'uint8 × int8 → int32, requantised',
    macs: conv(32, 32, 28).macs, build: () => qlinearConv(conv(32, 32, 28).shape, 1),
  },
  {
    id: 'int8_gemm_16x256x256', label: 'int8 QLinearMatMul 16×256×256', note: 'uint8 × int8 → int32, requantised',
    macs: 16 * 256 * 256, build: () => qlinearMatmul(16, 256, 256, 1),
  },
  {
    id: 'fp32_conv3x3_32x32x28', label: 'fp32 conv 3×3, 32→32, 28×28', note: 'float32 reference point',
    macs: conv(32, 32, 28).macs, build: () => convF32(conv(32, 32, 28).shape, 1),
  },
];

function collapse(kernels: string[]): string[] {
  const out: [string, number][] = [];
  for (const k of kernels) {
    if (out.length && out[out.length - 1][0] === k) out[out.length - 1][1]++;
    else out.push([k, 1]);
  }
  return out.map(([k, n]) => (n > 1 ? `${k} ×${n}` : k));
}

export async function demoModels(root: string): Promise<DemoModel[]> {
  const info = JSON.parse(readFileSync(join(root, 'models/models.json'), 'utf8')) as { models: { file: string; precision_detail: string; test_accuracy: number }[] };
  const out: DemoModel[] = [];
  for (const p of PRECISIONS) {
    const meta = info.models.find((m) => m.file === p.file);
    if (!meta) throw new Error(`${p.file} is not in models/models.json`);
    const report = await inspect(join(root, p.file));
    const kernels = report.nodes.filter((n) => n.packedWeightBytes !== null && n.kernel).map((n) => n.kernel);
    out.push({
      id: p.id, label: p.label, url: `/${p.file}`, detail: meta.precision_detail,
      fileBytes: statSync(join(root, p.file)).size,
      packedWeightBytes: report.totals.packedWeightBytes, fp32WeightBytes: report.totals.fp32WeightBytes,
      kernels: collapse(kernels), testAccuracy: meta.test_accuracy,
    });
  }
  return out;
}

export const layerList = () => LAYERS.map((l) => ({ id: l.id, label: l.label, note: l.note, macs: l.macs, twin: l.twin !== undefined }));

const b64 = (u8: Uint8Array) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('base64');

function wireCase(c: BenchCase) {
  return {
    model: b64(c.model),
    feeds: Object.fromEntries(Object.entries(c.feeds).map(([name, f]) => {
      const data = f.data as ArrayBufferView;
      return [name, { type: f.type, dims: f.dims, data: b64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) }];
    })),
  };
}

/** One layer's models (and its int8 twin's, which onnxruntime runs on its int8 kernels) with feeds. */
export function layerCase(id: string): string | undefined {
  const l = LAYERS.find((x) => x.id === id);
  if (!l) return undefined;
  return JSON.stringify({ id, model: wireCase(l.build()), twin: l.twin ? wireCase(l.twin()) : undefined });
}

export { CLASSES };
