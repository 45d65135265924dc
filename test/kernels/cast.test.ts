import { describe, expect, it } from 'vitest';
import { ALL_DTYPES, byteLength, dtypeCode, type DType } from '../../src/ir/dtype.js';
import { decodeFloatBits } from '../../scripts/lib/floats.js';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';

const TYPES = ALL_DTYPES.filter((d) => d !== 'string');
const F8 = ['float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz'] as const;
const MODE = { saturate: 1, down: 2, nearest: 4 };
const LENGTHS = [1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 257, 300];
const N = 300;

const f32Bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];
const F32_SPECIALS = [
  0, -0, NaN, -NaN, Infinity, -Infinity, 1.401298464324817e-45, -1.401298464324817e-45, 1.1754942106924411e-38,
  3.4028234663852886e38, -3.4028234663852886e38, 1, -1, 0.5, -1.5, 2.5, 300.7, -300.7, 3e9, -3e9, 2 ** 31, 2 ** 63,
  -(2 ** 63), 2 ** 64, 1e30, -1e30,
  // f16: max, overflow halfway, halfway cases (ties to even both ways), subnormal boundary and halfway
  65504, 65519, 65520, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -14 - 2 ** -25,
  // bf16 halfway cases
  1 + 2 ** -8, 1 + 3 * 2 ** -8,
  // float8 maxima, overflow thresholds and halfway points
  448, 449, 464, 465, 480, 240, 247, 248, 57344, 61439, 61440, 2 ** -9, 2 ** -10, 3 * 2 ** -10, 2 ** -17, 2 ** -18,
  // float4: halfway cases, maximum and overflow
  0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 6, 7, 8,
  // e8m0: exact powers, 1.5·2^k ties, near limits
  0.124, 0.125, 1.1, 1.5, 3, 2 ** 127, 2 ** 128, 2 ** -127, 2 ** -128, 2 ** -130,
];
const INT_SPECIALS = [0n, 1n, -1n, 127n, -128n, 255n, 256n, 32767n, -32768n, 65535n, 2n ** 31n - 1n, -(2n ** 31n),
  2n ** 32n - 1n, 2n ** 53n + 1n, 2n ** 62n + 2n ** 54n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 7n, -8n, 15n, 3n, -2n];

/** N elements of dtype dt: special values first, then random bit patterns. */
function inputBytes(dt: DType, r: () => number): Uint8Array {
  const out = new Uint8Array(byteLength(dt, N));
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(r() * 256);
  const dv = new DataView(out.buffer);
  const n = Math.min(N, dt === 'float32' || dt === 'float64' ? F32_SPECIALS.length : INT_SPECIALS.length);
  for (let i = 0; i < n; i++) {
    if (dt === 'float32') dv.setFloat32(i * 4, F32_SPECIALS[i], true);
    else if (dt === 'float64') dv.setFloat64(i * 8, F32_SPECIALS[i], true);
    else if (dt === 'int64' || dt === 'uint64') dv.setBigInt64(i * 8, INT_SPECIALS[i], true);
    else if (dt === 'int32' || dt === 'uint32') dv.setInt32(i * 4, Number(BigInt.asIntN(32, INT_SPECIALS[i])), true);
  }
  return out;
}

function modesFor(to: DType): number[] {
  if (to === 'float8e8m0') return [0, 1, 2, 3, 4, 5];
  return (F8 as readonly string[]).includes(to) ? [0, 1] : [1];
}

function runCast(box: KernelBox, kernel: string, from: DType, to: DType, src: Uint8Array, n: number, mode: number): Uint8Array {
  box.reset();
  const x = box.put(src.subarray(0, byteLength(from, n)));
  const len = byteLength(to, n);
  const y = box.alloc(len);
  box.m.u8().fill(0xa5, y, y + len);
  expect(box.call(kernel, dtypeCode(from), dtypeCode(to), x, y, n, mode)).toBe(0);
  return box.u8(y, len).slice();
}

describe('cast: every build matches cast__ref bit-exactly', () => {
  const ref = new KernelBox('scalar');
  const boxes = ALL_BACKENDS.map((b) => new KernelBox(b));
  it.each(TYPES)('from %s to every type, all lengths and modes', (from) => {
    const seed = 0xca57 + dtypeCode(from);
    const src = inputBytes(from, rng(seed));
    for (const to of TYPES) for (const mode of modesFor(to)) for (const n of LENGTHS) {
      const want = runCast(ref, 'cast__ref', from, to, src, n, mode);
      for (const box of boxes) {
        const got = runCast(box, 'cast', from, to, src, n, mode);
        if (!got.every((b, i) => b === want[i])) {
          const i = got.findIndex((b, k) => b !== want[k]);
          expect.fail(`${box.backend} ${from}→${to} mode ${mode} n ${n} seed ${seed}: byte ${i} is ${got[i]}, reference ${want[i]}`);
        }
      }
    }
  });

  it('rejects unknown dtype codes', () => {
    expect(ref.call('cast', 8, 1, 0, 0, 0, 1)).toBe(1);
    expect(ref.call('cast__ref', 1, 99, 0, 0, 0, 1)).toBe(1);
  });
});

// ---- independent checks of the reference semantics -------------------------------------------

const box = new KernelBox('scalar');
const castRef = (from: DType, to: DType, src: Uint8Array, n: number, mode = 1) => runCast(box, 'cast__ref', from, to, src, n, mode);
const f32Array = (v: number[]) => new Uint8Array(new Float32Array(v).buffer);

const tables = new Map<DType, { code: number; value: number }[]>();

/** Finite non-negative values of a format with their codes, ascending. */
function finiteCodes(to: DType, bits: number): { code: number; value: number }[] {
  let codes = tables.get(to);
  if (!codes) {
    codes = [];
    for (let c = 0; c < 1 << (bits - 1); c++) {
      const b = bits === 16 ? new Uint8Array(new Uint16Array([c]).buffer) : new Uint8Array([c]);
      const value = decodeFloatBits(to, b, 1)![0];
      if (Number.isFinite(value)) codes.push({ code: c, value });
    }
    tables.set(to, codes);
  }
  return codes;
}

/** Encodes v by searching the format's value table: nearest, ties to the even code. */
function tableEncode(to: DType, v: number, saturate: boolean): number | 'nan' {
  const bits = to === 'float4e2m1' ? 4 : to === 'float16' || to === 'bfloat16' ? 16 : 8;
  const signBit = 1 << (bits - 1);
  const codes = finiteCodes(to, bits);
  const max = codes[codes.length - 1];
  const fnuz = to.endsWith('fnuz');
  const ieee = to === 'float16' || to === 'bfloat16' || to === 'float8e5m2';
  const sign = v < 0 || Object.is(v, -0) ? signBit : 0;
  const overflow = () => {
    if (saturate || to === 'float4e2m1') return sign | max.code;
    return ieee ? 'inf' : 'nan';
  };
  if (Number.isNaN(v)) return to === 'float4e2m1' ? signBit : 'nan';
  const a = Math.abs(v);
  let r: number | 'inf' | 'nan';
  if (a === Infinity) r = overflow();
  else {
    let l = 0;
    let h = codes.length - 1;
    while (l < h) {
      const mid = (l + h + 1) >> 1;
      if (codes[mid].value <= a) l = mid;
      else h = mid - 1;
    }
    const lo = codes[l];
    const next = codes[l + 1];
    const hiValue = next ? next.value : max.value + (max.value - codes[codes.length - 2].value);
    const hiCode = next ? next.code : max.code + 1;
    const pick = a - lo.value < hiValue - a || (a - lo.value === hiValue - a && lo.code % 2 === 0) ? lo.code : hiCode;
    r = pick > max.code ? overflow() : pick === 0 && fnuz ? 0 : sign | pick;
  }
  if (r === 'inf') return sign | (to === 'float16' ? 0x7c00 : to === 'bfloat16' ? 0x7f80 : 0x7c);
  return r;
}

describe('cast__ref semantics', () => {
  it('decodes every bit pattern of the narrow float types like the ONNX definitions', () => {
    for (const from of ['float16', 'bfloat16', ...F8, 'float8e8m0', 'float4e2m1'] as DType[]) {
      const n = from === 'float16' || from === 'bfloat16' ? 65536 : from === 'float4e2m1' ? 16 : 256;
      const src = from === 'float4e2m1' ? new Uint8Array([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe])
        : n === 65536 ? new Uint8Array(new Uint16Array(Array.from({ length: n }, (_, i) => i)).buffer)
          : new Uint8Array(Array.from({ length: n }, (_, i) => i));
      const got = new Float64Array(castRef(from, 'float64', src, n).buffer);
      const want = decodeFloatBits(from, src, n)!;
      for (let i = 0; i < n; i++) {
        if (!(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])))) {
          expect.fail(`${from} code ${i}: ${got[i]}, expected ${want[i]}`);
        }
      }
    }
  });

  it('encodes f32 into every narrow float type by round-to-nearest-even with the ONNX overflow rules', () => {
    const r = rng(77);
    const values = [...F32_SPECIALS];
    for (let i = 0; i < 2000; i++) values.push(new Float32Array(new Uint32Array([Math.floor(r() * 2 ** 32)]).buffer)[0]);
    for (let i = 0; i < 2000; i++) values.push((r() * 2 - 1) * 2 ** Math.floor(r() * 40 - 20));
    const src = f32Array(values);
    const n = values.length;
    for (const to of ['float16', 'bfloat16', ...F8, 'float4e2m1'] as DType[]) {
      for (const saturate of to.startsWith('float8') ? [true, false] : [false]) {
        const out = castRef('float32', to, src, n, saturate ? 1 : 0);
        for (let i = 0; i < n; i++) {
          const got = to === 'float4e2m1' ? (out[i >> 1] >> ((i & 1) * 4)) & 15 : to.startsWith('float8') ? out[i] : out[2 * i] | (out[2 * i + 1] << 8);
          const want = tableEncode(to, Math.fround(values[i]), saturate);
          const gotNaN = Number.isNaN(decodeFloatBits(to, to === 'float4e2m1' ? new Uint8Array([got]) : to.startsWith('float8') ? new Uint8Array([got]) : new Uint8Array([got & 255, got >> 8]), 1)![0]);
          if (want === 'nan' ? !gotNaN : got !== want) expect.fail(`${to} sat=${saturate} of ${values[i]} (0x${f32Bits(values[i]).toString(16)}): 0x${got.toString(16)}, expected ${want === 'nan' ? 'NaN' : '0x' + want.toString(16)}`);
        }
      }
    }
  });

  it('rounds float8e8m0 up, down and to nearest (ties up), saturating or giving NaN', () => {
    const v = [0, 0.124, 0.25, 1.1, 1.5, 1.49, 3, 2 ** 127, 1.5 * 2 ** 127, Infinity, NaN, 2 ** -127, 2 ** -128, 2 ** -129];
    const src = f32Array(v);
    expect([...castRef('float32', 'float8e8m0', src, v.length, MODE.saturate)]).toEqual([0, 124, 125, 128, 128, 128, 129, 254, 254, 254, 255, 0, 0, 0]);
    expect([...castRef('float32', 'float8e8m0', src, v.length, MODE.saturate | MODE.down)]).toEqual([0, 123, 125, 127, 127, 127, 128, 254, 254, 254, 255, 0, 0, 0]);
    expect([...castRef('float32', 'float8e8m0', src, v.length, MODE.nearest)]).toEqual([255, 124, 125, 127, 128, 127, 129, 254, 255, 255, 255, 0, 255, 255]);
  });

  it('truncates floats toward zero and wraps to the target width; NaN gives 0', () => {
    const v = [1.9, -1.9, 300.7, -1, NaN, 3e9, Infinity, -0.5];
    const src = f32Array(v);
    expect([...new Int8Array(castRef('float32', 'int8', src, v.length).buffer)]).toEqual([1, -1, 44, -1, 0, Number(BigInt.asIntN(8, 3000000000n)), -1, 0]);
    expect([...castRef('float32', 'uint8', src, v.length)]).toEqual([1, 255, 44, 255, 0, 0, 255, 0]);
    expect([...castRef('float32', 'bool', src, v.length)]).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    const u64 = new BigUint64Array(castRef('float32', 'uint64', f32Array([1e30, -1, 2 ** 63, NaN]), 4).buffer);
    expect([...u64]).toEqual([2n ** 64n - 1n, 2n ** 64n - 1n, 2n ** 63n, 0n]);
    const i64 = new BigInt64Array(castRef('float32', 'int64', f32Array([1e30, -1e30, -7.5]), 3).buffer);
    expect([...i64]).toEqual([2n ** 63n - 1n, -(2n ** 63n), -7n]);
  });

  it('keeps int64 exact and rounds it once into narrow floats', () => {
    const v = new BigInt64Array([2n ** 62n + 2n ** 54n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n]);
    const bf = new Uint16Array(castRef('int64', 'bfloat16', new Uint8Array(v.buffer), 4).buffer);
    // 2^62 + 2^54 + 1 is just above the bf16 halfway point 2^62 + 2^54: it rounds up, not to even.
    expect(bf[0]).toBe((f32Bits(2 ** 62 + 2 ** 55) >>> 16));
    const f32 = new Float32Array(castRef('int64', 'float32', new Uint8Array(v.buffer), 4).buffer);
    expect([...f32]).toEqual([2 ** 62 + 2 ** 54, 2 ** 63, -(2 ** 63), 2 ** 53]);
    const i32 = new Int32Array(castRef('int64', 'int32', new Uint8Array(v.buffer), 4).buffer);
    expect([...i32]).toEqual([1, -1, 0, 1]);
    const u64 = new BigUint64Array([2n ** 64n - 1n]);
    expect(new Float64Array(castRef('uint64', 'float64', new Uint8Array(u64.buffer), 1).buffer)[0]).toBe(2 ** 64);
  });

  it('packs INT4/UINT4/INT2/UINT2 low bits first, wrapping, with zero padding', () => {
    const v = new Int8Array([-9, -8, 7, 8, 15, -1, 3]);
    expect([...castRef('int8', 'int4', new Uint8Array(v.buffer), 7)]).toEqual([0x87, 0x87, 0xff, 0x03]);
    expect([...castRef('int8', 'uint2', new Uint8Array(v.buffer), 7)]).toEqual([0b00110011, 0b00111111]);
    const back = new Int8Array(castRef('int4', 'int8', new Uint8Array([0x87, 0x87, 0xff, 0x03]), 7).buffer);
    expect([...back]).toEqual([7, -8, 7, -8, -1, -1, 3]);
    const u2 = castRef('uint2', 'uint8', new Uint8Array([0b11100100]), 4);
    expect([...u2]).toEqual([0, 1, 2, 3]);
  });
});
