import type { OperatorFunction } from "rxjs";
import { ObservableClass } from "./rxjs-parts.js";
import { FragmentGrouper, type FragmentWithFrames } from "./fragment-grouper.js";
import type { StreamEvent } from "./stream-event.js";

export type { FragmentWithFrames } from "./fragment-grouper.js";

/**
 * Groups frames with their fragment: one item per `fragment` event, holding its frames. A
 * `fragmentDiscarded` or `fragmentSkipped` event (a live reader restarting a cut fragment, or giving up on one)
 * drops the frames gathered so far.
 */
export function withFrames(): OperatorFunction<StreamEvent, FragmentWithFrames> {
  return (source) =>
    new ObservableClass<FragmentWithFrames>((subscriber) => {
      const grouper = new FragmentGrouper({ onFragment: (group) => subscriber.next(group) });
      return source.subscribe({
        next: (ev) => grouper.push(ev),
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
