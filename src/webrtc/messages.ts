import { KvsParserError } from "../ebml/kvs-parser-error.js";

/** The actions a client sends over a KVS signaling WebSocket. */
export type SignalingAction = "SDP_OFFER" | "SDP_ANSWER" | "ICE_CANDIDATE";

/** The message types the service sends. */
export type SignalingMessageType = SignalingAction | "STATUS_RESPONSE" | "GO_AWAY" | "RECONNECT_ICE_SERVER";

/** A session description as WebRTC has it. */
export interface SessionDescription {
  readonly type: "offer" | "answer";
  readonly sdp: string;
}

/** An ICE candidate as WebRTC's `RTCIceCandidate.toJSON()` has it. */
export interface IceCandidate {
  readonly candidate: string;
  readonly sdpMid: string | null;
  readonly sdpMLineIndex: number | null;
  readonly usernameFragment?: string | null;
}

/** The service's answer to a message that failed (or its acknowledgement, with statusCode "200"). */
export interface StatusResponse {
  /** The correlationId the failed message carried. */
  readonly correlationId: string | null;
  /** E.g. "InvalidArgumentException", "ClientLimitExceededException". */
  readonly errorType: string | null;
  /** HTTP-like status, as a string ("400"). */
  readonly statusCode: string | null;
  readonly description: string | null;
}

/** What a client sends: `messagePayload` is the base64 of the JSON of the description or candidate. */
export interface OutgoingSignalingMessage {
  readonly action: SignalingAction;
  /** Required from a master (the viewer to reach); a viewer's messages go to the master. */
  readonly recipientClientId?: string;
  readonly messagePayload: string;
  /** Echoed in a STATUS_RESPONSE when this message fails. */
  readonly correlationId?: string;
}

/** One message from the service, decoded. */
export type SignalingMessage =
  | { readonly type: "SDP_OFFER" | "SDP_ANSWER"; readonly senderClientId: string | null; readonly description: SessionDescription }
  | { readonly type: "ICE_CANDIDATE"; readonly senderClientId: string | null; readonly candidate: IceCandidate }
  | { readonly type: "STATUS_RESPONSE"; readonly status: StatusResponse }
  | { readonly type: "GO_AWAY" }
  | { readonly type: "RECONNECT_ICE_SERVER" };

/** A signaling message that does not follow the protocol. */
export class SignalingProtocolError extends KvsParserError {
  override readonly name = "SignalingProtocolError";
  /** The message as received (cut to 200 characters). */
  readonly received: string;
  /** A protocol error about `received`. */
  constructor(message: string, received: string, cause?: unknown) {
    super("SIGNALING_PROTOCOL", message, { cause, retryable: false, action: "the peer or endpoint does not speak the KVS signaling protocol" });
    this.received = received.slice(0, 200);
  }
}

/** The base64 of a value's JSON (the protocol's `messagePayload`). */
export function encodePayload(value: SessionDescription | IceCandidate): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64");
}

/** The value a `messagePayload` holds. */
export function decodePayload(payload: string): unknown {
  return JSON.parse(Buffer.from(payload, "base64").toString("utf8"));
}

/** The JSON text of a client's message. */
export function encodeOutgoing(action: SignalingAction, value: SessionDescription | IceCandidate, recipientClientId?: string, correlationId?: string): string {
  const m: OutgoingSignalingMessage = {
    action,
    messagePayload: encodePayload(value),
    ...(recipientClientId !== undefined ? { recipientClientId } : {}),
    ...(correlationId !== undefined ? { correlationId } : {}),
  };
  return JSON.stringify(m);
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : typeof v === "number" ? String(v) : null);

/** Decodes one message from the service; throws {@link SignalingProtocolError} on anything else. */
export function decodeIncoming(text: string): SignalingMessage {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new SignalingProtocolError("signaling message is not JSON", text, e);
  }
  if (m === null || typeof m !== "object") throw new SignalingProtocolError("signaling message is not an object", text);
  const type = m.messageType;
  const sender = str(m.senderClientId);
  switch (type) {
    case "SDP_OFFER":
    case "SDP_ANSWER": {
      const d = payloadOf(m, text) as Partial<SessionDescription>;
      if (typeof d.sdp !== "string") throw new SignalingProtocolError(`${type} payload has no sdp`, text);
      return { type, senderClientId: sender, description: { type: type === "SDP_OFFER" ? "offer" : "answer", sdp: d.sdp } };
    }
    case "ICE_CANDIDATE": {
      const c = payloadOf(m, text) as Partial<IceCandidate>;
      if (typeof c.candidate !== "string") throw new SignalingProtocolError("ICE_CANDIDATE payload has no candidate", text);
      return {
        type,
        senderClientId: sender,
        candidate: {
          candidate: c.candidate,
          sdpMid: typeof c.sdpMid === "string" ? c.sdpMid : null,
          sdpMLineIndex: typeof c.sdpMLineIndex === "number" ? c.sdpMLineIndex : null,
        },
      };
    }
    case "STATUS_RESPONSE": {
      const s = (m.statusResponse ?? {}) as Record<string, unknown>;
      return {
        type,
        status: { correlationId: str(s.correlationId), errorType: str(s.errorType), statusCode: str(s.statusCode), description: str(s.description) },
      };
    }
    case "GO_AWAY":
    case "RECONNECT_ICE_SERVER":
      return { type };
    default:
      throw new SignalingProtocolError(`unknown signaling messageType ${JSON.stringify(type)}`, text);
  }
}

function payloadOf(m: Record<string, unknown>, text: string): unknown {
  if (typeof m.messagePayload !== "string") throw new SignalingProtocolError("signaling message has no messagePayload", text);
  try {
    return decodePayload(m.messagePayload);
  } catch (e) {
    throw new SignalingProtocolError("messagePayload is not base64 JSON", text, e);
  }
}
