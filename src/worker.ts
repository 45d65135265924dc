// Module Web Worker entry (`lowbit/worker`): hosts one session for a WorkerSession.
// new Worker(new URL('lowbit/worker', import.meta.url), { type: 'module' }) also works directly.

import { hostSession } from './worker/host.js';

hostSession(self as unknown as Parameters<typeof hostSession>[0]);
