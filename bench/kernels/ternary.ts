// Indicative timings of the ternary-weight × int8 kernel (tgemm_t2i8) on the simd and relaxed builds.
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/kernels/ternary.ts [--quick]
// GOP/s counts 2·M·N·K. Median and minimum of warm calls; the machine is shared, so both are
// indicative. The GEMV goal (issue): ≥ 8× onnxruntime-web's fp32 GEMV 1×4096×4096 (≈ 2.6–3.6 ms),
// i.e. ≤ 0.33–0.45 ms.

import type { Backend } from '../../src/kernels/wasm.js';
import { KernelBox } from '../../scripts/lib/kernel-box.js';
import { seededRandom } from '../../scripts/lib/random-models.js';

const quick = process.argv.includes('--quick');
const REPS = quick ? 7 : 25;

const SHAPES = [
  { name: 'tgemv 1×4096×4096', M: 1, N: 4096, K: 4096 },
  { name: 'tgemm 64×1024×1024', M: 64, N: 1024, K: 1024 },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function bench(backend: Backend, M: number, N: number, K: number): { median: number; min: number } {
  const box = new KernelBox(backend);
  const call = (name: string, ...args: number[]): number => box.call(name, ...args) as number;
  const alloc = (n: number): number => box.alloc(n);
  const put = (v: ArrayBufferView): number => box.put(v);
  const r = seededRandom(42);
  const w = put(Int8Array.from({ length: N * K }, () => Math.floor(r() * 3) - 1));
  const wp = alloc(N * call('ternary_row_bytes', K));
  if (call('pack_ternary_i8', w, N, K, K, 1, wp) !== 0) throw new Error('pack_ternary_i8 failed');
  const a = put(Int8Array.from({ length: M * K }, () => Math.floor(r() * 255) - 127));
  const ascale = put(new Float32Array(M).fill(0.01));
  const wscale = put(new Float32Array(N).fill(0.5));
  const epi = put(new Int32Array([1, wscale, 0, 0, 0, 0, 0]));
  const c = alloc(M * N * 4);
  const run = (): number => call('tgemm_t2i8', a, K, ascale, wp, c, M, N, K, N, epi);
  // Warm up with short calls first (V8 cannot tier up a long call mid-flight).
  for (let i = 0; i < 2000; i++) call('tgemm_t2i8', a, K, ascale, wp, c, Math.min(M, 8), 16, Math.min(K, 256), N, epi);
  for (let i = 0; i < 3; i++) if (run() !== 0) throw new Error('tgemm_t2i8 failed');
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return { median: median(times), min: Math.min(...times) };
}

for (const { name, M, N, K } of SHAPES) {
  for (const backend of ['simd', 'relaxed'] as Backend[]) {
    const t = bench(backend, M, N, K);
    const gops = (ms: number): string => ((2 * M * N * K) / (ms * 1e6)).toFixed(0).padStart(4);
    console.log(`${name.padEnd(20)} ${backend.padEnd(8)} median ${t.median.toFixed(3)} ms ${gops(t.median)} GOP/s` +
      `   min ${t.min.toFixed(3)} ms ${gops(t.min)} GOP/s`);
  }
}
