// The fuzzer (scripts/fuzz): its saved reproducers replay to a LowbitError, and a short seeded
// run through the CLI (worker threads, watchdog, summary) ends with no failures. CI runs 20,000
// cases (.ci/run); `npm run fuzz -- --cases N --seed S` runs any other seed.

import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { replayFile } from '../scripts/fuzz/replay.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIR = join(ROOT, 'test/fuzz-regressions');
const cases = readdirSync(DIR).filter((f) => f.endsWith('.onnx')).sort();

describe('fuzz regressions', () => {
  it('there are reproducers to replay', () => {
    expect(cases.length).toBeGreaterThan(0);
  });
  for (const f of cases) {
    it(f, async () => {
      const meta = JSON.parse(readFileSync(join(DIR, f.replace(/\.onnx$/, '.json')), 'utf8')) as { expect?: string };
      const o = await replayFile(join(DIR, f));
      expect(o.kind, JSON.stringify(o)).not.toBe('bug');
      if (meta.expect) expect(o).toMatchObject({ kind: 'lowbit', code: meta.expect });
    });
  }
});

describe('fuzz CLI', () => {
  it('a short seeded run ends with every case a success or a LowbitError', async () => {
    const { stdout } = await promisify(execFile)(process.execPath,
      ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'scripts/fuzz/main.ts', '--cases', '300', '--seed', '11', '--quiet', '--out', join(ROOT, 'test-artifacts/fuzz')],
      { cwd: ROOT, maxBuffer: 1 << 24 });
    const summary = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ cases: 300, failures: 0 });
    expect(summary.ok + Object.values(summary.lowbit as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(300);
    expect(summary.ran).toBeGreaterThan(0);
  });
});
