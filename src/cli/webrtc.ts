import type { Observable } from "rxjs";
import type { StreamEvent } from "../rx/stream-event.js";
import { UsageError, intOption, type CliIo, type Command } from "./args.js";
import { errorLines } from "./errors.js";
import { openInput } from "./input.js";
import { clientsFor, endpointOf, isLoopback, parseFrom, readUntilDone, STREAM_HELP } from "./stream-args.js";

/** `kvs-parser webrtc`: view a signaling channel's master as frames, or be the master of one. */
export const webrtcCommand: Command = {
  name: "webrtc",
  summary: "KVS with WebRTC: view a channel's camera as frames, or serve a stream/file/ffmpeg as its master",
  usage: `usage: kvs-parser webrtc view CHANNEL [--images DIR] [--record FILE] [--json] [--count N] [--no-audio]
                       [--endpoint URL] [--region R]
       kvs-parser webrtc master CHANNEL --stream S [--from …] | --file F | --ffmpeg='<input args>'
                       [--endpoint URL] [--region R]

view: connects to CHANNEL as a viewer (sub-second latency, peer to peer) and prints a line per frame
like tail --frames (track, time, keyframe, bytes, latency from the master's clock), plus what was lost;
--images DIR writes a JPEG per video frame, --record FILE writes the media to an MKV file.
master: serves CHANNEL's viewers (up to 10) from a live KVS stream (GetMedia), an MKV file (it ends
with the file), or an ffmpeg process; H.264 passes through, Opus audio passes through,
AAC audio is left out (serve it through --ffmpeg, which encodes Opus, to send its sound).
  --images DIR     (view) decode video frames to DIR/NNNNNN.jpg with ffmpeg
  --record FILE    (view) write what arrives to FILE (MKV)
  --count N        (view) stop after N frames
  --no-audio       (view) ask for video only
  --json           (view) JSON lines
  --stream S       (master) the KVS stream to serve, read live (--from as for tail)
  --file F         (master) an MKV file, sent at its own pace
  --ffmpeg=ARGS    (master) ffmpeg input arguments (e.g. --ffmpeg='-re -i cam.mkv'); video is encoded to H.264
                   constrained baseline, audio (AAC too) to Opus
${STREAM_HELP}`,
  options: {
    endpoint: { type: "string" },
    region: { type: "string" },
    from: { type: "string" },
    images: { type: "string" },
    record: { type: "string" },
    json: { type: "boolean" },
    count: { type: "string" },
    "no-audio": { type: "boolean" },
    stream: { type: "string" },
    file: { type: "string" },
    ffmpeg: { type: "string" },
  },
  async run(values, positionals, io) {
    const [mode, channel, ...rest] = positionals;
    if ((mode !== "view" && mode !== "master") || channel === undefined || rest.length > 0) throw new UsageError("webrtc takes view CHANNEL or master CHANNEL");
    return mode === "view" ? view(channel, values, io) : master(channel, values, io);
  },
};

/** Peer settings for the endpoint: on this machine, loopback ICE and no STUN (nothing outside is reachable). */
function peerSettings(values: Record<string, unknown>): { loopbackOnly?: boolean; stun?: boolean } {
  const endpoint = endpointOf(values);
  return endpoint !== undefined && isLoopback(endpoint) ? { loopbackOnly: true, stun: false } : {};
}

async function view(channel: string, values: Record<string, unknown>, io: CliIo): Promise<number> {
  const count = intOption(values.count, "--count");
  const json = values.json === true;
  const clients = await clientsFor(values, io);
  const { webrtcViewer } = await import("../webrtc/viewer.js");
  let frames = 0;
  let dropped = 0;
  const source = webrtcViewer(clients, channel, {
    ...peerSettings(values),
    audio: values["no-audio"] !== true,
    signal: io.signal,
    onStatus: (s) => {
      if (s.type === "framesDropped") {
        dropped += s.frames;
        io.err(`dropped ${s.frames} frame${s.frames === 1 ? "" : "s"} of track ${s.track} (${s.reason}); ${dropped} in all`);
      } else if (s.type === "connected") io.err(`connected to ${channel}'s master in ${s.afterMs} ms`);
      else if (s.type === "peerFailed") io.err(`peer connection failed (${s.reason}): connecting again`);
      else if (s.type === "signaling" && s.state === "reconnecting") io.err("signaling connection lost: reconnecting");
    },
    onMessage: (m) => io.out(json ? JSON.stringify({ type: "message", label: m.label, data: String(m.data) }) : `message on ${m.label}: ${String(m.data)}`),
  });
  const sinks: Promise<unknown>[] = [];
  const { share, Subject, takeUntil } = await import("rxjs");
  // --count ends the media for every sink (the images and the recording finish with what came).
  const stop = new Subject<void>();
  const shared = source.pipe(takeUntil(stop), share());
  if (typeof values.images === "string") sinks.push(writeImages(shared, values.images, io));
  if (typeof values.record === "string") sinks.push(writeRecording(shared, values.record, io));
  try {
    await readUntilDone(shared, io, (ev) => {
      if (ev.type !== "frame") return false;
      frames++;
      const latency = ev.producerTimestampMs === null ? null : Date.now() - ev.producerTimestampMs;
      io.out(
        json
          ? JSON.stringify({ type: "frame", track: ev.track, timestampMs: ev.timestampMs, keyframe: ev.keyframe, bytes: ev.size, latencyMs: latency })
          : `frame track ${ev.track} t=${ev.timestampMs.toFixed(0)} ms ${ev.keyframe ? "key " : ""}${ev.size} B${latency === null ? "" : ` latency ${latency} ms`}`,
      );
      return count !== undefined && frames >= count;
    });
    stop.next();
    await Promise.all(sinks);
  } catch (e) {
    for (const line of errorLines(e)) io.err(line);
    return 1;
  } finally {
    clients.destroy();
  }
  io.err(`${frames} frames, ${dropped} dropped`);
  return 0;
}

async function writeImages(source: Observable<StreamEvent>, dir: string, io: CliIo): Promise<void> {
  const { mkdirSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { images } = await import("../decode/images.js");
  mkdirSync(dir, { recursive: true });
  let n = 0;
  await new Promise<void>((resolve, reject) =>
    source.pipe(images({ format: "jpeg" })).subscribe({
      next: (img) => writeFileSync(join(dir, `${String(++n).padStart(6, "0")}.jpg`), img.data),
      error: reject,
      complete: () => {
        io.err(`${n} images in ${dir}`);
        resolve();
      },
    }),
  );
}

async function writeRecording(source: Observable<StreamEvent>, file: string, io: CliIo): Promise<void> {
  const { dirname, basename } = await import("node:path");
  const { record } = await import("../record/recorder.js");
  await new Promise<void>((resolve, reject) =>
    source.pipe(record({ dir: dirname(file), fileName: () => basename(file) })).subscribe({
      next: (f) => io.err(`recorded ${f.path}`),
      error: reject,
      complete: resolve,
    }),
  );
}

async function master(channel: string, values: Record<string, unknown>, io: CliIo): Promise<number> {
  const given = ["stream", "file", "ffmpeg"].filter((k) => typeof values[k] === "string");
  if (given.length !== 1) throw new UsageError("webrtc master takes one of --stream, --file and --ffmpeg");
  const clients = await clientsFor(values, io);
  const { webrtcMaster } = await import("../webrtc/master.js");
  let source: Observable<StreamEvent>;
  if (typeof values.stream === "string") {
    const { liveMedia } = await import("../aws/live-media.js");
    source = liveMedia(clients, values.stream, { from: parseFrom(values.from, "NOW"), signal: io.signal });
  } else if (typeof values.file === "string") {
    const { parseMkv } = await import("../rx/parse-mkv.js");
    source = parseMkv(openInput(values.file));
  } else {
    const { ffmpegMedia } = await import("../webrtc/ffmpeg-media.js");
    source = ffmpegMedia(String(values.ffmpeg).trim().split(/\s+/));
  }
  let code = 0;
  await new Promise<void>((resolve) => {
    webrtcMaster(clients, channel, source, { ...peerSettings(values), signal: io.signal }).subscribe({
      next: (s) => {
        if (s.type === "signaling") io.err(`signaling ${s.state} on ${channel}`);
        else if (s.type === "viewerJoined") io.out(`viewer ${s.viewer || "(storage session)"} joined: ${s.viewers} connected`);
        else if (s.type === "viewerLeft") io.out(`viewer ${s.viewer || "(storage session)"} left (${s.reason}): ${s.viewers} connected`);
        else if (s.type === "viewerRefused") io.err(`viewer ${s.viewer} refused: ${s.reason}`);
        else if (s.type === "trackLeftOut") io.err(`track ${s.track} (${s.codecId}) left out: ${s.reason}`);
        else if (s.type === "sourceEnded") io.out(`source ended: ${s.frames} frames sent`);
      },
      error: (e: unknown) => {
        for (const line of errorLines(e)) io.err(line);
        code = 1;
        resolve();
      },
      complete: resolve,
    });
    io.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  clients.destroy();
  return code;
}
