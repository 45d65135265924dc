// `npm run demo`: serves the demo page (demo/web/) with the package build (dist/, build/*.wasm),
// the bundled models and Fashion-MNIST subset, onnxruntime-web for the benchmark panel, and
// the manifest and layer models computed at start (manifest.ts). Prints the URL.

import { existsSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLASSES, demoModels, layerCase, layerList } from './manifest.js';
import { serveStatic, type Reply } from './static-server.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ORT_DIR = join(ROOT, 'node_modules/onnxruntime-web/dist');
const ORT_WASM = 'ort-wasm-simd-threaded.wasm';

export interface DemoOptions {
  port?: number;
  host?: string;
  /** The package build served as /dist/ (default: the checkout's dist/, made by `npm install`). */
  dist?: string;
}

export async function startDemo(o: DemoOptions = {}): Promise<Server> {
  const dist = o.dist ?? join(ROOT, 'dist');
  if (!existsSync(join(dist, 'index.js')) || !existsSync(join(ROOT, 'build/lowbit.scalar.wasm'))) {
    throw new Error(`no package build in ${dist} or build/: run npm run build (npm install runs it)`);
  }
  const manifest = JSON.stringify({
    classes: CLASSES,
    images: '/models/data/fmnist-test-256-images.u8',
    labels: '/models/data/fmnist-test-256-labels.u8',
    models: await demoModels(ROOT),
    layers: layerList(),
    wasmBytes: Object.fromEntries(['scalar', 'simd', 'relaxed'].map((b) => [b, statSync(join(ROOT, `build/lowbit.${b}.wasm`)).size])),
    ortWasmBytes: statSync(join(ORT_DIR, ORT_WASM)).size,
  });
  const routes: Record<string, () => Reply> = { '/manifest.json': () => ({ body: manifest, type: 'application/json' }) };
  for (const l of layerList()) {
    let cached: string | undefined;
    routes[`/layers/${l.id}.json`] = () => ({ body: (cached ??= layerCase(l.id)!), type: 'application/json' });
  }
  return serveStatic({
    port: o.port,
    host: o.host,
    routes,
    // Cross-origin isolation: performance.now() then ticks in microseconds, not 0.1 ms steps.
    headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' },
    mounts: {
      '/dist/': dist, '/build/': join(ROOT, 'build'), '/models/': join(ROOT, 'models'), '/ort/': ORT_DIR,
      '/': join(ROOT, 'demo/web'),
    },
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' } } });
  const server = await startDemo({ port: Number(values.port), host: values.host }).catch((e: Error) => {
    console.error(`lowbit demo: ${e.message}`);
    process.exit(1);
  });
  const { port } = server.address() as AddressInfo;
  console.log(`lowbit demo: http://${values.host === '0.0.0.0' ? 'localhost' : values.host}:${port}/  (Ctrl-C to stop)`);
}
