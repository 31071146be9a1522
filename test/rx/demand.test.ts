import { asyncScheduler, concatMap, filter, lastValueFrom, map, of, share, subscribeOn, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { images } from "../../src/decode/images.js";
import type { Frame } from "../../src/matroska/frame.js";
import { Recorder } from "../../src/record/recorder.js";
import { Demand } from "../../src/rx/demand.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import type { StreamEvent } from "../../src/rx/stream-event.js";
import { ffmpeg } from "../helpers/ffmpeg.js";

describe("Demand: the one budget sinks hold a reader back with", () => {
  it("waits only while over budget with a sink that can free bytes by itself, or a full one", async () => {
    const d = new Demand(100);
    let ready = false;
    let full = false;
    const a = d.account({ drains: () => ready, full: () => full });
    const b = d.account();
    a.hold(150);
    expect(d.wait()).toBeNull(); // over budget, but `a` needs more input before it can free anything
    ready = true;
    const waiting = d.wait();
    expect(waiting).not.toBeNull();
    let went = false;
    void waiting!.then(() => (went = true));
    a.release(60); // 90 of 100
    await Promise.resolve();
    expect(went).toBe(true);
    b.hold(5);
    full = true;
    expect(d.wait()).not.toBeNull(); // a full sink holds the reader whatever the bytes
    full = false;
    a.update();
    expect(d.wait()).toBeNull();
    b.hold(50); // 145: `b` drains by default
    expect(d.wait()).not.toBeNull();
    b.close(); // a sink that stops frees its share and holds nothing back
    expect(d.heldBytes).toBe(90);
    expect(d.wait()).toBeNull();
  });

  // 240 frames in one synchronous burst: far more than the decoder may have in flight, so only a held reader loses none.
  const burst = () => ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=8", "-c:v", "libx264", "-g", "60", "-f", "matroska", "-"]);
  const slow = <T>() =>
    concatMap(async (x: T) => {
      await new Promise((r) => setTimeout(r, 1));
      return x;
    });

  it("holds the reader through filter, map and concatMap between it and a decoder: every frame decoded, none dropped", async () => {
    const demand = new Demand(256 * 1024);
    const got = await lastValueFrom(
      parseMkv(burst(), { sliceSize: 1 << 20, gate: demand }).pipe(
        filter((ev) => ev.type !== "frame" || ev.track === 1),
        map((ev): StreamEvent => ev),
        concatMap((ev) => of(ev)),
        images({ format: "gray", maxQueued: 1, demand }),
        slow(),
        toArray(),
      ),
    );
    expect(got.length).toBe(240);
    expect(demand.holdsReader).toBe(true);
  });

  it("with no Demand given, a decoder's own holds the reader it subscribes, through the same operators", async () => {
    const got = await lastValueFrom(
      parseMkv(burst(), { sliceSize: 1 << 20 }).pipe(
        filter((ev) => ev.type !== "frame" || ev.track === 1),
        map((ev): StreamEvent => ev),
        concatMap((ev) => of(ev)),
        images({ format: "gray", maxQueued: 1 }),
        slow(),
        toArray(),
      ),
    );
    expect(got.length).toBe(240);
  });

  it("one budget for two sinks of a shared reader: a decoder and a recorder, both whole", async () => {
    const demand = new Demand(256 * 1024);
    // Subscribed a tick later, so both sinks are there from the first event (share() is hot).
    const source = parseMkv(burst(), { sliceSize: 1 << 20, gate: demand, keepBytes: true }).pipe(subscribeOn(asyncScheduler), share());
    const written: Uint8Array[] = [];
    const recorder = new Recorder({
      demand,
      sink: () => ({
        write: async (b: Uint8Array) => {
          await new Promise((r) => setTimeout(r, 1));
          written.push(b.slice());
        },
        close: async () => {},
      }),
    });
    const frames: Frame[] = [];
    const recorded = new Promise<void>((resolve, reject) =>
      source.subscribe({
        next: (ev) => {
          if (ev.type === "frame") frames.push(ev);
          recorder.push(ev);
        },
        error: reject,
        complete: () => void recorder.end().then(() => resolve(), reject),
      }),
    );
    const decoded = lastValueFrom(source.pipe(images({ format: "gray", maxQueued: 1, demand }), slow(), toArray()));
    const [imgs] = await Promise.all([decoded, recorded]);
    expect(imgs.length).toBe(240);
    expect(frames.length).toBe(240);
    expect(written.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(0);
    expect(demand.heldBytes).toBe(0);
  });
});
