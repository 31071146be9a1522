// kvs-parser/decode: decoded images and PCM audio from a stream's frames, through one long-lived ffmpeg
// process per track (found from an option, FFMPEG_PATH, @ffmpeg-installer/ffmpeg, or PATH).
export { DecoderError, FfmpegNotFoundError, findFfmpeg, type StreamPosition } from "./ffmpeg.js";
export { TrackDecoder, type TrackDecoderOptions } from "./track-decoder.js";
export { ImageDecoder, images, type DecodedImage, type ImageFormat, type ImageOptions } from "./images.js";
export { PcmDecoder, pcm, type PcmChunk, type PcmOptions } from "./pcm.js";
