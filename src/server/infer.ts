// Loading a repository's model versions into InferenceSessions and answering one inference
// request against them: decode the body against the model, run it, encode the response. The
// worker threads (worker.ts) and the main-thread runner (inline.ts) both use it.

import { InferenceSession, LowbitError, Tensor, type Backend, type Precision, type ValueMetadata } from '../index.js';
import { datatypeOf, tensorType } from './datatypes.js';
import { HttpError } from './http-error.js';
import { decodeInferRequest, type ModelMetadata, type TensorMetadata } from './infer-request.js';
import { encodeInferResponse } from './infer-response.js';

export interface LoadSpec {
  models: { key: string; name: string; version: string; file: string }[];
  backend: Backend | 'auto';
  precision: Precision;
}

export type LoadReport = { key: string; metadata: ModelMetadata } | { key: string; error: string };

export interface LoadedModel {
  session: InferenceSession;
  metadata: ModelMetadata;
}

/** A response body, or an error with its HTTP status. */
export type InferOutcome = { status: 200; body: Uint8Array; headerLength?: number } | { status: number; error: string };

/** LowbitError codes caused by what a request holds: 400; any other failure is lowbit's: 500. */
const REQUEST_CODES = new Set(['LOWBIT_BAD_INPUT', 'LOWBIT_SHAPE_MISMATCH', 'LOWBIT_TYPE_MISMATCH', 'LOWBIT_LIMIT', 'LOWBIT_OUT_OF_MEMORY']);

function tensorMetadata(v: ValueMetadata, what: string): TensorMetadata {
  const datatype = datatypeOf(v.type);
  if (!datatype) throw new LowbitError('LOWBIT_UNSUPPORTED', `${what} '${v.name}' has type ${v.type}, which the Open Inference Protocol cannot carry`);
  return { name: v.name, datatype, shape: v.shape.map((d) => (typeof d === 'number' ? d : -1)) };
}

export async function loadModels(spec: LoadSpec): Promise<{ models: Map<string, LoadedModel>; reports: LoadReport[] }> {
  const models = new Map<string, LoadedModel>();
  const reports: LoadReport[] = [];
  for (const m of spec.models) {
    try {
      const session = await InferenceSession.create(m.file, { backend: spec.backend, precision: spec.precision });
      const metadata: ModelMetadata = {
        name: m.name,
        version: m.version,
        inputs: session.inputMetadata.map((v) => tensorMetadata(v, 'input')),
        outputs: session.outputMetadata.map((v) => tensorMetadata(v, 'output')),
      };
      models.set(m.key, { session, metadata });
      reports.push({ key: m.key, metadata });
    } catch (e) {
      reports.push({ key: m.key, error: e instanceof LowbitError ? `${e.message} (${e.code})` : String((e as Error)?.message ?? e) });
    }
  }
  return { models, reports };
}

function run(model: LoadedModel, body: Uint8Array, headerLength: number | undefined): InferOutcome {
  const req = decodeInferRequest(body, headerLength, model.metadata);
  const feeds: Record<string, Tensor> = {};
  for (const x of req.inputs) feeds[x.name] = Tensor.fromBytes(tensorType(x.datatype), x.bytes, x.shape);
  const results = model.session.runSync(feeds, req.outputs.map((o) => o.name));
  const outputs = req.outputs.map((o) => {
    const t = results[o.name];
    return { name: o.name, datatype: datatypeOf(t.type)!, shape: t.dims, bytes: t.bytes(), binary: o.binary };
  });
  const res = encodeInferResponse(model.metadata, req.id, outputs);
  return { status: 200, body: res.body, headerLength: res.headerLength };
}

/** Answers one request for `model` (undefined: not loaded); never throws. */
export function inferOutcome(model: LoadedModel | undefined, key: string, body: Uint8Array, headerLength: number | undefined): InferOutcome {
  if (!model) return { status: 503, error: `model ${key} is not loaded` };
  try {
    return run(model, body, headerLength);
  } catch (e) {
    if (e instanceof HttpError) return { status: e.status, error: e.message };
    if (e instanceof LowbitError) return { status: REQUEST_CODES.has(e.code) ? 400 : 500, error: `${e.message} (${e.code})` };
    return { status: 500, error: `internal error: ${String((e as Error)?.message ?? e)}` };
  }
}
