import { sameBytes } from "../ebml/values.js";
import type { Track } from "./model.js";

/**
 * True when two track lists decode the same way: the same track numbers, codec IDs and CodecPrivate
 * bytes, in order (where a recording or an fMP4 stream can go on; otherwise a new file or init segment starts).
 */
export function sameCodecSetup(a: readonly Track[], b: readonly Track[]): boolean {
  return a.length === b.length && a.every((t, i) => t.number === b[i]!.number && t.codecId === b[i]!.codecId && sameBytes(t.codecPrivate, b[i]!.codecPrivate));
}
