// Fuzz worker thread: runs the cases the coordinator hands it and reports each one's start and
// outcome, so a hang or a crash is pinned to its case.

import { parentPort, workerData } from 'node:worker_threads';
import { supportedBackends } from '../../src/kernels/wasm.js';
import { runCase } from './case.js';
import { loadCorpus } from './corpus.js';
import { makeCase } from './generate.js';

export interface WorkerInit {
  seed: number;
  nodeTestsDir: string;
}
export type ToWorker = { type: 'cases'; from: number; to: number };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'start'; i: number }
  | { type: 'done'; i: number; kind: string; code?: string; stage?: string; error?: string; runs?: number }
  | { type: 'idle' };

const init = workerData as WorkerInit;
const corpus = loadCorpus(init.nodeTestsDir);
const backends = await supportedBackends();
const post = (m: FromWorker) => parentPort!.postMessage(m);
// Self-test of the coordinator (test/fuzz.test.ts): LOWBIT_FUZZ_SELFTEST=hang:I,crash:J makes
// case I spin forever and case J end its worker, as a real hang or crash would.
const selftest = new Map((process.env.LOWBIT_FUZZ_SELFTEST ?? '').split(',').filter(Boolean).map((s) => {
  const [what, i] = s.split(':');
  return [Number(i), what] as const;
}));

parentPort!.on('message', async (m: ToWorker) => {
  for (let i = m.from; i < m.to; i++) {
    post({ type: 'start', i });
    if (selftest.get(i) === 'hang') for (;;);
    if (selftest.get(i) === 'crash') process.exit(3);
    try {
      const c = makeCase(corpus, init.seed, i, backends);
      post({ type: 'done', i, ...(await runCase(c.bytes, c.seed.inputs, c.feedSeed, c.backend)) });
    } catch (e) {
      post({ type: 'done', i, kind: 'bug', stage: 'harness', error: String((e as Error)?.stack ?? e) });
    }
  }
  post({ type: 'idle' });
});
post({ type: 'ready' });
