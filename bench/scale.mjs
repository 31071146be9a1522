// Streams per process: N live streams read by one process (one KvsClients), each getting one fragment a
// second from an endpoint in another process. Reports the appended→event latency (the endpoint wrote the
// fragment's last byte → the reader's fragment event; p99 also without the first second), RSS, CPU,
// and the memory per idle stream.
//   node --expose-gc bench/scale.mjs N SECONDS  → one JSON line
import { fileURLToPath } from "node:url";
import { KvsClients, liveMedia } from "../dist/aws/index.js";
import { forkChild, pct } from "./child.mjs";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const [nArg, secondsArg] = process.argv.slice(2);
const N = Number(nArg);
const SECONDS = Number(secondsArg ?? 10);
const written = new Map();
const { child, next } = forkChild(fileURLToPath(new URL("./kvs-fleet-child.mjs", import.meta.url)), (m) => {
  if (m.written) for (const [s, f, at] of m.written) written.set(`${s}/${f}`, at);
});
const { endpoint } = await next((m) => m.endpoint);
child.send({ streams: N });
await next((m) => m.ready);
const clients = new KvsClients({ region: "us-east-1", endpoint, credentials: { accessKeyId: "b", secretAccessKey: "b" } });
const memory = () => {
  global.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external + m.arrayBuffers };
};
const before = memory();
const arrivals = [];
const subs = [];
for (let i = 0; i < N; i++) {
  const name = `cam-${i}`;
  subs.push(
    liveMedia(clients, name, { from: "NOW", idleTimeoutMs: 300_000 }).subscribe((ev) => {
      if (ev.type === "fragment") arrivals.push([`${name}/${ev.fragmentNumber}`, performance.timeOrigin + performance.now()]);
    }),
  );
}
// Wait until every reader holds its GetMedia response open at the live edge.
const t0 = performance.now();
for (;;) {
  child.send({ open: true });
  const { open } = await next((m) => m.open !== undefined);
  if (open >= N || performance.now() - t0 > 120_000) break;
  await new Promise((r) => setTimeout(r, 200));
}
const connectSeconds = (performance.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 500));
const idle = memory();
const cpu0 = process.cpuUsage();
const w0 = performance.now();
let peakRss = idle.rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
for (let s = 0; s < SECONDS; s++) {
  child.send({ tick: true });
  await new Promise((r) => setTimeout(r, 1000));
}
await new Promise((r) => setTimeout(r, 1500));
const cpu = process.cpuUsage(cpu0);
const wall = (performance.now() - w0) / 1000;
clearInterval(sampler);
for (const s of subs) s.unsubscribe();
clients.destroy();
child.send({ close: true });
await new Promise((r) => child.on("exit", r));
const lat = arrivals.filter(([k]) => written.has(k)).map(([k, at]) => at - written.get(k));
// The first second of appends also pays for warming up (the first fragment of each of N connections, the
// JIT): the steady state is what follows.
const steadyFrom = performance.timeOrigin + w0 + 1000;
const steady = arrivals.filter(([k]) => written.has(k) && written.get(k) >= steadyFrom).map(([k, at]) => at - written.get(k));
console.log(
  JSON.stringify({
    streams: N,
    seconds: SECONDS,
    fragments: arrivals.length,
    expected: N * SECONDS,
    p50ms: pct(lat, 50),
    p99ms: pct(lat, 99),
    p99SteadyMs: pct(steady, 99),
    maxMs: Math.max(...lat),
    connectSeconds,
    idleBytesPerStream: (idle.heap - before.heap) / N,
    idleRssPerStream: (idle.rss - before.rss) / N,
    peakRssMB: peakRss / 2 ** 20,
    cpuPercent: (100 * (cpu.user + cpu.system)) / 1e6 / wall,
  }),
);
process.exit(0);
