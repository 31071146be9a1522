// The local KVS endpoint (PutMedia ingest, GetMedia) in a process of its own for the producer bench, so
// the figures measure the producer, not two sharing one event loop. Message in: { streams: N } (create
// cam-0…cam-N-1), { close: true }. Out: { endpoint }, { ready: true }.
import { startLocalKvs } from "../dist/testing/index.js";

const kvs = await startLocalKvs({ idleEndMs: 10_000 });
process.on("message", async (m) => {
  if (m.streams !== undefined) {
    for (let i = 0; i < m.streams; i++) kvs.createStream(`cam-${i}`);
    process.send({ ready: true, stored: kvs.fragments("cam-0").length });
  }
  if (m.count !== undefined) {
    let n = 0;
    for (let i = 0; i < m.count; i++) n += new Set(kvs.fragments(`cam-${i}`).map((f) => f.producerTimestampMs)).size;
    process.send({ counted: n });
  }
  if (m.close) {
    await kvs.close();
    process.exit(0);
  }
});
process.send({ endpoint: kvs.endpoint });
