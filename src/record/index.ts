// kvs-parser/record: what to keep of a stream: raw fragments, rolling recordings (merged MKV, MP4),
// fragmented MP4 for browsers, audio files (WAV, ADTS).
export { rawFragments, rawFragmentOf, saveFragment, type RawFragment } from "./raw-fragments.js";
export { Recorder, record, type RecorderOptions, type RecordingFile, type RecordingFileInfo, type RecordingSink } from "./recorder.js";
export {
  Mp4Remuxer,
  Mp4CodecError,
  mp4Tracks,
  mp4MimeType,
  avcCodecString,
  hevcCodecString,
  aacCodecString,
  type Mp4Target,
  type Mp4Track,
  type Mp4Sample,
  type Mp4RemuxerOptions,
} from "./mp4.js";
export { fmp4, type Fmp4Options, type Fmp4Part } from "./fmp4.js";
export { joinMp4, type Mp4Piece, type JoinedMp4 } from "./mp4-join.js";
export { writeAudioFiles, connectCallToWav, type AudioFile, type AudioFileOptions } from "./audio-files.js";
