import { MkvParseError, type MkvParseErrorCode } from "./errors.js";
import { asError } from "./kvs-parser-error.js";
import { type EbmlSchema, ID, matroskaSchema, type ElementInfo } from "./schema.js";
import { DocumentScanner } from "./document-boundary.js";
import { describeNonEbml } from "./sniff.js";

/**
 * Receives the elements an {@link EbmlReader} finds, synchronously and in stream order.
 * Offsets are absolute: bytes counted from the first byte ever pushed.
 */
export interface EbmlSink {
  /** A master element starts; `size` is -1 for unknown size. Its children follow. */
  masterStart(id: number, offset: number, dataOffset: number, size: number): void;
  /** A master element that started at `offset` ends at `endOffset` (by size, by a non-child, or at end of input). */
  masterEnd(id: number, offset: number, endOffset: number): void;
  /**
   * A data element is complete. Its payload is `buf[start..end)`: a view into the pushed chunk when the
   * element lay inside one chunk. When it straddled chunks: a block's (SimpleBlock, Block) is memory of
   * its own, which the reader no longer touches; any other element's is the reader's scratch area, which
   * it reuses once `data` returns (copy what must be kept).
   */
  data(id: number, buf: Uint8Array, start: number, end: number, offset: number, dataOffset: number): void;
  /** An element whose payload the reader skipped: one the sink does not want or Void (`known` true), or an ID the schema lacks. */
  skipped(id: number, offset: number, dataOffset: number, size: number, known: boolean): void;
  /** With `recover: true`: an error was met and bytes `[error.offset, resumeOffset)` were passed over. */
  recovered?(error: MkvParseError, resumeOffset: number): void;
  /**
   * A SimpleBlock of a Cluster that lay inside one chunk (Matroska's hot path): when the sink has this,
   * the reader walks runs of such blocks in a tight loop and hands them here instead of to `data`.
   */
  simpleBlock?(buf: Uint8Array, start: number, end: number, offset: number, dataOffset: number): void;
  /**
   * A master of known size whose whole payload, `buf[start..end)`, lies in one chunk, before any of its
   * children is read. Return true to take it whole: the reader then passes over its payload and reports
   * neither its children nor its start and end. False: it is read as usual. (Not called with `recover`.)
   */
  wholeMaster?(id: number, buf: Uint8Array, start: number, end: number, offset: number, dataOffset: number): boolean;
}

/** Limits and behaviour of an {@link EbmlReader}. */
export interface EbmlReaderOptions {
  /** Largest payload of a non-block data element the sink is handed, in bytes (default 64 MiB); skipped elements have no limit. */
  maxElementSize?: number;
  /** Largest SimpleBlock/Block payload, in bytes (default 256 MiB). */
  maxBlockSize?: number;
  /** Deepest nesting of master elements (default 32). */
  maxDepth?: number;
  /** Resynchronise at the next EBML header or Cluster after an error instead of throwing (default false). */
  recover?: boolean;
  /** The element table (default: Matroska). */
  schema?: EbmlSchema;
  /**
   * IDs the sink needs (default: all). Any other element the schema knows is streamed past by its size,
   * whatever that size, and reported with `skipped`; a master of unknown size is still entered.
   */
  wanted?: ReadonlySet<number>;
  /**
   * The input is a document: it must start with an EBML header or a Segment (or a Segment's child, for a
   * stream picked up mid-way); anything else is NOT_EBML, with what it looks like (default false).
   */
  expectDocument?: boolean;
  /**
   * The input is a run of documents that each start with an EBML header (a GetMedia response: one per
   * fragment), so a header can only come between documents. An EBML header found inside an element that
   * claims to go on (a payload being skipped or gathered) ends that element as HEADER_INSIDE_ELEMENT, at
   * the element, and with `recover` reading resumes at that header; an element a master cannot hold is
   * MISPLACED_ELEMENT even where its parent has unknown size. A lying size then costs at most the
   * bytes up to the next document, never the documents after it. Every payload is looked through
   * (memchr speed), so blocks take the general path (default false).
   */
  documentStream?: boolean;
}

const HEADER = 0;
const DATA = 1;
const SKIP = 2;
const RESYNC = 3;
const FAILED = 4;
const ENDED = 5;

const EBML_MAGIC = 0x1a45dfa3;
/**
 * Straddling elements up to this size get all their memory at once; a larger one gets memory as its bytes
 * arrive (doubling), so a size that lies costs what was sent, not what was claimed.
 */
const EAGER_ELEMENT = 1 << 20;
const CLUSTER_MAGIC = 0x1f43b675;
const EMPTY = new Uint8Array(0);
/** With `expectDocument`: how many first bytes describe an input that is not a document. */
const START_BYTES = 192;

/** IDs RFC 8794 reserves: all value bits 0 or all 1 (0x80, 0xFF, 0x4000, 0x7FFF, …); valid only where the schema defines one (Matroska's ChapterDisplay is 0x80). */
function isReservedId(id: number): boolean {
  const len = id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
  const marker = 2 ** (8 * len - len);
  const value = id - marker;
  return value === 0 || value === marker - 1;
}

/** True when `bytes` (4 or more) begin with an EBML header, a Segment, or a Segment's child (a stream picked up mid-way). */
function isDocumentStart(bytes: Uint8Array, schema: EbmlSchema): boolean {
  if (bytes[0]! < 0x10 || bytes[0]! > 0x1f) return false; // top-level and level-1 IDs are 4 bytes long
  const id = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  return id === ID.EBML || id === ID.Segment || (schema.get(id)?.parents.includes(ID.Segment) ?? false);
}

/**
 * Memory for one straddling element. On Node, Buffer.allocUnsafeSlow skips zero-filling bytes that are
 * overwritten at once. The Buffer is used as it is (a Uint8Array): wrapping it in a second view (through
 * its .buffer) made V8 keep the memory until a full GC, and a stream of large frames in small chunks then
 * ran dozens of full GCs a second instead of cheap scavenges.
 */
const nodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow?: (n: number) => Uint8Array } }).Buffer;
const allocateRaw: (size: number) => Uint8Array =
  typeof nodeBuffer?.allocUnsafeSlow === "function" ? (n) => nodeBuffer.allocUnsafeSlow!(n) : (n) => new Uint8Array(n);

/**
 * Makes glibc's malloc keep the memory it frees instead of giving it back to the OS at once. Its heap
 * gives back what is free at its top beyond a trim threshold (128 KiB at first) and takes it again page
 * by page, a page fault each, as it regrows. The GC frees straddle copies in batches of 20–30 MiB, so at
 * 4 KiB chunks some processes shrank and regrew the heap every pass and ran at a third to half their
 * speed. When a block glibc had mapped on its own is freed, glibc raises the threshold to twice its size
 * (for blocks up to 32 MiB): one untouched 31 MiB block, dropped at once, lets the heap keep 62 MiB free.
 * Done once, before the first copy; with other allocators it is one short-lived allocation. Node only
 * (elsewhere the block would be zero-filled), and a failed allocation is ignored.
 */
function primeNativeHeap(): void {
  try {
    nodeBuffer?.allocUnsafeSlow?.(31 << 20);
  } catch {
    // Best effort: where 31 MiB of address space cannot be had even for a moment, the heap stays as it was.
  }
}

/** Size of the slabs straddling elements are carved from. */
const SLAB = 1 << 17;
/** Larger elements get memory of their own. */
const SLAB_MAX_ELEMENT = SLAB / 4;

/**
 * Small straddling elements (audio frames, tags cut by a chunk boundary) get their bytes from 128 KiB
 * slabs, carved in order, instead of an allocation each; larger ones get their own. A slab lives while
 * any element carved from it does (as a chunk lives while a frame views it).
 */
class SlabAllocator {
  private slab: Uint8Array = new Uint8Array(0);
  private used = 0;
  private heapPrimed = false;

  take(size: number): Uint8Array {
    if (!this.heapPrimed) {
      this.heapPrimed = true;
      primeNativeHeap();
    }
    if (size > SLAB_MAX_ELEMENT) return allocateRaw(size);
    if (this.used + size > this.slab.length) {
      this.slab = allocateRaw(SLAB);
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + size);
    this.used += size;
    return out;
  }
}

/**
 * One allocator for every reader of the process: a reader that lives for one connection (a live reader
 * makes one per GetMedia call) carves on from where the last one stopped instead of starting a slab.
 * Carved bytes are never handed out twice, so sharing is safe.
 */
const sharedSlabs = new SlabAllocator();

/**
 * A push parser for EBML: feed it chunks of any size with {@link push}, then call {@link end}.
 * It keeps at most one element header (12 bytes) and, when a data element straddles chunks, that one
 * element; everything else is passed to the sink as views of the chunks given.
 */
export class EbmlReader {
  private readonly sink: EbmlSink;
  private readonly schema: EbmlSchema;
  private readonly maxElementSize: number;
  private readonly maxBlockSize: number;
  private readonly maxDepth: number;
  private readonly recover: boolean;
  private readonly wanted: ReadonlySet<number> | null;
  /** With `expectDocument`: true until the first bytes have shown that the input is a document. */
  private expecting: boolean;
  /**
   * The first bytes, held until 4 tell whether the input is a document, and for one that is not until
   * START_BYTES describe it; made only then (a first chunk of 4 bytes or more that starts a document is read at once).
   */
  private start: Uint8Array | null = null;
  private startLen = 0;

  // Stack of open masters. ends[] holds the end offset, inherited from the parent for unknown sizes.
  private readonly ids: number[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly unknown: boolean[] = [];
  private depth = 0;

  private mode = HEADER;
  private pos = 0;
  private failure: Error | undefined;

  private readonly hdr = new Uint8Array(16);
  private hdrLen = 0;
  private hId = 0;
  private hSize = 0;
  private hLen = 0;

  private dataId = 0;
  private dataOffset = 0;
  private dataStart = 0;
  private dataBuf: Uint8Array = EMPTY;
  /** Reused memory for straddling elements that are not handed out (see scratchFor). */
  private scratch: Uint8Array = EMPTY;
  private dataFill = 0;
  /** The size of the element being gathered (dataBuf may be smaller until its bytes arrive). */
  private dataSize = 0;
  private readonly documentStream: boolean;
  /** With documentStream: looks for the next document's header in what is skipped or gathered (null without). */
  private readonly docScan: DocumentScanner | null;
  /** With documentStream and recover: where the next document starts, to resume there (-1: none). */
  private resyncFrom = -1;
  private skipRemaining = 0;
  private skipOffset = 0;
  private skipId = 0;
  private skipSize = 0;

  /** The sink, when it takes SimpleBlocks on the fast path (and errors are not being recovered from). */
  private readonly blockSink: EbmlSink | null;
  /** The sink, when it may take masters whole (and errors are not being recovered from). */
  private readonly wholeSink: EbmlSink | null;

  private resyncError: MkvParseError | undefined;
  private window = 0;
  private scanned = 0;

  /** Creates a reader that reports to `sink`. */
  constructor(sink: EbmlSink, options: EbmlReaderOptions = {}) {
    this.sink = sink;
    this.schema = options.schema ?? matroskaSchema;
    this.maxElementSize = options.maxElementSize ?? 64 * 1024 * 1024;
    this.maxBlockSize = options.maxBlockSize ?? 256 * 1024 * 1024;
    this.maxDepth = options.maxDepth ?? 32;
    this.recover = options.recover ?? false;
    this.wanted = options.wanted ?? null;
    this.documentStream = options.documentStream ?? false;
    this.expecting = (options.expectDocument ?? false) && !this.recover;
    this.docScan = this.documentStream ? new DocumentScanner() : null;
    this.blockSink = sink.simpleBlock !== undefined && !this.recover && (this.wanted === null || this.wanted.has(ID.SimpleBlock)) ? sink : null;
    this.wholeSink = sink.wholeMaster !== undefined && !this.recover ? sink : null;
  }

  /** Bytes consumed so far (the absolute offset of the next byte). */
  get offset(): number {
    return this.pos;
  }

  /** Names of the open master elements, outermost first. */
  path(): string[] {
    const out: string[] = [];
    for (let d = 0; d < this.depth; d++) out.push(this.schema.name(this.ids[d]!));
    return out;
  }

  /** Feeds the next chunk. Throws {@link MkvParseError} on bad input unless `recover` is set. */
  push(chunk: Uint8Array): void {
    if (this.mode === FAILED) throw this.failure;
    if (this.mode === ENDED) throw new MkvParseError("ENDED", "push() after end()", this.pos);
    if (this.expecting) {
      // Checking that the input is a document: its first 4 bytes decide, the first 192 describe a failure.
      if (this.startLen === 0 && chunk.length >= 4 && isDocumentStart(chunk, this.schema)) {
        this.expecting = false; // the common case: nothing held
        this.consume(chunk);
        return;
      }
      this.start ??= new Uint8Array(START_BYTES);
      const held = this.startLen;
      const take = Math.min(chunk.length, this.start.length - held);
      this.start.set(chunk.subarray(0, take), held);
      this.startLen += take;
      if (this.startLen < 4) return;
      if (!isDocumentStart(this.start, this.schema)) {
        if (this.startLen < this.start.length) return;
        this.failStart();
      }
      const before = this.start.subarray(0, held);
      this.start = null;
      this.expecting = false;
      if (held > 0) this.consume(before);
    }
    this.consume(chunk);
  }

  private consume(chunk: Uint8Array): void {
    this.docScan?.magic.forget();
    const n = chunk.length;
    const base = this.pos;
    let i = 0;
    while (i < n) {
      try {
        i = this.step(chunk, i, n, base);
        // Close sized masters as soon as their last byte is in, not when the next element arrives.
        if (this.mode === HEADER && this.hdrLen === 0 && this.depth > 0 && this.ends[this.depth - 1]! <= base + i) this.closeEnded(base + i);
      } catch (e) {
        if (e instanceof MkvParseError && this.recover && this.mode !== FAILED) {
          i = this.startResync(e, chunk, base);
        } else {
          this.fail(e);
          throw e;
        }
      }
    }
    this.pos = base + n;
  }

  /** Signals end of input: closes open unknown-size elements; throws TRUNCATED for an unfinished one. */
  end(): void {
    if (this.mode === FAILED) throw this.failure;
    if (this.mode === ENDED) return;
    this.expecting = false;
    if (this.start !== null) {
      const held = this.start.subarray(0, this.startLen);
      this.start = null;
      const looksCut = held.length < 4 && held[0]! >= 0x10 && held[0]! <= 0x1f; // a cut header: TRUNCATED below
      if (held.length > 0 && !looksCut && (held.length < 4 || !isDocumentStart(held, this.schema))) {
        this.start = held;
        this.failStart();
      }
      if (held.length > 0) this.consume(held);
    }
    const at = this.pos;
    let err: MkvParseError | undefined;
    if (this.mode === RESYNC) {
      this.sink.recovered?.(this.resyncError!, at);
      this.resyncError = undefined;
    } else if (this.mode === DATA) {
      err = this.error("TRUNCATED", `input ends inside ${this.schema.name(this.dataId)} (${this.dataFill} of ${this.dataSize} bytes)`, this.dataOffset);
    } else if (this.mode === SKIP) {
      err = this.error("TRUNCATED", `input ends inside a skipped element (${this.skipRemaining} bytes missing)`, this.skipOffset);
    } else if (this.hdrLen > 0) {
      err = this.error("TRUNCATED", "input ends inside an element header", at - this.hdrLen);
    } else {
      this.closeEnded(at);
      for (let d = 0; d < this.depth; d++) {
        if (!this.unknown[d]) {
          err = this.error("TRUNCATED", `input ends inside ${this.schema.name(this.ids[d]!)} (${this.ends[d]! - at} bytes missing)`, this.starts[d]!);
          break;
        }
      }
    }
    if (err) {
      if (!this.recover) {
        this.fail(err);
        throw err;
      }
      this.sink.recovered?.(err, at);
    }
    while (this.depth > 0) this.pop(at);
    this.mode = ENDED;
  }

  private fail(e: unknown): void {
    this.mode = FAILED;
    this.failure = asError(e);
  }

  private error(code: MkvParseErrorCode, message: string, offset: number): MkvParseError {
    return new MkvParseError(code, message, offset, this.path());
  }

  private pop(at: number): void {
    const d = --this.depth;
    this.sink.masterEnd(this.ids[d]!, this.starts[d]!, at);
  }

  private closeEnded(at: number): void {
    while (this.depth > 0 && this.ends[this.depth - 1]! <= at) this.pop(at);
  }

  /** Processes bytes from `i`; returns the new index. */
  private step(chunk: Uint8Array, i: number, n: number, base: number): number {
    switch (this.mode) {
      case HEADER: {
        let len: number;
        if (this.hdrLen === 0) {
          const at = base + i;
          if (this.depth > 0 && this.ends[this.depth - 1]! <= at) this.closeEnded(at);
          if (chunk[i] === 0xa3 && this.blockSink !== null && this.depth > 0 && this.ids[this.depth - 1] === ID.Cluster) {
            const after = this.simpleBlocks(chunk, i, n, base);
            if (after > i) return after;
          }
          len = this.parseHeader(chunk, i, n, at);
          if (len === 0) {
            this.hdr.set(chunk.subarray(i, n), 0);
            this.hdrLen = n - i;
            return n;
          }
          i += len;
        } else {
          const before = this.hdrLen;
          const take = Math.min(this.hdr.length - before, n - i);
          this.hdr.set(chunk.subarray(i, i + take), before);
          len = this.parseHeader(this.hdr, 0, before + take, base + i - before);
          if (len === 0) {
            this.hdrLen = before + take;
            return i + take;
          }
          this.hdrLen = 0;
          i += len - before;
        }
        return this.beginElement(chunk, i, n, base + i - len);
      }
      case DATA: {
        const take = Math.min(this.dataSize - this.dataFill, n - i);
        if (this.documentStream) this.checkNoDocument(chunk, i, i + take, base, this.dataId, this.dataOffset, this.dataSize);
        if (this.dataFill + take > this.dataBuf.length) this.growData(this.dataFill + take);
        // A whole chunk is copied without making a view of it first.
        this.dataBuf.set(i === 0 && take === n ? chunk : chunk.subarray(i, i + take), this.dataFill);
        this.dataFill += take;
        if (this.dataFill === this.dataSize) {
          const buf = this.dataBuf;
          this.dataBuf = EMPTY;
          this.mode = HEADER;
          this.deliver(this.dataId, buf, 0, this.dataSize, this.dataOffset, this.dataStart);
        }
        return i + take;
      }
      case SKIP: {
        const take = Math.min(this.skipRemaining, n - i);
        if (this.documentStream) this.checkNoDocument(chunk, i, i + take, base, this.skipId, this.skipOffset, this.skipSize);
        this.skipRemaining -= take;
        if (this.skipRemaining === 0) this.mode = HEADER;
        return i + take;
      }
      case RESYNC:
        return this.scan(chunk, i, n, base);
      default:
        throw this.failure ?? this.error("ENDED", "the reader was ended while a chunk was being read", base + i);
    }
  }

  /**
   * The hot path: a run of SimpleBlocks (ID 0xA3) in a Cluster, each whole in this chunk, handed to the
   * sink's simpleBlock. Stops at anything else (another element, a block that straddles the chunk, an
   * unusual or bad header, the Cluster's end) and returns where it stopped; the general path goes on
   * from there, so every check and error is the general path's.
   */
  private simpleBlocks(chunk: Uint8Array, i: number, n: number, base: number): number {
    const sink = this.blockSink!;
    const parentEnd = this.ends[this.depth - 1]!;
    const docs = this.docScan === null ? null : this.docScan.magic;
    const max = this.maxBlockSize;
    while (i + 1 < n && chunk[i] === 0xa3) {
      const sb = chunk[i + 1]!;
      if (sb < 0x10) break; // size longer than 4 bytes (or invalid): the general path
      const sizeLen = Math.clz32(sb) - 23;
      const dataAt = i + 1 + sizeLen;
      if (dataAt > n) break;
      let size = sb & (0xff >> sizeLen);
      for (let k = i + 2; k < dataAt; k++) size = size * 256 + chunk[k]!;
      if (size === (1 << (7 * sizeLen)) - 1) break; // unknown size: an error the general path reports
      const end = dataAt + size;
      if (end > n || base + end > parentEnd || size > max) break;
      // In a document stream, a block whose bytes hold the magic of an EBML header goes the general way,
      // which tells whether it is the next document's (one native search per chunk finds them all).
      if (docs !== null && docs.find(chunk, i + 1, end) !== -1) break;
      sink.simpleBlock!(chunk, dataAt, end, base + i, base + dataAt);
      i = end;
      if (base + i >= parentEnd) break;
    }
    return i;
  }

  /** Parses an element header at buf[s..e) into hId/hSize/hLen; returns its length, or 0 if incomplete. */
  private parseHeader(buf: Uint8Array, s: number, e: number, at: number): number {
    const b0 = buf[s]!;
    if (b0 < 0x10) throw this.error("INVALID_ID", `invalid element ID first byte 0x${b0.toString(16).padStart(2, "0")}`, at);
    const idLen = Math.clz32(b0) - 23;
    if (e - s <= idLen) return 0;
    let id = b0;
    for (let k = 1; k < idLen; k++) id = id * 256 + buf[s + k]!;
    const sb = buf[s + idLen]!;
    if (sb === 0) throw this.error("INVALID_VARINT", "element size varint longer than 8 bytes", at + idLen);
    const sizeLen = Math.clz32(sb) - 23;
    const total = idLen + sizeLen;
    if (e - s < total) return 0;
    const mask = 0xff >> sizeLen;
    let value = sb & mask;
    let allOnes = value === mask;
    for (let k = idLen + 1; k < total; k++) {
      const b = buf[s + k]!;
      value = value * 256 + b;
      if (b !== 0xff) allOnes = false;
    }
    this.hId = id;
    this.hSize = allOnes ? -1 : value;
    this.hLen = total;
    return total;
  }

  /** Acts on a parsed header whose payload starts at chunk[i]. */
  private beginElement(chunk: Uint8Array, i: number, n: number, start: number): number {
    const id = this.hId;
    const size = this.hSize;
    const dataStart = start + this.hLen;
    const info = this.schema.get(id);
    if (info === undefined && isReservedId(id)) throw this.error("INVALID_ID", `reserved element ID 0x${id.toString(16)}`, start);
    if (this.depth > 0) {
      if (this.unknown[this.depth - 1]) {
        this.closeUnknownFor(info, start);
        if (this.documentStream && this.depth > 0 && info !== undefined && !info.global && !info.parents.includes(this.ids[this.depth - 1]!)) {
          const parent = this.schema.name(this.ids[this.depth - 1]!);
          throw this.error("MISPLACED_ELEMENT", `${info.name} cannot be inside ${parent}`, start);
        }
      } else if (info !== undefined && !info.global && !info.parents.includes(this.ids[this.depth - 1]!)) this.checkPlacement(info, start);
    }
    const parentEnd = this.depth > 0 ? this.ends[this.depth - 1]! : Infinity;
    if (size >= 0 && dataStart + size > parentEnd) {
      throw this.error("SIZE_BEYOND_PARENT", `${this.schema.name(id)} of ${size} bytes overruns its parent by ${dataStart + size - parentEnd} bytes`, start);
    }
    const wanted = this.wanted;
    if (wanted !== null && info !== undefined && size >= 0 && !wanted.has(id)) return this.skip(chunk, id, i, n, start, dataStart, size, true);
    if (info !== undefined && info.type === "master") {
      const d = this.depth;
      if (d >= this.maxDepth) throw this.error("NESTING_TOO_DEEP", `${this.schema.name(id)} nested deeper than ${this.maxDepth}`, start);
      // (In a document stream, not a master whose bytes hold the magic of an EBML header: read the general way, that is checked.)
      if (
        size >= 0 &&
        n - i >= size &&
        this.wholeSink !== null &&
        (this.docScan === null || this.docScan.magic.find(chunk, i, i + size) === -1) &&
        this.wholeSink.wholeMaster!(id, chunk, i, i + size, start, dataStart)
      )
        return i + size;
      this.ids[d] = id;
      this.starts[d] = start;
      this.unknown[d] = size < 0;
      this.ends[d] = size < 0 ? parentEnd : dataStart + size;
      this.depth = d + 1;
      this.sink.masterStart(id, start, dataStart, size);
      return i;
    }
    if (size < 0) throw this.error("UNKNOWN_SIZE_NOT_ALLOWED", `${this.schema.name(id)} has unknown size but is not a master element`, start);
    if (info === undefined || id === ID.Void) return this.skip(chunk, id, i, n, start, dataStart, size, info !== undefined);
    const limit = id === ID.SimpleBlock || id === ID.Block ? this.maxBlockSize : this.maxElementSize;
    if (size > limit) throw this.error("ELEMENT_TOO_LARGE", `${this.schema.name(id)} of ${size} bytes exceeds the limit of ${limit}`, start);
    if (n - i >= size) {
      if (this.documentStream) {
        this.startDocumentScan(chunk, i, id, start, size);
        this.checkNoDocument(chunk, i, i + size, dataStart - i, id, start, size);
      }
      this.deliver(id, chunk, i, i + size, start, dataStart);
      return i + size;
    }
    if (this.documentStream) {
      this.startDocumentScan(chunk, i, id, start, size);
      this.checkNoDocument(chunk, i, n, dataStart - i, id, start, size);
    }
    const first = size <= EAGER_ELEMENT ? size : Math.max(EAGER_ELEMENT, n - i);
    // Blocks are handed out (as frames) and need memory of their own; anything else is read before the reader goes on.
    const buf = id === ID.SimpleBlock || id === ID.Block ? sharedSlabs.take(first) : this.scratchFor(first);
    buf.set(chunk.subarray(i, n), 0);
    this.dataBuf = buf;
    this.dataFill = n - i;
    this.dataSize = size;
    this.dataId = id;
    this.dataOffset = start;
    this.dataStart = dataStart;
    this.mode = DATA;
    return n;
  }

  /** Streams past an element's payload (any size, nothing buffered). */
  private skip(chunk: Uint8Array, id: number, i: number, n: number, start: number, dataStart: number, size: number, known: boolean): number {
    if (this.documentStream) this.startDocumentScan(chunk, i, id, start, size);
    if (this.documentStream) this.checkNoDocument(chunk, i, Math.min(n, i + size), dataStart - i, id, start, size);
    this.sink.skipped(id, start, dataStart, size, known);
    if (n - i >= size) return i + size;
    this.skipId = id;
    this.skipSize = size;
    this.skipRemaining = size - (n - i);
    this.skipOffset = start;
    this.mode = SKIP;
    return n;
  }

  /**
   * Starts looking for the next document in an element about to be skipped or gathered: in its own
   * header first (past its first byte), where a lying size may have taken in the next document's ID.
   */
  private startDocumentScan(chunk: Uint8Array, i: number, id: number, start: number, size: number): void {
    this.docScan!.reset();
    // Read where the header lies (in the chunk, or in hdr when it straddled), by index: no view made.
    if (i >= this.hLen) this.checkNoDocument(chunk, i - this.hLen + 1, i, start - (i - this.hLen), id, start, size);
    else this.checkNoDocument(this.hdr, 1, this.hLen, start, id, start, size);
  }

  /**
   * Memory for a straddling element that is not handed out: the reused scratch area, grown to fit (up to
   * EAGER_ELEMENT; a larger element gets memory of its own as it grows).
   */
  private scratchFor(size: number): Uint8Array {
    if (size > EAGER_ELEMENT) return allocateRaw(size);
    if (this.scratch.length < size) this.scratch = new Uint8Array(Math.max(size, this.scratch.length * 2, 256));
    return this.scratch; // used as [0, size): no view made
  }

  /** Makes room for at least `need` bytes of the element being gathered (doubling, up to its size). */
  private growData(need: number): void {
    const grown = allocateRaw(Math.min(this.dataSize, Math.max(need, this.dataBuf.length * 2)));
    grown.set(this.dataBuf.subarray(0, this.dataFill), 0);
    this.dataBuf = grown;
  }

  /**
   * In a document stream: fails the element (id, at `start`, claiming `size` bytes) when `chunk[from, to)`,
   * part of its payload, holds the next document's EBML header (at `base` + index).
   */
  private checkNoDocument(chunk: Uint8Array, from: number, to: number, base: number, id: number, start: number, size: number): void {
    const at = from < to ? this.docScan!.scan(chunk, from, to) : null;
    if (at === null) return;
    this.resyncFrom = base + at;
    throw this.error(
      "HEADER_INSIDE_ELEMENT",
      `${this.schema.name(id)} claims ${size} bytes, but the next document's EBML header starts at byte ${base + at}, inside it`,
      start,
    );
  }

  /** Fails with NOT_EBML, describing the held first bytes. */
  private failStart(): never {
    const err = new MkvParseError("NOT_EBML", `not EBML/Matroska: the input looks like ${describeNonEbml(this.start!.subarray(0, this.startLen))}`, 0, []);
    this.start = null;
    this.fail(err);
    throw err;
  }

  /**
   * An element that belongs at the top level or in an enclosing master cannot sit inside a sized master
   * that has not ended: the bytes are cut or corrupt (e.g. a fragment cut mid-block, the next one's EBML
   * header read as the block's tail). Elements defined elsewhere entirely are let through.
   */
  private checkPlacement(info: ElementInfo, start: number): void {
    let belongsAbove = info.parents.length === 0;
    for (let d = this.depth - 2; d >= 0 && !belongsAbove; d--) belongsAbove = info.parents.includes(this.ids[d]!);
    if (belongsAbove) {
      const parent = this.schema.name(this.ids[this.depth - 1]!);
      throw this.error("MISPLACED_ELEMENT", `${info.name} inside ${parent}, which has ${this.ends[this.depth - 1]! - start} bytes left`, start);
    }
  }

  /** Closes unknown-size masters that cannot contain the element `info` describes (the EBML rule for unknown sizes). */
  private closeUnknownFor(info: ElementInfo | undefined, at: number): void {
    if (info === undefined || info.global) return;
    const parents = info.parents;
    while (this.depth > 0 && this.unknown[this.depth - 1]) {
      const top = this.ids[this.depth - 1]!;
      if (parents.includes(top)) return;
      // Close only if an enclosing master (or the top level) can hold the element; else keep it as a child.
      let fits = parents.length === 0;
      for (let d = this.depth - 2; d >= 0 && !fits; d--) fits = parents.includes(this.ids[d]!);
      if (!fits) return;
      this.pop(at);
    }
  }

  private deliver(id: number, buf: Uint8Array, s: number, e: number, offset: number, dataOffset: number): void {
    if (!this.recover) {
      this.sink.data(id, buf, s, e, offset, dataOffset);
      return;
    }
    try {
      this.sink.data(id, buf, s, e, offset, dataOffset);
    } catch (err) {
      // The element's framing was sound; only its content was bad: report it and go on after it.
      if (err instanceof MkvParseError) this.sink.recovered?.(err, dataOffset + (e - s));
      else throw err;
    }
  }

  /** Enters resync after a framing error; returns where to continue in `chunk`. */
  private startResync(err: MkvParseError, chunk: Uint8Array, base: number): number {
    this.mode = RESYNC;
    this.resyncError = err;
    this.window = 0;
    this.scanned = 0;
    const before = this.hdrLen;
    this.hdrLen = 0;
    this.dataBuf = EMPTY;
    const from = this.resyncFrom >= 0 ? this.resyncFrom : err.offset + 1;
    const header = this.resyncFrom >= 0;
    this.resyncFrom = -1;
    if (from >= base) return Math.min(from - base, chunk.length);
    if (header) {
      // The next document's header began in an earlier chunk: its bytes up to this chunk are known.
      const carried = this.docScan!.carried.subarray(0, base - from);
      if (carried.length < 4) {
        // Its ID is split: the window takes the first bytes, the scan from this chunk's start the rest.
        for (const b of carried) this.feed(b);
        return 0;
      }
      this.window = EBML_MAGIC;
      this.resumeAt(from, EMPTY);
      // The header's bytes after its ID went by in earlier chunks: read them again, at their offsets.
      this.pos = from + 4;
      this.consume(carried.subarray(4));
      return 0;
    }
    // The faulty header began in an earlier chunk: its bytes after the first are in hdr.
    const saved = this.hdr.slice(0, before);
    const hdrStart = base - before;
    for (let k = from - hdrStart; k < before; k++) {
      if (this.feed(saved[k]!)) {
        const rest = saved.subarray(k + 1, before);
        this.resumeAt(hdrStart + k - 3, rest);
        return 0;
      }
    }
    return 0;
  }

  private feed(b: number): boolean {
    this.window = ((this.window << 8) | b) >>> 0;
    this.scanned++;
    return this.scanned >= 4 && (this.window === EBML_MAGIC || this.window === CLUSTER_MAGIC);
  }

  private scan(chunk: Uint8Array, i: number, n: number, base: number): number {
    for (; i < n; i++) {
      if (this.feed(chunk[i]!)) {
        this.resumeAt(base + i - 3, EMPTY);
        return i + 1;
      }
    }
    return n;
  }

  /** Resumes parsing at the magic ID found at `at`; `rest` holds header bytes already read after it. */
  private resumeAt(at: number, rest: Uint8Array): void {
    const magic = this.window;
    const err = this.resyncError!;
    this.resyncError = undefined;
    this.sink.recovered?.(err, at);
    this.closeEnded(at);
    if (magic === EBML_MAGIC) {
      while (this.depth > 0) this.pop(at);
    } else {
      let seg = -1;
      for (let d = this.depth - 1; d >= 0; d--)
        if (this.ids[d] === ID.Segment) {
          seg = d;
          break;
        }
      while (this.depth > seg + 1) this.pop(at);
    }
    this.hdr[0] = magic >>> 24;
    this.hdr[1] = (magic >>> 16) & 0xff;
    this.hdr[2] = (magic >>> 8) & 0xff;
    this.hdr[3] = magic & 0xff;
    this.hdr.set(rest, 4);
    this.hdrLen = 4 + rest.length;
    this.mode = HEADER;
  }
}
