// The trained low-bit Fashion-MNIST models (scripts/train: Brevitas QAT, exported as QONNX and as
// QDQ with INT4/INT2 weights) run on lowbit's low-bit kernels, on the bundled 256 test images.
//
// (a) Which kernel each layer runs (inspect): no layer is left on an f32 GEMM / conv.
// (b) The numbers, against the reference that arbitrates each form: onnxruntime-node for the QDQ
//     models, lowbit running the literal graph (no rewrite rule: every Quant as fake-quant f32,
//     every layer f32) for QONNX and for the weight-only DQ(UINT4) → MatMul model (onnxruntime-node
//     runs that one with int8 activations by design; test/models/quantized-models.test.ts checks it
//     against float64 too). Every hidden activation quantizer's dequantised output is added as a
//     graph output ("tapped") on both sides.
//   - Taps: the integer layers accumulate exactly, and their float output differs from the float
//     graph's by rounding only (a few ulp): a hidden value then requantises to the same integer
//     unless it lies within that rounding of a .5 tie. Asserted: every tapped element equal, or one
//     quantum apart; at most 0.1% of any tap differ (measured: at most 0.02%).
//   - Logits: in an image whose every tapped value agrees, the last layer reads identical inputs
//     and its output differs by float rounding alone: asserted |Δ| ≤ 2^−20·max|y| (measured
//     ≤ 3.1·2^−23·max|y|: both sides round a sum of ≤ 256 terms whose magnitudes stay near the
//     logits'). At least 90% of the images must be such images (measured ≥ 252 of 256); in
//     the others a hidden unit moved by one quantum, so no bound tighter than the network's own
//     sensitivity holds — asserted there: the same prediction. Predictions agree on every image.
//   - Tapping changes nothing: the tapped runs' logits equal the untapped ones bit for bit.
// (c) The other kernel builds give the same logits as the preferred one: bit for bit where the
//     layers are integer; within 2^−20·max|y| for the f32-activation model, whose f32 kernel sums
//     in a build-dependent way (relaxed multiply-adds).

import { beforeAll, describe, expect, it } from 'vitest';
import { supportedBackends } from '../../src/index.js';
import type { InspectReport } from '../../src/session/inspect.js';
import { argmaxRows, CLASSES, IMAGES, runLowbit, runOrt, tapQuanta, type Run } from '../support/fmnist-taps.js';

type Layer = [op: string, kernel: string, weightBits: number];

interface Spec {
  file: string;
  ref: 'onnxruntime' | 'literal';
  /** The layers multiply f32 activations (the builds' f32 sums may differ in rounding). */
  f32Activations?: boolean;
  passes: Record<string, number>;
  layers: Record<string, Layer>;
}

const conv8 = (bits: number): Layer => ['QConvToFloat', 'conv_i8', bits];
// K = 9·C ≤ 288: the int8 conv kernel runs the ternary codes (faster than tconv_t2i8 there).
const tconv: Layer = ['TernaryConv', 'conv_i8', 2];
const tgemm: Layer = ['TernaryMatMul', 'tgemm_t2i8', 2];
const qgemm = (bits: number): Layer => ['QGemm', 'qgemm_i8', bits];
const qgemmF = (bits: number): Layer => ['QGemmToFloat', 'qgemm_i8', bits];
const ternaryCnn = { Conv_0: tconv, Conv_1: tconv, Conv_2: ['TernaryConv', 'tconv_t2i8', 2] as Layer, Gemm_0: tgemm, Gemm_1: tgemm };
const ternaryMlp = { Gemm_0: tgemm, Gemm_1: tgemm, Gemm_2: tgemm };

const MODELS: Spec[] = [
  { file: 'fmnist-mlp-int4-qat-qdq.onnx', ref: 'onnxruntime', passes: { 'qdq-int8': 3 }, layers: { Gemm_0: qgemm(4), Gemm_1: qgemm(4), Gemm_2: qgemmF(4) } },
  { file: 'fmnist-mlp-int4-qdq.onnx', ref: 'literal', f32Activations: true, passes: { 'dq-matmul': 3 }, layers: Object.fromEntries([2, 4, 6].map((i) => [`/${i}/Gemm_MatMul_matmul_Q4`, ['MatMulQW', 'qwgemm_f32', 4]])) },
  { file: 'fmnist-mlp-w2a8-qdq.onnx', ref: 'onnxruntime', passes: { ternary: 3 }, layers: ternaryMlp },
  { file: 'fmnist-mlp-w2a2-qdq.onnx', ref: 'onnxruntime', passes: { 'qdq-widen': 2, ternary: 3 }, layers: ternaryMlp },
  { file: 'fmnist-cnn-int4-qdq.onnx', ref: 'onnxruntime', passes: { 'qdq-int8': 5 }, layers: { Conv_0: conv8(4), Conv_1: conv8(4), Conv_2: conv8(4), Gemm_0: qgemm(4), Gemm_1: qgemmF(4) } },
  { file: 'fmnist-cnn-w2a8-qdq.onnx', ref: 'onnxruntime', passes: { ternary: 5 }, layers: ternaryCnn },
  { file: 'fmnist-cnn-w2a2-qdq.onnx', ref: 'onnxruntime', passes: { 'qdq-widen': 4, ternary: 5 }, layers: ternaryCnn },
  { file: 'fmnist-mlp-int4-qonnx.onnx', ref: 'literal', passes: { 'qonnx-quant': 3 }, layers: { Gemm_0: ['MatMulQWQ8', 'qwgemm_i8', 4], Gemm_1: qgemmF(4), Gemm_2: qgemmF(4) } },
  { file: 'fmnist-mlp-w2a8-qonnx.onnx', ref: 'literal', passes: { 'qonnx-quant': 3 }, layers: ternaryMlp },
  { file: 'fmnist-mlp-w2a2-qonnx.onnx', ref: 'literal', passes: { 'qonnx-quant': 3 }, layers: ternaryMlp },
  { file: 'fmnist-mlp-w1a1-qonnx.onnx', ref: 'literal', passes: { 'qonnx-quant': 2, binary: 1 }, layers: { Gemm_0: qgemmF(8), MatMul_0: ['BinaryMatMul', 'bgemm_b1b1', 1], Gemm_1: qgemmF(8) } },
  { file: 'fmnist-cnn-int4-qonnx.onnx', ref: 'literal', passes: { 'qonnx-quant': 5 }, layers: { Conv_0: conv8(4), Conv_1: conv8(4), Conv_2: conv8(4), Gemm_0: qgemmF(4), Gemm_1: qgemmF(4) } },
  { file: 'fmnist-cnn-w2a8-qonnx.onnx', ref: 'literal', passes: { 'qonnx-quant': 5 }, layers: ternaryCnn },
  { file: 'fmnist-cnn-w2a2-qonnx.onnx', ref: 'literal', passes: { 'qonnx-quant': 5 }, layers: ternaryCnn },
  {
    file: 'fmnist-cnn-w1a1-qonnx.onnx', ref: 'literal', passes: { 'qonnx-quant': 2, binary: 3, 'binary-chain': 2 },
    layers: { Conv_0: conv8(8), Conv_1: ['BinaryConv', 'bconv_b1b1', 1], Conv_2: ['BinaryConv', 'bconv_b1b1', 1], MatMul_0: ['BinaryMatMul', 'bgemm_b1b1', 1], Gemm_0: qgemmF(8) },
  },
];

/** Kernels of a layer left on the float path. */
const F32_LAYER_KERNELS = ['gemm_f32', 'gemm_f32_pp', 'conv_f32', 'conv_dw_f32', 'conv_winograd_f32'];
const CROSS_BUILD_IMAGES = 16;

const backends = await supportedBackends();
const preferred = backends[backends.length - 1];

const sameBits = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

describe.each(MODELS)('$file', (m) => {
  let plain: Run & { report: InspectReport };
  beforeAll(async () => {
    plain = await runLowbit(m.file, preferred);
  });

  it('every layer runs a low-bit kernel', () => {
    const r = plain.report;
    expect(r.passes).toEqual(m.passes);
    for (const [name, [op, kernel, bits]] of Object.entries(m.layers)) {
      const n = r.nodes.find((x) => x.name === name);
      expect(n && [n.opType, n.kernel, n.weightBits], name).toEqual([op, kernel, bits]);
    }
    const float = r.nodes.filter((n) => n.kernels.some((k) => F32_LAYER_KERNELS.includes(k)));
    expect(float.map((n) => `${n.name}: ${n.reason}`)).toEqual([]);
    expect(r.nodes.filter((n) => !n.exact).map((n) => n.name)).toEqual([]);
  });

  it(`hidden activations and logits against ${m.ref === 'literal' ? 'the literal graph' : 'onnxruntime-node'} (${preferred})`, async () => {
    const fast = await runLowbit(m.file, preferred, { tap: true });
    const ref = m.ref === 'literal' ? await runLowbit(m.file, preferred, { tap: true, literal: true }) : await runOrt(m.file, true);
    expect(sameBits(fast.logits, plain.logits), 'tapping changed the lowered logits').toBe(true);
    if (m.ref === 'onnxruntime') expect(sameBits(ref.logits, (await runOrt(m.file, false)).logits), 'tapping changed onnxruntime\'s logits').toBe(true);

    const flipped = new Set<number>();
    for (const [tap, q] of tapQuanta(m.file)) {
      const a = fast.taps.get(tap)!;
      const b = ref.taps.get(tap)!;
      expect(a.length).toBe(b.length);
      const perImage = a.length / IMAGES;
      let off = 0;
      for (let i = 0; i < a.length; i++) {
        if (a[i] === b[i]) continue;
        off++;
        flipped.add(Math.floor(i / perImage));
        expect(Math.abs(Math.abs(a[i] - b[i]) / q - 1), `${tap}[${i}]: ${a[i]} vs ${b[i]}, quantum ${q}`).toBeLessThan(1e-4);
      }
      expect(off, `${tap}: ${off} of ${a.length} differ`).toBeLessThanOrEqual(a.length / 1000);
    }
    expect(flipped.size, `images with a hidden value one quantum apart: ${[...flipped]}`).toBeLessThanOrEqual(IMAGES / 10);

    const bound = 2 ** -20 * Math.max(...Array.from(ref.logits, Math.abs));
    for (let r = 0; r < IMAGES; r++) {
      if (flipped.has(r)) continue;
      for (let j = 0; j < CLASSES; j++) {
        const i = r * CLASSES + j;
        expect(Math.abs(fast.logits[i] - ref.logits[i]), `image ${r} class ${j}`).toBeLessThanOrEqual(bound);
      }
    }
    expect(argmaxRows(fast.logits)).toEqual(argmaxRows(ref.logits));
  });

  it.each(backends.filter((b) => b !== preferred))(`%s build: the ${preferred} build's logits`, async (backend) => {
    const other = (await runLowbit(m.file, backend, { images: CROSS_BUILD_IMAGES })).logits;
    const want = plain.logits.subarray(0, CROSS_BUILD_IMAGES * CLASSES);
    if (!m.f32Activations) expect(sameBits(other, want)).toBe(true);
    const bound = 2 ** -20 * Math.max(...Array.from(want, Math.abs));
    for (let i = 0; i < want.length; i++) expect(Math.abs(other[i] - want[i]), `logit ${i}`).toBeLessThanOrEqual(bound);
  });
});
