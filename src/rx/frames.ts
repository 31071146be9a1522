import { filter, type OperatorFunction } from "rxjs";
import type { Frame } from "../matroska/frame.js";
import type { StreamEvent } from "./stream-event.js";

/** Keeps only Frame events. */
export function frames(): OperatorFunction<StreamEvent, Frame> {
  return filter((ev: StreamEvent): ev is Frame => ev.type === "frame");
}
