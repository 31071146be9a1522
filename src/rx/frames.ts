import type { Observable, OperatorFunction } from "rxjs";
import { filter } from "./rxjs-parts.js";
import type { Frame } from "../matroska/frame.js";
import type { StreamEvent } from "./stream-event.js";

const FRAMES_ONLY = Symbol("kvs-parser.framesOnly");

type WithFramesOnly = { [FRAMES_ONLY]?: () => Observable<Frame> };

/**
 * Gives a reader's observable a cheaper way to its frames alone, which {@link frames} takes when applied
 * to it directly: the parser hands frames straight to the subscriber, with no filter and no other
 * events in between. `framesOnly` must give the same frames, in order, with the same errors.
 */
export function withFramesOnly<T>(events: Observable<T>, framesOnly: () => Observable<Frame>): Observable<T> {
  (events as WithFramesOnly)[FRAMES_ONLY] = framesOnly;
  return events;
}

const isFrame = (ev: StreamEvent): ev is Frame => ev.type === "frame";

/** Keeps only Frame events. */
export function frames(): OperatorFunction<StreamEvent, Frame> {
  return (source) => (source as WithFramesOnly)[FRAMES_ONLY]?.() ?? source.pipe(filter(isFrame));
}
