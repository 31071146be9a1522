import { MkvParseError } from "../ebml/errors.js";

/** What an ADTS header needs from an AAC AudioSpecificConfig. */
export interface AacConfig {
  /** MPEG-4 audio object type (2 = AAC LC; 5 = SBR is written as its core type). */
  readonly objectType: number;
  /** Index into the AAC sampling frequency table (the core rate). */
  readonly samplingFrequencyIndex: number;
  readonly sampleRate: number;
  readonly channelConfiguration: number;
}

const RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * Reads an AAC AudioSpecificConfig (the CodecPrivate of an A_AAC track). With SBR/PS signalled
 * explicitly (object type 5 or 29) the core object type and rate are returned: what ADTS carries.
 */
export function parseAacConfig(asc: Uint8Array): AacConfig {
  if (asc.length < 2) throw new MkvParseError("INVALID_VALUE", "AudioSpecificConfig shorter than 2 bytes", 0, ["CodecPrivate"]);
  let bit = 0;
  const read = (n: number) => {
    let v = 0;
    for (let k = 0; k < n; k++, bit++) {
      const byte = asc[bit >> 3];
      if (byte === undefined) throw new MkvParseError("INVALID_VALUE", "AudioSpecificConfig too short", bit >> 3, ["CodecPrivate"]);
      v = v * 2 + ((byte >> (7 - (bit & 7))) & 1);
    }
    return v;
  };
  const type = () => {
    const t = read(5);
    return t === 31 ? 32 + read(6) : t;
  };
  let objectType = type();
  let index = read(4);
  let sampleRate = index === 15 ? read(24) : (RATES[index] ?? 0);
  const channelConfiguration = read(4);
  if (objectType === 5 || objectType === 29) {
    const extIndex = read(4);
    if (extIndex === 15) read(24);
    objectType = type();
  }
  if (index === 15) index = Math.max(0, RATES.indexOf(sampleRate));
  if (sampleRate === 0) sampleRate = RATES[index] ?? 0;
  return { objectType, samplingFrequencyIndex: index, sampleRate, channelConfiguration };
}

/** The AAC configuration of a legacy A_AAC/MPEG4/… track without CodecPrivate, from its codec ID and audio settings. */
export function aacConfigFromCodecId(codecId: string, sampleRate: number, channels: number): AacConfig {
  const objectType = /\/MAIN$/.test(codecId) ? 1 : /\/SSR$/.test(codecId) ? 3 : /\/LTP$/.test(codecId) ? 4 : 2;
  const index = RATES.indexOf(sampleRate);
  if (index < 0) throw new MkvParseError("INVALID_VALUE", `AAC sampling frequency ${sampleRate} Hz has no ADTS index`, 0, ["CodecPrivate"]);
  return { objectType, samplingFrequencyIndex: index, sampleRate, channelConfiguration: channels };
}

/** The 7-byte ADTS header (no CRC) for one raw AAC frame of `frameBytes` bytes. */
export function adtsHeader(config: AacConfig, frameBytes: number): Uint8Array {
  const length = frameBytes + 7;
  if (length > 0x1fff) throw new RangeError(`AAC frame of ${frameBytes} bytes is too long for ADTS`);
  const profile = Math.max(0, Math.min(3, config.objectType - 1));
  const h = new Uint8Array(7);
  h[0] = 0xff;
  h[1] = 0xf1; // MPEG-4, layer 0, no CRC
  h[2] = (profile << 6) | ((config.samplingFrequencyIndex & 0x0f) << 2) | ((config.channelConfiguration >> 2) & 1);
  h[3] = ((config.channelConfiguration & 3) << 6) | ((length >> 11) & 3);
  h[4] = (length >> 3) & 0xff;
  h[5] = ((length & 7) << 5) | 0x1f; // buffer fullness 0x7FF (VBR)
  h[6] = 0xfc;
  return h;
}

/** One raw AAC frame as an ADTS frame (header + payload), playable by ffprobe, VLC and most players. */
export function aacToAdts(frame: Uint8Array, config: AacConfig): Uint8Array {
  const out = new Uint8Array(frame.length + 7);
  out.set(adtsHeader(config, frame.length), 0);
  out.set(frame, 7);
  return out;
}
