// lowbit's public API.
export { InferenceSession, type SessionOptions, type ValueMetadata } from './api/session.js';
export { createSession, type CreateOptions, type Session } from './api/create.js';
export { WorkerSession, type WorkerOptions } from './worker/session.js';
export { inspect, formatInspect, type InspectOptions } from './api/inspect.js';
export type { InspectReport, NodeReport } from './session/inspect.js';
export type { Precision } from './session/engine.js';
export type { LmulOptions, LmulOp } from './passes/lmul.js';
export { Tensor, type TensorType } from './api/tensor.js';
export { LowbitError, type LowbitErrorCode } from './errors.js';
export { supportedBackends, type Backend, type WasmSource } from './kernels/wasm.js';
