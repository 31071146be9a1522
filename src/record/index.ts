// kvs-parser/record: what to keep of a stream: audio files (WAV, ADTS), raw fragments, rolling
// recordings, MP4 for browsers.
export { writeAudioFiles, connectCallToWav, type AudioFile, type AudioFileOptions } from "./audio-files.js";
