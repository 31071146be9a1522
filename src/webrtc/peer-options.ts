import type { IceServer } from "./channel.js";

/** Settings of the peer connections a viewer or master makes. */
export interface PeerOptions {
  /** ICE servers (default: the channel's, from GetIceServerConfig, after the region's STUN). */
  readonly iceServers?: readonly IceServer[];
  /** Use only the loopback address for ICE (tests and a local endpoint; default false). */
  readonly loopbackOnly?: boolean;
  /**
   * Anything else werift's RTCPeerConnection takes (`icePortRange`, `iceInterfaceAddresses`,
   * `turnTransport`, …: its PeerConfig), passed as given (typed loosely so that this library's types do
   * not load werift's).
   */
  readonly peer?: Readonly<Record<string, unknown>>;
}
