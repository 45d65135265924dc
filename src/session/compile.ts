// Engine → .lbp: plans a loaded model for fixed input shapes and serialises the plan with the
// session constants it reads, for the WASI command (no JavaScript on the device).

import { fail } from '../errors.js';
import { byteLength } from '../ir/dtype.js';
import { numel } from '../ir/tensor.js';
import { kernelBuildId } from '../kernels/build-id.js';
import { encodeLbp } from '../plan/lbp.js';
import type { Engine, Feed } from './engine.js';

/**
 * The .lbp bytes of `engine`'s plan for the given input shapes (default: the model's static
 * shapes). Refuses what a fixed plan cannot express: symbolic dims left open, a plan that
 * depends on input values, and the relaxed-SIMD build (the WASI command has scalar and simd).
 */
export function compileLbp(engine: Engine, shapes: ReadonlyMap<string, readonly number[]> = new Map()): Uint8Array {
  const backend = engine.backend;
  if (backend === 'relaxed') fail('LOWBIT_BAD_OPTION', "the WASI command has scalar and simd builds: compile with backend 'simd' or 'scalar', not 'relaxed'");
  const inputs = engine.graph.inputs;
  for (const name of shapes.keys()) {
    if (!inputs.some((i) => i.name === name)) fail('LOWBIT_BAD_INPUT', `'${name}' is not an input of this model (inputs: ${inputs.map((i) => i.name).join(', ')})`);
  }
  const feeds = new Map<string, Feed>();
  for (const gi of inputs) {
    const dims = shapes.get(gi.name) ?? (gi.shape?.every((d) => typeof d === 'number') ? (gi.shape as number[]) : undefined);
    if (!dims) fail('LOWBIT_BAD_INPUT', `input '${gi.name}' has symbolic dims [${(gi.shape ?? []).map((d) => d ?? '?').join(',')}]: fix them with --shape ${gi.name}=DIMS`);
    feeds.set(gi.name, { dtype: gi.dtype, dims, bytes: new Uint8Array(byteLength(gi.dtype, numel(dims))) });
  }
  const plan = engine.planFor(feeds, true);
  if (!plan) fail('LOWBIT_UNSUPPORTED', 'the plan depends on the values of an input (it feeds a shape), which a compiled plan cannot express');
  const weights = engine.machine.read(engine.weights.addr(0), plan.weightsBytes);
  return encodeLbp(plan, weights, backend, kernelBuildId());
}
