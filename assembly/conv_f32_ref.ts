// Scalar references for conv_f32 / conv_transpose_f32 on the plain ONNX layouts, straight from
// the definitions (geometry: conv_geom.ts): X [N, G·C, ID, IH, IW]; Conv W [G·M, C, KD, KH, KW];
// ConvTranspose W [G·C, M, KD, KH, KW]; bias [G·M] or 0. Sums accumulate in f64.

import { desc } from './common';
import { G_C, G_DIL, G_G, G_IN, G_K, G_M, G_N, G_OUT, G_PAD, G_S } from './conv_geom';

// @ts-ignore: decorator
@inline function idx5(i0: i32, n1: i32, i1: i32, n2: i32, i2: i32, n3: i32, i3: i32, n4: i32, i4: i32): usize {
  return ((((<usize>i0 * <usize>n1 + <usize>i1) * <usize>n2 + <usize>i2) * <usize>n3 + <usize>i3) * <usize>n4 + <usize>i4) << 2;
}

/** Direct convolution: y[n, g·M+m, o] = bias + Σ_{c, k} W[g·M+m, c, k] · x[n, g·C+c, o·s − p + k·dil]. */
export function conv_f32__ref(d: usize, x: usize, w: usize, bias: usize, y: usize): void {
  const NB = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const OD = desc(d, G_OUT), OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  for (let n = 0; n < NB; n++) for (let g = 0; g < G; g++) for (let m = 0; m < M; m++) {
    const oc = g * M + m;
    for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      let s: f64 = bias ? <f64>load<f32>(bias + (<usize>oc << 2)) : 0;
      for (let c = 0; c < C; c++) for (let a = 0; a < KD; a++) for (let b = 0; b < KH; b++) for (let e = 0; e < KW; e++) {
        const id = od * desc(d, G_S) - desc(d, G_PAD) + a * desc(d, G_DIL);
        const ih = oh * desc(d, G_S + 1) - desc(d, G_PAD + 1) + b * desc(d, G_DIL + 1);
        const iw = ow * desc(d, G_S + 2) - desc(d, G_PAD + 2) + e * desc(d, G_DIL + 2);
        if (id < 0 || id >= ID || ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
        const xv = load<f32>(x + idx5(n, G * C, g * C + c, ID, id, IH, ih, IW, iw));
        const wv = load<f32>(w + idx5(oc, C, c, KD, a, KH, b, KW, e));
        s += <f64>xv * <f64>wv;
      }
      store<f32>(y + idx5(n, G * M, oc, OD, od, OH, oh, OW, ow), <f32>s);
    }
  }
}

/** Direct transposed convolution: every x[n, g·C+c, i] · W[g·C+c, m, k] lands on y[n, g·M+m, i·s − p + k·dil]. */
export function conv_transpose_f32__ref(d: usize, x: usize, w: usize, bias: usize, y: usize): void {
  const NB = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const OD = desc(d, G_OUT), OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  for (let n = 0; n < NB; n++) for (let g = 0; g < G; g++) for (let m = 0; m < M; m++) {
    const oc = g * M + m;
    for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      let s: f64 = bias ? <f64>load<f32>(bias + (<usize>oc << 2)) : 0;
      for (let c = 0; c < C; c++) for (let a = 0; a < KD; a++) for (let b = 0; b < KH; b++) for (let e = 0; e < KW; e++) {
        // od = id·SD − PD + a·DD  ⇔  id = (od + PD − a·DD) / SD when divisible.
        const td = od + desc(d, G_PAD) - a * desc(d, G_DIL);
        const th = oh + desc(d, G_PAD + 1) - b * desc(d, G_DIL + 1);
        const tw = ow + desc(d, G_PAD + 2) - e * desc(d, G_DIL + 2);
        const sd = desc(d, G_S), sh = desc(d, G_S + 1), sw = desc(d, G_S + 2);
        if (td < 0 || th < 0 || tw < 0 || td % sd || th % sh || tw % sw) continue;
        const id = td / sd, ih = th / sh, iw = tw / sw;
        if (id >= ID || ih >= IH || iw >= IW) continue;
        const xv = load<f32>(x + idx5(n, G * C, g * C + c, ID, id, IH, ih, IW, iw));
        const wv = load<f32>(w + idx5(g * C + c, M, m, KD, a, KH, b, KW, e));
        s += <f64>xv * <f64>wv;
      }
      store<f32>(y + idx5(n, G * M, oc, OD, od, OH, oh, OW, ow), <f32>s);
    }
  }
}
