// InferenceSession: the onnxruntime-web-shaped entry point.

import { fail, LowbitError } from '../errors.js';
import { byteLength } from '../ir/dtype.js';
import type { Dim } from '../ir/graph.js';
import { numel } from '../ir/tensor.js';
import type { LmulOptions } from '../passes/lmul.js';
import type { Engine, Feed, Precision } from '../session/engine.js';
import type { InspectReport } from '../session/inspect.js';
import { MAX_MEMORY_LIMIT } from '../kernels/machine.js';
import { BACKENDS, compileKernels, pickBackend, supportedBackends, type Backend, type WasmSource } from '../kernels/wasm.js';
import { loadModel, type ModelSource } from './load.js';
import { parseFetches, type FetchesType } from './fetches.js';
import { Tensor, type TensorType } from './tensor.js';

export interface SessionOptions {
  /** Kernel build: 'auto' (default) picks relaxed → simd → scalar by feature detection. */
  backend?: Backend | 'auto';
  /**
   * Kernel module bytes or URL instead of the bundled build/lowbit.<backend>.wasm: one source
   * for the chosen backend, or one per build ({ relaxed, simd, scalar }); with a per-build map
   * and backend 'auto' the best build the engine supports among those given is used.
   */
  wasm?: WasmSource | Partial<Record<Backend, WasmSource>>;
  /** Ceiling on WASM linear memory in bytes (default 3 GiB). */
  memoryLimit?: number;
  /** Largest model accepted, in bytes (default 2 GiB). */
  maxModelBytes?: number;
  /** Largest element count of any one tensor: initializers, inputs, intermediates (default 2^32). */
  maxTensorElements?: number;
  /**
   * Time budget of one run in ms (default: none). It is checked between kernel steps, so a run
   * stops at the first step boundary past the budget; servers also bound requests (timeoutMs).
   */
  runTimeLimitMs?: number;
  /** Download progress for URL models. */
  onProgress?: (loaded: number, total: number | undefined) => void;
  /**
   * 'model' (default): what the model allows, e.g. int8 activations for MatMulNBits with
   * accuracy_level 4, as onnxruntime does; 'exact': no path that approximates by design.
   */
  precision?: Precision;
  /**
   * L-Mul execution mode: the float products of the chosen op kinds ('MatMul', 'Gemm', 'Conv',
   * 'attention' = the MatMuls of Q·Kᵀ → Softmax → ·V blocks; default all) become L-Mul integer
   * adds on `mantissaBits`-bit (1…23, truncated) mantissas, sums staying f32. Changes the numbers
   * by design; `inspect` shows where it applies.
   */
  lmul?: LmulOptions;
}

export interface ValueMetadata {
  readonly name: string;
  readonly isTensor: true;
  readonly type: TensorType;
  readonly shape: ReadonlyArray<number | string>;
}

export type FeedsType = Record<string, Tensor>;
export type ReturnType = Record<string, Tensor>;
export type { FetchesType };

const metadata = (v: { name: string; dtype: string; shape: Dim[] | null }): ValueMetadata => ({
  name: v.name,
  isTensor: true,
  type: v.dtype as TensorType,
  shape: (v.shape ?? []).map((d, i) => (d === null ? `unk__${i}` : d)),
});

function isSource(w: unknown): w is WasmSource {
  return typeof w === 'string' || w instanceof URL || w instanceof ArrayBuffer || w instanceof Uint8Array;
}

/** The kernel build and where its bytes come from (undefined: the bundled file). */
async function chooseKernels(requested: Backend | 'auto' | undefined, wasm: SessionOptions['wasm']): Promise<{ backend: Backend; source?: WasmSource }> {
  if (wasm === undefined || isSource(wasm)) return { backend: await pickBackend(requested), source: wasm };
  if (typeof wasm !== 'object' || wasm === null || Object.keys(wasm).some((k) => !BACKENDS.includes(k as Backend))) {
    fail('LOWBIT_BAD_OPTION', 'option wasm must be a URL, ArrayBuffer, Uint8Array or an object { scalar?, simd?, relaxed? } of those');
  }
  if (requested && requested !== 'auto') return { backend: await pickBackend(requested), source: wasm[requested] };
  const have = (await supportedBackends()).filter((b) => wasm[b] !== undefined);
  if (!have.length) {
    fail('LOWBIT_WASM', `none of the given kernel builds (${Object.keys(wasm).join(', ') || 'none'}) runs on this engine ` +
      `(it supports: ${(await supportedBackends()).join(', ')}): add the scalar build, which runs everywhere`);
  }
  const backend = have[have.length - 1];
  return { backend, source: wasm[backend] };
}

type EngineModule = typeof import('../session/open.js');

/** The engine (decoder, passes, ops, planner) is a separate chunk, loaded by the first session. */
function loadEngineModule(): Promise<EngineModule> {
  return import('../session/open.js').catch((e: unknown) => fail('LOWBIT_RUNTIME',
    `could not load lowbit's engine module (session/open.js next to the entry, or the chunk your bundler emitted for it): ${(e as Error).message}`, e));
}

export class InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueMetadata[];
  readonly outputMetadata: readonly ValueMetadata[];
  private engine?: Engine;

  private constructor(engine: Engine, private readonly core: EngineModule) {
    this.engine = engine;
    const g = engine.graph;
    this.inputNames = g.inputs.map((i) => i.name);
    this.outputNames = g.outputs.map((o) => o.name);
    this.inputMetadata = g.inputs.map(metadata);
    this.outputMetadata = g.outputs.map(metadata);
  }

  /** Loads a model from a file path (Node), URL, ArrayBuffer or Uint8Array. */
  static async create(model: ModelSource, options: SessionOptions = {}): Promise<InferenceSession> {
    for (const k of ['memoryLimit', 'maxModelBytes', 'maxTensorElements', 'runTimeLimitMs'] as const) {
      const v = options[k];
      if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) {
        fail('LOWBIT_BAD_OPTION', `option ${k} must be a positive number${k === 'runTimeLimitMs' ? ' of milliseconds' : k === 'maxTensorElements' ? '' : ' of bytes'} (got ${v})`);
      }
    }
    if (options.memoryLimit !== undefined && options.memoryLimit > MAX_MEMORY_LIMIT) {
      fail('LOWBIT_BAD_OPTION', `option memoryLimit is ${options.memoryLimit} bytes; wasm32 memory ends at 4 GiB, so the most is ${MAX_MEMORY_LIMIT}`);
    }
    if (options.precision !== undefined && options.precision !== 'model' && options.precision !== 'exact') {
      fail('LOWBIT_BAD_OPTION', `option precision must be 'model' or 'exact' (got ${String(options.precision)})`);
    }
    // The engine chunk downloads while the model and the kernel module do.
    const coreLoad = loadEngineModule();
    coreLoad.catch(() => undefined); // awaited below; an early failure elsewhere must not leave it unhandled
    const lmul = options.lmul === undefined ? undefined : (await coreLoad).checkLmulOptions(options.lmul);
    const { backend, source } = await chooseKernels(options.backend, options.wasm);
    const [core, loaded, module] = await Promise.all([
      coreLoad,
      loadModel(model, { maxModelBytes: options.maxModelBytes, onProgress: options.onProgress }),
      compileKernels(backend, source),
    ]);
    const engine = core.openEngine(loaded.bytes, loaded.readExternal, module, backend, {
      memoryLimit: options.memoryLimit, precision: options.precision, lmul,
      maxTensorElements: options.maxTensorElements, runTimeLimitMs: options.runTimeLimitMs,
    });
    const session = new InferenceSession(engine, core);
    session.planStatic();
    return session;
  }

  /** When every input shape is static, plan now so shape errors surface at load time. */
  private planStatic(): void {
    const g = this.engine!.graph;
    if (!g.inputs.every((i) => i.shape && i.shape.every((d) => typeof d === 'number'))) return;
    // Value-dependent plans (an input feeding a shape) are only known at run time.
    try {
      this.engine!.planFor(this.zeroFeeds({}), true);
    } catch (e) {
      if (e instanceof LowbitError && e.code !== 'LOWBIT_BAD_INPUT') throw e;
    }
  }

  /** Zero-filled feeds of the given shapes (default: each input's static shape). */
  private zeroFeeds(shapes: Readonly<Record<string, readonly number[]>>): Map<string, Feed> {
    return new Map<string, Feed>(this.live().graph.inputs.map((i) => {
      const dims = shapes[i.name] ?? (i.shape?.every((d) => typeof d === 'number') ? (i.shape as number[]) : undefined);
      if (!dims) fail('LOWBIT_BAD_INPUT', `input '${i.name}' has symbolic dims [${(i.shape ?? []).join(',')}]: give its shape`);
      return [i.name, { dtype: i.dtype, dims, bytes: new Uint8Array(byteLength(i.dtype, numel(dims))) }];
    }));
  }

  /**
   * What this session runs for the given input shapes (default: the model's static shapes): per
   * node the kernels, their arithmetic and whether it is exact, quantization metadata, memory.
   */
  inspect(shapes: Readonly<Record<string, readonly number[]>> = {}): InspectReport {
    const engine = this.live();
    const plan = engine.planFor(this.zeroFeeds(shapes), true);
    if (!plan) fail('LOWBIT_UNSUPPORTED', 'the plan depends on input values (an input feeds a shape), so it cannot be inspected without them');
    return this.core.inspectPlan(engine, plan);
  }

  get backend(): Backend {
    return this.live().backend;
  }

  private live(): Engine {
    if (!this.engine) fail('LOWBIT_RELEASED', 'this session was released');
    return this.engine;
  }

  async run(feeds: FeedsType, fetches?: FetchesType): Promise<ReturnType> {
    // A run is synchronous inside, so the runs of one session (one kernel instance, one arena)
    // never overlap: each call's run is done before the call returns its promise.
    return this.runSync(feeds, fetches);
  }

  /** Synchronous run (Node servers, workers). */
  runSync(feeds: FeedsType, fetches?: FetchesType): ReturnType {
    const engine = this.live();
    if (!feeds || typeof feeds !== 'object') fail('LOWBIT_BAD_INPUT', 'feeds must be an object of input name → Tensor');
    const map = new Map<string, Feed>();
    for (const [name, t] of Object.entries(feeds)) {
      if (!(t instanceof Tensor)) fail('LOWBIT_BAD_INPUT', `feed '${name}' is not a lowbit Tensor`);
      map.set(name, { dtype: t.type, dims: t.dims, bytes: t.bytes() });
    }
    const { names, preallocated } = parseFetches(fetches, this.outputNames);
    let into: Map<string, Feed> | undefined;
    for (const [name, t] of preallocated) (into ??= new Map()).set(name, { dtype: t.type, dims: t.dims, bytes: t.bytes() });
    const out = engine.run(map, names, into);
    const res: ReturnType = {};
    for (const [name, f] of out) res[name] = preallocated.get(name) ?? Tensor.output(f.dtype as TensorType, f.bytes, f.dims);
    return res;
  }

  async release(): Promise<void> {
    this.engine = undefined;
  }

  /** Internal engine, for tools (inspect, compile, bench). */
  get _engine(): Engine {
    return this.live();
  }
}
