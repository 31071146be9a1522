import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer } from "ws";
import { ServiceFailure } from "./service-failure.js";
import { EMPTY_PAYLOAD_HASH, type LocalCredentials, verifySigV4 } from "./sigv4-verify.js";

/** Limits of the local signaling service (defaults: the service's quotas). */
export interface LocalSignalingLimits {
  /** Viewers connected to one channel at once (default 10). */
  readonly maxViewers?: number;
  /** SDP offers, and SDP answers, one connection may send per second (default 5 each; past it a message is refused). */
  readonly sdpPerSecond?: number;
  /** ICE candidates one connection may send per second (default 20). */
  readonly iceCandidatesPerSecond?: number;
  /** A connection is closed after this long (default one hour). */
  readonly maxConnectionMs?: number;
  /** A connection that sends nothing for this long is closed (default 10 minutes). */
  readonly idleMs?: number;
  /** ConnectAsMaster, and ConnectAsViewer, calls a second per channel (default 3 each, as the service). */
  readonly connectsPerSecond?: number;
  /** Largest decoded message payload in bytes (default 10,000 characters of base64, as the service). */
  readonly maxPayloadChars?: number;
}

/** The ICE servers GetIceServerConfig answers with (default none: no TURN relay runs here). */
export interface LocalIceServer {
  readonly Uris: readonly string[];
  readonly Username: string;
  readonly Password: string;
  readonly Ttl: number;
}

/** What the service needs of a client's socket (a WebSocket, or the storage session's in-process peer). */
interface Socketish {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

interface Connection {
  readonly ws: Socketish;
  readonly role: "MASTER" | "VIEWER";
  readonly clientId: string | null;
  /** When each kind of message was sent in the last second. */
  readonly sent: Record<"SDP_OFFER" | "SDP_ANSWER" | "ICE_CANDIDATE", number[]>;
  readonly timers: ReturnType<typeof setTimeout>[];
  lastMessageMs: number;
}

interface Queued {
  readonly text: string;
  readonly action: string;
  readonly expiresMs: number;
}

interface Channel {
  readonly name: string;
  readonly arn: string;
  readonly createdMs: number;
  messageTtlSeconds: number;
  version: string;
  tags: Record<string, string>;
  master: Connection | null;
  readonly viewers: Map<string, Connection>;
  /** Messages waiting for their recipient (the master: key ""), kept MessageTtlSeconds. */
  readonly waiting: Map<string, Queued[]>;
  /** The stream a storage session writes into (UpdateMediaStorageConfiguration). */
  storageStreamArn: string | null;
  /** The storage session's connection, while one is joined. */
  storage: Connection | null;
  /** When the last second's ConnectAsMaster and ConnectAsViewer calls came. */
  readonly masterConnects: number[];
  readonly viewerConnects: number[];
}

/** A connection's or the service's view of who is on a channel (tests). */
export interface SignalingPresence {
  readonly master: boolean;
  readonly viewers: readonly string[];
}

/**
 * The storage session's side of the signaling channel, as the endpoint hands it to the code that plays
 * KVS's part (a WebRTC peer that stores what it receives): `send` posts a message as the storage session
 * (to the master), `onMessage` receives what the master sends it, `close` ends the session.
 */
export interface StorageSessionLink {
  readonly channelArn: string;
  readonly streamArn: string;
  send(text: string): void;
  onMessage(listener: (text: string) => void): void;
  onClose(listener: () => void): void;
  close(): void;
}

/** Plays the storage session (JoinStorageSession): joins as a peer through `link` and stores the master's media. */
export type StorageSessionHandler = (link: StorageSessionLink) => void;

/** The client id the storage session connects with (its messages reach the master with no senderClientId). */
export const STORAGE_SESSION_CLIENT_ID = "AWS_STORAGE_SESSION";
const STORAGE = STORAGE_SESSION_CLIENT_ID;
const API_VERSION_SUFFIX = "http://internal.amazon.com/coral/com.amazon.kinesis.video.v20170930/";
const notFound = (what: string) => new ServiceFailure(404, "ResourceNotFoundException", `${what} is not found`);
const badArg = (message: string) => new ServiceFailure(400, "InvalidArgumentException", message);

/**
 * The signaling half of the local endpoint: the signaling-channel control APIs (Create, Describe, List,
 * Update, Delete, GetSignalingChannelEndpoint, media storage configuration), GetIceServerConfig, and the
 * ConnectAsMaster / ConnectAsViewer WebSocket with SigV4 query verification, one master and ten viewers,
 * message rates, TTL'd delivery to clients not yet connected, and GO_AWAY on demand.
 */
export class LocalSignaling {
  private readonly channels = new Map<string, Channel>();
  /** The WebSocket server, loaded on the first upgrade (`ws` is needed only by those who use signaling). */
  private wss: Promise<WebSocketServer> | null = null;
  private readonly connections = new Set<Connection>();
  private sweep: ReturnType<typeof setInterval> | null = null;
  /** Set by the endpoint: starts a storage session for JoinStorageSession. */
  storageSession: StorageSessionHandler | null = null;
  /** Set by the endpoint: throws the service's error when a stream cannot take a channel's media (missing, no retention). */
  checkStorageStream: ((streamArn: string) => void) | null = null;

  /** A signaling service answering for `endpoint()`, checking signatures with `credentials`. */
  constructor(
    private readonly endpoint: () => string,
    private readonly now: () => number,
    private readonly credentials: readonly LocalCredentials[] | "any",
    private readonly limits: LocalSignalingLimits = {},
    private readonly ice: readonly LocalIceServer[] = [],
  ) {}

  /** True for the operations this service answers. */
  handles(op: string): boolean {
    return OPERATIONS.has(op);
  }

  /** Answers one signaling API call (JSON in, JSON out); throws ServiceFailure as the service would. */
  async call(op: string, body: Record<string, unknown>): Promise<unknown> {
    switch (op) {
      case "createSignalingChannel":
        return { ChannelARN: this.create(body).arn };
      case "describeSignalingChannel":
        return { ChannelInfo: this.info(this.channelOf(body)) };
      case "listSignalingChannels": {
        const cond = (body.ChannelNameCondition ?? {}) as { ComparisonOperator?: string; ComparisonValue?: string };
        if (cond.ComparisonOperator !== undefined && cond.ComparisonOperator !== "BEGINS_WITH") throw badArg("ComparisonOperator must be BEGINS_WITH");
        const prefix = cond.ComparisonValue ?? "";
        return { ChannelInfoList: [...this.channels.values()].filter((c) => c.name.startsWith(prefix)).map((c) => this.info(c)) };
      }
      case "deleteSignalingChannel": {
        const c = this.channelOf(body);
        if (typeof body.CurrentVersion === "string" && body.CurrentVersion !== c.version)
          throw new ServiceFailure(400, "VersionMismatchException", `The version ${body.CurrentVersion} is not the latest`);
        this.channels.delete(c.name);
        for (const conn of [c.master, ...c.viewers.values()]) conn?.ws.close(1000, "channel deleted");
        return {};
      }
      case "updateSignalingChannel": {
        const c = this.channelOf(body);
        if (body.CurrentVersion !== c.version)
          throw new ServiceFailure(400, "VersionMismatchException", `The version ${String(body.CurrentVersion)} is not the latest`);
        const ttl = (body.SingleMasterConfiguration as { MessageTtlSeconds?: number } | undefined)?.MessageTtlSeconds;
        if (ttl !== undefined) c.messageTtlSeconds = checkTtl(ttl);
        c.version = String(Number(c.version) + 1);
        return {};
      }
      case "getSignalingChannelEndpoint":
        return this.endpoints(body);
      case "describeMediaStorageConfiguration": {
        const c = this.channelOf(body);
        return { MediaStorageConfiguration: { StreamARN: c.storageStreamArn ?? undefined, Status: c.storageStreamArn ? "ENABLED" : "DISABLED" } };
      }
      case "updateMediaStorageConfiguration": {
        const c = this.channelOf(body);
        const conf = (body.MediaStorageConfiguration ?? {}) as { StreamARN?: string; Status?: string };
        if (conf.Status !== "ENABLED" && conf.Status !== "DISABLED") throw badArg("MediaStorageConfiguration.Status must be ENABLED or DISABLED");
        if (conf.Status === "ENABLED") {
          if (!conf.StreamARN) throw badArg("StreamARN is required when Status is ENABLED");
          this.checkStorageStream?.(conf.StreamARN);
        }
        c.storageStreamArn = conf.Status === "ENABLED" ? conf.StreamARN! : null;
        return {};
      }
      case "v1/get-ice-server-config": {
        const c = this.channelOf({ ChannelARN: body.ChannelARN });
        if (body.Service !== undefined && body.Service !== "TURN") throw badArg("Service must be TURN");
        void c;
        return { IceServerList: this.ice };
      }
      case "joinStorageSession":
      case "joinStorageSessionAsViewer": {
        const c = this.channelOf({ ChannelARN: body.channelArn });
        if (!c.storageStreamArn) throw badArg(`the channel ${c.name} has no media storage configuration`);
        if (op === "joinStorageSession" && !c.master) throw badArg("The master is not connected to the signaling channel");
        if (this.storageSession === null) throw new ServiceFailure(400, "InvalidArgumentException", "storage sessions are not served here");
        this.joinStorage(c, this.storageSession);
        return {};
      }
      default:
        throw new ServiceFailure(404, "UnknownOperationException", `unknown operation ${op}`);
    }
  }

  /** The WebSocket endpoint clients connect to (ws://, the local endpoint's own address). */
  wsEndpoint(): string {
    return this.endpoint().replace(/^http/, "ws");
  }

  /** Who is connected to a channel (by name). */
  presence(channel: string): SignalingPresence {
    const c = this.channels.get(channel);
    if (!c) throw notFound(`Channel ${channel}`);
    return { master: c.master !== null, viewers: [...c.viewers.keys()] };
  }

  /** Sends GO_AWAY to every connection of a channel (the service's notice before it closes them), and closes them after `graceMs`. */
  goAway(channel: string, graceMs = 1000): void {
    const c = this.channels.get(channel);
    if (!c) throw notFound(`Channel ${channel}`);
    for (const conn of [c.master, ...c.viewers.values()]) {
      if (!conn) continue;
      conn.ws.send(JSON.stringify({ messageType: "GO_AWAY", messagePayload: "" }));
      conn.timers.push(setTimeout(() => conn.ws.close(1000, "GO_AWAY"), graceMs));
    }
  }

  /** Cuts every WebSocket of a channel at once, with no notice (a network failure). */
  dropAll(channel: string): void {
    const c = this.channels.get(channel);
    if (!c) throw notFound(`Channel ${channel}`);
    for (const conn of [c.master, ...c.viewers.values()]) conn?.ws.terminate();
  }

  /** Sends RECONNECT_ICE_SERVER to every connection of a channel. */
  reconnectIceServer(channel: string): void {
    const c = this.channels.get(channel);
    if (!c) throw notFound(`Channel ${channel}`);
    for (const conn of [c.master, ...c.viewers.values()]) conn?.ws.send(JSON.stringify({ messageType: "RECONNECT_ICE_SERVER", messagePayload: "" }));
  }

  /** Creates a channel directly (tests), as CreateSignalingChannel does; returns its ARN. */
  createChannel(name: string, messageTtlSeconds = 60): string {
    return this.create({ ChannelName: name, SingleMasterConfiguration: { MessageTtlSeconds: messageTtlSeconds } }).arn;
  }

  /** Takes a WebSocket upgrade of ConnectAsMaster / ConnectAsViewer, or refuses it as the service would. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let conn: { channel: Channel; role: "MASTER" | "VIEWER"; clientId: string | null };
    try {
      conn = this.admit(req);
    } catch (e) {
      const f = e instanceof ServiceFailure ? e : new ServiceFailure(500, "InternalFailure", String(e));
      const body = JSON.stringify({ message: f.message });
      socket.end(
        `HTTP/1.1 ${f.status} ${f.status === 403 ? "Forbidden" : f.status === 404 ? "Not Found" : "Bad Request"}\r\n` +
          `content-type: application/json\r\nx-amzn-errortype: ${f.type}:${API_VERSION_SUFFIX}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
      return;
    }
    this.wss ??= import("ws").then((m) => new m.WebSocketServer({ noServer: true, maxPayload: 256 * 1024 }));
    this.wss.then(
      (wss) => wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, conn.channel, conn.role, conn.clientId)),
      () => socket.destroy(),
    );
  }

  /** Closes every connection and timer. */
  close(): void {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    for (const c of this.connections) {
      for (const t of c.timers) clearTimeout(t);
      c.ws.terminate();
    }
    this.connections.clear();
    void this.wss?.then((wss) => wss.close());
  }

  /** Starts a storage session on a channel: the newest replaces one already running. */
  private joinStorage(c: Channel, handler: StorageSessionHandler): void {
    c.storage?.ws.close(1000, "replaced by a new storage session");
    const listeners: ((text: string) => void)[] = [];
    const closers: (() => void)[] = [];
    let open = true;
    const end = () => {
      if (!open) return;
      open = false;
      for (const t of conn.timers) clearTimeout(t);
      this.connections.delete(conn);
      if (c.storage === conn) c.storage = null;
      for (const f of closers) f();
    };
    const conn: Connection = {
      ws: {
        send: (text) => {
          if (open)
            queueMicrotask(() => {
              for (const f of listeners) f(text);
            });
        },
        close: end,
        terminate: end,
      },
      role: "VIEWER",
      clientId: STORAGE,
      sent: { SDP_OFFER: [], SDP_ANSWER: [], ICE_CANDIDATE: [] },
      timers: [],
      lastMessageMs: this.now(),
    };
    conn.timers.push(setTimeout(end, this.limits.maxConnectionMs ?? 3_600_000)); // a session lasts an hour at most
    this.connections.add(conn);
    c.storage = conn;
    handler({
      channelArn: c.arn,
      streamArn: c.storageStreamArn!,
      send: (text) => open && this.onMessage(c, conn, text),
      onMessage: (f) => listeners.push(f),
      onClose: (f) => closers.push(f),
      close: end,
    });
  }

  // ---- control plane ----

  private create(body: Record<string, unknown>): Channel {
    const name = body.ChannelName;
    if (typeof name !== "string" || !/^[a-zA-Z0-9_.-]{1,256}$/.test(name))
      throw badArg(
        `1 validation error detected: Value '${String(name)}' at 'channelName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`,
      );
    if (body.ChannelType !== undefined && body.ChannelType !== "SINGLE_MASTER" && body.ChannelType !== "FULL_MESH")
      throw badArg("ChannelType must be SINGLE_MASTER or FULL_MESH");
    if (this.channels.has(name)) throw new ServiceFailure(400, "ResourceInUseException", `The signaling channel ${name} already exists`);
    const ttl = (body.SingleMasterConfiguration as { MessageTtlSeconds?: number } | undefined)?.MessageTtlSeconds;
    const createdMs = this.now();
    const tags = Array.isArray(body.Tags) ? Object.fromEntries((body.Tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value])) : {};
    const c: Channel = {
      name,
      arn: `arn:aws:kinesisvideo:us-east-1:000000000000:channel/${name}/${createdMs}`,
      createdMs,
      messageTtlSeconds: ttl === undefined ? 60 : checkTtl(ttl),
      version: "1",
      tags,
      master: null,
      viewers: new Map(),
      waiting: new Map(),
      storageStreamArn: null,
      storage: null,
      masterConnects: [],
      viewerConnects: [],
    };
    this.channels.set(name, c);
    return c;
  }

  private info(c: Channel): Record<string, unknown> {
    return {
      ChannelName: c.name,
      ChannelARN: c.arn,
      ChannelType: "SINGLE_MASTER",
      ChannelStatus: "ACTIVE",
      CreationTime: c.createdMs / 1000,
      SingleMasterConfiguration: { MessageTtlSeconds: c.messageTtlSeconds },
      Version: c.version,
    };
  }

  private channelOf(body: { ChannelName?: unknown; ChannelARN?: unknown }): Channel {
    if (typeof body.ChannelARN === "string") {
      for (const c of this.channels.values()) if (c.arn === body.ChannelARN) return c;
      throw notFound(`The signaling channel ${body.ChannelARN}`);
    }
    if (typeof body.ChannelName === "string") {
      const c = this.channels.get(body.ChannelName);
      if (!c) throw notFound(`The signaling channel ${body.ChannelName}`);
      return c;
    }
    throw badArg("ChannelName or ChannelARN is required");
  }

  private endpoints(body: Record<string, unknown>): unknown {
    this.channelOf({ ChannelARN: body.ChannelARN });
    const conf = (body.SingleMasterChannelEndpointConfiguration ?? {}) as { Protocols?: string[]; Role?: string };
    if (conf.Role !== undefined && conf.Role !== "MASTER" && conf.Role !== "VIEWER") throw badArg("Role must be MASTER or VIEWER");
    const protocols = conf.Protocols ?? ["WSS", "HTTPS"];
    const list = protocols.map((p) => {
      if (p === "WSS") return { Protocol: p, ResourceEndpoint: this.wsEndpoint() };
      if (p === "HTTPS" || p === "WEBRTC") return { Protocol: p, ResourceEndpoint: this.endpoint() };
      throw badArg(`Protocol ${p} is not one of WSS, HTTPS, WEBRTC`);
    });
    return { ResourceEndpointList: list };
  }

  // ---- WebSocket ----

  private admit(req: IncomingMessage): { channel: Channel; role: "MASTER" | "VIEWER"; clientId: string | null } {
    const url = new URL(req.url ?? "/", "ws://local");
    if (this.credentials !== "any") verifySigV4({ method: "GET", url: req.url ?? "/", headers: req.headers }, this.credentials, EMPTY_PAYLOAD_HASH, Date.now());
    const arn = url.searchParams.get("X-Amz-ChannelARN");
    if (!arn) throw badArg("X-Amz-ChannelARN is required");
    const channel = this.channelOf({ ChannelARN: arn });
    const clientId = url.searchParams.get("X-Amz-ClientId");
    if (clientId !== null && !/^[a-zA-Z0-9_.-]{1,256}$/.test(clientId)) throw badArg("X-Amz-ClientId must match [a-zA-Z0-9_.-]{1,256}");
    // 3 ConnectAsMaster and 3 ConnectAsViewer calls a second per channel (Kinesis Video Streams with WebRTC quotas).
    const now = this.now();
    const calls = clientId === null ? channel.masterConnects : channel.viewerConnects;
    while (calls.length > 0 && now - calls[0]! >= 1000) calls.shift();
    if (calls.length >= (this.limits.connectsPerSecond ?? 3))
      throw new ServiceFailure(
        400,
        "ClientLimitExceededException",
        `Too many ${clientId === null ? "ConnectAsMaster" : "ConnectAsViewer"} calls on ${channel.name}; slow down`,
      );
    calls.push(now);
    if (clientId?.startsWith("AWS_")) throw badArg("X-Amz-ClientId must not start with AWS_");
    if (clientId === null) return { channel, role: "MASTER", clientId };
    if (!channel.viewers.has(clientId) && channel.viewers.size >= (this.limits.maxViewers ?? 10))
      throw new ServiceFailure(400, "ClientLimitExceededException", `The channel ${channel.name} has its ${this.limits.maxViewers ?? 10} viewers`);
    return { channel, role: "VIEWER", clientId };
  }

  private attach(ws: WebSocket, channel: Channel, role: "MASTER" | "VIEWER", clientId: string | null): void {
    const conn: Connection = { ws, role, clientId, sent: { SDP_OFFER: [], SDP_ANSWER: [], ICE_CANDIDATE: [] }, timers: [], lastMessageMs: this.now() };
    this.connections.add(conn);
    // A new master or a viewer with the same id takes the place of the old connection, which is closed.
    const old = role === "MASTER" ? channel.master : channel.viewers.get(clientId!);
    if (role === "MASTER") channel.master = conn;
    else channel.viewers.set(clientId!, conn);
    old?.ws.close(1000, "replaced by a new connection");
    conn.timers.push(setTimeout(() => ws.close(1000, "connection time limit"), this.limits.maxConnectionMs ?? 3_600_000));
    this.startSweep();
    ws.on("message", (data) => this.onMessage(channel, conn, data.toString()));
    ws.on("error", () => {});
    ws.on("close", () => {
      for (const t of conn.timers) clearTimeout(t);
      this.connections.delete(conn);
      if (channel.master === conn) channel.master = null;
      if (clientId !== null && channel.viewers.get(clientId) === conn) channel.viewers.delete(clientId);
    });
    // Messages sent to this client while it was away, within their TTL.
    const key = role === "MASTER" ? "" : clientId!;
    const waiting = channel.waiting.get(key) ?? [];
    channel.waiting.delete(key);
    for (const m of waiting) if (m.expiresMs > this.now()) ws.send(m.text);
  }

  /** Closes connections idle past the limit. */
  private startSweep(): void {
    if (this.sweep) return;
    this.sweep = setInterval(
      () => {
        const idle = this.limits.idleMs ?? 600_000;
        for (const c of this.connections) if (this.now() - c.lastMessageMs > idle) c.ws.close(1000, "idle");
      },
      Math.min(1000, this.limits.idleMs ?? 1000),
    );
    this.sweep.unref();
  }

  private onMessage(channel: Channel, conn: Connection, text: string): void {
    const now = this.now();
    conn.lastMessageMs = now;
    let m: { action?: unknown; messagePayload?: unknown; recipientClientId?: unknown; correlationId?: unknown };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      return; // nothing to correlate an answer with: dropped, as the service does
    }
    // A failure is answered only when the message carried a correlationId (ConnectAsMaster reference).
    const correlationId = typeof m.correlationId === "string" ? m.correlationId : null;
    const refuse = (errorType: string, description: string) => {
      if (correlationId !== null) this.status(conn, correlationId, errorType, "400", description);
    };
    if (correlationId !== null && !/^[a-zA-Z0-9_.-]{1,256}$/.test(correlationId)) {
      refuse("InvalidArgumentException", "correlationId must match [a-zA-Z0-9_.-]{1,256}");
      return;
    }
    if (m.action !== "SDP_OFFER" && m.action !== "SDP_ANSWER" && m.action !== "ICE_CANDIDATE") {
      refuse("InvalidArgumentException", `Unknown action ${String(m.action)}`);
      return;
    }
    // Per connection: 5 SDP offers and 5 answers a second, 20 ICE candidates (the service's quotas).
    const sent = conn.sent[m.action];
    while (sent.length > 0 && now - sent[0]! >= 1000) sent.shift();
    if (sent.length >= this.rate(m.action)) {
      refuse("ClientLimitExceededException", `Too many ${m.action} messages on this connection; slow down`);
      return;
    }
    sent.push(now);
    if (typeof m.messagePayload !== "string" || m.messagePayload.length === 0) {
      refuse("InvalidArgumentException", "messagePayload is required");
      return;
    }
    if (m.messagePayload.length > (this.limits.maxPayloadChars ?? 10_000)) {
      refuse("InvalidArgumentException", "messagePayload is longer than 10,000 characters");
      return;
    }
    // A viewer speaks to the master only (its recipientClientId is ignored); the master names a viewer,
    // or none when it answers the storage session (whose messages carry no senderClientId).
    let recipient = "";
    if (conn.role === "MASTER") {
      if (typeof m.recipientClientId === "string" && m.recipientClientId !== "") recipient = m.recipientClientId;
      else if (channel.storage === null) {
        refuse("InvalidArgumentException", "recipientClientId is required from the master");
        return;
      } else recipient = STORAGE;
    }
    const out = JSON.stringify({
      messageType: m.action,
      messagePayload: m.messagePayload,
      ...(conn.clientId !== null && conn.clientId !== STORAGE ? { senderClientId: conn.clientId } : {}),
    });
    const target = recipient === "" ? channel.master : recipient === STORAGE ? channel.storage : channel.viewers.get(recipient);
    if (target) {
      target.ws.send(out);
      return;
    }
    // Kept for the channel's MessageTtlSeconds; a newer offer or answer replaces one not yet delivered.
    const live = (channel.waiting.get(recipient) ?? []).filter((x) => x.expiresMs > now && (m.action === "ICE_CANDIDATE" || x.action !== m.action));
    live.push({ text: out, action: m.action, expiresMs: now + channel.messageTtlSeconds * 1000 });
    channel.waiting.set(recipient, live.slice(-100));
  }

  private rate(action: "SDP_OFFER" | "SDP_ANSWER" | "ICE_CANDIDATE"): number {
    return action === "ICE_CANDIDATE" ? (this.limits.iceCandidatesPerSecond ?? 20) : (this.limits.sdpPerSecond ?? 5);
  }

  private status(conn: Connection, correlationId: string, errorType: string, statusCode: string, description: string): void {
    conn.ws.send(JSON.stringify({ messageType: "STATUS_RESPONSE", statusResponse: { correlationId, errorType, statusCode, description, success: false } }));
  }
}

function checkTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 5 || ttl > 120)
    throw badArg(
      `1 validation error detected: Value '${ttl}' at 'singleMasterConfiguration.messageTtlSeconds' failed to satisfy constraint: Member must have value between 5 and 120`,
    );
  return ttl;
}

const OPERATIONS = new Set([
  "createSignalingChannel",
  "describeSignalingChannel",
  "listSignalingChannels",
  "deleteSignalingChannel",
  "updateSignalingChannel",
  "getSignalingChannelEndpoint",
  "describeMediaStorageConfiguration",
  "updateMediaStorageConfiguration",
  "v1/get-ice-server-config",
  "joinStorageSession",
  "joinStorageSessionAsViewer",
]);
