// The KVS consumers on the AWS SDK v3 clients.
export { KvsClients, streamParams, streamKey, type KvsConfig, type StreamRef } from "./clients.js";
export { KvsServiceError, toKvsServiceError, type KvsServiceErrorCode } from "./errors.js";
export { getMedia, openGetMedia, pumpGetMedia, toStartSelector, type StartFrom, type GetMediaOptions, type PumpOptions } from "./get-media.js";
export { liveMedia, type LiveMediaOptions, type LiveStatus } from "./live-media.js";
export { FragmentDeduper, ReadPosition } from "./dedupe.js";
export { backoffDelay, sleep, type RetryPolicy } from "./backoff.js";
export {
  listFragments, mediaForFragments, archivedMedia, pollFragments, pollMedia, MAX_FRAGMENTS_PER_CALL,
  type FragmentInfo, type TimeRange, type ArchiveEvent, type MissingFragmentEvent, type PollOptions,
} from "./archive.js";
