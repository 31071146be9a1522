import { lastValueFrom, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryCheckpointStore } from "../../src/consumer/store.js";
import { consume } from "../../src/consumer/consume.js";
import { archivedMedia, listFragments, mediaForFragments, pollFragments } from "../../src/aws/archive.js";
import { getMedia } from "../../src/aws/get-media.js";
import { liveMedia } from "../../src/aws/live-media.js";
import { readFixture } from "../helpers/fixtures.js";
import { harness, type Harness } from "../helpers/local-kvs.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const aborted = () => AbortSignal.abort();
const wide = { start: new Date(0), end: new Date(4_000_000_000_000) };

describe("a signal that is already aborted stops every reader before it calls the service", () => {
  it("pollFragments, mediaForFragments, archivedMedia, getMedia and liveMedia complete with no request", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } } });
    const numbers = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    const signal = aborted();
    const started = performance.now();
    expect(await lastValueFrom(pollFragments(h.clients, "cam", { signal, intervalMs: 50, settleMs: 0, from: new Date(0) }).pipe(toArray()))).toEqual([]);
    expect(await lastValueFrom(mediaForFragments(h.clients, "cam", { fragments: numbers, signal }).pipe(toArray()))).toEqual([]);
    expect(await lastValueFrom(archivedMedia(h.clients, "cam", { range: wide, signal }).pipe(toArray()))).toEqual([]);
    expect(await lastValueFrom(getMedia(h.clients, "cam", { from: "EARLIEST", signal }).pipe(toArray()))).toEqual([]);
    expect(await lastValueFrom(liveMedia(h.clients, "cam", { from: "EARLIEST", signal }).pipe(toArray()))).toEqual([]);
    await expect(listFragments(h.clients, "cam", { range: wide, signal })).rejects.toThrow(/aborted/);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(h.kvs.stats.requests).toEqual({});
  });

  it("consume() with an aborted signal resolves at once, handles nothing and opens no GetMedia", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } } });
    let handled = 0;
    const c = consume(h.clients, "cam", { app: "a", store: new MemoryCheckpointStore(), from: "EARLIEST", signal: aborted(), handler: () => void handled++ });
    const summary = await c.done;
    expect(summary.handled).toBe(0);
    expect(handled).toBe(0);
    expect(h.kvs.stats.requests.getMedia).toBeUndefined();
  });

  it("the endpoint cache: one caller's abort does not fail the others waiting on the same GetDataEndpoint", async () => {
    h = await harness({ streams: { cam: {} } });
    const a = new AbortController();
    const first = h.clients.dataEndpoint("cam", "GET_MEDIA", a.signal);
    const second = h.clients.dataEndpoint("cam", "GET_MEDIA");
    a.abort();
    await expect(first).rejects.toThrow(/aborted/);
    await expect(second).resolves.toBe(h.kvs.endpoint);
    expect(h.kvs.stats.requests.getDataEndpoint).toBe(1);
  });

  it("listFragments never sends a MaxResults the service rejects (pageSize 5000 is sent as 1000)", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } } });
    const list = await listFragments(h.clients, "cam", { range: wide, pageSize: 5000 });
    expect(list).toHaveLength(h.kvs.fragments("cam").length);
  });
});
