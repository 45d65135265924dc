// Direct f32 convolution for one input channel per group (depthwise, and any conv with C = 1):
// y[n, g·M+m, o] = bias + Σ_k W[g·M+m, 0, k] · x[n, g, o·s − p + k·dil] (geometry: conv_geom.ts,
// C must be 1). With K = KD·KH·KW taps there is too little work per output for the GEMM, so
// each output is accumulated in registers over its taps, 8 or 4 outputs at a time along a
// stride-1 row where every tap is inside the input, one at a time at the edges.

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

/** Depthwise-style conv (C = 1 per group), epilogue as gemm_f32 (act 0 none, 1 relu, 2 clamp). */
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
  // Outputs ow in [lo, hi) read only columns inside the row for every tap (stride 1).
  const inLo = PW;
  const inHi = IW + PW - (KW - 1) * DW;
  const tapBytes = <usize>DW << 2;
  let yp = y;
  for (let n = 0; n < NB; n++) for (let g = 0; g < G; g++) {
    const xg = x + <usize>(n * G + g) * inBytes;
    for (let m = 0; m < M; m++) {
      const oc = g * M + m;
      const wm = w + (<usize>(oc * taps) << 2);
      const b: f32 = bias ? load<f32>(bias + (<usize>oc << 2)) : 0;
      for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) {
        const d0 = od * SD - PD, h0 = oh * SH - PH;
        let ow = 0;
        while (ow < OW) {
          if (ASC_FEATURE_SIMD && SW == 1 && ow >= inLo && ow + 4 <= inHi) {
            const wide = ow + 8 <= inHi && ow + 8 <= OW;
            let acc0 = f32x4.splat(b), acc1 = f32x4.splat(b);
            for (let a = 0; a < KD; a++) {
              const id = d0 + a * DD;
              if (<u32>id >= <u32>ID) continue;
              for (let bb = 0; bb < KH; bb++) {
                const ih = h0 + bb * DH;
                if (<u32>ih >= <u32>IH) continue;
                let at = xg + <usize>id * planeBytes + <usize>ih * rowBytes + (<usize>(ow - PW) << 2);
                let wt = wm + (<usize>((a * KH + bb) * KW) << 2);
                for (let e = 0; e < KW; e++) {
                  const wv = v128.load32_splat(wt);
                  acc0 = fma(wv, v128.load(at), acc0);
                  if (wide) acc1 = fma(wv, v128.load(at, 16), acc1);
                  at += tapBytes;
                  wt += 4;
                }
              }
            }
            const yo = yp + (<usize>ow << 2);
            v128.store(yo, actv(acc0, act, lo, hi));
            if (wide) {
              v128.store(yo, actv(acc1, act, lo, hi), 16);
              ow += 8;
            } else ow += 4;
            continue;
          }
          let s: f32 = b;
          const w0 = ow * SW - PW;
          for (let a = 0; a < KD; a++) {
            const id = d0 + a * DD;
            if (<u32>id >= <u32>ID) continue;
            for (let bb = 0; bb < KH; bb++) {
              const ih = h0 + bb * DH;
              if (<u32>ih >= <u32>IH) continue;
              const src = xg + <usize>id * planeBytes + <usize>ih * rowBytes;
              const wt = wm + (<usize>((a * KH + bb) * KW) << 2);
              for (let e = 0; e < KW; e++) {
                const iw = w0 + e * DW;
                if (<u32>iw < <u32>IW) s += load<f32>(wt + (<usize>e << 2)) * load<f32>(src + (<usize>iw << 2));
              }
            }
          }
          store<f32>(yp + (<usize>ow << 2), act1(s, act, lo, hi));
          ow++;
        }
        yp += <usize>OW << 2;
      }
    }
  }
}
