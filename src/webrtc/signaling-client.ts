import { randomUUID } from "node:crypto";
import { type Observable, Subject } from "rxjs";
import WebSocket from "ws";
import { linkedAbort } from "../aws/abort.js";
import { backoffDelay, type RetryPolicy, sleep } from "../aws/backoff.js";
import type { KvsClients } from "../aws/clients.js";
import { KvsParserError, asError } from "../ebml/kvs-parser-error.js";
import type { ChannelEndpoints } from "./channel.js";
import {
  decodeIncoming,
  encodeOutgoing,
  type IceCandidate,
  type SessionDescription,
  type SignalingAction,
  type SignalingMessage,
  type StatusResponse,
} from "./messages.js";
import { presignSignalingUrl } from "./presign.js";

/** The service closes a signaling connection after an hour; the client moves to a new one before. */
export const SIGNALING_MAX_CONNECTION_MS = 60 * 60_000;

/** Why signaling failed: the connection could not be made or kept, or the service refused a message. */
export class SignalingError extends KvsParserError {
  override readonly name = "SignalingError";
  /** For STATUS_RESPONSE failures: the service's answer. */
  readonly status: StatusResponse | null;
  /** A signaling failure with its code, advice and cause. */
  constructor(
    code: "SIGNALING_CONNECT_FAILED" | "SIGNALING_CLOSED" | "SIGNALING_MESSAGE_REJECTED" | "SIGNALING_NOT_OPEN",
    message: string,
    options: { cause?: unknown; retryable: boolean; action: string; status?: StatusResponse },
  ) {
    super(code, message, options);
    this.status = options.status ?? null;
  }
}

/** What a signaling client emits: the service's messages, and its own connection changes. */
export type SignalingEvent =
  | SignalingMessage
  | { readonly type: "open"; readonly reconnected: boolean }
  | { readonly type: "reconnecting"; readonly reason: string; readonly attempt: number };

/** Options of {@link SignalingClient}. */
export interface SignalingClientOptions {
  /** The channel's endpoints for this client's role (from `channelEndpoints`). */
  readonly endpoints: ChannelEndpoints;
  /** A viewer's client id (default: a random UUID); a master has none. */
  readonly clientId?: string;
  /** Move to a new connection this long after opening one (default 55 minutes; the service ends them at 60). */
  readonly refreshAfterMs?: number;
  /** Reconnection after a lost connection (default: 200 ms doubling to 10 s, 8 attempts in a row). */
  readonly reconnect?: RetryPolicy;
  /**
   * Messages per second of each action this client sends at most, waiting (in order) rather than being
   * refused (default: the service's per-connection quotas, 5 SDP offers, 5 SDP answers, 20 ICE candidates).
   */
  readonly rates?: Partial<Record<SignalingAction, number>>;
  /** Messages waiting for the connection or the rate at most (default 1,000); past it `send` throws. */
  readonly maxQueued?: number;
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly action: SignalingAction;
  readonly text: string;
}

/** The service's per-connection quotas (Kinesis Video Streams with WebRTC limits). */
const RATES: Record<SignalingAction, number> = { SDP_OFFER: 5, SDP_ANSWER: 5, ICE_CANDIDATE: 20 };

/**
 * A client of a KVS signaling channel (ConnectAsMaster / ConnectAsViewer) over a SigV4-presigned
 * WebSocket: typed messages in and out (base64 JSON payloads), a new connection before the service's
 * one-hour limit and on GO_AWAY (the old one closes once the new one is open, so nothing is missed),
 * reconnection with backoff when the connection drops, and sending paced to the per-connection rate.
 * `events` is hot: subscribe before `open()`.
 */
export class SignalingClient {
  /** The service's messages and the connection's changes; errors with a {@link SignalingError} when the connection cannot be kept. */
  readonly events: Observable<SignalingEvent>;
  /** This client's id (a viewer's X-Amz-ClientId). */
  readonly clientId: string;
  private readonly subject = new Subject<SignalingEvent>();
  private socket: WebSocket | null = null;
  private readonly queue: Pending[] = [];
  private readonly abort;
  private closed = false;
  private refreshTimer: NodeJS.Timeout | null = null;
  private pumpTimer: NodeJS.Timeout | null = null;
  private readonly early = new WeakMap<WebSocket, string[]>();
  private readonly sentAt: Record<SignalingAction, number[]> = { SDP_OFFER: [], SDP_ANSWER: [], ICE_CANDIDATE: [] };
  private opened = false;
  private reconnecting = false;

  /** A client for `options.endpoints`' channel and role, signing with the credentials of `clients`. */
  constructor(
    private readonly clients: KvsClients,
    private readonly options: SignalingClientOptions,
  ) {
    this.events = this.subject.asObservable();
    this.clientId = options.clientId ?? (options.endpoints.role === "VIEWER" ? randomUUID() : "MASTER");
    this.abort = linkedAbort(options.signal);
    this.abort.signal.addEventListener("abort", () => this.close(), { once: true });
  }

  /** The role this client connects in. */
  get role(): "MASTER" | "VIEWER" {
    return this.options.endpoints.role;
  }

  /** Opens the connection; rejects with a {@link SignalingError} when it cannot. */
  async open(): Promise<void> {
    if (this.closed) throw new SignalingError("SIGNALING_CLOSED", "the signaling client is closed", { retryable: false, action: "make a new client" });
    // A refusal that passes (the channel's connection rate, a 5xx, the network) is tried again with backoff.
    const policy = this.options.reconnect ?? { maxAttempts: 8 };
    for (let attempt = 1; ; attempt++) {
      try {
        this.adopt(await this.connect());
        break;
      } catch (e) {
        if (!(e instanceof SignalingError) || !e.retryable || attempt >= (policy.maxAttempts ?? 8) || this.abort.signal.aborted) throw e;
        await sleep(backoffDelay(attempt, policy, true), this.abort.signal);
      }
    }
    this.opened = true;
    this.subject.next({ type: "open", reconnected: false });
  }

  /**
   * Sends an SDP offer (a viewer's goes to the master; a master names the viewer, or none to answer the
   * storage session). Returns the correlation id a failure's STATUS_RESPONSE carries.
   */
  sendSdpOffer(description: SessionDescription, recipientClientId?: string): string {
    return this.send("SDP_OFFER", description, recipientClientId);
  }

  /** Sends an SDP answer (a master names the viewer). Returns the correlation id. */
  sendSdpAnswer(description: SessionDescription, recipientClientId?: string): string {
    return this.send("SDP_ANSWER", description, recipientClientId);
  }

  /** Sends an ICE candidate (a master names the viewer). Returns the correlation id. */
  sendIceCandidate(candidate: IceCandidate, recipientClientId?: string): string {
    return this.send("ICE_CANDIDATE", candidate, recipientClientId);
  }

  /** Closes the connection for good and completes `events`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.queue.length = 0;
    const s = this.socket;
    this.socket = null;
    s?.close(1000);
    this.subject.complete();
    this.abort.abort();
  }

  private send(action: SignalingAction, value: SessionDescription | IceCandidate, recipientClientId?: string): string {
    if (this.closed) throw new SignalingError("SIGNALING_CLOSED", "the signaling client is closed", { retryable: false, action: "make a new client" });
    if (this.queue.length >= (this.options.maxQueued ?? 1000))
      throw new SignalingError("SIGNALING_NOT_OPEN", `${this.queue.length} messages wait to be sent`, {
        retryable: true,
        action: "the connection is down or the rate is exceeded for long: wait for `open`",
      });
    const correlationId = randomUUID();
    this.queue.push({ action, text: encodeOutgoing(action, value, this.role === "MASTER" ? recipientClientId : undefined, correlationId) });
    this.pump();
    return correlationId;
  }

  /** Sends what the rate allows now, and sets a timer for the rest. */
  private pump(): void {
    if (this.pumpTimer !== null) return;
    while (this.queue.length > 0 && this.socket?.readyState === WebSocket.OPEN) {
      const now = Date.now();
      const head = this.queue[0]!;
      const sent = this.sentAt[head.action];
      while (sent.length > 0 && now - sent[0]! >= 1000) sent.shift();
      if (sent.length >= (this.options.rates?.[head.action] ?? RATES[head.action])) {
        this.pumpTimer = setTimeout(
          () => {
            this.pumpTimer = null;
            this.pump();
          },
          1000 - (now - sent[0]!) + 1,
        );
        return;
      }
      sent.push(now);
      this.queue.shift();
      this.socket.send(head.text);
    }
  }

  /** Opens one signed WebSocket; resolves once it is open. */
  private async connect(): Promise<WebSocket> {
    const { credentials, region } = await this.clients.signing();
    const e = this.options.endpoints;
    const url = await presignSignalingUrl({
      endpoint: e.wss,
      channelArn: e.channelArn,
      role: e.role,
      ...(e.role === "VIEWER" ? { clientId: this.clientId } : {}),
      credentials,
      region,
    });
    return await new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { handshakeTimeout: 10_000 });
      // What arrives with the upgrade's answer (messages kept for this client) waits for adopt().
      const early: string[] = [];
      ws.on("message", (d) => early.push(d.toString()));
      this.early.set(ws, early);
      const fail = (err: Error | string, refusal?: { status: number; type: string }) => {
        ws.removeAllListeners();
        ws.on("error", () => {});
        ws.terminate();
        // Refused by the service: a limit (ClientLimitExceeded, 5xx) passes, a bad request or a denial does not.
        const retryable = refusal === undefined || refusal.status >= 500 || refusal.type.startsWith("ClientLimitExceeded");
        reject(
          new SignalingError("SIGNALING_CONNECT_FAILED", `could not connect to ${e.wss} as ${e.role}: ${typeof err === "string" ? err : err.message}`, {
            ...(typeof err === "string" ? {} : { cause: err }),
            retryable,
            action: refusal?.type.startsWith("ClientLimitExceeded")
              ? "at most 3 connections a second per channel and role: wait, then connect again"
              : "check the channel, the credentials (kinesisvideo:ConnectAsMaster / ConnectAsViewer) and the network",
          }),
        );
      };
      ws.once("error", (err) => fail(err));
      ws.once("unexpected-response", (_req, res) => {
        const type = String(res.headers["x-amzn-errortype"] ?? "").split(":")[0]!;
        fail(`HTTP ${res.statusCode} ${res.statusMessage ?? ""}${type ? ` ${type}` : ""}`.trim(), { status: res.statusCode ?? 0, type });
      });
      ws.once("open", () => {
        ws.removeAllListeners("error");
        ws.removeAllListeners("unexpected-response");
        resolve(ws);
      });
      const onAbort = () => fail("aborted");
      this.abort.signal.addEventListener("abort", onAbort, { once: true });
      ws.once("close", () => this.abort.signal.removeEventListener("abort", onAbort));
    });
  }

  /** Makes `ws` the connection: its messages go out as events, its loss starts a reconnection. */
  private adopt(ws: WebSocket): void {
    if (this.closed) {
      ws.close(1000);
      return;
    }
    const old = this.socket;
    this.socket = ws;
    const onText = (text: string) => {
      if (this.closed) return; // (a replaced connection's last messages still count)
      let m: SignalingMessage;
      try {
        m = decodeIncoming(text);
      } catch (e) {
        this.fail(asError(e));
        return;
      }
      if (m.type === "GO_AWAY") this.replace("GO_AWAY");
      this.subject.next(m);
    };
    ws.removeAllListeners("message");
    ws.on("message", (data) => onText(data.toString()));
    const early = this.early.get(ws) ?? [];
    this.early.delete(ws);
    ws.on("error", () => {}); // the close that follows is what counts
    ws.on("close", () => {
      if (this.socket === ws && !this.closed) void this.reconnect("connection lost");
    });
    old?.close(1000);
    for (const text of early) onText(text);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.replace("connection age"), this.options.refreshAfterMs ?? SIGNALING_MAX_CONNECTION_MS - 5 * 60_000);
    this.refreshTimer.unref();
    this.pump();
  }

  /** Opens a new connection while the old one stays up (GO_AWAY, the hour's end). */
  private replace(reason: string): void {
    if (this.closed || this.reconnecting) return;
    void this.reconnect(reason, this.socket);
  }

  private async reconnect(reason: string, keep: WebSocket | null = null): Promise<void> {
    if (this.reconnecting || this.closed) return;
    this.reconnecting = true;
    if (keep === null) this.socket = null;
    const policy = this.options.reconnect ?? { maxAttempts: 8 };
    let last: unknown;
    try {
      for (let attempt = 1; attempt <= (policy.maxAttempts ?? 8); attempt++) {
        this.subject.next({ type: "reconnecting", reason, attempt });
        if (attempt > 1 || keep === null) await sleep(backoffDelay(attempt, policy, false), this.abort.signal);
        if (this.closed) return;
        try {
          const ws = await this.connect();
          this.reconnecting = false;
          this.adopt(ws);
          this.subject.next({ type: "open", reconnected: true });
          return;
        } catch (e) {
          last = e;
        }
      }
      this.fail(
        new SignalingError("SIGNALING_CLOSED", `signaling connection lost (${reason}) and not restored: ${asError(last).message}`, {
          cause: last,
          retryable: true,
          action: "check the network and the channel, then connect again",
        }),
      );
    } finally {
      this.reconnecting = false;
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.socket?.close(1000);
    this.socket = null;
    this.subject.error(err);
    this.abort.abort();
  }

  private clearTimers(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.refreshTimer = this.pumpTimer = null;
  }

  /** True once the first connection opened (it may be reconnecting now). */
  get isOpen(): boolean {
    return this.opened && !this.closed;
  }
}
