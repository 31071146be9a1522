import { type PeerConfig, RTCPeerConnection, RTCRtpCodecParameters, useFIR, useNACK, usePLI, useREMB } from "werift";
import type { PeerOptions } from "./peer-options.js";
import type { IceCandidate } from "./messages.js";

/** RTP payload types this library offers (those browsers use for the same codecs). */
export const PAYLOAD_TYPES = { H264: 102, VP8: 96, OPUS: 111 } as const;

/** The codecs offered: H.264 (packetization-mode 1, constrained baseline first) and VP8 for video, Opus for audio; NACK, PLI, FIR. */
export function codecs(video: readonly ("H264" | "VP8")[] = ["H264", "VP8"]): PeerConfig["codecs"] {
  const feedback = () => [useNACK(), usePLI(), useFIR(), useREMB()];
  const v = video.map((c) =>
    c === "H264"
      ? new RTCRtpCodecParameters({
          mimeType: "video/H264",
          clockRate: 90_000,
          payloadType: PAYLOAD_TYPES.H264,
          rtcpFeedback: feedback(),
          parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        })
      : new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90_000, payloadType: PAYLOAD_TYPES.VP8, rtcpFeedback: feedback() }),
  );
  const a = [
    new RTCRtpCodecParameters({
      mimeType: "audio/opus",
      clockRate: 48_000,
      channels: 2,
      payloadType: PAYLOAD_TYPES.OPUS,
      parameters: "minptime=10;useinbandfec=1",
    }),
  ];
  return { video: v, audio: a };
}

/** A werift peer connection with these options and codecs. */
export function newPeer(options: PeerOptions, withCodecs: PeerConfig["codecs"]): RTCPeerConnection {
  const iceServers = (options.iceServers ?? []).map((s) => ({
    urls: s.urls.length === 1 ? s.urls[0]! : [...s.urls],
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(s.credential !== undefined ? { credential: s.credential } : {}),
  })) as PeerConfig["iceServers"];
  const hasStun = (options.iceServers ?? []).some((s) => s.urls.some((u) => /^stuns?:/.test(u)));
  // With no STUN server werift asks Google's and waits up to 5 s for it while gathering: on loopback it asks
  // a closed local port instead (nothing leaves the machine), and without STUN it gives up after 50 ms.
  if (!hasStun && options.loopbackOnly) iceServers.unshift({ urls: "stun:127.0.0.1:9" });
  const noStunWait: Partial<PeerConfig> = hasStun ? {} : { iceStunGatherTimeout: 0.05 };
  const loopback: Partial<PeerConfig> = options.loopbackOnly
    ? {
        iceUseIpv6: false,
        iceAdditionalHostAddresses: ["127.0.0.1"],
        iceFilterCandidatePair: (pair) => pair.remoteCandidate.host === "127.0.0.1" && pair.localCandidate.host === "127.0.0.1",
      }
    : {};
  return new RTCPeerConnection({
    codecs: withCodecs,
    iceServers,
    bundlePolicy: "max-bundle",
    ...noStunWait,
    ...loopback,
    ...(options.peer as Partial<PeerConfig> | undefined),
  });
}

/** The JSON of a werift candidate, as the signaling protocol carries it. */
export function candidateJson(c: { toJSON(): { candidate?: string; sdpMid?: string | null; sdpMLineIndex?: number | null } }): IceCandidate {
  const j = c.toJSON();
  return { candidate: j.candidate ?? "", sdpMid: j.sdpMid ?? null, sdpMLineIndex: j.sdpMLineIndex ?? null };
}
