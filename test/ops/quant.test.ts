// QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear through the public API vs
// onnxruntime-node (integer outputs and dequantized values must match exactly), and the
// shape / type errors a model can carry.

import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import type { DType } from '../../src/ir/dtype.js';
import { differential, formatReport, type Feeds } from '../../scripts/lib/differential.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, rng } from '../support/kernels.js';

const EXACT = { rtol: 0, atol: 0 };

type Gran = { scale: number[]; attrs: Record<string, AttrInput> };

const RANGES: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int4: [-8, 7], uint4: [0, 15],
};

/** f32 inputs near the grid of `scale` (ties k + 0.5 included), with out-of-range values. */
function quantInput(seed: number, n: number, span: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < 0.3 ? Math.floor((r() - 0.5) * span) + 0.5 : (r() - 0.5) * span) * 0.25);
}

function scaleValues(seed: number, n: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < 0.5 ? 0.25 : 0.05 + r()));
}

function zeroPoints(seed: number, dt: DType, n: number): number[] {
  const r = rng(seed);
  const [lo, hi] = RANGES[dt]!;
  return Array.from({ length: n }, () => Math.floor(lo + r() * (hi - lo + 1)));
}

const GRANULARITIES: { name: string; x: number[]; g: Gran }[] = [
  { name: 'per-tensor', x: [3, 37], g: { scale: [], attrs: {} } },
  { name: 'per-axis 1', x: [2, 5, 19], g: { scale: [5], attrs: { axis: 1 } } },
  { name: 'per-axis -1', x: [3, 4, 35], g: { scale: [35], attrs: { axis: -1 } } },
  { name: 'blocked axis 1, partial block', x: [3, 37], g: { scale: [3, 3], attrs: { axis: 1, block_size: 16 } } },
  { name: 'blocked axis 0', x: [10, 18], g: { scale: [4, 18], attrs: { axis: 0, block_size: 3 } } },
];

const n = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** x → QuantizeLinear(ydt) (→ DequantizeLinear for sub-byte types, whose values compare exactly). */
function quantizeModel(ydt: DType, x: number[], g: Gran, seed: number, zp: boolean): Uint8Array {
  const b = new OnnxBuilder({ opset: 21 });
  const xi = b.input('x', 'float32', x);
  const s = b.init('s', 'float32', g.scale, scaleValues(seed, n(g.scale)));
  const ins = [xi, s, ...(zp ? [b.init('z', ydt, g.scale, zeroPoints(seed + 1, ydt, n(g.scale)))] : [])];
  const attrs = zp || ydt === 'uint8' ? g.attrs : { ...g.attrs, output_dtype: ydt === 'int8' ? 3 : ydt === 'int16' ? 5 : ydt === 'uint16' ? 4 : ydt === 'int4' ? 22 : 21 };
  const q = b.op('QuantizeLinear', ins, attrs);
  if (ydt === 'int4' || ydt === 'uint4') b.output(b.op('DequantizeLinear', [q, s, ...ins.slice(2)], g.attrs), 'float32', null);
  else b.output(q, ydt, null);
  return b.toBytes();
}

function dequantizeModel(xdt: DType, x: number[], g: Gran, seed: number, zp: boolean): Uint8Array {
  const b = new OnnxBuilder({ opset: 21 });
  const xi = b.input('x', xdt, x);
  const ins = [xi, b.init('s', 'float32', g.scale, scaleValues(seed, n(g.scale)))];
  if (zp) ins.push(b.init('z', xdt, g.scale, zeroPoints(seed + 1, xdt, n(g.scale))));
  b.output(b.op('DequantizeLinear', ins, g.attrs), 'float32', null);
  return b.toBytes();
}

function intFeed(dt: DType, dims: number[], seed: number): Feeds {
  const r = rng(seed);
  const [lo, hi] = RANGES[dt] ?? [-1e6, 1e6];
  const vals = Array.from({ length: n(dims) }, () => Math.floor(lo + r() * (hi - lo + 1)));
  const C = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array }[dt as 'int8']!;
  return { x: { type: dt as 'int8', data: C.from(vals), dims } };
}

describe.each(ALL_BACKENDS)('quantization ops vs onnxruntime-node (%s)', (backend) => {
  let seed = 1;
  for (const ydt of ['uint8', 'int8', 'int16', 'uint16', 'int4', 'uint4'] as DType[]) {
    for (const { name, x, g } of GRANULARITIES) {
      for (const zp of [true, false]) {
        const s = seed++;
        it(`QuantizeLinear → ${ydt}, ${name}${zp ? ', zero point' : ''}`, async () => {
          const span = 2 * (RANGES[ydt]![1] - RANGES[ydt]![0]) + 8;
          const feeds: Feeds = { x: { type: 'float32', data: quantInput(s, n(x), span), dims: x } };
          const rep = await differential(quantizeModel(ydt, x, g, s, zp), feeds, EXACT, backend);
          expect(rep.ok, formatReport(rep)).toBe(true);
        });
      }
    }
  }
  for (const xdt of ['uint8', 'int8', 'int16', 'uint16', 'int32'] as DType[]) {
    for (const { name, x, g } of GRANULARITIES) {
      const zp = xdt !== 'int32';
      const s = seed++;
      it(`DequantizeLinear ${xdt}, ${name}`, async () => {
        const rep = await differential(dequantizeModel(xdt, x, g, s, zp), intFeed(xdt, x, s), EXACT, backend);
        expect(rep.ok, formatReport(rep)).toBe(true);
      });
    }
  }
  it.each([[1], [7], [16], [3, 33], [2, 5, 41]])('DynamicQuantizeLinear %o', async (...dims) => {
    const b = new OnnxBuilder({ opset: 21 });
    const [y, sc, zp] = b.opMulti('DynamicQuantizeLinear', [b.input('x', 'float32', dims)], {}, { outputs: 3 });
    b.output(y, 'uint8', null);
    b.output(sc, 'float32', null);
    b.output(zp, 'uint8', null);
    for (const shift of [-0.3, 0, 0.5, -1.5]) {
      const r = rng(dims.length * 100 + dims[0]);
      const data = Float32Array.from({ length: n(dims) }, () => (shift === -1.5 ? 0 : (r() + shift) * 7));
      const rep = await differential(b.toBytes(), { x: { type: 'float32', data, dims } }, EXACT, backend);
      expect(rep.ok, `shift ${shift}: ${formatReport(rep)}`).toBe(true);
    }
  });
});

describe('quantization ops reject inconsistent models with a clear error', () => {
  const load = (op: string, xdt: DType, ins: (b: OnnxBuilder) => string[], attrs: Record<string, AttrInput> = {}, opset = 21) => {
    const b = new OnnxBuilder({ opset });
    b.output(b.op(op, [b.input('x', xdt, [4, 6]), ...ins(b)], attrs, { name: 'the_node' }), 'float32', null);
    return InferenceSession.create(b.toBytes(), { backend: 'scalar' });
  };
  const f32 = (dims: number[]) => (b: OnnxBuilder) => b.init('s', 'float32', dims, new Float32Array(n(dims)).fill(1));
  it('scale length not matching the axis', async () => {
    await expect(load('QuantizeLinear', 'float32', (b) => [f32([4])(b)], { axis: 1 })).rejects.toMatchObject({ code: 'LOWBIT_SHAPE_MISMATCH', message: expect.stringContaining('the_node') });
    await expect(load('DequantizeLinear', 'int8', (b) => [f32([7])(b)], { axis: -1 })).rejects.toMatchObject({ code: 'LOWBIT_SHAPE_MISMATCH' });
  });
  it('blocked scale of the wrong shape, negative block_size, axis out of range', async () => {
    await expect(load('QuantizeLinear', 'float32', (b) => [f32([4, 3])(b)], { axis: 1, block_size: 4 })).rejects.toMatchObject({ code: 'LOWBIT_SHAPE_MISMATCH' });
    await expect(load('QuantizeLinear', 'float32', (b) => [f32([4, 2])(b)], { axis: 1, block_size: -4 })).rejects.toMatchObject({ code: 'LOWBIT_BAD_MODEL' });
    await expect(load('QuantizeLinear', 'float32', (b) => [f32([4])(b)], { axis: 2 })).rejects.toMatchObject({ code: 'LOWBIT_BAD_MODEL' });
  });
  it('zero point of another type or shape, conflicting output_dtype', async () => {
    await expect(load('DequantizeLinear', 'int8', (b) => [f32([])(b), b.init('z', 'uint8', [], [0])])).rejects.toMatchObject({ code: 'LOWBIT_TYPE_MISMATCH' });
    await expect(load('QuantizeLinear', 'float32', (b) => [f32([6])(b), b.init('z', 'int8', [4], [0, 0, 0, 0])], { axis: 1 })).rejects.toMatchObject({ code: 'LOWBIT_SHAPE_MISMATCH' });
    await expect(load('QuantizeLinear', 'float32', (b) => [f32([])(b), b.init('z', 'int8', [], [0])], { output_dtype: 2 })).rejects.toMatchObject({ code: 'LOWBIT_TYPE_MISMATCH' });
  });
  it('unsupported types and nonzero float8 zero points', async () => {
    await expect(load('QuantizeLinear', 'float32', (b) => [b.init('s', 'int32', [], [1])])).rejects.toMatchObject({ code: 'LOWBIT_UNSUPPORTED' });
    await expect(load('QuantizeLinear', 'float32', (b) => [f32([])(b)], { output_dtype: 1 })).rejects.toMatchObject({ code: 'LOWBIT_UNSUPPORTED' });
    await expect(load('QuantizeLinear', 'float32', (b) => [f32([])(b), b.init('z', 'float8e4m3fn', [], new Uint8Array([0x38]))])).rejects.toMatchObject({ code: 'LOWBIT_BAD_MODEL' });
  });
  it('a float8 zero point fed at run time must be zero', async () => {
    const b = new OnnxBuilder({ opset: 21 });
    b.output(b.op('DequantizeLinear', [b.input('x', 'float8e4m3fn', [4]), b.init('s', 'float32', [], [2]), b.input('z', 'float8e4m3fn', [])]), 'float32', null);
    const s = await InferenceSession.create(b.toBytes(), { backend: 'scalar' });
    const x = Tensor.fromBytes('float8e4m3fn', new Uint8Array([0x38, 0x40, 0xb8, 0]), [4]);
    await expect(s.run({ x, z: Tensor.fromBytes('float8e4m3fn', new Uint8Array([0x38]), []) })).rejects.toMatchObject({ code: 'LOWBIT_BAD_INPUT' });
    const out = await s.run({ x, z: Tensor.fromBytes('float8e4m3fn', new Uint8Array([0x80]), []) });
    expect(Array.from(Object.values(out)[0].data as Float32Array)).toEqual([2, 4, -2, 0]);
  });
});
