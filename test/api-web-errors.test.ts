// The web's usual failures, in Node: a server that answers a wasm or model URL with an HTML page
// (the classic bundler/SPA 404 fallback), URLs that fail, and an engine without SIMD. Each is a
// LowbitError that says what to fix.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InferenceSession, supportedBackends } from '../src/index.js';
import { wasmFileUrl } from '../src/kernels/wasm.js';
import { expectLowbit } from './support/errors.js';

const MODEL = fileURLToPath(new URL('../models/fmnist-mlp-int4-nbits.onnx', import.meta.url));
const PAGE = '<!doctype html>\n<html><head><title>My app</title></head><body><div id="app"></div></body></html>\n';

describe('a server that answers with an HTML page', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    // /real/*: the files; /plain/*: the page as application/octet-stream; /gone/*: 404;
    // anything else: the page with 200 (a single-page app's fallback).
    server = createServer((req, res) => {
      const path = req.url ?? '/';
      if (path === '/real/model.onnx') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(MODEL));
      else if (path === '/real/lowbit.scalar.wasm') res.writeHead(200, { 'content-type': 'application/wasm' }).end(readFileSync(wasmFileUrl('scalar')));
      else if (path.startsWith('/plain/')) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(`\n  ${PAGE}`);
      else if (path.startsWith('/gone/')) res.writeHead(404, { 'content-type': 'text/html' }).end(PAGE);
      else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('the real files load over http (the server is right)', async () => {
    const s = await InferenceSession.create(`${base}/real/model.onnx`, { backend: 'scalar', wasm: `${base}/real/lowbit.scalar.wasm` });
    expect(s.backend).toBe('scalar');
  });

  it('wasm URL → HTML page: LOWBIT_WASM naming the URL and the fix', async () => {
    for (const url of [`${base}/assets/lowbit.simd.wasm`, `${base}/plain/lowbit.simd.wasm`]) {
      await expectLowbit(InferenceSession.create(MODEL, { backend: 'simd', wasm: url }), 'LOWBIT_WASM',
        `'simd' kernel module URL ${url} returned an HTML page, not WebAssembly`, 'serve build/lowbit.simd.wasm', 'option wasm');
    }
    // The per-build form names the build it fetched.
    await expectLowbit(InferenceSession.create(MODEL, { wasm: { scalar: `${base}/x/lowbit.scalar.wasm` } }), 'LOWBIT_WASM',
      `'scalar' kernel module URL ${base}/x/lowbit.scalar.wasm returned an HTML page`);
  });

  it('wasm URL → 404 or no server: the URL, the status and the fix', async () => {
    await expectLowbit(InferenceSession.create(MODEL, { backend: 'scalar', wasm: `${base}/gone/lowbit.scalar.wasm` }), 'LOWBIT_WASM',
      `${base}/gone/lowbit.scalar.wasm failed: HTTP 404`, 'serve build/lowbit.scalar.wasm');
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    await expectLowbit(InferenceSession.create(MODEL, { backend: 'scalar', wasm: `${dead}/lowbit.scalar.wasm` }), 'LOWBIT_WASM',
      `cannot fetch the 'scalar' kernel module ${dead}/lowbit.scalar.wasm`, 'is the server up?');
    await expectLowbit(InferenceSession.create(`${dead}/model.onnx`), 'LOWBIT_BAD_INPUT', `cannot fetch model ${dead}/model.onnx`, 'is the server up?');
  });

  it('model URL → HTML page: LOWBIT_BAD_INPUT, not a protobuf error', async () => {
    for (const url of [`${base}/models/cnn.onnx`, `${base}/plain/cnn.onnx`]) {
      await expectLowbit(InferenceSession.create(url), 'LOWBIT_BAD_INPUT', `model URL ${url} returned an HTML page, not an ONNX model`, 'serve the .onnx file');
    }
    await expectLowbit(InferenceSession.create(`${base}/gone/cnn.onnx`), 'LOWBIT_BAD_INPUT', 'HTTP 404', 'check the model URL');
  });

  it('a relative wasm URL with no page to resolve it against is refused by name', async () => {
    // In Node a relative string is a file path; the message names it.
    await expectLowbit(InferenceSession.create(MODEL, { backend: 'scalar', wasm: 'no/such/lowbit.scalar.wasm' }), 'LOWBIT_WASM',
      "cannot read the 'scalar' kernel module no/such/lowbit.scalar.wasm", 'ENOENT');
  });
});

describe('an engine without WebAssembly SIMD', () => {
  // The probes are the two tiny modules supportedBackends() validates; everything else validates
  // as usual. (V8 has no switch to turn SIMD off, so the engine's answer is what is stubbed.)
  const realValidate = WebAssembly.validate.bind(WebAssembly);
  const noSimd = () => vi.spyOn(WebAssembly, 'validate').mockImplementation((b) => {
    const bytes = b instanceof Uint8Array ? b : new Uint8Array(b as ArrayBuffer);
    return bytes.byteLength < 64 && bytes.includes(0xfd) ? false : realValidate(bytes);
  });
  afterEach(() => vi.restoreAllMocks());

  it('auto picks the scalar build and runs', async () => {
    noSimd();
    expect(await supportedBackends()).toEqual(['scalar']);
    const s = await InferenceSession.create(MODEL);
    expect(s.backend).toBe('scalar');
  });

  it('asking for simd or relaxed says what the engine has and to use auto', async () => {
    noSimd();
    for (const b of ['simd', 'relaxed'] as const) {
      await expectLowbit(InferenceSession.create(MODEL, { backend: b }), 'LOWBIT_WASM', `cannot run the '${b}' kernels (it supports: scalar)`, "use backend 'auto'");
    }
  });

  it('only SIMD builds given (option wasm): add the scalar build', async () => {
    noSimd();
    await expectLowbit(InferenceSession.create(MODEL, { wasm: { simd: readFileSync(wasmFileUrl('simd')), relaxed: readFileSync(wasmFileUrl('relaxed')) } }),
      'LOWBIT_WASM', 'none of the given kernel builds (simd, relaxed) runs on this engine (it supports: scalar)', 'add the scalar build');
  });

  it('SIMD bytes given as the one build: the compile error says to give the scalar build', async () => {
    noSimd();
    // What such an engine's compiler says about a v128 opcode.
    vi.spyOn(WebAssembly, 'compile').mockRejectedValue(new WebAssembly.CompileError('invalid simd opcode'));
    await expectLowbit(InferenceSession.create(MODEL, { wasm: new Uint8Array(readFileSync(wasmFileUrl('simd'))) }), 'LOWBIT_WASM',
      "cannot compile the 'scalar' kernel module: invalid simd opcode", 'no WebAssembly SIMD', 'give the scalar build');
  });
});
