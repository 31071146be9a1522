import { UsageError, intOption, type Command } from "./args.js";
import { clientsFor, endpointOf, formatBytes, parseFrom, readUntilDone, reportStatus, STREAM_HELP, STREAM_OPTIONS } from "./stream-args.js";

/** `kvs-parser tail`: a live stream's fragments (and frames) as they arrive, with lag. */
export const tailCommand: Command = {
  name: "tail",
  summary: "print a live stream's fragments (and frames) as they arrive, with lag",
  usage: `usage: kvs-parser tail STREAM [--frames] [--json] [--from NOW|EARLIEST|FRAGMENT|TIME] [--count N]
                       [--endpoint URL] [--region R]

Follows STREAM live with GetMedia (reconnecting on faults, resuming where it was) and prints one line
per fragment: number, server time, frames, bytes and lag (now minus the fragment's server time, and
the service's MILLIS_BEHIND_NOW). --frames adds a line per frame; --json prints JSON lines instead.
Runs until interrupted, or until --count fragments.
  --from           where to start (default NOW): EARLIEST, a fragment number, or a server time
${STREAM_HELP}`,
  options: { ...STREAM_OPTIONS, frames: { type: "boolean" }, json: { type: "boolean" }, count: { type: "string" } },
  async run(values, positionals, io) {
    if (positionals.length !== 1) throw new UsageError("tail takes one STREAM");
    const stream = positionals[0]!;
    const count = intOption(values.count, "--count");
    const from = parseFrom(values.from, "NOW");
    const json = values.json === true;
    const withFrames = values.frames === true;
    const clients = await clientsFor(values, io);
    const { liveMedia } = await import("../aws/live-media.js");
    let fragments = 0;
    try {
      await readUntilDone(liveMedia(clients, stream, { from, signal: io.signal, onStatus: reportStatus(io, stream, endpointOf(values)) }), io, (ev) => {
        if (ev.type === "frame" && withFrames) {
          const frame = { track: ev.track, timestampMs: ev.timestampMs, keyframe: ev.keyframe, bytes: ev.data.length, serverTimestampMs: ev.serverTimestampMs };
          io.out(
            json
              ? JSON.stringify({ type: "frame", ...frame })
              : `  frame track ${ev.track} t=${ev.timestampMs} ms ${ev.keyframe ? "key " : ""}${ev.data.length} B`,
          );
        } else if (ev.type === "fragmentDiscarded") {
          io.out(json ? JSON.stringify(ev) : `fragment ${ev.fragmentNumber} cut (${ev.reason}): read again`);
        } else if (ev.type === "fragment") {
          const lagMs = ev.serverTimestampMs === null ? null : Date.now() - ev.serverTimestampMs;
          if (json)
            io.out(
              JSON.stringify({
                type: "fragment",
                fragmentNumber: ev.fragmentNumber,
                serverTimestampMs: ev.serverTimestampMs,
                producerTimestampMs: ev.producerTimestampMs,
                frames: ev.frameCount,
                keyframes: ev.keyframeCount,
                bytes: ev.payloadBytes,
                lagMs,
                millisBehindNow: ev.millisBehindNow,
              }),
            );
          else {
            const server = ev.serverTimestampMs === null ? "?" : new Date(ev.serverTimestampMs).toISOString();
            const behind = ev.millisBehindNow === null ? "" : `, ${ev.millisBehindNow} ms behind now`;
            io.out(`fragment ${ev.fragmentNumber} server ${server} frames ${ev.frameCount} ${formatBytes(ev.payloadBytes)} lag ${lagMs ?? "?"} ms${behind}`);
          }
          return count !== undefined && ++fragments >= count;
        }
        return false;
      });
    } finally {
      clients.destroy();
    }
    return 0;
  },
};
