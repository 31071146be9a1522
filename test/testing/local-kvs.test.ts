import { DescribeStreamCommand, GetDataEndpointCommand } from "@aws-sdk/client-kinesis-video";
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
    h = await harness({ streams: { cam: {} } });
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
});
