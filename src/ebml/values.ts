import { MkvParseError } from "./errors.js";
import { copyBytes, KeptBytes } from "./kept-bytes.js";

const utf8 = new TextDecoder("utf-8");
const latin1 = new TextDecoder("latin1");

/**
 * Short strings recur in every fragment of a stream (tag names, codec IDs, UIDs, languages): a small
 * direct-mapped table from bytes to the decoded string saves decoding them again. A lookup costs a hash of
 * the last 12 bytes and, on a hit, a compare of every byte (KeptBytes: a collision costs a miss, never a
 * wrong string); longer strings (fragment numbers, titles) are not interned.
 */
const INTERN_MAX = 40;
const INTERN_SLOTS = 512;
const internBytes: (KeptBytes | null)[] = new Array<KeptBytes | null>(INTERN_SLOTS).fill(null);
const internStrings: string[] = new Array<string>(INTERN_SLOTS).fill("");
const internKinds = new Uint8Array(INTERN_SLOTS);

function interned(buf: Uint8Array, s: number, e: number, kind: number, decode: (buf: Uint8Array, s: number, e: number) => string): string {
  const n = e - s;
  if (n > INTERN_MAX) return decode(buf, s, e);
  // The hash takes the length and the last 12 bytes (where names sharing a prefix, as KVS's tag names
  // do, differ); a collision costs a miss, never a wrong string: a hit compares every byte.
  const slot = (KeptBytes.hash(buf, s, e, kind) >>> 0) & (INTERN_SLOTS - 1);
  const held = internBytes[slot];
  if (held !== null && held !== undefined && internKinds[slot] === kind && held.matches(buf, s, e)) return internStrings[slot]!;
  const str = internalized(decode(buf, s, e));
  internBytes[slot] = new KeptBytes(buf, s, e);
  internStrings[slot] = str;
  internKinds[slot] = kind;
  return str;
}

/**
 * Node's native UTF-8 slice (Buffer#utf8Slice, which takes any Uint8Array): it decodes without the view
 * TextDecoder needs, about twice as fast on the short strings of tags. Absent outside Node.
 */
const nativeUtf8Slice = (globalThis as { Buffer?: { prototype: { utf8Slice?: (this: Uint8Array, s: number, e: number) => string } } }).Buffer?.prototype
  .utf8Slice;

/** UTF-8 of `buf[s..e)`, as TextDecoder decodes it (a leading BOM dropped, bad bytes replaced by U+FFFD). */
function decodeUtf8(buf: Uint8Array, s: number, e: number): string {
  const bom = e - s >= 3 && buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf;
  return nativeUtf8Slice !== undefined && !bom ? nativeUtf8Slice.call(buf, s, e) : utf8.decode(buf.subarray(s, e));
}
/**
 * The engine's own copy of `str` (V8 keeps one copy of each string used as a property key): comparing
 * it with a literal or using it as a key is then a pointer compare, not a compare of characters. Done
 * once per table entry.
 */
function internalized(str: string): string {
  return Object.keys({ [str]: 0 })[0] ?? str;
}

const decodeLatin1 = (buf: Uint8Array, s: number, e: number) => latin1.decode(buf.subarray(s, e));
const decodeUintString = (buf: Uint8Array, s: number, e: number) => {
  let v = 0n;
  for (let k = s; k < e; k++) v = (v << 8n) | BigInt(buf[k]!);
  return v.toString();
};
const floatBytes = new Uint8Array(8);
const floatView = new DataView(floatBytes.buffer);

export { copyBytes };

/** True when `a` holds exactly the bytes `buf[s..e)` (no view of them made). */
export function sameBytesAt(a: Uint8Array, buf: Uint8Array, s: number, e: number): boolean {
  if (a.length !== e - s) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== buf[s + k]) return false;
  return true;
}

/** True when both are null, or hold the same bytes. */
export function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === b) return true;
  return a !== null && b !== null && sameBytesAt(a, b, 0, b.length);
}

/** Reads a big-endian unsigned integer of 0–8 bytes (precise up to 2^53). */
export function readUint(buf: Uint8Array, s: number, e: number): number {
  let v = 0;
  for (let k = s; k < e; k++) v = v * 256 + buf[k]!;
  return v;
}

/** Reads a big-endian unsigned integer of 0–8 bytes as a decimal string (exact, for UIDs). */
export function readUintString(buf: Uint8Array, s: number, e: number): string {
  if (e - s <= 6) return String(readUint(buf, s, e));
  return interned(buf, s, e, 3, decodeUintString);
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
  if (len === 4 || len === 8) {
    for (let k = 0; k < len; k++) floatBytes[k] = buf[s + k]!;
    return len === 4 ? floatView.getFloat32(0) : floatView.getFloat64(0);
  }
  throw new MkvParseError("INVALID_VALUE", `float element of ${len} bytes (must be 0, 4 or 8)`, offset);
}

/** Decodes a UTF-8 string element, dropping the NUL padding the spec allows at its end. */
export function readUtf8(buf: Uint8Array, s: number, e: number): string {
  while (e > s && buf[e - 1] === 0) e--;
  return interned(buf, s, e, 1, decodeUtf8);
}

/** Decodes a UTF-8 string element exactly as stored (trailing NULs kept: tag names are given verbatim). */
export function readUtf8Exact(buf: Uint8Array, s: number, e: number): string {
  return interned(buf, s, e, 1, decodeUtf8);
}

/**
 * Decodes a UTF-8 string that changes from element to element (a tag's value: fragment numbers, times,
 * continuation tokens) exactly as stored, without interning: a table entry for each would only miss.
 */
export function readUtf8Value(buf: Uint8Array, s: number, e: number): string {
  return decodeUtf8(buf, s, e);
}

/** Decodes an ASCII string element, dropping the NUL padding the spec allows at its end. */
export function readAscii(buf: Uint8Array, s: number, e: number): string {
  while (e > s && buf[e - 1] === 0) e--;
  return interned(buf, s, e, 2, decodeLatin1);
}
