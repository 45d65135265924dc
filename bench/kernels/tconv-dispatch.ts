// Checks TernaryConv's dispatch (src/ops/ternary.ts onInt8Conv): per conv shape, tconv_t2i8 on the
// packed 2-bit codes against the int8 conv kernel qconv.ts would run on the same codes as int8
// weights (conv_i8, or conv_wino_i8 where Winograd applies), same data, same requantising
// epilogue; outputs must be equal byte for byte. Prints medians of interleaved rounds and which
// path the dispatcher takes; `slower` marks a shape where it takes the slower one.
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/kernels/tconv-dispatch.ts [--quick]

import type { ConvGeom } from '../../src/ops/conv-geom.js';
import { geomDescriptor } from '../../src/ops/conv-geom.js';
import { convI8ScratchBytes, convWeightBytes, useWinograd, winoScratchBytes, winoWeightBytes } from '../../src/ops/qconv.js';
import { onInt8Conv, tconvScratchBytes, ternaryWeightsBytes } from '../../src/ops/ternary.js';
import { KernelBox } from '../../scripts/lib/kernel-box.js';
import { seededRandom } from '../../scripts/lib/random-models.js';

const quick = process.argv.includes('--quick');
// [C, M, H = W, kernel, stride]: first layers, small CNN layers, ResNet-style 3×3 and 1×1 layers.
const SHAPES: [number, number, number, number, number][] = [
  [1, 16, 28, 3, 1], [3, 32, 64, 3, 1], [16, 32, 14, 3, 1], [32, 32, 7, 3, 1], [64, 64, 56, 3, 1], [128, 128, 14, 3, 1],
  [256, 256, 7, 3, 1], [512, 512, 4, 3, 1], [64, 128, 56, 3, 2], [16, 64, 28, 1, 1], [256, 256, 14, 1, 1], [512, 256, 7, 1, 1],
];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

for (const [C, M, H, k, s] of SHAPES) {
  const box = new KernelBox('relaxed');
  const call = (n: string, ...a: number[]): number => box.call(n, ...a) as number;
  const r = seededRandom(1);
  const pad = (k - 1) >> 1;
  const O = Math.floor((H + 2 * pad - k) / s) + 1;
  const g: ConvGeom = { group: 1, C, M, kernel: [k, k], strides: [s, s], dilations: [1, 1], pads: [pad, pad], inSpatial: [H, H], outSpatial: [O, O] };
  const T = k * k, K = T * C, out = M * O * O;
  const w = box.put(Int8Array.from({ length: M * K }, () => Math.floor(r() * 3) - 1));
  const x = box.put(Uint8Array.from({ length: C * H * H }, () => Math.floor(r() * 256)));
  const zp = box.put(Uint8Array.of(128));
  // gemm_i8_epilogue.ts: requantise to u8, per-channel multiplier, zero point 128.
  const epi = box.put(new Int32Array([1, box.put(new Float32Array(M).fill(0.001)), 0, 1, 128, 0, 0, 0, 0, 0, 0]));
  const yt = box.alloc(out), yi = box.alloc(out);
  const wb = ternaryWeightsBytes(M, K);
  const wt = box.alloc(wb + 4 * M);
  call('pack_ternary_conv_i8', w, M, C, T, wt);
  call('ternary_row_sums', wt, M, K, wt + wb);
  const rowc = box.alloc(4 * M);
  call('ternary_rowc', wt + wb, M, zp, 0, 0, rowc);
  const chunk = Math.min(O * O, Math.max(4, Math.floor(48 * 1024 / (Math.ceil(K / 16) * 16) / 4) * 4));
  const dt = box.put(geomDescriptor(1, g, chunk)), st = box.alloc(tconvScratchBytes(g, chunk));
  const runT = () => call('tconv_t2i8', dt, x, 0, zp, wt, rowc, epi, yt, st);
  const wino = useWinograd(g);
  const wi = box.alloc(wino ? winoWeightBytes(M, C) : convWeightBytes(M, C, T));
  if (wino) call('pack_w_wino_i8', w, 1, 0, 0, M, C, wi);
  else call('pack_w_conv_i8', w, 1, 0, 0, M, C, T, wi);
  const di = box.put(geomDescriptor(1, g, 0)), si = box.alloc(wino ? winoScratchBytes(g) : convI8ScratchBytes(g));
  const runI = () => call(wino ? 'conv_wino_i8' : 'conv_i8', di, x, 0, zp, wi, 0, epi, yi, si);
  const reps = Math.max(quick ? 5 : 15, Math.min(quick ? 20 : 100, Math.floor(3e7 / (M * K * O * O))));
  for (let i = 0; i < 10; i++) if (runT() !== 0 || runI() !== 0) throw new Error('kernel failed');
  const u8 = box.u8(yt, out), v8 = box.u8(yi, out);
  if (!u8.every((v, i) => v === v8[i])) throw new Error(`C${C} M${M}: the two paths disagree`);
  const tt: number[] = [], ti: number[] = [];
  for (let i = 0; i < reps; i++) {
    let t0 = performance.now(); runT(); tt.push(performance.now() - t0);
    t0 = performance.now(); runI(); ti.push(performance.now() - t0);
  }
  const [mt, mi] = [median(tt), median(ti)];
  const int8 = onInt8Conv(g);
  console.log(`${`${C}→${M} ${H}² ${k}×${k}/${s} K=${K}`.padEnd(28)} tconv_t2i8 ${mt.toFixed(3).padStart(7)} ms  ${(wino ? 'conv_wino_i8' : 'conv_i8').padEnd(12)} ${mi.toFixed(3).padStart(7)} ms` +
    `  → ${int8 ? 'int8' : 'tconv'}${(int8 ? mi > mt : mt > mi) ? ' (slower)' : ''}`);
}
