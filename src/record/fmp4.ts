import type { StreamEvent } from "../rx/stream-event.js";
import { Observable, type OperatorFunction } from "rxjs";
import { sameCodecSetup } from "../matroska/codec-setup.js";
import type { Track } from "../matroska/model.js";
import { Demand, subscribeHolding } from "../rx/demand.js";
import { withFrames } from "../rx/with-frames.js";
import { stampsOf } from "./fragment-stamps.js";
import { Mp4Remuxer, mp4MimeType } from "./mp4.js";

/** A part of a live fragmented MP4: an init segment (again when the tracks change), then one segment per KVS fragment. */
export type Fmp4Part =
  | { readonly type: "init"; readonly bytes: Uint8Array; readonly mimeType: string }
  | {
      readonly type: "segment";
      /** moof+mdat of one KVS fragment. */
      readonly bytes: Uint8Array;
      readonly fragmentNumber: string | null;
      readonly serverTimestampMs: number | null;
      readonly producerTimestampMs: number | null;
      /** @deprecated Renamed serverTimestampMs; removed in the next major release. */
      readonly serverTimeMs: number | null;
      /** @deprecated Renamed producerTimestampMs; removed in the next major release. */
      readonly producerTimeMs: number | null;
      /** Where the segment starts on the MP4's timeline (s). */
      readonly startSec: number;
      readonly frames: number;
    };

/** Options of {@link fmp4}. */
export interface Fmp4Options {
  /**
   * Holds each fragment's bytes here until its segment is out, so a slow remux slows the reading (default:
   * a Demand of 16 MiB of its own that holds the reader up its chain; give one shared by a reader's sinks
   * after share()).
   */
  readonly demand?: Demand;
}

/**
 * A live stream as fragmented MP4, for Media Source Extensions or an HLS/DASH server: an `init` part
 * (with the MIME type for MediaSource.addSourceBuffer), then a `segment` per KVS fragment as soon as
 * the fragment is whole (H.264/H.265 and AAC/Opus tracks; others are left out). A new init part
 * comes when the tracks change. Frames of a fragment a live reader restarts are dropped.
 */
export function fmp4(options: Fmp4Options = {}): OperatorFunction<StreamEvent, Fmp4Part> {
  return (source) =>
    new Observable<Fmp4Part>((subscriber) => {
      // Each fragment's bytes are held until its segment is out; the reader up the chain is held too.
      const demand = options.demand ?? new Demand(16 * 1024 * 1024);
      const account = demand.account();
      let remuxer: Mp4Remuxer | null = null;
      let tracks: readonly Track[] = [];
      let chain = Promise.resolve();
      let mimeType = "";
      /** What the remuxer gave for the fragment being added. */
      let made: ({ init: Uint8Array } | { segment: Uint8Array; startSec: number })[] = [];
      const upstream = subscribeHolding(demand, () =>
        source.pipe(withFrames()).subscribe({
          next({ fragment: ev, frames: mine }) {
            if (ev.tracks.length === 0 || mine.length === 0) return;
            const held = ev.payloadBytes;
            account.hold(held);
            chain = chain
              .then(async () => {
                if (remuxer === null || !sameCodecSetup(tracks, ev.tracks)) {
                  await remuxer?.cancel();
                  tracks = ev.tracks;
                  const type = mp4MimeType(ev.tracks);
                  if (type === null) {
                    remuxer = null;
                    return;
                  }
                  mimeType = type;
                  remuxer = new Mp4Remuxer(ev.tracks, {
                    kind: "fragments",
                    onInit: (bytes) => made.push({ init: bytes }),
                    onFragment: (bytes, startSec) => made.push({ segment: bytes, startSec }),
                  });
                }
                await remuxer.addFragment(mine);
                const out = made;
                made = [];
                for (const p of out)
                  subscriber.next(
                    "init" in p
                      ? { type: "init", bytes: p.init, mimeType }
                      : {
                          type: "segment",
                          bytes: p.segment,
                          startSec: p.startSec,
                          fragmentNumber: ev.fragmentNumber,
                          ...stampsOf(mine[0], ev),
                          frames: mine.length,
                        },
                  );
              })
              .catch((e: unknown) => subscriber.error(e))
              .finally(() => account.release(held));
          },
          error: (e: unknown) => void chain.then(() => subscriber.error(e)),
          complete: () =>
            void chain.then(async () => {
              await remuxer?.finalize();
              subscriber.complete();
            }),
        }),
      );
      return () => {
        upstream.unsubscribe();
        account.close();
        void remuxer?.cancel();
      };
    });
}
