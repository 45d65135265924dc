// Indicative timings of the binary (XNOR-popcount) kernels on the simd and relaxed builds.
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/kernels/binary.ts [--quick]
// GOP/s counts 2·M·N·K (a multiply and an add per ±1 product), as TOOLCHAIN.md's ceilings do.
// Median and minimum of warm calls; the machine is shared, so both are indicative.

import type { Backend } from '../../src/kernels/wasm.js';
import { KernelBox } from '../../scripts/lib/kernel-box.js';
import { seededRandom } from '../../scripts/lib/random-models.js';

const quick = process.argv.includes('--quick');
const REPS = quick ? 7 : 25;

interface Gemm { kind: 'gemm'; name: string; M: number; N: number; K: number }
interface Conv { kind: 'conv'; name: string; C: number; M: number; H: number; W: number; k: number; chunk: number }

const SHAPES: (Gemm | Conv)[] = [
  // The kernel's ceiling here: one 31-block call a row, the 64 rows (31 KB) and a panel in L1d.
  { kind: 'gemm', name: 'bgemm 64×64×3968 (L1)', M: 64, N: 64, K: 3968 },
  { kind: 'gemm', name: 'bgemm 64×1024×1024', M: 64, N: 1024, K: 1024 },
  { kind: 'gemm', name: 'bgemm 64×256×4096', M: 64, N: 256, K: 4096 },
  { kind: 'gemm', name: 'bgemv 1×4096×4096', M: 1, N: 4096, K: 4096 },
  { kind: 'conv', name: 'bconv 3×3 64→64 56×56', C: 64, M: 64, H: 56, W: 56, k: 3, chunk: 204 },
  // The GEMM of that conv (positions × channels × 9·64 taps), without its im2col.
  { kind: 'gemm', name: 'bgemm 3136×64×576', M: 3136, N: 64, K: 576 },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rowBytes = (L: number): number => Math.ceil(L / 128) * 16;

function bench(backend: Backend, sh: Gemm | Conv): { median: number; min: number; ops: number } {
  const box = new KernelBox(backend, 'runtime');
  const call = (name: string, ...args: number[]): number => box.call(name, ...args) as number;
  const alloc = (n: number): number => box.alloc(n);
  const put = (v: ArrayBufferView): number => box.put(v);
  const r = seededRandom(42);
  const rand = (n: number): Float32Array => new Float32Array(n).map(() => r() * 2 - 1);
  const scale = put(rand(1024 * 4).map((x) => x + 2));
  const epi = put(new Int32Array([1, scale, 0, 1, 0, 0, 0]));
  let run: () => number;
  let warm: () => number;
  let ops: number;
  if (sh.kind === 'gemm') {
    const { M, N, K } = sh;
    const a = alloc(M * rowBytes(K)), b = alloc(Math.ceil(N / 8) * 8 * rowBytes(K));
    call('pack_signs_f32', put(rand(M * K)), M, K, K, 1, a, 0);
    call('pack_weights_b1_f32', put(rand(N * K)), N, K, K, 1, b);
    const c = alloc(M * N * 4);
    ops = 2 * M * N * K;
    run = () => call('bgemm_b1b1', a, b, c, M, N, K, N, epi);
    warm = () => call('bgemm_b1b1', a, b, c, Math.min(M, 8), 16, Math.min(K, 256), N, epi);
  } else {
    const { C, M, H, W, k, chunk } = sh;
    const x = alloc(H * W * rowBytes(C));
    call('pack_signs_nchw_f32', put(rand(C * H * W)), 1, C, H * W, x, 0);
    const K = k * k * C;
    const w = alloc(Math.ceil(M / 8) * 8 * rowBytes(K));
    call('pack_bconv_weights_f32', put(rand(M * K)), 1, M, C, k * k, w);
    const geom = (h: number, wd: number): number => put(new Int32Array([1, 1, C, M, 1, h, wd, 1, k, k, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, h, wd, chunk]));
    const d = geom(H, W), dw = geom(4, 4);
    const scratch = alloc(call('bconv_b1b1_scratch_bytes', d));
    const y = alloc(M * H * W * 4);
    ops = 2 * M * H * W * K;
    run = () => call('bconv_b1b1', x, w, y, d, epi, scratch);
    warm = () => call('bconv_b1b1', x, w, y, dw, epi, scratch);
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
