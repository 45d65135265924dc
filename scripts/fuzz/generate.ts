// Case i of a run: which seed model, which mutations, which feed stream and kernel build — a
// pure function of (run seed, i), so the coordinator can rebuild any case a worker lost.

import { pickSeed, type CaseSpec, type Corpus } from './corpus.js';
import { mutate } from './mutate.js';
import { caseSeed, Rng } from './rng.js';

export function makeCase(c: Corpus, seed: number, i: number, backends: readonly CaseSpec['backend'][]): CaseSpec {
  const r = new Rng(caseSeed(seed, i));
  const s = pickSeed(c, r);
  const m = mutate(s.bytes, r);
  return { seed: s, bytes: m.bytes, what: m.what, feedSeed: r.u32(), backend: r.pick(backends) };
}
