import { lastValueFrom, tap } from "rxjs";
import type { FragmentEvent } from "../kvs/fragment.js";
import type { KvsEvent } from "../kvs/parser.js";
import type { Track } from "../matroska/model.js";
import { parseMkv } from "../rx/parse.js";
import type { ByteSource } from "../rx/source.js";

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
  return { ...t, codecPrivate: t.codecPrivate ? Buffer.from(t.codecPrivate).toString("hex") : null };
}

function describeTrack(t: Track): string {
  const v = t.video ? ` ${t.video.pixelWidth}x${t.video.pixelHeight}` : "";
  const a = t.audio ? ` ${t.audio.samplingFrequency} Hz ${t.audio.channels} ch${t.audio.bitDepth ? ` ${t.audio.bitDepth} bit` : ""}` : "";
  return `track ${t.number}: ${t.kind} ${t.codecId}${v}${a}${t.name ? ` "${t.name}"` : ""}`;
}

/** Options of {@link inspect}. */
export interface InspectOptions {
  json: boolean;
  recover: boolean;
  write: (line: string) => void;
}

/** Reads a stream and writes a readable summary (or JSON lines) of its tracks, fragments and frames. */
export async function inspect(source: ByteSource, opts: InspectOptions): Promise<void> {
  const { write } = opts;
  let lastTracks = "";
  let fragments = 0;
  let frames = 0;
  let bytes = 0;
  const perTrack = new Map<number, number>();
  const onEvent = (ev: KvsEvent) => {
    if (opts.json) {
      if (ev.type === "frame") write(JSON.stringify(ev));
      else if (ev.type === "fragment") write(JSON.stringify(fragmentSummary(ev)));
      else if (ev.type === "tracks") write(JSON.stringify({ type: "tracks", offset: ev.offset, tracks: ev.tracks.map(trackSummary) }));
      else if (ev.type === "recovered") write(JSON.stringify({ type: "recovered", code: ev.error.code, offset: ev.offset, resumeOffset: ev.resumeOffset, message: ev.error.message }));
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
      case "frame":
        frames++;
        bytes += ev.data.length;
        perTrack.set(ev.track, (perTrack.get(ev.track) ?? 0) + 1);
        break;
      case "fragment": {
        fragments++;
        const counts = Object.entries(ev.framesByTrack).map(([t, n]) => `t${t}:${n}`).join(" ");
        const number = ev.fragmentNumber ?? "(no fragment number)";
        const ts = ev.serverTimestampMs !== null ? ` server ${new Date(ev.serverTimestampMs).toISOString()}` : "";
        const behind = ev.millisBehindNow !== null ? ` behind ${ev.millisBehindNow} ms` : "";
        const err = ev.error ? ` ERROR ${ev.error.code}${ev.error.message ? ` ${ev.error.message}` : ""}` : "";
        write(`fragment ${number}${ts}${behind} frames ${ev.frameCount} (${counts || "none"}) bytes ${ev.startOffset}-${ev.endOffset}${ev.complete ? "" : " INCOMPLETE"}${err}`);
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
  await lastValueFrom(parseMkv(source, { recover: opts.recover }).pipe(tap(onEvent)), { defaultValue: undefined });
  if (!opts.json) {
    const tracks = [...perTrack.entries()].map(([t, n]) => `track ${t}: ${n}`).join(", ");
    write(`total: ${fragments} fragments, ${frames} frames (${tracks || "none"}), ${bytes} payload bytes`);
  }
}
