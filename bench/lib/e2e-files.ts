// The end-to-end benchmark models on disk: generated on first use into build/models/ (gitignored;
// the ternary transformer is ≈200 MB of fp32) and reused after, so `lowbit inspect` and other
// runtimes can open the same files. Progress goes to stderr.
//
//   npx tsx bench/lib/e2e-files.ts        writes any that are missing and prints their paths

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Feeds } from '../../scripts/lib/differential.js';
import { binaryResnet, RESNET18_224 } from './binary-resnet.js';
import type { BenchCase } from './models.js';
import { ternaryTransformer, TRANSFORMER_D1024 } from './ternary-transformer.js';

export const E2E_DIR = fileURLToPath(new URL('../../build/models/', import.meta.url));

interface E2EModel {
  file: string;
  make(progress: (done: number) => void): BenchCase;
}

const SEED = 1;
/** Bumped whenever a generator changes what it writes: files of another version are regenerated. */
const GENERATOR_VERSION = 2;

export const E2E_MODELS = {
  binary_resnet18_224: { file: 'binary-resnet18-224.onnx', make: (p) => binaryResnet(RESNET18_224, SEED, p) },
  binary_resnet18_224_int8: { file: 'binary-resnet18-224-int8.onnx', make: (p) => binaryResnet(RESNET18_224, SEED, p, true) },
  ternary_transformer_d1024: { file: 'ternary-transformer-d1024.onnx', make: (p) => ternaryTransformer(TRANSFORMER_D1024, SEED, 'float', p) },
  ternary_transformer_d1024_int8: { file: 'ternary-transformer-d1024-int8.onnx', make: (p) => ternaryTransformer(TRANSFORMER_D1024, SEED, 'int8', p) },
} satisfies Record<string, E2EModel>;

export type E2EName = keyof typeof E2E_MODELS;

/** Feeds are stored beside the model as JSON-described raw float32 (they are seeded like the weights). */
function writeFeeds(path: string, feeds: Feeds): void {
  const [[name, f]] = Object.entries(feeds);
  const data = f.data as Float32Array;
  writeFileSync(`${path}.json`, JSON.stringify({ name, type: f.type, dims: f.dims, generator: GENERATOR_VERSION }));
  writeFileSync(`${path}.bin`, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function readFeeds(path: string): Feeds {
  const { name, type, dims } = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as { name: string; type: 'float32'; dims: number[] };
  const bytes = readFileSync(`${path}.bin`);
  return { [name]: { type, dims, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) } };
}

/** The model's path, generating it (and its feeds) if absent. */
export function ensureE2EModel(name: E2EName, log: (s: string) => void = (s) => process.stderr.write(s)): string {
  const m = E2E_MODELS[name];
  // Tools pass --only NAME straight through: an unknown one says which names exist.
  if (!m) throw new Error(`no generated model '${name}' (names: ${Object.keys(E2E_MODELS).join(', ')})`);
  const path = join(E2E_DIR, m.file);
  if (existsSync(path) && existsSync(`${path}.feeds.json`) && existsSync(`${path}.feeds.bin`)) {
    const { generator } = JSON.parse(readFileSync(`${path}.feeds.json`, 'utf8')) as { generator?: number };
    if (generator === GENERATOR_VERSION) return path;
  }
  mkdirSync(E2E_DIR, { recursive: true });
  const t0 = performance.now();
  let shown = -1;
  log(`generating ${path}: `);
  const c = m.make((done) => {
    const pct = Math.floor(done * 100);
    if (pct >= shown + 25 || done === 1) {
      shown = pct;
      log(`${pct}% `);
    }
  });
  writeFeeds(`${path}.feeds`, c.feeds);
  // Written under a temporary name first: an interrupted run leaves no truncated model behind.
  writeFileSync(`${path}.partial`, c.model);
  renameSync(`${path}.partial`, path);
  log(`— ${(c.model.byteLength / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return path;
}

/** The model (bytes) and its feeds, generating them if absent. */
export function loadE2ECase(name: E2EName): BenchCase {
  const path = ensureE2EModel(name);
  return { model: new Uint8Array(readFileSync(path)), feeds: readFeeds(`${path}.feeds`) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const name of Object.keys(E2E_MODELS) as E2EName[]) console.log(ensureE2EModel(name));
}
