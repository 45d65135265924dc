// A model repository in Triton's layout:
//
//   REPO/<model>/config.pbtxt or config.json   (optional)
//   REPO/<model>/<version>/model.onnx          (version: a non-negative integer)
//
// From the config lowbit honours `name` (must equal the directory's name, as in Triton),
// `default_model_filename` (instead of model.onnx) and `platform`/`backend` (must be ONNX);
// everything else (inputs, outputs, batching, instance groups, version policy) is ignored:
// inputs and outputs come from the ONNX model, and every version directory is served.
// A model whose config or layout is wrong is listed with the reason, to be reported not ready.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '../index.js';

export interface VersionEntry {
  version: string;
  file: string;
}

export interface ModelEntry {
  name: string;
  versions: VersionEntry[];
  /** Why the model cannot be served at all (bad config, no version directory). */
  error?: string;
}

const VERSION = /^(0|[1-9]\d*)$/;
const ONNX_PLATFORMS = new Set(['onnxruntime_onnx', 'onnx_onnxv1']);
const ONNX_BACKENDS = new Set(['onnxruntime', 'lowbit']);

const unescape = (s: string) => s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t' })[c] ?? c);

/** Top-level `key: "string"` fields of a protobuf text-format file (nested blocks skipped). */
export function pbtxtStrings(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  // Tokens: space, # comment, "string", 'string', identifier, one punctuation character.
  const token = /\s+|#[^\n]*|"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|([A-Za-z_][\w.]*)|(\S)/gy;
  let depth = 0;
  let key: string | undefined; // an identifier at depth 0, then whether ':' followed it
  let colon = false;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    const [, dq, sq, ident, punct] = m;
    const str = dq ?? sq;
    if (str === undefined && ident === undefined && punct === undefined) continue;
    if (str !== undefined && depth === 0 && key !== undefined && colon) out[key] ??= unescape(str);
    if (punct === '{' || punct === '[' || punct === '<') depth++;
    else if (punct === '}' || punct === ']' || punct === '>') depth--;
    colon = punct === ':' && key !== undefined;
    if (!colon) key = ident !== undefined && depth === 0 ? ident : undefined;
  }
  return out;
}

function readConfig(dir: string): Record<string, unknown> {
  const json = join(dir, 'config.json');
  const pbtxt = join(dir, 'config.pbtxt');
  if (existsSync(json)) {
    const v = JSON.parse(readFileSync(json, 'utf8')) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('config.json is not a JSON object');
    return v as Record<string, unknown>;
  }
  if (existsSync(pbtxt)) return pbtxtStrings(readFileSync(pbtxt, 'utf8'));
  return {};
}

function scanModel(repo: string, name: string): ModelEntry {
  const dir = join(repo, name);
  let config: Record<string, unknown>;
  try {
    config = readConfig(dir);
  } catch (e) {
    return { name, versions: [], error: `cannot read its config: ${(e as Error).message}` };
  }
  const str = (k: string) => (typeof config[k] === 'string' ? (config[k] as string) : undefined);
  if (str('name') !== undefined && str('name') !== name) return { name, versions: [], error: `its config names it '${str('name')}', not '${name}' (the directory's name)` };
  if (str('platform') !== undefined && !ONNX_PLATFORMS.has(str('platform')!)) return { name, versions: [], error: `platform '${str('platform')}' is not ONNX` };
  if (str('backend') !== undefined && !ONNX_BACKENDS.has(str('backend')!)) return { name, versions: [], error: `backend '${str('backend')}' is not onnxruntime` };
  const fileName = str('default_model_filename') ?? 'model.onnx';
  if (!/^[^/\\]+$/.test(fileName) || fileName === '.' || fileName === '..') return { name, versions: [], error: `default_model_filename '${fileName}' is not a plain file name` };
  const versions = readdirSync(dir)
    .filter((v) => VERSION.test(v) && statSync(join(dir, v)).isDirectory())
    .sort((a, b) => Number(a) - Number(b))
    .map((version) => ({ version, file: join(dir, version, fileName) }));
  if (versions.length === 0) return { name, versions, error: `no version directory (${name}/<integer>/${fileName})` };
  return { name, versions };
}

/** The models of a repository directory, sorted by name. */
export function scanRepository(repo: string): ModelEntry[] {
  let names: string[];
  try {
    if (!statSync(repo).isDirectory()) throw new Error('not a directory');
    names = readdirSync(repo).filter((n) => !n.startsWith('.') && statSync(join(repo, n)).isDirectory());
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LowbitError('LOWBIT_PATH', `model repository '${repo}': ${code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
  }
  if (names.length === 0) throw new LowbitError('LOWBIT_PATH', `model repository '${repo}' has no model directories (expected ${repo}/<model>/<version>/model.onnx)`);
  return names.sort().map((n) => scanModel(repo, n));
}
