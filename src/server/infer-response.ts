// Encoding an inference response (Open Inference Protocol, REST):
//
//   {"model_name", "model_version", "id"?: echoed, "outputs": [{"name", "datatype", "shape",
//    "data": flat array} | {"name", "datatype", "shape", "parameters": {"binary_data_size"}}]}
//
// Outputs asked for as binary data follow the JSON in the body, in the order of "outputs";
// `headerLength` (→ Inference-Header-Content-Length) is then the JSON's byte length.

import { bytesToJson, type Datatype } from './datatypes.js';

export interface EncodedOutput {
  name: string;
  datatype: Datatype;
  shape: readonly number[];
  bytes: Uint8Array;
  binary: boolean;
}

export interface EncodedResponse {
  body: Uint8Array;
  /** Set when the body has a binary part. */
  headerLength?: number;
}

export function encodeInferResponse(model: { name: string; version: string }, id: string | undefined, outputs: readonly EncodedOutput[]): EncodedResponse {
  const parts = outputs.map((o) => {
    const head = `{"name":${JSON.stringify(o.name)},"datatype":"${o.datatype}","shape":[${o.shape.join(',')}]`;
    return o.binary ? `${head},"parameters":{"binary_data_size":${o.bytes.byteLength}}}` : `${head},"data":${bytesToJson(o.datatype, o.bytes)}}`;
  });
  const idPart = id === undefined ? '' : `,"id":${JSON.stringify(id)}`;
  const json = new TextEncoder().encode(`{"model_name":${JSON.stringify(model.name)},"model_version":${JSON.stringify(model.version)}${idPart},"outputs":[${parts.join(',')}]}`);
  const binary = outputs.filter((o) => o.binary);
  if (binary.length === 0) return { body: json };
  const body = new Uint8Array(json.byteLength + binary.reduce((a, o) => a + o.bytes.byteLength, 0));
  body.set(json);
  let at = json.byteLength;
  for (const o of binary) {
    body.set(o.bytes, at);
    at += o.bytes.byteLength;
  }
  return { body, headerLength: json.byteLength };
}
