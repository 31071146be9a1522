import { filter, firstValueFrom, lastValueFrom, map, share, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { MkvParseError } from "../../src/ebml/errors.js";
import type { Frame } from "../../src/matroska/frame.js";
import { frames } from "../../src/rx/frames.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import { readFixture } from "../helpers/fixtures.js";

const file = readFixture("output_get_media.mkv");
const summary = (fs: Frame[]) => fs.map((f) => ({ ...f.toJSON(), bytes: f.data.length, first: f.data[0] }));

describe("frames() on a reader: the parser hands frames straight to the subscriber", () => {
  it("gives the frames the event stream holds, in order, for any slice size", async () => {
    for (const sliceSize of [7, 4096, 65536]) {
      const direct = await lastValueFrom(parseMkv(file, { sliceSize }).pipe(frames(), toArray()));
      const filtered = await lastValueFrom(
        parseMkv(file, { sliceSize }).pipe(
          filter((ev): ev is Frame => ev.type === "frame"),
          toArray(),
        ),
      );
      expect(direct.length).toBeGreaterThan(100);
      expect(summary(direct)).toEqual(summary(filtered));
    }
  });

  it("after any other operator, frames() filters the events as before", async () => {
    const shared = parseMkv(file).pipe(share());
    const [a, b] = await Promise.all([lastValueFrom(shared.pipe(frames(), toArray())), lastValueFrom(shared.pipe(toArray()))]);
    expect(summary(a)).toEqual(summary(b.filter((ev): ev is Frame => ev.type === "frame")));
    const mapped = await lastValueFrom(
      parseMkv(file).pipe(
        map((ev) => ev),
        frames(),
        toArray(),
      ),
    );
    expect(mapped.length).toBe(a.length);
  });

  it("fails as the event stream does, after the same frames, on a cut input", async () => {
    const cut = file.subarray(0, Math.floor(file.length * 0.6));
    const seen = async (withFrames: boolean) => {
      const got: Frame[] = [];
      const source = parseMkv(cut);
      const out = withFrames ? source.pipe(frames()) : source.pipe(filter((ev): ev is Frame => ev.type === "frame"));
      const error = await new Promise<unknown>((resolve) => out.subscribe({ next: (f) => got.push(f), error: resolve, complete: () => resolve(null) }));
      return { frames: summary(got), error };
    };
    const direct = await seen(true);
    const filtered = await seen(false);
    expect(direct.error).toBeInstanceOf(MkvParseError);
    expect(direct).toEqual(filtered);
  });

  it("can be unsubscribed after the first frame", async () => {
    const first = await firstValueFrom(parseMkv(file).pipe(frames()));
    expect(first.type).toBe("frame");
  });
});
