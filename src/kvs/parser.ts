import { MatroskaDemuxer, type DemuxerOptions } from "../matroska/demuxer.js";
import type { Frame, FrameStamp } from "../matroska/frame.js";
import type { FrameTally } from "../matroska/frame-tally.js";
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

  of(tally: FrameTally): Record<number, number> {
    const per = tally.perTrack;
    if (tally.overflowTracks === null && this.sameKeys(per)) {
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
    if (tally.overflowTracks !== null) for (const [t, n] of tally.overflowTracks) out[t] = n;
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
class FragmentStamp implements FrameStamp {
  fragmentNumber: string | null = null;
  producerBaseMs: number | null = null;
  serverBaseMs: number | null = null;
  /** Timestamp (ms) of the fragment's first Cluster, from its `cluster` event. */
  originMs: number | null = null;

  reset(): void {
    this.fragmentNumber = null;
    this.producerBaseMs = null;
    this.serverBaseMs = null;
    this.originMs = null;
  }
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
    // Frames go from the demuxer straight to the app: the demuxer counts them (its tally, read in finish)
    // and stamps them (this.stamp), so this layer has no call of its own per frame.
    this.demuxer = new MatroskaDemuxer((ev) => this.onEvent(ev), options, { onFrame: this.outFrame });
    this.demuxer.stampWith(this.stamp); // read for every frame; reset per fragment, filled in as its tags arrive
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
    this.adoptFrames();
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
    // The stamp is empty here: it is filled in only while a fragment is open, and finish() empties it.
    return f;
  }

  /** Frames that came with no fragment open (before any header, or after a fragment's closing tags) start one. */
  private adoptFrames(): void {
    const tally = this.demuxer.tally;
    if (this.current === null && tally.frames > 0) this.open(tally.firstOffset);
  }

  private onEvent(ev: MatroskaEvent): void {
    this.adoptFrames();
    switch (ev.type) {
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
        this.stamp.originMs ??= ev.timestampMs;
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
      }
    } else if (name === KvsTag.ProducerTimestamp || name === KvsTag.ProducerSideTimestamp) {
      this.stamp.producerBaseMs = parseKvsTimestamp(st.value ?? "");
      if (name === KvsTag.ProducerTimestamp || !state.producerPlain) state.producerMs = this.stamp.producerBaseMs;
      state.producerPlain ||= name === KvsTag.ProducerTimestamp;
    } else if (name === KvsTag.ServerTimestamp || name === KvsTag.ServerSideTimestamp) {
      this.stamp.serverBaseMs = parseKvsTimestamp(st.value ?? "");
      if (name === KvsTag.ServerTimestamp || !state.serverPlain) state.serverMs = this.stamp.serverBaseMs;
      state.serverPlain ||= name === KvsTag.ServerTimestamp;
    }
  }

  private finish(endOffset: number): void {
    const f = this.current!;
    const tally = this.demuxer.tally;
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
      frameCount: tally.frames,
      keyframeCount: tally.keyframes,
      framesByTrack: this.framesByTrack.of(tally),
      payloadBytes: tally.payloadBytes,
      firstFrameTimestampMs: tally.firstTimestampMs,
      lastFrameTimestampMs: tally.lastTimestampMs,
      startOffset: f.startOffset,
      endOffset: Math.max(endOffset, f.startOffset),
      complete: f.problems.length === 0,
      problems: f.problems,
      bytes: this.kept === null ? null : this.bytesOf(f.startOffset, Math.max(endOffset, f.startOffset)),
    };
    tally.reset(); // frames from here on belong to the next fragment
    this.stamp.reset(); // and carry nothing of this one's
    this.out(event);
  }
}
