// qlinear_requant_desc: the requantisation multiplier table and descriptor, with f32 and f16
// scales, against an independent reference (f16 rounding by search over every f16 value).

import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';

const DT_F32 = 1, DT_F16 = 10, EPI_U8 = 1, EPI_S8 = 2;

function f16Value(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

/** Every finite non-negative f16 value, ascending, with its bit pattern. */
const POSITIVE = Array.from({ length: 0x7c00 }, (_, h) => f16Value(h));

/** x (exact double) rounded to the nearest f16 value, ties to the even bit pattern. */
function roundF16(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 65520) return Math.sign(x) * Infinity;
  let lo = 0, hi = POSITIVE.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (POSITIVE[mid] <= ax) lo = mid; else hi = mid;
  }
  const dl = ax - POSITIVE[lo], dh = POSITIVE[hi] - ax;
  const pick = dl < dh ? lo : dh < dl ? hi : (lo % 2 === 0 ? lo : hi);
  return Math.sign(x) * POSITIVE[pick];
}

/** A random positive normal-range f16 bit pattern (scales span 2^−14 … 2^4). */
const randomF16 = (r: () => number) => ((1 + Math.floor(r() * 18)) << 10) | Math.floor(r() * 1024);

describe.each(ALL_BACKENDS)('qlinear_requant_desc (%s)', (backend) => {
  it('f16 scales: mult = f16(f16(a·b) / y), per row × per column table, descriptor strides and y_zp', () => {
    const box = new KernelBox(backend);
    const r = rng(7);
    for (let t = 0; t < 20; t++) {
      const [na, nb] = [1 + (t % 3), 1 + ((t * 7) % 5)];
      const a = Uint16Array.from({ length: na }, () => randomF16(r));
      const b = Uint16Array.from({ length: nb }, () => randomF16(r));
      const y = Uint16Array.from([randomF16(r)]);
      const dst = box.alloc(48 + na * nb * 4);
      const rc = box.call('qlinear_requant_desc', box.put(a), na, box.put(b), nb, box.put(y), DT_F16, box.put(new Int8Array([-9])), 1, dst);
      expect(rc).toBe(0);
      const d = box.i32(dst, 11);
      expect([d[0], d[1], d[2], d[3], d[4]]).toEqual([EPI_S8, dst + 48, na > 1 ? nb : 0, nb > 1 ? 1 : 0, -9]);
      const got = Array.from(box.f32(dst + 48, na * nb));
      const want: number[] = [];
      for (let i = 0; i < na; i++) for (let j = 0; j < nb; j++) {
        want.push(roundF16(roundF16(f16Value(a[i]) * f16Value(b[j])) / f16Value(y[0])));
      }
      expect(got, `trial ${t}`).toEqual(want);
      box.reset();
    }
  });

  it('f32 scales: mult = f32(f32(a·b) / y); u8 output zero point', () => {
    const box = new KernelBox(backend);
    const r = rng(8);
    const a = new Float32Array([0.0123]);
    const b = Float32Array.from({ length: 7 }, () => r() * 0.01);
    const y = new Float32Array([0.37]);
    const dst = box.alloc(48 + 7 * 4);
    expect(box.call('qlinear_requant_desc', box.put(a), 1, box.put(b), 7, box.put(y), DT_F32, box.put(new Uint8Array([200])), 0, dst)).toBe(0);
    expect(Array.from(box.i32(dst, 5))).toEqual([EPI_U8, dst + 48, 0, 1, 200]);
    expect(Array.from(box.f32(dst + 48, 7))).toEqual(Array.from(b, (v) => Math.fround(Math.fround(a[0] * v) / y[0])));
  });
});
