import type { Track } from "./model.js";

/** How long one frame of a track plays, in ms, read from the frame itself; null when it cannot tell. */
export type FrameDuration = (frame: Uint8Array) => number | null;

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Reads bits MSB first from a byte array. */
class Bits {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}
  read(n: number): number {
    let v = 0;
    for (let k = 0; k < n; k++) {
      const byte = this.bytes[this.pos >> 3];
      if (byte === undefined) throw new RangeError("AudioSpecificConfig too short");
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }
}

/** Samples per frame and core sampling rate from an AAC AudioSpecificConfig (ISO 14496-3 §1.6.2.1). */
export function aacFrameInfo(asc: Uint8Array): { samplesPerFrame: number; sampleRate: number } | null {
  try {
    const bits = new Bits(asc);
    const objectType = () => {
      const t = bits.read(5);
      return t === 31 ? 32 + bits.read(6) : t;
    };
    const rate = () => {
      const index = bits.read(4);
      return index === 15 ? bits.read(24) : (AAC_RATES[index] ?? 0);
    };
    let aot = objectType();
    const sampleRate = rate();
    bits.read(4); // channel configuration
    if (aot === 5 || aot === 29) {
      rate(); // SBR/PS output rate: a frame covers the same time at the core rate
      aot = objectType();
    }
    const frameLengthFlag = [1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23].includes(aot) ? bits.read(1) : 0;
    const samplesPerFrame = aot === 23 ? (frameLengthFlag ? 480 : 512) : frameLengthFlag ? 960 : 1024;
    return sampleRate > 0 ? { samplesPerFrame, sampleRate } : null;
  } catch {
    return null;
  }
}

const OPUS_CELT = [2.5, 5, 10, 20];
const OPUS_SILK = [10, 20, 40, 60];

/** Duration in ms of one Opus packet, from its TOC byte (RFC 6716 §3.1). */
export function opusPacketDurationMs(packet: Uint8Array): number | null {
  const toc = packet[0];
  if (toc === undefined) return null;
  const config = toc >> 3;
  const frameMs = config < 12 ? OPUS_SILK[config & 3]! : config < 16 ? (config & 1 ? 20 : 10) : OPUS_CELT[config & 3]!;
  const code = toc & 3;
  const count = code === 0 ? 1 : code < 3 ? 2 : packet.length > 1 ? packet[1]! & 0x3f : 0;
  return count > 0 ? frameMs * count : null;
}

const MPEG_RATES: Record<number, readonly number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

/** Duration in ms of one MPEG-1/2/2.5 audio frame (Layer I, II, III), from its header. */
export function mpegAudioFrameDurationMs(frame: Uint8Array): number | null {
  if (frame.length < 4 || frame[0] !== 0xff || (frame[1]! & 0xe0) !== 0xe0) return null;
  const version = (frame[1]! >> 3) & 3;
  const layer = (frame[1]! >> 1) & 3;
  const rate = MPEG_RATES[version]?.[(frame[2]! >> 2) & 3];
  if (rate === undefined || layer === 0) return null;
  const samples = layer === 3 ? 384 : layer === 2 ? 1152 : version === 3 ? 1152 : 576;
  return (samples * 1000) / rate;
}

const AC3_RATES = [48000, 44100, 32000];
const EAC3_REDUCED_RATES = [24000, 22050, 16000];
const EAC3_BLOCKS = [1, 2, 3, 6];

/** Duration in ms of one AC-3 or E-AC-3 sync frame, from its header (ATSC A/52). */
export function ac3FrameDurationMs(frame: Uint8Array): number | null {
  if (frame.length < 6 || frame[0] !== 0x0b || frame[1] !== 0x77) return null;
  const bsid = frame[5]! >> 3;
  const fscod = frame[4]! >> 6;
  if (bsid <= 10) {
    const rate = AC3_RATES[fscod];
    return rate === undefined ? null : (1536 * 1000) / rate;
  }
  const code = (frame[4]! >> 4) & 3;
  const rate = fscod === 3 ? EAC3_REDUCED_RATES[code] : AC3_RATES[fscod];
  const blocks = fscod === 3 ? 6 : EAC3_BLOCKS[code]!;
  return rate === undefined ? null : (256 * blocks * 1000) / rate;
}

const FLAC_RATES = [0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000];

/** Duration in ms of one FLAC frame, from its header; `streamRate` is used when the header defers to STREAMINFO. */
export function flacFrameDurationMs(frame: Uint8Array, streamRate: number): number | null {
  if (frame.length < 5 || frame[0] !== 0xff || (frame[1]! & 0xfe) !== 0xf8) return null;
  const sizeCode = frame[2]! >> 4;
  const rateCode = frame[2]! & 0x0f;
  // Skip the UTF-8 coded frame/sample number after byte 3.
  let p = 4;
  const lead = frame[p]!;
  p += lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf8 ? 4 : lead < 0xfc ? 5 : lead < 0xfe ? 6 : 7;
  let blockSize: number;
  if (sizeCode === 1) blockSize = 192;
  else if (sizeCode >= 2 && sizeCode <= 5) blockSize = 576 * 2 ** (sizeCode - 2);
  else if (sizeCode === 6) blockSize = (frame[p++] ?? -1) + 1;
  else if (sizeCode === 7) {
    blockSize = ((frame[p] ?? 0) << 8) + (frame[p + 1] ?? 0) + 1;
    p += 2;
  } else if (sizeCode >= 8) blockSize = 256 * 2 ** (sizeCode - 8);
  else return null;
  let rate = FLAC_RATES[rateCode] ?? 0;
  if (rateCode === 12) rate = (frame[p] ?? 0) * 1000;
  else if (rateCode === 13) rate = ((frame[p] ?? 0) << 8) + (frame[p + 1] ?? 0);
  else if (rateCode === 14) rate = (((frame[p] ?? 0) << 8) + (frame[p + 1] ?? 0)) * 10;
  if (rate === 0) rate = streamRate;
  return blockSize > 0 && rate > 0 ? (blockSize * 1000) / rate : null;
}

/** Splits Xiph-laced codec headers (the CodecPrivate of A_VORBIS / A_THEORA): `count-1`, sizes, then data. */
export function splitXiphHeaders(codecPrivate: Uint8Array): Uint8Array[] | null {
  const count = (codecPrivate[0] ?? -1) + 1;
  if (count < 1) return null;
  let p = 1;
  const sizes: number[] = [];
  for (let i = 0; i < count - 1; i++) {
    let size = 0;
    let b: number;
    do {
      b = codecPrivate[p++] ?? -1;
      if (b < 0) return null;
      size += b;
    } while (b === 255);
    sizes.push(size);
  }
  const out: Uint8Array[] = [];
  for (const size of sizes) {
    if (p + size > codecPrivate.length) return null;
    out.push(codecPrivate.subarray(p, p + size));
    p += size;
  }
  out.push(codecPrivate.subarray(p));
  return out;
}

/**
 * Block sizes and per-mode block flags of a Vorbis stream, from its identification and setup headers.
 * The modes sit at the end of the setup header, after codebooks that would take a full decoder to walk,
 * so they are read backwards from the framing bit (as ffmpeg's vorbis_parser does).
 */
export function vorbisModes(identification: Uint8Array, setup: Uint8Array): { blockSizes: [number, number]; longModes: boolean[] } | null {
  if (identification.length < 30 || identification[0] !== 1 || setup[0] !== 5) return null;
  const b = identification[28]!;
  const blockSizes: [number, number] = [1 << (b & 0x0f), 1 << (b >> 4)];
  // Bit i counted from the end: byte (len-1 - i>>3), bit (7 - (i&7)) when read backwards (Vorbis packs LSB first).
  const total = setup.length * 8;
  const bit = (i: number) => (setup[setup.length - 1 - (i >> 3)]! >> (7 - (i & 7))) & 1;
  let pos = 0;
  while (pos < total && bit(pos) === 0) pos++;
  if (pos >= total) return null;
  pos++; // the framing bit
  const start = pos;
  // A field written LSB first is met MSB first when read backwards.
  const read = (at: number, n: number) => {
    let v = 0;
    for (let k = 0; k < n; k++) v = v * 2 + bit(at + k);
    return v;
  };
  // Walk back over candidate modes (41 bits each: mapping 8, transform 16, window 16, blockflag 1) while
  // they look valid; the right count is the one the 6-bit mode_count field before them confirms.
  let count = 0;
  let confirmed = 0;
  while (total - pos >= 97 && count < 64) {
    if (read(pos, 8) > 63 || read(pos + 8, 16) !== 0 || read(pos + 24, 16) !== 0) break;
    pos += 41;
    count++;
    if (read(pos, 6) + 1 === count) confirmed = count; // the 6-bit mode_count - 1 before the modes
  }
  if (confirmed === 0) return null;
  const longModes: boolean[] = new Array<boolean>(confirmed);
  for (let i = confirmed - 1, at = start; i >= 0; i--, at += 41) longModes[i] = bit(at + 40) === 1;
  return { blockSizes, longModes };
}

/**
 * Vorbis packet durations (samples = previous block size / 4 + this block size / 4, the granule rule);
 * stateful: give it every packet of the track, in order.
 */
function vorbisTiming(codecPrivate: Uint8Array, rate: number): FrameDuration | null {
  const headers = splitXiphHeaders(codecPrivate);
  const modes = headers && headers.length === 3 ? vorbisModes(headers[0]!, headers[2]!) : null;
  if (!modes || rate <= 0) return null;
  const { blockSizes, longModes } = modes;
  const modeBits = Math.max(0, 32 - Math.clz32(longModes.length - 1));
  const modeMask = ((1 << modeBits) - 1) << 1;
  const prevFlag = 1 << (modeBits + 1);
  let previous = blockSizes[0];
  return (packet) => {
    const b0 = packet[0];
    if (b0 === undefined || b0 & 1) return null; // not an audio packet
    const mode = longModes.length === 1 ? 0 : (b0 & modeMask) >> 1;
    const long = longModes[mode];
    if (long === undefined) return null;
    if (long) previous = blockSizes[b0 & prevFlag ? 1 : 0];
    const current = blockSizes[long ? 1 : 0];
    const samples = (previous + current) >> 2;
    previous = current;
    return (samples * 1000) / rate;
  };
}

/**
 * A frame's duration from its size alone (AAC: constant; PCM: bytes per sample frame), or null when the
 * codec needs the frame's bytes (see {@link codecFrameDuration}). Lets the demuxer time frames it has not viewed.
 */
export function codecDurationBySize(track: Track): ((bytes: number) => number) | null {
  const id = track.codecId;
  const audio = track.audio;
  if (id.startsWith("A_AAC")) {
    const info = track.codecPrivate && track.codecPrivate.length >= 2 ? aacFrameInfo(track.codecPrivate) : null;
    const samples = info?.samplesPerFrame ?? 1024;
    const rate = info?.sampleRate ?? audio?.samplingFrequency ?? 0;
    if (rate <= 0) return null;
    const ms = (samples * 1000) / rate;
    return () => ms;
  }
  if (id.startsWith("A_PCM/") && audio) {
    const bytesPerSample = Math.ceil((audio.bitDepth ?? 16) / 8);
    const frameBytes = bytesPerSample * Math.max(1, audio.channels);
    const rate = audio.samplingFrequency;
    if (rate <= 0) return null;
    return (bytes) => (bytes / frameBytes / rate) * 1000;
  }
  return null;
}

/**
 * The frame duration of a track's codec, for giving each frame of a lace its own timestamp when the
 * track has no DefaultDuration: AAC (samples per frame from the AudioSpecificConfig), Opus (TOC byte),
 * MP3/MP2/MP1 and AC-3/E-AC-3 (frame headers), FLAC (frame header), PCM (bytes per sample × channels),
 * Vorbis (block sizes from the setup header; stateful, so it must see every packet of the track in order).
 * Null for other codecs (video, subtitles, and audio codecs not listed: Speex, DTS, TrueHD, WavPack…):
 * their laced frames share the block's timestamp, or BlockDuration split evenly.
 */
export function codecFrameDuration(track: Track): FrameDuration | null {
  const id = track.codecId;
  const audio = track.audio;
  const bySize = codecDurationBySize(track);
  if (bySize !== null) return (frame) => bySize(frame.length);
  if (id === "A_OPUS") return opusPacketDurationMs;
  if (id === "A_MPEG/L1" || id === "A_MPEG/L2" || id === "A_MPEG/L3") return mpegAudioFrameDurationMs;
  if (id === "A_AC3" || id === "A_EAC3" || id.startsWith("A_AC3/")) return ac3FrameDurationMs;
  if (id === "A_FLAC") {
    const rate = audio?.samplingFrequency ?? 0;
    return (frame) => flacFrameDurationMs(frame, rate);
  }
  if (id === "A_VORBIS" && track.codecPrivate && audio) return vorbisTiming(track.codecPrivate, audio.samplingFrequency);
  return null;
}
