import { filter, type OperatorFunction } from "rxjs";
import type { KvsEvent } from "../kvs/parser.js";
import type { Frame } from "../matroska/frame.js";

/** Keeps only Frame events. */
export function frames(): OperatorFunction<KvsEvent, Frame> {
  return filter((ev: KvsEvent): ev is Frame => ev.type === "frame");
}
