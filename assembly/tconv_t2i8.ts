// Ternary convolution: ONNX Conv (groups, strides, dilations, zero pads; 1-/2-/3-D through the
// conv_geom.ts descriptor) of u8/s8 activations with a zero point and ternary weights, exact
// integer accumulation, then the gemm_i8_epilogue.ts epilogue (i32, requantise to u8/s8, f32).
//
//   tconv_t2i8(d, x, xSigned, xZp, w, rowc, epi, y, scratch) → 0, or 1 on a bad descriptor,
//   size or epilogue
//     x       u8 or s8 (xSigned) NCHW [N, G·C, ID, IH, IW]; xZp: address of its zero point, or 0
//     w       G·M ternary rows of K = T·C elements, tap-major (pack_ternary_conv_i8; T = taps),
//             output channel ch at row ch
//     rowc    i32 [G·M] added to channel ch's dots (ternary_rowc over the rows' sums, x's zero
//             point and the bias), or 0
//     epi     gemm_i8_epilogue.ts descriptor, index (0, output channel)
//     y       NCHW [N, G·M, OD, OH, OW] of the epilogue's type
//     scratch tconv_t2i8_scratch_bytes(d) bytes (d's G_CHUNK: output positions per GEMM call, then
//             the GEMM's packed row blocks)
//   acc[ch, s] = Σ_{c, taps} (x − x_zp)·w + bias[ch], the ONNX Conv of the real-valued x − x_zp
//   (taps outside X contribute 0).
//   tconv_t2i8__ref(d, x, xSigned, xZp, w, bias, epi, y): plain layout, w int8 {−1, 0, +1}
//     [G·M, C, KD, KH, KW], bias i32 [G·M] or 0 — direct loops; it never reads a packed row.
//
// Per image and group, x's C channels are first transposed to position-major s8 rows,
// xt[p, c] = x' (x' = x, or x − 128 for u8 as in tgemm_t2i8). Then, per chunk of output
// positions, im2col writes one row of K bytes per position, tap by tap: the tap's C bytes from
// xt, or C copies of the shifted zero point x_zp' when the tap is outside X. A padded tap is
// thus x_zp in the quantised domain and contributes (x_zp − x_zp)·w = 0 exactly — ONNX zero
// padding of the real input. The ternary GEMM core (tgemm_t2i8.ts) runs with positions as rows
// and channels as columns and stores into NCHW; with rowc = bias − x_zp'·Σw,
// Σ (x' − x_zp')·w + bias = Σ x'·w + rowc exactly (wrapping i32). A 1×1, stride-1, unpadded
// convolution reads xt in place: its rows are already the im2col rows.

import { desc } from './common';
import { G_C, G_CHUNK, G_DIL, G_G, G_IN, G_K, G_M, G_N, G_OUT, G_PAD, G_S } from './conv_geom';
import { outElemBytes, setEpilogue, storeOne } from './gemm_i8_epilogue';
import { tgemmCore, tgemm_t2i8_scratch_bytes } from './tgemm_t2i8';

// @ts-ignore: decorator
@inline function roundUp16(x: i32): i32 {
  return (x + 15) & ~15;
}

// @ts-ignore: decorator
@inline function ld8(p: usize, signed: i32): i32 {
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

function taps(d: usize): i32 {
  return desc(d, G_K) * desc(d, G_K + 1) * desc(d, G_K + 2);
}

function badGeometry(d: usize): bool {
  if (desc(d, G_N) < 0 || desc(d, G_G) < 1 || desc(d, G_C) < 1 || desc(d, G_M) < 1 || desc(d, G_CHUNK) < 1) return true;
  for (let i = 0; i < 3; i++) {
    if (desc(d, G_IN + i) < 1 || desc(d, G_K + i) < 1 || desc(d, G_S + i) < 1 || desc(d, G_DIL + i) < 1) return true;
    if (desc(d, G_OUT + i) < 1 || desc(d, G_PAD + i) < 0) return true;
  }
  return <i64>taps(d) * <i64>desc(d, G_C) >= <i64>(1 << 24);
}

/** Bytes of tconv_t2i8's scratch: xt of one image and group, a chunk of im2col rows, then the GEMM's packing space. */
export function tconv_t2i8_scratch_bytes(d: usize): i32 {
  const P = desc(d, G_IN) * desc(d, G_IN + 1) * desc(d, G_IN + 2);
  const K = taps(d) * desc(d, G_C);
  return roundUp16(P * desc(d, G_C)) + desc(d, G_CHUNK) * roundUp16(K) + tgemm_t2i8_scratch_bytes(desc(d, G_CHUNK), K);
}

/** n bytes from src to dst (n ≥ 16: v128 copies, the last one overlapping). */
// @ts-ignore: decorator
@inline function copyBytes(dst: usize, src: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (n >= 16) {
      const last = <usize>(n - 16);
      for (let q: usize = 0; q < last; q += 16) v128.store(dst + q, v128.load(src + q));
      v128.store(dst + last, v128.load(src + last));
      return;
    }
  }
  for (let q = 0; q < n; q++) store<u8>(dst + <usize>q, load<u8>(src + <usize>q));
}

/** xt[p·C + c] = x[c·P + p] xor flip: one image and group's channels, position-major. */
function transpose(x: usize, C: i32, P: i32, flip: u8, xt: usize): void {
  for (let c = 0; c < C; c++) {
    const src = x + <usize>c * <usize>P;
    for (let p = 0; p < P; p++) store<u8>(xt + <usize>p * <usize>C + <usize>c, load<u8>(src + <usize>p) ^ flip);
  }
}

/** im2col rows (lda bytes apart) of output positions [s0, s0 + ns) from xt (see the header). */
function im2col(d: usize, xt: usize, pad: u8, col: usize, lda: usize, s0: i32, ns: i32): void {
  const C = desc(d, G_C);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const SD = desc(d, G_S), SH = desc(d, G_S + 1), SW = desc(d, G_S + 2);
  const DD = desc(d, G_DIL), DH = desc(d, G_DIL + 1), DW = desc(d, G_DIL + 2);
  const PD = desc(d, G_PAD), PH = desc(d, G_PAD + 1), PW = desc(d, G_PAD + 2);
  const OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  const cb = <usize>C;
  for (let r = 0; r < ns; r++) {
    const s = s0 + r;
    const t = s / OW;
    const d0 = (t / OH) * SD - PD, h0 = (t % OH) * SH - PH, w0 = (s % OW) * SW - PW;
    let dst = col + <usize>r * lda;
    for (let a = 0; a < KD; a++) {
      const id = d0 + a * DD;
      for (let b = 0; b < KH; b++) {
        const ih = h0 + b * DH;
        for (let e = 0; e < KW; e++) {
          const iw = w0 + e * DW;
          if (<u32>id < <u32>ID && <u32>ih < <u32>IH && <u32>iw < <u32>IW) {
            copyBytes(dst, xt + <usize>((id * IH + ih) * IW + iw) * cb, C);
          } else {
            memory.fill(dst, pad, cb);
          }
          dst += cb;
        }
      }
    }
  }
}

/** Ternary convolution (see the top of this file). */
export function tconv_t2i8(d: usize, x: usize, xSigned: i32, xZp: usize, w: usize, rowc: usize, epi: usize, y: usize, scratch: usize): i32 {
  if (badGeometry(d) || setEpilogue(epi) != 0) return 1;
  const NB = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const T = taps(d);
  const K = T * C;
  const Pin = desc(d, G_IN) * desc(d, G_IN + 1) * desc(d, G_IN + 2);
  const S = desc(d, G_OUT) * desc(d, G_OUT + 1) * desc(d, G_OUT + 2);
  const chunk = desc(d, G_CHUNK);
  const eb = <usize>outElemBytes();
  const flip: u8 = xSigned ? 0 : 0x80;
  const pad: u8 = (xZp ? load<u8>(xZp) : 0) ^ flip;
  let direct = T == 1 && S == Pin;
  for (let i = 0; i < 3; i++) direct = direct && desc(d, G_S + i) == 1 && desc(d, G_PAD + i) == 0;
  const xt = scratch;
  const col = xt + <usize>roundUp16(Pin * C);
  const lda = roundUp16(K);
  const pack = col + <usize>chunk * <usize>lda;
  for (let n = 0; n < NB; n++) {
    for (let g = 0; g < G; g++) {
      transpose(x + <usize>(n * G + g) * <usize>C * <usize>Pin, C, Pin, flip, xt);
      const rg = rowc ? rowc + (<usize>(g * M) << 2) : 0;
      const yg = y + <usize>(n * G + g) * <usize>M * <usize>S * eb;
      for (let s0 = 0; s0 < S; s0 += chunk) {
        const ns = min(chunk, S - s0);
        if (direct) {
          tgemmCore(xt + <usize>s0 * <usize>C, C, 0, w, rg, ns, M, K, yg + <usize>s0 * eb, 1, S, g * M, false, pack);
        } else {
          im2col(d, xt, pad, col, <usize>lda, s0, ns);
          tgemmCore(col, lda, 0, w, rg, ns, M, K, yg + <usize>s0 * eb, 1, S, g * M, false, pack);
        }
      }
    }
  }
  return 0;
}

/** Reference on the plain layouts: direct Σ over taps inside X of (x − x_zp)·w, + bias, then the epilogue. */
export function tconv_t2i8__ref(d: usize, x: usize, xSigned: i32, xZp: usize, w: usize, bias: usize, epi: usize, y: usize): i32 {
  if (badGeometry(d) || setEpilogue(epi) != 0) return 1;
  const NB = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const OD = desc(d, G_OUT), OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  const eb = <usize>outElemBytes();
  const zx = xZp ? ld8(xZp, xSigned) : 0;
  let out = y;
  for (let n = 0; n < NB; n++) {
    for (let ch = 0; ch < G * M; ch++) {
      const g = ch / M;
      for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        let s = bias ? load<i32>(bias + (<usize>ch << 2)) : 0;
        for (let c = 0; c < C; c++) for (let a = 0; a < KD; a++) for (let b = 0; b < KH; b++) for (let e = 0; e < KW; e++) {
          const id = od * desc(d, G_S) - desc(d, G_PAD) + a * desc(d, G_DIL);
          const ih = oh * desc(d, G_S + 1) - desc(d, G_PAD + 1) + b * desc(d, G_DIL + 1);
          const iw = ow * desc(d, G_S + 2) - desc(d, G_PAD + 2) + e * desc(d, G_DIL + 2);
          if (id < 0 || id >= ID || ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
          const xi = ((((n * G + g) * C + c) * ID + id) * IH + ih) * IW + iw;
          const wi = (((ch * C + c) * KD + a) * KH + b) * KW + e;
          s += (ld8(x + <usize>xi, xSigned) - zx) * <i32>load<i8>(w + <usize>wi);
        }
        storeOne(s, out, 0, ch);
        out += eb;
      }
    }
  }
  return 0;
}
