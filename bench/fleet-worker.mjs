// A fleet worker for bench/fleet.mjs: reads app "bench" over the given streams with DynamoDB leases and
// checkpoints, printing one JSON line per handled fragment and per metrics round.
//   node fleet-worker.mjs WORKER KVS_ENDPOINT DYNAMO_ENDPOINT TABLE STREAMS_CSV LEASE_MS
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KvsClients } from "../dist/aws/index.js";
import { DynamoDbCheckpointStore, DynamoDbLeaseTable, fleet } from "../dist/consumer/index.js";

const [worker, kvsEndpoint, dynamoEndpoint, table, streamsCsv, leaseMs] = process.argv.slice(2);
const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const dynamo = new DynamoDBClient({ endpoint: dynamoEndpoint, region: "us-east-1", credentials, maxAttempts: 3 });
const clients = new KvsClients({ endpoint: kvsEndpoint, region: "us-east-1", credentials });
const out = (o) => process.stdout.write(`${JSON.stringify({ ...o, worker, at: Date.now() })}\n`);
const f = fleet(clients, {
  app: "bench",
  worker,
  streams: streamsCsv.split(","),
  leases: new DynamoDbLeaseTable(dynamo, table),
  store: new DynamoDbCheckpointStore(dynamo, table),
  from: "NOW",
  leaseDurationMs: Number(leaseMs),
  consume: { checkpointEvery: { fragments: 5 }, live: { idleTimeoutMs: 20_000 } },
  handler: ({ stream }) => out({ t: "handled", stream }),
});
f.metrics$.subscribe((m) => out({ t: "metrics", held: m.leasesHeld, load: m.load, meanLoad: m.meanLoad }));
f.done.catch((e) => {
  out({ t: "error", message: String(e) });
  process.exit(1);
});
