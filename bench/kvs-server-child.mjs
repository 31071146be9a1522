// The local KVS endpoint in a process of its own, so that latency figures measure the reader, not the
// two sharing one event loop. Messages in: { append: k } (the k-th cluster of clusters.mkv as a new
// fragment), { close: true }. Messages out: { endpoint }, { written: fragmentNumber, at } with `at` on
// the shared wall clock (performance.timeOrigin + performance.now()).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { splitClusters, startLocalKvs } from "../dist/testing/index.js";

const clusters = splitClusters(new Uint8Array(readFileSync(fileURLToPath(new URL("../fixtures/clusters.mkv", import.meta.url)))));
const kvs = await startLocalKvs({ streams: { cam: {} }, idleEndMs: 10_000 });
kvs.on("fragmentWritten", (e) => process.send({ written: e.fragmentNumber, at: performance.timeOrigin + e.at }));
process.on("message", async (m) => {
  if (m.append !== undefined) kvs.appendClusters("cam", [clusters[m.append % clusters.length]]);
  if (m.close) {
    await kvs.close();
    process.exit(0);
  }
});
process.send({ endpoint: kvs.endpoint });
