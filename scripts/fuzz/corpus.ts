// The fuzz corpus: every model in models/ and every node test under the ONNX node-test folder
// (with its first test data set, fed when a mutated model still declares the same inputs).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeTensorProto } from '../../src/onnx/proto.js';
import { decodeTensor } from '../../src/onnx/tensor.js';
import type { TensorData } from '../../src/ir/tensor.js';

export interface Seed {
  name: string;
  bytes: Uint8Array;
  /** Input name → recorded test input (node tests only). */
  inputs: Map<string, TensorData>;
}

export interface Corpus {
  models: Seed[];
  nodeTests: Seed[];
  /** Where the node tests were looked for, and whether they were there. */
  nodeTestsDir: string;
  nodeTestsFound: boolean;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** LOWBIT_NODE_TESTS, else ../shared/onnx-node-tests beside the checkout (as the tests do). */
export function defaultNodeTestsDir(): string {
  return process.env.LOWBIT_NODE_TESTS ?? join(ROOT, '../shared/onnx-node-tests');
}

function recordedInputs(dir: string): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  const data = join(dir, 'test_data_set_0');
  if (!existsSync(data)) return out;
  for (const f of readdirSync(data).filter((f) => /^input_\d+\.pb$/.test(f))) {
    try {
      const p = decodeTensorProto(readFileSync(join(data, f)));
      out.set(p.name ?? '', decodeTensor(p, f));
    } catch {
      /* inputs lowbit cannot decode (strings, sequences) are generated instead */
    }
  }
  return out;
}

/** One node test of the corpus by its corpus name ('node/test_x'), if the corpus is here. */
export function loadNodeTest(name: string, nodeTestsDir = defaultNodeTestsDir()): Seed | undefined {
  const dir = join(nodeTestsDir, name.replace(/^node\//, ''));
  const m = join(dir, 'model.onnx');
  return existsSync(m) ? { name, bytes: new Uint8Array(readFileSync(m)), inputs: recordedInputs(dir) } : undefined;
}

export function loadCorpus(nodeTestsDir = defaultNodeTestsDir(), modelsDir = join(ROOT, 'models')): Corpus {
  const models = readdirSync(modelsDir).filter((f) => f.endsWith('.onnx')).sort()
    .map((f) => ({ name: `models/${f}`, bytes: new Uint8Array(readFileSync(join(modelsDir, f))), inputs: new Map() }));
  const nodeTestsFound = existsSync(nodeTestsDir);
  const nodeTests: Seed[] = [];
  if (nodeTestsFound) {
    for (const t of readdirSync(nodeTestsDir).sort()) {
      const m = join(nodeTestsDir, t, 'model.onnx');
      if (!existsSync(m)) continue;
      nodeTests.push({ name: `node/${t}`, bytes: new Uint8Array(readFileSync(m)), inputs: recordedInputs(join(nodeTestsDir, t)) });
    }
  }
  return { models, nodeTests, nodeTestsDir, nodeTestsFound };
}

/** The seed model of a case: node tests are small and many, so they take most cases (models/ take 8%). */
export function pickSeed(c: Corpus, r: { float(): number; pick<T>(a: readonly T[]): T }): Seed {
  if (c.nodeTests.length === 0 || (c.models.length > 0 && r.float() < 0.08)) return r.pick(c.models);
  return r.pick(c.nodeTests);
}

export interface CaseSpec {
  seed: Seed;
  bytes: Uint8Array;
  what: string[];
  feedSeed: number;
  backend: 'scalar' | 'simd' | 'relaxed';
}
