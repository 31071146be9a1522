/** Why a KVS call failed, as far as a program needs to know. */
export type KvsServiceErrorCode =
  | "ResourceNotFoundException"
  | "NotAuthorizedException"
  | "AccessDeniedException"
  | "ConnectionLimitExceededException"
  | "ClientLimitExceededException"
  | "InvalidEndpointException"
  | "InvalidArgumentException"
  | "ThrottlingException"
  | "ServiceError"
  | "NetworkError"
  | "IdleTimeout"
  | "Unknown";

interface Advice {
  retryable: boolean;
  action: string;
}

const ADVICE: Record<KvsServiceErrorCode, Advice> = {
  ResourceNotFoundException: { retryable: false, action: "check the stream name or ARN, the region and the account" },
  NotAuthorizedException: { retryable: false, action: "grant kinesisvideo:GetMedia / ListFragments / GetMediaForFragmentList / GetDataEndpoint to these credentials" },
  AccessDeniedException: { retryable: false, action: "grant the kinesisvideo permissions this call needs to these credentials" },
  ConnectionLimitExceededException: { retryable: true, action: "at most 3 GetMedia connections per stream: back off, or share one connection between apps (fan-out)" },
  ClientLimitExceededException: { retryable: true, action: "at most 5 GetMedia calls per second per stream: back off with jitter" },
  InvalidEndpointException: { retryable: true, action: "call GetDataEndpoint again and use the endpoint it returns" },
  InvalidArgumentException: { retryable: false, action: "fix the request (selector, fragment numbers, time range)" },
  ThrottlingException: { retryable: true, action: "back off with jitter" },
  ServiceError: { retryable: true, action: "the service failed (5xx): retry with backoff" },
  NetworkError: { retryable: true, action: "the connection failed or was reset: reconnect from the last continuation token" },
  IdleTimeout: { retryable: true, action: "no bytes arrived for too long: reconnect from the last continuation token" },
  Unknown: { retryable: false, action: "see the cause" },
};

/** A failed Kinesis Video Streams call, with whether retrying can help and what to do. */
export class KvsServiceError extends Error {
  override readonly name = "KvsServiceError";
  /** The error type (the service's exception name, or NetworkError / IdleTimeout). */
  readonly code: KvsServiceErrorCode;
  /** True when the same call may succeed later (after backoff). */
  readonly retryable: boolean;
  /** What the caller should do about it. */
  readonly action: string;
  /** HTTP status, when the service answered. */
  readonly statusCode: number | undefined;
  /** The KVS operation that failed. */
  readonly operation: string;

  constructor(code: KvsServiceErrorCode, operation: string, message: string, options: { cause?: unknown; statusCode?: number } = {}) {
    const advice = ADVICE[code];
    super(`${operation}: ${code}: ${message} (${advice.action})`, { cause: options.cause });
    this.code = code;
    this.retryable = advice.retryable;
    this.action = advice.action;
    this.statusCode = options.statusCode;
    this.operation = operation;
  }
}

const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNABORTED", "EHOSTUNREACH", "UND_ERR_SOCKET", "ERR_STREAM_PREMATURE_CLOSE"]);

/** Maps anything an AWS SDK call or its body stream threw to a {@link KvsServiceError}. */
export function toKvsServiceError(err: unknown, operation: string): KvsServiceError {
  if (err instanceof KvsServiceError) return err;
  const e = (err ?? {}) as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number }; $fault?: string };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? "";
  const message = e.message ?? String(err);
  const known = Object.prototype.hasOwnProperty.call(ADVICE, name) ? (name as KvsServiceErrorCode) : undefined;
  if (known) return new KvsServiceError(known, operation, message, { cause: err, statusCode: status });
  if (name === "ThrottledException" || name === "TooManyRequestsException" || status === 429) return new KvsServiceError("ThrottlingException", operation, message, { cause: err, statusCode: status });
  if ((e.code && NETWORK_CODES.has(e.code)) || /socket hang up|ECONNRESET|premature close|aborted/i.test(message) || name === "TimeoutError") {
    return new KvsServiceError("NetworkError", operation, message, { cause: err, statusCode: status });
  }
  if ((status !== undefined && status >= 500) || e.$fault === "server" || name === "InternalFailure" || name === "ServiceUnavailable") {
    return new KvsServiceError("ServiceError", operation, message, { cause: err, statusCode: status });
  }
  return new KvsServiceError("Unknown", operation, `${name ? `${name}: ` : ""}${message}`, { cause: err, statusCode: status });
}
