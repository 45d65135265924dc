// The size budget (issue 7): the shipped kernel modules and the browser bundle, measured from the
// built files as `npm run size` measures them.

import { describe, expect, it } from 'vitest';
import { JS_ENTRY_BUDGET, JS_TOTAL_BUDGET, KB, WASM_BUDGET, WASM_FILES, browserChunks, closure, formatTable, jsRows, overBudget, wasmRows } from '../scripts/size.js';

describe('size budget', () => {
  it('every runtime .wasm is within 150 kB', () => {
    const rows = wasmRows();
    expect(rows.map((r) => r.name)).toEqual(WASM_FILES.map((f) => `build/${f}`));
    expect(WASM_BUDGET).toBe(150 * KB);
    for (const r of rows) expect(r.bytes, r.name).toBeLessThanOrEqual(WASM_BUDGET);
    expect(overBudget(rows)).toEqual([]);
  });

  it('the runtime builds leave the test-only references out; the test builds carry them', async () => {
    const { kernelModule } = await import('./support/kernels.js');
    const refs = (b: 'runtime' | 'test') => WebAssembly.Module.exports(kernelModule('scalar', b)).filter((e) => e.name.endsWith('__ref'));
    expect(refs('runtime')).toEqual([]);
    expect(refs('test').length).toBeGreaterThan(10);
  });

  it('the browser entries are within 60 kB, and with the engine chunks within their ceiling', async () => {
    const rows = await jsRows();
    expect(rows.map((r) => r.name)).toEqual([
      'src/index.ts entry', 'src/index.ts entry + engine (any model)', 'src/worker.ts entry', 'src/worker.ts entry + engine (any model)',
    ]);
    expect(JS_ENTRY_BUDGET).toBe(60 * KB);
    for (const [entry, total] of [[rows[0], rows[1]], [rows[2], rows[3]]]) {
      expect(entry.budget).toBe(JS_ENTRY_BUDGET);
      expect(total.budget).toBe(JS_TOTAL_BUDGET);
      expect(entry.bytes).toBeGreaterThan(5 * KB);
      expect(total.bytes).toBeGreaterThan(entry.bytes + 100 * KB); // the engine is really a separate chunk
    }
    expect(overBudget(rows)).toEqual([]);
  });

  it('the entry loads no engine module statically, pages never load the Node-only chunk, and no npm package is bundled', async () => {
    const chunks = await browserChunks();
    const start = [...chunks].find(([, c]) => c.entryPoint === 'src/index.ts')![0];
    const inputs = (paths: string[]) => paths.flatMap((p) => chunks.get(p)!.inputs);
    const entry = inputs(closure(chunks, start, false));
    const all = inputs(closure(chunks, start, true));
    expect(entry).toContain('src/api/session.ts');
    for (const m of ['src/onnx/decode.ts', 'src/passes/index.ts', 'src/ops/registry.ts', 'src/plan/planner.ts', 'src/session/engine.ts']) {
      expect(entry, m).not.toContain(m);
      expect(all, m).toContain(m);
    }
    expect(all).not.toContain('src/api/load-node.ts');
    expect([...chunks.values()].flatMap((c) => c.inputs).filter((i) => i.includes('node_modules'))).toEqual([]);
  });

  it('reports a row over its budget and prints it as OVER', () => {
    const rows = [
      { name: 'a.wasm', bytes: 150 * KB + 1, gzip: 1, budget: 150 * KB },
      { name: 'b.wasm', bytes: 150 * KB, gzip: 1, budget: 150 * KB },
      { name: 'c.js', bytes: 999 * KB, gzip: 1 },
    ];
    expect(overBudget(rows).map((r) => r.name)).toEqual(['a.wasm']);
    const table = formatTable(rows).split('\n');
    expect(table[2]).toMatch(/^a\.wasm .* OVER$/);
    expect(table[3]).toMatch(/ok, 0\.0 kB left$/);
  });
});
