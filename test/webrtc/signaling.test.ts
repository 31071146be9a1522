import { createRequire } from "node:module";
import {
  CreateSignalingChannelCommand,
  DeleteSignalingChannelCommand,
  DescribeSignalingChannelCommand,
  GetSignalingChannelEndpointCommand,
} from "@aws-sdk/client-kinesis-video";
import { firstValueFrom, filter, take, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { KvsClients } from "../../src/aws/clients.js";
import { startLocalKvs, type LocalKvs } from "../../src/testing/local-kvs.js";
import { channelEndpoints, iceServers } from "../../src/webrtc/channel.js";
import { presignSignalingUrl } from "../../src/webrtc/presign.js";
import { SignalingClient, type SignalingEvent } from "../../src/webrtc/signaling-client.js";

const good = { accessKeyId: "AKIDGOOD", secretAccessKey: "the-secret" };
let kvs: LocalKvs | undefined;
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await kvs?.close();
  kvs = undefined;
});

async function setup(options: Parameters<typeof startLocalKvs>[0] = {}) {
  kvs = await startLocalKvs({ credentials: [good], ...options });
  const clients = new KvsClients({ region: "us-east-1", endpoint: kvs.endpoint, credentials: good });
  closers.push(() => clients.destroy());
  const arn = (await clients.control.send(new CreateSignalingChannelCommand({ ChannelName: "door", ChannelType: "SINGLE_MASTER" }))).ChannelARN!;
  return { clients, arn };
}

function client(
  clients: KvsClients,
  endpoints: Awaited<ReturnType<typeof channelEndpoints>>,
  extra: Partial<ConstructorParameters<typeof SignalingClient>[1]> = {},
) {
  const c = new SignalingClient(clients, { endpoints, ...extra });
  closers.push(() => c.close());
  return c;
}

const next = (c: SignalingClient, type: SignalingEvent["type"]) => firstValueFrom(c.events.pipe(filter((e) => e.type === type)));

describe("signaling channels on the local endpoint, through the SDK's control-plane client", () => {
  it("creates, describes, gives per-role endpoints and deletes a channel, with the service's errors", async () => {
    const { clients, arn } = await setup();
    expect(arn).toMatch(/^arn:aws:kinesisvideo:[a-z0-9-]+:[0-9]+:channel\/door\/[0-9]+$/);
    const info = (await clients.control.send(new DescribeSignalingChannelCommand({ ChannelName: "door" }))).ChannelInfo!;
    expect(info).toMatchObject({
      ChannelARN: arn,
      ChannelType: "SINGLE_MASTER",
      ChannelStatus: "ACTIVE",
      SingleMasterConfiguration: { MessageTtlSeconds: 60 },
    });
    const eps = await clients.control.send(
      new GetSignalingChannelEndpointCommand({ ChannelARN: arn, SingleMasterChannelEndpointConfiguration: { Protocols: ["WSS", "HTTPS"], Role: "VIEWER" } }),
    );
    expect(eps.ResourceEndpointList?.map((e) => e.Protocol)).toEqual(["WSS", "HTTPS"]);
    expect(eps.ResourceEndpointList?.[0]?.ResourceEndpoint).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    await expect(clients.control.send(new CreateSignalingChannelCommand({ ChannelName: "door" }))).rejects.toMatchObject({ name: "ResourceInUseException" });
    await expect(
      clients.control.send(new CreateSignalingChannelCommand({ ChannelName: "x", SingleMasterConfiguration: { MessageTtlSeconds: 500 } })),
    ).rejects.toMatchObject({ name: "InvalidArgumentException" });
    await clients.control.send(new DeleteSignalingChannelCommand({ ChannelARN: arn }));
    await expect(clients.control.send(new DescribeSignalingChannelCommand({ ChannelName: "door" }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    await expect(channelEndpoints(clients, "door", "MASTER")).rejects.toMatchObject({ code: "RESOURCE_NOT_FOUND" });
  });

  it("answers GetIceServerConfig through the signaling client, TURN entries with their TTL after the region's STUN", async () => {
    const turn = { Uris: ["turn:127.0.0.1:3478?transport=udp"], Username: "u", Password: "p", Ttl: 300 };
    const { clients } = await setup({ iceServers: [turn] });
    const e = await channelEndpoints(clients, "door", "VIEWER");
    const servers = await iceServers(clients, e, "v1");
    expect(servers).toEqual([
      { urls: ["stun:stun.kinesisvideo.us-east-1.amazonaws.com:443"] },
      { urls: turn.Uris, username: "u", credential: "p", ttlSeconds: 300 },
    ]);
  });
});

describe("SignalingClient against the local signaling WebSocket", () => {
  it("relays a viewer's offer and candidates to the master and the master's answer back, with sender ids", async () => {
    const { clients } = await setup();
    const master = client(clients, await channelEndpoints(clients, "door", "MASTER"));
    const viewer = client(clients, await channelEndpoints(clients, "door", "VIEWER"), { clientId: "viewer-1" });
    await master.open();
    await viewer.open();
    const offer = next(master, "SDP_OFFER");
    viewer.sendSdpOffer({ type: "offer", sdp: "v=0 offer" });
    expect(await offer).toEqual({ type: "SDP_OFFER", senderClientId: "viewer-1", description: { type: "offer", sdp: "v=0 offer" } });
    const cand = next(master, "ICE_CANDIDATE");
    viewer.sendIceCandidate({ candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 });
    expect(await cand).toMatchObject({ senderClientId: "viewer-1", candidate: { sdpMid: "0", sdpMLineIndex: 0 } });
    const answer = next(viewer, "SDP_ANSWER");
    master.sendSdpAnswer({ type: "answer", sdp: "v=0 answer" }, "viewer-1");
    expect(await answer).toMatchObject({ description: { type: "answer", sdp: "v=0 answer" } });
    expect(kvs!.signaling.presence("door")).toEqual({ master: true, viewers: ["viewer-1"] });
  });

  it("keeps a message for a master not yet connected for the channel's TTL, and delivers it when it connects", async () => {
    const { clients } = await setup();
    const viewer = client(clients, await channelEndpoints(clients, "door", "VIEWER"), { clientId: "early" });
    await viewer.open();
    viewer.sendSdpOffer({ type: "offer", sdp: "first" });
    viewer.sendSdpOffer({ type: "offer", sdp: "second" }); // an offer not yet delivered is replaced by a newer one
    await new Promise((r) => setTimeout(r, 100));
    const master = client(clients, await channelEndpoints(clients, "door", "MASTER"));
    const got = firstValueFrom(
      master.events.pipe(
        filter((e) => e.type === "SDP_OFFER"),
        take(1),
        toArray(),
      ),
    );
    await master.open();
    expect((await got).map((e) => (e.type === "SDP_OFFER" ? e.description.sdp : ""))).toEqual(["second"]);
  });

  it("paces its own sending to the per-connection quota instead of being refused", async () => {
    const { clients } = await setup();
    const master = client(clients, await channelEndpoints(clients, "door", "MASTER"));
    const viewer = client(clients, await channelEndpoints(clients, "door", "VIEWER"), { clientId: "v" });
    await master.open();
    await viewer.open();
    const refused: SignalingEvent[] = [];
    viewer.events.pipe(filter((e) => e.type === "STATUS_RESPONSE")).subscribe((e) => refused.push(e));
    const all = firstValueFrom(
      master.events.pipe(
        filter((e) => e.type === "SDP_OFFER"),
        take(8),
        toArray(),
      ),
    );
    const t0 = Date.now();
    for (let i = 0; i < 8; i++) viewer.sendSdpOffer({ type: "offer", sdp: `o${i}` });
    const got = await all;
    expect(got.map((e) => (e.type === "SDP_OFFER" ? e.description.sdp : ""))).toEqual(["o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // 5 a second: the last three waited for the next second
    expect(refused).toEqual([]);
  });

  it("gets a STATUS_RESPONSE with its correlation id when the service refuses a message over the quota", async () => {
    const { clients } = await setup();
    const e = await channelEndpoints(clients, "door", "VIEWER");
    const { credentials, region } = await clients.signing();
    const ws = new WebSocket(await presignSignalingUrl({ endpoint: e.wss, channelArn: e.channelArn, role: "VIEWER", clientId: "raw", credentials, region }));
    closers.push(() => ws.terminate());
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    const answers: unknown[] = [];
    ws.on("message", (d) => answers.push(JSON.parse(d.toString())));
    for (let i = 0; i < 6; i++) ws.send(JSON.stringify({ action: "SDP_OFFER", messagePayload: Buffer.from("{}").toString("base64"), correlationId: `c${i}` }));
    await new Promise((r) => setTimeout(r, 200));
    expect(answers).toEqual([
      {
        messageType: "STATUS_RESPONSE",
        statusResponse: { correlationId: "c5", errorType: "ClientLimitExceededException", statusCode: "400", description: expect.any(String), success: false },
      },
    ]);
  });

  it("refuses a wrong signature and an eleventh viewer at the upgrade, with typed errors", async () => {
    const { clients } = await setup({ signaling: { maxViewers: 2 } });
    const e = await channelEndpoints(clients, "door", "VIEWER");
    const bad = new KvsClients({ region: "us-east-1", endpoint: kvs!.endpoint, credentials: { ...good, secretAccessKey: "wrong" } });
    closers.push(() => bad.destroy());
    await expect(client(bad, e, { reconnect: { maxAttempts: 1 } }).open()).rejects.toMatchObject({ code: "SIGNALING_CONNECT_FAILED", message: /HTTP 403/ });
    await client(clients, e, { clientId: "a" }).open();
    await client(clients, e, { clientId: "b" }).open();
    await expect(client(clients, e, { clientId: "c", reconnect: { maxAttempts: 1 } }).open()).rejects.toMatchObject({
      code: "SIGNALING_CONNECT_FAILED",
      message: /HTTP 400 .*ClientLimitExceededException/,
      retryable: true,
    });
  });

  it("opens eight viewers at once on one channel: past 3 connections a second the service refuses, the client waits and tries again", async () => {
    const { clients } = await setup();
    const e = await channelEndpoints(clients, "door", "VIEWER");
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => client(clients, e, { clientId: `v${i}`, reconnect: { baseMs: 200, maxMs: 1000, maxAttempts: 20 } }).open()),
    );
    expect(kvs!.signaling.presence("door").viewers).toHaveLength(8);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000); // 3 a second: the last ones waited for the second after next
  });

  it("moves to a new connection on GO_AWAY, before the old one is closed, and keeps receiving", async () => {
    const { clients } = await setup();
    const master = client(clients, await channelEndpoints(clients, "door", "MASTER"));
    const viewer = client(clients, await channelEndpoints(clients, "door", "VIEWER"), { clientId: "v" });
    await master.open();
    await viewer.open();
    const reopened = firstValueFrom(viewer.events.pipe(filter((e) => e.type === "open" && e.reconnected)));
    const goAway = next(viewer, "GO_AWAY");
    kvs!.signaling.goAway("door", 5000);
    await goAway;
    await reopened;
    const answer = next(viewer, "SDP_ANSWER");
    master.sendSdpAnswer({ type: "answer", sdp: "after" }, "v");
    expect(await answer).toMatchObject({ description: { sdp: "after" } });
  });

  it("reconnects after its connection drops, and errors with SIGNALING_CLOSED when it cannot", async () => {
    const { clients } = await setup();
    const viewer = client(clients, await channelEndpoints(clients, "door", "VIEWER"), { clientId: "v", reconnect: { baseMs: 20, maxMs: 40, maxAttempts: 3 } });
    await viewer.open();
    const reopened = firstValueFrom(viewer.events.pipe(filter((e) => e.type === "open" && e.reconnected)));
    kvs!.signaling.dropAll("door");
    await reopened;
    const failed = firstValueFrom(viewer.events).catch((e: unknown) => e);
    const errored = new Promise((resolve) => viewer.events.subscribe({ error: resolve }));
    await kvs!.close();
    kvs = undefined;
    void failed;
    expect(await errored).toMatchObject({ code: "SIGNALING_CLOSED", retryable: true });
  });
});

describe("AWS's own SignalingClient (amazon-kinesis-video-streams-webrtc) talks to the local signaling", () => {
  it("a master on AWS's SDK gets our viewer's offer and ICE candidate, and its answer reaches our viewer", async () => {
    const { clients, arn } = await setup();
    const require = createRequire(import.meta.url);
    const g = globalThis as { WebSocket?: unknown };
    g.WebSocket ??= WebSocket; // Node 20 has no global WebSocket; the SDK opens its socket with it
    const sdk = require("amazon-kinesis-video-streams-webrtc") as typeof import("amazon-kinesis-video-streams-webrtc");
    const e = await channelEndpoints(clients, "door", "MASTER");
    const { credentials, region } = await clients.signing();
    // The SDK's own signer signs only wss:// URLs; its requestSigner hook lets it reach ws:// here.
    const requestSigner = {
      getSignedURL: (endpoint: string, q: Record<string, string>, date?: Date) =>
        presignSignalingUrl({
          endpoint,
          channelArn: q["X-Amz-ChannelARN"]!,
          role: q["X-Amz-ClientId"] ? "VIEWER" : "MASTER",
          clientId: q["X-Amz-ClientId"],
          credentials,
          region,
          date,
        }),
    };
    const master = new sdk.SignalingClient({ channelARN: arn, channelEndpoint: e.wss, role: sdk.Role.MASTER, region, requestSigner });
    closers.push(() => master.close());
    const opened = new Promise((r) => master.once("open", r));
    master.open();
    await opened;
    const viewer = client(clients, await channelEndpoints(clients, "door", "VIEWER"), { clientId: "node-viewer" });
    await viewer.open();
    const got = new Promise<[unknown, string]>((r) => master.once("sdpOffer", (o: unknown, from: string) => r([o, from])));
    const cand = new Promise<unknown>((r) => master.once("iceCandidate", (c: unknown) => r(c)));
    viewer.sendIceCandidate({ candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 }); // held by the SDK until the offer
    viewer.sendSdpOffer({ type: "offer", sdp: "v=0 from node" });
    expect(await got).toEqual([{ type: "offer", sdp: "v=0 from node" }, "node-viewer"]);
    expect(await cand).toMatchObject({ candidate: expect.stringContaining("127.0.0.1 5000") });
    const answer = next(viewer, "SDP_ANSWER");
    master.sendSdpAnswer({ type: "answer", sdp: "v=0 from aws sdk" } as never, "node-viewer");
    expect(await answer).toMatchObject({ senderClientId: null, description: { sdp: "v=0 from aws sdk" } });
  });
});
