/** Stable error codes: tools and users match on these, never on messages. */
export type LowbitErrorCode =
  | 'LOWBIT_BAD_MODEL'
  | 'LOWBIT_UNSUPPORTED_OP'
  | 'LOWBIT_UNSUPPORTED'
  | 'LOWBIT_BAD_INPUT'
  | 'LOWBIT_SHAPE_MISMATCH'
  | 'LOWBIT_TYPE_MISMATCH'
  | 'LOWBIT_OUT_OF_MEMORY'
  | 'LOWBIT_LIMIT'
  | 'LOWBIT_PATH'
  | 'LOWBIT_RUNTIME'
  | 'LOWBIT_BAD_OPTION'
  | 'LOWBIT_RELEASED'
  | 'LOWBIT_WASM';

/** The one error class lowbit throws. `code` is stable; `message` names the node/op/input. */
export class LowbitError extends Error {
  readonly code: LowbitErrorCode;
  constructor(code: LowbitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LowbitError';
    this.code = code;
  }
}

export function fail(code: LowbitErrorCode, message: string, cause?: unknown): never {
  throw new LowbitError(code, message, cause === undefined ? undefined : { cause });
}
