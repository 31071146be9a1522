import { KinesisVideoClient, GetDataEndpointCommand, type APIName, type KinesisVideoClientConfig } from "@aws-sdk/client-kinesis-video";
import { KinesisVideoArchivedMediaClient } from "@aws-sdk/client-kinesis-video-archived-media";
import { KinesisVideoMediaClient } from "@aws-sdk/client-kinesis-video-media";
import { raceAbort } from "./abort.js";
import { toKvsServiceError } from "./errors.js";

/** A stream, by name or ARN ("arn:aws:kinesisvideo:…" strings are taken as ARNs). */
export type StreamRef = string | { readonly streamName: string } | { readonly streamArn: string };

/** How to reach KVS. */
export interface KvsConfig {
  readonly region: string;
  /** Static credentials or a provider, as the AWS SDK takes them (default: the SDK's provider chain). */
  readonly credentials?: KinesisVideoClientConfig["credentials"];
  /** Control-plane endpoint override (LocalStack, the local test endpoint). */
  readonly endpoint?: string;
  /** SDK retry attempts for non-streaming calls (default 3). */
  readonly maxAttempts?: number;
}

/** The request fields that name a stream. */
export function streamParams(stream: StreamRef): { StreamName?: string; StreamARN?: string } {
  if (typeof stream === "string") return stream.startsWith("arn:") ? { StreamARN: stream } : { StreamName: stream };
  return "streamArn" in stream ? { StreamARN: stream.streamArn } : { StreamName: stream.streamName };
}

/** A stable key for a stream reference. */
export function streamKey(stream: StreamRef): string {
  const p = streamParams(stream);
  return p.StreamARN ?? `name:${p.StreamName}`;
}

/**
 * The SDK clients for one account/region, with GetDataEndpoint answers cached per stream and API
 * (data-plane calls must go to that endpoint) and one data-plane client per endpoint.
 */
export class KvsClients {
  /** The control-plane client (GetDataEndpoint, DescribeStream). */
  readonly control: KinesisVideoClient;
  private readonly endpoints = new Map<string, Promise<string>>();
  private readonly media = new Map<string, KinesisVideoMediaClient>();
  private readonly archived = new Map<string, KinesisVideoArchivedMediaClient>();

  /** Creates the clients from a config. */
  constructor(readonly config: KvsConfig) {
    this.control = new KinesisVideoClient({ region: config.region, credentials: config.credentials, endpoint: config.endpoint, maxAttempts: config.maxAttempts ?? 3 });
  }

  /**
   * The data endpoint for a stream and API, from the cache or GetDataEndpoint. Callers share one request;
   * `signal` stops only this caller's wait, never the shared request others wait on.
   */
  dataEndpoint(stream: StreamRef, api: APIName, signal?: AbortSignal): Promise<string> {
    const key = `${streamKey(stream)}|${api}`;
    let p = this.endpoints.get(key);
    if (!p) {
      p = this.control
        .send(new GetDataEndpointCommand({ ...streamParams(stream), APIName: api }))
        .then((r) => {
          if (!r.DataEndpoint) throw new Error("GetDataEndpoint returned no DataEndpoint");
          return r.DataEndpoint;
        })
        .catch((e: unknown) => {
          this.endpoints.delete(key);
          throw toKvsServiceError(e, "GetDataEndpoint");
        });
      this.endpoints.set(key, p);
    }
    return raceAbort(p, signal);
  }

  /** Forgets a cached endpoint (after repeated failures or InvalidEndpoint). */
  invalidateEndpoint(stream: StreamRef, api: APIName): void {
    this.endpoints.delete(`${streamKey(stream)}|${api}`);
  }

  /** The GetMedia client for a data endpoint. */
  mediaClient(endpoint: string): KinesisVideoMediaClient {
    let c = this.media.get(endpoint);
    if (!c) {
      // GetMedia is retried by the reader itself, which knows where to resume.
      c = new KinesisVideoMediaClient({ region: this.config.region, credentials: this.config.credentials, endpoint, maxAttempts: 1 });
      this.media.set(endpoint, c);
    }
    return c;
  }

  /** The archived-media client for a data endpoint. */
  archivedClient(endpoint: string): KinesisVideoArchivedMediaClient {
    let c = this.archived.get(endpoint);
    if (!c) {
      c = new KinesisVideoArchivedMediaClient({ region: this.config.region, credentials: this.config.credentials, endpoint, maxAttempts: this.config.maxAttempts ?? 3 });
      this.archived.set(endpoint, c);
    }
    return c;
  }

  /** Closes every client and its sockets. */
  destroy(): void {
    this.control.destroy();
    for (const c of this.media.values()) c.destroy();
    for (const c of this.archived.values()) c.destroy();
    this.media.clear();
    this.archived.clear();
    this.endpoints.clear();
  }
}
