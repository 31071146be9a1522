// Public API of kvs-parser, re-exported by name.
export { MkvParseError, type MkvParseErrorCode } from "./ebml/errors.js";
export { EbmlReader, type EbmlReaderOptions, type EbmlSink } from "./ebml/reader.js";
export { EbmlSchema, matroskaSchema, ID, type ElementInfo, type EbmlType } from "./ebml/schema.js";
export { readUint, readInt, readFloat, readUtf8, readUtf8Exact, readAscii, readUintString } from "./ebml/values.js";
export { Frame } from "./matroska/frame.js";
export { MatroskaDemuxer, type DemuxerOptions } from "./matroska/demuxer.js";
export { BlockLayout, Lacing } from "./matroska/block.js";
export type * from "./matroska/model.js";
export { KvsParser, type KvsEvent, type KvsParserOptions } from "./kvs/parser.js";
export type { FragmentEvent, FragmentError } from "./kvs/fragment.js";
export { compareFragmentNumbers, isFragmentNumber } from "./kvs/fragment-number.js";
export { KvsTag, isKvsTagName, parseKvsTimestamp } from "./kvs/tags.js";
export { parseMkv, frames, fragments, withFrames, type ParseOptions, type FragmentWithFrames } from "./rx/parse.js";
export type { ByteSource } from "./rx/source.js";
export { mergeFragments, type MergeOptions, type MergeResult } from "./kvs/merge.js";
export { parseAvcDecoderConfig, splitAvccNalUnits, avccToAnnexB, annexBNalTypes, type AvcDecoderConfig } from "./codec/h264.js";
export { concatBytes, element, encodeId, encodeSize, unknownSize, unknownSizeHeader, uintElement, intElement, floatElement, stringElement, type EbmlPayload } from "./ebml/writer.js";
export {
  KvsClients, streamParams, streamKey, KvsServiceError, toKvsServiceError, getMedia, openGetMedia, pumpGetMedia, toStartSelector,
  liveMedia, FragmentDeduper, ReadPosition, backoffDelay, sleep, listFragments, mediaForFragments, archivedMedia,
  pollFragments, pollMedia, MAX_FRAGMENTS_PER_CALL,
  type KvsConfig, type StreamRef, type KvsServiceErrorCode, type StartFrom, type GetMediaOptions, type PumpOptions, type LiveMediaOptions,
  type LiveStatus, type RetryPolicy, type FragmentInfo, type TimeRange, type ArchiveEvent, type MissingFragmentEvent, type PollOptions,
} from "./aws/index.js";
export {
  CheckpointConflictError, MemoryCheckpointStore, FileCheckpointStore, DynamoDbCheckpointStore, DynamoDbLeaseTable,
  ensureCheckpointTable, checkpointKey, acquireLease, MemoryLeaseTable, consume, FanOutHub,
  type Checkpoint, type CheckpointStore, type PutOptions, type BeforeRenameHook, type Lease, type LeaseOptions,
  type LeaseState, type LeaseTable, type ConsumeOptions, type Consumer, type ConsumerSummary, type FragmentSource, type Lag,
  type FanOutOptions,
} from "./consumer/index.js";
export { splitClusters, writeKvsFragment, writeKvsClosingTags, writeFragmentException, toGetMediaForm, formatKvsTimestamp, syntheticFragmentNumber, type ProducerCluster, type KvsFragmentTags } from "./kvs/fragment-writer.js";
