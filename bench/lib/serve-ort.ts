// A server process for bench/server.ts: `lowbit serve`'s HTTP side with onnxruntime-node behind
// it. Prints "listening on URL" like `lowbit serve`; stops on SIGTERM.
// Run: node --import tsx bench/lib/serve-ort.ts REPO [--ort-threads N]

import { startServer } from '../../src/server/server.js';
import { ortNodeRunner } from './ort-runner.js';

const [repo, flag, n] = process.argv.slice(2);
const threads = flag === '--ort-threads' ? Number(n) : undefined;
const server = await startServer({ repo, port: 0, startRunner: ortNodeRunner(threads) });
process.stdout.write(`listening on ${server.url} (onnxruntime-node, ${threads ?? 'default'} intra-op threads)\n`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
