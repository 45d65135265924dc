// Kernel timings of the low-bit weight GEMM (qw_pack.ts, gemm_q4*.ts) on the shapes:
//   [QW_BITS=2|4|8] node --experimental-wasm-relaxed-simd --import tsx bench/kernels/qw.ts
// Medians of repeated warm calls on one thread; the machine is shared, so numbers are indicative.

import { readFileSync } from 'node:fs';
import { Machine } from '../../src/kernels/machine.js';
import type { Backend } from '../../src/kernels/wasm.js';

const shapes: Array<[number, number, number]> = process.env.QW_SHAPES
  ? process.env.QW_SHAPES.split(",").map((s) => s.split("x").map(Number) as [number, number, number])
  : [[1, 4096, 4096], [64, 1024, 1024]];
const bits = Number(process.env.QW_BITS ?? 4), bs = 32;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

interface Timing { median: number; min: number }

function time(fn: () => void, runs: number): Timing {
  for (let i = 0; i < 5; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return { median: median(t), min: Math.min(...t) };
}

for (const backend of ['simd', 'relaxed'] as Backend[]) {
  const m = new Machine(new WebAssembly.Module(readFileSync(`build/lowbit.${backend}.wasm`)), backend);
  for (const [M, N, K] of shapes) {
    let top = m.heapBase;
    const alloc = (n: number): number => { const a = top; top += Math.ceil(n / 64) * 64; m.ensure(top); return a; };
    const kb = Math.ceil(K / bs), Kp = kb * bs;
    const src = alloc((N * kb * bs * bits) / 8), sc = alloc(N * kb * 4), a = alloc(M * K * 4), c = alloc(M * N * 4);
    const qw = alloc(m.kernel('qw_pack_bytes')(N, K, bits, bs)!);
    const scratch = alloc(m.kernel('qwgemm_f32_scratch_bytes')(M, K, bs)!);
    const aq = alloc(M * Kp), as = alloc(M * 4), asum = alloc(M * kb * 4);
    const u8 = m.u8();
    for (let i = 0; i < (N * kb * bs * bits) / 8; i++) u8[src + i] = (i * 2654435761) >>> 24;
    const f = new Float32Array(m.memory.buffer);
    for (let i = 0; i < N * kb; i++) f[(sc >> 2) + i] = 0.01 + (i % 7) * 1e-3;
    for (let i = 0; i < M * K; i++) f[(a >> 2) + i] = Math.sin(i);
    m.kernel('qw_pack')(src, 0, 0, sc, 0, 0, N, K, bits, bs, qw);
    const exact = m.kernel('qwgemm_f32'), quant = m.kernel('quantize_rows_i8'), gemmI8 = m.kernel('qwgemm_i8');
    const runs = M === 1 ? 41 : 21;
    const tExact = time(() => exact(a, K, qw, c, N, M, N, K, bits, bs, 0, scratch), runs);
    const tI8 = time(() => { quant(a, K, M, K, bs, aq, as, asum); gemmI8(aq, as, asum, qw, c, N, M, N, K, bits, bs, 0); }, runs);
    const gmac = (M * N * K) / 1e6;
    const fmt = (t: Timing): string => `${t.median.toFixed(3)} ms (min ${t.min.toFixed(3)}, ${(gmac / t.median).toFixed(1)} GMAC/s)`;
    console.log(`${backend.padEnd(7)} ${M}x${N}x${K} bs${bs} ${bits}-bit: exact ${fmt(tExact)}, int8 ${fmt(tI8)}`);
  }
}
