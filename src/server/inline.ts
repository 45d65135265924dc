// Inference on the main thread (`--workers 0`): each request runs to completion inside its HTTP
// handler, so there is no queue and no thread hand-off — the fastest choice when a run takes far
// less than the HTTP work around it (small models, small batches). A run blocks the event loop
// and cannot be stopped, so there is no timeout: use worker threads for models whose runs are long.

import { HttpError } from './http-error.js';
import { inferOutcome, loadModels, type LoadedModel, type LoadSpec } from './infer.js';
import type { InferenceRunner, InferResult, StartRunner } from './runner.js';

export class InlineRunner implements InferenceRunner {
  readonly size = 0;
  readonly queueDepth = 0;
  readonly readyWorkers = 0;
  /** A run finishes before any other handler (e.g. /metrics) can look. */
  readonly running = 0;
  private closing = false;

  private constructor(private readonly models: Map<string, LoadedModel>) {}

  static start: StartRunner = async (spec: LoadSpec) => {
    const { models, reports } = await loadModels(spec);
    return { runner: new InlineRunner(models), reports };
  };

  run(key: string, body: Uint8Array, headerLength?: number): Promise<InferResult> {
    if (this.closing) return Promise.reject(new HttpError(503, 'the server is shutting down'));
    const out = inferOutcome(this.models.get(key), key, body, headerLength);
    return 'body' in out ? Promise.resolve(out) : Promise.reject(new HttpError(out.status, out.error));
  }

  async close(): Promise<void> {
    this.closing = true;
    const models = [...this.models.values()];
    this.models.clear();
    await Promise.all(models.map((m) => m.session.release()));
  }
}
