// erf and Gelu on float32 (assembly/erf_f32.ts through the unary kernel): every build gives the
// same bits, and the error against float64 maths (erf by its positive series below 2.5 and by
// the erfc continued fraction above) is bounded on a dense sweep of f32 values, tails and
// specials included.

import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox } from '../support/kernels.js';

const U_ERF = 5, U_GELU = 14, DT_F32 = 1;

/** erf(x), erfc(x) for x ≥ 0 in float64 (relative error ~1e-15 on each). */
function erfPair(x: number): [number, number] {
  if (x < 2.5) {
    // erf(x) = 2/√π·e^(−x²)·Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)): positive terms, no cancellation.
    let term = x, sum = x;
    for (let n = 1; term > 1e-18 * sum; n++) { term *= 2 * x * x / (2 * n + 1); sum += term; }
    const erf = (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
    return [erf, 1 - erf];
  }
  // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))).
  let k = x;
  for (let n = 400; n >= 1; n--) k = x + (n / 2) / k;
  const erfc = Math.exp(-x * x) / (Math.sqrt(Math.PI) * k);
  return [1 - erfc, erfc];
}
const erf64 = (x: number): number => (x < 0 ? -erfPair(-x)[0] : erfPair(x)[0]);
const gelu64 = (x: number): number => 0.5 * x * (x >= 0 ? 1 + erfPair(x * Math.SQRT1_2)[0] : erfPair(-x * Math.SQRT1_2)[1]);

/** The f32 spacing at v (rounded to f32), 2^-149 at least. */
function ulp(v: number): number {
  const a = Math.abs(Math.fround(v));
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** ±x for every 61st f32 bit pattern from 2^-40 to 64, then specials and branch edges. */
function sweep(): Float32Array {
  const bits: number[] = [];
  const lo = new Uint32Array(Float32Array.of(2 ** -40).buffer)[0], hi = new Uint32Array(Float32Array.of(64).buffer)[0];
  for (let b = lo; b <= hi; b += 61) bits.push(b);
  const pos = new Float32Array(new Uint32Array(bits).buffer);
  const f = (v: number) => Math.fround(v);
  const edges = [0, 1e-45, 1e-38, 1, f(1 - 2 ** -24), f(1 + 2 ** -23), Math.SQRT2, f(Math.SQRT2 * (1 - 2 ** -24)), 10, f(10 * Math.SQRT2), 14.5, 100, 1e30, 3.4e38, Infinity];
  const out = new Float32Array(2 * (pos.length + edges.length) + 1);
  out.set(pos);
  out.set(pos.map((v) => -v), pos.length);
  out.set(edges, 2 * pos.length);
  out.set(edges.map((v) => -v), 2 * pos.length + edges.length);
  out[out.length - 1] = NaN;
  return out;
}

function run(backend: (typeof ALL_BACKENDS)[number], op: number, x: Float32Array): Float32Array {
  const box = new KernelBox(backend);
  const xa = box.put(x), ya = box.alloc(4 * x.length);
  box.call('unary', op, DT_F32, xa, ya, x.length, 0, 0);
  return box.f32(ya, x.length).slice();
}

const X = sweep();

describe.each([['Erf', U_ERF, erf64], ['Gelu', U_GELU, gelu64]] as const)('%s f32', (name, op, ref) => {
  const ys = ALL_BACKENDS.map((b) => run(b, op, X));

  it('is the same in every build (bits; NaN as NaN)', () => {
    const bits = ys.map((y) => new Uint32Array(y.buffer));
    for (let b = 1; b < ys.length; b++) {
      for (let i = 0; i < X.length; i++) {
        if (Number.isNaN(ys[0][i]) && Number.isNaN(ys[b][i])) continue;
        if (bits[b][i] !== bits[0][i]) expect.fail(`${ALL_BACKENDS[b]}: ${name}(${X[i]}) = ${ys[b][i]}, scalar ${ys[0][i]}`);
      }
    }
  });

  it('keeps its error bound against float64', () => {
    const y = ys[0];
    let worstUlp = 0, worstAt = 0, worstRel = 0, worstRelAt = 0;
    for (let i = 0; i < X.length; i++) {
      const x = X[i];
      if (!Number.isFinite(x)) continue;
      const r = ref(x);
      const e = Math.abs(y[i] - r);
      // Gelu where z = x/√2 ≤ −½ (½x·erfc(−z)): relative error in units of (x²/2 + 1)·2^-24 — the
      // f32 roundings of z² and of the exponent beside it — plus |x|·2^-149 once erfc is subnormal.
      if (name === 'Gelu' && x < -0.7) {
        const rel = (e - Math.abs(x) * 2 ** -149) / Math.abs(r) / ((x * x / 2 + 1) * 2 ** -24);
        if (r !== 0 && rel > worstRel) [worstRel, worstRelAt] = [rel, x];
        continue;
      }
      const u = e / ulp(r);
      if (u > worstUlp) [worstUlp, worstAt] = [u, x];
    }
    expect(worstUlp, `worst at x = ${worstAt}`).toBeLessThanOrEqual(3.5); // measured: erf 2.44 ulp (x ≈ 0.52), Gelu 2.97 (x ≈ −0.66)
    expect(worstRel, `worst at x = ${worstRelAt}`).toBeLessThanOrEqual(6); // measured 4.38
  });

  it('handles ±0, ±∞ and NaN', () => {
    const y = run('simd', op, Float32Array.of(0, -0, Infinity, -Infinity, NaN, 3, -3, 5));
    expect(Object.is(y[0], 0) && Object.is(y[1], -0)).toBe(true);
    expect(Number.isNaN(y[4])).toBe(true);
    if (name === 'Erf') expect([y[2], y[3]]).toEqual([1, -1]);
    else {
      expect(y[2]).toBe(Infinity);
      expect(Number.isNaN(y[3])).toBe(true); // −∞·erfc(∞) = −∞·0
    }
  });
});
