// createSession: one call for both modes: in-thread (InferenceSession) or in a module Web
// Worker (WorkerSession), with the same create/run/release API.

import type { ModelSource } from './load.js';
import { InferenceSession, type SessionOptions } from './session.js';
import { WorkerSession } from '../worker/session.js';

export interface CreateOptions extends SessionOptions {
  /** true: run in a new module worker; or the Worker (on `lowbit/worker`) / its URL to use. */
  worker?: boolean | Worker | URL | string;
}

/** What both session kinds offer. */
export type Session = Pick<InferenceSession, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata' | 'backend' | 'run' | 'release'>;

export async function createSession(model: ModelSource, options: CreateOptions = {}): Promise<Session> {
  const { worker, ...rest } = options;
  if (!worker) return InferenceSession.create(model, rest);
  return WorkerSession.create(model, { ...rest, worker: worker === true ? undefined : worker });
}
