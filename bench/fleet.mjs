// Fleet failover: W workers (processes) share S×W live streams through DynamoDB leases (dynalite); once
// balanced (as the fleet balances: each worker within a stream of the mean count, or its load within 10 %
// of the mean load), one is SIGKILLed; reported is the time until every one of its streams is handled
// again by another worker, against the lease duration.
//   node bench/fleet.mjs WORKERS STREAMS_PER_WORKER LEASE_MS  → one JSON line
import { fork, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ensureCheckpointTable } from "../dist/consumer/index.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const [wArg, sArg, leaseArg] = process.argv.slice(2);
const W = Number(wArg);
const S = Number(sArg);
const LEASE_MS = Number(leaseArg ?? 5000);
const N = W * S;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dynalite = createRequire(import.meta.url)("dynalite")({ createTableMs: 0 });
await new Promise((r) => dynalite.listen(0, "127.0.0.1", r));
const dynamoEndpoint = `http://127.0.0.1:${dynalite.address().port}`;
const ddb = new DynamoDBClient({ endpoint: dynamoEndpoint, region: "us-east-1", credentials: { accessKeyId: "b", secretAccessKey: "b" } });
await ensureCheckpointTable(ddb, "bench");

const endpointChild = fork(fileURLToPath(new URL("./kvs-fleet-child.mjs", import.meta.url)));
const fromChild = (pred) =>
  new Promise((resolve) =>
    endpointChild.on("message", function on(m) {
      if (pred(m)) {
        endpointChild.off("message", on);
        resolve(m);
      }
    }),
  );
const { endpoint } = await fromChild((m) => m.endpoint);
endpointChild.send({ streams: N });
await fromChild((m) => m.ready);
const ticker = setInterval(() => endpointChild.send({ tick: true }), 1000);

const names = Array.from({ length: N }, (_, i) => `cam-${i}`);
const held = new Map();
/** worker → its last reported { load, mean } (ms of work per second). */
const loads = new Map();
/** stream → [worker, at] of every handled fragment after `mark`. */
const handled = [];
const procs = new Map();
function start(worker) {
  const p = spawn(
    process.execPath,
    [fileURLToPath(new URL("./fleet-worker.mjs", import.meta.url)), worker, endpoint, dynamoEndpoint, "bench", names.join(","), String(LEASE_MS)],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    },
  );
  let buf = "";
  p.stdout.on("data", (d) => {
    buf += d.toString();
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const l = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (l.t === "metrics") {
        held.set(l.worker, l.held);
        loads.set(l.worker, { load: l.load, mean: l.meanLoad });
      } else if (l.t === "handled") handled.push([l.stream, l.worker, l.at]);
      nl = buf.indexOf("\n");
    }
  });
  procs.set(worker, p);
}
const workers = Array.from({ length: W }, (_, i) => `w${i + 1}`);
for (const w of workers) start(w);
const t0 = Date.now();
let balancedAfterMs = null;
let balancedBy = null;
const counts = () => workers.map((w) => held.get(w) ?? 0);
while (Date.now() - t0 < 180_000) {
  const c = counts();
  if (c.reduce((a, b) => a + b, 0) === N) {
    if (Math.max(...c) - Math.min(...c) <= 1) balancedBy = "count";
    else if (workers.every((w) => loads.get(w)?.mean > 0 && Math.abs(loads.get(w).load - loads.get(w).mean) <= 0.1 * loads.get(w).mean)) balancedBy = "load";
  }
  if (balancedBy) {
    balancedAfterMs = Date.now() - t0;
    break;
  }
  await sleep(200);
}
const heldAtKill = counts();
await sleep(3000); // every stream handled a few times
const victim = workers[0];
const since = Date.now() - 2500;
const victimStreams = new Set(handled.filter(([, w, at]) => w === victim && at > since).map(([s]) => s));
procs.get(victim).kill("SIGKILL");
const killedAt = Date.now();
const firstAfter = new Map();
while (Date.now() - killedAt < 10 * LEASE_MS + 30_000 && firstAfter.size < victimStreams.size) {
  for (const [s, w, at] of handled) if (w !== victim && at > killedAt && victimStreams.has(s) && !firstAfter.has(s)) firstAfter.set(s, at);
  await sleep(100);
}
const recoveries = [...firstAfter.values()].map((at) => at - killedAt).sort((a, b) => a - b);
clearInterval(ticker);
for (const [w, p] of procs) if (w !== victim) p.kill("SIGKILL");
endpointChild.send({ close: true });
ddb.destroy();
await new Promise((r) => dynalite.close(r));
console.log(
  JSON.stringify({
    workers: W,
    streamsPerWorker: S,
    streams: N,
    leaseMs: LEASE_MS,
    balancedAfterMs,
    balancedBy,
    heldAtKill,
    victimStreams: victimStreams.size,
    recovered: firstAfter.size,
    recoveryP50Ms: recoveries[Math.floor(recoveries.length / 2)] ?? null,
    recoveryMaxMs: recoveries.at(-1) ?? null,
  }),
);
process.exit(0);
