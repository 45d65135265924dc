// npx tsx scripts/check-models.ts [--images N] [--filter TEXT]
// Loads every model listed in models/models.json into lowbit, classifies the first N Fashion-MNIST
// test images (default 10000, Debian's dataset-fashion-mnist) and prints, per model: whether it
// loaded, lowbit's accuracy beside the reference accuracy recorded in models.json, how many
// predictions differ from onnxruntime-node (standard ONNX models only: onnxruntime cannot run
// QONNX), the rewrite passes that fired and the arithmetic of the compute nodes.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { InferenceSession, Tensor } from '../src/index.js';
import { loadSplit, toInput } from './lib/fmnist.js';
import { createReferenceSession } from './lib/differential.js';

const { values } = parseArgs({
  options: { images: { type: 'string', default: '10000' }, filter: { type: 'string', default: '' } },
});

interface ModelEntry { file: string; format: string; test_accuracy: number }
const root = fileURLToPath(new URL('..', import.meta.url));
const catalogue = JSON.parse(readFileSync(`${root}models/models.json`, 'utf8')) as { models: ModelEntry[] };
const test = loadSplit('test');
const count = Math.min(Number(values.images), test.count);
const BATCH = 500;

function argmaxRows(scores: Float32Array, rows: number): number[] {
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let j = 1; j < 10; j++) if (scores[r * 10 + j] > scores[r * 10 + best]) best = j;
    return best;
  });
}

async function predictLowbit(s: InferenceSession): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i += BATCH) {
    const n = Math.min(BATCH, count - i);
    const r = await s.run({ [s.inputNames[0]]: new Tensor('float32', toInput(test, i, n), [n, 1, 28, 28]) });
    out.push(...argmaxRows(r[s.outputNames[0]].data as Float32Array, n));
  }
  return out;
}

async function predictOrt(s: ort.InferenceSession): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i += BATCH) {
    const n = Math.min(BATCH, count - i);
    const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', toInput(test, i, n), [n, 1, 28, 28]) });
    out.push(...argmaxRows(r[s.outputNames[0]].data as Float32Array, n));
  }
  return out;
}

console.log(`${count} test images; accuracy: lowbit (reference on 10000 from models.json)\n`);
for (const m of catalogue.models) {
  if (!m.file.includes(values.filter!)) continue;
  const name = m.file.replace('models/', '');
  const bytes = new Uint8Array(readFileSync(`${root}${m.file}`));
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes);
  } catch (e) {
    console.log(`${name}: LOAD FAILS — ${(e as Error).message}\n`);
    continue;
  }
  try {
    const t0 = performance.now();
    const pred = await predictLowbit(session);
    const ms = performance.now() - t0;
    const acc = pred.filter((p, i) => p === test.labels[i]).length / count;
    let vsOrt = 'onnxruntime-node: n/a (QONNX)';
    if (m.format !== 'qonnx') {
      try {
        const ref = await predictOrt(await createReferenceSession(bytes));
        vsOrt = `differs from onnxruntime-node on ${pred.filter((p, i) => p !== ref[i]).length}/${count}`;
      } catch (e) {
        vsOrt = `onnxruntime-node fails: ${(e as Error).message.split('\n')[0]}`;
      }
    }
    const r = session.inspect({ [session.inputNames[0]]: [1, 1, 28, 28] });
    const compute = r.nodes.filter((n) => n.math !== '');
    const maths = [...new Set(compute.map((n) => `${n.opType}: ${n.math}${n.exact ? '' : ' (inexact)'}`))];
    const accs = `${acc.toFixed(4)} (${m.test_accuracy.toFixed(4)})`;
    console.log(`${name}: runs, accuracy ${accs}, ${vsOrt}, ${ms.toFixed(0)} ms`);
    console.log(`  passes: ${JSON.stringify(r.passes)}`);
    console.log(`  compute: ${maths.join('; ')}\n`);
  } catch (e) {
    console.log(`${name}: loads, RUN FAILS — ${(e as Error).message}\n`);
  } finally {
    await session.release();
  }
}
