// The three runtimes behind one interface: load a model with its feeds bound, then run it.
//
// onnxruntime-web is imported as a package: in Node its export map picks dist/ort.node.min.mjs,
// which loads dist/ort-wasm-simd-threaded.{mjs,wasm} beside itself (new URL(…, import.meta.url))
// and runs ORT's CPU kernels compiled to WebAssembly (the 'wasm' execution provider). With
// numThreads = 1 it starts no worker threads.

import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { InferenceSession, Tensor, type Backend, type LmulOptions } from '../../src/index.js';
import type { Feeds } from '../../scripts/lib/differential.js';

export type RuntimeId = 'lowbit' | 'ortweb' | 'ortnode';
export const RUNTIME_IDS: readonly RuntimeId[] = ['lowbit', 'ortweb', 'ortnode'];
export const RUNTIME_LABELS: Record<RuntimeId, string> = { lowbit: 'lowbit', ortweb: 'ort-web', ortnode: 'ort-node' };

/** An output as any of the runtimes returns it. */
export interface Output {
  type: string;
  dims: readonly number[];
  data: ArrayLike<number | bigint>;
}

export interface LoadedModel {
  run(): Promise<Record<string, Output>>;
  release(): Promise<void>;
}

export interface Runtime {
  id: RuntimeId;
  load(model: Uint8Array, feeds: Feeds): Promise<LoadedModel>;
}

ortWeb.env.wasm.numThreads = 1;
ortWeb.env.wasm.proxy = false;

const LOG_ERRORS_ONLY = 3;

async function loadOrtWeb(model: Uint8Array, feeds: Feeds): Promise<LoadedModel> {
  const session = await ortWeb.InferenceSession.create(model, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: LOG_ERRORS_ONLY,
  });
  const bound: Record<string, ortWeb.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) bound[name] = new ortWeb.Tensor(f.type as ortWeb.Tensor.Type, f.data as ortWeb.Tensor.DataType, f.dims);
  return { run: () => session.run(bound) as Promise<Record<string, Output>>, release: () => session.release() };
}

async function loadOrtNode(model: Uint8Array, feeds: Feeds): Promise<LoadedModel> {
  const session = await ortNode.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: LOG_ERRORS_ONLY,
  });
  const bound: Record<string, ortNode.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) bound[name] = new ortNode.Tensor(f.type as ortNode.Tensor.Type, f.data as ortNode.Tensor.DataType, f.dims);
  return { run: () => session.run(bound) as Promise<Record<string, Output>>, release: () => session.release() };
}

/** lowbit on one kernel build (with `lmul`: in the L-Mul execution mode). */
export function lowbitRuntime(backend: Backend, lmul?: LmulOptions): Runtime {
  return {
    id: 'lowbit',
    async load(model, feeds) {
      const session = await InferenceSession.create(model, { backend, lmul });
      const bound: Record<string, Tensor> = {};
      for (const [name, f] of Object.entries(feeds)) bound[name] = new Tensor(f.type, f.data, f.dims);
      return { run: () => session.run(bound), release: () => session.release() };
    },
  };
}

export const ortWebRuntime: Runtime = { id: 'ortweb', load: loadOrtWeb };
export const ortNodeRuntime: Runtime = { id: 'ortnode', load: loadOrtNode };

export const ortVersions = (): Record<string, string> => ({
  ortweb: ortWeb.env.versions.web ?? 'unknown',
  ortnode: (ortNode.env.versions as Record<string, string>).node ?? 'unknown',
});
