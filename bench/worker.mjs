// One sample of one contender on one input, in this process (the orchestrator interleaves processes):
//   node bench/worker.mjs CONTENDER FILE CHUNK [MIN_SECONDS]
// Pre-reads the whole file into memory and cuts it into CHUNK-byte chunks before anything is timed, each
// chunk with memory of its own. BENCH_CHUNKS picks their form: "buffer" (default: Node Buffers, as
// fs.createReadStream and sockets hand them out), "uint8" (plain Uint8Arrays) or "views" (views into one
// buffer of the whole file). Checks the counts on a first pass, warms up to steady state (at least
// WARM_SECONDS, default 1, and 15 passes unless that takes over 4 s: the first passes of a process also
// pay for the JIT and for the allocator growing its heap, which is not the parser's steady cost; they are
// discarded), then times passes until MIN_SECONDS (default 0.25) have passed, three times; the sample is
// the median pass time of the three (wall; cpuSeconds: the process's CPU time per pass in that block, GC
// threads included, less moved by other work on the machine; fastestSeconds: the fastest timed pass, the
// code's speed while nothing else slowed the process). Every timed pass's counts must equal the first
// pass's. Prints one JSON line: { contender, ok, bytes, chunks, chunkForm, frames, payloadBytes, seconds,
// cpuSeconds, fastestSeconds, passes, warmPasses, peakRssMB, error? }.
import { readFileSync } from "node:fs";
import { chunksOf } from "./chunks.mjs";
import { adapters } from "./parsers/adapters.mjs";

const [name, file, chunkArg] = process.argv.slice(2);
const chunkSize = Number(chunkArg);
const minSeconds = Number(process.argv[5] ?? 0.25);
const warmSeconds = Number(process.env.WARM_SECONDS ?? 1);
const chunkForm = process.env.BENCH_CHUNKS ?? "buffer";
let peakRss = process.memoryUsage().rss;

try {
  const bytes = new Uint8Array(readFileSync(file));
  const chunks = chunksOf(bytes, chunkSize, chunkForm);
  const run = (await adapters[name]())(chunks, file);
  const first = await run(); // the counts, checked by the orchestrator
  const same = (r) => r.frames === first.frames && r.payloadBytes === first.payloadBytes;
  const warmStart = performance.now();
  const warmUntil = warmStart + warmSeconds * 1000;
  let warmPasses = 0;
  do {
    await run();
    warmPasses++;
  } while (performance.now() < warmUntil || (warmPasses < 15 && performance.now() - warmStart < 4000));
  const times = [];
  let passes = 0;
  let fastest = Infinity;
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let n = 0;
    let elapsed = 0;
    let passStart = t0;
    do {
      const counts = await run();
      if (!same(counts))
        throw new Error(`pass ${passes + n + 1} counted ${counts.frames} frames / ${counts.payloadBytes} B, the first ${first.frames} / ${first.payloadBytes}`);
      n++;
      const now = process.hrtime.bigint();
      fastest = Math.min(fastest, Number(now - passStart) / 1e9);
      passStart = now;
      elapsed = Number(now - t0) / 1e9;
    } while (elapsed < minSeconds);
    const cpu = process.cpuUsage(c0);
    times.push({ wall: elapsed / n, cpu: (cpu.user + cpu.system) / 1e6 / n });
    passes += n;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  times.sort((a, b) => a.wall - b.wall);
  console.log(
    JSON.stringify({
      contender: name,
      ok: true,
      bytes: bytes.length,
      chunks: chunks.length,
      chunkForm,
      frames: first.frames,
      payloadBytes: first.payloadBytes,
      seconds: times[1].wall,
      cpuSeconds: times[1].cpu,
      fastestSeconds: fastest,
      passes,
      warmPasses,
      peakRssMB: peakRss / 2 ** 20,
    }),
  );
} catch (e) {
  console.log(
    JSON.stringify({
      contender: name,
      ok: false,
      error: String(e?.stack ?? e)
        .split("\n")
        .slice(0, 3)
        .join(" | "),
      peakRssMB: peakRss / 2 ** 20,
    }),
  );
}
process.exit(0);
