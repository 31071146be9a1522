/** How a frame of an encrypted track is encrypted (shared by all frames of the track). */
export interface FrameEncryption {
  /** ContentEncAlgo (5 = AES). */
  readonly algorithm: number;
  /** ContentEncKeyID: which key decrypts the frame. */
  readonly keyId: Uint8Array | null;
  /** AESSettingsCipherMode (1 = CTR, 2 = CBC), when given. */
  readonly cipherMode: number | null;
}

/** A copy in new memory (Uint8Array#slice; a Node Buffer's slice() would be a view). */
function copyOf(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * What a {@link Frame} is built from. The payload is `data`, or `data[dataStart, dataEnd)` when those
 * are given (a part of a chunk: viewed on first read of {@link Frame.data}, never copied).
 */
export interface FrameInit {
  /** TrackNumber. */
  track: number;
  /** Presentation time in ms. */
  timestampMs: number;
  /** Key frame. */
  keyframe: boolean;
  /** The frame payload, or the buffer holding it (see dataStart and dataEnd). */
  data: Uint8Array;
  /** Where the payload starts in `data` (default 0). */
  dataStart?: number;
  /** Where it ends in `data` (default: its end). */
  dataEnd?: number;
  /**
   * `data.buffer`, when the caller has it at hand (a reader asks once per chunk): the view is then made
   * from it and `dataByteOffset`, without asking `data` (a typed array's `buffer` getter costs more than
   * the view itself).
   */
  dataBuffer?: ArrayBufferLike;
  /** `data.byteOffset`, given with `dataBuffer`. */
  dataByteOffset?: number;
  /** Absolute byte offset of the payload in the stream. */
  offset: number;
  /** Duration in ms, null (the default) when not known. */
  durationMs?: number | null;
  /** Invisible flag of the block (default false). */
  invisible?: boolean;
  /** Discardable flag of a SimpleBlock (default false). */
  discardable?: boolean;
  /** How the track is encrypted (default null: not encrypted). */
  encryption?: FrameEncryption | null;
  /** The fragment of the enclosing stream the frame came in (a KVS fragment number); default null. */
  fragmentNumber?: string | null;
  /** The frame's time on the producer's clock, in ms (default null). */
  producerTimestampMs?: number | null;
  /** The frame's time on the server's (ingest) clock, in ms since the epoch (default null). */
  serverTimestampMs?: number | null;
}

/**
 * What the layer above the container knows of the frames to come (the KVS layer: their fragment number
 * and its producer and server times). The demuxer reads it as it builds each frame, so its owner changes
 * it in place as tags arrive (see `MatroskaDemuxer.stampWith`); a frame's producer (server) time is
 * `producerBaseMs` (`serverBaseMs`) plus its timestamp's distance from `originMs`.
 */
export interface FrameStamp {
  /** The fragment number of the frames from now on, or null. */
  readonly fragmentNumber: string | null;
  /** The producer time (ms) at `originMs`, or null. */
  readonly producerBaseMs: number | null;
  /** The server time (ms since the epoch) at `originMs`, or null. */
  readonly serverBaseMs: number | null;
  /** The frame timestamp (ms) the two bases belong to (the fragment's first Cluster); null reads as 0. */
  readonly originMs: number | null;
}

/** Sets `init`'s fragment number and producer and server times from `stamp`. */
export function stampFrame(init: FrameInit, stamp: FrameStamp): void {
  const p = stamp.producerBaseMs;
  const sv = stamp.serverBaseMs;
  const offset = init.timestampMs - (stamp.originMs ?? 0);
  init.fragmentNumber = stamp.fragmentNumber;
  init.producerTimestampMs = p === null ? null : p + offset;
  init.serverTimestampMs = sv === null ? null : sv + offset;
}

/**
 * One frame of one track. `data` is a view into the chunk it arrived in (no copy) unless its block
 * straddled two chunks; a view keeps its whole chunk alive, so call {@link Frame.copy} to keep frames.
 * The view is made when `data` is first read (a frame only counted or timed costs no view).
 */
export class Frame {
  /** Discriminant. */
  readonly type = "frame" as const;
  /** TrackNumber. */
  readonly track: number;
  /** Presentation time in ms: (cluster timestamp + block offset) × TimestampScale, minus the track's CodecDelay. */
  readonly timestampMs: number;
  /** Key frame: SimpleBlock flag, or a Block with no ReferenceBlock. */
  readonly keyframe: boolean;
  /** Payload size in bytes. */
  readonly size: number;
  /** Absolute byte offset of the payload in the stream. */
  readonly offset: number;
  /** BlockDuration (or the track's DefaultDuration, or the codec's frame length) in ms, null when not known. */
  readonly durationMs: number | null;
  /** Invisible flag of the block. */
  readonly invisible: boolean;
  /** Discardable flag of a SimpleBlock. */
  readonly discardable: boolean;
  /** Set when the track is encrypted (ContentEncryption): `data` is the bytes as stored, not decrypted. */
  readonly encryption: FrameEncryption | null;
  /** The KVS fragment the frame belongs to, null outside KVS streams. */
  readonly fragmentNumber: string | null;
  /**
   * Producer (camera) time in ms: the KVS fragment's PRODUCER_TIMESTAMP plus the frame's offset from
   * the fragment's first Cluster; null outside KVS streams. May be relative to the stream's start.
   */
  readonly producerTimestampMs: number | null;
  /** Server (ingest) time in ms since the epoch: the fragment's SERVER_TIMESTAMP plus the same offset; null outside KVS streams. */
  readonly serverTimestampMs: number | null;
  private view: Uint8Array | null;
  private readonly source: Uint8Array;
  /** The payload's ArrayBuffer when the builder gave it (see FrameInit.dataBuffer), else null. */
  private readonly buffer: ArrayBufferLike | null;
  /** Where the payload starts: in `buffer` when given, else in `source`. */
  private readonly start: number;

  /** Creates a frame from its named fields; the demuxer makes these, apps rarely need to. */
  constructor(init: FrameInit) {
    const source = init.data;
    const start = init.dataStart ?? 0;
    const end = init.dataEnd ?? source.length;
    this.track = init.track;
    this.timestampMs = init.timestampMs;
    this.keyframe = init.keyframe;
    this.size = end - start;
    this.offset = init.offset;
    this.durationMs = init.durationMs ?? null;
    this.invisible = init.invisible ?? false;
    this.discardable = init.discardable ?? false;
    this.encryption = init.encryption ?? null;
    this.fragmentNumber = init.fragmentNumber ?? null;
    this.producerTimestampMs = init.producerTimestampMs ?? null;
    this.serverTimestampMs = init.serverTimestampMs ?? null;
    this.source = source;
    const buffer = init.dataBuffer;
    this.buffer = buffer ?? null;
    this.start = buffer === undefined ? start : (init.dataByteOffset ?? 0) + start;
    // A whole plain Uint8Array is the payload itself; anything else (a part, a Node Buffer) is viewed on demand.
    this.view = start === 0 && end === source.length && source.constructor === Uint8Array ? source : null;
  }

  /** The frame payload (after lacing): a view into its chunk, or its own bytes when it straddled chunks or was decoded. */
  get data(): Uint8Array {
    let v = this.view;
    if (v === null) {
      // A plain Uint8Array view (not Buffer#subarray, whose species lookup costs more than the view).
      const b = this.buffer;
      if (b !== null) v = new Uint8Array(b, this.start, this.size);
      else {
        const s = this.source;
        v = new Uint8Array(s.buffer, s.byteOffset + this.start, this.size);
      }
      this.view = v;
    }
    return v;
  }

  /** True when `data` is encrypted (see {@link Frame.encryption}). */
  get encrypted(): boolean {
    return this.encryption !== null;
  }

  /** @deprecated Renamed {@link Frame.producerTimestampMs} (one name with the fragment's); removed in the next major release. */
  get producerTimeMs(): number | null {
    return this.producerTimestampMs;
  }

  /** @deprecated Renamed {@link Frame.serverTimestampMs} (one name with the fragment's); removed in the next major release. */
  get serverTimeMs(): number | null {
    return this.serverTimestampMs;
  }

  /** A copy whose payload no longer shares memory with the stream's chunks. */
  copy(): Frame {
    return new Frame({
      track: this.track,
      timestampMs: this.timestampMs,
      keyframe: this.keyframe,
      data: copyOf(this.data),
      offset: this.offset,
      durationMs: this.durationMs,
      invisible: this.invisible,
      discardable: this.discardable,
      encryption: this.encryption,
      fragmentNumber: this.fragmentNumber,
      producerTimestampMs: this.producerTimestampMs,
      serverTimestampMs: this.serverTimestampMs,
    });
  }

  /** A plain JSON-friendly summary (no payload), as `kvs-parser inspect --json` prints it. */
  toJSON(): {
    type: "frame";
    track: number;
    timestampMs: number;
    producerTimestampMs: number | null;
    serverTimestampMs: number | null;
    size: number;
    keyframe: boolean;
    offset: number;
    fragmentNumber: string | null;
  } {
    return {
      type: "frame",
      track: this.track,
      timestampMs: this.timestampMs,
      producerTimestampMs: this.producerTimestampMs,
      serverTimestampMs: this.serverTimestampMs,
      size: this.size,
      keyframe: this.keyframe,
      offset: this.offset,
      fragmentNumber: this.fragmentNumber,
    };
  }
}
