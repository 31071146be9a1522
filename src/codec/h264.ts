import { MkvParseError } from "../ebml/errors.js";

/** The H.264 decoder configuration (ISO 14496-15 `avcC`) that Matroska stores as CodecPrivate. */
export interface AvcDecoderConfig {
  readonly profile: number;
  readonly compatibility: number;
  readonly level: number;
  /** Bytes in each NAL unit's length prefix (1, 2 or 4). */
  readonly nalLengthSize: number;
  readonly sps: readonly Uint8Array[];
  readonly pps: readonly Uint8Array[];
}

const START_CODE = Uint8Array.of(0, 0, 0, 1);

/** Parses an `avcC` record (the CodecPrivate of a V_MPEG4/ISO/AVC track); throws INVALID_VALUE if malformed. */
export function parseAvcDecoderConfig(codecPrivate: Uint8Array): AvcDecoderConfig {
  const bad = (why: string, at: number) => new MkvParseError("INVALID_VALUE", `bad avcC: ${why}`, at, ["CodecPrivate"]);
  if (codecPrivate.length < 7 || codecPrivate[0] !== 1) throw bad("too short or version is not 1", 0);
  const nalLengthSize = (codecPrivate[4]! & 3) + 1;
  if (nalLengthSize === 3) throw bad("NAL length size 3", 4);
  let p = 6;
  const read = (count: number): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      if (p + 2 > codecPrivate.length) throw bad("parameter set length runs past the end", p);
      const len = (codecPrivate[p]! << 8) | codecPrivate[p + 1]!;
      p += 2;
      if (p + len > codecPrivate.length) throw bad("parameter set runs past the end", p);
      out.push(codecPrivate.slice(p, p + len));
      p += len;
    }
    return out;
  };
  const sps = read(codecPrivate[5]! & 0x1f);
  if (p >= codecPrivate.length) throw bad("no PPS count", p);
  const ppsCount = codecPrivate[p++]!;
  const pps = read(ppsCount);
  return { profile: codecPrivate[1]!, compatibility: codecPrivate[2]!, level: codecPrivate[3]!, nalLengthSize, sps, pps };
}

/** Splits a length-prefixed (AVCC) frame into its NAL units (views, no copy). */
export function splitAvccNalUnits(frame: Uint8Array, nalLengthSize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < frame.length) {
    if (p + nalLengthSize > frame.length) throw new MkvParseError("INVALID_VALUE", "NAL length prefix runs past the frame", p);
    let len = 0;
    for (let k = 0; k < nalLengthSize; k++) len = len * 256 + frame[p + k]!;
    p += nalLengthSize;
    if (p + len > frame.length) throw new MkvParseError("INVALID_VALUE", `NAL unit of ${len} bytes runs past the frame`, p);
    out.push(frame.subarray(p, p + len));
    p += len;
  }
  return out;
}

/**
 * Converts an AVCC frame to Annex-B (start-code delimited) for decoders such as ffmpeg; with
 * `config` and a key frame, the SPS and PPS are put in front so each keyframe decodes on its own.
 */
export function avccToAnnexB(frame: Uint8Array, nalLengthSize: number, parameterSets?: AvcDecoderConfig): Uint8Array {
  const units = [...(parameterSets ? [...parameterSets.sps, ...parameterSets.pps] : []), ...splitAvccNalUnits(frame, nalLengthSize)];
  let size = 0;
  for (const u of units) size += 4 + u.length;
  const out = new Uint8Array(size);
  let o = 0;
  for (const u of units) {
    out.set(START_CODE, o);
    out.set(u, o + 4);
    o += 4 + u.length;
  }
  return out;
}

/** The nal_unit_type of each NAL unit in an Annex-B buffer (5 = IDR slice, 7 = SPS, 8 = PPS). */
export function annexBNalTypes(data: Uint8Array): number[] {
  const types: number[] = [];
  for (let i = 0; i + 3 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      types.push(data[i + 3]! & 0x1f);
      i += 3;
    }
  }
  return types;
}
