// Decoding an inference request (Open Inference Protocol, REST) against a model's metadata:
//
//   {"id"?: string, "parameters"?: {"binary_data_output"?: bool},
//    "inputs": [{"name", "shape": [int], "datatype", "parameters"?: {"binary_data_size"?: int},
//                "data"?: flat or nested array}],
//    "outputs"?: [{"name", "parameters"?: {"binary_data"?: bool}}]}   (absent or empty: all)
//
// With the binary tensor data extension the body is that JSON (its length in the
// Inference-Header-Content-Length header) followed by the raw bytes of every input that has
// "binary_data_size", in the order of "inputs". Every mistake is an HttpError(400) naming the
// input; nothing is trusted before it is checked against the model.

import { badRequest } from './http-error.js';
import { DATATYPE_BYTES, isDatatype, jsonToBytes, type Datatype } from './datatypes.js';

/** An input or output as the model declares it; -1 marks a dimension of any size. */
export interface TensorMetadata {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  version: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface DecodedInput {
  name: string;
  datatype: Datatype;
  shape: number[];
  /** Little-endian element bytes (a view into the body for binary inputs). */
  bytes: Uint8Array;
}

export interface DecodedRequest {
  id?: string;
  inputs: DecodedInput[];
  /** The outputs to return, in order, and whether each goes in the binary part. */
  outputs: { name: string; binary: boolean }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const fmt = (dims: readonly number[]) => `[${dims.join(',')}]`;

function parameters(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (!isObject(v)) badRequest(`${where}: "parameters" must be an object`);
  if ('shared_memory_region' in v) badRequest(`${where}: the shared-memory extension is not supported`);
  return v;
}

function flag(params: Record<string, unknown>, key: string, where: string): boolean | undefined {
  const v = params[key];
  if (v !== undefined && typeof v !== 'boolean') badRequest(`${where}: parameter "${key}" must be true or false`);
  return v;
}

/** Nested arrays flattened in row-major order (the protocol allows either form). */
function flatten(data: unknown, out: unknown[]): void {
  if (Array.isArray(data)) for (const x of data) flatten(x, out);
  else out.push(data);
}

function parseHeader(body: Uint8Array, headerLength: number | undefined): { json: Record<string, unknown>; binaryStart: number } {
  const len = headerLength ?? body.byteLength;
  if (!Number.isSafeInteger(len) || len < 0 || len > body.byteLength) {
    badRequest(`Inference-Header-Content-Length ${headerLength} is not a byte count within the ${body.byteLength}-byte body`);
  }
  if (len === 0) badRequest('the request has no JSON body');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(0, len)));
  } catch (e) {
    badRequest(`the request is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) badRequest('the request must be a JSON object with an "inputs" array');
  return { json, binaryStart: len };
}

function checkShape(shape: unknown, meta: TensorMetadata, model: string): number[] {
  const where = `input '${meta.name}' of model '${model}'`;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    badRequest(`${where}: "shape" must be an array of non-negative integers`);
  }
  const dims = shape as number[];
  const fits = dims.length === meta.shape.length && dims.every((d, i) => meta.shape[i] === -1 || meta.shape[i] === d);
  if (!fits) badRequest(`${where}: shape ${fmt(dims)} does not match the model's ${fmt(meta.shape)} (-1: any size)`);
  return dims;
}

export function decodeInferRequest(body: Uint8Array, headerLength: number | undefined, model: ModelMetadata): DecodedRequest {
  const { json, binaryStart } = parseHeader(body, headerLength);
  const m = `model '${model.name}'`;
  if (json.id !== undefined && typeof json.id !== 'string') badRequest('"id" must be a string');
  const reqParams = parameters(json.parameters, 'the request');
  if (!Array.isArray(json.inputs)) badRequest('the request must have an "inputs" array');
  let offset = binaryStart;
  const inputs: DecodedInput[] = [];
  for (const [i, raw] of (json.inputs as unknown[]).entries()) {
    if (!isObject(raw) || typeof raw.name !== 'string') badRequest(`inputs[${i}] must be an object with a "name"`);
    const name = raw.name;
    const meta = model.inputs.find((t) => t.name === name);
    if (!meta) badRequest(`'${name}' is not an input of ${m} (inputs: ${model.inputs.map((t) => t.name).join(', ')})`);
    if (inputs.some((t) => t.name === name)) badRequest(`input '${name}' is given twice`);
    const where = `input '${name}' of ${m}`;
    if (raw.datatype === 'BYTES') badRequest(`${where}: BYTES (string) tensors are not supported by lowbit; the model takes ${meta.datatype}`);
    if (!isDatatype(raw.datatype)) badRequest(`${where}: unknown datatype ${JSON.stringify(raw.datatype)}`);
    if (raw.datatype !== meta.datatype) badRequest(`${where}: datatype ${raw.datatype} does not match the model's ${meta.datatype}`);
    const shape = checkShape(raw.shape, meta, model.name);
    const count = shape.reduce((a, b) => a * b, 1);
    const size = count * DATATYPE_BYTES[meta.datatype];
    const binarySize = parameters(raw.parameters, where).binary_data_size;
    let bytes: Uint8Array;
    if (binarySize !== undefined) {
      if (raw.data !== undefined) badRequest(`${where}: give either "data" or parameter "binary_data_size", not both`);
      if (!Number.isSafeInteger(binarySize) || (binarySize as number) < 0) badRequest(`${where}: "binary_data_size" must be a non-negative integer`);
      if (binarySize !== size) badRequest(`${where}: binary_data_size ${binarySize} does not match shape ${fmt(shape)} of ${meta.datatype} (${size} bytes)`);
      if (offset + size > body.byteLength) badRequest(`${where}: the body ends ${offset + size - body.byteLength} bytes before its binary data does`);
      bytes = body.subarray(offset, offset + size);
      offset += size;
    } else {
      if (raw.data === undefined) badRequest(`${where}: no "data" and no parameter "binary_data_size"`);
      const values: unknown[] = [];
      flatten(raw.data, values);
      if (values.length !== count) badRequest(`${where}: shape ${fmt(shape)} needs ${count} values, "data" has ${values.length}`);
      const converted = jsonToBytes(meta.datatype, values);
      if (typeof converted === 'number') {
        const hint = meta.datatype === 'INT64' || meta.datatype === 'UINT64' ? ' (64-bit values beyond ±2^53 need the binary extension)' : '';
        badRequest(`${where}: element ${converted} (${JSON.stringify(values[converted])}) is not a ${meta.datatype} value${hint}`);
      }
      bytes = converted;
    }
    inputs.push({ name, datatype: meta.datatype, shape, bytes });
  }
  if (offset !== body.byteLength) badRequest(`the body has ${body.byteLength - offset} bytes after the JSON and the inputs' binary data`);
  const missing = model.inputs.filter((t) => !inputs.some((x) => x.name === t.name));
  if (missing.length > 0) badRequest(`${m} needs input${missing.length > 1 ? 's' : ''} ${missing.map((t) => `'${t.name}'`).join(', ')}`);

  const allBinary = flag(reqParams, 'binary_data_output', 'the request') ?? false;
  let outputs: DecodedRequest['outputs'];
  if (json.outputs === undefined || (Array.isArray(json.outputs) && json.outputs.length === 0)) {
    // No outputs asked for: all of them, as Triton does.
    outputs = model.outputs.map((t) => ({ name: t.name, binary: allBinary }));
  } else {
    if (!Array.isArray(json.outputs)) badRequest('"outputs" must be an array');
    outputs = (json.outputs as unknown[]).map((raw, i) => {
      if (!isObject(raw) || typeof raw.name !== 'string') badRequest(`outputs[${i}] must be an object with a "name"`);
      const name = raw.name;
      if (!model.outputs.some((t) => t.name === name)) badRequest(`'${name}' is not an output of ${m} (outputs: ${model.outputs.map((t) => t.name).join(', ')})`);
      const where = `output '${name}'`;
      const params = parameters(raw.parameters, where);
      if ('classification' in params) badRequest(`${where}: the classification extension is not supported`);
      return { name, binary: flag(params, 'binary_data', where) ?? allBinary };
    });
    const seen = new Set<string>();
    for (const o of outputs) {
      if (seen.has(o.name)) badRequest(`output '${o.name}' is requested twice`);
      seen.add(o.name);
    }
  }
  return { ...(json.id !== undefined ? { id: json.id as string } : {}), inputs, outputs };
}
