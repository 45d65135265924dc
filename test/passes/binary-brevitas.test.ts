// Brevitas W1A1 networks as users export them (test/fixtures/brevitas, written by
// scripts/qonnx/make_brevitas_fixtures.py with brevitas.export.export_qonnx, and qonnx's outputs):
// the hidden binary layers lower to the XNOR-popcount kernels and stay in sign bits between
// layers, and the outputs are qonnx's.
//
// Exactness. cnn / cnn_view: power-of-two scales in the 8-bit first and last layers and ±1
// binary weights make every value before a BatchNorm exact in both runtimes, and the fixture
// inputs keep every sign's input at least `margin` (1e-4) from zero, far beyond the ulps by which
// lowbit's folded BatchNorm may differ from onnxruntime's; so the outputs are bit-identical.
// mlp: float scales (Int8*PerTensorFloat, binary weight scale 0.1): the binary layers round
// dot·0.1 once where onnxruntime sums K products, a few ulps apart, inside the same margin, so
// every sign is the same; the last layer (8-bit × ±1, bias) differs by rounding only: lowbit
// rounds the exact integer sum times the scale once, qonnx sums 32 rounded f32 products (error
// ≤ 34·2^−24 of the sum of their magnitudes). Allowed: 2^−16 of the largest output (seen:
// 7.2e−7 of 4.3).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses } from '../../src/passes/index.js';
import { Engine } from '../../src/session/engine.js';
import { compileKernels } from '../../src/kernels/wasm.js';
import { ALL_BACKENDS } from '../support/kernels.js';

const DIR = 'test/fixtures/brevitas';
interface Enc { dtype: string; dims: number[]; b64: string }
interface Case { name: string; file: string; exporter: string; cleaned: boolean; x: Enc; y: Enc }
const FIXTURE = JSON.parse(readFileSync(`${DIR}/cases.json`, 'utf8')) as { margin: number; cases: Case[] };
const f32 = (e: Enc): Float32Array => new Float32Array(new Uint8Array(Buffer.from(e.b64, 'base64')).buffer);

/**
 * Per network: binary layers (by kernel), chained links, PackSigns left (the sign after the
 * 8-bit first conv, which is no binary layer, packed once for its pool), and whether the
 * outputs are bit-exact.
 */
const EXPECT: Record<string, { bgemm: number; bconv: number; chained: number; packs: number; exact: boolean }> = {
  mlp: { bgemm: 2, bconv: 0, chained: 1, packs: 0, exact: false },
  cnn: { bgemm: 1, bconv: 2, chained: 2, packs: 1, exact: true },
  cnn_view: { bgemm: 1, bconv: 2, chained: 2, packs: 1, exact: true },
};

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.slice().buffer));

describe.each(FIXTURE.cases.map((c) => [c.name, c] as const))('Brevitas %s', (name, c) => {
  const bytes = new Uint8Array(readFileSync(`${DIR}/${c.file}`));
  const want = EXPECT[name];
  const x = f32(c.x);
  const y = f32(c.y);

  it(`${c.exporter}${c.cleaned ? ' + qonnx cleanup' : ', as exported'}: hidden layers are binary and chained in bits`, () => {
    const g = decodeModel(bytes).graph;
    const report = runPasses(g);
    const ops = g.nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === 'BinaryMatMul')).toHaveLength(want.bgemm);
    expect(ops.filter((o) => o === 'BinaryConv')).toHaveLength(want.bconv);
    expect(report.fired['binary-chain']).toBe(want.chained);
    for (const gone of ['BipolarQuant', 'MaxPool', 'Shape', 'Transpose']) expect(ops, ops.join(' ')).not.toContain(gone);
    expect(ops.filter((o) => o === 'PackSigns')).toHaveLength(want.packs);
  });

  it.each(ALL_BACKENDS)(`runs the binary kernels and gives qonnx's outputs (%s)`, async (backend) => {
    const s = await InferenceSession.create(bytes, { backend });
    const out = (await s.run({ x: new Tensor('float32', x, c.x.dims) })).y;
    expect(out.dims).toEqual(c.y.dims);
    const got = out.data as Float32Array;
    if (want.exact) {
      expect(bits(got)).toEqual(bits(y));
    } else {
      const tol = 2 ** -16 * Math.max(...y.map(Math.abs));
      got.forEach((v, i) => expect(Math.abs(v - y[i]), `y[${i}] ${v} vs ${y[i]}`).toBeLessThanOrEqual(tol));
    }
    const report = s.inspect({ x: c.x.dims });
    const kernels = report.nodes.map((n) => n.kernel);
    expect(kernels.filter((k) => k === 'bgemm_b1b1')).toHaveLength(want.bgemm);
    expect(kernels.filter((k) => k === 'bconv_b1b1')).toHaveLength(want.bconv);
    for (const n of report.nodes.filter((r) => r.kernel === 'bgemm_b1b1' || r.kernel === 'bconv_b1b1')) {
      expect(n.activationBits).toBe(1);
      expect(n.weightBits).toBe(1);
    }
  });

  it('equals lowbit running the exported ops one by one (no rule)', async () => {
    const e = new Engine(decodeModel(bytes).graph, await compileKernels('simd'), 'simd', { passes: [] });
    const lit = e.run(new Map([['x', { dtype: 'float32', dims: c.x.dims, bytes: new Uint8Array(x.slice().buffer) }]])).get('y')!;
    const literal = new Float32Array(lit.bytes.slice().buffer);
    if (want.exact) expect(bits(literal)).toEqual(bits(y));
    else literal.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThanOrEqual(2 ** -16 * Math.max(...y.map(Math.abs))));
  });
});
