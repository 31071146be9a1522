import { metrics } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbCheckpointStore, DynamoDbLeaseTable, ensureCheckpointTable } from "../../src/consumer/dynamodb-store.js";
import { fleet, type Fleet, type FleetMetrics, type FleetOptions } from "../../src/consumer/fleet.js";
import type { FleetLeaseTable } from "../../src/consumer/lease.js";
import { type Checkpoint, checkpointKey, type PutOptions } from "../../src/consumer/store.js";
import { publishFleetMetrics } from "../../src/consumer/telemetry.js";
import { compareFragmentNumbers } from "../../src/kvs/fragment-number.js";
import { splitClusters } from "../../src/kvs/fragment-writer.js";
import { startDynalite, type LocalDynamo } from "../helpers/dynalite.js";
import { readFixture } from "../helpers/fixtures.js";
import { harness, type Harness } from "../helpers/local-kvs.js";

let dynamo: LocalDynamo;
let h: Harness | undefined;
const workers: Fleet[] = [];
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.close();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop().catch(() => {})));
  await h?.close();
  h = undefined;
});

const clusters = splitClusters(readFixture("generated/h264_aac.mkv"));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timeout waiting for ${what()}`);
    await sleep(25);
  }
}

/** Appends a cluster (a fragment) to each stream every `everyMs` until stopped. */
function produce(streams: string[], everyMs: number): { stop(): Promise<void> } {
  let on = true;
  const running = (async () => {
    for (let i = 0; on; i++) {
      for (const s of streams) h!.kvs.appendClusters(s, [clusters[i % 2]!]);
      await sleep(everyMs);
    }
  })();
  return {
    stop() {
      on = false;
      return running;
    },
  };
}

/**
 * A worker of these tests (stopped after each): from EARLIEST, 1.5 s leases renewed every 250 ms, and a
 * live reader that retries quickly, unless `options` says otherwise.
 */
function startWorker(options: FleetOptions): Fleet {
  const f = fleet(h!.clients, {
    from: "EARLIEST",
    leaseDurationMs: 1500,
    renewMs: 250,
    consume: { live: { idleTimeoutMs: 3000, retry: { baseMs: 20, maxMs: 200 } } },
    ...options,
  });
  workers.push(f);
  return f;
}

/** A lease table whose calls stop once the worker is "killed" (its process died: no renew, no release). */
function killable(table: FleetLeaseTable) {
  let dead = false;
  const gate = <T>(f: () => Promise<T>) => (dead ? Promise.reject<T>(new Error("the process is dead")) : f());
  return {
    kill: () => {
      dead = true;
    },
    table: {
      list: (app) => gate(() => table.list(app)),
      register: (k, a, s) => gate(() => table.register(k, a, s)),
      read: (k) => gate(() => table.read(k)),
      claim: (k, o, e) => gate(() => table.claim(k, o, e)),
      renew: (k, o) => gate(() => table.renew(k, o)),
      release: (k, o) => gate(() => table.release(k, o)),
      heartbeat: (k, o, l) => gate(() => table.heartbeat(k, o, l)),
      requestHandoff: (k, o, t) => gate(() => table.requestHandoff(k, o, t)),
      handOver: (k, o, t) => gate(() => table.handOver(k, o, t)),
    } satisfies FleetLeaseTable,
  };
}

/** A lease table that passes every call to `table` (spread it, then replace the calls a test watches or holds back). */
function delegate(table: FleetLeaseTable): FleetLeaseTable {
  return {
    list: (a) => table.list(a),
    register: (k, a, st) => table.register(k, a, st),
    read: (k) => table.read(k),
    claim: (k, o, e) => table.claim(k, o, e),
    renew: (k, o) => table.renew(k, o),
    release: (k, o) => table.release(k, o),
    heartbeat: (k, o, l) => table.heartbeat(k, o, l),
    requestHandoff: (k, o, t) => table.requestHandoff(k, o, t),
    handOver: (k, o, t) => table.handOver(k, o, t),
  };
}

describe("fleet(): one app over several workers with balanced DynamoDB leases", () => {
  it("balances 12 streams over 3 workers, fails over a dead one within 2× the lease, hands over at once on stop; every fragment handled", async () => {
    const table = `fleet-${Date.now()}`;
    await ensureCheckpointTable(dynamo.client, table);
    const streams = Array.from({ length: 12 }, (_, i) => `cam-${String(i).padStart(2, "0")}`);
    h = await harness({ streams: Object.fromEntries(streams.map((s) => [s, {}])), idleEndMs: 1000 });
    const leases = new DynamoDbLeaseTable(dynamo.client, table);
    const store = new DynamoDbCheckpointStore(dynamo.client, table);
    const handled = new Map<string, { worker: string; fragment: string }[]>(streams.map((s) => [s, []]));
    const snapshots = new Map<string, FleetMetrics>();
    const leaseMs = 1500;
    const start = (worker: string, table: FleetLeaseTable, alive: () => boolean = () => true) => {
      const f = startWorker({
        app: "recorder",
        worker,
        streams,
        leases: table,
        store,
        leaseDurationMs: leaseMs,
        handler: ({ stream, fragment }) => {
          if (!alive()) throw new Error("dead");
          handled.get(stream)!.push({ worker, fragment: fragment.fragmentNumber! });
        },
      });
      f.metrics$.subscribe((m) => snapshots.set(worker, m));
      return f;
    };
    const producer = produce(streams, 300);
    const counts = (names: string[]) => names.map((w) => snapshots.get(w)?.leasesHeld ?? 0);
    const balanced = (names: string[]) => {
      const c = counts(names);
      return c.reduce((a, b) => a + b, 0) === streams.length && Math.max(...c) - Math.min(...c) <= 1;
    };
    start("w1", leases);
    const w2 = killable(leases);
    let w2alive = true;
    start("w2", w2.table, () => w2alive);
    const w3 = start("w3", leases);
    await until(
      () => balanced(["w1", "w2", "w3"]),
      10_000,
      () => `balance: ${counts(["w1", "w2", "w3"])}`,
    );
    expect(counts(["w1", "w2", "w3"])).toEqual([4, 4, 4]);

    // w2 dies: its leases stand still; w1 and w3 take its streams within 2x the lease duration.
    w2alive = false;
    w2.kill();
    const died = performance.now();
    const w2streams = new Set(streams.filter((s) => handled.get(s)!.at(-1)?.worker === "w2"));
    await until(
      () => balanced(["w1", "w3"]),
      2 * leaseMs + 1000,
      () => `failover: ${counts(["w1", "w3"])}`,
    );
    expect(performance.now() - died).toBeLessThan(2 * leaseMs + 500);
    expect(w2streams.size).toBeGreaterThan(0);

    // w3 stops gracefully: it checkpoints and releases; w1 has every stream within a round or two.
    const stopped = performance.now();
    await w3.stop();
    await until(
      () => (snapshots.get("w1")?.leasesHeld ?? 0) === streams.length,
      3000,
      () => `handover: ${counts(["w1"])}`,
    );
    expect(performance.now() - stopped).toBeLessThan(leaseMs);
    await producer.stop();
    // Every stream: every fragment handled, in order, by whoever held it.
    for (const s of streams) {
      const all = h.kvs.fragments(s).map((f) => f.fragmentNumber);
      await until(
        () => new Set(handled.get(s)!.map((x) => x.fragment)).size === all.length,
        10_000,
        () => `${s}: ${handled.get(s)!.length}/${all.length}`,
      );
      expect([...new Set(handled.get(s)!.map((x) => x.fragment))]).toEqual(all);
    }
  });

  it("a worker that has not found out its lease was stolen never handles a fragment the thief has checkpointed", async () => {
    const table = `fleet-fence-${Date.now()}`;
    await ensureCheckpointTable(dynamo.client, table);
    const streams = ["cam-a", "cam-b"];
    h = await harness({ streams: { "cam-a": {}, "cam-b": {} }, idleEndMs: 3000 });
    const leases = new DynamoDbLeaseTable(dynamo.client, table);
    const store = new DynamoDbCheckpointStore(dynamo.client, table);
    const handled: { worker: string; stream: string; fragment: string; at: number }[] = [];
    const checkpoints: { worker: string; stream: string; fragment: string; at: number }[] = [];
    // w1's process stalls: its renewals hang, and its checkpoint writes are made but not answered.
    let stalled = false;
    let heldPuts = 0;
    let answerPuts = () => {};
    const putsAnswered = new Promise<void>((r) => (answerPuts = r));
    let answerRenewals = () => {};
    const renewalsAnswered = new Promise<void>((r) => (answerRenewals = r));
    const w1table: FleetLeaseTable = {
      ...delegate(leases),
      renew: async (k, o) => {
        if (stalled) await renewalsAnswered;
        return leases.renew(k, o);
      },
      heartbeat: async (k, o, l) => {
        if (stalled) await renewalsAnswered;
        return leases.heartbeat(k, o, l);
      },
    };
    const recording = (worker: string, stall: boolean) => ({
      get: (st: string, a: string) => store.get(st, a),
      async put(st: string, a: string, cp: Checkpoint, opts?: PutOptions) {
        await store.put(st, a, cp, opts);
        checkpoints.push({ worker, stream: st, fragment: cp.fragmentNumber, at: performance.now() });
        if (stall && stalled) {
          heldPuts++;
          await putsAnswered;
        }
      },
    });
    const start = (worker: string, leaseTable: FleetLeaseTable) =>
      startWorker({
        app: "fenced",
        worker,
        streams,
        leases: leaseTable,
        store: recording(worker, worker === "w1"),
        handler: ({ stream, fragment }) => void handled.push({ worker, stream, fragment: fragment.fragmentNumber!, at: performance.now() }),
      });
    const producer = produce(streams, 150);
    try {
      const w1 = start("w1", w1table);
      await until(
        () => w1.held().length === 2 && streams.every((st) => handled.some((x) => x.stream === st)),
        5000,
        () => `w1 holds ${w1.held()}`,
      );
      stalled = true;
      await until(
        () => heldPuts === 2,
        5000,
        () => `${heldPuts} checkpoint writes held`,
      );
      const w2 = start("w2", leases);
      await until(
        () => w2.held().length === 2 && streams.every((st) => checkpoints.filter((c) => c.worker === "w2" && c.stream === st).length >= 2),
        10_000,
        () => `w2 holds ${w2.held()}, ${checkpoints.filter((c) => c.worker === "w2").length} checkpoints`,
      );
      // w1 wakes up with fragments queued: without the fence it would hand one to its handler now.
      answerPuts();
      await sleep(600);
      answerRenewals(); // it finds out, stops those consumers (and may steal one stream back, from the checkpoint)
      await sleep(1000);
      await w1.stop();
    } finally {
      await producer.stop();
    }
    for (const l of handled.filter((x) => x.worker === "w1")) {
      const covered = checkpoints.find((c) => c.worker === "w2" && c.stream === l.stream && c.at < l.at && compareFragmentNumbers(c.fragment, l.fragment) >= 0);
      expect(covered, `${l.stream} ${l.fragment} handled by w1 after w2 checkpointed ${covered?.fragment}`).toBeUndefined();
    }
    expect(handled.filter((x) => x.worker === "w2").length).toBeGreaterThan(0);
  });

  it("claims a dead worker's leases as they expire (the lease duration after the listing that first showed their last renewal), not a round later, all side by side", async () => {
    const table = `fleet-expiry-${Date.now()}`;
    await ensureCheckpointTable(dynamo.client, table);
    const streams = Array.from({ length: 6 }, (_, i) => `cam-${i}`);
    h = await harness({ streams: Object.fromEntries(streams.map((s) => [s, {}])), idleEndMs: 3000 });
    const leases = new DynamoDbLeaseTable(dynamo.client, table);
    const store = new DynamoDbCheckpointStore(dynamo.client, table);
    const leaseMs = 1500;
    // w2's listings (when each came back, and each lease's holder and counter in it) and claims (when sent).
    const listings: { at: number; leases: Map<string, string> }[] = [];
    const claims: { key: string; at: number }[] = [];
    const w2table: FleetLeaseTable = {
      ...delegate(leases),
      list: async (a) => {
        const r = await leases.list(a);
        listings.push({ at: performance.now(), leases: new Map(r.map((l) => [l.key, `${l.owner}#${l.counter}`])) });
        return r;
      },
      claim: async (k, o, e) => {
        claims.push({ key: k, at: performance.now() });
        await sleep(100); // a slow table: claims made one after another would come 100 ms apart
        return leases.claim(k, o, e);
      },
    };
    const start = (worker: string, leaseTable: FleetLeaseTable) =>
      startWorker({
        app: "expiry",
        worker,
        streams,
        leases: leaseTable,
        store,
        leaseDurationMs: leaseMs,
        renewMs: 600, // rounds far apart: a claim left to the next round would come up to 600 ms late
        handler: () => {},
      });
    const producer = produce(streams, 300);
    try {
      const w1 = killable(leases);
      const f1 = start("w1", w1.table);
      const f2 = start("w2", w2table);
      await until(
        () => f1.held().length === 3 && f2.held().length === 3,
        15_000,
        () => `balance: w1 ${f1.held().length}, w2 ${f2.held().length}`,
      );
      const dead = f1.held().map((s) => checkpointKey(s, "expiry"));
      w1.kill();
      const killed = performance.now();
      await until(
        () => f2.held().length === 6,
        3 * leaseMs,
        () => `w2 holds ${f2.held().length}`,
      );
      for (const key of dead) {
        // w1's last renewal of the lease, the first listing of w2's that showed it, and w2's claim.
        const final = listings
          .map((l) => l.leases.get(key)!)
          .filter((state) => state.startsWith("w1#"))
          .at(-1);
        const seen = listings.find((l) => l.leases.get(key) === final)!.at;
        const claim = claims.find((c) => c.key === key && c.at > killed)!;
        const late = claim.at - (seen + leaseMs);
        expect(late, `${key}: claimed ${late.toFixed(0)} ms after it expired`).toBeGreaterThanOrEqual(0);
        expect(late, `${key}: claimed ${late.toFixed(0)} ms after it expired`).toBeLessThan(150);
      }
    } finally {
      await producer.stop();
    }
  });

  it("a listing read before the worker handed a stream over never starts that stream again on the old holder", async () => {
    const table = `fleet-stale-${Date.now()}`;
    await ensureCheckpointTable(dynamo.client, table);
    h = await harness({ streams: { "cam-a": {} }, idleEndMs: 3000 });
    const leases = new DynamoDbLeaseTable(dynamo.client, table);
    const store = new DynamoDbCheckpointStore(dynamo.client, table);
    const handled: { worker: string; fragment: string; at: number }[] = [];
    // w1's listings answer late: one read just before its handover comes back just after it.
    let slowLists = false;
    let handedOverAt = Number.POSITIVE_INFINITY;
    let handedOver = () => {};
    const afterHandover = new Promise<void>((r) => (handedOver = r));
    const w1table: FleetLeaseTable = {
      ...delegate(leases),
      list: async (a) => {
        const stale = slowLists;
        const r = await leases.list(a);
        if (stale) await afterHandover.then(() => sleep(50));
        return r;
      },
      handOver: async (k, o, t) => {
        const ok = await leases.handOver(k, o, t);
        handedOverAt = performance.now();
        handedOver();
        return ok;
      },
    };
    const start = (worker: string, leaseTable: FleetLeaseTable) =>
      startWorker({
        app: "stale",
        worker,
        streams: ["cam-a"],
        leases: leaseTable,
        store,
        renewMs: 100,
        handler: ({ fragment }) => void handled.push({ worker, fragment: fragment.fragmentNumber!, at: performance.now() }),
      });
    const producer = produce(["cam-a"], 100);
    try {
      const w1 = start("w1", w1table);
      await until(
        () => w1.held().length === 1 && handled.length > 0,
        5000,
        () => `w1 holds ${w1.held()}`,
      );
      const w2 = start("w2", leases);
      slowLists = true;
      await sleep(150); // a listing of w1's is under way
      expect(await leases.requestHandoff(checkpointKey("cam-a", "stale"), "w1", "w2")).toBe(true);
      await until(
        () => w2.held().length === 1 && handled.some((x) => x.worker === "w2"),
        5000,
        () => `w2 holds ${w2.held()}`,
      );
      await sleep(800); // w1's late listing (owner: w1) has come back, and a fenced start would have handled by now
      expect(w1.held()).toEqual([]);
    } finally {
      await producer.stop();
    }
    expect(handled.filter((x) => x.worker === "w1" && x.at > handedOverAt)).toEqual([]);
    const fragments = handled.map((x) => x.fragment);
    expect(new Set(fragments).size).toBe(fragments.length);
  });

  it("a renewal that never answers holds back none of the worker's other leases; the stream whose renewal hangs is given up after the lease", async () => {
    const table = `fleet-hung-${Date.now()}`;
    await ensureCheckpointTable(dynamo.client, table);
    const streams = ["cam-a", "cam-b", "cam-c"];
    h = await harness({ streams: Object.fromEntries(streams.map((s) => [s, {}])), idleEndMs: 3000 });
    const leases = new DynamoDbLeaseTable(dynamo.client, table);
    const handled: { stream: string; at: number }[] = [];
    // From `hangAt` on, every heartbeat of cam-a's lease is sent and never answered (a request lost on the way).
    let hangAt = Number.POSITIVE_INFINITY;
    const hung = checkpointKey("cam-a", "hung");
    const w1table: FleetLeaseTable = {
      ...delegate(leases),
      heartbeat: (k, o, l) => (k === hung && performance.now() >= hangAt ? new Promise(() => {}) : leases.heartbeat(k, o, l)),
    };
    const leaseMs = 1500;
    const w1 = startWorker({
      app: "hung",
      worker: "w1",
      streams,
      leases: w1table,
      store: new DynamoDbCheckpointStore(dynamo.client, table),
      leaseDurationMs: leaseMs,
      handler: ({ stream }) => void handled.push({ stream, at: performance.now() }),
    });
    const producer = produce(streams, 150);
    try {
      await until(
        () => w1.held().length === 3 && streams.every((st) => handled.some((x) => x.stream === st)),
        5000,
        () => `w1 holds ${w1.held()}`,
      );
      hangAt = performance.now();
      await sleep(3 * leaseMs);
      // cam-b and cam-c were renewed all along: still held, and handled to the end (their fence never closed).
      const late = hangAt + 2.5 * leaseMs;
      for (const st of ["cam-b", "cam-c"])
        expect(
          handled.some((x) => x.stream === st && x.at > late),
          `${st} handled after the hang`,
        ).toBe(true);
      expect(w1.held()).toEqual(expect.arrayContaining(["cam-b", "cam-c"]));
      // cam-a: not handled once its last renewal was a lease ago, and not held by the end.
      expect(handled.filter((x) => x.stream === "cam-a" && x.at > hangAt + leaseMs + 250)).toEqual([]);
      expect(w1.held()).not.toContain("cam-a");
    } finally {
      await producer.stop();
    }
    const stopped = performance.now();
    await w1.stop();
    expect(performance.now() - stopped).toBeLessThan(2 * leaseMs);
  });

  it("stop() ends a worker whose round waits on a lease listing that never answers, and releases its leases", async () => {
    const table = `fleet-hung-list-${Date.now()}`;
    await ensureCheckpointTable(dynamo.client, table);
    const streams = ["cam-a", "cam-b"];
    h = await harness({ streams: Object.fromEntries(streams.map((s) => [s, {}])), idleEndMs: 3000 });
    const leases = new DynamoDbLeaseTable(dynamo.client, table);
    let hang = false;
    const w1table: FleetLeaseTable = { ...delegate(leases), list: (a) => (hang ? new Promise(() => {}) : leases.list(a)) };
    let handled = 0;
    const w1 = startWorker({
      app: "hung-list",
      worker: "w1",
      streams,
      leases: w1table,
      store: new DynamoDbCheckpointStore(dynamo.client, table),
      handler: () => void handled++,
    });
    const producer = produce(streams, 150);
    try {
      await until(
        () => w1.held().length === 2 && handled > 0,
        5000,
        () => `w1 holds ${w1.held()}`,
      );
      hang = true;
      await sleep(600); // the next round's listing is under way, and will never answer
    } finally {
      await producer.stop();
    }
    const stopped = performance.now();
    const ended = await Promise.race([w1.stop().then(() => "stopped"), sleep(5000).then(() => "still stopping after 5 s")]);
    expect(ended).toBe("stopped");
    expect(performance.now() - stopped).toBeLessThan(3000);
    for (const st of streams) expect((await leases.read(checkpointKey(st, "hung-list")))?.owner ?? null, st).toBeNull();
  });

  it("a claim answered after stop() is given back, and its stream is not started", async () => {
    const table = `fleet-late-claim-${Date.now()}`;
    await ensureCheckpointTable(dynamo.client, table);
    h = await harness({ streams: { "cam-a": {} }, idleEndMs: 3000 });
    const leases = new DynamoDbLeaseTable(dynamo.client, table);
    let claiming = () => {};
    const claimSent = new Promise<void>((r) => (claiming = r));
    let answer = () => {};
    const answered = new Promise<void>((r) => (answer = r));
    const w1table: FleetLeaseTable = {
      ...delegate(leases),
      claim: async (k, o, e) => {
        const won = await leases.claim(k, o, e);
        claiming();
        await answered; // written, but the answer comes late
        return won;
      },
    };
    let handled = 0;
    const w1 = startWorker({
      app: "late-claim",
      worker: "w1",
      streams: ["cam-a"],
      leases: w1table,
      store: new DynamoDbCheckpointStore(dynamo.client, table),
      consume: undefined, // the live reader's own defaults: its stream is never started
      handler: () => void handled++,
    });
    const producer = produce(["cam-a"], 150);
    try {
      await claimSent;
      expect((await leases.read(checkpointKey("cam-a", "late-claim")))?.owner).toBe("w1");
      await w1.stop();
      answer();
      let owner: string | null = "w1";
      for (let i = 0; i < 60 && owner !== null; i++) {
        await sleep(50);
        owner = (await leases.read(checkpointKey("cam-a", "late-claim")))?.owner ?? null;
      }
      expect(owner, "the late claim given back").toBeNull();
      await sleep(500);
    } finally {
      await producer.stop();
    }
    expect(w1.held()).toEqual([]);
    expect(handled).toBe(0);
  });

  it("selects streams by name prefix and tags with ListStreams / ListTagsForStream", async () => {
    const table = `fleet-sel-${Date.now()}`;
    await ensureCheckpointTable(dynamo.client, table);
    h = await harness({
      streams: {
        "cam-a": { tags: { site: "north" } },
        "cam-b": { tags: { site: "south" } },
        "cam-c": { tags: { site: "north" } },
        "door-a": { tags: { site: "north" } },
      },
      idleEndMs: 1000,
    });
    const leases = new DynamoDbLeaseTable(dynamo.client, table);
    const f = fleet(h.clients, {
      app: "a",
      worker: "w",
      streams: { namePrefix: "cam-", tags: { site: "north" } },
      leases,
      store: new DynamoDbCheckpointStore(dynamo.client, table),
      renewMs: 100,
      handler: () => {},
    });
    workers.push(f);
    await until(
      () => f.held().length === 2,
      5000,
      () => f.held().join(","),
    );
    expect(f.held().sort()).toEqual(["cam-a", "cam-c"]);
  });

  it("publishes its metrics through OpenTelemetry (lag, fragments, leases) when the app installs an SDK", async () => {
    const table = `fleet-otel-${Date.now()}`;
    await ensureCheckpointTable(dynamo.client, table);
    h = await harness({ streams: { "cam-1": {}, "cam-2": {} }, idleEndMs: 1000 });
    for (const s of ["cam-1", "cam-2"]) h.kvs.appendClusters(s, clusters);
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 100 });
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    try {
      let handled = 0;
      const f = fleet(h.clients, {
        app: "otel",
        worker: "w",
        streams: ["cam-1", "cam-2"],
        leases: new DynamoDbLeaseTable(dynamo.client, table),
        store: new DynamoDbCheckpointStore(dynamo.client, table),
        from: "EARLIEST",
        renewMs: 100,
        handler: () => void handled++,
      });
      workers.push(f);
      const unpublish = await publishFleetMetrics(f.metrics$);
      await until(
        () => handled === 4,
        5000,
        () => `${handled}/4`,
      );
      await sleep(300);
      await reader.forceFlush();
      const names = new Map<string, number>();
      for (const rm of exporter.getMetrics())
        for (const sm of rm.scopeMetrics)
          for (const m of sm.metrics)
            for (const p of m.dataPoints)
              names.set(
                `${m.descriptor.name}${"stream" in p.attributes ? `/${p.attributes.stream}` : ""}${"event" in p.attributes ? `/${p.attributes.event}` : ""}`,
                p.value as number,
              );
      expect(names.get("kvs.fleet.leases_held")).toBe(2);
      expect(names.get("kvs.stream.fragments/cam-1")).toBe(2);
      expect(names.get("kvs.fleet.lease_events/taken")).toBe(2);
      expect(names.has("kvs.stream.queued_fragments/cam-2")).toBe(true);
      unpublish();
    } finally {
      await provider.shutdown();
      metrics.disable();
    }
  });

  it("times a handler that returns no promise as it returns, not with the work queued ahead of an await", async () => {
    const table = `fleet-timed-${Date.now()}`;
    await ensureCheckpointTable(dynamo.client, table);
    h = await harness({ streams: { cam: {} }, idleEndMs: 1000 });
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    let last: FleetMetrics | undefined;
    const f = fleet(h.clients, {
      app: "timed",
      worker: "w1",
      streams: ["cam"],
      leases: new DynamoDbLeaseTable(dynamo.client, table),
      store: new DynamoDbCheckpointStore(dynamo.client, table),
      from: "EARLIEST",
      consume: { live: { idleTimeoutMs: 5000 } },
      // Windows close when leases are renewed: every 250 ms here, so a window is about a second (the default
      // of a third of 10 s would make 4 windows of 3.3 s before the first measure).
      leaseDurationMs: 1500,
      renewMs: 250,
      handler: () => {
        busy(2);
        queueMicrotask(() => busy(30)); // someone else's work, queued while the handler ran
      },
    });
    f.metrics$.subscribe((m) => (last = m));
    workers.push(f);
    const producer = produce(["cam"], 200);
    try {
      // The stream's cost is measured after 3 warm-up windows of a second: about 1 + 2 ms × 5 fragments a second.
      await until(
        () => (last?.load ?? 0) > 0,
        20_000,
        () => `a measured load (${last?.load})`,
      );
    } finally {
      await producer.stop();
    }
    // Timed across the await, each fragment would also count the 30 ms queued ahead of it: over 150.
    expect(last!.load).toBeGreaterThan(1);
    expect(last!.load).toBeLessThan(60);
  }, 30_000);
});
