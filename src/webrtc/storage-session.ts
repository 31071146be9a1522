import { JoinStorageSessionCommand, KinesisVideoWebRTCStorageClient } from "@aws-sdk/client-kinesis-video-webrtc-storage";
import { raceAbort } from "../aws/abort.js";
import type { KvsClients } from "../aws/clients.js";
import { toKvsServiceError } from "../aws/errors.js";
import { type ChannelRef, channelEndpoints } from "./channel.js";

/**
 * JoinStorageSession: asks KVS to join the channel's connected master as a peer and store its media
 * (H.264 video and Opus audio) into the stream of the channel's media storage configuration. The
 * service answers at once and sends its SDP offer over the master's signaling connection (with no
 * sender id); {@link webrtcMaster} with `storage: true` calls this and answers it.
 */
export async function joinStorageSession(clients: KvsClients, channel: ChannelRef, signal?: AbortSignal): Promise<void> {
  const endpoints = await channelEndpoints(clients, channel, "MASTER", { webrtc: true, signal });
  const { region, credentials } = await clients.signing();
  const storage = new KinesisVideoWebRTCStorageClient({ region, credentials, endpoint: endpoints.webrtc ?? endpoints.https, maxAttempts: 1 });
  try {
    await raceAbort(storage.send(new JoinStorageSessionCommand({ channelArn: endpoints.channelArn }), { abortSignal: signal }), signal);
  } catch (e) {
    throw toKvsServiceError(e, "JoinStorageSession");
  } finally {
    storage.destroy();
  }
}
