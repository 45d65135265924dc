import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, randomF32, rng, sizesAround } from '../support/kernels.js';

function refGemm(a: Float32Array, b: Float32Array, M: number, N: number, K: number, bias?: Float32Array): Float64Array {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[m * K + k] * b[k * N + n];
    c[m * N + n] = s + (bias ? bias[n] : 0);
  }
  return c;
}

describe.each(ALL_BACKENDS)('gemm_f32 and gemm_f32_pp (%s)', (backend) => {
  const box = new KernelBox(backend);
  const Ms = sizesAround(4, [7, 64]);
  const Ns = sizesAround(8, [33]);
  const Ks = [1, 3, 16, 37];
  it('matches float64 math on ragged M×N×K with bias, relu and clamp epilogues', () => {
    const seed = 1234;
    const r = rng(seed);
    for (const M of Ms) for (const N of Ns) for (const K of Ks) {
      box.reset();
      const a = randomF32(r, M * K);
      const b = randomF32(r, K * N);
      const bias = randomF32(r, N);
      const pa = box.put(a);
      const pb = box.put(b);
      const pbias = box.put(bias);
      const packed = box.alloc(Math.ceil(N / 8) * K * 32);
      const pc = box.alloc(M * N * 4);
      box.call('pack_b_f32', pb, packed, K, N, N, 0);
      const want = refGemm(a, b, M, N, K, bias);
      const apk = box.alloc(Math.ceil(M / 4) * K * 16);
      box.call('pack_a_f32', pa, K, apk, M, K);
      for (const [kernel, act, lo, hi] of [['gemm_f32', 0, 0, 0], ['gemm_f32', 1, 0, 0], ['gemm_f32', 2, -0.5, 0.25],
        ['gemm_f32_pp', 0, 0, 0], ['gemm_f32_pp', 1, 0, 0], ['gemm_f32_pp', 2, -0.5, 0.25]] as const) {
        if (kernel === 'gemm_f32') box.call(kernel, pa, K, packed, pc, N, M, N, K, pbias, 1, act, lo, hi);
        else box.call(kernel, apk, packed, pc, N, M, N, K, pbias, 1, act, lo, hi);
        const got = box.f32(pc, M * N);
        for (let i = 0; i < M * N; i++) {
          let w = want[i];
          if (act === 1) w = Math.max(w, 0);
          if (act === 2) w = Math.min(Math.max(w, lo), hi);
          if (Math.abs(got[i] - w) > 1e-5 * (1 + Math.abs(w)) + 1e-6 * K) {
            expect.fail(`${kernel} seed ${seed} M=${M} N=${N} K=${K} act=${act} [${i}]: ${got[i]} vs ${w}`);
          }
        }
      }
    }
  });

  it('packs transposed B the same as B', () => {
    const r = rng(7);
    const K = 13, N = 19;
    box.reset();
    const b = randomF32(r, K * N);
    const bt = new Float32Array(N * K);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bt[n * K + k] = b[k * N + n];
    const p1 = box.alloc(Math.ceil(N / 8) * K * 32);
    const p2 = box.alloc(Math.ceil(N / 8) * K * 32);
    box.call('pack_b_f32', box.put(b), p1, K, N, N, 0);
    box.call('pack_b_f32', box.put(bt), p2, K, N, K, 1);
    expect(box.u8(p1, Math.ceil(N / 8) * K * 32)).toEqual(box.u8(p2, Math.ceil(N / 8) * K * 32));
  });

  it('packs A into blocks of 4 rows (ragged M and K, a padded lda)', () => {
    const r = rng(8);
    for (const [M, K] of [[4, 8], [9, 13], [6, 3], [12, 17]]) {
      box.reset();
      const lda = K + 3;
      const a = randomF32(r, M * lda);
      const ap = box.alloc(Math.ceil(M / 4) * K * 16);
      box.call('pack_a_f32', box.put(a), lda, ap, M, K);
      const want = new Float32Array(Math.ceil(M / 4) * K * 4); // row m, column k at (⌊m/4⌋·K + k)·4 + m mod 4
      for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) want[((m >> 2) * K + k) * 4 + (m & 3)] = a[m * lda + k];
      expect(box.f32(ap, want.length)).toEqual(want);
    }
  });
});
