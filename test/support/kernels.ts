// Kernel tests' helpers: the builds, the kernel box, seeded data and sizes around a tile.

import type { Backend } from '../../src/kernels/wasm.js';

export const ALL_BACKENDS: Backend[] = ['scalar', 'simd', 'relaxed'];

export { KernelBox, kernelModule } from '../../scripts/lib/kernel-box.js';

/** Deterministic PRNG (mulberry32) so failures print a seed that reproduces them. */
export { seededRandom as rng } from '../../scripts/lib/random-models.js';

export function randomF32(r: () => number, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

/** Sizes around a tile: below, equal, above and multiples (XNNPACK/ggml-style length cases). */
export function sizesAround(tile: number, extra: number[] = []): number[] {
  return [...new Set([1, 2, 3, tile - 1, tile, tile + 1, 2 * tile - 1, 2 * tile, 2 * tile + 1, 3 * tile + 3, ...extra])].filter((x) => x > 0).sort((a, b) => a - b);
}
