// The `fetches` argument of run(), as in onnxruntime: which outputs to return, and pre-allocated
// output tensors that a run fills instead of allocating new ones.

import { fail } from '../errors.js';
import { Tensor } from './tensor.js';

export type FetchesType = readonly string[] | Record<string, Tensor | null>;

/**
 * The outputs a run returns (undefined: all) and the caller's pre-allocated output tensors, as in
 * onnxruntime: `fetches` is a list of names, or an object of name → null (allocate) or a Tensor
 * of the output's type and dims, which the run fills and returns (no allocation per run).
 */
export function parseFetches(fetches: FetchesType | undefined, outputs: readonly string[]): { names?: string[]; preallocated: Map<string, Tensor> } {
  const preallocated = new Map<string, Tensor>();
  if (fetches === undefined) return { preallocated };
  if (!fetches || typeof fetches !== 'object') fail('LOWBIT_BAD_INPUT', 'fetches must be a list of output names or an object of output name → Tensor or null');
  const names = Array.isArray(fetches) ? [...(fetches as readonly string[])] : Object.keys(fetches);
  for (const n of names) {
    if (!outputs.includes(n)) fail('LOWBIT_BAD_INPUT', `'${n}' is not an output of this model (outputs: ${outputs.join(', ')})`);
    const t = Array.isArray(fetches) ? null : (fetches as Record<string, unknown>)[n];
    if (t === null || t === undefined) continue;
    if (!(t instanceof Tensor)) fail('LOWBIT_BAD_INPUT', `fetches['${n}'] must be null or a lowbit Tensor to write the output into`);
    preallocated.set(n, t);
  }
  return { names, preallocated };
}

/** Copies an output into its pre-allocated tensor (worker sessions: after the run returns). */
export function fillPreallocated(name: string, t: Tensor, type: string, dims: readonly number[], bytes: Uint8Array): Tensor {
  if (t.type !== type || t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
    fail('LOWBIT_SHAPE_MISMATCH', `pre-allocated output '${name}' is ${t.type} [${t.dims.join(',')}], but for these inputs the output is ${type} [${dims.join(',')}]`);
  }
  t.bytes().set(bytes);
  return t;
}
