// Packed low-bit weights ("qw") for Y[M,N] = A[M,K]·Wᵀ (+ bias), W[n,k] = (q − zp)·scale with
// q, zp unsigned `bits`-bit integers and scale, zp per (n, block ⌊k/bs⌋): MatMulNBits and
// DequantizeLinear(int4/uint4/int2/uint2/int8/uint8, block_size)→MatMul both pack into this.
//
// Sizes: kb = ⌈K/bs⌉ blocks, Kp = kb·bs (the last block is zero-padded), U = Kp/8 units of
// 8 k, T = ⌈N/4⌉ tiles of 4 output channels (rows n), SB = bytes per (tile, unit): 8 for
// bits = 2, 16 for bits = 4, 32 for bits = 8 (a weight costs exactly `bits` bits). bs must be a multiple of 16 in [16, 65536] (so a unit never spans
// two blocks, and a block's integer dot Σ|q·a| ≤ 65536·255·127 < 2^31 cannot overflow i32).
//
// Layout at `qw` (16-byte aligned if qw is):
//   weights  T·U·SB bytes: tile t, unit u at qw + (t·U + u)·SB. Within a unit, row j of the tile
//            (n = 4t + j) owns bytes 4j..4j+3 of each 16-byte half, so after a byte-wise split
//            each i32 lane of a vector is one output channel:
//              bits = 4: byte 4j+i = q[n, 8u+i] | q[n, 8u+4+i] << 4   (i = 0..3): the "nibble
//                        form" nib[x], x = 4j+i, that every bits ≤ 4 kernel consumes
//              bits = 2: 8 bytes, byte p (0..7) = nib[p] | nib[p+8] << 2 with nib as above (2-bit
//                        values): crumbs lo[p], lo[p+8], hi[p], hi[p+8] from bit 0. A kernel gets
//                        nib back from a 64-bit splat: low half & 0x33, high half (>> 2) & 0x33
//              bits = 8: byte 4j+i = q[n, 8u+i], byte 16+4j+i = q[n, 8u+4+i]
//   scales   f32 [T][kb][4] at qw + T·U·SB: scale[4t+j, b] at ((t·kb + b)·4 + j)·4.
//   zps      u8  [T][kb][4] after the scales: zp[4t+j, b] at (t·kb + b)·4 + j.
// Padding (n ≥ N or k ≥ K) holds q = 0, scale = 0, zp = 0, so it contributes exactly 0.
//
// Signed input (ONNX INT4/INT2/INT8) is stored unsigned: q_u = q_s + 2^(bits−1) and
// zp_u = zp_s + 2^(bits−1), which is the two's-complement field with its top bit flipped;
// (q_u − zp_u)·scale = (q_s − zp_s)·scale. An absent zero point is 2^(bits−1) unsigned (the
// MatMulNBits default) and 0 signed (the ONNX default): both are zp_u = 2^(bits−1).

/** Where qw_pack reads q and the scale/zero-point shape from. */
export const QW_SRC_NBITS: i32 = 0; // MatMulNBits B [N][kb][bs·bits/8], scales [N][kb]
export const QW_SRC_KN: i32 = 1; // ONNX tensor [K][N], blocks along axis 0: scales [kb][N]
export const QW_SRC_NK: i32 = 2; // ONNX tensor [N][K], blocks along axis 1: scales [N][kb]

/** Zero-point encodings. Values are `bits` wide and LSB-first, as in the weights. */
export const QW_ZP_NONE: i32 = 0;
export const QW_ZP_NBITS: i32 = 1; // MatMulNBits packed: [N][⌈kb·bits/8⌉] bytes, rows padded
export const QW_ZP_PACKED: i32 = 2; // ONNX sub-byte tensor of the scale's shape, flat-packed
export const QW_ZP_BYTES: i32 = 3; // one byte per value (low `bits` bits), in the scale's shape

export const QW_OK: i32 = 0;
export const QW_BAD_BITS: i32 = 1;
export const QW_BAD_BLOCK: i32 = 2;
export const QW_BAD_SHAPE: i32 = 3;
export const QW_BAD_LAYOUT: i32 = 4;

export const QW_MAX_BLOCK: i32 = 65536;

// @ts-ignore: decorator
@inline export function qwUnitBytes(bits: i32): i32 {
  return bits << 2;
}

/** Checks the shape parameters shared by every qw kernel; QW_OK or a QW_BAD_* code. */
export function qwCheck(N: i32, K: i32, bits: i32, bs: i32): i32 {
  if (bits != 2 && bits != 4 && bits != 8) return QW_BAD_BITS;
  if (bs < 16 || bs > QW_MAX_BLOCK || (bs & 15) != 0) return QW_BAD_BLOCK;
  if (N < 1 || K < 1) return QW_BAD_SHAPE;
  return QW_OK;
}

/** Bytes of the packed layout (weights + scales + zero points); −1 for bad parameters or a
 * size past 2^31 − 1. */
export function qw_pack_bytes(N: i32, K: i32, bits: i32, bs: i32): i32 {
  if (qwCheck(N, K, bits, bs) != QW_OK) return -1;
  const kb = <f64>((K + bs - 1) / bs);
  const T = <f64>((N + 3) >> 2);
  const bytes = T * (kb * <f64>bs / 8) * <f64>qwUnitBytes(bits) + T * kb * 20;
  return bytes > 2147483647 ? -1 : <i32>bytes;
}

/** Reads the `bits`-wide field number `e` of an LSB-first packed byte stream. */
// @ts-ignore: decorator
@inline function field(p: usize, e: usize, bits: i32): i32 {
  const bit = e * <usize>bits;
  return (<i32>load<u8>(p + (bit >> 3)) >> <i32>(bit & 7)) & ((1 << bits) - 1);
}

/**
 * Packs weights, scales and zero points into the qw layout at `dst` (qw_pack_bytes(N, K, bits,
 * bs) bytes). `signed` = 1 reads q and zp as two's complement. Returns QW_OK or a QW_BAD_* code.
 */
export function qw_pack(
  src: usize, srcLayout: i32, signed: i32, scale: usize, zp: usize, zpLayout: i32,
  N: i32, K: i32, bits: i32, bs: i32, dst: usize,
): i32 {
  const bad = qwCheck(N, K, bits, bs);
  if (bad != QW_OK) return bad;
  if (srcLayout < QW_SRC_NBITS || srcLayout > QW_SRC_NK || zpLayout < QW_ZP_NONE || zpLayout > QW_ZP_BYTES) return QW_BAD_LAYOUT;
  const kb = (K + bs - 1) / bs;
  const U = (kb * bs) >> 3;
  const T = (N + 3) >> 2;
  const SB = qwUnitBytes(bits);
  const flip = signed ? 1 << (bits - 1) : 0;
  for (let t = 0; t < T; t++) {
    for (let u = 0; u < U; u++) {
      const pu = dst + (<usize>t * <usize>U + <usize>u) * <usize>SB;
      for (let j = 0; j < 4; j++) {
        const n = (t << 2) + j;
        for (let i = 0; i < 4; i++) {
          const q0 = qAt(src, srcLayout, flip, n, (u << 3) + i, N, K, kb, bs, bits);
          const q1 = qAt(src, srcLayout, flip, n, (u << 3) + 4 + i, N, K, kb, bs, bits);
          const o = <usize>((j << 2) + i);
          if (bits == 8) {
            store<u8>(pu + o, q0);
            store<u8>(pu + 16 + o, q1);
          } else if (bits == 4) {
            store<u8>(pu + o, q0 | (q1 << 4));
          } else if (o < 8) {
            store<u8>(pu + o, q0 | (q1 << 4)); // rows j = 0, 1 come first: bytes 0..7 start fresh
          } else {
            store<u8>(pu + o - 8, <i32>load<u8>(pu + o - 8) | ((q0 | (q1 << 4)) << 2));
          }
        }
      }
    }
  }
  const ps = dst + <usize>T * <usize>U * <usize>SB;
  const pz = ps + <usize>T * <usize>kb * 16;
  const half = 1 << (bits - 1);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < kb; b++) {
      for (let j = 0; j < 4; j++) {
        const n = (t << 2) + j;
        const o = (<usize>t * <usize>kb + <usize>b) * 4 + <usize>j;
        let s: f32 = 0;
        let z = 0;
        if (n < N) {
          const e = srcLayout == QW_SRC_KN ? <usize>b * <usize>N + <usize>n : <usize>n * <usize>kb + <usize>b;
          s = load<f32>(scale + (e << 2));
          if (zpLayout == QW_ZP_NONE) z = half;
          else if (zpLayout == QW_ZP_NBITS) z = field(zp + <usize>n * <usize>((kb * bits + 7) >> 3), <usize>b, bits) ^ flip;
          else if (zpLayout == QW_ZP_PACKED) z = field(zp, e, bits) ^ flip;
          else z = (<i32>load<u8>(zp + e) & ((1 << bits) - 1)) ^ flip;
        }
        store<f32>(ps + (o << 2), s);
        store<u8>(pz + o, z);
      }
    }
  }
  return QW_OK;
}

/** q_u[n, k] from the source tensor, 0 in the padding. */
// @ts-ignore: decorator
@inline function qAt(src: usize, layout: i32, flip: i32, n: i32, k: i32, N: i32, K: i32, kb: i32, bs: i32, bits: i32): i32 {
  if (n >= N || k >= K) return 0;
  let e: usize;
  if (layout == QW_SRC_NBITS) e = <usize>n * <usize>kb * <usize>bs + <usize>k;
  else if (layout == QW_SRC_KN) e = <usize>k * <usize>N + <usize>n;
  else e = <usize>n * <usize>K + <usize>k;
  return field(src, e, bits) ^ flip;
}
