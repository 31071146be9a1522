import { ID } from "../ebml/schema.js";
import { concatBytes, element, encodeSize, floatElement, stringElement, uintElement, unknownSizeHeader } from "../ebml/writer.js";
import { tagsElement } from "../kvs/fragment-writer.js";
import type { Track } from "../matroska/model.js";

/** A frame to put: the fields of a parsed `Frame` the writer needs (a parsed Frame will do). */
export interface FrameInput {
  readonly track: number;
  /** Media time in ms (any origin: the first frame's time is the upload's start). */
  readonly timestampMs: number;
  readonly keyframe: boolean;
  readonly data: Uint8Array;
}

/** A fragment ready to upload: one Cluster (with the metadata Tags before it). */
export interface ProducerFragment {
  /** The Cluster's timecode as sent (ms): absolute epoch ms, or from the upload's start in RELATIVE mode. */
  readonly timecodeMs: number;
  readonly bytes: Uint8Array;
  readonly frames: number;
  /** Media time from its first frame to its last (ms). */
  readonly durationMs: number;
  /** True when it starts with a keyframe of every video track it has. */
  readonly keyframe: boolean;
}

/** Options of {@link Fragmenter}. */
export interface FragmenterOptions {
  /** Cut a new fragment at the first keyframe this long after the current one started (default 2000 ms). */
  readonly fragmentDurationMs?: number;
  /**
   * "ABSOLUTE" (default): cluster timecodes are epoch ms, `startMs` plus the media time since the first
   * frame. "RELATIVE": ms since the first frame (the upload's x-amzn-producer-start-timestamp is `startMs`).
   */
  readonly timecodeType?: "ABSOLUTE" | "RELATIVE";
  /** The producer time of the first frame, epoch ms (default: when the first frame is written). */
  readonly startMs?: number;
}

/** Block timecodes are 16-bit offsets from their Cluster's: a cluster is cut before they overflow. */
const MAX_BLOCK_OFFSET_MS = 32_767;

/**
 * The fragmenting writer: frames in, one Cluster per fragment out, as the KVS producer SDKs write them.
 * A fragment is cut at the first keyframe of the video track (any frame, for audio alone) at least
 * `fragmentDurationMs` after it began, and always before a block's 16-bit time offset would overflow.
 * Metadata tags go in a Tags element before the fragment they belong to: one-off ones once, persistent
 * ones with every fragment until removed. {@link header} is what an upload starts with.
 */
export class Fragmenter {
  private readonly durationMs: number;
  private readonly relative: boolean;
  private startMs: number | null;
  private firstTs: number | null = null;
  private blocks: Uint8Array[] = [];
  private clusterTc = 0;
  private clusterFirstTs = 0;
  private lastTs = 0;
  private frames = 0;
  private startsKey = true;
  private readonly persistent = new Map<string, string>();
  private oneOff: [string, string][] = [];
  private readonly videoTracks: ReadonlySet<number>;

  /** A writer for the given tracks (from the source's `tracks` event, or made by hand). */
  constructor(
    readonly tracks: readonly Track[],
    options: FragmenterOptions = {},
  ) {
    this.durationMs = options.fragmentDurationMs ?? 2000;
    this.relative = options.timecodeType === "RELATIVE";
    this.startMs = options.startMs ?? null;
    this.videoTracks = new Set(tracks.filter((t) => t.kind === "video").map((t) => t.number));
  }

  /** The producer start time (epoch ms): set, or taken at the first frame. */
  get producerStartMs(): number | null {
    return this.startMs;
  }

  /** What an upload starts with: EBML header, a Segment of unknown size, Info and Tracks. */
  header(): Uint8Array {
    const ebml = element(ID.EBML, [
      uintElement(ID.EBMLVersion, 1),
      uintElement(ID.EBMLReadVersion, 1),
      uintElement(ID.EBMLMaxIDLength, 4),
      uintElement(ID.EBMLMaxSizeLength, 8),
      stringElement(ID.DocType, "matroska"),
      uintElement(ID.DocTypeVersion, 4),
      uintElement(ID.DocTypeReadVersion, 2),
    ]);
    const info = element(ID.Info, [
      uintElement(ID.TimestampScale, 1_000_000),
      stringElement(ID.MuxingApp, "kvs-parser"),
      stringElement(ID.WritingApp, "kvs-parser"),
    ]);
    return concatBytes([ebml, unknownSizeHeader(ID.Segment), info, element(ID.Tracks, this.tracks.map(trackEntry))]);
  }

  /** Adds a metadata tag (the producer SDK's putFragmentMetadata): to the next fragment, or every one from it on when persistent; an empty persistent value removes it. */
  putMetadata(name: string, value: string, persistent = false): void {
    if (name.startsWith("AWS")) throw new RangeError(`metadata names starting with "AWS" are the service's: ${name}`);
    if (!persistent) this.oneOff.push([name, value]);
    else if (value === "") this.persistent.delete(name);
    else this.persistent.set(name, value);
  }

  /** Takes the next frame (in time order per track); returns the fragment it closed, if it starts a new one. */
  push(frame: FrameInput): ProducerFragment | null {
    if (!this.tracks.some((t) => t.number === frame.track)) throw new RangeError(`frame of track ${frame.track}, which is not in the tracks`);
    this.startMs ??= Date.now();
    this.firstTs ??= frame.timestampMs;
    const ts = frame.timestampMs;
    let closed: ProducerFragment | null = null;
    if (this.frames > 0) {
      const cuts = this.videoTracks.size === 0 ? true : frame.keyframe && this.videoTracks.has(frame.track);
      const overflow = Math.round(ts - this.clusterFirstTs) > MAX_BLOCK_OFFSET_MS || Math.round(ts - this.clusterFirstTs) < -32_768;
      if ((cuts && ts - this.clusterFirstTs >= this.durationMs) || overflow) closed = this.flush();
    }
    if (this.frames === 0) {
      this.clusterFirstTs = ts;
      this.clusterTc = Math.round(this.relative ? ts - this.firstTs : this.startMs + (ts - this.firstTs));
      this.startsKey = !this.videoTracks.has(frame.track) || frame.keyframe;
    }
    this.blocks.push(simpleBlock(frame.track, Math.round(ts - this.clusterFirstTs), frame.keyframe, frame.data));
    this.frames++;
    this.lastTs = Math.max(this.lastTs, ts);
    return closed;
  }

  /** Closes the fragment being written (at the end of the frames); null when it holds none. */
  flush(): ProducerFragment | null {
    if (this.frames === 0) return null;
    const tags = [...this.persistent.entries(), ...this.oneOff];
    this.oneOff = [];
    const cluster = element(ID.Cluster, [uintElement(ID.Timestamp, this.clusterTc), ...this.blocks]);
    const fragment: ProducerFragment = {
      timecodeMs: this.clusterTc,
      bytes: tags.length > 0 ? concatBytes([tagsElement(tags), cluster]) : cluster,
      frames: this.frames,
      durationMs: this.lastTs - this.clusterFirstTs,
      keyframe: this.startsKey,
    };
    this.blocks = [];
    this.frames = 0;
    return fragment;
  }
}

function simpleBlock(track: number, offsetMs: number, keyframe: boolean, data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4);
  if (track > 126) throw new RangeError(`track number ${track}: at most 126`);
  head[0] = 0x80 | track;
  head[1] = (offsetMs >> 8) & 0xff;
  head[2] = offsetMs & 0xff;
  head[3] = keyframe ? 0x80 : 0x00;
  return concatBytes([Uint8Array.of(ID.SimpleBlock), encodeSize(head.length + data.length), head, data]);
}

function trackEntry(t: Track): Uint8Array {
  const parts: Uint8Array[] = [
    uintElement(ID.TrackNumber, t.number),
    uintElement(ID.TrackUID, t.uid !== null ? BigInt(t.uid) : BigInt(t.number)),
    uintElement(ID.TrackType, t.typeCode ?? (t.kind === "video" ? 1 : t.kind === "audio" ? 2 : 0x21)),
    stringElement(ID.CodecID, t.codecId),
  ];
  if (t.name !== null) parts.push(stringElement(ID.Name, t.name));
  if (t.codecPrivate !== null) parts.push(element(ID.CodecPrivate, t.codecPrivate));
  if (t.defaultDurationNs !== null) parts.push(uintElement(ID.DefaultDuration, t.defaultDurationNs));
  if (t.video !== null) {
    const v: Uint8Array[] = [];
    if (t.video.pixelWidth !== null) v.push(uintElement(ID.PixelWidth, t.video.pixelWidth));
    if (t.video.pixelHeight !== null) v.push(uintElement(ID.PixelHeight, t.video.pixelHeight));
    parts.push(element(ID.Video, v));
  }
  if (t.audio !== null) {
    const a = [floatElement(ID.SamplingFrequency, t.audio.samplingFrequency), uintElement(ID.Channels, t.audio.channels)];
    if (t.audio.bitDepth !== null) a.push(uintElement(ID.BitDepth, t.audio.bitDepth));
    parts.push(element(ID.Audio, a));
  }
  return element(ID.TrackEntry, parts);
}
