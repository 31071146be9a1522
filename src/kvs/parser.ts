import { MatroskaDemuxer, type DemuxerOptions } from "../matroska/demuxer.js";
import type { Frame, FrameInit } from "../matroska/frame.js";
import type { MatroskaEvent, SimpleTag, Tag, Track } from "../matroska/model.js";
import type { MkvParseError } from "../ebml/errors.js";
import type { FragmentEvent } from "./fragment.js";
import { isKvsTagName, KvsTag, parseKvsTimestamp } from "./tags.js";

/** Everything {@link KvsParser} emits: the Matroska events plus one `fragment` event per fragment. */
export type KvsEvent = MatroskaEvent | FragmentEvent;

/** Options of the KVS stream parser: the limits and recovery of the demuxer. */
export interface KvsParserOptions extends DemuxerOptions {
  /**
   * Hand each fragment's exact bytes out with its `fragment` event (`bytes`: views into the chunks, no
   * copy). The parser then holds the chunks of one fragment (default false).
   */
  readonly keepBytes?: boolean;
}

class FragmentState {
  fragmentNumber: string | null = null;
  kvsTags: Record<string, string> = {};
  tags: SimpleTag[] = [];
  tracks: readonly Track[] = [];
  clusterTimestampMs: number | null = null;
  frameCount = 0;
  keyframeCount = 0;
  /** Frames per track number (dense: track numbers are small), and of numbers ≥ 1024 (made when one comes). */
  readonly perTrack: number[] = [];
  overflowTracks: Map<number, number> | null = null;
  payloadBytes = 0;
  firstTs: number | null = null;
  lastTs: number | null = null;
  endOffset: number;
  problems: MkvParseError[] = [];
  /** The fragment's SERVER_ / PRODUCER_TIMESTAMP, parsed: the last plain tag's, else the last _SIDE_ one's (null: none). */
  serverMs: number | null = null;
  producerMs: number | null = null;
  /** Whether serverMs / producerMs came from the plain tag. */
  serverPlain = false;
  producerPlain = false;
  constructor(readonly startOffset: number) {
    this.endOffset = startOffset;
  }
}

/**
 * Each fragment's `framesByTrack`. Building an object key by key costs about four times what copying
 * one of the same keys does, and a stream's fragments nearly always carry the same tracks: the keys of
 * the last one built are kept in an object of their own (never handed out), copied and filled in.
 */
class FramesByTrack {
  private keys: number[] = [];
  private template: Record<number, number> = {};

  of(f: FragmentState): Record<number, number> {
    const per = f.perTrack;
    if (f.overflowTracks === null && this.sameKeys(per)) {
      const out = { ...this.template };
      const keys = this.keys;
      for (let i = 0; i < keys.length; i++) out[keys[i]!] = per[keys[i]!]!;
      return out;
    }
    const out: Record<number, number> = {};
    const keys: number[] = [];
    const template: Record<number, number> = {};
    for (let t = 0; t < per.length; t++)
      if (per[t]! > 0) {
        out[t] = per[t]!;
        keys.push(t);
        template[t] = 0;
      }
    if (f.overflowTracks !== null) for (const [t, n] of f.overflowTracks) out[t] = n;
    else {
      this.keys = keys;
      this.template = template;
    }
    return out;
  }

  /** True when the tracks with frames in `per` are the kept keys. */
  private sameKeys(per: readonly number[]): boolean {
    const keys = this.keys;
    let k = 0;
    for (let t = 0; t < per.length; t++) if (per[t]! > 0 && keys[k++] !== t) return false;
    return k === keys.length;
  }
}

function numberOrNull(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : null;
}

/**
 * What the KVS layer stamps on frames: the fragment they came in and its clocks. Frames' producer and
 * server times are the fragment's PRODUCER/SERVER_TIMESTAMP plus their offset from its first Cluster.
 */
class FragmentStamp {
  fragmentNumber: string | null = null;
  producerBaseMs: number | null = null;
  serverBaseMs: number | null = null;
  /** Timestamp (ms) of the fragment's first Cluster, from its `cluster` event. */
  firstClusterMs: number | null = null;

  reset(): void {
    this.fragmentNumber = null;
    this.producerBaseMs = null;
    this.serverBaseMs = null;
    this.firstClusterMs = null;
  }

  /** The demuxer's stamping hook. */
  readonly apply = (init: FrameInit): void => {
    init.fragmentNumber = this.fragmentNumber;
    const p = this.producerBaseMs;
    const sv = this.serverBaseMs;
    const offset = init.timestampMs - (this.firstClusterMs ?? 0);
    init.producerTimestampMs = p === null ? null : p + offset;
    init.serverTimestampMs = sv === null ? null : sv + offset;
  };
}

/**
 * The streaming KVS parser: bytes in (GetMedia, GetMediaForFragmentList or any MKV), typed events out.
 * Frames are stamped with their fragment number; a `fragment` event follows each fragment's last frame,
 * as soon as its closing CONTINUATION_TOKEN tags arrive (or its Segment ends).
 */
export class KvsParser {
  private readonly demuxer: MatroskaDemuxer;
  private readonly stamp = new FragmentStamp();
  private readonly framesByTrack = new FramesByTrack();
  private readonly out: (event: KvsEvent) => void;
  private readonly outFrame: (frame: Frame) => void;
  private current: FragmentState | null = null;
  /** A fragment was completed by its closing tags but its Segment has not ended yet. */
  private lingering = false;
  private tracks: readonly Track[] = [];
  /** With keepBytes: the chunks since the current fragment began, with their stream offsets. */
  private readonly kept: { readonly base: number; readonly chunk: Uint8Array }[] | null;

  /** Creates a parser that calls `emit` synchronously for every event (frames: `onFrame` instead, when given). */
  constructor(emit: (event: KvsEvent) => void, options: KvsParserOptions = {}, onFrame?: (frame: Frame) => void) {
    this.out = emit;
    this.outFrame = onFrame ?? emit;
    this.kept = options.keepBytes ? [] : null;
    this.demuxer = new MatroskaDemuxer((ev) => this.onEvent(ev), options, { onFrame: (frame) => this.onFrame(frame) });
  }

  /** Feeds the next chunk. Throws MkvParseError on bad input unless `recover` is set. */
  push(chunk: Uint8Array): void {
    this.kept?.push({ base: this.demuxer.offset, chunk });
    this.demuxer.push(chunk);
  }

  /** With keepBytes: views of the bytes [start, end) from the kept chunks, and the chunks before `end` let go. */
  private bytesOf(start: number, end: number): Uint8Array[] {
    const kept = this.kept!;
    const out: Uint8Array[] = [];
    for (const { base, chunk } of kept) {
      const s = Math.max(start, base);
      const e = Math.min(end, base + chunk.length);
      if (s < e) out.push(chunk.subarray(s - base, e - base));
    }
    let done = 0;
    while (done < kept.length && kept[done]!.base + kept[done]!.chunk.length <= end) done++;
    kept.splice(0, done);
    return out;
  }

  /** Ends the input: completes the last fragment; throws TRUNCATED if the input was cut mid-element. */
  end(): void {
    this.demuxer.end();
    if (this.current) this.finish(this.demuxer.offset);
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.demuxer.offset;
  }

  private open(offset: number): FragmentState {
    const f = new FragmentState(offset);
    f.tracks = this.tracks;
    this.current = f;
    this.stamp.reset();
    this.demuxer.stampWith(null); // nothing to stamp until a tag says what (a plain MKV never calls the hook)
    return f;
  }

  /** Frames come here straight from the demuxer (the hot path): counted into the fragment and passed on. */
  private onFrame(frame: Frame): void {
    this.count(this.current ?? this.open(frame.offset), frame);
    this.outFrame(frame);
  }

  private onEvent(ev: MatroskaEvent): void {
    switch (ev.type) {
      case "frame": {
        const f = this.current ?? this.open(ev.offset);
        this.count(f, ev);
        break;
      }
      case "ebmlHeader":
        if (this.current) this.finish(ev.offset);
        this.lingering = false;
        this.open(ev.offset);
        break;
      case "segmentStart":
        if (!this.current) this.open(ev.offset);
        break;
      case "cluster": {
        const f = this.current ?? this.open(ev.offset);
        if (f.clusterTimestampMs === null) f.clusterTimestampMs = ev.timestampMs;
        this.stamp.firstClusterMs ??= ev.timestampMs;
        break;
      }
      case "tracks":
        this.tracks = ev.tracks;
        (this.current ?? this.open(ev.offset)).tracks = ev.tracks;
        break;
      case "tags":
        this.onTags(ev.tags, ev.offset);
        break;
      case "recovered":
        (this.current ?? this.open(ev.offset)).problems.push(ev.error);
        break;
      default:
        break;
    }
    this.out(ev);
    if (ev.type === "segmentEnd") {
      if (this.current) this.finish(ev.endOffset);
      this.lingering = false;
    } else if (ev.type === "tags" && ev.afterCluster && this.current && this.current.kvsTags[KvsTag.ContinuationToken] !== undefined) {
      this.finish(ev.endOffset);
      this.lingering = true;
    }
  }

  private onTags(tags: readonly Tag[], offset: number): void {
    if (!this.current && this.lingering && !tags.some((t) => t.simpleTags.some((st) => st.name === KvsTag.FragmentNumber))) {
      return; // trailing tags of a fragment already completed: still emitted as a tags event
    }
    const state = this.current ?? this.open(offset);
    // Indexed loops, no callback: this runs twice per fragment.
    for (let t = 0; t < tags.length; t++) {
      const simple = tags[t]!.simpleTags;
      for (let k = 0; k < simple.length; k++) this.onSimpleTag(state, simple[k]!);
    }
  }

  private onSimpleTag(state: FragmentState, st: SimpleTag): void {
    const name = st.name;
    if (!isKvsTagName(name)) {
      state.tags.push(st);
      return;
    }
    state.kvsTags[name] = st.value ?? "";
    if (name === KvsTag.FragmentNumber) {
      if (st.value !== null) {
        state.fragmentNumber = st.value;
        this.stamp.fragmentNumber = st.value;
        this.demuxer.stampWith(this.stamp.apply);
      }
    } else if (name === KvsTag.ProducerTimestamp || name === KvsTag.ProducerSideTimestamp) {
      this.stamp.producerBaseMs = parseKvsTimestamp(st.value ?? "");
      this.demuxer.stampWith(this.stamp.apply);
      if (name === KvsTag.ProducerTimestamp || !state.producerPlain) state.producerMs = this.stamp.producerBaseMs;
      state.producerPlain ||= name === KvsTag.ProducerTimestamp;
    } else if (name === KvsTag.ServerTimestamp || name === KvsTag.ServerSideTimestamp) {
      this.stamp.serverBaseMs = parseKvsTimestamp(st.value ?? "");
      this.demuxer.stampWith(this.stamp.apply);
      if (name === KvsTag.ServerTimestamp || !state.serverPlain) state.serverMs = this.stamp.serverBaseMs;
      state.serverPlain ||= name === KvsTag.ServerTimestamp;
    }
  }

  private count(f: FragmentState, frame: Frame): void {
    f.frameCount++;
    if (frame.keyframe) f.keyframeCount++;
    const t = frame.track;
    const per = f.perTrack;
    if (t < 1024) {
      while (per.length <= t) per.push(0);
      per[t]!++;
    } else {
      f.overflowTracks ??= new Map();
      f.overflowTracks.set(t, (f.overflowTracks.get(t) ?? 0) + 1);
    }
    f.payloadBytes += frame.size;
    if (f.firstTs === null) f.firstTs = frame.timestampMs;
    f.lastTs = frame.timestampMs;
  }

  private finish(endOffset: number): void {
    const f = this.current!;
    this.current = null;
    const k = f.kvsTags;
    const errorCode = k[KvsTag.ErrorCode] ?? k[KvsTag.ExceptionErrorCode];
    const event: FragmentEvent = {
      type: "fragment",
      fragmentNumber: f.fragmentNumber,
      serverTimestampMs: f.serverMs,
      producerTimestampMs: f.producerMs,
      millisBehindNow: numberOrNull(k[KvsTag.MillisBehindNow]),
      continuationToken: k[KvsTag.ContinuationToken] ?? null,
      error: errorCode === undefined ? null : { code: errorCode, id: k[KvsTag.ErrorId] ?? null, message: k[KvsTag.ExceptionMessage] ?? null },
      kvsTags: k,
      tags: f.tags,
      tracks: f.tracks,
      clusterTimestampMs: f.clusterTimestampMs,
      frameCount: f.frameCount,
      keyframeCount: f.keyframeCount,
      framesByTrack: this.framesByTrack.of(f),
      payloadBytes: f.payloadBytes,
      firstFrameTimestampMs: f.firstTs,
      lastFrameTimestampMs: f.lastTs,
      startOffset: f.startOffset,
      endOffset: Math.max(endOffset, f.startOffset),
      complete: f.problems.length === 0,
      problems: f.problems,
      bytes: this.kept === null ? null : this.bytesOf(f.startOffset, Math.max(endOffset, f.startOffset)),
    };
    this.out(event);
  }
}
