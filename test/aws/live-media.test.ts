import { filter, firstValueFrom, take, toArray, type Subscription } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import type { Frame } from "../../src/matroska/frame.js";
import { liveMedia, type LiveStatus } from "../../src/aws/live-media.js";
import { checksum, parseChunked, readFixture } from "../helpers/fixtures.js";
import { harness, type Harness } from "../helpers/local-kvs.js";

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

/** Reads with liveMedia until `count` fragments arrived (bounded by a timeout). */
async function readLive(h: Harness, count: number, opts: Parameters<typeof liveMedia>[2] = {}, timeoutMs = 20_000) {
  const frames: string[] = [];
  let kept = 0;
  const fragments: string[] = [];
  const statuses: LiveStatus[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `timeout: ${fragments.length}/${count} fragments, statuses ${statuses.map((s) => s.type + (s.type === "retrying" ? `:${s.error.code}` : "")).join(",")}`,
          ),
        ),
      timeoutMs,
    );
    sub = liveMedia(h.clients, "cam", {
      from: "EARLIEST",
      idleTimeoutMs: 1500,
      retry: { baseMs: 20, maxMs: 200, limitBaseMs: 50 },
      onStatus: (s) => statuses.push(s),
      ...opts,
    }).subscribe({
      next(ev) {
        if (ev.type === "frame") frames.push(`${ev.track}/${ev.timestampMs}/${checksum(ev.data)}`);
        if (ev.type === "fragmentDiscarded") frames.length = kept; // the cut fragment's frames come again
        if (ev.type === "fragment") {
          kept = frames.length;
          fragments.push(ev.fragmentNumber!);
          if (fragments.length === count) {
            clearTimeout(timer);
            resolve();
          }
        }
      },
      error(e) {
        clearTimeout(timer);
        reject(e);
      },
    });
  });
  sub?.unsubscribe();
  return { frames, fragments, statuses };
}

describe("liveMedia(): the continuous reader", () => {
  it("reads across the service's idle end of response and picks up new fragments (continuation token)", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture(FILE) } }, idleEndMs: 100 });
    const first = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    setTimeout(() => h?.kvs.putMedia("cam", readFixture(FILE)), 400);
    const got = await readLive(h, 18, { catchUp: false }); // GetMedia only (a backlog read by fragment list has no tokens)
    const all = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    expect(got.fragments).toEqual(all);
    expect(got.fragments.slice(0, 9)).toEqual(first);
    expect(got.frames).toEqual([...sourceFrames, ...sourceFrames]);
    expect(got.statuses.filter((s) => s.type === "connecting").length).toBeGreaterThan(1);
    const resumed = got.statuses.find((s, i) => s.type === "connecting" && i > 0);
    expect(resumed?.type === "connecting" && typeof resumed.from === "object" && resumed.from.type).toBe("CONTINUATION_TOKEN");
  });

  it("every fragment says how far behind now it is, those of a backlog read with GetMediaForFragmentList too", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture(FILE) } }, idleEndMs: 100 }); // ~29 s of media, received by now
    const statuses: LiveStatus[] = [];
    const fragments = await firstValueFrom(
      liveMedia(h.clients, "cam", { from: "EARLIEST", catchUp: { behindMs: 1000, settleMs: 0 }, onStatus: (s) => statuses.push(s) }).pipe(
        filter((e): e is FragmentEvent => e.type === "fragment"),
        take(9),
        toArray(),
      ),
    );
    expect(statuses.some((s) => s.type === "catchingUp")).toBe(true);
    const stored = h.kvs.fragments("cam");
    for (const [i, f] of fragments.entries()) {
      expect(f.fragmentNumber).toBe(stored[i]!.fragmentNumber);
      expect(f.millisBehindNow, `fragment ${i}`).not.toBeNull();
      expect(f.millisBehindNow!).toBeGreaterThanOrEqual(Date.now() - stored[i]!.serverTimestampMs - 5000);
    }
  });

  for (const fault of [
    { kind: "reset", afterBytes: 300_000 },
    { kind: "stall", afterBytes: 500_000 },
    { kind: "truncate" },
    { kind: "http5xx" },
    { kind: "throttle" },
    { kind: "slowDrip", pieceBytes: 65536, delayMs: 1 },
  ] as const) {
    it(`survives a ${fault.kind} with zero lost and zero duplicated fragments and frames`, async () => {
      h = await harness({ streams: { cam: { mkv: readFixture(FILE) } }, idleEndMs: 200, faults: { cam: [fault, fault] } });
      const got = await readLive(h, 9, { idleTimeoutMs: 400, catchUp: false }); // GetMedia's faults: no backlog read by fragment list
      expect(got.fragments).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
      expect(got.frames).toEqual(sourceFrames);
      if (fault.kind !== "truncate" && fault.kind !== "slowDrip") expect(got.statuses.some((s) => s.type === "retrying")).toBe(true);
    });
  }

  it("resumes strictly after a checkpoint", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture(FILE) } }, idleEndMs: 100 });
    const numbers = h.kvs.fragments("cam").map((f) => f.fragmentNumber);
    const got = await readLive(h, 5, { after: { fragmentNumber: numbers[3]! } });
    expect(got.fragments).toEqual(numbers.slice(4));
  });

  it("a fourth reader gets ConnectionLimitExceeded, backs off with jitter, and reads once a connection frees up", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture(FILE) } }, idleEndMs: 60_000 });
    const { GetMediaCommand } = await import("@aws-sdk/client-kinesis-video-media");
    const client = h.clients.mediaClient(h.kvs.endpoint);
    const hogs = await Promise.all([1, 2, 3].map(() => client.send(new GetMediaCommand({ StreamName: "cam", StartSelector: { StartSelectorType: "NOW" } }))));
    setTimeout(() => {
      for (const o of hogs) (o.Payload as unknown as { destroy(): void }).destroy();
    }, 700);
    const got = await readLive(h, 9);
    const limited = got.statuses.filter((s) => s.type === "retrying" && s.error.code === "CONNECTION_LIMIT_EXCEEDED");
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((s) => s.type === "retrying" && s.delayMs > 0)).toBe(true);
    expect(got.fragments).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
  });

  it("errors at once on a non-retryable failure (no such stream)", async () => {
    h = await harness({ streams: {} });
    await expect(firstValueFrom(liveMedia(h.clients, "cam"))).rejects.toMatchObject({
      name: "KvsServiceError",
      code: "RESOURCE_NOT_FOUND",
      serviceCode: "ResourceNotFoundException",
      retryable: false,
    });
  });

  it("unsubscribing closes the connection: no open GetMedia, no socket left on the server", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture(FILE) } }, idleEndMs: 60_000 });
    const firstTwo = await firstValueFrom(
      liveMedia(h.clients, "cam", { from: "EARLIEST" }).pipe(
        filter((e): e is FragmentEvent => e.type === "fragment"),
        take(2),
        toArray(),
      ),
    );
    expect(firstTwo.length).toBe(2);
    for (let i = 0; i < 50 && h.kvs.openGetMedia("cam") > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(h.kvs.openGetMedia("cam")).toBe(0);
    h.clients.destroy();
    for (let i = 0; i < 50 && h.kvs.openConnections() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(h.kvs.openConnections()).toBe(0);
  });

  it("an AbortSignal completes the reader", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture(FILE) } }, idleEndMs: 60_000 });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 300);
    const events = await firstValueFrom(liveMedia(h.clients, "cam", { from: "EARLIEST", signal: ctl.signal }).pipe(toArray()));
    expect(events.filter((e) => e.type === "fragment").length).toBe(9);
    expect(h.kvs.openGetMedia("cam")).toBe(0);
  });
});
