import type { StreamEvent } from "../rx/stream-event.js";
import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import type { Observable } from "rxjs";
import { aacConfigFromCodecId, aacToAdts, parseAacConfig, type AacConfig } from "../codec/adts.js";
import { pcmFormatOf, pcmToWavOrder, wavHeader, type PcmFormat } from "../codec/wav.js";
import type { Track } from "../matroska/model.js";

/** A file {@link writeAudioFiles} wrote. */
export interface AudioFile {
  readonly track: number;
  /** The track's Name (e.g. AUDIO_FROM_CUSTOMER), or null. */
  readonly name: string | null;
  readonly path: string;
  readonly container: "wav" | "adts";
  readonly frames: number;
  /** Bytes of audio payload (PCM data, or AAC frames without their ADTS headers). */
  readonly bytes: number;
}

/** Options of {@link writeAudioFiles}. */
export interface AudioFileOptions {
  /** Directory the files go to (must exist). */
  readonly dir: string;
  /** Which audio tracks to write (default: all PCM and AAC tracks). */
  readonly tracks?: (track: Track) => boolean;
  /** File name without extension (default: the track's Name, else `track-N`). */
  readonly fileName?: (track: Track) => string;
}

interface Writer {
  readonly file: AudioFile & { frames: number; bytes: number };
  readonly handle: FileHandle;
  readonly format: PcmFormat | null;
  readonly aac: AacConfig | null;
  readonly track: Track;
  position: number;
  chain: Promise<void>;
}

/**
 * Writes audio tracks to files as the stream arrives: PCM tracks (A_PCM/…) as WAV, AAC as ADTS. Files are
 * appended to as frames come (a live call is on disk while it goes on), each WAV header is rewritten
 * with the sizes so far after every fragment, and finally when the stream ends. Resolves with the files
 * once the source completes; rejects with its error (files are closed, valid up to the last fragment).
 */
export function writeAudioFiles(source: Observable<StreamEvent>, options: AudioFileOptions): Promise<AudioFile[]> {
  const writers = new Map<number, Writer>();
  const opening = new Map<number, Promise<Writer | null>>();
  const select = options.tracks ?? ((t: Track) => pcmFormatOf(t) !== null || t.codecId.startsWith("A_AAC"));
  const name = options.fileName ?? ((t: Track) => (t.name ? t.name.replace(/[^\w.-]+/g, "_") : `track-${t.number}`));
  let failure: unknown = null;
  let chain: Promise<void> = Promise.resolve();

  const openWriter = async (t: Track): Promise<Writer | null> => {
    const format = pcmFormatOf(t);
    const aac =
      format === null && t.codecId.startsWith("A_AAC")
        ? t.codecPrivate
          ? parseAacConfig(t.codecPrivate)
          : aacConfigFromCodecId(t.codecId, t.audio?.samplingFrequency ?? 0, t.audio?.channels ?? 0)
        : null;
    if (format === null && aac === null) return null;
    const path = join(options.dir, `${name(t)}.${format ? "wav" : "aac"}`);
    const handle = await open(path, "w");
    const w: Writer = {
      file: { track: t.number, name: t.name, path, container: format ? "wav" : "adts", frames: 0, bytes: 0 },
      handle,
      format,
      aac,
      track: t,
      position: 0,
      chain: Promise.resolve(),
    };
    if (format) {
      await handle.write(wavHeader(format, 0), 0, 44, 0);
      w.position = 44;
    }
    return w;
  };
  const writeHeader = async (w: Writer) => {
    if (w.format) await w.handle.write(wavHeader(w.format, w.file.bytes), 0, 44, 0);
  };

  return new Promise<AudioFile[]>((resolve, reject) => {
    const finish = async () => {
      await chain;
      for (const w of writers.values()) {
        await writeHeader(w);
        await w.handle.close();
      }
      if (failure !== null) reject(failure);
      else resolve([...writers.values()].map((w) => ({ ...w.file })));
    };
    source.subscribe({
      next: (ev) => {
        if (ev.type === "tracks") {
          for (const t of ev.tracks) {
            if (t.kind !== "audio" || writers.has(t.number) || opening.has(t.number) || !select(t)) continue;
            const p = openWriter(t);
            opening.set(t.number, p);
            chain = chain.then(async () => {
              const w = await p;
              if (w) writers.set(t.number, w);
            });
          }
        } else if (ev.type === "frame") {
          if (!opening.has(ev.track)) return;
          const data = ev.copy().data; // the chunk it views may be gone by the time the write runs
          chain = chain.then(async () => {
            const w = writers.get(ev.track);
            if (!w) return;
            const bytes = w.format ? pcmToWavOrder(data, w.track) : aacToAdts(data, w.aac!);
            await w.handle.write(bytes, 0, bytes.length, w.position);
            w.position += bytes.length;
            w.file.frames++;
            w.file.bytes += w.format ? bytes.length : data.length;
          });
        } else if (ev.type === "fragment") {
          chain = chain.then(async () => {
            for (const w of writers.values()) await writeHeader(w);
          });
        }
      },
      error: (e: unknown) => {
        failure = e;
        void finish();
      },
      complete: () => void finish(),
    });
  });
}

/**
 * An Amazon Connect call (live media streaming): its AUDIO_FROM_CUSTOMER and AUDIO_TO_CUSTOMER tracks
 * to one WAV each in `dir`, written while the call goes on and finalised when it ends.
 */
export function connectCallToWav(source: Observable<StreamEvent>, dir: string): Promise<AudioFile[]> {
  return writeAudioFiles(source, { dir, tracks: (t) => t.name === "AUDIO_FROM_CUSTOMER" || t.name === "AUDIO_TO_CUSTOMER" });
}
