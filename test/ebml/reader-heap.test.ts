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
