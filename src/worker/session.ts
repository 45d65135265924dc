// WorkerSession: the InferenceSession API with the session living in a module Web Worker, so
// model loading and inference never block the page. Inputs are structured-cloned once into the
// worker; outputs come back as transferred buffers (no second copy).

import { fail, LowbitError, type LowbitErrorCode } from '../errors.js';
import type { FeedsType, FetchesType, ReturnType, SessionOptions, ValueMetadata } from '../api/session.js';
import { fillPreallocated, parseFetches } from '../api/fetches.js';
import { Tensor } from '../api/tensor.js';
import type { Backend } from '../kernels/wasm.js';
import type { ModelSource } from '../api/load.js';
import type { Reply, Request, WireMetadata, WireTensor } from './protocol.js';

export interface WorkerOptions {
  /**
   * The worker to host the session: default a new module worker on lowbit's own worker entry.
   * Give a Worker (created on `lowbit/worker`) or its URL when a bundler or CSP needs another.
   */
  worker?: Worker | URL | string;
}

/**
 * URLs as absolute strings (a URL object cannot be posted; a relative URL would resolve against
 * the worker's script, not the page).
 */
function pageRelative<T>(src: T): T {
  const base = typeof location !== 'undefined' ? location.href : undefined;
  if (src instanceof URL) return src.href as T;
  if (typeof src === 'string') return (URL.canParse(src, base) ? new URL(src, base).href : src) as T;
  if (src && typeof src === 'object' && !(src instanceof ArrayBuffer) && !ArrayBuffer.isView(src)) {
    return Object.fromEntries(Object.entries(src).map(([k, v]) => [k, pageRelative(v)])) as T;
  }
  return src;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void; progress?: SessionOptions['onProgress'] };
type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

export class WorkerSession {
  readonly inputNames: readonly string[] = [];
  readonly outputNames: readonly string[] = [];
  readonly inputMetadata: readonly ValueMetadata[] = [];
  readonly outputMetadata: readonly ValueMetadata[] = [];
  private backendName: Backend = 'scalar';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private released = false;

  private constructor(private readonly worker: Worker) {
    worker.addEventListener('message', (e: MessageEvent<Reply>) => this.onReply(e.data));
    worker.addEventListener('error', (e: ErrorEvent) => {
      this.failAll(new LowbitError('LOWBIT_RUNTIME', `the lowbit worker failed: ${e.message || 'script error (check the worker URL)'}`));
      e.preventDefault?.();
    });
    worker.addEventListener('messageerror', () => this.failAll(new LowbitError('LOWBIT_RUNTIME', 'a message from the lowbit worker could not be read')));
  }

  /** Loads a model (URL, ArrayBuffer or Uint8Array) into a new worker-hosted session. */
  static async create(model: ModelSource, options: SessionOptions & WorkerOptions = {}): Promise<WorkerSession> {
    if (typeof Worker === 'undefined') fail('LOWBIT_UNSUPPORTED', 'worker mode needs Web Workers (a browser, or Deno); in Node use InferenceSession');
    const { worker, onProgress, ...rest } = options;
    const w = worker instanceof Worker ? worker
      : new Worker(worker ?? new URL('../worker.js', import.meta.url), { type: 'module', name: 'lowbit' });
    const s = new WorkerSession(w);
    // A URL model is fetched by the worker itself; bytes are cloned once into the worker.
    try {
      const options = { ...rest, wasm: pageRelative(rest.wasm), progress: !!onProgress };
      const meta = (await s.call({ op: 'create', model: pageRelative(model) as string | ArrayBuffer | Uint8Array, options }, [], onProgress)) as WireMetadata;
      Object.assign(s, {
        inputNames: meta.inputNames, outputNames: meta.outputNames,
        inputMetadata: meta.inputMetadata, outputMetadata: meta.outputMetadata,
      });
      s.backendName = meta.backend;
      return s;
    } catch (e) {
      w.terminate();
      throw e;
    }
  }

  get backend(): Backend {
    if (this.released) fail('LOWBIT_RELEASED', 'this session was released');
    return this.backendName;
  }

  async run(feeds: FeedsType, fetches?: FetchesType): Promise<ReturnType> {
    if (this.released) fail('LOWBIT_RELEASED', 'this session was released');
    if (!feeds || typeof feeds !== 'object') fail('LOWBIT_BAD_INPUT', 'feeds must be an object of input name → Tensor');
    const wire: Record<string, WireTensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if (!(t instanceof Tensor)) fail('LOWBIT_BAD_INPUT', `feed '${name}' is not a lowbit Tensor`);
      wire[name] = { type: t.type, dims: [...t.dims], bytes: t.bytes() };
    }
    const { names, preallocated } = parseFetches(fetches, this.outputNames);
    const out = (await this.call({ op: 'run', feeds: wire, fetches: names })) as Record<string, WireTensor>;
    const res: ReturnType = {};
    for (const [name, t] of Object.entries(out)) {
      const dst = preallocated.get(name);
      res[name] = dst ? fillPreallocated(name, dst, t.type, t.dims, t.bytes) : Tensor.fromBytes(t.type, t.bytes, t.dims);
    }
    return res;
  }

  /** Frees the session and terminates its worker. */
  async release(): Promise<void> {
    if (this.released) return;
    try {
      await this.call({ op: 'release' });
    } finally {
      this.released = true;
      this.worker.terminate();
      this.failAll(new LowbitError('LOWBIT_RELEASED', 'this session was released'));
    }
  }

  private call(msg: Distribute<Request>, transfer: Transferable[] = [], progress?: SessionOptions['onProgress']): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, progress });
      this.worker.postMessage({ ...msg, id } as Request, transfer);
    });
  }

  private onReply(r: Reply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    if ('progress' in r) {
      p.progress?.(r.progress[0], r.progress[1]);
      return;
    }
    this.pending.delete(r.id);
    if (r.ok) p.resolve(r.value);
    else if (r.code === 'ERROR') p.reject(new Error(r.message));
    else p.reject(new LowbitError(r.code as LowbitErrorCode, r.message));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
