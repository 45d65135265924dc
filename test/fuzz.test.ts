// The fuzzer (scripts/fuzz): its saved reproducers replay to a LowbitError, and a short seeded
// run through the CLI (worker threads, watchdog, summary) ends with no failures. CI runs 20,000
// cases (.ci/run); `npm run fuzz -- --cases N --seed S` runs any other seed.

import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
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

describe('fuzz watchdog', () => {
  it('a case that hangs or kills its worker is a saved failure, and every other case still runs', async () => {
    const out = join(ROOT, 'test-artifacts/fuzz-selftest');
    rmSync(out, { recursive: true, force: true });
    const err = await promisify(execFile)(process.execPath,
      ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'scripts/fuzz/main.ts', '--cases', '60', '--seed', '3', '--timeout', '1500', '--quiet', '--out', out],
      { cwd: ROOT, env: { ...process.env, LOWBIT_FUZZ_SELFTEST: 'hang:7,crash:40' } }).then(() => undefined, (e: { code: number; stdout: string }) => e);
    expect(err?.code).toBe(1);
    const summary = JSON.parse(err!.stdout.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ cases: 60, failures: 2 });
    expect(summary.ok + Object.values(summary.lowbit as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(58);
    expect(readdirSync(out).sort()).toEqual(['crash-s3-c40.json', 'crash-s3-c40.onnx', 'hang-s3-c7.json', 'hang-s3-c7.onnx']);
    const hang = JSON.parse(readFileSync(join(out, 'hang-s3-c7.json'), 'utf8'));
    expect(hang).toMatchObject({ seed: 3, case: 7, kind: 'hang', error: 'no result after 1500 ms' });
    expect(JSON.parse(readFileSync(join(out, 'crash-s3-c40.json'), 'utf8')).error).toContain('exited with code 3');
  });
});
