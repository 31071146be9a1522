// A fleet worker in a process of its own, for the fleet tests: reads the streams of app "fleet-test"
// from the local KVS endpoint with leases and checkpoints in DynamoDB (dynalite), and prints one JSON line
// per handled fragment, per checkpoint written, and per metrics round.
//   node fleet-worker.mjs WORKER KVS_ENDPOINT DYNAMO_ENDPOINT TABLE STREAMS_CSV LEASE_MS [APP [HEAVY_PREFIX HEAVY_MS [TOLERANCE]]]
// Streams whose name starts with HEAVY_PREFIX cost HEAVY_MS of handler time a fragment (busy, as a decoder is).
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KvsClients } from "../../dist/aws/index.js";
import { DynamoDbCheckpointStore, DynamoDbLeaseTable, fleet } from "../../dist/consumer/index.js";

const [worker, kvsEndpoint, dynamoEndpoint, table, streamsCsv, leaseMs, app = "fleet-test", heavyPrefix = "", heavyMs = "0", tolerance] = process.argv.slice(2);
const busy = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const dynamo = new DynamoDBClient({ endpoint: dynamoEndpoint, region: "us-east-1", credentials, maxAttempts: 3 });
const clients = new KvsClients({ endpoint: kvsEndpoint, region: "us-east-1", credentials });
const out = (o) => process.stdout.write(`${JSON.stringify({ ...o, worker, at: Date.now() })}\n`);
const inner = new DynamoDbCheckpointStore(dynamo, table);
const store = {
  get: (s, a) => inner.get(s, a),
  async put(s, a, cp, opts) {
    await inner.put(s, a, cp, opts);
    out({ t: "checkpoint", stream: s, fragment: cp.fragmentNumber });
  },
};
const f = fleet(clients, {
  app,
  worker,
  streams: streamsCsv.split(","),
  leases: new DynamoDbLeaseTable(dynamo, table),
  store,
  from: "EARLIEST",
  leaseDurationMs: Number(leaseMs),
  balanceTolerance: tolerance === undefined ? undefined : Number(tolerance),
  consume: { live: { idleTimeoutMs: 5000, retry: { baseMs: 50, maxMs: 500 } } },
  handler: ({ stream, fragment }) => {
    out({ t: "handled", stream, fragment: fragment.fragmentNumber });
    if (heavyPrefix && stream.startsWith(heavyPrefix)) busy(Number(heavyMs)); // a heavy stream: CPU work, as a decoder's
  },
});
f.metrics$.subscribe((m) =>
  out({
    t: "metrics",
    held: m.leasesHeld,
    streams: m.streams,
    workers: m.workers,
    load: m.load,
    meanLoad: m.meanLoad,
    handedOver: m.leasesHandedOver,
    lost: m.leasesLost,
  }),
);
process.on("SIGTERM", () => {
  f.stop().then(
    () => {
      out({ t: "stopped" });
      clients.destroy();
      dynamo.destroy();
      process.exit(0);
    },
    (e) => {
      out({ t: "error", message: String(e) });
      process.exit(1);
    },
  );
});
f.done.catch((e) => {
  out({ t: "error", message: String(e) });
  process.exit(1);
});
