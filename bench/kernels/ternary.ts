// Indicative timings of the ternary-weight × 8-bit kernels (tgemm_t2i8, tconv_t2i8) on the simd
// and relaxed builds.
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/kernels/ternary.ts [--quick]
// GOP/s counts 2·M·N·K. Median and minimum of warm calls; the machine is shared, so both are
// indicative. The GEMV goal (issue): ≥ 8× onnxruntime-web's fp32 GEMV 1×4096×4096.

import type { Backend } from '../../src/kernels/wasm.js';
import { KernelBox } from '../../scripts/lib/kernel-box.js';
import { seededRandom } from '../../scripts/lib/random-models.js';

const quick = process.argv.includes('--quick');
const REPS = quick ? 7 : 25;

interface Gemm { kind: 'gemm'; name: string; M: number; N: number; K: number }
interface Conv { kind: 'conv'; name: string; C: number; M: number; H: number; W: number; k: number; chunk: number }

const SHAPES: (Gemm | Conv)[] = [
  { kind: 'gemm', name: 'tgemv 1×4096×4096', M: 1, N: 4096, K: 4096 },
  { kind: 'gemm', name: 'tgemm 64×1024×1024', M: 64, N: 1024, K: 1024 },
  { kind: 'conv', name: 'tconv 3×3 64→64 56×56', C: 64, M: 64, H: 56, W: 56, k: 3, chunk: 128 },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const wBytes = (N: number, K: number): number => Math.ceil(N / 4) * 64 * Math.ceil(K / 64);

function bench(backend: Backend, sh: Gemm | Conv): { median: number; min: number; ops: number } {
  const box = new KernelBox(backend, 'runtime');
  const call = (name: string, ...args: number[]): number => box.call(name, ...args) as number;
  const r = seededRandom(42);
  const ternary = (n: number) => Int8Array.from({ length: n }, () => Math.floor(r() * 3) - 1);
  const u8 = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
  const N = sh.kind === 'gemm' ? sh.N : sh.M;
  const scale = box.put(new Float32Array(N).fill(0.001));
  // gemm_i8_epilogue.ts: requantise to u8, per-channel multiplier, zero point 128.
  const epi = box.put(new Int32Array([1, scale, 0, 1, 128, 0, 0, 0, 0, 0, 0]));
  const zp = box.put(Uint8Array.of(128));
  let run: () => number;
  let warm: () => number;
  let ops: number;
  if (sh.kind === 'gemm') {
    const { M, K } = sh;
    const wp = box.alloc(wBytes(N, K) + 4 * N);
    if (call('pack_ternary_i8', box.put(ternary(N * K)), N, K, K, 1, wp) !== 0) throw new Error('pack_ternary_i8 failed');
    call('ternary_row_sums', wp, N, K, wp + wBytes(N, K));
    const rowc = box.alloc(4 * N);
    call('ternary_rowc', wp + wBytes(N, K), N, zp, 0, 0, rowc);
    const a = box.put(u8(M * K));
    const c = box.alloc(M * N);
    ops = 2 * M * N * K;
    const ts = box.alloc(call('tgemm_t2i8_scratch_bytes', M, K));
    run = () => call('tgemm_t2i8', a, K, 0, wp, rowc, c, M, N, K, N, epi, ts);
    warm = () => call('tgemm_t2i8', a, K, 0, wp, rowc, c, Math.min(M, 8), 16, Math.min(K, 256), N, epi, ts);
  } else {
    const { C, M, H, W, k, chunk } = sh;
    const K = k * k * C;
    const wp = box.alloc(wBytes(M, K) + 4 * M);
    if (call('pack_ternary_conv_i8', box.put(ternary(M * K)), M, C, k * k, wp) !== 0) throw new Error('pack_ternary_conv_i8 failed');
    call('ternary_row_sums', wp, M, K, wp + wBytes(M, K));
    const rowc = box.alloc(4 * M);
    call('ternary_rowc', wp + wBytes(M, K), M, zp, 0, 0, rowc);
    const pad = (k - 1) >> 1;
    const geom = (h: number, wd: number): number => box.put(new Int32Array([1, 1, C, M, 1, h, wd, 1, k, k, 1, 1, 1, 1, 1, 1, 0, pad, pad, 1, h, wd, chunk]));
    const d = geom(H, W), dw = geom(4, 4);
    const scratch = box.alloc(call('tconv_t2i8_scratch_bytes', d));
    const x = box.put(u8(C * H * W));
    const y = box.alloc(M * H * W);
    ops = 2 * M * H * W * K;
    run = () => call('tconv_t2i8', d, x, 0, zp, wp, rowc, epi, y, scratch);
    warm = () => call('tconv_t2i8', dw, x, 0, zp, wp, rowc, epi, y, scratch);
  }
  // Warm up with short calls first (V8 cannot tier up a long call mid-flight).
  for (let i = 0; i < 2000; i++) warm();
  for (let i = 0; i < 3; i++) if (run() !== 0) throw new Error(`${sh.name} failed`);
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return { median: median(times), min: Math.min(...times), ops };
}

for (const sh of SHAPES) {
  for (const backend of ['simd', 'relaxed'] as Backend[]) {
    const t = bench(backend, sh);
    const gops = (ms: number): string => (t.ops / (ms * 1e6)).toFixed(0).padStart(4);
    console.log(`${sh.name.padEnd(24)} ${backend.padEnd(8)} median ${t.median.toFixed(3)} ms ${gops(t.median)} GOP/s` +
      `   min ${t.min.toFixed(3)} ms ${gops(t.min)} GOP/s`);
  }
}
