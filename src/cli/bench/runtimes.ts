// The runtimes `lowbit bench` times: lowbit, and with --vs onnxruntime-web (its WASM build, one
// thread, as in a browser) and onnxruntime-node (native CPU, one thread: like lowbit's single
// thread, and because its thread pool spins between runs and would slow the runtimes timed after
// it), each with the same model bytes and the same input tensors bound once. The onnxruntime packages are optional: they are imported
// only when asked for, and a missing one is a one-line error naming the npm command.

import { InferenceSession, type Backend, type Precision, type Tensor } from '../../index.js';
import { fail } from '../cli-error.js';

export type RuntimeId = 'lowbit' | 'ort-web' | 'ort-node';

/** An output as any runtime returns it. */
export interface Output {
  dims: readonly number[];
  data: ArrayLike<number | bigint>;
}

export interface BenchRuntime {
  id: RuntimeId;
  version: string;
  /** What it runs on (kernel build, execution provider, threads). */
  detail: string;
  run(): Promise<Record<string, Output>>;
  release(): Promise<void>;
}

const PACKAGES: Record<Exclude<RuntimeId, 'lowbit'>, string> = { 'ort-web': 'onnxruntime-web', 'ort-node': 'onnxruntime-node' };
const LOG_ERRORS_ONLY = 3;

/** The subset of onnxruntime's API (the same in -web and -node) used here. */
interface OrtModule {
  env: { versions: Record<string, string | undefined>; wasm?: { numThreads?: number; proxy?: boolean } };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => unknown;
  InferenceSession: {
    create(model: Uint8Array, options: Record<string, unknown>): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, Output>>; release(): Promise<void> }>;
  };
}

export type Importer = (pkg: string) => Promise<unknown>;
const nodeImport: Importer = (pkg) => import(pkg);

/** Imports the onnxruntime packages for `ids`, or fails in one line naming the ones not installed. */
export async function importOrt(ids: readonly Exclude<RuntimeId, 'lowbit'>[], importer: Importer = nodeImport): Promise<Map<RuntimeId, OrtModule>> {
  const out = new Map<RuntimeId, OrtModule>();
  const missing: string[] = [];
  for (const id of ids) {
    try {
      const m = (await importer(PACKAGES[id])) as OrtModule & { default?: OrtModule };
      out.set(id, m.InferenceSession ? m : m.default!);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw e;
      missing.push(PACKAGES[id]);
    }
  }
  if (missing.length > 0) {
    fail(`--vs needs ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed (lowbit does not depend on ${missing.length > 1 ? 'them' : 'it'}): npm install ${missing.join(' ')}`);
  }
  return out;
}

export async function lowbitRuntime(model: Uint8Array, feeds: Record<string, Tensor>, o: { backend: Backend | 'auto'; precision: Precision }, version: string): Promise<BenchRuntime> {
  const session = await InferenceSession.create(model, { backend: o.backend, precision: o.precision });
  return {
    id: 'lowbit',
    version,
    detail: `${session.backend} build, precision ${o.precision}`,
    run: () => session.run(feeds),
    release: () => session.release(),
  };
}

export async function ortRuntime(id: Exclude<RuntimeId, 'lowbit'>, ort: OrtModule, model: Uint8Array, feeds: Record<string, Tensor>): Promise<BenchRuntime> {
  const web = id === 'ort-web';
  if (web && ort.env.wasm) {
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
  }
  const session = await ort.InferenceSession.create(model, {
    executionProviders: [web ? 'wasm' : 'cpu'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: LOG_ERRORS_ONLY,
    ...(web ? {} : { intraOpNumThreads: 1, interOpNumThreads: 1 }),
  });
  const bound: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(feeds)) bound[name] = new ort.Tensor(t.type, t.data, t.dims);
  return {
    id,
    version: ort.env.versions[web ? 'web' : 'node'] ?? ort.env.versions.common ?? 'unknown',
    detail: web ? 'WASM, 1 thread' : 'CPU, 1 thread',
    run: () => session.run(bound),
    release: () => session.release(),
  };
}
