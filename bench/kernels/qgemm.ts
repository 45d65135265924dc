// Indicative timings of the int8 GEMV/GEMM kernels (qgemm_i8) on the simd and relaxed builds.
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/kernels/qgemm.ts [--quick] [--cold] [--gemv]
// --cold evicts the caches (writes 64 MiB) before every timed call, as npm run bench's
// round-robin over three runtimes does: a 16 MiB weight matrix then streams from DRAM.
// Median and minimum of warm calls: on a shared machine the minimum is the steadier estimate.

import type { Backend } from '../../src/kernels/wasm.js';
import { KernelBox } from '../../scripts/lib/kernel-box.js';
import { seededRandom } from '../../scripts/lib/random-models.js';

const quick = process.argv.includes('--quick');
const cold = process.argv.includes('--cold');
const gemvOnly = process.argv.includes('--gemv');
const REPS = quick ? 5 : 25;
const flush = new Uint8Array(64 << 20);

interface Shape { name: string; M: number; N: number; K: number; weights: 's8' | 's7' }

const SHAPES: Shape[] = [
  { name: 'GEMV 1×4096×4096 u8×s8→u8', M: 1, N: 4096, K: 4096, weights: 's8' },
  { name: 'GEMV 1×4096×4096 u8×s7→u8', M: 1, N: 4096, K: 4096, weights: 's7' },
  { name: 'GEMV 1×1024×1024 u8×s8→u8', M: 1, N: 1024, K: 1024, weights: 's8' },
  { name: 'GEMV 1×4096×1024 u8×s8→u8', M: 1, N: 1024, K: 4096, weights: 's8' },
  { name: 'GEMM 4×4096×4096 u8×s8→u8', M: 4, N: 4096, K: 4096, weights: 's8' },
  { name: 'GEMM 64×1024×1024 u8×s8→u8', M: 64, N: 1024, K: 1024, weights: 's8' },
  { name: 'GEMM 64×1024×1024 u8×s7→u8', M: 64, N: 1024, K: 1024, weights: 's7' },
  { name: 'GEMM 128×512×2048 u8×s8→u8', M: 128, N: 2048, K: 512, weights: 's8' },
  { name: 'GEMM 16×4096×1024 u8×s8→u8', M: 16, N: 1024, K: 4096, weights: 's8' },
  { name: 'GEMM 37×999×517 u8×s8→u8', M: 37, N: 517, K: 999, weights: 's8' },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function bench(backend: Backend, sh: Shape): { median: number; min: number } {
  const box = new KernelBox(backend, 'runtime');
  const call = (name: string, ...args: number[]): number => box.call(name, ...args) as number;
  const alloc = (n: number): number => box.alloc(n);
  const put = (v: ArrayBufferView): number => box.put(v);
  const r = seededRandom(42);
  const { M, N, K } = sh;
  const span = sh.weights === 's8' ? 256 : 128;
  const b = put(new Uint8Array(K * N).map(() => (Math.floor(r() * span) - (span >> 1)) & 255));
  const bzp = put(new Uint8Array(1));
  // The layout the host chooses: i16 panels for the GEMM (M ≥ 4), i8 slabs for the GEMV.
  const layout = M >= 4 ? 2 : 1;
  const bp = alloc(call('pack_b_i8_bytes', K, N, layout));
  call('pack_b_i8', b, N, 0, 1, bzp, 0, K, N, bp, layout);
  const a = put(new Uint8Array(M * K).map(() => Math.floor(r() * 256)));
  const azp = put(new Uint8Array([131]));
  const mult = put(new Float32Array(N).map(() => 1e-4 * (1 + r())));
  const epi = put(new Int32Array([1, mult, 0, 1, 128, 0, 0, 0, 0, 0, 0]));
  const c = alloc(M * N);
  const scratch = alloc(call('qgemm_i8_scratch_bytes', M, K));
  const run = (): number => call('qgemm_i8', a, K, 0, azp, 0, bp, c, N, M, N, K, epi, scratch);
  // Warm up with short calls first (V8 cannot tier up a long call mid-flight).
  const kw = 64;
  const bpw = alloc(call('pack_b_i8_bytes', kw, 64, layout));
  call('pack_b_i8', b, 64, 0, 1, bzp, 0, kw, 64, bpw, layout);
  for (let i = 0; i < 2000; i++) call('qgemm_i8', a, kw, 0, azp, 0, bpw, c, 64, Math.min(M, 8), 64, kw, epi, scratch);
  for (let i = 0; i < 3; i++) if (run() !== 0) throw new Error('qgemm_i8 failed');
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) {
    if (cold) flush.fill(i + 1);
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return { median: median(times), min: Math.min(...times) };
}

for (const sh of SHAPES) {
  if (gemvOnly && sh.M > 4) continue;
  for (const backend of ['simd', 'relaxed'] as Backend[]) {
    const t = bench(backend, sh);
    const gmacs = (ms: number): string => ((sh.M * sh.N * sh.K) / (ms * 1e6)).toFixed(1).padStart(5);
    console.log(`${sh.name.padEnd(30)} ${backend.padEnd(8)} median ${t.median.toFixed(3)} ms ${gmacs(t.median)} GMAC/s` +
      `   min ${t.min.toFixed(3)} ms ${gmacs(t.min)} GMAC/s`);
  }
}
