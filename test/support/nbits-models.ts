// MatMulNBits models built from plain low-bit weights (test/support/qweights.ts), and the
// float64 answers and error bounds they are checked against.

import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { encodeSource, refF64, SRC_NBITS, ZP_NBITS, ZP_NONE, zpAt, type PlainWeights } from './qweights.js';

export type ZpForm = 'default' | 'packed' | 'float';

export interface NBitsModel {
  w: PlainWeights;
  /** A's leading dims (M = their product). */
  lead: number[];
  zp: ZpForm;
  bias: Float32Array | null;
  accuracyLevel?: number;
  /** Import com.microsoft (models in the wild sometimes do not). */
  msImport?: boolean;
  /** Store scales flat [N·kb] instead of [N, kb]. */
  flatScales?: boolean;
  /** Add the (deprecated) g_idx input in its trivial form g_idx[k] = ⌊k/block_size⌋. */
  gIdx?: boolean;
}

export function nbitsModel(m: NBitsModel, attrs: Record<string, number> = {}): Uint8Array {
  const { N, K, bits, bs, kb } = m.w;
  const s = encodeSource(m.w, SRC_NBITS, false, m.zp === 'packed' ? ZP_NBITS : ZP_NONE);
  const b = new OnnxBuilder({ opset: 21, domains: m.msImport === false ? {} : { 'com.microsoft': 1 } });
  const inputs = [
    b.input('a', 'float32', [...m.lead, K]),
    b.init('B', 'uint8', [N, kb, (bs * bits) / 8], s.src),
    b.init('scales', 'float32', m.flatScales ? [N * kb] : [N, kb], s.scale),
    m.zp === 'packed' ? b.init('zp', 'uint8', [N, Math.ceil((kb * bits) / 8)], s.zp!)
      : m.zp === 'float' ? b.init('zp', 'float32', [N, kb], m.w.zpFloat ?? Float32Array.from(m.w.zp)) : '',
    m.gIdx ? b.init('g_idx', 'int32', [K], Int32Array.from({ length: K }, (_, k) => Math.floor(k / bs))) : '',
    m.bias ? b.init('bias', 'float32', [N], m.bias) : '',
  ];
  while (inputs[inputs.length - 1] === '') inputs.pop();
  b.op('MatMulNBits', inputs, { K, N, bits, block_size: bs, ...(m.accuracyLevel === undefined ? {} : { accuracy_level: m.accuracyLevel }), ...attrs },
    { domain: 'com.microsoft', name: 'mmnb', outputs: ['y'] });
  b.output('y', 'float32', [...m.lead, N]);
  return b.toBytes();
}

/** Largest |lowbit − float64| allowed per output. */
export interface Bounds {
  y: Float64Array;
  exact: Float64Array;
  int8: Float64Array;
}

const U = 2 ** -24;

/**
 * Exact path: every f32 sum of j terms is within (j−1)·u of exact relative to Σ|terms|, so
 * |y − y64| ≤ (K+2)·u·Σ|w·a|; fractional float zero points (qw_zp_fraction) widen it to
 * (K + bs + kb + 4)·u·Σ|scale|·(|q − zp| + 1)·|a|. Int8 path: |a − s·aq| ≤ s/2 with s = max|a[m]|/127, so
 * |y − y64| ≤ (s/2)·Σ_k|w[n,k]| plus f32 rounding.
 */
export function bounds(w: PlainWeights, a: Float32Array, M: number, bias: Float32Array | null): Bounds {
  const { N, K, bs, kb } = w;
  const { y, mag } = refF64(w, a, M, bias);
  const exact = new Float64Array(M * N);
  const int8 = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    let amax = 0;
    for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(a[m * K + k]));
    const s = amax / 127;
    for (let n = 0; n < N; n++) {
      let wabs = 0;
      for (let k = 0; k < K; k++) {
        const b = Math.floor(k / bs);
        // With fractional zero points the int8 kernel sees q − round(zp): |q − zp| + 1 bounds it.
        const d = Math.abs(w.q[n * K + k] - zpAt(w, n * kb + b)) + (w.zpFloat ? 1 : 0);
        wabs += d * Math.abs(w.scale[n * kb + b]);
      }
      const i = m * N + n;
      exact[i] = (w.zpFloat ? K + bs + kb + 4 : K + 2) * U * mag[i];
      int8[i] = (s / 2) * wabs * (1 + 1e-5) + 1e-6 * (1 + Math.abs(y[i])) + exact[i];
    }
  }
  return { y, exact, int8 };
}
