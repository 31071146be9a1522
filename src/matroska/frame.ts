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
 * One frame of one track. `data` is a view into the chunk it arrived in (no copy) unless its block
 * straddled two chunks; a view keeps its whole chunk alive, so call {@link Frame.copy} to keep frames.
 * The view is made when `data` is first read (a frame only counted or timed costs no view).
 */
export class Frame {
  /** Discriminant. */
  readonly type = "frame" as const;
  /** Payload size in bytes. */
  readonly size: number;
  private view: Uint8Array | null;
  private readonly source: Uint8Array;
  private readonly start: number;

  /**
   * Creates a frame; the demuxer makes these, apps rarely need to. The payload is `source` itself, or
   * `source[sourceStart, sourceEnd)` when those are given (viewed on first read of `data`).
   */
  constructor(
    /** TrackNumber. */
    readonly track: number,
    /** Presentation time in ms: (cluster timestamp + block offset) × TimestampScale, minus the track's CodecDelay. */
    readonly timestampMs: number,
    /** Key frame: SimpleBlock flag, or a Block with no ReferenceBlock. */
    readonly keyframe: boolean,
    /** The frame payload (after lacing), or the buffer holding it (see sourceStart). */
    source: Uint8Array,
    /** Absolute byte offset of the payload in the stream. */
    readonly offset: number,
    /** The KVS fragment the frame belongs to, null outside KVS streams. */
    readonly fragmentNumber: string | null,
    /** BlockDuration (or the track's DefaultDuration) in ms, null when not given. */
    readonly durationMs: number | null,
    /** Invisible flag of the block. */
    readonly invisible: boolean,
    /** Discardable flag of a SimpleBlock. */
    readonly discardable: boolean,
    /** Set when the track is encrypted (ContentEncryption): `data` is the bytes as stored, not decrypted. */
    readonly encryption: FrameEncryption | null = null,
    /**
     * Producer (camera) time in ms: the KVS fragment's PRODUCER_TIMESTAMP plus the frame's offset from
     * the fragment's first Cluster; null outside KVS streams. May be relative to the stream's start.
     */
    readonly producerTimeMs: number | null = null,
    /** Server (ingest) time in ms since the epoch: the fragment's SERVER_TIMESTAMP plus the same offset; null outside KVS streams. */
    readonly serverTimeMs: number | null = null,
    /** Where the payload starts in `source` (default 0). */
    sourceStart = 0,
    /** Where it ends in `source` (default: its end). */
    sourceEnd: number = source.length,
  ) {
    this.size = sourceEnd - sourceStart;
    this.source = source;
    this.start = sourceStart;
    // A whole plain Uint8Array is the payload itself; anything else (a part, a Node Buffer) is viewed on demand.
    this.view = sourceStart === 0 && sourceEnd === source.length && source.constructor === Uint8Array ? source : null;
  }

  /** The frame payload (after lacing): a view into its chunk, or its own bytes when it straddled chunks or was decoded. */
  get data(): Uint8Array {
    let v = this.view;
    if (v === null) {
      const s = this.source;
      // A plain Uint8Array view (not Buffer#subarray, whose species lookup costs more than the view).
      v = this.view = new Uint8Array(s.buffer, s.byteOffset + this.start, this.size);
    }
    return v;
  }

  /** True when `data` is encrypted (see {@link Frame.encryption}). */
  get encrypted(): boolean {
    return this.encryption !== null;
  }

  /** A copy whose payload no longer shares memory with the stream's chunks. */
  copy(): Frame {
    return new Frame(
      this.track,
      this.timestampMs,
      this.keyframe,
      copyOf(this.data),
      this.offset,
      this.fragmentNumber,
      this.durationMs,
      this.invisible,
      this.discardable,
      this.encryption,
      this.producerTimeMs,
      this.serverTimeMs,
    );
  }

  /** A plain JSON-friendly summary (no payload), as `kvs-parser inspect --json` prints it. */
  toJSON(): {
    type: "frame";
    track: number;
    timestampMs: number;
    producerTimeMs: number | null;
    serverTimeMs: number | null;
    size: number;
    keyframe: boolean;
    offset: number;
    fragmentNumber: string | null;
  } {
    return {
      type: "frame",
      track: this.track,
      timestampMs: this.timestampMs,
      producerTimeMs: this.producerTimeMs,
      serverTimeMs: this.serverTimeMs,
      size: this.size,
      keyframe: this.keyframe,
      offset: this.offset,
      fragmentNumber: this.fragmentNumber,
    };
  }
}
