import { EbmlReader, type EbmlSink } from "../ebml/reader.js";
import { ID } from "../ebml/schema.js";
import { readUint } from "../ebml/values.js";
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

interface Child {
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

interface Doc {
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

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

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

/**
 * Merges consecutive KVS fragments (GetMedia / GetMediaForFragmentList output: one EBML document per
 * fragment) into one playable MKV, the role of the Java library's OutputSegmentMerger: a fragment whose
 * EBML header and Tracks match the current Segment's is appended to it without its headers (SeekHead,
 * Info, Tracks, Void); everything else (Tags, Clusters, Cues) is kept byte for byte. Reads the input
 * incrementally, so with `stopAtFirstNonMatching` it stops before bytes it does not need (a cut tail).
 */
export function mergeFragments(input: Uint8Array, options: MergeOptions = {}): MergeResult {
  const sink = new LayoutSink();
  const reader = new EbmlReader(sink);
  const joins: boolean[] = [];
  let stoppedEarly = false;
  let ended = false;

  /** Decides, in order, whether each fragment joins the Segment before it; false when it must stop. */
  const decide = (): boolean => {
    while (joins.length < sink.docs.length) {
      const k = joins.length;
      const doc = sink.docs[k]!;
      const complete = ended || k + 1 < sink.docs.length;
      const firstTc = doc.children.find((c) => c.id === ID.Cluster && c.timestamp !== null)?.timestamp ?? null;
      if (firstTc === null && !complete) return true; // wait for its first cluster
      let join = false;
      if (k > 0) {
        const prev = sink.docs[k - 1]!;
        const tracks = doc.children.find((c) => c.id === ID.Tracks);
        const prevTracks = segmentTracks(input, sink.docs, joins, k - 1);
        const ebmlSame = bytesEqual(slice(input, prev.ebmlStart, prev.ebmlEnd), slice(input, doc.ebmlStart, doc.ebmlEnd));
        const tracksSame = tracks === undefined || (prevTracks !== null && bytesEqual(prevTracks, input.subarray(tracks.start, tracks.end)));
        const prevTc = [...prev.children].reverse().find((c) => c.id === ID.Cluster && c.timestamp !== null)?.timestamp ?? null;
        const forward = options.packClusters || firstTc === null || prevTc === null || firstTc > prevTc;
        join = ebmlSame && tracksSame && forward;
        if (!join && options.stopAtFirstNonMatching) {
          stoppedEarly = true;
          return false;
        }
      }
      joins.push(join);
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

  const parts: Uint8Array[] = [];
  let segments = 0;
  let clusters = 0;
  let lastTimestamp: number | null = null;
  let nextPacked = 0;
  joins.forEach((join, k) => {
    const doc = sink.docs[k]!;
    if (!join) {
      segments++;
      lastTimestamp = null;
      parts.push(slice(input, doc.ebmlStart, doc.ebmlEnd));
      parts.push(doc.segKnown ? unknownSizeHeader(ID.Segment) : input.subarray(doc.segStart, doc.segDataStart));
    }
    for (const c of doc.children) {
      if (join && HEADER_IDS.has(c.id)) continue;
      if (c.id !== ID.Cluster) {
        parts.push(input.subarray(c.start, c.end));
        continue;
      }
      clusters++;
      if (!options.packClusters || c.timestamp === null) {
        parts.push(input.subarray(c.start, c.end));
        continue;
      }
      const tc: number = lastTimestamp === null ? c.timestamp : nextPacked;
      lastTimestamp = tc;
      nextPacked = tc + packedSpan(c.blockTimestamps);
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
  });
  return { bytes: concatBytes(parts), segments, fragments: joins.length, clusters, stoppedEarly };
}

function slice(input: Uint8Array, start: number, end: number): Uint8Array {
  return start >= 0 ? input.subarray(start, end) : new Uint8Array(0);
}

/** The Tracks bytes of the Segment that fragment k is written into (its first fragment's Tracks). */
function segmentTracks(input: Uint8Array, docs: readonly Doc[], joins: readonly boolean[], k: number): Uint8Array | null {
  let j = k;
  while (j > 0 && joins[j]) j--;
  const t = docs[j]!.children.find((c) => c.id === ID.Tracks);
  return t ? input.subarray(t.start, t.end) : null;
}
