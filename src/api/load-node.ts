// Node-only model loading: the model file, and external data confined to the model's directory.

import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../errors.js';
import type { LoadedModel } from './load.js';

export function loadModelFile(src: string | URL, maxBytes: number): LoadedModel {
  const path = src instanceof URL ? fileURLToPath(src) : src;
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    fail('LOWBIT_BAD_INPUT', `cannot open model '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, e);
  }
  if (!st.isFile()) fail('LOWBIT_BAD_INPUT', `model '${path}' is not a regular file`);
  if (st.size > maxBytes) fail('LOWBIT_LIMIT', `model '${path}' is ${st.size} bytes, over the limit of ${maxBytes} bytes (option maxModelBytes)`);
  const bytes = new Uint8Array(readFileSync(path));
  const dir = realpathSync(dirname(path));
  return { bytes, where: path, readExternal: externalReader(dir) };
}

/**
 * Reads external tensor data only from regular files inside `dir`: absolute locations, '..'
 * components, and symlinks resolving outside the directory are refused.
 */
export function externalReader(dir: string) {
  return (location: string, offset: number, length: number | undefined): Uint8Array => {
    if (location.includes('\0')) fail('LOWBIT_PATH', `external data location '${location}' is not a valid file name`);
    if (isAbsolute(location) || /^[a-zA-Z]:/.test(location) || location.startsWith('\\')) {
      fail('LOWBIT_PATH', `external data location '${location}' is absolute; only files inside the model's directory are read`);
    }
    if (location.split(/[\\/]/).includes('..')) {
      fail('LOWBIT_PATH', `external data location '${location}' contains '..'; only files inside the model's directory are read`);
    }
    const full = join(dir, location);
    let real: string;
    try {
      real = realpathSync(full);
    } catch (e) {
      fail('LOWBIT_PATH', `external data file '${location}' cannot be opened: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, e);
    }
    const rel = relative(dir, real);
    if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) {
      fail('LOWBIT_PATH', `external data file '${location}' resolves outside the model's directory`);
    }
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; the
    // fstat below then refuses anything that is not a regular file. O_NOFOLLOW: `real` has no
    // symlinks, so one appearing there now (swapped in after realpath) is refused, not followed.
    let fd: number;
    try {
      fd = openSync(real, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0));
    } catch (e) {
      fail('LOWBIT_PATH', `external data file '${location}' cannot be opened: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, e);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) fail('LOWBIT_PATH', `external data '${location}' is not a regular file`);
      const n = length ?? st.size - offset;
      if (offset + n > st.size || n < 0) {
        fail('LOWBIT_BAD_MODEL', `external data '${location}' has ${st.size} bytes; offset ${offset} + length ${n} is past its end`);
      }
      const out = new Uint8Array(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, out, got, n - got, offset + got);
        if (r <= 0) break;
        got += r;
      }
      return got === n ? out : out.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  };
}
