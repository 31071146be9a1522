import { type ChildProcessByStdio, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { KvsParserError } from "../ebml/kvs-parser-error.js";

/** No ffmpeg binary was found in any of the four places kvs-parser looks. */
export class FfmpegNotFoundError extends KvsParserError {
  override readonly name = "FfmpegNotFoundError";
  /** Always "FFMPEG_NOT_FOUND". */
  declare readonly code: "FFMPEG_NOT_FOUND";
  /** Names the places looked in (`tried`). */
  constructor(tried: readonly string[]) {
    super(
      "FFMPEG_NOT_FOUND",
      `no ffmpeg binary found. Give one in any of these ways: the ffmpegPath option; the FFMPEG_PATH environment variable; ` +
        `npm install @ffmpeg-installer/ffmpeg (its binary is used when installed); or an ffmpeg on PATH (apt-get install ffmpeg). Tried: ${tried.join("; ")}`,
      { action: "give the ffmpegPath option, set FFMPEG_PATH, npm install @ffmpeg-installer/ffmpeg, or put ffmpeg on PATH" },
    );
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The ffmpeg to run: the `explicit` path, else FFMPEG_PATH, else the optional @ffmpeg-installer/ffmpeg
 * package's binary if installed, else `ffmpeg` on PATH; throws {@link FfmpegNotFoundError} naming all four.
 */
export function findFfmpeg(explicit?: string): string {
  const tried: string[] = [];
  if (explicit) {
    if (executable(explicit)) return explicit;
    tried.push(`ffmpegPath option ${explicit}`);
  } else tried.push("ffmpegPath option (not given)");
  const env = process.env.FFMPEG_PATH;
  if (env) {
    if (executable(env)) return env;
    tried.push(`FFMPEG_PATH ${env}`);
  } else tried.push("FFMPEG_PATH (not set)");
  try {
    const installer = createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path?: string };
    if (installer.path && executable(installer.path)) return installer.path;
    tried.push(`@ffmpeg-installer/ffmpeg ${installer.path ?? "(no path)"}`);
  } catch {
    tried.push("@ffmpeg-installer/ffmpeg (not installed)");
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "ffmpeg");
    if (dir && executable(candidate)) return candidate;
  }
  tried.push("ffmpeg on PATH (none)");
  throw new FfmpegNotFoundError(tried);
}

/** Where in the stream a decoder failed: the last frame it was given. */
export interface StreamPosition {
  readonly track: number;
  readonly fragmentNumber: string | null;
  readonly timestampMs: number | null;
}

/** The decoder process failed (it exited, crashed or could not be written to); says where in the stream. */
export class DecoderError extends KvsParserError {
  override readonly name = "DecoderError";
  /** Always "DECODER_FAILED". */
  declare readonly code: "DECODER_FAILED";
  /** The decoder failed with `message` at `position`; `exit` and `stderr` are ffmpeg's. */
  constructor(
    message: string,
    /** The last frame given to the decoder when it failed. */
    readonly position: StreamPosition,
    /** The exit code or signal of the ffmpeg process, when it exited. */
    readonly exit: number | string | null,
    /** The end of what ffmpeg wrote to stderr. */
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const at = `track ${position.track}${position.fragmentNumber ? `, fragment ${position.fragmentNumber}` : ""}${position.timestampMs !== null ? `, frame at ${position.timestampMs} ms` : ""}`;
    super("DECODER_FAILED", `decoder failed at ${at}: ${message}${stderr ? ` (ffmpeg: ${stderr.trim().split("\n").slice(-3).join(" | ")})` : ""}`, options);
  }
}

/** ffmpeg's input cannot be written: the process exited or closed its stdin. */
export class FfmpegInputClosedError extends KvsParserError {
  override readonly name = "FfmpegInputClosedError";
  /** Always "FFMPEG_INPUT_CLOSED". */
  declare readonly code: "FFMPEG_INPUT_CLOSED";
  /** ffmpeg's input is gone (`message`); `exit` is its exit code or signal, when it exited. */
  constructor(
    message: string,
    readonly exit: number | string | null,
  ) {
    super("FFMPEG_INPUT_CLOSED", `${message}${exit !== null ? ` (exit ${exit})` : ""}`, { action: "see ffmpeg's stderr for why it stopped" });
  }
}

/**
 * A long-lived ffmpeg process: bytes written to its stdin with the pipe's backpressure, stdout read in
 * chunks the caller pulls (reading pauses while nobody pulls, so ffmpeg blocks rather than memory
 * grows), the end of stderr kept for errors, killed on close.
 */
export class FfmpegProcess {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private stderrTail = "";
  private exited: { code: number | null; signal: string | null } | null = null;
  private readonly exitWaiters: (() => void)[] = [];
  private readonly chunks: Uint8Array[] = [];
  private readonly readers: (() => void)[] = [];
  private ended = false;
  private stdinError: Error | null = null;

  /** Spawns `ffmpeg` with `args`. */
  constructor(ffmpeg: string, args: readonly string[]) {
    this.child = spawn(ffmpeg, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr.on("data", (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-4096);
    });
    this.child.stdout.on("data", (d: Buffer) => {
      this.chunks.push(new Uint8Array(d.buffer, d.byteOffset, d.length));
      if (this.chunks.length >= 8) this.child.stdout.pause(); // nobody pulling: let ffmpeg block
      this.wake();
    });
    this.child.stdout.on("end", () => {
      this.ended = true;
      this.wake();
    });
    this.child.stdin.on("error", (e) => {
      this.stdinError = e; // EPIPE when ffmpeg died: reported with its exit
    });
    this.child.on("error", (e) => {
      this.stdinError ??= e;
      this.ended = true;
      this.wake();
    });
    this.child.on("exit", (code, signal) => {
      this.exited = { code, signal };
      for (const w of this.exitWaiters.splice(0)) w();
      this.wake();
    });
  }

  /** The process id (for tests: no process left behind). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The end of ffmpeg's stderr. */
  get stderr(): string {
    return this.stderrTail;
  }

  /** The exit status once it exited. */
  get exit(): { code: number | null; signal: string | null } | null {
    return this.exited;
  }

  /** Writes to ffmpeg's stdin; resolves once the pipe takes more (its backpressure); rejects if ffmpeg is gone. */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.stdinError || this.exited || this.child.stdin.destroyed)
      throw this.stdinError ?? new FfmpegInputClosedError("ffmpeg has exited", this.exitStatus());
    if (this.child.stdin.write(bytes)) return;
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.child.stdin.off("close", onClose);
        resolve();
      };
      const onClose = () => {
        this.child.stdin.off("drain", onDrain);
        reject(this.stdinError ?? new FfmpegInputClosedError("ffmpeg closed its input", this.exitStatus()));
      };
      this.child.stdin.once("drain", onDrain);
      this.child.stdin.once("close", onClose);
    });
  }

  private exitStatus(): number | string | null {
    return this.exited ? (this.exited.code ?? this.exited.signal) : null;
  }

  /** Ends ffmpeg's input (it then flushes its output and exits). */
  endInput(): void {
    if (!this.child.stdin.destroyed) this.child.stdin.end();
  }

  /** The next chunk of stdout; null once stdout ended. */
  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const c = this.chunks.shift();
      if (c !== undefined) {
        if (this.chunks.length < 4) this.child.stdout.resume();
        return c;
      }
      if (this.ended) return null;
      this.child.stdout.resume();
      await new Promise<void>((r) => this.readers.push(r));
    }
  }

  /** Resolves once the process exited. */
  waitExit(): Promise<{ code: number | null; signal: string | null }> {
    if (this.exited) return Promise.resolve(this.exited);
    return new Promise((resolve) => this.exitWaiters.push(() => resolve(this.exited!)));
  }

  /** Kills the process (no-op once it exited). */
  kill(): void {
    if (!this.exited) this.child.kill("SIGKILL");
    this.child.stdin.destroy();
    this.child.stdout.destroy();
  }

  private wake(): void {
    for (const r of this.readers.splice(0)) r();
  }
}
