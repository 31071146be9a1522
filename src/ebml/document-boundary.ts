/** The EBML header's ID, the first four bytes of every EBML document. */
const MAGIC = [0x1a, 0x45, 0xdf, 0xa3] as const;
/** Second bytes of the EBML header's children (EBMLVersion, EBMLReadVersion, EBMLMaxIDLength, EBMLMaxSizeLength, DocType, DocTypeVersion, DocTypeReadVersion). */
const HEADER_CHILD = new Set([0x86, 0xf7, 0xf2, 0xf3, 0x82, 0x87, 0x85]);

const nodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, o: number, n: number): Uint8Array & { indexOf(v: Uint8Array, at: number): number } } })
  .Buffer;
const MAGIC_BYTES = Uint8Array.from(MAGIC);

/** Where the four magic bytes next occur in `bytes[from, to)`, or -1 (memchr-speed on Node). */
function indexOfMagic(bytes: Uint8Array, from: number, to: number): number {
  if (nodeBuffer !== undefined) {
    const view = nodeBuffer.from(bytes.buffer, bytes.byteOffset + from, to - from);
    const at = view.indexOf(MAGIC_BYTES, 0);
    return at < 0 ? -1 : from + at;
  }
  for (let i = from; i + 4 <= to; i++) if (bytes[i] === 0x1a && bytes[i + 1] === 0x45 && bytes[i + 2] === 0xdf && bytes[i + 3] === 0xa3) return i;
  return -1;
}

/**
 * True when the bytes after an EBML header ID at `at` read as an EBML header: a sane size, then a child
 * of the header (0x42xx). Bytes not yet arrived (past `to`) count as plausible.
 */
function plausibleHeader(bytes: Uint8Array, at: number, to: number): boolean {
  let i = at + 4;
  if (i >= to) return true;
  const first = bytes[i]!;
  if (first === 0) return false;
  const len = Math.clz32(first) - 23; // bytes of the size varint
  if (len > 8) return false;
  let size = first & (0xff >> len);
  for (let k = 1; k < len; k++) {
    if (i + k >= to) return true;
    size = size * 256 + bytes[i + k]!;
  }
  if (size > 1024 && size !== 2 ** (7 * len) - 1) return false; // EBML headers are tens of bytes
  i += len;
  if (i >= to) return true;
  if (bytes[i] !== 0x42) return false;
  return i + 1 >= to || HEADER_CHILD.has(bytes[i + 1]!);
}

/**
 * Where an EBML header (the start of the next document) begins in `bytes[from, to)`, or -1: the four
 * bytes 1A 45 DF A3 followed by what an EBML header holds, so a payload that happens to contain the four
 * bytes is not taken for one (about one in 2^48 positions of random bytes). Used to find where a lying
 * element size swallowed the documents after it.
 */
export function findDocumentStart(bytes: Uint8Array, from: number, to: number): number {
  for (let at = indexOfMagic(bytes, from, to); at >= 0; at = indexOfMagic(bytes, at + 1, to)) if (plausibleHeader(bytes, at, to)) return at;
  return -1;
}
