// npm run eval -- [--filter TEXT] [--images N] [--json] [--backend scalar|simd|relaxed]
//
// Every model of models/models.json on the Fashion-MNIST test set (Debian's dataset-fashion-mnist):
// lowbit's accuracy beside the reference's, how many predictions differ from onnxruntime-node,
// file size, packed weight bytes, the kernels lowbit takes, and one-image latency in lowbit and
// onnxruntime-web. Progress goes to stderr; stdout gets the markdown section, or with --json the
// results as one JSON line. A full run (all models, all 10,000 images) rewrites the generated
// section of models/README.md and models/accuracy.svg; a partial one only prints.

import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BACKENDS, supportedBackends, type Backend } from '../src/kernels/wasm.js';
import { ortVersions } from '../bench/lib/runtimes.js';
import { DEBIAN_DIR, loadSplit, type Images } from './lib/fmnist.js';
import { accuracyChart } from './eval/chart.js';
import { evaluateModel, type EvalRow, type ModelEntry } from './eval/measure-model.js';
import { percent, referenceOf, renderSection, replaceSection, type EvalEnv } from './eval/render.js';

const { values: args } = parseArgs({
  options: {
    filter: { type: 'string', default: '' },
    images: { type: 'string' },
    json: { type: 'boolean', default: false },
    backend: { type: 'string' },
  },
});

function die(msg: string): never {
  process.stderr.write(`eval: ${msg}\n`);
  process.exit(2);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const README = `${root}models/README.md`;
const CHART = `${root}models/accuracy.svg`;

let test: Images;
try {
  test = loadSplit('test');
} catch {
  die(`the Fashion-MNIST test set is not in ${DEBIAN_DIR}: install it with \`sudo apt-get install dataset-fashion-mnist\``);
}
const count = args.images === undefined ? test.count : Number(args.images);
if (!Number.isInteger(count) || count < 1 || count > test.count) die(`--images must be an integer in 1…${test.count}`);

const have = await supportedBackends();
const backend = (args.backend ?? have[have.length - 1]) as Backend;
if (!BACKENDS.includes(backend) || !have.includes(backend)) die(`backend '${args.backend}' unavailable here (have: ${have.join(', ')})`);

const catalogue = JSON.parse(readFileSync(`${root}models/models.json`, 'utf8')) as { models: ModelEntry[] };
const entries = catalogue.models.filter((m) => m.file.includes(args.filter!));
if (entries.length === 0) die(`no model in models/models.json matches '${args.filter}'`);
const full = entries.length === catalogue.models.length && count === test.count;
if (full) {
  // Fail before the long run, not after it.
  try {
    replaceSection(readFileSync(README, 'utf8'), '');
  } catch (e) {
    die(`models/README.md: ${(e as Error).message}`);
  }
}

const versions = ortVersions();
const loadBefore = loadavg()[0];
const started = new Date();
const tty = process.stderr.isTTY;
const rows: EvalRow[] = [];
for (const [i, entry] of entries.entries()) {
  const tag = `[${i + 1}/${entries.length}] ${entry.file.replace(/^models\//, '')}`;
  const t0 = performance.now();
  const progress = (what: string, done: number) => {
    if (tty) process.stderr.write(`\r\x1b[K${tag}: ${what}${what === 'latency' ? '' : ` ${done}/${count}`}`);
  };
  const row = await evaluateModel(entry, new Uint8Array(readFileSync(`${root}${entry.file}`)), { images: test, count, backend, progress });
  rows.push(row);
  const ms = (who: 'lowbit' | 'ortweb') => (row.latency[who] ? `${row.latency[who]!.median.toPrecision(3)} ms` : '—');
  const basic = row.ortnode_basic_differs === null ? '' : ` (${row.ortnode_basic_differs} at basic optimizations)`;
  const differs = row.ortnode_differs === null ? '' : `, ${row.ortnode_differs} differ from ort-node${basic}`;
  const errors = Object.entries(row.errors).map(([who, e]) => ` | ${who}: ${e}`).join('');
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  process.stderr.write(
    `${tty ? '\r\x1b[K' : ''}${tag}: lowbit ${percent(row.lowbit_accuracy)} (reference ${percent(referenceOf(row))}${differs}); ` +
    `1 image: lowbit ${ms('lowbit')}, ort-web ${ms('ortweb')} (n=${row.latency_runs}); ${row.path}; ${secs} s${errors}\n`,
  );
}

const env: EvalEnv = {
  date: started.toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cpus: cpus().length,
  load_before: loadBefore,
  load_after: loadavg()[0],
  lowbit_backend: backend,
  ortweb_version: versions.ortweb,
  ortnode_version: versions.ortnode,
  images: count,
};

if (full) {
  writeFileSync(CHART, accuracyChart(rows));
  writeFileSync(README, replaceSection(readFileSync(README, 'utf8'), `\n${renderSection(rows, env, '![Test accuracy by model and precision](accuracy.svg)')}\n`));
  process.stderr.write('eval: wrote models/README.md and models/accuracy.svg\n');
} else {
  process.stderr.write('eval: partial run (--filter or --images): models/README.md and models/accuracy.svg left as they are\n');
}
process.stdout.write(args.json ? `${JSON.stringify({ env, rows })}\n` : `${renderSection(rows, env, null)}\n`);
if (rows.some((r) => r.errors.lowbit)) process.exitCode = 1;
