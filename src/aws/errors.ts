import { MkvParseError } from "../ebml/errors.js";
import { KvsParserError } from "../ebml/kvs-parser-error.js";

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
  | "MediaError"
  | "CorruptMedia"
  | "ConfigurationError"
  | "Unknown";

interface Advice {
  retryable: boolean;
  action: string;
}

const ADVICE: Record<KvsServiceErrorCode, Advice> = {
  ResourceNotFoundException: { retryable: false, action: "check the stream name or ARN, the region and the account" },
  NotAuthorizedException: {
    retryable: false,
    action: "grant kinesisvideo:GetMedia / ListFragments / GetMediaForFragmentList / GetDataEndpoint to these credentials",
  },
  AccessDeniedException: { retryable: false, action: "grant the kinesisvideo permissions this call needs to these credentials" },
  ConnectionLimitExceededException: {
    retryable: true,
    action: "at most 3 GetMedia connections per stream: back off, or share one connection between apps (fan-out)",
  },
  ClientLimitExceededException: { retryable: true, action: "at most 5 GetMedia calls per second per stream: back off with jitter" },
  InvalidEndpointException: { retryable: true, action: "call GetDataEndpoint again and use the endpoint it returns" },
  InvalidArgumentException: { retryable: false, action: "fix the request (selector, fragment numbers, time range)" },
  ThrottlingException: { retryable: true, action: "back off with jitter" },
  ServiceError: { retryable: true, action: "the service failed (5xx): retry with backoff" },
  NetworkError: { retryable: true, action: "the connection failed or was reset: reconnect from the last continuation token" },
  IdleTimeout: { retryable: true, action: "no bytes arrived for too long: reconnect from the last continuation token" },
  MediaError: { retryable: false, action: "the service reported an error inside the media (AWS_KINESISVIDEO_ERROR_ID): see errorId" },
  CorruptMedia: { retryable: true, action: "the bytes received do not parse: reconnect from the last continuation token" },
  ConfigurationError: { retryable: false, action: "the SDK has no region or no credentials: see the message for what to set" },
  Unknown: { retryable: false, action: "see the cause" },
};

/** A failed Kinesis Video Streams call, with whether retrying can help and what to do. */
export class KvsServiceError extends KvsParserError {
  override readonly name = "KvsServiceError";
  /** The error type (the service's exception name, or NetworkError / IdleTimeout). */
  declare readonly code: KvsServiceErrorCode;
  /** What the caller should do about it. */
  declare readonly action: string;
  /** HTTP status, when the service answered. */
  readonly statusCode: number | undefined;
  /** The KVS operation that failed. */
  readonly operation: string;

  /** For MediaError: the AWS_KINESISVIDEO_ERROR_ID the service sent (e.g. "4000"). */
  readonly errorId: string | null;

  /** The fragment the failure is about, when known (CorruptMedia: the fragment that would not parse). */
  readonly fragmentNumber: string | null;

  /** A failed `operation` of type `code`; `options` overrides the advice that goes with the code. */
  constructor(
    code: KvsServiceErrorCode,
    operation: string,
    message: string,
    options: { cause?: unknown; statusCode?: number; retryable?: boolean; action?: string; errorId?: string | null; fragmentNumber?: string | null } = {},
  ) {
    const advice = ADVICE[code];
    const action = options.action ?? advice.action;
    super(code, `${operation}: ${code}: ${message} (${action})`, { cause: options.cause, retryable: options.retryable ?? advice.retryable, action });
    this.statusCode = options.statusCode;
    this.operation = operation;
    this.errorId = options.errorId ?? null;
    this.fragmentNumber = options.fragmentNumber ?? null;
  }
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/** Maps anything an AWS SDK call or its body stream threw (or the parser, on bad bytes) to a {@link KvsServiceError}. */
export function toKvsServiceError(err: unknown, operation: string): KvsServiceError {
  if (err instanceof KvsServiceError) return err;
  if (err instanceof MkvParseError) return new KvsServiceError("CorruptMedia", operation, err.message, { cause: err });
  const e = (err ?? {}) as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number }; $fault?: string };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? "";
  const message = e.message ?? String(err);
  if (/region is missing/i.test(message))
    return new KvsServiceError("ConfigurationError", operation, "no AWS region", {
      cause: err,
      action: "set AWS_REGION (or the region option, --region on the command line)",
    });
  if (name === "CredentialsProviderError")
    return new KvsServiceError("ConfigurationError", operation, `no AWS credentials: ${message}`, {
      cause: err,
      action: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or pass credentials to KvsClients",
    });
  const known = Object.hasOwn(ADVICE, name) ? (name as KvsServiceErrorCode) : undefined;
  if (known) return new KvsServiceError(known, operation, message, { cause: err, statusCode: status });
  if (name === "ThrottledException" || name === "TooManyRequestsException" || status === 429)
    return new KvsServiceError("ThrottlingException", operation, message, { cause: err, statusCode: status });
  if ((e.code && NETWORK_CODES.has(e.code)) || /socket hang up|ECONNRESET|premature close|aborted/i.test(message) || name === "TimeoutError") {
    return new KvsServiceError("NetworkError", operation, message, { cause: err, statusCode: status });
  }
  if ((status !== undefined && status >= 500) || e.$fault === "server" || name === "InternalFailure" || name === "ServiceUnavailable") {
    return new KvsServiceError("ServiceError", operation, message, { cause: err, statusCode: status });
  }
  return new KvsServiceError("Unknown", operation, `${name ? `${name}: ` : ""}${message}`, { cause: err, statusCode: status });
}

/** What the GetMedia reference says each in-stream AWS_KINESISVIDEO_ERROR_ID means, and whether a retry can help. */
const MEDIA_ERRORS: Record<string, Advice> = {
  "3002": { retryable: true, action: "the service failed writing the stream: retry from the last continuation token" },
  "4000": { retryable: false, action: "the requested fragment is not in the stream (expired or never written): start from EARLIEST, NOW or a timestamp" },
  "4500": { retryable: false, action: "the stream's KMS key denies access: grant kms:Decrypt to these credentials" },
  "4501": { retryable: false, action: "the stream's KMS key is disabled: enable it" },
  "4502": { retryable: false, action: "KMS rejected the request for the stream's key: check the key and its policy" },
  "4503": { retryable: true, action: "KMS is unavailable: retry with backoff" },
  "4504": { retryable: false, action: "the stream's KMS key cannot be used this way: check its key usage" },
  "4505": { retryable: false, action: "the stream's KMS key is in an invalid state (pending deletion?): restore it" },
  "4506": { retryable: false, action: "the stream's KMS key was not found: check the stream's encryption settings" },
  "5000": { retryable: true, action: "the service had an internal error: retry with backoff" },
};

/** The error the service reported inside a GetMedia body (AWS_KINESISVIDEO_ERROR_CODE / _ERROR_ID tags). */
export function mediaError(operation: string, code: string | null, id: string | null): KvsServiceError {
  const advice = (id !== null ? MEDIA_ERRORS[id.trim()] : undefined) ?? { retryable: false, action: "the service reported an error inside the media" };
  return new KvsServiceError("MediaError", operation, `${code ?? "error"}${id !== null ? ` (AWS_KINESISVIDEO_ERROR_ID ${id})` : ""}`, {
    retryable: advice.retryable,
    action: advice.action,
    errorId: id,
  });
}
