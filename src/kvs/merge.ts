import { EbmlReader, type EbmlSink } from "../ebml/reader.js";
import { ID } from "../ebml/schema.js";
import { copyBytes, readUint, sameBytes, sameBytesAt } from "../ebml/values.js";
import { concatBytes, element, encodeId, encodeSize, unknownSizeHeader } from "../ebml/writer.js";

/** How {@link mergeFragments} joins fragments. */
export interface MergeOptions {
  /**
   * Rewrite Cluster timestamps so the merged clusters follow each other without gaps (the Java
   * OutputSegmentMerger's packClusters): each cluster starts one average frame interval after the
   * previous cluster's last frame. Default false: timestamps are kept, and a cluster that does not move
   * forward in time starts a new Segment instead.
   */
  packClusters?: boolean;
  /** Stop at the first fragment that cannot join the current Segment instead of starting a new one. */
  stopAtFirstNonMatching?: boolean;
  /** Rewrite Cluster timestamps so each Segment starts at 0 (default false: the stream's own times). */
  rebase?: boolean;
  /** Replaces the Info element of each new Segment (a recorder writes the file's own Duration). */
  info?: (info: Uint8Array) => Uint8Array;
}

/** What {@link mergeFragments} produced. */
export interface MergeResult {
  /** The merged MKV: one document per run of compatible fragments. */
  readonly bytes: Uint8Array;
  /** Number of Segments written. */
  readonly segments: number;
  /** Number of input fragments (EBML documents) consumed. */
  readonly fragments: number;
  readonly clusters: number;
  /** True when stopAtFirstNonMatching ended the merge early. */
  readonly stoppedEarly: boolean;
}

/** A top-level child of a document's Segment. */
export interface Child {
  id: number;
  start: number;
  /** First payload byte (masters only). */
  dataStart: number;
  end: number;
  tcStart: number;
  tcDataOffset: number;
  tcLength: number;
  timestamp: number | null;
  blockTimestamps: number[];
}

/** The element layout of one EBML document (a fragment), by offsets into its bytes. */
export interface Doc {
  ebmlStart: number;
  ebmlEnd: number;
  segStart: number;
  segDataStart: number;
  segKnown: boolean;
  children: Child[];
}

/** Collects the element layout of concatenated MKV documents. */
class LayoutSink implements EbmlSink {
  readonly docs: Doc[] = [];
  private depth = 0;
  private child: Child | null = null;
  private pendingEbml: [number, number] = [-1, -1];
  private inSegment = false;

  masterStart(id: number, offset: number, dataOffset: number, size: number): void {
    const d = this.depth++;
    if (d === 0 && id === ID.Segment) {
      this.docs.push({
        ebmlStart: this.pendingEbml[0],
        ebmlEnd: this.pendingEbml[1],
        segStart: offset,
        segDataStart: dataOffset,
        segKnown: size >= 0,
        children: [],
      });
      this.pendingEbml = [-1, -1];
      this.inSegment = true;
    } else if (d === 1 && this.inSegment) this.openChild(id, offset).dataStart = dataOffset;
  }

  masterEnd(id: number, offset: number, endOffset: number): void {
    const d = --this.depth;
    if (d === 0 && id === ID.EBML) this.pendingEbml = [offset, endOffset];
    else if (d === 0) this.inSegment = false;
    else if (d === 1 && this.child) {
      this.child.end = endOffset;
      this.child = null;
    }
  }

  data(id: number, buf: Uint8Array, s: number, e: number, offset: number, dataOffset: number): void {
    if (this.depth === 1) {
      if (!this.inSegment) return;
      this.openChild(id, offset).end = dataOffset + (e - s);
      this.child = null;
      return;
    }
    const c = this.child;
    if (!c || c.id !== ID.Cluster) return;
    if (id === ID.Timestamp && this.depth === 2) {
      c.timestamp = readUint(buf, s, e);
      c.tcStart = offset;
      c.tcDataOffset = dataOffset;
      c.tcLength = e - s;
    } else if (id === ID.SimpleBlock || id === ID.Block) {
      const tl = Math.clz32(buf[s]!) - 23;
      const v = (buf[s + tl]! << 8) | buf[s + tl + 1]!;
      c.blockTimestamps.push(v & 0x8000 ? v - 0x10000 : v);
    }
  }

  skipped(id: number, offset: number, dataOffset: number, size: number): void {
    if (this.depth === 1 && this.inSegment) {
      this.openChild(id, offset).end = dataOffset + size;
      this.child = null;
    }
  }

  private openChild(id: number, offset: number): Child {
    const c: Child = { id, start: offset, dataStart: offset, end: offset, tcStart: -1, tcDataOffset: -1, tcLength: 0, timestamp: null, blockTimestamps: [] };
    this.docs[this.docs.length - 1]?.children.push(c);
    this.child = c;
    return c;
  }
}

const HEADER_IDS = new Set<number>([ID.SeekHead, ID.Info, ID.Tracks, ID.Void]);

/** Big-endian unsigned integer in exactly `width` bytes, or null when it does not fit. */
function fixedWidthUint(value: number, width: number): Uint8Array | null {
  if (value < 0 || value >= 2 ** (8 * width)) return null;
  const out = new Uint8Array(width);
  for (let k = width - 1, v = value; k >= 0; k--, v = Math.floor(v / 256)) out[k] = v % 256;
  return out;
}

/** The time one packed cluster covers: the spread of its block timestamps plus their mean interval. */
function packedSpan(blockTimestamps: readonly number[]): number {
  if (blockTimestamps.length < 2) return 0;
  const sorted = [...blockTimestamps].sort((a, b) => a - b);
  const sum = sorted[sorted.length - 1]! - sorted[0]!;
  return sum + Math.floor(sum / (sorted.length - 1));
}

/** What one fragment (EBML document) becomes in a merge: the bytes to write, and whether it began a new Segment. */
export interface MergeStep {
  readonly parts: readonly Uint8Array[];
  readonly newSegment: boolean;
  readonly clusters: number;
}

/**
 * The merge, one fragment at a time (memory: one fragment): a fragment whose EBML header equals the
 * previous one's, whose Tracks equal its Segment's and whose first Cluster moves forward in time (or
 * with packClusters) joins the Segment without its headers (SeekHead, Info, Tracks, Void); any other
 * starts a new Segment with its own EBML header. Tags, Clusters and Cues are kept byte for byte, but for
 * packed Cluster timestamps.
 */
export class FragmentMerger {
  private prevEbml: Uint8Array | null = null;
  private segmentTracks: Uint8Array | null = null;
  private prevLastTimestamp: number | null = null;
  private lastTimestamp: number | null = null;
  private nextPacked = 0;
  /** With rebase: the source timestamp of the current Segment's first Cluster. */
  private rebaseBy: number | null = null;
  /** Segments begun so far. */
  segments = 0;

  /** A merger with the given options (stopAtFirstNonMatching: {@link canJoin} tells, the caller stops). */
  constructor(private readonly options: MergeOptions = {}) {}

  /** Whether a document (laid out in `input`) joins the current Segment; the first one never does. */
  canJoin(input: Uint8Array, doc: Doc): boolean {
    if (this.prevEbml === null) return false;
    const tracks = doc.children.find((c) => c.id === ID.Tracks);
    const ebmlSame = sameBytes(this.prevEbml, slice(input, doc.ebmlStart, doc.ebmlEnd));
    const tracksSame = tracks === undefined || (this.segmentTracks !== null && sameBytesAt(this.segmentTracks, input, tracks.start, tracks.end));
    const firstTc = doc.children.find((c) => c.id === ID.Cluster && c.timestamp !== null)?.timestamp ?? null;
    const forward = this.options.packClusters || firstTc === null || this.prevLastTimestamp === null || firstTc > this.prevLastTimestamp;
    return ebmlSame && tracksSame && forward;
  }

  /** Writes a document (laid out in `input`): joined to the current Segment, or as a new one. */
  write(input: Uint8Array, doc: Doc, join: boolean): MergeStep {
    const parts: Uint8Array[] = [];
    let clusters = 0;
    if (!join) {
      this.segments++;
      this.lastTimestamp = null;
      this.rebaseBy = null;
      parts.push(slice(input, doc.ebmlStart, doc.ebmlEnd));
      parts.push(doc.segKnown ? unknownSizeHeader(ID.Segment) : input.subarray(doc.segStart, doc.segDataStart));
      const tracks = doc.children.find((c) => c.id === ID.Tracks);
      this.segmentTracks = tracks ? copyBytes(input, tracks.start, tracks.end) : null;
    }
    this.prevEbml = copyBytes(input, doc.ebmlStart, doc.ebmlEnd);
    const lastTc = [...doc.children].reverse().find((c) => c.id === ID.Cluster && c.timestamp !== null)?.timestamp ?? null;
    if (lastTc !== null) this.prevLastTimestamp = lastTc;
    for (const c of doc.children) {
      if (join && HEADER_IDS.has(c.id)) continue;
      if (c.id !== ID.Cluster) {
        parts.push(c.id === ID.Info && this.options.info ? this.options.info(input.subarray(c.start, c.end)) : input.subarray(c.start, c.end));
        continue;
      }
      clusters++;
      if (c.timestamp === null || (!this.options.packClusters && !this.options.rebase)) {
        parts.push(input.subarray(c.start, c.end));
        continue;
      }
      if (this.options.rebase) this.rebaseBy ??= c.timestamp;
      const start = this.options.rebase ? 0 : c.timestamp;
      const tc: number = !this.options.packClusters ? Math.max(0, c.timestamp - this.rebaseBy!) : this.lastTimestamp === null ? start : this.nextPacked;
      this.lastTimestamp = tc;
      this.nextPacked = tc + packedSpan(c.blockTimestamps);
      const inPlace = fixedWidthUint(tc, c.tcLength);
      if (inPlace) {
        parts.push(input.subarray(c.start, c.tcDataOffset), inPlace, input.subarray(c.tcDataOffset + c.tcLength, c.end));
        continue;
      }
      // The new timestamp needs more bytes: rebuild the Cluster header and its Timestamp element.
      const body = concatBytes([
        input.subarray(c.dataStart, c.tcStart),
        element(ID.Timestamp, fixedWidthUint(tc, 8)!),
        input.subarray(c.tcDataOffset + c.tcLength, c.end),
      ]);
      parts.push(concatBytes([encodeId(ID.Cluster), encodeSize(body.length, 8)]), body);
    }
    return { parts, newSegment: !join, clusters };
  }

  /**
   * One whole fragment (an EBML document: GetMedia or GetMediaForFragmentList output for one fragment):
   * its merged bytes, or null when it cannot join and `stopAtFirstNonMatching` is set.
   */
  push(fragment: Uint8Array): MergeStep | null {
    let step: MergeStep | null = null;
    const parts: Uint8Array[] = [];
    let clusters = 0;
    let newSegment = false;
    for (const doc of layoutOf(fragment)) {
      const join = this.canJoin(fragment, doc);
      if (!join && this.prevEbml !== null && this.options.stopAtFirstNonMatching) return step;
      const s = this.write(fragment, doc, join);
      parts.push(...s.parts);
      clusters += s.clusters;
      newSegment ||= s.newSegment;
      step = { parts, newSegment, clusters };
    }
    return step;
  }
}

/** The element layout of the EBML documents in `bytes` (one for a KVS fragment). */
export function layoutOf(bytes: Uint8Array): Doc[] {
  const sink = new LayoutSink();
  const reader = new EbmlReader(sink);
  reader.push(bytes);
  reader.end();
  return sink.docs;
}

/**
 * Merges consecutive KVS fragments (GetMedia / GetMediaForFragmentList output: one EBML document per
 * fragment) into one playable MKV, the role of the Java library's OutputSegmentMerger (see
 * {@link FragmentMerger}, which does the same a fragment at a time). Reads the input incrementally, so
 * with `stopAtFirstNonMatching` it stops before bytes it does not need (a cut tail).
 */
export function mergeFragments(input: Uint8Array, options: MergeOptions = {}): MergeResult {
  const sink = new LayoutSink();
  const reader = new EbmlReader(sink);
  const merger = new FragmentMerger(options);
  const parts: Uint8Array[] = [];
  let written = 0;
  let clusters = 0;
  let stoppedEarly = false;
  let ended = false;

  /** Writes, in order, each document whose layout is complete; false when it must stop. */
  const decide = (): boolean => {
    while (written < sink.docs.length) {
      const doc = sink.docs[written]!;
      const complete = ended || written + 1 < sink.docs.length;
      if (!complete && !doc.children.some((c) => c.id === ID.Cluster && c.timestamp !== null)) return true; // wait for its first cluster
      const join = merger.canJoin(input, doc);
      if (!join && written > 0 && options.stopAtFirstNonMatching) {
        stoppedEarly = true;
        return false;
      }
      // Its children may still grow: write it once its document is complete.
      if (!complete) return true;
      const step = merger.write(input, doc, join);
      parts.push(...step.parts);
      clusters += step.clusters;
      written++;
    }
    return true;
  };

  const step = 65536;
  let going = true;
  for (let i = 0; i < input.length && going; i += step) {
    reader.push(input.subarray(i, i + step));
    going = decide();
  }
  if (going) {
    reader.end();
    ended = true;
    decide();
  }
  return { bytes: concatBytes(parts), segments: merger.segments, fragments: written, clusters, stoppedEarly };
}

function slice(input: Uint8Array, start: number, end: number): Uint8Array {
  return start >= 0 ? input.subarray(start, end) : new Uint8Array(0);
}
