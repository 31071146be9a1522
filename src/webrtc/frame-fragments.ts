import type { Frame } from "../matroska/frame.js";
import type { Track } from "../matroska/model.js";
import type { FragmentEvent } from "../kvs/fragment.js";
import type { StreamEvent } from "../rx/stream-event.js";

/** Audio-only media is cut into fragments this long (ms of media). */
const AUDIO_FRAGMENT_MS = 2000;

/**
 * Frames of live tracks that come with no container (WebRTC) as the one event stream of the parser:
 * a `tracks` event whenever a track appears or changes, the frames, and a `fragment` event after each
 * group of frames, cut before every video keyframe (every 2 s of audio without video), as a KVS
 * producer cuts fragments. Fragments have no fragment number and no byte offsets.
 */
export class FrameFragments {
  private readonly tracks = new Map<number, Track>();
  private trackList: readonly Track[] = [];
  private frames = 0;
  private keyframes = 0;
  private byTrack: Record<number, number> = {};
  private bytes = 0;
  private firstTs: number | null = null;
  private lastTs: number | null = null;
  private producerMs: number | null = null;

  /** Events go to `out`. */
  constructor(private readonly out: (ev: StreamEvent) => void) {}

  /** A track appeared or changed. */
  track(track: Track): void {
    this.tracks.set(track.number, track);
    this.trackList = [...this.tracks.values()].sort((a, b) => a.number - b.number);
    this.out({ type: "tracks", offset: 0, tracks: this.trackList });
  }

  /** One whole frame of a known track. */
  frame(frame: Frame): void {
    const video = this.tracks.get(frame.track)?.kind === "video";
    const hasVideo = this.trackList.some((t) => t.kind === "video");
    if (this.frames > 0 && ((video && frame.keyframe) || (!hasVideo && this.firstTs !== null && frame.timestampMs - this.firstTs >= AUDIO_FRAGMENT_MS)))
      this.end();
    this.frames++;
    if (frame.keyframe) this.keyframes++;
    this.byTrack[frame.track] = (this.byTrack[frame.track] ?? 0) + 1;
    this.bytes += frame.size;
    this.firstTs ??= frame.timestampMs;
    this.lastTs = frame.timestampMs;
    this.producerMs ??= frame.producerTimestampMs;
    this.out(frame);
  }

  /** Closes the open fragment, if it has frames (at the end of the media). */
  end(): void {
    if (this.frames === 0) return;
    const ev: FragmentEvent = {
      type: "fragment",
      fragmentNumber: null,
      serverTimestampMs: null,
      producerTimestampMs: this.producerMs,
      millisBehindNow: null,
      continuationToken: null,
      error: null,
      kvsTags: {},
      tags: [],
      tracks: this.trackList,
      clusterTimestampMs: this.firstTs,
      frameCount: this.frames,
      keyframeCount: this.keyframes,
      framesByTrack: this.byTrack,
      payloadBytes: this.bytes,
      firstFrameTimestampMs: this.firstTs,
      lastFrameTimestampMs: this.lastTs,
      startOffset: 0,
      endOffset: 0,
      complete: true,
      problems: [],
      bytes: null,
    };
    this.frames = this.keyframes = this.bytes = 0;
    this.byTrack = {};
    this.firstTs = this.lastTs = this.producerMs = null;
    this.out(ev);
  }
}
