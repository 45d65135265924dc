// Placement of runtime buffers in one arena by liveness (XNNPACK memory-planner style):
// largest first, each into the smallest gap left by already-placed buffers whose lifetimes
// overlap, else above them all.

import { alignUp } from '../kernels/machine.js';

export interface Lifetime {
  bytes: number;
  first: number;
  last: number;
}

export interface Placement {
  offsets: number[];
  total: number;
}

export function overlaps(a: Lifetime, b: Lifetime): boolean {
  return a.first <= b.last && b.first <= a.last;
}

export function placeBuffers(bufs: readonly Lifetime[], align = 64): Placement {
  const order = bufs.map((_, i) => i).sort((x, y) => bufs[y].bytes - bufs[x].bytes || bufs[x].first - bufs[y].first);
  const offsets = new Array<number>(bufs.length).fill(-1);
  const placed: number[] = [];
  let total = 0;
  for (const i of order) {
    const b = bufs[i];
    const size = alignUp(Math.max(b.bytes, 1), align);
    const busy = placed
      .filter((j) => overlaps(bufs[j], b))
      .map((j) => [offsets[j], offsets[j] + alignUp(Math.max(bufs[j].bytes, 1), align)] as const)
      .sort((p, q) => p[0] - q[0]);
    let best = -1;
    let bestGap = Infinity;
    let cursor = 0;
    for (const [s, e] of busy) {
      if (s - cursor >= size && s - cursor < bestGap) {
        best = cursor;
        bestGap = s - cursor;
      }
      cursor = Math.max(cursor, e);
    }
    offsets[i] = best >= 0 ? best : cursor;
    placed.push(i);
    total = Math.max(total, offsets[i] + size);
  }
  return { offsets, total };
}
