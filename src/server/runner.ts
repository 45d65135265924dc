// What the HTTP side asks of the inference side: run one encoded request for a model version and
// give back the encoded response, report its load for /metrics, and shut down. Implemented by
// the worker-thread pool (pool.ts) and the main-thread runner (inline.ts).

import type { LoadReport, LoadSpec } from './infer.js';

export interface InferResult {
  body: Uint8Array;
  /** Set when the body has a binary part (→ Inference-Header-Content-Length). */
  headerLength?: number;
}

export interface InferenceRunner {
  /** Worker threads (0: inference runs on the main thread). */
  readonly size: number;
  readonly queueDepth: number;
  readonly running: number;
  readonly readyWorkers: number;
  /** Runs one request for model version `key`; rejects with an HttpError. */
  run(key: string, body: Uint8Array, headerLength?: number): Promise<InferResult>;
  /** Refuses new requests, lets the accepted ones finish, releases the models. */
  close(): Promise<void>;
}

/** Loads the models of `spec` and starts a runner; `reports` follow the order of spec.models. */
export type StartRunner = (spec: LoadSpec) => Promise<{ runner: InferenceRunner; reports: LoadReport[] }>;
