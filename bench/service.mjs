// Service-side figures, one JSON line: GetMedia latency over loopback (a fragment's last byte written
// by the local endpoint → its fragment event in the app), fan-out scale (apps sharing one connection vs
// added latency), one slow app among fast ones, catch-up rate from a backlog, and checkpoint writes per
// second (file store, DynamoDB store on dynalite).
//   node bench/service.mjs [--quick]
import { fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { consume, DynamoDbCheckpointStore, ensureCheckpointTable, FanOutHub, FileCheckpointStore, MemoryCheckpointStore } from "../dist/consumer/index.js";
import { KvsClients, liveMedia } from "../dist/aws/index.js";
import { syntheticFragmentNumber } from "../dist/testing/index.js";
import { pct } from "./child.mjs";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const quick = process.argv.includes("--quick");

/** Latency of `apps` consumers sharing one connection (apps = 0: a bare liveMedia subscriber); the endpoint runs in a child process. */
async function latency(apps, fragments, intervalMs, work = {}) {
  const child = fork(fileURLToPath(new URL("./kvs-server-child.mjs", import.meta.url)));
  const written = new Map();
  const endpoint = await new Promise((resolve) =>
    child.on("message", (m) => {
      if (m.endpoint) resolve(m.endpoint);
      if (m.written) written.set(m.written, m.at);
    }),
  );
  const clients = new KvsClients({ region: "us-east-1", endpoint, credentials: { accessKeyId: "b", secretAccessKey: "b" } });
  const arrivals = [];
  const now = () => performance.timeOrigin + performance.now();
  const stops = [];
  let hub;
  if (apps === 0) {
    const sub = liveMedia(clients, "cam", { from: "EARLIEST" }).subscribe((ev) => {
      if (ev.type === "fragment") arrivals.push([ev.fragmentNumber, now()]);
    });
    stops.push(async () => sub.unsubscribe());
  } else {
    hub = new FanOutHub(clients, "cam", { from: "EARLIEST" });
    const store = new MemoryCheckpointStore();
    for (let i = 0; i < apps; i++) {
      const slow = work.slowApp && i === apps - 1;
      const handlerMs = slow ? work.handlerMs * 10 : (work.handlerMs ?? 0);
      const c = consume(null, "cam", {
        app: `app${i}`,
        store,
        source: hub.source(),
        handler: async ({ fragment }) => {
          // The slow app's arrivals are not counted: the question is whether it delays the others.
          if (!slow) arrivals.push([fragment.fragmentNumber, now()]);
          if (handlerMs > 0) await new Promise((r) => setTimeout(r, handlerMs));
        },
      });
      stops.push(() => c.stop());
    }
  }
  await new Promise((r) => setTimeout(r, 300));
  for (let k = 0; k < fragments; k++) {
    child.send({ append: k });
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  await new Promise((r) => setTimeout(r, 500));
  await Promise.all(stops.map((s) => s()));
  hub?.close();
  clients.destroy();
  child.send({ close: true });
  await new Promise((r) => child.on("exit", r));
  const samples = arrivals.map(([n, at]) => at - written.get(n));
  const expected = fragments * Math.max(1, apps - (work.slowApp ? 1 : 0));
  // The first fragments pay for the connection and the JIT: leave out the first 10% as warm-up.
  const steady = samples.slice(Math.ceil(samples.length / 10));
  return { apps, fragments, samples: samples.length, expected, p50ms: pct(steady, 50), p99ms: pct(steady, 99), maxMs: Math.max(...steady), ...work };
}

/**
 * Catch-up: a backlog of `backlog` one-second fragments (stored an hour ago, so the reader is far
 * behind and works it off with GetMediaForFragmentList) read by one app whose handler takes `handlerMs`.
 * The handler's capacity is 1000 / its measured mean duration; the rate is fragments handled per second.
 */
async function catchUp(backlog, handlerMs) {
  const { startLocalKvs, splitClusters } = await import("../dist/testing/index.js");
  const clusters = splitClusters(new Uint8Array(readFileSync(fileURLToPath(new URL("../fixtures/clusters.mkv", import.meta.url)))));
  const kvs = await startLocalKvs({ streams: { cam: {} } }); // catch-up pace of GetMedia as KVS: 5 fragments/s
  const small = Array.from({ length: backlog }, (_, i) => ({ ...clusters[i % clusters.length], timestampMs: i * 1000 }));
  kvs.appendClusters("cam", small, { serverStartMs: Date.now() - 3600_000 });
  const clients = new KvsClients({ region: "us-east-1", endpoint: kvs.endpoint, credentials: { accessKeyId: "b", secretAccessKey: "b" } });
  let handled = 0;
  let busyMs = 0;
  let first = 0;
  let last = 0;
  const all = new Promise((resolve) => {
    const c = consume(clients, "cam", {
      app: "catch-up",
      store: new MemoryCheckpointStore(),
      from: "EARLIEST",
      handler: async () => {
        const t0 = performance.now();
        if (handled === 0) first = t0;
        await new Promise((r) => setTimeout(r, handlerMs));
        busyMs += performance.now() - t0;
        last = performance.now();
        if (++handled === backlog) resolve(c);
      },
    });
  });
  const c = await all;
  await c.stop();
  clients.destroy();
  await kvs.close();
  const seconds = (last - first) / 1000;
  const meanHandlerMs = busyMs / handled;
  const rate = (handled - 1) / seconds;
  return {
    backlog,
    handlerMs,
    handled,
    seconds,
    rate,
    meanHandlerMs,
    capacity: 1000 / meanHandlerMs,
    ofCapacity: rate / (1000 / meanHandlerMs),
    getMediaForFragmentList: kvs.stats.requests.getMediaForFragmentList ?? 0,
  };
}

async function checkpointRate(store, n) {
  const t0 = performance.now();
  for (let k = 0; k < n; k++) await store.put("cam", "bench", { fragmentNumber: syntheticFragmentNumber(k), continuationToken: null, updatedAt: Date.now() });
  return { writes: n, perSecond: n / ((performance.now() - t0) / 1000) };
}

const out = {};
const frags = quick ? 40 : 120;
out.getMediaLatency = await latency(0, frags, 50);
out.fanOut = [];
for (const apps of quick ? [1, 50] : [1, 10, 50, 100]) out.fanOut.push(await latency(apps, quick ? 30 : 80, 50));

// One app 10× slower than the others (fast apps 5 ms a fragment, the slow one 50 ms, a fragment every 50 ms):
// the fast apps' latency with and without it.
out.slowApp = {
  without: await latency(10, quick ? 30 : 200, 50, { handlerMs: 5 }),
  with: await latency(10, quick ? 30 : 200, 50, { handlerMs: 5, slowApp: true }),
};
out.catchUp = await catchUp(quick ? 200 : 1000, 20);

const dir = mkdtempSync(join(tmpdir(), "kvs-bench-ckpt-"));
out.fileCheckpoints = await checkpointRate(new FileCheckpointStore(dir), quick ? 300 : 2000);
rmSync(dir, { recursive: true, force: true });

const require = createRequire(import.meta.url);
const dynalite = require("dynalite")({ createTableMs: 0 });
await new Promise((r) => dynalite.listen(0, "127.0.0.1", r));
const ddb = new DynamoDBClient({
  endpoint: `http://127.0.0.1:${dynalite.address().port}`,
  region: "us-east-1",
  credentials: { accessKeyId: "b", secretAccessKey: "b" },
});
await ensureCheckpointTable(ddb, "bench");
out.dynamoCheckpoints = await checkpointRate(new DynamoDbCheckpointStore(ddb, "bench"), quick ? 100 : 500);
ddb.destroy();
await new Promise((r) => dynalite.close(r));
console.log(JSON.stringify(out));
