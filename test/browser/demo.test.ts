// The demo page (`npm run demo`) in real Chromium: it loads, every precision classifies the
// bundled images exactly as lowbit in Node does (same predictions, bit-identical outputs), one
// image shows a prediction, confidence and latency per precision, the benchmark panel runs a
// small layer in both runtimes, and a screenshot is written to test-artifacts/demo.png.

import { mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { InferenceSession, Tensor } from '../../src/index.js';
// @ts-expect-error plain JS module shared with the pages
import { classify } from '../../demo/web/classify.js';
import { startDemo } from '../../demo/server.js';
import { CLASSES } from '../../scripts/lib/fmnist.js';
import { buildDist, haveChromium, launchChromium, ROOT } from './chromium.js';

interface DemoModel { id: string; url: string; fileBytes: number; packedWeightBytes: number }
interface Result { id: string; pred: number; confidence: number; probs: number[]; ms: number; runs: number }
interface Demo {
  manifest: { models: DemoModel[]; classes: string[]; layers: { id: string }[] };
  select(i: number): Promise<Result[]>;
  classifyAll(id: string): Promise<{ preds: number[]; bytes: string; backend: string; kind: string }>;
  setWorker(on: boolean): Promise<Result[]>;
  bench(id: string, o: object): Promise<{ lowbitMs: number; ortMs: number; ortTwinMs?: number; maxDiff: number; integer: boolean; backend: string }>;
}

describe.skipIf(!haveChromium)('the demo page in Chromium', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const pixels = readFileSync(join(ROOT, 'models/data/fmnist-test-256-images.u8'));
  const labels = readFileSync(join(ROOT, 'models/data/fmnist-test-256-labels.u8'));
  /** Calls window.lowbitDemo[method](...args) in the page. */
  const call = <M extends keyof Demo>(method: M, ...args: unknown[]) =>
    page.evaluate(([m, a]) => {
      const d = (window as unknown as { lowbitDemo: Record<string, unknown> }).lowbitDemo;
      return typeof d[m] === 'function' ? (d[m] as (...x: unknown[]) => unknown)(...a) : d[m];
    }, [method, args] as const) as Promise<Demo[M] extends (...x: never[]) => Promise<infer R> ? R : Demo[M]>;

  beforeAll(async () => {
    server = await startDemo({ port: 0, dist: buildDist('demo-dist') });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && pageErrors.push(`HTTP ${r.status()} ${r.url()}`));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => document.getElementById('env')?.dataset.ready === 'true', null, { timeout: 30_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  it('loads: five precisions, the relaxed build, sessions in Web Workers', async () => {
    const { models } = await call('manifest');
    expect(models.map((m) => m.id)).toEqual(['fp32', 'int8', 'int4', 'ternary', 'binary']);
    const env = await page.locator('#env').textContent();
    expect(env).toContain('relaxed build');
    expect(env).toContain('Web Worker');
    expect(await page.locator('#rows tr').count()).toBe(5);
  });

  it('every precision classifies the bundled images as lowbit in Node does', async () => {
    for (const m of (await call('manifest')).models) {
      const got = await call('classifyAll', m.id);
      expect(got.kind).toBe('WorkerSession');
      const s = await InferenceSession.create(join(ROOT, m.url));
      const want = await classify(s, Tensor, pixels);
      expect(got.backend).toBe(s.backend);
      expect(got.preds).toEqual(want.preds);
      expect(Buffer.from(got.bytes, 'base64').equals(Buffer.from(want.bytes))).toBe(true);
      // The models are good classifiers: a broken page would not get 80 % of the subset right.
      expect(got.preds.filter((p: number, i: number) => p === labels[i]).length).toBeGreaterThan(0.8 * 256);
    }
  });

  it('one image: prediction, confidence and latency per precision, shown in the table', async () => {
    const index = 3;
    for (const worker of [false, true]) {
      await call('setWorker', worker);
      const results = await call('select', index);
      expect(results.map((r) => r.id)).toEqual(['fp32', 'int8', 'int4', 'ternary', 'binary']);
      for (const r of results) {
        expect(r.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        expect(r.confidence).toBe(Math.max(...r.probs));
        expect(r.ms).toBeGreaterThan(0);
        expect(r.runs).toBe(30);
      }
      const shown = await page.locator('#rows .pred').allTextContents();
      expect(shown).toEqual(results.map((r) => CLASSES[r.pred]));
    }
    expect(await page.locator('#truth').textContent()).toBe(`${CLASSES[labels[index]]} · test image #${index}`);
  });

  it('a drawing on the pad is classified by every precision', async () => {
    const before = Number(await page.locator('#rows').getAttribute('data-classified'));
    await page.click('.tab[data-tab=draw]');
    const box = (await page.locator('#pad').boundingBox())!;
    // One stroke (one classification when it ends), trouser-like: up one leg and down the other.
    await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.92);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.08, { steps: 12 });
    await page.mouse.move(box.x + box.width * 0.65, box.y + box.height * 0.92, { steps: 12 });
    await page.mouse.up();
    await page.waitForFunction((n) => Number(document.getElementById('rows')!.dataset.classified) === n + 1, before, { timeout: 20_000 });
    expect(await page.locator('#truth').textContent()).toBe('your drawing');
    const shown = await page.locator('#rows .pred').allTextContents();
    expect(shown).toHaveLength(5);
    for (const c of shown) expect(CLASSES).toContain(c);
    // What the network saw is the pad averaged to 28×28: mostly black, with white strokes.
    const seen = await page.evaluate(() => Array.from((document.getElementById('preview') as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0)));
    expect(seen.filter((v) => v > 200).length).toBeGreaterThan(20);
    expect(seen.filter((v) => v === 0).length).toBeGreaterThan(400);
    await page.click('.tab[data-tab=pick]');
  });

  it('the benchmark panel runs a small layer in lowbit and onnxruntime-web and shows both numbers', async () => {
    const res = await call('bench', 'ternary_gemv_1x1024x1024', { rounds: 3, minBatchMs: 10 });
    expect(res.backend).toBe('relaxed');
    expect(res.lowbitMs).toBeGreaterThan(0);
    expect(res.ortMs).toBeGreaterThan(0);
    expect(res.ortTwinMs).toBeGreaterThan(0);
    // uint8 outputs of the same W2A8 layer: equal up to onnxruntime's float rounding of a tie.
    expect(res.integer).toBe(true);
    expect(res.maxDiff).toBeLessThanOrEqual(1);
    const shown = await page.locator('#bench-out [data-runtime]').allTextContents();
    expect(shown).toHaveLength(3);
    expect(shown[0]).toBe(`${res.lowbitMs.toFixed(3)} ms`);
    expect(shown[1]).toBe(`${res.ortMs.toFixed(3)} ms`);
  });

  it('writes a screenshot and raised no page errors', async () => {
    await call('select', 0);
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    const path = join(ROOT, 'test-artifacts', 'demo.png');
    await page.screenshot({ path, fullPage: true });
    expect(readFileSync(path).subarray(1, 4).toString()).toBe('PNG');
    expect(pageErrors).toEqual([]);
  });
});
