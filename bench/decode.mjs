// Decoding 720p H.264 with ffmpeg, three ways, side by side:
//  - kvs-parser's ImageDecoder: one long-lived ffmpeg per track, keyframes in, JPEGs out;
//  - spawn-per-keyframe: a new ffmpeg for each keyframe (Annex-B in, one JPEG out), what users write today;
//  - whole-fragment: a new ffmpeg per fragment, the fragment's MKV in, its first picture out (the Python
//    consumer library's way).
// Also: every frame decoded (gray pixels) in frames/s, two streams decoding at once against real time,
// and a slow subscriber (100 ms per image) whose RSS is sampled; no ffmpeg is left after unsubscribing.
//   node bench/decode.mjs FILE SECONDS_SLOW  → one JSON line
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { count, lastValueFrom } from "rxjs";
import { avccToAnnexB, KvsParser, parseAvcDecoderConfig, parseMkv } from "../dist/index.js";
import { findFfmpeg, ImageDecoder, images } from "../dist/decode/index.js";
import { pct } from "./child.mjs";

const [file, slowArg] = process.argv.slice(2);
const SLOW_SECONDS = Number(slowArg ?? 20);
const ffmpeg = findFfmpeg();
const bytes = new Uint8Array(readFileSync(file));

// The fragments: their tracks, frames (copied) and bytes.
const fragments = [];
{
  let frames = [];
  new KvsParser((ev) => {
    if (ev.type === "frame") frames.push(ev.copy());
    if (ev.type === "fragment") {
      fragments.push({ fragment: ev, frames, bytes: bytes.slice(ev.startOffset, ev.endOffset) });
      frames = [];
    }
  }).push(bytes);
}
const video = fragments[0].fragment.tracks.find((t) => t.kind === "video");
const frameRate = (() => {
  const ts = fragments.flatMap((f) => f.frames.filter((x) => x.track === video.number).map((x) => x.timestampMs));
  return (ts.length - 1) / ((ts.at(-1) - ts[0]) / 1000);
})();
const N = Math.min(fragments.length, Number(process.env.DECODE_FRAGMENTS ?? 40));
const log = (m) => process.stderr.write(`decode: ${m}\n`);
log(`${fragments.length} fragments, ${N - 1} timed`);

// 1. ImageDecoder: keyframe → JPEG.
const decoder = new ImageDecoder({ format: "jpeg", keyframesOnly: true });
const ours = [];
await decoder.keyframeImages(fragments[0]); // start-up
let t = performance.now();
for (const f of fragments.slice(1, N)) {
  const s = performance.now();
  const imgs = await decoder.keyframeImages(f);
  if (imgs.length > 0) ours.push((performance.now() - s) / imgs.length);
}
const oursPerSecond = ours.length / ((performance.now() - t) / 1000);
decoder.close();

log(`ImageDecoder ${ours.length} keyframes`);
// 2. A new ffmpeg per keyframe (Annex-B keyframe on stdin, one JPEG on stdout).
const run = (args, input) =>
  new Promise((resolve, reject) => {
    const p = spawn(ffmpeg, ["-hide_banner", "-loglevel", "error", ...args], { stdio: ["pipe", "pipe", "ignore"] });
    const out = [];
    p.stdout.on("data", (d) => out.push(d));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg exited ${code}`))));
    p.stdin.end(input);
  });
const spawned = [];
t = performance.now();
for (const f of fragments.slice(1, N)) {
  const key = f.frames.find((x) => x.track === video.number && x.keyframe);
  if (!key) continue;
  const s = performance.now();
  await run(
    ["-f", "h264", "-i", "pipe:0", "-frames:v", "1", "-f", "image2pipe", "-c:v", "mjpeg", "pipe:1"],
    avccToAnnexB(key.data, parseAvcDecoderConfig(video.codecPrivate), { parameterSets: true }),
  );
  spawned.push(performance.now() - s);
}
const spawnedPerSecond = spawned.length / ((performance.now() - t) / 1000);

log(`spawn per keyframe ${spawned.length}`);
// 3. A new ffmpeg per fragment, its MKV in, the first picture out.
const whole = [];
t = performance.now();
for (const f of fragments.slice(1, N)) {
  const s = performance.now();
  await run(["-f", "matroska", "-i", "pipe:0", "-frames:v", "1", "-f", "image2pipe", "-c:v", "mjpeg", "pipe:1"], f.bytes);
  whole.push(performance.now() - s);
}
const wholePerSecond = whole.length / ((performance.now() - t) / 1000);

log(`whole fragment ${whole.length}`);
// 4. Every frame, gray pixels: frames/s of one stream, then of two at once.
async function decodeAll() {
  const s = performance.now();
  const n = await lastValueFrom(parseMkv(bytes).pipe(images({ format: "gray" }), count()));
  return { frames: n, fps: n / ((performance.now() - s) / 1000) };
}
const one = await decodeAll();
log(`all frames ${one.frames} at ${one.fps.toFixed(0)} fps`);
const two = await Promise.all([decodeAll(), decodeAll()]);

// 5. A slow consumer: 100 ms per image for SLOW_SECONDS, the stream fed in 64 KiB chunks as fast as the
// decoder lets the reader go; RSS sampled every 500 ms.
const rss = [];
const sampler = setInterval(() => rss.push(process.memoryUsage().rss / 2 ** 20), 500);
const slowEnd = performance.now() + SLOW_SECONDS * 1000;
let slowImages = 0;
// 64 KiB chunks as a socket delivers them, the file over and over.
const endless = (async function* () {
  for (;;) for (let i = 0; i < bytes.length; i += 65536) yield bytes.subarray(i, i + 65536);
})();
// Pulled with iterate(): RxJS has no backpressure (a concatMap after images() queues what it is given),
// so a slow async consumer pulls; the decoder then holds parseMkv, and ffmpeg blocks on its pipes.
const slow = new ImageDecoder({ format: "jpeg", width: 640 });
for await (const _ of slow.iterate(parseMkv(endless))) {
  await new Promise((r) => setTimeout(r, 100));
  slowImages++;
  if (performance.now() > slowEnd) break;
}
clearInterval(sampler);
await new Promise((r) => setTimeout(r, 1000));
let leftover = 0;
try {
  leftover =
    execFileSync("pgrep", ["-c", "-P", String(process.pid)])
      .toString()
      .trim() * 1;
} catch {
  leftover = 0;
}
console.log(
  JSON.stringify({
    video: `${video.video?.pixelWidth}x${video.video?.pixelHeight} ${video.codecId}`,
    frameRate,
    keyframeToJpeg: {
      imageDecoder: { samples: ours.length, p50ms: pct(ours, 50), p99ms: pct(ours, 99), perSecond: oursPerSecond },
      spawnPerKeyframe: { samples: spawned.length, p50ms: pct(spawned, 50), p99ms: pct(spawned, 99), perSecond: spawnedPerSecond },
      wholeFragment: { samples: whole.length, p50ms: pct(whole, 50), p99ms: pct(whole, 99), perSecond: wholePerSecond },
    },
    allFrames: { one, two: two.map((x) => x.fps), realtimeFactorEachOfTwo: Math.min(...two.map((x) => x.fps)) / frameRate },
    slowSubscriber: {
      seconds: SLOW_SECONDS,
      images: slowImages,
      rssStartMB: rss[1] ?? rss[0],
      rssPeakMB: Math.max(...rss),
      rssEndMB: rss.at(-1),
      samples: rss,
      childProcessesLeft: leftover,
    },
  }),
);
process.exit(0);
