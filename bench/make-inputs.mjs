// Generates the bench inputs once into bench/cache (ffmpeg + ffprobe needed: apt-get install ffmpeg).
//   node bench/make-inputs.mjs [--quick]
// - h264-aac-720p.mkv: 720p H.264 + AAC from ffmpeg (~60 MB; --quick: ~10 MB), GOP 9, clusters every 300 ms
// - h264-aac-720p.getmedia.mkv: the same media in GetMedia form (one EBML document per cluster with KVS
//   tags, unknown-size Segments and Clusters), made with kvs-parser's toGetMediaForm. 200 fragments of
//   300 ms: the memory, latency and decode sections read it (their figures stay comparable).
// - h264-aac-720p-1s.getmedia.mkv: GetMedia form as the service sends a camera's stream: 60 s of 720p30
//   H.264 (~8 Mbit/s, one keyframe a second) + AAC in 60 fragments of 1 s (--quick: 10 s, 10 fragments),
//   each its own EBML document with KVS tags. The throughput section's video input.
// - tiny-frames-167.getmedia.mkv: ~240,000 AAC frames of ~167 B (mono 48 kHz at 62 kbit/s, sizes
//   132–244 B as the encoder's bit reservoir makes them) in GetMedia form, 1 s fragments (~47 frames
//   each, ~5,100 fragments; --quick: ~24,000 frames): an audio-only or sensor-rate stream, where the cost
//   per frame and per fragment (Tracks and Tags again in every document) is what counts. A 256 s encode
//   (--quick: 64 s) is played again and again, each cluster moved on in time, as a camera loop does.
// - tiny-frames.mkv: 1.2 M SimpleBlocks of 8 bytes in one plain Segment (synthetic, written with
//   kvs-parser's EBML writer): the old tiny-frames input, kept for comparison (not in the default cases).
// and <input>.expected.json with the frame count and payload bytes: ffprobe's packets for the ffmpeg
// outputs, checked against mkvinfo -s where mkvinfo is installed (both read GetMedia form whole).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const quick = process.argv.includes("--quick");
const dir = fileURLToPath(new URL(`./cache/${quick ? "quick" : "full"}/`, import.meta.url));
mkdirSync(dir, { recursive: true });
const w = { ...(await import("../dist/ebml/index.js")), ...(await import("../dist/testing/index.js")) };

function need(tool) {
  try {
    execFileSync(tool, ["-version"], { stdio: "ignore" });
  } catch {
    throw new Error(`${tool} is needed to make the bench inputs: apt-get install ffmpeg`);
  }
}

function ffprobeTotals(file) {
  const out = execFileSync("ffprobe", ["-v", "error", "-show_entries", "packet=size", "-of", "csv=p=0", file], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
    stdio: ["ignore", "pipe", "ignore"], // GetMedia form: a line on stderr per document ("unknown-length element")
  });
  const sizes = out.trim().split("\n").filter(Boolean).map(Number);
  return { frames: sizes.length, payloadBytes: sizes.reduce((a, b) => a + b, 0), source: "ffprobe -show_packets" };
}

/** mkvinfo -s's totals (one line per frame: "I frame, track 1, timestamp …, size 245, adler …"), null without mkvinfo. */
function mkvinfoTotals(file) {
  let out;
  try {
    out = execFileSync("mkvinfo", ["-s", file], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] });
  } catch (e) {
    if (e.code === "ENOENT") return null;
    out = String(e.stdout ?? ""); // mkvinfo exits 1 after its resync warnings on GetMedia form; its frame lines are complete
  }
  let frames = 0;
  let payloadBytes = 0;
  for (const m of out.matchAll(/^\S+ frame, track \d+, .*?size (\d+)/gm)) {
    frames++;
    payloadBytes += Number(m[1]);
  }
  return { frames, payloadBytes };
}

/** ffprobe's totals, checked against mkvinfo's when mkvinfo is installed (they must agree). */
function checkedTotals(file) {
  const probe = ffprobeTotals(file);
  const info = mkvinfoTotals(file);
  if (info && (info.frames !== probe.frames || info.payloadBytes !== probe.payloadBytes))
    throw new Error(`${file}: ffprobe counts ${probe.frames} frames / ${probe.payloadBytes} B, mkvinfo ${info.frames} / ${info.payloadBytes}`);
  return { ...probe, source: info ? "ffprobe -show_packets = mkvinfo -s" : "ffprobe -show_packets (mkvinfo not installed)" };
}

/** Fragments (EBML documents) in a GetMedia-form file: EBML header IDs at top level, counted by kvs-parser's reader. */
function documentsOf(bytes) {
  let n = 0;
  const reader = new w.EbmlReader(
    { masterStart: (id) => void (id === w.ID.EBML && n++), masterEnd() {}, data() {}, skipped() {} },
    { wanted: new Set([w.ID.EBML]) },
  );
  reader.push(bytes);
  reader.end();
  return n;
}

/** Input files and their expected totals. */
export const inputs = {};

const video = join(dir, "h264-aac-720p.mkv");
if (!existsSync(video)) {
  need("ffmpeg");
  const seconds = quick ? 10 : 60;
  console.error(`making ${video} (${seconds} s of 720p)…`);
  execFileSync(
    "ffmpeg",
    [
      "-v",
      "error",
      "-y",
      "-threads",
      "2",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=1280x720:rate=30:duration=${seconds}`,
      "-f",
      "lavfi",
      "-i",
      `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-b:v",
      "8M",
      "-maxrate",
      "8M",
      "-bufsize",
      "4M",
      "-g",
      "9",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-b:a",
      "128k",
      "-ac",
      "2",
      "-cluster_time_limit",
      "300",
      "-cluster_size_limit",
      "16000000",
      video,
    ],
    { stdio: "inherit" },
  );
}
inputs["720p H.264+AAC (plain MKV)"] = { file: video, expected: cachedTotals(video, () => ffprobeTotals(video)) };

const getmedia = join(dir, "h264-aac-720p.getmedia.mkv");
const TINY_ONLY = process.env.BENCH_SKIP_GETMEDIA === "1";
if (!TINY_ONLY && !existsSync(getmedia)) {
  writeFileSync(getmedia, w.toGetMediaForm(new Uint8Array(readFileSync(video)), { unknownSizeClusters: true }));
}
if (!TINY_ONLY) inputs["720p H.264+AAC (GetMedia form)"] = { file: getmedia, expected: cachedTotals(video, () => ffprobeTotals(video)) };

// GetMedia form as the service sends a camera's stream: 1 s fragments (a keyframe a second, the cluster
// cut at each), each its own document with KVS tags.
const video1s = join(dir, "h264-aac-720p-1s.mkv");
const getmedia1s = join(dir, "h264-aac-720p-1s.getmedia.mkv");
if (!existsSync(getmedia1s)) {
  need("ffmpeg");
  const seconds = quick ? 10 : 60;
  console.error(`making ${getmedia1s} (${seconds} s of 720p30, 1 s fragments)…`);
  // biome-ignore format: ffmpeg's options in pairs
  const args = ["-v", "error", "-y", "-threads", "2",
    "-f", "lavfi", "-i", `testsrc2=size=1280x720:rate=30:duration=${seconds}`,
    "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M", "-maxrate", "8M", "-bufsize", "8M",
    "-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
    "-c:a", "aac", "-b:a", "128k", "-ac", "2",
    // ffmpeg starts a cluster at each keyframe (after 4 KiB); the limits only keep it from cutting sooner
    "-cluster_time_limit", "2000", "-cluster_size_limit", "64000000", video1s];
  execFileSync("ffmpeg", args, { stdio: "inherit" });
  const gm = w.toGetMediaForm(new Uint8Array(readFileSync(video1s)), { unknownSizeClusters: true });
  writeFileSync(getmedia1s, gm);
  writeFileSync(`${getmedia1s}.expected.json`, JSON.stringify({ ...checkedTotals(getmedia1s), fragments: documentsOf(gm) }));
}
inputs["720p H.264+AAC (GetMedia form, 1 s fragments)"] = { file: getmedia1s, expected: JSON.parse(readFileSync(`${getmedia1s}.expected.json`, "utf8")) };

// ~240,000 AAC frames of ~167 B in GetMedia form, 1 s fragments: a short encode played as a loop.
const tiny167 = join(dir, "tiny-frames-167.getmedia.mkv");
if (!existsSync(tiny167)) {
  need("ffmpeg");
  const clip = join(dir, "aac-62k-mono.mkv");
  const seconds = quick ? 64 : 256;
  const target = quick ? 24_000 : 240_000;
  console.error(`making ${tiny167} (~${target} frames of ~167 B)…`);
  // biome-ignore format: ffmpeg's options in pairs
  const args = ["-v", "error", "-y",
    "-f", "lavfi", "-i", `anoisesrc=sample_rate=48000:amplitude=0.3:color=pink:seed=7:duration=${seconds}`,
    "-c:a", "aac", "-b:a", "62k", "-ac", "1", "-cluster_time_limit", "1000", clip];
  execFileSync("ffmpeg", args, { stdio: "inherit" });
  const clusters = w.splitClusters(new Uint8Array(readFileSync(clip)));
  const blocksIn = (body) => {
    let n = 0;
    for (let at = 0; at < body.length; ) {
      const il = Math.clz32(body[at]) - 23;
      const sl = Math.clz32(body[at + il]) - 23;
      let size = body[at + il] & (0xff >> sl);
      for (let k = 1; k < sl; k++) size = size * 256 + body[at + il + k];
      if (il === 1 && body[at] === w.ID.SimpleBlock) n++;
      at += il + sl + size;
    }
    return n;
  };
  const lengthMs = seconds * 1000; // each loop starts where the clip ends
  const start = 1_700_000_000_000;
  const parts = [];
  let frames = 0;
  for (let k = 0; frames < target; k++) {
    const loop = Math.floor(k / clusters.length);
    const c = w.shiftCluster(clusters[k % clusters.length], loop * lengthMs);
    frames += blocksIn(c.clusterBody);
    parts.push(
      w.writeKvsFragment(
        c,
        { fragmentNumber: w.syntheticFragmentNumber(k), serverTimestampMs: start + c.timestampMs, producerTimestampMs: c.timestampMs, millisBehindNow: 0 },
        { unknownSizeCluster: true },
      ),
    );
  }
  writeFileSync(tiny167, w.concatBytes(parts));
  const totals = checkedTotals(tiny167);
  if (totals.frames !== frames) throw new Error(`${tiny167}: ${frames} frames written, ${totals.frames} read by ffprobe`);
  writeFileSync(`${tiny167}.expected.json`, JSON.stringify({ ...totals, fragments: parts.length }));
}
inputs["~167 B AAC frames (GetMedia form, 1 s fragments)"] = { file: tiny167, expected: JSON.parse(readFileSync(`${tiny167}.expected.json`, "utf8")) };

const tiny = join(dir, "tiny-frames.mkv");
if (!existsSync(tiny)) {
  const parts = [
    w.element(w.ID.EBML, [w.stringElement(w.ID.DocType, "matroska"), w.uintElement(w.ID.DocTypeVersion, 4)]),
    w.unknownSizeHeader(w.ID.Segment),
    w.element(w.ID.Info, [w.uintElement(w.ID.TimestampScale, 1_000_000)]),
    // 16-bit mono PCM at 8 kHz: every 8-byte frame is 4 samples (a track every peer can read).
    w.element(w.ID.Tracks, [
      w.element(w.ID.TrackEntry, [
        w.uintElement(w.ID.TrackNumber, 1),
        w.uintElement(w.ID.TrackUID, 1),
        w.uintElement(w.ID.TrackType, 2),
        w.stringElement(w.ID.CodecID, "A_PCM/INT/LIT"),
        w.element(w.ID.Audio, [w.floatElement(w.ID.SamplingFrequency, 8000), w.uintElement(w.ID.Channels, 1), w.uintElement(w.ID.BitDepth, 16)]),
      ]),
    ]),
  ];
  const payload = new Uint8Array([0x81, 0, 0, 0x80, 1, 2, 3, 4, 5, 6, 7, 8]);
  const block = w.element(w.ID.SimpleBlock, payload);
  const perCluster = 1000;
  const clusters = quick ? 300 : 1200;
  for (let c = 0; c < clusters; c++) {
    const blocks = new Uint8Array(block.length * perCluster);
    for (let i = 0; i < perCluster; i++) blocks.set(block, i * block.length);
    parts.push(w.element(w.ID.Cluster, [w.uintElement(w.ID.Timestamp, c * 1000), blocks]));
  }
  writeFileSync(tiny, w.concatBytes(parts));
  writeFileSync(`${tiny}.expected.json`, JSON.stringify({ frames: clusters * perCluster, payloadBytes: clusters * perCluster * 8, source: "generator" }));
}
inputs["tiny frames (8 B PCM)"] = { file: tiny, expected: JSON.parse(readFileSync(`${tiny}.expected.json`, "utf8")) };

function cachedTotals(file, make) {
  const f = `${file}.expected.json`;
  if (!existsSync(f)) writeFileSync(f, JSON.stringify(make()));
  return JSON.parse(readFileSync(f, "utf8"));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(inputs, null, 1));
