// Memory: parse SIZE_MB of GetMedia-form bytes (FILE repeated) through parseMkv from a Node Readable in
// 64 KiB chunks, sampling RSS every 10 ms.   node bench/memory.mjs FILE SIZE_MB  → one JSON line
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { lastValueFrom, reduce } from "rxjs";
import { frames, parseMkv } from "../dist/index.js";

const file = new Uint8Array(readFileSync(process.argv[2]));
const target = Number(process.argv[3]) * 2 ** 20;
const chunk = 65536;
let produced = 0;
function* chunks() {
  // Whole copies of the file until the target is reached, so the stream ends on a fragment boundary.
  while (produced < target) {
    for (let i = 0; i < file.length; i += chunk) {
      const c = file.slice(i, i + chunk); // a fresh buffer per chunk, as a socket delivers them
      produced += c.length;
      yield c;
    }
  }
}
const startRss = process.memoryUsage().rss;
let peak = startRss;
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
const t0 = performance.now();
const framesSeen = await lastValueFrom(parseMkv(Readable.from(chunks(), { objectMode: true })).pipe(frames(), reduce((n) => n + 1, 0)));
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
console.log(JSON.stringify({ bytes: produced, frames: framesSeen, seconds: (performance.now() - t0) / 1000, startRssMB: startRss / 2 ** 20, peakRssMB: peak / 2 ** 20 }));
