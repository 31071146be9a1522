import { basename, dirname, extname } from "node:path";
import type { Observable } from "rxjs";
import type { StreamEvent } from "../rx/stream-event.js";
import type { RecordingFile } from "../record/recorder.js";
import { intOption, UsageError, type Command } from "./args.js";
import { clientsFor, endpointOf, formatBytes, reportStatus, parseFrom, parseTime, readUntilDone, STREAM_HELP, STREAM_OPTIONS } from "./stream-args.js";

/** `kvs-parser record`: a live stream, or a range of its archive, to MKV or MP4 files. */
export const recordCommand: Command = {
  name: "record",
  summary: "record a live stream, or a time range of it, to MKV or MP4",
  usage: `usage: kvs-parser record STREAM -o OUT.mkv|OUT.mp4 [--from T] [--to T] [--count N]
                         [--roll-minutes N] [--roll-mb N] [--keep-stream-time] [--endpoint URL] [--region R]

Without --to: records live from --from (default NOW) until interrupted (or --count fragments), the
fragments merged as they come into one Segment (MKV) or remuxed to MP4, each file whole and playable
when closed. With --to: records the archived range --from..--to (server times), as MP4 through
GetClip (in pieces of 200 fragments, joined into one file) or as MKV through GetMediaForFragmentList.
--roll-minutes / --roll-mb start a new file (OUT-1.mkv, OUT-2.mkv, …) at the next keyframe fragment.
A progress line (fragments, bytes, media time, rate) shows on a terminal.
  --from           NOW, EARLIEST, a fragment number, or a server time (ISO 8601 or epoch seconds)
  --to             the end of an archived range (a server time)
  --keep-stream-time   MKV: keep the stream's timestamps (default: each file starts at 0; its
                   Duration is written when it is closed)
${STREAM_HELP}`,
  options: {
    ...STREAM_OPTIONS,
    out: { type: "string", short: "o" },
    to: { type: "string" },
    count: { type: "string" },
    "roll-minutes": { type: "string" },
    "roll-mb": { type: "string" },
    "keep-stream-time": { type: "boolean" },
  },
  async run(values, positionals, io) {
    if (positionals.length !== 1) throw new UsageError("record takes one STREAM");
    const out = values.out;
    if (typeof out !== "string") throw new UsageError("give the output file with -o OUT.mkv or -o OUT.mp4");
    const ext = extname(out).toLowerCase();
    if (ext !== ".mkv" && ext !== ".mp4") throw new UsageError("the output file ends in .mkv or .mp4");
    const format = ext === ".mp4" ? "mp4" : "mkv";
    const stream = positionals[0]!;
    const count = intOption(values.count, "--count");
    const rollMinutes = intOption(values["roll-minutes"], "--roll-minutes");
    const rollMb = intOption(values["roll-mb"], "--roll-mb");
    const to = typeof values.to === "string" ? parseTime(values.to, "--to") : null;
    const from = to === null ? parseFrom(values.from, "NOW") : typeof values.from === "string" ? parseTime(values.from, "--from") : null;
    if (to !== null && !(from instanceof Date)) throw new UsageError("an archived range needs --from TIME as well as --to TIME");
    const clients = await clientsFor(values, io);
    const started = performance.now();
    const progress = (fragments: number, bytes: number, mediaMs: number) => {
      const sec = (performance.now() - started) / 1000;
      io.status(
        `${fragments} fragments, ${formatBytes(bytes)}, ${(mediaMs / 1000).toFixed(1)} s of media, ${(fragments / Math.max(sec, 0.001)).toFixed(1)} fragments/s`,
      );
    };
    try {
      if (to !== null && format === "mp4" && rollMinutes === undefined && rollMb === undefined) {
        // One MP4 of an archived range: GetClip in pieces, joined.
        const { getClip } = await import("../aws/clip.js");
        const result = await getClip(clients, stream, { range: { start: from as Date, end: to }, target: { kind: "file", path: out }, signal: io.signal });
        io.status("");
        io.out(
          `${out}: ${result.fragments} fragments in ${result.pieces} GetClip calls, ${result.videoPackets} video and ${result.audioPackets} audio packets`,
        );
        return 0;
      }
      const { Recorder } = await import("../record/recorder.js");
      const stem = basename(out, extname(out));
      const recorder = new Recorder({
        format,
        dir: dirname(out),
        fileName: (f) => (f.index === 0 ? basename(out) : `${stem}-${f.index}${ext}`),
        maxDurationMs: rollMinutes === undefined ? undefined : rollMinutes * 60_000,
        maxBytes: rollMb === undefined ? undefined : rollMb * 1024 * 1024,
        keepStreamTime: values["keep-stream-time"] === true,
      });
      const files: RecordingFile[] = [];
      recorder.files$.subscribe((f) => {
        files.push(f);
        io.status("");
        io.out(`${f.path}: ${f.fragments} fragments, ${f.frames} frames, ${formatBytes(f.bytes)}`);
      });
      let fragments = 0;
      let bytes = 0;
      let firstMs: number | null = null;
      let lastMs = 0;
      let missing = 0;
      const { liveMedia } = await import("../aws/live-media.js");
      const { archivedMedia } = await import("../aws/archive.js");
      const source: Observable<StreamEvent> =
        to !== null
          ? archivedMedia(clients, stream, { range: { start: from as Date, end: to }, keepBytes: true, gate: recorder.gate, signal: io.signal })
          : liveMedia(clients, stream, {
              from: parseFrom(values.from, "NOW"),
              keepBytes: true,
              gate: recorder.gate,
              signal: io.signal,
              onStatus: reportStatus(io, stream, endpointOf(values)),
            });
      await readUntilDone(source, io, (ev) => {
        recorder.push(ev);
        if (ev.type === "missingFragment" || ev.type === "fragmentSkipped") missing++;
        if (ev.type !== "fragment") return false;
        fragments++;
        bytes += ev.endOffset - ev.startOffset;
        if (ev.firstFrameTimestampMs !== null) firstMs ??= ev.firstFrameTimestampMs;
        if (ev.lastFrameTimestampMs !== null) lastMs = ev.lastFrameTimestampMs;
        progress(fragments, bytes, firstMs === null ? 0 : lastMs - firstMs);
        return count !== undefined && fragments >= count;
      });
      await recorder.end();
      io.status("");
      io.out(
        `recorded ${fragments} fragments, ${formatBytes(bytes)}, ${((lastMs - (firstMs ?? lastMs)) / 1000).toFixed(1)} s of media in ${files.length} file${files.length === 1 ? "" : "s"}${missing ? ` (${missing} fragments missing or unreadable)` : ""}`,
      );
      return 0;
    } finally {
      clients.destroy();
    }
  },
};
