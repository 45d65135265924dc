// copy_strided (Transpose, Slice, Expand, Concat, ...): every build against a plain index-space
// copy in JS, on ragged dims with tiled and untiled inner loops, element sizes 1/2/4/8, and
// negative (Slice) and zero (Expand) strides.

import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';

interface Case { dims: number[]; ss: number[]; ds: number[]; srcOff: number }

/** Contiguous strides of `dims` permuted by `perm` (a transpose read through the source). */
function transposeCase(dims: number[], perm: number[]): Case {
  const st: number[] = [];
  let s = 1;
  for (let k = dims.length - 1; k >= 0; k--) { st[k] = s; s *= dims[k]; }
  const od = perm.map((p) => dims[p]);
  const ds: number[] = [];
  let t = 1;
  for (let k = od.length - 1; k >= 0; k--) { ds[k] = t; t *= od[k]; }
  return { dims: od, ss: perm.map((p) => st[p]), ds, srcOff: 0 };
}

const CASES: Case[] = [
  transposeCase([13, 5, 19], [1, 2, 0]),
  transposeCase([9, 4, 8], [1, 0, 2]),
  transposeCase([17, 23], [1, 0]),
  transposeCase([3, 7, 2, 11], [3, 1, 0, 2]),
  transposeCase([6, 10, 9], [2, 1, 0]),
  { dims: [37], ss: [3], ds: [1], srcOff: 0 },
  { dims: [7, 21], ss: [50, -2], ds: [21, 1], srcOff: 45 }, // Slice, negative step
  { dims: [11, 18], ss: [1, 0], ds: [18, 1], srcOff: 0 }, // Expand a column
  { dims: [5, 12], ss: [0, 1], ds: [12, 1], srcOff: 0 }, // Expand a row
  { dims: [4, 9, 3], ss: [27, 1, 9], ds: [40, 4, 1], srcOff: 0 }, // into a wider destination
];

function expected(src: Uint8Array, c: Case, es: number, outBytes: number, before: Uint8Array): Uint8Array {
  const out = before.slice();
  const n = c.dims.reduce((a, b) => a * b, 1);
  for (let f = 0; f < n; f++) {
    let rem = f, os = c.srcOff, od = 0;
    for (let k = c.dims.length - 1; k >= 0; k--) {
      const i = rem % c.dims[k];
      rem = Math.floor(rem / c.dims[k]);
      os += i * c.ss[k];
      od += i * c.ds[k];
    }
    for (let b = 0; b < es; b++) out[od * es + b] = src[os * es + b];
  }
  expect(out.length).toBe(outBytes);
  return out;
}

describe('copy_strided', () => {
  for (const backend of ALL_BACKENDS) {
    it(`${backend}: matches the index-space copy`, () => {
      const r = rng(7);
      const box = new KernelBox(backend);
      for (const c of CASES) for (const es of [1, 2, 4, 8]) {
        box.reset();
        const rank = c.dims.length;
        const span = (st: number[], off: number) => off + 1 + c.dims.reduce((a, d, k) => a + (d - 1) * Math.max(st[k], 0), 0);
        const srcBytes = span(c.ss, c.srcOff) * es;
        const outBytes = span(c.ds, 0) * es + 16; // guard bytes past the last element stay as they were
        const src = new Uint8Array(srcBytes).map(() => Math.floor(r() * 256));
        const before = new Uint8Array(outBytes).map(() => Math.floor(r() * 256));
        const ps = box.alloc(srcBytes), pd = box.alloc(outBytes);
        const d = new Int32Array([rank, ...c.dims, ...c.ss, ...c.ds]);
        const pdsc = box.alloc(d.byteLength);
        const mem = () => new Uint8Array(box.m.u8().buffer);
        mem().set(src, ps);
        mem().set(before, pd);
        mem().set(new Uint8Array(d.buffer), pdsc);
        box.m.kernel('copy_strided')(ps + c.srcOff * es, pd, es, pdsc);
        const got = mem().slice(pd, pd + outBytes);
        const want = expected(src, c, es, outBytes, before);
        expect(Buffer.from(got).equals(Buffer.from(want)), `${JSON.stringify(c)} esize ${es}`).toBe(true);
      }
    });
  }
});
