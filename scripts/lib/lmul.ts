// Reference L-Mul on f32 bit patterns (the contract of assembly/lmul.ts, written again from the
// formula for tests and the accuracy study) and round-to-nearest-even emulation of the formats it
// is compared with: float8 e4m3fn, float8 e5m2, bfloat16.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bitsOf(x: number): number {
  f32[0] = x;
  return u32[0];
}


/** l(m): the exponent of the offset 2^−l that stands in for xm·ym. */
export function lmulOffsetExp(m: number): number {
  return m <= 3 ? m : m === 4 ? 3 : 4;
}

/**
 * L-Mul(x, y) with operand mantissas truncated to m bits (1…23), as f32:
 * (1 + xm + ym + 2^−l(m))·2^(xe+ye) realised as one integer add (carry into the exponent);
 * zero/subnormal operands flushed (signed zero), NaN or inf·0 → NaN, inf·finite → inf,
 * overflow → inf, underflow → signed zero.
 */
export function lmulRef(x: number, y: number, m: number): number {
  const bx = bitsOf(x), by = bitsOf(y);
  const sign = (bx ^ by) & 0x80000000 ? -1 : 1;
  const ax = bx & 0x7fffffff, ay = by & 0x7fffffff;
  const INF = 0x7f800000;
  if (ax >= INF || ay >= INF) {
    if (ax > INF || ay > INF || ax < 0x800000 || ay < 0x800000) return NaN;
    return sign * Infinity;
  }
  if (ax < 0x800000 || ay < 0x800000) return sign * 0;
  // Exponents and m-bit mantissa fractions, then the formula in exact integer arithmetic.
  const q = 23 - m;
  const ex = (ax >>> 23) - 127, ey = (ay >>> 23) - 127;
  const mx = (ax & 0x7fffff) >>> q, my = (ay & 0x7fffff) >>> q; // units of 2^−m
  let frac = mx + my + 2 ** (m - lmulOffsetExp(m)); // xm + ym + 2^−l, units of 2^−m
  let e = ex + ey;
  while (frac >= 2 ** m) {
    // The add carries the mantissa field into the exponent (once or, from m = 4 on, twice):
    // the pattern reads (1 + (xm + ym + 2^−l − c))·2^(xe+ye+c).
    frac -= 2 ** m;
    e += 1;
  }
  if (e > 127) return sign * Infinity;
  if (e < -126) return sign * 0;
  return sign * (1 + frac / 2 ** m) * 2 ** e;
}

/** Bit pattern of lmulRef (NaN as 0x7fc00000). */
export function lmulRefBits(x: number, y: number, m: number): number {
  const r = lmulRef(x, y, m);
  return Number.isNaN(r) ? 0x7fc00000 : bitsOf(r);
}

export interface FloatFormat {
  name: string;
  ebits: number;
  mbits: number;
  /** Largest finite value. */
  max: number;
  /** true: values past max round to ±inf (IEEE-like); false: saturate (e4m3fn has no inf). */
  inf: boolean;
}

export const E4M3: FloatFormat = { name: 'float8 e4m3', ebits: 4, mbits: 3, max: 448, inf: false };
export const E5M2: FloatFormat = { name: 'float8 e5m2', ebits: 5, mbits: 2, max: 57344, inf: true };
export const BF16: FloatFormat = { name: 'bfloat16', ebits: 8, mbits: 7, max: 3.3895313892515355e38, inf: true };

/** x rounded to the format, nearest with ties to even, subnormals kept. */
export function roundTo(x: number, f: FloatFormat): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const bias = 2 ** (f.ebits - 1) - 1;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  e = Math.max(e, 1 - bias);
  const ulp = 2 ** (e - f.mbits);
  let q = a / ulp;
  const fl = Math.floor(q);
  const d = q - fl;
  q = d > 0.5 || (d === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  let r = q * ulp;
  if (r > f.max) {
    // IEEE rounding overflows to inf only past max + ulp/2; e4m3fn saturates (as ONNX saturate=1).
    r = f.inf && a >= f.max + 2 ** (Math.floor(Math.log2(f.max)) - f.mbits) / 2 ? Infinity : f.max;
  }
  return Math.sign(x) * r;
}
