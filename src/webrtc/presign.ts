import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity } from "@smithy/types";
import { NodeSha256 } from "../aws/sha256.js";
import type { SignalingRole } from "./channel.js";

/** How long a presigned signaling URL is valid, in seconds (as AWS's own SDKs sign it). */
export const SIGNALING_URL_EXPIRES_S = 299;

/** What a signed ConnectAsMaster / ConnectAsViewer URL names. */
export interface SignalingUrlParams {
  /** The WSS endpoint from GetSignalingChannelEndpoint (wss://…, or ws://… locally). */
  readonly endpoint: string;
  readonly channelArn: string;
  readonly role: SignalingRole;
  /** The viewer's client id (a master has none). */
  readonly clientId?: string;
  readonly credentials: AwsCredentialIdentity;
  readonly region: string;
  /** When to sign (default now). */
  readonly date?: Date;
}

/**
 * The SigV4-presigned WebSocket URL of ConnectAsMaster / ConnectAsViewer: the query carries
 * X-Amz-ChannelARN (and X-Amz-ClientId for a viewer), signed with the SDK's signer for service
 * "kinesisvideo", valid for {@link SIGNALING_URL_EXPIRES_S} seconds.
 */
export async function presignSignalingUrl(p: SignalingUrlParams): Promise<string> {
  const url = new URL(p.endpoint);
  const query: Record<string, string> = { "X-Amz-ChannelARN": p.channelArn };
  if (p.role === "VIEWER") {
    if (!p.clientId) throw new TypeError("a viewer needs a clientId");
    query["X-Amz-ClientId"] = p.clientId;
  }
  const signer = new SignatureV4({ credentials: p.credentials, region: p.region, service: "kinesisvideo", sha256: NodeSha256, uriEscapePath: true });
  const signed = await signer.presign(
    {
      method: "GET",
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname || "/",
      query,
      headers: { host: url.host },
    },
    { expiresIn: SIGNALING_URL_EXPIRES_S, ...(p.date ? { signingDate: p.date } : {}) },
  );
  const search = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(String(v))}`)
    .join("&");
  return `${url.protocol}//${url.host}${url.pathname || "/"}?${search}`;
}

/** URI-encodes as SigV4 does (RFC 3986: also ! ' ( ) *). */
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
