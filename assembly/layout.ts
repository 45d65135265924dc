// Data movement: strided copies (Transpose, Slice, Expand, Concat, Split, Tile rows), gathers
// and fills. Every kernel moves whole elements of `esize` bytes and never interprets them.

import { desc } from './common';

// @ts-ignore: decorator
@inline function copyElem(dst: usize, src: usize, esize: i32): void {
  if (esize == 4) store<u32>(dst, load<u32>(src));
  else if (esize == 1) store<u8>(dst, load<u8>(src));
  else if (esize == 8) store<u64>(dst, load<u64>(src));
  else if (esize == 2) store<u16>(dst, load<u16>(src));
  else memory.copy(dst, src, <usize>esize);
}

/** Elements of a strided innermost dim copied per run (see copy_strided). */
const TILE = 8;

/**
 * dst[i] = src[i] over an N-d index space. Descriptor: [rank, dims[rank], srcStrides[rank],
 * dstStrides[rank]] in elements; strides may be negative (Slice with negative steps) or 0
 * (Expand). The innermost dim is a memory.copy per row when both its strides are 1. When the
 * next dim is contiguous on one side (a transpose) the innermost goes in runs of TILE elements,
 * the run at each index of the next dim in turn, so TILE source rows are live at a time (16 was
 * 1.2× the time of 8: more rows alias in the cache); other strided copies go a whole row at a time. [128,16,64] → [16,64,128] f32: 0.52× the time; [128,16,64] → [16,128,64]
 * 0.80×; a column Expand 0.63×, a step-2 Slice 0.37× (the 4-byte loop without the esize
 * dispatch per element, and fewer index divisions).
 */
export function copy_strided(src: usize, dst: usize, esize: i32, d: usize): void {
  const rank = desc(d, 0);
  const inner = desc(d, rank);
  const es = <isize>esize;
  const ss = <isize>desc(d, 2 * rank) * es, ds = <isize>desc(d, 3 * rank) * es;
  // The next dim (rank 1: desc(d, 0) = 1 index, whose strides are never used).
  const d1 = desc(d, rank - 1);
  const s1 = <isize>desc(d, 2 * rank - 1) * es, t1 = <isize>desc(d, 3 * rank - 1) * es;
  const contiguous = ss == es && ds == es;
  const tile = s1 == es || t1 == es ? TILE : inner;
  let outer = 1;
  for (let k = 1; k < rank - 1; k++) outer *= desc(d, k);
  for (let r = 0; r < outer; r++) {
    let rem = r;
    let os: isize = 0;
    let od: isize = 0;
    for (let k = rank - 2; k >= 1; k--) {
      const dim = desc(d, k);
      const idx = rem % dim;
      rem /= dim;
      os += <isize>idx * <isize>desc(d, rank + k);
      od += <isize>idx * <isize>desc(d, 2 * rank + k);
    }
    const ps = <isize>src + os * es, pd = <isize>dst + od * es;
    if (contiguous) {
      for (let j = 0; j < d1; j++) {
        memory.copy(<usize>(pd + <isize>j * t1), <usize>(ps + <isize>j * s1), <usize>inner * <usize>esize);
      }
      continue;
    }
    for (let i0 = 0; i0 < inner; i0 += tile) {
      const tn = min(tile, inner - i0);
      for (let j = 0; j < d1; j++) {
        let s = ps + <isize>j * s1 + <isize>i0 * ss, t = pd + <isize>j * t1 + <isize>i0 * ds;
        if (esize == 4) {
          for (let i = 0; i < tn; i++, s += ss, t += ds) store<u32>(<usize>t, load<u32>(<usize>s));
        } else {
          for (let i = 0; i < tn; i++, s += ss, t += ds) copyElem(<usize>t, <usize>s, esize);
        }
      }
    }
  }
}

/** Reads index i of an int32 (idx64 = 0) or int64 (idx64 = 1) tensor as i64. */
// @ts-ignore: decorator
@inline function readIndex(p: usize, i: i32, idx64: i32): i64 {
  return idx64 ? load<i64>(p + (<usize>i << 3)) : <i64>load<i32>(p + (<usize>i << 2));
}

/**
 * Gather along one axis: data viewed as [outer, axisDim, inner], indices (nIdx of them) select
 * slices: out[o, j, :] = data[o, indices[j], :]. Negative indices count from the end.
 * Returns 0, or 1 when an index is out of range (the output is then not valid).
 */
export function gather(
  data: usize, indices: usize, idx64: i32, out: usize, esize: i32,
  outer: i32, axisDim: i32, nIdx: i32, inner: i32,
): i32 {
  const slice = <usize>inner * <usize>esize;
  for (let j = 0; j < nIdx; j++) {
    let ix = readIndex(indices, j, idx64);
    if (ix < 0) ix += axisDim;
    if (ix < 0 || ix >= axisDim) return 1;
  }
  for (let o = 0; o < outer; o++) {
    const src0 = data + <usize>o * <usize>axisDim * slice;
    const dst0 = out + <usize>o * <usize>nIdx * slice;
    for (let j = 0; j < nIdx; j++) {
      let ix = readIndex(indices, j, idx64);
      if (ix < 0) ix += axisDim;
      memory.copy(dst0 + <usize>j * slice, src0 + <usize>ix * slice, slice);
    }
  }
  return 0;
}

/**
 * GatherElements: out has the shape of indices; out[i] = data[i with i[axis] := indices[i]].
 * Descriptor: [rank, idxDims[rank], dataStrides[rank], axis, axisDim]. Returns 1 on a bad index.
 */
export function gather_elements(data: usize, indices: usize, idx64: i32, out: usize, esize: i32, d: usize): i32 {
  const rank = desc(d, 0);
  const axis = desc(d, 1 + 2 * rank);
  const axisDim = desc(d, 2 + 2 * rank);
  let total = 1;
  for (let k = 0; k < rank; k++) total *= desc(d, 1 + k);
  for (let i = 0; i < total; i++) {
    let rem = i;
    let off: i64 = 0;
    let ix = readIndex(indices, i, idx64);
    if (ix < 0) ix += axisDim;
    if (ix < 0 || ix >= axisDim) return 1;
    for (let k = rank - 1; k >= 0; k--) {
      const dim = desc(d, 1 + k);
      const c = rem % dim;
      rem /= dim;
      off += (k == axis ? ix : <i64>c) * <i64>desc(d, 1 + rank + k);
    }
    copyElem(out + <usize>i * <usize>esize, data + <usize>off * <usize>esize, esize);
  }
  return 0;
}

/**
 * GatherND with batch_dims b: indices [..., q] address the data dims after the batch dims.
 * Descriptor: [nBatch, batchDataStride(elems), nPerBatch, q, sliceElems, dataDims[q],
 * dataStrides[q]]: for each batch, nPerBatch index tuples of length q each copy sliceElems.
 * Returns 1 on a bad index.
 */
export function gather_nd(data: usize, indices: usize, idx64: i32, out: usize, esize: i32, d: usize): i32 {
  const nBatch = desc(d, 0);
  const batchStride = desc(d, 1);
  const nPer = desc(d, 2);
  const q = desc(d, 3);
  const slice = desc(d, 4);
  const sliceBytes = <usize>slice * <usize>esize;
  let t = 0;
  for (let bt = 0; bt < nBatch; bt++) {
    for (let j = 0; j < nPer; j++) {
      let off: i64 = <i64>bt * <i64>batchStride;
      for (let k = 0; k < q; k++) {
        const dim = desc(d, 5 + k);
        let ix = readIndex(indices, t * q + k, idx64);
        if (ix < 0) ix += dim;
        if (ix < 0 || ix >= dim) return 1;
        off += ix * <i64>desc(d, 5 + q + k);
      }
      memory.copy(out + <usize>t * sliceBytes, data + <usize>off * <usize>esize, sliceBytes);
      t++;
    }
  }
  return 0;
}

/** Fills n elements of `esize` bytes with the pattern at `value`. */
export function fill(dst: usize, value: usize, esize: i32, n: i32): void {
  if (esize == 1) { memory.fill(dst, load<u8>(value), <usize>n); return; }
  for (let i = 0; i < n; i++) copyElem(dst + <usize>i * <usize>esize, value, esize);
}

export function copy_bytes(src: usize, dst: usize, n: i32): void {
  memory.copy(dst, src, <usize>n);
}
