// How the bench cuts an input into chunks before anything is timed (bench/worker.mjs, bench/fragment-cost.mjs).

/**
 * `bytes` as chunks of `size` bytes in the form asked for: "buffer" (Node Buffers, each with memory of its
 * own, as fs.createReadStream and sockets hand them out), "uint8" (plain Uint8Arrays) or "views" (views
 * into `bytes`).
 */
export function chunksOf(bytes, size, form = "buffer") {
  const out = [];
  for (let i = 0; i < bytes.length; i += size) {
    const part = bytes.subarray(i, Math.min(bytes.length, i + size));
    if (form === "views") out.push(part);
    else if (form === "uint8") out.push(part.slice());
    else if (form === "buffer") {
      const b = Buffer.allocUnsafeSlow(part.length); // its own memory, not the 8 KiB pool
      b.set(part);
      out.push(b);
    } else throw new Error(`BENCH_CHUNKS: buffer, uint8 or views, not ${form}`);
  }
  return out;
}
