// demo/static-server.ts: files only from the mounted directories (no way out with '..', encoded
// or not), generated routes, JavaScript served unchanged, and headers.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from '../demo/static-server.js';

describe('demo static server', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lowbit-static-'));
    mkdirSync(join(dir, 'dist'));
    mkdirSync(join(dir, 'web'));
    writeFileSync(join(dir, 'dist/index.js'), "import { a } from './a.js';\nexport default a;\n");
    writeFileSync(join(dir, 'web/index.html'), '<!doctype html><p>hi</p>');
    writeFileSync(join(dir, 'secret.txt'), 'no');
    server = await serveStatic({
      mounts: { '/dist/': join(dir, 'dist'), '/': join(dir, 'web') },
      routes: { '/manifest.json': () => ({ body: '{"a":1}', type: 'application/json' }) },
      headers: { 'cross-origin-opener-policy': 'same-origin' },
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('serves mounted files, index.html for /, routes, with the given headers', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(await page.text()).toContain('<p>hi</p>');
    expect(await (await fetch(`${base}/manifest.json`)).json()).toEqual({ a: 1 });
    const head = await fetch(`${base}/index.html`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
  });

  it('serves ES modules byte for byte as JavaScript', async () => {
    const js = await fetch(`${base}/dist/index.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript');
    expect(await js.text()).toBe("import { a } from './a.js';\nexport default a;\n");
  });

  it('refuses paths outside the mounts, methods other than GET/HEAD, and missing files', async () => {
    for (const p of ['/%2e%2e/secret.txt', '/dist/%2e%2e/secret.txt', '/..%2fsecret.txt', '/dist/..%2f..%2fsecret.txt', '/missing.js', '/dist/']) {
      expect((await fetch(`${base}${p}`)).status, p).toBe(404);
    }
    expect((await fetch(`${base}/index.html`, { method: 'POST', body: 'x' })).status).toBe(404);
  });
});
