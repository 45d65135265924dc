// Random low-bit weights in the plain layout and in the source formats qw_pack reads
// (MatMulNBits B, ONNX [K][N] / [N][K] sub-byte tensors), written independently of the kernels.

export const SRC_NBITS = 0;
export const SRC_KN = 1;
export const SRC_NK = 2;
export const ZP_NONE = 0;
export const ZP_NBITS = 1;
export const ZP_PACKED = 2;
export const ZP_BYTES = 3;

/**
 * Plain layout: q u8 [N][K] unsigned, scale f32 [N][kb], zp u8 [N][kb] unsigned. `zpFloat`, when
 * set, holds float zero points [N][kb] (possibly fractional) that replace zp in W = (q − zp)·scale;
 * zp then holds their integer parts round(zpFloat) as the host packs them.
 */
export interface PlainWeights {
  N: number; K: number; bits: number; bs: number; kb: number;
  q: Uint8Array; scale: Float32Array; zp: Uint8Array; zpFloat?: Float32Array;
}

/** Gives w random fractional float zero points in [0, 2^bits − 1] (HQQ style); zp := round(zpFloat). */
export function withFractionalZp(r: () => number, w: PlainWeights): PlainWeights {
  const zpFloat = new Float32Array(w.N * w.kb);
  for (let i = 0; i < zpFloat.length; i++) zpFloat[i] = r() * ((1 << w.bits) - 1);
  return { ...w, zpFloat, zp: Uint8Array.from(zpFloat, (z) => Math.round(z)) };
}

/** zf·scale rounded once to f32: what the host hands qw_zp_fraction. */
export function zpFractionOf(w: PlainWeights): Float32Array {
  return Float32Array.from(w.zpFloat!, (z, i) => (z - w.zp[i]) * w.scale[i]);
}

/** The zero point W uses at (n, block b). */
export const zpAt = (w: PlainWeights, i: number): number => (w.zpFloat ? w.zpFloat[i] : w.zp[i]);

export function randomWeights(r: () => number, N: number, K: number, bits: number, bs: number, defaultZp: boolean): PlainWeights {
  const kb = Math.ceil(K / bs);
  const hi = 1 << bits;
  const q = new Uint8Array(N * K);
  for (let i = 0; i < q.length; i++) q[i] = Math.floor(r() * hi);
  const scale = new Float32Array(N * kb);
  for (let i = 0; i < scale.length; i++) scale[i] = (0.01 + r()) * (r() < 0.5 ? -1 : 1);
  const zp = new Uint8Array(N * kb);
  for (let i = 0; i < zp.length; i++) zp[i] = defaultZp ? hi >> 1 : Math.floor(r() * hi);
  return { N, K, bits, bs, kb, q, scale, zp };
}

/** Packs `values` (each `bits` wide, already in two's complement when signed) LSB-first. */
export function packBits(values: ArrayLike<number>, bits: number, bytes?: number): Uint8Array {
  const out = new Uint8Array(bytes ?? Math.ceil((values.length * bits) / 8));
  const mask = (1 << bits) - 1;
  for (let i = 0; i < values.length; i++) {
    const bit = i * bits;
    out[bit >> 3] |= (values[i] & mask) << (bit & 7);
  }
  return out;
}

/** The source tensors for one (layout, signedness, zero-point encoding). */
export interface SourceWeights { src: Uint8Array; scale: Float32Array; zp: Uint8Array | null }

/**
 * Encodes plain weights as a source format. Signed sources hold q − 2^(bits−1) (and the same for
 * zero points), which dequantize to the same W.
 */
export function encodeSource(w: PlainWeights, layout: number, signed: boolean, zpLayout: number): SourceWeights {
  const { N, K, bits, bs, kb } = w;
  const off = signed ? 1 << (bits - 1) : 0;
  const qv = (n: number, k: number): number => w.q[n * K + k] - off;
  let src: Uint8Array;
  if (layout === SRC_NBITS) {
    const blockBytes = (bs * bits) / 8;
    src = new Uint8Array(N * kb * blockBytes);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
      const bit = (n * kb * bs + k) * bits;
      src[bit >> 3] |= (qv(n, k) & ((1 << bits) - 1)) << (bit & 7);
    }
  } else if (layout === SRC_KN) {
    const v: number[] = [];
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) v.push(qv(n, k));
    src = packBits(v, bits);
  } else {
    const v: number[] = [];
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) v.push(qv(n, k));
    src = packBits(v, bits);
  }
  // Scales and zero points in the scale's shape: [kb][N] for SRC_KN, else [N][kb].
  const order: Array<[number, number]> = [];
  if (layout === SRC_KN) { for (let b = 0; b < kb; b++) for (let n = 0; n < N; n++) order.push([n, b]); }
  else { for (let n = 0; n < N; n++) for (let b = 0; b < kb; b++) order.push([n, b]); }
  const scale = Float32Array.from(order, ([n, b]) => w.scale[n * kb + b]);
  const zv = order.map(([n, b]) => w.zp[n * kb + b] - off);
  let zp: Uint8Array | null = null;
  if (zpLayout === ZP_PACKED) zp = packBits(zv, bits);
  else if (zpLayout === ZP_BYTES) zp = Uint8Array.from(zv, (z) => z & 0xff);
  else if (zpLayout === ZP_NBITS) {
    const rowBytes = Math.ceil((kb * bits) / 8);
    zp = new Uint8Array(N * rowBytes);
    for (let n = 0; n < N; n++) zp.set(packBits(zv.slice(n * kb, (n + 1) * kb), bits, rowBytes), n * rowBytes);
  }
  return { src, scale, zp };
}

/**
 * y = A·Wᵀ (+ bias) in float64 and the magnitude sum Σ|w·a| per output (for error bounds); with
 * float zero points the sum is Σ|scale|·(|q − zp| + 1)·|a|, the one qw_zp_fraction's bound uses.
 */
export function refF64(w: PlainWeights, a: Float32Array, M: number, bias: Float32Array | null): { y: Float64Array; mag: Float64Array } {
  const { N, K, bs, kb } = w;
  const y = new Float64Array(M * N);
  const mag = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let s = 0, g = 0;
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / bs);
      const d = w.q[n * K + k] - zpAt(w, n * kb + b);
      const t = d * w.scale[n * kb + b] * a[m * K + k];
      s += t;
      g += w.zpFloat ? Math.abs(w.scale[n * kb + b] * a[m * K + k]) * (Math.abs(d) + 1) : Math.abs(t);
    }
    y[m * N + n] = s + (bias ? bias[n] : 0);
    mag[m * N + n] = g + (bias ? Math.abs(bias[n]) : 0);
  }
  return { y, mag };
}
