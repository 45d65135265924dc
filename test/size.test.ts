// The size budget (issue 7): the shipped kernel modules and the browser bundle, measured from the
// built files as `npm run size` measures them.

import { describe, expect, it } from 'vitest';
import { JS_BUDGET, JS_TARGET, KB, WASM_BUDGET, WASM_FILES, formatTable, jsRows, overBudget, wasmRows } from '../scripts/size.js';

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

  it('the browser bundle is measured and stays under its ceiling', async () => {
    const rows = await jsRows();
    const full = rows.find((r) => r.name.startsWith('src/index.ts') && r.budget !== undefined)!;
    const own = rows.find((r) => r.name.includes('own code'))!;
    expect(own.bytes).toBeGreaterThan(10 * KB);
    expect(full.bytes, 'the browser bundle has no npm dependency').toBe(own.bytes);
    expect(full.budget).toBe(JS_BUDGET);
    expect(full.target).toBe(JS_TARGET);
    expect(overBudget(rows)).toEqual([]);
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
