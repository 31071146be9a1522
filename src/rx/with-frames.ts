import { type StreamEvent, voidsPendingFrames } from "./stream-event.js";
import { Observable, type OperatorFunction } from "rxjs";
import type { FragmentEvent } from "../kvs/fragment.js";
import type { Frame } from "../matroska/frame.js";

/** A fragment with the frames it holds (views into the stream's chunks; see Frame.copy). */
export interface FragmentWithFrames {
  readonly fragment: FragmentEvent;
  readonly frames: readonly Frame[];
}

/**
 * Groups frames with their fragment: one item per `fragment` event, holding its frames. A
 * `fragmentDiscarded` or `fragmentSkipped` event (a live reader restarting a cut fragment, or giving up on one)
 * drops the frames gathered so far.
 */
export function withFrames(): OperatorFunction<StreamEvent, FragmentWithFrames> {
  return (source) =>
    new Observable<FragmentWithFrames>((subscriber) => {
      let frames: Frame[] = [];
      return source.subscribe({
        next(ev) {
          if (ev.type === "frame") frames.push(ev);
          else if (voidsPendingFrames(ev)) frames = [];
          else if (ev.type === "fragment") {
            const mine = frames;
            frames = [];
            subscriber.next({ fragment: ev, frames: mine });
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
