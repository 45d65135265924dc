// Asserting that something fails with a LowbitError of a given code whose message names things.

import { expect } from 'vitest';
import { LowbitError, type LowbitErrorCode } from '../../src/index.js';

export async function expectLowbit(p: Promise<unknown> | (() => unknown), code: LowbitErrorCode, ...parts: string[]): Promise<LowbitError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected a LowbitError ${code}`).toBeInstanceOf(LowbitError);
  const le = err as LowbitError;
  expect(le.code, le.message).toBe(code);
  for (const part of parts) expect(le.message).toContain(part);
  return le;
}
