import { execFileSync } from "node:child_process";
import { findFfmpeg } from "../../src/decode/ffmpeg.js";

/** The ffmpeg the tests run: @ffmpeg-installer/ffmpeg's (a devDependency), found like the library finds it. */
export const ffmpegPath = findFfmpeg();

/** Runs ffmpeg on `input` (bytes on stdin, or a file path given in args) and returns its stdout. */
export function ffmpeg(args: readonly string[], input?: Uint8Array): Buffer {
  return execFileSync(ffmpegPath, ["-hide_banner", "-loglevel", "error", ...args], { input, maxBuffer: 1 << 30 });
}

/** ffmpeg's per-frame CRCs (framecrc) of a stream's first video stream, as "pts,size,crc" lines without the stream index. */
export function frameCrcs(args: readonly string[], input?: Uint8Array): string[] {
  return ffmpeg([...args, "-map", "0:v:0", "-vsync", "0", "-f", "framecrc", "-"], input)
    .toString()
    .split("\n")
    .filter((l) => /^0,/.test(l))
    .map((l) => l.split(",").map((x) => x.trim()))
    .map((f) => `${f[4]},${f[5]}`);
}
