// npm start: classifies the bundled Fashion-MNIST test images with a bundled model and prints
// predictions, accuracy on the subset, and latency.

import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { InferenceSession, Tensor } from '../src/index.js';
import { CLASSES, loadSubset, toInput } from './lib/fmnist.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: fileURLToPath(new URL('../models/fmnist-mlp-fp32.onnx', import.meta.url)) },
    backend: { type: 'string', default: 'auto' },
    show: { type: 'string', default: '12' },
  },
});

const images = loadSubset();
const t0 = performance.now();
const session = await InferenceSession.create(values.model!, { backend: values.backend as 'auto' });
const loadMs = performance.now() - t0;
const input = session.inputNames[0];
const output = session.outputNames[0];

// One batch for the accuracy figure, then single-image latency (after warm-up).
const batch = await session.run({ [input]: new Tensor('float32', toInput(images, 0, images.count), [images.count, 1, 28, 28]) });
const scores = batch[output].data as Float32Array;
const preds = Array.from({ length: images.count }, (_, i) => argmax(scores.subarray(i * 10, i * 10 + 10)));
const correct = preds.filter((p, i) => p === images.labels[i]).length;

const one = new Tensor('float32', toInput(images, 0, 1), [1, 1, 28, 28]);
for (let i = 0; i < 20; i++) await session.run({ [input]: one });
const times: number[] = [];
for (let i = 0; i < 200; i++) {
  const t = performance.now();
  await session.run({ [input]: one });
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const tb = performance.now();
await session.run({ [input]: new Tensor('float32', toInput(images, 0, images.count), [images.count, 1, 28, 28]) });
const batchMs = performance.now() - tb;

console.log(`lowbit — ${values.model!.split('/').pop()} on the ${session.backend} kernels (loaded in ${loadMs.toFixed(0)} ms)\n`);
console.log(' #  label         prediction    ');
console.log('--- ------------- ------------- --');
for (let i = 0; i < Math.min(Number(values.show), images.count); i++) {
  const ok = preds[i] === images.labels[i];
  console.log(`${String(i).padStart(3)} ${CLASSES[images.labels[i]].padEnd(13)} ${CLASSES[preds[i]].padEnd(13)} ${ok ? '✓' : '✗'}`);
}
console.log(`\naccuracy on the ${images.count} bundled test images: ${correct}/${images.count} = ${(100 * correct / images.count).toFixed(1)} %`);
console.log(`latency, 1 image: median ${times[100].toFixed(3)} ms, p90 ${times[180].toFixed(3)} ms`);
console.log(`throughput, batch of ${images.count}: ${batchMs.toFixed(2)} ms (${(images.count / batchMs * 1000).toFixed(0)} images/s)`);
await session.release();

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
