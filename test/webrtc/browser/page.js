// A KVS WebRTC master and viewer in the browser, on AWS's SDK (window.KVSWebRTC): what a web app built
// from the SDK's own samples does. The URL is signed in Node (window.signUrl, exposed by Playwright):
// the SDK's own signer signs only wss:// URLs, the local endpoint is ws://.

const state = { log: [], error: null, pcs: [] };
window.kvsTest = { state, startMaster, startViewer, stats };

function log(msg) {
  state.log.push(`${Math.round(performance.now())} ${msg}`);
}

function fail(where, e) {
  const msg = `${where}: ${e?.message ? e.message : String(e)}`;
  log(msg);
  state.error ??= msg;
}

/** The SDK's SignalingClient, signing through Node; resolves once open. */
function signaling(config, role, clientId) {
  const requestSigner = {
    getSignedURL: (endpoint, queryParams, date) => window.signUrl(endpoint, queryParams, date ? date.toISOString() : null),
  };
  const client = new window.KVSWebRTC.SignalingClient({
    channelARN: config.channelArn,
    channelEndpoint: config.endpoint,
    role,
    region: config.region,
    requestSigner,
    ...(clientId ? { clientId } : {}),
  });
  state.signaling = client;
  client.on("error", (e) => fail("signaling", e));
  client.on("close", () => log("signaling closed"));
  return new Promise((resolve, reject) => {
    client.once("open", () => {
      log(`signaling open as ${role}`);
      resolve(client);
    });
    client.once("error", reject);
    client.open();
  });
}

/** Keeps candidates on the loopback address only (the Node side uses 127.0.0.1 alone). */
function loopbackCandidate(c) {
  return c && / 127\.0\.0\.1 /.test(c.candidate);
}

/** Chromium as MASTER: answers each viewer's offer with the fake camera's video (and microphone). */
async function startMaster(config) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
  for (const t of stream.getVideoTracks()) t.contentHint = "detail"; // keep the resolution: no downscaling when bandwidth is low
  const client = await signaling(config, window.KVSWebRTC.Role.MASTER);
  const peers = new Map(); // viewer id → { pc, ready: Promise of the remote description being set }
  client.on("sdpOffer", (offer, viewerId) => {
    log(`offer from ${viewerId}`);
    const pc = new RTCPeerConnection({ iceServers: [] });
    state.pcs.push(pc);
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    pc.onicecandidate = ({ candidate }) => {
      if (loopbackCandidate(candidate)) client.sendIceCandidate(candidate, viewerId);
    };
    pc.onconnectionstatechange = () => log(`master pc ${pc.connectionState}`);
    const ready = pc.setRemoteDescription(offer);
    peers.set(viewerId, { pc, ready });
    ready
      .then(() => pc.createAnswer())
      .then((answer) => pc.setLocalDescription(answer))
      .then(() => client.sendSdpAnswer(pc.localDescription, viewerId))
      .catch((e) => fail("answer", e));
  });
  client.on("iceCandidate", (candidate, viewerId) => {
    const p = peers.get(viewerId);
    if (!p) return;
    p.ready.then(() => p.pc.addIceCandidate(candidate)).catch((e) => fail("addIceCandidate", e));
  });
  return { video: stream.getVideoTracks()[0].getSettings() };
}

/** Chromium as VIEWER: offers to receive video and audio, plays what comes in the <video>. */
async function startViewer(config) {
  const client = await signaling(config, window.KVSWebRTC.Role.VIEWER, config.clientId);
  const pc = new RTCPeerConnection({ iceServers: [] });
  state.pcs.push(pc);
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const video = document.getElementById("video");
  const remote = new MediaStream();
  video.srcObject = remote;
  pc.ontrack = (e) => {
    log(`track ${e.track.kind}`);
    remote.addTrack(e.track);
    video.play().catch((err) => log(`play: ${err.message}`));
  };
  pc.onconnectionstatechange = () => log(`viewer pc ${pc.connectionState}`);
  pc.onicecandidate = ({ candidate }) => {
    if (loopbackCandidate(candidate)) client.sendIceCandidate(candidate);
  };
  let answered = null;
  client.on("sdpAnswer", (answer) => {
    log("answer");
    answered = pc.setRemoteDescription(answer);
    answered.catch((e) => fail("setRemoteDescription", e));
  });
  client.on("iceCandidate", (candidate) => {
    (answered ?? Promise.reject(new Error("a candidate before the answer"))).then(() => pc.addIceCandidate(candidate)).catch((e) => fail("addIceCandidate", e));
  });
  await pc.setLocalDescription(await pc.createOffer());
  client.sendSdpOffer(pc.localDescription);
  log("offer sent");
}

/** The inbound/outbound RTP stats of every peer connection, as plain objects. */
async function stats() {
  const out = [];
  for (const pc of state.pcs) {
    const report = await pc.getStats();
    const codecs = new Map();
    report.forEach((s) => {
      if (s.type === "codec") codecs.set(s.id, s.mimeType);
    });
    report.forEach((s) => {
      if (s.type === "inbound-rtp" || s.type === "outbound-rtp") out.push({ ...s, mimeType: codecs.get(s.codecId) ?? null });
    });
  }
  return out;
}
