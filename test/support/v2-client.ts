// A small Open Inference Protocol client for the server tests: JSON and binary-extension
// requests over Node's fetch, and responses split into their JSON and binary parts.

export interface V2Response {
  status: number;
  headers: Headers;
  /** The JSON part (undefined for an empty or non-JSON body). */
  json: any;
  /** The JSON part as text. */
  text: string;
  /** The bytes after the JSON (binary outputs), empty without the extension. */
  binary: Uint8Array;
}

export async function call(url: string, init?: RequestInit): Promise<V2Response> {
  const res = await fetch(url, init);
  const body = new Uint8Array(await res.arrayBuffer());
  const h = res.headers.get('inference-header-content-length');
  const n = h === null ? body.byteLength : Number(h);
  const text = new TextDecoder().decode(body.subarray(0, n));
  const isJson = h !== null || /^application\/json/.test(res.headers.get('content-type') ?? '');
  return { status: res.status, headers: res.headers, json: isJson && text !== '' ? JSON.parse(text) : undefined, text, binary: body.subarray(n) };
}

export const post = (url: string, body: unknown) =>
  call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

/** A binary-extension request: the JSON, then each chunk, with Inference-Header-Content-Length. */
export function postBinary(url: string, json: unknown, chunks: readonly ArrayBufferView[]) {
  const head = new TextEncoder().encode(JSON.stringify(json));
  const size = chunks.reduce((a, c) => a + c.byteLength, head.byteLength);
  const body = new Uint8Array(size);
  body.set(head);
  let at = head.byteLength;
  for (const c of chunks) {
    body.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
    at += c.byteLength;
  }
  return call(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.byteLength) }, body });
}

/** Splits a response's binary part by its outputs' binary_data_size, in order. */
export function binaryOutputs(r: V2Response): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  let at = 0;
  for (const o of r.json.outputs as { name: string; parameters?: { binary_data_size?: number } }[]) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    out[o.name] = r.binary.slice(at, at + size);
    at += size;
  }
  if (at !== r.binary.byteLength) throw new Error(`binary part has ${r.binary.byteLength} bytes, outputs declare ${at}`);
  return out;
}

/** The value of a Prometheus sample line `name{labels} value` (0 when absent). */
export function sample(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
