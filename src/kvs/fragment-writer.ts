import { EbmlReader, type EbmlSink } from "../ebml/reader.js";
import { ID } from "../ebml/schema.js";
import { readUint } from "../ebml/values.js";
import { concatBytes, element, stringElement, uintElement, unknownSizeHeader } from "../ebml/writer.js";
import { KvsTag } from "./tags.js";

/** One Cluster of a producer MKV with the headers it needs to stand alone. */
export interface ProducerCluster {
  /** The EBML header element, byte for byte. */
  readonly ebmlHeader: Uint8Array;
  /** The Segment's Info element. */
  readonly info: Uint8Array;
  /** The Segment's Tracks element. */
  readonly tracks: Uint8Array;
  /** The Cluster's children (Timestamp, blocks…), without the Cluster header. */
  readonly clusterBody: Uint8Array;
  /** Cluster Timestamp in ms (TimestampScale applied). */
  readonly timestampMs: number;
  /** The Segment's TimestampScale (ns per tick). */
  readonly timestampScale: number;
  /** The producer's metadata Tags for this fragment (put before its Cluster), if any. */
  readonly tags?: Uint8Array;
}

/** Splits a producer MKV (one Segment, any number of Clusters, sized or not) into its Clusters. */
export function splitClusters(mkv: Uint8Array): ProducerCluster[] {
  const out: ProducerCluster[] = [];
  let ebml: Uint8Array = new Uint8Array(0);
  let info: Uint8Array = new Uint8Array(0);
  let tracks: Uint8Array = new Uint8Array(0);
  let scale = 1_000_000;
  let depth = 0;
  let clusterData = -1;
  let clusterTc = 0;
  const sink: EbmlSink = {
    masterStart(id, _offset, dataOffset) {
      if (depth === 1 && id === ID.Cluster) {
        clusterData = dataOffset;
        clusterTc = 0;
      }
      depth++;
    },
    masterEnd(id, offset, endOffset) {
      depth--;
      if (depth === 0 && id === ID.EBML) ebml = mkv.subarray(offset, endOffset);
      else if (depth === 1 && id === ID.Info) info = mkv.subarray(offset, endOffset);
      else if (depth === 1 && id === ID.Tracks) tracks = mkv.subarray(offset, endOffset);
      else if (depth === 1 && id === ID.Cluster) {
        out.push({
          ebmlHeader: ebml,
          info,
          tracks,
          clusterBody: mkv.subarray(clusterData, endOffset),
          timestampMs: (clusterTc * scale) / 1_000_000,
          timestampScale: scale,
        });
      }
    },
    data(id, buf, s, e) {
      if (id === ID.TimestampScale) scale = readUint(buf, s, e);
      else if (id === ID.Timestamp && depth === 2) clusterTc = readUint(buf, s, e);
    },
    skipped() {},
  };
  const reader = new EbmlReader(sink);
  reader.push(mkv);
  reader.end();
  return out;
}

/**
 * The cluster moved `byMs` later in time (its Timestamp rewritten; blocks are relative to it): a short
 * clip played again and again as a live camera whose time goes on.
 */
export function shiftCluster(cluster: ProducerCluster, byMs: number): ProducerCluster {
  const body = cluster.clusterBody;
  const ticks = Math.round(((cluster.timestampMs + byMs) * 1_000_000) / cluster.timestampScale);
  // The body's children: drop the Timestamp (ID 0xE7, wherever it is) and write the new one first.
  const rest: Uint8Array[] = [];
  for (let at = 0; at < body.length; ) {
    const idLength = Math.clz32(body[at]!) - 23;
    const first = body[at + idLength]!;
    const sizeLength = Math.clz32(first) - 23;
    let size = first & (0xff >> sizeLength);
    for (let k = 1; k < sizeLength; k++) size = size * 256 + body[at + idLength + k]!;
    const end = at + idLength + sizeLength + size;
    if (!(idLength === 1 && body[at] === ID.Timestamp)) rest.push(body.subarray(at, end));
    at = end;
  }
  return { ...cluster, clusterBody: concatBytes([uintElement(ID.Timestamp, ticks), ...rest]), timestampMs: cluster.timestampMs + byMs };
}

/** What KVS adds to one fragment of GetMedia output. */
export interface KvsFragmentTags {
  readonly fragmentNumber: string;
  /** Server timestamp, ms since the epoch. */
  readonly serverTimestampMs: number;
  /** Producer timestamp, ms (absolute, or relative to the stream start). */
  readonly producerTimestampMs: number;
  /** Omit to write no closing tags (a fragment cut before its end). */
  readonly millisBehindNow?: number;
  /** Defaults to the fragment number, as KVS does. */
  readonly continuationToken?: string;
}

/** Seconds with three decimals, the way KVS writes timestamp tags ("1510005542.123"). */
export function formatKvsTimestamp(ms: number): string {
  const sign = ms < 0 ? "-" : "";
  const abs = Math.abs(Math.round(ms));
  return `${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, "0")}`;
}

/** A Tags element holding one Tag with a SimpleTag per name/value. */
export function tagsElement(pairs: readonly (readonly [string, string])[]): Uint8Array {
  return element(ID.Tags, [
    element(
      ID.Tag,
      pairs.map(([name, value]) => element(ID.SimpleTag, [stringElement(ID.TagName, name), stringElement(ID.TagString, value)])),
    ),
  ]);
}

/**
 * Writes one fragment the way GetMedia sends it: EBML header, unknown-size Segment, Info, Tracks,
 * Tags with FRAGMENT_NUMBER / SERVER_TIMESTAMP / PRODUCER_TIMESTAMP, the Cluster (unknown size when
 * `unknownSizeCluster`, as near the live edge), then Tags with MILLIS_BEHIND_NOW and CONTINUATION_TOKEN.
 * With `style: "fragmentList"` it writes GetMediaForFragmentList's tag names (…_SERVER_SIDE_TIMESTAMP).
 */
export function writeKvsFragment(
  cluster: ProducerCluster,
  tags: KvsFragmentTags,
  options: { unknownSizeCluster?: boolean; style?: "getMedia" | "fragmentList" } = {},
): Uint8Array {
  const list = options.style === "fragmentList";
  const head = tagsElement([
    [KvsTag.FragmentNumber, tags.fragmentNumber],
    [list ? KvsTag.ServerSideTimestamp : KvsTag.ServerTimestamp, formatKvsTimestamp(tags.serverTimestampMs)],
    [list ? KvsTag.ProducerSideTimestamp : KvsTag.ProducerTimestamp, formatKvsTimestamp(tags.producerTimestampMs)],
  ]);
  const body = options.unknownSizeCluster ? concatBytes([unknownSizeHeader(ID.Cluster), cluster.clusterBody]) : element(ID.Cluster, cluster.clusterBody);
  const tail =
    tags.millisBehindNow === undefined || list ? new Uint8Array(0) : writeKvsClosingTags(tags.fragmentNumber, tags.millisBehindNow, tags.continuationToken);
  // The producer's metadata tags follow the Cluster, as in GetMedia captures.
  return concatBytes([cluster.ebmlHeader, unknownSizeHeader(ID.Segment), cluster.info, cluster.tracks, head, body, cluster.tags ?? new Uint8Array(0), tail]);
}

/** The Tags GetMedia sends after a fragment's Cluster: MILLIS_BEHIND_NOW and CONTINUATION_TOKEN (default: the fragment number). */
export function writeKvsClosingTags(fragmentNumber: string, millisBehindNow: number, continuationToken?: string): Uint8Array {
  return tagsElement([
    [KvsTag.MillisBehindNow, String(millisBehindNow)],
    [KvsTag.ContinuationToken, continuationToken ?? fragmentNumber],
  ]);
}

/** Fragment number k of a synthetic stream: 47 digits, increasing, like real ones. */
export function syntheticFragmentNumber(k: number, base = 91343852333181432392682062607743920146159169392n): string {
  return (base + BigInt(k) * 4951760157141521099596496896n).toString();
}

/** Turns a producer MKV into GetMedia output: one fragment per Cluster, with synthetic KVS tags. */
export function toGetMediaForm(mkv: Uint8Array, options: { unknownSizeClusters?: boolean; serverStartMs?: number } = {}): Uint8Array {
  const start = options.serverStartMs ?? 1_700_000_000_000;
  const clusters = splitClusters(mkv);
  return concatBytes(
    clusters.map((c, k) =>
      writeKvsFragment(
        c,
        {
          fragmentNumber: syntheticFragmentNumber(k),
          serverTimestampMs: start + c.timestampMs,
          producerTimestampMs: c.timestampMs,
          millisBehindNow: 0,
        },
        { unknownSizeCluster: options.unknownSizeClusters },
      ),
    ),
  );
}

/** A small document reporting a fragment GetMediaForFragmentList could not return (its EXCEPTION tags). */
export function writeFragmentException(fragmentNumber: string, errorCode: string, message: string, ebmlHeader: Uint8Array): Uint8Array {
  return concatBytes([
    ebmlHeader,
    unknownSizeHeader(ID.Segment),
    tagsElement([
      [KvsTag.FragmentNumber, fragmentNumber],
      [KvsTag.ExceptionErrorCode, errorCode],
      [KvsTag.ExceptionMessage, message],
    ]),
  ]);
}

/** What GetMedia sends when it fails inside an HTTP 200 body: a document with ERROR_CODE / ERROR_ID tags. */
export function writeStreamError(errorCode: string, errorId: number, ebmlHeader: Uint8Array): Uint8Array {
  return concatBytes([
    ebmlHeader,
    unknownSizeHeader(ID.Segment),
    tagsElement([
      [KvsTag.ErrorCode, errorCode],
      [KvsTag.ErrorId, String(errorId)],
    ]),
  ]);
}
