// Messages between a WorkerSession (main thread) and the session host in a module Web Worker.
// Tensors travel as {type, dims, bytes}: inputs are structured-cloned once, outputs are
// transferred (the worker's output buffers move to the main thread without a copy).

import type { LowbitErrorCode } from '../errors.js';
import type { Backend, WasmSource } from '../kernels/wasm.js';
import type { LmulOptions } from '../passes/lmul.js';
import type { Precision } from '../session/engine.js';
import type { TensorType } from '../api/tensor.js';

export interface WireTensor {
  type: TensorType;
  dims: number[];
  bytes: Uint8Array;
}

/** SessionOptions without the callback (functions cannot cross postMessage). */
export interface WireOptions {
  backend?: Backend | 'auto';
  wasm?: WasmSource | Partial<Record<Backend, WasmSource>>;
  memoryLimit?: number;
  maxModelBytes?: number;
  maxTensorElements?: number;
  runTimeLimitMs?: number;
  precision?: Precision;
  lmul?: LmulOptions;
  progress?: boolean;
}

export type Request =
  | { id: number; op: 'create'; model: string | ArrayBuffer | Uint8Array; options: WireOptions }
  | { id: number; op: 'run'; feeds: Record<string, WireTensor>; fetches?: string[] }
  | { id: number; op: 'release' };

export interface WireMetadata {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: unknown[];
  outputMetadata: unknown[];
  backend: Backend;
}

export type Reply =
  | { id: number; ok: true; value: WireMetadata | Record<string, WireTensor> | null }
  | { id: number; ok: false; code: LowbitErrorCode | 'ERROR'; message: string }
  | { id: number; progress: [number, number | undefined] };
