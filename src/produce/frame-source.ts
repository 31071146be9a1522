import { avcDecoderConfigRecord, h264NalType } from "../codec/h264.js";
import { pull } from "../rx/pull.js";
import { h265NalType, hevcDecoderConfigRecord } from "../codec/h265.js";
import { joinLengthPrefixed, splitAnnexB } from "../codec/nal.js";
import type { Track } from "../matroska/model.js";
import { isObservable, type Observable } from "rxjs";
import type { StreamEvent } from "../rx/stream-event.js";
import { PutMediaError } from "./acks.js";
import { type FrameInput, Fragmenter, type FragmenterOptions, type ProducerFragment } from "./fragmenter.js";
import type { PutMediaSource } from "./put-media.js";

const AVC = "V_MPEG4/ISO/AVC";
const HEVC = "V_MPEGH/ISO/HEVC";

/** Options of {@link framesSource}. */
export interface FramesSourceOptions extends FragmenterOptions {
  /** Metadata tags for every fragment (persistent). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The frames of an Observable of frames or stream events, as an async iterable. */
async function* framesOf(source: Observable<FrameInput | StreamEvent>): AsyncGenerator<FrameInput> {
  for await (const v of pull(source)) if (!("type" in v) || v.type === "frame") yield v as FrameInput;
}

/** True when an H.264 frame is Annex-B (starts with a start code) rather than length-prefixed. */
function isAnnexB(data: Uint8Array): boolean {
  return data.length > 3 && data[0] === 0 && data[1] === 0 && (data[2] === 1 || (data[2] === 0 && data[3] === 1));
}

/**
 * An upload of frames made by code (the parser's `Frame` shape: track, timestampMs, keyframe, data), in
 * time order. An H.264 or H.265 track may come as Annex-B without CodecPrivate: its parameter sets (SPS and
 * PPS; VPS, SPS and PPS) from the first keyframe become the avcC / hvcC CodecPrivate, and each frame is
 * written length-prefixed;
 * frames before the first SPS and PPS are dropped (nothing could decode them), counted in `dropped()`.
 */
export function framesSource(
  tracks: readonly Track[],
  frames: AsyncIterable<FrameInput> | Iterable<FrameInput> | Observable<FrameInput | StreamEvent>,
  options: FramesSourceOptions = {},
): PutMediaSource & { dropped(): number } {
  let fragmenter: Fragmenter | null = null;
  const annexB = new Set(tracks.filter((t) => (t.codecId === AVC || t.codecId === HEVC) && t.codecPrivate === null).map((t) => t.number));
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
      const input = isObservable(frames) ? framesOf(frames) : (frames as AsyncIterable<FrameInput>);
      for await (const frame of input) {
        let f = frame;
        if (annexB.has(f.track) && isAnnexB(f.data)) {
          const units = splitAnnexB(f.data);
          const track = resolved.find((t) => t.number === f.track)!;
          const hevc = track.codecId === HEVC;
          const type = hevc ? h265NalType : h264NalType;
          if (track.codecPrivate === null) {
            const of = (n: number) => units.filter((u) => type(u) === n);
            const record = hevc
              ? of(32).length && of(33).length && of(34).length
                ? hevcDecoderConfigRecord(of(32), of(33), of(34))
                : null
              : of(7).length && of(8).length
                ? avcDecoderConfigRecord(of(7), of(8))
                : null;
            if (record !== null) {
              resolved = resolved.map((t) => (t.number === f.track ? { ...t, codecPrivate: record } : t));
              if ([...annexB].every((n) => resolved.find((t) => t.number === n)!.codecPrivate !== null)) start();
            }
          }
          const delimiter = hevc ? 35 : 9;
          f = { ...f, data: joinLengthPrefixed(units.filter((u) => type(u) !== delimiter)) }; // (access unit delimiters dropped)
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
