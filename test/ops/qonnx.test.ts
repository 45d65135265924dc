// QONNX fake-quant ops (Quant/IntQuant, BipolarQuant, Trunc, MultiThreshold) vs outputs of
// qonnx's own executor on the same inputs (test/fixtures/qonnx/cases.json, written by
// scripts/qonnx/make_fixtures.py): bit-exact on every build, with X fed at run time and with X
// constant (folded at load time). Then the defaults and the errors a model can carry.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import type { DType } from '../../src/ir/dtype.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS } from '../support/kernels.js';

interface Stored { dtype: string; dims: number[]; b64: string }
interface Case {
  name: string; op: string; domain: string; import_domain: boolean; attrs: Record<string, AttrInput>;
  inputs: Stored[]; output: Stored;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/qonnx/cases.json', import.meta.url), 'utf8')) as { cases: Case[] };
const CASES = fixture.cases;

const bytesOf = (t: Stored) => new Uint8Array(Buffer.from(t.b64, 'base64'));

/** The case's node with input 0 fed at run time (or a constant), the rest as initializers. */
function caseModel(c: Case, xConstant: boolean): Uint8Array {
  const b = new OnnxBuilder({ opset: 21, domains: c.import_domain ? { [c.domain]: 1 } : {} });
  const names = c.inputs.map((t, i) => (i === 0 && !xConstant ? b.input('x', 'float32', t.dims) : b.init(`in${i}`, t.dtype as DType, t.dims, bytesOf(t))));
  b.output(b.op(c.op, names, c.attrs, { domain: c.domain, name: 'the_node' }), 'float32', null);
  return b.toBytes();
}

async function runCase(c: Case, backend: (typeof ALL_BACKENDS)[number], xConstant: boolean): Promise<Uint8Array> {
  const s = await InferenceSession.create(caseModel(c, xConstant), { backend });
  const x = c.inputs[0];
  const out = await s.run(xConstant ? {} : { x: Tensor.fromBytes('float32', bytesOf(x), x.dims) });
  const y = Object.values(out)[0];
  expect(y.dims).toEqual(c.output.dims);
  return y.bytes();
}

/** Bit patterns (as u32) so NaN and −0 compare exactly; the first mismatch is named. */
function expectSameBits(got: Uint8Array, want: Uint8Array, what: string): void {
  const g = new Uint32Array(got.slice().buffer);
  const w = new Uint32Array(want.slice().buffer);
  expect(g.length, what).toBe(w.length);
  const bad = g.findIndex((v, i) => v !== w[i]);
  if (bad >= 0) {
    const f = (u: number) => new Float32Array(Uint32Array.of(u).buffer)[0];
    expect.fail(`${what}: element ${bad} is ${f(g[bad])} (0x${g[bad].toString(16)}), qonnx gives ${f(w[bad])} (0x${w[bad].toString(16)})`);
  }
}

describe.each(ALL_BACKENDS)('QONNX ops vs qonnx executor (%s)', (backend) => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    expectSameBits(await runCase(c, backend, false), bytesOf(c.output), c.name);
  });
  it.each(CASES.filter((_, i) => i % 4 === 0).map((c) => [c.name, c] as const))('%s, X constant (folded)', async (_, c) => {
    expectSameBits(await runCase(c, backend, true), bytesOf(c.output), `${c.name} folded`);
  });
});

// ---- defaults and bad input ------------------------------------------------------------------

const QDOM = 'qonnx.custom_op.general';

function f32Model(op: string, x: number[], ins: (b: OnnxBuilder) => string[], attrs: Record<string, AttrInput> = {}, domain = QDOM): Uint8Array {
  const b = new OnnxBuilder({ opset: 21 });
  b.output(b.op(op, [b.input('x', 'float32', x), ...ins(b)], attrs, { domain, name: 'the_node' }), 'float32', null);
  return b.toBytes();
}

async function run(model: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await InferenceSession.create(model, { backend: 'scalar' });
  return Object.values(await s.run({ x: new Tensor('float32', x, dims) }))[0].data as Float32Array;
}

const scalar = (b: OnnxBuilder, v: number, dt: DType = 'float32') => b.const(dt, [], [v]);
const quantIns = (bits: number) => (b: OnnxBuilder) => [scalar(b, 0.5), scalar(b, 0), scalar(b, bits)];

describe('QONNX defaults', () => {
  const x = Float32Array.from([-9, -2.25, -0.75, -0.25, 0, 0.25, 0.75, 1.25, 9]);
  it('Quant: signed 1, narrow 0, rounding ROUND (half-even) when the attributes are absent', async () => {
    const got = await run(f32Model('Quant', [9], quantIns(3)), x, [9]);
    expect(Array.from(got)).toEqual([-2, -2, -1, -0, 0, 0, 1, 1, 1.5]);
  });
  it('Quant: 1-bit signed is bipolar, 2-bit signed narrow is ternary', async () => {
    expect(Array.from(await run(f32Model('Quant', [9], quantIns(1)), x, [9]))).toEqual([-0.5, -0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    const ternary = await run(f32Model('Quant', [9], quantIns(2), { narrow: 1 }), x, [9]);
    expect(Array.from(ternary)).toEqual([-0.5, -0.5, -0.5, -0, 0, 0, 0.5, 0.5, 0.5]);
  });
  it('Trunc: rounding_mode FLOOR when absent', async () => {
    const ins = (b: OnnxBuilder) => [scalar(b, 1), scalar(b, 0), scalar(b, 8), scalar(b, 6)];
    const dflt = await run(f32Model('Trunc', [9], ins), x, [9]);
    expect(dflt).toEqual(await run(f32Model('Trunc', [9], ins, { rounding_mode: 'FLOOR' }), x, [9]));
    expect(Array.from(dflt)).toEqual([-3, -1, -1, -0, 0, 0, 0, 0, 2]);
  });
  it('the same op under onnx.brevitas and finn.custom_op.general without an opset import', async () => {
    for (const domain of ['onnx.brevitas', 'finn.custom_op.general']) {
      const got = await run(f32Model('BipolarQuant', [9], (b) => [scalar(b, 2)], {}, domain), x, [9]);
      expect(Array.from(got)).toEqual([-2, -2, -2, -2, 2, 2, 2, 2, 2]);
    }
  });
});

describe('QONNX bad input', () => {
  const load = (model: Uint8Array) => InferenceSession.create(model, { backend: 'scalar' });
  const bad = (code: string, text: string) => ({ code, message: expect.stringContaining(text) });
  it('a bitwidth computed at run time, non-scalar or not an integer', async () => {
    const b = new OnnxBuilder({ opset: 21 });
    const x = b.input('x', 'float32', [4]);
    b.output(b.op('Quant', [x, scalar(b, 1), scalar(b, 0), b.input('bits', 'float32', [])], {}, { domain: QDOM, name: 'the_node' }), 'float32', null);
    await expect(load(b.toBytes())).rejects.toMatchObject(bad('LOWBIT_UNSUPPORTED', 'the_node'));
    await expect(load(f32Model('Quant', [4], (b) => [scalar(b, 1), scalar(b, 0), b.const('float32', [1], [4])]))).rejects.toMatchObject(bad('LOWBIT_BAD_MODEL', 'the_node'));
    await expect(load(f32Model('Quant', [4], (b) => [scalar(b, 1), scalar(b, 0), scalar(b, 2.5)]))).rejects.toMatchObject(bad('LOWBIT_UNSUPPORTED', 'the_node'));
    await expect(load(f32Model('Quant', [4], (b) => [scalar(b, 1), scalar(b, 0), scalar(b, 0)]))).rejects.toMatchObject(bad('LOWBIT_UNSUPPORTED', 'the_node'));
  });
  it('an unknown rounding mode names the node and the mode', async () => {
    const err = load(f32Model('Quant', [4], quantIns(4), { rounding_mode: 'STOCHASTIC' }));
    await expect(err).rejects.toMatchObject(bad('LOWBIT_UNSUPPORTED', 'the_node'));
    await expect(err).rejects.toMatchObject(bad('LOWBIT_UNSUPPORTED', 'STOCHASTIC'));
    await expect(load(f32Model('Trunc', [4], (b) => [scalar(b, 1), scalar(b, 0), scalar(b, 8), scalar(b, 4)], { rounding_mode: 'nope' }))).rejects.toMatchObject(bad('LOWBIT_UNSUPPORTED', 'nope'));
  });
  it('shapes that do not broadcast, non-f32 tensors, bad attributes', async () => {
    await expect(load(f32Model('Quant', [2, 3], (b) => [b.const('float32', [2], [1, 1]), scalar(b, 0), scalar(b, 4)]))).rejects.toMatchObject(bad('LOWBIT_SHAPE_MISMATCH', 'the_node'));
    await expect(load(f32Model('Quant', [4], (b) => [scalar(b, 1, 'int32'), scalar(b, 0), scalar(b, 4)]))).rejects.toMatchObject(bad('LOWBIT_UNSUPPORTED', 'scale'));
    await expect(load(f32Model('Quant', [4], quantIns(4), { signed: 2 }))).rejects.toMatchObject(bad('LOWBIT_BAD_MODEL', 'signed'));
    await expect(load(f32Model('Quant', [4], (b) => [scalar(b, 1), scalar(b, 0)]))).rejects.toMatchObject(bad('LOWBIT_BAD_MODEL', 'the_node'));
  });
  it('Trunc v2 and MultiThreshold threshold / layout mismatches', async () => {
    const b = new OnnxBuilder({ opset: 21, domains: { [QDOM]: 2 } });
    const ins = [b.input('x', 'float32', [4]), ...[1, 0, 8, 1, 4].map((v) => scalar(b, v))];
    b.output(b.op('Trunc', ins, {}, { domain: QDOM, name: 'the_node' }), 'float32', null);
    await expect(load(b.toBytes())).rejects.toMatchObject(bad('LOWBIT_UNSUPPORTED', 'Trunc v1'));
    const thr = (c: number, t: number) => (bb: OnnxBuilder) => [bb.const('float32', [c, t], new Float32Array(c * t))];
    await expect(load(f32Model('MultiThreshold', [2, 3, 4, 4], thr(4, 2)))).rejects.toMatchObject(bad('LOWBIT_SHAPE_MISMATCH', 'the_node'));
    await expect(load(f32Model('MultiThreshold', [2, 3, 4, 4], thr(3, 2), { data_layout: 'NHWC' }))).rejects.toMatchObject(bad('LOWBIT_SHAPE_MISMATCH', 'channel axis 3'));
    await expect(load(f32Model('MultiThreshold', [2, 3], (bb) => [bb.const('float32', [6], new Float32Array(6))]))).rejects.toMatchObject(bad('LOWBIT_SHAPE_MISMATCH', 'the_node'));
    await expect(load(f32Model('MultiThreshold', [6], thr(1, 2)))).rejects.toMatchObject(bad('LOWBIT_BAD_MODEL', 'rank 1'));
    await expect(load(f32Model('MultiThreshold', [2, 3], thr(1, 2), { data_layout: 'NHC' }))).rejects.toMatchObject(bad('LOWBIT_BAD_MODEL', 'the_node'));
  });
});
