import type { StreamEvent } from "../rx/stream-event.js";
import type { OperatorFunction } from "rxjs";
import type { Track } from "../matroska/model.js";
import { rawSplitter } from "./output-split.js";
import { feedFor, ffmpegInputArgs, TrackDecoder, type Session, type TrackDecoderOptions } from "./track-decoder.js";

/** Options of {@link PcmDecoder} and {@link pcm}. */
export interface PcmOptions extends TrackDecoderOptions {
  /** Output sample rate in Hz (default 16 000, what speech services take). */
  readonly sampleRate?: number;
  /** Output channels (default 1). */
  readonly channels?: number;
  /** Samples (per channel) per output chunk (default 0.1 s worth). */
  readonly samplesPerChunk?: number;
}

/** A chunk of decoded audio: signed 16-bit little-endian samples, interleaved. */
export interface PcmChunk {
  readonly type: "pcm";
  readonly track: number;
  readonly sampleRate: number;
  readonly channels: number;
  /** Stream time (ms) of the chunk's first sample: the first frame's time plus the samples before it. */
  readonly timestampMs: number;
  /** The producer time of its first sample (KVS streams; null otherwise). */
  readonly producerTimestampMs: number | null;
  /** @deprecated Renamed producerTimestampMs; removed in the next major release. */
  readonly producerTimeMs: number | null;
  readonly fragmentNumber: string | null;
  readonly samples: number;
  readonly data: Uint8Array;
}

interface PcmState {
  /** Samples out so far, and the stream time and producer time of the first frame. */
  samplesOut: number;
  startMs: number | null;
  producerStartMs: number | null;
  /** End time (ms from start) of each pending frame, to tell when it is out. */
  readonly frameEnds: number[];
  inputMs: number;
}

/**
 * Decodes one audio track to PCM s16le at a chosen rate and channel count (what speech services such as
 * Amazon Transcribe take) with a long-lived ffmpeg process fed a one-track Matroska stream: any codec
 * ffmpeg decodes (AAC, Opus, MP3, AC-3, FLAC, Vorbis, PCM). Output chunks carry the stream time of their
 * first sample. See {@link TrackDecoder} for backpressure and restarts.
 */
export class PcmDecoder extends TrackDecoder<PcmChunk, PcmState> {
  private readonly sampleRate: number;
  private readonly channels: number;
  private readonly chunkSamples: number;

  /** A decoder for the options' track (default: the first audio track of the stream). */
  constructor(options: PcmOptions = {}) {
    super({ maxPendingFrames: 128, ...options });
    this.sampleRate = options.sampleRate ?? 16_000;
    this.channels = options.channels ?? 1;
    this.chunkSamples = Math.max(1, options.samplesPerChunk ?? Math.round(this.sampleRate / 10));
  }

  /** The operator form: frames (and tracks) in, PCM chunks out. */
  chunks(): OperatorFunction<StreamEvent, PcmChunk> {
    return this.operator();
  }

  protected override pickTrack(tracks: readonly Track[]): Track | undefined {
    return tracks.find((t) => t.kind === "audio");
  }

  protected override open(track: Track) {
    const feed = feedFor(track, false);
    const args = [
      ...ffmpegInputArgs(feed),
      "-vn",
      "-sn",
      "-f",
      "s16le",
      "-acodec",
      "pcm_s16le",
      "-ar",
      String(this.sampleRate),
      "-ac",
      String(this.channels),
      "pipe:1",
    ];
    const state: PcmState = { samplesOut: 0, startMs: null, producerStartMs: null, frameEnds: [], inputMs: 0 };
    return { feed, args, splitter: rawSplitter(this.chunkSamples * 2 * this.channels, 2 * this.channels), state };
  }

  protected override unit(s: Session<PcmState>, data: Uint8Array): void {
    const st = s.state;
    // Frames in time order; the first one given sets the chunk clock.
    for (const f of s.pending.slice(st.frameEnds.length)) {
      st.startMs ??= f.timestampMs;
      st.producerStartMs ??= f.producerTimestampMs;
      st.inputMs = Math.max(st.inputMs, f.timestampMs - st.startMs + (f.durationMs ?? 0));
      st.frameEnds.push(f.timestampMs - st.startMs + (f.durationMs ?? 0));
    }
    const first = s.pending[0];
    const startMs = (st.startMs ?? 0) + (st.samplesOut * 1000) / this.sampleRate;
    const samples = data.length / (2 * this.channels);
    st.samplesOut += samples;
    const outMs = (st.samplesOut * 1000) / this.sampleRate;
    // Frames whose audio is now out are done.
    let n = 0;
    while (n < st.frameEnds.length && st.frameEnds[n]! <= outMs) n++;
    if (n > 0) {
      s.pending.splice(0, n);
      st.frameEnds.splice(0, n);
      this.done(n);
    }
    const producerMs = st.producerStartMs === null ? null : st.producerStartMs + (startMs - (st.startMs ?? 0));
    this.produce({
      type: "pcm",
      track: first?.track ?? 0,
      sampleRate: this.sampleRate,
      channels: this.channels,
      timestampMs: startMs,
      producerTimestampMs: producerMs,
      producerTimeMs: producerMs,
      fragmentNumber: first?.fragmentNumber ?? null,
      samples,
      data,
    });
  }
}

/** Decodes a track's audio to PCM s16le chunks (see {@link PcmDecoder}); unsubscribing kills the decoder process. */
export function pcm(options: PcmOptions = {}): OperatorFunction<StreamEvent, PcmChunk> {
  return (source) => new PcmDecoder(options).chunks()(source);
}
