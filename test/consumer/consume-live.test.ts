import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { consume, type Consumer } from "../../src/consumer/consume.js";
import { DynamoDbCheckpointStore, DynamoDbLeaseTable, ensureCheckpointTable } from "../../src/consumer/dynamodb-store.js";
import { FanOutHub } from "../../src/consumer/fan-out.js";
import { MemoryCheckpointStore } from "../../src/consumer/store.js";
import type { LeaseTable } from "../../src/consumer/lease.js";
import { splitClusters } from "../../src/kvs/fragment-writer.js";
import { startDynalite, type LocalDynamo } from "../helpers/dynalite.js";
import { readFixture, swallowing } from "../helpers/fixtures.js";
import { harness, type Harness } from "../helpers/local-kvs.js";

let dynamo: LocalDynamo;
let h: Harness | undefined;
beforeAll(async () => {
  dynamo = await startDynalite();
  await ensureCheckpointTable(dynamo.client, "leases");
});
afterAll(async () => {
  await dynamo?.close();
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const clusters = splitClusters(readFixture("vogels_480.mkv"));
const live = { idleTimeoutMs: 1000, retry: { baseMs: 20, maxMs: 200 } };

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A lease table whose calls stop reaching DynamoDB once "killed" (the process died). */
function killable(table: LeaseTable) {
  let dead = false;
  return {
    kill: () => {
      dead = true;
    },
    table: {
      read: (k: string) => table.read(k),
      claim: (k: string, o: string, e: Parameters<LeaseTable["claim"]>[2]) => (dead ? Promise.reject(new Error("dead")) : table.claim(k, o, e)),
      renew: (k: string, o: string) => (dead ? Promise.reject(new Error("dead")) : table.renew(k, o)),
      release: (k: string, o: string) => (dead ? Promise.reject(new Error("dead")) : table.release(k, o)),
    } satisfies LeaseTable,
  };
}

describe("consume() on the local KVS endpoint", () => {
  it("two workers of one app on DynamoDB (dynalite) leases: one reads; when it dies the other takes over within the failover time from the checkpoint; no fragment lost", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 300 });
    const store = new DynamoDbCheckpointStore(dynamo.client, "leases");
    const leases = new DynamoDbLeaseTable(dynamo.client, "leases");
    const handledBy: Record<string, string[]> = { w1: [], w2: [] };
    const failoverMs = 600;
    const w1lease = killable(leases);
    let w1dead = false;
    const worker = (owner: string, table: LeaseTable): Consumer =>
      consume(h!.clients, "cam", {
        app: "recorder",
        store,
        from: "EARLIEST",
        live,
        lease: { table, owner, failoverMs, renewMs: 100 },
        handler: async ({ fragment }) => {
          if (owner === "w1" && w1dead) throw new Error("dead process does not handle");
          handledBy[owner]!.push(fragment.fragmentNumber!);
        },
      });
    const w1 = worker("w1", w1lease.table);
    await new Promise((r) => setTimeout(r, 150));
    const w2 = worker("w2", leases);
    h.kvs.appendClusters("cam", clusters.slice(0, 4));
    await until(() => handledBy.w1!.length === 4, 10_000, "w1 to read 4 fragments");
    expect(handledBy.w2).toEqual([]); // exactly one holder reads
    // w1 dies: its lease stops being renewed and it stops handling.
    w1dead = true;
    w1lease.kill();
    const died = performance.now();
    h.kvs.appendClusters("cam", clusters.slice(4));
    await until(() => handledBy.w2!.length >= 5, 15_000, "w2 to take over");
    const tookOverAfter = performance.now() - died;
    expect(tookOverAfter).toBeLessThan(failoverMs + 3000);
    const all = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    // At-least-once, none skipped: the union is the full sequence; w2 starts right after w1's checkpoint.
    expect([...new Set([...handledBy.w1!, ...handledBy.w2!])].sort()).toEqual([...all].sort());
    expect(handledBy.w2).toEqual(all.slice(4));
    await w2.stop();
    await w1.stop().catch(() => {});
    expect((await store.get("cam", "recorder"))?.fragmentNumber).toBe(all.at(-1));
  });

  it("fan-out: several apps share one GetMedia connection, each with its own cursor", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 300 });
    const hub = new FanOutHub(h.clients, "cam", { live });
    const store = new MemoryCheckpointStore();
    const seen: Record<string, string[]> = {};
    const apps = ["a", "b", "c", "d", "e"].map((app) => {
      seen[app] = [];
      return consume(h!.clients, "cam", {
        app,
        store,
        from: "EARLIEST",
        source: hub.source(),
        handler: ({ fragment }) => {
          seen[app]!.push(fragment.fragmentNumber!);
        },
      });
    });
    h.kvs.appendClusters("cam", clusters);
    const all = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    await until(() => Object.values(seen).every((s) => s.length === all.length), 10_000, "every app");
    for (const s of Object.values(seen)) expect(s).toEqual(all);
    expect(h.kvs.stats.requests.getMedia).toBe(1);
    expect(hub.stats).toMatchObject({ connections: 1, ownConnections: 0 });
    await Promise.all(apps.map((a) => a.stop()));
    hub.close();
  });

  it("fan-out: a slow app does not hold back a fast one; past the buffer it falls back to its own connection and loses nothing", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 300 });
    const hub = new FanOutHub(h.clients, "cam", { bufferBytes: 300_000, live });
    const store = new MemoryCheckpointStore();
    const fast: string[] = [];
    const slow: string[] = [];
    const a = consume(h.clients, "cam", {
      app: "fast",
      store,
      from: "EARLIEST",
      source: hub.source(),
      handler: ({ fragment }) => {
        fast.push(fragment.fragmentNumber!);
      },
    });
    const b = consume(h.clients, "cam", {
      app: "slow",
      store,
      from: "EARLIEST",
      source: hub.source(),
      maxQueuedBytes: 1,
      handler: async ({ fragment }) => {
        await new Promise((r) => setTimeout(r, 120));
        slow.push(fragment.fragmentNumber!);
      },
    });
    h.kvs.appendClusters("cam", clusters);
    const all = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    await until(() => fast.length === all.length, 5_000, "the fast app");
    expect(slow.length).toBeLessThan(all.length); // the fast one finished first
    await until(
      () => slow.length === all.length,
      15_000,
      `the slow app (${slow.length}/${all.length}, hub ${JSON.stringify(hub.stats)}, getMedia ${JSON.stringify(h?.kvs.stats.requests)})`,
    );
    expect(fast).toEqual(all);
    expect(slow).toEqual(all);
    expect(hub.stats.ownConnections).toBeGreaterThan(0);
    await Promise.all([a.stop(), b.stop()]);
    hub.close();
  });

  it('a fragment whose stored bytes never parse: the app fails with CORRUPT_MEDIA naming it, or with onCorruptFragment "skip" records it, checkpoints past it and handles every other fragment', async () => {
    // A Void claiming 2^40 bytes inside fragment 4, clusters of unknown size (as near the live edge).
    const bad = 4;
    const stored = clusters.map((c, i) => (i === bad ? swallowing(c) : c));
    h = await harness({ streams: { cam: {} }, idleEndMs: 200, unknownSizeClusters: true });
    h.kvs.appendClusters("cam", stored);
    const all = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    const tight = { ...live, maxCorruptAttempts: 3 };

    const failing: string[] = [];
    const failed = consume(h.clients, "cam", {
      app: "strict",
      store: new MemoryCheckpointStore(),
      from: "EARLIEST",
      live: tight,
      handler: ({ fragment }) => {
        failing.push(fragment.fragmentNumber!);
      },
    });
    await expect(failed.done).rejects.toMatchObject({ name: "KvsServiceError", code: "CORRUPT_MEDIA", fragmentNumber: all[bad] });
    expect(failing).toEqual(all.slice(0, bad));

    const store = new MemoryCheckpointStore();
    const handled: string[] = [];
    const recorded: string[] = [];
    const lenient = consume(h.clients, "cam", {
      app: "lenient",
      store,
      from: "EARLIEST",
      live: tight,
      onCorruptFragment: "skip",
      onSkipped: (e) => recorded.push(`${e.fragmentNumber} after ${handled.length} handled`),
      handler: ({ fragment }) => {
        handled.push(fragment.fragmentNumber!);
      },
    });
    await until(() => handled.length === all.length - 1, 10_000, "every other fragment");
    const summary = await lenient.stop();
    expect(handled).toEqual(all.filter((_, i) => i !== bad));
    expect(recorded).toEqual([`${all[bad]} after ${bad} handled`]);
    expect(summary.skipped.map((e) => e.fragmentNumber)).toEqual([all[bad]]);
    expect((await store.get("cam", "lenient"))?.fragmentNumber).toBe(all.at(-1));
  });
});
