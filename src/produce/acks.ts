import { KvsParserError } from "../ebml/kvs-parser-error.js";

/** What the service says about a fragment of a PutMedia upload (the API reference's AckEvent). */
export type AckEventType = "BUFFERING" | "RECEIVED" | "PERSISTED" | "ERROR" | "IDLE";

/** One acknowledgement from the PutMedia response, typed. */
export interface PutMediaAck {
  readonly type: "ack";
  readonly event: AckEventType;
  /** The fragment's Cluster timecode as sent (ms with the default TimestampScale); null on IDLE. */
  readonly fragmentTimecode: number | null;
  /** The fragment number the service gave it (a decimal string); null before it has one. */
  readonly fragmentNumber: string | null;
  /** On ERROR: the service's ErrorId (4000–4012, 45xx, 5000/5001) and ErrorCode name. */
  readonly errorId: number | null;
  readonly errorCode: string | null;
}

interface ErrorInfo {
  readonly code: string;
  readonly retryable: boolean;
  readonly action: string;
}

/** The PutMedia reference's ErrorIds: the name, whether sending the fragment again can help, and what to do. */
const ERRORS: Record<number, ErrorInfo> = {
  4000: { code: "STREAM_READ_ERROR", retryable: true, action: "the service could not read the upload: reconnect and send the fragment again" },
  4001: { code: "MAX_FRAGMENT_SIZE_REACHED", retryable: false, action: "the fragment is over 50 MB: cut fragments shorter (fragmentDurationMs)" },
  4002: { code: "MAX_FRAGMENT_DURATION_REACHED", retryable: false, action: "the fragment is too long: cut fragments shorter (fragmentDurationMs)" },
  4003: { code: "MAX_CONNECTION_DURATION_REACHED", retryable: true, action: "the connection is too old: reconnect" },
  4004: {
    code: "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS",
    retryable: false,
    action: "fragment timecodes must increase: fix the frames' timestamps (a restart in ABSOLUTE mode needs a later start)",
  },
  4005: { code: "MORE_THAN_ONE_TRACK_FOUND", retryable: false, action: "send fewer tracks" },
  4006: { code: "INVALID_MKV_DATA", retryable: false, action: "the upload is not valid Matroska: check what is written" },
  4007: { code: "INVALID_PRODUCER_TIMESTAMP", retryable: false, action: "the producer start timestamp is not valid" },
  4008: { code: "STREAM_NOT_ACTIVE", retryable: false, action: "the stream was deleted or is not active: create it again" },
  4009: { code: "FRAGMENT_METADATA_LIMIT_REACHED", retryable: false, action: "at most 10 metadata tags per fragment" },
  4010: { code: "TRACK_NUMBER_MISMATCH", retryable: false, action: "a block names a track that Tracks does not have" },
  4011: { code: "FRAMES_MISSING_FOR_TRACK", retryable: false, action: "every track in Tracks needs frames in each fragment" },
  4012: { code: "MORE_THAN_ALLOWED_TRACKS_FOUND", retryable: false, action: "at most 3 tracks" },
  4500: { code: "KMS_KEY_ACCESS_DENIED", retryable: false, action: "grant kms:GenerateDataKey on the stream's key to these credentials" },
  4501: { code: "KMS_KEY_DISABLED", retryable: false, action: "enable the stream's KMS key" },
  4502: { code: "KMS_KEY_VALIDATION_ERROR", retryable: false, action: "check the stream's KMS key and its policy" },
  4503: { code: "KMS_KEY_UNAVAILABLE", retryable: true, action: "KMS is unavailable: send again later" },
  4504: { code: "KMS_KEY_INVALID_USAGE", retryable: false, action: "the stream's KMS key cannot encrypt: check its key usage" },
  4505: { code: "KMS_KEY_INVALID_STATE", retryable: false, action: "the stream's KMS key is pending deletion or similar: restore it" },
  4506: { code: "KMS_KEY_NOT_FOUND", retryable: false, action: "the stream's KMS key was not found" },
  5000: { code: "INTERNAL_ERROR", retryable: true, action: "the service failed: reconnect and send the fragment again" },
  5001: { code: "ARCHIVAL_ERROR", retryable: true, action: "the service could not store the fragment: send it again" },
};

/** A PutMedia upload failed (an ERROR acknowledgement, or the connection), with whether it can be retried. */
export class PutMediaError extends KvsParserError {
  override readonly name = "PutMediaError";
  /** The ErrorCode name (e.g. FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS), or a connection error's code. */
  declare readonly code: string;
  /** The ErrorId the service sent, when it came as an acknowledgement. */
  readonly errorId: number | null;
  /** What the caller should do about it. */
  declare readonly action: string;
  /** The fragment it is about, when known: its timecode as sent, and its number. */
  readonly fragmentTimecode: number | null;
  readonly fragmentNumber: string | null;

  /** An upload failure `code`; `options` says whether it is retryable and what to do. */
  constructor(
    code: string,
    message: string,
    options: { errorId?: number | null; retryable: boolean; action: string; fragmentTimecode?: number | null; fragmentNumber?: string | null; cause?: unknown },
  ) {
    super(code, `${code}: ${message} (${options.action})`, { cause: options.cause, retryable: options.retryable, action: options.action });
    this.errorId = options.errorId ?? null;
    this.fragmentTimecode = options.fragmentTimecode ?? null;
    this.fragmentNumber = options.fragmentNumber ?? null;
  }
}

/** The typed error an ERROR acknowledgement stands for. */
export function ackError(ack: PutMediaAck): PutMediaError {
  const known = ack.errorId !== null ? ERRORS[ack.errorId] : undefined;
  const info = known ?? { code: ack.errorCode ?? "UNKNOWN_ERROR", retryable: true, action: "an error the service did not explain: send again" };
  const where =
    ack.fragmentTimecode !== null ? `fragment at timecode ${ack.fragmentTimecode}${ack.fragmentNumber ? ` (${ack.fragmentNumber})` : ""}` : "the upload";
  return new PutMediaError(info.code, `the service refused ${where}${ack.errorId !== null ? ` with ErrorId ${ack.errorId}` : ""}`, {
    errorId: ack.errorId,
    retryable: info.retryable,
    action: info.action,
    fragmentTimecode: ack.fragmentTimecode,
    fragmentNumber: ack.fragmentNumber,
  });
}

const EVENTS = new Set<string>(["BUFFERING", "RECEIVED", "PERSISTED", "ERROR", "IDLE"]);

/**
 * Reads the PutMedia response as it arrives: JSON objects, newline-separated (or one per HTTP chunk),
 * split across reads anywhere. Anything outside an object is ignored, as the producer SDKs do.
 */
export class AckParser {
  private text = "";
  private readonly decoder = new TextDecoder();

  /** Takes the next bytes of the response; returns the acknowledgements they complete. */
  push(chunk: Uint8Array): PutMediaAck[] {
    this.text += this.decoder.decode(chunk, { stream: true });
    const out: PutMediaAck[] = [];
    for (;;) {
      const open = this.text.indexOf("{");
      if (open < 0) {
        this.text = "";
        return out;
      }
      const close = this.text.indexOf("}", open);
      if (close < 0) {
        this.text = this.text.slice(open);
        if (this.text.length > 64 * 1024)
          throw new PutMediaError("INVALID_ACK", "an acknowledgement longer than 64 KiB", { retryable: true, action: "reconnect" });
        return out;
      }
      const raw = this.text.slice(open, close + 1);
      this.text = this.text.slice(close + 1);
      out.push(parseAck(raw));
    }
  }
}

function parseAck(raw: string): PutMediaAck {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(raw) as Record<string, unknown>;
  } catch (e) {
    throw new PutMediaError("INVALID_ACK", `an acknowledgement that is not JSON: ${raw.slice(0, 80)}`, { retryable: true, action: "reconnect", cause: e });
  }
  const event = String(o.EventType ?? "");
  if (!EVENTS.has(event))
    throw new PutMediaError("INVALID_ACK", `an acknowledgement of unknown EventType ${JSON.stringify(o.EventType)}`, { retryable: true, action: "reconnect" });
  const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : null);
  return {
    type: "ack",
    event: event as AckEventType,
    fragmentTimecode: num(o.FragmentTimecode),
    fragmentNumber: o.FragmentNumber === undefined || o.FragmentNumber === null ? null : String(o.FragmentNumber),
    errorId: num(o.ErrorId),
    errorCode: typeof o.ErrorCode === "string" ? o.ErrorCode : null,
  };
}
