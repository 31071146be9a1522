import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KvsClients } from "../../src/aws/clients.js";
import { consume } from "../../src/consumer/consume.js";
import { FileCheckpointStore } from "../../src/consumer/file-store.js";
import { MemoryCheckpointStore } from "../../src/consumer/store.js";
import { fragmentsOf, memorySource } from "../helpers/memory-source.js";

const FILE = "test_mixed_tags.mkv";
const clients = new KvsClients({ region: "us-east-1" }); // never called: every test passes a source
const all = fragmentsOf(FILE).map((f) => f.number);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

class Crash extends Error {}

describe("consume()", () => {
  it("delivers every fragment in order with its frames, checkpointing after each", async () => {
    const store = new MemoryCheckpointStore();
    const seen: [string, number][] = [];
    const c = consume(clients, "cam", {
      app: "counter",
      store,
      source: memorySource(FILE),
      handler: async ({ fragment, frames }) => {
        seen.push([fragment.fragmentNumber!, frames.length]);
      },
    });
    const summary = await c.done;
    expect(seen).toEqual(all.map((n) => [n, 10]));
    expect(summary).toMatchObject({ handled: 10, checkpoints: 10, lastCheckpoint: all[9], resumedFrom: null });
    expect((await store.get("cam", "counter"))?.fragmentNumber).toBe(all[9]);
  });

  it("a restart resumes right after the last checkpoint (file store)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kvs-consume-"));
    dirs.push(dir);
    const seen: string[] = [];
    const first = consume(clients, "cam", {
      app: "a",
      store: new FileCheckpointStore(dir),
      source: memorySource(FILE),
      handler: ({ fragment }) => {
        if (seen.length === 4) throw new Crash("killed");
        seen.push(fragment.fragmentNumber!);
      },
    });
    await expect(first.done).rejects.toBeInstanceOf(Crash);
    const opened: (string | null)[] = [];
    const second = consume(clients, "cam", {
      app: "a",
      store: new FileCheckpointStore(dir),
      source: memorySource(FILE, (a) => opened.push(a)),
      handler: ({ fragment }) => {
        seen.push(fragment.fragmentNumber!);
      },
    });
    const s = await second.done;
    expect(opened).toEqual([all[3]]);
    expect(s.resumedFrom).toBe(all[3]);
    expect(seen).toEqual(all);
  });

  it("two apps progress independently with their own checkpoints", async () => {
    const store = new MemoryCheckpointStore();
    const fast: string[] = [];
    const slow: string[] = [];
    const a = consume(clients, "cam", {
      app: "fast",
      store,
      source: memorySource(FILE),
      handler: ({ fragment }) => {
        fast.push(fragment.fragmentNumber!);
      },
    });
    const b = consume(clients, "cam", {
      app: "slow",
      store,
      source: memorySource(FILE),
      handler: async ({ fragment }) => {
        await new Promise((r) => setTimeout(r, 5));
        slow.push(fragment.fragmentNumber!);
      },
    });
    await Promise.all([a.done, b.done]);
    expect(fast).toEqual(all);
    expect(slow).toEqual(all);
    expect((await store.get("cam", "fast"))?.fragmentNumber).toBe(all[9]);
    expect((await store.get("cam", "slow"))?.fragmentNumber).toBe(all[9]);
  });

  it("a handler error stops the app with that error and does not checkpoint the failed fragment", async () => {
    const store = new MemoryCheckpointStore();
    const c = consume(clients, "cam", {
      app: "a",
      store,
      source: memorySource(FILE),
      handler: ({ fragment }) => {
        if (fragment.fragmentNumber === all[2]) throw new Error("boom");
      },
    });
    await expect(c.done).rejects.toThrow("boom");
    expect((await store.get("cam", "a"))?.fragmentNumber).toBe(all[1]);
  });

  it("retries a failing handler per the policy instead of skipping", async () => {
    let failures = 0;
    const seen: string[] = [];
    const c = consume(clients, "cam", {
      app: "a",
      store: new MemoryCheckpointStore(),
      source: memorySource(FILE),
      onHandlerError: { retries: 2, delayMs: 1 },
      handler: ({ fragment }) => {
        if (fragment.fragmentNumber === all[5] && failures < 2) {
          failures++;
          throw new Error("flaky");
        }
        seen.push(fragment.fragmentNumber!);
      },
    });
    await c.done;
    expect(seen).toEqual(all);
    expect(failures).toBe(2);
  });

  it("a slow handler holds the source back (its queue is bounded in bytes): nothing is dropped, nothing read twice", async () => {
    const seen: string[] = [];
    const opened: (string | null)[] = [];
    const reads = { count: 0 };
    let aheadMax = 0;
    const c = consume(clients, "cam", {
      app: "slow",
      store: new MemoryCheckpointStore(),
      maxQueuedBytes: 1,
      source: memorySource(FILE, (a) => opened.push(a), reads),
      handler: async ({ fragment }) => {
        aheadMax = Math.max(aheadMax, reads.count - seen.length);
        await new Promise((r) => setTimeout(r, 10));
        seen.push(fragment.fragmentNumber!);
      },
    });
    await c.done;
    expect(seen).toEqual(all);
    expect(opened).toEqual([null]); // one read, no drop-and-reread
    expect(reads.count).toBe(all.length);
    expect(aheadMax).toBeLessThanOrEqual(2); // the handled one and at most one queued behind it
  });

  it("checkpointEvery.fragments batches writes and stop() flushes the last one", async () => {
    const store = new MemoryCheckpointStore();
    const c = consume(clients, "cam", { app: "a", store, source: memorySource(FILE), checkpointEvery: { fragments: 4 }, handler: () => {} });
    const s = await c.done;
    expect(s.checkpoints).toBe(3); // after 4, 8, and the final flush at 10
    expect((await store.get("cam", "a"))?.fragmentNumber).toBe(all[9]);
  });

  it("lag$ reports the last handled fragment and MILLIS_BEHIND_NOW", async () => {
    const lags: (string | null)[] = [];
    let behind: number | null = null;
    const c = consume(clients, "cam", { app: "a", store: new MemoryCheckpointStore(), source: memorySource(FILE), handler: () => {} });
    c.lag$.subscribe((l) => {
      lags.push(l.lastHandled);
      behind = l.millisBehindNow;
    });
    await c.done;
    expect(lags.slice(1)).toEqual(all);
    expect(behind).toBe(274);
  });

  it("property: across random crashes and checkpoint intervals, every fragment is delivered, in order, only un-checkpointed ones again", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 6 }), fc.integer({ min: 1, max: 4 }), async (crashAfter, every) => {
        const store = new MemoryCheckpointStore();
        const delivered: string[] = [];
        for (const crashAt of [...crashAfter, -1]) {
          let n = 0;
          const before = (await store.get("cam", "p"))?.fragmentNumber ?? null;
          const start = delivered.length;
          const c = consume(clients, "cam", {
            app: "p",
            store,
            source: memorySource(FILE),
            checkpointEvery: { fragments: every },
            handler: ({ fragment }) => {
              if (n++ === crashAt) throw new Crash();
              delivered.push(fragment.fragmentNumber!);
            },
          });
          await c.done.catch((e: unknown) => {
            if (!(e instanceof Crash)) throw e;
          });
          // This run started right after its checkpoint, in order.
          const run = delivered.slice(start);
          const from = before === null ? 0 : all.indexOf(before) + 1;
          expect(run).toEqual(all.slice(from, from + run.length));
        }
        // Union in order: the full sequence, each first delivery in order.
        const firsts = delivered.filter((x, i) => delivered.indexOf(x) === i);
        expect(firsts).toEqual(all);
      }),
      { numRuns: 40 },
    );
  });
});
