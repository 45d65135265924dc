// The Fashion-MNIST MLP as onnxruntime's quantizers emit it (scripts/quantize/quantize_models.py),
// run in lowbit on the first 64 bundled images, on every kernel build, against the reference that
// can actually arbitrate each form:
//
// - int8 dynamic (DynamicQuantizeLinear → MatMulInteger → Cast → Mul → Add): after the integer
//   MatMul every step is one correctly rounded float32 operation fixed by the ONNX spec, and
//   DynamicQuantizeLinear's scale and rounding are spec-defined too, so a correct runtime is
//   bit-exact; onnxruntime computes exactly this (measured: identical to onnx.reference).
// - int8 QDQ (Q/DQ around Gemm, uint8 activations, per-channel int8 weights): the spec's float
//   Gemm between DQ and Q has no fixed summation order, and on these images one hidden value lies
//   1e-4 of a quantum (2e-6 relative) from a rounding boundary, so a float path may round one
//   hidden unit differently from onnxruntime-node. Asserted: every logit within one quantum of the
//   output scale, and identical argmax wherever onnxruntime-node's top-two margin exceeds two
//   quanta (closer pairs can swap legitimately; the quantized logits even contain exact ties).
// - int4 (MatMulNBits, and DQ(UINT4, block 32) → MatMul): onnxruntime-node fuses the DQ → MatMul
//   form into an int8-activation kernel (0.126 off on logits of magnitude ≈50; its MatMulNBits
//   with accuracy_level unset is exact), so the reference is exact float64 math over the
//   dequantized weights (test/support/int4-mlp-reference.ts). Asserted: |Δ| ≤ 1e-3 per logit,
//   for lowbit and — as a check of the reference itself — for onnxruntime-web, which computes both
//   forms exactly in float32 (measured residue 1.7e-5, summation order only).

import { readFileSync } from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { InferenceSession, supportedBackends, Tensor } from '../../src/index.js';
import { loadSubset, toInput } from '../../scripts/lib/fmnist.js';
import { int4MlpReference, outputQuantum } from '../support/int4-mlp-reference.js';

const IMAGES = 64;
const CLASSES = 10;
const DIMS = [IMAGES, 1, 28, 28];
const input = toInput(loadSubset(), 0, IMAGES);
const modelBytes = (name: string) => new Uint8Array(readFileSync(new URL(`../../models/${name}`, import.meta.url)));
const backends = await supportedBackends();

ortWeb.env.wasm.numThreads = 1;
ortWeb.env.wasm.proxy = false;

async function lowbitLogits(model: Uint8Array, backend: (typeof backends)[number]): Promise<Float32Array> {
  const s = await InferenceSession.create(model, { backend });
  try {
    const out = await s.run({ [s.inputNames[0]]: new Tensor('float32', input, DIMS) });
    const y = out[s.outputNames[0]];
    expect(y.type).toBe('float32');
    expect(y.dims).toEqual([IMAGES, CLASSES]);
    return y.data as Float32Array;
  } finally {
    await s.release();
  }
}

async function ortNodeLogits(model: Uint8Array): Promise<Float32Array> {
  const s = await ortNode.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await s.run({ [s.inputNames[0]]: new ortNode.Tensor('float32', input, DIMS) });
    return out[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

async function ortWebLogits(model: Uint8Array): Promise<Float32Array> {
  const s = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'], logSeverityLevel: 3 });
  try {
    const out = await s.run({ [s.inputNames[0]]: new ortWeb.Tensor('float32', input, DIMS) });
    return out[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

/** Images whose top-1 logit beats the runner-up by more than `margin` in `ref`. */
function decisiveImages(ref: ArrayLike<number>, margin: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const row = Array.from({ length: CLASSES }, (_, j) => ref[i * CLASSES + j]).sort((p, q) => q - p);
    if (row[0] - row[1] > margin) out.push(i);
  }
  return out;
}

const rowOf = (y: ArrayLike<number>, i: number) => Array.from({ length: CLASSES }, (_, j) => y[i * CLASSES + j]);

describe('fmnist-mlp-int8-dynamic.onnx (quantize_dynamic)', () => {
  const model = modelBytes('fmnist-mlp-int8-dynamic.onnx');
  const reference = ortNodeLogits(model);
  for (const backend of backends) {
    it(`${backend}: bit-exact with onnxruntime-node`, async () => {
      const [got, want] = [await lowbitLogits(model, backend), await reference];
      expect(maxAbsDiff(got, want)).toBe(0);
      expect(Array.from(got)).toEqual(Array.from(want));
    });
  }
});

describe('fmnist-mlp-int8-qdq.onnx (quantize_static, QDQ, per-channel)', () => {
  const model = modelBytes('fmnist-mlp-int8-qdq.onnx');
  const reference = ortNodeLogits(model);
  const quantum = outputQuantum(model);
  for (const backend of backends) {
    it(`${backend}: every logit within one output quantum of onnxruntime-node, same decisive argmax`, async () => {
      const [got, want] = [await lowbitLogits(model, backend), await reference];
      // Both sides are (q − zp)·scale in float32, so a one-step difference is `quantum` up to rounding.
      expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(quantum * (1 + 1e-6));
      const decisive = decisiveImages(want, 2 * quantum);
      expect(decisive.length).toBeGreaterThan(IMAGES / 2);
      expect(decisive.map((i) => argmax(rowOf(got, i)))).toEqual(decisive.map((i) => argmax(rowOf(want, i))));
    });
  }
});

const EXACT_INT4_ATOL = 1e-3;

for (const name of ['fmnist-mlp-int4-nbits.onnx', 'fmnist-mlp-int4-qdq.onnx']) {
  describe(`${name} (MatMulNBitsQuantizer, 4-bit, block 32, asymmetric)`, () => {
    const model = modelBytes(name);
    const exact = int4MlpReference(model, input, IMAGES);

    it('onnxruntime-web matches the float64 reference (the reference is right)', async () => {
      expect(maxAbsDiff(await ortWebLogits(model), exact)).toBeLessThanOrEqual(EXACT_INT4_ATOL);
    });

    for (const backend of backends) {
      it(`${backend}: within ${EXACT_INT4_ATOL} of exact float64 math on every logit`, async () => {
        const got = await lowbitLogits(model, backend);
        expect(maxAbsDiff(got, exact)).toBeLessThanOrEqual(EXACT_INT4_ATOL);
        const decisive = decisiveImages(exact, 2 * EXACT_INT4_ATOL);
        expect(decisive.map((i) => argmax(rowOf(got, i)))).toEqual(decisive.map((i) => argmax(rowOf(exact, i))));
      });
    }
  });
}
