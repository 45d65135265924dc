// Locating, probing and compiling the kernel modules (scalar, simd128, relaxed-simd builds).

import { fail } from '../errors.js';

export type Backend = 'scalar' | 'simd' | 'relaxed';
export const BACKENDS: readonly Backend[] = ['scalar', 'simd', 'relaxed'];

/** Where kernel bytes come from when the caller does not want the bundled files. */
export type WasmSource = URL | string | ArrayBuffer | Uint8Array;

// Minimal modules that validate only when the engine has the feature (same probes as
// wasm-feature-detect): one v128 instruction, and one relaxed-simd instruction.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11]);

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
let relaxedFlagTried = false;

async function enableRelaxedInNode(): Promise<void> {
  if (!isNode || relaxedFlagTried) return;
  relaxedFlagTried = true;
  // Node 20 ships relaxed SIMD behind a flag that may still be set before a module is compiled.
  try {
    const v8 = await import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    /* not Node, or the flag is gone: feature detection below decides */
  }
}

export async function supportedBackends(): Promise<Backend[]> {
  const out: Backend[] = ['scalar'];
  if (WebAssembly.validate(SIMD_PROBE)) out.push('simd');
  if (!WebAssembly.validate(RELAXED_PROBE)) await enableRelaxedInNode();
  if (out.includes('simd') && WebAssembly.validate(RELAXED_PROBE)) out.push('relaxed');
  return out;
}

export async function pickBackend(requested: Backend | 'auto' | undefined): Promise<Backend> {
  const have = await supportedBackends();
  if (!requested || requested === 'auto') return have[have.length - 1];
  if (!BACKENDS.includes(requested)) fail('LOWBIT_BAD_OPTION', `unknown backend '${requested}' (use scalar, simd, relaxed or auto)`);
  if (!have.includes(requested)) {
    fail('LOWBIT_WASM', `this engine cannot run the '${requested}' kernels (it supports: ${have.join(', ')}); ` +
      (requested === 'relaxed' && isNode ? 'Node 20 needs --experimental-wasm-relaxed-simd, or ' : '') +
      `use backend 'auto', which picks the best build the engine supports`);
  }
  return requested;
}

const moduleCache = new Map<string, Promise<WebAssembly.Module>>();

// One literal `new URL('…', import.meta.url)` per build, so bundlers (Vite, webpack 5, esbuild
// with the file loader) see each file and emit it without plugins. The path is the same from
// src/kernels and dist/kernels: the package ships build/ next to dist/.
export function wasmFileUrl(backend: Backend): URL {
  switch (backend) {
    case 'scalar': return new URL('../../build/lowbit.scalar.wasm', import.meta.url);
    case 'simd': return new URL('../../build/lowbit.simd.wasm', import.meta.url);
    case 'relaxed': return new URL('../../build/lowbit.relaxed.wasm', import.meta.url);
  }
}

/** Where a relative URL string is resolved: the page (or the worker's script) in a browser. */
const baseUrl = (): string | undefined => (typeof location !== 'undefined' ? location.href : undefined);

/**
 * An HTML page (a server's 404 or single-page-app fallback) where binary data was expected:
 * served as text/html, or starting with '<' — wasm starts with 0x00, an ONNX model with a
 * protobuf field tag (0x08).
 */
export function looksLikeHtml(bytes: Uint8Array, contentType: string | null): boolean {
  if (contentType?.includes('text/html')) return true;
  let i = 0;
  while (i < bytes.length && i < 256 && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09 || bytes[i] === 0xef || bytes[i] === 0xbb || bytes[i] === 0xbf)) i++;
  return bytes[i] === 0x3c;
}

const WASM_FIX = 'serve build/lowbit.<build>.wasm from the lowbit package as a static file there ' +
  '(bundlers: keep lowbit\'s new URL(\'…wasm\', import.meta.url) visible, i.e. do not pre-bundle lowbit), or give option wasm a URL or the bytes';

async function readSource(src: WasmSource, backend: Backend): Promise<Uint8Array> {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  const s = src.toString();
  const absolute = src instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(s);
  if (isNode && (!absolute || s.startsWith('file:'))) {
    const fs = await import('node:fs/promises');
    try {
      return new Uint8Array(await fs.readFile(absolute ? new URL(s) : s));
    } catch (e) {
      fail('LOWBIT_WASM', `cannot read the '${backend}' kernel module ${s}: ${(e as Error).message}`, e);
    }
  }
  const base = baseUrl();
  if (!absolute && !base) fail('LOWBIT_WASM', `kernel module URL '${s}' is relative and there is no page to resolve it against: give an absolute URL`);
  const url = new URL(s, base).href;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    fail('LOWBIT_WASM', `cannot fetch the '${backend}' kernel module ${url}: ${(e as Error).message} (is the server up? another origin must allow CORS)`, e);
  }
  if (!res.ok) fail('LOWBIT_WASM', `fetching the '${backend}' kernel module ${url} failed: HTTP ${res.status}; ${WASM_FIX.replace('<build>', backend)}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (looksLikeHtml(bytes, res.headers.get('content-type'))) {
    fail('LOWBIT_WASM', `the '${backend}' kernel module URL ${url} returned an HTML page, not WebAssembly ` +
      `(a server or bundler fallback page, often its 404): ${WASM_FIX.replace('<build>', backend)}`);
  }
  return bytes;
}

/** Compiles (once per source) the kernel module for `backend`. */
export function compileKernels(backend: Backend, source?: WasmSource): Promise<WebAssembly.Module> {
  const key = source === undefined ? backend : typeof source === 'string' || source instanceof URL ? `${backend}:${source}` : '';
  const cached = key ? moduleCache.get(key) : undefined;
  if (cached) return cached;
  const p = (async () => {
    const bytes = await readSource(source ?? wasmFileUrl(backend), backend);
    if (bytes.byteLength < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
      const head = new TextDecoder().decode(bytes.subarray(0, 64)).replace(/\s+/g, ' ');
      fail('LOWBIT_WASM', `the kernel module for '${backend}' is not WebAssembly (starts with "${head}"); ` +
        'check the wasm URL your bundler or server gives');
    }
    try {
      return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    } catch (e) {
      // The usual cause: a simd/relaxed build given (option wasm) to an engine without SIMD.
      const noSimd = !(await supportedBackends()).includes('simd');
      fail('LOWBIT_WASM', `cannot compile the '${backend}' kernel module: ${(e as Error).message}` +
        (noSimd ? '; this engine has no WebAssembly SIMD: give the scalar build (build/lowbit.scalar.wasm)' : ''), e);
    }
  })();
  if (key) {
    moduleCache.set(key, p);
    p.catch(() => moduleCache.delete(key));
  }
  return p;
}
