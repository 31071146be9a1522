import { MkvParseError } from "../ebml/errors.js";

/** Lacing kinds, from block flag bits 0x06 (RFC 9559 §10.3). */
export const Lacing = {
  None: 0,
  Xiph: 1,
  Fixed: 2,
  Ebml: 3,
} as const;

/** One of the {@link Lacing} values. */
export type Lacing = (typeof Lacing)[keyof typeof Lacing];

/** A block header and the frame layout of its payload; reused between blocks to avoid allocation. */
export class BlockLayout {
  /** TrackNumber. */
  track = 0;
  /** Signed 16-bit timestamp relative to the cluster. */
  relativeTimestamp = 0;
  /** The flags byte. */
  flags = 0;
  /** Number of frames in the block. */
  frameCount = 0;
  /** Index in the buffer of the first frame's first byte. */
  payloadStart = 0;
  /** Frame sizes (only the first frameCount entries are meaningful). */
  readonly sizes: number[] = [0];

  /** Parses the block in `buf[s..e)`; `dataOffset` is the absolute offset of `buf[s]`, for errors. */
  parse(buf: Uint8Array, s: number, e: number, dataOffset: number): void {
    if (e - s < 4) throw new MkvParseError("INVALID_BLOCK", `block of ${e - s} bytes is shorter than its header`, dataOffset);
    const b0 = buf[s]!;
    if (b0 === 0) throw new MkvParseError("INVALID_BLOCK", "block track number varint longer than 8 bytes", dataOffset);
    const tl = Math.clz32(b0) - 23;
    if (e - s < tl + 3) throw new MkvParseError("INVALID_BLOCK", "block header truncated", dataOffset);
    let track = b0 & (0xff >> tl);
    for (let k = 1; k < tl; k++) track = track * 256 + buf[s + k]!;
    let p = s + tl;
    const tc = (buf[p]! << 8) | buf[p + 1]!;
    this.track = track;
    this.relativeTimestamp = tc & 0x8000 ? tc - 0x10000 : tc;
    const flags = buf[p + 2]!;
    this.flags = flags;
    p += 3;
    const lacing = (flags >> 1) & 3; // Lacing.None, Xiph, Fixed, Ebml
    if (lacing === 0) {
      this.frameCount = 1;
      this.payloadStart = p;
      this.sizes[0] = e - p;
      return;
    }
    if (p >= e) throw new MkvParseError("INVALID_LACING", "laced block has no frame count", dataOffset + (p - s));
    const count = buf[p++]! + 1;
    const sizes = this.sizes;
    let total = 0;
    if (lacing === 2) {
      const rem = e - p;
      if (rem % count !== 0)
        throw new MkvParseError("INVALID_LACING", `fixed lacing: ${rem} bytes do not split into ${count} equal frames`, dataOffset + (p - s));
      for (let f = 0; f < count; f++) sizes[f] = rem / count;
      this.frameCount = count;
      this.payloadStart = p;
      return;
    }
    if (lacing === 1) {
      for (let f = 0; f < count - 1; f++) {
        let size = 0;
        let b: number;
        do {
          if (p >= e) throw new MkvParseError("INVALID_LACING", "Xiph lace sizes run past the block", dataOffset + (p - s));
          b = buf[p++]!;
          size += b;
        } while (b === 255);
        sizes[f] = size;
        total += size;
      }
    } else {
      let prev = 0;
      for (let f = 0; f < count - 1; f++) {
        if (p >= e) throw new MkvParseError("INVALID_LACING", "EBML lace sizes run past the block", dataOffset + (p - s));
        const c = buf[p]!;
        if (c === 0) throw new MkvParseError("INVALID_LACING", "EBML lace size varint longer than 8 bytes", dataOffset + (p - s));
        const len = Math.clz32(c) - 23;
        if (p + len > e) throw new MkvParseError("INVALID_LACING", "EBML lace size truncated", dataOffset + (p - s));
        let v = c & (0xff >> len);
        for (let k = 1; k < len; k++) v = v * 256 + buf[p + k]!;
        p += len;
        const size = f === 0 ? v : prev + (v - (2 ** (7 * len - 1) - 1));
        if (size < 0) throw new MkvParseError("INVALID_LACING", `EBML lace gives negative frame size ${size}`, dataOffset + (p - s));
        sizes[f] = size;
        prev = size;
        total += size;
      }
    }
    const last = e - p - total;
    if (last < 0) throw new MkvParseError("INVALID_LACING", `lace sizes (${total} bytes) exceed the block payload (${e - p})`, dataOffset + (p - s));
    sizes[count - 1] = last;
    this.frameCount = count;
    this.payloadStart = p;
  }
}
