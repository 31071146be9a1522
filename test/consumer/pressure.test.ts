import { afterEach, describe, expect, it } from "vitest";
import { consume, type Consumer } from "../../src/consumer/consume.js";
import { FanOutHub } from "../../src/consumer/fan-out.js";
import { MemoryCheckpointStore } from "../../src/consumer/store.js";
import { splitClusters, type ProducerCluster } from "../../src/kvs/fragment-writer.js";
import type { LiveStatus } from "../../src/aws/live-media.js";
import { readFixture } from "../helpers/fixtures.js";
import { harness, type Harness } from "../helpers/local-kvs.js";

let h: Harness | undefined;
const running: Consumer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop().catch(() => {})));
  await h?.close();
  h = undefined;
});

const small = splitClusters(readFixture("generated/h264_aac.mkv")); // 2 clusters of ~43 kB
const vogels = splitClusters(readFixture("vogels_480.mkv")); // 9 clusters of 90-400 kB
const live = { idleTimeoutMs: 2000, retry: { baseMs: 20, maxMs: 300, limitBaseMs: 100 } };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timeout waiting for ${what()}`);
    await sleep(20);
  }
}

/** The largest gap between ticks of a 10 ms timer while `body` runs: a frozen event loop shows here. */
async function maxTimerGap(body: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let gap = 0;
  const t = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 10);
  try {
    await body();
  } finally {
    clearInterval(t);
  }
  return gap;
}

/** Appends `n` fragments (cycling through `clusters`), one every `everyMs`. */
async function produce(h: Harness, clusters: readonly ProducerCluster[], n: number, everyMs: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    h.kvs.appendClusters("cam", [clusters[i % clusters.length]!]);
    await sleep(everyMs);
  }
}

describe("consumers under pressure", () => {
  it("fan-out: a 250 ms handler and an app joining from EARLIEST over a full buffer never freeze the process; every app gets every fragment in order", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 2000 });
    const hub = new FanOutHub(h.clients, "cam", { bufferBytes: 2 * 1024 * 1024, live });
    const store = new MemoryCheckpointStore();
    const seen: Record<string, string[]> = { fast1: [], fast2: [], slow: [], late: [] };
    const start = (app: string, handler: () => Promise<void> | void) => {
      const c = consume(h!.clients, "cam", {
        app,
        store,
        from: "EARLIEST",
        source: hub.source(),
        maxQueuedBytes: 256 * 1024,
        live,
        handler: async ({ fragment }) => {
          await handler();
          seen[app]!.push(fragment.fragmentNumber!);
        },
      });
      running.push(c);
      return c;
    };
    const gap = await maxTimerGap(async () => {
      start("fast1", () => {});
      start("fast2", () => {});
      start("slow", () => sleep(250));
      await produce(h!, small, 24, 40); // > 16 fragments buffered
      start("late", () => {});
      await produce(h!, small, 6, 40);
      const all = () => h!.kvs.fragments("cam").map((f) => f.fragmentNumber);
      await until(
        () => seen.fast1!.length === 30 && seen.fast2!.length === 30 && seen.late!.length === 30,
        15_000,
        () => JSON.stringify(Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v.length]))),
      );
      expect(seen.fast1).toEqual(all());
      expect(seen.late).toEqual(all());
      expect(seen.slow!.length).toBeLessThan(30); // still working through its backlog: it held nobody back
    });
    expect(gap).toBeLessThan(500);
    await until(
      () => seen.slow!.length === 30,
      20_000,
      () => `the slow app (${seen.slow!.length}/30)`,
    );
    expect(seen.slow).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
    expect(hub.stats.detached).toBeGreaterThan(0);
    expect(hub.bufferedBytes).toBeLessThanOrEqual(2 * 1024 * 1024 + 60_000);
    hub.close();
  });

  it("fan-out: the hub keeps at most bufferBytes of fragments, whatever their count and size", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 2000 });
    const hub = new FanOutHub(h.clients, "cam", { bufferBytes: 1024 * 1024, live });
    let handled = 0;
    running.push(
      consume(h.clients, "cam", { app: "a", store: new MemoryCheckpointStore(), from: "EARLIEST", source: hub.source(), live, handler: () => void handled++ }),
    );
    let peak = 0;
    for (let i = 0; i < 40; i++) {
      h.kvs.appendClusters("cam", [vogels[i % vogels.length]!]);
      await sleep(10);
      peak = Math.max(peak, hub.bufferedBytes);
    }
    await until(
      () => handled === 40,
      10_000,
      () => `${handled}/40`,
    );
    peak = Math.max(peak, hub.bufferedBytes);
    expect(peak).toBeLessThanOrEqual(1024 * 1024 + 400_000 + 100_000); // the bound plus the newest fragment
    hub.close();
  });

  it("fan-out: consume's `from` is the app's, not the hub's", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 2000 });
    h.kvs.appendClusters("cam", vogels.slice(0, 3));
    const hub = new FanOutHub(h.clients, "cam", { live });
    const seen: string[] = [];
    running.push(
      consume(h.clients, "cam", {
        app: "a",
        store: new MemoryCheckpointStore(),
        from: "EARLIEST",
        source: hub.source(),
        live,
        handler: ({ fragment }) => void seen.push(fragment.fragmentNumber!),
      }),
    );
    await until(
      () => seen.length === 3,
      10_000,
      () => `${seen.length}/3`,
    );
    expect(seen).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
    hub.close();
  });

  it("a backlog is worked off at the handler's speed: 150 old fragments plus 7 new per second, 20 ms handler, with GetMedia sending 5 fragments/s when behind", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 3000, catchUpFragmentsPerSecond: 5 });
    const backlog: ProducerCluster[] = Array.from({ length: 150 }, (_, i) => ({ ...small[i % 2]!, timestampMs: i * 1000 }));
    h.kvs.appendClusters("cam", backlog, { serverStartMs: Date.now() - 200_000 });
    const store = new MemoryCheckpointStore();
    const handled: string[] = [];
    const statuses: LiveStatus[] = [];
    const c = consume(h.clients, "cam", {
      app: "catch-up",
      store,
      from: "EARLIEST",
      live: { ...live, onStatus: (s) => statuses.push(s) },
      handler: async ({ fragment }) => {
        await sleep(20);
        handled.push(fragment.fragmentNumber!);
      },
    });
    running.push(c);
    const started = performance.now();
    const producing = produce(h, small, 50, 143); // ~7 fragments/s for ~7 s
    await until(
      () => handled.length >= 150,
      12_000,
      () => `the backlog (${handled.length}/150 after ${Math.round(performance.now() - started)} ms, ${statuses.map((s) => s.type).join(",")})`,
    );
    const backlogMs = performance.now() - started;
    await producing;
    await until(
      () => handled.length === 200,
      10_000,
      () => `the live edge (${handled.length}/200)`,
    );
    expect(handled).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
    // 150 fragments at 20 ms is 3 s of handler time; GetMedia alone (5/s) would need 30 s.
    expect(backlogMs).toBeLessThan(9000);
    expect(statuses.some((s) => s.type === "catchingUp")).toBe(true);
    expect(h.kvs.stats.requests.getMedia ?? 0).toBeLessThan(15);
    const needed = h.kvs.fragments("cam").reduce((n, f) => n + f.sizeBytes, 0);
    expect(h.kvs.stats.bytesSent).toBeLessThan(needed * 1.5);
  });
});
