// One inference worker (a worker_thread): loads every model version of the repository into its
// own InferenceSessions (its own WASM instances), then answers one request at a time: decode the
// body against the model, run it, encode the response. The request body arrives transferred
// from the main thread and the encoded response goes back transferred, so tensors are copied
// only into and out of WASM memory.

import { parentPort, workerData } from 'node:worker_threads';
import { InferenceSession, LowbitError, Tensor, type Backend, type Precision, type ValueMetadata } from '../index.js';
import { datatypeOf, tensorType } from './datatypes.js';
import { HttpError } from './http-error.js';
import { decodeInferRequest, type ModelMetadata, type TensorMetadata } from './infer-request.js';
import { encodeInferResponse } from './infer-response.js';

export interface WorkerInit {
  models: { key: string; name: string; version: string; file: string }[];
  backend: Backend | 'auto';
  precision: Precision;
}

export type LoadReport = { key: string; metadata: ModelMetadata } | { key: string; error: string };

export interface InferJob {
  type: 'infer';
  job: number;
  key: string;
  body: Uint8Array;
  headerLength?: number;
}

export type WorkerMessage =
  | { type: 'ready'; models: LoadReport[] }
  | { type: 'done'; job: number; status: 200; body: Uint8Array; headerLength?: number }
  | { type: 'done'; job: number; status: number; error: string };

/** LowbitError codes caused by what a request holds: 400; any other failure is lowbit's: 500. */
const REQUEST_CODES = new Set(['LOWBIT_BAD_INPUT', 'LOWBIT_SHAPE_MISMATCH', 'LOWBIT_TYPE_MISMATCH', 'LOWBIT_LIMIT', 'LOWBIT_OUT_OF_MEMORY']);

function tensorMetadata(v: ValueMetadata, what: string): TensorMetadata {
  const datatype = datatypeOf(v.type);
  if (!datatype) throw new LowbitError('LOWBIT_UNSUPPORTED', `${what} '${v.name}' has type ${v.type}, which the Open Inference Protocol cannot carry`);
  return { name: v.name, datatype, shape: v.shape.map((d) => (typeof d === 'number' ? d : -1)) };
}

async function load(init: WorkerInit): Promise<{ sessions: Map<string, { session: InferenceSession; metadata: ModelMetadata }>; reports: LoadReport[] }> {
  const sessions = new Map<string, { session: InferenceSession; metadata: ModelMetadata }>();
  const reports: LoadReport[] = [];
  for (const m of init.models) {
    try {
      const session = await InferenceSession.create(m.file, { backend: init.backend, precision: init.precision });
      const metadata: ModelMetadata = {
        name: m.name,
        version: m.version,
        inputs: session.inputMetadata.map((v) => tensorMetadata(v, 'input')),
        outputs: session.outputMetadata.map((v) => tensorMetadata(v, 'output')),
      };
      sessions.set(m.key, { session, metadata });
      reports.push({ key: m.key, metadata });
    } catch (e) {
      reports.push({ key: m.key, error: e instanceof LowbitError ? `${e.message} (${e.code})` : String((e as Error)?.message ?? e) });
    }
  }
  return { sessions, reports };
}

function infer(model: { session: InferenceSession; metadata: ModelMetadata }, job: InferJob): WorkerMessage {
  const req = decodeInferRequest(job.body, job.headerLength, model.metadata);
  const feeds: Record<string, Tensor> = {};
  for (const x of req.inputs) feeds[x.name] = Tensor.fromBytes(tensorType(x.datatype), x.bytes, x.shape);
  const results = model.session.runSync(feeds, req.outputs.map((o) => o.name));
  const outputs = req.outputs.map((o) => {
    const t = results[o.name];
    return { name: o.name, datatype: datatypeOf(t.type)!, shape: t.dims, bytes: t.bytes(), binary: o.binary };
  });
  const res = encodeInferResponse(model.metadata, req.id, outputs);
  return { type: 'done', job: job.job, status: 200, body: res.body, headerLength: res.headerLength };
}

function failure(job: number, e: unknown): WorkerMessage {
  if (e instanceof HttpError) return { type: 'done', job, status: e.status, error: e.message };
  if (e instanceof LowbitError) return { type: 'done', job, status: REQUEST_CODES.has(e.code) ? 400 : 500, error: `${e.message} (${e.code})` };
  return { type: 'done', job, status: 500, error: `internal error: ${String((e as Error)?.message ?? e)}` };
}

if (parentPort) {
  const port = parentPort;
  const { sessions, reports } = await load(workerData as WorkerInit);
  port.on('message', (job: InferJob) => {
    const model = sessions.get(job.key);
    let msg: WorkerMessage;
    try {
      msg = model ? infer(model, job) : { type: 'done', job: job.job, status: 503, error: `model ${job.key} is not loaded` };
    } catch (e) {
      msg = failure(job.job, e);
    }
    port.postMessage(msg, 'body' in msg ? [msg.body.buffer as ArrayBuffer] : []);
  });
  port.postMessage({ type: 'ready', models: reports } satisfies WorkerMessage);
}
