// Reference decoding of float bit patterns (float16, bfloat16, float8 variants, float4, e8m0)
// for comparisons in tests and tools, written from the ONNX type definitions.

function minifloat(bits: number, ebits: number, mbits: number, bias: number, kind: 'ieee' | 'fn' | 'fnuz' | 'fn4'): number {
  const sign = (bits >> (ebits + mbits)) & 1;
  const e = (bits >> mbits) & ((1 << ebits) - 1);
  const m = bits & ((1 << mbits) - 1);
  const emax = (1 << ebits) - 1;
  if (kind === 'fnuz' && bits === 1 << (ebits + mbits)) return NaN;
  if (kind === 'ieee' && e === emax) return m === 0 ? (sign ? -Infinity : Infinity) : NaN;
  if (kind === 'fn' && e === emax && m === (1 << mbits) - 1) return NaN;
  const v = e === 0 ? (m / 2 ** mbits) * 2 ** (1 - bias) : (1 + m / 2 ** mbits) * 2 ** (e - bias);
  return sign ? -v : v;
}

export function decodeFloatBits(dtype: string, bytes: Uint8Array, n: number): number[] | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = new Array(n);
  switch (dtype) {
    case 'float32': for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true); return out;
    case 'float64': for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true); return out;
    case 'float16': for (let i = 0; i < n; i++) out[i] = minifloat(dv.getUint16(i * 2, true), 5, 10, 15, 'ieee'); return out;
    case 'bfloat16': for (let i = 0; i < n; i++) out[i] = minifloat(dv.getUint16(i * 2, true), 8, 7, 127, 'ieee'); return out;
    case 'float8e4m3fn': for (let i = 0; i < n; i++) out[i] = minifloat(bytes[i], 4, 3, 7, 'fn'); return out;
    case 'float8e4m3fnuz': for (let i = 0; i < n; i++) out[i] = minifloat(bytes[i], 4, 3, 8, 'fnuz'); return out;
    case 'float8e5m2': for (let i = 0; i < n; i++) out[i] = minifloat(bytes[i], 5, 2, 15, 'ieee'); return out;
    case 'float8e5m2fnuz': for (let i = 0; i < n; i++) out[i] = minifloat(bytes[i], 5, 2, 16, 'fnuz'); return out;
    case 'float8e8m0': for (let i = 0; i < n; i++) out[i] = bytes[i] === 255 ? NaN : 2 ** (bytes[i] - 127); return out;
    case 'float4e2m1':
      for (let i = 0; i < n; i++) out[i] = minifloat((bytes[i >> 1] >> ((i & 1) * 4)) & 15, 2, 1, 1, 'fn4');
      return out;
  }
  return undefined;
}
