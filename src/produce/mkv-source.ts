import type { ByteSource } from "../rx/source.js";
import { parseMkv } from "../rx/parse-mkv.js";
import type { StreamEvent } from "../rx/stream-event.js";
import { pull } from "../rx/pull.js";
import { Fragmenter, type FragmenterOptions, type ProducerFragment } from "./fragmenter.js";
import { PutMediaError } from "./acks.js";
import type { PutMediaSource } from "./put-media.js";

/** Options of {@link mkvSource}. */
export interface MkvSourceOptions extends FragmenterOptions {
  /** Send at the media's pace (a file played as a live camera) instead of as fast as it reads. */
  readonly realtime?: boolean;
  /** Metadata tags for every fragment (persistent). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * An upload of an MKV / WebM file or byte stream (or any byte source parseMkv reads), re-fragmented:
 * its tracks become the upload's, its frames go through a {@link Fragmenter}. The file is read as the
 * upload takes fragments (a few frames ahead), never whole.
 */
export function mkvSource(bytes: ByteSource, options: MkvSourceOptions = {}): PutMediaSource & { readonly fragmenter: () => Fragmenter | null } {
  let fragmenter: Fragmenter | null = null;
  return {
    fragmenter: () => fragmenter,
    header: () => {
      if (!fragmenter)
        throw new PutMediaError("NO_TRACKS", "the source has no Tracks before its first frame", {
          retryable: false,
          action: "give an MKV with a Tracks element",
        });
      return fragmenter.header();
    },
    fragments: (async function* (): AsyncGenerator<ProducerFragment> {
      const started = performance.now();
      let firstTs: number | null = null;
      // The file is read a few MiB of frames ahead of the upload, no more.
      for await (const ev of pull(parseMkv(bytes), { bytes: (e: StreamEvent) => (e.type === "frame" ? e.size : 0) })) {
        if (ev.type === "tracks" && fragmenter === null) {
          fragmenter = new Fragmenter(ev.tracks, options);
          for (const [k, v] of Object.entries(options.metadata ?? {})) fragmenter.putMetadata(k, v, true);
        }
        if (ev.type !== "frame" || fragmenter === null) continue;
        if (options.realtime) {
          firstTs ??= ev.timestampMs;
          const due = started + (ev.timestampMs - firstTs) - performance.now();
          if (due > 0) await new Promise((r) => setTimeout(r, due));
        }
        const closed = fragmenter.push(ev);
        if (closed) yield closed;
      }
      const last = fragmenter?.flush();
      if (last) yield last;
    })(),
  };
}
