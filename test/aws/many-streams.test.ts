import type { Subscription } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { liveMedia, type LiveStatus } from "../../src/aws/live-media.js";
import { splitClusters } from "../../src/kvs/fragment-writer.js";
import { readFixture } from "../helpers/fixtures.js";
import { harness, type Harness } from "../helpers/local-kvs.js";

let h: Harness | undefined;
const subs: Subscription[] = [];
afterEach(async () => {
  for (const s of subs.splice(0)) s.unsubscribe();
  await h?.close();
  h = undefined;
});

const clusters = splitClusters(readFixture("generated/mjpeg_pcm.mkv"));

describe("many live streams in one process", () => {
  it("200 live streams through one KvsClients: every stream delivers (no socket pool starves them)", async () => {
    const names = Array.from({ length: 200 }, (_, i) => `cam-${i}`);
    h = await harness({ streams: Object.fromEntries(names.map((n) => [n, {}])), idleEndMs: 30_000, maxResponseMs: 60_000 });
    const delivered = new Map<string, number>();
    const waits: LiveStatus[] = [];
    for (const name of names) {
      subs.push(
        liveMedia(h.clients, name, { from: "NOW", idleTimeoutMs: 40_000, onStatus: (s) => s.type === "waiting" && waits.push(s) }).subscribe((ev) => {
          if (ev.type === "fragment") delivered.set(name, (delivered.get(name) ?? 0) + 1);
        }),
      );
    }
    // Every reader holds a GetMedia response open (waiting at the live edge), then each stream gets media.
    const deadline = performance.now() + 30_000;
    while (names.reduce((n, s) => n + h!.kvs.openGetMedia(s), 0) < names.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(names.reduce((n, s) => n + h!.kvs.openGetMedia(s), 0)).toBe(names.length);
    for (const name of names) h.kvs.appendClusters(name, clusters.slice(0, 2));
    while (names.some((n) => (delivered.get(n) ?? 0) < 2) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(names.filter((n) => (delivered.get(n) ?? 0) < 2)).toEqual([]);
    // Opens were spread by the process-wide cap on GetMedia calls being opened at once.
    expect(waits.some((w) => w.type === "waiting" && w.reason === "openSlots")).toBe(true);
  }, 90_000);
});

describe("a local limit shows up as a status, never as silent starvation", () => {
  it("with a custom requestHandler capped at 2 sockets, the third stream's reader reports it is waiting for an answer", async () => {
    h = await harness({ streams: { a: {}, b: {}, c: {} }, idleEndMs: 30_000 });
    const { KvsClients } = await import("../../src/aws/clients.js");
    const capped = new KvsClients({
      region: "us-east-1",
      endpoint: h.kvs.endpoint,
      credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" }, // the harness checks signatures
      requestHandler: { httpAgent: { maxSockets: 2 } },
    });
    const statuses = new Map<string, LiveStatus[]>();
    try {
      for (const s of ["a", "b", "c"]) {
        statuses.set(s, []);
        subs.push(liveMedia(capped, s, { from: "NOW", idleTimeoutMs: 60_000, onStatus: (x) => statuses.get(s)!.push(x) }).subscribe());
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 2600));
      const waiting = [...statuses.entries()].filter(([, l]) => l.some((x) => x.type === "waiting" && x.reason === "response")).map(([s]) => s);
      expect(waiting).toEqual(["c"]);
    } finally {
      for (const s of subs.splice(0)) s.unsubscribe();
      capped.destroy();
    }
  }, 30_000);
});
