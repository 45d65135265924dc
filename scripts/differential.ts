// npx tsx scripts/differential.ts MODEL.onnx [--backend B] [--seed S] [--dim name=value]…
//                                 [--rtol R] [--atol A] [--json]
// Runs MODEL on random feeds (drawn from its input metadata; symbolic dims sized by --dim,
// default 1) through lowbit and onnxruntime-node and prints a per-output comparison table.
// Exit code 0 when every output agrees, 1 when some differ, 2 when a runtime fails.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LowbitError, type Backend } from '../src/index.js';
import { createSessions, formatReport, randomFeeds, releaseSessions, runDifferential, type InputSpec } from './lib/differential.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    backend: { type: 'string', default: 'auto' },
    seed: { type: 'string', default: '1' },
    dim: { type: 'string', multiple: true, default: [] },
    rtol: { type: 'string', default: '1e-4' },
    atol: { type: 'string', default: '1e-5' },
    json: { type: 'boolean', default: false },
  },
});

if (positionals.length !== 1) {
  process.stderr.write('usage: scripts/differential.ts MODEL.onnx [--backend scalar|simd|relaxed|auto] [--seed S] [--dim name=value]… [--rtol R] [--atol A] [--json]\n');
  process.exit(2);
}

const sizes: Record<string, number> = {};
for (const d of values.dim!) {
  const m = /^(.+)=(\d+)$/.exec(d);
  if (!m) {
    process.stderr.write(`--dim expects name=value, got '${d}'\n`);
    process.exit(2);
  }
  sizes[m[1]] = Number(m[2]);
}

const model = new Uint8Array(readFileSync(positionals[0]));
let sessions;
try {
  sessions = await createSessions(model, values.backend as Backend | 'auto');
} catch (e) {
  const who = e instanceof LowbitError ? `lowbit ${e.code}` : 'load failed';
  process.stderr.write(`${who}: ${(e as Error).message}\n`);
  process.exit(2);
}

// Feeds come from the reference's view of the inputs, so a model lowbit rejects still gets a clear error above.
const defaulted = new Set<string>();
const inputs = sessions.reference.inputMetadata.map((m): InputSpec => ({
  name: m.name,
  type: m.isTensor ? m.type : 'non-tensor',
  shape: m.isTensor ? m.shape : [],
}));
const feeds = randomFeeds(inputs, sizes, Number(values.seed), defaulted);
if (defaulted.size) process.stderr.write(`symbolic dims not given with --dim, set to 1: ${[...defaulted].join(', ')}\n`);
process.stderr.write(`feeds (seed ${values.seed}): ${Object.entries(feeds).map(([n, f]) => `${n} ${f.type}[${f.dims.join(',')}]`).join(', ')}\n`);

try {
  const report = await runDifferential(sessions, feeds, { rtol: Number(values.rtol), atol: Number(values.atol) });
  process.stdout.write((values.json ? JSON.stringify(report) : formatReport(report)) + '\n');
  process.exitCode = report.ok ? 0 : 1;
} catch (e) {
  const who = e instanceof LowbitError ? `lowbit ${e.code}` : 'run failed';
  process.stderr.write(`${who}: ${(e as Error).message}\n`);
  process.exitCode = 2;
} finally {
  await releaseSessions(sessions);
}
