// Generates the bench inputs once into bench/cache (ffmpeg + ffprobe needed: apt-get install ffmpeg).
//   node bench/make-inputs.mjs [--quick]
// - h264-aac-720p.mkv: 720p H.264 + AAC from ffmpeg (~60 MB; --quick: ~10 MB), clusters every 300 ms
// - h264-aac-720p.getmedia.mkv: the same media in GetMedia form (one EBML document per cluster with KVS
//   tags, unknown-size Segments and Clusters), made with kvs-parser's toGetMediaForm
// - tiny-frames.mkv: 1.2 M SimpleBlocks of 8 bytes (synthetic, written with kvs-parser's EBML writer)
// and <input>.expected.json with the frame count and payload bytes (ffprobe's for the ffmpeg output).
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
  const out = execFileSync("ffprobe", ["-v", "error", "-show_entries", "packet=size", "-of", "csv=p=0", file], { encoding: "utf8", maxBuffer: 1 << 28 });
  const sizes = out.trim().split("\n").filter(Boolean).map(Number);
  return { frames: sizes.length, payloadBytes: sizes.reduce((a, b) => a + b, 0), source: "ffprobe -show_packets" };
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
