import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { FfmpegNotFoundError } from "../decode/ffmpeg.js";
import { type DecodedImage, ImageDecoder, type ImageOptions } from "../decode/images.js";
import { writeKvsFragment } from "../kvs/fragment-writer.js";
import { KvsParser } from "../kvs/parser.js";
import type { Frame } from "../matroska/frame.js";
import type { Track } from "../matroska/model.js";
import { Mp4Remuxer, mp4MimeType, mp4Tracks } from "../record/mp4.js";
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
export interface FragmentMedia {
  readonly tracks: readonly Track[];
  readonly frames: readonly Frame[];
  /** Media time the fragment spans (first frame to the end of its last), ms. */
  readonly durationMs: number;
}

type Mode = "LIVE" | "LIVE_REPLAY" | "ON_DEMAND";

/** One fMP4 media segment of one track: one KVS fragment's frames of that track. */
interface Segment {
  /** Its number in its track's playlist (consecutive per track). */
  readonly seq: number;
  readonly fragmentNumber: string;
  readonly bytes: Uint8Array;
  /** The decode time of its first sample (tfdt), in its track's timescale. */
  readonly t: number;
  /** The sum of its samples' durations (trun), in its track's timescale. */
  readonly d: number;
}

/** One track of a session: its own remuxer, init segment and media segments (the service gives each track its own). */
interface Lane {
  readonly track: Track;
  readonly remuxer: Mp4Remuxer;
  /** The RFC 6381 codec string (`avc1.64001f`, `mp4a.40.2`). */
  readonly codec: string;
  init: Uint8Array | null;
  /** The track's timescale (mdhd of the init segment). */
  timescale: number;
  readonly segments: Segment[];
  seq: number;
  /** The fragment being remuxed: what its segment is named after. */
  current: string | null;
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
  /** Video first, then audio; empty until the first fragment was fed. */
  lanes: Lane[];
  /** The last fragment fed to the remuxers. */
  lastFed: string | null;
  /** Feeds run one after another (a playlist and a segment may be asked for at once). */
  feeding: Promise<void>;
}

/** How long one GetImages call may decode before its ffmpeg is killed (ms). */
const IMAGES_DEADLINE_MS = 30_000;
const MAX_SEGMENTS_KEPT = 1000;

/** Reads a JSON timestamp (epoch seconds) as ms. */
const ms = (v: unknown, what: string): number => {
  const n = Number(v) * 1000;
  if (!Number.isFinite(n)) throw new ServiceFailure(400, "InvalidArgumentException", `${what} is required`);
  return n;
};

/** A stored fragment's tracks and frames, parsed from its GetMedia form. */
export function mediaOf(f: StoredFragment): FragmentMedia {
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
 * streaming sessions whose URLs serve live or on-demand playlists of fMP4 segments: as the service, each
 * track (video, audio) has its own init and media segments (one per KVS fragment), HLS a media playlist
 * per track (audio as an EXT-X-MEDIA rendition), DASH an AdaptationSet per track.
 */
export class LocalArchive {
  private readonly sessions = new Map<string, Session>();
  /** The image decoders of GetImages calls running now. */
  private readonly decoders = new Set<ImageDecoder>();

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
      throw new ServiceFailure(400, "UnsupportedStreamMediaTypeException", "GetClip needs H.264 or H.265 video on the stream");
    if (!video.codecPrivate) throw new ServiceFailure(400, "MissingCodecPrivateDataException", "the video track has no codec private data");
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

  /**
   * GetImages: one entry per sampled timestamp (NO_MEDIA where nothing was recorded), 25 a page. The
   * keyframes the page needs go through one ffmpeg process, whose input is then ended: every image comes
   * out and the process exits (killed instead on error, on `signal` or past a deadline).
   */
  async getImages(stream: ArchiveStream, body: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
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
    const holders = page.map((t) => stream.fragments.find((x) => timeOf(x) <= t && t < timeOf(x) + Math.max(1, mediaOfCached(x).durationMs)) ?? null);
    const withVideo = [...new Set(holders)].filter((f): f is StoredFragment => f !== null && mediaOfCached(f).tracks.some((x) => x.kind === "video"));
    const keys = await this.keyframeImages(withVideo, timeOf, { format, keyframesOnly: true, quality, width, height }, signal);
    const images = page.map((t, i) => {
      const f = holders[i];
      if (!f) return { TimeStamp: t / 1000, Error: "NO_MEDIA" };
      const list = keys.get(f.fragmentNumber);
      const key = list?.filter((k) => k.at <= t).at(-1) ?? list?.[0];
      return key ? { TimeStamp: t / 1000, ImageContent: Buffer.from(key.data).toString("base64") } : { TimeStamp: t / 1000, Error: "MEDIA_ERROR" };
    });
    const next = index + pageSize < times.length ? Buffer.from(String(index + pageSize)).toString("base64") : undefined;
    return { Images: images, NextToken: next };
  }

  /** Kills every ffmpeg process of calls still running (the endpoint is closing) and forgets the sessions. */
  close(): void {
    for (const d of this.decoders) d.close();
    this.decoders.clear();
    this.sessions.clear();
  }

  /** The keyframes of the fragments as images (by fragment number, each at its stream time); a fragment that gives none is left out. */
  private async keyframeImages(
    fragments: readonly StoredFragment[],
    timeOf: (f: StoredFragment) => number,
    options: ImageOptions,
    signal: AbortSignal | undefined,
  ): Promise<Map<string, { at: number; data: Uint8Array }[]>> {
    const out = new Map<string, { at: number; data: Uint8Array }[]>();
    if (fragments.length === 0) return out;
    signal?.throwIfAborted();
    let decoder: ImageDecoder;
    // Every keyframe goes in before any image is taken: room for all of them, so none is dropped.
    const keyframes = fragments.reduce((n, f) => n + mediaOfCached(f).frames.filter((x) => x.keyframe).length, 0);
    try {
      decoder = new ImageDecoder({ ...options, maxPendingFrames: keyframes + 16 });
    } catch (e) {
      if (e instanceof FfmpegNotFoundError) throw new ServiceFailure(500, "InternalFailure", `GetImages needs ffmpeg: ${e.message}`);
      throw e;
    }
    this.decoders.add(decoder);
    let stopped: string | null = null;
    const stop = (why: string) => {
      stopped ??= why;
      decoder.close();
    };
    const onAbort = () => stop("the client went away");
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => stop(`image decoding took over ${IMAGES_DEADLINE_MS} ms`), IMAGES_DEADLINE_MS);
    const byNumber = new Map(fragments.map((f) => [f.fragmentNumber, f]));
    try {
      for (const f of fragments) {
        const media = mediaOfCached(f);
        decoder.push({ type: "tracks", offset: 0, tracks: media.tracks });
        for (const frame of media.frames) decoder.push(frame);
      }
      // Ending the input makes ffmpeg flush every image and exit; take() returns null after the last one.
      const ending = decoder.end();
      for (;;) {
        let img: DecodedImage | null;
        try {
          img = await decoder.take();
        } catch {
          break; // the decoder failed: what came out so far stands, the rest is MEDIA_ERROR
        }
        if (img === null) break;
        const f = img.fragmentNumber !== null ? byNumber.get(img.fragmentNumber) : undefined;
        if (!f) continue;
        const first = mediaOfCached(f).frames[0]?.timestampMs ?? 0;
        const list = out.get(f.fragmentNumber) ?? [];
        list.push({ at: timeOf(f) + (img.timestampMs - first), data: img.data });
        out.set(f.fragmentNumber, list);
      }
      await ending.catch(() => {});
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      decoder.close();
      this.decoders.delete(decoder);
    }
    if (stopped) throw new ServiceFailure(500, "InternalFailure", `GetImages stopped: ${stopped}`);
    for (const list of out.values()) list.sort((a, b) => a.at - b.at);
    return out;
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
    // API_reader_GetHLSStreamingSessionURL, Errors: UnsupportedStreamMediaTypeException at the call, from the tracks.
    const first = mode === "LIVE" ? stream.fragments.at(-1) : this.select(stream, producer, startMs, endMs)[0];
    if (first) this.lanes(mediaOf(first));
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
      lanes: [],
      lastFed: null,
      feeding: Promise.resolve(),
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
    const binary = (type: string, bytes: Uint8Array) => {
      res.writeHead(200, { "content-type": type, "content-length": bytes.length });
      res.end(bytes);
    };
    const fed = session.feeding.then(() => this.feed(session));
    session.feeding = fed.catch(() => {});
    await fed;
    const q = (lane: Lane) => `SessionToken=${token}&TrackNumber=${lane.track.number}`;
    /** The lane a TrackNumber names (the first, video, when none is given). */
    const lane = (): Lane => {
      const n = url.searchParams.get("TrackNumber");
      const found = n === null ? session.lanes[0] : session.lanes.find((l) => String(l.track.number) === n);
      if (!found) throw new ServiceFailure(404, "ResourceNotFoundException", n === null ? "no media in the session yet" : `no track ${n} in the session`);
      return found;
    };
    const mime = (l: Lane) => (l.track.kind === "audio" ? "audio/mp4" : "video/mp4");
    switch (action) {
      case "getHLSMasterPlaylist.m3u8":
        return text("application/vnd.apple.mpegurl", this.masterPlaylist(session, q));
      case "getHLSMediaPlaylist.m3u8": {
        const l = lane();
        return text("application/vnd.apple.mpegurl", this.mediaPlaylist(session, l, q(l)));
      }
      case "getDASHManifest.mpd":
        return text("application/dash+xml", this.manifest(session, q));
      case "getMP4InitFragment.mp4": {
        const l = lane();
        if (!l.init) throw new ServiceFailure(404, "ResourceNotFoundException", "no media in the session yet");
        return binary(mime(l), l.init);
      }
      case "getMP4MediaFragment.mp4": {
        const l = lane();
        const n = url.searchParams.get("FragmentNumber");
        const seq = url.searchParams.get("SequenceNumber");
        const seg = l.segments.find((x) => (seq !== null ? String(x.seq) === seq : x.fragmentNumber === n));
        if (!seg)
          throw new ServiceFailure(
            404,
            "ResourceNotFoundException",
            `fragment ${seq !== null ? `#${seq}` : n} of track ${l.track.number} is not in the session`,
          );
        return binary(mime(l), seg.bytes);
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

  /**
   * Remuxes the session's fragments not yet made into segments: per track (video, audio) its own fMP4,
   * one segment per fragment, all on one timeline (time 0 is the first fragment's earliest frame).
   */
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
      if (s.lanes.length === 0) s.lanes = this.lanes(media);
      for (const lane of s.lanes) {
        const frames = media.frames.filter((x) => x.track === lane.track.number);
        if (frames.length === 0) continue;
        lane.current = f.fragmentNumber;
        await lane.remuxer.addFragment(frames);
      }
    }
  }

  /** The lanes of a session, from its first fragment's tracks: the first H.264/H.265 video, the first AAC audio. */
  private lanes(first: FragmentMedia): Lane[] {
    const { video, audio } = mp4Tracks(first.tracks);
    const picked = [video, audio].filter((t): t is Track => t !== null && (t.kind === "video" || t.codecId.startsWith("A_AAC")));
    if (picked.length === 0 || !picked.some((t) => t.kind === "video" || t.number === first.tracks[0]?.number))
      throw new ServiceFailure(400, "UnsupportedStreamMediaTypeException", "no track fMP4 can hold (H.264/H.265 video, AAC audio)");
    // One origin for every track, so their segments share one timeline.
    const numbers = new Set(picked.map((t) => t.number));
    const originMs = Math.min(...first.frames.filter((x) => numbers.has(x.track)).map((x) => x.timestampMs));
    return picked.map((track) => {
      const lane: Lane = {
        track,
        codec: /codecs="([^"]*)"/.exec(mp4MimeType([track]) ?? "")?.[1] ?? "",
        init: null,
        timescale: 1000,
        segments: [],
        seq: 0,
        current: null,
        remuxer: new Mp4Remuxer(
          [track],
          {
            kind: "fragments",
            onInit: (b) => {
              lane.init = b;
              lane.timescale = initTimescale(b) ?? 1000;
            },
            onFragment: (bytes) => {
              const { t, d } = segmentTimes(bytes);
              lane.segments.push({ seq: lane.seq++, fragmentNumber: lane.current!, bytes, t, d });
              if (lane.segments.length > MAX_SEGMENTS_KEPT) lane.segments.shift();
            },
          },
          { originMs: Number.isFinite(originMs) ? originMs : undefined },
        ),
      };
      return lane;
    });
  }

  private window(s: Session, lane: Lane): Segment[] {
    return s.mode === "ON_DEMAND" ? lane.segments.slice(0, s.maxFragments) : lane.segments.slice(-s.maxFragments);
  }

  /**
   * The duration of each segment of a window (track timescale): up to the next segment's start, so the
   * timeline runs on without overlap or gap; the last one its own samples' sum.
   */
  private durations(lane: Lane, segs: readonly Segment[]): number[] {
    return segs.map((x, i) => {
      const next = segs[i + 1] ?? lane.segments[lane.segments.indexOf(x) + 1];
      return next ? next.t - x.t : x.d;
    });
  }

  private bandwidth(lanes: readonly Lane[]): number {
    let bits = 0;
    for (const lane of lanes) {
      const seg = lane.segments.slice(-10);
      const sec = seg.reduce((n, x) => n + x.d, 0) / lane.timescale;
      bits += sec > 0 ? (seg.reduce((n, x) => n + x.bytes.length, 0) * 8) / sec : 500_000;
    }
    return Math.round(bits) || 1_000_000;
  }

  /** The master playlist: the video playlist as the variant, the audio playlist as its AUDIO rendition (as the service). */
  private masterPlaylist(s: Session, q: (lane: Lane) => string): string {
    const video = s.lanes.find((l) => l.track.kind === "video");
    const audio = s.lanes.find((l) => l.track.kind === "audio");
    const main = video ?? audio;
    const lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"];
    if (!main) return `${lines.join("\n")}\n`;
    const codecs = [video, audio].filter((l): l is Lane => l !== undefined).map((l) => l.codec);
    const v = video?.track.video;
    const resolution = v?.pixelWidth && v.pixelHeight ? `,RESOLUTION=${v.pixelWidth}x${v.pixelHeight}` : "";
    if (video && audio)
      lines.push(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${AUDIO_GROUP}",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,URI="getHLSMediaPlaylist.m3u8?${q(audio)}"`);
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${this.bandwidth(s.lanes)},CODECS="${codecs.join(",")}"${resolution}${video && audio ? `,AUDIO="${AUDIO_GROUP}"` : ""}`,
      `getHLSMediaPlaylist.m3u8?${q(main)}`,
    );
    return `${lines.join("\n")}\n`;
  }

  private mediaPlaylist(s: Session, lane: Lane, q: string): string {
    const segs = this.window(s, lane);
    const durations = this.durations(lane, segs).map((d) => d / lane.timescale);
    const target = Math.max(1, Math.ceil(Math.max(0, ...durations)));
    const lines = ["#EXTM3U", "#EXT-X-VERSION:7", `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${segs[0]?.seq ?? lane.seq}`];
    if (s.mode === "ON_DEMAND") lines.push("#EXT-X-PLAYLIST-TYPE:VOD");
    lines.push(`#EXT-X-MAP:URI="getMP4InitFragment.mp4?${q}"`);
    const byNumber = new Map(s.stream.fragments.map((f) => [f.fragmentNumber, f]));
    segs.forEach((seg, i) => {
      const f = byNumber.get(seg.fragmentNumber);
      if (s.displayTimestamp && f) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.producer ? f.producerTimestampMs : f.serverTimestampMs).toISOString()}`);
      lines.push(`#EXTINF:${durations[i]!.toFixed(6)},`, `getMP4MediaFragment.mp4?FragmentNumber=${seg.fragmentNumber}&${q}`);
    });
    if (s.mode === "ON_DEMAND") lines.push("#EXT-X-ENDLIST");
    return `${lines.join("\n")}\n`;
  }

  /** The MPD: one AdaptationSet per track (video, audio), each with its own init and media segments and a gapless SegmentTimeline. */
  private manifest(s: Session, q: (lane: Lane) => string): string {
    const esc = (x: string) => x.replace(/&/g, "&amp;");
    const live = s.mode !== "ON_DEMAND";
    const windows = s.lanes.map((lane) => {
      const segs = this.window(s, lane);
      const d = this.durations(lane, segs);
      const startSec = (segs[0]?.t ?? 0) / lane.timescale;
      const totalSec = d.reduce((n, x) => n + x, 0) / lane.timescale;
      return { lane, segs, d, startSec, totalSec };
    });
    const main = windows[0];
    const endSec = Math.max(0, ...windows.map((w) => w.startSec + w.totalSec));
    const total = main?.totalSec ?? 0;
    const sets = windows.flatMap(({ lane, segs, d }, i) => {
      const v = lane.track.video;
      const a = lane.track.audio;
      const attrs =
        lane.track.kind === "video"
          ? `${v?.pixelWidth ? ` width="${v.pixelWidth}" height="${v.pixelHeight}"` : ""}`
          : ` audioSamplingRate="${a?.samplingFrequency ?? 48000}"`;
      return [
        `<AdaptationSet id="${i}" contentType="${lane.track.kind}" mimeType="${lane.track.kind}/mp4" segmentAlignment="true" startWithSAP="1">`,
        `<Representation id="${lane.track.number}" codecs="${lane.codec}" bandwidth="${this.bandwidth([lane])}"${attrs}>`,
        ...(lane.track.kind === "audio"
          ? [`<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${a?.channels ?? 2}"/>`]
          : []),
        `<SegmentTemplate timescale="${lane.timescale}" initialization="${esc(`getMP4InitFragment.mp4?${q(lane)}`)}" media="${esc(`getMP4MediaFragment.mp4?SequenceNumber=$Number$&${q(lane)}`)}" startNumber="${segs[0]?.seq ?? lane.seq}">`,
        "<SegmentTimeline>",
        ...segs.map((x, k) => `<S t="${x.t}" d="${d[k]}"${s.displayTimestamp ? ` kvs:fn="${x.fragmentNumber}"` : ""}/>`),
        "</SegmentTimeline>",
        "</SegmentTemplate>",
        "</Representation>",
        "</AdaptationSet>",
      ];
    });
    return [
      `<?xml version="1.0" encoding="UTF-8"?>`,
      `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:kvs="https://kinesisvideo.amazonaws.com/mpd" profiles="urn:mpeg:dash:profile:isoff-live:2011" minBufferTime="PT2S" ${
        live
          ? `type="dynamic" availabilityStartTime="${new Date(this.now() - endSec * 1000).toISOString()}" minimumUpdatePeriod="PT1S" timeShiftBufferDepth="PT${Math.ceil(total) + 10}S"`
          : `type="static" mediaPresentationDuration="PT${endSec.toFixed(3)}S"`
      }>`,
      `<Period id="0" start="PT0S">`,
      ...sets,
      "</Period>",
      "</MPD>",
      "",
    ].join("\n");
  }
}

/** The GROUP-ID of the audio rendition in HLS master playlists. */
const AUDIO_GROUP = "audio";

/** The boxes directly inside bytes [start, end) of an ISO BMFF file. */
function boxesIn(b: Uint8Array, start: number, end: number): { type: string; body: number; end: number }[] {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const out: { type: string; body: number; end: number }[] = [];
  let p = start;
  while (p + 8 <= end) {
    let size = v.getUint32(p);
    let header = 8;
    if (size === 1) {
      size = Number(v.getBigUint64(p + 8));
      header = 16;
    } else if (size === 0) size = end - p;
    if (size < header || p + size > end) break;
    out.push({ type: String.fromCharCode(b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!), body: p + header, end: p + size });
    p += size;
  }
  return out;
}

/** The first box of a path of types (`["moov", "trak", "mdia", "mdhd"]`). */
function boxAt(b: Uint8Array, path: readonly string[]): { body: number; end: number } | null {
  let range = { body: 0, end: b.length };
  for (const type of path) {
    const next = boxesIn(b, range.body, range.end).find((x) => x.type === type);
    if (!next) return null;
    range = next;
  }
  return range;
}

/** The timescale of an init segment's (only) track. */
function initTimescale(init: Uint8Array): number | null {
  const mdhd = boxAt(init, ["moov", "trak", "mdia", "mdhd"]);
  if (!mdhd) return null;
  const v = new DataView(init.buffer, init.byteOffset, init.length);
  return v.getUint32(mdhd.body + (init[mdhd.body] === 1 ? 20 : 12));
}

/** A media segment's start (tfdt) and the sum of its samples' durations (trun, else tfhd's default), in its track's timescale. */
function segmentTimes(seg: Uint8Array): { t: number; d: number } {
  const v = new DataView(seg.buffer, seg.byteOffset, seg.length);
  const traf = boxAt(seg, ["moof", "traf"]);
  if (!traf) return { t: 0, d: 0 };
  let t = 0;
  let d = 0;
  let defaultDuration = 0;
  for (const box of boxesIn(seg, traf.body, traf.end)) {
    const version = seg[box.body]!;
    const flags = v.getUint32(box.body) & 0xffffff;
    if (box.type === "tfhd") {
      let p = box.body + 8;
      if (flags & 0x01) p += 8;
      if (flags & 0x02) p += 4;
      if (flags & 0x08) defaultDuration = v.getUint32(p);
    } else if (box.type === "tfdt") {
      t = version === 1 ? Number(v.getBigUint64(box.body + 4)) : v.getUint32(box.body + 4);
    } else if (box.type === "trun") {
      const count = v.getUint32(box.body + 4);
      let p = box.body + 8 + (flags & 0x01 ? 4 : 0) + (flags & 0x04 ? 4 : 0);
      const stride = [0x100, 0x200, 0x400, 0x800].filter((f) => flags & f).length * 4;
      for (let i = 0; i < count; i++, p += stride) d += flags & 0x100 ? v.getUint32(p) : defaultDuration;
    }
  }
  return { t, d };
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
