import { lastValueFrom, tap } from "rxjs";
import { MkvParseError } from "../ebml/errors.js";
import { describeNonEbml } from "../ebml/sniff.js";
import type { FragmentEvent } from "../kvs/fragment.js";
import type { KvsEvent } from "../kvs/parser.js";
import type { Track } from "../matroska/model.js";
import { parseMkv } from "../rx/parse-mkv.js";
import type { ByteSource } from "../rx/source.js";
import { intOption, UsageError, type Command } from "./args.js";
import { openInput } from "./input.js";

/** A fragment as one JSON-friendly object (no payloads, CodecPrivate as hex). */
export function fragmentSummary(f: FragmentEvent): Record<string, unknown> {
  return {
    type: "fragment",
    fragmentNumber: f.fragmentNumber,
    serverTimestampMs: f.serverTimestampMs,
    producerTimestampMs: f.producerTimestampMs,
    millisBehindNow: f.millisBehindNow,
    continuationToken: f.continuationToken,
    error: f.error,
    frameCount: f.frameCount,
    keyframeCount: f.keyframeCount,
    framesByTrack: f.framesByTrack,
    payloadBytes: f.payloadBytes,
    clusterTimestampMs: f.clusterTimestampMs,
    startOffset: f.startOffset,
    endOffset: f.endOffset,
    complete: f.complete,
    tags: f.tags.map((t) => ({ name: t.name, value: t.value })),
    problems: f.problems.map((p) => ({ code: p.code, offset: p.offset, message: p.message })),
  };
}

/** A track as one JSON-friendly object. */
export function trackSummary(t: Track): Record<string, unknown> {
  return {
    ...t,
    codecPrivate: t.codecPrivate ? Buffer.from(t.codecPrivate).toString("hex") : null,
    contentEncodings: t.contentEncodings.map((e) => ({
      ...e,
      compressionSettings: e.compressionSettings ? Buffer.from(e.compressionSettings).toString("hex") : null,
      keyId: e.keyId ? Buffer.from(e.keyId).toString("hex") : null,
    })),
  };
}

function describeTrack(t: Track): string {
  const v = t.video ? ` ${t.video.pixelWidth}x${t.video.pixelHeight}` : "";
  const a = t.audio ? ` ${t.audio.samplingFrequency} Hz ${t.audio.channels} ch${t.audio.bitDepth ? ` ${t.audio.bitDepth} bit` : ""}` : "";
  const enc = t.contentEncodings
    .map((e) => (e.type === "encryption" ? " encrypted" : ` ${["zlib", "bzlib", "lzo1x", "header-stripped"][e.compressionAlgorithm ?? 0] ?? "compressed"}`))
    .join("");
  return `track ${t.number}: ${t.kind} ${t.codecId}${v}${a}${enc}${t.name ? ` "${t.name}"` : ""}`;
}

/** Per-track totals, for the summary lines. */
interface TrackTotals {
  kind: string;
  frames: number;
  keyframes: number;
  bytes: number;
  firstMs: number;
  lastMs: number;
  lastDurationMs: number | null;
}

/** "50 frames (5 key), 2.000 s, 25.00 fps, 120 kbit/s" like mkvinfo's summary. */
function describeTotals(number: number, t: TrackTotals): string {
  const span = t.lastMs - t.firstMs;
  const durationMs = t.lastDurationMs !== null ? span + t.lastDurationMs : t.frames > 1 ? (span * t.frames) / (t.frames - 1) : 0;
  const parts = [`${t.frames} frames${t.kind === "video" ? ` (${t.keyframes} key)` : ""}`, `${(durationMs / 1000).toFixed(3)} s`];
  if (durationMs > 0 && t.kind === "video") parts.push(`${((t.frames * 1000) / durationMs).toFixed(2)} fps`);
  if (durationMs > 0) parts.push(`${((t.bytes * 8) / durationMs).toFixed(0)} kbit/s`);
  return `track ${number}: ${parts.join(", ")}`;
}

/** Options of {@link inspect}. */
export interface InspectOptions {
  json: boolean;
  recover: boolean;
  maxElementSize?: number;
  write: (line: string) => void;
}

/** What {@link inspect} read. */
export interface InspectTotals {
  bytes: number;
  fragments: number;
  frames: number;
}

/**
 * Reads a stream and writes a readable summary (or JSON lines) of its tracks, fragments and frames.
 * When the input fails (cut, corrupt), the totals read so far are written before the error is thrown.
 */
export async function inspect(source: ByteSource, opts: InspectOptions): Promise<InspectTotals> {
  const { write } = opts;
  let lastTracks = "";
  let fragments = 0;
  let frames = 0;
  let bytes = 0;
  let kinds = new Map<number, string>();
  const perTrack = new Map<number, TrackTotals>();
  let matroska = false;
  const onEvent = (ev: KvsEvent) => {
    if (ev.type === "ebmlHeader" || ev.type === "segmentStart" || ev.type === "cluster") matroska = true;
    if (ev.type === "tracks") kinds = new Map(ev.tracks.map((t) => [t.number, t.kind]));
    if (ev.type === "frame") {
      frames++;
      bytes += ev.data.length;
      let t = perTrack.get(ev.track);
      if (!t)
        perTrack.set(
          ev.track,
          (t = {
            kind: kinds.get(ev.track) ?? "unknown",
            frames: 0,
            keyframes: 0,
            bytes: 0,
            firstMs: ev.timestampMs,
            lastMs: ev.timestampMs,
            lastDurationMs: null,
          }),
        );
      t.frames++;
      if (ev.keyframe) t.keyframes++;
      t.bytes += ev.data.length;
      t.firstMs = Math.min(t.firstMs, ev.timestampMs);
      if (ev.timestampMs >= t.lastMs) {
        t.lastMs = ev.timestampMs;
        t.lastDurationMs = ev.durationMs;
      }
    }
    if (ev.type === "fragment") fragments++;
    if (opts.json) {
      if (ev.type === "frame") write(JSON.stringify(ev));
      else if (ev.type === "fragment") write(JSON.stringify(fragmentSummary(ev)));
      else if (ev.type === "tracks") write(JSON.stringify({ type: "tracks", offset: ev.offset, tracks: ev.tracks.map(trackSummary) }));
      else if (ev.type === "recovered")
        write(JSON.stringify({ type: "recovered", code: ev.error.code, offset: ev.offset, resumeOffset: ev.resumeOffset, message: ev.error.message }));
      else if (ev.type === "unknownElement") write(JSON.stringify(ev));
      return;
    }
    switch (ev.type) {
      case "tracks": {
        const text = ev.tracks.map(describeTrack).join("\n");
        if (text !== lastTracks) write(text);
        lastTracks = text;
        break;
      }
      case "fragment": {
        const counts = Object.entries(ev.framesByTrack)
          .map(([t, n]) => `t${t}:${n}`)
          .join(" ");
        const number = ev.fragmentNumber ?? "(no fragment number)";
        const ts = ev.serverTimestampMs !== null ? ` server ${new Date(ev.serverTimestampMs).toISOString()}` : "";
        const behind = ev.millisBehindNow !== null ? ` behind ${ev.millisBehindNow} ms` : "";
        const err = ev.error ? ` ERROR ${ev.error.code}${ev.error.message ? ` ${ev.error.message}` : ""}` : "";
        write(
          `fragment ${number}${ts}${behind} frames ${ev.frameCount} (${counts || "none"}) bytes ${ev.startOffset}-${ev.endOffset}${ev.complete ? "" : " INCOMPLETE"}${err}`,
        );
        break;
      }
      case "recovered":
        write(`recovered: ${ev.error.message}; skipped ${ev.skippedBytes} bytes, resumed at ${ev.resumeOffset}`);
        break;
      case "unknownElement":
        write(`unknown element 0x${ev.id.toString(16)} (${ev.size} bytes) at ${ev.offset} in ${ev.path.join("/")}`);
        break;
    }
  };
  let inputBytes = 0;
  let head: Uint8Array | null = null;
  const counted = countBytes(source, (chunk) => {
    head ??= chunk.slice(0, 64);
    inputBytes += chunk.length;
  });
  const totals = () => {
    if (opts.json || inputBytes === 0) return;
    const tracks = [...perTrack.entries()].map(([t, n]) => `track ${t}: ${n.frames}`).join(", ");
    for (const [n, t] of perTrack) write(describeTotals(n, t));
    write(`total: ${fragments} fragments, ${frames} frames (${tracks || "none"}), ${bytes} payload bytes`);
  };
  try {
    await lastValueFrom(parseMkv(counted, { recover: opts.recover, maxElementSize: opts.maxElementSize }).pipe(tap(onEvent)), { defaultValue: undefined });
  } catch (e) {
    totals();
    throw e;
  }
  if (inputBytes === 0) throw new MkvParseError("NOT_EBML", "empty input: no bytes to read", 0);
  // With recover, bad bytes are passed over; input with no Matroska in it at all is still a failure.
  if (!matroska)
    throw new MkvParseError(
      "NOT_EBML",
      `no EBML/Matroska element in ${inputBytes} bytes: the input looks like ${describeNonEbml(head ?? new Uint8Array())}`,
      0,
    );
  totals();
  return { bytes: inputBytes, fragments, frames };
}

/** The same source, showing each chunk that passes to `see`. */
function countBytes(source: ByteSource, see: (chunk: Uint8Array) => void): ByteSource {
  if (source instanceof Uint8Array) {
    see(source);
    return source;
  }
  const iterable = source as AsyncIterable<Uint8Array>;
  return (async function* () {
    for await (const chunk of iterable) {
      see(chunk);
      yield chunk;
    }
  })();
}

/** `kvs-parser inspect`. */
export const inspectCommand: Command = {
  name: "inspect",
  summary: "summarise an MKV / KVS GetMedia capture (- = stdin)",
  usage: `usage: kvs-parser inspect FILE|- [--json] [--recover] [--max-element-size BYTES]

Prints the tracks, one line per fragment, per-track frame counts, durations and rates, and totals.
  --json                  one JSON object per line for tracks, frames and fragments
  --recover               pass over bad bytes (reported) instead of stopping at the first error
  --max-element-size N    largest element (other than blocks) to hold in memory, bytes (default 64 MiB)`,
  options: { json: { type: "boolean" }, recover: { type: "boolean" }, "max-element-size": { type: "string" } },
  async run(values, positionals, io) {
    if (positionals.length !== 1) throw new UsageError("inspect takes one FILE (or - for stdin)");
    const file = positionals[0]!;
    const source = openInput(file);
    await inspect(source, {
      json: values.json === true,
      recover: values.recover === true,
      maxElementSize: intOption(values["max-element-size"], "--max-element-size"),
      write: io.out,
    });
    return 0;
  },
};
