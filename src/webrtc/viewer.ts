import { Observable, type Subscription } from "rxjs";
import { type MediaStreamTrack, type RTCDataChannel, type RTCPeerConnection, type RTCRtpTransceiver, RtcpSrPacket } from "werift";
import { linkedAbort } from "../aws/abort.js";
import { backoffDelay, type RetryPolicy, sleep } from "../aws/backoff.js";
import type { KvsClients } from "../aws/clients.js";
import { asError, KvsParserError } from "../ebml/kvs-parser-error.js";
import type { Frame } from "../matroska/frame.js";
import { heldReader } from "../rx/demand.js";
import type { ReadGate } from "../rx/read-gate.js";
import type { StreamEvent } from "../rx/stream-event.js";
import { type ChannelRef, channelEndpoints, iceServers } from "./channel.js";
import { FrameFragments } from "./frame-fragments.js";
import { candidateJson, codecs, newPeer } from "./peer.js";
import type { PeerOptions } from "./peer-options.js";
import { type RtpCodec, RtpTrackReader } from "./rtp-track.js";
import { SignalingClient, SignalingError } from "./signaling-client.js";

/** What a viewer reports besides media (`onStatus`). */
export type ViewerStatus =
  | { readonly type: "signaling"; readonly state: "open" | "reconnecting" }
  | { readonly type: "connected"; readonly attempt: number; readonly afterMs: number }
  | { readonly type: "peerFailed"; readonly attempt: number; readonly reason: string }
  /** Frames not handed out: lost packets, waiting for a keyframe after a loss, or a sink too slow to take them. */
  | { readonly type: "framesDropped"; readonly track: number; readonly frames: number; readonly reason: "loss" | "awaitingKeyframe" | "slowConsumer" }
  | { readonly type: "keyframeRequested"; readonly track: number }
  /** The data channel opened (`send()` works from now) or closed. */
  | { readonly type: "dataChannel"; readonly label: string; readonly state: "open" | "closed" };

/** A data-channel message from the master. */
export interface DataChannelMessage {
  readonly label: string;
  readonly data: string | Uint8Array;
}

/** Options of {@link webrtcViewer}. */
export interface WebRtcViewerOptions extends PeerOptions {
  /** This viewer's client id (default: a random UUID). */
  readonly clientId?: string;
  /** Video codecs offered, in order of preference (default H.264 then VP8); [] for no video. */
  readonly video?: readonly ("H264" | "VP8")[];
  /** Ask for audio (Opus; default true). */
  readonly audio?: boolean;
  /** Open a data channel with this label (default "kvsDataChannel"; null for none). */
  readonly dataChannel?: string | null;
  /** Messages the master sends on the data channel. */
  readonly onMessage?: (message: DataChannelMessage) => void;
  /** Connection changes and counted drops. */
  readonly onStatus?: (status: ViewerStatus) => void;
  /** How long a gap in a track waits for its retransmission before the frame counts as lost (default 100 ms). */
  readonly maxWaitMs?: number;
  /** Peer connection attempts in a row before the viewer fails (default 5, with backoff); signaling reconnects on its own. */
  readonly reconnect?: RetryPolicy;
  /** Time for a peer connection to connect (default 15 s) before it counts as failed. */
  readonly connectTimeoutMs?: number;
  /** Leave out STUN (the local endpoint has none; default: use it). */
  readonly stun?: boolean;
  /** Holds the viewer back: a live peer cannot wait, so frames are dropped up to the next keyframe while the sinks are full. */
  readonly gate?: ReadGate;
  readonly signal?: AbortSignal;
}

/** A viewer's handle for the data channel, given to `onOpen`-style users through {@link webrtcViewer}'s `send` option. */
export interface ViewerChannel {
  /** Sends a message to the master on the data channel (dropped while no channel is open; returns whether it went). */
  send(data: string | Uint8Array): boolean;
}

/**
 * Connects to a KVS signaling channel as a viewer and emits the master's media as the parser's events
 * (`tracks`, `frame`, `fragment` per keyframe group), so `images()`, `pcm()`, `record()`, `fmp4()` and
 * handler code take WebRTC media unchanged: H.264 (avcC from the in-band SPS/PPS), VP8 and Opus.
 * `producerTimestampMs` is the sender's clock through its RTCP Sender Reports. Losses are handled the
 * WebRTC way: NACK (werift), a PLI after a lost frame, and no frame with missing packets handed out
 * (dropped up to the next keyframe, counted in `onStatus`). A failed peer connection is replaced by a
 * new one; signaling reconnects on its own. Unsubscribing closes everything.
 */
export function webrtcViewer(clients: KvsClients, channel: ChannelRef, options: WebRtcViewerOptions = {}): Observable<StreamEvent> & ViewerChannel {
  const connect: Connect = async (o, signal) => {
    const endpoints = await channelEndpoints(clients, channel, "VIEWER", { signal });
    const sig = new SignalingClient(clients, { endpoints, ...(o.clientId !== undefined ? { clientId: o.clientId } : {}), signal });
    try {
      const servers = o.iceServers ?? (await iceServers(clients, endpoints, sig.clientId, { stun: o.stun ?? true, signal }));
      const refresh = () => iceServers(clients, endpoints, sig.clientId, { stun: o.stun ?? true, signal });
      return { port: sig, iceServers: servers, refreshIceServers: o.iceServers ? undefined : refresh, open: () => sig.open(), close: () => sig.close() };
    } catch (e) {
      sig.close();
      throw e;
    }
  };
  return withChannel(options, connect);
}

/** What a viewer needs of its signaling: the service's messages, and sending an offer and candidates (to the master). */
export type SignalingPort = Pick<SignalingClient, "events" | "sendSdpOffer" | "sendIceCandidate">;

/**
 * The viewer of {@link webrtcViewer} over a signaling connection made elsewhere (a storage session's
 * link, a signaling client shared with other code): the same events, with `options.iceServers` as given.
 */
export function webrtcViewerOver(port: SignalingPort, options: WebRtcViewerOptions = {}): Observable<StreamEvent> & ViewerChannel {
  return withChannel(options, async (o) => ({ port, iceServers: o.iceServers ?? [], open: async () => {}, close: () => {} }));
}

/** Opens the signaling a viewer runs over. */
type Connect = (
  options: WebRtcViewerOptions,
  signal: AbortSignal,
) => Promise<{
  port: SignalingPort;
  iceServers: PeerOptions["iceServers"];
  /** Fetches the ICE servers again (RECONNECT_ICE_SERVER: the TURN credentials are renewed). */
  refreshIceServers?: (() => Promise<PeerOptions["iceServers"]>) | undefined;
  open(): Promise<void>;
  close(): void;
}>;

function withChannel(options: WebRtcViewerOptions, connect: Connect): Observable<StreamEvent> & ViewerChannel {
  let channelRef: RTCDataChannel | null = null;
  const obs = heldReader(options, (o) => viewerWith(connect, o, (c) => (channelRef = c)));
  return Object.assign(obs, {
    send(data: string | Uint8Array): boolean {
      if (channelRef === null || channelRef.readyState !== "open") return false;
      channelRef.send(typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      return true;
    },
  });
}

/** A peer connection that did not connect (or failed): the viewer tries a new one, up to its `reconnect` policy. */
const peerFailed = (why: string) =>
  new KvsParserError("PEER_CONNECTION_FAILED", why, {
    retryable: true,
    action: "check that the master is connected and that ICE can reach it (its candidates, STUN/TURN, the firewall)",
  });

const CODECS: Record<string, RtpCodec> = { "video/h264": "H264", "video/vp8": "VP8", "audio/opus": "OPUS" };

function viewerWith(connect: Connect, options: WebRtcViewerOptions, setChannel: (c: RTCDataChannel | null) => void): Observable<StreamEvent> {
  return new Observable<StreamEvent>((subscriber) => {
    const abort = linkedAbort(options.signal);
    const status = (s: ViewerStatus) => options.onStatus?.(s);
    const fragments = new FrameFragments((ev) => subscriber.next(ev));
    const readers = new Map<number, RtpTrackReader>();
    const subs: Subscription[] = [];
    let closeSignaling: (() => void) | null = null;
    let pc: RTCPeerConnection | null = null;
    let flushTimer: NodeJS.Timeout | null = null;
    let peerOptions: PeerOptions = options;
    /** Per track, the media time already handed out: a new peer connection's frames continue after it. */
    const lastTime = new Map<number, number>();
    let slow = new Set<number>();

    const fail = (e: unknown) => {
      if (!subscriber.closed) subscriber.error(asError(e));
    };

    const frameOut = (reader: RtpTrackReader, frame: Frame) => {
      const n = frame.track;
      const gate = options.gate;
      // A live source cannot wait: while the sinks are full, frames go, up to the next keyframe.
      if (gate && gate.wait() !== null) {
        slow.add(n);
        status({ type: "framesDropped", track: n, frames: 1, reason: "slowConsumer" });
        return;
      }
      if (slow.has(n) && reader.info.codec !== "OPUS" && !frame.keyframe) {
        status({ type: "framesDropped", track: n, frames: 1, reason: "slowConsumer" });
        return;
      }
      slow.delete(n);
      lastTime.set(n, frame.timestampMs);
      fragments.frame(frame);
    };

    const readerFor = (track: MediaStreamTrack, transceiver: RTCRtpTransceiver): RtpTrackReader | null => {
      const codec = CODECS[(track.codec?.mimeType ?? "").toLowerCase()];
      if (codec === undefined) return null;
      const number = track.kind === "video" ? 1 : 2;
      // After a reconnection the track's time continues after what was handed out.
      const last = lastTime.get(number);
      let lastPli = 0;
      const reader: RtpTrackReader = new RtpTrackReader(
        { number, codec, clockRate: track.codec?.clockRate ?? (codec === "OPUS" ? 48_000 : 90_000), channels: track.codec?.channels ?? 2 },
        {
          track: (t) => fragments.track(t),
          frame: (f) => frameOut(reader, f),
          dropped: (frames, reason) => status({ type: "framesDropped", track: number, frames, reason }),
          needKeyframe: () => {
            const now = Date.now();
            if (now - lastPli < 100 || track.ssrc === undefined) return; // one PLI per 100 ms at most
            lastPli = now;
            void transceiver.receiver.sendRtcpPLI(track.ssrc).catch(() => {});
            status({ type: "keyframeRequested", track: number });
          },
        },
        options.maxWaitMs,
        last === undefined ? 0 : last + (codec === "OPUS" ? 20 : 33),
      );
      return reader;
    };

    /** One peer connection: offer, answer, candidates; resolves once connected, rejects when it fails. */
    const connectPeer = async (sig: SignalingPort, attempt: number): Promise<RTCPeerConnection> => {
      const started = Date.now();
      const video = options.video ?? ["H264", "VP8"];
      const peer = newPeer(peerOptions, codecs(video.length > 0 ? video : ["H264"]));
      pc = peer;
      const transceivers: RTCRtpTransceiver[] = [];
      if (video.length > 0) transceivers.push(peer.addTransceiver("video", { direction: "recvonly" }));
      if (options.audio ?? true) transceivers.push(peer.addTransceiver("audio", { direction: "recvonly" }));
      const label = options.dataChannel === undefined ? "kvsDataChannel" : options.dataChannel;
      if (label !== null) {
        const dc = peer.createDataChannel(label);
        dc.onMessage.subscribe((m) => options.onMessage?.({ label, data: typeof m === "string" ? m : new Uint8Array(m) }));
        dc.stateChange.subscribe((s) => {
          if (s === "open" || s === "closed") status({ type: "dataChannel", label, state: s });
          if (s === "open") setChannel(dc);
          // The master closed its peer connection (its SCTP association ends at once; ICE would take 30 s to notice).
          else if (s === "closed" && pc === peer && peer.connectionState === "connected") void peer.close();
        });
      }
      peer.onTrack.subscribe((track) => {
        const tr = transceivers.find((t) => t.kind === track.kind);
        if (!tr) return;
        const reader = readerFor(track, tr);
        if (!reader) return;
        readers.set(reader.info.number, reader);
        track.onReceiveRtp.subscribe((rtp) => {
          if (pc !== peer) return;
          try {
            reader.push(
              { sequenceNumber: rtp.header.sequenceNumber, timestamp: rtp.header.timestamp, marker: rtp.header.marker, payload: rtp.payload },
              Date.now(),
            );
          } catch (e) {
            fail(e);
          }
        });
        tr.receiver.onRtcp.subscribe((r) => {
          if (r instanceof RtcpSrPacket && r.ssrc === track.ssrc) reader.senderReport(r.senderInfo.ntpTimestamp, r.senderInfo.rtpTimestamp);
        });
      });
      peer.onIceCandidate.subscribe((c) => {
        if (c && pc === peer) sig.sendIceCandidate(candidateJson(c));
      });
      const answered = new Promise<void>((resolve, reject) => {
        const s = sig.events.subscribe({
          next: (ev) => {
            if (pc !== peer) return;
            if (ev.type === "SDP_ANSWER") peer.setRemoteDescription(ev.description).then(resolve, reject);
            else if (ev.type === "ICE_CANDIDATE")
              peer.addIceCandidate(ev.candidate).catch(() => {}); // a candidate it cannot use is not fatal
            else if (ev.type === "STATUS_RESPONSE")
              reject(
                new SignalingError("SIGNALING_MESSAGE_REJECTED", `the service refused a message: ${ev.status.errorType} ${ev.status.description ?? ""}`, {
                  retryable: ev.status.errorType === "ClientLimitExceededException",
                  action: "see the status description",
                  status: ev.status,
                }),
              );
          },
          error: reject,
        });
        subs.push(s);
      });
      await peer.setLocalDescription(await peer.createOffer());
      sig.sendSdpOffer({ type: "offer", sdp: peer.localDescription!.sdp });
      const connected = new Promise<void>((resolve, reject) => {
        peer.connectionStateChange.subscribe((state) => {
          if (state === "connected") resolve();
          else if (state === "failed" || state === "closed") reject(peerFailed(`peer connection ${state}`));
        });
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(peerFailed(`not connected after ${options.connectTimeoutMs ?? 15_000} ms`)), options.connectTimeoutMs ?? 15_000);
      });
      try {
        await Promise.race([Promise.all([answered, connected]), timeout]);
      } finally {
        clearTimeout(timer);
      }
      status({ type: "connected", attempt, afterMs: Date.now() - started });
      return peer;
    };

    const run = async () => {
      const link = await connect(options, abort.signal);
      closeSignaling = link.close;
      if (abort.signal.aborted) link.close();
      const sig = link.port;
      peerOptions = { ...options, iceServers: link.iceServers };
      subs.push(
        sig.events.subscribe({
          next: (ev) => {
            if (ev.type === "open") status({ type: "signaling", state: "open" });
            else if (ev.type === "reconnecting") status({ type: "signaling", state: "reconnecting" });
            else if (ev.type === "RECONNECT_ICE_SERVER" && link.refreshIceServers)
              // The next peer connection uses the new ones (the current one keeps its relays while it works).
              link.refreshIceServers().then((servers) => (peerOptions = { ...peerOptions, iceServers: servers }), fail);
          },
          error: fail,
        }),
      );
      await link.open();
      flushTimer = setInterval(() => {
        const now = Date.now();
        for (const r of readers.values()) r.flush(now);
      }, 20);
      const policy = options.reconnect ?? { maxAttempts: 5 };
      for (let attempt = 1; !abort.signal.aborted; attempt++) {
        let peer: RTCPeerConnection;
        try {
          peer = await connectPeer(sig, attempt);
        } catch (e) {
          if (abort.signal.aborted) return;
          status({ type: "peerFailed", attempt, reason: asError(e).message });
          if (attempt >= (policy.maxAttempts ?? 5)) throw e;
          await closePeer();
          await sleep(backoffDelay(attempt, policy, false), abort.signal);
          continue;
        }
        // Connected: wait until it fails, then start over with a new one.
        const reason = await new Promise<string>((resolve) => {
          peer.connectionStateChange.subscribe((s) => (s === "failed" || s === "closed" ? resolve(`peer connection ${s}`) : undefined));
          abort.signal.addEventListener("abort", () => resolve("closed"), { once: true });
        });
        if (abort.signal.aborted) return;
        status({ type: "peerFailed", attempt, reason });
        await closePeer();
        attempt = 0;
      }
    };

    const closePeer = async () => {
      const p = pc;
      pc = null;
      setChannel(null);
      readers.clear();
      slow = new Set();
      if (p) await p.close().catch(() => {});
    };

    run().catch((e: unknown) => {
      if (!abort.signal.aborted) fail(e);
    });
    return () => {
      abort.abort();
      if (flushTimer) clearInterval(flushTimer);
      for (const s of subs) s.unsubscribe();
      void closePeer();
      closeSignaling?.();
    };
  });
}
