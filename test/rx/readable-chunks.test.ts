import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunksOf, isNodeReadable, readableChunks } from "../../src/rx/readable-chunks.js";

const tick = () => new Promise<void>((r) => setImmediate(r));

async function all(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe("readableChunks: a Node Readable's chunks as they came", () => {
  it("hands each buffered chunk on as it is, where the Readable's own iterator joins them into one copy", async () => {
    const chunks = [Buffer.from("ab"), Buffer.from("cde"), Buffer.from("f")];
    const own = new Readable({ read() {} });
    const ours = new Readable({ read() {} });
    for (const c of chunks) {
      own.push(c);
      ours.push(c);
    }
    own.push(null);
    ours.push(null);
    const joined = await all(own);
    expect(joined.map((c) => c.length)).toEqual([6]); // one new Buffer: a copy of every byte
    const got = await all(readableChunks(ours));
    expect(got).toHaveLength(3);
    got.forEach((c, k) => {
      expect(c).toBe(chunks[k]);
    }); // the very chunks, no copy
  });

  it("holds the stream back while a chunk waits: it buffers up to its high-water mark and stops reading its source", async () => {
    let reads = 0;
    const stream = new Readable({
      highWaterMark: 64,
      read() {
        reads++;
        this.push(Buffer.alloc(16));
      },
    });
    const it = readableChunks(stream);
    expect((await it.next()).value).toHaveLength(16);
    for (let k = 0; k < 20; k++) await tick(); // nobody takes the next chunk
    const held = reads;
    expect(stream.readableLength).toBeLessThanOrEqual(64 + 16);
    for (let k = 0; k < 20; k++) await tick();
    expect(reads).toBe(held); // no more reading while the consumer waits
    for (let k = 0; k < 10; k++) expect((await it.next()).value).toHaveLength(16);
    expect(reads).toBeGreaterThan(held);
    await it.return!();
    expect(stream.destroyed).toBe(true);
  });

  it("throws the stream's error once, then is done", async () => {
    const stream = new Readable({ read() {} });
    stream.push(Buffer.from("x"));
    const it = readableChunks(stream);
    expect([...(await it.next()).value!]).toEqual([0x78]);
    const failed = it.next();
    stream.destroy(new Error("socket went away"));
    await expect(failed).rejects.toThrow("socket went away");
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it("throws ERR_STREAM_PREMATURE_CLOSE when the stream closes before its end, as Node's iterator does", async () => {
    const stream = new Readable({ read() {} });
    const it = readableChunks(stream);
    const pending = it.next();
    stream.destroy();
    await expect(pending).rejects.toMatchObject({ code: "ERR_STREAM_PREMATURE_CLOSE" });
    const again = readableChunks(stream); // already destroyed, never ended
    await expect(again.next()).rejects.toMatchObject({ code: "ERR_STREAM_PREMATURE_CLOSE" });
  });

  it("is done at once on an ended stream, throws at once on an errored one, and destroys the stream when a loop ends early", async () => {
    const ended = Readable.from([Buffer.from("a")]);
    await all(ended);
    expect(await readableChunks(ended).next()).toEqual({ value: undefined, done: true });
    const errored = new Readable({ read() {} });
    errored.on("error", () => {});
    errored.destroy(new Error("bad"));
    await tick();
    await expect(readableChunks(errored).next()).rejects.toThrow("bad");
    const long = new Readable({
      read() {
        this.push(Buffer.alloc(8));
      },
    });
    for await (const c of readableChunks(long)) {
      expect(c).toHaveLength(8);
      break;
    }
    expect(long.destroyed).toBe(true);
  });

  it("tells a Node Readable from other async iterables, and chunksOf takes only a Readable's chunks its own way", () => {
    const readable = new Readable({ read() {} });
    const generator = (async function* () {})();
    expect(isNodeReadable(readable)).toBe(true);
    expect(isNodeReadable(generator)).toBe(false);
    expect(chunksOf(generator)).toBe(generator);
    expect(chunksOf(readable)).not.toBe(readable);
    readable.destroy();
    expect(isNodeReadable(new Uint8Array(1))).toBe(false);
    expect(isNodeReadable(null)).toBe(false);
  });

  it("property: under any schedule of pushes and takes, every chunk comes once, in order, as it was pushed", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 300 }), pushWaits: fc.nat(3), takeWaits: fc.nat(3) }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 512 }),
        async (steps, highWaterMark) => {
          const stream = new Readable({ highWaterMark, read() {} });
          const pushed = steps.map((s, k) => Buffer.alloc(s.size, k));
          const producer = (async () => {
            for (let k = 0; k < steps.length; k++) {
              for (let w = 0; w < steps[k]!.pushWaits; w++) await tick();
              stream.push(pushed[k]);
            }
            stream.push(null);
          })();
          const got: Uint8Array[] = [];
          let k = 0;
          for await (const c of readableChunks(stream)) {
            got.push(c);
            for (let w = 0; w < (steps[k++ % Math.max(1, steps.length)]?.takeWaits ?? 0); w++) await tick();
          }
          await producer;
          expect(got).toHaveLength(pushed.length);
          got.forEach((c, i) => {
            expect(c).toBe(pushed[i]);
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});
