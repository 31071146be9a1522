/** Payload of an element to write: raw bytes or a list of already encoded children. */
export type EbmlPayload = Uint8Array | readonly Uint8Array[];

const utf8 = new TextEncoder();

/** Concatenates byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Encodes an element ID (its marker bits are part of the ID value). */
export function encodeId(id: number): Uint8Array {
  const len = id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
  const out = new Uint8Array(len);
  for (let k = len - 1, v = id; k >= 0; k--, v = Math.floor(v / 256)) out[k] = v % 256;
  return out;
}

/** Encodes an element data size as a varint, in the shortest length (or `length` bytes, 1–8). */
export function encodeSize(size: number, length?: number): Uint8Array {
  let len = length ?? 1;
  if (length === undefined) while (len < 8 && size >= 2 ** (7 * len) - 1) len++;
  if (size >= 2 ** (7 * len) - 1) throw new RangeError(`size ${size} does not fit a ${len}-byte varint`);
  const out = new Uint8Array(len);
  let v = size;
  for (let k = len - 1; k >= 0; k--) {
    out[k] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0]! |= 0x80 >> (len - 1);
  return out;
}

/** The reserved all-ones "unknown size" varint of the given length (default 8). */
export function unknownSize(length = 8): Uint8Array {
  const out = new Uint8Array(length).fill(0xff);
  out[0] = 0xff >> (length - 1);
  return out;
}

/** Encodes a whole element with a known size. */
export function element(id: number, payload: EbmlPayload): Uint8Array {
  const body = payload instanceof Uint8Array ? payload : concatBytes(payload);
  return concatBytes([encodeId(id), encodeSize(body.length), body]);
}

/** Encodes a master element header with unknown size; its children follow it in the stream. */
export function unknownSizeHeader(id: number): Uint8Array {
  return concatBytes([encodeId(id), unknownSize(8)]);
}

/** Encodes an unsigned integer element in the fewest bytes. */
export function uintElement(id: number, value: number | bigint): Uint8Array {
  let v = BigInt(value);
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  return element(id, Uint8Array.from(bytes));
}

/** Encodes a signed integer element (two's complement, fewest bytes). */
export function intElement(id: number, value: number): Uint8Array {
  let len = 1;
  while (len < 8 && (value < -(2 ** (8 * len - 1)) || value >= 2 ** (8 * len - 1))) len++;
  let v = BigInt.asUintN(8 * len, BigInt(value));
  const out = new Uint8Array(len);
  for (let k = len - 1; k >= 0; k--) {
    out[k] = Number(v & 0xffn);
    v >>= 8n;
  }
  return element(id, out);
}

/** Encodes an 8-byte float element. */
export function floatElement(id: number, value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, value);
  return element(id, out);
}

/** Encodes a string element as UTF-8. */
export function stringElement(id: number, value: string): Uint8Array {
  return element(id, utf8.encode(value));
}
