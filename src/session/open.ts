// Everything a session needs once a model is in hand — the ONNX decoder, graph passes, op
// definitions, planner and executor — behind one module that the public API loads with a dynamic
// import(). Bundlers then emit it as its own chunk: the entry a page imports stays small and the
// engine downloads while the model and the kernel module do (README, "Size").

import type { ExternalDataReader } from '../onnx/tensor.js';
import { decodeModel } from '../onnx/decode.js';
import type { LmulOptions } from '../passes/lmul.js';
import type { Backend } from '../kernels/wasm.js';
import { Engine, type Precision } from './engine.js';

export { inspectPlan } from './inspect.js';
export { checkLmulOptions } from '../passes/lmul.js';

export interface OpenOptions {
  memoryLimit?: number;
  precision?: Precision;
  lmul?: LmulOptions;
  maxTensorElements?: number;
  runTimeLimitMs?: number;
}

export function openEngine(bytes: Uint8Array, readExternal: ExternalDataReader | undefined, module: WebAssembly.Module, backend: Backend, o: OpenOptions): Engine {
  const decoded = decodeModel(bytes, { readExternal, maxElements: o.maxTensorElements });
  return new Engine(decoded.graph, module, backend, {
    memoryLimit: o.memoryLimit, precision: o.precision, lmul: o.lmul,
    maxTensorElements: o.maxTensorElements, runTimeLimitMs: o.runTimeLimitMs,
  });
}
