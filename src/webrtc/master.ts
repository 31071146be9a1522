import { Observable, type Subscription } from "rxjs";
import {
  H264Packetizer,
  MediaStreamTrack,
  OpusPacketizer,
  type RTCDataChannel,
  type RTCPeerConnection,
  type RTCRtpSender,
  RtcpSrPacket,
  Vp8Packetizer,
  type PacketizerBase,
} from "werift";
import { linkedAbort } from "../aws/abort.js";
import type { KvsClients } from "../aws/clients.js";
import { avccToAnnexB, type AvcDecoderConfig, parseAvcDecoderConfig } from "../codec/h264.js";
import { asError } from "../ebml/kvs-parser-error.js";
import type { Frame } from "../matroska/frame.js";
import type { Track } from "../matroska/model.js";
import { Demand, subscribeHolding } from "../rx/demand.js";
import type { StreamEvent } from "../rx/stream-event.js";
import { type ChannelRef, channelEndpoints, iceServers } from "./channel.js";
import { candidateJson, codecs, newPeer, PAYLOAD_TYPES } from "./peer.js";
import type { PeerOptions } from "./peer-options.js";
import { SignalingClient } from "./signaling-client.js";
import { joinStorageSession } from "./storage-session.js";
import { sleep } from "../aws/backoff.js";
import type { DataChannelMessage } from "./viewer.js";
import type { IceCandidate } from "./messages.js";

/** What a master reports (its observable's values). */
export type MasterStatus =
  | { readonly type: "signaling"; readonly state: "open" | "reconnecting" }
  | { readonly type: "viewerJoined"; readonly viewer: string; readonly viewers: number }
  | { readonly type: "viewerLeft"; readonly viewer: string; readonly reason: string; readonly viewers: number }
  /** An offer not answered: the channel has its `maxViewers`, or the media has no track the viewer can take. */
  | { readonly type: "viewerRefused"; readonly viewer: string; readonly reason: string }
  | { readonly type: "keyframeRequested"; readonly viewer: string }
  /** A track of the source that is not sent (AAC audio, an unsupported codec), once per track. */
  | { readonly type: "trackLeftOut"; readonly track: number; readonly codecId: string; readonly reason: string }
  /** JoinStorageSession was called (the session's offer comes over signaling, then it joins as `viewer` ""). */
  | { readonly type: "storageSessionRequested" }
  /** The source ended and every frame of it went out. */
  | { readonly type: "sourceEnded"; readonly frames: number };

/** Options of {@link webrtcMaster}. */
export interface WebRtcMasterOptions extends PeerOptions {
  /** Viewers served at once (default 10, as the service allows). */
  readonly maxViewers?: number;
  /** Send frames at their media time (default true); false sends them as they come (a live source that is already paced). */
  readonly pace?: boolean;
  /**
   * Send nothing until a first viewer is connected (default true), so that it gets the start: the source
   * is subscribed at the first offer (its tracks name the codec to answer with) and its frames wait,
   * held back through the Demand. A live source then runs that long (about a second) behind.
   */
  readonly waitForViewer?: boolean;
  /** Bytes of frames held for pacing (default 8 MiB); past it the source is held back (the one demand mechanism). */
  readonly maxBufferedBytes?: number;
  /** Messages viewers send on their data channels. */
  readonly onMessage?: (message: DataChannelMessage & { readonly viewer: string }) => void;
  /** Messages to send on the viewers' data channels: to `viewer` alone, or to every viewer without one. */
  readonly messages?: Observable<{ readonly viewer?: string; readonly data: string | Uint8Array }>;
  /** Leave out STUN (the local endpoint has none; default: use it). */
  readonly stun?: boolean;
  /**
   * Store the media into the channel's stream (WebRTC ingestion): join a storage session
   * (JoinStorageSession) once connected, and again every `storageRetryMs` (default 6 s) until the
   * session's offer came, as AWS's own samples do (the call is asynchronous).
   */
  readonly storage?: boolean;
  readonly storageRetryMs?: number;
  readonly signal?: AbortSignal;
}

interface Viewer {
  readonly id: string;
  readonly pc: RTCPeerConnection;
  readonly video: MediaStreamTrack | null;
  readonly audio: MediaStreamTrack | null;
  readonly videoPacketizer: PacketizerBase | null;
  readonly audioPacketizer: PacketizerBase | null;
  connected: boolean;
  /** Called after each packet given to the sender (Sender Report times). */
  videoSent: (rtpTimestamp: number) => void;
  audioSent: (rtpTimestamp: number) => void;
  /** The viewer's data channel, once it opened one. */
  channel: RTCDataChannel | null;
  /** Video goes out from a keyframe on. */
  awaitingKeyframe: boolean;
}

/** What the source's tracks give: the video sent (H.264 or VP8) and Opus audio. */
interface Media {
  video: { track: Track; codec: "H264" | "VP8"; avc: AvcDecoderConfig | null } | null;
  audio: Track | null;
}

const VIDEO_CLOCK = 90_000;
const AUDIO_CLOCK = 48_000;

/**
 * Serves a stream's frames as a KVS signaling channel's master to up to 10 viewers (browsers, AWS's
 * SDKs, {@link webrtcViewer}), and to a storage session that joins (JoinStorageSession). The source is
 * any observable of the parser's events: `liveMedia(...)` of a stream, `parseMkv(file)`, an ffmpeg
 * source. H.264 (and VP8) pass through without transcoding; Opus audio passes through; AAC audio is
 * left out (transcode it to Opus upstream, e.g. with an ffmpeg source, to send it). Each viewer starts
 * at a keyframe. Frames are paced at their media time, holding the source back through a Demand.
 * Emits what happens; completes when the source has ended and gone out.
 */
export function webrtcMaster(
  clients: KvsClients,
  channel: ChannelRef,
  source: Observable<StreamEvent>,
  options: WebRtcMasterOptions = {},
): Observable<MasterStatus> {
  return new Observable<MasterStatus>((subscriber) => {
    const abort = linkedAbort(options.signal);
    const viewers = new Map<string, Viewer>();
    const early = new Map<string, IceCandidate[]>();
    const subs: Subscription[] = [];
    const media: Media = { video: null, audio: null };
    const leftOut = new Set<number>();
    const demand = new Demand(options.maxBufferedBytes ?? 8 * 1024 * 1024);
    const account = demand.account();
    const queue: Frame[] = [];
    let sourceSub: Subscription | null = null;
    let sourceDone = false;
    let sent = 0;
    let clock: { wallMs: number; mediaMs: number } | null = null;
    let timer: NodeJS.Timeout | null = null;
    let signaling: SignalingClient | null = null;
    let servers: PeerOptions["iceServers"];
    const emit = (s: MasterStatus) => subscriber.next(s);
    const fail = (e: unknown) => {
      if (!subscriber.closed) subscriber.error(asError(e));
    };

    let flowing = false;
    /** Aborted once the source's tracks are known (or the master is): ends an offer's wait for them, timer and all. */
    const tracksKnown = linkedAbort(abort.signal);
    const onTracks = (tracks: readonly Track[]) => {
      for (const t of tracks) {
        if (
          t.kind === "video" &&
          (t.codecId === "V_MPEG4/ISO/AVC" || t.codecId === "V_VP8") &&
          (media.video === null || media.video.track.number === t.number)
        ) {
          const h264 = t.codecId === "V_MPEG4/ISO/AVC";
          media.video = { track: t, codec: h264 ? "H264" : "VP8", avc: h264 && t.codecPrivate ? parseAvcDecoderConfig(t.codecPrivate) : null };
        } else if (t.kind === "audio" && t.codecId === "A_OPUS" && (media.audio === null || media.audio.number === t.number)) media.audio = t;
        else if (media.video?.track.number !== t.number && media.audio?.number !== t.number && !leftOut.has(t.number)) {
          leftOut.add(t.number);
          emit({
            type: "trackLeftOut",
            track: t.number,
            codecId: t.codecId,
            reason: t.codecId === "A_AAC" ? "AAC is not a WebRTC codec: transcode it to Opus upstream to send it" : "not a codec this master sends",
          });
        }
      }
      tracksKnown.abort();
    };

    const onFrame = (f: Frame) => {
      if (f.track !== media.video?.track.number && f.track !== media.audio?.number) return;
      queue.push(f);
      account.hold(f.size);
      pump();
    };

    /** Sends the frames that are due, and sets the timer for the next. */
    const pump = () => {
      // Waiting for the first viewer: the frames wait too (held back through the Demand), so it gets the start.
      if (timer !== null || !flowing) return;
      while (queue.length > 0) {
        const f = queue[0]!;
        const now = Date.now();
        if (options.pace ?? true) {
          // Wall clock ↔ media time, set at the first frame and again after a jump (a gap, a restart).
          if (clock === null || f.timestampMs < clock.mediaMs - 1000 || f.timestampMs - clock.mediaMs - (now - clock.wallMs) > 5000)
            clock = { wallMs: now, mediaMs: f.timestampMs };
          const due = clock.wallMs + (f.timestampMs - clock.mediaMs);
          if (due > now + 1) {
            timer = setTimeout(() => {
              timer = null;
              pump();
            }, due - now);
            return;
          }
        }
        queue.shift();
        try {
          send(f);
        } catch (e) {
          fail(e);
          return;
        }
        account.release(f.size);
        sent++;
      }
      if (sourceDone) {
        emit({ type: "sourceEnded", frames: sent });
        subscriber.complete();
      }
    };

    const send = (f: Frame) => {
      const video = f.track === media.video?.track.number;
      let payload: Buffer;
      if (video && media.video!.codec === "H264") {
        const avc = media.video!.avc;
        if (avc === null) return; // no CodecPrivate: nothing could decode it
        const annexB = avccToAnnexB(f.data, avc);
        payload = Buffer.from(annexB.buffer, annexB.byteOffset, annexB.byteLength);
      } else payload = Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength);
      const rtpTime = Math.round((f.timestampMs * (video ? VIDEO_CLOCK : AUDIO_CLOCK)) / 1000) >>> 0;
      for (const v of viewers.values()) {
        if (!v.connected) continue;
        if (video) {
          if (v.awaitingKeyframe && !f.keyframe) continue;
          v.awaitingKeyframe = false;
          for (const p of v.videoPacketizer!.packetize(payload, rtpTime)) v.video!.writeRtp(p);
          v.videoSent(rtpTime);
        } else if (v.audio) {
          for (const p of v.audioPacketizer!.packetize(payload, rtpTime)) v.audio.writeRtp(p);
          v.audioSent(rtpTime);
        }
      }
    };

    const startSource = () => {
      if (sourceSub !== null) return;
      sourceSub = subscribeHolding(demand, () =>
        source.subscribe({
          next: (ev) => {
            if (ev.type === "tracks") onTracks(ev.tracks);
            else if (ev.type === "frame") onFrame(ev);
          },
          error: fail,
          complete: () => {
            sourceDone = true;
            pump();
          },
        }),
      );
    };

    const answer = async (sig: SignalingClient, from: string | null, sdp: string) => {
      const id = from ?? "";
      // The answer names the codec: the source's tracks must be known (the source starts at the first offer).
      startSource();
      await sleep(10_000, tracksKnown.signal);
      if (media.video === null && media.audio === null) {
        emit({ type: "viewerRefused", viewer: id, reason: "the source has no track this master sends (yet)" });
        return;
      }
      const old = viewers.get(id);
      if (old) drop(old, "offered again");
      if (viewers.size >= (options.maxViewers ?? 10)) {
        emit({ type: "viewerRefused", viewer: id, reason: `the channel has its ${options.maxViewers ?? 10} viewers` });
        return;
      }
      const videoCodec = media.video?.codec ?? "H264";
      const pc = newPeer({ ...options, iceServers: servers }, codecs([videoCodec]));
      const ssrc = () => (Math.random() * 0xffffffff) >>> 0;
      const v: Viewer = {
        id,
        pc,
        video: new MediaStreamTrack({ kind: "video" }),
        audio: new MediaStreamTrack({ kind: "audio" }),
        videoPacketizer:
          videoCodec === "H264"
            ? new H264Packetizer({ payloadType: PAYLOAD_TYPES.H264, ssrc: ssrc(), sequenceNumber: (Math.random() * 0xffff) >>> 0 })
            : new Vp8Packetizer({ payloadType: PAYLOAD_TYPES.VP8, ssrc: ssrc(), sequenceNumber: (Math.random() * 0xffff) >>> 0 }),
        audioPacketizer: new OpusPacketizer({ payloadType: PAYLOAD_TYPES.OPUS, ssrc: ssrc(), sequenceNumber: (Math.random() * 0xffff) >>> 0 }),
        connected: false,
        videoSent: () => {},
        audioSent: () => {},
        awaitingKeyframe: true,
        channel: null,
      };
      viewers.set(id, v);
      pc.onIceCandidate.subscribe((c) => {
        if (c && viewers.get(id) === v) sig.sendIceCandidate(candidateJson(c), from ?? undefined);
      });
      pc.onDataChannel.subscribe((ch) => {
        v.channel = ch;
        ch.onMessage.subscribe((m) => options.onMessage?.({ viewer: id, label: ch.label, data: typeof m === "string" ? m : new Uint8Array(m) }));
        // A viewer that closes its peer connection ends its data channel at once; without one, ICE consent notices within 30 s.
        ch.stateChange.subscribe((s) => {
          if (s === "closed") drop(v, "the viewer closed its data channel");
        });
      });
      pc.connectionStateChange.subscribe((state) => {
        if (viewers.get(id) !== v) return;
        if (state === "connected" && !v.connected) {
          v.connected = true;
          emit({ type: "viewerJoined", viewer: id, viewers: [...viewers.values()].filter((x) => x.connected).length });
          if (!flowing) {
            flowing = true;
            pump();
          }
        } else if (state === "failed" || state === "closed") drop(v, `peer connection ${state}`);
      });
      await pc.setRemoteDescription({ type: "offer", sdp });
      for (const tr of pc.getTransceivers()) {
        // Only the kinds the source has are sent; the others are answered inactive.
        const track = tr.kind === "video" && media.video ? v.video : tr.kind === "audio" && media.audio ? v.audio : null;
        if (!track) {
          tr.setDirection("inactive");
          continue;
        }
        await tr.sender.replaceTrack(track);
        tr.setDirection("sendonly");
        watchSender(tr.sender, v);
      }
      await pc.setLocalDescription(await pc.createAnswer());
      sig.sendSdpAnswer({ type: "answer", sdp: pc.localDescription!.sdp }, from ?? undefined);
      for (const c of early.get(id) ?? []) await pc.addIceCandidate(c).catch(() => {});
      early.delete(id);
    };

    /** Keyframe requests (PLI and FIR, which werift does not surface for an answerer) and correct Sender Reports. */
    const watchSender = (sender: RTCRtpSender, v: Viewer) => {
      const dtls = sender.dtlsTransport;
      if (!dtls) return;
      dtls.onRtcp.subscribe((r) => {
        const fb = (r as { type: number; feedback?: { count: number; mediaSsrc?: number; fir?: { ssrc: number }[] } }).feedback;
        if (r.type !== 206 || !fb) return;
        if ((fb.count === 1 && fb.mediaSsrc === sender.ssrc) || (fb.count === 4 && fb.fir?.some((e) => e.ssrc === sender.ssrc)))
          emit({ type: "keyframeRequested", viewer: v.id });
      });
      const sentAt = correctSenderReports(sender);
      if (sender.kind === "video") v.videoSent = sentAt;
      else v.audioSent = sentAt;
    };

    const drop = (v: Viewer, reason: string) => {
      if (viewers.get(v.id) !== v) return;
      viewers.delete(v.id);
      void v.pc.close().catch(() => {});
      if (v.connected) emit({ type: "viewerLeft", viewer: v.id, reason, viewers: [...viewers.values()].filter((x) => x.connected).length });
    };

    const run = async () => {
      const endpoints = await channelEndpoints(clients, channel, "MASTER", { signal: abort.signal });
      const sig = new SignalingClient(clients, { endpoints, signal: abort.signal });
      signaling = sig;
      servers = options.iceServers ?? (await iceServers(clients, endpoints, "MASTER", { stun: options.stun ?? true, signal: abort.signal }));
      subs.push(
        sig.events.subscribe({
          next: (ev) => {
            if (ev.type === "open") emit({ type: "signaling", state: "open" });
            else if (ev.type === "RECONNECT_ICE_SERVER" && !options.iceServers)
              // New viewers' peer connections use the renewed TURN credentials.
              iceServers(clients, endpoints, "MASTER", { stun: options.stun ?? true, signal: abort.signal }).then((s) => (servers = s), fail);
            else if (ev.type === "reconnecting") emit({ type: "signaling", state: "reconnecting" });
            else if (ev.type === "SDP_OFFER")
              answer(sig, ev.senderClientId, ev.description.sdp).catch((e: unknown) =>
                emit({ type: "viewerRefused", viewer: ev.senderClientId ?? "", reason: asError(e).message }),
              );
            else if (ev.type === "ICE_CANDIDATE") {
              const id = ev.senderClientId ?? "";
              const v = viewers.get(id);
              if (v?.pc.remoteDescription) v.pc.addIceCandidate(ev.candidate).catch(() => {});
              else early.set(id, [...(early.get(id) ?? []), ev.candidate].slice(-50));
            }
          },
          error: fail,
        }),
      );
      await sig.open();
      if (options.messages)
        subs.push(
          options.messages.subscribe((m) => {
            const data = typeof m.data === "string" ? m.data : Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
            for (const v of viewers.values()) if ((m.viewer === undefined || m.viewer === v.id) && v.channel?.readyState === "open") v.channel.send(data);
          }),
        );
      if (!(options.waitForViewer ?? true)) {
        flowing = true;
        startSource();
      }
      if (options.storage) await joinStorage();
    };

    /** Joins a storage session until its offer (one without a sender id) has come. */
    const joinStorage = async () => {
      let offered = false;
      subs.push(signaling!.events.subscribe((ev) => ev.type === "SDP_OFFER" && ev.senderClientId === null && (offered = true)));
      while (!offered && !abort.signal.aborted) {
        try {
          await joinStorageSession(clients, channel, abort.signal);
        } catch (e) {
          const err = asError(e) as Error & { retryable?: boolean };
          if (abort.signal.aborted) return;
          if (err.retryable !== true) throw e;
        }
        emit({ type: "storageSessionRequested" });
        await sleep(options.storageRetryMs ?? 6000, abort.signal);
      }
    };

    run().catch((e: unknown) => {
      if (!abort.signal.aborted) fail(e);
    });
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
      sourceSub?.unsubscribe();
      account.close();
      for (const s of subs) s.unsubscribe();
      for (const v of [...viewers.values()]) drop(v, "master closed");
      signaling?.close();
    };
  });
}

/** Per DTLS transport (one per viewer, shared by its senders): each sender's last packet, its RTP time and when it went out. */
const lastSent = new WeakMap<object, Map<number, { ts: number; wallMs: number }>>();

/**
 * werift writes the fraction of a Sender Report's NTP time as decimal digits, not as the binary
 * fraction RFC 3550 defines, so a receiver would map RTP time to wall time up to a second off. This
 * sets each report's NTP time from the wall time the sender's last packet went out at (the RTP time
 * werift reports with it). Returns what to call after each packet the sender is given.
 */
function correctSenderReports(sender: RTCRtpSender): (rtpTimestamp: number) => void {
  const dtls = sender.dtlsTransport;
  let sent = lastSent.get(dtls);
  if (sent === undefined) {
    const map = new Map<number, { ts: number; wallMs: number }>();
    sent = map;
    lastSent.set(dtls, map);
    const sendRtcp = dtls.sendRtcp.bind(dtls);
    dtls.sendRtcp = (packets) => {
      for (const p of packets) {
        if (!(p instanceof RtcpSrPacket)) continue;
        const l = map.get(p.ssrc);
        if (l && p.senderInfo.rtpTimestamp === l.ts) p.senderInfo.ntpTimestamp = unixMsToNtp(l.wallMs);
      }
      return sendRtcp(packets);
    };
  }
  const map = sent;
  return (ts) => map.set(sender.ssrc, { ts, wallMs: performance.timeOrigin + performance.now() });
}

/** Unix ms as a 64-bit RFC 3550 NTP time. */
function unixMsToNtp(ms: number): bigint {
  const s = ms / 1000 + 2_208_988_800;
  const whole = Math.floor(s);
  return (BigInt(whole) << 32n) | BigInt(Math.floor((s - whole) * 2 ** 32));
}
