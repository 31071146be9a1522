import { GetDASHStreamingSessionURLCommand, GetHLSStreamingSessionURLCommand } from "@aws-sdk/client-kinesis-video-archived-media";
import type { TimeRange } from "./archive.js";
import { streamParams, type KvsClients, type StreamRef } from "./clients.js";
import { KvsServiceError, toKvsServiceError } from "./errors.js";

/** Options of {@link hlsStreamingSessionUrl} and {@link dashStreamingSessionUrl}. */
export interface StreamingSessionOptions {
  /** LIVE (default): the newest fragments; LIVE_REPLAY: from `range.start` on, growing; ON_DEMAND: `range`, fixed. */
  readonly playbackMode?: "LIVE" | "LIVE_REPLAY" | "ON_DEMAND";
  /** Needed for ON_DEMAND and LIVE_REPLAY. */
  readonly range?: TimeRange;
  /** Seconds the URL works (300 to 43200; the service's default 300). */
  readonly expiresSeconds?: number;
  /** Fragments in a playlist / manifest (the service's default: 5 live, 1000 on demand). */
  readonly maxFragments?: number;
  /** Show each fragment's time (HLS PROGRAM-DATE-TIME, DASH kvs:ts). */
  readonly displayFragmentTimestamp?: boolean;
  readonly signal?: AbortSignal;
}

const selectorOf = (o: StreamingSessionOptions) =>
  o.range
    ? { FragmentSelectorType: o.range.timestampType ?? "SERVER_TIMESTAMP", TimestampRange: { StartTimestamp: o.range.start, EndTimestamp: o.range.end } }
    : undefined;

/** A GetHLSStreamingSessionURL URL (fMP4 segments): what a browser's hls.js, Safari or ffmpeg plays. */
export async function hlsStreamingSessionUrl(clients: KvsClients, stream: StreamRef, options: StreamingSessionOptions = {}): Promise<string> {
  const client = clients.archivedClient(await clients.dataEndpoint(stream, "GET_HLS_STREAMING_SESSION_URL", options.signal));
  try {
    const out = await client.send(
      new GetHLSStreamingSessionURLCommand({
        ...streamParams(stream),
        PlaybackMode: options.playbackMode ?? "LIVE",
        HLSFragmentSelector: selectorOf(options),
        ContainerFormat: "FRAGMENTED_MP4",
        DisplayFragmentTimestamp: options.displayFragmentTimestamp ? "ALWAYS" : "NEVER",
        Expires: options.expiresSeconds,
        MaxMediaPlaylistFragmentResults: options.maxFragments,
      }),
      { abortSignal: options.signal },
    );
    if (!out.HLSStreamingSessionURL) throw new KvsServiceError("SERVICE_ERROR", "GetHLSStreamingSessionURL", "no URL in the answer");
    return out.HLSStreamingSessionURL;
  } catch (e) {
    throw toKvsServiceError(e, "GetHLSStreamingSessionURL");
  }
}

/** A GetDASHStreamingSessionURL URL (an MPEG-DASH manifest of fMP4 segments). */
export async function dashStreamingSessionUrl(clients: KvsClients, stream: StreamRef, options: StreamingSessionOptions = {}): Promise<string> {
  const client = clients.archivedClient(await clients.dataEndpoint(stream, "GET_DASH_STREAMING_SESSION_URL", options.signal));
  try {
    const out = await client.send(
      new GetDASHStreamingSessionURLCommand({
        ...streamParams(stream),
        PlaybackMode: options.playbackMode ?? "LIVE",
        DASHFragmentSelector: selectorOf(options),
        DisplayFragmentTimestamp: options.displayFragmentTimestamp ? "ALWAYS" : "NEVER",
        Expires: options.expiresSeconds,
        MaxManifestFragmentResults: options.maxFragments,
      }),
      { abortSignal: options.signal },
    );
    if (!out.DASHStreamingSessionURL) throw new KvsServiceError("SERVICE_ERROR", "GetDASHStreamingSessionURL", "no URL in the answer");
    return out.DASHStreamingSessionURL;
  } catch (e) {
    throw toKvsServiceError(e, "GetDASHStreamingSessionURL");
  }
}
