// npm run conformance -- [--json] [--dir DIR] [--backend B] [--filter SUBSTR]
// Runs every ONNX node test under DIR; the last line printed is the JSON summary.

import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { listCases, runCase, summarize, type CaseResult } from './lib/conformance.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    dir: { type: 'string', default: fileURLToPath(new URL('../../shared/onnx-node-tests', import.meta.url)) },
    backend: { type: 'string', default: 'auto' },
    filter: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});

const cases = listCases(values.dir!).filter((c) => !values.filter || c.includes(values.filter));
const results: CaseResult[] = [];
for (const [i, dir] of cases.entries()) {
  const r = await runCase(dir, { backend: values.backend as 'auto' });
  results.push(r);
  if (!values.quiet && r.status !== 'passed') process.stderr.write(`[${i + 1}/${cases.length}] ${r.status.toUpperCase()} ${r.test}: ${r.why}\n`);
}
const s = summarize(results);
if (!values.json) {
  process.stderr.write(`\n${s.passed}/${s.total} passed, ${s.failed} failed, ${s.unsupported} unsupported\n`);
}
process.stdout.write(JSON.stringify(s) + '\n');
