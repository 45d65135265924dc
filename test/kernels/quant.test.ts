// quantize_linear / dequantize_linear / dynamic_quantize_linear_f32 on every build, bit-exact
// against the scalar references and against an independent JS model of the ONNX reference
// (numpy in the tensors' float types; float8/float4 conversion through the Cast kernel).

import { describe, expect, it } from 'vitest';
import { byteLength, dtypeBits, dtypeCode, type DType } from '../../src/ir/dtype.js';
import { numel } from '../../src/ir/tensor.js';
import { quantDescriptor } from '../../src/ops/quant.js';
import { decodeFloatBits } from '../../scripts/lib/floats.js';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';

type Kind = 'tensor' | 'axis' | 'block';
const RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int4: [-8, 7], uint4: [0, 15], int2: [-2, 1], uint2: [0, 3],
};
const FLOAT8: DType[] = ['float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz'];

function rne(v: number): number {
  if (!Number.isFinite(v)) return v;
  const f = Math.floor(v);
  const d = v - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}

function readInt(dt: DType, b: Uint8Array, i: number): number {
  const bits = dtypeBits(dt);
  const signed = dt.startsWith('int');
  let v: number;
  if (bits < 8) v = (b[(i * bits) >> 3] >> ((i * bits) & 7)) & ((1 << bits) - 1);
  else {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (bits === 32) return dv.getInt32(i * 4, true);
    v = bits === 16 ? dv.getUint16(i * 2, true) : b[i];
  }
  return signed && v >= 1 << (bits - 1) ? v - (1 << bits) : v;
}

/** Scale index of element e, from its multi-index (independent of the kernel descriptor). */
function scaleIndexOf(dims: number[], kind: Kind, axis: number, block: number, e: number): number {
  if (kind === 'tensor') return 0;
  const idx: number[] = [];
  for (let a = dims.length - 1, r = e; a >= 0; a--) { idx[a] = r % dims[a]; r = Math.floor(r / dims[a]); }
  if (kind === 'axis') return idx[axis];
  let k = 0;
  for (let a = 0; a < dims.length; a++) k = k * (a === axis ? Math.ceil(dims[a] / block) : dims[a]) + (a === axis ? Math.floor(idx[a] / block) : idx[a]);
  return k;
}

function scaleDims(dims: number[], kind: Kind, axis: number, block: number): number[] {
  if (kind === 'tensor') return [];
  if (kind === 'axis') return [dims[axis]];
  return dims.map((d, a) => (a === axis ? Math.ceil(d / block) : d));
}

class Quant {
  constructor(readonly box: KernelBox) {}
  /** Rounds f32 values to dt through the Cast kernel (the conversion the spec names). */
  castBytes(to: DType, v: Float32Array, saturate = 1): Uint8Array {
    const x = this.box.put(v);
    const y = this.box.alloc(byteLength(to, v.length));
    expect(this.box.call('cast', 1, dtypeCode(to), x, y, v.length, saturate)).toBe(0);
    return this.box.u8(y, byteLength(to, v.length));
  }
  roundTo(dt: DType, v: number[]): number[] {
    if (dt === 'float32') return v.map(Math.fround);
    return decodeFloatBits(dt, this.castBytes(dt, Float32Array.from(v)), v.length)!;
  }
}

interface QCase { xdt: DType; sdt: DType; ydt: DType; prec: DType; dims: number[]; kind: Kind; axis: number; block: number; zp: boolean; saturate: number }

/** f32 values around the quantization grid: ties, saturation, NaN, ±Inf, −0. */
function inputValues(r: () => number, n: number, scales: number[], lo: number, hi: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = scales[i % scales.length];
    const pick = r();
    if (pick < 0.4) v[i] = (Math.floor(r() * (hi - lo + 6)) + lo - 3 + 0.5) * s; // ties (k + 0.5)·s
    else if (pick < 0.9) v[i] = (r() * (hi - lo + 8) + lo - 4) * s;
    else v[i] = [NaN, Infinity, -Infinity, -0, 1e30, -1e30, 3e38][Math.floor(r() * 7)];
  }
  return v;
}

function runQuantize(box: KernelBox, c: QCase, seed: number): void {
  const r = rng(seed);
  const q = new Quant(box);
  box.reset();
  const n = numel(c.dims);
  const sd = scaleDims(c.dims, c.kind, c.axis, c.block);
  const ns = Math.max(1, numel(sd));
  const [lo, hi] = RANGE[c.ydt] ?? [-6, 6];
  // Power-of-two scales keep (k + 0.5)·s exact, so ties really are ties; others are arbitrary.
  const sVals = Float32Array.from({ length: ns }, () => (r() < 0.5 ? 2 ** (Math.floor(r() * 8) - 4) : 0.01 + r() * 3));
  const sBytes = c.sdt === 'float32' ? new Uint8Array(sVals.buffer) : q.castBytes(c.sdt, sVals);
  const scales = decodeFloatBits(c.sdt, sBytes, ns)!;
  const xF32 = inputValues(r, n, Array.from({ length: n }, (_, e) => scales[scaleIndexOf(c.dims, c.kind, c.axis, c.block, e)]), lo, hi);
  const xBytes = c.xdt === 'float32' ? new Uint8Array(xF32.buffer) : c.xdt === 'int32' ? new Uint8Array(Int32Array.from(xF32, (v) => (Number.isFinite(v) ? Math.max(-2e9, Math.min(2e9, Math.round(v))) : 7)).buffer) : q.castBytes(c.xdt, xF32);
  const xs = c.xdt === 'int32' ? Array.from(new Int32Array(xBytes.buffer, xBytes.byteOffset, n)) : decodeFloatBits(c.xdt, xBytes, n)!;
  let zBytes: Uint8Array | undefined;
  if (c.zp) {
    zBytes = new Uint8Array(byteLength(c.ydt, ns));
    if (c.ydt === 'float4e2m1') for (let i = 0; i < zBytes.length; i++) zBytes[i] = Math.floor(r() * 256);
    else if (RANGE[c.ydt]) for (let i = 0; i < zBytes.length; i++) zBytes[i] = Math.floor(r() * 256);
  }
  // Expected: q = P(P(x) / P(s)), then the output conversion.
  const xp = q.roundTo(c.prec, xs);
  const sp = q.roundTo(c.prec, scales);
  const quot = q.roundTo(c.prec, xp.map((x, e) => Math.fround(x / sp[scaleIndexOf(c.dims, c.kind, c.axis, c.block, e)])));
  let want: Uint8Array;
  if (RANGE[c.ydt]) {
    want = new Uint8Array(byteLength(c.ydt, n));
    const bits = dtypeBits(c.ydt);
    for (let e = 0; e < n; e++) {
      const z = zBytes ? readInt(c.ydt, zBytes, scaleIndexOf(c.dims, c.kind, c.axis, c.block, e)) : 0;
      let t = rne(quot[e]) + z;
      t = Number.isNaN(t) ? lo : Math.min(hi, Math.max(lo, t));
      const u = t & ((1 << bits) - 1);
      if (bits < 8) want[(e * bits) >> 3] |= u << ((e * bits) & 7);
      else for (let b = 0; b < bits; b += 8) want[(e * bits + b) / 8] = (u >> b) & 255;
    }
  } else if (c.ydt === 'float4e2m1') {
    const zs = zBytes ? decodeFloatBits('float4e2m1', zBytes, ns)! : undefined;
    want = q.castBytes(c.ydt, Float32Array.from(q.roundTo(c.prec, quot.map((v, e) => Math.fround(v + (zs ? zs[scaleIndexOf(c.dims, c.kind, c.axis, c.block, e)] : 0))))));
  } else {
    want = q.castBytes(c.ydt, Float32Array.from(quot), c.saturate);
  }
  const d = box.put(quantDescriptor(c.dims, c.kind, c.axis, c.block));
  const px = box.put(xBytes), ps = box.put(sBytes), pz = zBytes ? box.put(zBytes) : 0;
  for (const kernel of ['quantize_linear', 'quantize_linear__ref']) {
    const py = box.alloc(want.length);
    const rc = box.call(kernel, dtypeCode(c.xdt), dtypeCode(c.sdt), dtypeCode(c.ydt), dtypeCode(c.prec), px, ps, pz, py, d, c.saturate);
    expect(rc).toBe(0);
    const got = box.u8(py, want.length);
    for (let i = 0; i < want.length; i++) {
      if (got[i] !== want[i]) expect.fail(`${kernel} seed ${seed} ${JSON.stringify(c)} byte ${i}: ${got[i]} vs ${want[i]}`);
    }
  }
}

interface DqCase { xdt: DType; sdt: DType; ydt: DType; dims: number[]; kind: Kind; axis: number; block: number; zp: boolean }

function runDequantize(box: KernelBox, c: DqCase, seed: number): void {
  const r = rng(seed);
  const q = new Quant(box);
  box.reset();
  const n = numel(c.dims);
  const sd = scaleDims(c.dims, c.kind, c.axis, c.block);
  const ns = Math.max(1, numel(sd));
  const sVals = Float32Array.from({ length: ns }, () => (r() - 0.3) * 4);
  const sBytes = c.sdt === 'float32' ? new Uint8Array(sVals.buffer) : q.castBytes(c.sdt, sVals);
  const scales = decodeFloatBits(c.sdt, sBytes, ns)!;
  const xBytes = Uint8Array.from({ length: byteLength(c.xdt, n) }, () => Math.floor(r() * 256));
  const isInt = c.xdt in RANGE || c.xdt === 'int32';
  const zBytes = c.zp ? (isInt ? Uint8Array.from({ length: byteLength(c.xdt, ns) }, () => Math.floor(r() * 256)) : new Uint8Array(byteLength(c.xdt, ns))) : undefined;
  const f32 = new Float32Array(n);
  const xs = isInt ? undefined : decodeFloatBits(c.xdt, xBytes, n)!;
  for (let e = 0; e < n; e++) {
    const k = scaleIndexOf(c.dims, c.kind, c.axis, c.block, e);
    if (!isInt) f32[e] = Math.fround(xs![e] * scales[k]);
    else {
      const x = readInt(c.xdt, xBytes, e);
      const z = zBytes ? readInt(c.xdt, zBytes, k) : 0;
      f32[e] = Math.fround((Math.fround(x) - z) * scales[k]);
    }
  }
  const want = c.ydt === 'float32' ? new Uint8Array(f32.buffer) : q.castBytes(c.ydt, f32);
  const d = box.put(quantDescriptor(c.dims, c.kind, c.axis, c.block));
  const px = box.put(xBytes), ps = box.put(sBytes), pz = zBytes ? box.put(zBytes) : 0;
  const wantVals = decodeFloatBits(c.ydt, want, n)!;
  for (const kernel of ['dequantize_linear', 'dequantize_linear__ref']) {
    const py = box.alloc(want.length);
    expect(box.call(kernel, dtypeCode(c.xdt), dtypeCode(c.sdt), dtypeCode(c.ydt), px, ps, pz, py, d)).toBe(0);
    const got = decodeFloatBits(c.ydt, box.u8(py, want.length), n)!;
    for (let i = 0; i < n; i++) {
      // NaN payloads are not specified by wasm arithmetic; every other value must match bit for bit.
      if (!(Object.is(got[i], wantVals[i]) || (Number.isNaN(got[i]) && Number.isNaN(wantVals[i])))) {
        expect.fail(`${kernel} seed ${seed} ${JSON.stringify(c)} [${i}]: ${got[i]} vs ${wantVals[i]}`);
      }
    }
  }
}

// Ragged shapes around the 16-wide SIMD step, for each granularity (axis first, middle, last).
const SHAPES: { dims: number[]; kind: Kind; axis: number; block: number }[] = [
  ...[1, 15, 16, 17, 33, 100].map((n) => ({ dims: [n], kind: 'tensor' as Kind, axis: 0, block: 0 })),
  { dims: [3, 5, 7], kind: 'tensor', axis: 0, block: 0 },
  { dims: [2, 3, 17], kind: 'axis', axis: 1, block: 0 },
  { dims: [4, 33], kind: 'axis', axis: 0, block: 0 },
  { dims: [3, 35], kind: 'axis', axis: 1, block: 0 },
  { dims: [2, 3, 16], kind: 'axis', axis: 2, block: 0 },
  { dims: [2, 37], kind: 'block', axis: 1, block: 16 },
  { dims: [2, 40, 3], kind: 'block', axis: 1, block: 16 },
  { dims: [7, 18], kind: 'block', axis: 0, block: 3 },
  { dims: [5, 3, 2, 17], kind: 'block', axis: 2, block: 5 },
];

const Q_TYPES: { xdt: DType; sdt: DType; prec: DType; ydt: DType }[] = [
  ...(['uint8', 'int8', 'int16', 'uint16', 'int4', 'uint4', 'int2', 'uint2', ...FLOAT8, 'float4e2m1'] as DType[]).map((ydt) => ({ xdt: 'float32' as DType, sdt: 'float32' as DType, prec: 'float32' as DType, ydt })),
  { xdt: 'float16', sdt: 'float16', prec: 'float16', ydt: 'int8' },
  { xdt: 'bfloat16', sdt: 'bfloat16', prec: 'bfloat16', ydt: 'uint8' },
  { xdt: 'float32', sdt: 'float16', prec: 'float16', ydt: 'uint4' },
  { xdt: 'float16', sdt: 'float16', prec: 'float32', ydt: 'float8e4m3fn' },
  { xdt: 'int32', sdt: 'float32', prec: 'float32', ydt: 'int16' },
];

const DQ_TYPES: { xdt: DType; sdt: DType; ydt: DType }[] = [
  ...(['uint8', 'int8', 'int16', 'uint16', 'int32', 'int4', 'uint4', 'int2', 'uint2', ...FLOAT8, 'float4e2m1'] as DType[]).map((xdt) => ({ xdt, sdt: 'float32' as DType, ydt: 'float32' as DType })),
  { xdt: 'float8e4m3fn', sdt: 'float16', ydt: 'float16' },
  { xdt: 'int8', sdt: 'bfloat16', ydt: 'bfloat16' },
  { xdt: 'uint8', sdt: 'float16', ydt: 'float32' },
];

describe.each(ALL_BACKENDS)('quantize / dequantize kernels (%s)', (backend) => {
  const box = new KernelBox(backend);

  it('QuantizeLinear matches the reference for every type and granularity, bit for bit', () => {
    let seed = 100;
    for (const t of Q_TYPES) for (const s of SHAPES) for (const zp of [false, true]) {
      if (zp && FLOAT8.includes(t.ydt)) continue;
      for (const saturate of FLOAT8.includes(t.ydt) ? [0, 1] : [1]) runQuantize(box, { ...t, ...s, zp, saturate }, seed++);
    }
  });

  it('DequantizeLinear matches the reference for every type and granularity, bit for bit', () => {
    let seed = 500;
    for (const t of DQ_TYPES) for (const s of SHAPES) for (const zp of [false, true]) runDequantize(box, { ...t, ...s, zp }, seed++);
  });

  it('rejects nonzero float8 zero points and unknown type combinations', () => {
    box.reset();
    const d = box.put(quantDescriptor([4], 'tensor', 0, 0));
    const x = box.put(new Float32Array(4)), s = box.put(Float32Array.of(1)), y = box.alloc(16);
    expect(box.call('quantize_linear', 1, 1, dtypeCode('float8e4m3fn'), 1, x, s, box.put(Uint8Array.of(0x38)), y, d, 1)).toBe(2);
    expect(box.call('quantize_linear', 1, 1, dtypeCode('float8e4m3fn'), 1, x, s, box.put(Uint8Array.of(0x80)), y, d, 1)).toBe(0);
    expect(box.call('dequantize_linear', dtypeCode('float8e5m2'), 1, 1, x, s, box.put(Uint8Array.of(1)), y, d)).toBe(2);
    expect(box.call('quantize_linear', dtypeCode('int64'), 1, 2, 1, x, s, 0, y, d, 1)).toBe(1);
    expect(box.call('dequantize_linear', 2, 1, dtypeCode('int8'), x, s, 0, y, d)).toBe(1);
  });

  it('DynamicQuantizeLinear computes scale, zero point and y as the reference does', () => {
    const r = rng(9);
    const cases: Float32Array[] = [
      ...[1, 3, 4, 15, 16, 17, 63, 200].map((n) => Float32Array.from({ length: n }, () => (r() - 0.3) * 10)),
      Float32Array.from({ length: 37 }, () => r() * 5), // all positive: min widened to 0
      Float32Array.from({ length: 21 }, () => -r() * 5), // all negative: max widened to 0
      new Float32Array(19), // all zero: scale 1 (onnxruntime)
      Float32Array.of(1, NaN, -2, 3, NaN, 0.5, -0.25, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    ];
    for (const x of cases) {
      box.reset();
      let lo = 0, hi = 0;
      for (const v of x) { if (v < lo) lo = v; if (v > hi) hi = v; }
      const scale = hi === lo ? 1 : Math.fround(Math.fround(hi - lo) / 255);
      const zp = rne(Math.min(255, Math.max(0, Math.fround(0 - Math.fround(lo / scale)))));
      const want = Array.from(x, (v) => {
        const t = rne(Math.fround(v / scale)) + zp;
        return Number.isNaN(t) ? 0 : Math.min(255, Math.max(0, t));
      });
      const px = box.put(x), py = box.alloc(x.length), ps = box.alloc(4), pz = box.alloc(1);
      expect(box.call('dynamic_quantize_linear_f32', px, x.length, py, ps, pz)).toBe(0);
      expect(box.f32(ps, 1)[0]).toBe(scale);
      expect(box.u8(pz, 1)[0]).toBe(zp);
      expect(Array.from(box.u8(py, x.length))).toEqual(want);
    }
  });
});
