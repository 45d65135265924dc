// One inference worker (a worker_thread): loads every model version of the repository into its
// own InferenceSessions (its own WASM instances), then answers one request at a time (infer.ts).
// The request body arrives transferred from the main thread and the encoded response goes back
// transferred, so tensors are copied only into and out of WASM memory.

import { parentPort, workerData } from 'node:worker_threads';
import { inferOutcome, loadModels, type InferOutcome, type LoadReport, type LoadSpec } from './infer.js';

export interface InferJob {
  job: number;
  key: string;
  body: Uint8Array;
  headerLength?: number;
}

export type WorkerMessage = { type: 'ready'; models: LoadReport[] } | ({ type: 'done'; job: number } & InferOutcome);

if (parentPort) {
  const port = parentPort;
  const { models, reports } = await loadModels(workerData as LoadSpec);
  port.on('message', (job: InferJob) => {
    const msg: WorkerMessage = { type: 'done', job: job.job, ...inferOutcome(models.get(job.key), job.key, job.body, job.headerLength) };
    port.postMessage(msg, 'body' in msg ? [msg.body.buffer as ArrayBuffer] : []);
  });
  port.postMessage({ type: 'ready', models: reports } satisfies WorkerMessage);
}
