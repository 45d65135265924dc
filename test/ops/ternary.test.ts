// ai.lowbit TernaryMatMul / TernaryConv written directly in a model: the documented formulas
// (requantised and float) with scales and zero points fed at run time, on every build, and bad
// operands as load errors naming the node.

import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { expectLowbit } from '../support/errors.js';
import { ALL_BACKENDS, rng } from '../support/kernels.js';
import { ternary } from '../support/ternary.js';

const LOWBIT = { domain: 'ai.lowbit' };

/** round half to even of an f32 value (what the requantising epilogue does). */
const rhe = (v: number): number => {
  const f = Math.floor(v);
  return v - f === 0.5 ? (f % 2 === 0 ? f : f + 1) : Math.round(v);
};

describe.each(ALL_BACKENDS)('TernaryMatMul (%s)', (backend) => {
  const M = 6, K = 90, N = 11;
  const r = rng(17);
  const w = ternary(r, K * N, 0.3);
  const sw = Float32Array.from({ length: N }, () => 0.01 + r() * 0.05);
  const bias = Int32Array.from({ length: N }, () => Math.floor((r() - 0.5) * 2000));
  const a = Int8Array.from({ length: M * K }, () => Math.floor(r() * 256) - 128);
  const acc = (m: number, n: number, zp: number) => {
    let s = 0;
    for (let k = 0; k < K; k++) s += (a[m * K + k] - zp) * w[k * N + n];
    return s;
  };

  it('requantised, a_scale / a_zero_point / y_scale fed at run time, y_min / y_max', async () => {
    const b = new OnnxBuilder({ opset: 21, domains: { 'ai.lowbit': 1 } });
    const ins = [b.input('a', 'int8', [M, K]), b.input('sa', 'float32', []), b.input('za', 'int8', []), b.init('W', 'int8', [K, N], w),
      b.init('sw', 'float32', [N], sw), b.init('B', 'int32', [N], bias), b.input('sy', 'float32', []), b.init('zy', 'int8', [], [-4])];
    b.output(b.op('TernaryMatMul', ins, { y_min: -30, y_max: 25 }, { ...LOWBIT, name: 't', outputs: ['y'] }), 'int8', [M, N]);
    const s = await InferenceSession.create(b.toBytes(), { backend });
    const [sa, za, sy] = [0.0231, -7, 0.012];
    const y = (await s.run({
      a: new Tensor('int8', a, [M, K]), sa: new Tensor('float32', Float32Array.of(sa), []),
      za: new Tensor('int8', Int8Array.of(za), []), sy: new Tensor('float32', Float32Array.of(sy), []),
    })).y.data as Int8Array;
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      const mult = Math.fround(Math.fround(Math.fround(sa) * sw[n]) / Math.fround(sy));
      const v = Math.fround(Math.fround(acc(m, n, za) + bias[n]) * mult);
      expect(y[m * N + n], `(${m}, ${n})`).toBe(Math.min(25, Math.max(-30, rhe(v) - 4)));
    }
    expect(new Set(y).size).toBeGreaterThan(10);
    expect(y.includes(-30) && y.includes(25)).toBe(true); // both clamps reached
  });

  it('float output, per-tensor w_scale, float bias, act_min / act_max', async () => {
    const b = new OnnxBuilder({ opset: 21, domains: { 'ai.lowbit': 1 } });
    const fb = Float32Array.from({ length: N }, () => r() - 0.5);
    const ins = [b.input('a', 'int8', [M, K]), b.init('sa', 'float32', [], [0.05]), '', b.init('W', 'int8', [K, N], w),
      b.init('sw', 'float32', [1], [0.03]), b.init('B', 'float32', [N], fb)];
    b.output(b.op('TernaryMatMul', ins, { act_min: -1, act_max: 1.5 }, { ...LOWBIT, outputs: ['y'] }), 'float32', [M, N]);
    const s = await InferenceSession.create(b.toBytes(), { backend });
    const y = (await s.run({ a: new Tensor('int8', a, [M, K]) })).y.data as Float32Array;
    const scale = Math.fround(Math.fround(0.05) * Math.fround(0.03));
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      const v = Math.fround(Math.fround(Math.fround(acc(m, n, 0)) * scale) + fb[n]);
      expect(y[m * N + n]).toBe(Math.min(1.5, Math.max(-1, v)));
    }
  });
});

/** A one-node model: `op` over a [2, 8] (MatMul) or [1, 4, 5, 5] (Conv) int8 input, with overrides. */
function model(op: 'TernaryMatMul' | 'TernaryConv', o: { w?: number[]; wDims?: number[]; wInput?: boolean; sw?: number[]; yScaleOnly?: boolean; bias?: 'float32' | 'int32'; attrs?: Record<string, AttrInput> } = {}): Uint8Array {
  const b = new OnnxBuilder({ opset: 21, domains: { 'ai.lowbit': 1 } });
  const conv = op === 'TernaryConv';
  const wDims = o.wDims ?? (conv ? [3, 4, 3, 3] : [8, 3]);
  const wVals = o.w ?? new Array(wDims.reduce((p, d) => p * d, 1)).fill(1);
  const a = b.input('a', 'int8', conv ? [1, 4, 5, 5] : [2, 8]);
  const wName = o.wInput ? b.input('W', 'int8', wDims) : b.init('W', 'int8', wDims, wVals);
  const ins = [a, b.init('sa', 'float32', [], [0.1]), '', wName, b.init('sw', 'float32', [(o.sw ?? [1]).length], o.sw ?? [1])];
  if (o.bias) ins.push(b.init('B', o.bias, [3], [1, 2, 3]));
  else if (o.yScaleOnly) ins.push('');
  if (o.yScaleOnly) ins.push(b.init('sy', 'float32', [], [0.5]));
  b.output(b.op(op, ins, o.attrs ?? {}, { ...LOWBIT, name: 'bad', outputs: ['y'] }), 'float32', null);
  return b.toBytes();
}

describe('bad ternary operands', () => {
  const create = (bytes: Uint8Array) => InferenceSession.create(bytes, { backend: 'scalar' });
  it('a weight outside {−1, 0, +1}', async () => {
    const w = new Array(24).fill(0);
    w[7] = 2;
    await expectLowbit(create(model('TernaryMatMul', { w })), 'LOWBIT_BAD_MODEL', "'bad'", 'W[7] is 2');
  });
  it('weights fed at run time', async () => {
    await expectLowbit(create(model('TernaryConv', { wInput: true })), 'LOWBIT_UNSUPPORTED', "'bad'", 'W must be a constant');
  });
  it('w_scale neither one value nor one per output channel', async () => {
    await expectLowbit(create(model('TernaryConv', { sw: [1, 2] })), 'LOWBIT_SHAPE_MISMATCH', "'bad'", 'w_scale');
  });
  it('y_scale without y_zero_point', async () => {
    await expectLowbit(create(model('TernaryMatMul', { yScaleOnly: true })), 'LOWBIT_BAD_MODEL', "'bad'", 'y_scale and y_zero_point');
  });
  it('an int32 bias on a float output', async () => {
    await expectLowbit(create(model('TernaryMatMul', { bias: 'int32' })), 'LOWBIT_UNSUPPORTED', "'bad'");
  });
  it('W and A disagreeing on K, and a Conv weight of the wrong rank', async () => {
    await expectLowbit(create(model('TernaryMatMul', { wDims: [7, 3] })), 'LOWBIT_SHAPE_MISMATCH', "'bad'", 'disagree on K');
    await expectLowbit(create(model('TernaryConv', { wDims: [3, 4, 3] })), 'LOWBIT_SHAPE_MISMATCH', "'bad'", 'rank');
  });
});
