import { KvsParserError } from "../ebml/kvs-parser-error.js";
import type { RtpPacketLike } from "./rtp-assembler.js";

/** An RTP payload that does not follow its format (RFC 6184 for H.264, RFC 7741 for VP8). */
export class RtpPayloadError extends KvsParserError {
  override readonly name = "RtpPayloadError";
  /** The sequence number of the packet at fault. */
  readonly sequenceNumber: number;
  /** A payload error in packet `sequenceNumber`. */
  constructor(message: string, sequenceNumber: number) {
    super("RTP_PAYLOAD", `${message} (RTP sequence number ${sequenceNumber})`, { retryable: false, action: "the sender's packetization is broken" });
    this.sequenceNumber = sequenceNumber;
  }
}

const STAP_A = 24;
const FU_A = 28;

/**
 * The NAL units of one whole H.264 access unit from its RTP packets (RFC 6184 packetization-mode 0
 * and 1: single NAL unit, STAP-A, FU-A). Throws {@link RtpPayloadError} on a fragment unit that does
 * not start, continue and end in order.
 */
export function h264NalUnits(packets: readonly RtpPacketLike[]): Uint8Array[] {
  const units: Uint8Array[] = [];
  let fu: Uint8Array[] | null = null;
  let fuHeader = 0;
  for (const p of packets) {
    const b = p.payload;
    if (b.length === 0) continue;
    const type = b[0]! & 0x1f;
    if (type === FU_A) {
      if (b.length < 2) throw new RtpPayloadError("FU-A packet without its header", p.sequenceNumber);
      const start = (b[1]! & 0x80) !== 0;
      const end = (b[1]! & 0x40) !== 0;
      if (start) {
        if (fu !== null) throw new RtpPayloadError("FU-A start before the previous unit ended", p.sequenceNumber);
        fuHeader = (b[0]! & 0xe0) | (b[1]! & 0x1f);
        fu = [Uint8Array.of(fuHeader)];
      } else if (fu === null) throw new RtpPayloadError("FU-A continuation without its start", p.sequenceNumber);
      fu.push(b.subarray(2));
      if (end) {
        units.push(Buffer.concat(fu));
        fu = null;
      }
      continue;
    }
    if (fu !== null) throw new RtpPayloadError("FU-A unit not ended", p.sequenceNumber);
    if (type === STAP_A) {
      let i = 1;
      while (i + 2 <= b.length) {
        const n = (b[i]! << 8) | b[i + 1]!;
        i += 2;
        if (n === 0 || i + n > b.length) throw new RtpPayloadError("STAP-A unit overruns the packet", p.sequenceNumber);
        units.push(b.subarray(i, i + n));
        i += n;
      }
    } else if (type >= 1 && type <= 23) units.push(b);
    else throw new RtpPayloadError(`unsupported H.264 RTP payload type ${type}`, p.sequenceNumber);
  }
  if (fu !== null) throw new RtpPayloadError("FU-A unit not ended at the frame's end", packets.at(-1)!.sequenceNumber);
  return units;
}

/** NAL unit types a packet carries (its own, those of a STAP-A, the FU-A's when it starts a unit). */
function h264PacketTypes(b: Uint8Array): number[] {
  if (b.length === 0) return [];
  const type = b[0]! & 0x1f;
  if (type === FU_A) return b.length > 1 && (b[1]! & 0x80) !== 0 ? [b[1]! & 0x1f] : [];
  if (type !== STAP_A) return [type];
  const out: number[] = [];
  for (let i = 1; i + 2 < b.length; ) {
    const n = (b[i]! << 8) | b[i + 1]!;
    out.push(b[i + 2]! & 0x1f);
    i += 2 + n;
  }
  return out;
}

/** True when the access unit holds an IDR slice (NAL type 5). */
export function h264IsKeyframe(packets: readonly RtpPacketLike[]): boolean {
  return packets.some((p) => h264PacketTypes(p.payload).includes(5));
}

/** The length of a VP8 payload descriptor (RFC 7741 §4.2) at the front of `b`. */
function vp8DescriptorLength(b: Uint8Array, seq: number): number {
  if (b.length < 1) throw new RtpPayloadError("empty VP8 payload", seq);
  let i = 1;
  if (b[0]! & 0x80) {
    if (b.length < 2) throw new RtpPayloadError("VP8 descriptor cut short", seq);
    const x = b[1]!;
    i = 2;
    if (x & 0x80) i += b[i]! & 0x80 ? 2 : 1; // I: PictureID, 7 or 15 bits
    if (x & 0x40) i++; // L: TL0PICIDX
    if (x & 0x30) i++; // T or K: TID/Y/KEYIDX
  }
  if (i > b.length) throw new RtpPayloadError("VP8 descriptor cut short", seq);
  return i;
}

/** One whole VP8 frame from its RTP packets (descriptors removed). */
export function vp8Frame(packets: readonly RtpPacketLike[]): Uint8Array {
  const parts = packets.map((p) => p.payload.subarray(vp8DescriptorLength(p.payload, p.sequenceNumber)));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** True when the VP8 frame is a key frame (the frame tag's P bit is 0). */
export function vp8IsKeyframe(packets: readonly RtpPacketLike[]): boolean {
  const first = packets[0];
  if (!first) return false;
  const b = first.payload;
  const at = vp8DescriptorLength(b, first.sequenceNumber);
  return (b[0]! & 0x10) !== 0 && at < b.length && (b[at]! & 0x01) === 0;
}

/**
 * True when an H.264 packet begins an access unit: an access unit delimiter, or an SPS (alone or first
 * in a STAP-A), which senders without delimiters (browsers, x264 in Matroska) put first in a keyframe.
 */
export function h264StartsFrame(packet: RtpPacketLike): boolean {
  const b = packet.payload;
  if (b.length === 0) return false;
  const type = b[0]! & 0x1f;
  const first = type === STAP_A ? (b.length > 3 ? b[3]! & 0x1f : 0) : type;
  return first === 9 || first === 7;
}

/** True when a VP8 packet begins a frame (the descriptor's S bit set, partition 0). */
export function vp8StartsFrame(packet: RtpPacketLike): boolean {
  const b = packet.payload;
  return b.length > 0 && (b[0]! & 0x10) !== 0 && (b[0]! & 0x0f) === 0;
}
