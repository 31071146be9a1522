import type { FragmentDiscardedEvent, FragmentSkippedEvent, MissingFragmentEvent } from "../kvs/fragment.js";
import type { KvsEvent } from "../kvs/parser.js";

/**
 * The one event type of kvs-parser: what every reader emits (parseMkv and getMedia a part of it: the
 * parser's events; liveMedia, the archive and poll readers add the fragment-level events) and what every
 * operator and sink takes. A discriminated union on `type`: the parser's `ebmlHeader`, `segmentStart`,
 * `info`, `tracks`, `tags`, `cluster`, `frame`, `segmentEnd`, `fragment`, `unknownElement`, `recovered`,
 * and the readers' `fragmentDiscarded` (frames of a cut fragment, which comes again), `fragmentSkipped`
 * (a fragment given up on, which does not) and `missingFragment` (asked for, not returned).
 */
export type StreamEvent = KvsEvent | FragmentDiscardedEvent | FragmentSkippedEvent | MissingFragmentEvent;

/** True for the events after which frames gathered for the current fragment must be dropped (it was cut or given up on). */
export function voidsPendingFrames(ev: StreamEvent): boolean {
  return ev.type === "fragmentDiscarded" || ev.type === "fragmentSkipped";
}
