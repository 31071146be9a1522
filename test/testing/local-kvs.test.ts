import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamCommand,
  GetDataEndpointCommand,
  ListStreamsCommand,
  ListTagsForStreamCommand,
  TagStreamCommand,
  UntagStreamCommand,
  UpdateDataRetentionCommand,
} from "@aws-sdk/client-kinesis-video";
import { ListFragmentsCommand } from "@aws-sdk/client-kinesis-video-archived-media";
import { compareFragmentNumbers } from "../../src/kvs/fragment-number.js";
import { splitClusters } from "../../src/kvs/fragment-writer.js";
import { GetMediaCommand } from "@aws-sdk/client-kinesis-video-media";
import { afterEach, describe, expect, it } from "vitest";
import { KvsParser, type KvsEvent } from "../../src/kvs/parser.js";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import { readFixture } from "../helpers/fixtures.js";
import { harness, type Harness } from "../helpers/local-kvs.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function getMediaBody(h: Harness, selector: Record<string, unknown>): Promise<FragmentEvent[]> {
  const client = h.clients.mediaClient(h.kvs.endpoint);
  const out = await client.send(new GetMediaCommand({ StreamName: "cam", StartSelector: selector as never }));
  const bytes = await out.Payload!.transformToByteArray();
  const events: KvsEvent[] = [];
  const p = new KvsParser((e) => events.push(e));
  p.push(bytes);
  p.end();
  return events.filter((e): e is FragmentEvent => e.type === "fragment");
}

describe("local KVS endpoint with the real AWS SDK v3 clients", () => {
  it("answers GetDataEndpoint and DescribeStream, by name and by ARN; unknown streams are ResourceNotFoundException", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } } });
    const ep = await h.clients.control.send(new GetDataEndpointCommand({ StreamName: "cam", APIName: "GET_MEDIA" }));
    expect(ep.DataEndpoint).toBe(h.kvs.endpoint);
    const d = await h.clients.control.send(new DescribeStreamCommand({ StreamName: "cam" }));
    expect(d.StreamInfo?.Status).toBe("ACTIVE");
    const byArn = await h.clients.control.send(new DescribeStreamCommand({ StreamARN: d.StreamInfo!.StreamARN }));
    expect(byArn.StreamInfo?.StreamName).toBe("cam");
    await expect(h.clients.control.send(new DescribeStreamCommand({ StreamName: "nope" }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
  });

  it("serves GetMedia in KVS form, ending the response after the idle gap", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } }, idleEndMs: 200 });
    const t0 = performance.now();
    const frags = await getMediaBody(h, { StartSelectorType: "EARLIEST" });
    expect(frags.map((f) => f.fragmentNumber)).toEqual(h.kvs.fragments("cam").map((f) => f.fragmentNumber));
    expect(frags.every((f) => f.continuationToken === f.fragmentNumber && f.millisBehindNow !== null)).toBe(true);
    expect(frags.reduce((n, f) => n + f.frameCount, 0)).toBe(444);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it("enforces 3 connections per stream (4th: ConnectionLimitExceededException) and 5 calls per second (ClientLimitExceededException)", async () => {
    h = await harness({ streams: { cam: {} }, idleEndMs: 5000 });
    const client = h.clients.mediaClient(h.kvs.endpoint);
    const open = await Promise.all([1, 2, 3].map(() => client.send(new GetMediaCommand({ StreamName: "cam", StartSelector: { StartSelectorType: "NOW" } }))));
    await expect(client.send(new GetMediaCommand({ StreamName: "cam", StartSelector: { StartSelectorType: "NOW" } }))).rejects.toMatchObject({
      name: "ConnectionLimitExceededException",
    });
    for (const o of open) (o.Payload as unknown as { destroy(): void }).destroy();
    await new Promise((r) => setTimeout(r, 1100));
    h.kvs.createStream("cam2");
    const results = await Promise.allSettled(
      [1, 2, 3, 4, 5, 6].map(async () => {
        const o = await client.send(new GetMediaCommand({ StreamName: "cam2", StartSelector: { StartSelectorType: "NOW" } }));
        (o.Payload as unknown as { destroy(): void }).destroy();
      }),
    );
    const names = results.map((r) => (r.status === "rejected" ? (r.reason as Error).name : "ok"));
    expect(names).toContain("ClientLimitExceededException");
  });

  it("injected 5xx and throttle faults reach the SDK as typed errors", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } }, faults: { cam: [{ kind: "http5xx" }, { kind: "throttle" }] } });
    const client = h.clients.mediaClient(h.kvs.endpoint);
    const call = () => client.send(new GetMediaCommand({ StreamName: "cam", StartSelector: { StartSelectorType: "EARLIEST" } }));
    await expect(call()).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    await expect(call()).rejects.toMatchObject({ name: "ClientLimitExceededException" });
  });

  it("ingests a producer MKV posted to /putMedia as one fragment per cluster, acknowledging each as newline-separated JSON; headers checked", async () => {
    h = await harness({ streams: { cam: {} }, credentials: "any" }); // posted unsigned: the quick local mode;
    const res = await fetch(`${h.kvs.endpoint}/putMedia`, {
      method: "POST",
      headers: { "x-amzn-stream-name": "cam", "x-amzn-fragment-timecode-type": "RELATIVE", "x-amzn-producer-start-timestamp": "1764583200.000" },
      body: Buffer.from(readFixture("clusters.mkv")),
    });
    expect(res.status).toBe(200);
    const acks = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { EventType: string; FragmentNumber?: string; FragmentTimecode: number });
    const stored = h.kvs.fragments("cam");
    expect(stored).toHaveLength(8);
    expect(acks.map((a) => a.EventType)).toEqual(Array.from({ length: 8 }, () => ["BUFFERING", "RECEIVED", "PERSISTED"]).flat());
    expect(acks.filter((a) => a.EventType === "PERSISTED").map((a) => a.FragmentNumber)).toEqual(stored.map((f) => f.fragmentNumber));
    // RELATIVE: the producer timestamp is the start header plus the cluster's timecode.
    expect(stored.map((f) => f.producerTimestampMs - 1764583200000)).toEqual(acks.filter((a) => a.EventType === "PERSISTED").map((a) => a.FragmentTimecode));

    const bad = await fetch(`${h.kvs.endpoint}/putMedia`, {
      method: "POST",
      headers: { "x-amzn-stream-name": "cam" },
      body: Buffer.from(readFixture("clusters.mkv")),
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-amzn-errortype")).toMatch(/^InvalidArgumentException:/);
  });

  it("close() leaves no open sockets", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } }, idleEndMs: 10_000 });
    const out = await h.clients.mediaClient(h.kvs.endpoint).send(new GetMediaCommand({ StreamName: "cam", StartSelector: { StartSelectorType: "EARLIEST" } }));
    expect(h.kvs.openConnections()).toBeGreaterThan(0);
    const body = out.Payload as unknown as AsyncIterable<Uint8Array>;
    const drained = (async () => {
      try {
        for await (const _ of body) {
          /* drain */
        }
      } catch {
        /* closed */
      }
    })();
    await h.close();
    await drained;
    expect(h.kvs.openConnections()).toBe(0);
    h = undefined;
  });

  it("makes fragment numbers as the service does: 47 digits, increasing within a stream, unique across streams", async () => {
    // API_reader_Fragment: FragmentNumber "^[0-9]+$", 1-128 characters; captures show 47 digits.
    h = await harness({ streams: { a: { mkv: readFixture("clusters.mkv") }, b: { mkv: readFixture("clusters.mkv") }, c: {} } });
    h.kvs.putMedia("c", readFixture("clusters.mkv"));
    const all = ["a", "b", "c"].flatMap((st) => h!.kvs.fragments(st).map((f) => f.fragmentNumber));
    expect(new Set(all).size).toBe(all.length);
    for (const st of ["a", "b", "c"]) {
      const n = h.kvs.fragments(st).map((f) => f.fragmentNumber);
      for (const x of n) expect(x).toMatch(/^\d{47}$/);
      for (let i = 1; i < n.length; i++) expect(compareFragmentNumbers(n[i - 1]!, n[i]!)).toBeLessThan(0);
    }
  });

  it("gives each fragment its own server time, and absolute producer times to relative media", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("clusters.mkv") } } });
    const history = h.kvs.fragments("cam");
    // A starting stream's media was received over its span, ending now.
    expect(history.at(-1)!.serverTimestampMs).toBeLessThanOrEqual(Date.now());
    expect(history.at(-1)!.serverTimestampMs - history[0]!.serverTimestampMs).toBe(history.at(-1)!.cluster.timestampMs - history[0]!.cluster.timestampMs);
    const added = h.kvs.putMedia("cam", readFixture("clusters.mkv"));
    const times = h.kvs.fragments("cam").map((f) => f.serverTimestampMs);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    // The fixture's cluster times start at 0: stamped from the server's start, as GetMedia captures show (PRODUCER_TIMESTAMP 1511852108.513, cluster 0).
    expect(added[0]!.producerTimestampMs).toBeGreaterThan(1e12);
    expect(added[1]!.producerTimestampMs - added[0]!.producerTimestampMs).toBe(added[1]!.cluster.timestampMs - added[0]!.cluster.timestampMs);
  });

  it("answers every call with x-amzn-RequestId, errors included; checks APIName (model: APIName enum)", async () => {
    h = await harness({ streams: { cam: {} } });
    const ok = await h.clients.control.send(new GetDataEndpointCommand({ StreamName: "cam", APIName: "GET_MEDIA" }));
    expect(ok.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await h.clients.control.send(new GetDataEndpointCommand({ StreamName: "cam", APIName: "NOPE" as never })).catch((e: unknown) => e);
    expect(bad).toMatchObject({ name: "InvalidArgumentException", $metadata: { httpStatusCode: 400 } });
    expect((bad as { $metadata: { requestId?: string } }).$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    await expect(h.clients.control.send(new GetDataEndpointCommand({ StreamName: "cam" } as never))).rejects.toMatchObject({
      name: "InvalidArgumentException",
    });
  });

  it("pages ListFragments with short tokens (model: NextToken 1-4096) and refuses a token it did not make", async () => {
    h = await harness({ streams: { cam: {} } });
    const clusters = splitClusters(readFixture("clusters.mkv"));
    for (let i = 0; i < 40; i++) h.kvs.appendClusters("cam", clusters);
    const archived = h.clients.archivedClient(h.kvs.endpoint);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await archived.send(new ListFragmentsCommand({ StreamName: "cam", MaxResults: 7, NextToken: token }));
      seen.push(...page.Fragments!.map((f) => f.FragmentNumber!));
      token = page.NextToken;
      if (token) expect(token.length).toBeLessThanOrEqual(4096);
      if (token) expect(token.length).toBeLessThan(200);
    } while (token);
    expect(seen.length).toBe(320);
    expect(new Set(seen).size).toBe(320);
    const bad = await archived.send(new ListFragmentsCommand({ StreamName: "cam", NextToken: "not-a-token" })).catch((e: unknown) => e);
    expect(bad).toMatchObject({ name: "InvalidArgumentException", $metadata: { httpStatusCode: 400 } });
  });

  it("creates, describes, retags, re-retains and deletes streams (API_CreateStream, _DeleteStream, _UpdateDataRetention, _TagStream, _UntagStream)", async () => {
    h = await harness({ streams: { cam: { mkv: readFixture("generated/h264_aac.mkv") } } });
    const c = h.clients.control;
    const described = await c.send(new DescribeStreamCommand({ StreamName: "cam" }));
    expect(described.StreamInfo!.MediaType).toBe("video/h264,audio/aac");
    const listed = await c.send(new ListStreamsCommand({}));
    expect(listed.StreamInfoList![0]!.MediaType).toBe("video/h264,audio/aac");
    const { StreamARN } = await c.send(new CreateStreamCommand({ StreamName: "new", DataRetentionInHours: 2, MediaType: "video/h264", Tags: { site: "a" } }));
    expect(StreamARN).toMatch(/:stream\/new\/\d+$/);
    await expect(c.send(new CreateStreamCommand({ StreamName: "new" }))).rejects.toMatchObject({ name: "ResourceInUseException" });
    const info = (await c.send(new DescribeStreamCommand({ StreamName: "new" }))).StreamInfo!;
    expect(info).toMatchObject({ DataRetentionInHours: 2, MediaType: "video/h264", Status: "ACTIVE" });
    await expect(
      c.send(
        new UpdateDataRetentionCommand({ StreamName: "new", CurrentVersion: "wrong", Operation: "INCREASE_DATA_RETENTION", DataRetentionChangeInHours: 1 }),
      ),
    ).rejects.toMatchObject({ name: "VersionMismatchException" });
    await c.send(
      new UpdateDataRetentionCommand({ StreamName: "new", CurrentVersion: info.Version, Operation: "INCREASE_DATA_RETENTION", DataRetentionChangeInHours: 3 }),
    );
    const after = (await c.send(new DescribeStreamCommand({ StreamName: "new" }))).StreamInfo!;
    expect(after.DataRetentionInHours).toBe(5);
    expect(after.Version).not.toBe(info.Version);
    await c.send(new TagStreamCommand({ StreamName: "new", Tags: { floor: "2" } }));
    await c.send(new UntagStreamCommand({ StreamName: "new", TagKeyList: ["site"] }));
    expect((await c.send(new ListTagsForStreamCommand({ StreamName: "new" }))).Tags).toEqual({ floor: "2" });
    await c.send(new DeleteStreamCommand({ StreamARN }));
    await expect(c.send(new DescribeStreamCommand({ StreamName: "new" }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
  });
});
