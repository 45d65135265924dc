// `lowbit serve`: the Open Inference Protocol (KServe v2) REST API over a Triton-layout model
// repository, on fastify, with inference in a pool of worker threads or on the main thread.
//
//   GET  /v2                                   server metadata (extensions: binary_tensor_data)
//   GET  /v2/health/live, /v2/health/ready     200, or 400 when not ready (empty bodies)
//   GET  /v2/models/M[/versions/V]             model metadata
//   GET  /v2/models/M[/versions/V]/ready       200, or 400 when not ready (empty bodies)
//   POST /v2/models/M[/versions/V]/infer       inference (JSON, or JSON + binary tensor data)
//   GET  /metrics                              Prometheus text format
//
// Errors are {"error": "..."} with Triton's statuses (see http-error.ts). The server is ready
// when every model version loaded (Triton's strict readiness) and it is not shutting down.

import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { LowbitError, type Backend, type Precision } from '../index.js';
import { HttpError } from './http-error.js';
import { Metrics } from './metrics.js';
import { ModelTable, versionKey } from './models.js';
import { InlineRunner } from './inline.js';
import { WorkerPool, type PoolOptions } from './pool.js';
import { scanRepository } from './repository.js';
import type { StartRunner } from './runner.js';

export interface ServeOptions extends PoolOptions {
  /** Worker threads (default: one per core); 0 runs inference on the main thread (no queue, no timeout). */
  workers?: number;
  /** Model repository directory. */
  repo: string;
  /** TCP port (default 8000; 0 picks a free one). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Largest request body in bytes (default 64 MiB): larger ones are answered 413. */
  maxBodyBytes?: number;
  /**
   * Time a client has to send a whole request, headers and body (default 30 s): slower ones
   * (a stalled upload, a body shorter than its Content-Length) are answered 408 and disconnected.
   */
  clientTimeoutMs?: number;
  backend?: Backend | 'auto';
  precision?: Precision;
  /** Another inference side behind the same HTTP server (benchmarks); `workers`, `queue` and `timeoutMs` then do not apply. */
  startRunner?: StartRunner;
}

export interface RunningServer {
  /** http://host:port */
  readonly url: string;
  /** Every model version and whether it serves (with the reason when not). */
  readonly models: { model: string; version: string; ready: boolean; error?: string }[];
  readonly workers: number;
  /** Graceful shutdown: refuses new requests (503), finishes the ones in flight, stops the workers. */
  close(): Promise<void>;
}

const PLATFORM = 'onnx_onnxv1';
const version = (): string => (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function checkOptions(o: ServeOptions): void {
  const int = (k: keyof ServeOptions, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = o[k];
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max)) {
      throw new LowbitError('LOWBIT_BAD_OPTION', `option ${k} must be an integer from ${min} to ${max} (got ${String(v)})`);
    }
  };
  int('port', 0, 65535);
  int('workers', 0, 1024);
  int('queue', 0);
  int('maxBodyBytes', 1);
  int('timeoutMs', 1);
  int('clientTimeoutMs', 1);
  if (o.workers === 0 && (o.queue !== undefined || o.timeoutMs !== undefined)) {
    // A run on the main thread cannot be stopped, and nothing waits for it: neither would hold.
    throw new LowbitError('LOWBIT_BAD_OPTION', `options ${o.queue !== undefined ? 'queue' : 'timeoutMs'} need worker threads: with workers 0 each request runs to completion on the main thread`);
  }
}

function runnerFor(o: ServeOptions): StartRunner {
  if (o.startRunner) return o.startRunner;
  return o.workers === 0 ? InlineRunner.start : (spec) => WorkerPool.start(spec, o);
}

const sendError = (reply: FastifyReply, e: unknown): FastifyReply => {
  const status = e instanceof HttpError ? e.status : 500;
  return reply.code(status).send({ error: e instanceof HttpError ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}` });
};

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  checkOptions(options);
  const entries = scanRepository(options.repo);
  const toLoad = entries.flatMap((e) => (e.error ? [] : e.versions.map((v) => ({ key: versionKey(e.name, v.version), name: e.name, version: v.version, file: v.file }))));
  const { runner, reports } = await runnerFor(options)({ models: toLoad, backend: options.backend ?? 'auto', precision: options.precision ?? 'model' });
  const table = new ModelTable(entries, reports);
  if (!table.all().some((v) => v.ready)) {
    await runner.close();
    const why = table.all().map((v) => `${v.model}${v.version ? ` version ${v.version}` : ''}: ${v.error}`).join('; ');
    throw new LowbitError('LOWBIT_BAD_MODEL', `no model in '${options.repo}' can be served: ${why}`);
  }
  const metrics = new Metrics();
  const maxBody = options.maxBodyBytes ?? 64 * 1024 ** 2;
  let closing = false;

  const clientTimeout = options.clientTimeoutMs ?? 30_000;
  const app: FastifyInstance = Fastify({
    logger: false, bodyLimit: maxBody, return503OnClosing: false, forceCloseConnections: 'idle',
    // Node checks request deadlines every connectionsCheckingInterval (30 s by default).
    requestTimeout: clientTimeout,
    http: { headersTimeout: clientTimeout, connectionsCheckingInterval: Math.min(1000, Math.max(10, clientTimeout >> 2)) },
  });
  // Every body is taken as bytes: JSON alone, or JSON followed by binary tensor data.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: `the request body is larger than the limit of ${maxBody} bytes` });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return reply.code(status).send({ error: err.message });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` }));
  // Callback hooks: an async hook costs a promise per request.
  app.addHook('onRequest', (_req, reply, done) => {
    if (closing) reply.code(503).header('connection', 'close').send({ error: 'the server is shutting down' });
    else done();
  });
  // While shutting down, every response ends its connection, so close() need not wait for idle
  // keep-alive connections to time out.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (_req, reply, done) => {
    metrics.response(reply.statusCode);
    done();
  });

  const serverVersion = version();
  app.get('/v2', async () => ({ name: 'lowbit', version: serverVersion, extensions: ['binary_tensor_data'] }));
  app.get('/v2/health/live', async (_req, reply) => reply.code(200).send());
  app.get('/v2/health/ready', async (_req, reply) => reply.code(!closing && table.allReady ? 200 : 400).send());

  type Route = { Params: { name: string; version?: string } };
  const metadata = async (req: FastifyRequest<Route>, reply: FastifyReply) => {
    try {
      const { name, version: v } = req.params;
      const served = table.ready(name, v);
      const versions = v !== undefined ? [v] : table.model(name).versions.filter((x) => x.metadata).map((x) => x.version);
      return reply.send({ name, versions, platform: PLATFORM, inputs: served.metadata.inputs, outputs: served.metadata.outputs });
    } catch (e) {
      return sendError(reply, e);
    }
  };
  const ready = async (req: FastifyRequest<Route>, reply: FastifyReply) => {
    try {
      const { name, version: v } = req.params;
      const served = v === undefined ? table.model(name).versions.find((x) => x.metadata) : table.resolve(name, v);
      return reply.code(served?.metadata && !closing ? 200 : 400).send();
    } catch (e) {
      return (e as HttpError).status === 503 ? reply.code(400).send() : sendError(reply, e);
    }
  };
  const infer = async (req: FastifyRequest<Route>, reply: FastifyReply) => {
    const start = performance.now();
    let served;
    try {
      served = table.resolve(req.params.name, req.params.version);
    } catch (e) {
      return sendError(reply, e);
    }
    metrics.request(served);
    try {
      if (!served.metadata) throw new HttpError(503, `model '${served.model}' version ${served.version} is not ready: ${served.error}`);
      const body = req.body;
      if (!(body instanceof Uint8Array) || body.byteLength === 0) throw new HttpError(400, 'the request has no body');
      const h = req.headers['inference-header-content-length'];
      if (h !== undefined && (typeof h !== 'string' || !/^\d+$/.test(h.trim()))) throw new HttpError(400, `Inference-Header-Content-Length '${String(h)}' is not a byte count`);
      const result = await runner.run(served.key, body, h === undefined ? undefined : Number(h));
      metrics.success(served, (performance.now() - start) / 1000);
      if (result.headerLength !== undefined) reply.header('inference-header-content-length', String(result.headerLength)).type('application/octet-stream');
      else reply.type('application/json');
      return reply.send(Buffer.from(result.body.buffer, result.body.byteOffset, result.body.byteLength));
    } catch (e) {
      metrics.failure(served, e instanceof HttpError ? e.status : 500);
      return sendError(reply, e);
    }
  };
  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get<Route>(prefix, metadata);
    app.get<Route>(`${prefix}/ready`, ready);
    app.post<Route>(`${prefix}/infer`, infer);
  }
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render({
    queueDepth: runner.queueDepth,
    running: runner.running,
    workers: runner.size,
    readyWorkers: runner.readyWorkers,
    models: table.all(),
  })));

  try {
    await app.listen({ port: options.port ?? 8000, host: options.host ?? '127.0.0.1' });
  } catch (e) {
    await runner.close();
    throw new LowbitError('LOWBIT_BAD_OPTION', `cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 8000}: ${(e as Error).message}`);
  }
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${addr.port}`,
    models: table.all(),
    workers: runner.size,
    close() {
      closing = true;
      closed ??= app.close().then(() => runner.close());
      return closed;
    },
  };
}
