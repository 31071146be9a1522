import { EbmlReader } from "../ebml/reader.js";
import { ID } from "../ebml/schema.js";
import { readUint } from "../ebml/values.js";
import { element, floatElement } from "../ebml/writer.js";

/** Bytes of a Duration element holding a float64: 2-byte ID, 1-byte size, 8 bytes. */
const DURATION_BYTES = 11;

/** A Segment's Info element for a file being recorded: the source's Duration left out, room kept for the real one. */
export interface RecordingInfo {
  /** The Info element to write. */
  readonly bytes: Uint8Array;
  /** Where, in `bytes`, the 11 bytes a Duration element takes are held by a Void. */
  readonly durationAt: number;
  /** The Segment's TimestampScale (ns per tick). */
  readonly timestampScale: number;
}

/**
 * Rewrites an Info element (the source's, whose Duration is the producer's, not the file's) for a
 * recording: every child but Duration, then a Void of the size a Duration takes, which
 * {@link durationElement} replaces once the file is whole. A file still being written has no Duration.
 */
export function recordingInfo(info: Uint8Array): RecordingInfo {
  const children: Uint8Array[] = [];
  let timestampScale = 1_000_000;
  const reader = new EbmlReader({
    masterStart() {},
    masterEnd() {},
    skipped(id, offset, dataOffset, size) {
      if (offset > 0 && id !== ID.Duration) children.push(info.subarray(offset, dataOffset + size));
    },
    data(id, buf, s, e, offset, dataOffset) {
      if (id === ID.TimestampScale) timestampScale = readUint(buf, s, e) || 1_000_000;
      if (id !== ID.Duration) children.push(info.subarray(offset, dataOffset + (e - s)));
    },
  });
  reader.push(info);
  reader.end();
  const reserve = element(ID.Void, new Uint8Array(DURATION_BYTES - 2));
  const bytes = element(ID.Info, [...children, reserve]);
  return { bytes, durationAt: bytes.length - DURATION_BYTES, timestampScale };
}

/** The Duration element (float64, in TimestampScale ticks) for `durationMs`: 11 bytes, to write over the Void kept for it. */
export function durationElement(durationMs: number, timestampScale: number): Uint8Array {
  const out = floatElement(ID.Duration, (durationMs * 1_000_000) / timestampScale);
  if (out.length !== DURATION_BYTES) throw new RangeError(`a Duration element is ${out.length} bytes, not ${DURATION_BYTES}`);
  return out;
}
