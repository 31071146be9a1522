import { createHash, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { concatBytes } from "../ebml/writer.js";
import { LocalArchive, mediaOf, type LocalArchiveLimits } from "./local-archive.js";
import { ingestPutMedia, type PutFault } from "./put-media-ingest.js";
import { DataDir, type StoredStream } from "./data-dir.js";
import { FragmentNumbers } from "./fragment-numbers.js";
import { ServiceFailure } from "./service-failure.js";
import { type LocalIceServer, LocalSignaling, type LocalSignalingLimits } from "./local-signaling.js";
import { EMPTY_PAYLOAD_HASH, type LocalCredentials, verifySigV4 } from "./sigv4-verify.js";
import { compareFragmentNumbers } from "../kvs/fragment-number.js";
import type { StoredFragment } from "./stored-fragment.js";
import {
  splitClusters,
  writeFragmentException,
  writeKvsClosingTags,
  writeKvsFragment,
  writeStreamError,
  type ProducerCluster,
} from "../kvs/fragment-writer.js";

export type { StoredFragment };

/** A fault the endpoint injects into a GetMedia / GetMediaForFragmentList response. */
export type Fault =
  /** Destroy the socket after `afterBytes` of body (the client sees ECONNRESET). */
  | { readonly kind: "reset"; readonly afterBytes?: number }
  /** Stop writing after `afterBytes` and keep the socket open (a stalled body). */
  | { readonly kind: "stall"; readonly afterBytes?: number }
  /** Answer with HTTP 500 InternalFailure (or 503 with status: 503). */
  | { readonly kind: "http5xx"; readonly status?: 500 | 503 }
  /** Answer with 400 ClientLimitExceededException. */
  | { readonly kind: "throttle" }
  /** Send the body in `pieceBytes` pieces, `delayMs` apart. */
  | { readonly kind: "slowDrip"; readonly pieceBytes?: number; readonly delayMs?: number }
  /** Send half of the next fragment, then end the response normally. */
  | { readonly kind: "truncate" }
  /**
   * Write `length` garbage bytes into the body after `afterBytes` (default: inside the next fragment's
   * Cluster), then go on; with `between`, after a whole fragment (its closing tags included), before the
   * next one's EBML header (then the bytes are any value, not only 0x20–0xDF). `afterFragments`
   * fragments are sent clean first; `seed` picks the bytes.
   */
  | {
      readonly kind: "corrupt";
      readonly afterBytes?: number;
      readonly length?: number;
      readonly between?: boolean;
      readonly afterFragments?: number;
      readonly seed?: number;
    }
  /** Cut the next fragment in the middle of a block and go on with the fragment after it (a cut block on the wire). */
  | { readonly kind: "cutBlock" }
  /** Write the next fragment with a FRAGMENT_NUMBER tag that is not a number. */
  | { readonly kind: "badFragmentNumber"; readonly value?: string }
  /** Report an error inside the HTTP 200 body, as GetMedia does (AWS_KINESISVIDEO_ERROR_CODE / _ERROR_ID tags), then end. */
  | { readonly kind: "streamError"; readonly id: number; readonly code?: string };

/** A stream the endpoint serves. */
export interface LocalStreamOptions {
  /** Producer MKV bytes the stream starts with (one fragment per Cluster), received over the media's span ending at start. */
  readonly mkv?: Uint8Array;
  /** Tags of the stream (ListTagsForStream). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Hours the stream keeps fragments (default 24; 0 keeps none past ingest, as the service). */
  readonly dataRetentionInHours?: number;
  /** The stream's MediaType as CreateStream gives it (default: from the tracks of its fragments). */
  readonly mediaType?: string;
}

/** Options of {@link startLocalKvs}. */
export interface LocalKvsOptions extends LocalArchiveLimits {
  /** Streams to create, by name. */
  readonly streams?: Readonly<Record<string, LocalStreamOptions>>;
  /** Faults for the next responses of each stream, applied in order. */
  readonly faults?: Readonly<Record<string, readonly Fault[]>>;
  /** Concurrent GetMedia connections per stream (default 3, as KVS). */
  readonly maxConnections?: number;
  /** GetMedia calls per second per stream (default 5, as KVS). */
  readonly maxCallsPerSecond?: number;
  /** End a GetMedia response after this long with nothing new to send (default 3000 ms, as KVS). */
  readonly idleEndMs?: number;
  /** End a GetMedia response after this long in any case (default 45 min, as KVS). */
  readonly maxResponseMs?: number;
  /** Write clusters with unknown size, as KVS does near the live edge (default false). */
  readonly unknownSizeClusters?: boolean;
  /** Server clock in ms (default Date.now). */
  readonly now?: () => number;
  /** Seed of the order ListFragments returns fragments in (default 1). */
  readonly seed?: number;
  /**
   * How GetMedia reads StartSelector FRAGMENT_NUMBER: "after" the fragment, as the API reference says
   * (default), or "at" it, as the field's own doc and Amazon Connect's use have it.
   */
  readonly fragmentNumberStart?: "at" | "after";
  /** Fragments per second GetMedia sends while behind the newest fragment (default 5, as KVS when catching up). */
  readonly catchUpFragmentsPerSecond?: number;
  /**
   * The key pairs whose SigV4 signatures the endpoint accepts, checked as the service checks them
   * (header or presigned query, 5 minutes of clock skew; 403 InvalidSignatureException,
   * UnrecognizedClientException, MissingAuthenticationTokenException otherwise); "any" (the default)
   * accepts every request unchecked, for quick local use.
   */
  readonly credentials?: readonly LocalCredentials[] | "any";
  /**
   * Keep streams and fragments in this directory (created if missing): a restart finds them again, a
   * fragment is on disk before its PERSISTED acknowledgement, and a server killed at any moment leaves
   * no partial fragment. Without it everything is in memory.
   */
  readonly dataDir?: string;
  /** Limits of the signaling channels' WebSockets (default: the service's quotas). */
  readonly signaling?: LocalSignalingLimits;
  /** What GetIceServerConfig answers (default none: no TURN relay runs here, peers on loopback need none). */
  readonly iceServers?: readonly LocalIceServer[];
}

interface StreamState {
  readonly name: string;
  readonly arn: string;
  readonly created: Date;
  tags: Record<string, string>;
  /** Changes with every update of the stream's settings (DescribeStream Version). */
  version: string;
  retentionHours: number;
  mediaType: string | null;
  deviceName: string | null;
  kmsKeyId: string;
  readonly fragments: StoredFragment[];
  readonly faults: Fault[];
  readonly calls: number[];
  open: number;
  readonly wakers: Set<() => void>;
  /** Fragments dropped from the front so far (retention, expire): absolute index = dropped + index in `fragments`. */
  dropped: number;
  /** A PutMedia upload is open (the service allows one per stream). */
  putOpen: boolean;
  readonly putFaults: PutFault[];
}

/** Counters for tests and benchmarks. */
export interface LocalKvsStats {
  readonly requests: Record<string, number>;
  bytesSent: number;
  fragmentsSent: number;
}

/** Event payload of `fragmentWritten`: a fragment's last byte was handed to a GetMedia socket. */
export interface FragmentWritten {
  readonly stream: string;
  readonly fragmentNumber: string;
  readonly at: number;
}

/** startIndex: the fragment asked for is not (or no longer) in the stream. */
const NOT_FOUND = -1;
/** Cluster times before this (2001-09-09) are relative to the producer's start, not epoch times. */
const RELATIVE_BEFORE_MS = 1e12;
/** GetDataEndpoint's APIName values (model: APIName). */
const API_NAMES = new Set([
  "PUT_MEDIA",
  "GET_MEDIA",
  "LIST_FRAGMENTS",
  "GET_MEDIA_FOR_FRAGMENT_LIST",
  "GET_HLS_STREAMING_SESSION_URL",
  "GET_DASH_STREAMING_SESSION_URL",
  "GET_CLIP",
  "GET_IMAGES",
]);
/** MediaType of each Matroska codec (DescribeStream, when CreateStream gave none). */
const MEDIA_TYPES: Readonly<Record<string, string>> = {
  "V_MPEG4/ISO/AVC": "video/h264",
  "V_MPEGH/ISO/HEVC": "video/h265",
  V_VP8: "video/vp8",
  V_VP9: "video/vp9",
  V_AV1: "video/av1",
  V_MJPEG: "video/mjpeg",
  A_AAC: "audio/aac",
  A_OPUS: "audio/opus",
  "A_PCM/INT/LIT": "audio/L16",
  "A_MS/ACM": "audio/x-ms-acm",
};
/** The service's validation failure: 400 InvalidArgumentException with its "1 validation error detected" text. */
const invalid = (value: unknown, member: string, constraint: string) =>
  new ServiceFailure(
    400,
    "InvalidArgumentException",
    `1 validation error detected: Value ${value === undefined || value === null ? "null" : `'${String(value)}'`} at '${member}' failed to satisfy constraint: ${constraint}`,
  );

/** Options of {@link LocalKvs.putMedia} and {@link LocalKvs.appendClusters}. */
export interface AppendOptions {
  /** Server timestamp of the first fragment, later ones following the media's own times (default: received now, a millisecond apart). */
  readonly serverStartMs?: number;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A KVS-compatible HTTP endpoint on 127.0.0.1 for tests and demos: the unmodified AWS SDK clients talk
 * to it over sockets. Serves GetDataEndpoint, DescribeStream, GetMedia (live, with KVS's connection and
 * call limits and idle end), ListFragments (unordered pages), GetMediaForFragmentList (missing fragments
 * as EXCEPTION tags), the archived-media APIs (GetClip, GetImages, HLS and DASH sessions: see
 * LocalArchive) and a PutMedia-style ingest, and injects faults on demand.
 */
export class LocalKvs extends EventEmitter {
  /** Base URL, e.g. http://127.0.0.1:41234. */
  endpoint = "";
  /** Request and byte counters. */
  readonly stats: LocalKvsStats = { requests: {}, bytesSent: 0, fragmentsSent: 0 };
  private readonly server: Server;
  private readonly streams = new Map<string, StreamState>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly responses = new Set<ServerResponse>();
  private readonly now: () => number;
  private closed = false;
  private readonly archive: LocalArchive;
  private randomTimer: ReturnType<typeof setInterval> | null = null;
  private readonly numbers: FragmentNumbers;
  private readonly disk: DataDir | null;
  /** The signaling channels and their WebSockets (KVS with WebRTC). */
  readonly signaling: LocalSignaling;

  /** Use {@link startLocalKvs}. */
  constructor(private readonly options: LocalKvsOptions = {}) {
    super();
    this.now = options.now ?? Date.now;
    this.archive = new LocalArchive(() => this.endpoint, this.now, options);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.signaling = new LocalSignaling(() => this.endpoint, this.now, options.credentials ?? "any", options.signaling, options.iceServers);
    this.server.on("upgrade", (req, socket, head) => this.signaling.upgrade(req, socket, head));
    // JoinStorageSession: a peer of this process joins the master and stores its media into the stream.
    this.signaling.storageSession = (link) => {
      const s = this.streamOf({ StreamARN: link.streamArn });
      // (werift is loaded only here, for those who use WebRTC ingestion)
      void import("./local-storage-session.js").then(
        (m) => m.runStorageSession(link, { stream: s.name, store: (mkv) => this.putMedia(s.name, mkv) }),
        () => link.close(),
      );
    };
    this.signaling.checkStorageStream = (arn) => {
      const s = this.streamOf({ StreamARN: arn });
      if (s.retentionHours <= 0)
        throw new ServiceFailure(
          400,
          "NoDataRetentionException",
          `The stream ${s.name} keeps no data: give it a data retention period to store a channel's media`,
        );
    };
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    this.disk = options.dataDir === undefined ? null : new DataDir(options.dataDir);
    let newest: string | null = null;
    for (const { stream, fragments } of this.disk?.load() ?? []) {
      this.streams.set(stream.name, this.restore(stream, fragments));
      const last = fragments.at(-1)?.fragmentNumber;
      if (last !== undefined && (newest === null || compareFragmentNumbers(last, newest) > 0)) newest = last;
    }
    this.numbers = new FragmentNumbers(newest);
    for (const [name, s] of Object.entries(options.streams ?? {})) {
      if (this.streams.has(name)) continue; // kept from an earlier run
      this.createStream(name, s.tags, s);
      if (s.mkv) {
        // A stream's starting media is its history: received over the media's span, ending now.
        const clusters = splitClusters(s.mkv);
        const span = clusters.length > 0 ? clusters.at(-1)!.timestampMs - clusters[0]!.timestampMs : 0;
        this.appendClusters(name, clusters, { serverStartMs: this.now() - span });
      }
    }
    for (const [name, faults] of Object.entries(options.faults ?? {})) for (const f of faults) this.injectFault(name, f);
  }

  /** Starts listening on `port` of `host` (default: a free port of 127.0.0.1). */
  async listen(port = 0, host = "127.0.0.1"): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    this.endpoint = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
    return this;
  }

  /** Creates an empty stream (no-op if it exists). */
  createStream(
    name: string,
    tags: Readonly<Record<string, string>> = {},
    settings: Pick<LocalStreamOptions, "dataRetentionInHours" | "mediaType"> & { deviceName?: string; kmsKeyId?: string } = {},
  ): void {
    if (this.streams.has(name)) return;
    const createdMs = this.now();
    const stored: StoredStream = {
      name,
      arn: `arn:aws:kinesisvideo:us-east-1:000000000000:stream/${name}/${createdMs}`,
      createdMs,
      tags,
      version: "1",
      retentionHours: settings.dataRetentionInHours ?? 24,
      mediaType: settings.mediaType ?? null,
      deviceName: settings.deviceName ?? null,
      kmsKeyId: settings.kmsKeyId ?? "arn:aws:kms:us-east-1:000000000000:alias/aws/kinesisvideo",
    };
    this.streams.set(name, this.restore(stored, []));
    this.saveStreams();
  }

  /** A stream's state from its settings and fragments (a loaded fragment's length reckoned again from the producer times). */
  private restore(stream: StoredStream, fragments: StoredFragment[]): StreamState {
    for (let i = 0; i + 1 < fragments.length; i++) {
      const gap = fragments[i + 1]!.producerTimestampMs - fragments[i]!.producerTimestampMs;
      if (gap > 0) fragments[i] = { ...fragments[i]!, lengthMs: gap };
    }
    return {
      name: stream.name,
      arn: stream.arn,
      created: new Date(stream.createdMs),
      tags: { ...stream.tags },
      version: stream.version,
      retentionHours: stream.retentionHours,
      mediaType: stream.mediaType,
      deviceName: stream.deviceName,
      kmsKeyId: stream.kmsKeyId,
      fragments,
      faults: [],
      calls: [],
      open: 0,
      wakers: new Set(),
      dropped: 0,
      putOpen: false,
      putFaults: [],
    };
  }

  /** Writes every stream's settings to the data directory, if any. */
  private saveStreams(): void {
    this.disk?.saveStreams(
      [...this.streams.values()].map((s) => ({
        name: s.name,
        arn: s.arn,
        createdMs: s.created.getTime(),
        tags: s.tags,
        version: s.version,
        retentionHours: s.retentionHours,
        mediaType: s.mediaType,
        deviceName: s.deviceName,
        kmsKeyId: s.kmsKeyId,
      })),
    );
  }

  /** Queues a fault for the stream's next PutMedia upload. */
  injectPutFault(stream: string, fault: PutFault): void {
    this.stream(stream).putFaults.push(fault);
  }

  /** Ingests a producer MKV: one fragment per Cluster, new fragment numbers, server time now; wakes live readers. */
  putMedia(stream: string, mkv: Uint8Array, options: AppendOptions = {}): StoredFragment[] {
    return this.appendClusters(stream, splitClusters(mkv), options);
  }

  /**
   * Appends already split clusters as new fragments (see splitClusters), received now (or over the
   * media's own span from `serverStartMs`): each fragment its own server time, after the stream's newest.
   * Cluster times before 2001 are relative, as a producer's often are: the fragment's producer time is
   * then the server start plus the cluster time, as the service stamps it.
   */
  appendClusters(stream: string, clusters: readonly ProducerCluster[], options: AppendOptions = {}): StoredFragment[] {
    const s = this.stream(stream);
    const added: StoredFragment[] = [];
    if (clusters.length === 0) return added;
    const first = clusters[0]!.timestampMs;
    const now = this.now();
    const start = options.serverStartMs ?? now;
    let previous = s.fragments.at(-1)?.serverTimestampMs ?? Number.NEGATIVE_INFINITY;
    for (let i = 0; i < clusters.length; i++) {
      const c = clusters[i]!;
      const next = clusters[i + 1];
      // Received now (each fragment a millisecond after the one before), or over the media's span from a given start.
      const at = options.serverStartMs === undefined ? now : start + (c.timestampMs - first);
      const serverTimestampMs = Math.max(previous + 1, at);
      previous = serverTimestampMs;
      const f: StoredFragment = {
        fragmentNumber: this.numbers.next(s.arn, serverTimestampMs),
        serverTimestampMs,
        producerTimestampMs: c.timestampMs < RELATIVE_BEFORE_MS ? start - first + c.timestampMs : c.timestampMs,
        lengthMs: next ? Math.max(0, next.timestampMs - c.timestampMs) : 1000,
        receivedAtMs: now,
        cluster: c,
        sizeBytes: c.clusterBody.length + c.tracks.length + c.info.length + c.ebmlHeader.length,
      };
      this.disk?.saveFragment(s.arn, f);
      s.fragments.push(f);
      added.push(f);
    }
    for (const wake of [...s.wakers]) wake();
    return added;
  }

  /** Drops the stream's oldest `count` fragments, as retention expiry does. */
  expire(stream: string, count: number): void {
    this.dropOldest(this.stream(stream), count);
  }

  private dropOldest(s: StreamState, count: number): void {
    const n = Math.min(count, s.fragments.length);
    const gone = s.fragments.splice(0, n);
    this.disk?.deleteFragments(s.arn, gone);
    s.dropped += n;
  }

  /**
   * Drops the fragments kept longer than the stream's retention since they arrived (none with 0 hours:
   * the stream keeps what it has). Arrival is the server timestamp on the service; here a test may also
   * give a stream a history with earlier server times, which stays until its own retention passes.
   */
  private trim(s: StreamState): void {
    if (s.retentionHours <= 0) return;
    const oldest = this.now() - s.retentionHours * 3_600_000;
    let n = 0;
    while (n < s.fragments.length && s.fragments[n]!.receivedAtMs < oldest) n++;
    if (n > 0) this.dropOldest(s, n);
  }

  /** The stream's ARN, as DescribeStream gives it. */
  streamArn(stream: string): string {
    return this.stream(stream).arn;
  }

  /** The stream's fragments, oldest first. */
  fragments(stream: string): readonly StoredFragment[] {
    return this.stream(stream).fragments;
  }

  /** Queues a fault for the stream's next response. */
  injectFault(stream: string, fault: Fault): void {
    this.stream(stream).faults.push(fault);
  }

  /**
   * Injects random faults every `everyMs` into open GetMedia responses (reset, stall, truncate) and
   * the next calls (5xx, throttle), from a seeded generator. Returns a function that stops it.
   */
  randomFaults(options: { seed?: number; everyMs?: number; kinds?: readonly Fault["kind"][] } = {}): () => void {
    const random = mulberry32(options.seed ?? 7);
    const kinds = options.kinds ?? ["reset", "stall", "truncate", "http5xx", "throttle"];
    const nextCall = new Set<Fault["kind"]>(["http5xx", "throttle", "corrupt", "cutBlock"]);
    this.randomTimer = setInterval(() => {
      for (const s of this.streams.values()) {
        const kind = kinds[Math.floor(random() * kinds.length)]!;
        const open = [...(this.interrupt.get(s.name) ?? [])];
        open[Math.floor(random() * open.length)]?.(kind);
        if (nextCall.has(kind)) s.faults.push({ kind } as Fault);
      }
    }, options.everyMs ?? 300);
    return () => {
      if (this.randomTimer) clearInterval(this.randomTimer);
      this.randomTimer = null;
    };
  }

  /** Open TCP connections to the server. */
  openConnections(): number {
    return this.sockets.size;
  }

  /** Open GetMedia responses on a stream. */
  openGetMedia(stream: string): number {
    return this.stream(stream).open;
  }

  /** Ends every response, destroys every socket, clears every timer and stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.randomTimer) clearInterval(this.randomTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.streams.values()) for (const w of [...s.wakers]) w();
    for (const r of this.responses) r.destroy();
    for (const s of this.sockets) s.destroy();
    this.archive.close();
    this.signaling.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- HTTP ----

  /** Per stream, how to interrupt each open GetMedia response. */
  private readonly interrupt = new Map<string, Set<(kind: Fault["kind"]) => void>>();

  private stream(name: string): StreamState {
    const s = this.streams.get(name);
    if (!s) throw new ServiceFailure(404, "ResourceNotFoundException", `Stream ${name} is not found`);
    this.trim(s);
    return s;
  }

  private streamOf(body: { StreamName?: string; StreamARN?: string }): StreamState {
    if (body.StreamARN) {
      for (const s of this.streams.values()) if (s.arn === body.StreamARN) return s;
      throw new ServiceFailure(404, "ResourceNotFoundException", `Stream ${body.StreamARN} is not found`);
    }
    if (!body.StreamName) throw new ServiceFailure(400, "InvalidArgumentException", "StreamName or StreamARN is required");
    return this.stream(body.StreamName);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const op = (req.url ?? "/").replace(/^\//, "").split("?")[0]!;
    res.setHeader("x-amzn-RequestId", randomUUID()); // on every answer, errors included, as the service
    this.stats.requests[op] = (this.stats.requests[op] ?? 0) + 1;
    try {
      if (req.method === "GET" && (op.startsWith("hls/") || op.startsWith("dash/")))
        return await this.archive.serve(new URL(req.url ?? "/", this.endpoint), res);
      if (req.method !== "POST") throw new ServiceFailure(405, "InvalidArgumentException", "POST only");
      if (op === "putMedia") {
        this.authorize(req, EMPTY_PAYLOAD_HASH); // the body streams: signed as no payload, as the producer SDKs sign it
        return await this.ingest(req, res);
      }
      const raw = await readBody(req);
      this.authorize(req, createHash("sha256").update(raw).digest("hex"));
      const body = raw.length ? (JSON.parse(Buffer.from(raw).toString("utf8")) as Record<string, unknown>) : {};
      if (this.signaling.handles(op)) return this.json(res, await this.signaling.call(op, body));
      switch (op) {
        case "getDataEndpoint":
          if (!API_NAMES.has(String(body.APIName)))
            throw invalid(body.APIName, "aPIName", `Member must satisfy enum value set: [${[...API_NAMES].join(", ")}]`);
          this.streamOf(body);
          // The address the caller reached (a server bound to 0.0.0.0 answers with the name it was asked by).
          return this.json(res, { DataEndpoint: req.headers.host ? `http://${req.headers.host}` : this.endpoint });
        case "_local/fault":
          // Fault controls for a standalone server (signed like any call): the next GetMedia or PutMedia of a stream fails so.
          this.injectFault(String(body.stream), body.fault as Fault);
          return this.json(res, {});
        case "_local/putFault":
          this.injectPutFault(String(body.stream), body.fault as PutFault);
          return this.json(res, {});
        case "describeStream":
          return this.json(res, { StreamInfo: this.streamInfo(this.streamOf(body)) });
        case "listStreams":
          return this.listStreams(body, res);
        case "createStream":
          return this.json(res, { StreamARN: this.createStreamCall(body).arn });
        case "deleteStream":
          this.deleteStreamCall(body);
          return this.json(res, {});
        case "updateDataRetention":
          this.updateDataRetention(body);
          return this.json(res, {});
        case "updateStream": {
          const st = this.versioned(body);
          if (typeof body.DeviceName === "string") st.deviceName = body.DeviceName;
          if (typeof body.MediaType === "string") st.mediaType = body.MediaType;
          this.saveStreams();
          return this.json(res, {});
        }
        case "listTagsForStream":
          return this.json(res, { Tags: this.streamOf(body).tags });
        case "tagStream":
          this.addTags(this.streamOf(body), body.Tags as Record<string, string> | undefined);
          return this.json(res, {});
        case "untagStream":
          this.removeTags(this.streamOf(body), body.TagKeyList);
          return this.json(res, {});
        case "listTagsForResource":
          return this.json(res, { Tags: this.streamOf({ StreamARN: String(body.ResourceARN ?? "") }).tags });
        case "tagResource": {
          const tags = Array.isArray(body.Tags) ? (body.Tags as { Key?: string; Value?: string }[]) : [];
          this.addTags(
            this.streamOf({ StreamARN: String(body.ResourceARN ?? "") }),
            Object.fromEntries(tags.map((t) => [String(t.Key), String(t.Value ?? "")])),
          );
          return this.json(res, {});
        }
        case "untagResource":
          this.removeTags(this.streamOf({ StreamARN: String(body.ResourceARN ?? "") }), body.TagKeyList);
          return this.json(res, {});
        case "getMedia":
          return await this.getMedia(body, res);
        case "listFragments":
          return this.listFragments(body, res);
        case "getMediaForFragmentList":
          return await this.getMediaForFragmentList(body, res);
        case "getClip":
          return await this.archive.getClip(this.streamOf(body), body, res);
        case "getImages": {
          // A caller that leaves stops its decode.
          const gone = new AbortController();
          res.on("close", () => {
            if (!res.writableFinished) gone.abort();
          });
          return this.json(res, await this.archive.getImages(this.streamOf(body), body, gone.signal));
        }
        case "getHLSStreamingSessionURL":
          return this.json(res, { HLSStreamingSessionURL: this.archive.createSession("hls", this.streamOf(body), body) });
        case "getDASHStreamingSessionURL":
          return this.json(res, { DASHStreamingSessionURL: this.archive.createSession("dash", this.streamOf(body), body) });
        default:
          throw new ServiceFailure(404, "UnknownOperationException", `unknown operation ${op}`);
      }
    } catch (e) {
      const f = e instanceof ServiceFailure ? e : new ServiceFailure(500, "InternalFailure", String(e));
      if (!res.headersSent) {
        res.writeHead(f.status, {
          "content-type": "application/json",
          "x-amzn-errortype": `${f.type}:http://internal.amazon.com/coral/com.amazon.kinesis.video.v20170930/`,
        });
        res.end(JSON.stringify({ message: f.message }));
      } else res.destroy();
    }
  }

  /** Checks the request's signature against the configured key pairs (on the real clock: the signer's). */
  private authorize(req: IncomingMessage, payloadHash: string): void {
    const keys = this.options.credentials ?? "any";
    if (keys === "any") return;
    verifySigV4({ method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers }, keys, payloadHash, Date.now());
  }

  /** PutMedia: one upload per stream, taken as it arrives, acknowledged per fragment (see ingestPutMedia). */
  private async ingest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const name = req.headers["x-amzn-stream-name"];
    const arn = req.headers["x-amzn-stream-arn"];
    if ((name === undefined) === (arn === undefined))
      throw new ServiceFailure(400, "InvalidArgumentException", "one of x-amzn-stream-name and x-amzn-stream-arn is required");
    const s = this.streamOf({ StreamName: name === undefined ? undefined : String(name), StreamARN: arn === undefined ? undefined : String(arn) });
    if (s.putOpen) throw new ServiceFailure(400, "ConnectionLimitExceededException", `the stream ${s.name} already has a PutMedia connection`);
    s.putOpen = true;
    this.responses.add(res);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      s.putOpen = false;
      this.responses.delete(res);
    };
    res.on("close", release);
    await ingestPutMedia(
      req,
      res,
      {
        store: (cluster, producerTimestampMs) => this.store(s, cluster, producerTimestampMs),
        fault: s.putFaults.shift() ?? null,
        done: release,
      },
      this.now,
    );
  }

  /** Stores one whole fragment and wakes the live readers: readable by GetMedia at once. */
  private store(s: StreamState, cluster: ProducerCluster, producerTimestampMs: number): string {
    const serverTimestampMs = Math.max(this.now(), (s.fragments.at(-1)?.serverTimestampMs ?? 0) + 1);
    const f: StoredFragment = {
      fragmentNumber: this.numbers.next(s.arn, serverTimestampMs),
      serverTimestampMs,
      producerTimestampMs,
      lengthMs: 1000,
      receivedAtMs: serverTimestampMs,
      cluster,
      sizeBytes: cluster.clusterBody.length + cluster.tracks.length + cluster.info.length + cluster.ebmlHeader.length,
    };
    const previous = s.fragments.at(-1);
    if (previous && previous.producerTimestampMs < producerTimestampMs)
      (previous as { lengthMs: number }).lengthMs = producerTimestampMs - previous.producerTimestampMs;
    this.disk?.saveFragment(s.arn, f); // on disk before PERSISTED is acknowledged
    s.fragments.push(f);
    for (const wake of [...s.wakers]) wake();
    return f.fragmentNumber;
  }

  private json(res: ServerResponse, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  private startIndex(s: StreamState, sel: Record<string, unknown> | undefined): number {
    const type = String(sel?.StartSelectorType ?? "");
    const list = s.fragments;
    switch (type) {
      case "NOW":
        return list.length;
      case "EARLIEST":
        return 0;
      case "FRAGMENT_NUMBER": {
        const n = String(sel?.AfterFragmentNumber ?? "");
        if (!/^[0-9]{1,128}$/.test(n))
          throw invalid(sel?.AfterFragmentNumber, "startSelector.afterFragmentNumber", "Member must satisfy regular expression pattern: ^[0-9]+$");
        const i = list.findIndex((f) => f.fragmentNumber === n);
        if (i < 0) return NOT_FOUND; // reported inside the body (ERROR_ID 4000), as GetMedia does
        return (this.options.fragmentNumberStart ?? "after") === "after" ? i + 1 : i;
      }
      case "SERVER_TIMESTAMP":
      case "PRODUCER_TIMESTAMP": {
        // "The chunk containing the fragment that has the specified timestamp", else the first after it.
        const ms = Number(sel?.StartTimestamp) * 1000;
        if (!Number.isFinite(ms)) throw new ServiceFailure(400, "InvalidArgumentException", "StartTimestamp is required for a timestamp selector");
        const timeOf = (f: StoredFragment) => (type === "SERVER_TIMESTAMP" ? f.serverTimestampMs : f.producerTimestampMs);
        const containing = list.findIndex((f) => timeOf(f) <= ms && ms < timeOf(f) + Math.max(1, f.lengthMs));
        if (containing >= 0) return containing;
        const i = list.findIndex((f) => timeOf(f) >= ms);
        return i < 0 ? list.length : i;
      }
      case "CONTINUATION_TOKEN": {
        const token = String(sel?.ContinuationToken ?? "");
        if (!/^\d{1,128}$/.test(token)) throw new ServiceFailure(400, "InvalidArgumentException", `invalid continuation token ${token}`);
        const i = list.findIndex((f) => f.fragmentNumber === token);
        if (i < 0) return NOT_FOUND;
        return i + 1;
      }
      default:
        throw new ServiceFailure(400, "InvalidArgumentException", `bad StartSelectorType ${type}`);
    }
  }

  private takeFault(s: StreamState): Fault | undefined {
    return s.faults.shift();
  }

  private async getMedia(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const s = this.streamOf(body);
    const t = this.now();
    while (s.calls.length && s.calls[0]! <= t - 1000) s.calls.shift();
    if (s.calls.length >= (this.options.maxCallsPerSecond ?? 5))
      throw new ServiceFailure(400, "ClientLimitExceededException", "GetMedia calls per second exceeded for the stream");
    s.calls.push(t);
    if (s.open >= (this.options.maxConnections ?? 3))
      throw new ServiceFailure(400, "ConnectionLimitExceededException", "Too many GetMedia connections to the stream");
    const start = this.startIndex(s, body.StartSelector as Record<string, unknown> | undefined);
    /** The next fragment to send, counted from the stream's first ever (retention drops do not move it). */
    let index = start === NOT_FOUND ? NOT_FOUND : s.dropped + start;
    const fault = this.takeFault(s);
    if (fault?.kind === "http5xx")
      throw new ServiceFailure(fault.status ?? 500, fault.status === 503 ? "ServiceUnavailable" : "InternalFailure", "injected failure");
    if (fault?.kind === "throttle") throw new ServiceFailure(400, "ClientLimitExceededException", "injected throttle");
    s.open++;
    this.responses.add(res);
    res.writeHead(200, { "content-type": "video/webm" });
    res.flushHeaders(); // as KVS: the response starts at once, the body follows as fragments arrive
    const header = s.fragments[0]?.cluster.ebmlHeader ?? new Uint8Array(0);
    if (index === NOT_FOUND || fault?.kind === "streamError") {
      // As GetMedia: the failure comes inside the 200 body, as ERROR tags, and the response ends.
      const [code, id] = fault?.kind === "streamError" ? [fault.code ?? "injected error", fault.id] : ["Requested fragment is not found", 4000];
      res.end(writeStreamError(code, id, header));
      s.open--;
      this.responses.delete(res);
      return;
    }
    const started = performance.now();
    let sent = 0;
    let ended = false;
    // Where the body is cut: a queued reset/stall after N bytes, or a random interrupt from now on.
    let cut: { kind: "reset" | "stall"; at: number } | null =
      fault && (fault.kind === "reset" || fault.kind === "stall") ? { kind: fault.kind, at: fault.afterBytes ?? 0 } : null;
    let truncateNext = fault?.kind === "truncate";
    let corruptNext: Extract<Fault, { kind: "corrupt" }> | null = fault?.kind === "corrupt" ? fault : null;
    let cutBlockNext = fault?.kind === "cutBlock";
    let badNumberNext = fault?.kind === "badFragmentNumber" ? (fault.value ?? "fragment-7") : null;
    const catchUpGap = 1000 / (this.options.catchUpFragmentsPerSecond ?? 5);
    let lastFragmentAt = -Infinity;
    let wakeIdle: (() => void) | null = null;
    const interrupt = (kind: Fault["kind"]) => {
      if (kind === "reset") res.socket?.destroy();
      else if (kind === "stall") {
        cut = { kind: "stall", at: sent };
        wakeIdle?.();
      } else if (kind === "truncate") truncateNext = true;
      else if (kind === "corrupt") corruptNext = { kind: "corrupt" };
      else if (kind === "cutBlock") cutBlockNext = true;
    };
    let interrupts = this.interrupt.get(s.name);
    if (!interrupts) this.interrupt.set(s.name, (interrupts = new Set()));
    interrupts.add(interrupt);
    const finish = () => {
      if (ended) return;
      ended = true;
      s.open--;
      this.responses.delete(res);
    };
    res.on("close", finish);
    const write = async (bytes: Uint8Array): Promise<boolean> => {
      if (res.destroyed || this.closed) return false;
      let chunk = bytes;
      if (cut) chunk = chunk.subarray(0, Math.max(0, Math.min(chunk.length, cut.at - sent)));
      const piece = fault?.kind === "slowDrip" ? (fault.pieceBytes ?? 512) : Math.max(1, chunk.length);
      for (let o = 0; o < chunk.length; o += piece) {
        const part = chunk.subarray(o, o + piece);
        const ok = res.write(part);
        sent += part.length;
        this.stats.bytesSent += part.length;
        if (!ok) await new Promise<void>((r) => res.once("drain", r));
        if (fault?.kind === "slowDrip") await this.sleep(fault.delayMs ?? 20);
        if (res.destroyed) return false;
      }
      if (cut && sent >= cut.at) {
        if (cut.kind === "reset") res.socket?.destroy();
        else if (!res.destroyed) await new Promise<void>((r) => res.once("close", r)); // stalled: until the client gives up
        return false;
      }
      return true;
    };
    const idleEnd = this.options.idleEndMs ?? 3000;
    const maxMs = this.options.maxResponseMs ?? 45 * 60_000;
    try {
      while (!res.destroyed && !this.closed && this.streams.get(s.name) === s && performance.now() - started < maxMs) {
        index = Math.max(index, s.dropped); // what retention dropped meanwhile is gone
        if (index - s.dropped < s.fragments.length) {
          if (index - s.dropped < s.fragments.length - 1) {
            // Behind the newest fragment: KVS sends about 5 fragments a second while a reader catches up.
            const wait = lastFragmentAt + catchUpGap - performance.now();
            if (wait > 0 && Number.isFinite(wait)) await this.sleep(wait);
            if (res.destroyed || this.closed) return;
          }
          lastFragmentAt = performance.now();
          const f = s.fragments[index++ - s.dropped]!;
          const number = badNumberNext ?? f.fragmentNumber;
          badNumberNext = null;
          let head = writeKvsFragment(
            f.cluster,
            { fragmentNumber: number, serverTimestampMs: f.serverTimestampMs, producerTimestampMs: f.producerTimestampMs },
            { unknownSizeCluster: this.options.unknownSizeClusters },
          );
          if (truncateNext) {
            await write(head.subarray(0, Math.floor(head.length / 2)));
            break;
          }
          if (cutBlockNext) {
            // The fragment stops in the middle of its Cluster; the next fragment follows at once.
            cutBlockNext = false;
            if (!(await write(head.subarray(0, Math.floor(head.length * 0.6))))) return;
            continue;
          }
          let after: Uint8Array | null = null;
          if (corruptNext && (corruptNext.afterFragments ?? 0) > 0) corruptNext = { ...corruptNext, afterFragments: corruptNext.afterFragments! - 1 };
          else if (corruptNext) {
            const c = corruptNext;
            corruptNext = null;
            const bytes = garbage(c.length ?? 2000, c.seed ?? (Number(f.fragmentNumber.slice(-6)) || 1), c.between);
            if (c.between) after = bytes;
            else {
              const at = Math.min(head.length, c.afterBytes ?? Math.floor(head.length * 0.6));
              head = concatBytes([head.subarray(0, at), bytes, head.subarray(at)]);
            }
          }
          if (!(await write(head))) return;
          const tail = writeKvsClosingTags(f.fragmentNumber, Math.max(0, this.now() - f.serverTimestampMs));
          if (!(await write(tail))) return;
          if (after && !(await write(after))) return;
          this.stats.fragmentsSent++;
          this.emit("fragmentWritten", { stream: s.name, fragmentNumber: f.fragmentNumber, at: performance.now() } satisfies FragmentWritten);
          continue;
        }
        // Caught up: wait for a new fragment, or end the response after the idle gap.
        const woke = await new Promise<boolean>((resolve) => {
          const settle = (value: boolean) => {
            clearTimeout(t);
            this.timers.delete(t);
            s.wakers.delete(wake);
            res.off("close", wake);
            wakeIdle = null;
            resolve(value);
          };
          const wake = () => settle(true);
          const t = setTimeout(() => settle(false), idleEnd);
          this.timers.add(t);
          wakeIdle = wake;
          s.wakers.add(wake);
          res.once("close", wake);
        });
        if (cut !== null && sent >= (cut as { at: number }).at) {
          if (!res.destroyed) await new Promise<void>((r) => res.once("close", r));
          return;
        }
        if (!woke) break;
      }
      if (!res.destroyed) res.end();
    } finally {
      interrupts.delete(interrupt);
      if (res.writableEnded) finish();
    }
  }

  /** DescribeStream's StreamInfo (model: StreamInfo). */
  private streamInfo(s: StreamState): Record<string, unknown> {
    const mediaType = s.mediaType ?? mediaTypeOf(s.fragments.at(-1));
    return {
      ...(s.deviceName === null ? {} : { DeviceName: s.deviceName }),
      StreamName: s.name,
      StreamARN: s.arn,
      ...(mediaType === null ? {} : { MediaType: mediaType }),
      KmsKeyId: s.kmsKeyId,
      Version: s.version,
      Status: "ACTIVE",
      CreationTime: s.created.getTime() / 1000,
      DataRetentionInHours: s.retentionHours,
    };
  }

  /** CreateStream (API_CreateStream): a new name, its settings and tags; ResourceInUseException when it exists. */
  private createStreamCall(body: Record<string, unknown>): StreamState {
    const name = body.StreamName;
    if (typeof name !== "string" || !/^[a-zA-Z0-9_.-]{1,256}$/.test(name))
      throw invalid(name, "streamName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ (1 to 256 characters)");
    const hours = body.DataRetentionInHours === undefined ? 0 : Number(body.DataRetentionInHours);
    if (!Number.isInteger(hours) || hours < 0)
      throw invalid(body.DataRetentionInHours, "dataRetentionInHours", "Member must have value greater than or equal to 0");
    if (this.streams.has(name)) throw new ServiceFailure(400, "ResourceInUseException", `The stream ${name} already exists.`);
    const tags = (body.Tags ?? {}) as Record<string, string>;
    if (Object.keys(tags).length > 50) throw new ServiceFailure(400, "TagsPerResourceExceededLimitException", "A stream can have at most 50 tags.");
    this.createStream(name, tags, {
      dataRetentionInHours: hours,
      mediaType: typeof body.MediaType === "string" ? body.MediaType : undefined,
      deviceName: typeof body.DeviceName === "string" ? body.DeviceName : undefined,
      kmsKeyId: typeof body.KmsKeyId === "string" ? body.KmsKeyId : undefined,
    });
    return this.streams.get(name)!;
  }

  /** A stream named by the body whose CurrentVersion, when given (required: `required`), is its Version; VersionMismatchException otherwise. */
  private versioned(body: Record<string, unknown>, required = true): StreamState {
    const s = this.streamOf(body);
    if (body.CurrentVersion === undefined && required) throw invalid(undefined, "currentVersion", "Member must not be null");
    if (body.CurrentVersion !== undefined && String(body.CurrentVersion) !== s.version)
      throw new ServiceFailure(400, "VersionMismatchException", `The version ${String(body.CurrentVersion)} does not match the stream's version ${s.version}.`);
    s.version = String(Number(s.version) + 1);
    return s;
  }

  /** DeleteStream (API_DeleteStream): by ARN, CurrentVersion optional; open readers of the stream end. */
  private deleteStreamCall(body: Record<string, unknown>): void {
    if (typeof body.StreamARN !== "string") throw invalid(undefined, "streamARN", "Member must not be null");
    const s = this.versioned(body, false);
    this.streams.delete(s.name);
    this.disk?.deleteStream(s.arn);
    this.saveStreams();
    for (const wake of [...s.wakers]) wake();
  }

  /** UpdateDataRetention (API_UpdateDataRetention): INCREASE_ / DECREASE_DATA_RETENTION by at least 1 hour. */
  private updateDataRetention(body: Record<string, unknown>): void {
    const change = Number(body.DataRetentionChangeInHours);
    if (!Number.isInteger(change) || change < 1)
      throw invalid(body.DataRetentionChangeInHours, "dataRetentionChangeInHours", "Member must have value greater than or equal to 1");
    const operation = body.Operation;
    if (operation !== "INCREASE_DATA_RETENTION" && operation !== "DECREASE_DATA_RETENTION")
      throw invalid(operation, "operation", "Member must satisfy enum value set: [INCREASE_DATA_RETENTION, DECREASE_DATA_RETENTION]");
    const s = this.streamOf(body);
    const hours = s.retentionHours + (operation === "INCREASE_DATA_RETENTION" ? change : -change);
    if (hours < 0) throw new ServiceFailure(400, "InvalidArgumentException", `The retention period cannot go below 0 hours (it is ${s.retentionHours}).`);
    this.versioned(body).retentionHours = hours;
    this.saveStreams();
  }

  private addTags(s: StreamState, tags: Record<string, string> | undefined): void {
    if (!tags || typeof tags !== "object" || Object.keys(tags).length === 0)
      throw invalid(undefined, "tags", "Member must have length greater than or equal to 1");
    const merged = { ...s.tags, ...tags };
    if (Object.keys(merged).length > 50) throw new ServiceFailure(400, "TagsPerResourceExceededLimitException", "A stream can have at most 50 tags.");
    s.tags = merged;
    this.saveStreams();
  }

  private removeTags(s: StreamState, keys: unknown): void {
    if (!Array.isArray(keys) || keys.length === 0) throw invalid(undefined, "tagKeyList", "Member must have length greater than or equal to 1");
    for (const k of keys) delete s.tags[String(k)];
    this.saveStreams();
  }

  private listStreams(body: Record<string, unknown>, res: ServerResponse): void {
    const max = Number(body.MaxResults ?? 10000);
    if (!Number.isInteger(max) || max < 1 || max > 10000) throw new ServiceFailure(400, "InvalidArgumentException", "MaxResults must be 1 to 10000");
    const cond = body.StreamNameCondition as { ComparisonOperator?: string; ComparisonValue?: string } | undefined;
    const prefix = cond?.ComparisonOperator === "BEGINS_WITH" ? (cond.ComparisonValue ?? "") : "";
    const all = [...this.streams.values()].filter((s) => s.name.startsWith(prefix)).sort((a, b) => (a.name < b.name ? -1 : 1));
    const offset = typeof body.NextToken === "string" ? Number(body.NextToken) : 0;
    const page = all.slice(offset, offset + max);
    this.json(res, {
      StreamInfoList: page.map((s) => this.streamInfo(s)),
      NextToken: offset + max < all.length ? String(offset + max) : undefined,
    });
  }

  private listFragments(body: Record<string, unknown>, res: ServerResponse): void {
    const s = this.streamOf(body);
    const max = Number(body.MaxResults ?? 100);
    if (!Number.isInteger(max) || max < 1 || max > 1000)
      throw new ServiceFailure(
        400,
        "InvalidArgumentException",
        `1 validation error detected: Value '${body.MaxResults}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000`,
      );
    // The NextToken holds the query, not its answer: the selector, where the listing stood (its newest
    // fragment and size at the first call) and the offset; a few hundred bytes at most (model: 4096).
    let query: ListingToken;
    if (body.NextToken !== undefined) {
      const decoded = decodeListingToken(body.NextToken);
      if (!decoded) throw new ServiceFailure(400, "InvalidArgumentException", "NextToken is not valid");
      query = decoded;
    } else {
      const sel = body.FragmentSelector as { FragmentSelectorType?: string; TimestampRange?: { StartTimestamp?: number; EndTimestamp?: number } } | undefined;
      if (sel !== undefined && sel.FragmentSelectorType !== "PRODUCER_TIMESTAMP" && sel.FragmentSelectorType !== "SERVER_TIMESTAMP")
        throw invalid(
          sel.FragmentSelectorType,
          "fragmentSelector.fragmentSelectorType",
          "Member must satisfy enum value set: [PRODUCER_TIMESTAMP, SERVER_TIMESTAMP]",
        );
      query = {
        producer: sel?.FragmentSelectorType === "PRODUCER_TIMESTAMP",
        startMs: sel?.TimestampRange?.StartTimestamp === undefined ? null : Number(sel.TimestampRange.StartTimestamp) * 1000,
        endMs: sel?.TimestampRange?.EndTimestamp === undefined ? null : Number(sel.TimestampRange.EndTimestamp) * 1000,
        newest: s.fragments.at(-1)?.fragmentNumber ?? "0",
        size: 0,
        offset: 0,
      };
    }
    const matching = s.fragments.filter((f) => {
      const t = query.producer ? f.producerTimestampMs : f.serverTimestampMs;
      return (
        (query.startMs === null || t >= query.startMs) &&
        (query.endMs === null || t <= query.endMs) &&
        compareFragmentNumbers(f.fragmentNumber, query.newest) <= 0
      );
    });
    if (body.NextToken === undefined) query = { ...query, size: matching.length };
    // No particular order, like the service: a shuffle seeded by the listing, the same on every page.
    const random = mulberry32((this.options.seed ?? 1) + query.size);
    for (let i = matching.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [matching[i], matching[j]] = [matching[j]!, matching[i]!];
    }
    const offset = query.offset;
    const page = matching.slice(offset, offset + max);
    const more = offset + max < matching.length;
    this.json(res, {
      Fragments: page.map((f) => ({
        FragmentNumber: f.fragmentNumber,
        FragmentSizeInBytes: f.sizeBytes,
        ProducerTimestamp: f.producerTimestampMs / 1000,
        ServerTimestamp: f.serverTimestampMs / 1000,
        FragmentLengthInMilliseconds: f.lengthMs,
      })),
      NextToken: more ? encodeListingToken({ ...query, offset: offset + max }) : undefined,
    });
  }

  private async getMediaForFragmentList(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const s = this.streamOf(body);
    const numbers = Array.isArray(body.Fragments) ? body.Fragments.map(String) : [];
    if (numbers.length < 1 || numbers.length > 1000)
      throw new ServiceFailure(400, "InvalidArgumentException", `Fragments must hold 1 to 1000 fragment numbers, got ${numbers.length}`);
    const fault = this.takeFault(s);
    if (fault?.kind === "http5xx") throw new ServiceFailure(fault.status ?? 500, "InternalFailure", "injected failure");
    if (fault?.kind === "throttle") throw new ServiceFailure(400, "ClientLimitExceededException", "injected throttle");
    const byNumber = new Map(s.fragments.map((f) => [f.fragmentNumber, f]));
    const header = s.fragments[0]?.cluster.ebmlHeader ?? new Uint8Array(0);
    res.writeHead(200, { "content-type": "video/webm" });
    this.responses.add(res);
    try {
      for (const n of numbers) {
        const f = byNumber.get(n);
        const bytes = f
          ? writeKvsFragment(
              f.cluster,
              { fragmentNumber: f.fragmentNumber, serverTimestampMs: f.serverTimestampMs, producerTimestampMs: f.producerTimestampMs },
              { style: "fragmentList" },
            )
          : writeFragmentException(n, "404", `Fragment ${n} was not found`, header);
        if (!res.write(bytes)) await new Promise<void>((r) => res.once("drain", r));
        this.stats.bytesSent += bytes.length;
        if (res.destroyed) return;
      }
      res.end();
    } finally {
      this.responses.delete(res);
    }
  }
}

/** Bytes that are no EBML: a fixed pseudo-random pattern (seeded by `seed`) with no 0x1A45DFA3 / 0x1F43B675 in it. */
/** Seeded garbage: bytes 0x20–0xDF (`full`: any byte). */
function garbage(length: number, seed: number, full = false): Uint8Array {
  const random = mulberry32(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = full ? Math.floor(random() * 0x100) : 0x20 + Math.floor(random() * 0xc0);
  return out;
}

/** What a ListFragments NextToken holds. */
interface ListingToken {
  readonly producer: boolean;
  readonly startMs: number | null;
  readonly endMs: number | null;
  /** The newest fragment number when the listing began: later fragments are not in it. */
  readonly newest: string;
  /** How many fragments matched at the first call (seeds the order). */
  readonly size: number;
  readonly offset: number;
}

function encodeListingToken(t: ListingToken): string {
  return Buffer.from(JSON.stringify([t.producer ? 1 : 0, t.startMs, t.endMs, t.newest, t.size, t.offset])).toString("base64url");
}

/** The token's query, or null when it is not one this endpoint made. */
function decodeListingToken(token: unknown): ListingToken | null {
  if (typeof token !== "string" || token.length === 0 || token.length > 4096) return null;
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown;
    if (!Array.isArray(v) || v.length !== 6) return null;
    const [p, a, b, newest, size, offset] = v as unknown[];
    const time = (x: unknown) => x === null || (typeof x === "number" && Number.isFinite(x));
    if ((p !== 0 && p !== 1) || !time(a) || !time(b) || typeof newest !== "string" || !/^\d{1,128}$/.test(newest)) return null;
    if (!Number.isSafeInteger(size) || !Number.isSafeInteger(offset) || (offset as number) < 0) return null;
    return { producer: p === 1, startMs: a as number | null, endMs: b as number | null, newest, size: size as number, offset: offset as number };
  } catch {
    return null;
  }
}

/** The MediaType the service shows for a fragment's tracks ("video/h264,audio/aac"), or null before any fragment. */
const mediaTypes = new WeakMap<Uint8Array, string | null>();
function mediaTypeOf(f: StoredFragment | undefined): string | null {
  if (!f) return null;
  const known = mediaTypes.get(f.cluster.tracks);
  if (known !== undefined) return known;
  const codecs = mediaOf(f).tracks.map((t) => MEDIA_TYPES[t.codecId] ?? t.codecId.toLowerCase());
  const type = codecs.length > 0 ? codecs.join(",") : null;
  mediaTypes.set(f.cluster.tracks, type);
  return type;
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return new Uint8Array(Buffer.concat(parts));
}

/** Starts a {@link LocalKvs} on a free port of 127.0.0.1. */
export function startLocalKvs(options: LocalKvsOptions = {}): Promise<LocalKvs> {
  return new LocalKvs(options).listen();
}
