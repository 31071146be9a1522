import type { StreamEvent } from "../rx/stream-event.js";
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { Observable, type OperatorFunction, Subject } from "rxjs";
import { concatBytes } from "../ebml/writer.js";
import type { FragmentEvent } from "../kvs/fragment.js";
import { FragmentMerger, layoutOf } from "../kvs/merge.js";
import type { Frame } from "../matroska/frame.js";
import type { Track } from "../matroska/model.js";
import { sameCodecSetup } from "../matroska/codec-setup.js";
import { Demand, type DemandAccount, subscribeHolding } from "../rx/demand.js";
import { FragmentGrouper } from "../rx/fragment-grouper.js";
import { stampsOf } from "./fragment-stamps.js";
import { Mp4Remuxer } from "./mp4.js";
import { durationElement, type RecordingInfo, recordingInfo } from "./segment-info.js";

/** Where a recording's bytes go: appended in order, then closed. */
export interface RecordingSink {
  write(bytes: Uint8Array): Promise<void> | void;
  close(): Promise<void> | void;
}

/** What the name of a recording file is made from. */
export interface RecordingFileInfo {
  readonly index: number;
  readonly format: "mkv" | "mp4";
  /** The first fragment's number and server / producer time (KVS streams), or null. */
  readonly fragmentNumber: string | null;
  readonly serverTimestampMs: number | null;
  readonly producerTimestampMs: number | null;
  /** @deprecated Renamed serverTimestampMs; removed in the next major release. */
  readonly serverTimeMs: number | null;
  /** @deprecated Renamed producerTimestampMs; removed in the next major release. */
  readonly producerTimeMs: number | null;
}

/** A closed recording file. */
export interface RecordingFile extends RecordingFileInfo {
  /** The file's path when written to `dir`; null for a custom sink. */
  readonly path: string | null;
  readonly fragments: number;
  readonly frames: number;
  readonly bytes: number;
  readonly lastFragmentNumber: string | null;
  /** Stream time (ms) of its first and last frame. */
  readonly startMs: number | null;
  readonly endMs: number | null;
}

/** Options of {@link Recorder}. */
export interface RecorderOptions {
  /**
   * "mkv" (default): the fragments merged as they come (the OutputSegmentMerger, memory one fragment;
   * the source must be parsed with `keepBytes: true`). "mp4": remuxed with mediabunny: a plain .mp4 per
   * file in `dir`, fragmented MP4 to a custom sink.
   */
  readonly format?: "mkv" | "mp4";
  /** Directory of the files (made if missing). */
  readonly dir?: string;
  /** A sink per file instead of `dir` (a Node Writable, or an object with write/close: S3 multipart, say). */
  readonly sink?: (file: RecordingFileInfo & { readonly name: string }) => RecordingSink | Writable;
  /** File name (default: `kvs-<fragment number or index>.<format>`). */
  readonly fileName?: (file: RecordingFileInfo) => string;
  /** Start a new file at the next fragment once this much media is in the current one. */
  readonly maxDurationMs?: number;
  /** Start a new file at the next fragment once the current one holds this many bytes. */
  readonly maxBytes?: number;
  /** Pack Cluster timestamps without gaps (the Java merger's packClusters; MKV). */
  readonly packClusters?: boolean;
  /** MKV: keep the stream's timestamps (a file starts at its first frame's stream time); default: each file starts at 0. */
  readonly keepStreamTime?: boolean;
  /** Bytes of fragments waiting to be written before the gate holds the reader (default 16 MiB; one fragment always passes). */
  readonly maxPendingBytes?: number;
  /** Fragments waiting to be written before the gate holds the reader, whatever their bytes (default: no count). */
  readonly maxPendingFragments?: number;
  /** Hold the reader through this Demand, shared with its other sinks (default: one of the recorder's own, its `gate`). */
  readonly demand?: Demand;
}

interface OpenFile {
  readonly info: RecordingFileInfo;
  readonly path: string | null;
  readonly sink: RecordingSink;
  readonly handle: FileHandle | null;
  merger: FragmentMerger | null;
  readonly mp4: Mp4Remuxer | null;
  readonly mp4Parts: Uint8Array[];
  /** Bytes of a plain MP4 on disk so far. */
  readonly mp4Size: { bytes: number };
  readonly tracks: readonly Track[];
  /** Where the 8-byte Segment size is (MKV on disk), to write once the file is whole. */
  segmentSizeAt: number | null;
  /** The Info element written (MKV), and where in the file the room for its Duration is. */
  segmentInfo: RecordingInfo | null;
  durationAt: number | null;
  /** Stream time (ms) where its last frame ends (its duration, or the gap before it). */
  mediaEndMs: number | null;
  parts: number;
  fragments: number;
  frames: number;
  bytes: number;
  lastFragmentNumber: string | null;
  startMs: number | null;
  endMs: number | null;
}

function sinkOf(target: RecordingSink | Writable): RecordingSink {
  if ("close" in target && typeof target.close === "function" && !("writableLength" in target)) return target as RecordingSink;
  const w = target as Writable;
  return {
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (w.write(bytes)) resolve();
        else {
          w.once("drain", resolve);
          w.once("error", reject);
        }
      }),
    close: () => new Promise<void>((resolve, reject) => w.end((e?: Error | null) => (e ? reject(e) : resolve()))),
  };
}

/**
 * Records a live or archived stream to rolling files: every `maxDurationMs` or `maxBytes` a new file
 * starts at the next fragment that begins with a keyframe (KVS fragments do), and a new file starts when
 * the tracks change. Memory: about one fragment. Each file is complete and playable once closed, also when
 * the stream ends mid-way: MKV files have their Segment size written when on disk, and are valid
 * without it (unknown size) on other sinks; MP4 files get their moov, fMP4 needs none.
 * A `fragmentDiscarded` event (a live reader restarting a cut fragment) drops the frames gathered for
 * it, so each frame is recorded once.
 */
export class Recorder {
  /** Hold a reader with this while writes are behind (liveMedia's or parseMkv's `gate`): the bytes of the fragments not yet written. */
  readonly gate: Demand;
  private readonly account: DemandAccount;
  /** Each file as it is closed. */
  readonly files$: Observable<RecordingFile>;
  private readonly files = new Subject<RecordingFile>();
  private readonly closed: RecordingFile[] = [];
  private readonly format: "mkv" | "mp4";
  private file: OpenFile | null = null;
  private index = 0;
  private readonly grouper = new FragmentGrouper({
    onFragment: ({ fragment, frames }) => this.fragmentDone(fragment, frames),
    onVoid: () => this.firstKey.clear(),
  });
  /** Whether each track's first frame in the current fragment is a keyframe. */
  private firstKey = new Map<number, boolean>();
  /** Per track: the last frame's time, its duration and the gap before it (for where the media ends). */
  private readonly tail = new Map<number, { ts: number; durationMs: number | null; gapMs: number | null }>();
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private failure: unknown = null;

  /** A recorder with the given options (`dir` or `sink` is needed). */
  constructor(private readonly options: RecorderOptions) {
    if (!options.dir && !options.sink) throw new TypeError("Recorder needs a dir or a sink");
    this.format = options.format ?? "mkv";
    this.files$ = this.files.asObservable();
    const maxFragments = options.maxPendingFragments === undefined ? Number.POSITIVE_INFINITY : Math.max(1, options.maxPendingFragments);
    this.gate = options.demand ?? new Demand(options.maxPendingBytes ?? 16 * 1024 * 1024);
    this.account = this.gate.account({ drains: () => this.pending > 0, full: () => this.pending >= maxFragments });
  }

  /** Takes the next event of the stream. */
  push(ev: StreamEvent): void {
    if (this.failure !== null) return;
    if (ev.type === "frame") {
      const t = this.tail.get(ev.track);
      const gap = t !== undefined && ev.timestampMs > t.ts ? ev.timestampMs - t.ts : (t?.gapMs ?? null);
      this.tail.set(ev.track, { ts: ev.timestampMs, durationMs: ev.durationMs, gapMs: gap });
      if (!this.firstKey.has(ev.track)) this.firstKey.set(ev.track, ev.keyframe);
    }
    this.grouper.push(ev);
  }

  private fragmentDone(ev: FragmentEvent, frames: readonly Frame[]): void {
    const firstKey = this.firstKey;
    this.firstKey = new Map();
    // No media: an exception the service sent in its place (GetMediaForFragmentList), or a lone tags document.
    if (ev.error !== null || ev.tracks.length === 0) return;
    let mediaEndMs: number | null = null;
    for (const t of this.tail.values()) mediaEndMs = Math.max(mediaEndMs ?? -Infinity, t.ts + (t.durationMs ?? t.gapMs ?? 0));
    const startsWithKeyframe = ev.tracks.every((t) => t.kind !== "video" || firstKey.get(t.number) !== false);
    const bytes = ev.payloadBytes;
    this.pending++;
    this.account.hold(bytes);
    this.chain = this.chain
      .then(() => this.write(ev, this.format === "mp4" ? frames : [], startsWithKeyframe, mediaEndMs))
      .then(
        () => this.written(bytes),
        (e: unknown) => {
          this.failure ??= e;
          this.account.close();
          this.written(bytes);
        },
      );
  }

  /** Ends the recording: the last file is closed; resolves with every file written. Rejects with a write error. */
  async end(): Promise<RecordingFile[]> {
    await this.chain;
    if (this.file) await this.close(this.file).catch((e: unknown) => (this.failure ??= e));
    this.file = null;
    if (this.failure !== null) {
      this.files.error(this.failure);
      throw this.failure;
    }
    this.files.complete();
    return [...this.closed];
  }

  private written(bytes: number): void {
    this.pending--;
    this.account.release(bytes);
  }

  private async write(fragment: FragmentEvent, frames: readonly Frame[], startsWithKeyframe: boolean, mediaEndMs: number | null): Promise<void> {
    const bytes = this.format === "mkv" ? concatBytes(fragment.bytes ?? missingBytes()) : null;
    const docs = bytes ? layoutOf(bytes) : [];
    let f = this.file;
    // A full file is closed at the next fragment that starts on a keyframe, so each file plays from its start.
    const full =
      f !== null &&
      startsWithKeyframe &&
      ((this.options.maxDurationMs !== undefined && f.startMs !== null && f.endMs !== null && f.endMs - f.startMs >= this.options.maxDurationMs) ||
        (this.options.maxBytes !== undefined && f.bytes >= this.options.maxBytes));
    const changed =
      f !== null && (!sameCodecSetup(f.tracks, fragment.tracks) || (f.merger !== null && bytes !== null && docs.some((d) => !f!.merger!.canJoin(bytes, d))));
    if (f && (full || changed)) {
      await this.close(f);
      f = this.file = null;
    }
    const first = frames[0] ?? null;
    f ??= this.file = await this.open(fragment, first);
    f.fragments++;
    f.lastFragmentNumber = fragment.fragmentNumber;
    const times =
      frames.length > 0
        ? frames.map((x) => x.timestampMs)
        : [fragment.firstFrameTimestampMs, fragment.lastFrameTimestampMs].filter((t): t is number => t !== null);
    for (const t of times) {
      f.startMs = f.startMs === null ? t : Math.min(f.startMs, t);
      f.endMs = f.endMs === null ? t : Math.max(f.endMs, t);
    }
    if (mediaEndMs !== null) f.mediaEndMs = Math.max(f.mediaEndMs ?? mediaEndMs, mediaEndMs);
    if (f.merger && bytes) {
      for (const doc of docs) {
        const step = f.merger.write(bytes, doc, f.merger.canJoin(bytes, doc));
        for (const part of step.parts) await this.append(f, part);
      }
      f.frames += fragment.frameCount;
    } else if (f.mp4) {
      const before = f.mp4.skipped;
      await f.mp4.addFragment(frames);
      await this.flushMp4(f);
      f.frames += frames.length - (f.mp4.skipped - before);
    }
  }

  private async flushMp4(f: OpenFile): Promise<void> {
    for (const part of f.mp4Parts.splice(0)) await this.append(f, part);
    if (f.mp4Size.bytes > f.bytes) f.bytes = f.mp4Size.bytes;
  }

  private async append(f: OpenFile, bytes: Uint8Array): Promise<void> {
    await f.sink.write(bytes);
    // The file's second part is its Segment header: with an 8-byte unknown size, it can be made known at close.
    if (f.handle && f.parts++ === 1 && bytes.length === 12 && bytes[0] === 0x18 && bytes[4] === 0x01 && bytes.subarray(5).every((b) => b === 0xff))
      f.segmentSizeAt = f.bytes + 4;
    if (f.handle && f.segmentInfo !== null && bytes === f.segmentInfo.bytes) f.durationAt = f.bytes + f.segmentInfo.durationAt;
    f.bytes += bytes.length;
  }

  private async open(fragment: FragmentEvent, first: Frame | null): Promise<OpenFile> {
    const info: RecordingFileInfo = {
      index: this.index++,
      format: this.format,
      fragmentNumber: fragment.fragmentNumber,
      ...stampsOf(first ?? undefined, fragment),
    };
    const name = this.options.fileName?.(info) ?? `kvs-${info.fragmentNumber ?? String(info.index).padStart(4, "0")}.${this.format}`;
    let path: string | null = null;
    let handle: FileHandle | null = null;
    let sink: RecordingSink;
    let mp4: Mp4Remuxer | null = null;
    /** fMP4 parts the remuxer gave, to append in order after each step. */
    const mp4Parts: Uint8Array[] = [];
    const size = { bytes: 0 };
    if (this.options.sink) {
      sink = sinkOf(this.options.sink({ ...info, name }));
      if (this.format === "mp4")
        mp4 = new Mp4Remuxer(fragment.tracks, { kind: "fragments", onInit: (b) => mp4Parts.push(b), onFragment: (b) => mp4Parts.push(b) });
    } else {
      await mkdir(this.options.dir!, { recursive: true });
      path = join(this.options.dir!, name);
      const h = await open(path, "w");
      handle = h;
      let position = 0;
      sink = {
        write: async (b) => {
          await h.write(b, 0, b.length, position);
          position += b.length;
        },
        close: () => h.close(),
      };
      if (this.format === "mp4") {
        // A plain MP4, written as it goes; its moov at the end and one write back (the mdat size).
        mp4 = new Mp4Remuxer(fragment.tracks, {
          kind: "positional",
          write: async (b, at) => {
            await h.write(b, 0, b.length, at);
            size.bytes = Math.max(size.bytes, at + b.length);
          },
        });
      }
    }
    const file: OpenFile = {
      info,
      path,
      sink,
      handle,
      merger: null,
      mp4,
      mp4Parts,
      mp4Size: size,
      tracks: fragment.tracks,
      segmentSizeAt: null,
      segmentInfo: null,
      durationAt: null,
      mediaEndMs: null,
      parts: 0,
      fragments: 0,
      frames: 0,
      bytes: 0,
      lastFragmentNumber: null,
      startMs: null,
      endMs: null,
    };
    if (this.format === "mkv") {
      file.merger = new FragmentMerger({
        packClusters: this.options.packClusters,
        rebase: this.options.keepStreamTime !== true,
        // The source's Duration is not this file's: room for the real one, written when the file is whole.
        info: (source) => (file.segmentInfo = recordingInfo(source)).bytes,
      });
    }
    return file;
  }

  private async close(f: OpenFile): Promise<void> {
    if (f.mp4) {
      await f.mp4.finalize();
      await this.flushMp4(f);
    }
    if (f.handle && f.segmentSizeAt !== null) {
      // The Segment's unknown size becomes its real size: the file is whole.
      const size = f.bytes - (f.segmentSizeAt + 8);
      const field = new Uint8Array(8);
      field[0] = 0x01;
      for (let k = 7, v = size; k >= 1; k--, v = Math.floor(v / 256)) field[k] = v % 256;
      await f.handle.write(field, 0, 8, f.segmentSizeAt);
    }
    if (f.handle && f.durationAt !== null && f.segmentInfo !== null && f.startMs !== null && f.mediaEndMs !== null) {
      const duration = durationElement(f.mediaEndMs - f.startMs, f.segmentInfo.timestampScale);
      await f.handle.write(duration, 0, duration.length, f.durationAt);
    }
    await f.sink.close();
    const { info, path, fragments, frames, bytes, lastFragmentNumber, startMs, endMs } = f;
    const file: RecordingFile = { ...info, path, fragments, frames, bytes, lastFragmentNumber, startMs, endMs };
    this.closed.push(file);
    this.files.next(file);
  }
}

function missingBytes(): never {
  throw new TypeError("MKV recording needs each fragment's bytes: parse with { keepBytes: true } (parseMkv, liveMedia)");
}

/**
 * Records a stream to rolling files (see {@link Recorder}); emits each file as it closes, completes after
 * the last. Unsubscribing closes the file being written, so it stays playable.
 */
export function record(options: RecorderOptions): OperatorFunction<StreamEvent, RecordingFile> {
  return (source) =>
    new Observable<RecordingFile>((subscriber) => {
      const recorder = new Recorder(options);
      let ended = false;
      const end = () => {
        ended = true;
        return recorder.end();
      };
      const files = recorder.files$.subscribe({ next: (f) => subscriber.next(f), error: () => {} });
      // The reader up the chain is held by the recorder's gate too, unless it has it already.
      const upstream = subscribeHolding(recorder.gate, () =>
        source.subscribe({
          next: (ev) => recorder.push(ev),
          // The files are closed first; then the source's error (or a write error) is passed on.
          error: (e: unknown) =>
            void end().then(
              () => subscriber.error(e),
              () => subscriber.error(e),
            ),
          complete: () =>
            void end().then(
              () => subscriber.complete(),
              (e: unknown) => subscriber.error(e),
            ),
        }),
      );
      return () => {
        upstream.unsubscribe();
        files.unsubscribe();
        if (!ended) void end().catch(() => {});
      };
    });
}
