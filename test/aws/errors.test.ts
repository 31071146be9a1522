import { describe, expect, it } from "vitest";
import { KvsServiceError, mediaError, toKvsServiceError } from "../../src/aws/errors.js";
import { MkvParseError } from "../../src/ebml/errors.js";

/** An exception as the AWS SDK throws it for a service's answer. */
const answer = (name: string, status: number) =>
  Object.assign(new Error(`${name} from the service`), { name, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status } });

/** What was thrown → code, the service's name for it, and the earlier spelling. */
const CASES: [string, () => KvsServiceError, string, string | undefined, string][] = [
  [
    "404 ResourceNotFoundException",
    () => toKvsServiceError(answer("ResourceNotFoundException", 404), "GetDataEndpoint"),
    "RESOURCE_NOT_FOUND",
    "ResourceNotFoundException",
    "ResourceNotFoundException",
  ],
  [
    "401 NotAuthorizedException",
    () => toKvsServiceError(answer("NotAuthorizedException", 401), "GetMedia"),
    "NOT_AUTHORIZED",
    "NotAuthorizedException",
    "NotAuthorizedException",
  ],
  [
    "403 AccessDeniedException",
    () => toKvsServiceError(answer("AccessDeniedException", 403), "ListFragments"),
    "ACCESS_DENIED",
    "AccessDeniedException",
    "AccessDeniedException",
  ],
  [
    "400 ConnectionLimitExceededException",
    () => toKvsServiceError(answer("ConnectionLimitExceededException", 400), "GetMedia"),
    "CONNECTION_LIMIT_EXCEEDED",
    "ConnectionLimitExceededException",
    "ConnectionLimitExceededException",
  ],
  [
    "400 ClientLimitExceededException",
    () => toKvsServiceError(answer("ClientLimitExceededException", 400), "GetMedia"),
    "CLIENT_LIMIT_EXCEEDED",
    "ClientLimitExceededException",
    "ClientLimitExceededException",
  ],
  [
    "400 InvalidEndpointException",
    () => toKvsServiceError(answer("InvalidEndpointException", 400), "GetMedia"),
    "INVALID_ENDPOINT",
    "InvalidEndpointException",
    "InvalidEndpointException",
  ],
  [
    "400 InvalidArgumentException",
    () => toKvsServiceError(answer("InvalidArgumentException", 400), "GetClip"),
    "INVALID_ARGUMENT",
    "InvalidArgumentException",
    "InvalidArgumentException",
  ],
  [
    "400 ThrottlingException",
    () => toKvsServiceError(answer("ThrottlingException", 400), "DescribeStream"),
    "THROTTLING",
    "ThrottlingException",
    "ThrottlingException",
  ],
  [
    "429 TooManyRequestsException",
    () => toKvsServiceError(answer("TooManyRequestsException", 429), "GetImages"),
    "THROTTLING",
    "TooManyRequestsException",
    "ThrottlingException",
  ],
  ["500 InternalFailure", () => toKvsServiceError(answer("InternalFailure", 500), "GetMedia"), "SERVICE_ERROR", "InternalFailure", "ServiceError"],
  [
    "a reset socket",
    () => toKvsServiceError(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), "GetMedia"),
    "NETWORK_ERROR",
    undefined,
    "NetworkError",
  ],
  ["no bytes for too long", () => new KvsServiceError("IDLE_TIMEOUT", "GetMedia", "no data for 5000 ms"), "IDLE_TIMEOUT", undefined, "IdleTimeout"],
  ["an error inside the media", () => mediaError("GetMedia", "KMS key disabled", "4501"), "MEDIA_ERROR", undefined, "MediaError"],
  ["bytes that do not parse", () => toKvsServiceError(new MkvParseError("TRUNCATED", "cut", 12), "GetMedia"), "CORRUPT_MEDIA", undefined, "CorruptMedia"],
  ["no region", () => toKvsServiceError(new Error("Region is missing"), "GetDataEndpoint"), "CONFIGURATION_ERROR", undefined, "ConfigurationError"],
  [
    "an exception the library does not know",
    () => toKvsServiceError(answer("KMSInvalidStateException", 400), "GetMedia"),
    "UNKNOWN",
    "KMSInvalidStateException",
    "Unknown",
  ],
  ["a bug, not an answer", () => toKvsServiceError(new TypeError("x is not a function"), "GetMedia"), "UNKNOWN", undefined, "Unknown"],
];

describe("KvsServiceError codes", () => {
  for (const [what, make, code, serviceCode, legacyCode] of CASES) {
    it(`${what} → ${code}, serviceCode ${serviceCode ?? "undefined"}, legacyCode ${legacyCode}`, () => {
      const e = make();
      expect(e).toBeInstanceOf(KvsServiceError);
      expect(e.code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect([e.code, e.serviceCode, e.legacyCode]).toEqual([code, serviceCode, legacyCode]);
    });
  }

  it("the message names the operation, the code and the service's name for it, then what to do", () => {
    expect(toKvsServiceError(answer("ResourceNotFoundException", 404), "DescribeStream").message).toBe(
      "DescribeStream: RESOURCE_NOT_FOUND (ResourceNotFoundException): ResourceNotFoundException from the service (check the stream name or ARN, the region and the account)",
    );
    expect(toKvsServiceError(new TypeError("x is not a function"), "GetMedia").message).toBe(
      "GetMedia: UNKNOWN: TypeError: x is not a function (see the cause)",
    );
  });

  it("keeps the advice of its code: a limit is retryable, a missing stream is not", () => {
    expect(toKvsServiceError(answer("ClientLimitExceededException", 400), "GetMedia").retryable).toBe(true);
    expect(toKvsServiceError(answer("ResourceNotFoundException", 404), "GetMedia").retryable).toBe(false);
  });
});
