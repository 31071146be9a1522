import { spawn } from "node:child_process";
import { findFfmpeg } from "../decode/ffmpeg.js";
import { PutMediaError } from "./acks.js";
import { mkvSource, type MkvSourceOptions } from "./mkv-source.js";
import type { PutMediaSource } from "./put-media.js";

/** Options of {@link ffmpegSource}. */
export interface FfmpegSourceOptions extends Omit<MkvSourceOptions, "realtime"> {
  /** The ffmpeg binary (default: FFMPEG_PATH, @ffmpeg-installer/ffmpeg, or PATH). */
  readonly ffmpegPath?: string;
  /** Stops ffmpeg (the upload then ends with what was made). */
  readonly signal?: AbortSignal;
}

/**
 * An upload of a live ffmpeg process: `inputArgs` are ffmpeg's arguments before its output (a camera
 * URL, a v4l2 device, `-re -f lavfi -i testsrc`, with encoder options if the input needs encoding);
 * without a codec option `-c copy` is added. ffmpeg writes Matroska on its stdout, re-fragmented as it
 * comes. Its stderr is kept for the error should it fail. Pair with `onBufferFull: "dropOldest"`: a
 * live source cannot wait.
 */
export function ffmpegSource(inputArgs: readonly string[], options: FfmpegSourceOptions = {}): PutMediaSource & { readonly exited: Promise<number | null> } {
  const codec = inputArgs.some((a) => /^-(c|codec|vcodec|acodec)(:|$)/.test(a));
  const args = ["-hide_banner", "-loglevel", "error", ...inputArgs, ...(codec ? [] : ["-c", "copy"]), "-f", "matroska", "pipe:1"];
  const child = spawn(findFfmpeg(options.ffmpegPath), args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stopChild = () => child.kill("SIGTERM");
  options.signal?.addEventListener("abort", stopChild, { once: true });
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      options.signal?.removeEventListener("abort", stopChild);
      resolve(code);
    }),
  );
  const inner = mkvSource(child.stdout, options);
  return {
    header: inner.header,
    exited,
    fragments: (async function* () {
      try {
        yield* inner.fragments;
      } catch (e) {
        throw new PutMediaError("SOURCE_FAILED", `ffmpeg ${args.join(" ")} failed: ${stderr.trim() || (e as Error).message}`, {
          retryable: false,
          action: "check ffmpeg's arguments and its input",
          cause: e,
        });
      } finally {
        child.kill("SIGTERM");
      }
      const code = await exited;
      if (code !== 0 && code !== null && !options.signal?.aborted)
        throw new PutMediaError("SOURCE_FAILED", `ffmpeg exited with code ${code}: ${stderr.trim()}`, {
          retryable: false,
          action: "check ffmpeg's arguments and its input",
        });
    })(),
  };
}
