// Conv / ConvTranspose through the public API vs onnxruntime-node: the host-side geometry
// (auto_pad, output_shape, groups, ranks), constant vs runtime weights, and bad attributes.

import { describe, expect, it } from 'vitest';
import { InferenceSession } from '../../src/index.js';
import { differential, formatReport, randomFeeds, type InputSpec } from '../../scripts/lib/differential.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, randomF32, rng } from '../support/kernels.js';

interface Case {
  name: string;
  op: 'Conv' | 'ConvTranspose';
  x: number[];
  w: number[];
  bias: boolean;
  /** W is a graph input rather than an initializer. */
  runtimeW?: boolean;
  attrs: Record<string, AttrInput>;
}

const CASES: Case[] = [
  { name: '2-D, 2 groups, 3x3 stride 2, SAME_UPPER', op: 'Conv', x: [2, 6, 13, 11], w: [10, 3, 3, 3], bias: true, attrs: { group: 2, strides: [2, 2], auto_pad: 'SAME_UPPER' } },
  { name: '2-D, runtime W, 4x4 SAME_LOWER (odd padding), strides 1/2', op: 'Conv', x: [1, 5, 12, 17], w: [7, 5, 4, 4], bias: true, runtimeW: true, attrs: { strides: [1, 2], auto_pad: 'SAME_LOWER' } },
  { name: '1-D, asymmetric pads, stride 3, dilation 2', op: 'Conv', x: [3, 4, 29], w: [9, 4, 5], bias: false, attrs: { pads: [3, 1], strides: [3], dilations: [2] } },
  { name: '3-D, VALID', op: 'Conv', x: [1, 3, 5, 6, 7], w: [5, 3, 2, 3, 3], bias: true, attrs: { auto_pad: 'VALID' } },
  { name: 'depthwise 3x3 stride 2 pad 1 (8 groups)', op: 'Conv', x: [2, 8, 15, 20], w: [8, 1, 3, 3], bias: true, attrs: { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'Winograd 3x3: 2 groups of 12→8, batch 2, odd 11x9, asymmetric pads', op: 'Conv', x: [2, 24, 11, 9], w: [16, 12, 3, 3], bias: true, attrs: { group: 2, pads: [1, 0, 2, 1] } },
  { name: 'Winograd 3x3: runtime W, 16→20, SAME_UPPER, 7x10', op: 'Conv', x: [1, 16, 7, 10], w: [20, 16, 3, 3], bias: false, runtimeW: true, attrs: { auto_pad: 'SAME_UPPER' } },
  { name: '1x1, 64 outputs', op: 'Conv', x: [1, 16, 9, 10], w: [64, 16, 1, 1], bias: true, attrs: {} },
  { name: 'transposed 2-D, 2 groups, stride 2, output_padding 1', op: 'ConvTranspose', x: [2, 4, 5, 6], w: [4, 3, 3, 3], bias: true, attrs: { group: 2, strides: [2, 2], output_padding: [1, 1], pads: [1, 0, 1, 1] } },
  { name: 'transposed, runtime W, output_shape', op: 'ConvTranspose', x: [1, 3, 4, 5], w: [3, 2, 4, 4], bias: false, runtimeW: true, attrs: { strides: [2, 3], output_shape: [9, 16] } },
  { name: 'transposed 1-D, dilation 2 stride 3', op: 'ConvTranspose', x: [2, 5, 7], w: [5, 6, 3], bias: true, attrs: { strides: [3], dilations: [2], pads: [2, 1] } },
];

function build(c: Case): { bytes: Uint8Array; inputs: InputSpec[] } {
  const r = rng(c.x.length * 31 + c.w[0]);
  const b = new OnnxBuilder({ opset: 17 });
  const x = b.input('x', 'float32', c.x);
  const inputs: InputSpec[] = [{ name: 'x', type: 'float32', shape: c.x }];
  const wn = c.w.reduce((p, d) => p * d, 1);
  let w: string;
  if (c.runtimeW) {
    w = b.input('w', 'float32', c.w);
    inputs.push({ name: 'w', type: 'float32', shape: c.w });
  } else w = b.init('w', 'float32', c.w, randomF32(r, wn));
  const group = typeof c.attrs.group === 'number' ? c.attrs.group : 1;
  const outC = c.op === 'Conv' ? c.w[0] : c.w[1] * group;
  const ins = [x, w, ...(c.bias ? [b.init('b', 'float32', [outC], randomF32(r, outC))] : [])];
  b.output(b.op(c.op, ins, c.attrs), 'float32', null);
  return { bytes: b.toBytes(), inputs };
}

describe.each(ALL_BACKENDS)('Conv / ConvTranspose vs onnxruntime-node (%s)', (backend) => {
  it.each(CASES)('$name', async (c) => {
    const { bytes, inputs } = build(c);
    const rep = await differential(bytes, randomFeeds(inputs, {}, 11), { rtol: 1e-5, atol: 1e-5 }, backend);
    expect(rep.ok, formatReport(rep)).toBe(true);
  });
});

describe('Conv attributes that do not fit are load errors', () => {
  const load = (attrs: Record<string, AttrInput>, w = [4, 3, 3, 3]) => {
    const b = new OnnxBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [1, 6, 8, 8]);
    b.output(b.op('Conv', [x, b.init('w', 'float32', w, new Float32Array(w.reduce((p, d) => p * d, 1)))], attrs), 'float32', null);
    return InferenceSession.create(b.toBytes(), { backend: 'scalar' });
  };
  it('channels not matching W and group', async () => {
    await expect(load({})).rejects.toMatchObject({ code: 'LOWBIT_SHAPE_MISMATCH' });
    await expect(load({ group: 4 }, [4, 3, 3, 3])).rejects.toMatchObject({ code: 'LOWBIT_SHAPE_MISMATCH' });
  });
  it('kernel_shape different from W, bad strides, kernel larger than the padded input', async () => {
    await expect(load({ group: 2, kernel_shape: [3, 2] })).rejects.toMatchObject({ code: 'LOWBIT_SHAPE_MISMATCH' });
    await expect(load({ group: 2, strides: [0, 1] })).rejects.toMatchObject({ code: 'LOWBIT_BAD_MODEL' });
    await expect(load({ group: 2 }, [4, 3, 9, 9])).rejects.toMatchObject({ code: 'LOWBIT_SHAPE_MISMATCH' });
  });
});
