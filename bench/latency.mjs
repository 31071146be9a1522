// Parse latency: each frame's last byte is pushed as the end of a chunk; the time from that push to the
// frame's event is measured, for the raw KvsParser callback and for parseMkv(subject).pipe(frames()).
//   node bench/latency.mjs FILE  → one JSON line
import { readFileSync } from "node:fs";
import { Subject } from "rxjs";
import { frames, KvsParser, parseMkv } from "../dist/index.js";

const bytes = new Uint8Array(readFileSync(process.argv[2]));
// Frame ends, found by a first parse.
const ends = [];
new KvsParser((ev) => {
  if (ev.type === "frame") ends.push(ev.offset + ev.data.length);
}).push(bytes);
const limit = Math.min(ends.length, 20000);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function measure(makeFeed) {
  const samples = [];
  let pushedAt = 0;
  const onFrame = () => samples.push(performance.now() - pushedAt);
  const push = makeFeed(onFrame);
  let from = 0;
  for (let k = 0; k < limit; k++) {
    const to = ends[k];
    const chunk = bytes.slice(from, to);
    pushedAt = performance.now();
    push(chunk);
    from = to;
  }
  samples.sort((a, b) => a - b);
  return { frames: samples.length, p50us: percentile(samples, 50) * 1000, p99us: percentile(samples, 99) * 1000 };
}

const raw = measure((onFrame) => {
  const p = new KvsParser((ev) => {
    if (ev.type === "frame") onFrame();
  });
  return (c) => p.push(c);
});
const rx = measure((onFrame) => {
  const subject = new Subject();
  parseMkv(subject).pipe(frames()).subscribe(onFrame);
  return (c) => subject.next(c);
});
console.log(JSON.stringify({ raw, rx }));
