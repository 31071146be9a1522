import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbCheckpointStore, DynamoDbLeaseTable, ensureCheckpointTable } from "../../src/consumer/dynamodb-store.js";
import { checkpointKey } from "../../src/consumer/store.js";
import { FileCheckpointStore } from "../../src/consumer/file-store.js";
import { acquireLease, LeaseLostError, MemoryLeaseTable, type LeaseTable } from "../../src/consumer/lease.js";
import { CheckpointConflictError, MemoryCheckpointStore, type CheckpointStore } from "../../src/consumer/store.js";
import { startDynalite, type LocalDynamo } from "../helpers/dynalite.js";

const N1 = "91343852333181432392682062607743920146159169392";
const N2 = "91343852333181432397633822764885441725874549018";
const BIG = "9".repeat(128); // beyond DynamoDB's 38-digit numbers
const cp = (fragmentNumber: string) => ({ fragmentNumber, continuationToken: fragmentNumber, updatedAt: 1700000000000 });

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
  await ensureCheckpointTable(dynamo.client, "checkpoints");
});
afterAll(async () => {
  await dynamo?.close();
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "kvs-ckpt-"));
  dirs.push(d);
  return d;
};

const stores: [string, () => CheckpointStore][] = [
  ["memory", () => new MemoryCheckpointStore()],
  ["file", () => new FileCheckpointStore(tempDir())],
  ["dynamodb (dynalite)", () => new DynamoDbCheckpointStore(dynamo.client, "checkpoints")],
];

for (const [name, make] of stores) {
  describe(`${name} checkpoint store`, () => {
    it("has no checkpoint at first, then returns what was written, per stream and app", async () => {
      const s = make();
      const stream = `s-${Math.random()}`;
      expect(await s.get(stream, "a")).toBeNull();
      await s.put(stream, "a", cp(N1));
      await s.put(stream, "b", cp(N2));
      expect(await s.get(stream, "a")).toEqual(cp(N1));
      expect(await s.get(stream, "b")).toEqual(cp(N2));
    });
    it("moves forward, accepts the same fragment again, refuses to move backwards", async () => {
      const s = make();
      const stream = `s-${Math.random()}`;
      await s.put(stream, "a", cp(N1));
      await s.put(stream, "a", cp(N2));
      await s.put(stream, "a", cp(N2));
      const err = await s.put(stream, "a", cp(N1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointConflictError);
      expect((err as CheckpointConflictError).current?.fragmentNumber).toBe(N2);
      expect((await s.get(stream, "a"))?.fragmentNumber).toBe(N2);
    });
    it("keeps 128-digit fragment numbers exactly and orders them numerically, not as text", async () => {
      const s = make();
      const stream = `s-${Math.random()}`;
      await s.put(stream, "a", cp("999"));
      await s.put(stream, "a", cp("1000")); // "1000" < "999" as text
      await s.put(stream, "a", cp(BIG));
      expect((await s.get(stream, "a"))?.fragmentNumber).toBe(BIG);
      await expect(s.put(stream, "a", cp("1000"))).rejects.toBeInstanceOf(CheckpointConflictError);
    });
    it("rejects a checkpoint that is not a fragment number", async () => {
      await expect(make().put("s", "a", cp("12a"))).rejects.toBeInstanceOf(TypeError);
    });
  });
}

describe("file checkpoint store durability", () => {
  it("a crash between the durable write and the rename leaves the previous checkpoint intact", async () => {
    const dir = tempDir();
    await new FileCheckpointStore(dir).put("cam", "app", cp(N1));
    const crashing = new FileCheckpointStore(dir, {
      beforeRename: () => {
        throw new Error("kill -9");
      },
    });
    await expect(crashing.put("cam", "app", cp(N2))).rejects.toThrow("kill -9");
    expect(await new FileCheckpointStore(dir).get("cam", "app")).toEqual(cp(N1));
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
  it("serialises concurrent writes for one key: the highest wins", async () => {
    const s = new FileCheckpointStore(tempDir());
    const results = await Promise.allSettled([s.put("c", "a", cp(N2)), s.put("c", "a", cp(N1)), s.put("c", "a", cp(BIG))]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((await s.get("c", "a"))?.fragmentNumber).toBe(BIG);
  });
});

describe("DynamoDB store with leases", () => {
  it("a stale writer that lost the lease gets CheckpointConflictError", async () => {
    const store = new DynamoDbCheckpointStore(dynamo.client, "checkpoints");
    const leases = new DynamoDbLeaseTable(dynamo.client, "checkpoints");
    const key = checkpointKey("cam-lease", "app");
    expect(await leases.claim(key, "w1", null)).toBe(true);
    await store.put("cam-lease", "app", cp(N1), { owner: "w1" });
    const state = await leases.read(key);
    expect(await leases.claim(key, "w2", state)).toBe(true); // w2 takes over
    const err = await store.put("cam-lease", "app", cp(N2), { owner: "w1" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointConflictError);
    expect((err as Error).message).toContain("w1 does not hold the lease (held by w2)");
    await store.put("cam-lease", "app", cp(N2), { owner: "w2" });
    expect((await store.get("cam-lease", "app"))?.fragmentNumber).toBe(N2);
  });
});

const leaseTables: [string, () => LeaseTable][] = [
  ["memory", () => new MemoryLeaseTable()],
  ["dynamodb (dynalite)", () => new DynamoDbLeaseTable(dynamo.client, "checkpoints")],
];

/** A worker's view of the table that can be "killed": its renewals stop reaching the table, as if the process died. */
function killable(table: LeaseTable): { table: LeaseTable; kill(): void } {
  let dead = false;
  return {
    kill: () => {
      dead = true;
    },
    table: {
      read: (k) => table.read(k),
      claim: (k, o, e) => table.claim(k, o, e),
      renew: async (k, o) => {
        if (dead) throw new Error("process is dead");
        return table.renew(k, o);
      },
      release: (k, o) => table.release(k, o),
    },
  };
}

for (const [name, make] of leaseTables) {
  describe(`${name} leases`, () => {
    it("exactly one of two workers holds the lease; the other takes over within the failover time when the holder dies", async () => {
      const table = make();
      const key = `lease-${Math.random()}`;
      const failoverMs = 400;
      const worker = killable(table);
      const a = await acquireLease(worker.table, key, { owner: "a", failoverMs, renewMs: 60 });
      expect(a).not.toBeNull();
      const stopB = new AbortController();
      let bAt = 0;
      const bPromise = acquireLease(table, key, { owner: "b", failoverMs, renewMs: 60 }, stopB.signal).then((l) => {
        bAt = performance.now();
        return l;
      });
      await new Promise((r) => setTimeout(r, 900));
      expect(bAt).toBe(0); // a keeps renewing: b must not get it
      expect((await table.read(key))?.owner).toBe("a");
      const died = performance.now();
      worker.kill();
      const b = await bPromise;
      expect(b?.owner).toBe("b");
      expect(bAt - died).toBeLessThan(failoverMs + 400);
      expect(a!.signal.aborted).toBe(true); // the dead holder's own view: lost
      expect((await table.read(key))?.owner).toBe("b");
      stopB.abort();
      await b!.release();
      expect((await table.read(key))?.owner).toBeNull();
    });
  });
}

describe("lease errors keep their cause", () => {
  class AccessDenied extends Error {
    override readonly name = "AccessDeniedException";
  }
  it("a table that cannot be read fails acquireLease with the table's own error, not 'lease lost'", async () => {
    const table: LeaseTable = {
      ...new MemoryLeaseTable(),
      read: () => Promise.reject(new AccessDenied("no dynamodb:GetItem")),
      claim: async () => false,
      renew: async () => false,
      release: async () => {},
    };
    await expect(acquireLease(table, "k", { owner: "w", failoverMs: 200, renewMs: 50 })).rejects.toBeInstanceOf(AccessDenied);
  });

  /** A lease table in memory whose renewals, once it breaks, end as `broken` says. */
  function breakable(broken: () => Promise<boolean>) {
    const inner = new MemoryLeaseTable();
    let isBroken = false;
    const table: LeaseTable = {
      read: (k) => inner.read(k),
      claim: (k, o, e) => inner.claim(k, o, e),
      renew: (k, o) => (isBroken ? broken() : inner.renew(k, o)),
      release: (k, o) => inner.release(k, o),
    };
    return {
      table,
      break: () => {
        isBroken = true;
      },
    };
  }

  it("renewals that keep failing end the lease after the failover time with a LeaseLostError whose cause is the last error", async () => {
    const { table, break: deny } = breakable(() => Promise.reject(new AccessDenied("throttled")));
    const lease = (await acquireLease(table, "k", { owner: "w", failoverMs: 300, renewMs: 50 }))!;
    deny();
    const started = performance.now();
    await new Promise<void>((r) => lease.signal.addEventListener("abort", () => r(), { once: true }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(lease.signal.reason).toBeInstanceOf(LeaseLostError);
    expect((lease.signal.reason as LeaseLostError).cause).toBeInstanceOf(AccessDenied);
  });

  it("a renewal that never answers still ends the lease when the failover time has passed since the last one that did", async () => {
    const { table, break: hang } = breakable(() => new Promise<boolean>(() => {}));
    const lease = (await acquireLease(table, "k", { owner: "w", failoverMs: 300, renewMs: 50 }))!;
    hang();
    const started = performance.now();
    const lost = new Promise<void>((r) => lease.signal.addEventListener("abort", () => r(), { once: true }));
    expect(await Promise.race([lost.then(() => "lost"), new Promise((r) => setTimeout(() => r("still held after 2 s"), 2000))])).toBe("lost");
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(performance.now() - started).toBeLessThan(400);
    expect((lease.signal.reason as LeaseLostError).message).toContain("not renewed for 300 ms");
  });

  it("release() gives the lease up at once, also while a renewal hangs", async () => {
    const { table, break: hang } = breakable(() => new Promise<boolean>(() => {}));
    const lease = (await acquireLease(table, "k", { owner: "w", failoverMs: 300, renewMs: 50 }))!;
    hang();
    await new Promise((r) => setTimeout(r, 120)); // a renewal is under way, and will never answer
    const released = lease.release().then(() => "released");
    expect(await Promise.race([released, new Promise((r) => setTimeout(() => r("still releasing after 1 s"), 1000))])).toBe("released");
    expect(lease.signal.aborted).toBe(true);
    expect(await table.read("k")).toMatchObject({ owner: null });
  });

  it("a lease another worker took ends with a LeaseLostError and no cause", async () => {
    const table = new MemoryLeaseTable();
    const lease = (await acquireLease(table, "k", { owner: "w1", failoverMs: 300, renewMs: 40 }))!;
    await table.claim("k", "w2", await table.read("k"));
    await new Promise<void>((r) => lease.signal.addEventListener("abort", () => r(), { once: true }));
    expect(lease.signal.reason).toMatchObject({ name: "LeaseLostError", code: "LEASE_LOST" });
    expect((lease.signal.reason as LeaseLostError).message).toContain("another worker holds it now");
  });
});
