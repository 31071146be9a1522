import { GetDataEndpointCommand, KinesisVideoClient, type APIName, type KinesisVideoClientConfig } from "@aws-sdk/client-kinesis-video";
import { KinesisVideoArchivedMediaClient } from "@aws-sdk/client-kinesis-video-archived-media";
import { KinesisVideoMediaClient } from "@aws-sdk/client-kinesis-video-media";
import type { AwsCredentialIdentity } from "@smithy/types";
import { raceAbort } from "./abort.js";
import { KvsServiceError, toKvsServiceError } from "./errors.js";
import { CallPacer, type PacerOptions } from "./pacer.js";

/** A stream, by name or ARN ("arn:aws:kinesisvideo:…" strings are taken as ARNs). */
export type StreamRef = string | { readonly streamName: string } | { readonly streamArn: string };

/** SDK client settings kvs-parser passes on to every client it makes (all optional, as in the SDK). */
export type SdkClientConfig = Pick<
  KinesisVideoClientConfig,
  "region" | "credentials" | "logger" | "retryStrategy" | "requestHandler" | "customUserAgent" | "useFipsEndpoint" | "useDualstackEndpoint"
>;

/** How to reach KVS. */
export interface KvsConfig extends SdkClientConfig {
  /** Control-plane endpoint override (LocalStack, the local test endpoint). */
  readonly endpoint?: string;
  /** SDK retry attempts for non-streaming calls (default 3). */
  readonly maxAttempts?: number;
  /** Your own control-plane client (then the settings above apply only to the data-plane clients). */
  readonly control?: KinesisVideoClient;
  /** Makes the GetMedia client for a data endpoint (default: one per endpoint, sockets unlimited). */
  readonly mediaClient?: (endpoint: string) => KinesisVideoMediaClient;
  /** Makes the archived-media client for a data endpoint. */
  readonly archivedClient?: (endpoint: string) => KinesisVideoArchivedMediaClient;
  /** Pacing of GetMedia calls in this process (per-stream call rate, concurrent opens). */
  readonly pacing?: PacerOptions;
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

/** A readable name of a stream reference (its name, or its ARN). */
export function streamLabel(stream: StreamRef): string {
  const p = streamParams(stream);
  return p.StreamName ?? p.StreamARN ?? "";
}

/**
 * Sockets for long-lived GetMedia responses: each holds its socket for up to 45 minutes, so the SDK's
 * default pool of 50 would starve every stream past the 50th. No cap; keep-alive for the short calls.
 */
const UNCAPPED = { httpAgent: { keepAlive: true, maxSockets: Infinity }, httpsAgent: { keepAlive: true, maxSockets: Infinity }, connectionTimeout: 10_000 };

/**
 * The SDK clients for one account/region: the control-plane client, GetDataEndpoint answers cached per
 * stream and API (data-plane calls must go to that endpoint), one data-plane client per endpoint, and
 * the pacer all GetMedia calls of the process go through. Without a region, the SDK's default chain
 * (AWS_REGION, the profile) decides, as for any SDK client.
 */
export class KvsClients {
  /** The control-plane client (GetDataEndpoint, DescribeStream, ListStreams). */
  readonly control: KinesisVideoClient;
  /** Paces GetMedia calls: per stream (shared by all readers here) and process-wide. */
  readonly pacer: CallPacer;
  private readonly endpoints = new Map<string, Promise<string>>();
  private readonly media = new Map<string, KinesisVideoMediaClient>();
  private readonly archived = new Map<string, KinesisVideoArchivedMediaClient>();
  private readonly sdk: SdkClientConfig;
  private readonly ownControl: boolean;

  /** Creates the clients from a config (all fields optional). */
  constructor(readonly config: KvsConfig = {}) {
    const { endpoint: _e, maxAttempts: _m, control, mediaClient: _mc, archivedClient: _ac, pacing, ...sdk } = config;
    this.sdk = sdk;
    this.ownControl = control === undefined;
    this.control = control ?? new KinesisVideoClient({ ...sdk, endpoint: config.endpoint, maxAttempts: config.maxAttempts ?? 3 });
    this.pacer = new CallPacer(pacing);
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
          if (!r.DataEndpoint)
            throw new KvsServiceError("SERVICE_ERROR", "GetDataEndpoint", `the answer for ${streamKey(stream)} (${api}) has no DataEndpoint`);
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

  /**
   * The credentials and region the clients sign with (the SDK's resolved providers), for requests the SDK
   * has no command for (PutMedia, signaling URLs). A missing one is a CONFIGURATION_ERROR.
   */
  async signing(): Promise<{ credentials: AwsCredentialIdentity; region: string }> {
    const config = this.control.config as unknown as { credentials: () => Promise<AwsCredentialIdentity>; region: () => Promise<string> };
    try {
      return { credentials: await config.credentials(), region: await config.region() };
    } catch (e) {
      throw toKvsServiceError(e, "sign");
    }
  }

  /** Forgets a cached endpoint (after repeated failures or InvalidEndpoint). */
  invalidateEndpoint(stream: StreamRef, api: APIName): void {
    this.endpoints.delete(`${streamKey(stream)}|${api}`);
  }

  /** The GetMedia client for a data endpoint (SDK retries off: the readers resume where they know to). */
  mediaClient(endpoint: string): KinesisVideoMediaClient {
    let c = this.media.get(endpoint);
    if (!c) {
      c =
        this.config.mediaClient?.(endpoint) ??
        new KinesisVideoMediaClient({ ...this.sdk, requestHandler: this.sdk.requestHandler ?? UNCAPPED, endpoint, maxAttempts: 1 });
      this.media.set(endpoint, c);
    }
    return c;
  }

  /** The archived-media client for a data endpoint. */
  archivedClient(endpoint: string): KinesisVideoArchivedMediaClient {
    let c = this.archived.get(endpoint);
    if (!c) {
      c =
        this.config.archivedClient?.(endpoint) ??
        new KinesisVideoArchivedMediaClient({
          ...this.sdk,
          requestHandler: this.sdk.requestHandler ?? UNCAPPED,
          endpoint,
          maxAttempts: this.config.maxAttempts ?? 3,
        });
      this.archived.set(endpoint, c);
    }
    return c;
  }

  /** Destroys the clients this object made (not the ones given to it) and forgets cached endpoints. */
  destroy(): void {
    if (this.ownControl) this.control.destroy();
    if (!this.config.mediaClient) for (const c of this.media.values()) c.destroy();
    if (!this.config.archivedClient) for (const c of this.archived.values()) c.destroy();
    this.media.clear();
    this.archived.clear();
    this.endpoints.clear();
  }
}
