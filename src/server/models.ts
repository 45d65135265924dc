// The served models: every version of every model in the repository, ready (loaded in the
// workers, with its metadata) or not (with the reason), and how a request's model name and
// optional version resolve to one of them.

import { HttpError } from './http-error.js';
import type { ModelMetadata } from './infer-request.js';
import type { ModelEntry } from './repository.js';
import type { LoadReport } from './infer.js';

export interface ServedVersion {
  model: string;
  version: string;
  /** Worker-side key of the loaded session. */
  key: string;
  metadata?: ModelMetadata;
  error?: string;
}

export interface ServedModel {
  name: string;
  /** In ascending version order. */
  versions: ServedVersion[];
  error?: string;
}

export const versionKey = (model: string, version: string) => `${model}/${version}`;

export class ModelTable {
  readonly models: ReadonlyMap<string, ServedModel>;

  constructor(entries: readonly ModelEntry[], reports: readonly LoadReport[]) {
    const byKey = new Map(reports.map((r) => [r.key, r]));
    this.models = new Map(entries.map((e) => [e.name, {
      name: e.name,
      error: e.error,
      versions: e.error ? [] : e.versions.map((v): ServedVersion => {
        const key = versionKey(e.name, v.version);
        const r = byKey.get(key);
        return { model: e.name, version: v.version, key, ...(r && 'metadata' in r ? { metadata: r.metadata } : { error: r?.error ?? 'not loaded' }) };
      }),
    }]));
  }

  /** Every version (a model that has none is listed once with version ''). */
  all(): { model: string; version: string; ready: boolean; error?: string }[] {
    return [...this.models.values()].flatMap((m) => (m.versions.length === 0
      ? [{ model: m.name, version: '', ready: false, error: m.error }]
      : m.versions.map((v) => ({ model: m.name, version: v.version, ready: !!v.metadata, error: v.error }))));
  }

  get allReady(): boolean {
    return this.all().every((v) => v.ready);
  }

  /** The named model; 404 when the repository has none of that name. */
  model(name: string): ServedModel {
    const m = this.models.get(name);
    if (!m) throw new HttpError(404, `unknown model '${name}'`);
    return m;
  }

  /**
   * The version a request names, or without one the highest ready version; 404 for a version
   * the model does not have, 503 when the model cannot serve.
   */
  resolve(name: string, version?: string): ServedVersion {
    const m = this.model(name);
    if (m.error) throw new HttpError(503, `model '${name}' is not ready: ${m.error}`);
    if (version === undefined) {
      const ready = m.versions.filter((v) => v.metadata);
      if (ready.length === 0) throw new HttpError(503, `model '${name}' is not ready: ${m.versions.map((v) => `version ${v.version}: ${v.error}`).join('; ')}`);
      return ready[ready.length - 1];
    }
    const v = m.versions.find((x) => x.version === version);
    if (!v) throw new HttpError(404, `unknown version '${version}' of model '${name}' (versions: ${m.versions.map((x) => x.version).join(', ')})`);
    return v;
  }

  /** As resolve(), and 503 when that version failed to load. */
  ready(name: string, version?: string): ServedVersion & { metadata: ModelMetadata } {
    const v = this.resolve(name, version);
    if (!v.metadata) throw new HttpError(503, `model '${name}' version ${v.version} is not ready: ${v.error}`);
    return v as ServedVersion & { metadata: ModelMetadata };
  }
}
