import { filter, firstValueFrom, lastValueFrom, take, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { KvsClients } from "../../src/aws/clients.js";
import { parseMkv } from "../../src/rx/parse-mkv.js";
import { channelEndpoints, iceServers } from "../../src/webrtc/channel.js";
import { webrtcMaster } from "../../src/webrtc/master.js";
import { SignalingClient } from "../../src/webrtc/signaling-client.js";
import { webrtcViewer } from "../../src/webrtc/viewer.js";
import { readFixture } from "../helpers/fixtures.js";

// KVS with WebRTC against the real service (opt-in): a signaling channel of yours (SINGLE_MASTER, no master
// connected to it while this runs).
//   KVS_TEST_CHANNEL=my-test-channel AWS_REGION=eu-west-1 AWS_PROFILE=… npm run test:aws
const channel = process.env.KVS_TEST_CHANNEL;
const hasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE || process.env.AWS_WEB_IDENTITY_TOKEN_FILE);
const enabled = Boolean(channel && hasCredentials);
if (!enabled) console.warn("test:aws webrtc skipped: set KVS_TEST_CHANNEL (a signaling channel) and AWS credentials and region.");

describe.skipIf(!enabled)(`KVS with WebRTC on the real channel ${channel}`, () => {
  it("connects as master and as viewer through the service's signaling, with its ICE servers (TURN with a TTL)", async () => {
    const clients = new KvsClients();
    try {
      const master = new SignalingClient(clients, { endpoints: await channelEndpoints(clients, channel!, "MASTER") });
      const viewerEndpoints = await channelEndpoints(clients, channel!, "VIEWER");
      const viewer = new SignalingClient(clients, { endpoints: viewerEndpoints });
      expect(viewerEndpoints.wss).toMatch(/^wss:\/\//);
      const servers = await iceServers(clients, viewerEndpoints, viewer.clientId);
      expect(servers[0]!.urls[0]).toMatch(/^stun:stun\.kinesisvideo\./);
      expect(servers.slice(1).every((s) => s.ttlSeconds !== undefined && s.urls.some((u) => u.startsWith("turn")))).toBe(true);
      await master.open();
      await viewer.open();
      const offer = firstValueFrom(master.events.pipe(filter((e) => e.type === "SDP_OFFER")));
      viewer.sendSdpOffer({ type: "offer", sdp: "v=0\r\n" });
      expect(await offer).toMatchObject({ senderClientId: viewer.clientId });
      master.close();
      viewer.close();
    } finally {
      clients.destroy();
    }
  });

  it("a Node master and a Node viewer exchange media through the service (STUN/TURN as it gives them)", async () => {
    const clients = new KvsClients();
    try {
      const m = webrtcMaster(clients, channel!, parseMkv(readFixture("generated/h264_opus.mkv"))).subscribe();
      await new Promise((r) => setTimeout(r, 3000));
      const frames = await lastValueFrom(
        webrtcViewer(clients, channel!).pipe(
          filter((e) => e.type === "frame"),
          take(30),
          toArray(),
        ),
      );
      m.unsubscribe();
      expect(frames).toHaveLength(30);
    } finally {
      clients.destroy();
    }
  });
});
