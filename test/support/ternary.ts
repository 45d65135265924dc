// Helpers for the ternary kernel tests: the packed layout read back independently, random
// ternary weights and 8-bit activations, gemm_i8_epilogue.ts descriptors and outputs.

import type { KernelBox } from './kernels.js';

export const EPI_I32 = 0, EPI_U8 = 1, EPI_S8 = 2, EPI_F32 = 3;

/** Bytes of N packed rows of K (ternary_weights_bytes): quads of rows, ⌈K/64⌉ blocks of 16 bytes each. */
export const ternaryWeightsBytes = (N: number, K: number): number => Math.ceil(N / 4) * 64 * Math.ceil(K / 64);

/** Byte of element (n, k) in the documented layout: block b of row n at (⌊n/4⌋·4·nb + 4b + n mod 4)·16, byte k mod 16. */
function byteOf(n: number, k: number, K: number): number {
  const nb = Math.ceil(K / 64);
  return ((n >> 2) * 4 * nb + (k >> 6) * 4 + (n & 3)) * 16 + (k & 15);
}

/** Decodes N packed rows (element 64b+16i+j of a row: bits 2i..2i+1 of byte j of its block b; code w+1); padding rows and codes must be 1. */
export function unpackTernary(bytes: Uint8Array, rows: number, K: number): { w: Int8Array; badPadding: boolean } {
  const w = new Int8Array(rows * K);
  let badPadding = false;
  const nb = Math.ceil(K / 64);
  for (let r = 0; r < Math.ceil(rows / 4) * 4; r++) {
    for (let k = 0; k < nb * 64; k++) {
      const code = (bytes[byteOf(r, k, K)] >> (((k >> 4) & 3) * 2)) & 3;
      if (r < rows && k < K) w[r * K + k] = code - 1;
      else if (code !== 1) badPadding = true;
    }
  }
  return { w, badPadding };
}

/** Sets the padding codes (past K, and the rows past N) to random values: the kernels must not read them. */
export function scrambleTernaryPadding(box: KernelBox, at: number, rows: number, K: number, r: () => number): void {
  const u8 = box.m.u8();
  const nb = Math.ceil(K / 64);
  for (let n = 0; n < Math.ceil(rows / 4) * 4; n++) {
    for (let k = n < rows ? K : 0; k < nb * 64; k++) u8[at + byteOf(n, k, K)] |= Math.floor(r() * 4) << (((k >> 4) & 3) * 2);
  }
}

/** n values in {−1, 0, +1}, a share `zeros` of them 0. */
export const ternary = (r: () => number, n: number, zeros: number): Int8Array =>
  Int8Array.from({ length: n }, () => (r() < zeros ? 0 : r() < 0.5 ? -1 : 1));

/** 8-bit activations as bytes: random rows, and rows at the type's extremes (min, max, alternating). */
export function activationBytes(r: () => number, rows: number, len: number, signed: boolean): Uint8Array {
  const [lo, hi] = signed ? [0x80, 0x7f] : [0, 255];
  const a = new Uint8Array(rows * len);
  for (let m = 0; m < rows; m++) {
    const kind = m % 4;
    for (let k = 0; k < len; k++) a[m * len + k] = kind === 1 ? lo : kind === 2 ? hi : kind === 3 ? (k & 1 ? lo : hi) : Math.floor(r() * 256);
  }
  return a;
}

export interface I8Epi {
  kind: number;
  /** Per output channel (kinds 1–3). */
  scale?: Float32Array;
  yZp?: number;
  /** f32 per output channel (kind 3 only: the ternary kernels take integer biases through rowc). */
  bias?: Float32Array;
  act?: number;
  lo?: number;
  hi?: number;
}

const f32bits = (x: number): number => new Int32Array(new Float32Array([x]).buffer)[0];

/** A gemm_i8_epilogue.ts descriptor: scale and bias per column (channel). */
export function putI8Epi(box: KernelBox, e: I8Epi): number {
  return box.put(new Int32Array([e.kind, e.scale ? box.put(e.scale) : 0, 0, 1, e.yZp ?? 0, e.bias ? box.put(e.bias) : 0, 0, 1,
    e.act ?? 0, f32bits(e.lo ?? 0), f32bits(e.hi ?? 0)]));
}

export const outBytes = (kind: number): number => (kind === EPI_U8 || kind === EPI_S8 ? 1 : 4);

/** n outputs of the epilogue's type at `at`, as numbers (f32 bit patterns kept by Object.is comparisons). */
export function readOut(box: KernelBox, at: number, kind: number, n: number): number[] {
  if (kind === EPI_I32) return Array.from(box.i32(at, n));
  if (kind === EPI_F32) return Array.from(box.f32(at, n));
  const u = box.u8(at, n);
  return Array.from(kind === EPI_S8 ? new Int8Array(u.buffer, u.byteOffset, n) : u);
}

/** The epilogues every case runs: i32, requantise to u8 and s8 (one with a clamp), f32 with bias and ReLU. */
export function epilogues(r: () => number, N: number, accSpread: number): I8Epi[] {
  const scale = Float32Array.from({ length: N }, () => (40 / accSpread) * (0.5 + r()));
  return [
    { kind: EPI_I32 },
    { kind: EPI_U8, scale, yZp: 120 },
    { kind: EPI_S8, scale, yZp: -9, act: 2, lo: -100, hi: 90 },
    { kind: EPI_F32, scale, bias: Float32Array.from({ length: N }, () => r() * 20 - 10), act: 1 },
  ];
}
