// The cost of L-Mul: lmul_gemm_f32 (m = 3) against the f32 kernels the session uses on the same
// shape (gemm_f32 for M < 4, pack_a_f32 + gemm_f32_pp otherwise), B packed once for both, calls
// alternated in one process; medians and the median of the per-round ratios.
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/kernels/lmul.ts [--quick]

import type { Backend } from '../../src/kernels/wasm.js';
import { KernelBox } from '../../scripts/lib/kernel-box.js';
import { seededRandom } from '../../scripts/lib/random-models.js';

const quick = process.argv.includes('--quick');
const REPS = quick ? 5 : 15;
const SHAPES = [{ M: 1, K: 4096, N: 4096 }, { M: 64, K: 1024, N: 1024 }];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function bench(backend: Backend, M: number, K: number, N: number): { f32: number; lmul: number; ratio: number } {
  const box = new KernelBox(backend);
  const r = seededRandom(3);
  const a = box.put(Float32Array.from({ length: M * K }, () => r() * 2 - 1));
  const b = box.put(Float32Array.from({ length: K * N }, () => (r() * 2 - 1) / 32));
  const bp = box.alloc(Math.ceil(N / 8) * K * 32);
  box.call('pack_b_f32', b, bp, K, N, N, 0);
  const ap = box.alloc(Math.ceil(M / 4) * K * 16);
  const c = box.alloc(M * N * 4);
  const f32 = () => {
    if (M < 4) box.call('gemm_f32', a, K, bp, c, N, M, N, K, 0, 0, 0, 0, 0);
    else {
      box.call('pack_a_f32', a, K, ap, M, K);
      box.call('gemm_f32_pp', ap, bp, c, N, M, N, K, 0, 0, 0, 0, 0);
    }
  };
  const lmul = () => box.call('lmul_gemm_f32', a, K, bp, c, N, M, N, K, 0, 0, 0, 0, 0, 3);
  // Warm both with short calls (V8 cannot tier up a long first call).
  for (let i = 0; i < 300; i++) {
    box.call('gemm_f32', a, 64, bp, c, N, 1, 64, 64, 0, 0, 0, 0, 0);
    box.call('lmul_gemm_f32', a, 64, bp, c, N, 1, 64, 64, 0, 0, 0, 0, 0, 3);
  }
  const tf: number[] = [], tl: number[] = [], ratios: number[] = [];
  for (let i = 0; i < REPS; i++) {
    let t0 = performance.now();
    f32();
    const x = performance.now() - t0;
    t0 = performance.now();
    lmul();
    const y = performance.now() - t0;
    tf.push(x);
    tl.push(y);
    ratios.push(y / x);
  }
  return { f32: median(tf), lmul: median(tl), ratio: median(ratios) };
}

for (const { M, K, N } of SHAPES) {
  for (const backend of ['scalar', 'simd', 'relaxed'] as Backend[]) {
    const t = bench(backend, M, K, N);
    const g = (ms: number) => ((M * N * K) / (ms * 1e6)).toFixed(2);
    console.log(`${`${M}×${K}×${N}`.padEnd(12)} ${backend.padEnd(8)} f32 ${t.f32.toFixed(2)} ms (${g(t.f32)} GMAC/s)  ` +
      `L-Mul ${t.lmul.toFixed(2)} ms (${g(t.lmul)} GMAC/s)  L-Mul/f32 ${t.ratio.toFixed(2)}× (median of ${REPS} rounds)`);
  }
}
