import type { MkvParseError } from "../ebml/errors.js";
import type { Frame } from "./frame.js";

/** Video properties of a track (Matroska `Video`). */
export interface VideoSettings {
  readonly pixelWidth: number | null;
  readonly pixelHeight: number | null;
  readonly displayWidth: number | null;
  readonly displayHeight: number | null;
  readonly interlaced: number | null;
  readonly frameRate: number | null;
}

/** Audio properties of a track (Matroska `Audio`). */
export interface AudioSettings {
  /** Hz (Matroska default 8000). */
  readonly samplingFrequency: number;
  readonly outputSamplingFrequency: number | null;
  /** Matroska default 1. */
  readonly channels: number;
  readonly bitDepth: number | null;
}

/** The kind of a track, from TrackType. */
export type TrackKind = "video" | "audio" | "complex" | "logo" | "subtitle" | "buttons" | "control" | "metadata" | "unknown";

/** One `TrackEntry`. */
export interface Track {
  /** TrackNumber: what blocks refer to. */
  readonly number: number;
  /** TrackUID as a decimal string (64-bit). */
  readonly uid: string | null;
  readonly kind: TrackKind;
  readonly typeCode: number | null;
  readonly codecId: string;
  /** CodecPrivate, copied out of the stream (small, kept for the life of the track). */
  readonly codecPrivate: Uint8Array | null;
  readonly codecName: string | null;
  readonly name: string | null;
  readonly language: string | null;
  readonly defaultDurationNs: number | null;
  readonly codecDelayNs: number | null;
  readonly seekPreRollNs: number | null;
  readonly enabled: boolean;
  readonly isDefault: boolean;
  readonly lacing: boolean;
  /**
   * The track's ContentEncodings, in stored order. Compressed frames (zlib, header stripping) are handed
   * out decoded; frames of an encrypted track are marked (`Frame.encryption`) and passed as stored.
   */
  readonly contentEncodings: readonly ContentEncoding[];
  readonly video: VideoSettings | null;
  readonly audio: AudioSettings | null;
}

/** One `ContentEncoding` of a track: a compression or an encryption of its frames (and/or CodecPrivate). */
export interface ContentEncoding {
  /** ContentEncodingOrder: decoding starts with the highest. */
  readonly order: number;
  /** ContentEncodingScope bits: 1 frames, 2 CodecPrivate, 4 the next ContentEncoding. */
  readonly scope: number;
  readonly type: "compression" | "encryption";
  /** ContentCompAlgo: 0 zlib, 1 bzlib, 2 lzo1x, 3 header stripping. */
  readonly compressionAlgorithm: number | null;
  /** ContentCompSettings: for header stripping, the bytes removed from the front of every frame. */
  readonly compressionSettings: Uint8Array | null;
  /** ContentEncAlgo: 0 none (signed only), 1 DES, 2 3DES, 3 Twofish, 4 Blowfish, 5 AES. */
  readonly encryptionAlgorithm: number | null;
  /** ContentEncKeyID. */
  readonly keyId: Uint8Array | null;
  /** AESSettingsCipherMode: 1 AES-CTR, 2 AES-CBC. */
  readonly cipherMode: number | null;
}

/** One `SimpleTag`, with its nested tags. */
export interface SimpleTag {
  readonly name: string;
  /** TagString, exactly as stored (trailing NULs kept). */
  readonly value: string | null;
  /** TagBinary, copied out of the stream. */
  readonly binary: Uint8Array | null;
  readonly language: string | null;
  readonly isDefault: boolean;
  readonly children: readonly SimpleTag[];
}

/** What a `Tag` applies to. */
export interface TagTargets {
  readonly typeValue: number | null;
  readonly type: string | null;
  readonly trackUids: readonly string[];
}

/** One `Tag`. */
export interface Tag {
  readonly targets: TagTargets;
  readonly simpleTags: readonly SimpleTag[];
}

/** The EBML header of a document. */
export interface EbmlHeaderEvent {
  readonly type: "ebmlHeader";
  readonly offset: number;
  readonly docType: string;
  readonly docTypeVersion: number;
  readonly docTypeReadVersion: number;
  readonly ebmlVersion: number;
}

/** A Segment starts. */
export interface SegmentStartEvent {
  readonly type: "segmentStart";
  readonly offset: number;
  readonly dataOffset: number;
  /** Payload size in bytes, null when unknown (live output). */
  readonly size: number | null;
}

/** A Segment ends. */
export interface SegmentEndEvent {
  readonly type: "segmentEnd";
  readonly offset: number;
  readonly endOffset: number;
}

/** The segment `Info`. */
export interface InfoEvent {
  readonly type: "info";
  readonly offset: number;
  /** Nanoseconds per timestamp tick (default 1,000,000). */
  readonly timestampScale: number;
  readonly durationMs: number | null;
  readonly title: string | null;
  readonly muxingApp: string | null;
  readonly writingApp: string | null;
  /** DateUTC in ms since the Unix epoch. */
  readonly dateUtcMs: number | null;
}

/** The segment's `Tracks`. */
export interface TracksEvent {
  readonly type: "tracks";
  readonly offset: number;
  readonly tracks: readonly Track[];
}

/** One `Tags` element. */
export interface TagsEvent {
  readonly type: "tags";
  readonly offset: number;
  readonly endOffset: number;
  /** True when a Cluster of the same segment came before it. */
  readonly afterCluster: boolean;
  readonly tags: readonly Tag[];
}

/** A Cluster starts; emitted once its Timestamp is known (or its first block arrives). */
export interface ClusterEvent {
  readonly type: "cluster";
  readonly offset: number;
  /** Cluster Timestamp in ticks (of TimestampScale). */
  readonly timestampTicks: number;
  /** Cluster start in milliseconds. */
  readonly timestampMs: number;
  /** Size in bytes, null when unknown. */
  readonly size: number | null;
}

/** An element the schema does not know, skipped by its size. */
export interface UnknownElementEvent {
  readonly type: "unknownElement";
  readonly id: number;
  readonly offset: number;
  readonly size: number;
  readonly path: readonly string[];
}

/** With `recover: true`: bad bytes were passed over. */
export interface RecoveredEvent {
  readonly type: "recovered";
  readonly error: MkvParseError;
  readonly offset: number;
  readonly resumeOffset: number;
  readonly skippedBytes: number;
}

/** Everything the Matroska demuxer emits. */
export type MatroskaEvent =
  | EbmlHeaderEvent
  | SegmentStartEvent
  | SegmentEndEvent
  | InfoEvent
  | TracksEvent
  | TagsEvent
  | ClusterEvent
  | Frame
  | UnknownElementEvent
  | RecoveredEvent;
