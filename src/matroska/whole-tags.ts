import { readAscii, readUint, readUintString, readUtf8Exact, readUtf8Value } from "../ebml/values.js";
import type { SimpleTag, Tag } from "./model.js";

// IDs (RFC 9559): the children of Tags this reader knows.
const TAG = 0x7373;
const TARGETS = 0x63c0;
const TARGET_TYPE_VALUE = 0x68ca;
const TARGET_TYPE = 0x63ca;
const TAG_TRACK_UID = 0x63c5;
const SIMPLE_TAG = 0x67c8;
const TAG_NAME = 0x45a3;
const TAG_STRING = 0x4487;
const TAG_LANGUAGE = 0x447a;
const TAG_DEFAULT = 0x4484;

/** What a Tag without TagTrackUIDs and a SimpleTag without children hold: one frozen empty list, not one each. */
const NONE: readonly never[] = Object.freeze([]);

/** The header read last by {@link headerAt}: its payload's size and where its payload starts. */
let headerSize = 0;
let payloadAt = 0;

/** Reads the element header at `buf[i]`: its ID, or -1 unless it is well formed, of known size and ends by `end`. */
function headerAt(buf: Uint8Array, i: number, end: number): number {
  const b0 = buf[i]!;
  if (b0 < 0x10) return -1;
  const idLen = Math.clz32(b0) - 23;
  if (i + idLen >= end) return -1;
  let id = b0;
  for (let k = 1; k < idLen; k++) id = id * 256 + buf[i + k]!;
  const sb = buf[i + idLen]!;
  if (sb === 0) return -1;
  const sizeLen = Math.clz32(sb) - 23;
  const at = i + idLen + sizeLen;
  if (at > end) return -1;
  const mask = 0xff >> sizeLen;
  let size = sb & mask;
  let allOnes = size === mask;
  for (let k = i + idLen + 1; k < at; k++) {
    const b = buf[k]!;
    size = size * 256 + b;
    if (b !== 0xff) allOnes = false;
  }
  if (allOnes || at + size > end) return -1;
  headerSize = size;
  payloadAt = at;
  return id;
}

/**
 * Reads a whole Tags payload, `buf[s..e)`, in one pass when it has the usual shape (Tags of Targets
 * and SimpleTags with TagName, TagString, TagLanguage, TagDefault: what KVS sends in every fragment),
 * without the general reader's per-element work. Anything else (a nested SimpleTag, TagBinary, Void,
 * another Targets child, a size over `maxElementSize`, a malformed header) gives null: the caller then
 * reads it the general way, which reports what is wrong. The result is what the general way builds.
 */
export function readWholeTags(buf: Uint8Array, s: number, e: number, maxElementSize: number): Tag[] | null {
  const tags: Tag[] = [];
  let i = s;
  while (i < e) {
    if (headerAt(buf, i, e) !== TAG) return null;
    const tagEnd = payloadAt + headerSize;
    let typeValue: number | null = null;
    let type: string | null = null;
    let trackUids: string[] | null = null;
    const simpleTags: SimpleTag[] = [];
    i = payloadAt;
    while (i < tagEnd) {
      const id = headerAt(buf, i, tagEnd);
      const childEnd = payloadAt + headerSize;
      if (id === SIMPLE_TAG) {
        const st = readSimpleTag(buf, payloadAt, childEnd, maxElementSize);
        if (st === null) return null;
        simpleTags.push(st);
      } else if (id === TARGETS) {
        for (let k = payloadAt; k < childEnd; ) {
          const child = headerAt(buf, k, childEnd);
          if (headerSize > maxElementSize) return null;
          const v = payloadAt;
          const w = payloadAt + headerSize;
          if (child === TARGET_TYPE_VALUE) typeValue = readUint(buf, v, w);
          else if (child === TARGET_TYPE) type = readAscii(buf, v, w);
          else if (child === TAG_TRACK_UID) (trackUids ??= []).push(readUintString(buf, v, w));
          else return null;
          k = w;
        }
      } else return null;
      i = childEnd;
    }
    tags.push({ targets: { typeValue, type, trackUids: trackUids ?? NONE }, simpleTags });
  }
  return tags;
}

/** One SimpleTag's payload without nested SimpleTags or TagBinary, else null. */
function readSimpleTag(buf: Uint8Array, s: number, e: number, maxElementSize: number): SimpleTag | null {
  let name = "";
  let value: string | null = null;
  let language: string | null = null;
  let isDefault = true;
  for (let k = s; k < e; ) {
    const id = headerAt(buf, k, e);
    if (headerSize > maxElementSize) return null;
    const v = payloadAt;
    const w = payloadAt + headerSize;
    switch (id) {
      case TAG_NAME:
        name = readUtf8Exact(buf, v, w);
        break;
      case TAG_STRING:
        value = readUtf8Value(buf, v, w);
        break;
      case TAG_LANGUAGE:
        language = readAscii(buf, v, w);
        break;
      case TAG_DEFAULT:
        isDefault = readUint(buf, v, w) !== 0;
        break;
      default:
        return null;
    }
    k = w;
  }
  return { name, value, binary: null, language, isDefault, children: NONE };
}
