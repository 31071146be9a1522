import type { StreamEvent } from "../rx/stream-event.js";
import type { OperatorFunction } from "rxjs";
import type { Frame } from "../matroska/frame.js";
import type { Track } from "../matroska/model.js";
import { DecoderError } from "./ffmpeg.js";
import { jpegSplitter, pngSplitter, rawSplitter } from "./output-split.js";
import { feedFor, ffmpegInputArgs, TrackDecoder, type Session, type TrackDecoderOptions } from "./track-decoder.js";

/** What images come out as: encoded (JPEG, PNG) or raw pixels (rgb24, rgba, gray: row by row, no padding). */
export type ImageFormat = "jpeg" | "png" | "rgb24" | "rgba" | "gray";

/** Options of {@link ImageDecoder} and {@link images}. */
export interface ImageOptions extends TrackDecoderOptions {
  /** Default "jpeg". */
  readonly format?: ImageFormat;
  /** Scale to this width (and/or height; one alone keeps the aspect ratio). */
  readonly width?: number;
  readonly height?: number;
  /** Decode only keyframes (each decodes on its own): one decode per GOP, for thumbnails. */
  readonly keyframesOnly?: boolean;
  /** JPEG quality 1-100 (default 85). */
  readonly quality?: number;
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
  readonly producerTimestampMs: number | null;
  readonly serverTimestampMs: number | null;
  /** @deprecated Renamed producerTimestampMs; removed in the next major release. */
  readonly producerTimeMs: number | null;
  /** @deprecated Renamed serverTimestampMs; removed in the next major release. */
  readonly serverTimeMs: number | null;
  readonly fragmentNumber: string | null;
  readonly keyframe: boolean;
}

const BYTES_PER_PIXEL: Partial<Record<ImageFormat, number>> = { rgb24: 3, rgba: 4, gray: 1 };

/** Width and height of a JPEG (SOFn) or PNG (IHDR) image; null when it cannot tell. */
function encodedSize(data: Uint8Array, format: ImageFormat): { width: number; height: number } | null {
  if (format === "png" && data.length >= 24) {
    const v = new DataView(data.buffer, data.byteOffset, data.length);
    return { width: v.getUint32(16), height: v.getUint32(20) };
  }
  if (format === "jpeg") {
    let p = 2;
    while (p + 9 < data.length && data[p] === 0xff) {
      const marker = data[p + 1]!;
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: (data[p + 5]! << 8) | data[p + 6]!, width: (data[p + 7]! << 8) | data[p + 8]! };
      }
      p += 2 + ((data[p + 2]! << 8) | data[p + 3]!);
    }
  }
  return null;
}

/**
 * Decodes one video track to images with a long-lived ffmpeg process (one per track, never one per
 * image): frames go in on stdin (Annex-B for H.264/H.265, Matroska for VP8/VP9/AV1), images come out on
 * stdout (image2pipe or rawvideo, scaled by ffmpeg), each matched to its frame's times: images come in
 * presentation order, so each takes the earliest frame still pending. Keyframes-only mode sends only
 * keyframes (each decodes alone, out at once). See {@link TrackDecoder} for backpressure and restarts.
 */
export class ImageDecoder extends TrackDecoder<DecodedImage, { size: { width: number; height: number } | null }> {
  private readonly format: ImageFormat;

  /** A decoder for the options' track (default: the first video track of the stream). */
  constructor(private readonly options: ImageOptions = {}) {
    super(options);
    this.format = options.format ?? "jpeg";
  }

  /** The operator form: frames (and tracks) in, images out. */
  images(): OperatorFunction<StreamEvent, DecodedImage> {
    return this.operator();
  }

  /**
   * The keyframes of one fragment as images, for a consume() handler (keyframes-only decoders: each
   * keyframe decodes alone and comes out at once). The decoder process lives on between calls.
   */
  async keyframeImages(item: { readonly fragment: { readonly tracks: readonly Track[] }; readonly frames: readonly Frame[] }): Promise<DecodedImage[]> {
    if (!this.options.keyframesOnly) throw new TypeError("keyframeImages() needs an ImageDecoder with keyframesOnly: true");
    this.push({ type: "tracks", offset: 0, tracks: item.fragment.tracks });
    const keys = item.frames.filter((f) => f.keyframe && this.isDecoded(f));
    for (const f of keys) this.push(f);
    const out: DecodedImage[] = [];
    for (let i = 0; i < keys.length; i++) {
      const img = await this.take();
      if (img === null) break;
      out.push(img);
    }
    return out;
  }

  protected override pickTrack(tracks: readonly Track[]): Track | undefined {
    return tracks.find((t) => t.kind === "video");
  }

  protected override accepts(frame: Frame): boolean {
    return !this.options.keyframesOnly || frame.keyframe;
  }

  protected override open(track: Track) {
    const feed = feedFor(track, true);
    const size = this.outputSize(track);
    const q = Math.round(2 + ((100 - Math.max(1, Math.min(100, this.options.quality ?? 85))) / 99) * 29);
    const output =
      this.format === "jpeg"
        ? ["-f", "image2pipe", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-qmin", String(q), "-qmax", String(q)] // (-q:v holds the image back until the next one)
        : this.format === "png"
          ? ["-f", "image2pipe", "-c:v", "png", "-threads", "1"] // (the PNG encoder's frame threads hold each image back until more come)
          : ["-f", "rawvideo", "-pix_fmt", this.format];
    const args = [
      ...ffmpegInputArgs(feed, this.options.keyframesOnly ? ["-flags", "low_delay"] : []),
      "-an",
      "-sn",
      "-vsync",
      "0",
      ...(size ? ["-vf", `scale=${size.width}:${size.height}`] : []),
      ...output,
      "pipe:1",
    ];
    const splitter =
      this.format === "jpeg" ? jpegSplitter() : this.format === "png" ? pngSplitter() : rawSplitter(size!.width * size!.height * BYTES_PER_PIXEL[this.format]!);
    return { feed, args, splitter, state: { size } };
  }

  protected override unit(s: Session<{ size: { width: number; height: number } | null }>, data: Uint8Array): void {
    const pending = s.pending;
    if (pending.length === 0) return; // an image with no frame left to match
    let k = 0;
    for (let i = 1; i < pending.length; i++) if (pending[i]!.timestampMs < pending[k]!.timestampMs) k = i;
    const f = pending.splice(k, 1)[0]!;
    this.done(1);
    const size = s.state.size ?? encodedSize(data, this.format) ?? { width: 0, height: 0 };
    this.produce({
      type: "image",
      track: f.track,
      format: this.format,
      width: size.width,
      height: size.height,
      data,
      timestampMs: f.timestampMs,
      producerTimestampMs: f.producerTimestampMs,
      serverTimestampMs: f.serverTimestampMs,
      producerTimeMs: f.producerTimestampMs,
      serverTimeMs: f.serverTimestampMs,
      fragmentNumber: f.fragmentNumber,
      keyframe: f.keyframe,
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
      if (!w0 || !h0)
        throw new DecoderError(
          `raw ${this.format} images need the frame size: give width and height`,
          { track: track.number, fragmentNumber: null, timestampMs: null },
          null,
          "",
        );
      return { width: w0, height: h0 };
    }
    return null;
  }
}

/**
 * Decodes a track's frames to images (see {@link ImageDecoder}); unsubscribing kills the decoder process.
 * It holds the reader up its chain while ffmpeg is behind, but RxJS has no backpressure from below: a slow
 * async step after it (concatMap) queues the images it is given; a slow consumer pulls with
 * `new ImageDecoder(options).iterate(source)` instead, and memory stays flat.
 */
export function images(options: ImageOptions = {}): OperatorFunction<StreamEvent, DecodedImage> {
  return (source) => new ImageDecoder(options).images()(source);
}
