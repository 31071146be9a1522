import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { FfmpegNotFoundError } from "../decode/ffmpeg.js";
import { ImageDecoder } from "../decode/images.js";
import { writeKvsFragment } from "../kvs/fragment-writer.js";
import { KvsParser } from "../kvs/parser.js";
import type { Frame } from "../matroska/frame.js";
import type { Track } from "../matroska/model.js";
import { Mp4Remuxer, mp4MimeType } from "../record/mp4.js";
import type { StoredFragment } from "./stored-fragment.js";
import { ServiceFailure } from "./service-failure.js";

/** The archived-media limits of the local endpoint (the service's by default). */
export interface LocalArchiveLimits {
  /** Fragments in one GetClip answer (default 200). */
  readonly clipMaxFragments?: number;
  /** Bytes in one GetClip answer (default 100 MB). */
  readonly clipMaxBytes?: number;
  /** Images in one GetImages page (default 25). */
  readonly imagesPageSize?: number;
}

/** What the archive needs of a stream. */
export interface ArchiveStream {
  readonly name: string;
  readonly fragments: readonly StoredFragment[];
}

/** A fragment's tracks and frames, parsed from its GetMedia form. */
interface FragmentMedia {
  readonly tracks: readonly Track[];
  readonly frames: readonly Frame[];
  /** Media time the fragment spans (first frame to the end of its last), ms. */
  readonly durationMs: number;
}

type Mode = "LIVE" | "LIVE_REPLAY" | "ON_DEMAND";

interface Segment {
  readonly seq: number;
  readonly fragmentNumber: string;
  readonly durationSec: number;
  readonly bytes: Uint8Array;
  readonly startMs: number;
}

interface Session {
  readonly kind: "hls" | "dash";
  readonly stream: ArchiveStream;
  readonly mode: Mode;
  readonly producer: boolean;
  readonly startMs: number;
  readonly endMs: number;
  readonly maxFragments: number;
  readonly expiresAt: number;
  readonly displayTimestamp: boolean;
  remuxer: Mp4Remuxer | null;
  tracks: readonly Track[];
  init: Uint8Array | null;
  readonly segments: Segment[];
  /** The last fragment fed to the remuxer. */
  lastFed: string | null;
  /** The fragment being remuxed: what its segment is named after. */
  current: { readonly fragmentNumber: string; readonly durationSec: number } | null;
  /** Feeds run one after another (a playlist and a segment may be asked for at once). */
  feeding: Promise<void>;
  seq: number;
}

const MAX_SEGMENTS_KEPT = 1000;

/** Reads a JSON timestamp (epoch seconds) as ms. */
const ms = (v: unknown, what: string): number => {
  const n = Number(v) * 1000;
  if (!Number.isFinite(n)) throw new ServiceFailure(400, "InvalidArgumentException", `${what} is required`);
  return n;
};

function mediaOf(f: StoredFragment): FragmentMedia {
  let tracks: readonly Track[] = [];
  const frames: Frame[] = [];
  const parser = new KvsParser((ev) => {
    if (ev.type === "frame") frames.push(ev);
    else if (ev.type === "tracks") tracks = ev.tracks;
  });
  parser.push(
    writeKvsFragment(f.cluster, { fragmentNumber: f.fragmentNumber, serverTimestampMs: f.serverTimestampMs, producerTimestampMs: f.producerTimestampMs }),
  );
  parser.end();
  let durationMs = 0;
  const video = tracks.find((t) => t.kind === "video");
  const times = frames.filter((x) => !video || x.track === video.number).map((x) => x.timestampMs);
  if (times.length > 0) {
    const sorted = [...times].sort((a, b) => a - b);
    const gaps = sorted.slice(1).map((t, i) => t - sorted[i]!);
    const step = gaps.length > 0 ? [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)]! : 0;
    durationMs = sorted[sorted.length - 1]! - sorted[0]! + step;
  }
  return { tracks, frames, durationMs: durationMs || f.lengthMs };
}

/**
 * The archived-media side of the local endpoint: GetClip (an MP4 of at most 200 fragments / 100 MB, as
 * the service), GetImages (pages of 25, NO_MEDIA per timestamp, JPEG/PNG through ffmpeg), and HLS / DASH
 * streaming sessions whose URLs serve live or on-demand playlists of fMP4 segments (each segment one KVS
 * fragment, video and audio in one segment: the service gives each track its own playlist).
 */
export class LocalArchive {
  private readonly sessions = new Map<string, Session>();

  /** An archive answering for the endpoint at `endpoint()`, with the given limits and clock. */
  constructor(
    private readonly endpoint: () => string,
    private readonly now: () => number,
    private readonly limits: LocalArchiveLimits = {},
  ) {}

  /** GetClip: the fragments starting in the range, at most the per-call limits, as one MP4. */
  async getClip(stream: ArchiveStream, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const sel = body.ClipFragmentSelector as
      | { FragmentSelectorType?: string; TimestampRange?: { StartTimestamp?: unknown; EndTimestamp?: unknown } }
      | undefined;
    if (!sel?.TimestampRange) throw new ServiceFailure(400, "InvalidArgumentException", "ClipFragmentSelector with a TimestampRange is required");
    const start = ms(sel.TimestampRange.StartTimestamp, "StartTimestamp");
    const end = ms(sel.TimestampRange.EndTimestamp, "EndTimestamp");
    if (end <= start) throw new ServiceFailure(400, "InvalidArgumentException", "EndTimestamp must be after StartTimestamp");
    if (end - start > 24 * 3600_000) throw new ServiceFailure(400, "InvalidArgumentException", "the range must be within 24 hours");
    const producer = sel.FragmentSelectorType === "PRODUCER_TIMESTAMP";
    const inRange = this.select(stream, producer, start, end);
    if (inRange.length === 0) throw new ServiceFailure(404, "ResourceNotFoundException", "No fragments found in the given time range");
    const maxFragments = this.limits.clipMaxFragments ?? 200;
    const maxBytes = this.limits.clipMaxBytes ?? 100 * 1024 * 1024;
    const chosen: StoredFragment[] = [];
    let bytes = 0;
    for (const f of inRange) {
      if (chosen.length >= maxFragments || (chosen.length > 0 && bytes + f.sizeBytes > maxBytes)) break;
      chosen.push(f);
      bytes += f.sizeBytes;
    }
    const first = mediaOfCached(chosen[0]!);
    const video = first.tracks.find((t) => t.kind === "video");
    if (!video || (video.codecId !== "V_MPEG4/ISO/AVC" && video.codecId !== "V_MPEGH/ISO/HEVC"))
      throw new ServiceFailure(400, "UnsupportedStreamMediaType", "GetClip needs H.264 or H.265 video on the stream");
    if (!video.codecPrivate) throw new ServiceFailure(400, "MissingCodecPrivateData", "the video track has no codec private data");
    const key = (tracks: readonly Track[]) => tracks.map((t) => `${t.codecId}:${Buffer.from(t.codecPrivate ?? []).toString("hex")}`).join("|");
    if (chosen.some((f) => key(mediaOfCached(f).tracks) !== key(first.tracks)))
      throw new ServiceFailure(
        400,
        "InvalidArgumentException",
        "the tracks or their codec private data change inside the range: GetClip cannot make one MP4 of it",
      );
    const out = new GrowableBuffer();
    const remuxer = new Mp4Remuxer(first.tracks, { kind: "positional", write: (b, at) => out.write(b, at) });
    for (const f of chosen) await remuxer.addFragment(mediaOfCached(f).frames);
    await remuxer.finalize();
    const mp4 = out.bytes();
    res.writeHead(200, { "content-type": "video/mp4", "content-length": mp4.length });
    res.end(mp4);
  }

  /** GetImages: one entry per sampled timestamp (NO_MEDIA where nothing was recorded), 25 a page. */
  async getImages(stream: ArchiveStream, body: Record<string, unknown>): Promise<unknown> {
    let index = 0;
    if (typeof body.NextToken === "string" && body.NextToken) {
      index = Number(Buffer.from(body.NextToken, "base64").toString("utf8"));
      if (!Number.isInteger(index) || index < 0) throw new ServiceFailure(400, "InvalidArgumentException", "invalid NextToken");
    }
    const start = ms(body.StartTimestamp, "StartTimestamp");
    const end = ms(body.EndTimestamp, "EndTimestamp");
    if (end < start) throw new ServiceFailure(400, "InvalidArgumentException", "EndTimestamp must not be before StartTimestamp");
    if (end - start > 300_000) throw new ServiceFailure(400, "InvalidArgumentException", "the range of GetImages is at most 300 seconds");
    const interval = Number(body.SamplingInterval ?? 3000);
    if (!Number.isInteger(interval) || interval < 200) throw new ServiceFailure(400, "InvalidArgumentException", "SamplingInterval is at least 200 ms");
    const format = body.Format === "PNG" ? "png" : body.Format === "JPEG" ? "jpeg" : null;
    if (!format) throw new ServiceFailure(400, "InvalidArgumentException", "Format is JPEG or PNG");
    const producer = body.ImageSelectorType === "PRODUCER_TIMESTAMP";
    const times: number[] = [];
    for (let t = start; t < end || t === start; t += interval) times.push(t);
    const pageSize = Math.min(this.limits.imagesPageSize ?? 25, Math.max(1, Number(body.MaxResults ?? 25)));
    const page = times.slice(index, index + pageSize);
    const quality = Number((body.FormatConfig as Record<string, string> | undefined)?.JPEGQuality ?? 80);
    const width = body.WidthPixels === undefined ? undefined : Number(body.WidthPixels);
    const height = body.HeightPixels === undefined ? undefined : Number(body.HeightPixels);
    const timeOf = (f: StoredFragment) => (producer ? f.producerTimestampMs : f.serverTimestampMs);
    // The fragment holding each time, then the newest keyframe at or before it, decoded by ffmpeg.
    const images: { TimeStamp: number; Error?: string; ImageContent?: string }[] = [];
    let decoder: ImageDecoder | null = null;
    const decoded = new Map<string, { at: number; data: Uint8Array }[] | null>();
    try {
      for (const t of page) {
        const f = stream.fragments.find((x) => timeOf(x) <= t && t < timeOf(x) + Math.max(1, mediaOfCached(x).durationMs));
        if (!f) {
          images.push({ TimeStamp: t / 1000, Error: "NO_MEDIA" });
          continue;
        }
        let keys = decoded.get(f.fragmentNumber);
        if (keys === undefined) {
          const media = mediaOfCached(f);
          if (!media.tracks.some((x) => x.kind === "video")) keys = null;
          else {
            try {
              decoder ??= new ImageDecoder({ format, keyframesOnly: true, quality, width, height });
            } catch (e) {
              if (e instanceof FfmpegNotFoundError) throw new ServiceFailure(500, "InternalFailure", `GetImages needs ffmpeg: ${e.message}`);
              throw e;
            }
            const imgs = await decoder.keyframeImages({ fragment: { tracks: media.tracks }, frames: media.frames });
            const first = media.frames[0]?.timestampMs ?? 0;
            keys = imgs.map((i) => ({ at: timeOf(f) + (i.timestampMs - first), data: i.data }));
          }
          decoded.set(f.fragmentNumber, keys);
        }
        const key = keys?.filter((k) => k.at <= t).at(-1) ?? keys?.[0];
        if (!key) images.push({ TimeStamp: t / 1000, Error: "MEDIA_ERROR" });
        else images.push({ TimeStamp: t / 1000, ImageContent: Buffer.from(key.data).toString("base64") });
      }
    } finally {
      decoder?.close();
    }
    const next = index + pageSize < times.length ? Buffer.from(String(index + pageSize)).toString("base64") : undefined;
    return { Images: images, NextToken: next };
  }

  /** GetHLSStreamingSessionURL / GetDASHStreamingSessionURL: a session and the URL that serves it. */
  createSession(kind: "hls" | "dash", stream: ArchiveStream, body: Record<string, unknown>): string {
    const mode = (body.PlaybackMode ?? "LIVE") as Mode;
    if (!["LIVE", "LIVE_REPLAY", "ON_DEMAND"].includes(mode)) throw new ServiceFailure(400, "InvalidArgumentException", `bad PlaybackMode ${String(mode)}`);
    const sel = (kind === "hls" ? body.HLSFragmentSelector : body.DASHFragmentSelector) as
      | { FragmentSelectorType?: string; TimestampRange?: { StartTimestamp?: unknown; EndTimestamp?: unknown } }
      | undefined;
    const producer = sel?.FragmentSelectorType === "PRODUCER_TIMESTAMP";
    let startMs = Number.NEGATIVE_INFINITY;
    let endMs = Number.POSITIVE_INFINITY;
    if (mode !== "LIVE") {
      if (!sel?.TimestampRange) throw new ServiceFailure(400, "InvalidArgumentException", `${mode} needs a fragment selector with a TimestampRange`);
      startMs = ms(sel.TimestampRange.StartTimestamp, "StartTimestamp");
      if (mode === "ON_DEMAND") endMs = ms(sel.TimestampRange.EndTimestamp, "EndTimestamp");
      else if (sel.TimestampRange.EndTimestamp !== undefined) endMs = ms(sel.TimestampRange.EndTimestamp, "EndTimestamp");
      if (this.select(stream, producer, startMs, endMs).length === 0)
        throw new ServiceFailure(404, "ResourceNotFoundException", "No fragments found in the given time range");
    } else {
      const newest = stream.fragments.at(-1);
      if (!newest || newest.serverTimestampMs < this.now() - 30_000)
        throw new ServiceFailure(404, "ResourceNotFoundException", "No fragments in the last 30 seconds");
    }
    const expires = Number(body.Expires ?? 300);
    if (!Number.isInteger(expires) || expires < 300 || expires > 43200)
      throw new ServiceFailure(400, "InvalidArgumentException", "Expires is 300 to 43200 seconds");
    const max = Number((kind === "hls" ? body.MaxMediaPlaylistFragmentResults : body.MaxManifestFragmentResults) ?? (mode === "ON_DEMAND" ? 1000 : 5));
    const token = randomBytes(24).toString("base64url");
    this.sessions.set(token, {
      kind,
      stream,
      mode,
      producer,
      startMs,
      endMs,
      maxFragments: Math.max(1, Math.min(5000, max)),
      expiresAt: this.now() + expires * 1000,
      displayTimestamp: body.DisplayFragmentTimestamp === "ALWAYS",
      remuxer: null,
      tracks: [],
      init: null,
      segments: [],
      lastFed: null,
      current: null,
      feeding: Promise.resolve(),
      seq: 0,
    });
    return kind === "hls"
      ? `${this.endpoint()}/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=${token}`
      : `${this.endpoint()}/dash/v1/getDASHManifest.mpd?SessionToken=${token}`;
  }

  /** Serves a GET of a session's URL (playlists, manifest, init and media segments). */
  async serve(url: URL, res: ServerResponse): Promise<void> {
    const token = url.searchParams.get("SessionToken") ?? "";
    const session = this.sessions.get(token);
    if (!session) throw new ServiceFailure(403, "NotAuthorizedException", "unknown or revoked SessionToken");
    if (this.now() > session.expiresAt) {
      this.sessions.delete(token);
      throw new ServiceFailure(403, "NotAuthorizedException", "the session has expired");
    }
    const action = url.pathname.split("/").at(-1) ?? "";
    const text = (type: string, body: string) => {
      res.writeHead(200, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-cache" });
      res.end(body);
    };
    const binary = (bytes: Uint8Array) => {
      res.writeHead(200, { "content-type": "video/mp4", "content-length": bytes.length });
      res.end(bytes);
    };
    const fed = session.feeding.then(() => this.feed(session));
    session.feeding = fed.catch(() => {});
    await fed;
    const q = `SessionToken=${token}&TrackNumber=1`;
    switch (action) {
      case "getHLSMasterPlaylist.m3u8": {
        const video = session.tracks.find((t) => t.kind === "video")?.video;
        const codecs = /codecs="([^"]*)"/.exec(mp4MimeType(session.tracks) ?? "")?.[1] ?? "";
        const resolution = video?.pixelWidth && video.pixelHeight ? `,RESOLUTION=${video.pixelWidth}x${video.pixelHeight}` : "";
        return text(
          "application/vnd.apple.mpegurl",
          `#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=${this.bandwidth(session)},CODECS="${codecs.replace(/ /g, "")}"${resolution}\ngetHLSMediaPlaylist.m3u8?${q}\n`,
        );
      }
      case "getHLSMediaPlaylist.m3u8":
        return text("application/vnd.apple.mpegurl", this.mediaPlaylist(session, q));
      case "getDASHManifest.mpd":
        return text("application/dash+xml", this.manifest(session, q));
      case "getMP4InitFragment.mp4":
        if (!session.init) throw new ServiceFailure(404, "ResourceNotFoundException", "no media in the session yet");
        return binary(session.init);
      case "getMP4MediaFragment.mp4": {
        const n = url.searchParams.get("FragmentNumber");
        const seq = url.searchParams.get("SequenceNumber");
        const seg = session.segments.find((x) => (seq !== null ? String(x.seq) === seq : x.fragmentNumber === n));
        if (!seg) throw new ServiceFailure(404, "ResourceNotFoundException", `fragment ${n} is not in the session`);
        return binary(seg.bytes);
      }
      default:
        throw new ServiceFailure(404, "ResourceNotFoundException", `unknown resource ${action}`);
    }
  }

  private select(stream: ArchiveStream, producer: boolean, start: number, end: number): StoredFragment[] {
    return stream.fragments.filter((f) => {
      const t = producer ? f.producerTimestampMs : f.serverTimestampMs;
      return t >= start && t <= end;
    });
  }

  /** Remuxes the session's fragments not yet made into segments: one fMP4 segment per fragment. */
  private async feed(s: Session): Promise<void> {
    const all = s.stream.fragments;
    let from: number;
    if (s.lastFed === null) {
      if (s.mode === "LIVE") from = Math.max(0, all.length - s.maxFragments);
      else from = all.findIndex((f) => (s.producer ? f.producerTimestampMs : f.serverTimestampMs) >= s.startMs);
      if (from < 0) return;
    } else from = all.findIndex((f) => f.fragmentNumber === s.lastFed) + 1;
    if (from <= 0 && s.lastFed !== null) return; // the last fed fragment expired: nothing new can follow it
    for (let i = from; i < all.length; i++) {
      const f = all[i]!;
      const t = s.producer ? f.producerTimestampMs : f.serverTimestampMs;
      if (t > s.endMs) break;
      const media = mediaOfCached(f);
      s.lastFed = f.fragmentNumber;
      s.current = { fragmentNumber: f.fragmentNumber, durationSec: media.durationMs / 1000 };
      if (s.remuxer === null) {
        if (!mp4MimeType(media.tracks)) throw new ServiceFailure(400, "UnsupportedStreamMediaType", "no track fMP4 can hold (H.264/H.265, AAC)");
        s.tracks = media.tracks;
        s.remuxer = new Mp4Remuxer(media.tracks, {
          kind: "fragments",
          onInit: (b) => (s.init = b),
          onFragment: (bytes, startSec) => {
            s.segments.push({ seq: s.seq++, ...s.current!, bytes, startMs: startSec * 1000 });
            if (s.segments.length > MAX_SEGMENTS_KEPT) s.segments.shift();
          },
        });
      }
      await s.remuxer.addFragment(media.frames);
    }
  }

  private window(s: Session): Segment[] {
    return s.mode === "ON_DEMAND" ? s.segments.slice(0, s.maxFragments) : s.segments.slice(-s.maxFragments);
  }

  private bandwidth(s: Session): number {
    const seg = s.segments.slice(-10);
    const bytes = seg.reduce((n, x) => n + x.bytes.length, 0);
    const sec = seg.reduce((n, x) => n + x.durationSec, 0);
    return sec > 0 ? Math.round((bytes * 8) / sec) : 1_000_000;
  }

  private mediaPlaylist(s: Session, q: string): string {
    const segs = this.window(s);
    const target = Math.max(1, Math.ceil(Math.max(0, ...segs.map((x) => x.durationSec))));
    const lines = ["#EXTM3U", "#EXT-X-VERSION:7", `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${segs[0]?.seq ?? s.seq}`];
    if (s.mode === "ON_DEMAND") lines.push("#EXT-X-PLAYLIST-TYPE:VOD");
    lines.push(`#EXT-X-MAP:URI="getMP4InitFragment.mp4?${q}"`);
    const byNumber = new Map(s.stream.fragments.map((f) => [f.fragmentNumber, f]));
    for (const seg of segs) {
      const f = byNumber.get(seg.fragmentNumber);
      if (s.displayTimestamp && f) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.producer ? f.producerTimestampMs : f.serverTimestampMs).toISOString()}`);
      lines.push(`#EXTINF:${seg.durationSec.toFixed(3)},`, `getMP4MediaFragment.mp4?FragmentNumber=${seg.fragmentNumber}&${q}`);
    }
    if (s.mode === "ON_DEMAND") lines.push("#EXT-X-ENDLIST");
    return `${lines.join("\n")}\n`;
  }

  private manifest(s: Session, q: string): string {
    const segs = this.window(s);
    const esc = (x: string) => x.replace(/&/g, "&amp;");
    const video = s.tracks.find((t) => t.kind === "video")?.video;
    const codecs = /codecs="([^"]*)"/.exec(mp4MimeType(s.tracks) ?? "")?.[1]?.replace(/ /g, "") ?? "";
    const total = segs.reduce((n, x) => n + x.durationSec, 0);
    const live = s.mode !== "ON_DEMAND";
    const first = segs[0];
    return [
      `<?xml version="1.0" encoding="UTF-8"?>`,
      `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:kvs="https://kinesisvideo.amazonaws.com/mpd" profiles="urn:mpeg:dash:profile:isoff-live:2011" minBufferTime="PT2S" ${
        live
          ? `type="dynamic" availabilityStartTime="${new Date(this.now() - ((first?.startMs ?? 0) + total * 1000)).toISOString()}" minimumUpdatePeriod="PT1S" timeShiftBufferDepth="PT${Math.ceil(total) + 10}S"`
          : `type="static" mediaPresentationDuration="PT${total.toFixed(3)}S"`
      }>`,
      `<Period id="0" start="PT0S">`,
      `<AdaptationSet mimeType="video/mp4" segmentAlignment="true">`,
      `<Representation id="1" codecs="${codecs}" bandwidth="${this.bandwidth(s)}"${video?.pixelWidth ? ` width="${video.pixelWidth}" height="${video.pixelHeight}"` : ""}>`,
      `<SegmentTemplate timescale="1000" initialization="${esc(`getMP4InitFragment.mp4?${q}`)}" media="${esc(`getMP4MediaFragment.mp4?SequenceNumber=$Number$&${q}`)}" startNumber="${first?.seq ?? 0}">`,
      "<SegmentTimeline>",
      ...segs.map(
        (x) => `<S t="${Math.round(x.startMs)}" d="${Math.round(x.durationSec * 1000)}"${s.displayTimestamp ? ` kvs:fn="${x.fragmentNumber}"` : ""}/>`,
      ),
      "</SegmentTimeline>",
      "</SegmentTemplate>",
      "</Representation>",
      "</AdaptationSet>",
      "</Period>",
      "</MPD>",
      "",
    ].join("\n");
  }
}

/** The media of the fragments used last (a few dozen: sessions and image requests read the newest again and again). */
const mediaCache = new Map<StoredFragment, FragmentMedia>();
function mediaOfCached(f: StoredFragment): FragmentMedia {
  let m = mediaCache.get(f);
  if (m) mediaCache.delete(f);
  else m = mediaOf(f);
  mediaCache.set(f, m);
  if (mediaCache.size > 64) mediaCache.delete(mediaCache.keys().next().value!);
  return m;
}

/** Bytes written at positions (an MP4 muxer's output, which writes back once). */
class GrowableBuffer {
  private buf = new Uint8Array(1 << 16);
  private length = 0;

  write(bytes: Uint8Array, at: number): void {
    const end = at + bytes.length;
    if (end > this.buf.length) {
      const next = new Uint8Array(Math.max(end, this.buf.length * 2));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    this.buf.set(bytes, at);
    this.length = Math.max(this.length, end);
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
