// Memory: parse SIZE_MB of GetMedia-form bytes (FILE read from disk again and again, never held whole)
// through parseMkv from a Node Readable in 64 KiB chunks, sampling RSS every 10 ms.
//   node bench/memory.mjs FILE SIZE_MB  → one JSON line
import { openSync, readSync, closeSync, statSync } from "node:fs";
import { Readable } from "node:stream";
import { lastValueFrom, reduce } from "rxjs";
import { frames, parseMkv } from "../dist/index.js";

const path = process.argv[2];
const fileSize = statSync(path).size;
const target = Number(process.argv[3]) * 2 ** 20;
const chunk = 65536;
let produced = 0;
function* chunks() {
  // Whole copies of the file until the target is reached, so the stream ends on a fragment boundary.
  while (produced < target) {
    const fd = openSync(path, "r");
    for (let i = 0; i < fileSize; i += chunk) {
      const c = Buffer.allocUnsafeSlow(Math.min(chunk, fileSize - i)); // a fresh buffer per chunk, as a socket delivers them
      readSync(fd, c, 0, c.length, i);
      produced += c.length;
      yield c;
    }
    closeSync(fd);
  }
}
const startRss = process.memoryUsage().rss;
let peak = startRss;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 10);
const t0 = performance.now();
const framesSeen = await lastValueFrom(
  parseMkv(Readable.from(chunks(), { objectMode: true })).pipe(
    frames(),
    reduce((n) => n + 1, 0),
  ),
);
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
console.log(
  JSON.stringify({ bytes: produced, frames: framesSeen, seconds: (performance.now() - t0) / 1000, startRssMB: startRss / 2 ** 20, peakRssMB: peak / 2 ** 20 }),
);
