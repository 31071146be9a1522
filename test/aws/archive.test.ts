import { lastValueFrom, take, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { compareFragmentNumbers } from "../../src/kvs/fragment-number.js";
import { archivedMedia, listFragments, mediaForFragments, pollFragments, type ArchiveEvent } from "../../src/aws/archive.js";
import { readFixture } from "../helpers/fixtures.js";
import { harness, type Harness } from "../helpers/local-kvs.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const wide = { start: new Date(0), end: new Date(4_000_000_000_000) };
const frags = (events: ArchiveEvent[]) => events.filter((e): e is FragmentEvent => e.type === "fragment");

describe("archive readers over the real SDK client", () => {
  it("listFragments follows every page and sorts what the service returns unordered", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } } });
    h.kvs.putMedia("cam", readFixture("vogels_480.mkv"));
    const expected = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    const list = await listFragments(h.clients, "cam", { range: wide, pageSize: 3 });
    expect(list.map((f) => f.fragmentNumber)).toEqual(expected);
    expect(h.kvs.stats.requests.listFragments).toBe(Math.ceil(expected.length / 3));
    expect(list[1]!.producerTimestamp.getTime() - list[0]!.producerTimestamp.getTime()).toBe(1999);
    expect(list[0]!.lengthMs).toBe(1999);
  });

  it("listFragments filters by producer timestamp range", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } } });
    const base = h.kvs.fragments("cam")[0]!.producerTimestampMs;
    const range = { start: new Date(base + 3000), end: new Date(base + 8000), timestampType: "PRODUCER_TIMESTAMP" as const };
    const list = await listFragments(h.clients, "cam", { range });
    expect(list.map((f) => f.producerTimestamp.getTime() - base)).toEqual([3999, 5998, 7998]);
  });

  it("mediaForFragments returns the fragments in request order, in batches of at most 1000, and reports missing ones", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } } });
    const numbers = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    const missing = "91343852333181432392682062607743920146159169391";
    const wanted = [numbers[2]!, missing, numbers[0]!, numbers[5]!];
    const events = await lastValueFrom(mediaForFragments(h.clients, "cam", { fragments: wanted, batchSize: 3 }).pipe(toArray()));
    const f = frags(events);
    expect(f.map((x) => x.fragmentNumber)).toEqual(wanted);
    expect(f[1]!.error).toEqual({ code: "404", id: null, message: `Fragment ${missing} was not found` });
    expect(f[0]!.error).toBeNull();
    expect(f[0]!.serverTimestampMs).toBe(h.kvs.fragments("cam")[2]!.serverTimestampMs);
    expect(f[0]!.frameCount).toBeGreaterThan(0);
    expect(h.kvs.stats.requests.getMediaForFragmentList).toBe(2);
  });

  it("archivedMedia reads a time range in fragment-number order with every frame", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } } });
    const events = await lastValueFrom(archivedMedia(h.clients, "cam", { range: wide }).pipe(toArray()));
    const numbers = frags(events).map((f) => f.fragmentNumber!);
    expect(numbers).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
    expect(events.filter((e) => e.type === "frame").length).toBe(444);
  });

  it("pollFragments emits each new fragment once, in order, as it appears", async () => {
    let now = 1_800_000_000_000;
    h = await harness({ streams: { cam: {} }, now: () => now });
    const got = lastValueFrom(
      // From an hour back: an ingest's fragments take server times over the media's span, ending now.
      pollFragments(h.clients, "cam", { from: new Date(now - 3_600_000), intervalMs: 20, settleMs: 0, now: () => now }).pipe(take(16), toArray()),
    );
    h.kvs.putMedia("cam", readFixture("clusters.mkv"));
    now += 100;
    await new Promise((r) => setTimeout(r, 150));
    now += 100;
    h.kvs.putMedia("cam", readFixture("clusters.mkv"));
    now += 100;
    const list = await got;
    expect(list.map((f) => f.fragmentNumber)).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
    for (let i = 1; i < list.length; i++) expect(compareFragmentNumbers(list[i - 1]!.fragmentNumber, list[i]!.fragmentNumber)).toBeLessThan(0);
  });

  it("GetMediaForFragmentList refuses more than 1000 numbers: mediaForFragments never sends such a batch", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } } });
    const numbers = Array.from({ length: 1001 }, (_, i) => String(10n ** 40n + BigInt(i)));
    const events = await lastValueFrom(mediaForFragments(h.clients, "cam", { fragments: numbers }).pipe(toArray()));
    expect(frags(events).length).toBe(1001);
    expect(frags(events).every((f) => f.error?.code === "404")).toBe(true);
    expect(h.kvs.stats.requests.getMediaForFragmentList).toBe(2);
  });
});
