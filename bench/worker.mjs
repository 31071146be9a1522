// One sample of one contender on one input, in this process (the orchestrator interleaves processes):
//   node bench/worker.mjs CONTENDER FILE CHUNK [MIN_SECONDS]
// Reads the file, cuts it into CHUNK-byte chunks (each its own ArrayBuffer, as sockets deliver them),
// checks the counts on a first pass, warms up to steady state (at least WARM_SECONDS, default 1, and 15
// passes unless that takes over 4 s: the first passes of a process also pay for the allocator growing
// its heap, which is not the parser's steady cost), then times passes until MIN_SECONDS (default 0.25) have passed, three times;
// the sample is the median pass time of the three. Prints one JSON line:
// { contender, ok, bytes, frames, payloadBytes, seconds, passes, peakRssMB, error? }.
import { readFileSync } from "node:fs";
import { adapters } from "./parsers/adapters.mjs";

const [name, file, chunkArg] = process.argv.slice(2);
const chunkSize = Number(chunkArg);
const minSeconds = Number(process.argv[5] ?? 0.25);
const warmSeconds = Number(process.env.WARM_SECONDS ?? 1);
let peakRss = process.memoryUsage().rss;

try {
  const bytes = new Uint8Array(readFileSync(file));
  const chunks = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.slice(i, i + chunkSize));
  const run = (await adapters[name]())(chunks, file);
  const first = await run(); // the counts, checked by the orchestrator
  const warmStart = performance.now();
  const warmUntil = warmStart + warmSeconds * 1000;
  let warmPasses = 0;
  do {
    await run();
    warmPasses++;
  } while (performance.now() < warmUntil || (warmPasses < 15 && performance.now() - warmStart < 4000));
  const times = [];
  let passes = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    let n = 0;
    let elapsed = 0;
    do {
      await run();
      n++;
      elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    } while (elapsed < minSeconds);
    times.push(elapsed / n);
    passes += n;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  times.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      contender: name,
      ok: true,
      bytes: bytes.length,
      frames: first.frames,
      payloadBytes: first.payloadBytes,
      seconds: times[1],
      passes,
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
