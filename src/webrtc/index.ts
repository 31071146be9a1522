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
export { webrtcViewer, type WebRtcViewerOptions, type ViewerStatus, type ViewerChannel, type DataChannelMessage } from "./viewer.js";
export { webrtcMaster, type WebRtcMasterOptions, type MasterStatus } from "./master.js";
export type { PeerOptions } from "./peer-options.js";
export { RtpFrameAssembler, type RtpPacketLike, type AssemblerSink, type RtpAssemblerOptions } from "./rtp-assembler.js";
export { RtpTrackReader, ntpToUnixMs, type RtpCodec, type RtpTrackInfo, type RtpTrackSink } from "./rtp-track.js";
export { h264NalUnits, h264IsKeyframe, vp8Frame, vp8IsKeyframe, RtpPayloadError } from "./rtp-payload.js";
export { FrameFragments } from "./frame-fragments.js";
export { ffmpegMedia, type FfmpegMediaOptions } from "./ffmpeg-media.js";
export { joinStorageSession } from "./storage-session.js";
export { webrtcViewerOver, type SignalingPort } from "./viewer.js";
