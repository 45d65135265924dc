// A/B of hot (and some cold) kernels between two directories of kernel builds, in one process:
// rounds alternate two instances of A and two of B, each round takes each build's minimum of its
// REPS calls per instance; prints the medians and the median of the per-round B/A ratios
// (steadier than absolute times on a shared machine).
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/kernels/ab.ts DIR_A DIR_B [relaxed|simd|scalar]
// e.g. copy build/ aside before a change, rebuild, then compare the copy with build/.
import { readFileSync } from 'node:fs';
import type { Backend } from '../../src/kernels/wasm.js';
import { Machine, alignUp } from '../../src/kernels/machine.js';
import { seededRandom } from '../../scripts/lib/random-models.js';

const [dirA, dirB, backend = 'relaxed'] = process.argv.slice(2) as [string, string, Backend?];
if (!dirA || !dirB) throw new Error('usage: bench/kernels/ab.ts DIR_A DIR_B [relaxed|simd|scalar]');
const ROUNDS = Number(process.env.ROUNDS ?? 7), REPS = 7;
class Box {
  m: Machine; top: number;
  constructor(dir: string) { this.m = new Machine(new WebAssembly.Module(readFileSync(`${dir}/lowbit.${backend}.wasm`)), backend); this.top = this.m.heapBase; }
  alloc(n: number) { const a = this.top; this.top = alignUp(a + Math.max(n, 1)); this.m.ensure(this.top); return a; }
  put(d: ArrayBufferView) { const a = this.alloc(d.byteLength); this.m.u8().set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), a); return a; }
  call(n: string, ...a: number[]) { return this.m.kernel(n)(...a) as number; }
}
type Setup = (b: Box) => { run: () => void; warm: () => void; cold?: boolean };
const flush = new Uint8Array(64 << 20);
const r = seededRandom(1);
const rand = (n: number) => new Float32Array(n).map(() => r() * 2 - 1);
const u8 = (n: number) => new Uint8Array(n).map(() => Math.floor(r() * 256));
const rowBytes = (L: number) => Math.ceil(L / 128) * 16;
/** Ternary GEMM M×K×N, u8 activations, requantised to u8 (as the bench row). */
function tgemv(b: Box, M: number, K: number, N: number, cold = false) {
  const wb = Math.ceil(N / 4) * 64 * Math.ceil(K / 64);
  const wp = b.alloc(wb + 4 * N);
  b.call('pack_ternary_i8', b.put(new Int8Array(N * K).map(() => Math.floor(r() * 3) - 1)), N, K, K, 1, wp);
  b.call('ternary_row_sums', wp, N, K, wp + wb);
  const rowc = b.alloc(4 * N); b.call('ternary_rowc', wp + wb, N, b.put(Uint8Array.of(128)), 0, 0, rowc);
  const epi = b.put(new Int32Array([1, b.put(new Float32Array(N).fill(0.001)), 0, 1, 128, 0, 0, 0, 0, 0, 0]));
  const a = b.put(u8(M * K)); const c = b.alloc(M * N);
  const ts = b.alloc(b.call('tgemm_t2i8_scratch_bytes', M, K));
  return { cold, run: () => b.call('tgemm_t2i8', a, K, 0, wp, rowc, c, M, N, K, N, epi, ts), warm: () => b.call('tgemm_t2i8', a, K, 0, wp, rowc, c, M, 16, Math.min(K, 256), N, epi, ts) };
}
/** MatMulNBits exact path M×K×N (f32 activations), `bits` with block `bs`. */
function qwgemv(b: Box, M: number, K: number, N: number, bits = 4, bs = 32) {
  const kb = Math.ceil(K / bs);
  const qw = b.alloc(b.call('qw_pack_bytes', N, K, bits, bs));
  b.call('qw_pack', b.put(u8((N * kb * bs * bits) / 8)), 0, 0, b.put(rand(N * kb)), 0, 0, N, K, bits, bs, qw);
  const a = b.put(rand(M * K)); const c = b.alloc(M * N * 4); const s = b.alloc(b.call('qwgemm_f32_scratch_bytes', M, K, bs));
  return { run: () => b.call('qwgemm_f32', a, K, qw, c, N, M, N, K, bits, bs, 0, s), warm: () => b.call('qwgemm_f32', a, K, qw, c, N, M, Math.min(N, 16), Math.min(K, 64), bits, bs, 0, s) };
}
/** QLinearMatMul u8×s8→u8 M×K×N on the i8 slabs (GEMV layout); cold: caches flushed before each call. */
function qgemv(b: Box, M: number, K: number, N: number, cold: boolean) {
  const bb = b.put(u8(K * N)); const bzp = b.put(new Uint8Array(1));
  const bp = b.alloc(b.call('pack_b_i8_bytes', K, N, 1)); b.call('pack_b_i8', bb, N, 0, 1, bzp, 0, K, N, bp, 1);
  const a = b.put(u8(M * K)); const azp = b.put(new Uint8Array([131]));
  const mult = b.put(new Float32Array(N).fill(1e-4)); const epi = b.put(new Int32Array([1, mult, 0, 1, 128, 0, 0, 0, 0, 0, 0]));
  const c = b.alloc(M * N); const s = b.alloc(b.call('qgemm_i8_scratch_bytes', M, K));
  return { cold, run: () => b.call('qgemm_i8', a, K, 0, azp, 0, bp, c, N, M, N, K, epi, s), warm: () => b.call('qgemm_i8', a, K, 0, azp, 0, bp, c, N, M, 32, 64, epi, s) };
}
/** Binary GEMM M×N×K, f32 epilogue with a per-channel scale (as the bench row). */
function bgemm(b: Box, M: number, N: number, K: number) {
  const sc = b.put(rand(N).map((x) => x + 2)); const epi = b.put(new Int32Array([1, sc, 0, 0, 0, 0, 0]));
  const a = b.alloc(M * rowBytes(K)), w = b.alloc(Math.ceil(N / 8) * 8 * rowBytes(K));
  b.call('pack_signs_f32', b.put(rand(M * K)), M, K, K, 1, a, 0); b.call('pack_weights_b1_f32', b.put(rand(N * K)), N, K, K, 1, w);
  const c = b.alloc(M * N * 4);
  return { run: () => b.call('bgemm_b1b1', a, w, c, M, N, K, N, epi), warm: () => b.call('bgemm_b1b1', a, w, c, Math.min(M, 8), Math.min(N, 16), Math.min(K, 256), N, epi) };
}
/** Binary conv k×k, C→M channels, H×W, pad k>>1, stride 1, f32 epilogue scale + bias (as the bench row), or its sign bits. */
function bconv(b: Box, C: number, M: number, H: number, W: number, k: number, sign = false) {
  const sc = b.put(rand(M).map((x) => x + 2)); let epi = b.put(new Int32Array([1, sc, b.put(rand(M)), 0, 0, 0, 0]));
  if (sign) {
    const thr = b.alloc(8 * M); b.call('bsign_thresholds', epi, M, k * k * C, thr);
    epi = b.alloc(32 + 8 * M); b.call('binary_sign_desc', epi, thr, M);
  }
  const x = b.alloc(H * W * rowBytes(C)); b.call('pack_signs_nchw_f32', b.put(rand(C * H * W)), 1, C, H * W, x, 0);
  const w = b.alloc(Math.ceil(M / 8) * 8 * rowBytes(k * k * C)); b.call('pack_bconv_weights_f32', b.put(rand(M * k * k * C)), 1, M, C, k * k, w);
  const p = k >> 1;
  const geom = (h: number, wd: number) => b.put(new Int32Array([1, 1, C, M, 1, h, wd, 1, k, k, 1, 1, 1, 1, 1, 1, 0, p, p, 1, h, wd, 204]));
  const d = geom(H, W), dw = geom(4, 4);
  const s = b.alloc(b.call('bconv_b1b1_scratch_bytes', d)); const y = b.alloc(M * H * W * 4);
  return { run: () => b.call('bconv_b1b1', x, w, y, d, epi, s), warm: () => b.call('bconv_b1b1', x, w, y, dw, epi, s) };
}
const BGEMM_SHAPES = [[64, 1024, 1024], [64, 256, 4096], [1, 4096, 4096], [3, 1024, 1024], [4, 64, 1024], [17, 13, 100], [256, 64, 576], [3136, 64, 576], [256, 1024, 64], [64, 8, 4096], [17, 1024, 1000], [256, 256, 256]];
const CASES: [string, Setup][] = [
  ...BGEMM_SHAPES.map(([M, N, K]): [string, Setup] => [`bgemm_b1b1 ${M}x${N}x${K}`, (b) => bgemm(b, M, N, K)]),
  ['bconv 3x3 64->64 56x56', (b) => bconv(b, 64, 64, 56, 56, 3)],
  ['bconv 3x3 128->128 28x28', (b) => bconv(b, 128, 128, 28, 28, 3)],
  ['bconv 3x3 32->48 20x20', (b) => bconv(b, 32, 48, 20, 20, 3)],
  ['bconv 1x1 256->64 28x28', (b) => bconv(b, 256, 64, 28, 28, 1)],
  ['bconv 3x3 64->64 56x56 sign', (b) => bconv(b, 64, 64, 56, 56, 3, true)],
  ['bgemm_b1b1 64x1024x1024 sign', (b) => {
    const M = 64, N = 1024, K = 1024;
    const thr = b.alloc(8 * N); b.call('bsign_thresholds', b.put(new Int32Array([1, b.put(rand(N).map((x) => x + 2)), b.put(rand(N)), 0, 0, 0, 0])), N, K, thr);
    const epi = b.alloc(32 + 8 * N); b.call('binary_sign_desc', epi, thr, N);
    const a = b.alloc(M * rowBytes(K)), w = b.alloc(N * rowBytes(K));
    b.call('pack_signs_f32', b.put(rand(M * K)), M, K, K, 1, a, 0); b.call('pack_weights_b1_f32', b.put(rand(N * K)), N, K, K, 1, w);
    const c = b.alloc(M * rowBytes(N));
    return { run: () => b.call('bgemm_b1b1', a, w, c, M, N, K, N, epi), warm: () => b.call('bgemm_b1b1', a, w, c, 8, 16, 256, N, epi) };
  }],
  ['qwgemm_f32 4-bit 1x4096x4096', (b) => qwgemv(b, 1, 4096, 4096)],
  ['qwgemm_f32 4-bit 1x4096x11008', (b) => qwgemv(b, 1, 4096, 11008)],
  ['qwgemm_f32 4-bit 1x11008x4096', (b) => qwgemv(b, 1, 11008, 4096)],
  ['qwgemm_f32 4-bit 2x1000x1000', (b) => qwgemv(b, 2, 1000, 1000)],
  ['qwgemm_f32 4-bit 1x256x256', (b) => qwgemv(b, 1, 256, 256)],
  ['qwgemm_f32 4-bit 1x4096x4096 bs16', (b) => qwgemv(b, 1, 4096, 4096, 4, 16)],
  ['qwgemm_f32 4-bit 1x4096x4096 bs128', (b) => qwgemv(b, 1, 4096, 4096, 4, 128)],
  ['qwgemm_f32 2-bit 1x4096x4096', (b) => qwgemv(b, 1, 4096, 4096, 2)],
  ['qgemv_i8 1x4096x4096 (cold)', (b) => qgemv(b, 1, 4096, 4096, true)],
  ['qgemv_i8 1x4096x4096', (b) => qgemv(b, 1, 4096, 4096, false)],
  ['qgemv_i8 2x11008x4096 (cold)', (b) => qgemv(b, 2, 11008, 4096, true)],
  ['qgemv_i8 3x1000x1000', (b) => qgemv(b, 3, 1000, 1000, false)],
  ['qgemv_i8 1x256x256', (b) => qgemv(b, 1, 256, 256, false)],
  ['tgemv u8 1x4096x4096', (b) => tgemv(b, 1, 4096, 4096)],
  ['tgemv u8 1x4096x4096 (cold)', (b) => tgemv(b, 1, 4096, 4096, true)],
  ['tgemv u8 2x11008x4096 (cold)', (b) => tgemv(b, 2, 11008, 4096, true)],
  ['tgemv u8 1x4096x11008 (cold)', (b) => tgemv(b, 1, 4096, 11008, true)],
  ['tgemv u8 1x256x256', (b) => tgemv(b, 1, 256, 256)],
  ['tgemv u8 2x1000x1000', (b) => tgemv(b, 2, 1000, 1000)],
  ['tgemv u8 1x1024x4096', (b) => tgemv(b, 1, 1024, 4096)],
  ['tgemv u8 1x4096x1024', (b) => tgemv(b, 1, 4096, 1024)],
  ['tgemv u8 3x1024x1024', (b) => tgemv(b, 3, 1024, 1024)],
  ['tgemm u8 64x1024x1024', (b) => tgemv(b, 64, 1024, 1024)],
  ['tgemm u8 128x4096x1024', (b) => tgemv(b, 128, 4096, 1024)],
  ['qgemm_i8 64x1024x1024', (b) => {
    const M = 64, N = 1024, K = 1024;
    const bb = b.put(u8(K * N)); const bzp = b.put(new Uint8Array(1));
    const bp = b.alloc(b.call('pack_b_i8_bytes', K, N, 2)); b.call('pack_b_i8', bb, N, 0, 1, bzp, 0, K, N, bp, 2);
    const a = b.put(u8(M * K)); const azp = b.put(new Uint8Array([131]));
    const mult = b.put(new Float32Array(N).fill(1e-4)); const epi = b.put(new Int32Array([1, mult, 0, 1, 128, 0, 0, 0, 0, 0, 0]));
    const c = b.alloc(M * N); const s = b.alloc(b.call('qgemm_i8_scratch_bytes', M, K));
    return { run: () => b.call('qgemm_i8', a, K, 0, azp, 0, bp, c, N, M, N, K, epi, s), warm: () => b.call('qgemm_i8', a, K, 0, azp, 0, bp, c, N, 4, 64, 64, epi, s) };
  }],
  ['gemm_f32 64x512x512', (b) => {
    const M = 64, N = 512, K = 512;
    const bp = b.alloc(Math.ceil(N / 8) * 8 * K * 4); b.call('pack_b_f32', b.put(rand(K * N)), bp, K, N, N, 0);
    const a = b.put(rand(M * K)); const c = b.alloc(M * N * 4);
    return { run: () => b.call('gemm_f32', a, K, bp, c, N, M, N, K, 0, 0, 0, 0, 0), warm: () => b.call('gemm_f32', a, K, bp, c, N, 4, 16, 64, 0, 0, 0, 0, 0) };
  }],
  ['maxpool f32 3x3s2 64ch 112²', (b) => {
    const C = 64, H = 112, O = 56; const x = b.put(rand(C * H * H)); const y = b.alloc(C * O * O * 4);
    const pd = b.put(new Int32Array([1, H, H, 1, O, O, 1, 3, 3, 1, 1, 2, 1, 1, 1, 0, 1, 1, 1, H + 1, H + 1]));
    const pw = b.put(new Int32Array([1, 8, 8, 1, 4, 4, 1, 3, 3, 1, 1, 2, 1, 1, 1, 0, 1, 1, 1, 9, 9]));
    return { run: () => b.call('maxpool', 1, x, y, C, pd), warm: () => b.call('maxpool', 1, x, y, 1, pw) };
  }],
  ['softmax_f32 256x1000', (b) => {
    const x = b.put(rand(256 * 1000)); const y = b.alloc(256 * 1000 * 4);
    return { run: () => b.call('softmax_f32', x, y, 256, 1000, 1, 0), warm: () => b.call('softmax_f32', x, y, 2, 100, 1, 0) };
  }],
  ['reduce sum f32 rows 512x1024', (b) => {
    const x = b.put(rand(512 * 1024)); const y = b.alloc(512 * 4); const d = b.put(new Int32Array([1, 512, 1024, 1, 1024, 1]));
    const dw = b.put(new Int32Array([1, 4, 64, 1, 64, 1]));
    return { run: () => b.call('reduce', 0, 1, x, y, d), warm: () => b.call('reduce', 0, 1, x, y, dw) };
  }],
  ['cast f32→f16 256k', (b) => {
    const n = 1 << 18; const x = b.put(rand(n)); const y = b.alloc(n * 2);
    return { run: () => b.call('cast', 1, 10, x, y, n, 0), warm: () => b.call('cast', 1, 10, x, y, 256, 0) };
  }],
  ['cast f32→f8e4m3fn 256k (cold)', (b) => {
    const n = 1 << 18; const x = b.put(rand(n)); const y = b.alloc(n);
    return { run: () => b.call('cast', 1, 17, x, y, n, 1), warm: () => b.call('cast', 1, 17, x, y, 256, 1) };
  }],
  ['cast i64→f16 64k (cold)', (b) => {
    const n = 1 << 16; const x = b.put(new BigInt64Array(n).map(() => BigInt(Math.floor(r() * 1e6)))); const y = b.alloc(n * 2);
    return { run: () => b.call('cast', 7, 10, x, y, n, 0), warm: () => b.call('cast', 7, 10, x, y, 256, 0) };
  }],
  ['pack_signs_nchw_f32 64ch 56² (cold)', (b) => {
    const C = 64, P = 56 * 56; const x = b.put(rand(C * P)); const y = b.alloc(P * rowBytes(C));
    return { cold: true, run: () => b.call('pack_signs_nchw_f32', x, 1, C, P, y, 0), warm: () => b.call('pack_signs_nchw_f32', x, 1, C, 64, y, 0) };
  }],
  ['pack_signs_f32 64x1024', (b) => {
    const M = 64, K = 1024; const x = b.put(rand(M * K)); const y = b.alloc(M * rowBytes(K));
    return { run: () => b.call('pack_signs_f32', x, M, K, K, 1, y, 0), warm: () => b.call('pack_signs_f32', x, 2, K, K, 1, y, 0) };
  }],
  ['quantize f32→u8 256k', (b) => {
    const n = 1 << 18; const x = b.put(rand(n)); const s = b.put(new Float32Array([0.01])); const zp = b.put(new Uint8Array([128])); const y = b.alloc(n);
    const d = b.put(new Int32Array([1, 1, n, 1, 0, 0, 0])); const dw = b.put(new Int32Array([1, 1, 256, 1, 0, 0, 0]));
    return { run: () => b.call('quantize_linear', 1, 1, 2, 1, x, s, zp, y, d, 1), warm: () => b.call('quantize_linear', 1, 1, 2, 1, x, s, zp, y, dw, 1) };
  }],
  ['quantize f32→i4 256k (cold)', (b) => {
    const n = 1 << 18; const x = b.put(rand(n)); const s = b.put(new Float32Array([0.1])); const zp = b.put(new Uint8Array([0])); const y = b.alloc(n);
    const d = b.put(new Int32Array([1, 1, n, 1, 0, 0, 0])); const dw = b.put(new Int32Array([1, 1, 256, 1, 0, 0, 0]));
    return { run: () => b.call('quantize_linear', 1, 1, 22, 1, x, s, zp, y, d, 1), warm: () => b.call('quantize_linear', 1, 1, 22, 1, x, s, zp, y, dw, 1) };
  }],
];
const only = process.env.ONLY; // a regular expression over the case names
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const [name, setup] of CASES.filter(([n]) => !only || new RegExp(only).test(n))) {
  // Two instances per build, made in the order A B B A: where an instance's memory lands moves
  // its times by several percent, so each build gets one early and one late instance.
  const boxes = [dirA, dirB, dirB, dirA].map((d) => setup(new Box(d)));
  const build = [0, 1, 1, 0];
  for (const k of boxes) { for (let i = 0; i < 500; i++) k.warm(); k.run(); }
  const t: number[][] = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    const best = [Infinity, Infinity];
    for (let s = 0; s < 4; s++) {
      const j = (round + s) % 4;
      const k = boxes[j];
      for (let i = 0; i < REPS; i++) {
        if (k.cold) flush.fill(i + 1);
        const t0 = performance.now(); k.run(); best[build[j]] = Math.min(best[build[j]], performance.now() - t0);
      }
    }
    t[0].push(best[0]);
    t[1].push(best[1]);
  }
  const ratios = t[0].map((a, i) => t[1][i] / a);
  console.log(`${name.padEnd(32)} A ${median(t[0]).toFixed(3)} ms  B ${median(t[1]).toFixed(3)} ms  B/A median ${median(ratios).toFixed(3)} (min-of-rounds ${(Math.min(...t[1]) / Math.min(...t[0])).toFixed(3)})`);
}
