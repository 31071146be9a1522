// Copies the tables of bench/results/latest.json into README.md, between the bench markers.
//   node bench/readme.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const result = JSON.parse(readFileSync(here("./results/latest.json"), "utf8"));
const readme = readFileSync(here("../README.md"), "utf8");
const m = result.machine;
const block = [
  "<!-- bench:start -->",
  `Measured ${result.date.slice(0, 10)} with \`npm run bench\`${result.quick ? " -- --quick" : ""} on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, in ${result.minutes.toFixed(0)} min.`,
  "Each throughput sample is its own process (chunks pre-read into their own buffers, counts checked against ffprobe's); contenders take turns in an order that rotates each round, and every ratio is taken within a round.",
  "The walker is a minimal streaming EBML walker that makes a view of each frame (the limit for any parser in JavaScript); ts-ebml is the most used peer.",
  "",
  result.table.replace(/fails: Error: ([^|]*?)\s*\|/g, "fails: $1 |"),
  "<!-- bench:end -->",
].join("\n");
const start = readme.indexOf("<!-- bench:start -->");
const end = readme.indexOf("<!-- bench:end -->");
if (start < 0 || end < 0) throw new Error("README.md has no bench markers");
writeFileSync(here("../README.md"), readme.slice(0, start) + block + readme.slice(end + "<!-- bench:end -->".length));
console.log("README.md bench tables updated");
