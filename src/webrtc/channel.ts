import { DescribeSignalingChannelCommand, GetSignalingChannelEndpointCommand, type ChannelProtocol } from "@aws-sdk/client-kinesis-video";
import { GetIceServerConfigCommand, KinesisVideoSignalingClient } from "@aws-sdk/client-kinesis-video-signaling";
import { raceAbort } from "../aws/abort.js";
import type { KvsClients } from "../aws/clients.js";
import { KvsServiceError, toKvsServiceError } from "../aws/errors.js";

/** Which side of a signaling channel a client is. */
export type SignalingRole = "MASTER" | "VIEWER";

/** A signaling channel, by name or ARN ("arn:aws:kinesisvideo:…" strings are taken as ARNs). */
export type ChannelRef = string | { readonly channelName: string } | { readonly channelArn: string };

/** One ICE server, as `RTCPeerConnection` takes it; TURN entries carry their time to live. */
export interface IceServer {
  readonly urls: readonly string[];
  readonly username?: string;
  readonly credential?: string;
  /** Seconds the TURN credentials stay valid, from when they were fetched. */
  readonly ttlSeconds?: number;
}

/** What a client needs to join a channel in one role. */
export interface ChannelEndpoints {
  readonly channelArn: string;
  readonly role: SignalingRole;
  /** The WebSocket endpoint (wss://, or ws:// on the local endpoint). */
  readonly wss: string;
  /** The HTTPS endpoint (GetIceServerConfig). */
  readonly https: string;
  /** The WEBRTC endpoint (JoinStorageSession), when asked for. */
  readonly webrtc: string | null;
}

/** The channel's ARN: the given ARN, or DescribeSignalingChannel's answer for a name. */
export async function channelArnOf(clients: KvsClients, channel: ChannelRef, signal?: AbortSignal): Promise<string> {
  if (typeof channel === "string" && channel.startsWith("arn:")) return channel;
  if (typeof channel === "object" && "channelArn" in channel) return channel.channelArn;
  const name = typeof channel === "string" ? channel : channel.channelName;
  try {
    const out = await raceAbort(clients.control.send(new DescribeSignalingChannelCommand({ ChannelName: name }), { abortSignal: signal }), signal);
    const arn = out.ChannelInfo?.ChannelARN;
    if (!arn) throw new KvsServiceError("SERVICE_ERROR", "DescribeSignalingChannel", `no ChannelARN for ${name}`);
    return arn;
  } catch (e) {
    throw toKvsServiceError(e, "DescribeSignalingChannel");
  }
}

/** GetSignalingChannelEndpoint for one role: its WSS and HTTPS endpoints (and WEBRTC, with `webrtc`). */
export async function channelEndpoints(
  clients: KvsClients,
  channel: ChannelRef,
  role: SignalingRole,
  options: { readonly webrtc?: boolean; readonly signal?: AbortSignal } = {},
): Promise<ChannelEndpoints> {
  const channelArn = await channelArnOf(clients, channel, options.signal);
  const protocols: ChannelProtocol[] = options.webrtc ? ["WSS", "HTTPS", "WEBRTC"] : ["WSS", "HTTPS"];
  try {
    const out = await raceAbort(
      clients.control.send(
        new GetSignalingChannelEndpointCommand({ ChannelARN: channelArn, SingleMasterChannelEndpointConfiguration: { Protocols: protocols, Role: role } }),
        { abortSignal: options.signal },
      ),
      options.signal,
    );
    const of = (p: string) => out.ResourceEndpointList?.find((e) => e.Protocol === p)?.ResourceEndpoint ?? null;
    const wss = of("WSS");
    const https = of("HTTPS");
    if (wss === null || https === null) throw new KvsServiceError("SERVICE_ERROR", "GetSignalingChannelEndpoint", "the answer lacks the WSS or HTTPS endpoint");
    return { channelArn, role, wss, https, webrtc: of("WEBRTC") };
  } catch (e) {
    throw toKvsServiceError(e, "GetSignalingChannelEndpoint");
  }
}

/**
 * The ICE servers of a channel for one client: the region's STUN server, then the TURN servers that
 * GetIceServerConfig returns (with their TTL). `stun: false` leaves STUN out (the local endpoint has none).
 */
export async function iceServers(
  clients: KvsClients,
  endpoints: ChannelEndpoints,
  clientId: string,
  options: { readonly stun?: boolean; readonly signal?: AbortSignal } = {},
): Promise<IceServer[]> {
  const { region, credentials } = await clients.signing();
  const signaling = new KinesisVideoSignalingClient({ region, credentials, endpoint: endpoints.https, maxAttempts: 3 });
  try {
    const out = await raceAbort(
      signaling.send(new GetIceServerConfigCommand({ ChannelARN: endpoints.channelArn, ClientId: clientId, Service: "TURN" }), {
        abortSignal: options.signal,
      }),
      options.signal,
    );
    const turn: IceServer[] = (out.IceServerList ?? []).map((s) => ({
      urls: s.Uris ?? [],
      ...(s.Username !== undefined ? { username: s.Username } : {}),
      ...(s.Password !== undefined ? { credential: s.Password } : {}),
      ...(s.Ttl !== undefined ? { ttlSeconds: s.Ttl } : {}),
    }));
    const stun = options.stun === false ? [] : [{ urls: [`stun:stun.kinesisvideo.${region}.amazonaws.com:443`] }];
    return [...stun, ...turn];
  } catch (e) {
    throw toKvsServiceError(e, "GetIceServerConfig");
  } finally {
    signaling.destroy();
  }
}
