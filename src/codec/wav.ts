import type { Track } from "../matroska/model.js";

/** The sample format of a PCM stream as WAV stores it. */
export interface PcmFormat {
  readonly sampleRate: number;
  readonly channels: number;
  readonly bitsPerSample: number;
  /** IEEE float samples (32/64 bit) rather than integers. */
  readonly float: boolean;
}

/** The PCM format of an A_PCM/INT/LIT, A_PCM/INT/BIG or A_PCM/FLOAT/IEEE track, or null for other codecs. */
export function pcmFormatOf(track: Track): PcmFormat | null {
  if (!track.codecId.startsWith("A_PCM/") || !track.audio) return null;
  return {
    sampleRate: track.audio.samplingFrequency,
    channels: track.audio.channels,
    bitsPerSample: track.audio.bitDepth ?? (track.codecId === "A_PCM/FLOAT/IEEE" ? 32 : 16),
    float: track.codecId === "A_PCM/FLOAT/IEEE",
  };
}

/**
 * The 44-byte RIFF/WAVE header for `dataBytes` of PCM (0xFFFFFFFF-capped; a streaming writer writes a
 * placeholder first and this again once the size is known).
 */
export function wavHeader(format: PcmFormat, dataBytes: number): Uint8Array {
  const h = new Uint8Array(44);
  const v = new DataView(h.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) h[at + i] = s.charCodeAt(i);
  };
  const blockAlign = (format.channels * format.bitsPerSample) / 8;
  ascii(0, "RIFF");
  v.setUint32(4, Math.min(0xffffffff, 36 + dataBytes), true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, format.float ? 3 : 1, true);
  v.setUint16(22, format.channels, true);
  v.setUint32(24, format.sampleRate, true);
  v.setUint32(28, format.sampleRate * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, format.bitsPerSample, true);
  ascii(36, "data");
  v.setUint32(40, Math.min(0xffffffff, dataBytes), true);
  return h;
}

/** A frame of a big-endian PCM track (A_PCM/INT/BIG) in WAV's little-endian order (a copy); other frames as they are. */
export function pcmToWavOrder(frame: Uint8Array, track: Track): Uint8Array {
  if (track.codecId !== "A_PCM/INT/BIG") return frame;
  const bytes = Math.ceil((track.audio?.bitDepth ?? 16) / 8);
  const out = new Uint8Array(frame.length);
  for (let i = 0; i + bytes <= frame.length; i += bytes) for (let k = 0; k < bytes; k++) out[i + k] = frame[i + bytes - 1 - k]!;
  return out;
}
