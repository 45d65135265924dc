// TernaryMatMul's kernel against the int8 one: per GEMM shape, tgemm_t2i8 on the packed 2-bit
// codes against qgemm_i8 on the same codes as int8 weights (pack_b_i8 in the layout qgemm.ts
// picks for that many rows: i16 panels from 4 rows, 8× the packed ternary bytes), same data,
// same requantising epilogue; outputs must be equal byte for byte. Medians of interleaved rounds
// (long calls on a loaded machine: compare the ratio column, and repeat).
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/kernels/tgemm-dispatch.ts [--quick]

import { packBBytes, packLayout, qgemmScratchBytes } from '../../src/ops/qparams.js';
import { ternaryWeightsBytes } from '../../src/ops/ternary.js';
import { KernelBox } from '../../scripts/lib/kernel-box.js';
import { seededRandom } from '../../scripts/lib/random-models.js';

const quick = process.argv.includes('--quick');
// [M, K, N]: token counts × transformer projections (d = 768/1024/2048, MLP 4×), small GEMMs, ragged.
const SHAPES: [number, number, number][] = [
  [1, 4096, 4096], [4, 1024, 1024], [8, 1024, 1024], [16, 1024, 1024], [32, 1024, 1024], [64, 1024, 1024],
  [128, 1024, 1024], [128, 1024, 4096], [128, 4096, 1024], [128, 768, 3072], [256, 2048, 2048], [100, 1000, 300], [512, 256, 256],
];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

for (const [M, K, N] of SHAPES) {
  const box = new KernelBox('relaxed');
  const call = (n: string, ...a: number[]): number => box.call(n, ...a) as number;
  const r = seededRandom(1);
  const w = box.put(Int8Array.from({ length: K * N }, () => Math.floor(r() * 3) - 1)); // [K, N]
  const a = box.put(Int8Array.from({ length: M * K }, () => Math.floor(r() * 256) - 128)); // s8, as QuantizeLinear to int8 writes
  const zp = box.put(Int8Array.of(3));
  // gemm_i8_epilogue.ts: requantise to u8, per-channel multiplier, zero point 128.
  const epi = box.put(new Int32Array([1, box.put(new Float32Array(N).fill(0.002)), 0, 1, 128, 0, 0, 0, 0, 0, 0]));
  const yt = box.alloc(M * N), yi = box.alloc(M * N);
  const wb = ternaryWeightsBytes(N, K);
  const wt = box.alloc(wb + 4 * N);
  call('pack_ternary_i8', w, N, K, 1, N, wt);
  call('ternary_row_sums', wt, N, K, wt + wb);
  const rowc = box.alloc(4 * N);
  call('ternary_rowc', wt + wb, N, zp, 1, 0, rowc);
  const ts = box.alloc(call('tgemm_t2i8_scratch_bytes', M, K));
  const runT = () => call('tgemm_t2i8', a, K, 1, wt, rowc, yt, M, N, K, N, epi, ts);
  const layout = packLayout(M);
  const bp = box.alloc(packBBytes(K, N, layout));
  call('pack_b_i8', w, N, 0, 1, 0, 0, K, N, bp, layout);
  const scratch = box.alloc(qgemmScratchBytes(M, K));
  const runI = () => call('qgemm_i8', a, K, 1, zp, 0, bp, yi, N, M, N, K, epi, scratch);
  // Warm up with short calls first (V8 cannot tier up a long call mid-flight).
  // qgemm_i8 checks K and N against the packed B: the short calls have few rows.
  for (let i = 0; i < 30; i++) {
    call('tgemm_t2i8', a, K, 1, wt, rowc, yt, Math.min(M, 4), N, K, N, epi, ts);
    call('qgemm_i8', a, K, 1, zp, 0, bp, yi, N, Math.min(M, 4), N, K, epi, scratch);
  }
  const reps = Math.max(quick ? 5 : 11, Math.min(quick ? 20 : 60, Math.floor(2e9 / (M * K * N))));
  for (let i = 0; i < 5; i++) if (runT() !== 0 || runI() !== 0) throw new Error('kernel failed');
  const u8 = box.u8(yt, M * N), v8 = box.u8(yi, M * N);
  if (!u8.every((v, i) => v === v8[i])) throw new Error(`${M}×${K}×${N}: the two paths disagree`);
  const tt: number[] = [], ti: number[] = [];
  for (let i = 0; i < reps; i++) {
    let t0 = performance.now(); runT(); tt.push(performance.now() - t0);
    t0 = performance.now(); runI(); ti.push(performance.now() - t0);
  }
  const [mt, mi] = [median(tt), median(ti)];
  const gmac = (ms: number): string => (M * K * N / ms / 1e6).toFixed(1).padStart(5);
  console.log(`${`${M}×${K}×${N}`.padEnd(16)} tgemm_t2i8 ${mt.toFixed(3).padStart(8)} ms ${gmac(mt)} GMAC/s  qgemm_i8 ${mi.toFixed(3).padStart(8)} ms ${gmac(mi)} GMAC/s` +
    `  tgemm/qgemm ${(mt / mi).toFixed(2)}`);
}
