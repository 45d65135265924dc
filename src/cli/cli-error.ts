// A mistake in how the command was called or in a file it was given: printed as one line, like
// a LowbitError, and the command exits non-zero.

export class CliError extends Error {
  override readonly name = 'CliError';
}

export function fail(message: string): never {
  throw new CliError(message);
}
