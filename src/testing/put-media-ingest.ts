import type { IncomingMessage, ServerResponse } from "node:http";
import { MkvParseError } from "../ebml/errors.js";
import { EbmlReader, type EbmlSink } from "../ebml/reader.js";
import { ID } from "../ebml/schema.js";
import { concatBytes } from "../ebml/writer.js";
import { readUint } from "../ebml/values.js";
import type { ProducerCluster } from "../kvs/fragment-writer.js";
import { ServiceFailure } from "./service-failure.js";

/** A fault the local endpoint injects into a PutMedia upload. */
export type PutFault =
  /** Destroy the socket after `afterFragments` fragments were persisted (the producer sees a reset). */
  | { readonly kind: "reset"; readonly afterFragments?: number }
  /** Stop answering after `afterFragments` fragments (a stalled upload: no acknowledgement, socket open). */
  | { readonly kind: "stall"; readonly afterFragments?: number }
  /** Answer the fragment after `afterFragments` with an ERROR acknowledgement of this ErrorId, then end. */
  | { readonly kind: "errorAck"; readonly errorId: number; readonly afterFragments?: number }
  /** Delay every acknowledgement by `delayMs`. */
  | { readonly kind: "slowAcks"; readonly delayMs: number };

/** What the ingest needs from the endpoint. */
export interface IngestTarget {
  /** Stores a whole fragment; returns its new fragment number. */
  store(cluster: ProducerCluster, producerTimestampMs: number): string;
  /** The fault for this upload, if one is queued. */
  readonly fault: PutFault | null;
  /** Called when the upload ends, however it ends. */
  done(): void;
}

/** The service's limits on a fragment (the PutMedia reference): 50 MB, and 10 s of media. */
const MAX_FRAGMENT_BYTES = 50 * 1024 * 1024;
const MAX_FRAGMENT_MS = 10_000;
/** IDLE acknowledgements while nothing arrives; the upload is ended after 30 s of nothing. */
const IDLE_EVERY_MS = 1000;
const IDLE_END_MS = 30_000;

const ERROR_CODES: Record<number, string> = {
  4001: "MAX_FRAGMENT_SIZE_REACHED",
  4002: "MAX_FRAGMENT_DURATION_REACHED",
  4004: "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS",
  4006: "INVALID_MKV_DATA",
  4010: "TRACK_NUMBER_MISMATCH",
  5000: "INTERNAL_ERROR",
};

/**
 * One PutMedia upload on the local endpoint, as the service takes it: headers checked, the chunked MKV
 * parsed as it arrives, and per fragment (Cluster) BUFFERING when it starts, RECEIVED and PERSISTED when
 * it is whole (then readable by GetMedia at once), each acknowledgement a JSON line of its own; IDLE
 * while nothing arrives; the service's ERROR acknowledgements for a fragment over 50 MB or 10 s, a
 * timecode that goes back, bytes that are not MKV, then the end of the response.
 */
export async function ingestPutMedia(req: IncomingMessage, res: ServerResponse, target: IngestTarget, now: () => number): Promise<void> {
  const type = String(req.headers["x-amzn-fragment-timecode-type"] ?? "");
  if (type !== "ABSOLUTE" && type !== "RELATIVE")
    throw new ServiceFailure(400, "InvalidArgumentException", `x-amzn-fragment-timecode-type must be ABSOLUTE or RELATIVE, got ${JSON.stringify(type)}`);
  const startHeader = req.headers["x-amzn-producer-start-timestamp"];
  const startMs = startHeader === undefined ? now() : Number(startHeader) * 1000;
  if (!Number.isFinite(startMs))
    throw new ServiceFailure(400, "InvalidArgumentException", `x-amzn-producer-start-timestamp is not a number: ${String(startHeader)}`);
  res.writeHead(200, { "content-type": "application/json" });
  res.flushHeaders();

  const fault = target.fault;
  let ended = false;
  let lastData = performance.now();
  let acks = Promise.resolve();
  const ack = (o: Record<string, unknown>) => {
    if (ended) return;
    const line = `${JSON.stringify(o)}\n`;
    if (fault?.kind !== "slowAcks") {
      res.write(line);
      return;
    }
    const delayMs = fault.delayMs;
    acks = acks.then(
      () =>
        new Promise<void>((resolve) =>
          setTimeout(() => {
            if (!res.destroyed) res.write(line);
            resolve();
          }, delayMs),
        ),
    );
  };
  const end = (destroy = false) => {
    if (ended) return;
    ended = true;
    clearInterval(idle);
    if (destroy) res.socket?.destroy();
    else void acks.then(() => res.end());
  };
  const fail = (errorId: number, timecode: number | null) => {
    ack({ EventType: "ERROR", FragmentTimecode: timecode, ErrorId: errorId, ErrorCode: ERROR_CODES[errorId] ?? "ERROR" });
    end();
  };
  const idle = setInterval(() => {
    const quiet = performance.now() - lastData;
    if (quiet > IDLE_END_MS) end();
    else if (quiet > IDLE_EVERY_MS) ack({ EventType: "IDLE" });
  }, IDLE_EVERY_MS);

  // The upload's bytes since the start of the first element not yet used, and where they start.
  let held: Uint8Array[] = [];
  let heldFrom = 0;
  let heldBytes = 0;
  const bytesAt = (start: number, endAt: number): Uint8Array => {
    const all = held.length === 1 ? held[0]! : concatBytes(held);
    held = [all];
    return all.subarray(start - heldFrom, endAt - heldFrom);
  };
  const drop = (upTo: number) => {
    const all = bytesAt(heldFrom, heldFrom + heldBytes);
    held = [all.slice(upTo - heldFrom)];
    heldBytes -= upTo - heldFrom;
    heldFrom = upTo;
  };
  let ebml: Uint8Array | null = null;
  let info: Uint8Array = new Uint8Array(0);
  let tracks: Uint8Array | null = null;
  const trackNumbers = new Set<number>();
  let tags: Uint8Array[] = [];
  let scale = 1_000_000;
  let depth = 0;
  let clusterStart = -1;
  let clusterData = -1;
  let clusterTc: number | null = null;
  let minBlock = 0;
  let maxBlock = 0;
  let lastTimecode = -Infinity;
  let fragments = 0;
  let blockTrackError = false;
  const sink: EbmlSink = {
    masterStart(id, offset, dataOffset) {
      if (depth === 1 && id === ID.Cluster) {
        clusterStart = offset;
        clusterData = dataOffset;
        clusterTc = null;
        minBlock = 0;
        maxBlock = 0;
      }
      depth++;
    },
    masterEnd(id, offset, endOffset) {
      depth--;
      if (depth === 0 && id === ID.EBML) ebml = bytesAt(offset, endOffset).slice();
      else if (depth === 1 && id === ID.Info) info = bytesAt(offset, endOffset).slice();
      else if (depth === 1 && id === ID.Tracks) tracks = bytesAt(offset, endOffset).slice();
      else if (depth === 1 && id === ID.Tags) tags.push(bytesAt(offset, endOffset).slice());
      else if (depth === 1 && id === ID.Cluster) {
        fragmentDone(endOffset);
        return;
      }
      if (depth <= 1) drop(endOffset);
    },
    data(id, buf, s, e) {
      if (id === ID.TimestampScale) scale = readUint(buf, s, e) || 1_000_000;
      else if (id === ID.TrackNumber && depth === 3) trackNumbers.add(readUint(buf, s, e));
      else if (id === ID.Timestamp && depth === 2) {
        clusterTc = readUint(buf, s, e);
        ack({ EventType: "BUFFERING", FragmentTimecode: clusterTc });
      } else if (id === ID.SimpleBlock && depth === 2 && e - s >= 4) {
        const track = buf[s]! & 0x7f;
        if (buf[s]! >= 0x80 && !trackNumbers.has(track)) blockTrackError = true;
        const rel = (((buf[s + 1]! << 8) | buf[s + 2]!) << 16) >> 16;
        minBlock = Math.min(minBlock, rel);
        maxBlock = Math.max(maxBlock, rel);
      }
    },
    skipped() {},
  };
  const fragmentDone = (endOffset: number) => {
    const tc = clusterTc ?? 0;
    const body = bytesAt(clusterData, endOffset).slice();
    const size = endOffset - clusterStart;
    const pendingTags = tags;
    tags = [];
    drop(endOffset);
    if (blockTrackError) return fail(4010, tc);
    if (size > MAX_FRAGMENT_BYTES) return fail(4001, tc);
    if (((maxBlock - minBlock) * scale) / 1e6 > MAX_FRAGMENT_MS) return fail(4002, tc);
    if (tc <= lastTimecode) return fail(4004, tc);
    if (!ebml || !tracks) return fail(4006, tc);
    if (fault?.kind === "errorAck" && fragments === (fault.afterFragments ?? 0)) return fail(fault.errorId, tc);
    if (fault?.kind === "stall" && fragments >= (fault.afterFragments ?? 0)) {
      ended = true; // no more acknowledgements; the socket stays open until the producer gives up
      clearInterval(idle);
      return;
    }
    lastTimecode = tc;
    const ms = (tc * scale) / 1e6;
    const cluster: ProducerCluster = {
      ebmlHeader: ebml,
      info,
      tracks,
      clusterBody: body,
      timestampMs: ms,
      timestampScale: scale,
      tags: pendingTags.length ? concatBytes(pendingTags) : undefined,
    };
    const number = target.store(cluster, type === "ABSOLUTE" ? ms : startMs + ms);
    fragments++;
    ack({ EventType: "RECEIVED", FragmentTimecode: tc, FragmentNumber: number });
    ack({ EventType: "PERSISTED", FragmentTimecode: tc, FragmentNumber: number });
    if (fault?.kind === "reset" && fragments >= (fault.afterFragments ?? 1)) void acks.then(() => end(true));
  };

  const reader = new EbmlReader(sink, { expectDocument: true });
  try {
    // Read to the end of the request even after the response ended (a stall, an error): the upload is
    // the stream's until the producer closes it.
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (ended) continue;
      lastData = performance.now();
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
      held.push(bytes);
      heldBytes += bytes.length;
      reader.push(bytes);
    }
    if (!ended) {
      reader.end(); // an unknown-size Cluster ends with the upload
      end();
    }
  } catch (e) {
    if (e instanceof MkvParseError) fail(4006, clusterTc);
    else end(true);
    // (bytes that are not MKV: the rest of the request is not read; the producer ends it after the ERROR)
    if (e instanceof MkvParseError) await new Promise<void>((r) => (req.complete || req.destroyed ? r() : req.once("close", () => r())));
  } finally {
    if (!ended) end();
    target.done();
  }
}
