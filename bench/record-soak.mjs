// Record soak: MINUTES of media from a live local stream (a camera appending the committed 2 s H.264+AAC
// clip as fragments of ~0.5 s, SPEEDUP times faster than real time), a fault every 30 s of media (reset,
// truncate, corrupt, cut block, 5xx), recorded with liveMedia(keepBytes) → record() into 1-minute files.
// Checked: the files together hold every source frame exactly once (track, time, flags and payload hash;
// a file's times start at 0, as record() writes them, so its startMs is added back),
// each file's packets as ffprobe counts them equal its frame count; RSS sampled every 250 ms.
//   node bench/record-soak.mjs [MINUTES=10] [SPEEDUP=12]  → one JSON line
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lastValueFrom, takeWhile, toArray } from "rxjs";
import { KvsClients, liveMedia } from "../dist/aws/index.js";
import { KvsParser } from "../dist/index.js";
import { record } from "../dist/record/index.js";
import { startCamera, startLocalKvs, writeKvsFragment } from "../dist/testing/index.js";

const MINUTES = Number(process.argv[2] ?? 10);
const SPEEDUP = Number(process.argv[3] ?? 12);
const clip = new Uint8Array(readFileSync(fileURLToPath(new URL("../fixtures/generated/h264_aac_live.mkv", import.meta.url))));
const FRAGMENT_MS = 500; // the clip's clusters are ~0.5 s apart
const fragments = Math.round((MINUTES * 60_000) / FRAGMENT_MS);

const kvs = await startLocalKvs({ catchUpFragmentsPerSecond: Number.POSITIVE_INFINITY, idleEndMs: 300 });
const clients = new KvsClients({ region: "us-east-1", endpoint: kvs.endpoint, credentials: { accessKeyId: "b", secretAccessKey: "b" } });
const dir = mkdtempSync(join(tmpdir(), "kvs-record-soak-"));
const rss = [];
const sampler = setInterval(() => rss.push(process.memoryUsage().rss / 2 ** 20), 250);
const t0 = performance.now();
const camera = startCamera(kvs, "cam", clip, { intervalMs: FRAGMENT_MS / SPEEDUP, fragments });
const stopFaults = kvs.randomFaults({ seed: 11, everyMs: 30_000 / SPEEDUP, kinds: ["reset", "truncate", "corrupt", "cutBlock", "http5xx"] });
const lastFragment = () => kvs.fragments("cam")[fragments - 1]?.fragmentNumber;
const files = await lastValueFrom(
  liveMedia(clients, "cam", { from: "EARLIEST", keepBytes: true, retry: { baseMs: 20, maxMs: 200, limitBaseMs: 50 } }).pipe(
    takeWhile((ev) => !(ev.type === "fragment" && ev.fragmentNumber === lastFragment()), true),
    record({ dir, maxDurationMs: 60_000 }),
    toArray(),
  ),
);
await camera.done;
const seconds = (performance.now() - t0) / 1000;
stopFaults();
clearInterval(sampler);

const key = (f, baseMs) => `${f.track}/${f.timestampMs + baseMs}/${f.keyframe ? 1 : 0}/${createHash("sha1").update(f.data).digest("base64")}`;
/** The frames of an MKV as keys; `baseMs` is added to their times (a recording's file starts at 0, its startMs in stream time). */
const framesOf = (bytes, baseMs = 0) => {
  const keys = [];
  const parser = new KvsParser((ev) => {
    if (ev.type === "frame") keys.push(key(ev, baseMs));
  });
  parser.push(bytes);
  parser.end();
  return keys;
};
const source = kvs
  .fragments("cam")
  .flatMap((f) =>
    framesOf(
      writeKvsFragment(f.cluster, { fragmentNumber: f.fragmentNumber, serverTimestampMs: f.serverTimestampMs, producerTimestampMs: f.producerTimestampMs }),
    ),
  );
const recorded = files.flatMap((f) => framesOf(new Uint8Array(readFileSync(f.path)), f.startMs ?? 0));
let mismatches = 0;
for (let i = 0; i < Math.max(source.length, recorded.length); i++) if (source[i] !== recorded[i]) mismatches++;
const ffprobe = process.env.FFPROBE_PATH ?? "ffprobe";
let playable = 0;
for (const f of files) {
  const out = execFileSync(ffprobe, ["-v", "error", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", f.path], {
    encoding: "utf8",
  });
  const packets = out
    .trim()
    .split("\n")
    .reduce((a, b) => a + Number(b), 0);
  if (packets === f.frames) playable++;
}
const stats = kvs.stats;
clients.destroy();
await kvs.close();
rmSync(dir, { recursive: true, force: true });
const settled = rss.slice(Math.floor(rss.length / 4));
console.log(
  JSON.stringify({
    minutes: MINUTES,
    speedup: SPEEDUP,
    seconds,
    fragments,
    getMediaCalls: stats.requests.getMedia,
    files: files.length,
    sourceFrames: source.length,
    recordedFrames: recorded.length,
    mismatches,
    exactlyOnce: mismatches === 0 && source.length === recorded.length,
    filesPlayable: playable,
    rssStartMB: rss[0],
    rssPeakMB: Math.max(...rss),
    rssEndMB: rss.at(-1),
    rssSettledRangeMB: [Math.min(...settled), Math.max(...settled)],
  }),
);
process.exit(0);
