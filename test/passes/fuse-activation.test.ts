// fuse-activation: Conv/MatMul/Gemm + Relu/Clip become one node whose kernel applies the
// activation as it stores — same bits as running the two nodes, and only where that holds.

import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses } from '../../src/passes/index.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, randomF32, rng } from '../support/kernels.js';

interface Case {
  name: string;
  layer: 'Conv' | 'MatMul' | 'Gemm';
  act: 'Relu' | 'Clip' | 'ClipAttrs' | 'ClipRuntime';
  layerAttrs?: Record<string, AttrInput>;
  /** Also expose the layer's own output, so it has a second reader. */
  exposeLayer?: boolean;
  fuses: boolean;
}

const CASES: Case[] = [
  { name: 'Conv 3×3 (Winograd) + Relu', layer: 'Conv', act: 'Relu', layerAttrs: { pads: [1, 1, 1, 1] }, fuses: true },
  { name: 'Conv 3×3 stride 2 (im2col) + Clip', layer: 'Conv', act: 'Clip', layerAttrs: { pads: [1, 1, 1, 1], strides: [2, 2] }, fuses: true },
  { name: 'Conv + Clip with attribute bounds (opset 6)', layer: 'Conv', act: 'ClipAttrs', fuses: true },
  { name: 'MatMul + Relu', layer: 'MatMul', act: 'Relu', fuses: true },
  { name: 'Gemm with a row bias + Clip', layer: 'Gemm', act: 'Clip', fuses: true },
  { name: 'Gemm alpha = 2 + Relu (not fused)', layer: 'Gemm', act: 'Relu', layerAttrs: { alpha: 2 }, fuses: false },
  { name: 'Conv read twice + Relu (not fused)', layer: 'Conv', act: 'Relu', exposeLayer: true, fuses: false },
  { name: 'Conv + Clip with a runtime bound (not fused)', layer: 'Conv', act: 'ClipRuntime', fuses: false },
];

const C = 16;
const S = 9;

function build(c: Case, seed: number, expose = c.exposeLayer): Uint8Array {
  const r = rng(seed);
  const b = new OnnxBuilder({ opset: c.act === 'ClipAttrs' ? 6 : 17 });
  let y: string;
  if (c.layer === 'Conv') {
    const x = b.input('x', 'float32', [1, C, S, S]);
    const w = b.init('w', 'float32', [C, C, 3, 3], randomF32(r, C * C * 9, 0.3));
    const bias = b.init('b', 'float32', [C], randomF32(r, C, 0.5));
    y = b.op('Conv', [x, w, bias], c.layerAttrs ?? {}, { name: 'layer', outputs: ['t'] });
  } else {
    const x = b.input('x', 'float32', [5, 24]);
    const w = b.init('w', 'float32', [24, 12], randomF32(r, 24 * 12, 0.3));
    const ins = c.layer === 'Gemm' ? [x, w, b.init('b', 'float32', [12], randomF32(r, 12, 0.5))] : [x, w];
    y = b.op(c.layer, ins, c.layerAttrs ?? {}, { name: 'layer', outputs: ['t'] });
  }
  let out: string;
  if (c.act === 'Relu') out = b.op('Relu', [y], {}, { outputs: ['y'] });
  else if (c.act === 'ClipAttrs') out = b.op('Clip', [y], { min: -0.25, max: 0.5 }, { outputs: ['y'] });
  else {
    const lo = c.act === 'ClipRuntime' ? b.input('lo', 'float32', []) : b.init('lo', 'float32', [], [-0.25]);
    out = b.op('Clip', [y, lo, b.init('hi', 'float32', [], [0.5])], {}, { outputs: ['y'] });
  }
  b.output(out, 'float32', null);
  if (expose) b.output(y, 'float32', null);
  return b.toBytes();
}

function feeds(c: Case, seed: number): Record<string, Tensor> {
  const r = rng(seed);
  const f: Record<string, Tensor> = c.layer === 'Conv'
    ? { x: new Tensor('float32', randomF32(r, C * S * S), [1, C, S, S]) }
    : { x: new Tensor('float32', randomF32(r, 5 * 24), [5, 24]) };
  if (c.act === 'ClipRuntime') f.lo = new Tensor('float32', new Float32Array([-0.25]), []);
  return f;
}

describe('fuse-activation pass', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.fuses ? 'fuses' : 'leaves the graph'}`, () => {
      const g = decodeModel(build(c, 1)).graph;
      const before = g.nodes.length;
      const fired = runPasses(g).fired['fuse-activation'] ?? 0;
      expect(fired).toBe(c.fuses ? 1 : 0);
      expect(g.nodes.length).toBe(c.fuses ? before - 1 : before);
      if (c.fuses) expect(g.nodes.map((n) => `${n.domain}::${n.opType}`)).toContain(`ai.lowbit::Fused${c.layer}`);
    });
  }

  for (const backend of ALL_BACKENDS) {
    for (const c of CASES.filter((x) => x.fuses)) {
      it(`${backend}: ${c.name} gives the same bits as the two nodes`, async () => {
        const fused = await InferenceSession.create(build(c, 2), { backend });
        // The same model with the layer output also exposed: not fused, layer and activation run apart.
        const apart = await InferenceSession.create(build(c, 2, true), { backend });
        expect(fused.inspect().passes['fuse-activation']).toBe(1);
        expect(apart.inspect().passes['fuse-activation']).toBeUndefined();
        const a = (await fused.run(feeds(c, 3))).y.data as Float32Array;
        const b = (await apart.run(feeds(c, 3))).y.data as Float32Array;
        expect(Array.from(a)).toEqual(Array.from(b));
        expect(a.some((v) => v === 0 || v === 0.5 || v === -0.25)).toBe(true); // the activation really clamps
      });
    }
  }
});
