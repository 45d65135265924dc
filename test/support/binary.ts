// Helpers for the binary kernel tests: the sign rule, bit rows, epilogue descriptors.

import type { KernelBox } from './kernels.js';

/** The packers' rule: x < 0 → −1; +0, −0 and NaN → +1. */
export const signOf = (x: number): number => (x < 0 ? -1 : 1);

export const bitRowBytes = (L: number): number => Math.ceil(L / 128) * 16;

/** Reads `rows` bit rows of L elements (stride rowBytes) as ±1 values, row-major. */
export function unpackBits(bytes: Uint8Array, rows: number, L: number, rowBytes = bitRowBytes(L)): Int8Array {
  const out = new Int8Array(rows * L);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < L; k++) out[r * L + k] = (bytes[r * rowBytes + (k >> 3)] >> (k & 7)) & 1 ? -1 : 1;
  }
  return out;
}

/** Whether every padding bit (past L) of the bit rows is 0. */
export function paddingIsZero(bytes: Uint8Array, rows: number, L: number, rowBytes = bitRowBytes(L)): boolean {
  for (let r = 0; r < rows; r++) {
    for (let k = L; k < rowBytes * 8; k++) if ((bytes[r * rowBytes + (k >> 3)] >> (k & 7)) & 1) return false;
  }
  return true;
}

/** Sets every padding bit of the bit rows at `addr` to random values (the kernels must mask them). */
export function scramblePadding(box: KernelBox, addr: number, rows: number, L: number, r: () => number): void {
  const rb = bitRowBytes(L);
  const u8 = box.m.u8();
  for (let row = 0; row < rows; row++) {
    for (let k = L; k < rb * 8; k++) {
      const at = addr + row * rb + (k >> 3);
      if (r() < 0.5) u8[at] |= 1 << (k & 7);
    }
  }
}

/** Bytes of N rows of K elements in 8-row panels (assembly/bitpanel.ts). */
export const bpanelBytes = (N: number, K: number): number => Math.ceil(N / 8) * 8 * bitRowBytes(K);

/** Byte offset of block kb of row n in 8-row panels of K-element rows. */
const panelBlock = (K: number, n: number, kb: number): number => ((n >> 3) * Math.ceil(K / 128) + kb) * 128 + (n & 7) * 16;

/** Byte offset and bit of element k of row n in 8-row panels. */
function panelBit(K: number, n: number, k: number): [number, number] {
  return [panelBlock(K, n, k >> 7) + ((k & 127) >> 3), k & 7];
}

/** Reads N rows of K elements from 8-row panels as ±1 values, row-major (N×K). */
export function unpackPanels(bytes: Uint8Array, N: number, K: number): Int8Array {
  const out = new Int8Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const [at, bit] = panelBit(K, n, k);
      out[n * K + k] = (bytes[at] >> bit) & 1 ? -1 : 1;
    }
  }
  return out;
}

/** Whether every bit of the panels outside the N×K elements (padding bits, padding rows) is 0. */
export function panelPaddingIsZero(bytes: Uint8Array, N: number, K: number): boolean {
  const used = new Uint8Array(bytes.length);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
    const [at, bit] = panelBit(K, n, k);
    used[at] |= 1 << bit;
  }
  return bytes.every((b, i) => (b & ~used[i]) === 0);
}

/** Sets every bit outside the N×K elements of the panels at `addr` to random values. */
export function scramblePanelPadding(box: KernelBox, addr: number, N: number, K: number, r: () => number): void {
  const bytes = bpanelBytes(N, K);
  const used = new Uint8Array(bytes);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
    const [at, bit] = panelBit(K, n, k);
    used[at] |= 1 << bit;
  }
  const u8 = box.m.u8();
  for (let i = 0; i < bytes; i++) u8[addr + i] |= Math.floor(r() * 256) & ~used[i];
}

/** f32 values with a share of −1/+1 edge cases: ±0, NaN and tiny negatives. */
export function randomSignedF32(r: () => number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    a[i] = u < 0.03 ? 0 : u < 0.06 ? -0 : u < 0.07 ? NaN : u < 0.08 ? -1e-40 : r() * 2 - 1;
  }
  return a;
}

export const BEPI_I32 = 0, BEPI_F32 = 1, BEPI_SIGN = 2;

export interface BinaryEpi {
  kind: number;
  scale?: Float32Array;
  bias?: Float32Array;
  act?: number;
  lo?: number;
  hi?: number;
  thr?: number; // address of the (t, d) pairs
}

const f32bits = (x: number): number => new Int32Array(new Float32Array([x]).buffer)[0];

export function putEpi(box: KernelBox, e: BinaryEpi): number {
  return box.put(new Int32Array([e.kind, e.scale ? box.put(e.scale) : 0, e.bias ? box.put(e.bias) : 0,
    e.act ?? 0, f32bits(e.lo ?? 0), f32bits(e.hi ?? 0), e.thr ?? 0]));
}

/** The f32 epilogue in JS (products and sums rounded to f32, as the kernels do). */
export function epiF32(dot: number, ch: number, e: BinaryEpi): number {
  let y = Math.fround(dot);
  if (e.scale) y = Math.fround(y * e.scale[ch]);
  if (e.bias) y = Math.fround(y + e.bias[ch]);
  if (e.act === 1) y = Math.max(y, 0);
  else if (e.act === 2) y = Math.min(Math.max(y, Math.fround(e.lo ?? 0)), Math.fround(e.hi ?? 0));
  return y;
}

/** Random per-channel scale/bias: positive, negative and zero scales. */
export function randomAffine(r: () => number, n: number, K: number): BinaryEpi {
  const scale = new Float32Array(n).map(() => {
    const u = r();
    return u < 0.1 ? 0 : (u < 0.5 ? -1 : 1) * (0.01 + r());
  });
  const bias = new Float32Array(n).map(() => (r() * 2 - 1) * K * 0.3);
  return { kind: BEPI_F32, scale, bias };
}

/** A SIGN epilogue equal to sign(f32 epilogue `e`), via the bsign_thresholds kernel. */
export function signEpi(box: KernelBox, e: BinaryEpi, N: number, K: number): BinaryEpi {
  const thr = box.alloc(Math.max(N, 1) * 8);
  const rc = box.call('bsign_thresholds', putEpi(box, e), N, K, thr);
  if (rc !== 0) throw new Error('bsign_thresholds refused an affine epilogue');
  return { kind: BEPI_SIGN, thr };
}

export function expectSameArray(got: ArrayLike<number>, want: ArrayLike<number>, what: string): string | null {
  if (got.length !== want.length) return `${what}: length ${got.length} vs ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) return `${what} [${i}]: ${got[i]} vs reference ${want[i]}`;
  }
  return null;
}
