// The producer: PutMedia to the local endpoint (in a process of its own) over loopback.
//   node bench/produce.mjs FILE [--quick]  → one JSON line
// - latency: synthetic camera frames (30 fps, 1 s fragments) at 5× real time: the fragment's last frame in
//   (the Fragmenter hands the fragment out) → its PERSISTED acknowledgement, and → the same fragment's
//   event in a live GetMedia reader in this process;
// - cameras: N cameras of ~2 Mbit/s (30 fps, 1 s fragments) at real time from this one process: CPU, RSS,
//   fragments persisted and fragments lost;
// - throughput: FILE put at full speed (re-fragmented), MB/s.
import { createReadStream, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { KvsClients, liveMedia } from "../dist/aws/index.js";
import { Fragmenter, mkvSource, putMedia } from "../dist/produce/index.js";
import { forkChild, pct } from "./child.mjs";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const [file] = process.argv.slice(2);
const quick = process.argv.includes("--quick");
const { child: server, next } = forkChild(fileURLToPath(new URL("./produce-server-child.mjs", import.meta.url)));
const { endpoint } = await next((m) => m.endpoint);
const CAMERAS = quick ? 50 : 200;
server.send({ streams: CAMERAS });
await next((m) => m.ready);
const clients = new KvsClients({ region: "us-east-1", endpoint, credentials: { accessKeyId: "b", secretAccessKey: "b" } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const track = (n) => ({
  number: 1,
  uid: String(n + 1),
  kind: "video",
  typeCode: 1,
  codecId: "V_MPEG4/ISO/AVC",
  codecPrivate: Uint8Array.of(1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80),
  codecName: null,
  name: null,
  language: null,
  defaultDurationNs: null,
  codecDelayNs: null,
  seekPreRollNs: null,
  enabled: true,
  isDefault: true,
  lacing: false,
  contentEncodings: [],
  video: { pixelWidth: 1280, pixelHeight: 720, displayWidth: null, displayHeight: null, interlaced: null, frameRate: null },
  audio: null,
});

/** A camera: frames of `bytes` at `fps`, sped up `speed` times, for `seconds` of media; fragments as an async iterable. */
function camera(n, { fps, bytes, seconds, speed, onFragment }) {
  const fragmenter = new Fragmenter([track(n)], { fragmentDurationMs: 1000, startMs: Date.now() });
  const payload = new Uint8Array(bytes).fill(n & 0xff);
  return {
    header: () => fragmenter.header(),
    fragments: (async function* () {
      const started = performance.now();
      const frames = Math.round(fps * seconds);
      for (let i = 0; i < frames; i++) {
        const due = started + (i * 1000) / fps / speed - performance.now();
        if (due > 0) await sleep(due);
        const f = fragmenter.push({
          track: 1,
          timestampMs: (i * 1000) / fps,
          keyframe: i % fps === 0,
          data: i % fps === 0 ? new Uint8Array(bytes * 4) : payload,
        });
        if (f) {
          onFragment?.(f.timecodeMs, performance.now());
          yield f;
        }
      }
      const last = fragmenter.flush();
      if (last) {
        onFragment?.(last.timecodeMs, performance.now());
        yield last;
      }
    })(),
  };
}

const run = (stream, source, options = {}) =>
  new Promise((resolve, reject) => {
    const acks = [];
    let stats = null;
    putMedia(clients, stream, source, { retry: { baseMs: 50, maxMs: 500 }, ...options }).subscribe({
      next: (ev) => {
        if (ev.type === "ack") acks.push({ ...ev, at: performance.now() });
        if (ev.type === "done") stats = ev.stats;
      },
      error: reject,
      complete: () => resolve({ acks, stats }),
    });
  });

const out = { cameras: CAMERAS };
// ---- latency: fragment out of the Fragmenter → PERSISTED, and → a live reader's fragment event ----
{
  const made = new Map();
  const readAt = new Map();
  const reader = liveMedia(clients, "cam-0", { from: "NOW" }).subscribe((ev) => {
    if (ev.type === "fragment" && ev.producerTimestampMs !== null) readAt.set(Math.round(ev.producerTimestampMs), performance.now());
  });
  await sleep(500);
  const seconds = quick ? 60 : 200;
  const { acks } = await run("cam-0", camera(0, { fps: 30, bytes: 8000, seconds, speed: 5, onFragment: (tc, at) => made.set(tc, at) }));
  await sleep(1500);
  reader.unsubscribe();
  const persisted = acks.filter((a) => a.event === "PERSISTED").map((a) => a.at - made.get(a.fragmentTimecode));
  const read = [...made].filter(([tc]) => readAt.has(tc)).map(([tc, at]) => readAt.get(tc) - at);
  out.latency = {
    fragments: made.size,
    persistedP50ms: pct(persisted, 50),
    persistedP99ms: pct(persisted, 99),
    readP50ms: pct(read, 50),
    readP99ms: pct(read, 99),
    read: read.length,
  };
}
// ---- many cameras from one process, at real time ----
{
  const seconds = quick ? 10 : 20;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  const results = await Promise.all(
    Array.from({ length: CAMERAS - 1 }, (_, i) =>
      run(`cam-${i + 1}`, camera(i + 1, { fps: 30, bytes: 8000, seconds, speed: 1 })).catch((e) => ({ error: String(e) })),
    ),
  );
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  server.send({ count: CAMERAS });
  const { counted } = await next((m) => m.counted !== undefined);
  const expected = (CAMERAS - 1) * Math.ceil(seconds) + out.latency.fragments;
  out.many = {
    cameras: CAMERAS - 1,
    seconds,
    mbitPerCamera: (8000 * 8 * 30 * (1 + 3 / 30)) / 1e6,
    persisted: results.reduce((n, r) => n + (r.stats?.fragmentsPersisted ?? 0), 0),
    stored: counted - out.latency.fragments,
    expected: expected - out.latency.fragments,
    failed: results.filter((r) => r.error).length,
    cpuPercent: ((cpu.user + cpu.system) / 1e6 / wall) * 100,
    peakRssMB: peakRss / 1e6,
  };
}
// ---- a file at full speed ----
if (file) {
  const t0 = performance.now();
  const { stats } = await run("cam-0", mkvSource(createReadStream(file), { startMs: Date.now() + 3_600_000 }));
  const seconds = (performance.now() - t0) / 1000;
  out.throughput = { fileMB: statSync(file).size / 1e6, seconds, mbPerSecond: stats.bytesSent / 1e6 / seconds, fragments: stats.fragmentsPersisted };
}
clients.destroy();
server.send({ close: true });
console.log(JSON.stringify(out));
process.exit(0);
