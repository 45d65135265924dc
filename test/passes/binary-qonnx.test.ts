// QONNX BNN layers: BipolarQuant on the activations and on constant weights feeding MatMul/Conv
// become XNOR-popcount layers, and give the bits the literal QONNX graph gives.

import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses } from '../../src/passes/index.js';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, randomF32, rng } from '../support/kernels.js';

const QONNX = 'qonnx.custom_op.general';

interface Layer {
  name: string;
  kind: 'MatMul' | 'Conv';
  /** Weight scale: one value, or one per output channel. */
  perChannel: boolean;
}

const LAYERS: Layer[] = [
  { name: 'MatMul, per-tensor weight scale', kind: 'MatMul', perChannel: false },
  { name: 'MatMul, per-channel weight scale', kind: 'MatMul', perChannel: true },
  { name: 'Conv 3×3 pad 1, per-channel weight scale', kind: 'Conv', perChannel: true },
];

const K = 40;
const N = 12;
const C = 8;

/** Powers of two keep every partial sum exact, so literal float and XNOR agree to the bit. */
const pow2 = (r: () => number) => 2 ** (Math.floor(r() * 6) - 3);

/** `literal`: the activation scale is a graph input, so the pass cannot fold it and the QONNX ops run as written. */
function build(l: Layer, literal: boolean): Uint8Array {
  const r = rng(11);
  const b = new OnnxBuilder({ opset: 17, domains: { [QONNX]: 1 } });
  const x = l.kind === 'MatMul' ? b.input('x', 'float32', [3, K]) : b.input('x', 'float32', [1, C, 7, 7]);
  const sa = literal ? b.input('sa', 'float32', []) : b.init('sa', 'float32', [], [0.5]);
  const xb = b.op('BipolarQuant', [x, sa], {}, { domain: QONNX, name: 'act_q' });
  const wDims = l.kind === 'MatMul' ? [K, N] : [N, C, 3, 3];
  const wv = randomF32(r, wDims.reduce((p, q) => p * q, 1));
  wv[0] = 0; // BipolarQuant maps ±0 to +1
  wv[1] = -0;
  const w = b.init('w', 'float32', wDims, wv);
  const sDims = !l.perChannel ? [] : l.kind === 'MatMul' ? [1, N] : [N, 1, 1, 1];
  const sw = b.init('sw', 'float32', sDims, Array.from({ length: l.perChannel ? N : 1 }, () => pow2(r)));
  const wb = b.op('BipolarQuant', [w, sw], {}, { domain: QONNX, name: 'w_q' });
  const y = l.kind === 'MatMul' ? b.op('MatMul', [xb, wb], {}, { outputs: ['y'] }) : b.op('Conv', [xb, wb], { pads: [1, 1, 1, 1] }, { outputs: ['y'] });
  b.output(y, 'float32', null);
  return b.toBytes();
}

function feeds(l: Layer, literal: boolean): Record<string, Tensor> {
  const r = rng(5);
  const x = l.kind === 'MatMul' ? new Tensor('float32', randomF32(r, 3 * K), [3, K]) : new Tensor('float32', randomF32(r, C * 49), [1, C, 7, 7]);
  (x.data as Float32Array)[0] = 0; // 0 → +1, like every bipolar sign
  (x.data as Float32Array)[1] = -0;
  return literal ? { x, sa: new Tensor('float32', new Float32Array([0.5]), []) } : { x };
}

describe('QONNX BipolarQuant layers → XNOR-popcount', () => {
  for (const l of LAYERS) {
    it(`${l.name}: the binary rule fires only when both scales are constants`, () => {
      const g = decodeModel(build(l, false)).graph;
      expect(runPasses(g).fired.binary).toBe(1);
      expect(g.nodes.map((n) => n.opType)).toEqual([l.kind === 'MatMul' ? 'BinaryMatMul' : 'BinaryConv']);
      expect(g.quant.size).toBe(1);
      const lit = decodeModel(build(l, true)).graph;
      expect(runPasses(lit).fired.binary).toBeUndefined();
    });
    for (const backend of ALL_BACKENDS) {
      it(`${backend}: ${l.name} gives the literal QONNX graph's bits`, async () => {
        const fast = await InferenceSession.create(build(l, false), { backend });
        const slow = await InferenceSession.create(build(l, true), { backend });
        expect(fast.inspect().nodes.some((n) => n.math.includes('xnor'))).toBe(true);
        const a = (await fast.run(feeds(l, false))).y.data as Float32Array;
        const b = (await slow.run(feeds(l, true))).y.data as Float32Array;
        expect(Array.from(a)).toEqual(Array.from(b));
      });
    }
  }
});
