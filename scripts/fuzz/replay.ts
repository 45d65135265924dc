// Replays a saved fuzz reproducer (<name>.onnx + <name>.json) in this thread.

import { readFileSync } from 'node:fs';
import { runCase, type Outcome } from './case.js';
import { loadNodeTest } from './corpus.js';

export interface Reproducer {
  source: string;
  feedSeed: number;
  backend: 'scalar' | 'simd' | 'relaxed';
}

export async function replayFile(onnxPath: string): Promise<Outcome> {
  const meta = JSON.parse(readFileSync(onnxPath.replace(/\.onnx$/, '.json'), 'utf8')) as Reproducer;
  const bytes = new Uint8Array(readFileSync(onnxPath));
  // Recorded inputs of the seed node test, when that corpus is here (the feeds then match the run).
  const seed = meta.source.startsWith('node/') ? loadNodeTest(meta.source) : undefined;
  return runCase(bytes, seed?.inputs ?? new Map(), meta.feedSeed, meta.backend);
}
