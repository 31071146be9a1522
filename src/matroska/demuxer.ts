import { MkvParseError } from "../ebml/errors.js";
import { EbmlReader, type EbmlSink } from "../ebml/reader.js";
import { ID, matroskaSchema } from "../ebml/schema.js";
import { copyBytes, readAscii, readFloat, readInt, readUint, readUintString, readUtf8, readUtf8Exact, readUtf8Value, sameBytes } from "../ebml/values.js";
import { BlockLayout } from "./block.js";
import { codecDurationBySize, codecFrameDuration, type FrameDuration } from "./codec-timing.js";
import { contentDecoder, decodeCodecPrivate, type FrameDecoder } from "./content-encoding.js";
import { Frame, type FrameEncryption, type FrameInit, type FrameStamp, stampFrame } from "./frame.js";
import { FrameTally } from "./frame-tally.js";
import type { AudioSettings, ContentEncoding, EbmlHeaderEvent, InfoEvent, MatroskaEvent, SimpleTag, Tag, Track, TrackKind, VideoSettings } from "./model.js";
import { RepeatedMaster } from "./repeated-master.js";
import { readWholeTags } from "./whole-tags.js";

/** Limits and recovery of the demuxer (and of the parsers built on it). */
export interface DemuxerOptions {
  /** Largest payload of an element the parser holds (not blocks), in bytes (default 64 MiB); elements it does not need are streamed past at any size. */
  readonly maxElementSize?: number;
  /** Largest SimpleBlock/Block payload, in bytes (default 256 MiB). */
  readonly maxBlockSize?: number;
  /** Deepest nesting of master elements (default 32). */
  readonly maxDepth?: number;
  /** Pass over bad bytes (reported as `recovered` events) instead of throwing (default false). */
  readonly recover?: boolean;
  /**
   * The input is a run of documents, each starting with an EBML header (a GetMedia or
   * GetMediaForFragmentList response): an element whose size runs into the next document is an error
   * there (HEADER_INSIDE_ELEMENT), not a silent swallow of the fragments after it (default false; the KVS
   * readers set it).
   */
  readonly documentStream?: boolean;
}

/** How a layer above the demuxer takes part in building frames (what it knows of them is set with `stampWith`). */
export interface DemuxerHooks {
  /** Where frames go instead of the event callback (the KVS parser takes them without a switch on the event type). */
  readonly onFrame?: (frame: Frame) => void;
}

/** The track map of a segment before its Tracks (shared, never added to: see ownTracks). */
const NO_TRACKS: ReadonlyMap<number, TrackState> = new Map();

const KINDS: Record<number, TrackKind> = {
  1: "video",
  2: "audio",
  3: "complex",
  16: "logo",
  17: "subtitle",
  18: "buttons",
  32: "control",
  33: "metadata",
};

// Epoch of Matroska dates: 2001-01-01T00:00:00Z, in ms since 1970.
const MKV_EPOCH_MS = 978307200000;

interface TrackBuilder {
  number: number;
  uid: string | null;
  typeCode: number | null;
  codecId: string;
  /** The CodecPrivate bytes (a copy: the reader may reuse the memory of an element that straddled chunks). */
  codecPrivate: Uint8Array | null;
  codecName: string | null;
  name: string | null;
  language: string | null;
  defaultDurationNs: number | null;
  codecDelayNs: number | null;
  seekPreRollNs: number | null;
  enabled: boolean;
  isDefault: boolean;
  lacing: boolean;
  contentEncodings: ContentEncoding[];
  video: {
    pixelWidth: number | null;
    pixelHeight: number | null;
    displayWidth: number | null;
    displayHeight: number | null;
    interlaced: number | null;
    frameRate: number | null;
  } | null;
  audio: { samplingFrequency: number; outputSamplingFrequency: number | null; channels: number; bitDepth: number | null } | null;
}

interface EncodingBuilder {
  order: number;
  scope: number;
  type: number;
  compressionAlgorithm: number | null;
  compressionSettings: Uint8Array | null;
  encryptionAlgorithm: number | null;
  keyId: Uint8Array | null;
  cipherMode: number | null;
}

/** What the demuxer keeps per track for its blocks, worked out once when the track is defined. */
interface TrackState {
  readonly track: Track;
  /** CodecDelay in ms, subtracted from block timestamps. */
  readonly delayMs: number;
  readonly defaultDurationMs: number | null;
  /** Undoes the track's compression, null for tracks stored as is (their frames stay zero-copy). */
  readonly decode: FrameDecoder | null;
  readonly encryption: FrameEncryption | null;
  /** Codec frame durations, for laced frames without DefaultDuration. */
  readonly frameDuration: FrameDuration | null;
  /** The same from the frame's size alone (AAC, PCM): no view of the frame needed. */
  readonly durationBySize: ((bytes: number) => number) | null;
}

/** Elements the demuxer reads; everything else the schema knows (Cues, Attachments, Chapters…) is streamed past. */
const WANTED: ReadonlySet<number> = new Set([
  ID.EBML,
  ID.EBMLVersion,
  ID.DocType,
  ID.DocTypeVersion,
  ID.DocTypeReadVersion,
  ID.Segment,
  ID.Info,
  ID.TimestampScale,
  ID.Duration,
  ID.DateUTC,
  ID.Title,
  ID.MuxingApp,
  ID.WritingApp,
  ID.Tracks,
  ID.TrackEntry,
  ID.TrackNumber,
  ID.TrackUID,
  ID.TrackType,
  ID.FlagEnabled,
  ID.FlagDefault,
  ID.FlagLacing,
  ID.DefaultDuration,
  ID.Name,
  ID.Language,
  ID.CodecID,
  ID.CodecPrivate,
  ID.CodecName,
  ID.CodecDelay,
  ID.SeekPreRoll,
  ID.Video,
  ID.PixelWidth,
  ID.PixelHeight,
  ID.DisplayWidth,
  ID.DisplayHeight,
  ID.FlagInterlaced,
  ID.FrameRate,
  ID.Audio,
  ID.SamplingFrequency,
  ID.OutputSamplingFrequency,
  ID.Channels,
  ID.BitDepth,
  ID.ContentEncodings,
  ID.ContentEncoding,
  ID.ContentEncodingOrder,
  ID.ContentEncodingScope,
  ID.ContentEncodingType,
  ID.ContentCompression,
  ID.ContentCompAlgo,
  ID.ContentCompSettings,
  ID.ContentEncryption,
  ID.ContentEncAlgo,
  ID.ContentEncKeyID,
  ID.ContentEncAESSettings,
  ID.AESSettingsCipherMode,
  ID.Cluster,
  ID.Timestamp,
  ID.SimpleBlock,
  ID.BlockGroup,
  ID.Block,
  ID.BlockDuration,
  ID.ReferenceBlock,
  ID.Tags,
  ID.Tag,
  ID.Targets,
  ID.TargetTypeValue,
  ID.TargetType,
  ID.TagTrackUID,
  ID.SimpleTag,
  ID.TagName,
  ID.TagLanguage,
  ID.TagDefault,
  ID.TagString,
  ID.TagBinary,
]);

interface SimpleTagBuilder {
  name: string;
  value: string | null;
  binary: Uint8Array | null;
  language: string | null;
  isDefault: boolean;
  children: SimpleTag[];
}

/**
 * Turns bytes into typed Matroska events: EBML header, Info, Tracks, Tags, Cluster and one {@link Frame}
 * per (laced) frame. Push chunks with {@link push}; call {@link end} at end of input.
 */
export class MatroskaDemuxer implements EbmlSink {
  private readonly emit: (event: MatroskaEvent) => void;
  /** Where frames go (a separate path lets the KVS parser take them without a switch on the event type). */
  private readonly emitFrame: (frame: Frame) => void;
  /** The frames built since the upper layer last reset it (counted here: no call of the upper layer's per frame). */
  readonly tally = new FrameTally();
  /** What the upper layer knows of the frames to come, if anything (see stampWith). */
  private stamp: FrameStamp | null = null;
  private readonly reader: EbmlReader;
  private readonly layout = new BlockLayout();
  private readonly maxDecoded: number;
  private readonly maxElementSize: number;

  private timestampScale = 1_000_000;
  private msPerTick = 1;
  private tracks: ReadonlyMap<number, TrackState> = NO_TRACKS;
  /** `tracks` is shared (the empty map, or a repeat's kept map): copy it before adding to it. */
  private tracksShared = true;
  /** The previous Segment's tracks (GetMedia repeats them in every fragment's Segment). */
  private previousTracks: ReadonlyMap<number, TrackState> | null = null;
  private lastTrack: TrackState | undefined = undefined;
  /** The chunk the last fast-path frame came from, with its ArrayBuffer and byte offset (see simpleBlock). */
  private chunk: Uint8Array | null = null;
  private chunkBuffer: ArrayBufferLike = NO_BUFFER;
  private chunkByteOffset = 0;

  /** Unknown elements met so far: a master read with this count unchanged can be replayed when it repeats. */
  private unknownCount = 0;
  private readonly repeatedHeader = new RepeatedMaster<EbmlHeaderEvent>();
  private readonly repeatedInfo = new RepeatedMaster<InfoEvent>();
  private readonly repeatedTracks = new RepeatedMaster<{ list: Track[]; states: ReadonlyMap<number, TrackState> }>();

  // EBML header / Info
  private docType = "matroska";
  private docTypeVersion = 1;
  private docTypeReadVersion = 1;
  private ebmlVersion = 1;
  private info = {
    durationTicks: null as number | null,
    title: null as string | null,
    muxingApp: null as string | null,
    writingApp: null as string | null,
    dateUtcMs: null as number | null,
  };

  // Tracks
  private trackList: Track[] = [];
  private track: TrackBuilder | null = null;
  private encoding: EncodingBuilder | null = null;

  // Tags
  private tagList: Tag[] = [];
  private tagTargets = { typeValue: null as number | null, type: null as string | null, trackUids: [] as string[] };
  private tagSimple: SimpleTag[] = [];
  private simpleStack: SimpleTagBuilder[] = [];

  // Cluster / blocks
  private clusterSeen = false;
  private clusterOffset = 0;
  private clusterSize: number | null = null;
  private clusterTimestamp = 0;
  private clusterAnnounced = false;
  private groupBuf: Uint8Array | null = null;
  private groupStart = 0;
  private groupEnd = 0;
  private groupDataOffset = 0;
  private groupHasReference = false;
  private groupDuration: number | null = null;

  /** Creates a demuxer that calls `emit` for every event, synchronously. */
  constructor(emit: (event: MatroskaEvent) => void, options: DemuxerOptions = {}, hooks: DemuxerHooks = {}) {
    this.emit = emit;
    this.emitFrame = hooks.onFrame ?? emit;
    this.maxDecoded = options.maxBlockSize ?? 256 * 1024 * 1024;
    this.maxElementSize = options.maxElementSize ?? 64 * 1024 * 1024;
    this.reader = new EbmlReader(this, { ...options, schema: matroskaSchema, wanted: WANTED, expectDocument: true });
  }

  /** Sets the stamp read for each frame from now on (null: frames are not stamped); its owner may change it in place. */
  stampWith(stamp: FrameStamp | null): void {
    this.stamp = stamp;
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Uint8Array): void {
    try {
      this.reader.push(chunk);
    } finally {
      // The chunk is not held past its push (an idle stream keeps none).
      this.chunk = null;
      this.chunkBuffer = NO_BUFFER;
    }
  }

  /** Ends the stream: flushes open unknown-size elements; throws TRUNCATED for a cut element. */
  end(): void {
    this.reader.end();
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.reader.offset;
  }

  /** @internal EbmlSink */
  masterStart(id: number, offset: number, dataOffset: number, size: number): void {
    switch (id) {
      case ID.Cluster:
        this.clusterSeen = true;
        this.clusterOffset = offset;
        this.clusterSize = size < 0 ? null : size;
        this.clusterTimestamp = 0;
        this.clusterAnnounced = false;
        break;
      case ID.BlockGroup:
        this.groupBuf = null;
        this.groupHasReference = false;
        this.groupDuration = null;
        break;
      case ID.SimpleTag:
        this.simpleStack.push({ name: "", value: null, binary: null, language: null, isDefault: true, children: [] });
        break;
      case ID.Tag:
        this.tagTargets = { typeValue: null, type: null, trackUids: [] };
        this.tagSimple = [];
        break;
      case ID.Tags:
        this.tagList = [];
        break;
      case ID.TrackEntry:
        this.track = {
          number: 0,
          uid: null,
          typeCode: null,
          codecId: "",
          codecPrivate: null,
          codecName: null,
          name: null,
          language: null,
          defaultDurationNs: null,
          codecDelayNs: null,
          seekPreRollNs: null,
          enabled: true,
          isDefault: true,
          lacing: true,
          contentEncodings: [],
          video: null,
          audio: null,
        };
        break;
      case ID.ContentEncoding:
        // Defaults of RFC 9559: order 0, scope 1 (frames), type 0 (compression), ContentCompAlgo 0 (zlib).
        this.encoding = {
          order: 0,
          scope: 1,
          type: 0,
          compressionAlgorithm: null,
          compressionSettings: null,
          encryptionAlgorithm: null,
          keyId: null,
          cipherMode: null,
        };
        break;
      case ID.ContentCompression:
        if (this.encoding) this.encoding.compressionAlgorithm = 0;
        break;
      case ID.ContentEncryption:
        if (this.encoding) this.encoding.encryptionAlgorithm = 0;
        break;
      case ID.Video:
        if (this.track) this.track.video = { pixelWidth: null, pixelHeight: null, displayWidth: null, displayHeight: null, interlaced: null, frameRate: null };
        break;
      case ID.Audio:
        if (this.track) this.track.audio = { samplingFrequency: 8000, outputSamplingFrequency: null, channels: 1, bitDepth: null };
        break;
      case ID.Tracks:
        this.trackList = [];
        break;
      case ID.Info:
        this.info = { durationTicks: null, title: null, muxingApp: null, writingApp: null, dateUtcMs: null };
        break;
      case ID.Segment:
        this.timestampScale = 1_000_000;
        this.msPerTick = 1;
        if (this.tracks.size > 0) this.previousTracks = this.tracks;
        this.tracks = NO_TRACKS;
        this.tracksShared = true;
        this.lastTrack = undefined;
        this.clusterSeen = false;
        this.emit({ type: "segmentStart", offset, dataOffset, size: size < 0 ? null : size });
        break;
      case ID.EBML:
        this.docType = "matroska";
        this.docTypeVersion = 1;
        this.docTypeReadVersion = 1;
        this.ebmlVersion = 1;
        break;
    }
    void dataOffset;
  }

  /** @internal EbmlSink */
  masterEnd(id: number, offset: number, endOffset: number): void {
    switch (id) {
      case ID.BlockGroup:
        if (this.groupBuf !== null) {
          const buf = this.groupBuf;
          this.groupBuf = null;
          this.emitBlock(buf, this.groupStart, this.groupEnd, this.groupDataOffset, !this.groupHasReference, this.groupDuration, false);
        }
        break;
      case ID.Cluster:
        this.groupBuf = null;
        break;
      case ID.SimpleTag: {
        const b = this.simpleStack.pop();
        if (!b) break;
        const tag: SimpleTag = { name: b.name, value: b.value, binary: b.binary, language: b.language, isDefault: b.isDefault, children: b.children };
        const parent = this.simpleStack[this.simpleStack.length - 1];
        if (parent) parent.children.push(tag);
        else this.tagSimple.push(tag);
        break;
      }
      case ID.Tag:
        this.tagList.push({ targets: this.tagTargets, simpleTags: this.tagSimple });
        break;
      case ID.Tags:
        this.emit({ type: "tags", offset, endOffset, afterCluster: this.clusterSeen, tags: this.tagList });
        this.tagList = [];
        break;
      case ID.ContentEncoding: {
        const e = this.encoding;
        this.encoding = null;
        if (!e || !this.track) break;
        this.track.contentEncodings.push({
          order: e.order,
          scope: e.scope,
          type: e.type === 1 ? "encryption" : "compression",
          compressionAlgorithm: e.type === 1 ? null : (e.compressionAlgorithm ?? 0),
          compressionSettings: e.compressionSettings,
          encryptionAlgorithm: e.type === 1 ? (e.encryptionAlgorithm ?? 0) : null,
          keyId: e.keyId,
          cipherMode: e.cipherMode,
        });
        break;
      }
      case ID.TrackEntry: {
        const t = this.track;
        this.track = null;
        if (!t) break;
        // GetMedia repeats the same Tracks in every fragment: the last Segment's track state, when equal, is kept.
        const previous = this.previousTracks?.get(t.number);
        if (previous !== undefined && sameTrackEntry(previous.track, t)) {
          this.trackList.push(previous.track);
          this.lastTrack = undefined;
          this.ownTracks().set(t.number, previous);
          break;
        }
        const codecPrivate = t.codecPrivate;
        const track: Track = {
          number: t.number,
          uid: t.uid,
          kind: KINDS[t.typeCode ?? -1] ?? "unknown",
          typeCode: t.typeCode,
          codecId: t.codecId,
          codecPrivate: decodeCodecPrivate(codecPrivate, t.contentEncodings, t.number, offset, this.maxDecoded),
          codecName: t.codecName,
          name: t.name,
          language: t.language,
          defaultDurationNs: t.defaultDurationNs,
          codecDelayNs: t.codecDelayNs,
          seekPreRollNs: t.seekPreRollNs,
          enabled: t.enabled,
          isDefault: t.isDefault,
          lacing: t.lacing,
          contentEncodings: t.contentEncodings,
          video: t.video as VideoSettings | null,
          audio: t.audio as AudioSettings | null,
        };
        this.trackList.push(track);
        const encrypted = t.contentEncodings.find((e) => e.type === "encryption" && e.scope & 1);
        this.lastTrack = undefined;
        this.ownTracks().set(track.number, {
          track,
          delayMs: track.codecDelayNs ? track.codecDelayNs / 1_000_000 : 0,
          defaultDurationMs: track.defaultDurationNs !== null && track.defaultDurationNs > 0 ? track.defaultDurationNs / 1_000_000 : null,
          decode: encrypted ? null : contentDecoder(track, this.maxDecoded),
          encryption: encrypted ? { algorithm: encrypted.encryptionAlgorithm ?? 0, keyId: encrypted.keyId, cipherMode: encrypted.cipherMode } : null,
          frameDuration: codecFrameDuration(track),
          durationBySize: codecDurationBySize(track),
        });
        break;
      }
      case ID.Tracks:
        this.emit({ type: "tracks", offset, tracks: this.trackList });
        this.repeatedTracks.settle(offset, this.unknownCount, { list: this.trackList.slice(), states: new Map(this.tracks) });
        break;
      case ID.Info: {
        const i = this.info;
        const info: InfoEvent = {
          type: "info",
          offset,
          timestampScale: this.timestampScale,
          durationMs: i.durationTicks === null ? null : i.durationTicks * this.msPerTick,
          title: i.title,
          muxingApp: i.muxingApp,
          writingApp: i.writingApp,
          dateUtcMs: i.dateUtcMs,
        };
        this.emit(info);
        this.repeatedInfo.settle(offset, this.unknownCount, { ...info });
        break;
      }
      case ID.Segment:
        this.emit({ type: "segmentEnd", offset, endOffset });
        break;
      case ID.EBML: {
        const header: EbmlHeaderEvent = {
          type: "ebmlHeader",
          offset,
          docType: this.docType,
          docTypeVersion: this.docTypeVersion,
          docTypeReadVersion: this.docTypeReadVersion,
          ebmlVersion: this.ebmlVersion,
        };
        this.emit(header);
        this.repeatedHeader.settle(offset, this.unknownCount, { ...header });
        break;
      }
    }
  }

  /**
   * @internal EbmlSink: an EBML header, Info or Tracks whose bytes repeat the last clean one (GetMedia
   * sends the same in every fragment) is replayed, events and state alike, instead of read again.
   */
  wholeMaster(id: number, buf: Uint8Array, s: number, e: number, offset: number, dataOffset: number): boolean {
    switch (id) {
      case ID.EBML: {
        const h = this.repeatedHeader.repeatOf(buf, s, e, offset, this.unknownCount);
        if (h === null) return false;
        // A literal of the event's shape (a spread builds the object key by key).
        this.emit({
          type: "ebmlHeader",
          offset,
          docType: h.docType,
          docTypeVersion: h.docTypeVersion,
          docTypeReadVersion: h.docTypeReadVersion,
          ebmlVersion: h.ebmlVersion,
        });
        return true;
      }
      case ID.Info: {
        const info = this.repeatedInfo.repeatOf(buf, s, e, offset, this.unknownCount);
        if (info === null) return false;
        this.timestampScale = info.timestampScale;
        this.msPerTick = info.timestampScale / 1_000_000;
        this.emit({
          type: "info",
          offset,
          timestampScale: info.timestampScale,
          durationMs: info.durationMs,
          title: info.title,
          muxingApp: info.muxingApp,
          writingApp: info.writingApp,
          dateUtcMs: info.dateUtcMs,
        });
        return true;
      }
      case ID.Tags: {
        const tags = readWholeTags(buf, s, e, this.maxElementSize);
        if (tags === null) return false;
        this.emit({ type: "tags", offset, endOffset: dataOffset + (e - s), afterCluster: this.clusterSeen, tags });
        return true;
      }
      case ID.Tracks: {
        const kept = this.repeatedTracks.repeatOf(buf, s, e, offset, this.unknownCount);
        if (kept === null) return false;
        // The kept map and list themselves: both are copied before anything is added to them (ownTracks, and a new list at each Tracks).
        this.tracks = kept.states;
        this.tracksShared = true;
        this.lastTrack = undefined;
        this.trackList = kept.list;
        this.emit({ type: "tracks", offset, tracks: this.trackList });
        return true;
      }
    }
    return false;
  }

  /** @internal EbmlSink: a SimpleBlock on the reader's fast path. */
  simpleBlock(buf: Uint8Array, s: number, e: number, _offset: number, dataOffset: number): void {
    // The common case, read here in one go: a one-byte track number, no lacing, a known track whose frames
    // are stored as they are and timed without looking at their bytes. Anything else: emitBlock. The frame
    // is built here as emitOne builds it: a call to emitOne from here measured 10–27 % slower (not inlined).
    const b0 = buf[s]!;
    const flags = buf[s + 3]!;
    if (b0 >= 0x80 && e - s >= 4 && (flags & 0x06) === 0) {
      const track = b0 & 0x7f;
      let state = this.lastTrack;
      if (state === undefined || state.track.number !== track) {
        state = this.tracks.get(track);
        if (state !== undefined) this.lastTrack = state;
      }
      const dd = state === undefined ? null : state.defaultDurationMs;
      const timed = dd === null && state !== undefined && state.encryption === null;
      if (state !== undefined && state.decode === null && !(timed && state.durationBySize === null && state.frameDuration !== null)) {
        if (!this.clusterAnnounced) this.announceCluster();
        const tc = (buf[s + 1]! << 8) | buf[s + 2]!;
        const baseMs = (this.clusterTimestamp + (tc & 0x8000 ? tc - 0x10000 : tc)) * this.msPerTick - state.delayMs;
        const p = s + 4;
        const bySize = timed ? state.durationBySize : null;
        if (buf !== this.chunk) {
          // Asked once per chunk: a typed array's buffer getter costs more than the frame's view.
          this.chunk = buf;
          this.chunkBuffer = buf.buffer;
          this.chunkByteOffset = buf.byteOffset;
        }
        // The stamp is read here, not applied by a hook: one call less per frame.
        const st = this.stamp;
        const sinceOrigin = st === null ? 0 : baseMs - (st.originMs ?? 0);
        const pb = st === null ? null : st.producerBaseMs;
        const sb = st === null ? null : st.serverBaseMs;
        const keyframe = (flags & 0x80) !== 0;
        this.tally.add(track, keyframe, e - p, baseMs, dataOffset + 4);
        this.emitFrame(
          new Frame({
            track,
            timestampMs: baseMs,
            keyframe,
            data: buf,
            dataStart: p,
            dataEnd: e,
            dataBuffer: this.chunkBuffer,
            dataByteOffset: this.chunkByteOffset,
            offset: dataOffset + 4,
            durationMs: dd ?? (bySize === null ? null : bySize(e - p)),
            invisible: (flags & 0x08) !== 0,
            discardable: (flags & 0x01) !== 0,
            encryption: state.encryption,
            fragmentNumber: st === null ? null : st.fragmentNumber,
            producerTimestampMs: pb === null ? null : pb + sinceOrigin,
            serverTimestampMs: sb === null ? null : sb + sinceOrigin,
          }),
        );
        return;
      }
    }
    this.emitBlock(buf, s, e, dataOffset, null, null, true);
  }

  /** @internal EbmlSink */
  data(id: number, buf: Uint8Array, s: number, e: number, offset: number, dataOffset: number): void {
    switch (id) {
      case ID.SimpleBlock: {
        this.simpleBlock(buf, s, e, offset, dataOffset);
        return;
      }
      case ID.Block:
        this.groupBuf = buf;
        this.groupStart = s;
        this.groupEnd = e;
        this.groupDataOffset = dataOffset;
        return;
      case ID.ReferenceBlock:
        this.groupHasReference = true;
        return;
      case ID.BlockDuration:
        this.groupDuration = readUint(buf, s, e);
        return;
      case ID.Timestamp:
        this.clusterTimestamp = readUint(buf, s, e);
        this.announceCluster();
        return;
    }
    const t = this.track;
    if (t !== null) {
      switch (id) {
        case ID.TrackNumber:
          t.number = readUint(buf, s, e);
          return;
        case ID.TrackUID:
          t.uid = readUintString(buf, s, e);
          return;
        case ID.TrackType:
          t.typeCode = readUint(buf, s, e);
          return;
        case ID.CodecID:
          t.codecId = readAscii(buf, s, e);
          return;
        case ID.CodecPrivate:
          t.codecPrivate = copyBytes(buf, s, e);
          return;
        case ID.CodecName:
          t.codecName = readUtf8(buf, s, e);
          return;
        case ID.Name:
          t.name = readUtf8(buf, s, e);
          return;
        case ID.Language:
          t.language = readAscii(buf, s, e);
          return;
        case ID.DefaultDuration:
          t.defaultDurationNs = readUint(buf, s, e);
          return;
        case ID.CodecDelay:
          t.codecDelayNs = readUint(buf, s, e);
          return;
        case ID.SeekPreRoll:
          t.seekPreRollNs = readUint(buf, s, e);
          return;
        case ID.FlagEnabled:
          t.enabled = readUint(buf, s, e) !== 0;
          return;
        case ID.FlagDefault:
          t.isDefault = readUint(buf, s, e) !== 0;
          return;
        case ID.FlagLacing:
          t.lacing = readUint(buf, s, e) !== 0;
          return;
        case ID.PixelWidth:
          if (t.video) t.video.pixelWidth = readUint(buf, s, e);
          return;
        case ID.PixelHeight:
          if (t.video) t.video.pixelHeight = readUint(buf, s, e);
          return;
        case ID.DisplayWidth:
          if (t.video) t.video.displayWidth = readUint(buf, s, e);
          return;
        case ID.DisplayHeight:
          if (t.video) t.video.displayHeight = readUint(buf, s, e);
          return;
        case ID.FlagInterlaced:
          if (t.video) t.video.interlaced = readUint(buf, s, e);
          return;
        case ID.FrameRate:
          if (t.video) t.video.frameRate = readFloat(buf, s, e, offset);
          return;
        case ID.SamplingFrequency:
          if (t.audio) t.audio.samplingFrequency = readFloat(buf, s, e, offset);
          return;
        case ID.OutputSamplingFrequency:
          if (t.audio) t.audio.outputSamplingFrequency = readFloat(buf, s, e, offset);
          return;
        case ID.Channels:
          if (t.audio) t.audio.channels = readUint(buf, s, e);
          return;
        case ID.BitDepth:
          if (t.audio) t.audio.bitDepth = readUint(buf, s, e);
          return;
      }
    }
    const enc = this.encoding;
    if (enc !== null) {
      switch (id) {
        case ID.ContentEncodingOrder:
          enc.order = readUint(buf, s, e);
          return;
        case ID.ContentEncodingScope:
          enc.scope = readUint(buf, s, e);
          return;
        case ID.ContentEncodingType:
          enc.type = readUint(buf, s, e);
          return;
        case ID.ContentCompAlgo:
          enc.compressionAlgorithm = readUint(buf, s, e);
          return;
        case ID.ContentCompSettings:
          enc.compressionSettings = copyBytes(buf, s, e);
          return;
        case ID.ContentEncAlgo:
          enc.encryptionAlgorithm = readUint(buf, s, e);
          return;
        case ID.ContentEncKeyID:
          enc.keyId = copyBytes(buf, s, e);
          return;
        case ID.AESSettingsCipherMode:
          enc.cipherMode = readUint(buf, s, e);
          return;
      }
    }
    const st = this.simpleStack[this.simpleStack.length - 1];
    if (st !== undefined) {
      switch (id) {
        case ID.TagName:
          st.name = readUtf8Exact(buf, s, e);
          return;
        case ID.TagString:
          st.value = readUtf8Value(buf, s, e);
          return;
        case ID.TagBinary:
          st.binary = copyBytes(buf, s, e);
          return;
        case ID.TagLanguage:
          st.language = readAscii(buf, s, e);
          return;
        case ID.TagDefault:
          st.isDefault = readUint(buf, s, e) !== 0;
          return;
      }
    }
    switch (id) {
      case ID.TargetTypeValue:
        this.tagTargets.typeValue = readUint(buf, s, e);
        return;
      case ID.TargetType:
        this.tagTargets.type = readAscii(buf, s, e);
        return;
      case ID.TagTrackUID:
        this.tagTargets.trackUids.push(readUintString(buf, s, e));
        return;
      case ID.TimestampScale: {
        const scale = readUint(buf, s, e);
        if (scale === 0) throw new MkvParseError("INVALID_VALUE", "TimestampScale is 0", offset, ["Segment", "Info"]);
        this.timestampScale = scale;
        this.msPerTick = scale / 1_000_000;
        return;
      }
      case ID.Duration:
        this.info.durationTicks = readFloat(buf, s, e, offset);
        return;
      case ID.Title:
        this.info.title = readUtf8(buf, s, e);
        return;
      case ID.MuxingApp:
        this.info.muxingApp = readUtf8(buf, s, e);
        return;
      case ID.WritingApp:
        this.info.writingApp = readUtf8(buf, s, e);
        return;
      case ID.DateUTC:
        this.info.dateUtcMs = MKV_EPOCH_MS + readInt(buf, s, e) / 1_000_000;
        return;
      case ID.DocType:
        this.docType = readAscii(buf, s, e);
        return;
      case ID.DocTypeVersion:
        this.docTypeVersion = readUint(buf, s, e);
        return;
      case ID.DocTypeReadVersion:
        this.docTypeReadVersion = readUint(buf, s, e);
        return;
      case ID.EBMLVersion:
        this.ebmlVersion = readUint(buf, s, e);
        return;
    }
  }

  /** @internal EbmlSink */
  skipped(id: number, offset: number, dataOffset: number, size: number, known: boolean): void {
    if (known) return;
    this.unknownCount++;
    this.emit({ type: "unknownElement", id, offset, size, path: this.reader.path() });
    void dataOffset;
  }

  /** @internal EbmlSink */
  recovered(error: MkvParseError, resumeOffset: number): void {
    this.groupBuf = null;
    this.encoding = null;
    this.simpleStack.length = 0;
    this.emit({ type: "recovered", error, offset: error.offset, resumeOffset, skippedBytes: Math.max(0, resumeOffset - error.offset) });
  }

  private announceCluster(): void {
    if (this.clusterAnnounced) return;
    this.clusterAnnounced = true;
    this.emit({
      type: "cluster",
      offset: this.clusterOffset,
      timestampTicks: this.clusterTimestamp,
      timestampMs: this.clusterTimestamp * this.msPerTick,
      size: this.clusterSize,
    });
  }

  /** The segment's track map, made its own first if it was shared. */
  private ownTracks(): Map<number, TrackState> {
    if (this.tracksShared) {
      this.tracks = new Map(this.tracks);
      this.tracksShared = false;
    }
    return this.tracks as Map<number, TrackState>;
  }

  /** Emits the frames of a block; `keyframeOfGroup` is null for a SimpleBlock (its flag decides). */
  private emitBlock(
    buf: Uint8Array,
    s: number,
    e: number,
    dataOffset: number,
    keyframeOfGroup: boolean | null,
    durationTicks: number | null,
    simple: boolean,
  ): void {
    const layout = this.layout;
    layout.parse(buf, s, e, dataOffset);
    const keyframe = keyframeOfGroup ?? (layout.flags & 0x80) !== 0;
    if (!this.clusterAnnounced) this.announceCluster();
    const msPerTick = this.msPerTick;
    // Blocks come in runs of one track: the last track's state is at hand without a Map lookup.
    let state = this.lastTrack;
    if (state === undefined || state.track.number !== layout.track) {
      state = this.tracks.get(layout.track);
      if (state !== undefined) this.lastTrack = state;
    }
    // CodecDelay (e.g. Opus pre-skip) is subtracted from block timestamps (RFC 9559, CodecDelay).
    const baseMs = (this.clusterTimestamp + layout.relativeTimestamp) * msPerTick - (state === undefined ? 0 : state.delayMs);
    const count = layout.frameCount;
    const flags = layout.flags;
    const invisible = (flags & 0x08) !== 0;
    const discardable = simple && (flags & 0x01) !== 0;
    const decode = state === undefined ? null : state.decode;
    const encryption = state === undefined ? null : state.encryption;
    let p = layout.payloadStart;
    const sizes = layout.sizes;
    const dd = state === undefined ? null : state.defaultDurationMs;
    // Without DefaultDuration, audio frames' durations come from their codec (each laced frame gets its own time).
    const timed = dd === null && encryption === null && state !== undefined;
    const bySize = timed ? state!.durationBySize : null;
    const frameDuration = timed && bySize === null ? state!.frameDuration : null;
    if (count === 1) {
      const size = sizes[0]!;
      const at = dataOffset + (p - s);
      if (decode === null && frameDuration === null) {
        // The common case: the frame views its bytes lazily (Frame#data), timed from its size if at all.
        const codecMs = bySize === null ? null : bySize(size);
        const durationMs = durationTicks !== null ? durationTicks * msPerTick : (dd ?? codecMs);
        this.emitOne(layout.track, baseMs, keyframe, buf, p, p + size, at, durationMs, invisible, discardable, encryption);
        return;
      }
      const data = decode === null ? buf.subarray(p, p + size) : decode(buf.subarray(p, p + size), at);
      const codecMs = bySize !== null ? bySize(data.length) : frameDuration === null ? null : frameDuration(data);
      const durationMs = durationTicks !== null ? durationTicks * msPerTick : (dd ?? codecMs);
      this.emitOne(layout.track, baseMs, keyframe, data, 0, data.length, at, durationMs, invisible, discardable, encryption);
      return;
    }
    // Laced frames: each gets its own time from DefaultDuration, else from its codec, else BlockDuration split evenly.
    const evenMs = dd ?? (durationTicks !== null ? (durationTicks * msPerTick) / count : null);
    let next = baseMs;
    for (let f = 0; f < count; f++) {
      const size = sizes[f]!;
      const at = dataOffset + (p - s);
      const data = decode === null ? buf.subarray(p, p + size) : decode(buf.subarray(p, p + size), at);
      const codecMs = bySize !== null ? bySize(data.length) : frameDuration === null ? null : frameDuration(data);
      const ts = codecMs === null && evenMs !== null ? baseMs + f * evenMs : next;
      const durationMs = codecMs ?? evenMs;
      this.emitOne(layout.track, ts, keyframe, data, 0, data.length, at, durationMs, invisible, discardable, encryption);
      next = durationMs === null ? baseMs : ts + durationMs;
      p += size;
    }
  }

  /** Builds one frame (stamped from the upper layer's stamp, if any) and emits it. */
  private emitOne(
    track: number,
    timestampMs: number,
    keyframe: boolean,
    data: Uint8Array,
    dataStart: number,
    dataEnd: number,
    offset: number,
    durationMs: number | null,
    invisible: boolean,
    discardable: boolean,
    encryption: FrameEncryption | null,
  ): void {
    // A fresh object each time: short-lived, so it costs a bump allocation (a reused long-lived one cost a write barrier per field).
    const init: FrameInit = {
      track,
      timestampMs,
      keyframe,
      data,
      dataStart,
      dataEnd,
      offset,
      durationMs,
      invisible,
      discardable,
      encryption,
      fragmentNumber: null,
      producerTimestampMs: null,
      serverTimestampMs: null,
    };
    if (this.stamp !== null) stampFrame(init, this.stamp);
    this.tally.add(track, keyframe, dataEnd - dataStart, timestampMs, offset);
    this.emitFrame(new Frame(init));
  }
}

const NO_BUFFER = new ArrayBuffer(0);

/** True when a parsed TrackEntry is the same as an earlier track (no content encodings, same fields and CodecPrivate bytes). */
function sameTrackEntry(track: Track, t: TrackBuilder): boolean {
  if (
    track.contentEncodings.length !== 0 ||
    t.contentEncodings.length !== 0 ||
    track.codecId !== t.codecId ||
    track.uid !== t.uid ||
    track.typeCode !== t.typeCode ||
    track.codecName !== t.codecName ||
    track.name !== t.name ||
    track.language !== t.language ||
    track.defaultDurationNs !== t.defaultDurationNs ||
    track.codecDelayNs !== t.codecDelayNs ||
    track.seekPreRollNs !== t.seekPreRollNs ||
    track.enabled !== t.enabled ||
    track.isDefault !== t.isDefault ||
    track.lacing !== t.lacing
  )
    return false;
  if (!sameBytes(track.codecPrivate, t.codecPrivate)) return false;
  const v = track.video;
  const w = t.video;
  if (v === null || w === null) {
    if (v !== w) return false;
  } else if (
    v.pixelWidth !== w.pixelWidth ||
    v.pixelHeight !== w.pixelHeight ||
    v.displayWidth !== w.displayWidth ||
    v.displayHeight !== w.displayHeight ||
    v.interlaced !== w.interlaced ||
    v.frameRate !== w.frameRate
  )
    return false;
  const x = track.audio;
  const y = t.audio;
  if (x === null || y === null) return x === y;
  return (
    x.samplingFrequency === y.samplingFrequency &&
    x.outputSamplingFrequency === y.outputSamplingFrequency &&
    x.channels === y.channels &&
    x.bitDepth === y.bitDepth
  );
}
