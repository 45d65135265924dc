// The session host inside a module Web Worker: one InferenceSession per worker, driven by
// messages from WorkerSession (src/worker/session.ts).

import { LowbitError } from '../errors.js';
import { InferenceSession } from '../api/session.js';
import { Tensor } from '../api/tensor.js';
import type { Reply, Request, WireMetadata, WireTensor } from './protocol.js';

interface Port {
  postMessage(msg: Reply, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (e: MessageEvent<Request>) => void): void;
}

export function hostSession(port: Port): void {
  let session: InferenceSession | undefined;
  // Requests are handled in order: the proxy may post a run right after create.
  let queue: Promise<void> = Promise.resolve();

  const handle = async (req: Request): Promise<void> => {
    try {
      if (req.op === 'create') {
        if (session) throw new LowbitError('LOWBIT_BAD_OPTION', 'this worker already hosts a session');
        const { progress, ...options } = req.options;
        session = await InferenceSession.create(req.model, {
          ...options,
          onProgress: progress ? (loaded, total) => port.postMessage({ id: req.id, progress: [loaded, total] }) : undefined,
        });
        const meta: WireMetadata = {
          inputNames: [...session.inputNames],
          outputNames: [...session.outputNames],
          inputMetadata: [...session.inputMetadata],
          outputMetadata: [...session.outputMetadata],
          backend: session.backend,
        };
        port.postMessage({ id: req.id, ok: true, value: meta });
      } else if (req.op === 'run') {
        if (!session) throw new LowbitError('LOWBIT_RELEASED', 'no session in this worker (released, or create failed)');
        const feeds: Record<string, Tensor> = {};
        for (const [name, t] of Object.entries(req.feeds)) feeds[name] = Tensor.fromBytes(t.type, t.bytes, t.dims);
        const out = session.runSync(feeds, req.fetches);
        const wire: Record<string, WireTensor> = {};
        const transfer: ArrayBuffer[] = [];
        for (const [name, t] of Object.entries(out)) {
          const bytes = t.bytes();
          wire[name] = { type: t.type, dims: [...t.dims], bytes };
          if (!transfer.includes(bytes.buffer as ArrayBuffer)) transfer.push(bytes.buffer as ArrayBuffer);
        }
        port.postMessage({ id: req.id, ok: true, value: wire }, transfer);
      } else {
        await session?.release();
        session = undefined;
        port.postMessage({ id: req.id, ok: true, value: null });
      }
    } catch (e) {
      const code = e instanceof LowbitError ? e.code : 'ERROR';
      port.postMessage({ id: req.id, ok: false, code, message: (e as Error)?.message ?? String(e) });
    }
  };

  port.addEventListener('message', (e) => {
    queue = queue.then(() => handle(e.data));
  });
}
