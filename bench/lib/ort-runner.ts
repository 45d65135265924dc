// The inference side of `lowbit serve` done with onnxruntime-node instead, for bench/server.ts:
// what a user would build in the same fastify app without lowbit. Requests are decoded and
// responses encoded by the same code as lowbit's (src/server/infer-request.ts,
// infer-response.ts); onnxruntime-node's session.run is asynchronous but runs its graph on the
// main thread (in a setImmediate), with its own intra-op thread pool.

import * as ort from 'onnxruntime-node';
import type { TensorType } from '../../src/index.js';
import { datatypeOf, tensorType } from '../../src/server/datatypes.js';
import { HttpError } from '../../src/server/http-error.js';
import type { LoadReport, LoadSpec } from '../../src/server/infer.js';
import { decodeInferRequest, type ModelMetadata, type TensorMetadata } from '../../src/server/infer-request.js';
import { encodeInferResponse } from '../../src/server/infer-response.js';
import type { InferenceRunner, InferResult, StartRunner } from '../../src/server/runner.js';

interface OrtModel {
  session: ort.InferenceSession;
  metadata: ModelMetadata;
}

const ARRAYS: Partial<Record<TensorType, { new (b: ArrayBuffer, o: number, n: number): ort.Tensor.DataType; BYTES_PER_ELEMENT: number }>> = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array, float16: Uint16Array,
};

function tensorMetadata(m: ort.InferenceSession.ValueMetadata): TensorMetadata {
  if (!m.isTensor) throw new Error(`'${m.name}' is not a tensor`);
  const datatype = datatypeOf(m.type as TensorType);
  if (!datatype) throw new Error(`'${m.name}' has type ${m.type}`);
  return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' ? d : -1)) };
}

/** An ort.Tensor over a copy of `bytes` (aligned for its element type). */
function ortTensor(type: TensorType, bytes: Uint8Array, dims: number[]): ort.Tensor {
  const C = ARRAYS[type];
  if (!C) throw new HttpError(400, `onnxruntime-node bench runner: no ${type} tensors`);
  const copy = Uint8Array.prototype.slice.call(bytes);
  return new ort.Tensor(type as ort.Tensor.Type, new C(copy.buffer, 0, copy.byteLength / C.BYTES_PER_ELEMENT), dims);
}

class OrtRunner implements InferenceRunner {
  readonly size = 0;
  readonly queueDepth = 0;
  readonly readyWorkers = 0;
  running = 0;
  constructor(private readonly models: Map<string, OrtModel>) {}

  async run(key: string, body: Uint8Array, headerLength?: number): Promise<InferResult> {
    const model = this.models.get(key);
    if (!model) throw new HttpError(503, `model ${key} is not loaded`);
    const req = decodeInferRequest(body, headerLength, model.metadata);
    const feeds: Record<string, ort.Tensor> = {};
    for (const x of req.inputs) feeds[x.name] = ortTensor(tensorType(x.datatype), x.bytes, x.shape);
    this.running++;
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await model.session.run(feeds, req.outputs.map((o) => o.name));
    } finally {
      this.running--;
    }
    const outputs = req.outputs.map((o) => {
      const t = results[o.name];
      const data = t.data as ArrayBufferView;
      return { name: o.name, datatype: datatypeOf(t.type as TensorType)!, shape: t.dims, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), binary: o.binary };
    });
    return encodeInferResponse(model.metadata, req.id, outputs);
  }

  async close(): Promise<void> {
    for (const m of this.models.values()) await m.session.release();
    this.models.clear();
  }
}

/** `threads`: onnxruntime's intra-op threads (undefined: its default, one per core). */
export function ortNodeRunner(threads?: number): StartRunner {
  return async (spec: LoadSpec) => {
    const models = new Map<string, OrtModel>();
    const reports: LoadReport[] = [];
    for (const m of spec.models) {
      try {
        const session = await ort.InferenceSession.create(m.file, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3, ...(threads ? { intraOpNumThreads: threads } : {}) });
        const metadata = { name: m.name, version: m.version, inputs: session.inputMetadata.map(tensorMetadata), outputs: session.outputMetadata.map(tensorMetadata) };
        models.set(m.key, { session, metadata });
        reports.push({ key: m.key, metadata });
      } catch (e) {
        reports.push({ key: m.key, error: (e as Error).message });
      }
    }
    return { runner: new OrtRunner(models), reports };
  };
}
