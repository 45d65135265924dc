// Ternary weights read off constants: what the ternary pass (ternary.ts) and the QONNX folding
// (Quant with bitwidth 2 on constant weights) hand to the ternary ops (src/ops/ternary.ts) as
// int8 codes in {−1, 0, +1} plus one scale per output channel.

import { lowBitValues } from '../ir/quant.js';
import { numel, type TensorData } from '../ir/tensor.js';

export interface TernaryWeights {
  /** w / s of every element, in {−1, 0, +1}, laid out as the tensor. */
  codes: Int8Array;
  /** s_c per channel along the axis (0 for a channel of zeros). */
  scales: Float32Array;
}

/**
 * The codes and per-channel scales of a float32 tensor whose channel c (along `axis`) holds only
 * the values −s_c, 0 (either sign) and +s_c for one finite s_c > 0; undefined otherwise (another
 * dtype, NaN, two magnitudes in a channel). The tensor equals codes·s exactly, element by element.
 */
export function ternaryWeightsOf(t: TensorData, axis: number): TernaryWeights | undefined {
  if (t.dtype !== 'float32' || axis < 0 || axis >= t.dims.length) return undefined;
  const w = new Float32Array(t.bytes.slice().buffer);
  const C = t.dims[axis];
  const inner = numel(t.dims.slice(axis + 1));
  const outer = numel(t.dims.slice(0, axis));
  const scales = new Float32Array(C);
  const codes = new Int8Array(w.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const base = (o * C + c) * inner;
      for (let j = 0; j < inner; j++) {
        const x = w[base + j];
        if (x === 0) continue;
        const m = Math.abs(x);
        if (!(m < Infinity)) return undefined;
        if (scales[c] === 0) scales[c] = m;
        else if (scales[c] !== m) return undefined;
        codes[base + j] = x > 0 ? 1 : -1;
      }
    }
  }
  return { codes, scales };
}

/**
 * The values of a constant INT2 tensor when every one is −1, 0 or +1 (−2, the fourth INT2 value,
 * has no ternary code); undefined for another dtype or a −2.
 */
export function int2TernaryCodes(t: TensorData): Int8Array | undefined {
  if (t.dtype !== 'int2') return undefined;
  const v = lowBitValues(t);
  return v.every((x) => x >= -1) ? Int8Array.from(v) : undefined;
}
