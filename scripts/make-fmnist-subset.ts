// Writes the committed Fashion-MNIST subset (first 256 test images + labels) under models/data.
import { writeFileSync } from 'node:fs';
import { loadSplit, SUBSET_IMAGES, SUBSET_LABELS } from './lib/fmnist.js';
const t = loadSplit('test');
writeFileSync(SUBSET_IMAGES, t.pixels.subarray(0, 256 * 784));
writeFileSync(SUBSET_LABELS, t.labels.subarray(0, 256));
console.log(t.count, [...t.labels.subarray(0, 10)]);
