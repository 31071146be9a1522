import type { StreamEvent } from "../rx/stream-event.js";
import { writeFile } from "node:fs/promises";
import { Observable, type OperatorFunction } from "rxjs";
import { concatBytes } from "../ebml/writer.js";
import type { FragmentEvent } from "../kvs/fragment.js";

/** One fragment's exact bytes (views into the stream's chunks, no copy) with its event. */
export interface RawFragment {
  readonly fragment: FragmentEvent;
  /** The bytes, in order, as views into the chunks they arrived in. */
  readonly chunks: readonly Uint8Array[];
  /** Total bytes. */
  readonly size: number;
  /** The bytes in one new buffer (a copy: keep this, not the views). */
  bytes(): Uint8Array;
}

/** The raw fragment of a `fragment` event parsed with `keepBytes` (throws a TypeError without it). */
export function rawFragmentOf(fragment: FragmentEvent): RawFragment {
  const chunks = fragment.bytes;
  if (chunks === null) throw new TypeError("fragment bytes were not kept: parse with { keepBytes: true } (parseMkv, liveMedia, mediaForFragments)");
  let size = 0;
  for (const c of chunks) size += c.length;
  return { fragment, chunks, size, bytes: () => concatBytes(chunks) };
}

/** Each fragment's exact bytes with its event (the source must be parsed with `keepBytes: true`). */
export function rawFragments(): OperatorFunction<StreamEvent, RawFragment> {
  return (source) =>
    new Observable<RawFragment>((subscriber) =>
      source.subscribe({
        next: (ev) => {
          if (ev.type !== "fragment") return;
          try {
            subscriber.next(rawFragmentOf(ev));
          } catch (e) {
            subscriber.error(e);
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
}

/**
 * Saves one fragment as a playable MKV: a KVS fragment (GetMedia or GetMediaForFragmentList output) is
 * a whole Matroska document, EBML header, Tracks and Cluster, so its bytes are written as they are.
 */
export async function saveFragment(raw: RawFragment, path: string): Promise<void> {
  await writeFile(path, raw.bytes());
}
