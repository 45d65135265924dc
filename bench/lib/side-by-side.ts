// What the step and A/B bench scripts share: a bench case's feeds as lowbit and as onnxruntime-web
// tensors, and onnxruntime-web's session as `npm run bench` runs it (WASM, 1 thread, all
// graph optimisations).

import * as ortWeb from 'onnxruntime-web';
import { Tensor } from '../../src/index.js';
import type { BenchCase } from './models.js';

/** The case's feeds as lowbit tensors and as onnxruntime-web tensors (the same data). */
export function bothFeeds(c: BenchCase): { feeds: Record<string, Tensor>; ortFeeds: Record<string, ortWeb.Tensor> } {
  const feeds: Record<string, Tensor> = {};
  const ortFeeds: Record<string, ortWeb.Tensor> = {};
  for (const [n, f] of Object.entries(c.feeds)) {
    feeds[n] = new Tensor(f.type, f.data as Float32Array, f.dims);
    ortFeeds[n] = new ortWeb.Tensor(f.type as ortWeb.Tensor.Type, f.data as Float32Array, f.dims);
  }
  return { feeds, ortFeeds };
}

/** onnxruntime-web on one thread, in this thread (no proxy worker), as the bench runs it. */
export function ortWebSession(model: Uint8Array): Promise<ortWeb.InferenceSession> {
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.wasm.proxy = false;
  return ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
}
