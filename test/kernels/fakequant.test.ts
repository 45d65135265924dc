// fake_quant_f32 (SIMD Quant rows) against its scalar reference on every build, bit-exact, over
// ragged row lengths, every rounding mode and kind, scale / zero point per tensor, per row and
// per column; multithreshold_f32 against a direct JS count; fake_quant_q8 (the integer t an integer
// layer reads) against its scalar reference and against fake_quant_f32: (t − z)·s must be the
// literal op's output, bit for bit. (The op-level comparison with qonnx's executor is
// test/ops/qonnx.test.ts.)

import { describe, expect, it } from 'vitest';
import { numel } from '../../src/ir/tensor.js';
import { broadcastStrides, collapse, descriptor } from '../../src/ops/shape-util.js';
import { intRange } from '../../src/ir/qonnx.js';
import { ALL_BACKENDS, KernelBox, rng, sizesAround } from '../support/kernels.js';

const SPECIAL = [0, -0, NaN, Infinity, -Infinity, 0.5, -0.5, 2.5, -1.5];

/** Values with many exact ties for power-of-two scales (multiples of 1/8), specials and noise. */
function inputs(r: () => number, n: number, span: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (i % 7 === 3 ? SPECIAL[i % SPECIAL.length] : r() < 0.5 ? Math.round((r() - 0.5) * span * 8) / 8 : (r() - 0.5) * span));
}

const scaleValue = (r: () => number) => (r() < 0.7 ? 2 ** (Math.floor(r() * 4) - 2) : 0.05 + r());

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));

/** Scale / zero point shapes for x of shape [rows, n]. */
const LAYOUTS: { name: string; s: (rows: number, n: number) => number[]; z: (rows: number, n: number) => number[] }[] = [
  { name: 'per-tensor', s: () => [], z: () => [] },
  { name: 'per-row', s: (rows) => [rows, 1], z: (rows) => [rows, 1] },
  { name: 'per-column scale, scalar zero point', s: (_, n) => [n], z: () => [] },
  { name: 'per-column', s: (_, n) => [n], z: (_, n) => [n] },
];

describe.each(ALL_BACKENDS)('fake_quant_f32 vs scalar reference (%s)', (backend) => {
  const box = new KernelBox(backend);
  for (const layout of LAYOUTS) {
    it(layout.name, () => {
      const r = rng(11);
      for (const n of sizesAround(4, [17])) {
        const rows = 3;
        const xd = [rows, n];
        const sd = layout.s(rows, n);
        const zd = layout.z(rows, n);
        const { dims, strides } = collapse(xd, [xd, sd, zd].map((d) => broadcastStrides(d, xd)));
        for (let kind = 0; kind < 4; kind++) {
          for (let mode = 0; mode < 7; mode++) {
            box.reset();
            const x = box.put(inputs(r, rows * n, 6));
            const s = box.put(Float32Array.from({ length: numel(sd) }, () => scaleValue(r)));
            const z = box.put(Float32Array.from({ length: numel(zd) }, () => (r() < 0.5 ? 0 : Math.floor(r() * 5) - 2)));
            const d = box.put(descriptor(dims, strides));
            const y = box.alloc(rows * n * 4);
            const yRef = box.alloc(rows * n * 4);
            box.call('fake_quant_f32', kind, mode, x, s, z, y, d, -8, 7, 4);
            box.call('fake_quant_f32__ref', kind, mode, x, s, z, yRef, d, -8, 7, 4);
            expect(bits(box.f32(y, rows * n)), `n=${n} kind=${kind} mode=${mode}`).toEqual(bits(box.f32(yRef, rows * n)));
          }
        }
      }
    });
  }

  it('fake_quant_q8: t as the literal op computes it, every kind, mode and integer type; NaN counted', () => {
    const r = rng(23);
    const types = [
      { signed: true, narrow: false, bits: 8 }, { signed: false, narrow: false, bits: 8 }, { signed: true, narrow: true, bits: 4 },
      { signed: false, narrow: true, bits: 2 }, { signed: true, narrow: false, bits: 1 },
    ];
    for (const n of sizesAround(16, [5, 47])) {
      for (const kind of [0, 1, 2]) {
        for (const ty of types) {
          if ((kind === 1 && !(ty.signed && ty.bits === 1)) || (kind === 2 && !ty.signed)) continue; // ±1 needs a signed type
          for (let mode = 0; mode < 7; mode++) {
            box.reset();
            const xv = inputs(r, n, ty.bits === 8 ? 600 : 12);
            const [lo, hi] = intRange(ty.signed, ty.narrow, ty.bits);
            const sv = Math.fround(scaleValue(r));
            const zv = ty.signed ? (r() < 0.5 ? 0 : Math.floor(r() * 5) - 2) : Math.floor(r() * 4);
            const x = box.put(xv);
            const y = box.alloc(n);
            const yRef = box.alloc(n);
            const what = `n=${n} kind=${kind} mode=${mode} ${JSON.stringify(ty)}`;
            const nans = box.call('fake_quant_q8', kind, mode, x, n, sv, zv, lo, hi, ty.signed ? 1 : 0, y);
            expect(box.call('fake_quant_q8__ref', kind, mode, x, n, sv, zv, lo, hi, ty.signed ? 1 : 0, yRef), what).toBe(nans);
            const t = box.u8(y, n);
            expect(Array.from(t), what).toEqual(Array.from(box.u8(yRef, n)));
            expect(nans, what).toBe(kind === 0 ? xv.filter((v) => Number.isNaN(v)).length : 0);
            // The literal op on the same x, per tensor: (t − z)·s where t is a number.
            const s = box.put(Float32Array.of(sv));
            const z = box.put(Float32Array.of(kind === 2 ? 0 : zv));
            const yf = box.alloc(n * 4);
            box.call('fake_quant_f32', kind, mode, x, s, z, yf, box.put(descriptor([n], [[1], [0], [0]])), lo, hi, 1);
            const lit = box.f32(yf, n);
            const ti = Array.from(t, (b) => (ty.signed ? (b << 24) >> 24 : b));
            ti.forEach((q, i) => {
              if (Number.isNaN(lit[i])) return expect(q, `${what} NaN at ${i}`).toBe(0);
              const back = Math.fround(Math.fround(q - (kind === 2 ? 0 : zv)) * sv);
              expect(Object.is(back, lit[i]) || (back === 0 && lit[i] === 0), `${what} at ${i}: t=${q}, x=${xv[i]}`).toBe(true);
            });
          }
        }
      }
    }
  });

  it('multithreshold_f32 counts v ≥ threshold per channel, shared or per channel', () => {
    const r = rng(5);
    const [outer, C, inner, T] = [2, 3, 5, 6];
    const v = inputs(r, outer * C * inner, 8);
    for (const shared of [false, true]) {
      const thr = Float32Array.from({ length: (shared ? 1 : C) * T }, () => (r() - 0.5) * 8);
      box.reset();
      const y = box.alloc(v.length * 4);
      box.call('multithreshold_f32', box.put(v), box.put(thr), y, outer, C, inner, T, shared ? 0 : T, 0.5, -1);
      const want = Array.from(v, (val, e) => {
        const c = Math.floor(e / inner) % C;
        const row = thr.subarray(shared ? 0 : c * T, (shared ? 0 : c * T) + T);
        return Math.fround(Math.fround(row.filter((t) => val >= t).length * 0.5) - 1);
      });
      expect(Array.from(box.f32(y, v.length))).toEqual(want);
    }
  });
});
