import { MkvParseError } from "./errors.js";

const utf8 = new TextDecoder("utf-8");
const latin1 = new TextDecoder("latin1");

/** Reads a big-endian unsigned integer of 0–8 bytes (precise up to 2^53). */
export function readUint(buf: Uint8Array, s: number, e: number): number {
  let v = 0;
  for (let k = s; k < e; k++) v = v * 256 + buf[k]!;
  return v;
}

/** Reads a big-endian unsigned integer of 0–8 bytes as a decimal string (exact, for UIDs). */
export function readUintString(buf: Uint8Array, s: number, e: number): string {
  if (e - s <= 6) return String(readUint(buf, s, e));
  let v = 0n;
  for (let k = s; k < e; k++) v = (v << 8n) | BigInt(buf[k]!);
  return v.toString();
}

/** Reads a big-endian two's-complement signed integer of 0–8 bytes. */
export function readInt(buf: Uint8Array, s: number, e: number): number {
  let v = 0;
  for (let k = s; k < e; k++) v = v * 256 + buf[k]!;
  return e > s && buf[s]! & 0x80 ? v - 256 ** (e - s) : v;
}

/** Reads a 0-, 4- or 8-byte big-endian IEEE float; throws INVALID_VALUE for other sizes. */
export function readFloat(buf: Uint8Array, s: number, e: number, offset: number): number {
  const len = e - s;
  if (len === 0) return 0;
  const view = new DataView(buf.buffer, buf.byteOffset + s, len);
  if (len === 4) return view.getFloat32(0);
  if (len === 8) return view.getFloat64(0);
  throw new MkvParseError("INVALID_VALUE", `float element of ${len} bytes (must be 0, 4 or 8)`, offset);
}

/** Decodes a UTF-8 string element, dropping the NUL padding the spec allows at its end. */
export function readUtf8(buf: Uint8Array, s: number, e: number): string {
  while (e > s && buf[e - 1] === 0) e--;
  return utf8.decode(buf.subarray(s, e));
}

/** Decodes a UTF-8 string element exactly as stored (trailing NULs kept: tag values are given verbatim). */
export function readUtf8Exact(buf: Uint8Array, s: number, e: number): string {
  return utf8.decode(buf.subarray(s, e));
}

/** Decodes an ASCII string element, dropping the NUL padding the spec allows at its end. */
export function readAscii(buf: Uint8Array, s: number, e: number): string {
  while (e > s && buf[e - 1] === 0) e--;
  return latin1.decode(buf.subarray(s, e));
}
