// Special functions the AssemblyScript standard library lacks.

/**
 * erf(x) in f64 with relative error < 3e-7 everywhere (enough for f32 outputs):
 * - |x| < 0.5: Maclaurin series 2/√π · Σ (−1)^n x^(2n+1) / (n!(2n+1)), 10 terms (truncation
 *   below 1e-16 at |x| = 0.5);
 * - |x| ≥ 0.5: erf = 1 − erfc with the Chebyshev fit erfc(z) ≈ t·exp(−z² + P(t)), t = 1/(1+z/2)
 *   (Numerical Recipes `erfcc`, fractional error < 1.2e-7); erf ≥ 0.52 there, so the relative
 *   error of erf stays below 2.4e-7.
 */
export function erf64(x: f64): f64 {
  const z = Math.abs(x);
  if (z < 0.5) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 10; n++) {
      term *= -x2 / <f64>n;
      sum += term / <f64>(2 * n + 1);
    }
    return sum * 1.1283791670955126;
  }
  if (z > 6.0) return x > 0 ? 1.0 : -1.0;
  const t = 1.0 / (1.0 + 0.5 * z);
  const p = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(p);
  return x > 0 ? 1.0 - erfc : erfc - 1.0;
}
