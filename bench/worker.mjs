// Runs one parser on one input in this process: node bench/worker.mjs PARSER FILE CHUNK RUNS [MIN_SECONDS]
// Each timed run parses the whole input again and again until MIN_SECONDS (default 0.4) have passed, so
// that short inputs are not timed by the clock's noise. Prints one JSON line:
// { parser, ok, bytes, frames, payloadBytes, secondsPerPass[], peakRssMB, error? }.
import { readFileSync } from "node:fs";
import { adapters } from "./parsers/adapters.mjs";

const [name, file, chunkArg, runsArg] = process.argv.slice(2);
const chunkSize = Number(chunkArg);
const runs = Number(runsArg);
const minSeconds = Number(process.argv[6] ?? 0.4);
let peakRss = process.memoryUsage().rss;
const sample = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

try {
  const bytes = new Uint8Array(readFileSync(file));
  const chunks = [];
  // Each chunk its own ArrayBuffer, as sockets deliver them.
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.slice(i, i + chunkSize));
  const run = (await adapters[name]())(chunks, file);
  let result = await run(); // warm-up, and the counts
  const warm = Math.max(1, Math.min(3, runs));
  for (let i = 1; i < warm; i++) await run();
  const seconds = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    let passes = 0;
    let elapsed = 0;
    do {
      result = await run();
      passes++;
      elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    } while (elapsed < minSeconds);
    seconds.push(elapsed / passes);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  clearInterval(sample);
  if (result.bytes !== undefined && result.bytes !== bytes.length) throw new Error(`read ${result.bytes} of ${bytes.length} bytes`);
  console.log(
    JSON.stringify({
      parser: name,
      ok: true,
      bytes: bytes.length,
      frames: result.frames,
      payloadBytes: result.payloadBytes,
      seconds,
      peakRssMB: peakRss / 2 ** 20,
    }),
  );
} catch (e) {
  clearInterval(sample);
  console.log(
    JSON.stringify({
      parser: name,
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
