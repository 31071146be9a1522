// What a GetMedia-form stream costs per fragment and per frame, for a contender against the walker:
//   node bench/fragment-cost.mjs [FILE] [CHUNK] [CONTENDER]
// (defaults: the ~167 B frames input made by bench/make-inputs.mjs, 65536, kvs-parser). Builds a second
// stream from FILE with every Cluster cut down to its first SimpleBlock (the same fragments, one frame
// each), times both in this process (passes interleaved, after a warm-up; median of 30) and solves
// time = fragments × per-fragment + frames × per-frame for each. The split holds for streams of many small
// frames of about one size; where a Cluster's first frame is far larger than the rest (a video keyframe),
// it means little. Needs `npm run build` first, and `node bench/make-inputs.mjs` for the default input.
import { existsSync, readFileSync } from "node:fs";
import { adapters } from "./parsers/adapters.mjs";

const file = process.argv[2] ?? new URL("cache/full/tiny-frames-167.getmedia.mkv", import.meta.url).pathname;
const chunkSize = Number(process.argv[3] ?? 65536);
const contender = process.argv[4] ?? "kvs-parser";
if (!existsSync(file)) {
  console.error(`${file} is missing: make the bench inputs first (node bench/make-inputs.mjs), or name a file`);
  process.exit(2);
}

const EBML = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const CLUSTER = 0x1f43b675;
const TAGS = 0x1254c367;
const SIMPLE_BLOCK = 0xa3;

/** The element header at `i`: its ID, where its payload starts, its size (-1: unknown). */
function header(b, i) {
  const idLen = Math.clz32(b[i]) - 23;
  let id = 0;
  for (let k = 0; k < idLen; k++) id = id * 256 + b[i + k];
  const s0 = b[i + idLen];
  const sizeLen = Math.clz32(s0) - 23;
  let size = s0 & (0xff >> sizeLen);
  let allOnes = size === 0xff >> sizeLen;
  for (let k = 1; k < sizeLen; k++) {
    size = size * 256 + b[i + idLen + k];
    if (b[i + idLen + k] !== 0xff) allOnes = false;
  }
  return { id, at: i + idLen + sizeLen, size: allOnes ? -1 : size };
}

/** `bytes` with each Cluster's SimpleBlocks after its first dropped (Clusters rewritten with 8-byte sizes); counts what is left. */
function oneFramePerCluster(bytes) {
  const out = [];
  let clusters = 0;
  for (let i = 0; i < bytes.length; ) {
    const h = header(bytes, i);
    if (h.id === SEGMENT) {
      out.push(bytes.subarray(i, h.at)); // its children follow at the top level of this walk
      i = h.at;
      continue;
    }
    if (h.id !== CLUSTER) {
      const end = h.size < 0 ? bytes.length : h.at + h.size;
      out.push(bytes.subarray(i, end));
      i = end;
      continue;
    }
    const end = h.size < 0 ? bytes.length : h.at + h.size;
    const kept = [];
    let blocks = 0;
    let j = h.at;
    while (j < end) {
      const c = header(bytes, j);
      if (h.size < 0 && (c.id === TAGS || c.id === EBML || c.id === CLUSTER)) break; // an unknown-size Cluster ends here
      if (c.id !== SIMPLE_BLOCK || blocks++ === 0) kept.push(bytes.subarray(j, c.at + c.size));
      j = c.at + c.size;
    }
    const length = kept.reduce((n, k) => n + k.length, 0);
    const size = Uint8Array.of(0x01, 0, 0, 0, 0, 0, 0, 0);
    for (let k = 7, v = length; k > 0; k--, v = Math.floor(v / 256)) size[k] = v % 256;
    out.push(bytes.subarray(i, i + 4), size, ...kept);
    clusters++;
    i = j;
  }
  const all = new Uint8Array(out.reduce((n, o) => n + o.length, 0));
  let o = 0;
  for (const part of out) {
    all.set(part, o);
    o += part.length;
  }
  return { bytes: all, clusters };
}

/** `bytes` cut into chunks of memory of their own, as bench/worker.mjs cuts them. */
function chunksOf(bytes) {
  const out = [];
  for (let i = 0; i < bytes.length; i += chunkSize) {
    const b = Buffer.allocUnsafeSlow(Math.min(chunkSize, bytes.length - i));
    b.set(bytes.subarray(i, i + b.length));
    out.push(b);
  }
  return out;
}

const whole = new Uint8Array(readFileSync(file));
const thin = oneFramePerCluster(whole);
const inputs = { whole: chunksOf(whole), thin: chunksOf(thin.bytes) };
const names = [contender, "walker"];
const runs = {};
for (const name of names) {
  const prepare = await adapters[name]();
  for (const [input, chunks] of Object.entries(inputs)) runs[`${name} ${input}`] = await prepare(chunks);
}
const counts = {};
for (const [key, run] of Object.entries(runs)) counts[key] = await run();
for (const input of Object.keys(inputs))
  if (counts[`${contender} ${input}`].frames !== counts[`walker ${input}`].frames)
    throw new Error(`${input}: ${contender} counted ${counts[`${contender} ${input}`].frames} frames, the walker ${counts[`walker ${input}`].frames}`);
for (let k = 0; k < 10; k++) for (const run of Object.values(runs)) await run();
const times = Object.fromEntries(Object.keys(runs).map((key) => [key, []]));
for (let k = 0; k < 30; k++)
  for (const [key, run] of Object.entries(runs)) {
    const t0 = performance.now();
    await run();
    times[key].push(performance.now() - t0);
  }
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const framesWhole = counts["walker whole"].frames;
const framesThin = counts["walker thin"].frames;
console.log(
  `${file}: ${thin.clusters} Clusters, ${framesWhole} frames (${framesThin} with one per Cluster); ${chunkSize}-byte chunks; ms a pass, median of 30`,
);
for (const name of names) {
  const w = median(times[`${name} whole`]);
  const t = median(times[`${name} thin`]);
  // w = C × f + F × p and t = C × f + C × p (C clusters, F frames): solve for f (per fragment) and p (per frame).
  const perFrame = (w - t) / (framesWhole - framesThin);
  const perFragment = (t - framesThin * perFrame) / thin.clusters;
  console.log(
    `${name.padEnd(12)} whole ${w.toFixed(2)}  one frame per Cluster ${t.toFixed(2)}  per fragment ${(perFragment * 1000).toFixed(2)} µs  per frame ${(perFrame * 1e6).toFixed(0)} ns  fragments ${((thin.clusters * perFragment * 100) / w).toFixed(0)} % of the whole`,
  );
}
console.log(`${contender} ÷ walker (speed): whole ${(median(times["walker whole"]) / median(times[`${contender} whole`])).toFixed(2)}`);
