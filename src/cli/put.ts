import { UsageError, intOption, type Command } from "./args.js";
import { errorLines } from "./errors.js";
import { openInput } from "./input.js";
import { clientsFor, endpointOf, STREAM_HELP } from "./stream-args.js";

/** `kvs-parser put`: uploads an MKV file (or stdin) to a stream with PutMedia, re-fragmented. */
export const putCommand: Command = {
  name: "put",
  summary: "put an MKV file (or stdin) into a stream with PutMedia, acknowledged per fragment",
  usage: `usage: kvs-parser put STREAM FILE|- [--realtime] [--fragment-ms N] [--relative] [--tag NAME=VALUE]…
                       [--endpoint URL] [--region R]
       kvs-parser put STREAM --ffmpeg='<input args>' […]

Re-fragments the file (a new fragment at the first keyframe after --fragment-ms, default 2000) and
uploads it with PutMedia, holding each fragment until the service says PERSISTED: a reset, a stall or a
retryable error reconnects and sends again what was not persisted. A progress line shows fragments
persisted, the acknowledgement latency and the buffer. Ctrl-C stops reading the file and waits for the
last PERSISTED. Exit code 0 when every fragment persisted, 1 otherwise.
  --realtime       send at the media's pace (the file as a live camera)
  --ffmpeg=ARGS    a live ffmpeg process instead of a file: its input arguments (split at spaces), e.g.
                   --ffmpeg='-rtsp_transport tcp -i rtsp://camera/stream' (-c copy is added when no codec is
                   given); when the upload falls behind, the oldest unsent fragments are dropped
  --relative       RELATIVE fragment timecodes (default ABSOLUTE: epoch ms from now)
  --tag NAME=VALUE a metadata tag on every fragment (repeatable)
${STREAM_HELP}`,
  options: {
    endpoint: { type: "string" },
    region: { type: "string" },
    realtime: { type: "boolean" },
    relative: { type: "boolean" },
    "fragment-ms": { type: "string" },
    tag: { type: "string", multiple: true },
    ffmpeg: { type: "string" },
  },
  async run(values, positionals, io) {
    const live = typeof values.ffmpeg === "string" ? values.ffmpeg.trim().split(/\s+/) : null;
    if (live ? positionals.length !== 1 : positionals.length !== 2)
      throw new UsageError("put takes STREAM and FILE (or - for stdin), or STREAM and --ffmpeg ARGS");
    const [stream, file = "ffmpeg"] = positionals as [string, string?];
    const metadata: Record<string, string> = {};
    for (const t of (values.tag as string[] | undefined) ?? []) {
      const eq = t.indexOf("=");
      if (eq <= 0) throw new UsageError(`--tag needs NAME=VALUE, got ${JSON.stringify(t)}`);
      metadata[t.slice(0, eq)] = t.slice(eq + 1);
    }
    const input = live ? null : openInput(file);
    const clients = await clientsFor(values, io);
    const { putMedia, mkvSource, ffmpegSource } = await import("../produce/index.js");
    const relative = values.relative === true;
    const startMs = Date.now();
    const fragmenting = {
      fragmentDurationMs: intOption(values["fragment-ms"], "--fragment-ms"),
      timecodeType: relative ? ("RELATIVE" as const) : ("ABSOLUTE" as const),
      startMs,
      metadata,
    };
    const source = input
      ? mkvSource(input, { ...fragmenting, realtime: values.realtime === true })
      : ffmpegSource(live!, { ...fragmenting, signal: io.signal });
    // Ctrl-C: stop reading, let what was read persist.
    let interrupted = false;
    const fragments = (async function* () {
      for await (const f of source.fragments) {
        if (io.signal.aborted) {
          interrupted = true;
          return;
        }
        yield f;
      }
    })();
    io.err(
      `putting ${live ? `ffmpeg ${live.join(" ")}` : file === "-" ? "stdin" : file} into stream ${stream}${endpointOf(values) ? ` at ${endpointOf(values)}` : ""}`,
    );
    const sentAt = new Map<number, number>();
    let persisted = 0;
    let lastLatency = 0;
    let ok = false;
    await new Promise<void>((resolve) => {
      putMedia(clients, stream, { header: source.header, fragments }, { timecodeType: relative ? "RELATIVE" : "ABSOLUTE", producerStartMs: startMs }).subscribe(
        {
          next(ev) {
            if (ev.type === "ack" && ev.event === "BUFFERING" && ev.fragmentTimecode !== null) sentAt.set(ev.fragmentTimecode, performance.now());
            else if (ev.type === "ack" && ev.event === "PERSISTED") {
              persisted++;
              const t = ev.fragmentTimecode !== null ? sentAt.get(ev.fragmentTimecode) : undefined;
              if (t !== undefined) lastLatency = performance.now() - t;
              io.status(`${persisted} fragments persisted, last ${ev.fragmentNumber}, acknowledged in ${lastLatency.toFixed(0)} ms`);
            } else if (ev.type === "retrying") io.err(`retrying in ${(ev.delayMs / 1000).toFixed(1)} s (failure ${ev.attempt} in a row): ${ev.error.message}`);
            else if (ev.type === "done") {
              ok = true;
              io.status("");
              io.out(
                `${ev.stats.fragmentsPersisted} fragments persisted in ${ev.stats.connections} connection${ev.stats.connections === 1 ? "" : "s"}, ${ev.stats.bytesSent} bytes sent${ev.stats.duplicates ? `, ${ev.stats.duplicates} sent twice` : ""}${ev.stats.dropped ? `, ${ev.stats.dropped} dropped (the upload fell behind)` : ""}${interrupted ? " (interrupted: the rest of the input was not sent)" : ""}`,
              );
            }
          },
          error(e: unknown) {
            io.status("");
            for (const line of errorLines(e)) io.err(line);
            resolve();
          },
          complete: resolve,
        },
      );
    });
    clients.destroy();
    return ok ? 0 : 1;
  },
};
