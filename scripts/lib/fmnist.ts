// Fashion-MNIST: the full idx files from Debian's dataset-fashion-mnist package, and the small
// subset committed under models/data for tests, the demo and `npm start`.

import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

export interface Images {
  count: number;
  /** count × 28 × 28 pixels, 0…255. */
  pixels: Uint8Array;
  labels: Uint8Array;
}

function idx(path: string, magic: number): Uint8Array {
  let buf = readFileSync(path);
  if (path.endsWith('.gz')) buf = gunzipSync(buf);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0) !== magic) throw new Error(`${path}: not an idx file (magic ${dv.getUint32(0).toString(16)})`);
  const header = magic === 0x803 ? 16 : 8;
  return new Uint8Array(buf.buffer, buf.byteOffset + header, buf.byteLength - header);
}

/** The full split from the Debian package (install it with `apt-get install dataset-fashion-mnist`). */
export function loadSplit(split: 'train' | 'test', dir = DEBIAN_DIR): Images {
  const prefix = split === 'train' ? 'train' : 't10k';
  const img = `${dir}/${prefix}-images-idx3-ubyte.gz`;
  if (!existsSync(img)) throw new Error(`${img} not found: install Debian's dataset-fashion-mnist package`);
  const pixels = idx(img, 0x803);
  const labels = idx(`${dir}/${prefix}-labels-idx1-ubyte.gz`, 0x801);
  return { count: labels.length, pixels, labels };
}

export const SUBSET_IMAGES = fileURLToPath(new URL('../../models/data/fmnist-test-256-images.u8', import.meta.url));
export const SUBSET_LABELS = fileURLToPath(new URL('../../models/data/fmnist-test-256-labels.u8', import.meta.url));

/** The first 256 test images, committed with the repo. */
export function loadSubset(): Images {
  const pixels = new Uint8Array(readFileSync(SUBSET_IMAGES));
  const labels = new Uint8Array(readFileSync(SUBSET_LABELS));
  return { count: labels.length, pixels, labels };
}

/** Model input for images [from, from+n): float32 [n,1,28,28] = pixel/255. */
export function toInput(images: Images, from: number, n: number): Float32Array {
  const out = new Float32Array(n * 784);
  for (let i = 0; i < n * 784; i++) out[i] = images.pixels[from * 784 + i] / 255;
  return out;
}
