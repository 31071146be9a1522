import { MkvParseError } from "../ebml/errors.js";

const START_CODE = Uint8Array.of(0, 0, 0, 1);

/** Splits a length-prefixed (AVCC/HVCC) frame into its NAL units (views, no copy). */
export function splitLengthPrefixed(frame: Uint8Array, lengthSize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < frame.length) {
    if (p + lengthSize > frame.length) throw new MkvParseError("INVALID_VALUE", "NAL length prefix runs past the frame", p);
    let len = 0;
    for (let k = 0; k < lengthSize; k++) len = len * 256 + frame[p + k]!;
    p += lengthSize;
    if (p + len > frame.length) throw new MkvParseError("INVALID_VALUE", `NAL unit of ${len} bytes runs past the frame`, p);
    out.push(frame.subarray(p, p + len));
    p += len;
  }
  return out;
}

/** Joins NAL units into an Annex-B byte stream (each after a 4-byte start code). */
export function joinAnnexB(units: readonly Uint8Array[]): Uint8Array {
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

/** The NAL units of an Annex-B byte stream (views, no copy; 3- and 4-byte start codes). */
export function splitAnnexB(data: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : data.length;
    while (end > s && data[end - 1] === 0) end--; // the leading zero of a 4-byte start code, or trailing zeros
    return data.subarray(s, end);
  });
}

/** Joins NAL units into a length-prefixed (AVCC/HVCC) frame with 4-byte lengths. */
export function joinLengthPrefixed(units: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const u of units) size += 4 + u.length;
  const out = new Uint8Array(size);
  let o = 0;
  for (const u of units) {
    out[o] = u.length >>> 24;
    out[o + 1] = (u.length >>> 16) & 0xff;
    out[o + 2] = (u.length >>> 8) & 0xff;
    out[o + 3] = u.length & 0xff;
    out.set(u, o + 4);
    o += 4 + u.length;
  }
  return out;
}
