import { lastValueFrom, toArray, type Observable } from "rxjs";
import type { FragmentEvent } from "../../src/kvs/fragment.js";
import type { KvsEvent } from "../../src/kvs/parser.js";
import { KvsClients } from "../../src/aws/clients.js";
import type { PacerOptions } from "../../src/aws/pacer.js";
import { startLocalKvs, type LocalKvs, type LocalKvsOptions } from "../../src/testing/local-kvs.js";

/** A local endpoint and clients pointed at it; close() releases both. */
export interface Harness {
  kvs: LocalKvs;
  clients: KvsClients;
  close(): Promise<void>;
}

/**
 * Starts the local KVS endpoint and SDK clients for it (fake credentials, loopback only). GetMedia's
 * catch-up pace (5 fragments/s) is off unless a test sets `catchUpFragmentsPerSecond`.
 */
export async function harness(options: LocalKvsOptions = {}, pacing?: PacerOptions): Promise<Harness> {
  const credentials = { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" };
  // Every request the tests make is signed and checked, as by the service.
  const kvs = await startLocalKvs({ catchUpFragmentsPerSecond: Infinity, credentials: [credentials], ...options });
  const clients = new KvsClients({ region: "us-east-1", endpoint: kvs.endpoint, credentials, pacing });
  return {
    kvs,
    clients,
    async close() {
      clients.destroy();
      await kvs.close();
    },
  };
}

/** The environment of a child process that talks to a local endpoint: fake credentials, a region, KVS_ENDPOINT. */
export function localAwsEnv(endpoint: string, more: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KVS_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: "AKIDLOCAL",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_REGION: "us-east-1",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...more,
  };
}

/** The fragment numbers an observable of events produced. */
export async function fragmentNumbers(events: Observable<KvsEvent | { type: string }>): Promise<(string | null)[]> {
  const all = await lastValueFrom(events.pipe(toArray()));
  return all.filter((e): e is FragmentEvent => e.type === "fragment").map((f) => f.fragmentNumber);
}
