import { Subject } from "rxjs";
import { concatBytes } from "../ebml/writer.js";
import type { Frame } from "../matroska/frame.js";
import { Fragmenter } from "../produce/fragmenter.js";
import { decodeIncoming, encodeOutgoing } from "../webrtc/messages.js";
import type { SignalingEvent } from "../webrtc/signaling-client.js";
import { type SignalingPort, webrtcViewerOver } from "../webrtc/viewer.js";
import type { StorageSessionLink } from "./local-signaling.js";

/** Where a storage session's media goes: the stream's name, and the MKV of each fragment (header and Cluster). */
export interface StorageSessionSink {
  readonly stream: string;
  store(mkv: Uint8Array): void;
}

/**
 * Plays KVS's part in a storage session on the local endpoint: joins the master through the signaling
 * link as a peer (offering H.264 and Opus, as the service does), and writes what it receives into the
 * stream as fragments of about 2 s (a new one at a keyframe), each stored as it is cut, so GetMedia,
 * ListFragments and the consumers read it like any stream. The session ends with the master's peer
 * connection, or after an hour. Unlike the service, which stores AAC, Opus is stored as it came.
 */
export function runStorageSession(link: StorageSessionLink, sink: StorageSessionSink): void {
  const events = new Subject<SignalingEvent>();
  link.onMessage((text) => {
    try {
      events.next(decodeIncoming(text));
    } catch {
      // not for us
    }
  });
  const port: SignalingPort = {
    events: events.asObservable(),
    sendSdpOffer: (d) => {
      link.send(encodeOutgoing("SDP_OFFER", d));
      return "";
    },
    sendIceCandidate: (c) => {
      link.send(encodeOutgoing("ICE_CANDIDATE", c));
      return "";
    },
  };
  let fragmenter: Fragmenter | null = null;
  const startMs = Date.now();
  const flush = () => {
    const last = fragmenter?.flush();
    if (fragmenter && last) sink.store(concatBytes([fragmenter.header(), last.bytes]));
  };
  const sub = webrtcViewerOver(port, {
    loopbackOnly: true,
    video: ["H264"],
    audio: true,
    reconnect: { maxAttempts: 1 },
    // The master's peer connection ended: the session ends (with what it stored).
    onStatus: (st) => {
      if (st.type === "peerFailed") end();
    },
  }).subscribe({
    next: (ev) => {
      if (ev.type === "tracks") {
        // New parameter sets or a new track: what was cut so far is stored, a new writer starts.
        flush();
        fragmenter = new Fragmenter(ev.tracks, { startMs, timecodeType: "ABSOLUTE" });
      } else if (ev.type === "frame" && fragmenter) {
        const done = fragmenter.push(ev as Frame);
        if (done) sink.store(concatBytes([fragmenter.header(), done.bytes]));
      }
    },
    error: () => end(),
    complete: () => end(),
  });
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    flush();
    sub?.unsubscribe();
    link.close();
  };
  link.onClose(end);
}
