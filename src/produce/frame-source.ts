import { avcDecoderConfigRecord, h264NalType } from "../codec/h264.js";
import { joinLengthPrefixed, splitAnnexB } from "../codec/nal.js";
import type { Track } from "../matroska/model.js";
import { PutMediaError } from "./acks.js";
import { type FrameInput, Fragmenter, type FragmenterOptions, type ProducerFragment } from "./fragmenter.js";
import type { PutMediaSource } from "./put-media.js";

/** Options of {@link framesSource}. */
export interface FramesSourceOptions extends FragmenterOptions {
  /** Metadata tags for every fragment (persistent). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** True when an H.264 frame is Annex-B (starts with a start code) rather than length-prefixed. */
function isAnnexB(data: Uint8Array): boolean {
  return data.length > 3 && data[0] === 0 && data[1] === 0 && (data[2] === 1 || (data[2] === 0 && data[3] === 1));
}

/**
 * An upload of frames made by code (the parser's `Frame` shape: track, timestampMs, keyframe, data), in
 * time order. An H.264 track (V_MPEG4/ISO/AVC) may come as Annex-B without CodecPrivate: its SPS and PPS
 * (from the first keyframe) become the avcC CodecPrivate, and each frame is written length-prefixed;
 * frames before the first SPS and PPS are dropped (nothing could decode them), counted in `dropped()`.
 */
export function framesSource(
  tracks: readonly Track[],
  frames: AsyncIterable<FrameInput> | Iterable<FrameInput>,
  options: FramesSourceOptions = {},
): PutMediaSource & { dropped(): number } {
  let fragmenter: Fragmenter | null = null;
  const annexB = new Set(tracks.filter((t) => t.codecId === "V_MPEG4/ISO/AVC" && t.codecPrivate === null).map((t) => t.number));
  let dropped = 0;
  let resolved = [...tracks];
  const start = () => {
    fragmenter = new Fragmenter(resolved, options);
    for (const [k, v] of Object.entries(options.metadata ?? {})) fragmenter.putMetadata(k, v, true);
  };
  return {
    dropped: () => dropped,
    header: () => {
      if (!fragmenter) throw new PutMediaError("NO_TRACKS", "no frame yet", { retryable: false, action: "give frames" });
      return fragmenter.header();
    },
    fragments: (async function* (): AsyncGenerator<ProducerFragment> {
      if (annexB.size === 0) start();
      for await (const frame of frames as AsyncIterable<FrameInput>) {
        let f = frame;
        if (annexB.has(f.track) && isAnnexB(f.data)) {
          const units = splitAnnexB(f.data);
          const track = resolved.find((t) => t.number === f.track)!;
          if (track.codecPrivate === null) {
            const sps = units.filter((u) => h264NalType(u) === 7);
            const pps = units.filter((u) => h264NalType(u) === 8);
            if (sps.length > 0 && pps.length > 0) {
              resolved = resolved.map((t) => (t.number === f.track ? { ...t, codecPrivate: avcDecoderConfigRecord(sps, pps) } : t));
              if ([...annexB].every((n) => resolved.find((t) => t.number === n)!.codecPrivate !== null)) start();
            }
          }
          f = { ...f, data: joinLengthPrefixed(units.filter((u) => h264NalType(u) !== 9)) }; // (access unit delimiters dropped)
        }
        if (fragmenter === null) {
          dropped++; // before the SPS and PPS nothing can decode it
          continue;
        }
        const done = (fragmenter as Fragmenter).push(f);
        if (done) yield done;
      }
      const last = (fragmenter as Fragmenter | null)?.flush();
      if (last) yield last;
    })(),
  };
}
