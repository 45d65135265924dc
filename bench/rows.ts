// The benchmark rows: one entry per row; whole-model rows are in lib/e2e-rows.ts.

import type { Tolerance } from '../scripts/lib/differential.js';
import { binaryConv, binaryMatmul, convF32, matmulF32, type BenchCase, type ConvShape } from './lib/models.js';
import { binaryConvInt8, binaryMatmulInt8, matmulNBits4, qlinearConv, qlinearMatmul } from './lib/quant-models.js';
import { E2E_ROWS } from './lib/e2e-rows.js';
import { ternaryMatmul, ternaryMatmulInt8 } from './lib/ternary-models.js';

export interface BenchRow {
  id: string;
  /** Multiply-accumulates per run, for GMAC/s. */
  macs: number;
  /** Agreement with onnxruntime-node required before a runtime is timed. */
  tolerance: Tolerance;
  build(): BenchCase;
  /**
   * The same layer as an int8 model (QLinearMatMul/QLinearConv over ±1 values; the ternary
   * codes as int8 QDQ weights), timed on onnxruntime-web as `ortweb_int8_ms` beside the fp32
   * model's `ortweb_fp32_ms`.
   */
  int8Twin?(): BenchCase;
  /** Agreement of the twin on onnxruntime-web with onnxruntime-node (default: ±1 quantum of a uint8 output). */
  int8TwinTolerance?: Tolerance;
}

// fp32 rows: outputs are O(1) (see lib/models.ts); the residue is summation order over K terms.
const FP32: Tolerance = { rtol: 1e-3, atol: 1e-4 };

function matmulRow(id: string, m: number, k: number, n: number): BenchRow {
  return { id, macs: m * k * n, tolerance: FP32, build: () => matmulF32(m, k, n, 1) };
}

// uint8 outputs of QLinearMatMul/QLinearConv: the spec requantizes the exact integer sum by the
// real number a_scale·b_scale/y_scale; onnxruntime does it in float32, so an implementation with
// another (equally valid) multiplier rounding may land one quantum away on near-ties. Accepted:
// ±1 quantum; the check column shows whether a runtime is in fact bit-exact (max abs 0).
const U8_ONE_QUANTUM: Tolerance = { rtol: 0, atol: 0, integerSteps: 1 };

function convCase(cin: number, cout: number, hw: number, kernel: number, pad: number, stride: number): { shape: ConvShape; macs: number } {
  const out = Math.floor((hw + 2 * pad - kernel) / stride) + 1;
  return { shape: { n: 1, cin, cout, h: hw, w: hw, kernel, pad, stride }, macs: cout * out * out * cin * kernel * kernel };
}

function convRow(id: string, cin: number, cout: number, hw: number, kernel: number, pad: number, stride: number): BenchRow {
  const { shape, macs } = convCase(cin, cout, hw, kernel, pad, stride);
  return { id, macs, tolerance: FP32, build: () => convF32(shape, 1) };
}

function qlinearMatmulRow(id: string, m: number, k: number, n: number): BenchRow {
  return { id, macs: m * k * n, tolerance: U8_ONE_QUANTUM, build: () => qlinearMatmul(m, k, n, 1) };
}

// MatMulNBits computes in float32 over exactly dequantized weights (accuracy_level unset), so the
// fp32 tolerance applies; an int8-activation path (≈4e-3 relative) would not pass it.
function matmulNBitsRow(id: string, m: number, k: number, n: number): BenchRow {
  return { id, macs: m * k * n, tolerance: FP32, build: () => matmulNBits4(m, k, n, 1) };
}

function qlinearConvRow(id: string, cin: number, cout: number, hw: number, kernel: number, pad: number, stride: number): BenchRow {
  const { shape, macs } = convCase(cin, cout, hw, kernel, pad, stride);
  return { id, macs, tolerance: U8_ONE_QUANTUM, build: () => qlinearConv(shape, 1) };
}

// Binary rows: the partial sums of ±s_n are exact in f32 (lib/models.ts binaryScales), so
// onnxruntime-node's float result is exact and lowbit may differ only by the rounding of its
// final dot·s_n (and + bias): one half ulp each, 2^−23 relative.
const BINARY: Tolerance = { rtol: 2 ** -23, atol: 0 };

function binaryMatmulRow(id: string, m: number, k: number, n: number): BenchRow {
  return { id, macs: m * k * n, tolerance: BINARY, build: () => binaryMatmul(m, k, n, 1), int8Twin: () => binaryMatmulInt8(m, k, n, 1) };
}

function binaryConvRow(id: string, cin: number, cout: number, hw: number, kernel: number, pad: number, stride: number): BenchRow {
  const { shape, macs } = convCase(cin, cout, hw, kernel, pad, stride);
  return { id, macs, tolerance: BINARY, build: () => binaryConv(shape, 1), int8Twin: () => binaryConvInt8(shape, 1) };
}

// Ternary rows: lowbit runs the W2A8 layer as TernaryMatMul (exact integer accumulation,
// requantised as onnxruntime's int8 QDQ fusion does); onnxruntime runs the same graph with an
// fp32 MatMul between the quantisers, whose per-product roundings can move a .5 tie: ±1 quantum.
function ternaryMatmulRow(id: string, m: number, k: number, n: number): BenchRow {
  return { id, macs: m * k * n, tolerance: U8_ONE_QUANTUM, build: () => ternaryMatmul(m, k, n, 1), int8Twin: () => ternaryMatmulInt8(m, k, n, 1) };
}

export const ROWS: readonly BenchRow[] = [
  matmulRow('fp32_gemv_1x4096x4096', 1, 4096, 4096),
  matmulRow('fp32_gemm_64x1024x1024', 64, 1024, 1024),
  convRow('fp32_conv3x3_64x64x56', 64, 64, 56, 3, 1, 1),
  qlinearMatmulRow('int8_gemv_1x4096x4096', 1, 4096, 4096),
  qlinearMatmulRow('int8_gemm_64x1024x1024', 64, 1024, 1024),
  matmulNBitsRow('int4_gemv_1x4096x4096', 1, 4096, 4096),
  matmulNBitsRow('int4_gemm_64x1024x1024', 64, 1024, 1024),
  qlinearConvRow('int8_qlinearconv3x3_64x64x56', 64, 64, 56, 3, 1, 1),
  binaryMatmulRow('binary_gemm_64x1024x1024', 64, 1024, 1024),
  binaryMatmulRow('binary_gemv_1x4096x4096', 1, 4096, 4096),
  binaryConvRow('binary_conv3x3_64x64x56', 64, 64, 56, 3, 1, 1),
  ternaryMatmulRow('ternary_gemv_1x4096x4096', 1, 4096, 4096),
  ternaryMatmulRow('ternary_gemm_64x1024x1024', 64, 1024, 1024),
  ...E2E_ROWS,
];
