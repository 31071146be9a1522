import { GetClipCommand } from "@aws-sdk/client-kinesis-video-archived-media";
import type { JoinedMp4, Mp4Piece } from "../record/mp4-join.js";
import type { Mp4Target } from "../record/mp4.js";
import { type FragmentInfo, listFragments, type TimeRange } from "./archive.js";
import { streamParams, type KvsClients, type StreamRef } from "./clients.js";
import { KvsServiceError, toKvsServiceError } from "./errors.js";

/** Most fragments one GetClip answer holds. */
export const CLIP_MAX_FRAGMENTS = 200;
/** Most bytes one GetClip answer holds. */
export const CLIP_MAX_BYTES = 100 * 1024 * 1024;

/** One GetClip call of a longer clip: the fragments it covers and the range that selects just them. */
export interface ClipPiece {
  readonly fragments: readonly FragmentInfo[];
  readonly range: TimeRange;
  /** Where it starts, in ms from the clip's first fragment. */
  readonly offsetMs: number;
}

/** Options of {@link planClip}. */
export interface ClipLimits {
  /** Fragments per GetClip call (default 200, the service's limit). */
  readonly maxFragmentsPerCall?: number;
  /** Bytes (the fragments' sizes) per GetClip call (default 100 MB, the service's limit). */
  readonly maxBytesPerCall?: number;
}

const startOf = (f: FragmentInfo, type: TimeRange["timestampType"]) => (type === "PRODUCER_TIMESTAMP" ? f.producerTimestamp : f.serverTimestamp).getTime();

/**
 * Cuts a clip's fragments (in stream order) into GetClip calls the service answers whole: each at most
 * 200 fragments and 100 MB, over the range from its first fragment's start to just past its last's
 * (GetClip takes the fragments that start inside the range, ends included, and wants end after start).
 */
export function planClip(
  fragments: readonly FragmentInfo[],
  timestampType: TimeRange["timestampType"] = "SERVER_TIMESTAMP",
  limits: ClipLimits = {},
): ClipPiece[] {
  const maxFragments = Math.max(1, Math.min(CLIP_MAX_FRAGMENTS, limits.maxFragmentsPerCall ?? CLIP_MAX_FRAGMENTS));
  const maxBytes = Math.max(1, limits.maxBytesPerCall ?? CLIP_MAX_BYTES);
  const sorted = [...fragments].sort((a, b) => startOf(a, timestampType) - startOf(b, timestampType));
  const pieces: ClipPiece[] = [];
  const t0 = sorted[0] ? startOf(sorted[0], timestampType) : 0;
  let current: FragmentInfo[] = [];
  let bytes = 0;
  const close = (nextStart: number | null) => {
    if (current.length === 0) return;
    const first = startOf(current[0]!, timestampType);
    const last = startOf(current[current.length - 1]!, timestampType);
    // GetClip wants the end after the start: 1 ms past the last start, unless the next piece starts there
    // (then the last start itself, which is after the first when the piece has two start times).
    const end = nextStart !== null && nextStart <= last + 1 && last > first ? last : last + 1;
    pieces.push({ fragments: current, range: { start: new Date(first), end: new Date(end), timestampType }, offsetMs: first - t0 });
    current = [];
    bytes = 0;
  };
  // Fragments sharing a start time go in one piece (a range cannot split them).
  const groups: FragmentInfo[][] = [];
  for (const f of sorted) {
    const last = groups[groups.length - 1];
    if (last && startOf(last[0]!, timestampType) === startOf(f, timestampType)) last.push(f);
    else groups.push([f]);
  }
  for (const group of groups) {
    const size = group.reduce((n, f) => n + f.sizeBytes, 0);
    if (current.length > 0 && (current.length + group.length > maxFragments || bytes + size > maxBytes)) close(startOf(group[0]!, timestampType));
    current.push(...group);
    bytes += size;
  }
  close(null);
  return pieces;
}

/** Options of {@link clipPieces} and {@link getClip}. */
export interface ClipOptions extends ClipLimits {
  /** The clip's time range (fragments that start in it, ends included). */
  readonly range: TimeRange;
  readonly signal?: AbortSignal;
}

/** One GetClip answer: an MP4 of one piece. */
export interface ClipPieceMp4 extends Mp4Piece {
  readonly piece: ClipPiece;
}

/**
 * The MP4s of a clip, one GetClip call at a time (ListFragments first, then {@link planClip}): one
 * piece's bytes in memory at a time. Errors are {@link KvsServiceError}.
 */
export async function* clipPieces(clients: KvsClients, stream: StreamRef, options: ClipOptions): AsyncGenerator<ClipPieceMp4> {
  const type = options.range.timestampType ?? "SERVER_TIMESTAMP";
  const fragments = await listFragments(clients, stream, { range: options.range, signal: options.signal });
  if (fragments.length === 0)
    throw new KvsServiceError("RESOURCE_NOT_FOUND", "GetClip", `no fragments in ${options.range.start.toISOString()} to ${options.range.end.toISOString()}`);
  const endpoint = await clients.dataEndpoint(stream, "GET_CLIP", options.signal);
  const client = clients.archivedClient(endpoint);
  for (const piece of planClip(fragments, type, options)) {
    options.signal?.throwIfAborted();
    let bytes: Uint8Array;
    try {
      const out = await client.send(
        new GetClipCommand({
          ...streamParams(stream),
          ClipFragmentSelector: { FragmentSelectorType: type, TimestampRange: { StartTimestamp: piece.range.start, EndTimestamp: piece.range.end } },
        }),
        { abortSignal: options.signal },
      );
      if (!out.Payload) throw new KvsServiceError("SERVICE_ERROR", "GetClip", "GetClip returned no payload");
      bytes = await out.Payload.transformToByteArray();
    } catch (e) {
      throw toKvsServiceError(e, "GetClip");
    }
    yield { bytes, offsetMs: piece.offsetMs, piece };
  }
}

/** What {@link getClip} wrote. */
export interface ClipResult extends JoinedMp4 {
  readonly fragments: number;
}

/**
 * A clip of any length as one MP4: GetClip answers at most 200 fragments / 100 MB, so the range is
 * fetched in pieces ({@link clipPieces}) and their packets joined, unchanged, into one MP4 written as it
 * goes: a plain file (`{ kind: "file", path }`) or fragmented MP4 to callbacks (`{ kind: "fragments" }`).
 */
export async function getClip(clients: KvsClients, stream: StreamRef, options: ClipOptions & { readonly target: Mp4Target }): Promise<ClipResult> {
  const { joinMp4 } = await import("../record/mp4-join.js"); // mediabunny loads only for clips
  let fragments = 0;
  const pieces = (async function* () {
    for await (const p of clipPieces(clients, stream, options)) {
      fragments += p.piece.fragments.length;
      yield p;
    }
  })();
  const joined = await joinMp4(pieces, options.target);
  return { ...joined, fragments };
}
