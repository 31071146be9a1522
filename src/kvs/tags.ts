import type { SimpleTag, Tag } from "../matroska/model.js";

/** Names of the tags Kinesis Video Streams adds to GetMedia and GetMediaForFragmentList output. */
export const KvsTag = {
  FragmentNumber: "AWS_KINESISVIDEO_FRAGMENT_NUMBER",
  ServerTimestamp: "AWS_KINESISVIDEO_SERVER_TIMESTAMP",
  ProducerTimestamp: "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP",
  ServerSideTimestamp: "AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP",
  ProducerSideTimestamp: "AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP",
  MillisBehindNow: "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW",
  ContinuationToken: "AWS_KINESISVIDEO_CONTINUATION_TOKEN",
  ErrorCode: "AWS_KINESISVIDEO_ERROR_CODE",
  ErrorId: "AWS_KINESISVIDEO_ERROR_ID",
  ExceptionErrorCode: "AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE",
  ExceptionMessage: "AWS_KINESISVIDEO_EXCEPTION_MESSAGE",
} as const;

const PREFIX = "AWS_KINESISVIDEO_";

/** True for a tag name KVS reserves (AWS_KINESISVIDEO_*). */
export function isKvsTagName(name: string): boolean {
  return name.startsWith(PREFIX);
}

/**
 * Parses a KVS timestamp tag ("1510005542.123", seconds with a fraction; may be relative, "0.000")
 * into integer milliseconds without float rounding. Returns null when the text is not such a number.
 */
export function parseKvsTimestamp(text: string): number | null {
  const m = /^\s*(-?)(\d+)(?:\.(\d*))?\s*$/.exec(text);
  if (!m) return null;
  const frac = (m[3] ?? "").padEnd(3, "0");
  const ms = Number(m[2]) * 1000 + Number(frac.slice(0, 3)) + (frac.length > 3 && frac.charCodeAt(3) >= 53 ? 1 : 0);
  return m[1] === "-" ? -ms : ms;
}

/** Calls `visit` for each top-level SimpleTag of the given Tag elements, in order. */
export function forEachSimpleTag(tags: readonly Tag[], visit: (tag: SimpleTag) => void): void {
  for (const tag of tags) for (const st of tag.simpleTags) visit(st);
}
