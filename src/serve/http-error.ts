// An error answered with a given HTTP status as JSON { error, code }: bad client input (400, 413,
// 415, 422), overload and timeouts (503). Nothing else happens: no crash, no tensor made.
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;

  constructor(statusCode: number, code: string, message: string) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
  }
}
