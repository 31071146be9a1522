import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { firstValueFrom, from, lastValueFrom, Observable, take, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { MkvParseError } from "../../src/ebml/errors.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import { frames } from "../../src/rx/frames.js";
import { fragments } from "../../src/rx/fragments.js";
import { fixturePath, readFixture } from "../helpers/fixtures.js";

const FILE = "output_get_media.mkv";

function chunksOf(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

async function fragmentNumbers(source: Parameters<typeof parseMkv>[0]): Promise<(string | null)[]> {
  const list = await lastValueFrom(parseMkv(source).pipe(fragments(), toArray()));
  return list.map((f) => f.fragmentNumber);
}

describe("parseMkv accepts every kind of byte source", () => {
  const bytes = readFixture(FILE);
  const expected = [
    "91343852333181432392682062607743920146159169392",
    "91343852333181432397633822764885441725874549018",
    "91343852333181432402585582922026963247510532162",
    "91343852333181432407537343079168484595829378270",
    "91343852333181432412489103236310005892133364608",
  ];

  it("Uint8Array and ArrayBuffer", async () => {
    expect(await fragmentNumbers(bytes)).toEqual(expected);
    expect(await fragmentNumbers(bytes.slice().buffer)).toEqual(expected);
  });
  it("Node Readable (file stream)", async () => {
    expect(await fragmentNumbers(createReadStream(fixturePath(FILE)))).toEqual(expected);
  });
  it("web ReadableStream", async () => {
    const parts = chunksOf(bytes, 10000);
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        const p = parts.shift();
        if (p) c.enqueue(p);
        else c.close();
      },
    });
    expect(await fragmentNumbers(stream)).toEqual(expected);
  });
  it("AsyncIterable and Iterable", async () => {
    async function* gen() {
      for (const c of chunksOf(bytes, 777)) yield c;
    }
    expect(await fragmentNumbers(gen())).toEqual(expected);
    expect(await fragmentNumbers(chunksOf(bytes, 4096))).toEqual(expected);
  });
  it("Observable of chunks", async () => {
    expect(await fragmentNumbers(from(chunksOf(bytes, 65536)))).toEqual(expected);
  });
  it("frames() yields 300 frames stamped with fragment numbers", async () => {
    const all = await lastValueFrom(parseMkv(bytes).pipe(frames(), toArray()));
    expect(all.length).toBe(300);
    expect(new Set(all.map((f) => f.fragmentNumber))).toEqual(new Set(expected));
  });
});

describe("parseMkv stops reading when unsubscribed", () => {
  it("take(1) on a Node Readable destroys the stream", async () => {
    const stream = createReadStream(fixturePath(FILE), { highWaterMark: 16384 });
    const first = await firstValueFrom(parseMkv(stream).pipe(frames()));
    expect(first.fragmentNumber).toBe("91343852333181432392682062607743920146159169392");
    await new Promise((r) => setTimeout(r, 20));
    expect(stream.destroyed).toBe(true);
    expect(stream.bytesRead).toBeLessThan(readFixture(FILE).length);
  });
  it("take(2) on an endless async source pulls only a bounded number of chunks", async () => {
    const bytes = readFixture(FILE);
    let pulled = 0;
    let returned = false;
    const endless: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]() {
        let i = 0;
        return {
          async next() {
            pulled++;
            const c = bytes.subarray(i, i + 8192);
            i = (i + 8192) % bytes.length;
            return { value: c, done: false };
          },
          async return() {
            returned = true;
            return { value: undefined, done: true };
          },
        };
      },
    };
    const got = await lastValueFrom(parseMkv(endless).pipe(fragments(), take(2), toArray()));
    expect(got.length).toBe(2);
    await new Promise((r) => setTimeout(r, 20));
    expect(returned).toBe(true);
    const settled = pulled;
    await new Promise((r) => setTimeout(r, 50));
    expect(pulled).toBe(settled);
  });
  it("unsubscribing from an Observable source unsubscribes upstream", async () => {
    let unsubscribed = false;
    const upstream = new Observable<Uint8Array>((s) => {
      s.next(readFixture(FILE));
      return () => {
        unsubscribed = true;
      };
    });
    await firstValueFrom(parseMkv(upstream).pipe(frames()));
    expect(unsubscribed).toBe(true);
  });
});

describe("parseMkv reports errors as typed errors", () => {
  it("bad bytes error the Observable with MkvParseError carrying the offset", async () => {
    const bad = Uint8Array.from([0x1a, 0x45, 0xdf, 0xa3, 0x84, 0x42, 0x82, 0x85, 0x77]);
    await expect(lastValueFrom(parseMkv(bad))).rejects.toMatchObject({ name: "MkvParseError", code: "SIZE_BEYOND_PARENT", offset: 5 });
    await expect(lastValueFrom(parseMkv(bad))).rejects.toBeInstanceOf(MkvParseError);
  });
  it("a source error is passed through", async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error("disk on fire"));
      },
    });
    await expect(lastValueFrom(parseMkv(failing))).rejects.toThrow("disk on fire");
  });
  it("string chunks are refused with a TypeError", async () => {
    await expect(lastValueFrom(parseMkv(["abc" as unknown as Uint8Array]))).rejects.toBeInstanceOf(TypeError);
  });
});
