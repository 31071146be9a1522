import type { Subscription } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { liveMedia } from "../../src/aws/live-media.js";
import { checksum, parseChunked, readFixture } from "../helpers/fixtures.js";
import { harness, type Harness } from "../helpers/local-kvs.js";
import type { Frame } from "../../src/matroska/frame.js";

let h: Harness | undefined;
let sub: Subscription | undefined;
let stopFaults: (() => void) | undefined;
afterEach(async () => {
  stopFaults?.();
  sub?.unsubscribe();
  await h?.close();
  h = undefined;
});

// SOAK_S=60 npm test for a longer run; 5 s by default.
const SOAK_MS = Number(process.env.SOAK_S ?? 5) * 1000;

describe("soak: live reading under random faults", () => {
  it(
    `every fragment produced over ~${SOAK_MS / 1000} s arrives exactly once and in order, every frame too`,
    async () => {
      h = await harness({ streams: { cam: {} }, idleEndMs: 300, maxCallsPerSecond: 5, maxConnections: 3 });
      const kvs = h.kvs;
      const source = readFixture("clusters.mkv");
      const perPut = parseChunked(source)
        .events.filter((e): e is Frame => e.type === "frame")
        .map((f) => `${f.track}/${f.timestampMs}/${checksum(f.data)}`);
      const fragments: string[] = [];
      const frames: string[] = [];
      let kept = 0;
      let puts = 0;
      sub = liveMedia(h.clients, "cam", { from: "EARLIEST", idleTimeoutMs: 600, retry: { baseMs: 30, maxMs: 400, limitBaseMs: 100 } }).subscribe({
        next(ev) {
          if (ev.type === "fragment") {
            fragments.push(ev.fragmentNumber!);
            kept = frames.length;
          } else if (ev.type === "frame") frames.push(`${ev.track}/${ev.timestampMs}/${checksum(ev.data)}`);
          else if (ev.type === "fragmentDiscarded") frames.length = kept; // the cut fragment's frames come again
        },
        error(e) {
          throw e;
        },
      });
      // A producer: a new 8-fragment MKV every 400 ms; random faults every 250 ms.
      stopFaults = kvs.randomFaults({ seed: 42, everyMs: 250 });
      const deadline = performance.now() + SOAK_MS;
      while (performance.now() < deadline) {
        kvs.putMedia("cam", source);
        puts++;
        await new Promise((r) => setTimeout(r, 400));
      }
      stopFaults();
      // Let the reader catch up (bounded).
      const produced = kvs.fragments("cam").map((f) => f.fragmentNumber);
      for (let i = 0; i < 200 && fragments.length < produced.length; i++) await new Promise((r) => setTimeout(r, 50));
      expect(fragments.length).toBe(produced.length);
      expect(fragments).toEqual(produced);
      expect(frames.length).toBe(perPut.length * puts);
      expect(frames).toEqual(Array.from({ length: puts }, () => perPut).flat());
      expect(kvs.stats.requests.getMedia).toBeGreaterThan(5); // it really reconnected
    },
    SOAK_MS + 30_000,
  );
});
