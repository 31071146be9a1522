import { spawn } from "node:child_process";
import { Observable } from "rxjs";
import { findFfmpeg } from "../decode/ffmpeg.js";
import { KvsParserError } from "../ebml/kvs-parser-error.js";
import { parseMkv } from "../rx/parse-mkv.js";
import type { StreamEvent } from "../rx/stream-event.js";

/** Options of {@link ffmpegMedia}. */
export interface FfmpegMediaOptions {
  /** The ffmpeg binary (default: FFMPEG_PATH, @ffmpeg-installer/ffmpeg, or PATH). */
  readonly ffmpegPath?: string;
  /** Keep audio (encoded to Opus; default true). */
  readonly audio?: boolean;
  /** A keyframe every this many frames (default 50). */
  readonly keyframeInterval?: number;
}

/**
 * An ffmpeg process's media as the parser's events, encoded to what WebRTC carries: H.264 constrained
 * baseline without B-frames (tuned for latency) and Opus at 48 kHz (so AAC sources are sent with their
 * sound). `inputArgs` are ffmpeg's input arguments (`-re -i file.mkv`, `-rtsp_transport tcp -i rtsp://…`,
 * `-f lavfi -i testsrc2`). The process starts on subscribe and is stopped on unsubscribe; a failure
 * errors with ffmpeg's own words.
 */
export function ffmpegMedia(inputArgs: readonly string[], options: FfmpegMediaOptions = {}): Observable<StreamEvent> {
  return new Observable<StreamEvent>((subscriber) => {
    const args = [
      "-hide_banner",
      "-loglevel",
      "error",
      ...inputArgs,
      "-c:v",
      "libx264",
      "-profile:v",
      "baseline",
      "-bf",
      "0",
      "-tune",
      "zerolatency",
      "-g",
      String(options.keyframeInterval ?? 50),
      "-pix_fmt",
      "yuv420p",
      ...((options.audio ?? true) ? ["-c:a", "libopus", "-ar", "48000", "-ac", "2"] : ["-an"]),
      "-f",
      "matroska",
      "pipe:1",
    ];
    const child = spawn(findFfmpeg(options.ffmpegPath), args, { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const failed = (why: string, cause?: unknown) =>
      new KvsParserError("FFMPEG_FAILED", `ffmpeg ${args.join(" ")}: ${why}${stderr.trim() ? `: ${stderr.trim()}` : ""}`, {
        cause,
        action: "check ffmpeg's input arguments",
      });
    child.once("error", (e) => subscriber.error(failed("could not start", e)));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    const sub = parseMkv(child.stdout).subscribe({
      next: (ev) => subscriber.next(ev),
      error: (e: unknown) => subscriber.error(failed("its output did not parse", e)),
      complete: () => {
        void exited.then((code) => {
          if (code !== 0 && code !== null) subscriber.error(failed(`exited with code ${code}`));
          else subscriber.complete();
        });
      },
    });
    return () => {
      sub.unsubscribe();
      if (child.exitCode === null) child.kill("SIGTERM");
    };
  });
}
