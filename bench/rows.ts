// The benchmark rows: one entry per row. Later rows (int8, int4, binary, L-Mul) are added here.

import type { Tolerance } from '../scripts/lib/differential.js';
import { convF32, matmulF32, type BenchCase } from './lib/models.js';

export interface BenchRow {
  id: string;
  /** Multiply-accumulates per run, for GMAC/s. */
  macs: number;
  /** Agreement with onnxruntime-node required before a runtime is timed. */
  tolerance: Tolerance;
  build(): BenchCase;
}

// fp32 rows: outputs are O(1) (see lib/models.ts); the residue is summation order over K terms.
const FP32: Tolerance = { rtol: 1e-3, atol: 1e-4 };

function matmulRow(id: string, m: number, k: number, n: number): BenchRow {
  return { id, macs: m * k * n, tolerance: FP32, build: () => matmulF32(m, k, n, 1) };
}

function convRow(id: string, cin: number, cout: number, hw: number, kernel: number, pad: number, stride: number): BenchRow {
  const out = Math.floor((hw + 2 * pad - kernel) / stride) + 1;
  return {
    id,
    macs: cout * out * out * cin * kernel * kernel,
    tolerance: FP32,
    build: () => convF32({ n: 1, cin, cout, h: hw, w: hw, kernel, pad, stride }, 1),
  };
}

export const ROWS: readonly BenchRow[] = [
  matmulRow('fp32_gemv_1x4096x4096', 1, 4096, 4096),
  matmulRow('fp32_gemm_64x1024x1024', 64, 1024, 1024),
  convRow('fp32_conv3x3_64x64x56', 64, 64, 56, 3, 1, 1),
];
