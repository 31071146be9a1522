// kvs-parser/aws: readers of Kinesis Video Streams on the AWS SDK v3 clients (peer dependencies).
export { KvsClients, type KvsConfig, type SdkClientConfig, type StreamRef } from "./clients.js";
export { KvsServiceError, type KvsServiceErrorCode } from "./errors.js";
export { getMedia, type StartFrom, type GetMediaOptions } from "./get-media.js";
export { liveMedia, type LiveMediaOptions, type LiveStatus, type LiveEvent, type CatchUpOptions } from "./live-media.js";
export type { ReadGate } from "../rx/read-gate.js";
export type { RetryPolicy } from "./backoff.js";
export type { CallPacer, PacerOptions, PacerWait } from "./pacer.js";
export {
  listFragments,
  mediaForFragments,
  archivedMedia,
  pollFragments,
  pollMedia,
  MAX_FRAGMENTS_PER_CALL,
  type FragmentInfo,
  type TimeRange,
  type ArchiveEvent,
  type MissingFragmentEvent,
  type PollOptions,
  type ListFragmentsOptions,
  type MediaForFragmentsOptions,
  type ArchivedMediaOptions,
} from "./archive.js";
export {
  getClip,
  clipPieces,
  planClip,
  CLIP_MAX_FRAGMENTS,
  CLIP_MAX_BYTES,
  type ClipOptions,
  type ClipLimits,
  type ClipPiece,
  type ClipPieceMp4,
  type ClipResult,
} from "./clip.js";
export { getImages, IMAGES_MAX_RANGE_MS, IMAGES_MIN_INTERVAL_MS, type ArchivedImage, type GetImagesOptions } from "./images.js";
export { selectStreams, type StreamSelection } from "./stream-selection.js";
export { hlsStreamingSessionUrl, dashStreamingSessionUrl, type StreamingSessionOptions } from "./streaming-session.js";
