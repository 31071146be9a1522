// kvs-parser: the streaming Matroska/EBML parser, KVS fragments and frames, RxJS operators and codec
// helpers. Loads no AWS SDK and starts no process (see kvs-parser/aws, /consumer, /decode, /record).
export { MkvParseError, type MkvParseErrorCode } from "./ebml/errors.js";
export { Frame, type FrameEncryption } from "./matroska/frame.js";
export type * from "./matroska/model.js";
export { KvsParser, type KvsEvent, type KvsParserOptions } from "./kvs/parser.js";
export type { FragmentEvent, FragmentError, FragmentDiscardedEvent } from "./kvs/fragment.js";
export { compareFragmentNumbers, isFragmentNumber } from "./kvs/fragment-number.js";
export { KvsTag, parseKvsTimestamp } from "./kvs/tags.js";
export { mergeFragments, type MergeOptions, type MergeResult } from "./kvs/merge.js";
export { parseMkv, type ParseOptions } from "./rx/parse-mkv.js";
export type { ByteSource } from "./rx/source.js";
export { frames } from "./rx/frames.js";
export { fragments } from "./rx/fragments.js";
export { withFrames, type FragmentWithFrames } from "./rx/with-frames.js";
export { parseAvcDecoderConfig, avccToAnnexB, type AvcDecoderConfig } from "./codec/h264.js";
