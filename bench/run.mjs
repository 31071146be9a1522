// npm run bench [-- --quick]: every parser in its own process on the same inputs; prints a table and
// writes bench/results/latest.json and latest.svg.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { renderSvg } from "./svg.mjs";

const run = promisify(execFile);
const quick = process.argv.includes("--quick");
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { inputs } = await import("./make-inputs.mjs");

const PARSERS = ["kvs-parser", "kvs-parser (rx)", "ts-ebml", "ebml-stream", "mediabunny", "matroska", "baseline: read bytes only", "baseline: minimal walker"];
const RUNS = quick ? 3 : 7;
const MIN_SECONDS = quick ? "0.25" : "0.5";
const TIMEOUT = quick ? 30_000 : 120_000;

async function worker(args, timeout = TIMEOUT) {
  try {
    const { stdout } = await run(process.execPath, args, { timeout, maxBuffer: 1 << 24 });
    return JSON.parse(stdout.trim().split("\n").pop());
  } catch (e) {
    return { ok: false, error: e.killed ? `timeout after ${timeout / 1000} s` : String(e.message).split("\n")[0] };
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const [inputName, { file, expected }] of Object.entries(inputs)) {
  const chunkSizes = inputName.startsWith("tiny") ? [65536] : [65536, 4096];
  for (const chunk of chunkSizes) {
    for (const parser of PARSERS) {
      const r = await worker([here("./worker.mjs"), parser, file, String(chunk), String(RUNS), MIN_SECONDS]);
      const row = { input: inputName, chunk, parser, ok: r.ok, error: r.error ?? null, peakRssMB: r.peakRssMB ?? null };
      if (r.ok) {
        const secs = r.seconds;
        row.mbps = { median: r.bytes / median(secs) / 1e6, min: r.bytes / Math.max(...secs) / 1e6, max: r.bytes / Math.min(...secs) / 1e6 };
        row.framesPerSec = r.frames === null ? null : r.frames / median(secs);
        row.frames = r.frames;
        row.payloadBytes = r.payloadBytes;
        row.correct = r.frames === null ? null : r.frames === expected.frames && r.payloadBytes === expected.payloadBytes;
      }
      rows.push(row);
      process.stderr.write(`${inputName} ${chunk} ${parser}: ${r.ok ? `${row.mbps.median.toFixed(0)} MB/s` : r.error}\n`);
    }
  }
}

const gm = inputs["720p H.264+AAC (GetMedia form)"];
const latency = await worker([here("./latency.mjs"), gm.file]);
const memory = await worker([here("./memory.mjs"), gm.file, String(quick ? 256 : 1024)], 600_000);
const service = await worker([here("./service.mjs"), ...(quick ? ["--quick"] : [])], 600_000);

const fmt = (n, d = 0) => (n === null || n === undefined ? "-" : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const lines = [];
lines.push(`| input | chunk | parser | MB/s median (min–max) | frames/s | peak RSS MB | correct (frames, bytes vs expected) |`);
lines.push(`|---|---|---|---|---|---|---|`);
for (const r of rows) {
  const expected = inputs[r.input].expected;
  const speed = r.ok
    ? r.correct === false
      ? `(wrong counts) ${fmt(r.mbps.median)}`
      : `${fmt(r.mbps.median)} (${fmt(r.mbps.min)}–${fmt(r.mbps.max)})`
    : `fails: ${r.error}`;
  const correct = !r.ok
    ? "-"
    : r.correct === null
      ? "n/a"
      : r.correct
        ? "yes"
        : `NO: ${r.frames}/${expected.frames} frames, ${r.payloadBytes}/${expected.payloadBytes} B`;
  lines.push(
    `| ${r.input} | ${r.chunk / 1024} KiB | ${r.parser} | ${speed} | ${r.ok && r.correct !== false ? fmt(r.framesPerSec) : "-"} | ${fmt(r.peakRssMB)} | ${correct} |`,
  );
}
lines.push("");
if (latency.raw) {
  lines.push(
    `Parse latency (last byte of a frame pushed → its event, ${latency.raw.frames} frames): raw callback p50 ${fmt(latency.raw.p50us, 1)} µs, p99 ${fmt(latency.raw.p99us, 1)} µs; through parseMkv().pipe(frames()) p50 ${fmt(latency.rx.p50us, 1)} µs, p99 ${fmt(latency.rx.p99us, 1)} µs`,
  );
} else lines.push(`Parse latency: failed: ${latency.error}`);
if (memory.bytes)
  lines.push(
    `Memory: ${fmt(memory.bytes / 2 ** 20)} MiB of GetMedia-form stream through parseMkv(Readable), 64 KiB chunks: peak RSS ${fmt(memory.peakRssMB)} MB (start ${fmt(memory.startRssMB)} MB), ${fmt(memory.bytes / memory.seconds / 1e6)} MB/s`,
  );
else lines.push(`Memory: failed: ${memory.error}`);
if (service.getMediaLatency) {
  const g = service.getMediaLatency;
  lines.push(
    `GetMedia over loopback (fragment's last byte written by the local endpoint → its fragment event, ${g.samples} fragments): p50 ${fmt(g.p50ms, 2)} ms, p99 ${fmt(g.p99ms, 2)} ms`,
  );
  const base = service.fanOut[0];
  lines.push(
    `Fan-out (apps sharing one connection, same measure at each app's handler): ${service.fanOut.map((f) => `${f.apps} app${f.apps > 1 ? "s" : ""}: p50 ${fmt(f.p50ms, 2)} ms, p99 ${fmt(f.p99ms, 2)} ms (+${fmt(f.p99ms - base.p99ms, 2)} ms), ${f.samples}/${f.expected} deliveries`).join("; ")}`,
  );
  lines.push(
    `Checkpoint writes/s: file store ${fmt(service.fileCheckpoints.perSecond)} (fsync + rename each), DynamoDB store on dynalite ${fmt(service.dynamoCheckpoints.perSecond)}`,
  );
} else lines.push(`Service figures: failed: ${service.error}`);
const table = lines.join("\n");
console.log(table);

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: process.platform,
};
const result = { date: new Date().toISOString(), quick, machine, runsPerCase: RUNS, inputs, throughput: rows, latency, memory, service, table };
mkdirSync(here("./results"), { recursive: true });
writeFileSync(here("./results/latest.json"), JSON.stringify(result, null, 1));
writeFileSync(
  here("./results/latest.svg"),
  renderSvg(
    rows.filter((r) => r.chunk === 65536 && r.input.includes("GetMedia")),
    "MB/s, 720p H.264+AAC in GetMedia form, 64 KiB chunks",
  ),
);
console.log(`\nwrote bench/results/latest.json and latest.svg (${machine.cpus} × ${machine.cpuModel}, Node ${machine.node})`);
