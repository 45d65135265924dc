// Integer convolution (ConvInteger, QLinearConv) on the int8 GEMM. Geometry: conv_geom.ts.
//
// Per batch item and group, for a chunk of output positions s (descriptor G_CHUNK of them):
//   col[s, (c,a,b,e)] = X[c, od·SD−PD+a·DD, oh·SH−PH+b·DH, ow·SW−PW+e·DW]   (im2col_i8)
//   acc[s, m]         = Σ_k (col[s,k] − x_zp) · (W[m,k] − w_zp[m])          (qgemm_i8, i32)
//   Y[m, s]           = epilogue(acc[s, m] + bias[m])                        (transposed store)
// The GEMM's A is col (u8 or s8, per-tensor zero point x_zp), its B the group's weights
// W_g [M, C·KD·KH·KW] as N×K (transB) packed by pack_b_i8 with the per-output-channel zero
// point as the per-column one. A tap outside X reads as x_zp, so (x_zp − x_zp) = 0 makes it
// contribute exactly nothing — the ONNX zero padding of the real-valued input.
// The bias is int32 with scale x_scale·w_scale[m] and zero point 0 (QLinearConv), so it is
// added to the exact accumulator (wrapping i32, as the references do) before the epilogue;
// the epilogue's scale and zero point are indexed by the global output channel (column).

import { desc } from './common';
import { G_C, G_CHUNK, G_DIL, G_G, G_IN, G_K, G_M, G_N, G_OUT, G_PAD, G_S } from './conv_geom';
import { qgemm_i8 } from './gemm_i8';
import { pack_b_i8_bytes } from './gemm_i8_pack';
import { outElemBytes, setEpilogue, storeOne } from './gemm_i8_epilogue';

/** An epilogue descriptor that stores the i32 accumulator (all entries 0: kind EPI_I32). */
const EPI_STORE_I32: usize = memory.data(48, 16);

// @ts-ignore: decorator
@inline function align16(x: usize): usize {
  return (x + 15) & ~(<usize>15);
}

/**
 * im2col of output positions [s0, s0+ns) into `col` (ns rows of K = C·KD·KH·KW bytes, taps in
 * W's (c, a, b, e) order); `x` is one group's input [C, ID, IH, IW] of 8-bit values and `pad`
 * the byte stored for taps outside it. Positions are taken one output-row segment at a time and,
 * within a segment, tap by tap: each tap reads a run of one input row (sequential in x) and
 * writes a column of col, which is small enough to stay in L1.
 */
function im2col_i8(d: usize, x: usize, pad: u8, col: usize, s0: i32, ns: i32): void {
  const C = desc(d, G_C);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const SD = desc(d, G_S), SH = desc(d, G_S + 1), SW = desc(d, G_S + 2);
  const DD = desc(d, G_DIL), DH = desc(d, G_DIL + 1), DW = desc(d, G_DIL + 2);
  const PD = desc(d, G_PAD), PH = desc(d, G_PAD + 1), PW = desc(d, G_PAD + 2);
  const OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  const K = <usize>(C * KD * KH * KW);
  const plane = <usize>IH * <usize>IW;
  const chan = <usize>ID * plane;
  let s = s0;
  while (s < s0 + ns) {
    const ow0 = s % OW;
    const t = s / OW;
    const len = min(s0 + ns - s, OW - ow0);
    const d0 = (t / OH) * SD - PD, h0 = (t % OH) * SH - PH, w0 = ow0 * SW - PW;
    const seg = col + <usize>(s - s0) * K;
    let k: usize = 0;
    for (let c = 0; c < C; c++) {
      const xc = x + <usize>c * chan;
      for (let a = 0; a < KD; a++) {
        const id = d0 + a * DD;
        for (let b = 0; b < KH; b++) {
          const ih = h0 + b * DH;
          const inside = <u32>id < <u32>ID && <u32>ih < <u32>IH;
          const row = xc + <usize>id * plane + <usize>ih * <usize>IW;
          for (let e = 0; e < KW; e++) {
            let dst = seg + k;
            if (!inside) {
              for (let q = 0; q < len; q++, dst += K) store<u8>(dst, pad);
            } else {
              let iw = w0 + e * DW;
              for (let q = 0; q < len; q++, dst += K, iw += SW) {
                store<u8>(dst, <u32>iw < <u32>IW ? load<u8>(row + <usize>iw) : pad);
              }
            }
            k++;
          }
        }
      }
    }
    s += len;
  }
}

/**
 * y = epilogue(conv(x − x_zp, W − w_zp) + bias) — see the file header. x: u8/s8 (xSigned) NCHW;
 * xZp: its zero point (0: none); wp: pack_b_i8 of every group's W_g (transB, K×M with
 * K = C·KD·KH·KW, M per group) back to back, pack_b_i8_bytes(K, M) each; bias: M·G i32 or 0;
 * epi: a gemm_i8_epilogue.ts descriptor with row stride 0 (scale and zero point per output
 * channel or per tensor); scratch: col (chunk·K bytes), acc (chunk·M i32), each rounded up to
 * 16 bytes, then qgemm_i8_scratch_bytes(chunk, K). Returns 0, or 1 when
 * the GEMM rejects its operands or the descriptor.
 */
export function conv_i8(d: usize, x: usize, xSigned: i32, xZp: usize, wp: usize, bias: usize, epi: usize, y: usize, scratch: usize): i32 {
  const NB = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const K = C * desc(d, G_K) * desc(d, G_K + 1) * desc(d, G_K + 2);
  const S = desc(d, G_OUT) * desc(d, G_OUT + 1) * desc(d, G_OUT + 2);
  const chunk = desc(d, G_CHUNK);
  if (chunk <= 0 || setEpilogue(epi)) return 1;
  const eb = <usize>outElemBytes();
  const inBytes = <usize>C * <usize>desc(d, G_IN) * <usize>desc(d, G_IN + 1) * <usize>desc(d, G_IN + 2);
  const wpBytes = <usize>pack_b_i8_bytes(K, M);
  const pad: u8 = xZp ? load<u8>(xZp) : 0;
  const col = scratch;
  const acc = col + align16(<usize>chunk * <usize>K);
  const gemmScratch = acc + align16(<usize>chunk * <usize>M * 4);
  for (let n = 0; n < NB; n++) {
    for (let g = 0; g < G; g++) {
      const xg = x + <usize>(n * G + g) * inBytes;
      const yg = y + <usize>(n * G + g) * <usize>M * <usize>S * eb;
      for (let s0 = 0; s0 < S; s0 += chunk) {
        const ns = min(chunk, S - s0);
        im2col_i8(d, xg, pad, col, s0, ns);
        if (qgemm_i8(col, K, xSigned, xZp, 0, wp + <usize>g * wpBytes, acc, M, ns, M, K, EPI_STORE_I32, gemmScratch)) return 1;
        setEpilogue(epi);
        for (let m = 0; m < M; m++) {
          const ch = g * M + m;
          const bm = bias ? load<i32>(bias + (<usize>ch << 2)) : 0;
          const ym = yg + (<usize>m * <usize>S + <usize>s0) * eb;
          for (let i = 0; i < ns; i++) {
            storeOne(load<i32>(acc + (<usize>(i * M + m) << 2)) + bm, ym + <usize>i * eb, 0, ch);
          }
        }
      }
    }
  }
  return 0;
}

// @ts-ignore: decorator
@inline function ld8(p: usize, signed: i32): i32 {
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

/**
 * Scalar reference on the plain layouts: direct convolution of x (xSigned, zero point at xZp
 * or none) with W [G·M, C, KD, KH, KW] (wSigned; zero point at wZp, one per output channel when
 * wZpPerChannel, or none), + bias (i32 or 0), then the epilogue `epi` (as conv_i8). Returns 0,
 * or 1 on a malformed descriptor.
 */
export function conv_i8__ref(
  d: usize, x: usize, xSigned: i32, xZp: usize, w: usize, wSigned: i32, wZp: usize, wZpPerChannel: i32,
  bias: usize, epi: usize, y: usize,
): i32 {
  if (setEpilogue(epi)) return 1;
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
      const zw = wZp ? ld8(wZp + (wZpPerChannel ? <usize>ch : 0), wSigned) : 0;
      for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        let s = bias ? load<i32>(bias + (<usize>ch << 2)) : 0;
        for (let c = 0; c < C; c++) for (let a = 0; a < KD; a++) for (let b = 0; b < KH; b++) for (let e = 0; e < KW; e++) {
          const id = od * desc(d, G_S) - desc(d, G_PAD) + a * desc(d, G_DIL);
          const ih = oh * desc(d, G_S + 1) - desc(d, G_PAD + 1) + b * desc(d, G_DIL + 1);
          const iw = ow * desc(d, G_S + 2) - desc(d, G_PAD + 2) + e * desc(d, G_DIL + 2);
          if (id < 0 || id >= ID || ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
          const xi = ((((n * G + g) * C + c) * ID + id) * IH + ih) * IW + iw;
          const wi = (((ch * C + c) * KD + a) * KH + b) * KW + e;
          s += (ld8(x + <usize>xi, xSigned) - zx) * (ld8(w + <usize>wi, wSigned) - zw);
        }
        storeOne(s, out, 0, ch);
        out += eb;
      }
    }
  }
  return 0;
}
