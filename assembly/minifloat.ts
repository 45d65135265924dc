// Narrow float formats ↔ f64, bit-exact (the scalar definition every cast path is tested against).
//
// A format is (ebits, mbits, bias, kind). Values: exponent field e, mantissa field m,
//   e = 0: (−1)^s · m · 2^(1 − bias − mbits)            (subnormal)
//   else:  (−1)^s · (2^mbits + m) · 2^(e − bias − mbits)
// except for the special encodings of each kind:
//   IEEE  (float16, bfloat16, float8e5m2): e all ones is ±Inf (m = 0) or NaN (m ≠ 0).
//   FN    (float8e4m3fn): no Inf; e and m all ones is NaN; −0 exists.
//   FNUZ  (float8e4m3fnuz, float8e5m2fnuz): no Inf, no −0; the single NaN is 1000…0.
//   E2M1  (float4e2m1): no Inf, no NaN.
// Encoding rounds to nearest, ties to even, on the format's grid extended past its largest
// finite value; a result beyond that value overflows (see `overflowBits`).
// f64 holds every value of these formats, f32 and f16 exactly, so decode → encode is exact.

export const KIND_IEEE: i32 = 0;
export const KIND_FN: i32 = 1;
export const KIND_FNUZ: i32 = 2;
export const KIND_E2M1: i32 = 3;

/** 2^k as f64, for −1022 ≤ k ≤ 1023. */
// @ts-ignore: decorator
@inline function pow2(k: i32): f64 {
  return reinterpret<f64>(<i64>(k + 1023) << 52);
}

// @ts-ignore: decorator
@inline function maxFiniteBits(ebits: i32, mbits: i32, kind: i32): u32 {
  const expAll: u32 = ((1 << ebits) - 1) << mbits;
  if (kind == KIND_IEEE) return expAll - 1;
  if (kind == KIND_FN) return expAll | <u32>((1 << mbits) - 2);
  return (<u32>1 << (ebits + mbits)) - 1;
}

/**
 * What ±Inf and results beyond the largest finite value become: saturate → ±max finite;
 * otherwise IEEE → ±Inf, FN → ±NaN, FNUZ → NaN. E2M1 always saturates.
 */
// @ts-ignore: decorator
@inline function overflowBits(sign: u32, ebits: i32, mbits: i32, kind: i32, saturate: bool): u32 {
  if (saturate || kind == KIND_E2M1) return sign | maxFiniteBits(ebits, mbits, kind);
  const expAll: u32 = ((1 << ebits) - 1) << mbits;
  if (kind == KIND_IEEE) return sign | expAll;
  if (kind == KIND_FN) return sign | expAll | <u32>((1 << mbits) - 1);
  return <u32>1 << (ebits + mbits);
}

export function encodeMini(v: f64, ebits: i32, mbits: i32, bias: i32, kind: i32, saturate: bool): u32 {
  return encodeMiniInline(v, ebits, mbits, bias, kind, saturate);
}

/** encodeMini for loops that want the format constants folded in (the scalar build's hot casts). */
// @ts-ignore: decorator
@inline export function encodeMiniInline(v: f64, ebits: i32, mbits: i32, bias: i32, kind: i32, saturate: bool): u32 {
  const bits = reinterpret<u64>(v);
  const signBit: u32 = <u32>1 << (ebits + mbits);
  const sign: u32 = <u32>(bits >> 63) << (ebits + mbits);
  const mmask: u32 = (<u32>1 << mbits) - 1;
  if (v != v) {
    // IEEE keeps the sign and the top payload bits and sets the quiet bit. E2M1 has no NaN and
    // writes 1000 (−0), which is what the ONNX reference (ml_dtypes) produces.
    if (kind == KIND_IEEE) {
      return sign | (((<u32>1 << ebits) - 1) << mbits) | (<u32>1 << (mbits - 1)) | (<u32>(bits >> (52 - mbits)) & mmask);
    }
    if (kind == KIND_FN) return sign | (((<u32>1 << ebits) - 1) << mbits) | mmask;
    return signBit;
  }
  const a = abs(v);
  if (a == Infinity) return overflowBits(sign, ebits, mbits, kind, saturate);
  const zero: u32 = kind == KIND_FNUZ ? 0 : sign;
  if (a == 0) return zero;
  const emin = 1 - bias;
  let e = <i32>((bits >> 52) & 0x7ff) - 1023; // an f64 subnormal gives −1023, below every emin
  if (e < emin) e = emin;
  // n = a / 2^(e − mbits) rounded half to even: the scaling is exact, n ≤ 2^(mbits+1).
  let n = <u32>nearest(a * pow2(mbits - e));
  if (n == 0) return zero;
  let mag: u32 = n;
  if (n >= (<u32>1 << mbits)) {
    if (n == (<u32>2 << mbits)) {
      e++;
      n >>= 1;
    }
    mag = (<u32>(e + bias) << mbits) | (n & mmask);
  }
  if (mag > maxFiniteBits(ebits, mbits, kind)) return overflowBits(sign, ebits, mbits, kind, saturate);
  return sign | mag;
}

export function decodeMini(b: u32, ebits: i32, mbits: i32, bias: i32, kind: i32): f64 {
  return decodeMiniInline(b, ebits, mbits, bias, kind);
}

// @ts-ignore: decorator
@inline export function decodeMiniInline(b: u32, ebits: i32, mbits: i32, bias: i32, kind: i32): f64 {
  const signBit: u32 = <u32>1 << (ebits + mbits);
  const emask: u32 = (<u32>1 << ebits) - 1;
  const mmask: u32 = (<u32>1 << mbits) - 1;
  const neg = (b & signBit) != 0;
  const e = (b >> mbits) & emask;
  const m = b & mmask;
  if (kind == KIND_FNUZ && b == signBit) return NaN;
  if ((kind == KIND_IEEE && e == emask) || (kind == KIND_FN && e == emask && m == mmask)) {
    if (kind == KIND_IEEE && m == 0) return neg ? -Infinity : Infinity;
    // Quiet NaN carrying the sign and the payload.
    return reinterpret<f64>((<u64>neg << 63) | 0x7ff8000000000000 | (<u64>m << (52 - mbits)));
  }
  const v = e == 0 ? <f64>m * pow2(1 - bias - mbits) : <f64>(m | (mmask + 1)) * pow2(<i32>e - bias - mbits);
  return neg ? -v : v;
}

// ---- f32 and f64 with explicit NaN handling ------------------------------------------------
// wasm's promote/demote leave NaN payloads to the engine; these keep sign and payload and set
// the quiet bit, so every build writes the same bits.

// @ts-ignore: decorator
@inline export function f32BitsToF64(x: u32): f64 {
  if ((x & 0x7fffffff) > 0x7f800000) {
    return reinterpret<f64>((<u64>(x >> 31) << 63) | 0x7ff8000000000000 | (<u64>(x & 0x7fffff) << 29));
  }
  return <f64>reinterpret<f32>(x);
}

// @ts-ignore: decorator
@inline export function f64ToF32Bits(v: f64): u32 {
  if (v != v) {
    const b = reinterpret<u64>(v);
    return (<u32>(b >> 63) << 31) | 0x7fc00000 | (<u32>(b >> 29) & 0x7fffff);
  }
  return reinterpret<u32>(<f32>v);
}

// ---- float8e8m0: an unsigned power of two 2^(b − 127), b = 255 is NaN ----------------------

export const ROUND_UP: i32 = 0;
export const ROUND_DOWN: i32 = 1;
export const ROUND_NEAREST: i32 = 2;

// @ts-ignore: decorator
@inline export function decodeE8M0(b: u32): f64 {
  return b == 255 ? NaN : pow2(<i32>b - 127);
}

/**
 * |v| rounded to a power of two 2^k: up = smallest ≥ |v|, down = largest ≤ |v|, nearest = by the
 * first mantissa bit (|v| ≥ 1.5·2^⌊log2|v|⌋ goes up; ties up). The sign is ignored (negative
 * inputs are unspecified in ONNX). k outside [−127, 127], zero and ±Inf saturate to the nearest
 * end when `saturate`, else give NaN; NaN gives NaN.
 */
export function encodeE8M0(v: f64, saturate: bool, mode: i32): u32 {
  if (v != v) return 255;
  const bits = reinterpret<u64>(v) & 0x7fffffffffffffff;
  if (bits == 0x7ff0000000000000) return saturate ? 254 : 255;
  const be = <i32>(bits >> 52);
  const m = bits & 0xfffffffffffff;
  let k = be - 1023;
  if (be == 0) k = -1100; // zero and f64 subnormals: far below 2^−127
  else if (mode == ROUND_UP) k += <i32>(m != 0);
  else if (mode == ROUND_NEAREST) k += <i32>(m >= 0x8000000000000);
  if (k < -127) return saturate ? 0 : 255;
  if (k > 127) return saturate ? 254 : 255;
  return <u32>(k + 127);
}
