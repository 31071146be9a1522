import { MkvParseError } from "../ebml/errors.js";
import { KvsParserError } from "../ebml/kvs-parser-error.js";

/**
 * Why a KVS call failed, as far as a program needs to know (SCREAMING_SNAKE_CASE, as every kvs-parser
 * error code): one per exception of the service that calls for its own handling, plus this library's
 * own (NETWORK_ERROR, IDLE_TIMEOUT, MEDIA_ERROR, CORRUPT_MEDIA, CONFIGURATION_ERROR, SERVICE_ERROR, UNKNOWN).
 */
export type KvsServiceErrorCode =
  | "RESOURCE_NOT_FOUND"
  | "NOT_AUTHORIZED"
  | "ACCESS_DENIED"
  | "CONNECTION_LIMIT_EXCEEDED"
  | "CLIENT_LIMIT_EXCEEDED"
  | "INVALID_ENDPOINT"
  | "INVALID_ARGUMENT"
  | "THROTTLING"
  | "SERVICE_ERROR"
  | "NETWORK_ERROR"
  | "IDLE_TIMEOUT"
  | "MEDIA_ERROR"
  | "CORRUPT_MEDIA"
  | "CONFIGURATION_ERROR"
  | "UNKNOWN";

interface Advice {
  retryable: boolean;
  action: string;
}

/** Each code's advice, and its earlier spelling (for the deprecated `legacyCode`). */
const ADVICE: Record<KvsServiceErrorCode, Advice & { legacy: string }> = {
  RESOURCE_NOT_FOUND: { legacy: "ResourceNotFoundException", retryable: false, action: "check the stream name or ARN, the region and the account" },
  NOT_AUTHORIZED: {
    legacy: "NotAuthorizedException",
    retryable: false,
    action: "grant kinesisvideo:GetMedia / ListFragments / GetMediaForFragmentList / GetDataEndpoint to these credentials",
  },
  ACCESS_DENIED: { legacy: "AccessDeniedException", retryable: false, action: "grant the kinesisvideo permissions this call needs to these credentials" },
  CONNECTION_LIMIT_EXCEEDED: {
    legacy: "ConnectionLimitExceededException",
    retryable: true,
    action: "at most 3 GetMedia connections per stream: back off, or share one connection between apps (fan-out)",
  },
  CLIENT_LIMIT_EXCEEDED: {
    legacy: "ClientLimitExceededException",
    retryable: true,
    action: "at most 5 GetMedia calls per second per stream: back off with jitter",
  },
  INVALID_ENDPOINT: { legacy: "InvalidEndpointException", retryable: true, action: "call GetDataEndpoint again and use the endpoint it returns" },
  INVALID_ARGUMENT: { legacy: "InvalidArgumentException", retryable: false, action: "fix the request (selector, fragment numbers, time range)" },
  THROTTLING: { legacy: "ThrottlingException", retryable: true, action: "back off with jitter" },
  SERVICE_ERROR: { legacy: "ServiceError", retryable: true, action: "the service failed (5xx): retry with backoff" },
  NETWORK_ERROR: { legacy: "NetworkError", retryable: true, action: "the connection failed or was reset: reconnect from the last continuation token" },
  IDLE_TIMEOUT: { legacy: "IdleTimeout", retryable: true, action: "no bytes arrived for too long: reconnect from the last continuation token" },
  MEDIA_ERROR: {
    legacy: "MediaError",
    retryable: false,
    action: "the service reported an error inside the media (AWS_KINESISVIDEO_ERROR_ID): see errorId",
  },
  CORRUPT_MEDIA: { legacy: "CorruptMedia", retryable: true, action: "the bytes received do not parse: reconnect from the last continuation token" },
  CONFIGURATION_ERROR: {
    legacy: "ConfigurationError",
    retryable: false,
    action: "the SDK has no region or no credentials: see the message for what to set",
  },
  UNKNOWN: { legacy: "Unknown", retryable: false, action: "see the cause" },
};

/** The code of each exception the service sends by name (the AWS exception name, as on the wire). */
const SERVICE_EXCEPTIONS = new Map<string, KvsServiceErrorCode>([
  ["ResourceNotFoundException", "RESOURCE_NOT_FOUND"],
  ["NotAuthorizedException", "NOT_AUTHORIZED"],
  ["AccessDeniedException", "ACCESS_DENIED"],
  ["ConnectionLimitExceededException", "CONNECTION_LIMIT_EXCEEDED"],
  ["ClientLimitExceededException", "CLIENT_LIMIT_EXCEEDED"],
  ["InvalidEndpointException", "INVALID_ENDPOINT"],
  ["InvalidArgumentException", "INVALID_ARGUMENT"],
  ["ThrottlingException", "THROTTLING"],
  ["ThrottledException", "THROTTLING"],
  ["TooManyRequestsException", "THROTTLING"],
]);

/** A failed Kinesis Video Streams call, with whether retrying can help and what to do. */
export class KvsServiceError extends KvsParserError {
  override readonly name = "KvsServiceError";
  /** The error type, for programs (SCREAMING_SNAKE_CASE, e.g. RESOURCE_NOT_FOUND, NETWORK_ERROR). */
  declare readonly code: KvsServiceErrorCode;
  /**
   * The exception name exactly as the service sent it (e.g. "ResourceNotFoundException",
   * "InternalFailure"); undefined when the code is this library's own finding (NETWORK_ERROR,
   * IDLE_TIMEOUT, CORRUPT_MEDIA, …) or the answer named no exception.
   */
  readonly serviceCode: string | undefined;
  /** What the caller should do about it. */
  declare readonly action: string;
  /** HTTP status, when the service answered. */
  readonly statusCode: number | undefined;
  /** The KVS operation that failed. */
  readonly operation: string;

  /** For MEDIA_ERROR: the AWS_KINESISVIDEO_ERROR_ID the service sent (e.g. "4000"). */
  readonly errorId: string | null;

  /** The fragment the failure is about, when known (CORRUPT_MEDIA: the fragment that would not parse). */
  readonly fragmentNumber: string | null;

  /** A failed `operation` of type `code`; `options` overrides the advice that goes with the code. */
  constructor(
    code: KvsServiceErrorCode,
    operation: string,
    message: string,
    options: {
      cause?: unknown;
      statusCode?: number;
      retryable?: boolean;
      action?: string;
      errorId?: string | null;
      fragmentNumber?: string | null;
      serviceCode?: string;
    } = {},
  ) {
    const advice = ADVICE[code];
    const action = options.action ?? advice.action;
    const type = options.serviceCode === undefined ? code : `${code} (${options.serviceCode})`;
    super(code, `${operation}: ${type}: ${message} (${action})`, { cause: options.cause, retryable: options.retryable ?? advice.retryable, action });
    this.serviceCode = options.serviceCode;
    this.statusCode = options.statusCode;
    this.operation = operation;
    this.errorId = options.errorId ?? null;
    this.fragmentNumber = options.fragmentNumber ?? null;
  }

  /**
   * The code as kvs-parser spelled it before this release: the service's exception name for the service's codes
   * ("ResourceNotFoundException", "ThrottlingException", …), PascalCase for the library's own
   * ("NetworkError", "IdleTimeout", "MediaError", "CorruptMedia", "ServiceError", "Unknown", …).
   * @deprecated Compare `code` (SCREAMING_SNAKE_CASE) instead, or read `serviceCode` for the name the
   * service sent. `legacyCode` will be removed in the next release.
   */
  get legacyCode(): string {
    return ADVICE[this.code].legacy;
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

/**
 * Maps anything an AWS SDK call or its body stream threw (or the parser, on bad bytes) to a
 * {@link KvsServiceError}; an exception the service named keeps its name in `serviceCode`.
 */
export function toKvsServiceError(err: unknown, operation: string): KvsServiceError {
  if (err instanceof KvsServiceError) return err;
  if (err instanceof MkvParseError) return new KvsServiceError("CORRUPT_MEDIA", operation, err.message, { cause: err });
  const e = (err ?? {}) as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number }; $fault?: string };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? "";
  const message = e.message ?? String(err);
  if (/region is missing/i.test(message))
    return new KvsServiceError("CONFIGURATION_ERROR", operation, "no AWS region", {
      cause: err,
      action: "set AWS_REGION (or the region option, --region on the command line)",
    });
  if (name === "CredentialsProviderError")
    return new KvsServiceError("CONFIGURATION_ERROR", operation, `no AWS credentials: ${message}`, {
      cause: err,
      action: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or pass credentials to KvsClients",
    });
  const known = SERVICE_EXCEPTIONS.get(name);
  if (known) return new KvsServiceError(known, operation, message, { cause: err, statusCode: status, serviceCode: name });
  // The service named the exception when it answered (an HTTP status) or the SDK says whose fault it is.
  const serviceCode = name !== "" && (status !== undefined || e.$fault !== undefined) ? name : undefined;
  if (status === 429) return new KvsServiceError("THROTTLING", operation, message, { cause: err, statusCode: status, serviceCode });
  if ((e.code && NETWORK_CODES.has(e.code)) || /socket hang up|ECONNRESET|premature close|aborted/i.test(message) || name === "TimeoutError") {
    return new KvsServiceError("NETWORK_ERROR", operation, message, { cause: err, statusCode: status });
  }
  if ((status !== undefined && status >= 500) || e.$fault === "server" || name === "InternalFailure" || name === "ServiceUnavailable") {
    return new KvsServiceError("SERVICE_ERROR", operation, message, { cause: err, statusCode: status, serviceCode });
  }
  if (serviceCode !== undefined) return new KvsServiceError("UNKNOWN", operation, message, { cause: err, statusCode: status, serviceCode });
  return new KvsServiceError("UNKNOWN", operation, `${name ? `${name}: ` : ""}${message}`, { cause: err, statusCode: status });
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
  return new KvsServiceError("MEDIA_ERROR", operation, `${code ?? "error"}${id !== null ? ` (AWS_KINESISVIDEO_ERROR_ID ${id})` : ""}`, {
    retryable: advice.retryable,
    action: advice.action,
    errorId: id,
  });
}
