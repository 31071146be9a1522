/** The EBML header's ID, the first four bytes of every EBML document. */
const MAGIC = 0x1a45dfa3;
const MAGIC_BYTES = Uint8Array.of(0x1a, 0x45, 0xdf, 0xa3);
/** Second bytes of the EBML header's children (EBMLVersion, EBMLReadVersion, EBMLMaxIDLength, EBMLMaxSizeLength, DocType, DocTypeVersion, DocTypeReadVersion). */
const HEADER_CHILD = new Set([0x86, 0xf7, 0xf2, 0xf3, 0x82, 0x87, 0x85]);

type NodeBuffer = Uint8Array & { indexOf(value: Uint8Array, byteOffset: number): number };
const nodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, offset: number, length: number): NodeBuffer; isBuffer(b: unknown): boolean } }).Buffer;

/** Ranges up to this long are searched by a loop; longer ones natively, once per chunk (see MagicIndex). */
const SHORT_RANGE = 64;

/**
 * Where the four magic bytes occur in a chunk, found with one native search (memchr speed on Node) per
 * occurrence, not one per range asked about: the search runs to the chunk's end and its answer serves
 * every later range before it. A document stream asks about every element's bytes, and a 64 KiB chunk
 * holds hundreds of elements and at most a few headers. Call {@link MagicIndex.forget} when a new chunk
 * comes (a caller may refill the same buffer).
 */
export class MagicIndex {
  private bytes: Uint8Array | null = null;
  private searchable: NodeBuffer | null = null;
  /** The first magic at or after `searchedFrom` in `bytes`, or -1 for none. */
  private at = -1;
  private searchedFrom = 0;

  /** Forgets the chunk searched (its bytes may change). */
  forget(): void {
    this.bytes = null;
    this.searchable = null;
  }

  /** Where the four magic bytes next occur in `bytes[from, to)`, or -1. */
  find(bytes: Uint8Array, from: number, to: number): number {
    if (to - from < 4) return -1;
    if (to - from <= SHORT_RANGE || nodeBuffer === undefined) {
      for (let i = from; i + 4 <= to; i++) if (bytes[i] === 0x1a && bytes[i + 1] === 0x45 && bytes[i + 2] === 0xdf && bytes[i + 3] === 0xa3) return i;
      return -1;
    }
    if (bytes !== this.bytes || from < this.searchedFrom || (this.at !== -1 && this.at < from)) {
      if (bytes !== this.bytes) {
        this.bytes = bytes;
        this.searchable = nodeBuffer.isBuffer(bytes) ? (bytes as NodeBuffer) : nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      }
      this.searchedFrom = from;
      this.at = this.searchable!.indexOf(MAGIC_BYTES, from);
    }
    return this.at !== -1 && this.at + 4 <= to ? this.at : -1;
  }
}

const NO = 0;
const YES = 1;
const UNDECIDED = 2;

/**
 * Whether the bytes from `i` (just after an EBML header ID) read as the rest of an EBML header: a sane
 * size, then a child of the header (0x42xx); UNDECIDED when the bytes end (at `to`) before that shows.
 */
function headerBody(bytes: ArrayLike<number>, i: number, to: number): typeof NO | typeof YES | typeof UNDECIDED {
  if (i >= to) return UNDECIDED;
  const first = bytes[i]!;
  if (first === 0) return NO;
  const len = Math.clz32(first) - 23; // bytes of the size varint
  let size = first & (0xff >> len);
  for (let k = 1; k < len; k++) {
    if (i + k >= to) return UNDECIDED;
    size = size * 256 + bytes[i + k]!;
  }
  if (size > 1024 && size !== 2 ** (7 * len) - 1) return NO; // EBML headers are tens of bytes
  const child = i + len;
  if (child + 1 >= to) return child < to && bytes[child] !== 0x42 ? NO : UNDECIDED;
  return bytes[child] === 0x42 && HEADER_CHILD.has(bytes[child + 1]!) ? YES : NO;
}

/**
 * Finds the start of the next EBML document (its EBML header) in a run of bytes seen in ranges, in
 * order: the four bytes 1A 45 DF A3 followed by what an EBML header holds, so a payload that happens to
 * contain the four bytes is not taken for one (about one in 2^48 positions of random bytes). A header
 * split across ranges is found too, once enough of it has been seen to tell. Used to see where a lying
 * element size ran into the documents after it.
 */
export class DocumentScanner {
  /** The last (up to) four bytes seen, and how many have been seen since reset(). */
  private window = 0;
  private seen = 0;
  /** The bytes after a header ID at the end of the last range, when they did not tell yet. */
  private pending: number[] | null = null;
  /**
   * After scan() found a header that began in an earlier range: its bytes from its start up to the
   * range (for a reader resuming there, whose earlier chunks are gone).
   */
  carried: Uint8Array = new Uint8Array(0);
  /** Where the magic bytes are in the chunk being looked at. */
  readonly magic = new MagicIndex();

  /** Forgets the bytes seen (a new payload starts). */
  reset(): void {
    this.window = 0;
    this.seen = 0;
    this.pending = null;
  }

  /**
   * Looks at `bytes[from, to)`, the range after the last one seen; returns where a header starts, as an
   * index into `bytes` (below `from`, even negative, when it began in an earlier range), or null.
   */
  scan(bytes: Uint8Array, from: number, to: number): number | null {
    const pending = this.pending;
    this.pending = null;
    if (pending !== null) {
      const after = [...pending, ...bytes.subarray(from, Math.min(to, from + 12))];
      const verdict = headerBody(after, 0, after.length);
      if (verdict === YES) {
        this.carried = Uint8Array.from([...MAGIC_BYTES, ...pending]);
        return from - pending.length - 4;
      }
      if (verdict === UNDECIDED) this.pending = after;
    }
    // A header begun in earlier ranges ends within the first three bytes of this one.
    const head = Math.min(to, from + 3);
    for (let i = from; i < head; i++) {
      this.window = ((this.window << 8) | bytes[i]!) >>> 0;
      this.seen++;
      if (this.seen >= 4 && this.window === MAGIC && i - 3 < from && this.decide(bytes, i + 1, to)) {
        this.carried = MAGIC_BYTES;
        return i - 3;
      }
    }
    for (let at = this.magic.find(bytes, from, to); at >= 0; at = this.magic.find(bytes, at + 1, to)) if (this.decide(bytes, at + 4, to)) return at;
    for (let i = Math.max(head, to - 4); i < to; i++) {
      this.window = ((this.window << 8) | bytes[i]!) >>> 0;
      this.seen++;
    }
    return null;
  }

  /** True for a header whose body starts at `i`; an undecided one is kept for the next range. */
  private decide(bytes: Uint8Array, i: number, to: number): boolean {
    const verdict = headerBody(bytes, i, to);
    if (verdict === UNDECIDED) this.pending = [...bytes.subarray(i, to)];
    return verdict === YES;
  }
}
