// Binary chains in sign bits vs the same binary layers with f32 between them (binary-chain left
// out: f32 epilogue — BatchNorm folded in where exact —, f32 MaxPool, the next layer re-packing
// signs): a CNV-shaped binary CNN (BinaryNet/FINN CNV layer
// sizes, 32×32 input, batch 1) and an MLP (LFC-shaped, 4 × 1024, batch 64).
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/binary-chain.ts [--quick]
// Medians of warm runs, the two variants interleaved in one process (the machine is shared).

import { decodeModel } from '../src/onnx/decode.js';
import { PASSES } from '../src/passes/index.js';
import { binaryChainPass } from '../src/passes/binary-chain.js';
import { Engine } from '../src/session/engine.js';
import { compileKernels, type Backend } from '../src/kernels/wasm.js';
import { OnnxBuilder } from '../scripts/lib/onnx-builder.js';
import { seededRandom } from '../scripts/lib/random-models.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const RUNS = quick ? 5 : 15;

function model(kind: 'cnv' | 'lfc'): { bytes: Uint8Array; dims: number[] } {
  const r = seededRandom(1);
  const b = new OnnxBuilder({ opset: 17 });
  const f = (n: number, g: () => number) => b.const('float32', [n], Float32Array.from({ length: n }, g));
  const sign = (v: string) => b.op('Where', [b.op('Less', [v, b.const('float32', [], [0])]), b.const('float32', [], [-1]), b.const('float32', [], [1])]);
  const bn = (v: string, n: number) => b.op('BatchNormalization', [v, f(n, () => 0.5 + r()), f(n, () => r() - 0.5), f(n, () => r() * 8 - 4), f(n, () => 1 + r() * 10)]);
  const pm = (n: number, s: number) => Float32Array.from({ length: n }, () => (r() < 0.5 ? -s : s));
  const dims = kind === 'cnv' ? [1, 64, 32, 32] : [64, 784];
  let v = b.input('x', 'float32', dims);
  let c = dims[1];
  if (kind === 'cnv') {
    for (const [m, pool] of [[64, false], [64, true], [128, false], [128, true], [256, false], [256, true]] as const) {
      v = bn(b.op('Conv', [sign(v), b.const('float32', [m, c, 3, 3], pm(m * c * 9, 0.25))], { pads: [1, 1, 1, 1] }), m);
      if (pool) v = b.op('MaxPool', [v], { kernel_shape: [2, 2], strides: [2, 2] });
      c = m;
    }
    v = b.op('Flatten', [v]);
    c *= 16;
  }
  for (const n of kind === 'cnv' ? [512, 512] : [1024, 1024, 1024, 1024]) {
    v = bn(b.op('MatMul', [sign(v), b.const('float32', [c, n], pm(c * n, 0.125))]), n);
    c = n;
  }
  b.output(b.op('MatMul', [sign(v), b.const('float32', [c, 10], pm(c * 10, 1))], {}, { outputs: ['y'] }), 'float32', null);
  return { bytes: b.toBytes(), dims };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function main(): Promise<void> {
  const backend: Backend = 'relaxed';
  const module = await compileKernels(backend);
  for (const kind of ['cnv', 'lfc'] as const) {
    const { bytes, dims } = model(kind);
    const x = new Float32Array(dims.reduce((a, d) => a * d, 1)).map(() => Math.random() * 2 - 1);
    const feeds = new Map([['x', { dtype: 'float32' as const, dims, bytes: new Uint8Array(x.buffer) }]]);
    const engines = {
      chained: new Engine(decodeModel(bytes).graph, module, backend),
      f32between: new Engine(decodeModel(bytes).graph, module, backend, { passes: PASSES.filter((p) => p !== binaryChainPass) }),
    };
    const times: Record<string, number[]> = { chained: [], f32between: [] };
    const outs: Record<string, Uint8Array> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, e] of Object.entries(engines)) {
        for (let i = 0; i < 3; i++) e.run(feeds);
        const t: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const t0 = performance.now();
          outs[name] = e.run(feeds).get('y')!.bytes;
          t.push(performance.now() - t0);
        }
        times[name].push(median(t));
      }
    }
    const same = outs.chained.every((v, i) => v === outs.f32between[i]);
    const [a, z] = [median(times.chained), median(times.f32between)];
    console.log(`${kind}: chained ${a.toFixed(3)} ms, f32 between layers ${z.toFixed(3)} ms, ratio ${(z / a).toFixed(2)}×, outputs ${same ? 'identical' : 'DIFFER'}`);
  }
}

await main();
