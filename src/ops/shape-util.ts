// Shape arithmetic shared by operators: broadcasting, strides, descriptor building.

import type { OpCtx } from './context.js';

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/** numpy-style broadcast of several shapes, or undefined when they are incompatible. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else return undefined;
    }
  }
  return out;
}

export function broadcastOrFail(ctx: OpCtx, shapes: readonly (readonly number[])[]): number[] {
  const out = broadcastShapes(shapes);
  if (!out) ctx.fail('LOWBIT_SHAPE_MISMATCH', `shapes ${shapes.map((s) => `[${s.join(',')}]`).join(' and ')} do not broadcast`);
  return out;
}

/** Element strides of `inDims` read as `outDims` (right-aligned, 0 where broadcast). */
export function broadcastStrides(inDims: readonly number[], outDims: readonly number[]): number[] {
  const st = stridesOf(inDims);
  const r = outDims.length;
  const out = new Array<number>(r).fill(0);
  for (let i = 0; i < inDims.length; i++) {
    const o = r - inDims.length + i;
    out[o] = inDims[i] === 1 ? 0 : st[i];
  }
  return out;
}

/**
 * Drops size-1 dims and merges neighbours that every operand walks contiguously, so kernels
 * loop over as few, as long rows as possible. Returns at least rank 1.
 */
export function collapse(dims: readonly number[], strides: readonly (readonly number[])[]): { dims: number[]; strides: number[][] } {
  const keep: number[] = [];
  for (let i = 0; i < dims.length; i++) if (dims[i] !== 1) keep.push(i);
  let d = keep.map((i) => dims[i]);
  let s = strides.map((st) => keep.map((i) => st[i]));
  if (d.length === 0) return { dims: [1], strides: strides.map(() => [0]) };
  const outD: number[] = [d[0]];
  const outS = s.map((st) => [st[0]]);
  for (let i = 1; i < d.length; i++) {
    const last = outD.length - 1;
    const mergeable = s.every((st, k) => outS[k][last] === st[i] * d[i]);
    if (mergeable) {
      outD[last] *= d[i];
      outS.forEach((os, k) => (os[last] = s[k][i]));
    } else {
      outD.push(d[i]);
      outS.forEach((os, k) => os.push(s[k][i]));
    }
  }
  d = outD;
  s = outS;
  return { dims: d, strides: s };
}

/** Descriptor [rank, dims…, strides of operand 0…, strides of operand 1…, …]. */
export function descriptor(dims: readonly number[], strides: readonly (readonly number[])[]): Int32Array {
  const r = dims.length;
  const out = new Int32Array(1 + r * (1 + strides.length));
  out[0] = r;
  out.set(dims, 1);
  strides.forEach((st, k) => out.set(st, 1 + r * (k + 1)));
  return out;
}

export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtDims(d: readonly number[]): string {
  return `[${d.join(',')}]`;
}
