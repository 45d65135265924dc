// Binary convolution (XNOR-popcount): ONNX Conv (groups, strides, dilations, zero pads, 1-/2-/3-D
// via the conv_geom.ts descriptor) over ±1 inputs and ±1 weights, equal to the float Conv on
// the ±1 values exactly — padded taps included.
//
//   bconv_b1b1(x, w, y, d, epi, scratch) → 0, or 1 on a bad descriptor / epilogue
//     x  input in bit NHWC (bitpack.ts): per image n and input position p a bit row of G·C
//        channels at (n·P_in + p)·bit_row_bytes(G·C), P_in = ID·IH·IW
//     w  pack_bconv_weights_f32 of W[G·M, C, KD, KH, KW]: per group, 8-row panels (bitpanel.ts)
//        of M rows of K = taps·C, tap-major
//     y  kind I32/F32: NCHW [N, G·M, P_out]; kind SIGN: bit NHWC of G·M channels (the next
//        binary conv's x), row padding zeroed
//     d  conv_geom.ts descriptor; G_CHUNK = output positions per GEMM call (≥ 1)
//     epi binary epilogue descriptor (bgemm_epilogue.ts); output channel = g·M + m
//     scratch bconv_b1b1_scratch_bytes(d) bytes, 16-byte aligned
//   bconv_b1b1__ref(x, w, y, d, epi): plain layout — x int8 ±1 NCHW, w int8 ±1 [G·M, C, taps],
//     SIGN output int8 ±1 NCHW; it never reads a bit row.
//
// Padding: a tap outside X contributes 0 in ONNX, which a ±1 bit cannot express. The bit
// im2col writes, per output position, the row of its K tap bits with 0 bits at the taps outside
// X, the count of valid elements ("valid") and the list of those invalid taps. A 0 bit against a
// weight bit w counts w as a difference, so the GEMM gives back, per invalid tap, the popcount of
// the weight row's bits of that tap (a table per group, "wpop"): dot = valid − 2·(popcount −
// Σ_invalid taps wpop) — the sum over valid taps only (bgemmCore's tap corrections).
// A pointwise layer (1×1, stride 1, no padding, one group) has no im2col: X's bit rows are the
// GEMM's rows. The im2col's copies are a small share: with them left out (wrong results, a
// measurement only) the 3×3 64→64 56×56 conv took 0.974× the time (bench/kernels/ab.ts).

import { desc } from './common';
import { bit_row_bytes } from './bitpack';
import { bpanel_bytes, panelBits } from './bitpanel';
import { G_C, G_CHUNK, G_DIL, G_G, G_IN, G_K, G_M, G_N, G_OUT, G_PAD, G_S } from './conv_geom';
import { BEPI_SIGN, epilogueKind, setBinaryEpilogue } from './bgemm_epilogue';
import { bgemmCore, clearRowPadding, setTapCorrection, setTapRows, storePlain } from './bgemm_b1b1';

/** Reads bits [bit, bit+n) (1 ≤ n ≤ 32) of a bit row as the low bits of a u32. */
// @ts-ignore: decorator
@inline function readBits(src: usize, bit: i32, n: i32): u32 {
  const w = src + (<usize>(bit >> 5) << 2);
  const sh = bit & 31;
  let v = load<u32>(w) >>> sh;
  if (sh + n > 32) v |= load<u32>(w, 4) << (32 - sh);
  return n == 32 ? v : v & ((<u32>1 << n) - 1);
}

/** ORs bits [sbit, sbit+n) of src (or all ones when src is 0) into dst at dbit. */
function orBits(src: usize, sbit: i32, dst: usize, dbit: i32, n: i32): void {
  while (n > 0) {
    const dsh = dbit & 31;
    const take = min(n, 32 - dsh);
    const v = src ? readBits(src, sbit, take) : (take == 32 ? <u32>0xffffffff : (<u32>1 << take) - 1);
    const p = dst + (<usize>(dbit >> 5) << 2);
    store<u32>(p, load<u32>(p) | (v << dsh));
    sbit += take;
    dbit += take;
    n -= take;
  }
}

/** Taps of the im2col fast path (interior positions, whole-word channel slots). */
const MAX_FAST_TAPS: i32 = 64;
/** Byte offsets of the taps' slots from a position's first tap (i32 each). */
const TAP_OFFSETS: usize = memory.data(MAX_FAST_TAPS * 4, 16);

/** Checks the descriptor; returns 1 if a size is out of range. */
function badGeometry(d: usize): bool {
  if (desc(d, G_N) < 0 || desc(d, G_G) < 1 || desc(d, G_C) < 1 || desc(d, G_M) < 1 || desc(d, G_CHUNK) < 1) return true;
  for (let i = 0; i < 3; i++) {
    if (desc(d, G_IN + i) < 1 || desc(d, G_K + i) < 1 || desc(d, G_S + i) < 1 || desc(d, G_DIL + i) < 1) return true;
    if (desc(d, G_OUT + i) < 1 || desc(d, G_PAD + i) < 0) return true;
  }
  return false;
}

/** A 1×1, stride-1, unpadded conv of one group: X's bit rows are the GEMM's rows as they are. */
function pointwise(d: usize): bool {
  if (desc(d, G_G) != 1) return false;
  for (let i = 0; i < 3; i++) {
    if (desc(d, G_K + i) != 1 || desc(d, G_S + i) != 1 || desc(d, G_PAD + i) != 0 || desc(d, G_OUT + i) != desc(d, G_IN + i)) return false;
  }
  return true;
}

function taps(d: usize): i32 {
  return desc(d, G_K) * desc(d, G_K + 1) * desc(d, G_K + 2);
}

/** Columns of the wpop table: M rounded up to the GEMM's 8-column tiles. */
function wpopStride(M: i32): i32 {
  return (M + 7) & ~7;
}

export function bconv_b1b1_scratch_bytes(d: usize): i32 {
  const chunk = desc(d, G_CHUNK), T = taps(d);
  return chunk * (bit_row_bytes(T * desc(d, G_C)) + 12 + 4 * T) + 4 * T * wpopStride(desc(d, G_M));
}

/** wpop[t·stride + m] = popcount of tap t's C bits of weight row m (m < M; 0 up to stride). */
function weightTapPops(w: usize, KB: i32, M: i32, C: i32, T: i32, wpop: usize): void {
  const stride = wpopStride(M);
  memory.fill(wpop, 0, <usize>(T * stride) << 2);
  for (let m = 0; m < M; m++) {
    for (let t = 0; t < T; t++) {
      let s = 0;
      for (let i = 0; i < C; i += 32) s += <i32>popcnt(panelBits(w, KB, m, t * C + i, min(32, C - i)));
      store<i32>(wpop + (<usize>(t * stride + m) << 2), s);
    }
  }
}

/**
 * Bit im2col of output positions [s0, s0+ns) of one image and group: tap rows into `col`
 * (stride rowK bytes, 0 bits at taps outside X), valid element counts into `valid`, the number
 * of invalid taps into `counts`, their indices into `list` (T per row) and the rows that have
 * some into `fix`; returns how many rows those are.
 */
function im2col_b1(d: usize, x: usize, g: i32, col: usize, valid: usize, counts: usize, list: usize, fix: usize, s0: i32, ns: i32): i32 {
  const C = desc(d, G_C);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const SD = desc(d, G_S), SH = desc(d, G_S + 1), SW = desc(d, G_S + 2);
  const DD = desc(d, G_DIL), DH = desc(d, G_DIL + 1), DW = desc(d, G_DIL + 2);
  const PD = desc(d, G_PAD), PH = desc(d, G_PAD + 1), PW = desc(d, G_PAD + 2);
  const OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  const T = KD * KH * KW;
  const rowIn = <usize>bit_row_bytes(desc(d, G_G) * C);
  const rowK = <usize>bit_row_bytes(T * C);
  // C a multiple of 32: the group's channels and each tap's slot are whole words, written (copied
  // or zeroed) one by one; otherwise bits are ORed into a zeroed row.
  const slot = (C & 31) == 0 ? <usize>(C >> 3) : 0;
  if (!slot) memory.fill(col, 0, rowK * <usize>ns);
  const used = <usize>T * slot;
  // Positions whose taps are all inside copy from fixed offsets of their first tap.
  const fast = slot != 0 && T <= MAX_FAST_TAPS;
  if (fast) {
    let t = 0;
    for (let a = 0; a < KD; a++) for (let b = 0; b < KH; b++) for (let e = 0; e < KW; e++) {
      store<i32>(TAP_OFFSETS + (<usize>t << 2), <i32>(<usize>((a * DD * IH + b * DH) * IW + e * DW) * rowIn + <usize>g * slot));
      t++;
    }
  }
  const lastD = (KD - 1) * DD, lastH = (KH - 1) * DH, lastW = (KW - 1) * DW;
  let ow = s0 % OW, oh = (s0 / OW) % OH, od = s0 / OW / OH;
  let nfix = 0;
  for (let r = 0; r < ns; r++) {
    const d0 = od * SD - PD, h0 = oh * SH - PH, w0 = ow * SW - PW;
    const dst = col + <usize>r * rowK;
    if (slot) for (let j = used; j < rowK; j += 4) store<u32>(dst + j, 0);
    if (++ow == OW) {
      ow = 0;
      if (++oh == OH) {
        oh = 0;
        od++;
      }
    }
    if (fast && d0 >= 0 && d0 + lastD < ID && h0 >= 0 && h0 + lastH < IH && w0 >= 0 && w0 + lastW < IW) {
      const first = x + (<usize>((d0 * IH + h0) * IW + w0)) * rowIn;
      // Word by word over the taps: a loop over one slot's few words runs several times slower.
      const end = TAP_OFFSETS + (<usize>T << 2);
      let j: usize = 0;
      for (; j + 8 <= slot; j += 8) {
        for (let o = TAP_OFFSETS, d = dst + j; o < end; o += 4, d += slot) store<u64>(d, load<u64>(first + j + <usize>load<i32>(o)));
      }
      if (j < slot) {
        for (let o = TAP_OFFSETS, d = dst + j; o < end; o += 4, d += slot) store<u32>(d, load<u32>(first + j + <usize>load<i32>(o)));
      }
      store<i32>(valid + (<usize>r << 2), T * C);
      store<i32>(counts + (<usize>r << 2), 0);
      continue;
    }
    const inv = list + ((<usize>r * <usize>T) << 2);
    let tap = 0;
    let bad = 0;
    for (let a = 0; a < KD; a++) {
      const id = d0 + a * DD;
      for (let b = 0; b < KH; b++) {
        const ih = h0 + b * DH;
        for (let e = 0; e < KW; e++) {
          const iw = w0 + e * DW;
          const inside = <u32>id < <u32>ID && <u32>ih < <u32>IH && <u32>iw < <u32>IW;
          const src = x + (<usize>((id * IH + ih) * IW + iw)) * rowIn;
          if (slot) {
            copySlot(inside ? src + <usize>g * slot : 0, dst + <usize>tap * slot, slot);
          } else if (inside) {
            orBits(src, g * C, dst, tap * C, C);
          }
          if (!inside) {
            store<i32>(inv + (<usize>bad << 2), tap);
            bad++;
          }
          tap++;
        }
      }
    }
    store<i32>(valid + (<usize>r << 2), (T - bad) * C);
    store<i32>(counts + (<usize>r << 2), bad);
    if (bad) {
      store<i32>(fix + (<usize>nfix << 2), r);
      nfix++;
    }
  }
  return nfix;
}

/** Copies n bytes (a multiple of 4) from src to dst, or zeroes them when src is 0. */
// @ts-ignore: decorator
@inline function copySlot(src: usize, dst: usize, n: usize): void {
  let j: usize = 0;
  if (src) {
    for (; j + 8 <= n; j += 8) store<u64>(dst + j, load<u64>(src + j));
    if (j < n) store<u32>(dst + j, load<u32>(src + j));
  } else {
    for (; j + 8 <= n; j += 8) store<u64>(dst + j, 0);
    if (j < n) store<u32>(dst + j, 0);
  }
}

/** Binary convolution on bit NHWC activations (see the top of this file). */
export function bconv_b1b1(x: usize, w: usize, y: usize, d: usize, epi: usize, scratch: usize): i32 {
  if (badGeometry(d) || setBinaryEpilogue(epi) != 0) return 1;
  const N = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const Pin = desc(d, G_IN) * desc(d, G_IN + 1) * desc(d, G_IN + 2);
  const Pout = desc(d, G_OUT) * desc(d, G_OUT + 1) * desc(d, G_OUT + 2);
  const chunk = desc(d, G_CHUNK);
  const T = taps(d);
  const K = T * C;
  const rowIn = <usize>bit_row_bytes(G * C);
  const rowK = bit_row_bytes(K);
  const rowOut = bit_row_bytes(G * M);
  const sign = epilogueKind() == BEPI_SIGN;
  const col = scratch;
  const wpop = col + <usize>chunk * <usize>rowK;
  const valid = wpop + (<usize>(T * wpopStride(M)) << 2);
  const counts = valid + (<usize>chunk << 2);
  const list = counts + (<usize>chunk << 2);
  const fix = list + (<usize>(chunk * T) << 2);
  const direct = pointwise(d);
  for (let g = 0; g < G; g++) {
    const wg = w + <usize>g * <usize>bpanel_bytes(M, K);
    if (direct) {
      setTapCorrection(0, 0, 0, 0, 0);
    } else {
      weightTapPops(wg, rowK >> 4, M, C, T, wpop);
      setTapCorrection(wpop, wpopStride(M), counts, list, T);
    }
    for (let n = 0; n < N; n++) {
      const xn = x + <usize>n * <usize>Pin * rowIn;
      if (sign && g == 0) clearRowPadding(y + <usize>n * <usize>Pout * <usize>rowOut, Pout, rowOut, G * M);
      for (let s0 = 0; s0 < Pout; s0 += chunk) {
        const ns = min(chunk, Pout - s0);
        // Pointwise: the rows of X (rowIn = rowK) with their padding, counted by K (valid 0).
        const a = direct ? xn + <usize>s0 * rowIn : col;
        const v: usize = direct ? 0 : valid;
        if (!direct) setTapRows(fix, im2col_b1(d, xn, g, col, valid, counts, list, fix, s0, ns));
        if (sign) {
          const out = y + (<usize>n * <usize>Pout + <usize>s0) * <usize>rowOut;
          bgemmCore(a, rowK, ns, wg, M, K, v, out, rowOut, 0, g * M, g * M);
        } else {
          const out = y + ((<usize>(n * G * M + g * M) * <usize>Pout + <usize>s0) << 2);
          bgemmCore(a, rowK, ns, wg, M, K, v, out, 1, Pout, 0, g * M);
        }
      }
    }
  }
  return 0;
}

/** Reference on the plain layout: Σ over valid taps of x·w (int8 ±1), then the epilogue. */
export function bconv_b1b1__ref(x: usize, w: usize, y: usize, d: usize, epi: usize): i32 {
  if (badGeometry(d) || setBinaryEpilogue(epi) != 0) return 1;
  const N = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const OD = desc(d, G_OUT), OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  const Pin = ID * IH * IW, Pout = OD * OH * OW, T = KD * KH * KW;
  for (let n = 0; n < N; n++) for (let g = 0; g < G; g++) for (let m = 0; m < M; m++) {
    const ch = g * M + m;
    for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      let dot = 0;
      for (let c = 0; c < C; c++) {
        const xc = x + <usize>((n * G + g) * C + c) * <usize>Pin;
        const wc = w + <usize>(ch * C + c) * <usize>T;
        for (let a = 0; a < KD; a++) for (let b = 0; b < KH; b++) for (let e = 0; e < KW; e++) {
          const id = od * desc(d, G_S) - desc(d, G_PAD) + a * desc(d, G_DIL);
          const ih = oh * desc(d, G_S + 1) - desc(d, G_PAD + 1) + b * desc(d, G_DIL + 1);
          const iw = ow * desc(d, G_S + 2) - desc(d, G_PAD + 2) + e * desc(d, G_DIL + 2);
          if (id < 0 || id >= ID || ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
          const xv = <i32>load<i8>(xc + <usize>((id * IH + ih) * IW + iw));
          dot += xv * <i32>load<i8>(wc + <usize>((a * KH + b) * KW + e));
        }
      }
      const s = (od * OH + oh) * OW + ow;
      storePlain(y, Pout, n * G * M + ch, s, ch, dot);
    }
  }
  return 0;
}
