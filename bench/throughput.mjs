// Throughput, interleaved: in each round every contender runs once, each in its own process, in an order
// that rotates from round to round (A B C …, B C … A, …). Ratios are taken within a round (the
// contenders ran seconds apart on the same machine state), and their median and spread over the rounds
// are reported; absolute MB/s are secondary. The walker runs twice per round ("walker (A/A)"): the
// spread of walker/walker is the run's own noise, and a ratio whose middle half (q1–q3) spans 1.0 is
// reported as not resolved.
import { execFile } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

/** Sorted copy. */
const sorted = (xs) => [...xs].sort((a, b) => a - b);
/** The q-quantile of a list (linear interpolation). */
export function quantile(xs, q) {
  const s = sorted(xs);
  if (s.length === 0) return null;
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo] + (s[hi] - s[lo]) * (at - lo);
}
/** Per-round ratios of contender `a` to contender `b` (rounds where either failed left out), with their spread; null when none. */
export function roundRatios(samples, a, b) {
  const rs = samples[a].map((v, i) => (v === null || samples[b]?.[i] == null ? null : v / samples[b][i])).filter((x) => x !== null);
  return rs.length ? { ...spread(rs), samples: rs } : null;
}
/** The fastest of `a`'s rounds ÷ the fastest of the walker's (samples in MB/s), or null. */
export function fastestRatio(samples, a, base = "walker") {
  const best = (c) => Math.max(...(samples?.[c] ?? []).filter((x) => x !== null));
  const r = best(a) / best(base);
  return Number.isFinite(r) && r > 0 ? r : null;
}
/** Median, quartiles, extremes of a list. */
export function spread(xs) {
  return { median: quantile(xs, 0.5), q1: quantile(xs, 0.25), q3: quantile(xs, 0.75), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

async function sample(contender, file, chunk, minSeconds, timeoutMs) {
  const name = contender === "walker (A/A)" ? "walker" : contender;
  try {
    const { stdout } = await run(process.execPath, [here("./worker.mjs"), name, file, String(chunk), String(minSeconds)], {
      timeout: timeoutMs,
      maxBuffer: 1 << 24,
    });
    return JSON.parse(stdout.trim().split("\n").pop());
  } catch (e) {
    return { ok: false, error: e.killed ? `timeout after ${timeoutMs / 1000} s` : String(e.message).split("\n")[0] };
  }
}

/**
 * Runs the interleaved rounds of one case. Returns every sample (MB/s per contender per round; by CPU
 * time; at the round's fastest pass), the per-round ratios of each contender to ts-ebml and to the
 * walker, and the noise (walker/walker).
 */
export async function interleaved({ input, file, expected, chunk, contenders, rounds, minSeconds, timeoutMs, log }) {
  const samples = Object.fromEntries(contenders.map((c) => [c, []]));
  const cpuSamples = Object.fromEntries(contenders.map((c) => [c, []])); // MB per CPU second
  const fastSamples = Object.fromEntries(contenders.map((c) => [c, []])); // MB/s of the round's fastest pass
  const failures = {};
  const peakRssMB = {};
  const load = []; // the 1-minute load average as each round starts: other work on the machine shows here
  for (let r = 0; r < rounds; r++) {
    load.push(loadavg()[0]);
    const order = contenders.map((_, i) => contenders[(i + r) % contenders.length]);
    const round = {};
    const cpuRound = {};
    const fastRound = {};
    for (const c of order) {
      const s = await sample(c, file, chunk, minSeconds, timeoutMs);
      if (!s.ok) {
        failures[c] = s.error;
        round[c] = null;
        continue;
      }
      if (expected && (s.frames !== expected.frames || s.payloadBytes !== expected.payloadBytes)) {
        failures[c] = `wrong counts: ${s.frames}/${expected.frames} frames, ${s.payloadBytes}/${expected.payloadBytes} payload bytes`;
        round[c] = null;
        continue;
      }
      round[c] = s.bytes / s.seconds / 1e6;
      cpuRound[c] = s.cpuSeconds > 0 ? s.bytes / s.cpuSeconds / 1e6 : null;
      fastRound[c] = s.fastestSeconds > 0 ? s.bytes / s.fastestSeconds / 1e6 : null;
      peakRssMB[c] = Math.max(peakRssMB[c] ?? 0, s.peakRssMB);
    }
    for (const c of contenders) {
      samples[c].push(round[c]);
      cpuSamples[c].push(cpuRound[c] ?? null);
      fastSamples[c].push(fastRound[c] ?? null);
    }
    log?.(`${input} ${chunk / 1024} KiB round ${r + 1}/${rounds}: ${order.map((c) => `${c} ${round[c] === null ? "fails" : round[c].toFixed(0)}`).join(", ")}`);
  }
  const ratiosTo = (base) => Object.fromEntries(contenders.filter((c) => c !== base).map((c) => [c, roundRatios(samples, c, base)]));
  const mbps = Object.fromEntries(contenders.map((c) => [c, samples[c].some((x) => x !== null) ? spread(samples[c].filter((x) => x !== null)) : null]));
  const noise = contenders.includes("walker (A/A)") ? ratiosTo("walker")["walker (A/A)"] : null;
  return {
    input,
    chunk,
    rounds,
    samples,
    cpuSamples,
    fastSamples,
    mbps,
    peakRssMB,
    load,
    failures,
    vsTsEbml: contenders.includes("ts-ebml") ? ratiosTo("ts-ebml") : null,
    vsWalker: contenders.includes("walker") ? ratiosTo("walker") : null,
    noise,
  };
}

/** Whether a ratio's middle half stays on one side of 1 (the difference is resolved). */
export const resolved = (r) => r !== null && (r.q1 > 1 || r.q3 < 1);

const f2 = (x) => (x === null || x === undefined ? "-" : x.toFixed(2));
/** "0.84× (0.80–0.87)" with ≈ when not resolved against 1. */
export const ratioText = (r) => (r === null || r === undefined ? "-" : `${resolved(r) ? "" : "≈ "}${f2(r.median)}× (${f2(r.q1)}–${f2(r.q3)})`);
