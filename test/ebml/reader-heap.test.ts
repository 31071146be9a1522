import { afterEach, describe, expect, it, vi } from "vitest";
import { ID } from "../../src/ebml/schema.js";
import { concatBytes, element } from "../../src/ebml/writer.js";

/** A fresh copy of the reader module, so its once-per-process state starts over. */
async function freshReader(): Promise<typeof import("../../src/ebml/reader.js")> {
  vi.resetModules();
  return import("../../src/ebml/reader.js");
}

/** Pushes a cluster of two 100-byte blocks in 60-byte chunks; returns each block's payload. */
function readStraddled(EbmlReader: typeof import("../../src/ebml/reader.js").EbmlReader): number[][] {
  const block = element(ID.SimpleBlock, new Uint8Array(100).fill(7));
  const bytes = concatBytes([element(ID.Cluster, [block, block])]);
  const payloads: number[][] = [];
  const reader = new EbmlReader({
    masterStart() {},
    masterEnd() {},
    skipped() {},
    data(id, buf, s, e) {
      if (id === ID.SimpleBlock) payloads.push([...buf.subarray(s, e)]);
    },
  });
  for (let i = 0; i < bytes.length; i += 60) reader.push(bytes.slice(i, i + 60));
  reader.end();
  return payloads;
}

const PRIME = 31 << 20;

describe("EbmlReader and glibc's heap", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("asks for one 31 MiB block before its first straddle copy, once per process", async () => {
    const { EbmlReader } = await freshReader();
    const alloc = vi.spyOn(Buffer, "allocUnsafeSlow");
    readStraddled(EbmlReader);
    readStraddled(EbmlReader);
    const primes = alloc.mock.calls.filter(([n]) => n === PRIME);
    expect(primes).toHaveLength(1);
    expect(alloc.mock.calls[0]![0]).toBe(PRIME); // before any copy
    expect(alloc.mock.calls.length).toBeGreaterThan(1); // the copies themselves
  });

  it("reads on when that block cannot be had", async () => {
    const { EbmlReader } = await freshReader();
    const real = Buffer.allocUnsafeSlow;
    const alloc = vi.spyOn(Buffer, "allocUnsafeSlow").mockImplementation((n: number) => {
      if (n === PRIME) throw new RangeError("Array buffer allocation failed");
      return real(n);
    });
    expect(readStraddled(EbmlReader)).toEqual([[...new Uint8Array(100).fill(7)], [...new Uint8Array(100).fill(7)]]);
    expect(alloc.mock.calls.filter(([n]) => n === PRIME)).toHaveLength(1);
  });
});

describe("EbmlReader memory for a size that lies", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("a block claiming 200 MB gets memory as its bytes arrive, not all at once; a true large block still arrives whole", async () => {
    const { EbmlReader } = await freshReader();
    const alloc = vi.spyOn(Buffer, "allocUnsafeSlow");
    // Cluster > SimpleBlock with an 8-byte size of 200 MB, then 300 kB of it.
    const header = Uint8Array.of(0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa3, 0x01, 0, 0, 0, 0x0b, 0xeb, 0xc2, 0x00);
    const reader = new EbmlReader({ masterStart() {}, masterEnd() {}, skipped() {}, data() {} });
    reader.push(header);
    for (let i = 0; i < 10; i++) reader.push(new Uint8Array(30_000));
    const asked = alloc.mock.calls.map(([n]) => n).filter((n) => n !== PRIME);
    expect(Math.max(...asked)).toBeLessThanOrEqual(2 << 20);
    expect(() => reader.end()).toThrow(/input ends inside SimpleBlock \(300000 of 200000000 bytes\)/);

    const big = new Uint8Array(5_000_000).map((_, i) => i & 0xff);
    const got: Uint8Array[] = [];
    const whole = new EbmlReader({
      masterStart() {},
      masterEnd() {},
      skipped() {},
      data(id, buf, s, e) {
        if (id === ID.SimpleBlock) got.push(buf.slice(s, e));
      },
    });
    const bytes = concatBytes([element(ID.Cluster, [element(ID.SimpleBlock, big)])]);
    for (let i = 0; i < bytes.length; i += 65536) whole.push(bytes.subarray(i, i + 65536));
    whole.end();
    expect(got).toHaveLength(1);
    expect(Buffer.from(got[0]!).equals(Buffer.from(big))).toBe(true);
  });
});
