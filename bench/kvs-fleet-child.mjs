// The local KVS endpoint with N streams in a process of its own (so reader figures measure the reader).
// Messages in: { streams: N, cluster: "small"|"clusters" }, { tick: true } (one fragment on every stream,
// spread over the next second), { open: true } (replies { open: count of GetMedia responses open }),
// { close: true }. Messages out: { endpoint }, { written: [stream, fragmentNumber, at] } batches, { open }.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { splitClusters, startLocalKvs } from "../dist/testing/index.js";

const fixture = (name) => new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))));
const clusters = splitClusters(fixture("generated/mjpeg_pcm.mkv"));
let names = [];
const kvs = await startLocalKvs({ idleEndMs: 120_000, maxResponseMs: 600_000 });
let batch = [];
kvs.on("fragmentWritten", (e) => batch.push([e.stream, e.fragmentNumber, performance.timeOrigin + e.at]));
setInterval(() => {
  if (batch.length) process.send({ written: batch });
  batch = [];
}, 100).unref();
let k = 0;
process.on("message", async (m) => {
  if (m.streams !== undefined) {
    names = Array.from({ length: m.streams }, (_, i) => `cam-${i}`);
    for (const n of names) kvs.createStream(n);
    process.send({ ready: true });
  }
  if (m.tick) {
    const c = clusters[k++ % clusters.length];
    names.forEach((n, i) => {
      setTimeout(() => kvs.appendClusters(n, [c]), (i * 1000) / names.length);
    });
  }
  if (m.open) process.send({ open: names.reduce((a, n) => a + kvs.openGetMedia(n), 0) });
  if (m.close) {
    await kvs.close();
    process.exit(0);
  }
});
process.send({ endpoint: kvs.endpoint });
