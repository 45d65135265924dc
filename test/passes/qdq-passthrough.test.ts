// qdq-passthrough.ts: MaxPool and data movement between a DequantizeLinear and a QuantizeLinear of
// the same per-tensor parameters run on the integers. Graph in → graph out on small built models,
// and the numbers bit for bit against the literal float graph, on onnxruntime-node (its graph
// optimizations off) and on lowbit without passes, on every kernel build.

import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import type { DType } from '../../src/ir/dtype.js';
import { compileKernels } from '../../src/kernels/wasm.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses, type Declines } from '../../src/passes/index.js';
import { Engine } from '../../src/session/engine.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, rng } from '../support/kernels.js';

const X = [2, 3, 6, 10];

interface Case {
  name: string;
  op: string;
  attrs?: Record<string, AttrInput>;
  /** Extra constant inputs of the op (int64 values), e.g. Reshape's shape. */
  extra?: number[][];
  type: 'uint8' | 'int8';
  zp: number;
  scale: number;
  /** The Q after the op, when it differs from the DQ before it. */
  q?: { scale: number; zp: number };
  /** The op reads the DQ as well through a second reader (a Relu beside it). */
  otherReader?: boolean;
  /** The op count after the passes, Identity aside: the rule fired or not. */
  fires: boolean;
}

const CASES: Case[] = [
  { name: 'MaxPool 2×2 stride 2, uint8', op: 'MaxPool', attrs: { kernel_shape: [2, 2], strides: [2, 2] }, type: 'uint8', zp: 3, scale: 0.05, fires: true },
  {
    name: 'MaxPool 3×3 stride 1, padded, dilated, ceil, int8', op: 'MaxPool',
    attrs: { kernel_shape: [3, 2], strides: [1, 2], pads: [1, 1, 1, 0], dilations: [1, 2], ceil_mode: 1 }, type: 'int8', zp: -5, scale: 0.03, fires: true,
  },
  { name: 'Flatten, int8', op: 'Flatten', attrs: { axis: 2 }, type: 'int8', zp: 7, scale: 0.1, fires: true },
  { name: 'Reshape, uint8', op: 'Reshape', extra: [[2, -1, 5]], type: 'uint8', zp: 128, scale: 0.02, fires: true },
  { name: 'Transpose, uint8', op: 'Transpose', attrs: { perm: [0, 3, 1, 2] }, type: 'uint8', zp: 0, scale: 0.5, fires: true },
  { name: 'Unsqueeze, int8', op: 'Unsqueeze', extra: [[1]], type: 'int8', zp: 0, scale: 0.07, fires: true },
  { name: 'Slice (steps), uint8', op: 'Slice', extra: [[0, 1], [6, 9], [2, 3], [2, 2]], type: 'uint8', zp: 17, scale: 0.04, fires: true },
  { name: 'Gather (negative index), int8', op: 'Gather', attrs: { axis: 3 }, extra: [[9, 0, -1, 4]], type: 'int8', zp: -3, scale: 0.06, fires: true },
  { name: 'Tile, uint8', op: 'Tile', extra: [[1, 2, 1, 2]], type: 'uint8', zp: 64, scale: 0.03, fires: true },
  { name: 'MaxPool whose DQ another op reads too', op: 'MaxPool', attrs: { kernel_shape: [2, 2] }, type: 'uint8', zp: 9, scale: 0.05, otherReader: true, fires: true },
  { name: 'MaxPool, then a Q of another scale: stays', op: 'MaxPool', attrs: { kernel_shape: [2, 2] }, type: 'uint8', zp: 3, scale: 0.05, q: { scale: 0.06, zp: 3 }, fires: false },
  { name: 'Reshape, then a Q of another zero point: stays', op: 'Reshape', extra: [[2, -1]], type: 'int8', zp: 1, scale: 0.05, q: { scale: 0.05, zp: 2 }, fires: false },
];

/** x float → Q → DQ → op → Q → DQ → y (and Relu(DQ) → r when another op reads the DQ). */
function build(c: Case): Uint8Array {
  const b = new OnnxBuilder({ opset: 21 });
  const x = b.input('x', 'float32', X);
  const s = b.init('s', 'float32', [], [c.scale]), z = b.init('z', c.type as DType, [], [c.zp]);
  const dq = b.op('DequantizeLinear', [b.op('QuantizeLinear', [x, s, z], {}, { name: 'q_in' }), s, z], {}, { name: 'dq_in' });
  const extra = (c.extra ?? []).map((v, i) => b.init(`e${i}`, 'int64', [v.length], v));
  const moved = b.op(c.op, [dq, ...extra], c.attrs ?? {}, { name: 'moved' });
  const sq = c.q ? b.init('sq', 'float32', [], [c.q.scale]) : s, zq = c.q ? b.init('zq', c.type as DType, [], [c.q.zp]) : z;
  b.op('DequantizeLinear', [b.op('QuantizeLinear', [moved, sq, zq], {}, { name: 'q_out' }), sq, zq], {}, { outputs: ['y'] });
  b.output('y', 'float32', null);
  if (c.otherReader) b.output(b.op('Relu', [dq], {}, { outputs: ['r'] }), 'float32', null);
  return b.toBytes();
}

/** Values over the whole quantised range and past both ends, ties (k + ½)·s and ±0 among them. */
function input(c: Case, seed: number): Float32Array {
  const r = rng(seed);
  const n = X.reduce((p, q) => p * q, 1);
  const [lo, hi] = c.type === 'uint8' ? [0, 255] : [-128, 127];
  return Float32Array.from({ length: n }, (_, i) => {
    if (i % 17 === 0) return Math.fround((Math.floor(r() * 40) - 20 + 0.5) * c.scale);
    if (i % 23 === 0) return i % 2 ? 0 : -0;
    return Math.fround((lo - c.zp - 4 + r() * (hi - lo + 8)) * c.scale);
  });
}

/** Concat of DQ(Q(x, s, z)) and DQ(Q(Relu(x), s2, z2)) along axis 1, then Q(s, z) → DQ → y. */
function concatModel(second: { scale: number; zp: number }): Uint8Array {
  const b = new OnnxBuilder({ opset: 21 });
  const x = b.input('x', 'float32', X);
  const s = b.init('s', 'float32', [], [0.05]), z = b.init('z', 'uint8', [], [10]);
  const s2 = b.init('s2', 'float32', [], [second.scale]), z2 = b.init('z2', 'uint8', [], [second.zp]);
  const a = b.op('DequantizeLinear', [b.op('QuantizeLinear', [x, s, z]), s, z]);
  const c = b.op('DequantizeLinear', [b.op('QuantizeLinear', [b.op('Relu', [x]), s2, z2]), s2, z2]);
  const cat = b.op('Concat', [a, c, a], { axis: 1 }, { name: 'moved' });
  b.op('DequantizeLinear', [b.op('QuantizeLinear', [cat, s, z]), s, z], {}, { outputs: ['y'] });
  b.output('y', 'float32', null);
  return b.toBytes();
}

/**
 * DQ(Q(x, s, z)) → Split (axis 3, sizes 4 / 6) → each part Q(s, z) → DQ → y0, y1; with `floatRead`
 * the second part is read as float (a Relu) instead of quantised again.
 */
function splitModel(floatRead: boolean): Uint8Array {
  const b = new OnnxBuilder({ opset: 21 });
  const s = b.init('s', 'float32', [], [0.04]), z = b.init('z', 'int8', [], [-6]);
  const dq = b.op('DequantizeLinear', [b.op('QuantizeLinear', [b.input('x', 'float32', X), s, z], {}, { name: 'q_in' }), s, z]);
  const parts = b.opMulti('Split', [dq, b.init('sizes', 'int64', [2], [4, 6])], { axis: 3 }, { name: 'moved', outputs: ['p0', 'p1'] });
  b.op('DequantizeLinear', [b.op('QuantizeLinear', [parts[0], s, z]), s, z], {}, { outputs: ['y0'] });
  if (floatRead) b.op('Relu', [parts[1]], {}, { outputs: ['y1'] });
  else b.op('DequantizeLinear', [b.op('QuantizeLinear', [parts[1], s, z]), s, z], {}, { outputs: ['y1'] });
  b.output('y0', 'float32', null);
  b.output('y1', 'float32', null);
  return b.toBytes();
}

describe('qdq-passthrough: the graph the rule makes', () => {
  it('a Split whose every output is quantised again splits the integers (one Split, no Q); else it stays', async () => {
    for (const floatRead of [false, true]) {
      const bytes = splitModel(floatRead);
      const g = decodeModel(bytes).graph;
      const declines: Declines = new Map();
      expect(runPasses(g, undefined, declines).fired['qdq-passthrough'] ?? 0).toBe(floatRead ? 0 : 1);
      if (floatRead) {
        expect(declines.get('moved')?.reasons.join('; ')).toMatch(/not quantised again/);
      } else {
        const splits = g.nodes.filter((n) => n.opType === 'Split');
        expect(splits).toHaveLength(1);
        expect(splits[0].inputs[0]).toBe(g.nodes.find((n) => n.name === 'q_in')!.outputs[0]);
        expect(g.nodes.filter((n) => n.opType === 'QuantizeLinear')).toHaveLength(1); // q_in alone
      }
      const x = input({ ...CASES[0], type: 'int8', scale: 0.04, zp: -6 }, 11);
      for (const backend of ALL_BACKENDS) {
        const got = await lowbitRun(bytes, backend, x, false);
        for (const want of [await ortRun(bytes, x), await lowbitRun(bytes, backend, x, true)]) {
          for (const name of ['y0', 'y1']) expect([...got.get(name)!], `${backend} ${name}`).toEqual([...want.get(name)!]);
        }
      }
    }
  });

  for (const c of CASES) {
    it(c.name, () => {
      const g = decodeModel(build(c)).graph;
      const declines: Declines = new Map();
      const report = runPasses(g, undefined, declines);
      expect(report.fired['qdq-passthrough'] ?? 0).toBe(c.fires ? 1 : 0);
      const moved = g.nodes.find((n) => n.opType === c.op)!;
      if (c.fires) {
        // The op reads the quantised tensor, and the Q after it is gone.
        expect(moved.inputs[0]).toBe(g.nodes.find((n) => n.name === 'q_in')!.outputs[0]);
        expect(g.nodes.some((n) => n.name === 'q_out')).toBe(false);
      } else {
        expect(declines.get('moved')?.reasons.join('; ')).toMatch(/other parameters/);
      }
    });
  }

  it('a Concat of DequantizeLinears of the same parameters concatenates the integers; of others, stays', async () => {
    for (const [second, fires] of [[{ scale: 0.05, zp: 10 }, true], [{ scale: 0.05, zp: 11 }, false]] as const) {
      const bytes = concatModel(second);
      const g = decodeModel(bytes).graph;
      const declines: Declines = new Map();
      expect(runPasses(g, undefined, declines).fired['qdq-passthrough'] ?? 0).toBe(fires ? 1 : 0);
      if (!fires) expect(declines.get('moved')?.reasons.join('; ')).toMatch(/different parameters/);
      const x = input({ ...CASES[0], scale: 0.05, zp: 10 }, 9);
      for (const backend of ALL_BACKENDS) {
        const got = (await lowbitRun(bytes, backend, x, false)).get('y')!;
        const want = (await ortRun(bytes, x)).get('y')!;
        expect([...got]).toEqual([...want]);
      }
    }
  });

  it('a MaxPool whose Indices are read: the integer pool makes the values, the float one stays for the Indices', async () => {
    const b = new OnnxBuilder({ opset: 21 });
    const s = b.init('s', 'float32', [], [0.1]), z = b.init('z', 'uint8', [], [0]);
    const dq = b.op('DequantizeLinear', [b.op('QuantizeLinear', [b.input('x', 'float32', X), s, z]), s, z]);
    const [pooled, indices] = b.opMulti('MaxPool', [dq], { kernel_shape: [2, 2] }, { name: 'moved', outputs: ['p', 'i'] });
    b.op('DequantizeLinear', [b.op('QuantizeLinear', [pooled, s, z]), s, z], {}, { outputs: ['y'] });
    b.output('y', 'float32', null);
    b.output(indices, 'int64', null);
    const bytes = b.toBytes();
    const g = decodeModel(bytes).graph;
    expect(runPasses(g).fired['qdq-passthrough']).toBe(1);
    expect(g.nodes.filter((n) => n.opType === 'MaxPool')).toHaveLength(2);
    const x = input({ ...CASES[0], scale: 0.1, zp: 0 }, 5);
    const e = new Engine(decodeModel(bytes).graph, await compileKernels('relaxed'), 'relaxed');
    const got = e.run(new Map([['x', { dtype: 'float32', dims: X, bytes: new Uint8Array(x.slice().buffer) }]]));
    const s2 = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: 'disabled' });
    const want = await s2.run({ x: new ort.Tensor('float32', x, X) });
    await s2.release();
    expect([...new Float32Array(got.get('y')!.bytes.slice().buffer)]).toEqual([...(want.y.data as Float32Array)]);
    expect([...new BigInt64Array(got.get('i')!.bytes.slice().buffer)]).toEqual([...(want.i.data as BigInt64Array)]);
  });
});

async function lowbitRun(bytes: Uint8Array, backend: (typeof ALL_BACKENDS)[number], x: Float32Array, literal: boolean): Promise<Map<string, Float32Array>> {
  const e = new Engine(decodeModel(bytes).graph, await compileKernels(backend), backend, literal ? { passes: [] } : {});
  const out = e.run(new Map([['x', { dtype: 'float32', dims: X, bytes: new Uint8Array(x.slice().buffer) }]]));
  return new Map([...out].map(([n, f]) => [n, new Float32Array(f.bytes.slice().buffer)]));
}

async function ortRun(bytes: Uint8Array, x: Float32Array): Promise<Map<string, Float32Array>> {
  // Op by op, as the graph says (onnxruntime's own QDQ optimizations drop the pair too).
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: 'disabled' });
  try {
    const out = await s.run({ x: new ort.Tensor('float32', x, X) });
    return new Map(Object.entries(out).map(([n, t]) => [n, t.data as Float32Array]));
  } finally {
    await s.release();
  }
}

describe.each(ALL_BACKENDS)('qdq-passthrough against the float graph (%s)', (backend) => {
  for (const c of CASES) {
    it(c.name, async () => {
      const bytes = build(c);
      for (const seed of [1, 2]) {
        const x = input(c, seed);
        const got = await lowbitRun(bytes, backend, x, false);
        for (const want of [await ortRun(bytes, x), await lowbitRun(bytes, backend, x, true)]) {
          expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
          for (const [name, w] of want) {
            const y = got.get(name)!;
            expect(y.length).toBe(w.length);
            for (let i = 0; i < w.length; i++) if (!Object.is(y[i], w[i])) expect.fail(`${name}[${i}]: ${y[i]} vs ${w[i]}`);
          }
        }
        expect(new Set(got.get('y')).size).toBeGreaterThan(10);
      }
    });
  }
});
