// QONNX quantizer semantics (FORMATS.md § QONNX) shared by the literal ops (src/ops/qonnx.ts on
// assembly/fakequant.ts) and the pass that folds them into integer layers
// (src/passes/qonnx-quant.ts): kernel codes, rounding modes, integer ranges, and the quantised
// integer t of one element computed in the kernel's f32 operation order, so a value folded here
// equals the one the kernel computes, bit for bit.

/** Kernel codes of assembly/fakequant.ts. */
export const QKIND = { QUANT: 0, QUANT_BIPOLAR: 1, BIPOLAR: 2, TRUNC: 3 } as const;

/** rounding_mode (upper-cased) → kernel code. */
export const ROUNDING: Readonly<Record<string, number>> = { ROUND: 0, HALF_EVEN: 0, CEIL: 1, FLOOR: 2, UP: 3, DOWN: 4, HALF_UP: 5, HALF_DOWN: 6 };

/** Bit widths the clamp bounds stay exact for in f32 arithmetic (and that exporters use). */
export const MAX_BITWIDTH = 32;

/** The kernel code of a rounding_mode attribute (case-insensitive); undefined when unknown. */
export function roundingCode(mode: string): number | undefined {
  const key = mode.toUpperCase();
  return Object.prototype.hasOwnProperty.call(ROUNDING, key) ? ROUNDING[key] : undefined;
}

/** Integer clamp range of Quant (qonnx min_int / max_int), as the f32 values numpy compares with. */
export function intRange(signed: boolean, narrow: boolean, b: number): [number, number] {
  const lo = signed ? -(2 ** (b - 1)) + (narrow ? 1 : 0) : 0;
  const hi = signed ? 2 ** (b - 1) - 1 : 2 ** b - (narrow ? 2 : 1);
  return [Math.fround(lo), Math.fround(hi)];
}

const f = Math.fround;
/** numpy's sign (±0 → +0). */
const signOf = (t: number): number => (t > 0 ? 1 : t < 0 ? -1 : 0);

function halfEven(t: number): number {
  const r = Math.round(t);
  return r - t === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The rounding of `mode` on an f32 t, with assembly/fakequant.ts's f32 intermediate steps. */
function roundMode(mode: number, t: number): number {
  switch (mode) {
    case 0: return halfEven(t);
    case 1: return Math.ceil(t);
    case 2: return Math.floor(t);
    case 3: return signOf(t) * Math.ceil(Math.abs(t));
    case 4: return Math.trunc(t);
    case 5: return signOf(t) * Math.floor(f(Math.abs(t) + 0.5));
    default: return signOf(t) * Math.ceil(f(Math.abs(t) - 0.5));
  }
}

/**
 * The quantised value t of one element before `t − z` (Quant, its 1-bit signed bipolar case,
 * BipolarQuant): an integer, or NaN when x is NaN in QKIND.QUANT. x, s, z are f32 values.
 */
export function quantValue(kind: number, mode: number, x: number, s: number, z: number, lo: number, hi: number): number {
  if (kind === QKIND.BIPOLAR) return x >= 0 ? 1 : -1;
  let t = f(f(x / s) + z);
  if (kind === QKIND.QUANT_BIPOLAR) return t >= 0 ? 1 : -1;
  t = t > hi ? hi : t;
  t = t < lo ? lo : t;
  return roundMode(mode, t);
}

/** The literal op's output for t: (t − z)·s in f32. */
export function dequantValue(t: number, s: number, z: number): number {
  return f(f(t - z) * s);
}
