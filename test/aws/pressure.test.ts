import { from, lastValueFrom, toArray, type Subscription } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { liveMedia, type LiveEvent, type LiveMediaOptions, type LiveStatus } from "../../src/aws/live-media.js";
import { KvsServiceError } from "../../src/aws/errors.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { withFrames } from "../../src/rx/with-frames.js";
import type { Fault, LocalKvsOptions } from "../../src/testing/local-kvs.js";
import { checksum, keptFrames, parseChunked, readFixture, swallowing } from "../helpers/fixtures.js";
import { harness, type Harness } from "../helpers/local-kvs.js";
import type { Frame } from "../../src/matroska/frame.js";
import { splitClusters } from "../../src/kvs/fragment-writer.js";

let h: Harness | undefined;
let sub: Subscription | undefined;
afterEach(async () => {
  sub?.unsubscribe();
  sub = undefined;
  await h?.close();
  h = undefined;
});

const FILE = "vogels_480.mkv"; // 9 fragments, 2334 frames
const sourceFrames = parseChunked(readFixture(FILE))
  .events.filter((e): e is Frame => e.type === "frame")
  .map((f) => `${f.track}/${f.timestampMs}/${checksum(f.data)}`);
const fast: LiveMediaOptions = { idleTimeoutMs: 1500, retry: { baseMs: 20, maxMs: 200, limitBaseMs: 50 } };

/** Reads until `count` fragments arrived or the reader errors (bounded by a timeout). */
async function read(h: Harness, count: number, opts: LiveMediaOptions, timeoutMs = 20_000, stream = "cam", alsoWait?: (events: LiveEvent[]) => boolean) {
  const frames: string[] = [];
  let kept = 0;
  const fragments: FragmentEvent[] = [];
  const statuses: LiveStatus[] = [];
  const events: LiveEvent[] = [];
  let error: unknown;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      error = new Error(
        `timeout: ${fragments.length}/${count} fragments, ${statuses.map((s) => s.type + (s.type === "retrying" ? `:${s.error.code}` : "")).join(",")}`,
      );
      resolve();
    }, timeoutMs);
    sub = liveMedia(h.clients, stream, { ...fast, onStatus: (s) => statuses.push(s), ...opts }).subscribe({
      next(ev) {
        events.push(ev);
        if (ev.type === "frame") frames.push(`${ev.track}/${ev.timestampMs}/${checksum(ev.data)}`);
        if (ev.type === "fragmentDiscarded") frames.length = kept; // the cut fragment's frames come again
        if (ev.type === "fragment") {
          kept = frames.length;
          fragments.push(ev);
        }
        if (fragments.length >= count && (alsoWait === undefined || alsoWait(events))) {
          clearTimeout(timer);
          resolve();
        }
      },
      error(e) {
        error = e;
        clearTimeout(timer);
        resolve();
      },
    });
  });
  sub?.unsubscribe();
  return { frames, fragments, statuses, events, error, numbers: fragments.map((f) => f.fragmentNumber) };
}

async function withFaults(faults: Fault[], options: LocalKvsOptions = {}) {
  return harness({ streams: { cam: { mkv: readFixture(FILE) } }, idleEndMs: 200, faults: { cam: faults }, ...options });
}

describe("liveMedia under the service's failure modes", () => {
  it("an in-stream ERROR_ID the service will not get past (4000: fragment gone) raises MEDIA_ERROR at once instead of reconnecting forever", async () => {
    h = await withFaults([]);
    const gone = h.kvs.fragments("cam")[0]!.fragmentNumber;
    h.kvs.expire("cam", 3);
    const got = await read(h, 1, { after: { fragmentNumber: gone, continuationToken: gone } });
    expect(got.error).toBeInstanceOf(KvsServiceError);
    expect(got.error).toMatchObject({ code: "MEDIA_ERROR", errorId: "4000", retryable: false });
    expect(h.kvs.stats.requests.getMedia).toBe(1);
  });

  it("a retryable in-stream error (3002) is retried and nothing is lost", async () => {
    h = await withFaults([{ kind: "streamError", id: 3002, code: "error writing to the stream" }]);
    const got = await read(h, 9, { from: "EARLIEST" });
    expect(got.error).toBeUndefined();
    expect(got.numbers).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
    expect(got.statuses.some((s) => s.type === "retrying" && s.error.code === "MEDIA_ERROR")).toBe(true);
  });

  it("retry.maxAttempts counts failures in a row without progress: resets after good fragments never end the reader", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 5000 });
    h.kvs.putMedia("cam", readFixture(FILE));
    h.kvs.putMedia("cam", readFixture(FILE));
    h.kvs.putMedia("cam", readFixture(FILE));
    const perFragment = Math.max(...h.kvs.fragments("cam").map((f) => f.sizeBytes));
    // Three resets, each after 3 good fragments (every response is cut 3.5 fragments in).
    for (let i = 0; i < 3; i++) h.kvs.injectFault("cam", { kind: "reset", afterBytes: Math.floor(perFragment * 3.5) });
    const got = await read(h, 27, { from: "EARLIEST", retry: { maxAttempts: 2, baseMs: 20, maxMs: 100 } });
    expect(got.error).toBeUndefined();
    expect(got.numbers).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
    expect(got.statuses.filter((s) => s.type === "retrying")).toHaveLength(3);
  });

  it("NOW, then a reset inside the first fragment: that fragment is read again and arrives whole with its fragment event", async () => {
    // The first GetMedia (NOW) waits for media, then is reset 150 kB into the first fragment (~220 kB).
    h = await harness({ streams: { cam: {} }, idleEndMs: 5000, faults: { cam: [{ kind: "reset", afterBytes: 150_000 }] } });
    const events: LiveEvent[] = [];
    sub = liveMedia(h.clients, "cam", { ...fast, from: "NOW" }).subscribe((ev) => events.push(ev));
    for (let i = 0; i < 100 && h.kvs.openGetMedia("cam") === 0; i++) await new Promise((r) => setTimeout(r, 20));
    h.kvs.putMedia("cam", readFixture(FILE));
    const all = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    for (let i = 0; i < 250 && events.filter((e) => e.type === "fragment").length < 9; i++) await new Promise((r) => setTimeout(r, 20));
    const fragments = events.filter((e): e is FragmentEvent => e.type === "fragment");
    expect(fragments.map((f) => f.fragmentNumber)).toEqual(all);
    expect(keptFrames(events).map((f) => `${f.track}/${f.timestampMs}/${checksum(f.data)}`)).toEqual(sourceFrames);
    const grouped = await lastValueFrom(from(events).pipe(withFrames(), toArray()));
    for (const g of grouped) expect(g.frames.length).toBe(g.fragment.frameCount);
    expect(h.kvs.stats.requests.getMedia).toBeGreaterThanOrEqual(2);
  });

  it("a corrupt burst of bytes on the wire: the reader reconnects from the last token; no fragment lost, none without a number", async () => {
    h = await withFaults([{ kind: "corrupt", length: 2000 }]);
    const got = await read(h, 9, { from: "EARLIEST" });
    expect(got.error).toBeUndefined();
    expect(got.numbers).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
    expect(got.frames).toEqual(sourceFrames);
    expect(got.statuses.some((s) => s.type === "retrying" && s.error.code === "CORRUPT_MEDIA")).toBe(true);
  });

  it("garbage written once between two fragments of a live stream never stalls the reader: 30 seeds, each delivers every fragment", async () => {
    // Some seeds read as an element whose size swallows the fragments after it (an unknown ID, or a
    // SimpleBlock outside a Cluster) while the camera goes on, so no idle end rescues the connection. The
    // next fragment's EBML header inside such an element ends it as corrupt, and the reader reconnects.
    h = await withFaults([]);
    const clusters = splitClusters(readFixture(FILE));
    const caught: number[] = [];
    for (let seed = 1; seed <= 30; seed++) {
      const stream = `live-${seed}`;
      h.kvs.createStream(stream);
      h.kvs.injectFault(stream, { kind: "corrupt", between: true, afterFragments: 2, length: 2000, seed });
      let next = 0;
      const camera = setInterval(() => h!.kvs.appendClusters(stream, [clusters[next++ % clusters.length]!]), 30);
      const got = await read(h, 12, { from: "EARLIEST" }, 4_000, stream);
      clearInterval(camera);
      expect(got.error, `seed ${seed}`).toBeUndefined();
      expect(got.numbers, `seed ${seed}`).toEqual(
        h.kvs
          .fragments(stream)
          .slice(0, 12)
          .map((f) => f.fragmentNumber),
      );
      const grouped = await lastValueFrom(from(got.events).pipe(withFrames(), toArray()));
      for (const g of grouped) expect(g.frames.length, `seed ${seed}`).toBe(g.fragment.frameCount);
      if (got.statuses.some((s) => s.type === "retrying" && s.error.code === "CORRUPT_MEDIA")) caught.push(seed);
    }
    expect(caught.length).toBeGreaterThan(0); // the bad bytes were noticed, not read past
  });

  for (const where of ["in the middle", "last"] as const) {
    it(`garbage stored inside a fragment (${where}): CORRUPT_MEDIA naming it after maxCorruptAttempts, or with "skip" a fragmentSkipped event and every other fragment once`, async () => {
      // A Void element claiming 2^40 bytes, stored in the fragment: every read of it swallows what follows.
      const bad = where === "last" ? 8 : 4;
      const clusters = splitClusters(readFixture(FILE)).map((c, i) => (i === bad ? swallowing(c) : c));
      // Clusters of unknown size, as KVS sends near the live edge: nothing bounds the Void but the next document.
      h = await harness({ streams: { cam: {} }, idleEndMs: 200, unknownSizeClusters: true });
      h.kvs.appendClusters("cam", clusters);
      const numbers = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
      const started = performance.now();
      const failed = await read(h, 99, { from: "EARLIEST", maxCorruptAttempts: 3 }, 15_000);
      expect(failed.error).toMatchObject({ name: "KvsServiceError", code: "CORRUPT_MEDIA", retryable: false, fragmentNumber: numbers[bad] });
      expect((failed.error as Error).message).toContain(`could not read fragment ${numbers[bad]}`);
      expect(failed.numbers).toEqual(numbers.slice(0, bad));
      // Bad bytes on a connection that delivered fragments first count too; a clean end does not, as it
      // may be the idle end (the first call, ending after the 8 good ones, inside the last).
      expect(h.kvs.stats.requests.getMedia).toBe(where === "last" ? 4 : 3);
      expect(performance.now() - started).toBeLessThan(10_000);

      const skipped = await read(h, numbers.length - 1, { from: "EARLIEST", maxCorruptAttempts: 3, onCorruptFragment: "skip" }, 15_000, "cam", (evs) =>
        evs.some((e) => e.type === "fragmentSkipped"),
      );
      expect(skipped.error).toBeUndefined();
      expect(skipped.numbers).toEqual(numbers.filter((_, i) => i !== bad));
      const events = skipped.events.filter((e) => e.type === "fragmentSkipped");
      expect(events).toEqual([{ type: "fragmentSkipped", fragmentNumber: numbers[bad], after: numbers[bad - 1], attempts: 3, reason: expect.any(String) }]);
      const grouped = await lastValueFrom(from(skipped.events).pipe(withFrames(), toArray()));
      for (const g of grouped) expect(g.frames.length).toBe(g.fragment.frameCount);
    });
  }

  it("a block cut on the wire (the next fragment follows mid-block): the cut fragment is fetched again, the next one is not lost", async () => {
    h = await withFaults([{ kind: "cutBlock" }]);
    const got = await read(h, 9, { from: "EARLIEST" });
    expect(got.error).toBeUndefined();
    expect(got.numbers).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
    const grouped = await lastValueFrom(from(got.events).pipe(withFrames(), toArray()));
    for (const g of grouped) expect(g.frames.length).toBe(g.fragment.frameCount);
  });

  it("garbage on every response ends with a non-retryable CORRUPT_MEDIA after maxCorruptAttempts, not a loop", async () => {
    h = await withFaults(Array.from({ length: 20 }, () => ({ kind: "corrupt", afterBytes: 10, length: 500 }) as const));
    const got = await read(h, 1, { from: "EARLIEST", maxCorruptAttempts: 4 });
    expect(got.error).toMatchObject({ name: "KvsServiceError", code: "CORRUPT_MEDIA", retryable: false });
    expect(h.kvs.stats.requests.getMedia).toBe(4);
  });

  it("a FRAGMENT_NUMBER that is not a number is bad bytes (retried), never a TypeError", async () => {
    h = await withFaults([{ kind: "badFragmentNumber" }]);
    const got = await read(h, 9, { from: "EARLIEST" });
    expect(got.error).toBeUndefined();
    expect(got.numbers).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
    expect(got.statuses.some((s) => s.type === "retrying" && s.error.code === "CORRUPT_MEDIA")).toBe(true);
  });

  for (const reading of ["at", "after"] as const) {
    it(`from FRAGMENT_NUMBER X starts AT X when the service reads it as "${reading}"`, async () => {
      h = await withFaults([], { fragmentNumberStart: reading });
      const numbers = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
      const got = await read(h, 6, { from: { type: "FRAGMENT_NUMBER", fragmentNumber: numbers[3]! } });
      expect(got.error).toBeUndefined();
      expect(got.numbers).toEqual(numbers.slice(3));
    });

    it(`resuming after a checkpoint without a token is exact when the service reads FRAGMENT_NUMBER as "${reading}"`, async () => {
      h = await withFaults([], { fragmentNumberStart: reading });
      const numbers = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
      const got = await read(h, 5, { after: { fragmentNumber: numbers[3]!, continuationToken: null } });
      expect(got.numbers).toEqual(numbers.slice(4));
    });
  }

  it("readers of one stream in one process share its call rate: no ClientLimitExceeded from the service", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture(FILE) } }, idleEndMs: 20 });
    const statuses: LiveStatus[] = [];
    const subs = [1, 2, 3].map(() => liveMedia(h!.clients, "cam", { ...fast, from: "NOW", onStatus: (s) => statuses.push(s) }).subscribe());
    await new Promise((r) => setTimeout(r, 2500));
    for (const s of subs) s.unsubscribe();
    const calls = h.kvs.stats.requests.getMedia ?? 0;
    expect(calls).toBeGreaterThan(5);
    expect(calls).toBeLessThanOrEqual(2.5 * 4 + 2); // the pacer's 4 calls/s for the stream
    expect(statuses.filter((s) => s.type === "retrying" && s.error.code === "CLIENT_LIMIT_EXCEEDED")).toEqual([]);
  });
});
