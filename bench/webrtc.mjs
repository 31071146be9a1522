// WebRTC figures, one JSON line (the webrtc section of run.mjs):
//   1. Latency on loopback, one master → one Node viewer: master sent → the viewer's Frame at the
//      subscriber's `next`, video frames, p50/p99/max, by two clocks:
//      - the side channel: the master process stamps when each video frame's last packet (the marker) is
//        handed to werift's RTCRtpSender (dispatchRtp wrapped), per RTP timestamp; the viewer process notes
//        each frame's RTP timestamp (RtpTrackReader.prototype.frame wrapped) and when `next` got it. Every
//        frame, the first ones (JIT, first keyframe) too; also without the viewer's first second;
//      - the frame's producerTimestampMs (the master's wall clock through its RTCP Sender Reports): from the
//        first report on (~0.5–1.5 s in), and relative to when the Sender Report's own frame went out, so
//        it hides a master that falls behind its pacing (the side channel does not).
//      Both processes stamp performance.timeOrigin + performance.now(), as the master's Sender Reports do.
//      Beside it GetMedia for the same media through the local endpoint (its own process, as in
//      service.mjs): 1 s fragments appended as each completes; fragment appended → frame event, and the
//      frame's media time (paced live from the same start) → frame event, which adds the wait for its
//      fragment to complete: what a GetMedia reader sees of a live camera, against WebRTC's per-frame path.
//   2. One master, 10 Node viewers (10 webrtcViewers in one viewer process): master process CPU per second
//      of media and RSS (idle after connecting → peak while sending), viewer process the same; every
//      viewer's video and audio frame counts checked against the source.
//   3. 50 channels: 50 masters in one process, one viewer each (50 webrtcViewers) in another; the sources
//      start spread over one second (a GOP), as independent cameras' keyframes are.
// In every scenario the local endpoint, the masters and the viewers are three processes; each viewer is
// connected before the sources start (each source waits for a message), so every viewer can get every
// frame. Each scenario run is a child process of this one (node bench/webrtc.mjs --scenario NAME);
// rounds interleave the scenarios; figures are medians (min–max) over rounds. Media (made once with
// ffmpeg into bench/cache/webrtc/): 720p25 H.264 constrained baseline at ~2 Mbit/s (GOP 25) + Opus, and
// the same at 320x240 ~300 kbit/s for the 50 channels (tried at 720p: the masters' process took a whole
// core and the viewers lost most frames); the first 20 s (--quick: 5 s and 1 round; full: 3 rounds).
//   node bench/webrtc.mjs [--quick] [--rounds N] [--seconds S]       → one JSON line
//   node bench/webrtc.mjs --scenario latency|getmedia|fanout|channels [--seconds S] [--input 720p|240p]
//        [--viewers N] [--channels N]                                  → one run, one JSON line
//   WEBRTC_DUMP=file: a WebRTC run also writes every stamp and frame time there; WEBRTC_SETTLE=ms: the wait
//   between the last viewer joining and the sources starting (default 500).
import { execFile, execFileSync, fork } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pct } from "./child.mjs";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const SECONDS = Number(opt("--seconds", quick ? 5 : 20));
const ROUNDS = Number(opt("--rounds", quick ? 1 : 3));
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TARGET_P99_MS = 100;
const FANOUT_VIEWERS = Number(opt("--viewers", 10));
const CHANNELS = Number(opt("--channels", 50));

/** The bench's media, made once into bench/cache/webrtc/: 20 s of H.264 constrained baseline (25 fps, a keyframe a second, a cluster each) + Opus. */
const MEDIA = {
  "720p": { size: "1280x720", bitrate: "2M", description: "720p25 H.264 constrained baseline, ~2 Mbit/s, GOP 25 + Opus 64 kbit/s" },
  "240p": { size: "320x240", bitrate: "300k", description: "320x240 25 fps H.264 constrained baseline, ~300 kbit/s, GOP 25 + Opus 64 kbit/s" },
};
function ensureInput(name) {
  const m = MEDIA[name];
  const dir = here("./cache/webrtc/");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `h264-opus-${name}25-20s.mkv`);
  if (!existsSync(file)) {
    process.stderr.write(`making ${file}…\n`);
    // biome-ignore format: ffmpeg's options in pairs
    const args = ["-v", "error", "-y", "-threads", "2",
      "-f", "lavfi", "-i", `testsrc2=size=${m.size}:rate=25:duration=20`,
      "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=20",
      "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline", "-bf", "0", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
      "-b:v", m.bitrate, "-maxrate", m.bitrate, "-bufsize", m.bitrate, "-pix_fmt", "yuv420p",
      "-c:a", "libopus", "-b:a", "64k", "-ac", "2",
      "-cluster_time_limit", "2000", "-cluster_size_limit", "64000000", `${file}.tmp.mkv`];
    execFileSync("ffmpeg", args, { stdio: "inherit" });
    renameSync(`${file}.tmp.mkv`, file);
  }
  return file;
}

/** A child process whose messages are kept, so none is missed between waits. */
function proc(script) {
  const child = fork(here(script), [], { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "1" } });
  const messages = [];
  const waiters = new Set();
  let exited = null;
  child.on("message", (m) => {
    messages.push(m);
    for (const w of [...waiters]) w();
  });
  child.on("exit", (code, signal) => {
    exited = `${script} exited (${code ?? signal})`;
    for (const w of [...waiters]) w();
  });
  /** The first message (kept or to come) that `pred` accepts; fails after `timeoutMs` or when the child exits. */
  const wait = (pred, timeoutMs = 30_000, what = "a message") =>
    new Promise((resolve, reject) => {
      const check = () => {
        const m = messages.find(pred);
        if (m !== undefined) {
          done();
          resolve(m);
        } else if (exited) {
          done();
          reject(new Error(`${exited} before ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${script}: no ${what} after ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const send = (m) => {
    if (child.connected) child.send(m);
  };
  const kill = () => {
    if (exited === null) child.kill("SIGKILL");
  };
  return { child, messages, wait, send, kill };
}

const summary = (xs) => (xs.length ? { n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) } : { n: 0, p50: null, p99: null, max: null });
const spread = (xs) => {
  const v = xs.filter((x) => typeof x === "number" && !Number.isNaN(x));
  return v.length ? { n: v.length, median: pct(v, 50), min: Math.min(...v), max: Math.max(...v) } : null;
};

/** UDP datagrams the kernel dropped for a full receive buffer, machine-wide (Linux /proc/net/snmp; null elsewhere). */
function udpRcvbufErrors() {
  try {
    const [names, values] = readFileSync("/proc/net/snmp", "utf8")
      .split("\n")
      .filter((l) => l.startsWith("Udp:"))
      .map((l) => l.split(/\s+/));
    return Number(values[names.indexOf("RcvbufErrors")]);
  } catch {
    return null;
  }
}

/** The counts a viewer must get: the video and audio frames of the first `seconds` of the file. */
async function expectedOf(file, seconds) {
  const { lastValueFrom, toArray } = await import("rxjs");
  const { parseMkv } = await import("../dist/index.js");
  const all = await lastValueFrom(parseMkv(new Uint8Array(readFileSync(file))).pipe(toArray()));
  const video = all.find((e) => e.type === "tracks").tracks.find((t) => t.kind === "video").number;
  const frames = all.filter((e) => e.type === "frame");
  const first = Math.min(...frames.map((f) => f.timestampMs));
  const kept = frames.filter((f) => f.timestampMs - first < seconds * 1000);
  return { videoTrack: video, video: kept.filter((f) => f.track === video).length, audio: kept.filter((f) => f.track !== video).length };
}

/** `channels` masters in one process, `perChannel` viewers of each in another, the endpoint in a third. */
async function webrtcRun({ media, channels, perChannel, staggerMs }) {
  const file = ensureInput(media);
  const procs = [];
  const problems = [];
  try {
    const ep = proc("./webrtc-endpoint.mjs");
    procs.push(ep);
    const { endpoint } = await ep.wait((m) => m.endpoint, 30_000, "endpoint");
    const names = Array.from({ length: channels }, (_, i) => `bench-${i}`);
    ep.send({ channels: names });
    await ep.wait((m) => m.ready, 30_000, "channels");
    const master = proc("./webrtc-master.mjs");
    procs.push(master);
    master.send({ init: { endpoint, channels: names, file, seconds: SECONDS, staggerMs } });
    const { expected } = await master.wait((m) => m.expected, 60_000, "the parsed source");
    await master.wait((m) => m.ready, 60_000, "every master's signaling open");
    const viewer = proc("./webrtc-viewer.mjs");
    procs.push(viewer);
    const t0 = performance.now();
    viewer.send({ init: { endpoint, channels: names, perChannel, seconds: SECONDS } });
    const want = channels * perChannel;
    await master.wait((m) => m.joined === want, 30_000 + want * 1000, `${want} viewers joined`).catch((e) => problems.push(e.message));
    const connectSeconds = (performance.now() - t0) / 1000;
    const joined = Math.max(0, ...master.messages.filter((m) => m.joined).map((m) => m.joined));
    await sleep(Number(process.env.WEBRTC_SETTLE ?? 500)); // the last to join settles (its data channel, first RTCP)
    const drops0 = udpRcvbufErrors();
    viewer.send({ start: true });
    master.send({ start: true });
    const { done, failed } = await master.wait((m) => m.done || m.failed, (SECONDS + 60) * 1000 + channels * staggerMs, "every source ended");
    if (failed) throw new Error(`a master failed: ${failed}`);
    viewer.send({ ended: true });
    await sleep(1000); // the last frames reach the viewers
    viewer.send({ stop: true });
    const { result } = await viewer.wait((m) => m.result, 60_000, "the viewers' figures");
    const udpDrops = drops0 === null ? null : udpRcvbufErrors() - drops0;
    if (udpDrops) problems.push(`the kernel dropped ${udpDrops} UDP datagrams for full receive buffers while the media played (machine-wide)`);
    master.send({ close: true });
    ep.send({ close: true });

    const sentAt = new Map(done.stamps);
    // WEBRTC_DUMP=file: every stamp and frame time of the run, to look into one.
    if (process.env.WEBRTC_DUMP) writeFileSync(process.env.WEBRTC_DUMP, JSON.stringify({ stamps: done.stamps, viewers: result.viewers }));
    const perViewer = result.viewers.map((v) => {
      const sr = v.frames.filter((f) => f[2] !== null).map(([, at, p]) => at - p);
      const side = [];
      const sideSteady = [];
      const steadyFrom = (v.frames[0]?.[1] ?? 0) + 1000; // after the viewer's first second of frames (JIT, first keyframe)
      let unmatched = 0;
      for (const [ts, at] of v.frames) {
        const s = sentAt.get(ts);
        if (s) {
          side.push(at - s[0]);
          if (at >= steadyFrom) sideSteady.push(at - s[0]);
        } else unmatched++;
      }
      // The two clocks on the same frames: the Sender Report mapping's error, as the side channel sees it.
      const both = v.frames.filter((f) => f[2] !== null && sentAt.has(f[0])).map(([ts, , p]) => p - sentAt.get(ts)[0]);
      const complete = v.video === expected.video && v.audio === expected.audio;
      if (!complete) problems.push(`${v.id}: ${v.video}/${expected.video} video, ${v.audio}/${expected.audio} audio frames`);
      if (v.error) problems.push(`${v.id}: ${v.error}`);
      for (const r of v.peerFailedReasons) problems.push(`${v.id}: peer connection failed at ${r}`);
      return { ...v, frames: undefined, sr, side, sideSteady, both, unmatched, complete };
    });
    const all = (k) => perViewer.flatMap((v) => v[k]);
    const mediaSeconds = SECONDS;
    if (done.status.errors.length) problems.push(...done.status.errors.map((e) => `master: ${e}`));
    if (done.status.refused.length) problems.push(`${done.status.refused.length} offers refused: ${done.status.refused[0].reason}`);
    return {
      channels,
      perChannel,
      seconds: SECONDS,
      staggerMs,
      expected,
      joined,
      connectSeconds,
      // Each viewer's time from its process's start to its peer connection up.
      viewerSignalingOpenAfterMs: spread(perViewer.map((v) => v.signalingOpenAfterMs)),
      viewerConnectedAfterMs: spread(perViewer.map((v) => v.connectedAfterMs)),
      viewersComplete: perViewer.filter((v) => v.complete).length,
      viewers: perViewer.length,
      videoPerViewer: spread(perViewer.map((v) => v.video)),
      audioPerViewer: spread(perViewer.map((v) => v.audio)),
      latency: {
        sr: summary(all("sr")),
        side: summary(all("side")),
        sideSteady: summary(all("sideSteady")),
        srMinusSide: summary(all("both")),
        unmappedFrames: perViewer.reduce((n, v) => n + v.unmapped, 0),
        unmatchedFrames: perViewer.reduce((n, v) => n + v.unmatched, 0),
        perViewerP99Side: spread(perViewer.map((v) => pct(v.side, 99))),
        perViewerP99Sr: spread(perViewer.map((v) => pct(v.sr, 99))),
      },
      drops: perViewer.reduce((a, v) => {
        for (const [k, n] of Object.entries(v.dropped)) a[k] = (a[k] ?? 0) + n;
        return a;
      }, {}),
      peerFailed: perViewer.reduce((n, v) => n + v.peerFailed, 0),
      keyframeRequests: done.status.keyframeRequests,
      master: {
        cpuMsPerMediaSecond: done.cpuMs / mediaSeconds,
        cpuPercent: (100 * done.cpuMs) / done.wallMs,
        idleRssMB: done.idleRssMB,
        peakRssMB: done.peakRssMB,
        framesSent: done.status.sent,
      },
      viewerProcess: {
        cpuMsPerMediaSecond: result.cpuMs / mediaSeconds,
        cpuPercent: (100 * result.cpuMs) / result.wallMs,
        idleRssMB: result.idleRssMB,
        peakRssMB: result.peakRssMB,
      },
      // RTP packets handed to the masters' senders (every viewer's) and reaching the viewers' track readers (retransmissions too).
      packets: { sent: done.packetsSent, received: result.packetsReceived, udpRcvbufErrors: udpDrops },
      loadAverage: loadavg()[0],
      problems,
    };
  } catch (e) {
    return { ok: false, error: String(e.message), problems };
  } finally {
    await sleep(300);
    for (const p of procs) p.kill();
  }
}

/** The same media as 1 s fragments through the local endpoint's GetMedia, appended live as each completes. */
async function getMediaRun({ media }) {
  const file = ensureInput(media);
  const procs = [];
  try {
    const expected = await expectedOf(file, SECONDS);
    const ep = proc("./webrtc-endpoint.mjs");
    procs.push(ep);
    const { endpoint } = await ep.wait((m) => m.endpoint, 30_000, "endpoint");
    ep.send({ stream: "bench", file, seconds: SECONDS });
    const { clusters } = await ep.wait((m) => m.ready, 30_000, "the stream");
    const reader = proc("./webrtc-getmedia.mjs");
    procs.push(reader);
    reader.send({ init: { endpoint, stream: "bench" } });
    await reader.wait((m) => m.ready, 30_000, "GetMedia connected");
    await sleep(300);
    ep.send({ play: true });
    const { t0, firstMs } = await ep.wait((m) => m.t0 !== undefined, 10_000, "play");
    await ep.wait((m) => m.played, (SECONDS + 30) * 1000, "every cluster appended");
    await sleep(1500);
    reader.send({ stop: true });
    const { result } = await reader.wait((m) => m.result, 30_000, "the reader's frames");
    ep.send({ close: true });
    const appendedAt = new Map(ep.messages.filter((m) => m.appended).map((m) => [m.appended, m.at]));
    const video = result.frames.filter(([track]) => track === expected.videoTrack);
    const appended = video.filter((f) => appendedAt.has(f[2])).map(([, , n, at]) => at - appendedAt.get(n));
    const media = video.map(([, ts, , at]) => at - (t0 + ts - firstMs));
    return {
      seconds: SECONDS,
      fragments: clusters,
      expected,
      video: video.length,
      audio: result.frames.length - video.length,
      appended: summary(appended),
      media: summary(media),
      error: result.error,
    };
  } catch (e) {
    return { ok: false, error: String(e.message) };
  } finally {
    await sleep(300);
    for (const p of procs) p.kill();
  }
}

/** Each scenario: what it runs, on which media (50 channels of 720p saturate the masters' process: they run 240p). */
const SCENARIOS = {
  latency: { media: "720p", run: (media) => webrtcRun({ media, channels: 1, perChannel: 1, staggerMs: 0 }) },
  getmedia: { media: "720p", run: (media) => getMediaRun({ media }) },
  fanout: { media: "720p", run: (media) => webrtcRun({ media, channels: 1, perChannel: FANOUT_VIEWERS, staggerMs: 0 }) },
  // Starts spread over one GOP, as independent cameras' keyframes are.
  channels: { media: "240p", run: (media) => webrtcRun({ media, channels: CHANNELS, perChannel: 1, staggerMs: 1000 / CHANNELS }) },
};

if (argv.includes("--scenario")) {
  const name = opt("--scenario");
  const s = SCENARIOS[name];
  const out = await s.run(opt("--input", s.media));
  console.log(JSON.stringify(out));
  process.exit(0);
}

// ---- Every scenario, each run in a child process of its own, rounds interleaved ---------------------
const run = promisify(execFile);
async function scenario(name) {
  const args = [here("./webrtc.mjs"), "--scenario", name, "--seconds", String(SECONDS), "--viewers", String(FANOUT_VIEWERS), "--channels", String(CHANNELS)];
  try {
    const { stdout } = await run(process.execPath, args, {
      timeout: 240_000,
      maxBuffer: 1 << 26,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "1" },
    });
    return JSON.parse(stdout.trim().split("\n").pop());
  } catch (e) {
    return { ok: false, error: e.killed ? "timeout after 240 s" : String(e.message).split("\n").slice(0, 2).join(" ") };
  }
}

const media = {};
for (const name of new Set(Object.values(SCENARIOS).map((s) => s.media)))
  media[name] = { description: MEDIA[name].description, file: ensureInput(name), expected: await expectedOf(ensureInput(name), SECONDS) };
const runs = { latency: [], getmedia: [], fanout: [], channels: [] };
for (let r = 0; r < ROUNDS; r++)
  for (const name of Object.keys(runs)) {
    process.stderr.write(`webrtc: ${name}, round ${r + 1}/${ROUNDS}\n`);
    runs[name].push(await scenario(name));
  }
const ok = (xs) => xs.filter((x) => x.ok !== false);
const over = (xs, f) => spread(ok(xs).map(f));
const webrtcSummary = (name) => {
  const xs = runs[name];
  return {
    media: SCENARIOS[name].media,
    channels: ok(xs)[0]?.channels ?? null,
    perChannel: ok(xs)[0]?.perChannel ?? null,
    srP50: over(xs, (x) => x.latency.sr.p50),
    srP99: over(xs, (x) => x.latency.sr.p99),
    srMax: over(xs, (x) => x.latency.sr.max),
    sideP50: over(xs, (x) => x.latency.side.p50),
    sideP99: over(xs, (x) => x.latency.side.p99),
    sideSteadyP99: over(xs, (x) => x.latency.sideSteady.p99),
    sideMax: over(xs, (x) => x.latency.side.max),
    srMinusSideP50: over(xs, (x) => x.latency.srMinusSide.p50),
    srMinusSideP99: over(xs, (x) => x.latency.srMinusSide.p99),
    framesSr: over(xs, (x) => x.latency.sr.n),
    framesSide: over(xs, (x) => x.latency.side.n),
    viewersComplete: over(xs, (x) => x.viewersComplete),
    viewers: over(xs, (x) => x.viewers),
    allComplete: ok(xs).length > 0 && ok(xs).every((x) => x.viewersComplete === x.viewers),
    masterCpuMsPerMediaSecond: over(xs, (x) => x.master.cpuMsPerMediaSecond),
    masterIdleRssMB: over(xs, (x) => x.master.idleRssMB),
    masterPeakRssMB: over(xs, (x) => x.master.peakRssMB),
    viewerCpuMsPerMediaSecond: over(xs, (x) => x.viewerProcess.cpuMsPerMediaSecond),
    viewerIdleRssMB: over(xs, (x) => x.viewerProcess.idleRssMB),
    viewerPeakRssMB: over(xs, (x) => x.viewerProcess.peakRssMB),
    connectSeconds: over(xs, (x) => x.connectSeconds),
    videoPerViewerMin: over(xs, (x) => x.videoPerViewer?.min),
    videoPerViewerMax: over(xs, (x) => x.videoPerViewer?.max),
    // Spread over the viewers of a run (medians over rounds): each viewer's own p99, side channel.
    perViewerP99SideMedian: over(xs, (x) => x.latency.perViewerP99Side?.median),
    perViewerP99SideMin: over(xs, (x) => x.latency.perViewerP99Side?.min),
    perViewerP99SideMax: over(xs, (x) => x.latency.perViewerP99Side?.max),
    viewerConnectedAfterMsMin: over(xs, (x) => x.viewerConnectedAfterMs?.min),
    viewerConnectedAfterMsMedian: over(xs, (x) => x.viewerConnectedAfterMs?.median),
    audioPerViewerMin: over(xs, (x) => x.audioPerViewer?.min),
    loadAverage: over(xs, (x) => x.loadAverage),
    problems: xs.flatMap((x) => (x.ok === false ? [x.error] : x.problems)).slice(0, 5),
    failedRuns: xs.length - ok(xs).length,
  };
};
const latency = webrtcSummary("latency");
const gm = runs.getmedia;
const out = {
  quick,
  seconds: SECONDS,
  rounds: ROUNDS,
  media,
  targetP99Ms: TARGET_P99_MS,
  latency: {
    webrtc: latency,
    getMedia: {
      media: SCENARIOS.getmedia.media,
      appendedP50: over(gm, (x) => x.appended.p50),
      appendedP99: over(gm, (x) => x.appended.p99),
      appendedMax: over(gm, (x) => x.appended.max),
      mediaP50: over(gm, (x) => x.media.p50),
      mediaP99: over(gm, (x) => x.media.p99),
      mediaMax: over(gm, (x) => x.media.max),
      frames: over(gm, (x) => x.video),
      expectedFrames: ok(gm)[0]?.expected.video ?? null,
      problems: gm.flatMap((x) => (x.ok === false ? [x.error] : x.error ? [x.error] : [])),
      failedRuns: gm.length - ok(gm).length,
    },
    // p99 over every video frame (warm-up included) in every round, by both clocks.
    met: latency.sideP99 !== null && latency.srP99 !== null && latency.sideP99.max < TARGET_P99_MS && latency.srP99.max < TARGET_P99_MS,
  },
  fanOut: webrtcSummary("fanout"),
  channels: webrtcSummary("channels"),
  runs,
};
console.log(JSON.stringify(out));
