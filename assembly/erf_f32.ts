// erf and Gelu in f32, evaluated lane-wise: the f32x4 forms (simd builds) do the same f32
// operations in the same order as the scalar forms (no fused ops), so every build gives the
// same bits. z = |x|:
//   z < ½:   erf = x·P(x²), P of degree 4 (fitted, relative error 1.4e-9 on [0, ½]);
//   z ≥ ½:   erfc(z) = S(u)·exp(−z²), S(u) ≈ erfc(z)·e^(z²) of degree 9 in u = (α + β·z)/(1 + z/2)
//            (u runs over [−1, 1] for z in [½, 10]; α, β the f32 constants the fit used; least
//            squares with f32 coefficients, relative error 6.7e-9: scripts/kernels/fit_erfc_tail.py);
//            erf = ±(1 − erfc); erfc = 0 for z > 10 (< 2.1e-45).
//            S(u) and exp(−z²) are independent chains (a division and a polynomial beside an
//            exp), where erfc = t·exp(Q(t) − z²) (Numerical Recipes' erfcc, the form before) ran
//            them one after the other: Gelu 0.93–0.95× and erf 0.88× the time of that form
//            (512k elements, relaxed, interleaved in one process), and closer to f64 (the erfc form
//            gave erf 2.79 ulp and Gelu's far tail 4.52). Two vectors an iteration: 1.00–1.01×
//            (+1.6 kB), as with the form before.
//   exp(a), a ≤ 0: a = n·ln2 + r (Cody–Waite, |r| ≤ ln2/2), e^r = 1 + r·R(r), R of degree 5
//            (relative error 2e-9), times 2^⌊n/2⌋·2^(n−⌊n/2⌋) (subnormal results round once).
//   Polynomials by Estrin's scheme (pairs, then powers u², u⁴): Horner's measured 1.3× the time.
// Measured against an f64 reference on a dense sweep (test/kernels/erf_f32.test.ts): erf within
// 2.44 ulp; Gelu = ½x·(1 + erf(x/√2)) within 2.97 ulp for x ≥ −0.7 and, below, where 1 + erf
// would cancel and ½x·erfc(−x/√2) is taken directly, within a relative 4.38·(x²/2 + 1)·2^-24
// (the f32 roundings of z² and of the exponent beside it). gelu(−∞) is NaN (−∞·0), as the formula gives.
const P0: f32 = 1.1283791655733826, P1: f32 = -0.3761260860486717, P2: f32 = 0.11282823269021229;
const P3: f32 = -0.026757208675032795, P4: f32 = 0.004718033346545948;
// S(u) and the map z → u (scripts/kernels/fit_erfc_tail.py).
const C0: f32 = 0.24142174422740936, C1: f32 = 0.2605140507221222, C2: f32 = 0.09377484768629074;
const C3: f32 = 0.019917411729693413, C4: f32 = 0.0007859371253289282, C5: f32 = -0.000693099049385637;
const C6: f32 = -6.970949470996857e-05, C7: f32 = 3.864902464556508e-05, C8: f32 = 2.8568883863044903e-06;
const C9: f32 = -2.3313286874326877e-06;
const ALPHA: f32 = 1.6315789222717285, BETA: f32 = -0.7631579041481018;
const R1: f32 = 1.00000003216515, R2: f32 = 0.49999994208299087, R3: f32 = 0.16666431261506678;
const R4: f32 = 0.041668002190332995, R5: f32 = 0.008374155405727361, R6: f32 = 0.0013843645755936692;
const LOG2E: f32 = 1.4426950408889634, LN2_HI: f32 = 0.693145751953125, LN2_LO: f32 = 1.4286068202862268e-6;
/** 1.5·2^23: adding it rounds |v| < 2^22 to an integer, held in the low mantissa bits. */
const ROUND: f32 = 12582912;
const SQRT1_2: f32 = 0.7071067811865476;
const Z_MAX: f32 = 10;

/** e^a for a ≤ 0 (also softmax.ts); valid down to a ≈ −170 (callers clamp), NaN stays NaN. */
// @ts-ignore: decorator
@inline export function expNeg(a: f32): f32 {
  const k = a * LOG2E + ROUND;
  const n = k - ROUND;
  const r = (a - n * LN2_HI) - n * LN2_LO;
  const r2 = r * r;
  const p = <f32>1 + r * ((R1 + r * R2) + r2 * ((R3 + r * R4) + r2 * (R5 + r * R6)));
  const ni = reinterpret<i32>(k) - reinterpret<i32>(ROUND);
  const n1 = ni >> 1;
  return p * reinterpret<f32>((n1 + 127) << 23) * reinterpret<f32>((ni - n1 + 127) << 23);
}

/** erfc(z) for z ≥ ½ (z > Z_MAX: 0; NaN stays NaN). */
// @ts-ignore: decorator
@inline function erfcTail(z: f32): f32 {
  const zc = min<f32>(z, Z_MAX);
  const u = (ALPHA + BETA * zc) / (<f32>1 + <f32>0.5 * zc);
  const u2 = u * u, u4 = u2 * u2;
  const lo = (C0 + u * C1) + u2 * (C2 + u * C3), hi = (C4 + u * C5) + u2 * (C6 + u * C7);
  const r = lo + u4 * (hi + u4 * (C8 + u * C9));
  const c = r * expNeg(-(zc * zc));
  return z > Z_MAX ? 0 : c;
}

/** erf(x) for |x| < ½. */
// @ts-ignore: decorator
@inline function erfSmall(x: f32): f32 {
  const u = x * x;
  return x * (P0 + u * (P1 + u * (P2 + u * (P3 + u * P4))));
}

export function erf_f32(x: f32): f32 {
  const z = abs<f32>(x);
  return z < <f32>0.5 ? erfSmall(x) : copysign<f32>(<f32>1 - erfcTail(z), x);
}

export function gelu_f32(x: f32): f32 {
  const z = x * SQRT1_2;
  const h = <f32>0.5 * x;
  if (abs<f32>(z) < <f32>0.5) return h * (<f32>1 + erfSmall(z));
  const c = erfcTail(abs<f32>(z));
  return h * (x > 0 ? <f32>2 - c : c);
}

/**
 * The f32x4 forms' constants, each read by a splatting load where it is used: V8 rebuilds a
 * v128 constant at every use (two or three instructions; the loop has more constants than
 * registers), a load32_splat is one load (13 bytes less per use). With the one-instruction
 * pmin below: Gelu 0.82–0.90× the time (512k elements, relaxed, same process). Two vectors per
 * iteration did not help (1.00×, +1.5 kB).
 */
const CONSTS: usize = memory.data<f32>([
  1, 0.5, Z_MAX, ROUND, SQRT1_2, R1, R2, R3, R4, R5, R6, C0, C1, C2, C3, C4, C5, C6, C7, C8, C9,
  P0, P1, P2, P3, P4, LOG2E, LN2_HI, LN2_LO, 2, 0,
  reinterpret<f32>(127), reinterpret<f32>(reinterpret<i32>(ROUND)), reinterpret<f32>(<i32>0x80000000), ALPHA, BETA,
]);
// Indices into CONSTS (C_I127, C_IROUND, C_ISIGN: i32 bit patterns).
const C_1 = 0, C_0_5 = 1, C_Z_MAX = 2, C_ROUND = 3, C_SQRT1_2 = 4, C_R1 = 5, C_R2 = 6, C_R3 = 7,
  C_R4 = 8, C_R5 = 9, C_R6 = 10, C_C0 = 11, C_C1 = 12, C_C2 = 13, C_C3 = 14, C_C4 = 15, C_C5 = 16,
  C_C6 = 17, C_C7 = 18, C_C8 = 19, C_C9 = 20, C_P0 = 21, C_P1 = 22, C_P2 = 23, C_P3 = 24,
  C_P4 = 25, C_LOG2E = 26, C_LN2_HI = 27, C_LN2_LO = 28, C_2 = 29, C_0 = 30, C_I127 = 31,
  C_IROUND = 32, C_ISIGN = 33, C_ALPHA = 34, C_BETA = 35;
// @ts-ignore: decorator
@inline function sp(i: i32): v128 {
  return v128.load32_splat(CONSTS + (<usize>i << 2));
}

/** expNeg lane-wise: the same f32 operations in the same order, so the same bits. */
// @ts-ignore: decorator
@inline export function expNeg4(a: v128): v128 {
  const k = f32x4.add(f32x4.mul(a, sp(C_LOG2E)), sp(C_ROUND));
  const n = f32x4.sub(k, sp(C_ROUND));
  const r = f32x4.sub(f32x4.sub(a, f32x4.mul(n, sp(C_LN2_HI))), f32x4.mul(n, sp(C_LN2_LO)));
  const r2 = f32x4.mul(r, r);
  const e12 = f32x4.add(sp(C_R1), f32x4.mul(r, sp(C_R2))), e34 = f32x4.add(sp(C_R3), f32x4.mul(r, sp(C_R4)));
  const e56 = f32x4.add(sp(C_R5), f32x4.mul(r, sp(C_R6)));
  const p = f32x4.add(sp(C_1), f32x4.mul(r, f32x4.add(e12, f32x4.mul(r2, f32x4.add(e34, f32x4.mul(r2, e56))))));
  const ni = i32x4.sub(k, sp(C_IROUND));
  const n1 = i32x4.shr_s(ni, 1);
  const s1 = i32x4.shl(i32x4.add(n1, sp(C_I127)), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(ni, n1), sp(C_I127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

// @ts-ignore: decorator
@inline function erfcTail4(z: v128): v128 {
  const zc = f32x4.pmin(z, sp(C_Z_MAX)); // = min for z ≥ 0 and NaN (one instruction)
  const u = f32x4.div(f32x4.add(sp(C_ALPHA), f32x4.mul(sp(C_BETA), zc)), f32x4.add(sp(C_1), f32x4.mul(sp(C_0_5), zc)));
  const u2 = f32x4.mul(u, u), u4 = f32x4.mul(u2, u2);
  const e01 = f32x4.add(sp(C_C0), f32x4.mul(u, sp(C_C1))), e23 = f32x4.add(sp(C_C2), f32x4.mul(u, sp(C_C3)));
  const e45 = f32x4.add(sp(C_C4), f32x4.mul(u, sp(C_C5))), e67 = f32x4.add(sp(C_C6), f32x4.mul(u, sp(C_C7)));
  const e89 = f32x4.add(sp(C_C8), f32x4.mul(u, sp(C_C9)));
  const lo = f32x4.add(e01, f32x4.mul(u2, e23)), hi = f32x4.add(e45, f32x4.mul(u2, e67));
  const r = f32x4.add(lo, f32x4.mul(u4, f32x4.add(hi, f32x4.mul(u4, e89))));
  const c = f32x4.mul(r, expNeg4(f32x4.neg(f32x4.mul(zc, zc))));
  return v128.andnot(c, f32x4.gt(z, sp(C_Z_MAX)));
}

// @ts-ignore: decorator
@inline function erfSmall4(x: v128): v128 {
  const u = f32x4.mul(x, x);
  let p = f32x4.add(sp(C_P3), f32x4.mul(u, sp(C_P4)));
  p = f32x4.add(sp(C_P2), f32x4.mul(u, p));
  p = f32x4.add(sp(C_P1), f32x4.mul(u, p));
  p = f32x4.add(sp(C_P0), f32x4.mul(u, p));
  return f32x4.mul(x, p);
}

/** erf (gelu = 0) or gelu of the four lanes of v, as erf_f32 / gelu_f32. */
// @ts-ignore: decorator
@inline function erfGelu4(v: v128, gelu: bool): v128 {
  const z = gelu ? f32x4.mul(v, sp(C_SQRT1_2)) : v;
  const za = f32x4.abs(z);
  const small = f32x4.lt(za, sp(C_0_5));
  const c = erfcTail4(za);
  if (gelu) {
    const tail = v128.bitselect(f32x4.sub(sp(C_2), c), c, f32x4.gt(v, sp(C_0)));
    const w = v128.bitselect(f32x4.add(sp(C_1), erfSmall4(z)), tail, small);
    return f32x4.mul(f32x4.mul(sp(C_0_5), v), w);
  }
  const sign = sp(C_ISIGN);
  const tail = v128.or(v128.andnot(f32x4.sub(sp(C_1), c), sign), v128.and(v, sign));
  return v128.bitselect(erfSmall4(v), tail, small);
}

/** y[i] = erf(x[i]) (gelu = 0) or gelu(x[i]) for i < n & ~3, the lanes as erf_f32 / gelu_f32. */
export function erf_gelu_f32x4(x: usize, y: usize, n: i32, gelu: bool): void {
  for (let i = 0; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, erfGelu4(v128.load(x + o), gelu));
  }
}
