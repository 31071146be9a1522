// kvs-parser/produce: put media into Kinesis Video Streams: the fragmenting writer, PutMedia with acknowledgements.
export { Fragmenter, type FragmenterOptions, type FrameInput, type ProducerFragment } from "./fragmenter.js";
export { AckParser, ackError, PutMediaError, type AckEventType, type PutMediaAck } from "./acks.js";
export { putMedia, type PutMediaEvent, type PutMediaOptions, type PutMediaSource, type PutMediaStats } from "./put-media.js";
export { mkvSource, type MkvSourceOptions } from "./mkv-source.js";
export { clusterSource, type ClusterSourceOptions } from "./cluster-source.js";
export { ffmpegSource, type FfmpegSourceOptions } from "./ffmpeg-source.js";
export { framesSource, type FramesSourceOptions } from "./frame-source.js";
