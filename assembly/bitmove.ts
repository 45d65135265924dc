// Data movement on sign bits (bitpack.ts layouts), so chains of binary layers stay packed
// between layers instead of going through an f32 tensor.
//
//   maxpool_b1(x, y, N, rowBytes, orMask, d) → 0, or 1 on a bad descriptor / size
//     x, y  bit NHWC: per image n and position p a bit row of rowBytes bytes (one bit per
//           channel, set = −1) at (n·P + p)·rowBytes; P from the pool descriptor d (pool.ts
//           layout, spatial axes D, H, W)
//     orMask a bit row of rowBytes bytes: channels whose bit is set take the OR of the window's
//           bits, the others the AND
//   The maths: for values v_i and a sign test that is monotone in v, sign(max_i v_i) is the max
//   of the signs. With set bit = −1 (negative), max over ±1 is the AND of the bits. When the
//   sign flips the other way (v ↦ −1 for large v, e.g. a negative BatchNorm scale after the
//   pool), max over v is min over the signs: the OR. Only in-bounds taps count (ONNX MaxPool
//   skips padding); an empty window gives the AND/OR identity (callers never make one).
//   Reference: pool.ts maxpool__ref on the same ±1 values as int8 (OR channels: on −x, negated).
//
//   flatten_b1_nhwc(x, N, C, P, L, y) → 0, or 1 if N·C·P is not a multiple of L
//     x  bit NHWC, N images × P positions × C channels
//     y  bit rows of L elements holding the tensor [N, C, P] in flat NCHW order (ONNX
//        Flatten/Reshape): element f = (n·C + c)·P + p is bit f mod L of row ⌊f/L⌋; padding zeroed
//   Reference: the identity on the plain layout (unpack, compare flat order).

import { desc } from './common';
import { bit_row_bytes, getBit, setBit } from './bitpack';
import { PD, PDIL, PK, PO, PPAD, PS, tapBegin, tapEnd } from './pool';

/** Checks the pool descriptor; returns true if a size is out of range. */
function badPool(d: usize): bool {
  for (let i = 0; i < 3; i++) {
    if (desc(d, PD + i) < 1 || desc(d, PO + i) < 1 || desc(d, PK + i) < 1 || desc(d, PS + i) < 1) return true;
    if (desc(d, PDIL + i) < 1 || desc(d, PPAD + i) < 0) return true;
  }
  return false;
}

/** AND/OR over the window rows of one output position, one 16-byte block at a time. */
function poolWindow(x: usize, out: usize, rb: i32, orMask: usize, d: usize, od: i32, oh: i32, ow: i32): void {
  const D = desc(d, PD), H = desc(d, PD + 1), W = desc(d, PD + 2);
  const dD = desc(d, PDIL), dH = desc(d, PDIL + 1), dW = desc(d, PDIL + 2);
  const bd = od * desc(d, PS) - desc(d, PPAD);
  const bh = oh * desc(d, PS + 1) - desc(d, PPAD + 1);
  const bw = ow * desc(d, PS + 2) - desc(d, PPAD + 2);
  const d0 = tapBegin(bd, dD), d1 = tapEnd(bd, dD, D, desc(d, PK));
  const h0 = tapBegin(bh, dH), h1 = tapEnd(bh, dH, H, desc(d, PK + 1));
  const w0 = tapBegin(bw, dW), w1 = tapEnd(bw, dW, W, desc(d, PK + 2));
  const row = <usize>rb;
  for (let blk: usize = 0; blk < row; blk += 16) {
    if (ASC_FEATURE_SIMD) {
      let all = i32x4.splat(-1);
      let any = i32x4.splat(0);
      for (let kd = d0; kd < d1; kd++) for (let kh = h0; kh < h1; kh++) for (let kw = w0; kw < w1; kw++) {
        const p = (<usize>(bd + kd * dD) * <usize>H + <usize>(bh + kh * dH)) * <usize>W + <usize>(bw + kw * dW);
        const v = v128.load(x + p * row + blk);
        all = v128.and(all, v);
        any = v128.or(any, v);
      }
      v128.store(out + blk, v128.bitselect(any, all, v128.load(orMask + blk)));
    } else {
      for (let half: usize = 0; half < 16; half += 8) {
        let all: u64 = <u64>-1;
        let any: u64 = 0;
        for (let kd = d0; kd < d1; kd++) for (let kh = h0; kh < h1; kh++) for (let kw = w0; kw < w1; kw++) {
          const p = (<usize>(bd + kd * dD) * <usize>H + <usize>(bh + kh * dH)) * <usize>W + <usize>(bw + kw * dW);
          const v = load<u64>(x + p * row + blk + half);
          all &= v;
          any |= v;
        }
        const m = load<u64>(orMask + blk + half);
        store<u64>(out + blk + half, (any & m) | (all & ~m));
      }
    }
  }
}

/** Max pooling of N bit-NHWC images (see the top of this file). */
export function maxpool_b1(x: usize, y: usize, N: i32, rowBytes: i32, orMask: usize, d: usize): i32 {
  if (N < 0 || rowBytes < 0 || (rowBytes & 15) != 0 || badPool(d)) return 1;
  const Pin = <usize>(desc(d, PD) * desc(d, PD + 1) * desc(d, PD + 2));
  const OD = desc(d, PO), OH = desc(d, PO + 1), OW = desc(d, PO + 2);
  const Pout = <usize>(OD * OH * OW);
  const rb = <usize>rowBytes;
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>n * Pin * rb;
    let out = y + <usize>n * Pout * rb;
    for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      poolWindow(xn, out, rowBytes, orMask, d, od, oh, ow);
      out += rb;
    }
  }
  return 0;
}

/** Bit NHWC → bit rows of L in flat NCHW order (see the top of this file). */
export function flatten_b1_nhwc(x: usize, N: i32, C: i32, P: i32, L: i32, y: usize): i32 {
  if (N < 0 || C < 1 || P < 1 || L < 1) return 1;
  const total = <u64>N * <u64>C * <u64>P;
  if (total % <u64>L != 0) return 1;
  const rows = <usize>(total / <u64>L);
  const rin = <usize>bit_row_bytes(C);
  const rout = <usize>bit_row_bytes(L);
  memory.fill(y, 0, rows * rout);
  let f: usize = 0;
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>n * <usize>P * rin;
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < P; p++) {
        if (getBit(xn + <usize>p * rin, c)) setBit(y + (f / <usize>L) * rout, <i32>(f % <usize>L));
        f++;
      }
    }
  }
  return 0;
}
