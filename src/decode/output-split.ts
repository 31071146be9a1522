import { KvsParserError } from "../ebml/kvs-parser-error.js";

/** A decoder's output is not the image format asked for (its bytes do not split into images). */
export class DecoderOutputError extends KvsParserError {
  override readonly name = "DecoderOutputError";
  /** Always "INVALID_DECODER_OUTPUT". */
  declare readonly code: "INVALID_DECODER_OUTPUT";
  /** What is wrong (`message`) at byte `offset` of the decoder's output. */
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super("INVALID_DECODER_OUTPUT", `${message} at byte ${offset} of the decoder output`);
  }
}

/** Cuts a decoder's output byte stream into whole units (images of one format, or fixed-size raw frames). */
export interface OutputSplitter {
  /** Takes the next chunk; returns the units it completed (fresh buffers). */
  push(chunk: Uint8Array): Uint8Array[];
  /** Bytes held of an unfinished unit. */
  readonly pending: number;
  /** At the end of the output: what is left, as a last (shorter) unit if it may be one, else nothing. */
  flush(): Uint8Array[];
}

/** Accumulates bytes and cuts units where `unitEnd` says one ends (`base`: bytes of output before `buf[0]`). */
class Accumulator implements OutputSplitter {
  private buf = new Uint8Array(1 << 16);
  private len = 0;
  /** Bytes of output before `buf[0]`. */
  private base = 0;
  constructor(
    private readonly unitEnd: (buf: Uint8Array, len: number, base: number) => number,
    /** Leftover bytes at the end make a last unit in whole multiples of this (0: never). */
    private readonly tailAlign = 0,
  ) {}

  flush(): Uint8Array[] {
    const keep = this.tailAlign > 0 ? this.len - (this.len % this.tailAlign) : 0;
    const out = keep > 0 ? [this.buf.slice(0, keep)] : [];
    this.base += this.len;
    this.len = 0;
    return out;
  }

  get pending(): number {
    return this.len;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.len + chunk.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + chunk.length));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
    const out: Uint8Array[] = [];
    for (;;) {
      const end = this.unitEnd(this.buf, this.len, this.base);
      if (end <= 0) break;
      out.push(this.buf.slice(0, end));
      this.buf.copyWithin(0, end, this.len);
      this.len -= end;
      this.base += end;
    }
    return out;
  }
}

/** Fixed-size raw units (width × height × bytes per pixel; or audio chunks, whose last may be shorter, in whole `tailAlign` sample frames). */
export function rawSplitter(unitBytes: number, tailAlign = 0): OutputSplitter {
  return new Accumulator((_buf, len) => (len >= unitBytes ? unitBytes : -1), tailAlign);
}

/**
 * JPEG images back to back (image2pipe): marker segments are walked by their lengths up to the scan,
 * whose entropy-coded data (where 0xFF is stuffed) runs to the EOI marker.
 */
export function jpegSplitter(): OutputSplitter {
  return new Accumulator((b, len, base) => {
    if (len < 4) return -1;
    if (b[0] !== 0xff || b[1] !== 0xd8) throw new DecoderOutputError("not a JPEG (no SOI marker)", base);
    let p = 2;
    for (;;) {
      if (p + 4 > len) return -1;
      if (b[p] !== 0xff) throw new DecoderOutputError("JPEG marker expected", base + p);
      const marker = b[p + 1]!;
      if (marker === 0xd9) return p + 2;
      const size = (b[p + 2]! << 8) | b[p + 3]!;
      p += 2 + size;
      if (marker === 0xda) break; // start of scan
    }
    for (; p + 1 < len; p++) {
      if (b[p] === 0xff) {
        const next = b[p + 1]!;
        if (next === 0xd9) return p + 2;
        if (next !== 0 && (next < 0xd0 || next > 0xd7)) {
          // another marker segment (e.g. DHT between scans of a progressive JPEG): skip it whole
          if (p + 4 > len) return -1;
          if (next === 0xda || next === 0xc4 || next === 0xdb || next === 0xdd) p += 1 + ((b[p + 2]! << 8) | b[p + 3]!);
        }
      }
    }
    return -1;
  });
}

/** PNG images back to back: chunks walked by their lengths up to IEND. */
export function pngSplitter(): OutputSplitter {
  return new Accumulator((b, len, base) => {
    if (len < 8) return -1;
    if (b[0] !== 0x89 || b[1] !== 0x50 || b[2] !== 0x4e || b[3] !== 0x47) throw new DecoderOutputError("not a PNG (no PNG signature)", base);
    let p = 8;
    for (;;) {
      if (p + 8 > len) return -1;
      const size = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
      const type = String.fromCharCode(b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
      p += 12 + size;
      if (p > len) return -1;
      if (type === "IEND") return p;
    }
  });
}
