// The browser test's server: read-only dist/ (the test's own build, so other tests' builds don't
// race it), build/, models/, test/browser/ and demo/web/ (the shared classify.js).

import type { Server } from 'node:http';
import { join } from 'node:path';
import { serveStatic } from '../../demo/static-server.js';

export function serveRepo(root: string, dist: string): Promise<Server> {
  return serveStatic({
    mounts: {
      '/dist/': dist, '/build/': join(root, 'build'), '/models/': join(root, 'models'),
      '/test/browser/': join(root, 'test/browser'), '/demo/': join(root, 'demo/web'),
    },
  });
}
