import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { consume, type Consumer } from "../../src/consumer/consume.js";
import { FanOutHub } from "../../src/consumer/fan-out.js";
import { MemoryCheckpointStore } from "../../src/consumer/store.js";
import { compareFragmentNumbers } from "../../src/kvs/fragment-number.js";
import { splitClusters } from "../../src/kvs/fragment-writer.js";
import type { Fault } from "../../src/testing/local-kvs.js";
import { readFixture } from "../helpers/fixtures.js";
import { harness } from "../helpers/local-kvs.js";

// Random schedules of production, apps joining, leaving and being killed, handler latencies, and faults
// on the wire (resets, stalls, truncation, corrupt bytes, cut blocks), on the local endpoint. For every
// app: each fragment handled, in order, at least once; never twice within one run; always whole.
const clusters = splitClusters(readFixture("generated/h264_aac.mkv"));
const APPS = ["a", "b", "c"] as const;
type App = (typeof APPS)[number];
type Step =
  | { kind: "produce"; n: number }
  | { kind: "join"; app: App; latencyMs: number; shared: boolean }
  | { kind: "leave"; app: App }
  | { kind: "kill"; app: App }
  | { kind: "fault"; fault: Fault["kind"] }
  | { kind: "wait"; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("produce" as const), n: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant("join" as const), app: fc.constantFrom(...APPS), latencyMs: fc.constantFrom(0, 5, 40, 120), shared: fc.boolean() }),
  fc.record({ kind: fc.constant("leave" as const), app: fc.constantFrom(...APPS) }),
  fc.record({ kind: fc.constant("kill" as const), app: fc.constantFrom(...APPS) }),
  fc.record({
    kind: fc.constant("fault" as const),
    fault: fc.constantFrom("reset", "stall", "truncate", "corrupt", "cutBlock", "http5xx") as fc.Arbitrary<Fault["kind"]>,
  }),
  fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 10, max: 250 }) }),
);

class Killed extends Error {}
/** SCHEDULE_RUNS=50 npm test for a longer search. */
const RUNS = Number(process.env.SCHEDULE_RUNS ?? 6);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("property: random schedules of load and faults", () => {
  it(
    "every app handles every fragment in order, at least once, never twice in one run, never with frames missing",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 14 }), async (steps) => {
          const h = await harness({ streams: { cam: {} }, idleEndMs: 400 });
          const hub = new FanOutHub(h.clients, "cam", { bufferBytes: 512 * 1024, live: { idleTimeoutMs: 800, retry: { baseMs: 10, maxMs: 150 } } });
          const store = new MemoryCheckpointStore();
          const runs: Record<App, { startedAfter: string | null; handled: string[] }[]> = { a: [], b: [], c: [] };
          const running = new Map<App, { consumer: Consumer; kill: () => void }>();
          const problems: string[] = [];
          const join = async (app: App, latencyMs: number, shared: boolean) => {
            if (running.has(app)) return;
            const run = { startedAfter: (await store.get("cam", app))?.fragmentNumber ?? null, handled: [] as string[] };
            runs[app].push(run);
            let killed = false;
            const consumer = consume(h.clients, "cam", {
              app,
              store,
              from: "EARLIEST",
              source: shared ? hub.source() : undefined,
              maxQueuedBytes: 64 * 1024,
              live: { idleTimeoutMs: 800, retry: { baseMs: 10, maxMs: 150 } },
              handler: async ({ fragment, frames }) => {
                if (killed) throw new Killed();
                if (!fragment.complete || frames.length !== fragment.frameCount)
                  problems.push(`${app}: ${fragment.fragmentNumber} with ${frames.length}/${fragment.frameCount} frames`);
                if (latencyMs) await sleep(latencyMs);
                if (killed) throw new Killed();
                run.handled.push(fragment.fragmentNumber!);
              },
            });
            consumer.done.catch((e: unknown) => {
              if (!(e instanceof Killed)) problems.push(`${app}: ${String(e)}`);
            });
            running.set(app, {
              consumer,
              kill: () => {
                killed = true;
              },
            });
          };
          try {
            for (const s of steps) {
              if (s.kind === "produce") for (let i = 0; i < s.n; i++) h.kvs.appendClusters("cam", [clusters[i % 2]!]);
              else if (s.kind === "join") await join(s.app, s.latencyMs, s.shared);
              else if (s.kind === "leave") {
                await running
                  .get(s.app)
                  ?.consumer.stop()
                  .catch(() => {});
                running.delete(s.app);
              } else if (s.kind === "kill") {
                running.get(s.app)?.kill();
                running.delete(s.app);
              } else if (s.kind === "fault") h.kvs.injectFault("cam", { kind: s.fault } as Fault);
              else await sleep(s.ms);
            }
            // Every app runs to the end of what was produced.
            h.kvs.appendClusters("cam", [clusters[0]!]);
            const all = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
            for (const app of APPS) if (!running.has(app)) await join(app, 0, false);
            const end = performance.now() + 15_000;
            const done = (app: App) => new Set(runs[app].flatMap((r) => r.handled)).size === all.length;
            while (!APPS.every(done) && performance.now() < end && problems.length === 0) await sleep(25);
            expect(problems).toEqual([]);
            for (const app of APPS) {
              const union = new Set(runs[app].flatMap((r) => r.handled));
              expect([...union].sort(compareFragmentNumbers), app).toEqual(all);
              for (const run of runs[app]) {
                // In order, each once, starting right after the checkpoint the run found.
                const from = run.startedAfter === null ? 0 : all.indexOf(run.startedAfter) + 1;
                expect(run.handled, app).toEqual(all.slice(from, from + run.handled.length));
              }
            }
          } finally {
            await Promise.all([...running.values()].map((r) => r.consumer.stop().catch(() => {})));
            hub.close();
            await h.close();
          }
        }),
        { numRuns: RUNS, endOnFailure: true },
      );
    },
    RUNS * 20_000,
  );
});
