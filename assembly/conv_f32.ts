// f32 Conv and ConvTranspose on the packed GEMM (gemm_f32.ts). Geometry: conv_geom.ts.
//
// Conv, per batch item and group: Y[M, OD·OH·OW] = W[M, K] · col[K, OD·OH·OW] with
// K = C·KD·KH·KW and col[(c,a,b,e), (od,oh,ow)] = X[c, od·SD−PD+a·DD, oh·SH−PH+b·DH, ow·SW−PW+e·DW]
// (0 outside X: ONNX zero padding). W is packed once as the GEMM's A operand (pack_a_f32 per
// group); col is never materialised: im2col writes straight into the 8-column B-panel layout
// gemm_f32_pp reads, a chunk of panels at a time, so the panels stay in cache between being
// packed and being consumed by every 4-row block of W. The bias is the GEMM's per-row epilogue.
//
// ConvTranspose, per batch item and group: col[(m,a,b,e), (id,ih,iw)] = Σ_c W[c, (m,a,b,e)] ·
// X[c, (id,ih,iw)] (GEMM with A = Wᵀ packed by pack_at_f32), then col2im scatter-adds col into
// Y[m, id·SD−PD+a·DD, ih·SH−PH+b·DH, iw·SW−PW+e·DW] (dropping positions outside Y) on top of
// the bias.

import { desc } from './common';
import { G_C, G_CHUNK, G_DIL, G_G, G_IN, G_K, G_M, G_N, G_OUT, G_PAD, G_S } from './conv_geom';
import { gemm_f32_pp, pack_b_f32 } from './gemm_f32';

// One output-row segment of a B panel: lanes [j, j+len) are output positions (od, oh, ow..)
// whose input origin is (d0, h0, w0) = (od·SD−PD, oh·SH−PH, ow·SW−PW). A panel of 8 positions
// spans at most 8 rows. Kernels are not re-entrant (common.ts).
const SEG: usize = memory.data(8 * 5 * 4, 16);
const SEG_J: usize = 0, SEG_LEN: usize = 4, SEG_D0: usize = 8, SEG_H0: usize = 12, SEG_W0: usize = 16;

/** Splits panel positions [n0, n0+nv) into per-output-row segments; returns their count. */
function panelSegments(d: usize, n0: i32, nv: i32): i32 {
  const OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  let ow = n0 % OW;
  const t = n0 / OW;
  let oh = t % OH;
  let od = t / OH;
  let j = 0;
  let ns = 0;
  while (j < nv) {
    const len = min(nv - j, OW - ow);
    const s = SEG + <usize>ns * 20;
    store<i32>(s + SEG_J, j);
    store<i32>(s + SEG_LEN, len);
    store<i32>(s + SEG_D0, od * desc(d, G_S) - desc(d, G_PAD));
    store<i32>(s + SEG_H0, oh * desc(d, G_S + 1) - desc(d, G_PAD + 1));
    store<i32>(s + SEG_W0, ow * desc(d, G_S + 2) - desc(d, G_PAD + 2));
    j += len;
    ns++;
    ow = 0;
    if (++oh == OH) {
      oh = 0;
      od++;
    }
  }
  return ns;
}

/** Lanes [j, j+len) of one packed row from input row `src` at columns w0, w0+SW, … (0 outside). */
// @ts-ignore: decorator
@inline function gatherRun(dst: usize, j: i32, len: i32, src: usize, w0: i32, SW: i32, IW: i32): void {
  for (let q = 0; q < len; q++) {
    const iw = w0 + q * SW;
    store<f32>(dst + (<usize>(j + q) << 2), <u32>iw < <u32>IW ? load<f32>(src + (<usize>iw << 2)) : 0);
  }
}

/** Zeroes `rows` packed rows of 8 floats. */
// @ts-ignore: decorator
@inline function zeroRows(dst: usize, rows: i32): void {
  for (let i: usize = 0; i < <usize>(rows << 3); i++) store<f32>(dst + (i << 2), 0);
}

/** One packed row (8 lanes) from input row `src`, columns w0, w0+SW, … (0 outside the row). */
// @ts-ignore: decorator
@inline function packRun8(dst: usize, src: usize, w0: i32, SW: i32, IW: i32): void {
  if (ASC_FEATURE_SIMD && w0 >= 0) {
    const at = src + (<usize>w0 << 2);
    if (SW == 1 && w0 + 8 <= IW) {
      v128.store(dst, v128.load(at));
      v128.store(dst, v128.load(at, 16), 16);
      return;
    }
    if (SW == 2 && w0 + 16 <= IW) {
      v128.store(dst, v128.shuffle<f32>(v128.load(at), v128.load(at, 16), 0, 2, 4, 6));
      v128.store(dst, v128.shuffle<f32>(v128.load(at, 32), v128.load(at, 48), 0, 2, 4, 6), 16);
      return;
    }
  }
  gatherRun(dst, 0, 8, src, w0, SW, IW);
}

/**
 * im2col of one panel whose 8 positions lie in one output row (input origin d0, h0, w0): every
 * packed row is a run of one input row, and a kernel row that misses the input is all zero.
 * Returns the end of the panel.
 */
function im2colRowPanel(d: usize, x: usize, dst: usize, d0: i32, h0: i32, w0: i32): usize {
  const C = desc(d, G_C);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const SW = desc(d, G_S + 2);
  const DD = desc(d, G_DIL), DH = desc(d, G_DIL + 1), DW = desc(d, G_DIL + 2);
  const rowBytes = <usize>IW << 2;
  const planeBytes = <usize>IH * rowBytes;
  const chanBytes = <usize>ID * planeBytes;
  // Stride-1 rows whose every tap is inside the input: plain 8-float copies.
  const inside = ASC_FEATURE_SIMD && SW == 1 && w0 >= 0 && w0 + (KW - 1) * DW + 8 <= IW;
  const tapBytes = <usize>DW << 2;
  for (let c = 0; c < C; c++) {
    const xc = x + <usize>c * chanBytes;
    for (let a = 0; a < KD; a++) {
      const id = d0 + a * DD;
      if (<u32>id >= <u32>ID) {
        zeroRows(dst, KH * KW);
        dst += <usize>(KH * KW) << 5;
        continue;
      }
      for (let b = 0; b < KH; b++) {
        const ih = h0 + b * DH;
        if (<u32>ih >= <u32>IH) {
          zeroRows(dst, KW);
          dst += <usize>KW << 5;
          continue;
        }
        const src = xc + <usize>id * planeBytes + <usize>ih * rowBytes;
        if (inside) {
          let at = src + (<usize>w0 << 2);
          for (let e = 0; e < KW; e++) {
            v128.store(dst, v128.load(at));
            v128.store(dst, v128.load(at, 16), 16);
            at += tapBytes;
            dst += 32;
          }
          continue;
        }
        for (let e = 0; e < KW; e++) {
          packRun8(dst, src, w0 + e * DW, SW, IW);
          dst += 32;
        }
      }
    }
  }
  return dst;
}

/**
 * im2col straight into B panels p0..p0+np−1 (layout of pack_b_f32: per panel K rows of 8 floats,
 * zero past the last position). `x` is the group's input [C, ID, IH, IW].
 */
export function im2colPanels(d: usize, x: usize, bp: usize, p0: i32, np: i32, S: i32): void {
  const C = desc(d, G_C);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const SW = desc(d, G_S + 2);
  const DD = desc(d, G_DIL), DH = desc(d, G_DIL + 1), DW = desc(d, G_DIL + 2);
  const rowBytes = <usize>IW << 2;
  const planeBytes = <usize>IH * rowBytes;
  const chanBytes = <usize>ID * planeBytes;
  let dst = bp;
  for (let p = p0; p < p0 + np; p++) {
    const n0 = p << 3;
    const nv = min(8, S - n0);
    const ns = panelSegments(d, n0, nv);
    if (ns == 1 && nv == 8) {
      dst = im2colRowPanel(d, x, dst, load<i32>(SEG + SEG_D0), load<i32>(SEG + SEG_H0), load<i32>(SEG + SEG_W0));
      continue;
    }
    for (let c = 0; c < C; c++) {
      const xc = x + <usize>c * chanBytes;
      for (let a = 0; a < KD; a++) {
        for (let b = 0; b < KH; b++) {
          for (let e = 0; e < KW; e++) {
            for (let s = 0; s < ns; s++) {
              const seg = SEG + <usize>s * 20;
              const j = load<i32>(seg + SEG_J);
              const len = load<i32>(seg + SEG_LEN);
              const id = load<i32>(seg + SEG_D0) + a * DD;
              const ih = load<i32>(seg + SEG_H0) + b * DH;
              if (<u32>id >= <u32>ID || <u32>ih >= <u32>IH) {
                for (let q = j; q < j + len; q++) store<f32>(dst + (<usize>q << 2), 0);
                continue;
              }
              gatherRun(dst, j, len, xc + <usize>id * planeBytes + <usize>ih * rowBytes, load<i32>(seg + SEG_W0) + e * DW, SW, IW);
            }
            for (let q = nv; q < 8; q++) store<f32>(dst + (<usize>q << 2), 0);
            dst += 32;
          }
        }
      }
    }
  }
}

/**
 * Conv: y = conv(x, W) (+ bias per output channel) (+ act as in gemm_f32). `wp` holds
 * pack_a_f32(W_g) for every group g back to back (each ceil(M/4)·K·16 bytes); `scratch` holds
 * chunk·K·32 bytes (chunk = descriptor G_CHUNK panels of 8 output positions).
 */
export function conv_f32(d: usize, x: usize, wp: usize, bias: usize, y: usize, scratch: usize, act: i32, lo: f32, hi: f32): void {
  const NB = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const K = C * desc(d, G_K) * desc(d, G_K + 1) * desc(d, G_K + 2);
  const S = desc(d, G_OUT) * desc(d, G_OUT + 1) * desc(d, G_OUT + 2);
  const inBytes = <usize>C * <usize>desc(d, G_IN) * <usize>desc(d, G_IN + 1) * <usize>desc(d, G_IN + 2) * 4;
  const outBytes = <usize>M * <usize>S * 4;
  const apBytes = <usize>((M + 3) >> 2) * <usize>K * 16;
  const chunk = desc(d, G_CHUNK);
  const panels = (S + 7) >> 3;
  for (let n = 0; n < NB; n++) {
    for (let g = 0; g < G; g++) {
      const xg = x + <usize>(n * G + g) * inBytes;
      const yg = y + <usize>(n * G + g) * outBytes;
      const bg = bias ? bias + (<usize>(g * M) << 2) : 0;
      for (let p = 0; p < panels; p += chunk) {
        const np = min(chunk, panels - p);
        im2colPanels(d, xg, scratch, p, np, S);
        gemm_f32_pp(wp + <usize>g * apBytes, scratch, yg + (<usize>p << 5), S, M, min(np << 3, S - (p << 3)), K,
          bg, bias ? 2 : 0, act, lo, hi);
      }
    }
  }
}

/** Packs Aᵀ (A is M×K, stored K×M row-major with leading dimension lda) like pack_a_f32. */
export function pack_at_f32(a: usize, lda: i32, ap: usize, M: i32, K: i32): void {
  const blocks = (M + 3) >> 2;
  for (let i = 0; i < blocks; i++) {
    const dst = ap + <usize>i * <usize>K * 16;
    for (let k = 0; k < K; k++) {
      const src = a + <usize>k * (<usize>lda << 2);
      for (let r = 0; r < 4; r++) {
        const m = (i << 2) + r;
        store<f32>(dst + (<usize>k << 4) + (<usize>r << 2), m < M ? load<f32>(src + (<usize>m << 2)) : 0);
      }
    }
  }
}

/** y[i] += s[i] for i < n. */
// @ts-ignore: decorator
@inline function addRun(y: usize, s: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.add(v128.load(y + o), v128.load(s + o)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + load<f32>(s + o));
  }
}

/**
 * Scatter-adds col[(m,a,b,e), n − n0] for input positions n = (id,ih,iw) in [n0, n1) into
 * y[M, OD, OH, OW] (positions outside y dropped); col rows are ldcol floats apart.
 */
function col2im(d: usize, col: usize, ldcol: i32, n0: i32, n1: i32, y: usize): void {
  const M = desc(d, G_M);
  const IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const SD = desc(d, G_S), SH = desc(d, G_S + 1), SW = desc(d, G_S + 2);
  const DD = desc(d, G_DIL), DH = desc(d, G_DIL + 1), DW = desc(d, G_DIL + 2);
  const PD = desc(d, G_PAD), PH = desc(d, G_PAD + 1), PW = desc(d, G_PAD + 2);
  const OD = desc(d, G_OUT), OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  const r0 = n0 / IW;
  const r1 = (n1 + IW - 1) / IW;
  let src = col;
  for (let m = 0; m < M; m++) {
    const ym = y + <usize>m * <usize>OD * <usize>OH * (<usize>OW << 2);
    for (let a = 0; a < KD; a++) {
      for (let b = 0; b < KH; b++) {
        for (let e = 0; e < KW; e++) {
          const wOff = e * DW - PW;
          // iw range whose ow = iw·SW + wOff lies in [0, OW).
          let iwLo = 0;
          if (wOff < 0) iwLo = (-wOff + SW - 1) / SW;
          const iwHi = min(IW, OW - wOff > 0 ? (OW - wOff + SW - 1) / SW : 0);
          // Input rows r = id·IH + ih overlapping [n0, n1), clipped to the chunk.
          for (let r = r0; r < r1; r++) {
            const id = r / IH, ih = r % IH;
            const od = id * SD - PD + a * DD;
            const oh = ih * SH - PH + b * DH;
            if (<u32>od >= <u32>OD || <u32>oh >= <u32>OH) continue;
            const rn = r * IW;
            const lo = max(iwLo, n0 - rn);
            const hi = min(iwHi, n1 - rn);
            if (hi <= lo) continue;
            const yr = ym + ((<usize>od * <usize>OH + <usize>oh) * <usize>OW << 2);
            const sr = src + (<usize>(rn - n0) << 2);
            if (SW == 1) {
              addRun(yr + (<usize>(lo + wOff) << 2), sr + (<usize>lo << 2), hi - lo);
              continue;
            }
            for (let iw = lo; iw < hi; iw++) {
              const yo = yr + (<usize>(iw * SW + wOff) << 2);
              store<f32>(yo, load<f32>(yo) + load<f32>(sr + (<usize>iw << 2)));
            }
          }
          src += <usize>ldcol << 2;
        }
      }
    }
  }
}

/**
 * ConvTranspose: y = convtranspose(x, W) + bias. `wp` holds pack_at_f32(W_g) for every group g
 * (Wᵀ of rows = M·KD·KH·KW × C, each ceil(rows/4)·C·16 bytes). col is computed for `chunk`
 * panels (8 input positions each) at a time; `scratch` holds ceil(ID·IH·IW/8)·C·32 bytes of
 * packed X, then rows·chunk·8·4 bytes of col.
 */
export function conv_transpose_f32(d: usize, x: usize, wp: usize, bias: usize, y: usize, scratch: usize): void {
  const NB = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const rows = M * desc(d, G_K) * desc(d, G_K + 1) * desc(d, G_K + 2);
  const P = desc(d, G_IN) * desc(d, G_IN + 1) * desc(d, G_IN + 2);
  const S = <usize>desc(d, G_OUT) * <usize>desc(d, G_OUT + 1) * <usize>desc(d, G_OUT + 2);
  const apBytes = <usize>((rows + 3) >> 2) * <usize>C * 16;
  const chunkN = desc(d, G_CHUNK) << 3;
  const bp = scratch;
  const col = scratch + <usize>((P + 7) >> 3) * <usize>C * 32;
  for (let n = 0; n < NB; n++) {
    for (let g = 0; g < G; g++) {
      const xg = x + <usize>(n * G + g) * <usize>C * <usize>P * 4;
      const yg = y + <usize>(n * G + g) * <usize>M * S * 4;
      for (let m = 0; m < M; m++) {
        const v: f32 = bias ? load<f32>(bias + (<usize>(g * M + m) << 2)) : 0;
        const ym = yg + <usize>m * S * 4;
        for (let i: usize = 0; i < S; i++) store<f32>(ym + (i << 2), v);
      }
      pack_b_f32(xg, bp, C, P, P, 0);
      for (let n0 = 0; n0 < P; n0 += chunkN) {
        const nc = min(chunkN, P - n0);
        gemm_f32_pp(wp + <usize>g * apBytes, bp + <usize>(n0 >> 3) * <usize>C * 32, col, chunkN, rows, nc, C, 0, 0, 0, 0, 0);
        col2im(d, col, chunkN, n0, n0 + nc, yg);
      }
    }
  }
}
