import { MkvParseError } from "../ebml/errors.js";
import type { AnnexBOptions } from "./h264.js";
import { joinAnnexB, splitAnnexB, splitLengthPrefixed } from "./nal.js";

/** The H.265 decoder configuration (ISO 14496-15 `hvcC`) that Matroska stores as CodecPrivate. */
export interface HevcDecoderConfig {
  /** general_profile_idc (1 Main, 2 Main 10…). */
  readonly profile: number;
  /** general_tier_flag (0 Main, 1 High). */
  readonly tier: number;
  /** general_level_idc (level × 30). */
  readonly level: number;
  /** Bytes in each NAL unit's length prefix (1, 2 or 4). */
  readonly nalLengthSize: number;
  /** Video parameter sets (NAL type 32). */
  readonly vps: readonly Uint8Array[];
  /** Sequence parameter sets (NAL type 33). */
  readonly sps: readonly Uint8Array[];
  /** Picture parameter sets (NAL type 34). */
  readonly pps: readonly Uint8Array[];
  /** Other NAL units of the record (prefix SEI…), in order. */
  readonly other: readonly Uint8Array[];
}

/** The nal_unit_type of an H.265 NAL unit (16-23 IRAP, 32 VPS, 33 SPS, 34 PPS). */
export function h265NalType(unit: Uint8Array): number {
  return (unit[0]! >> 1) & 0x3f;
}

/** Parses an `hvcC` record (the CodecPrivate of a V_MPEGH/ISO/HEVC track); throws INVALID_VALUE if malformed. */
export function parseHevcDecoderConfig(codecPrivate: Uint8Array): HevcDecoderConfig {
  const bad = (why: string, at: number) => new MkvParseError("INVALID_VALUE", `bad hvcC: ${why}`, at, ["CodecPrivate"]);
  if (codecPrivate.length < 23 || codecPrivate[0] !== 1) throw bad("too short or version is not 1", 0);
  const nalLengthSize = (codecPrivate[21]! & 3) + 1;
  if (nalLengthSize === 3) throw bad("NAL length size 3", 21);
  const arrays = codecPrivate[22]!;
  const vps: Uint8Array[] = [];
  const sps: Uint8Array[] = [];
  const pps: Uint8Array[] = [];
  const other: Uint8Array[] = [];
  let p = 23;
  for (let a = 0; a < arrays; a++) {
    if (p + 3 > codecPrivate.length) throw bad("NAL array header runs past the end", p);
    const type = codecPrivate[p]! & 0x3f;
    const count = (codecPrivate[p + 1]! << 8) | codecPrivate[p + 2]!;
    p += 3;
    for (let i = 0; i < count; i++) {
      if (p + 2 > codecPrivate.length) throw bad("NAL unit length runs past the end", p);
      const len = (codecPrivate[p]! << 8) | codecPrivate[p + 1]!;
      p += 2;
      if (p + len > codecPrivate.length) throw bad("NAL unit runs past the end", p);
      const unit = codecPrivate.slice(p, p + len);
      p += len;
      (type === 32 ? vps : type === 33 ? sps : type === 34 ? pps : other).push(unit);
    }
  }
  return { profile: codecPrivate[1]! & 0x1f, tier: (codecPrivate[1]! >> 5) & 1, level: codecPrivate[12]!, nalLengthSize, vps, sps, pps, other };
}

const isIrap = (type: number) => type >= 16 && type <= 23;

/**
 * Converts an HVCC (length-prefixed) H.265 frame to Annex-B for decoders such as `ffmpeg -f hevc`; the
 * VPS, SPS and PPS of `config` go in front of a random access point (IRAP: IDR, CRA, BLA) that does not
 * carry its own, so each keyframe decodes alone.
 */
export function hvccToAnnexB(frame: Uint8Array, config: HevcDecoderConfig, options: AnnexBOptions = {}): Uint8Array {
  const units = splitLengthPrefixed(frame, config.nalLengthSize);
  const types = units.map(h265NalType);
  const want = options.parameterSets ?? "auto";
  const prepend = want === true || (want === "auto" && types.some(isIrap) && !types.includes(33));
  return joinAnnexB(prepend ? [...config.vps, ...config.sps, ...config.pps, ...config.other, ...units] : units);
}

/** The nal_unit_type of each NAL unit in an H.265 Annex-B buffer. */
export function annexBHevcNalTypes(data: Uint8Array): number[] {
  return splitAnnexB(data).map(h265NalType);
}

/** The RBSP of a NAL unit's payload (after its header): the emulation prevention bytes (00 00 03) taken out. */
function rbsp(unit: Uint8Array, from: number): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (let i = from; i < unit.length; i++) {
    const b = unit[i]!;
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out.push(b);
  }
  return Uint8Array.from(out);
}

/**
 * An HEVCDecoderConfigurationRecord (the hvcC that is H.265's CodecPrivate) from VPS, SPS and PPS NAL
 * units, 4-byte NAL lengths. The profile, tier, level and constraint flags come from the SPS's
 * profile_tier_level; chroma format 4:2:0 and 8-bit depth are written (decoders read the parameter sets
 * the record carries).
 */
export function hevcDecoderConfigRecord(vps: readonly Uint8Array[], sps: readonly Uint8Array[], pps: readonly Uint8Array[]): Uint8Array {
  const first = sps[0];
  if (!first || vps.length === 0 || pps.length === 0) throw new RangeError("an hvcC needs a VPS, an SPS and a PPS");
  const r = rbsp(first, 2); // after the 2-byte NAL header
  if (r.length < 13) throw new RangeError(`an SPS of ${first.length} bytes is too short for its profile_tier_level`);
  const subLayers = ((r[0]! >> 1) & 0x07) + 1;
  const temporalIdNested = r[0]! & 0x01;
  const head = [
    1,
    ...r.subarray(1, 13), // general profile space, tier, profile; compatibility flags; constraint flags; level
    0xf0,
    0x00, // min_spatial_segmentation_idc 0
    0xfc, // parallelismType unknown
    0xfc | 1, // chroma_format_idc 4:2:0
    0xf8, // bit_depth_luma_minus8 0
    0xf8, // bit_depth_chroma_minus8 0
    0,
    0, // avgFrameRate unknown
    (subLayers << 3) | (temporalIdNested << 2) | 3, // constantFrameRate 0, lengthSizeMinusOne 3
    3,
  ];
  const parts: number[] = head;
  for (const [type, units] of [
    [32, vps],
    [33, sps],
    [34, pps],
  ] as const) {
    parts.push(0x80 | type, units.length >> 8, units.length & 0xff);
    for (const u of units) parts.push(u.length >> 8, u.length & 0xff, ...u);
  }
  return Uint8Array.from(parts);
}
