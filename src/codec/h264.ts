import { concatBytes } from "../ebml/writer.js";
import { MkvParseError } from "../ebml/errors.js";
import { joinAnnexB, splitAnnexB, splitLengthPrefixed } from "./nal.js";

/** The H.264 decoder configuration (ISO 14496-15 `avcC`) that Matroska stores as CodecPrivate. */
export interface AvcDecoderConfig {
  /** profile_idc (66 Baseline, 77 Main, 100 High…). */
  readonly profile: number;
  /** The constraint flags byte. */
  readonly compatibility: number;
  /** level_idc × 10 (31 = level 3.1). */
  readonly level: number;
  /** Bytes in each NAL unit's length prefix (1, 2 or 4). */
  readonly nalLengthSize: number;
  /** Sequence parameter sets (NAL type 7). */
  readonly sps: readonly Uint8Array[];
  /** Picture parameter sets (NAL type 8). */
  readonly pps: readonly Uint8Array[];
}

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
  return splitLengthPrefixed(frame, nalLengthSize);
}

/** The nal_unit_type of an H.264 NAL unit (5 IDR slice, 7 SPS, 8 PPS). */
export function h264NalType(unit: Uint8Array): number {
  return unit[0]! & 0x1f;
}

/** Options of {@link avccToAnnexB}. */
export interface AnnexBOptions {
  /**
   * Put the configuration's parameter sets in front of the frame (so it decodes on its own): true,
   * false, or "auto" (default): when the frame is a random access point (H.264 IDR; H.265 IRAP) and
   * does not carry its own.
   */
  readonly parameterSets?: boolean | "auto";
}

/**
 * Converts an AVCC (length-prefixed) H.264 frame to Annex-B for decoders such as ffmpeg; the SPS and PPS
 * of `config` go in front of a keyframe that does not carry its own, so each keyframe decodes alone.
 */
export function avccToAnnexB(frame: Uint8Array, config: AvcDecoderConfig, options: AnnexBOptions = {}): Uint8Array {
  const units = splitLengthPrefixed(frame, config.nalLengthSize);
  const types = units.map(h264NalType);
  const want = options.parameterSets ?? "auto";
  const prepend = want === true || (want === "auto" && types.includes(5) && !types.includes(7));
  return joinAnnexB(prepend ? [...config.sps, ...config.pps, ...units] : units);
}

/** The nal_unit_type of each NAL unit in an H.264 Annex-B buffer (5 = IDR slice, 7 = SPS, 8 = PPS). */
export function annexBNalTypes(data: Uint8Array): number[] {
  return splitAnnexB(data).map(h264NalType);
}

/** An AVCDecoderConfigurationRecord (the avcC that is H.264's CodecPrivate) from SPS and PPS NAL units, 4-byte NAL lengths. */
export function avcDecoderConfigRecord(sps: readonly Uint8Array[], pps: readonly Uint8Array[]): Uint8Array {
  const first = sps[0];
  if (!first || first.length < 4 || pps.length === 0) throw new RangeError("an avcC needs an SPS (of at least 4 bytes) and a PPS");
  const parts: number[] = [1, first[1]!, first[2]!, first[3]!, 0xff, 0xe0 | sps.length];
  const out: Uint8Array[] = [Uint8Array.from(parts)];
  for (const s of sps) out.push(Uint8Array.of(s.length >> 8, s.length & 0xff), s);
  out.push(Uint8Array.of(pps.length));
  for (const p of pps) out.push(Uint8Array.of(p.length >> 8, p.length & 0xff), p);
  return concatBytes(out);
}
