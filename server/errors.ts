/**
 * The closed set of error codes the API can answer with, and the one table
 * that maps each to an HTTP status (protocol §7). Every code is documented in
 * README.md; test/errors.test.ts fails when the two disagree.
 */
export const errorStatus = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  invalid_range: 416,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  seq_conflict: 409,
  invalid_transition: 409,
  action_closed: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  signature_invalid: 422,
  threshold_not_met: 422,
  policy_violation: 422,
  release_expired: 422,
  release_refused: 422,
  unprocessable: 422,
  rate_limited: 429,
  headers_too_large: 431,
  request_timeout: 408,
  expectation_failed: 417,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export interface ErrorDetail {
  /** Where the problem is: a JSON pointer, a setting key, a keyid, ... */
  path?: string;
  /** For settings-policy refusals: the rule broken (protocol §3: P1, P2 or P3). */
  rule?: string;
  /** A machine code for this one problem (e.g. a policy rule "P2"). */
  code?: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | undefined;
  /** Extra response headers (Retry-After, Content-Range...). */
  readonly headers: Record<string, string> | undefined;
  /**
   * False for a 401 that is no guessed credential (a Mender identity waiting
   * for admission, a request signature that does not verify): it is neither
   * turned into 429 nor counted by the refused-credential limit.
   */
  readonly lockout: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { details?: ErrorDetail[]; cause?: unknown; headers?: Record<string, string>; lockout?: false } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = opts.details;
    this.headers = opts.headers;
    this.lockout = opts.lockout ?? true;
  }

  get status(): number {
    return errorStatus[this.code];
  }

  toBody(): { error: { code: ErrorCode; message: string; details?: ErrorDetail[] } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details && this.details.length > 0 ? { details: this.details } : {}),
      },
    };
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
