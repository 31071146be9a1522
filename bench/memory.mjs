// Memory: SIZE_MB of GetMedia-form bytes (FILE read from disk again and again, never held whole) through
// a Node Readable in 64 KiB chunks, each a fresh Buffer as a socket delivers them; peak RSS is the kernel's
// high-water mark (VmHWM).
//   node bench/memory.mjs FILE SIZE_MB parse|read-only|read-only-bare|walker  → one JSON line
// "parse": parseMkv(readable).pipe(frames()), subscribed, every frame's payload read (the app imports
// nothing of rxjs itself: an app that imports all of "rxjs" pays its ~11 MB on top). "read-only": the same
// readable consumed without parsing, with kvs-parser loaded but unused: the floor of the stream's memory.
// "read-only-bare": the same without loading it (its code is part of what "parse" costs over it).
// "walker": the minimal streaming walker of the throughput bench over the same readable, for reference.
// GC time from perf_hooks.
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
import { Readable } from "node:stream";
import { streamingWalker } from "./parsers/adapters.mjs";

const [path, sizeArg, mode] = process.argv.slice(2);
const fileSize = statSync(path).size;
const target = Number(sizeArg) * 2 ** 20;
const chunk = 65536;
let produced = 0;
function* chunks() {
  // Whole copies of the file until the target is reached, so the stream ends on a fragment boundary.
  while (produced < target) {
    const fd = openSync(path, "r");
    for (let i = 0; i < fileSize; i += chunk) {
      const c = Buffer.allocUnsafeSlow(Math.min(chunk, fileSize - i));
      readSync(fd, c, 0, c.length, i);
      produced += c.length;
      yield c;
    }
    closeSync(fd);
  }
}
const gc = { count: 0, ms: 0, byKind: {} };
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.ms += e.duration;
    const kind = { 1: "minor", 2: "major", 4: "incremental", 8: "weakcb" }[e.detail?.kind ?? e.kind] ?? "other";
    gc.byKind[kind] = (gc.byKind[kind] ?? 0) + 1;
  }
});
obs.observe({ entryTypes: ["gc"] });
// The peak is the kernel's high-water mark of the process's RSS (VmHWM), reset just before the run: a
// timer cannot sample it, as reading a Readable of ready chunks never yields to the timers phase.
function highWaterMB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}
try {
  writeFileSync("/proc/self/clear_refs", "5"); // resets VmHWM to the current RSS
} catch {
  // not Linux, or not allowed: the high-water mark then includes start-up
}
// Loaded after the high-water mark is reset, so its memory counts: the floor with the library loads it
// here, "parse" as it starts, the bare floor never.
const lib = mode === "read-only" ? await import("../dist/index.js") : null;
const startRss = process.memoryUsage().rss;
const t0 = performance.now();
const readable = Readable.from(chunks(), { objectMode: true });
let framesSeen = 0;
if (mode === "read-only") {
  for await (const c of readable) framesSeen += c.length > 0 ? 0 : 1;
} else if (mode === "walker") {
  const walker = streamingWalker();
  for await (const c of readable) walker.push(c);
  framesSeen = walker.frames;
} else if (mode === "read-only-bare") {
  for await (const c of readable) framesSeen += c.length > 0 ? 0 : 1;
} else {
  const { frames, parseMkv } = await import("../dist/index.js");
  framesSeen = await new Promise((resolve, reject) => {
    let n = 0;
    parseMkv(readable)
      .pipe(frames())
      .subscribe({ next: (f) => void (n += f.data.length >= 0 ? 1 : 0), error: reject, complete: () => resolve(n) });
  });
}
const seconds = (performance.now() - t0) / 1000;
const peakMB = highWaterMB();
await new Promise((r) => setTimeout(r, 50)); // the last GC entries
obs.disconnect();
void lib;
console.log(JSON.stringify({ mode, bytes: produced, frames: framesSeen, seconds, startRssMB: startRss / 2 ** 20, peakRssMB: peakMB, gc }));
