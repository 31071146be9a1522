import {
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedVideoPacketSource,
  FilePathTarget,
  Mp4OutputFormat,
  NullTarget,
  Output,
  StreamTarget,
  type StreamTargetChunk,
} from "mediabunny";
import { parseAacConfig } from "../codec/adts.js";
import { concatBytes } from "../ebml/writer.js";
import type { Track } from "../matroska/model.js";
import { KvsParserError } from "../ebml/kvs-parser-error.js";

/** What the remuxer needs of a track (a parsed {@link Track} is one). */
export interface Mp4Track {
  readonly number: number;
  readonly kind: Track["kind"];
  readonly codecId: string;
  readonly codecPrivate: Uint8Array | null;
  readonly video: { readonly pixelWidth: number | null; readonly pixelHeight: number | null } | null;
  readonly audio: { readonly channels: number; readonly samplingFrequency: number } | null;
}

/** What the remuxer needs of a frame (a parsed Frame is one). */
export interface Mp4Sample {
  readonly track: number;
  readonly timestampMs: number;
  readonly durationMs: number | null;
  readonly keyframe: boolean;
  readonly data: Uint8Array;
  readonly encrypted?: boolean;
}

/** Options of {@link Mp4Remuxer}. */
export interface Mp4RemuxerOptions {
  /**
   * The stream time (ms) that is time 0 in the MP4 (default: the first fragment's earliest frame).
   * Outputs of separate remuxers with one origin share one timeline (pieces of a clip joined later).
   */
  readonly originMs?: number;
}

/** A track cannot go into MP4 (codec, or missing CodecPrivate). */
export class Mp4CodecError extends KvsParserError {
  override readonly name = "Mp4CodecError";
  /** Always "MP4_CODEC". */
  declare readonly code: "MP4_CODEC";
  /** What MP4 cannot hold (`message`). */
  constructor(message: string, options?: ErrorOptions) {
    super("MP4_CODEC", message, { ...options, action: "record to .mkv instead (Matroska holds any codec)" });
  }
}

/** Where an MP4 goes. */
export type Mp4Target =
  /** Fragmented MP4 for Media Source Extensions / HLS: the init segment, then one moof+mdat per KVS fragment. */
  | { readonly kind: "fragments"; onInit(bytes: Uint8Array): void; onFragment(bytes: Uint8Array, startSec: number): void }
  /** A plain MP4 file (written as it goes; its moov is appended at the end). */
  | { readonly kind: "file"; readonly path: string }
  /** A plain MP4 to any sink that takes positional writes (one write goes back, to patch the mdat size). */
  | { readonly kind: "positional"; write(bytes: Uint8Array, position: number): Promise<void> | void };

const hex = (b: number | undefined) => (b ?? 0).toString(16).padStart(2, "0");

/** The RFC 6381 codec string of an avcC ("avc1.64001f"). */
export function avcCodecString(avcC: Uint8Array): string {
  return `avc1.${hex(avcC[1])}${hex(avcC[2])}${hex(avcC[3])}`;
}

/** The RFC 6381 codec string of an hvcC ("hvc1.1.6.L93.B0"). */
export function hevcCodecString(hvcC: Uint8Array): string {
  const b1 = hvcC[1] ?? 0;
  const space = ["", "A", "B", "C"][b1 >> 6]!;
  let compat = (((hvcC[2] ?? 0) << 24) | ((hvcC[3] ?? 0) << 16) | ((hvcC[4] ?? 0) << 8) | (hvcC[5] ?? 0)) >>> 0;
  let reversed = 0;
  for (let i = 0; i < 32; i++) {
    reversed = ((reversed << 1) | (compat & 1)) >>> 0;
    compat >>>= 1;
  }
  const constraints = [...hvcC.subarray(6, 12)];
  while (constraints.length && constraints[constraints.length - 1] === 0) constraints.pop();
  return [
    "hvc1",
    `${space}${b1 & 0x1f}`,
    reversed.toString(16),
    `${b1 & 0x20 ? "H" : "L"}${hvcC[12] ?? 0}`,
    ...constraints.map((x) => x.toString(16).toUpperCase()),
  ].join(".");
}

/** The RFC 6381 codec string of an AAC AudioSpecificConfig ("mp4a.40.2" for AAC LC, "mp4a.40.5" for HE-AAC). */
export function aacCodecString(asc: Uint8Array): string {
  const type = (asc[0] ?? 0x10) >> 3;
  return `mp4a.40.${type === 31 ? 32 + ((((asc[0] ?? 0) & 7) << 3) | ((asc[1] ?? 0) >> 5)) : type}`;
}

/** The codec string of a track as MP4 holds it (H.264, H.265, AAC, Opus), or null. */
function mp4CodecString(track: Mp4Track): string | null {
  const cp = track.codecPrivate;
  if (!cp) return null;
  if (track.codecId === "V_MPEG4/ISO/AVC") return avcCodecString(cp);
  if (track.codecId === "V_MPEGH/ISO/HEVC") return hevcCodecString(cp);
  if (track.codecId.startsWith("A_AAC")) return aacCodecString(cp);
  if (track.codecId === "A_OPUS") return "opus";
  return null;
}

/** The tracks an MP4 can hold from a stream's: the first H.264/H.265 video and the first AAC/Opus audio. */
export function mp4Tracks<T extends Mp4Track>(tracks: readonly T[]): { video: T | null; audio: T | null } {
  const video = tracks.find((t) => t.kind === "video" && mp4CodecString(t) !== null) ?? null;
  const audio = tracks.find((t) => t.kind === "audio" && mp4CodecString(t) !== null) ?? null;
  return { video, audio };
}

/** The MIME type with codecs of the MP4 made of these tracks, for MediaSource.addSourceBuffer (`video/mp4; codecs="avc1.4d401e, mp4a.40.2"`), or null. */
export function mp4MimeType(tracks: readonly Mp4Track[]): string | null {
  const { video, audio } = mp4Tracks(tracks);
  const codecs = [video, audio].filter((t): t is Mp4Track => t !== null).map((t) => mp4CodecString(t)!);
  if (codecs.length === 0) return null;
  return `${video ? "video" : "audio"}/mp4; codecs="${codecs.join(", ")}"`;
}

interface Lane {
  readonly track: Mp4Track;
  readonly source: EncodedVideoPacketSource | EncodedAudioPacketSource;
  started: boolean;
  /** The frame interval (s) for frames that carry no duration: the median gap of the track's last fragment. */
  nominalSec: number;
}

/**
 * Remuxes a stream's frames to MP4 without decoding (mediabunny muxes the encoded packets): H.264 or H.265
 * video and AAC or Opus audio, to fragmented MP4 (an init segment, then one moof+mdat per KVS fragment:
 * what Media Source Extensions and HLS take) or to a plain .mp4. Timestamps start at 0 from the first
 * frame of the first fragment; a packet without a duration of its own (video in KVS) lasts the track's median frame interval.
 */
export class Mp4Remuxer {
  private readonly output: Output;
  private readonly lanes: Lane[] = [];
  private readonly byTrack = new Map<number, Lane>();
  private t0: number | null = null;
  private started = false;
  private readonly fragmented: boolean;
  private readonly pending: (() => void)[] = [];
  /** Frames not written because their track cannot go into MP4, or before the track's first keyframe. */
  skipped = 0;

  /** A remuxer for a stream's tracks (see {@link mp4Tracks}); throws Mp4CodecError when none can go into MP4. */
  constructor(
    tracks: readonly Mp4Track[],
    target: Mp4Target,
    private readonly options: Mp4RemuxerOptions = {},
  ) {
    const { video, audio } = mp4Tracks(tracks);
    if (!video && !audio)
      throw new Mp4CodecError(`no track MP4 can hold (H.264/H.265 with CodecPrivate, AAC/Opus): ${tracks.map((t) => t.codecId).join(", ")}`);
    this.mimeType = mp4MimeType(tracks)!;
    const fragmented = target.kind === "fragments";
    this.fragmented = fragmented;
    let init: Uint8Array[] = [];
    let moof: Uint8Array | null = null;
    let moofStart = 0;
    // The callbacks must never throw (an exception there breaks the muxer): deliver after each await.
    const format = new Mp4OutputFormat({
      fastStart: fragmented ? "fragmented" : false,
      minimumFragmentDuration: Number.POSITIVE_INFINITY,
      ...(target.kind === "fragments"
        ? {
            onFtyp: (d: Uint8Array) => void init.push(d),
            onMoov: (d: Uint8Array) => {
              init.push(d);
              const bytes = concatBytes(init);
              init = [];
              this.pending.push(() => target.onInit(bytes));
            },
            onMoof: (d: Uint8Array, _p: number, start: number) => {
              moof = d;
              moofStart = start;
            },
            onMdat: (d: Uint8Array) => {
              const bytes = concatBytes([moof!, d]);
              const start = moofStart;
              moof = null;
              this.pending.push(() => target.onFragment(bytes, start));
            },
          }
        : {}),
    });
    const out =
      target.kind === "fragments"
        ? new NullTarget()
        : target.kind === "file"
          ? new FilePathTarget(target.path)
          : new StreamTarget(new WritableStream<StreamTargetChunk>({ write: (c) => target.write(c.data, c.position) }));
    this.output = new Output({ format, target: out });
    if (video) {
      const source = new EncodedVideoPacketSource(video.codecId === "V_MPEG4/ISO/AVC" ? "avc" : "hevc");
      const codec = mp4CodecString(video)!;
      this.output.addVideoTrack(source, {
        decoderConfig: { codec, codedWidth: video.video?.pixelWidth ?? 16, codedHeight: video.video?.pixelHeight ?? 16, description: video.codecPrivate! },
      });
      this.lane(video, source);
    }
    if (audio) {
      const source = new EncodedAudioPacketSource(audio.codecId === "A_OPUS" ? "opus" : "aac");
      const channels = audio.audio?.channels ?? 2;
      const decoderConfig =
        audio.codecId === "A_OPUS"
          ? { codec: "opus", sampleRate: 48000, numberOfChannels: channels, description: audio.codecPrivate! }
          : {
              codec: mp4CodecString(audio)!,
              sampleRate: parseAacConfig(audio.codecPrivate!).sampleRate,
              numberOfChannels: channels,
              description: audio.codecPrivate!,
            };
      this.output.addAudioTrack(source, { decoderConfig });
      this.lane(audio, source);
    }
  }

  /** The MIME type with codecs, for MediaSource.addSourceBuffer (e.g. `video/mp4; codecs="avc1.4d401e, mp4a.40.2"`). */
  readonly mimeType: string;

  /**
   * Adds one KVS fragment's frames (in stream order); in fragmented MP4 the previous fragment is written
   * as one moof+mdat first. Frames of other tracks are skipped.
   */
  async addFragment(frames: readonly Mp4Sample[]): Promise<void> {
    if (!this.started) {
      await this.output.start();
      this.started = true;
    }
    for (const lane of this.lanes) {
      const pts = frames.filter((f) => f.track === lane.track.number).map((f) => f.timestampMs);
      const gaps = pts
        .sort((a, b) => a - b)
        .slice(1)
        .map((t, i) => t - pts[i]!)
        .filter((g) => g > 0)
        .sort((a, b) => a - b);
      if (gaps.length > 0) lane.nominalSec = gaps[Math.floor(gaps.length / 2)]! / 1000;
    }
    // Time 0 is the earliest frame of the first fragment (any track), so the tracks stay in sync.
    this.t0 ??= this.options.originMs ?? null;
    if (this.t0 === null) for (const f of frames) if (this.byTrack.has(f.track) && (this.t0 === null || f.timestampMs < this.t0)) this.t0 = f.timestampMs;
    for (const f of frames) await this.add(f);
    if (this.fragmented && frames.length > 0) {
      // One moof+mdat per KVS fragment, out at once (what mediabunny's own HLS muxer does; not in its typings).
      await (this.output as unknown as { _muxer: { forceFragmentFinalization(): Promise<void> } })._muxer.forceFragmentFinalization();
    }
    this.deliver();
  }

  /** Writes what is left and closes the MP4 (a plain file gets its moov). */
  async finalize(): Promise<void> {
    if (!this.started) await this.output.start();
    for (const lane of this.lanes) lane.source.close();
    await this.output.finalize();
    this.deliver();
  }

  /** Stops without finishing the output. */
  async cancel(): Promise<void> {
    await this.output.cancel().catch(() => {});
  }

  private lane(track: Mp4Track, source: EncodedVideoPacketSource | EncodedAudioPacketSource): void {
    const lane: Lane = { track, source, started: false, nominalSec: 0 };
    this.lanes.push(lane);
    this.byTrack.set(track.number, lane);
  }

  private async add(f: Mp4Sample): Promise<void> {
    const lane = this.byTrack.get(f.track);
    if (!lane || f.encrypted) {
      this.skipped++;
      return;
    }
    if (!lane.started) {
      if (!f.keyframe) {
        this.skipped++; // an MP4 track starts with a keyframe
        return;
      }
      lane.started = true;
    }
    this.t0 ??= f.timestampMs;
    const durationSec = f.durationMs !== null ? f.durationMs / 1000 : lane.nominalSec;
    await lane.source.add(new EncodedPacket(f.data, f.keyframe ? "key" : "delta", Math.max(0, (f.timestampMs - this.t0) / 1000), durationSec));
  }

  private deliver(): void {
    for (const p of this.pending.splice(0)) p();
  }
}
