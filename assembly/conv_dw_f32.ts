// Direct f32 convolution for one input channel per group (depthwise, and any conv with C = 1):
// y[n, g·M+m, o] = bias + Σ_k W[g·M+m, 0, k] · x[n, g, o·s − p + k·dil] (geometry: conv_geom.ts,
// C must be 1). With K = KD·KH·KW taps there is too little work per output for the GEMM, so
// each output is accumulated in registers over its taps: per output row the kernel rows that
// hit the input are listed once, then stride-1 rows run 8 outputs at a time (stride 2: 4, with
// an even-lane shuffle) wherever every tap is inside the row, and edges one output at a time.

import { desc } from './common';
import { G_DIL, G_G, G_IN, G_K, G_M, G_N, G_OUT, G_PAD, G_S } from './conv_geom';

// @ts-ignore: decorator
@inline function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline function act1(v: f32, act: i32, lo: f32, hi: f32): f32 {
  if (act == 1) return max<f32>(v, 0);
  if (act == 2) return min<f32>(max<f32>(v, lo), hi);
  return v;
}

// @ts-ignore: decorator
@inline function actv(v: v128, act: i32, lo: f32, hi: f32): v128 {
  if (act == 1) return f32x4.max(v, f32x4.splat(0));
  if (act == 2) return f32x4.min(f32x4.max(v, f32x4.splat(lo)), f32x4.splat(hi));
  return v;
}

// Kernel rows (a, b) of the current output row that lie inside the input: (input row address
// minus PW columns, weight row address). The host sends kernels with KD·KH > MAX_ROWS to the GEMM.
export const MAX_ROWS: i32 = 1024;
const ROWS: usize = memory.data(MAX_ROWS * 8, 16);

/** Output ow over the listed kernel rows, taps outside the input row skipped. */
// @ts-ignore: decorator
@inline function edgeOutput(nr: i32, ow: i32, SW: i32, KW: i32, DW: i32, IW: i32, PW: i32, b: f32): f32 {
  let s = b;
  const w0 = ow * SW - PW;
  for (let t = 0; t < nr; t++) {
    const src = <usize>load<u32>(ROWS + (<usize>t << 3)) + (<usize>PW << 2);
    const wt = <usize>load<u32>(ROWS + (<usize>t << 3), 4);
    for (let e = 0; e < KW; e++) {
      const iw = w0 + e * DW;
      if (<u32>iw < <u32>IW) s += load<f32>(wt + (<usize>e << 2)) * load<f32>(src + (<usize>iw << 2));
    }
  }
  return s;
}

/**
 * Depthwise-style conv (C = 1 per group, KD·KH ≤ MAX_ROWS), epilogue as gemm_f32 (act 0 none,
 * 1 relu, 2 clamp).
 */
export function conv_dw_f32(d: usize, x: usize, w: usize, bias: usize, y: usize, act: i32, lo: f32, hi: f32): void {
  const NB = desc(d, G_N), G = desc(d, G_G), M = desc(d, G_M);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const SD = desc(d, G_S), SH = desc(d, G_S + 1), SW = desc(d, G_S + 2);
  const DD = desc(d, G_DIL), DH = desc(d, G_DIL + 1), DW = desc(d, G_DIL + 2);
  const PD = desc(d, G_PAD), PH = desc(d, G_PAD + 1), PW = desc(d, G_PAD + 2);
  const OD = desc(d, G_OUT), OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  const rowBytes = <usize>IW << 2;
  const planeBytes = <usize>IH * rowBytes;
  const inBytes = <usize>ID * planeBytes;
  const taps = KD * KH * KW;
  const tapBytes = <usize>DW << 2;
  // Vector blocks cover outputs [vLo, vHi): every tap column ow·SW − PW + e·DW (stride 2: and
  // the odd lane after it, which the paired load reads) lies in [0, IW).
  const simd = ASC_FEATURE_SIMD && (SW == 1 || SW == 2);
  const vLo = (PW + SW - 1) / SW;
  const vEnd = IW + PW - (KW - 1) * DW - SW + 1;
  const vHi = vEnd > 0 ? min(OW, (vEnd + SW - 1) / SW) : 0;
  let yp = y;
  for (let n = 0; n < NB; n++) for (let g = 0; g < G; g++) {
    const xg = x + <usize>(n * G + g) * inBytes;
    for (let m = 0; m < M; m++) {
      const oc = g * M + m;
      const wm = w + (<usize>(oc * taps) << 2);
      const b: f32 = bias ? load<f32>(bias + (<usize>oc << 2)) : 0;
      for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) {
        let nr = 0;
        for (let a = 0; a < KD; a++) {
          const id = od * SD - PD + a * DD;
          if (<u32>id >= <u32>ID) continue;
          for (let bb = 0; bb < KH; bb++) {
            const ih = oh * SH - PH + bb * DH;
            if (<u32>ih >= <u32>IH) continue;
            store<u32>(ROWS + (<usize>nr << 3), <u32>(xg + <usize>id * planeBytes + <usize>ih * rowBytes - (<usize>PW << 2)));
            store<u32>(ROWS + (<usize>nr << 3), <u32>(wm + (<usize>((a * KH + bb) * KW) << 2)), 4);
            nr++;
          }
        }
        let ow = 0;
        if (simd) {
          for (; ow < vLo && ow < OW; ow++) store<f32>(yp + (<usize>ow << 2), act1(edgeOutput(nr, ow, SW, KW, DW, IW, PW, b), act, lo, hi));
          if (SW == 1) {
            for (; ow + 8 <= vHi; ow += 8) {
              let acc0 = f32x4.splat(b), acc1 = f32x4.splat(b);
              for (let t = 0; t < nr; t++) {
                let at = <usize>load<u32>(ROWS + (<usize>t << 3)) + (<usize>ow << 2);
                let wt = <usize>load<u32>(ROWS + (<usize>t << 3), 4);
                for (let e = 0; e < KW; e++) {
                  const wv = v128.load32_splat(wt);
                  acc0 = fma(wv, v128.load(at), acc0);
                  acc1 = fma(wv, v128.load(at, 16), acc1);
                  at += tapBytes;
                  wt += 4;
                }
              }
              v128.store(yp + (<usize>ow << 2), actv(acc0, act, lo, hi));
              v128.store(yp + (<usize>ow << 2), actv(acc1, act, lo, hi), 16);
            }
          }
          for (; ow + 4 <= vHi; ow += 4) {
            let acc = f32x4.splat(b);
            for (let t = 0; t < nr; t++) {
              let at = <usize>load<u32>(ROWS + (<usize>t << 3)) + (<usize>(ow * SW) << 2);
              let wt = <usize>load<u32>(ROWS + (<usize>t << 3), 4);
              for (let e = 0; e < KW; e++) {
                const xv = SW == 1 ? v128.load(at) : v128.shuffle<f32>(v128.load(at), v128.load(at, 16), 0, 2, 4, 6);
                acc = fma(v128.load32_splat(wt), xv, acc);
                at += tapBytes;
                wt += 4;
              }
            }
            v128.store(yp + (<usize>ow << 2), actv(acc, act, lo, hi));
          }
        }
        for (; ow < OW; ow++) store<f32>(yp + (<usize>ow << 2), act1(edgeOutput(nr, ow, SW, KW, DW, IW, PW, b), act, lo, hi));
        yp += <usize>OW << 2;
      }
    }
  }
}
