import { CreateSignalingChannelCommand, CreateStreamCommand, UpdateMediaStorageConfigurationCommand } from "@aws-sdk/client-kinesis-video";
import { lastValueFrom, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { KvsClients } from "../../src/aws/clients.js";
import { getMedia } from "../../src/aws/get-media.js";
import type { Frame } from "../../src/matroska/frame.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import { startLocalKvs, type LocalKvs } from "../../src/testing/local-kvs.js";
import { type MasterStatus, webrtcMaster } from "../../src/webrtc/master.js";
import { joinStorageSession } from "../../src/webrtc/storage-session.js";
import { readFixture } from "../helpers/fixtures.js";

const creds = { accessKeyId: "AKIDSTORE", secretAccessKey: "store-secret" };
let kvs: LocalKvs | undefined;
const cleanup: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) c();
  await kvs?.close();
  kvs = undefined;
});

async function setup(retentionHours = 24): Promise<{ clients: KvsClients; channelArn: string; streamArn: string }> {
  kvs = await startLocalKvs({ credentials: [creds] });
  const clients = new KvsClients({ region: "us-east-1", endpoint: kvs.endpoint, credentials: creds });
  cleanup.push(() => clients.destroy());
  const channelArn = (await clients.control.send(new CreateSignalingChannelCommand({ ChannelName: "door" }))).ChannelARN!;
  const streamArn = (await clients.control.send(new CreateStreamCommand({ StreamName: "door-media", DataRetentionInHours: retentionHours }))).StreamARN!;
  return { clients, channelArn, streamArn };
}

describe("WebRTC ingestion: a storage session stores the master's media into the channel's stream", () => {
  it("JoinStorageSession brings a peer that stores every video frame; GetMedia reads them back as fragments", { timeout: 40_000 }, async () => {
    const { clients, channelArn, streamArn } = await setup();
    await clients.control.send(
      new UpdateMediaStorageConfigurationCommand({ ChannelARN: channelArn, MediaStorageConfiguration: { StreamARN: streamArn, Status: "ENABLED" } }),
    );
    const status: MasterStatus[] = [];
    await new Promise<void>((resolve, reject) => {
      const m = webrtcMaster(clients, "door", parseMkv(readFixture("generated/h264_opus.mkv")), { loopbackOnly: true, stun: false, storage: true }).subscribe({
        next: (s) => status.push(s),
        error: reject,
        complete: resolve,
      });
      cleanup.push(() => m.unsubscribe());
    });
    expect(status.map((s) => s.type)).toEqual(expect.arrayContaining(["storageSessionRequested", "viewerJoined", "sourceEnded"]));
    expect(status.find((s) => s.type === "viewerJoined")).toMatchObject({ viewer: "" }); // the session has no client id
    await new Promise((r) => setTimeout(r, 500)); // the session stores its last fragment when the master leaves
    const fragments = kvs!.fragments("door-media");
    expect(fragments.length).toBeGreaterThanOrEqual(2);
    const events = await lastValueFrom(getMedia(clients, "door-media", { from: "EARLIEST" }).pipe(toArray()));
    const video = events.filter((e): e is Frame => e.type === "frame" && e.track === 1);
    expect(video.length).toBe(100); // every frame of the 4 s fixture
    expect(video[0]!.keyframe).toBe(true);
    expect(events.filter((e) => e.type === "fragment").every((f) => f.type === "fragment" && f.fragmentNumber !== null)).toBe(true);
  });

  it("refuses what the service refuses: no storage configuration, no master connected, a stream that keeps nothing", { timeout: 20_000 }, async () => {
    const { clients, channelArn } = await setup(0);
    await expect(joinStorageSession(clients, "door")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    const nothingKept = (await clients.control.send(new CreateStreamCommand({ StreamName: "none", DataRetentionInHours: 0 }))).StreamARN!;
    await expect(
      clients.control.send(
        new UpdateMediaStorageConfigurationCommand({ ChannelARN: channelArn, MediaStorageConfiguration: { StreamARN: nothingKept, Status: "ENABLED" } }),
      ),
    ).rejects.toMatchObject({ name: "NoDataRetentionException" });
  });
});
