import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { ServiceFailure } from "./service-failure.js";

/** A key pair the local endpoint accepts. */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** What the verifier needs of a request: its method, its target as sent (path and query), its headers. */
export interface SignedRequest {
  readonly method: string;
  /** The request target as on the wire, e.g. "/getMedia" or "/?X-Amz-Algorithm=…". */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** How far a request's time may be from the server's (the service allows 5 minutes). */
const MAX_SKEW_MS = 5 * 60_000;
const ALGORITHM = "AWS4-HMAC-SHA256";
/** SHA-256 of no bytes: the payload hash of a body that streams (PutMedia) or of none. */
export const EMPTY_PAYLOAD_HASH = createHash("sha256").update("").digest("hex");

const denied = (type: string, message: string) => new ServiceFailure(403, type, message);
const MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/**
 * Checks a request's AWS Signature Version 4 as the service does (sigv4-create-canonical-request,
 * sigv4-add-signature-to-request): signed in the Authorization header or presigned in the query, for
 * `service`, with one of `keys`, within 5 minutes of `nowMs` (a presigned URL: before its X-Amz-Expires).
 * `payloadHash` is the body's SHA-256 (hex) unless the request names one in x-amz-content-sha256.
 * Throws the service's 403 (MissingAuthenticationTokenException, UnrecognizedClientException,
 * InvalidSignatureException) when it does not hold.
 */
export function verifySigV4(req: SignedRequest, keys: readonly LocalCredentials[], payloadHash: string, nowMs: number, service = "kinesisvideo"): void {
  const q = req.url.indexOf("?");
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const query = parseQuery(q < 0 ? "" : req.url.slice(q + 1));
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(",") : v;
  };
  const auth = header("authorization");
  const presigned = query.some(([k]) => k === "X-Amz-Signature");
  let credential: string;
  let signedHeaders: string;
  let signature: string;
  let amzDate: string;
  let expiresSec: number | null = null;
  if (auth !== undefined && !presigned) {
    const m = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})\s*$/.exec(auth);
    if (!m) throw denied("IncompleteSignatureException", `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters: ${auth}`);
    [, credential, signedHeaders, signature] = m as unknown as [string, string, string, string];
    amzDate = header("x-amz-date") ?? "";
  } else if (presigned) {
    const get = (k: string) => {
      const raw = query.find(([name]) => name === k)?.[1];
      return raw === undefined ? undefined : safeDecode(raw);
    };
    if (get("X-Amz-Algorithm") !== ALGORITHM) throw denied("IncompleteSignatureException", `X-Amz-Algorithm must be ${ALGORITHM}`);
    credential = get("X-Amz-Credential") ?? "";
    signedHeaders = get("X-Amz-SignedHeaders") ?? "";
    signature = get("X-Amz-Signature") ?? "";
    amzDate = get("X-Amz-Date") ?? "";
    expiresSec = Number(get("X-Amz-Expires") ?? "NaN");
    if (!Number.isInteger(expiresSec) || expiresSec < 1 || expiresSec > 604_800)
      throw denied("IncompleteSignatureException", "X-Amz-Expires must be a whole number of seconds from 1 to 604800");
  } else throw denied("MissingAuthenticationTokenException", "Missing Authentication Token");

  const scope = credential.split("/");
  if (scope.length !== 5 || scope[4] !== "aws4_request") throw denied("IncompleteSignatureException", `Credential should be scoped correctly: ${credential}`);
  const [keyId, day, region, scopedService] = scope as [string, string, string, string];
  if (scopedService !== service) throw denied("InvalidSignatureException", `Credential should be scoped to correct service: '${service}'.`);
  const key = keys.find((k) => k.accessKeyId === keyId);
  if (!key) throw denied("UnrecognizedClientException", "The security token included in the request is invalid.");
  const at = parseAmzDate(amzDate);
  if (at === null) throw denied("IncompleteSignatureException", "X-Amz-Date is missing or not in the form YYYYMMDDTHHMMSSZ");
  if (!amzDate.startsWith(day))
    throw denied(
      "InvalidSignatureException",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${day}' != '${amzDate.slice(0, 8)}'`,
    );
  if (expiresSec !== null) {
    if (nowMs > at + expiresSec * 1000)
      throw denied("InvalidSignatureException", `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(nowMs - expiresSec * 1000)}`);
    if (at > nowMs + MAX_SKEW_MS)
      throw denied("InvalidSignatureException", `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(nowMs + MAX_SKEW_MS)}`);
  } else if (Math.abs(nowMs - at) > MAX_SKEW_MS) {
    throw denied(
      "InvalidSignatureException",
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(nowMs - MAX_SKEW_MS)} (${formatAmzDate(nowMs)} - 5 min.)`,
    );
  }

  const names = signedHeaders.split(";");
  if (!names.includes("host")) throw denied("InvalidSignatureException", "'Host' must be a signed header");
  const canonicalHeaders = names.map((n) => `${n}:${(header(n) ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const canonicalQuery = query
    .filter(([k]) => k !== "X-Amz-Signature")
    .map(([k, v]) => [escapeQueryPart(k), escapeQueryPart(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  // The path as sent, escaped once more (non-S3 services sign it double-encoded); the query decoded, then escaped once.
  const canonicalPath = rawPath.split("/").map(escapeValue).join("/") || "/";
  const hashes = presigned ? [header("x-amz-content-sha256") ?? EMPTY_PAYLOAD_HASH, "UNSIGNED-PAYLOAD"] : [header("x-amz-content-sha256") ?? payloadHash];
  const signingKey = [day, region, service, "aws4_request"].reduce<Buffer>((k, part) => hmac(k, part), Buffer.from(`AWS4${key.secretAccessKey}`));
  for (const hash of hashes) {
    const canonical = [req.method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, hash].join("\n");
    const toSign = [ALGORITHM, amzDate, `${day}/${region}/${service}/aws4_request`, createHash("sha256").update(canonical).digest("hex")].join("\n");
    const expected = hmac(signingKey, toSign);
    const given = Buffer.from(signature, "hex");
    if (given.length === expected.length && timingSafeEqual(given, expected)) return;
  }
  throw denied("InvalidSignatureException", MISMATCH);
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/** A query key or value as sent, decoded, then escaped as SigV4 wants it. */
function escapeQueryPart(raw: string): string {
  return escapeValue(safeDecode(raw));
}

function safeDecode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** RFC 3986 escaping as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~. */
function escapeValue(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The query's pairs, still escaped as sent. */
function parseQuery(q: string): [string, string][] {
  if (q === "") return [];
  return q.split("&").map((pair) => {
    const i = pair.indexOf("=");
    const [k, v] = i < 0 ? [pair, ""] : [pair.slice(0, i), pair.slice(i + 1)];
    return [k.replace(/\+/g, "%20"), v.replace(/\+/g, "%20")];
  });
}

function parseAmzDate(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : null;
}

function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}
