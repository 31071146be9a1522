import type { Observable, Subscription } from "rxjs";
import type { KvsClients } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
import type { LiveStatus } from "../aws/live-media.js";
import { UsageError, type CliIo } from "./args.js";

/** The options every command that reads a KVS stream takes. */
export const STREAM_OPTIONS = {
  endpoint: { type: "string" },
  region: { type: "string" },
  from: { type: "string" },
} as const;

/** The help lines of {@link STREAM_OPTIONS}. */
export const STREAM_HELP = `  --endpoint URL   a KVS-compatible endpoint (the local one: kvs-parser demo prints it; or KVS_ENDPOINT)
  --region R       the AWS region (default: the SDK's chain: AWS_REGION, the profile)
  Credentials come from the AWS SDK's default chain (environment, profile, SSO, instance role).`;

/** A time given on the command line: ISO 8601, or epoch seconds / milliseconds. */
export function parseTime(value: string, flag: string): Date {
  const n = Number(value);
  const d = /^\d+(\.\d+)?$/.test(value) ? new Date(n < 1e11 ? n * 1000 : n) : new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new UsageError(`${flag} needs a time (ISO 8601 like 2026-11-25T10:00:00Z, or epoch seconds), got ${JSON.stringify(value)}`);
  return d;
}

/** --from: NOW, EARLIEST, a fragment number (starts at it) or a server time. */
export function parseFrom(value: unknown, fallback: StartFrom): StartFrom {
  if (value === undefined) return fallback;
  const v = String(value);
  if (v === "NOW" || v === "EARLIEST") return v;
  if (/^\d{20,}$/.test(v)) return { type: "FRAGMENT_NUMBER", fragmentNumber: v };
  return { type: "SERVER_TIMESTAMP", timestamp: parseTime(v, "--from") };
}

/** True for an endpoint on this machine (127.0.0.0/8, localhost, ::1): the local KVS. */
export function isLoopback(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, "");
    return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/** Credentials the local endpoint accepts when none are set (it is on this machine; nothing is sent elsewhere). */
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

/**
 * KVS clients from --endpoint / --region (or KVS_ENDPOINT), destroyed when the command is interrupted.
 * For an endpoint on this machine, a missing region is us-east-1 and missing credentials are placeholders,
 * so the local endpoint needs no AWS setup; anything set in the environment or a profile still wins.
 */
export async function clientsFor(values: Record<string, unknown>, io: CliIo): Promise<KvsClients> {
  const { KvsClients } = await import("../aws/clients.js");
  const endpoint = endpointOf(values);
  const env = process.env;
  const local = endpoint !== undefined && isLoopback(endpoint) && !env.AWS_PROFILE;
  const region = typeof values.region === "string" ? values.region : local && !env.AWS_REGION && !env.AWS_DEFAULT_REGION ? "us-east-1" : undefined;
  const credentials = local && !env.AWS_ACCESS_KEY_ID ? LOCAL_CREDENTIALS : undefined;
  const clients = new KvsClients({ endpoint, region, credentials });
  io.signal.addEventListener("abort", () => clients.destroy(), { once: true });
  return clients;
}

/**
 * Prints a live reader's connection states to stderr: where it connects, and each retry with its cause
 * and delay, so a command pointed at an endpoint that does not answer says so instead of printing nothing.
 */
export function reportStatus(io: CliIo, stream: string, endpoint: string | undefined): (status: LiveStatus) => void {
  let failing = false;
  return (s) => {
    if (s.type === "connecting" && s.attempt === 1 && !failing)
      io.err(`connecting to stream ${stream}${endpoint ? ` at ${endpoint}` : ""} (from ${describeFrom(s.from)})`);
    else if (s.type === "retrying") {
      failing = true;
      io.err(`retrying in ${(s.delayMs / 1000).toFixed(1)} s (failure ${s.attempt} in a row): ${s.error.message}`);
    } else if (s.type === "connected" && failing) {
      failing = false;
      io.err(`connected to stream ${stream}`);
    }
  };
}

function describeFrom(from: StartFrom): string {
  if (typeof from === "string") return from;
  if (from.type === "CONTINUATION_TOKEN") return `continuation token ${from.token}`;
  if (from.type === "FRAGMENT_NUMBER") return `fragment ${from.fragmentNumber}`;
  if (from.type === "NOW" || from.type === "EARLIEST") return from.type;
  return `${from.type} ${from.timestamp.toISOString()}`;
}

/** The endpoint a command talks to (--endpoint, else KVS_ENDPOINT; undefined: the SDK's for the region). */
export function endpointOf(values: Record<string, unknown>): string | undefined {
  return typeof values.endpoint === "string" ? values.endpoint : process.env.KVS_ENDPOINT;
}

/**
 * Hands a stream's events to `onEvent` until the stream completes, `onEvent` says it has enough (returns
 * true), or the command is interrupted; rejects with the stream's error.
 */
export function readUntilDone<T>(source: Observable<T>, io: CliIo, onEvent: (ev: T) => boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let sub: Subscription | undefined;
    const finish = () => {
      done = true;
      io.signal.removeEventListener("abort", stop);
    };
    const stop = () => {
      finish();
      sub?.unsubscribe();
      resolve();
    };
    io.signal.addEventListener("abort", stop, { once: true });
    sub = source.subscribe({
      next(ev) {
        if (!done && onEvent(ev)) stop();
      },
      error(e: unknown) {
        finish();
        reject(e);
      },
      complete() {
        finish();
        resolve();
      },
    });
    if (done) sub.unsubscribe(); // enough before subscribe() returned
  });
}

/** Bytes for people: 1.2 MB. */
export function formatBytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
}
