import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureCheckpointTable } from "../../src/consumer/dynamodb-store.js";
import { compareFragmentNumbers } from "../../src/kvs/fragment-number.js";
import { splitClusters } from "../../src/kvs/fragment-writer.js";
import { startLocalKvs, type LocalKvs } from "../../src/testing/local-kvs.js";
import { startDynalite, type LocalDynamo } from "../helpers/dynalite.js";
import { readFixture } from "../helpers/fixtures.js";

// Real worker processes (test/helpers/fleet-worker.mjs, on the built package) sharing 60 live streams
// through a DynamoDB lease table: one is SIGKILLed, another started, one stopped gracefully.
const WORKER = fileURLToPath(new URL("../helpers/fleet-worker.mjs", import.meta.url));
const STREAMS = Array.from({ length: 60 }, (_, i) => `cam-${String(i).padStart(2, "0")}`);
const LEASE_MS = 3000;
/** The load test's streams: 6 heavy ones (a handler busy 20 ms a fragment) and 18 light ones. */
const LOAD_STREAMS = [...Array.from({ length: 6 }, (_, i) => `heavy-${i}`), ...Array.from({ length: 18 }, (_, i) => `light-${i}`)];
const clusters = splitClusters(readFixture("generated/mjpeg_pcm.mkv")); // small fragments (5-9 kB)

interface Line {
  t: "handled" | "checkpoint" | "metrics" | "stopped" | "error";
  worker: string;
  at: number;
  stream?: string;
  fragment?: string;
  held?: number;
  load?: number;
  meanLoad?: number;
  handedOver?: number;
  lost?: number;
  message?: string;
}

let dynamo: LocalDynamo;
let kvs: LocalKvs;
const procs = new Map<string, ChildProcess>();
const lines: Line[] = [];
const held = new Map<string, number>();
const loads = new Map<string, { load: number; mean: number }>();

beforeAll(async () => {
  dynamo = await startDynalite();
  await ensureCheckpointTable(dynamo.client, "fleet");
  kvs = await startLocalKvs({
    streams: Object.fromEntries([...STREAMS, ...LOAD_STREAMS].map((s) => [s, {}])),
    idleEndMs: 3000,
    catchUpFragmentsPerSecond: Number.POSITIVE_INFINITY,
  });
});
afterAll(async () => {
  for (const p of procs.values()) p.kill("SIGKILL");
  await kvs?.close();
  await dynamo?.close();
});

function start(worker: string, streams = STREAMS, extra: string[] = []): ChildProcess {
  const p = spawn(process.execPath, [WORKER, worker, kvs.endpoint, dynamo.endpoint, "fleet", streams.join(","), String(LEASE_MS), ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  let buf = "";
  p.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = JSON.parse(buf.slice(0, nl)) as Line;
      buf = buf.slice(nl + 1);
      lines.push(line);
      if (line.t === "metrics") {
        held.set(line.worker, line.held!);
        loads.set(line.worker, { load: line.load!, mean: line.meanLoad! });
      }
      nl = buf.indexOf("\n");
    }
  });
  p.stderr!.on("data", (d: Buffer) => process.stderr.write(`[${worker}] ${d}`));
  procs.set(worker, p);
  return p;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timeout waiting for ${what()}`);
    await sleep(50);
  }
}
/**
 * Every stream held, and balanced: each worker within one stream (or 10 %) of the mean share, or, as the
 * balancer sees it, each worker's measured load within 10 % of the mean load (streams alike are measured
 * a little differently on a busy machine, so counts may differ by a few where loads do not).
 */
const balanced = (workers: string[]) => {
  const c = workers.map((w) => held.get(w) ?? 0);
  if (c.reduce((a, b) => a + b, 0) !== STREAMS.length) return false;
  const mean = STREAMS.length / workers.length;
  if (c.every((n) => Math.abs(n - mean) <= Math.max(1, 0.1 * mean))) return true;
  return workers.every((w) => {
    const l = loads.get(w);
    return l !== undefined && l.mean > 0 && Math.abs(l.load - l.mean) <= 0.1 * l.mean;
  });
};
const counts = (workers: string[]) =>
  workers
    .map(
      (w) =>
        `${w}:${held.get(w) ?? 0} (load ${loads.get(w)?.load.toFixed(1)} of mean ${loads.get(w)?.mean.toFixed(1)}, handed over ${Math.max(0, ...lines.filter((l) => l.t === "metrics" && l.worker === w).map((l) => l.handedOver ?? 0))})`,
    )
    .join(" ");

describe("a fleet of worker processes on 60 live streams", () => {
  it("balances (each worker within a stream or 10 % of the mean share, or its load within 10 % of the mean) after every change; a SIGKILLed or SIGSTOPped worker's streams move within 2× the lease; streams leave a live worker by handoff with no fragment handled twice; nothing skipped", async () => {
    let producing = true;
    const producer = (async () => {
      for (let i = 0; producing; i++) {
        for (const s of STREAMS) kvs.appendClusters(s, [clusters[i % clusters.length]!]);
        await sleep(700);
      }
    })();
    let killedAt = 0;
    let wokeAt = 0;
    try {
      for (const w of ["w1", "w2", "w3"]) start(w);
      await until(
        () => balanced(["w1", "w2", "w3"]),
        30_000,
        () => counts(["w1", "w2", "w3"]),
      );

      // SIGKILL w1: its streams are handled by the others within 2x the lease duration.
      await sleep(1500);
      const w1streams = new Set(lines.filter((l) => l.t === "handled" && l.worker === "w1").map((l) => l.stream!));
      const lastW1 = new Map<string, number>();
      for (const l of lines) if (l.t === "handled" && l.worker === "w1") lastW1.set(l.stream!, l.at);
      procs.get("w1")!.kill("SIGKILL");
      killedAt = Date.now();
      held.delete("w1");
      const takenOver = () => [...w1streams].every((s) => lines.some((l) => l.t === "handled" && l.stream === s && l.worker !== "w1" && l.at > killedAt));
      await until(takenOver, 4 * LEASE_MS, () => `takeover of ${w1streams.size} streams`);
      const failover =
        Math.max(...[...w1streams].map((s) => lines.find((l) => l.t === "handled" && l.stream === s && l.worker !== "w1" && l.at > killedAt)!.at)) - killedAt;
      expect(failover).toBeLessThan(2 * LEASE_MS);
      await until(
        () => balanced(["w2", "w3"]),
        10_000,
        () => counts(["w2", "w3"]),
      );

      // A new worker joins: it takes its share from the others.
      start("w4");
      await until(
        () => balanced(["w2", "w3", "w4"]),
        30_000,
        () => counts(["w2", "w3", "w4"]),
      );

      // w3 stalls (SIGSTOP) beyond its lease: the others take its streams; woken (SIGCONT), it finds out
      // and stops them without handling a fragment its successors checkpointed; then it takes its share again.
      const w3streams = new Set(lines.filter((l) => l.t === "handled" && l.worker === "w3").map((l) => l.stream!));
      procs.get("w3")!.kill("SIGSTOP");
      const stalledAt = Date.now();
      const movedOn = () => [...w3streams].every((s) => lines.some((l) => l.t === "handled" && l.stream === s && l.worker !== "w3" && l.at > stalledAt));
      await until(movedOn, 4 * LEASE_MS, () => `takeover of ${w3streams.size} stalled streams`);
      expect(Date.now() - stalledAt).toBeLessThan(2 * LEASE_MS + 1000);
      await sleep(1000);
      procs.get("w3")!.kill("SIGCONT");
      wokeAt = Date.now();
      await until(
        () => balanced(["w2", "w3", "w4"]),
        20_000,
        () => counts(["w2", "w3", "w4"]),
      );

      // w2 stops gracefully: checkpoints, releases; the others hold everything again, balanced.
      const stopped = Date.now();
      procs.get("w2")!.kill("SIGTERM");
      await until(
        () => lines.some((l) => l.t === "stopped" && l.worker === "w2"),
        10_000,
        () => "w2 to stop",
      );
      held.delete("w2");
      await until(
        () => balanced(["w3", "w4"]),
        10_000,
        () => counts(["w3", "w4"]),
      );
      expect(Date.now() - stopped).toBeLessThan(2 * LEASE_MS);

      producing = false;
      await producer;
      for (const s of STREAMS) {
        const all = kvs.fragments(s).map((f) => f.fragmentNumber);
        await until(
          () => new Set(lines.filter((l) => l.t === "handled" && l.stream === s).map((l) => l.fragment)).size === all.length,
          20_000,
          () => `${s} to finish`,
        );
      }
      expect(lines.filter((l) => l.t === "error")).toEqual([]);

      let redelivered = 0;
      let fromLive = 0;
      let fromStarved = 0;
      const live: string[] = [];
      /** True when the worker lost a lease (found it taken after it could not renew in time) after `at`. */
      const lostAfter = (worker: string, at: number) => {
        const before = Math.max(0, ...lines.filter((l) => l.t === "metrics" && l.worker === worker && l.at <= at).map((l) => l.lost ?? 0));
        return lines.some((l) => l.t === "metrics" && l.worker === worker && l.at > at && (l.lost ?? 0) > before);
      };
      for (const s of STREAMS) {
        const handled = lines.filter((l) => l.t === "handled" && l.stream === s);
        const checkpoints = lines.filter((l) => l.t === "checkpoint" && l.stream === s);
        // Nothing skipped: every fragment of the stream was handled.
        expect([...new Set(handled.map((l) => l.fragment!))].sort(compareFragmentNumbers)).toEqual(kvs.fragments(s).map((f) => f.fragmentNumber));
        // A fragment handled again was not checkpointed (by anyone) before it was handled again.
        const first = new Map<string, Line>();
        for (const l of handled) {
          const earlier = first.get(l.fragment!);
          if (!earlier) {
            first.set(l.fragment!, l);
            continue;
          }
          redelivered++;
          const covered = checkpoints.find((c) => c.at < l.at && compareFragmentNumbers(c.fragment!, l.fragment!) >= 0);
          expect(covered, `${s} ${l.fragment} handled by ${earlier.worker} then ${l.worker}`).toBeUndefined();
          // Only a dead (w1, before its SIGKILL) or stalled (w3, before it woke) worker's fragments come twice,
          // or those of a worker the machine starved past its lease (it finds the lease lost): stalled too.
          const dead = earlier.worker === "w1" && earlier.at <= killedAt;
          const stalled = earlier.worker === "w3" && earlier.at <= wokeAt;
          const starved = lostAfter(earlier.worker, earlier.at);
          if (starved && !dead && !stalled) fromStarved++;
          else if (!dead && !stalled) {
            fromLive++;
            live.push(`${s} ${l.fragment}: ${earlier.worker} at ${earlier.at - killedAt} ms, then ${l.worker} at ${l.at - killedAt} ms (from the kill)`);
          }
        }
      }
      // A kill or a stall redelivers only the dead worker's in-flight, un-checkpointed fragments; a handoff none.
      expect(live).toEqual([]);
      expect(fromLive).toBe(0);
      expect(redelivered).toBeLessThanOrEqual(2 * STREAMS.length);
      const handoffs = Math.max(0, ...lines.filter((l) => l.t === "metrics" && l.worker === "w2").map((l) => l.handedOver ?? 0));
      console.log(
        `fleet: failover ${failover} ms, ${redelivered} redeliveries of a dead or stalled worker's un-checkpointed fragments (${fromStarved} of a worker starved past its lease), 0 from ${handoffs}+ handoffs of w2 alone, ${lines.filter((l) => l.t === "handled").length} handled`,
      );
    } finally {
      producing = false;
      await producer;
      for (const [w, p] of procs)
        if (p.exitCode === null) {
          p.kill("SIGTERM");
          await Promise.race([new Promise((r) => p.once("exit", r)), sleep(5000)]);
          if (p.exitCode === null) p.kill("SIGKILL");
          procs.delete(w);
        }
    }
  }, 180_000);

  it("balances by load, not by count: 6 heavy and 18 light streams over 3 workers end within ±10 % of the mean load, and stay there", async () => {
    const workers = ["l1", "l2", "l3"];
    const TARGET = 0.08;
    let producing = true;
    const producer = (async () => {
      for (let i = 0; producing; i++) {
        for (const s of LOAD_STREAMS) kvs.appendClusters(s, [clusters[i % clusters.length]!]);
        await sleep(500);
      }
    })();
    const within = () =>
      workers.every((w) => {
        const l = loads.get(w);
        return l !== undefined && l.mean > 0 && Math.abs(l.load - l.mean) <= TARGET * l.mean;
      });
    const describeLoads = () => workers.map((w) => `${w}:${held.get(w)} streams ${loads.get(w)?.load.toFixed(0)}/${loads.get(w)?.mean.toFixed(0)}`).join(" ");
    try {
      // The balancer aims at ±8 % (settled: every worker there); the check below is ±10 % on measures that
      // jitter on a loaded machine.
      for (const w of workers) start(w, LOAD_STREAMS, ["load-test", "heavy-", "20", String(TARGET)]);
      // Settled: every worker within ±8 % and no stream moving for 5 s. A worker asks for a stream only
      // after three rounds (3 s) of seeing an imbalance, and a handoff takes a moment more to show: a
      // shorter quiet spell can hide a move already decided, which is the end of settling, not thrashing.
      const handoffs = () =>
        workers.reduce((n, w) => n + Math.max(0, ...lines.filter((l) => l.t === "metrics" && l.worker === w).map((l) => l.handedOver ?? 0)), 0);
      let streak = 0;
      let seen = -1;
      await until(
        () => {
          const now = handoffs();
          streak = within() && now === seen ? streak + 1 : 0;
          seen = now;
          return streak >= 100; // 50 ms polls: 5 s
        },
        60_000,
        describeLoads,
      );
      const handedBefore = lines.filter((l) => l.t === "metrics" && workers.includes(l.worker)).reduce((n, l) => Math.max(n, l.handedOver ?? 0), 0);
      const settledAt = Date.now();
      await sleep(8000);
      // No thrashing: balanced, it stays balanced with at most a move or two.
      const moves = workers
        .map((w) => Math.max(0, ...lines.filter((l) => l.t === "metrics" && l.worker === w).map((l) => l.handedOver ?? 0)))
        .reduce((a, b) => a + b, 0);
      const movesBefore = workers
        .map((w) => Math.max(0, ...lines.filter((l) => l.t === "metrics" && l.worker === w && l.at <= settledAt).map((l) => l.handedOver ?? 0)))
        .reduce((a, b) => a + b, 0);
      expect(moves - movesBefore, describeLoads()).toBeLessThanOrEqual(3);
      // Each worker's load, averaged over the last 4 s of rounds (one measure is noisy on a busy machine).
      const recent = lines.filter((l) => l.t === "metrics" && workers.includes(l.worker) && l.at > Date.now() - 4000);
      for (const w of workers) {
        const mine = recent.filter((l) => l.worker === w);
        const load = mine.reduce((a, l) => a + l.load!, 0) / mine.length;
        const mean = mine.reduce((a, l) => a + l.meanLoad!, 0) / mine.length;
        expect(Math.abs(load - mean) / mean, `${w}: ${describeLoads()}`).toBeLessThanOrEqual(0.1);
      }
      console.log(`fleet by load: ${describeLoads()}; ${movesBefore} handoffs to settle (first worker's count ${handedBefore}), ${moves - movesBefore} after`);
    } finally {
      producing = false;
      await producer;
      for (const w of workers) {
        const p = procs.get(w);
        if (p && p.exitCode === null) {
          p.kill("SIGTERM");
          await Promise.race([new Promise((r) => p.once("exit", r)), sleep(5000)]);
          if (p.exitCode === null) p.kill("SIGKILL");
        }
        procs.delete(w);
      }
    }
  }, 120_000);
});
