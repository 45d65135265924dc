// lowbit's public API.
export { InferenceSession, type SessionOptions, type ValueMetadata } from './api/session.js';
export type { InspectReport, NodeReport } from './session/inspect.js';
export { Tensor, type TensorType } from './api/tensor.js';
export { LowbitError, type LowbitErrorCode } from './errors.js';
export { supportedBackends, type Backend } from './kernels/wasm.js';
