// Getting model bytes (and, in Node, a safe reader for external data) from a path, URL or bytes.

import { fail } from '../errors.js';
import { looksLikeHtml } from '../kernels/wasm.js';
import type { ExternalDataReader } from '../onnx/tensor.js';

export type ModelSource = string | URL | ArrayBuffer | Uint8Array;

export interface LoadedModel {
  bytes: Uint8Array;
  readExternal?: ExternalDataReader;
  where: string;
}

export interface LoadOptions {
  /** Largest model file accepted, in bytes. */
  maxModelBytes?: number;
  onProgress?: (loaded: number, total: number | undefined) => void;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

export async function loadModel(src: ModelSource, opts: LoadOptions = {}): Promise<LoadedModel> {
  const max = opts.maxModelBytes ?? 2 * 1024 ** 3;
  const check = (n: number, where: string) => {
    if (n > max) fail('LOWBIT_LIMIT', `model ${where} is ${n} bytes, over the limit of ${max} bytes (option maxModelBytes)`);
  };
  if (src instanceof Uint8Array) {
    check(src.byteLength, 'bytes');
    return { bytes: src, where: 'bytes' };
  }
  if (src instanceof ArrayBuffer) {
    check(src.byteLength, 'bytes');
    return { bytes: new Uint8Array(src), where: 'bytes' };
  }
  if (typeof src !== 'string' && !(src instanceof URL)) {
    fail('LOWBIT_BAD_INPUT', `a model is a file path, URL, ArrayBuffer or Uint8Array (got ${src === null ? 'null' : typeof src === 'object' ? (src as object).constructor?.name ?? 'object' : typeof src})`);
  }
  const s = src.toString();
  const isUrl = src instanceof URL || /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || s.startsWith('data:') || s.startsWith('blob:');
  if (isNode && (!isUrl || s.startsWith('file:'))) {
    const { loadModelFile } = await import('./load-node.js');
    return loadModelFile(isUrl ? new URL(s) : s, max);
  }
  let res: Response;
  try {
    res = await fetch(s);
  } catch (e) {
    fail('LOWBIT_BAD_INPUT', `cannot fetch model ${s}: ${(e as Error).message} (is the server up? another origin must allow CORS)`, e);
  }
  if (!res.ok) fail('LOWBIT_BAD_INPUT', `fetching model ${s} failed: HTTP ${res.status} ${res.statusText}; check the model URL (a relative URL resolves against the page)`);
  const loaded = await download(res, s, check, opts.onProgress);
  if (looksLikeHtml(loaded, null)) {
    fail('LOWBIT_BAD_INPUT', `model URL ${s} returned an HTML page, not an ONNX model (a server fallback page, often its 404): ` +
      'serve the .onnx file as a static file there, or pass the model bytes');
  }
  return { bytes: loaded, where: s };
}

/** The response body, with progress reports and the size limit checked as it arrives. */
async function download(res: Response, s: string, check: (n: number, where: string) => void, onProgress: LoadOptions['onProgress']): Promise<Uint8Array> {
  const total = Number(res.headers.get('content-length')) || undefined;
  if (total !== undefined) check(total, s);
  if (!res.body || !onProgress) {
    const buf = new Uint8Array(await res.arrayBuffer());
    check(buf.byteLength, s);
    onProgress?.(buf.byteLength, total);
    return buf;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    check(loaded, s);
    onProgress(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) {
    bytes.set(c, o);
    o += c.byteLength;
  }
  return bytes;
}
