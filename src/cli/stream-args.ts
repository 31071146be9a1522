import type { Observable, Subscription } from "rxjs";
import type { KvsClients } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
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

/** KVS clients from --endpoint / --region (or KVS_ENDPOINT), destroyed when the command is interrupted. */
export async function clientsFor(values: Record<string, unknown>, io: CliIo): Promise<KvsClients> {
  const { KvsClients } = await import("../aws/clients.js");
  const endpoint = typeof values.endpoint === "string" ? values.endpoint : process.env.KVS_ENDPOINT;
  const region = typeof values.region === "string" ? values.region : undefined;
  const clients = new KvsClients({ endpoint, region });
  io.signal.addEventListener("abort", () => clients.destroy(), { once: true });
  return clients;
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
