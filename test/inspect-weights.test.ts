// The per-node figures of inspect(): weight and activation bits, packed vs fp32 weight bytes,
// totals, why a layer stays on the float path (what the passes declined), precision 'exact',
// and formatInspect's table.

import { describe, expect, it } from 'vitest';
import { formatInspect, inspect, InferenceSession, Tensor, type InspectReport, type NodeReport } from '../src/index.js';
import { OnnxBuilder } from '../scripts/lib/onnx-builder.js';
import { randomF32, rng } from './support/kernels.js';
import { nbitsModel } from './support/nbits-models.js';
import { randomWeights } from './support/qweights.js';

const model = (f: string) => new URL(`../models/${f}`, import.meta.url).pathname;
const layers = (r: InspectReport) => r.nodes.filter((n) => n.packedWeightBytes !== null);
/** The MLP's Gemm weights (K × N). */
const MLP = [[784, 256], [256, 256], [256, 10]];

function expectTotals(r: InspectReport): void {
  const ls = layers(r);
  expect(r.totals.layers).toBe(ls.length);
  expect(r.totals.packedWeightBytes).toBe(ls.reduce((s, n) => s + n.packedWeightBytes!, 0));
  expect(r.totals.fp32WeightBytes).toBe(ls.reduce((s, n) => s + n.fp32WeightBytes!, 0));
  expect(r.totals.compression).toBeCloseTo(r.totals.fp32WeightBytes / r.totals.packedWeightBytes, 12);
  // What the layers hold for their weights is part of what the session holds.
  expect(r.totals.packedWeightBytes).toBeLessThanOrEqual(r.memory.weightsBytes);
}

describe('inspect(): bits and bytes per layer', () => {
  it('fp32 MLP: 32-bit weights and activations, packed ≈ fp32, the binary rule says why', async () => {
    const r = await inspect(model('fmnist-mlp-fp32.onnx'));
    expect(r.inputs).toEqual([{ name: 'input', dtype: 'float32', dims: [1, 1, 28, 28] }]); // symbolic N taken as 1
    const ls = layers(r);
    expect(ls.map((n) => n.fp32WeightBytes)).toEqual(MLP.map(([k, n]) => 4 * k * n));
    for (const n of ls) {
      expect([n.weightBits, n.activationBits, n.kernel]).toEqual([32, 32, 'gemm_f32']);
      // The f32 GEMM packs B in column panels: at least the fp32 bytes, padding at most one panel row.
      expect(n.packedWeightBytes!).toBeGreaterThanOrEqual(n.fp32WeightBytes!);
      expect(n.reason).toBe('binary: weights are not ±s per output channel');
    }
    expectTotals(r);
    // Data-movement nodes carry no weight figures.
    const flatten = r.nodes.find((n) => n.opType === 'Flatten')!;
    expect([flatten.weightBits, flatten.activationBits, flatten.packedWeightBytes, flatten.reason]).toEqual([null, null, null, null]);
  });

  it.each([
    ['fmnist-mlp-int4-nbits.onnx', 'MatMulNBits', 4, 32, 'qwgemm_f32'],
    ['fmnist-mlp-int4-qdq.onnx', 'MatMulQW', 4, 32, 'qwgemm_f32'],
    ['fmnist-mlp-int8-qdq.onnx', 'QGemm', 8, 8, 'qgemm_i8'],
    ['fmnist-mlp-int8-dynamic.onnx', 'QGemmToFloat', 8, 8, 'qgemm_i8'],
    ['fmnist-mlp-w2a8-qdq.onnx', 'TernaryMatMul', 2, 8, 'tgemm_t2i8'],
  ] as const)('%s: %s layers, %i-bit weights, %i-bit activations', async (file, op, wBits, aBits, kernel) => {
    const r = await inspect(model(file), { shapes: { input: [3, 1, 28, 28] } });
    expect(r.inputs[0].dims).toEqual([3, 1, 28, 28]);
    const ls = layers(r);
    expect(ls.map((n) => [n.opType, n.weightBits, n.activationBits, n.kernel])).toEqual(MLP.map(() => [op, wBits, aBits, kernel]));
    ls.forEach((n, i) => {
      const [K, N] = MLP[i];
      expect(n.fp32WeightBytes).toBe(4 * K * N);
      // Packed: the weight bits themselves, plus scales / zero points / tile padding, which stay
      // well under the weights for these shapes (the qw layout adds 20 bytes per 4 channels per block).
      expect(n.packedWeightBytes!).toBeGreaterThanOrEqual((K * N * wBits) / 8);
      expect(n.packedWeightBytes!).toBeLessThan(1.5 * ((K * N * wBits) / 8) + 2048);
      expect(n.reason).toBeNull();
    });
    expectTotals(r);
    expect(r.totals.compression!).toBeGreaterThan(32 / wBits / 1.5);
  });

  it('binary layer: 1-bit weights and activations', async () => {
    const b = new OnnxBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2, 300]);
    const sign = b.op('Where', [b.op('Less', [x, b.init('zero', 'float32', [], [0])]), b.init('m1', 'float32', [], [-1]), b.init('p1', 'float32', [], [1])]);
    const r0 = rng(3);
    const w = Float32Array.from({ length: 300 * 40 }, (_, i) => (r0() < 0.5 ? -1 : 1) * (1 + (i % 40) / 64));
    b.op('MatMul', [sign, b.init('w', 'float32', [300, 40], w)], {}, { name: 'layer', outputs: ['y'] });
    b.output('y', 'float32', [2, 40]);
    const r = await inspect(b.toBytes());
    const [n] = layers(r);
    expect([n.opType, n.kernel, n.weightBits, n.activationBits, n.fp32WeightBytes]).toEqual(['BinaryMatMul', 'bgemm_b1b1', 1, 1, 4 * 300 * 40]);
    // 40 rows of 300 bits padded to 384, plus 40 f32 scales.
    expect(n.packedWeightBytes!).toBeGreaterThanOrEqual((300 * 40) / 8);
    expect(n.packedWeightBytes!).toBeLessThanOrEqual((384 * 40) / 8 + 4 * 40);
    expect(r.totals.compression!).toBeGreaterThan(20);
  });
});

/** The one layer `name` of a built model, as inspect reports it. */
async function layer(bytes: Uint8Array, name = 'layer'): Promise<NodeReport> {
  const r = await inspect(bytes);
  const n = r.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name} in ${r.nodes.map((x) => x.name).join(', ')}`);
  return n;
}

/** x → [act] → MatMul(W = ±s per column) → y. */
function pmModel(act: 'Sign' | 'none'): Uint8Array {
  const b = new OnnxBuilder({ opset: 17 });
  let x = b.input('x', 'float32', [2, 64]);
  if (act === 'Sign') x = b.op('Sign', [x]);
  const w = Float32Array.from({ length: 64 * 8 }, (_, i) => (i % 3 === 0 ? -0.5 : 0.5));
  b.op('MatMul', [x, b.init('w', 'float32', [64, 8], w)], {}, { name: 'layer', outputs: ['y'] });
  b.output('y', 'float32', [2, 8]);
  return b.toBytes();
}

describe('inspect(): why a layer stays on the float path', () => {
  it('binary rule: Sign(0) = 0 is not a bipolar sign; nor is a float activation', async () => {
    const s = await layer(pmModel('Sign'));
    expect([s.kernel, s.weightBits, s.activationBits]).toEqual(['gemm_f32', 32, 32]);
    expect(s.reason).toContain('binary: activation is Sign, not a bipolar sign (Sign(0) = 0');
    expect((await layer(pmModel('none'))).reason).toContain('binary: activation is not a bipolar sign');
  });

  it('dq-matmul: a block size that is not a multiple of 16 leaves DQ(int4) folded to f32', async () => {
    const b = new OnnxBuilder({ opset: 21 });
    const a = b.input('a', 'float32', [2, 32]);
    const q = b.init('W', 'int4', [32, 6], Array.from({ length: 32 * 6 }, (_, i) => (i % 15) - 7));
    const sc = b.init('s', 'float32', [4, 6], Array.from({ length: 24 }, (_, i) => 0.01 * (i + 1)));
    const dq = b.op('DequantizeLinear', [q, sc], { axis: 0, block_size: 8 });
    b.op('MatMul', [a, dq], {}, { name: 'layer', outputs: ['y'] });
    b.output('y', 'float32', [2, 6]);
    const n = await layer(b.toBytes());
    expect([n.opType, n.kernel, n.weightBits]).toEqual(['MatMul', 'gemm_f32', 32]);
    expect(n.reason).toContain('dq-matmul: the weight scale is not per tensor, per output channel, or in blocks along K of a multiple of 16');
  });

  it('qdq-int8: a QDQ Conv whose weight is quantised along its input channels runs in f32, and says so', async () => {
    const b = new OnnxBuilder({ opset: 17 });
    const x = b.op('DequantizeLinear', [b.input('x', 'uint8', [1, 3, 5, 5]), b.init('sx', 'float32', [], [0.02]), b.init('zx', 'uint8', [], [128])]);
    const w = b.op('DequantizeLinear', [b.init('W', 'int8', [4, 3, 3, 3], Array.from({ length: 108 }, (_, i) => (i % 9) - 4)), b.init('sw', 'float32', [3], [0.01, 0.02, 0.03])], { axis: 1 });
    b.op('Conv', [x, w], {}, { name: 'layer', outputs: ['y'] });
    b.output('y', 'float32', [1, 4, 3, 3]);
    const n = await layer(b.toBytes());
    expect([n.opType, n.kernels.some((k) => k.startsWith('conv_')), n.math, n.weightBits]).toEqual(['Conv', true, 'f32', 32]);
    expect(n.reason).toContain('qdq-int8: the weight is not DequantizeLinear of a constant 2/4/8-bit integer tensor, per tensor or per output channel');
  });

  it('dynamic-int8: a MatMulInteger not followed by Cast → Mul stays unfused, and says why', async () => {
    const b = new OnnxBuilder({ opset: 17 });
    b.op('MatMulInteger', [b.input('a', 'uint8', [2, 16]), b.init('W', 'int8', [16, 4], Array.from({ length: 64 }, (_, i) => (i % 7) - 3))], {}, { name: 'layer', outputs: ['y'] });
    b.output('y', 'int32', [2, 4]);
    const n = await layer(b.toBytes());
    expect([n.opType, n.kernel, n.weightBits, n.activationBits]).toEqual(['MatMulInteger', 'qgemm_i8', 8, 8]);
    expect(n.reason).toBe('dynamic-int8: the result is not Cast to float by its only reader');
  });

  it('a declined candidate another rule then took shows no reason', async () => {
    // qdq-int8 declines the int4 QDQ layers (float activations); dq-matmul then takes them.
    const s = await InferenceSession.create(model('fmnist-mlp-int4-qdq.onnx'));
    const declined = [...s._engine.declines.entries()].filter(([, d]) => d.reasons.some((x) => x.startsWith('qdq-int8: the activation is float')));
    expect(declined.length).toBe(3);
    const r = s.inspect({ input: [1, 1, 28, 28] });
    for (const [name] of declined) expect(r.nodes.find((n) => n.name === name)).toMatchObject({ opType: 'MatMulQW', reason: null });
  });
});

describe("precision 'exact'", () => {
  it('runs MatMulNBits accuracy_level 4 on f32 activations, bit-identical to accuracy_level 0', async () => {
    const w = randomWeights(rng(11), 24, 80, 4, 16, false);
    const a = new Tensor('float32', randomF32(rng(12), 3 * 80), [3, 80]);
    const level4 = nbitsModel({ w, lead: [3], zp: 'packed', bias: null, accuracyLevel: 4 });
    const approx = await layer(level4, 'mmnb');
    expect([approx.kernel, approx.activationBits, approx.exact]).toEqual(['qwgemm_i8', 8, false]);
    expect(approx.notes.join(' ')).toContain('accuracy_level 4');

    const r = await inspect(level4, { precision: 'exact' });
    const exact = r.nodes.find((n) => n.name === 'mmnb')!;
    expect(r.passes['exact-activations']).toBe(1);
    expect([exact.kernel, exact.activationBits, exact.exact, exact.notes]).toEqual(['qwgemm_f32', 32, true, []]);

    const run = async (bytes: Uint8Array, precision?: 'exact') => {
      const s = await InferenceSession.create(bytes, { precision });
      return Array.from((await s.run({ a })).y.data as Float32Array);
    };
    const [viaExact, level0, viaInt8] = [await run(level4, 'exact'), await run(nbitsModel({ w, lead: [3], zp: 'packed', bias: null, accuracyLevel: 0 })), await run(level4)];
    expect(viaExact).toEqual(level0);
    expect(viaInt8).not.toEqual(level0); // int8 activations do change the numbers
  });

  it('refuses an unknown precision', async () => {
    await expect(InferenceSession.create(model('fmnist-mlp-fp32.onnx'), { precision: 'fast' as 'exact' })).rejects.toThrow(/precision must be 'model' or 'exact'/);
  });
});

describe('formatInspect()', () => {
  it('one aligned row per node and a totals row that adds the columns', async () => {
    const r = await inspect(model('fmnist-mlp-int4-nbits.onnx'));
    const text = formatInspect(r);
    const lines = text.split('\n');
    const head = lines.findIndex((l) => l.startsWith('node '));
    expect(lines[head].split(/\s{2,}/)).toEqual(['node', 'op', 'kernel', 'W bits', 'A bits', 'packed B', 'fp32 B', 'note']);
    const rows = lines.slice(head + 2, head + 2 + r.nodes.length);
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(r.nodes.map((n) => n.name));
    const num = (s: string) => Number(s.replace(/,/g, ''));
    const cols = (l: string) => l.split(/\s{2,}/);
    const nbits = rows.filter((l) => cols(l)[1] === 'MatMulNBits').map(cols);
    expect(nbits.map((c) => [c[2], c[3], c[4]])).toEqual(MLP.map(() => ['qwgemm_f32', '4', '32']));
    const total = cols(lines[head + 3 + r.nodes.length]);
    expect(total[0]).toBe('total (3 layers with weights)');
    expect(num(total[1])).toBe(nbits.reduce((s, c) => s + num(c[5]), 0));
    expect(num(total[2])).toBe(nbits.reduce((s, c) => s + num(c[6]), 0));
    expect(total[3]).toBe(`fp32 / packed = ${(num(total[2]) / num(total[1])).toFixed(2)}×`);
    // Columns line up: every row's packed-bytes field ends where the header's does.
    const end = lines[head].indexOf('packed B') + 'packed B'.length;
    for (const c of nbits) expect(rows.find((l) => l.startsWith(c[0]))!.indexOf(c[5]) + c[5].length).toBe(end);
  });
});
