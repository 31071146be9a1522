import type { StreamEvent } from "../rx/stream-event.js";
import { asError } from "../ebml/kvs-parser-error.js";
import { Observable, type OperatorFunction } from "rxjs";
import { avccToAnnexB, parseAvcDecoderConfig } from "../codec/h264.js";
import { sameBytes } from "../ebml/values.js";
import { concatBytes } from "../ebml/writer.js";
import { hvccToAnnexB, parseHevcDecoderConfig } from "../codec/h265.js";
import type { Frame } from "../matroska/frame.js";
import type { Track } from "../matroska/model.js";
import { Demand, type DemandAccount, subscribeHolding } from "../rx/demand.js";
import { DecoderError, FfmpegProcess, findFfmpeg, type StreamPosition } from "./ffmpeg.js";
import { mkvFeedFrame, mkvFeedHeader } from "./mkv-feed.js";
import type { OutputSplitter } from "./output-split.js";

/** How frames of a codec go to ffmpeg: Annex-B for H.264/H.265, a one-track Matroska stream for the rest. */
export interface Feed {
  /** ffmpeg's input format arguments. */
  readonly input: readonly string[];
  /** Bytes to write once, first (the Matroska header), or null. */
  readonly header: Uint8Array | null;
  /** The bytes of one frame. */
  bytes(frame: Frame): Uint8Array;
}

/** Access unit delimiters (H.264 NAL type 9, H.265 type 35), with their start codes. */
const H264_AUD = Uint8Array.of(0, 0, 0, 1, 0x09, 0xf0);
const HEVC_AUD = Uint8Array.of(0, 0, 0, 1, 0x46, 0x01, 0x50);

/** The feed for a track: Annex-B (H.264, H.265) when `annexB`, else Matroska (any codec ffmpeg decodes). */
export function feedFor(track: Track, annexB: boolean): Feed {
  // Each frame is followed by an access unit delimiter: ffmpeg's parser then knows the frame is whole at
  // once, instead of waiting for the next one to start (a keyframe's image comes out as it goes in).
  if (annexB && track.codecId === "V_MPEG4/ISO/AVC" && track.codecPrivate) {
    const config = parseAvcDecoderConfig(track.codecPrivate);
    return { input: ["-f", "h264"], header: null, bytes: (f) => concatBytes([avccToAnnexB(f.data, config), H264_AUD]) };
  }
  if (annexB && track.codecId === "V_MPEGH/ISO/HEVC" && track.codecPrivate) {
    const config = parseHevcDecoderConfig(track.codecPrivate);
    return { input: ["-f", "hevc"], header: null, bytes: (f) => concatBytes([hvccToAnnexB(f.data, config), HEVC_AUD]) };
  }
  let base: number | null = null;
  return {
    input: ["-f", "matroska"],
    header: mkvFeedHeader(track),
    bytes: (f) => {
      base ??= f.timestampMs - 10_000;
      return mkvFeedFrame(f.data, f.timestampMs - base, f.keyframe);
    },
  };
}

/**
 * ffmpeg's arguments up to and with its input (stdin), quiet, starting at once: the codec parameters are
 * in the stream's first bytes (Annex-B) or the track header (Matroska). `inputFlags` go before the input.
 */
export function ffmpegInputArgs(feed: Feed, inputFlags: readonly string[] = []): string[] {
  return ["-hide_banner", "-loglevel", "error", "-nostats", ...inputFlags, "-probesize", "32", "-analyzeduration", "0", ...feed.input, "-i", "pipe:0"];
}

/** Options every track decoder takes. */
export interface TrackDecoderOptions {
  /** The track to decode (default: the first track of the decoder's kind). */
  readonly track?: number;
  /** The ffmpeg binary (else FFMPEG_PATH, @ffmpeg-installer/ffmpeg, PATH). */
  readonly ffmpegPath?: string;
  /** Frames given to ffmpeg and not yet out before the gate holds the reader (default 32, at least 16: ffmpeg keeps frames back to reorder them). */
  readonly maxPendingFrames?: number;
  /** Bytes of frames given to ffmpeg and not yet out before the gate holds the reader (default 8 MiB). */
  readonly maxPendingBytes?: number;
  /** Decoded outputs not yet taken before ffmpeg's output is paused (default 8). */
  readonly maxQueued?: number;
  /** Hold the reader through this Demand, shared with its other sinks (default: one of the decoder's own, its `gate`). */
  readonly demand?: Demand;
}

/** One ffmpeg process and the frames it was given that have not come out yet. */
export interface Session<S> {
  readonly process: FfmpegProcess;
  readonly feed: Feed;
  readonly splitter: OutputSplitter;
  readonly pending: Frame[];
  /** What the decoder keeps per process. */
  readonly state: S;
  reading: Promise<void>;
}

/** Frames ffmpeg may hold back before it gives output (to reorder them): below this the reader is never held. */
const MIN_FRAMES_IN_FFMPEG = 16;

/**
 * A long-lived ffmpeg process per track (never one per frame): frames in on stdin, decoded units out on
 * stdout, each matched to the frames they came from by the subclass. Restarts the process when the
 * track's codec or CodecPrivate changes (a producer restart).
 *
 * Backpressure: {@link gate}, a Demand (or the one given as `demand`, shared with the reader's other
 * sinks), holds the reader it is passed to as `gate` (parseMkv, getMedia, liveMedia, mediaForFragments,
 * archivedMedia) while ffmpeg is behind, through any operators in between; outputs that nobody takes
 * stop the reading of ffmpeg's stdout, so ffmpeg blocks instead of memory growing. When no reader asks
 * the gate (it was not passed to one; an Observable of chunks, a Subject), frames beyond
 * `maxPendingFrames` × 2 are dropped up to the next keyframe (counted in {@link dropped}).
 */
export abstract class TrackDecoder<Out, S> {
  /** Hold a reader with this while ffmpeg is behind (pass it as parseMkv's or liveMedia's `gate`): the bytes of the frames in ffmpeg. */
  readonly gate: Demand;
  private readonly account: DemandAccount;
  /** Frames dropped because nobody held the reader back. */
  dropped = 0;
  /** Process ids of the decoders that ran (for tests: each one is gone after close). */
  readonly pids: number[] = [];
  protected readonly ffmpeg: string;
  private readonly maxPending: number;
  private readonly maxQueued: number;
  private trackNumber: number | null;
  private track: Track | null = null;
  private session: Session<S> | null = null;
  /** Frames accepted and not out yet (written, or waiting to be). */
  private inFlight = 0;
  /** Their sizes, oldest first (held in the gate until they are out). */
  private readonly inFlightBytes: number[] = [];
  private readonly queue: Out[] = [];
  private failure: Error | null = null;
  private closed = false;
  private chain: Promise<void> = Promise.resolve();
  private dropping = false;
  private readonly skip = new Map<string, number>();
  private readonly seen = new Map<string, number>();
  private lastPosition: StreamPosition = { track: 0, fragmentNumber: null, timestampMs: null };
  private waiters: (() => void)[] = [];
  private takers: (() => void)[] = [];

  constructor(options: TrackDecoderOptions) {
    this.ffmpeg = findFfmpeg(options.ffmpegPath);
    this.maxPending = Math.max(16, options.maxPendingFrames ?? 32);
    this.maxQueued = Math.max(1, options.maxQueued ?? 8);
    this.trackNumber = options.track ?? null;
    // Past maxPendingBytes the reader waits once ffmpeg has enough frames to give output (it keeps up to 16
    // back to reorder them), and at maxPendingFrames or maxQueued outputs nobody took whatever the bytes.
    this.gate = options.demand ?? new Demand(options.maxPendingBytes ?? 8 * 1024 * 1024);
    this.account = this.gate.account({
      drains: () => this.inFlight >= MIN_FRAMES_IN_FFMPEG,
      full: () => this.inFlight >= this.maxPending || this.queue.length >= this.maxQueued,
    });
  }

  /** True when the frame is of the track this decoder decodes. */
  protected isDecoded(frame: Frame): boolean {
    return frame.track === this.trackNumber;
  }

  /** The track a stream's Tracks offer for this decoder (when no track number was given). */
  protected abstract pickTrack(tracks: readonly Track[]): Track | undefined;
  /** Whether a frame of the track goes to the decoder (keyframes only, say). */
  protected accepts(_frame: Frame): boolean {
    return true;
  }
  /** Starts ffmpeg for a track: its feed, arguments, how its output is cut, and per-process state. */
  protected abstract open(track: Track): { feed: Feed; args: string[]; splitter: OutputSplitter; state: S };
  /** One unit of ffmpeg's output: match it to pending frames, {@link produce} outputs, {@link done} frames. */
  protected abstract unit(session: Session<S>, data: Uint8Array): void;

  /** Hands an output to whoever takes it. */
  protected produce(out: Out): void {
    this.queue.push(out);
    this.account.update();
    this.wake();
  }

  /** `n` frames given to the decoder are out (or will give no output). */
  protected done(n: number): void {
    this.inFlight -= n;
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += this.inFlightBytes.shift() ?? 0;
    this.account.release(bytes);
  }

  /** Takes the next event of the stream (tracks, frames, discard markers); other events are ignored. */
  push(ev: StreamEvent): void {
    if (this.closed || this.failure) return;
    switch (ev.type) {
      case "tracks": {
        const pick = this.trackNumber !== null ? ev.tracks.find((t) => t.number === this.trackNumber) : this.pickTrack(ev.tracks);
        if (!pick) return;
        this.trackNumber = pick.number;
        if (!(this.track && this.track.codecId === pick.codecId && sameBytes(this.track.codecPrivate, pick.codecPrivate))) this.restart(pick);
        return;
      }
      case "fragmentDiscarded": {
        // Its frames come again: skip as many as the decoder was already given.
        const n = this.seen.get(ev.fragmentNumber) ?? 0;
        if (n > 0) this.skip.set(ev.fragmentNumber, n);
        this.seen.delete(ev.fragmentNumber);
        return;
      }
      case "fragmentSkipped":
        if (ev.fragmentNumber !== null) this.seen.delete(ev.fragmentNumber); // it does not come again
        return;
      case "fragment":
        if (ev.fragmentNumber !== null) {
          this.seen.delete(ev.fragmentNumber);
          this.skip.delete(ev.fragmentNumber);
        }
        return;
      case "frame":
        break;
      default:
        return;
    }
    if (ev.track !== this.trackNumber || this.track === null) return;
    if (ev.fragmentNumber !== null) {
      const skip = this.skip.get(ev.fragmentNumber) ?? 0;
      if (skip > 0) {
        this.skip.set(ev.fragmentNumber, skip - 1);
        return;
      }
      this.seen.set(ev.fragmentNumber, (this.seen.get(ev.fragmentNumber) ?? 0) + 1);
    }
    if (!this.accepts(ev)) return;
    // Nobody holds the reader back and ffmpeg is far behind: drop up to a keyframe (decoding restarts clean there).
    if (!this.gate.holdsReader && this.inFlight >= 2 * this.maxPending) this.dropping = true;
    if (this.dropping) {
      if (!(ev.keyframe && this.inFlight < this.maxPending)) {
        this.dropped++;
        return;
      }
      this.dropping = false;
    }
    this.inFlight++;
    this.inFlightBytes.push(ev.size);
    this.account.hold(ev.size);
    const frame = ev;
    this.chain = this.chain.then(() => this.write(frame));
  }

  /** Ends the input: resolves once every output of the frames given is out (then take() returns null). */
  async end(): Promise<void> {
    await this.chain;
    const s = this.session;
    if (s && !this.failure && !this.closed) {
      s.process.endInput();
      await s.reading;
    }
    this.closed = true;
    this.wake();
  }

  /** Stops at once: kills the decoder process; pending outputs are dropped. */
  close(): void {
    this.closed = true;
    this.session?.process.kill();
    this.account.close();
    this.wake();
  }

  /** The next output; null once ended (or closed). Throws DecoderError when the decoder failed. */
  async take(): Promise<Out | null> {
    for (;;) {
      const out = this.queue.shift();
      if (out !== undefined) {
        this.account.update();
        for (const t of this.takers.splice(0)) t();
        return out;
      }
      if (this.failure) throw this.failure;
      if (this.closed) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** An operator: frames (and tracks) in, outputs out; unsubscribing kills the decoder process. */
  operator(): OperatorFunction<StreamEvent, Out> {
    return (source) =>
      new Observable<Out>((subscriber) => {
        void (async () => {
          for (;;) {
            const out = await this.take();
            if (out === null) break;
            subscriber.next(out);
          }
        })().then(
          () => subscriber.complete(),
          (e: unknown) => subscriber.error(e),
        );
        // The reader up the chain is held by the gate too, unless it has it already (see subscribeHolding).
        const upstream = subscribeHolding(this.gate, () =>
          source.subscribe({
            next: (ev) => this.push(ev),
            error: (e: unknown) => {
              this.close();
              subscriber.error(e);
            },
            complete: () => void this.end(),
          }),
        );
        return () => {
          upstream.unsubscribe();
          this.close();
        };
      });
  }

  /**
   * Pulls outputs with backpressure: `for await (const x of decoder.iterate(parseMkv(file, { gate: decoder.gate })))`.
   * Breaking out of the loop kills the decoder process.
   */
  async *iterate(source: Observable<StreamEvent>): AsyncGenerator<Out> {
    const sub = subscribeHolding(this.gate, () =>
      source.subscribe({
        next: (ev) => this.push(ev),
        error: (e: unknown) => this.fail(asError(e)),
        complete: () => void this.end(),
      }),
    );
    try {
      for (;;) {
        const out = await this.take();
        if (out === null) return;
        yield out;
      }
    } finally {
      sub.unsubscribe();
      this.close();
    }
  }

  /** A new track (or new parameters): the running process finishes what it has, then a new one starts. */
  private restart(track: Track): void {
    this.track = track;
    this.chain = this.chain.then(async () => {
      const old = this.session;
      if (old) {
        old.process.endInput();
        await old.reading;
      }
      if (this.closed || this.failure) return;
      try {
        const { feed, args, splitter, state } = this.open(track);
        const process = new FfmpegProcess(this.ffmpeg, args);
        if (process.pid !== undefined) this.pids.push(process.pid);
        const session: Session<S> = { process, feed, splitter, state, pending: [], reading: Promise.resolve() };
        session.reading = this.readLoop(session);
        this.session = session;
        if (feed.header) await process.write(feed.header);
      } catch (e) {
        this.fail(
          e instanceof DecoderError
            ? e
            : new DecoderError(
                `cannot decode track ${track.number} (${track.codecId}): ${(e as Error).message}`,
                { ...this.lastPosition, track: track.number },
                null,
                "",
                { cause: e },
              ),
        );
      }
    });
  }

  private async write(frame: Frame): Promise<void> {
    const s = this.session;
    if (!s || this.closed || this.failure) {
      this.done(1);
      return;
    }
    this.lastPosition = { track: frame.track, fragmentNumber: frame.fragmentNumber, timestampMs: frame.timestampMs };
    s.pending.push(frame);
    try {
      await s.process.write(s.feed.bytes(frame));
    } catch (e) {
      if (this.closed) return;
      const exit = await Promise.race([s.process.waitExit(), new Promise<null>((r) => setTimeout(() => r(null), 500))]);
      this.fail(
        new DecoderError(`could not write to ffmpeg (${(e as Error).message})`, this.lastPosition, exit ? (exit.code ?? exit.signal) : null, s.process.stderr, {
          cause: e,
        }),
      );
    }
  }

  private async readLoop(s: Session<S>): Promise<void> {
    for (;;) {
      // Outputs nobody takes: stop reading, so ffmpeg's output pipe fills and it blocks.
      while (this.queue.length >= this.maxQueued && !this.closed && !this.failure) await new Promise<void>((r) => this.takers.push(r));
      const chunk = await s.process.read();
      if (chunk === null) break;
      let units: Uint8Array[];
      try {
        units = s.splitter.push(chunk);
      } catch (e) {
        this.fail(new DecoderError((e as Error).message, this.lastPosition, null, s.process.stderr, { cause: e }));
        return;
      }
      for (const data of units) this.unit(s, data);
    }
    for (const data of s.splitter.flush()) this.unit(s, data);
    const exit = await s.process.waitExit();
    this.done(s.pending.length); // frames that gave no output
    s.pending.length = 0;
    if (exit.code !== 0 && !this.closed)
      this.fail(new DecoderError(`ffmpeg exited with ${exit.code ?? exit.signal}`, this.lastPosition, exit.code ?? exit.signal, s.process.stderr));
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.session?.process.kill();
    this.account.close();
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
    if (this.closed || this.failure) for (const t of this.takers.splice(0)) t();
  }
}
