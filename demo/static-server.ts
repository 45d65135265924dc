// A small read-only static server for the demo and the browser tests: directories mounted at URL
// prefixes and generated routes. lowbit's dist/ is plain ES modules with no bare imports, so the
// browser loads it as it is.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json', '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface Reply { body: Uint8Array | string; type: string }

export interface StaticOptions {
  /** URL prefix ('/dist/') → directory. */
  mounts: Record<string, string>;
  /** Exact paths answered by a function (generated files). */
  routes?: Record<string, () => Reply>;
  port?: number;
  host?: string;
  /** Headers added to every reply. */
  headers?: Record<string, string>;
}

function lookup(o: StaticOptions, pathname: string): Reply | undefined {
  const route = o.routes?.[pathname];
  if (route) return route();
  const rel = pathname.endsWith('/') ? `${pathname}index.html` : pathname;
  for (const [prefix, dir] of Object.entries(o.mounts)) {
    if (!rel.startsWith(prefix)) continue;
    const path = normalize(rel.slice(prefix.length));
    if (path.startsWith('..') || path.includes(`${sep}..`)) return undefined;
    const file = join(dir, path);
    if (!existsSync(file) || !statSync(file).isFile()) continue;
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    return { body: readFileSync(file), type };
  }
  return undefined;
}

export function serveStatic(o: StaticOptions): Promise<Server> {
  const server = createServer((req, res) => {
    let reply: Reply | undefined;
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' || req.method === 'HEAD') reply = lookup(o, decodeURIComponent(url.pathname));
    } catch {
      reply = undefined;
    }
    if (!reply) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
    res.writeHead(200, { ...o.headers, 'content-type': reply.type, 'content-length': body.byteLength, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve(server));
  });
}
