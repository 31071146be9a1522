import { filter, type OperatorFunction } from "rxjs";
import type { FragmentEvent } from "../kvs/fragment.js";
import type { KvsEvent } from "../kvs/parser.js";

/** Keeps only Fragment events. */
export function fragments(): OperatorFunction<KvsEvent, FragmentEvent> {
  return filter((ev: KvsEvent): ev is FragmentEvent => ev.type === "fragment");
}
