// lowbit in a real browser (Debian chromium driven by playwright-core): the page imports the
// built dist/ ESM natively, classifies the bundled Fashion-MNIST subset at each precision, and
// must give the same predictions and bit-identical outputs as Node; worker mode, a forced
// scalar build, kernel bytes given explicitly, and a screenshot as a test artifact.

import { mkdirSync, readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { InferenceSession, Tensor } from '../../src/index.js';
// @ts-expect-error plain JS module shared with the pages
import { classify } from '../../demo/web/classify.js';
import { buildDist, haveChromium, launchChromium, ROOT } from './chromium.js';
import { serveRepo } from './serve.js';

const MODELS = [
  'models/fmnist-mlp-fp32.onnx',
  'models/fmnist-mlp-int8-qdq.onnx',
  'models/fmnist-mlp-int4-nbits.onnx',
  'models/fmnist-mlp-w2a2-qonnx.onnx', // ternary weights
  'models/fmnist-mlp-w1a1-qonnx.onnx', // binary
  'models/fmnist-cnn-w1a1-qonnx.onnx',
];

interface PageResult { backend: string; preds: number[]; bytes: string; progress: [number, number | null][]; kind: string }

describe.skipIf(!haveChromium)('lowbit in Chromium', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  const node = new Map<string, { bytes: Uint8Array; preds: number[]; backend: string }>();
  const pixels = readFileSync(join(ROOT, 'models/data/fmnist-test-256-images.u8'));
  const pageErrors: string[] = [];

  const inPage = (opts: { model: string; backend?: string; worker?: boolean; wasmBytes?: string; wasmUrl?: string }) =>
    page.evaluate((o) => (window as unknown as { lowbitTest: { classify(x: unknown): Promise<unknown> } }).lowbitTest.classify(o), opts) as Promise<PageResult>;

  async function nodeResult(model: string, backend?: 'scalar') {
    const key = `${model}:${backend ?? 'auto'}`;
    if (!node.has(key)) {
      const s = await InferenceSession.create(join(ROOT, model), { backend });
      node.set(key, { ...(await classify(s, Tensor, pixels)), backend: s.backend });
    }
    return node.get(key)!;
  }

  function expectSame(got: PageResult, want: { bytes: Uint8Array; preds: number[]; backend: string }) {
    expect(got.backend).toBe(want.backend);
    expect(got.preds).toEqual(want.preds);
    // Same wasm, same inputs: the output bytes (float scores included) are bit-identical.
    const bytes = Buffer.from(got.bytes, 'base64');
    expect(bytes.byteLength).toBe(want.bytes.byteLength);
    expect(bytes.equals(Buffer.from(want.bytes))).toBe(true);
  }

  beforeAll(async () => {
    // The page runs the real package build, compiled from this checkout.
    server = await serveRepo(ROOT, buildDist('browser-dist'));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 900, height: 560 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const port = (server.address() as AddressInfo).port;
    await page.goto(`http://127.0.0.1:${port}/test/browser/page.html`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 20_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  it('detects relaxed SIMD with WebAssembly.validate probes', async () => {
    const have = await page.evaluate(() => (window as unknown as { lowbitTest: { backends(): Promise<string[]> } }).lowbitTest.backends());
    expect(have).toEqual(['scalar', 'simd', 'relaxed']);
  });

  for (const model of MODELS) {
    it(`${model}: same predictions and bit-identical outputs as Node`, async () => {
      const got = await inPage({ model });
      expect(got.kind).toBe('InferenceSession');
      expect(got.backend).toBe('relaxed');
      expectSame(got, await nodeResult(model));
      // Download progress: ends at the full size, which the server announced.
      const size = statSync(join(ROOT, model)).size;
      expect(got.progress.at(-1)).toEqual([size, size]);
    });
  }

  it('worker mode: same API, same results, with progress', async () => {
    for (const model of ['models/fmnist-mlp-int4-nbits.onnx', 'models/fmnist-mlp-w2a2-qonnx.onnx']) {
      const got = await inPage({ model, worker: true });
      expect(got.kind).toBe('WorkerSession');
      expectSame(got, await nodeResult(model));
      expect(got.progress.at(-1)?.[0]).toBe(statSync(join(ROOT, model)).size);
    }
  });

  it('pre-allocated outputs (fetches name → Tensor) are filled and returned, in-thread and in a worker', async () => {
    for (const worker of [false, true]) {
      const got = await page.evaluate((w) => (window as unknown as { lowbitTest: { preallocated(o: object): Promise<unknown> } })
        .lowbitTest.preallocated({ model: 'models/fmnist-mlp-int4-nbits.onnx', worker: w }), worker);
      expect(got).toEqual({ same: true, equal: true, wrong: 'LOWBIT_SHAPE_MISMATCH', kind: worker ? 'WorkerSession' : 'InferenceSession' });
    }
  });

  it('worker mode: errors come back as LowbitErrors with their code', async () => {
    const err = await page.evaluate(() => (window as unknown as { lowbitTest: { failure(m: string, o: unknown): Promise<unknown> } })
      .lowbitTest.failure('/models/no-such-model.onnx', { worker: true }));
    expect(err).toMatchObject({ name: 'LowbitError', code: 'LOWBIT_BAD_INPUT', isLowbit: true });
    expect((err as { message: string }).message).toContain('HTTP 404');
  });

  it('a forced scalar build matches Node scalar, in-thread and in a worker', async () => {
    const model = 'models/fmnist-mlp-w1a1-qonnx.onnx';
    const want = await nodeResult(model, 'scalar');
    expectSame(await inPage({ model, backend: 'scalar' }), want);
    expectSame(await inPage({ model, backend: 'scalar', worker: true }), want);
  });

  it('kernel bytes given explicitly (option wasm) are used', async () => {
    const model = 'models/fmnist-mlp-int8-qdq.onnx';
    expectSame(await inPage({ model, backend: 'scalar', wasmBytes: '/build/lowbit.scalar.wasm' }), await nodeResult(model, 'scalar'));
    // Bytes that are not WebAssembly fail with the loader's message, not a crash.
    await expect(inPage({ model, backend: 'scalar', wasmBytes: '/models/models.json' })).rejects.toThrow(/not WebAssembly/);
  });

  it('a relative wasm URL string resolves against the page, in-thread and in a worker', async () => {
    const model = 'models/fmnist-mlp-int8-qdq.onnx';
    const want = await nodeResult(model, 'scalar');
    expectSame(await inPage({ model, backend: 'scalar', wasmUrl: '/build/lowbit.scalar.wasm' }), want);
    expectSame(await inPage({ model, backend: 'scalar', wasmUrl: '../../build/lowbit.scalar.wasm', worker: true }), want);
  });

  it('bad input: a wasm or model URL answered with an HTML page is a LowbitError saying what to fix', async () => {
    const failure = (model: string, options: object) => page.evaluate(([m, o]) => (window as unknown as { lowbitTest: { failure(m: string, o: unknown): Promise<unknown> } })
      .lowbitTest.failure(m, o), [model, options] as const) as Promise<{ name: string; code: string; message: string; isLowbit: boolean } | null>;
    const html = '/test/browser/page.html';
    for (const worker of [false, true]) {
      const wasm = await failure('/models/fmnist-mlp-int8-qdq.onnx', { backend: 'simd', wasm: html, worker });
      expect(wasm).toMatchObject({ name: 'LowbitError', code: 'LOWBIT_WASM' });
      expect(wasm!.message).toContain(`'simd' kernel module URL http://127.0.0.1:${(server.address() as AddressInfo).port}${html} returned an HTML page`);
      expect(wasm!.message).toContain('serve build/lowbit.simd.wasm');
      const model = await failure(html, { worker });
      expect(model).toMatchObject({ name: 'LowbitError', code: 'LOWBIT_BAD_INPUT' });
      expect(model!.message).toContain('returned an HTML page, not an ONNX model');
    }
  });

  it('a page without SIMD: auto runs the scalar build; asking for simd says to use auto', async () => {
    // Chromium cannot turn SIMD off, so the page's WebAssembly.validate answers "no" to the SIMD
    // probes (the tiny modules with a 0xfd opcode); every other module validates as usual.
    const p = await browser.newPage();
    await p.addInitScript(() => {
      const validate = WebAssembly.validate.bind(WebAssembly);
      WebAssembly.validate = (b: BufferSource) => {
        const u8 = b instanceof Uint8Array ? b : new Uint8Array(b as ArrayBuffer);
        return u8.byteLength < 64 && u8.includes(0xfd) ? false : validate(b);
      };
    });
    await p.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/test/browser/page.html`);
    type T = { lowbitTest: { backends(): Promise<string[]>; classify(o: unknown): Promise<PageResult>; failure(m: string, o: unknown): Promise<{ message: string } | null> } };
    expect(await p.evaluate(() => (window as unknown as T).lowbitTest.backends())).toEqual(['scalar']);
    const model = 'models/fmnist-mlp-w1a1-qonnx.onnx';
    expectSame(await p.evaluate((m) => (window as unknown as T).lowbitTest.classify({ model: m }), model), await nodeResult(model, 'scalar'));
    const err = await p.evaluate((m) => (window as unknown as T).lowbitTest.failure('/' + m, { backend: 'simd' }), model);
    expect(err).toMatchObject({ name: 'LowbitError', code: 'LOWBIT_WASM' });
    expect(err!.message).toContain("cannot run the 'simd' kernels (it supports: scalar); use backend 'auto'");
    await p.close();
  });

  it('writes a screenshot and raised no page errors', async () => {
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    const path = join(ROOT, 'test-artifacts', 'browser.png');
    await page.screenshot({ path, fullPage: true });
    expect(readFileSync(path).subarray(1, 4).toString()).toBe('PNG');
    expect(pageErrors).toEqual([]);
  });
});
