/** How a frame of an encrypted track is encrypted (shared by all frames of the track). */
export interface FrameEncryption {
  /** ContentEncAlgo (5 = AES). */
  readonly algorithm: number;
  /** ContentEncKeyID: which key decrypts the frame. */
  readonly keyId: Uint8Array | null;
  /** AESSettingsCipherMode (1 = CTR, 2 = CBC), when given. */
  readonly cipherMode: number | null;
}

/**
 * One frame of one track. `data` is a view into the chunk it arrived in (no copy) unless its block
 * straddled two chunks; a view keeps its whole chunk alive, so call {@link Frame.copy} to keep frames.
 */
export class Frame {
  /** Discriminant. */
  readonly type = "frame" as const;

  /** Creates a frame; the demuxer makes these, apps rarely need to. */
  constructor(
    /** TrackNumber. */
    readonly track: number,
    /** Presentation time in ms: (cluster timestamp + block offset) × TimestampScale, minus the track's CodecDelay. */
    readonly timestampMs: number,
    /** Key frame: SimpleBlock flag, or a Block with no ReferenceBlock. */
    readonly keyframe: boolean,
    /** The frame payload (after lacing). */
    readonly data: Uint8Array,
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
  ) {}

  /** True when `data` is encrypted (see {@link Frame.encryption}). */
  get encrypted(): boolean {
    return this.encryption !== null;
  }

  /** Payload size in bytes. */
  get size(): number {
    return this.data.length;
  }

  /** A copy whose payload no longer shares memory with the stream's chunks. */
  copy(): Frame {
    return new Frame(
      this.track,
      this.timestampMs,
      this.keyframe,
      this.data.slice(),
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
      size: this.data.length,
      keyframe: this.keyframe,
      offset: this.offset,
      fragmentNumber: this.fragmentNumber,
    };
  }
}
