// kvs-parser/webrtc: KVS with WebRTC in Node: the signaling client, a viewer whose media comes out as Frame events, a master.
export { channelArnOf, channelEndpoints, iceServers, type ChannelEndpoints, type ChannelRef, type IceServer, type SignalingRole } from "./channel.js";
export {
  decodeIncoming,
  encodeOutgoing,
  SignalingProtocolError,
  type IceCandidate,
  type OutgoingSignalingMessage,
  type SessionDescription,
  type SignalingAction,
  type SignalingMessage,
  type SignalingMessageType,
  type StatusResponse,
} from "./messages.js";
export { presignSignalingUrl, SIGNALING_URL_EXPIRES_S, type SignalingUrlParams } from "./presign.js";
export {
  SignalingClient,
  SignalingError,
  SIGNALING_MAX_CONNECTION_MS,
  type SignalingClientOptions,
  type SignalingEvent,
} from "./signaling-client.js";
