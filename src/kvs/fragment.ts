import type { MkvParseError } from "../ebml/errors.js";
import type { SimpleTag, Track } from "../matroska/model.js";

/** Error reported by KVS inside the media (GetMedia ERROR_* tags or GetMediaForFragmentList EXCEPTION_* tags). */
export interface FragmentError {
  /** AWS_KINESISVIDEO_ERROR_CODE or AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE. */
  readonly code: string;
  /** AWS_KINESISVIDEO_ERROR_ID, when given. */
  readonly id: string | null;
  /** AWS_KINESISVIDEO_EXCEPTION_MESSAGE, when given. */
  readonly message: string | null;
}

/**
 * From a live reader (liveMedia with `resumeCutFragments: "restart"`): the connection was cut inside
 * this fragment after some of its frames went out; drop them, the fragment comes again from its first
 * frame. Parsers never emit it.
 */
export interface FragmentDiscardedEvent {
  readonly type: "fragmentDiscarded";
  readonly fragmentNumber: string;
  /** Frames of it delivered before the cut. */
  readonly frames: number;
  /** Why the connection ended. */
  readonly reason: string;
}

/** From an archive reader: a requested fragment that GetMediaForFragmentList returned neither media nor an exception for. */
export interface MissingFragmentEvent {
  readonly type: "missingFragment";
  readonly fragmentNumber: string;
  readonly reason: string;
}

/**
 * From a live reader told to skip what it cannot read (`onCorruptFragment: "skip"`): this fragment's
 * bytes did not parse on `attempts` connections in a row, so the reader moved on after it. Frames of it
 * delivered before are void (as with `fragmentDiscarded`); it does not come again.
 */
export interface FragmentSkippedEvent {
  readonly type: "fragmentSkipped";
  /** The fragment passed over (null when its FRAGMENT_NUMBER tag itself was never read). */
  readonly fragmentNumber: string | null;
  /** The fragment the reader resumed after (the last one delivered, when the number is unknown). */
  readonly after: string | null;
  readonly attempts: number;
  /** The last error, in words. */
  readonly reason: string;
}

/**
 * One KVS fragment (one MKV Segment of GetMedia / GetMediaForFragmentList output), emitted after its
 * last frame. For plain MKV input each Segment is a fragment whose KVS fields are null.
 */
export interface FragmentEvent {
  readonly type: "fragment";
  /** AWS_KINESISVIDEO_FRAGMENT_NUMBER (decimal string, compare with compareFragmentNumbers). */
  readonly fragmentNumber: string | null;
  /** Server timestamp in ms since the epoch (SERVER_TIMESTAMP or SERVER_SIDE_TIMESTAMP). */
  readonly serverTimestampMs: number | null;
  /** Producer timestamp in ms (PRODUCER_TIMESTAMP or PRODUCER_SIDE_TIMESTAMP); may be relative. */
  readonly producerTimestampMs: number | null;
  /** AWS_KINESISVIDEO_MILLIS_BEHIND_NOW (liveMedia() reckons it from the server timestamp for a backlog read with GetMediaForFragmentList, which sends none). */
  readonly millisBehindNow: number | null;
  /** AWS_KINESISVIDEO_CONTINUATION_TOKEN: where a new GetMedia resumes after this fragment. */
  readonly continuationToken: string | null;
  /** Error the service reported in the stream for this fragment. */
  readonly error: FragmentError | null;
  /** Every AWS_KINESISVIDEO_* tag, raw. */
  readonly kvsTags: Readonly<Record<string, string>>;
  /** The other (producer) SimpleTags, before and after the Cluster, in stream order. */
  readonly tags: readonly SimpleTag[];
  readonly tracks: readonly Track[];
  /** Timestamp of the fragment's first Cluster in ms, null without a Cluster. */
  readonly clusterTimestampMs: number | null;
  readonly frameCount: number;
  readonly keyframeCount: number;
  /** Frames per TrackNumber. */
  readonly framesByTrack: Readonly<Record<number, number>>;
  /** Frame payload bytes in total. */
  readonly payloadBytes: number;
  readonly firstFrameTimestampMs: number | null;
  readonly lastFrameTimestampMs: number | null;
  /** Absolute byte offset of the fragment's first byte (its EBML header). */
  readonly startOffset: number;
  /** Absolute byte offset just past the fragment's last element seen. */
  readonly endOffset: number;
  /** False when the parser recovered from bad bytes inside this fragment (frames may be missing). */
  readonly complete: boolean;
  /** The errors recovered from inside this fragment. */
  readonly problems: readonly MkvParseError[];
  /**
   * The fragment's exact bytes (startOffset to endOffset) as views into the stream's chunks, when the
   * parser was asked to keep them (`keepBytes`); null otherwise.
   */
  readonly bytes: readonly Uint8Array[] | null;
}
