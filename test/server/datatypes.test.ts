// FP16/BF16 conversion checked exhaustively against the definition (nearest value, ties to the
// even bit pattern, overflow to infinity), and JSON tensor data in both directions.

import { describe, expect, it } from 'vitest';
import { bytesToJson, fromMiniFloat, jsonToBytes, toMiniFloat } from '../../src/server/datatypes.js';

const FORMATS = [
  { name: 'FP16', e: 5, m: 10, max: 65504 },
  { name: 'BF16', e: 8, m: 7, max: 3.3895313892515355e38 },
] as const;

describe.each(FORMATS)('$name', ({ e, m, max }) => {
  const finite = [...Array(1 << (e + m)).keys()].filter((b) => Number.isFinite(fromMiniFloat(b, e, m))); // positive patterns, ascending values

  it('decodes the known constants', () => {
    expect(fromMiniFloat((((1 << e) - 2) << m) | ((1 << m) - 1), e, m)).toBe(max);
    expect(fromMiniFloat(1, e, m)).toBe(2 ** (2 - 2 ** (e - 1) - m)); // smallest subnormal
    expect(fromMiniFloat(((1 << e) - 1) << m, e, m)).toBe(Infinity);
    expect(fromMiniFloat((1 << (e + m)) | (((1 << e) - 1) << m), e, m)).toBe(-Infinity);
    expect(fromMiniFloat((((1 << e) - 1) << m) | 1, e, m)).toBeNaN();
    expect(Object.is(fromMiniFloat(1 << (e + m), e, m), -0)).toBe(true);
  });

  it('every finite value reads back to its own pattern, with either sign', () => {
    const wrong: string[] = [];
    for (const b of finite) {
      const x = fromMiniFloat(b, e, m);
      if (toMiniFloat(x, e, m) !== b || toMiniFloat(-x, e, m) !== (b | (1 << (e + m)))) wrong.push(`${b}: ${x}`);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest, ties to the even pattern, and overflows to infinity', () => {
    const wrong: string[] = [];
    for (let k = 0; k + 1 < finite.length; k++) {
      const [a, b] = [finite[k], finite[k + 1]];
      const [x, y] = [fromMiniFloat(a, e, m), fromMiniFloat(b, e, m)];
      const mid = (x + y) / 2; // exact in a double
      const got = [toMiniFloat(mid, e, m), toMiniFloat(mid - (y - x) / 1024, e, m), toMiniFloat(mid + (y - x) / 1024, e, m)];
      if (got.join() !== [a % 2 === 0 ? a : b, a, b].join()) wrong.push(`between ${a} and ${b}: ${got.join()}`);
    }
    expect(wrong).toEqual([]);
    const ulp = max - fromMiniFloat(finite[finite.length - 2], e, m);
    const inf = ((1 << e) - 1) << m;
    expect(toMiniFloat(max + ulp / 2 - ulp / 1024, e, m)).toBe(finite[finite.length - 1]);
    expect(toMiniFloat(max + ulp / 2, e, m)).toBe(inf); // the tie goes to the even pattern: infinity
    expect(toMiniFloat(1e300, e, m)).toBe(inf);
    expect(toMiniFloat(-Infinity, e, m)).toBe(inf | (1 << (e + m)));
    expect(Number.isNaN(fromMiniFloat(toMiniFloat(NaN, e, m), e, m))).toBe(true);
  });
});

describe('JSON tensor data', () => {
  it('reads every datatype and writes it back', () => {
    const cases: [Parameters<typeof jsonToBytes>[0], unknown[]][] = [
      ['BOOL', [true, false, true]],
      ['UINT8', [0, 255, 7]], ['INT8', [-128, 127, 0]],
      ['UINT16', [0, 65535]], ['INT16', [-32768, 32767]],
      ['UINT32', [0, 4294967295]], ['INT32', [-2147483648, 2147483647]],
      ['INT64', [-9007199254740991, 9007199254740991, 0]], ['UINT64', [9007199254740991, 1]],
      ['FP16', [1, -2.5, 65504, 0.000000059604644775390625]], ['BF16', [1, -0.15625, 3.3895313892515355e38]],
      ['FP32', [0.5, -1e-45, 3.4028234663852886e38, 'NaN', 'Infinity', '-Infinity']], ['FP64', [0.1, -1e308, 'NaN']],
    ];
    for (const [d, values] of cases) {
      const bytes = jsonToBytes(d, values);
      expect(bytes, d).toBeInstanceOf(Uint8Array);
      expect(JSON.parse(bytesToJson(d, bytes as Uint8Array)), d).toEqual(values.map((v) => (typeof v === 'number' && d === 'FP32' ? Math.fround(v) : v)));
    }
  });

  it('refuses values a datatype cannot hold, naming the first', () => {
    expect(jsonToBytes('UINT8', [1, 256])).toBe(1);
    expect(jsonToBytes('INT8', [1.5])).toBe(0);
    expect(jsonToBytes('INT64', [0, 2 ** 53])).toBe(1);
    expect(jsonToBytes('BOOL', [true, 1])).toBe(1);
    expect(jsonToBytes('FP32', [1, 'nan'])).toBe(1);
    expect(jsonToBytes('INT32', ['1'])).toBe(0);
  });

  it('writes 64-bit integers exactly', () => {
    const b = new Uint8Array(new BigInt64Array([2n ** 62n + 1n, -(2n ** 63n)]).buffer);
    expect(bytesToJson('INT64', b)).toBe('[4611686018427387905,-9223372036854775808]');
    expect(bytesToJson('UINT64', new Uint8Array(new BigUint64Array([2n ** 64n - 1n]).buffer))).toBe('[18446744073709551615]');
  });
});
