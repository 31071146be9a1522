// kvs-parser: the streaming Matroska/EBML parser, KVS fragments and frames, RxJS operators and codec
// helpers. Loads no AWS SDK and starts no process (see kvs-parser/aws, /consumer, /decode, /record).
export { KvsParserError, type KvsParserErrorOptions } from "./ebml/kvs-parser-error.js";
export { MkvParseError, type MkvParseErrorCode } from "./ebml/errors.js";
export { Frame, type FrameEncryption, type FrameInit } from "./matroska/frame.js";
export { BlockLayout, Lacing } from "./matroska/block.js";
export type * from "./matroska/model.js";
export { KvsParser, type KvsEvent, type KvsParserOptions } from "./kvs/parser.js";
export type { FragmentEvent, FragmentError, FragmentDiscardedEvent, FragmentSkippedEvent, MissingFragmentEvent } from "./kvs/fragment.js";
export { compareFragmentNumbers, isFragmentNumber } from "./kvs/fragment-number.js";
export { KvsTag, parseKvsTimestamp } from "./kvs/tags.js";
export { mergeFragments, FragmentMerger, type MergeOptions, type MergeResult, type MergeStep } from "./kvs/merge.js";
export { parseMkv, type ParseOptions } from "./rx/parse-mkv.js";
export { type StreamEvent, voidsPendingFrames } from "./rx/stream-event.js";
export type { ByteSource } from "./rx/source.js";
export type { ReadGate } from "./rx/read-gate.js";
export { Demand, heldReader, subscribeHolding, type DemandAccount, type DemandRules } from "./rx/demand.js";
export { FragmentGrouper, type GrouperEvents } from "./rx/fragment-grouper.js";
export { frames } from "./rx/frames.js";
export { fragments } from "./rx/fragments.js";
export { withFrames, type FragmentWithFrames } from "./rx/with-frames.js";
export { parseAvcDecoderConfig, avccToAnnexB, avcDecoderConfigRecord, type AvcDecoderConfig, type AnnexBOptions } from "./codec/h264.js";
export { parseHevcDecoderConfig, hvccToAnnexB, hevcDecoderConfigRecord, type HevcDecoderConfig } from "./codec/h265.js";
export { parseAacConfig, aacConfigFromCodecId, adtsHeader, aacToAdts, type AacConfig } from "./codec/adts.js";
export { wavHeader, pcmFormatOf, pcmToWavOrder, type PcmFormat } from "./codec/wav.js";
