// What a GetMedia-form stream costs per fragment and per frame, for contenders against the walker:
//   node bench/fragment-cost.mjs [FILE] [CHUNK] [CONTENDER[,CONTENDER...]]
// (defaults: the ~167 B frames input made by bench/make-inputs.mjs, 65536, kvs-parser; "kvs-parser,
// kvs-parser (demuxer)" also times the Matroska floor without the KVS layer). Builds a second
// stream from FILE with every Cluster cut down to its first SimpleBlock (the same fragments, one frame
// each), times both in this process (passes interleaved, after a warm-up; median of 30) and solves
// time = fragments × per-fragment + frames × per-frame for each. The split holds for streams of many small
// frames of about one size; where a Cluster's first frame is far larger than the rest (a video keyframe),
// it means little. Needs `npm run build` first, and `node bench/make-inputs.mjs` for the default input.
import { existsSync, readFileSync } from "node:fs";
import { concatBytes, EbmlReader, element, ID } from "../dist/ebml/index.js";
import { chunksOf } from "./chunks.mjs";
import { adapters } from "./parsers/adapters.mjs";
import { quantile } from "./throughput.mjs";

const file = process.argv[2] ?? new URL("cache/full/tiny-frames-167.getmedia.mkv", import.meta.url).pathname;
const chunkSize = Number(process.argv[3] ?? 65536);
/** Timed passes of each contender on each input (after 10 untimed ones). */
const PASSES = 30;
const contenders = (process.argv[4] ?? "kvs-parser").split(",").map((c) => c.trim());
const unknown = contenders.filter((c) => !(c in adapters));
if (unknown.length > 0) {
  console.error(`no contender named ${unknown.join(", ")}; the names: ${Object.keys(adapters).join(", ")}`);
  process.exit(2);
}
if (!existsSync(file)) {
  console.error(`${file} is missing: make the bench inputs first (node bench/make-inputs.mjs), or name a file`);
  process.exit(2);
}

/**
 * `bytes` with each Cluster's SimpleBlocks after its first dropped, read with kvs-parser's own EbmlReader
 * (each Cluster written again with its new size; everything else copied as it is); counts the Clusters.
 */
function oneFramePerCluster(bytes) {
  const out = [];
  let copiedTo = 0; // bytes before this are in `out`
  let depth = 0;
  let clusters = 0;
  let kept = null; // the current Cluster's children kept, or null outside a Cluster
  let blocks = 0;
  let childStart = -1; // where the Cluster's child master being read began
  const keep = (offset, end) => {
    if (kept !== null && depth === 2) kept.push(bytes.subarray(offset, end));
  };
  const reader = new EbmlReader({
    masterStart(id, offset) {
      if (depth === 1 && id === ID.Cluster) {
        out.push(bytes.subarray(copiedTo, offset));
        kept = [];
        blocks = 0;
      } else if (depth === 2) childStart = offset;
      depth++;
    },
    masterEnd(id, _offset, endOffset) {
      depth--;
      if (depth === 1 && id === ID.Cluster) {
        out.push(element(ID.Cluster, kept));
        copiedTo = endOffset;
        kept = null;
        clusters++;
      } else keep(childStart, endOffset);
    },
    data(id, _buf, s, e, offset, dataOffset) {
      if (id !== ID.SimpleBlock || blocks++ === 0) keep(offset, dataOffset + (e - s));
    },
    skipped(_id, offset, dataOffset, size) {
      keep(offset, dataOffset + size);
    },
  });
  reader.push(bytes);
  reader.end();
  out.push(bytes.subarray(copiedTo));
  return { bytes: concatBytes(out), clusters };
}

const whole = new Uint8Array(readFileSync(file));
const thin = oneFramePerCluster(whole);
const inputs = { whole: chunksOf(whole, chunkSize), thin: chunksOf(thin.bytes, chunkSize) };
const names = [...contenders, "walker"];
const runs = {};
for (const name of names) {
  const prepare = await adapters[name]();
  for (const [input, chunks] of Object.entries(inputs)) runs[`${name} ${input}`] = await prepare(chunks);
}
const counts = {};
for (const [key, run] of Object.entries(runs)) counts[key] = await run();
for (const contender of contenders)
  for (const input of Object.keys(inputs))
    if (counts[`${contender} ${input}`].frames !== counts[`walker ${input}`].frames)
      throw new Error(`${input}: ${contender} counted ${counts[`${contender} ${input}`].frames} frames, the walker ${counts[`walker ${input}`].frames}`);
for (let k = 0; k < 10; k++) for (const run of Object.values(runs)) await run();
const times = Object.fromEntries(Object.keys(runs).map((key) => [key, []]));
for (let k = 0; k < PASSES; k++)
  for (const [key, run] of Object.entries(runs)) {
    const t0 = performance.now();
    await run();
    times[key].push(performance.now() - t0);
  }
const median = (xs) => quantile(xs, 0.5);
const framesWhole = counts["walker whole"].frames;
const framesThin = counts["walker thin"].frames;
console.log(
  `${file}: ${thin.clusters} Clusters, ${framesWhole} frames (${framesThin} with one per Cluster); ${chunkSize}-byte chunks; ms a pass, median of ${PASSES}`,
);
const width = Math.max(...names.map((n) => n.length));
for (const name of names) {
  const w = median(times[`${name} whole`]);
  const t = median(times[`${name} thin`]);
  // w = C × f + F × p and t = C × f + C × p (C clusters, F frames): solve for f (per fragment) and p (per frame).
  const perFrame = (w - t) / (framesWhole - framesThin);
  const perFragment = (t - framesThin * perFrame) / thin.clusters;
  console.log(
    `${name.padEnd(width)} whole ${w.toFixed(2)}  one frame per Cluster ${t.toFixed(2)}  per fragment ${(perFragment * 1000).toFixed(2)} µs  per frame ${(perFrame * 1e6).toFixed(0)} ns  fragments ${((thin.clusters * perFragment * 100) / w).toFixed(0)} % of the whole`,
  );
}
for (const contender of contenders)
  console.log(`${contender} ÷ walker (speed): whole ${(median(times["walker whole"]) / median(times[`${contender} whole`])).toFixed(2)}`);
