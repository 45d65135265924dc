// The browser test's static server: read-only files from the repository (dist/, build/,
// models/, test/browser/), plus what a dev server does for native ESM: the one bare import in
// dist/ ('onnx-proto', a CommonJS package) is rewritten to an ESM wrapper of it.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.map': 'application/json',
};
const SHIM = '/_vendor/onnx-proto.js';

/** onnx-proto (CommonJS) and its protobufjs/minimal (UMD) wrapped as one ES module. */
function onnxProtoModule(root: string): string {
  const dir = join(root, 'node_modules/onnx-proto');
  const nested = join(dir, 'node_modules/protobufjs/dist/minimal/protobuf.js');
  const pb = readFileSync(existsSync(nested) ? nested : join(root, 'node_modules/protobufjs/dist/minimal/protobuf.js'), 'utf8');
  const onnx = readFileSync(join(dir, 'dist/onnx.js'), 'utf8');
  return `const module = { exports: {} };\n${pb}\nconst $pb = module.exports;\n` +
    `const $m = { exports: {} };\n(function (require, module, exports) {\n${onnx}\n})(() => $pb, $m, $m.exports);\n` +
    'export default $m.exports;\n';
}

/** `dist` is the directory served as /dist/ (the test's own build, so other tests' builds don't race it). */
export function serveRepo(root: string, dist: string): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let body: Buffer | undefined;
    let type = 'application/octet-stream';
    if (req.method === 'GET' && url.pathname === SHIM) {
      body = Buffer.from(onnxProtoModule(root));
      type = TYPES['.js'];
    } else {
      const path = normalize(decodeURIComponent(url.pathname)).replace(/^[/\\]+/, '');
      const allowed = ['dist', 'build', 'models', join('test', 'browser')].some((d) => path.startsWith(d + sep));
      const file = path.startsWith('dist' + sep) ? join(dist, path.slice(5)) : join(root, path);
      if (req.method === 'GET' && allowed && !path.includes('..') && existsSync(file) && statSync(file).isFile()) {
        body = readFileSync(file);
        type = TYPES[extname(file)] ?? type;
        if (path.startsWith('dist' + sep) && extname(file) === '.js') {
          body = Buffer.from(body.toString('utf8').replace(/from 'onnx-proto'/g, `from '${SHIM}'`));
        }
      }
    }
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': type, 'content-length': body.byteLength });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
