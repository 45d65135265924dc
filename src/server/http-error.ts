// An error that becomes an HTTP response: {"error": message} with this status. The statuses are
// Triton's: 400 for a bad request, 404 for an unknown model or version, 413 for a body over the
// limit, 503 when a model is not ready, the queue is full, a request timed out or the server is
// shutting down, 500 for a failure of lowbit itself.

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function badRequest(message: string): never {
  throw new HttpError(400, message);
}
