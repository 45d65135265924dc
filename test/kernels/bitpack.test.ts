// The NaN rule of the f32 activation packers (assembly/bitpack.ts): nanNegative 0 packs
// x < 0 (Where(Less(x, 0), −1, +1): NaN → +1), 1 packs ¬(x ≥ 0) (QONNX BipolarQuant: NaN → −1);
// both give +1 for ±0 and agree on every other value. Checked per element against those two
// literal rules on every build, on lengths around the SIMD block of 32 and with strided rows.

import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';
import { bitRowBytes, paddingIsZero, unpackBits } from '../support/binary.js';

const RULES = [
  { nanNegative: 0, sign: (x: number): number => (x < 0 ? -1 : 1) },
  { nanNegative: 1, sign: (x: number): number => (x >= 0 ? 1 : -1) },
];

/** Values where the rules can differ or round: NaN, ±0, ±∞, subnormals, and ordinary ones. */
function edgyValues(r: () => number, n: number): Float32Array {
  const special = [NaN, -NaN, 0, -0, Infinity, -Infinity, 1e-45, -1e-45, -1e-40, 3.4e38, -3.4e38];
  return Float32Array.from({ length: n }, () => (r() < 0.3 ? special[Math.floor(r() * special.length)] : r() * 2 - 1));
}

describe.each(ALL_BACKENDS)('sign packers, NaN rule (%s)', (backend) => {
  const box = new KernelBox(backend);
  it.each(RULES)('pack_signs_f32 nanNegative $nanNegative: each bit is the rule on its element', ({ nanNegative, sign }) => {
    const r = rng(31 + nanNegative);
    for (const [rows, K] of [[1, 1], [2, 31], [3, 32], [2, 33], [1, 64], [2, 97], [1, 129], [2, 300]]) {
      box.reset();
      const x = edgyValues(r, rows * K);
      const dst = box.alloc(rows * bitRowBytes(K));
      box.call('pack_signs_f32', box.put(x), rows, K, K, 1, dst, nanNegative);
      const bytes = box.u8(dst, rows * bitRowBytes(K));
      expect([...unpackBits(bytes, rows, K)], `${rows}×${K}`).toEqual([...x].map(sign));
      expect(paddingIsZero(bytes, rows, K)).toBe(true);
      // Column-major reads (ldk ≠ 1) take the scalar path.
      const dstT = box.alloc(K * bitRowBytes(rows));
      box.call('pack_signs_f32', box.put(x), K, rows, 1, K, dstT, nanNegative);
      const want = Array.from({ length: K * rows }, (_, i) => sign(x[(i % rows) * K + Math.floor(i / rows)]));
      expect([...unpackBits(box.u8(dstT, K * bitRowBytes(rows)), K, rows)], `transposed ${rows}×${K}`).toEqual(want);
    }
  });
  it.each(RULES)('pack_signs_nchw_f32 nanNegative $nanNegative: bit NHWC of the rule', ({ nanNegative, sign }) => {
    const r = rng(41 + nanNegative);
    for (const [N, C, P] of [[1, 1, 1], [2, 3, 5], [1, 33, 7], [2, 130, 3], [1, 9, 37], [2, 17, 48]]) {
      box.reset();
      const x = edgyValues(r, N * C * P);
      const dst = box.alloc(N * P * bitRowBytes(C));
      box.call('pack_signs_nchw_f32', box.put(x), N, C, P, dst, nanNegative);
      const got = unpackBits(box.u8(dst, N * P * bitRowBytes(C)), N * P, C);
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < P; p++) {
        const v = x[(n * C + c) * P + p];
        if (got[(n * P + p) * C + c] !== sign(v)) expect.fail(`${N}×${C}×${P} n=${n} c=${c} p=${p} x=${v}`);
      }
    }
  });
});
