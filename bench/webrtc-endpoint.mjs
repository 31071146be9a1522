// The local KVS endpoint (signaling channels, GetMedia) in a process of its own for the WebRTC bench, so
// the master's and viewers' figures are theirs alone. Messages in:
//   { channels: [names] }                     create signaling channels      → { ready: true }
//   { stream, file, seconds }                 create a stream for GetMedia, the file's clusters of the first
//                                             `seconds` of media ready to append                → { ready: true, clusters }
//   { play: true }                            append those clusters live: each as its last frame's media time
//                                             has passed (a cluster of 1 s goes in 1 s after its first frame),
//                                             → { t0, firstMs } (the wall time media time firstMs stands for),
//                                             then { appended: fragmentNumber, at } per cluster, { played: true }
//   { close: true }
// Times are on the shared wall clock (performance.timeOrigin + performance.now()).
import { readFileSync } from "node:fs";
import { splitClusters, startLocalKvs } from "../dist/testing/index.js";

const now = () => performance.timeOrigin + performance.now();
const kvs = await startLocalKvs({ idleEndMs: 60_000, maxResponseMs: 600_000 });
let stream = null;
let clusters = [];
let ends = [];
process.on("disconnect", () => process.exit(0));
process.on("message", async (m) => {
  if (m.channels) {
    for (const name of m.channels) kvs.signaling.createChannel(name);
    process.send({ ready: true });
  }
  if (m.stream) {
    stream = m.stream;
    kvs.createStream(stream);
    const all = splitClusters(new Uint8Array(readFileSync(m.file)));
    const first = all[0].timestampMs;
    clusters = all.filter((c) => c.timestampMs - first < m.seconds * 1000);
    // A cluster is whole once its last frame's time has passed: when the next one starts.
    ends = clusters.map((c, i) => (all[i + 1] ? all[i + 1].timestampMs : c.timestampMs + 1000));
    process.send({ ready: true, clusters: clusters.length });
  }
  if (m.play) {
    const first = clusters[0].timestampMs;
    const t0 = now() + 50;
    process.send({ t0, firstMs: first });
    let left = clusters.length;
    clusters.forEach((c, i) => {
      setTimeout(
        () => {
          const at = now();
          const [f] = kvs.appendClusters(stream, [c]);
          process.send({ appended: f.fragmentNumber, at });
          if (--left === 0) process.send({ played: true });
        },
        Math.max(0, t0 + (ends[i] - first) - now()),
      );
    });
  }
  if (m.close) {
    await kvs.close();
    process.exit(0);
  }
});
process.send({ endpoint: kvs.endpoint });
