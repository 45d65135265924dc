// Conv layer timings through the public API on layer shapes from real CNNs (ResNet, MobileNet).
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/kernels/conv.ts [--runs N] [--only NAME]

import { parseArgs } from 'node:util';
import { InferenceSession, Tensor, type Backend } from '../../src/index.js';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { randomF32, rng } from '../../test/support/kernels.js';

interface Layer {
  name: string;
  op?: 'ConvTranspose';
  c: number; m: number; hw: number; k: number; stride: number; pad: number; group: number;
}

const LAYERS: Layer[] = [
  { name: 'resnet conv3x3 64→64 56²', c: 64, m: 64, hw: 56, k: 3, stride: 1, pad: 1, group: 1 },
  { name: 'resnet conv3x3 128→128 28²', c: 128, m: 128, hw: 28, k: 3, stride: 1, pad: 1, group: 1 },
  { name: 'resnet conv3x3 256→256 14²', c: 256, m: 256, hw: 14, k: 3, stride: 1, pad: 1, group: 1 },
  { name: 'resnet conv3x3 512→512 7²', c: 512, m: 512, hw: 7, k: 3, stride: 1, pad: 1, group: 1 },
  { name: 'resnet conv3x3 s2 64→128 56²', c: 64, m: 128, hw: 56, k: 3, stride: 2, pad: 1, group: 1 },
  { name: 'resnet conv1x1 256→64 56²', c: 256, m: 64, hw: 56, k: 1, stride: 1, pad: 0, group: 1 },
  { name: 'mobilenet dw3x3 128 56²', c: 128, m: 128, hw: 56, k: 3, stride: 1, pad: 1, group: 128 },
  { name: 'decoder convT 4x4 s2 64→32 28²', op: 'ConvTranspose', c: 64, m: 32, hw: 28, k: 4, stride: 2, pad: 1, group: 1 },
];

const outSize = (l: Layer) => l.op === 'ConvTranspose'
  ? (l.hw - 1) * l.stride + l.k - 2 * l.pad
  : Math.floor((l.hw + 2 * l.pad - l.k) / l.stride) + 1;

function model(l: Layer): Uint8Array {
  const r = rng(1);
  const b = new OnnxBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [1, l.c, l.hw, l.hw]);
  const wDims = l.op === 'ConvTranspose' ? [l.c, l.m / l.group, l.k, l.k] : [l.m, l.c / l.group, l.k, l.k];
  const w = b.init('w', 'float32', wDims, randomF32(r, wDims.reduce((p, d) => p * d, 1), 0.1));
  const bias = b.init('b', 'float32', [l.m], randomF32(r, l.m));
  const y = b.op(l.op ?? 'Conv', [x, w, bias], { kernel_shape: [l.k, l.k], strides: [l.stride, l.stride], pads: [l.pad, l.pad, l.pad, l.pad], group: l.group });
  b.output(y, 'float32', [1, l.m, outSize(l), outSize(l)]);
  return b.toBytes();
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' }, only: { type: 'string' }, backend: { type: 'string' } } });
const runs = Number(values.runs);
const backends = (values.backend ? [values.backend] : ['simd', 'relaxed']) as Backend[];

for (const l of LAYERS.filter((x) => !values.only || x.name.includes(values.only))) {
  const macs = l.op === 'ConvTranspose'
    ? l.c * l.hw * l.hw * (l.m / l.group) * l.k * l.k
    : l.m * outSize(l) ** 2 * (l.c / l.group) * l.k * l.k;
  const feeds = { x: new Tensor('float32', randomF32(rng(2), l.c * l.hw * l.hw), [1, l.c, l.hw, l.hw]) };
  for (const backend of backends) {
    const s = await InferenceSession.create(model(l), { backend });
    for (let i = 0; i < 5; i++) await s.run(feeds);
    // Wall time, and this process's CPU time (which excludes time other processes hold the core).
    const t: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await s.run(feeds);
      t.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    t.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    const med = t[t.length >> 1];
    console.log(`${l.name.padEnd(32)} ${backend.padEnd(8)} median ${med.toFixed(2)} ms (min ${t[0].toFixed(2)}, cpu median ${cpu[cpu.length >> 1].toFixed(2)})  ${(macs / med / 1e6).toFixed(1)} GMAC/s`);
    await s.release();
  }
}
