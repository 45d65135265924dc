// One fuzz case: create a session from (mutated) model bytes, feed inputs of the declared shapes,
// run twice, release. The contract: success or a LowbitError, nothing else.

import { InferenceSession, LowbitError, Tensor, type TensorType } from '../../src/index.js';
import { byteLength } from '../../src/ir/dtype.js';
import type { TensorData } from '../../src/ir/tensor.js';
import type { Backend } from '../../src/kernels/wasm.js';
import { Rng } from './rng.js';

export type Outcome =
  | { kind: 'ok'; runs: number }
  | { kind: 'lowbit'; code: string; stage: string }
  | { kind: 'bug'; stage: string; error: string };

/** Memory ceiling for fuzzed sessions: big enough for every corpus model, small enough for 2 workers. */
export const FUZZ_MEMORY_LIMIT = 256 * 1024 ** 2;
/** Largest feed the harness builds (larger declared inputs are not run). */
const MAX_FEED_BYTES = 16 * 1024 ** 2;

function randomTensor(type: TensorType, dims: number[], r: Rng): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(byteLength(type, n));
  if (type === 'float32') {
    const f = new Float32Array(bytes.buffer);
    for (let i = 0; i < n; i++) f[i] = r.chance(0.01) ? r.pick([NaN, Infinity, -Infinity, 3e38]) : (r.float() - 0.5) * 8;
  } else if (type === 'float64') {
    const f = new Float64Array(bytes.buffer);
    for (let i = 0; i < n; i++) f[i] = (r.float() - 0.5) * 8;
  } else if (type === 'int64' || type === 'int32' || type === 'uint64' || type === 'uint32' || type === 'int16' || type === 'uint16') {
    // Small values, so indices, axes and shapes are often (not always) in range.
    const w = byteLength(type, 1);
    for (let i = 0; i < n; i++) bytes[i * w] = r.chance(0.05) ? 0xff : r.int(4);
  } else if (type === 'bool') {
    for (let i = 0; i < n; i++) bytes[i] = r.int(2);
  } else {
    for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(256);
  }
  return Tensor.fromBytes(type, bytes, dims);
}

/** Feeds for the declared inputs: recorded test data when it still fits, else random data. */
function makeFeeds(s: InferenceSession, recorded: ReadonlyMap<string, TensorData>, r: Rng): Record<string, Tensor> | undefined {
  const feeds: Record<string, Tensor> = {};
  let total = 0;
  for (const m of s.inputMetadata) {
    if ((m.type as string) === 'string') return undefined; // no Tensor type: nothing to feed
    const rec = recorded.get(m.name);
    const fits = rec && rec.dtype === m.type && rec.dims.length === m.shape.length && m.shape.every((d, i) => typeof d === 'string' || d === rec.dims[i]);
    if (fits && r.chance(0.7)) {
      feeds[m.name] = Tensor.fromBytes(m.type, rec.bytes, rec.dims);
      continue;
    }
    const dims = m.shape.map((d) => (typeof d === 'number' ? d : 1 + r.int(3)));
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) return undefined;
    total += byteLength(m.type, dims.reduce((a, b) => a * b, 1));
    if (total > MAX_FEED_BYTES) return undefined;
    feeds[m.name] = randomTensor(m.type, dims, r);
  }
  return feeds;
}

function classify(e: unknown, stage: string): Outcome {
  if (e instanceof LowbitError) return { kind: 'lowbit', code: e.code, stage };
  const err = e as Error;
  return { kind: 'bug', stage, error: `${err?.name ?? typeof e}: ${err?.message ?? String(e)}\n${err?.stack?.split('\n').slice(1, 8).join('\n') ?? ''}` };
}

export async function runCase(bytes: Uint8Array, recorded: ReadonlyMap<string, TensorData>, feedSeed: number, backend: Backend): Promise<Outcome> {
  const r = new Rng(feedSeed);
  let s: InferenceSession;
  try {
    s = await InferenceSession.create(bytes, { backend, memoryLimit: FUZZ_MEMORY_LIMIT });
  } catch (e) {
    return classify(e, 'create');
  }
  let runs = 0;
  let last: Outcome | undefined;
  for (let k = 0; k < 2; k++) {
    let feeds: Record<string, Tensor> | undefined;
    try {
      feeds = makeFeeds(s, recorded, r);
      if (!feeds) break;
      const out = await s.run(feeds);
      for (const [name, t] of Object.entries(out)) {
        if (!(t instanceof Tensor) || t.bytes().byteLength !== byteLength(t.type, t.size)) {
          return { kind: 'bug', stage: 'run', error: `output '${name}' is not a consistent Tensor` };
        }
      }
      runs++;
    } catch (e) {
      last = classify(e, 'run');
      if (last.kind === 'bug') return last;
    }
  }
  await s.release();
  return last && runs === 0 ? last : { kind: 'ok', runs };
}
