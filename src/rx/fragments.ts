import type { OperatorFunction } from "rxjs";
import { filter } from "./rxjs-parts.js";
import type { FragmentEvent } from "../kvs/fragment.js";
import type { StreamEvent } from "./stream-event.js";

/** Keeps only Fragment events. */
export function fragments(): OperatorFunction<StreamEvent, FragmentEvent> {
  return filter((ev: StreamEvent): ev is FragmentEvent => ev.type === "fragment");
}
