// A pool of inference workers with one bounded FIFO queue. Each worker runs one request at a
// time; a request waits in the queue only while every worker is busy, and is refused (503) when
// the queue already holds `queue` requests. A request that is not answered within `timeoutMs`
// (waiting and running) is answered 503; if it was running, its worker is stopped — a WASM run
// cannot be interrupted — and a fresh one loads the models in its place. close() refuses new
// requests, lets the queued and running ones finish, then stops the workers.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HttpError } from './http-error.js';
import type { LoadReport, LoadSpec } from './infer.js';
import type { InferenceRunner, InferResult } from './runner.js';
import type { InferJob, WorkerMessage } from './worker.js';

export interface PoolOptions {
  /** Worker threads (default: one per core). */
  workers?: number;
  /** Requests that may wait for a worker (default 64). */
  queue?: number;
  /** Milliseconds a request may wait and run (default 60000). */
  timeoutMs?: number;
}

interface Pending {
  id: number;
  key: string;
  body: Uint8Array;
  headerLength?: number;
  resolve(r: InferResult): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
  slot?: Slot;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Pending;
}

/** A worker thread running worker.ts: the compiled .js, or the .ts source through tsx (tests, tsx runs). */
function spawnWorker(init: LoadSpec): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here), { workerData: init });
  const tsx = import.meta.resolve('tsx/esm/api');
  const src = new URL('./worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(src)}); });`;
  return new Worker(boot, { eval: true, workerData: init });
}

export class WorkerPool implements InferenceRunner {
  private readonly slots: Slot[] = [];
  private readonly waiting: Pending[] = [];
  private nextId = 0;
  private closing = false;
  private idle?: () => void;
  readonly size: number;
  readonly maxQueue: number;
  readonly timeoutMs: number;

  private constructor(private readonly init: LoadSpec, opts: PoolOptions) {
    this.size = opts.workers ?? availableParallelism();
    this.maxQueue = opts.queue ?? 64;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /** Starts the workers and waits until each has loaded the models; returns the load reports. */
  static async start(init: LoadSpec, opts: PoolOptions = {}): Promise<{ runner: WorkerPool; reports: LoadReport[] }> {
    const pool = new WorkerPool(init, opts);
    let reports: LoadReport[][];
    try {
      reports = await Promise.all(Array.from({ length: pool.size }, () => pool.addWorker()));
    } catch (e) {
      await pool.close();
      throw e;
    }
    // A model serves only if it loaded in every worker (they load the same files, so they agree).
    const merged = reports[0].map((r, i) => reports.map((w) => w[i]).find((w) => 'error' in w) ?? r);
    return { runner: pool, reports: merged };
  }

  get queueDepth(): number {
    return this.waiting.length;
  }

  /** Workers that have loaded the models (one being replaced after a timeout has not). */
  get readyWorkers(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  get running(): number {
    return this.slots.filter((s) => s.job).length;
  }

  private addWorker(replace?: Slot): Promise<LoadReport[]> {
    return new Promise((resolve, reject) => {
      const worker = spawnWorker(this.init);
      const slot: Slot = replace ?? { worker, ready: false };
      slot.worker = worker;
      slot.ready = false;
      if (!replace) this.slots.push(slot);
      worker.on('message', (msg: WorkerMessage) => {
        if (msg.type === 'ready') {
          slot.ready = true;
          resolve(msg.models);
          this.pump();
        } else {
          this.finish(slot, msg);
        }
      });
      worker.on('error', (e) => {
        reject(e);
        this.lost(slot, worker, `worker crashed: ${e.message}`);
      });
      worker.on('exit', (code) => {
        reject(new Error(`worker exited with code ${code} before loading the models`));
        this.lost(slot, worker, `worker exited with code ${code}`);
      });
    });
  }

  /**
   * A worker that died on its own: fail its request and start another — unless it died before
   * loading the models, which a new one would only repeat.
   */
  private lost(slot: Slot, worker: Worker, why: string): void {
    if (slot.worker !== worker) return; // already replaced
    const { job, ready } = slot;
    slot.job = undefined;
    slot.ready = false;
    if (job) this.settle(job, () => job.reject(new HttpError(500, why)));
    if (ready && !this.closing) void this.addWorker(slot).catch(() => undefined);
    this.pump();
  }

  private finish(slot: Slot, msg: Extract<WorkerMessage, { type: 'done' }>): void {
    const job = slot.job;
    if (!job || job.id !== msg.job) return;
    slot.job = undefined;
    if ('body' in msg) this.settle(job, () => job.resolve({ body: msg.body, headerLength: msg.headerLength }));
    else this.settle(job, () => job.reject(new HttpError(msg.status, msg.error)));
    this.pump();
  }

  private settle(job: Pending, done: () => void): void {
    clearTimeout(job.timer);
    done();
  }

  /** Runs one request for model version `key`; rejects with an HttpError. */
  run(key: string, body: Uint8Array, headerLength?: number): Promise<InferResult> {
    if (this.closing) return Promise.reject(new HttpError(503, 'the server is shutting down'));
    const free = this.slots.some((s) => s.ready && !s.job);
    if (!free && this.waiting.length >= this.maxQueue) {
      return Promise.reject(new HttpError(503, `the request queue is full (${this.maxQueue} waiting for ${this.size} workers)`));
    }
    // The body's memory moves to the worker: copy it only when it shares an ArrayBuffer (small
    // Node Buffers are views into a shared pool, which postMessage would copy whole rather than
    // transfer; Buffer's own slice() is a view, Uint8Array's copies).
    const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer ? body : Uint8Array.prototype.slice.call(body);
    return new Promise<InferResult>((resolve, reject) => {
      const job: Pending = { id: this.nextId++, key, body: own, headerLength, resolve, reject };
      job.timer = setTimeout(() => this.expire(job), this.timeoutMs);
      this.waiting.push(job);
      this.pump();
    });
  }

  private expire(job: Pending): void {
    const i = this.waiting.indexOf(job);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      job.reject(new HttpError(503, `the request timed out after ${this.timeoutMs} ms waiting for a worker`));
      this.pump();
      return;
    }
    const slot = job.slot;
    if (!slot || slot.job !== job) return;
    job.reject(new HttpError(503, `the request timed out after ${this.timeoutMs} ms; its run was stopped`));
    slot.job = undefined;
    const old = slot.worker;
    void this.addWorker(slot).catch(() => undefined);
    void old.terminate();
    this.pump();
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) break;
      if (!slot.ready || slot.job) continue;
      const job = this.waiting.shift()!;
      job.slot = slot;
      slot.job = job;
      const msg: InferJob = { job: job.id, key: job.key, body: job.body, headerLength: job.headerLength };
      slot.worker.postMessage(msg, [job.body.buffer as ArrayBuffer]);
    }
    if (this.idle && this.waiting.length === 0 && this.running === 0) this.idle();
  }

  /** Refuses new requests, waits for the queued and running ones, stops the workers. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.waiting.length > 0 || this.running > 0) await new Promise<void>((r) => (this.idle = r));
    const workers = this.slots.map((s) => s.worker);
    this.slots.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
