import { Observable, type OperatorFunction, type Subscription } from "rxjs";
import type { ReadGate } from "../rx/read-gate.js";
import { avccToAnnexB, parseAvcDecoderConfig, type AvcDecoderConfig } from "../codec/h264.js";
import { hvccToAnnexB, parseHevcDecoderConfig, type HevcDecoderConfig } from "../codec/h265.js";
import type { FragmentDiscardedEvent } from "../kvs/fragment.js";
import type { KvsEvent } from "../kvs/parser.js";
import type { Frame } from "../matroska/frame.js";
import type { Track } from "../matroska/model.js";
import { DecoderError, FfmpegProcess, findFfmpeg, type StreamPosition } from "./ffmpeg.js";
import { mkvFeedFrame, mkvFeedHeader } from "./mkv-feed.js";
import { jpegSplitter, pngSplitter, rawSplitter, type OutputSplitter } from "./output-split.js";

/** What images come out as: encoded (JPEG, PNG) or raw pixels (rgb24, rgba, gray: row by row, no padding). */
export type ImageFormat = "jpeg" | "png" | "rgb24" | "rgba" | "gray";

/** Options of {@link ImageDecoder} and {@link images}. */
export interface ImageOptions {
  /** Default "jpeg". */
  readonly format?: ImageFormat;
  /** Scale to this width (and/or height; one alone keeps the aspect ratio). */
  readonly width?: number;
  readonly height?: number;
  /** Decode only keyframes (each decodes on its own): one decode per GOP, for thumbnails. */
  readonly keyframesOnly?: boolean;
  /** JPEG quality 1-100 (default 85). */
  readonly quality?: number;
  /** The video track to decode (default: the first video track). */
  readonly track?: number;
  /** The ffmpeg binary (else FFMPEG_PATH, @ffmpeg-installer/ffmpeg, PATH). */
  readonly ffmpegPath?: string;
  /** Frames given to ffmpeg and not yet out as images before the gate holds the reader (default 32). */
  readonly maxPendingFrames?: number;
  /** Decoded images not yet taken before ffmpeg's output is paused (default 8). */
  readonly maxQueuedImages?: number;
}

/** One decoded picture, with the time and place of the frame it came from. */
export interface DecodedImage {
  readonly type: "image";
  readonly track: number;
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  /** The encoded image (JPEG, PNG) or its pixels. */
  readonly data: Uint8Array;
  /** The frame's presentation time (ms, stream timeline). */
  readonly timestampMs: number;
  /** The frame's producer and server times (KVS streams; null otherwise). */
  readonly producerTimeMs: number | null;
  readonly serverTimeMs: number | null;
  readonly fragmentNumber: string | null;
  readonly keyframe: boolean;
}

const BYTES_PER_PIXEL: Partial<Record<ImageFormat, number>> = { rgb24: 3, rgba: 4, gray: 1 };

/** How frames of a codec go to ffmpeg: Annex-B for H.264/H.265, a one-track Matroska stream for the rest. */
interface Feed {
  readonly ffmpegInput: readonly string[];
  readonly header: Uint8Array | null;
  bytes(frame: Frame): Uint8Array;
}

function feedFor(track: Track): Feed {
  if (track.codecId === "V_MPEG4/ISO/AVC" && track.codecPrivate) {
    const config: AvcDecoderConfig = parseAvcDecoderConfig(track.codecPrivate);
    return { ffmpegInput: ["-f", "h264"], header: null, bytes: (f) => avccToAnnexB(f.data, config) };
  }
  if (track.codecId === "V_MPEGH/ISO/HEVC" && track.codecPrivate) {
    const config: HevcDecoderConfig = parseHevcDecoderConfig(track.codecPrivate);
    return { ffmpegInput: ["-f", "hevc"], header: null, bytes: (f) => hvccToAnnexB(f.data, config) };
  }
  let base: number | null = null;
  return {
    ffmpegInput: ["-f", "matroska"],
    header: mkvFeedHeader(track),
    bytes: (f) => {
      base ??= f.timestampMs - 10_000;
      return mkvFeedFrame(f.data, f.timestampMs - base, f.keyframe);
    },
  };
}

/** Width and height of a JPEG (SOFn) or PNG (IHDR) image; null when it cannot tell. */
function encodedSize(data: Uint8Array, format: ImageFormat): { width: number; height: number } | null {
  if (format === "png" && data.length >= 24)
    return {
      width: (data[16]! << 24) | (data[17]! << 16) | (data[18]! << 8) | data[19]!,
      height: (data[20]! << 24) | (data[21]! << 16) | (data[22]! << 8) | data[23]!,
    };
  if (format === "jpeg") {
    let p = 2;
    while (p + 9 < data.length && data[p] === 0xff) {
      const marker = data[p + 1]!;
      const size = (data[p + 2]! << 8) | data[p + 3]!;
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: (data[p + 5]! << 8) | data[p + 6]!, width: (data[p + 7]! << 8) | data[p + 8]! };
      }
      p += 2 + size;
    }
  }
  return null;
}

/** One ffmpeg process and the frames it was given that have not come out yet. */
interface Session {
  readonly process: FfmpegProcess;
  readonly feed: Feed;
  readonly splitter: OutputSplitter;
  readonly size: { width: number; height: number } | null;
  readonly pending: Frame[];
  reading: Promise<void>;
}

/**
 * Decodes one video track to images with a long-lived ffmpeg process (one per track, never one per
 * image): frames go in on stdin (Annex-B for H.264/H.265, Matroska for VP8/VP9/AV1), images come out on
 * stdout (image2pipe or rawvideo, scaled by ffmpeg), each matched to its frame's times. A new
 * CodecPrivate (a producer restart) restarts the process with the new parameters.
 *
 * Backpressure: {@link gate} holds a reader (parseMkv, liveMedia) while ffmpeg is behind; images that
 * nobody takes pause ffmpeg's output, so ffmpeg blocks instead of memory growing. Without a gate, frames
 * beyond `maxPendingFrames` × 2 are dropped up to the next keyframe (counted in {@link dropped}).
 */
export class ImageDecoder {
  /** Hold a reader with this while ffmpeg is behind (pass it as parseMkv's or liveMedia's `gate`). */
  readonly gate: ReadGate;
  /** Frames dropped because nobody held the reader back. */
  dropped = 0;
  /** Process ids of the decoders that ran (for tests: each one is gone after close). */
  readonly pids: number[] = [];
  private readonly format: ImageFormat;
  private readonly ffmpeg: string;
  private readonly maxPending: number;
  private readonly maxQueued: number;
  private trackNumber: number | null;
  private track: Track | null = null;
  private session: Session | null = null;
  /** Frames accepted and not out as images yet (written, or waiting to be). */
  private inFlight = 0;
  private readonly queue: DecodedImage[] = [];
  private failure: Error | null = null;
  private closed = false;
  private chain: Promise<void> = Promise.resolve();
  private dropping = false;
  private readonly skip = new Map<string, number>();
  private readonly seen = new Map<string, number>();
  private lastPosition: StreamPosition = { track: 0, fragmentNumber: null, timestampMs: null };
  private waiters: (() => void)[] = [];
  private takers: (() => void)[] = [];
  private space: { promise: Promise<void>; resolve: () => void } | null = null;

  /** A decoder for the options' track (default: the first video track of the stream). */
  constructor(private readonly options: ImageOptions = {}) {
    this.format = options.format ?? "jpeg";
    this.ffmpeg = findFfmpeg(options.ffmpegPath);
    this.maxPending = Math.max(2, options.maxPendingFrames ?? 32);
    this.maxQueued = Math.max(1, options.maxQueuedImages ?? 8);
    this.trackNumber = options.track ?? null;
    this.gate = {
      wait: () => {
        if (this.inFlight < this.maxPending && this.queue.length < this.maxQueued) return null;
        if (this.failure || this.closed) return null;
        if (!this.space) {
          let resolve!: () => void;
          const promise = new Promise<void>((r) => (resolve = r));
          this.space = { promise, resolve };
        }
        return this.space.promise;
      },
    };
  }

  /** Takes the next event of the stream (tracks, frames, discard markers); other events are ignored. */
  push(ev: KvsEvent | FragmentDiscardedEvent): void {
    if (this.closed || this.failure) return;
    switch (ev.type) {
      case "tracks": {
        const pick = this.trackNumber !== null ? ev.tracks.find((t) => t.number === this.trackNumber) : ev.tracks.find((t) => t.kind === "video");
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
    if (this.options.keyframesOnly && !ev.keyframe) return;
    // Nobody holds the reader back and ffmpeg is far behind: drop up to a keyframe (decoding restarts clean there).
    if (this.inFlight >= 2 * this.maxPending) this.dropping = true;
    if (this.dropping) {
      if (!(ev.keyframe && this.inFlight < this.maxPending)) {
        this.dropped++;
        return;
      }
      this.dropping = false;
    }
    this.inFlight++;
    const frame = ev;
    this.chain = this.chain.then(() => this.write(frame));
  }

  /** Ends the input: resolves once every image of the frames given is out (then take() returns null). */
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

  /** Stops at once: kills the decoder process; pending images are dropped. */
  close(): void {
    this.closed = true;
    this.session?.process.kill();
    this.space?.resolve();
    this.wake();
  }

  /** The next decoded image; null once ended (or closed). Throws DecoderError when the decoder failed. */
  async take(): Promise<DecodedImage | null> {
    for (;;) {
      const img = this.queue.shift();
      if (img) {
        this.release();
        for (const t of this.takers.splice(0)) t();
        return img;
      }
      if (this.failure) throw this.failure;
      if (this.closed) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** An operator: frames (and tracks) in, images out; unsubscribing kills the decoder process. */
  images(): OperatorFunction<KvsEvent | FragmentDiscardedEvent, DecodedImage> {
    return (source) =>
      new Observable<DecodedImage>((subscriber) => {
        void (async () => {
          for (;;) {
            const img = await this.take();
            if (img === null) break;
            subscriber.next(img);
          }
        })().then(
          () => subscriber.complete(),
          (e: unknown) => subscriber.error(e),
        );
        const upstream = source.subscribe({
          next: (ev) => this.push(ev),
          error: (e: unknown) => {
            this.close();
            subscriber.error(e);
          },
          complete: () => void this.end(),
        });
        return () => {
          upstream.unsubscribe();
          this.close();
        };
      });
  }

  /**
   * Pulls images with backpressure: `for await (const image of decoder.iterate(parseMkv(file, { gate: decoder.gate })))`.
   * Breaking out of the loop kills the decoder process.
   */
  async *iterate(source: Observable<KvsEvent | FragmentDiscardedEvent>): AsyncGenerator<DecodedImage> {
    const sub = source.subscribe({
      next: (ev) => this.push(ev),
      error: (e: unknown) => this.fail(e instanceof Error ? e : new Error(String(e))),
      complete: () => void this.end(),
    });
    try {
      for (;;) {
        const img = await this.take();
        if (img === null) return;
        yield img;
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
        const feed = feedFor(track);
        const size = this.outputSize(track);
        const process = new FfmpegProcess(this.ffmpeg, this.args(feed, size));
        if (process.pid !== undefined) this.pids.push(process.pid);
        const splitter =
          this.format === "jpeg"
            ? jpegSplitter()
            : this.format === "png"
              ? pngSplitter()
              : rawSplitter(size!.width * size!.height * BYTES_PER_PIXEL[this.format]!);
        const session: Session = { process, feed, splitter, size, pending: [], reading: Promise.resolve() };
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

  private outputSize(track: Track): { width: number; height: number } | null {
    const w0 = track.video?.pixelWidth ?? null;
    const h0 = track.video?.pixelHeight ?? null;
    const { width, height } = this.options;
    const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
    if (width && height) return { width, height };
    if (width && w0 && h0) return { width, height: even((width * h0) / w0) };
    if (height && w0 && h0) return { width: even((height * w0) / h0), height };
    if (BYTES_PER_PIXEL[this.format] !== undefined) {
      if (!w0 || !h0) throw new DecoderError(`raw ${this.format} images need the frame size: give width and height`, this.lastPosition, null, "");
      return { width: w0, height: h0 };
    }
    return null;
  }

  private args(feed: Feed, size: { width: number; height: number } | null): string[] {
    const q = Math.round(2 + ((100 - Math.max(1, Math.min(100, this.options.quality ?? 85))) / 99) * 29);
    const output =
      this.format === "jpeg"
        ? ["-f", "image2pipe", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", String(q)]
        : this.format === "png"
          ? ["-f", "image2pipe", "-c:v", "png"]
          : ["-f", "rawvideo", "-pix_fmt", this.format];
    return [
      "-hide_banner",
      "-loglevel",
      "error",
      "-nostats",
      ...(this.options.keyframesOnly ? ["-flags", "low_delay"] : []),
      // Start decoding at once: the codec parameters are in the stream's first bytes (Annex-B) or track header (Matroska).
      "-probesize",
      "32",
      "-analyzeduration",
      "0",
      ...feed.ffmpegInput,
      "-i",
      "pipe:0",
      "-an",
      "-sn",
      "-vsync",
      "0",
      ...(size ? ["-vf", `scale=${size.width}:${size.height}`] : []),
      ...output,
      "pipe:1",
    ];
  }

  private async write(frame: Frame): Promise<void> {
    const s = this.session;
    if (!s || this.closed || this.failure) {
      this.inFlight--;
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

  private async readLoop(s: Session): Promise<void> {
    for (;;) {
      // Images nobody takes: stop reading, so ffmpeg's output pipe fills and it blocks.
      while (this.queue.length >= this.maxQueued && !this.closed && !this.failure) await new Promise<void>((r) => this.takers.push(r));
      const chunk = await s.process.read();
      if (chunk === null) break;
      let units: Uint8Array[];
      try {
        units = s.splitter.push(chunk);
      } catch (e) {
        this.fail(new DecoderError((e as Error).message, this.lastPosition, null, s.process.stderr));
        return;
      }
      for (const data of units) this.emit(s, data);
    }
    const exit = await s.process.waitExit();
    this.inFlight -= s.pending.length; // frames that gave no image
    s.pending.length = 0;
    if (exit.code !== 0 && !this.closed)
      this.fail(new DecoderError(`ffmpeg exited with ${exit.code ?? exit.signal}`, this.lastPosition, exit.code ?? exit.signal, s.process.stderr));
  }

  /** Matches an output image to its frame: images come in presentation order, so the earliest pending frame. */
  private emit(s: Session, data: Uint8Array): void {
    const pending = s.pending;
    if (pending.length === 0) return; // an image with no frame left to match
    let k = 0;
    for (let i = 1; i < pending.length; i++) if (pending[i]!.timestampMs < pending[k]!.timestampMs) k = i;
    const f = pending.splice(k, 1)[0]!;
    this.inFlight--;
    const size = s.size ?? encodedSize(data, this.format) ?? { width: 0, height: 0 };
    this.queue.push({
      type: "image",
      track: f.track,
      format: this.format,
      width: size.width,
      height: size.height,
      data,
      timestampMs: f.timestampMs,
      producerTimeMs: f.producerTimeMs,
      serverTimeMs: f.serverTimeMs,
      fragmentNumber: f.fragmentNumber,
      keyframe: f.keyframe,
    });
    this.release();
    this.wake();
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.session?.process.kill();
    this.space?.resolve();
    this.wake();
  }

  private release(): void {
    if (this.inFlight < this.maxPending && this.queue.length < this.maxQueued) {
      const s = this.space;
      this.space = null;
      s?.resolve();
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
    if (this.closed || this.failure) for (const t of this.takers.splice(0)) t();
  }
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Decodes a track's frames to images (see {@link ImageDecoder}); unsubscribing kills the decoder process. */
export function images(options: ImageOptions = {}): OperatorFunction<KvsEvent | FragmentDiscardedEvent, DecodedImage> {
  return (source) => new ImageDecoder(options).images()(source);
}
