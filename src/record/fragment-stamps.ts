import type { FragmentEvent } from "../kvs/fragment.js";
import type { Frame } from "../matroska/frame.js";

/** The server and producer times of a piece of output that starts with frame `first` of `fragment`. */
export interface FragmentStamps {
  readonly serverTimestampMs: number | null;
  readonly producerTimestampMs: number | null;
  /** @deprecated Renamed serverTimestampMs; removed in the next major release. */
  readonly serverTimeMs: number | null;
  /** @deprecated Renamed producerTimestampMs; removed in the next major release. */
  readonly producerTimeMs: number | null;
}

/** The times of output that starts with `first` (its own times), else those of its fragment. */
export function stampsOf(first: Frame | undefined, fragment: FragmentEvent): FragmentStamps {
  const serverTimestampMs = first?.serverTimestampMs ?? fragment.serverTimestampMs;
  const producerTimestampMs = first?.producerTimestampMs ?? fragment.producerTimestampMs;
  return { serverTimestampMs, producerTimestampMs, serverTimeMs: serverTimestampMs, producerTimeMs: producerTimestampMs };
}
