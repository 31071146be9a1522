import { sleep } from "../aws/backoff.js";

/** On a handler error: stop with it (default), or retry it this many times first. */
export type HandlerErrorPolicy = "stop" | { readonly retries: number; readonly delayMs?: number };

/** Runs `handler(item)`, retrying per `policy`; rejects with the last error. */
export async function runHandler<T>(handler: (item: T) => Promise<void> | void, item: T, policy: HandlerErrorPolicy, signal: AbortSignal): Promise<void> {
  const retries = policy === "stop" ? 0 : policy.retries;
  for (let attempt = 0; ; attempt++) {
    try {
      await handler(item);
      return;
    } catch (e) {
      if (attempt >= retries || signal.aborted) throw e;
      await sleep(policy === "stop" ? 0 : (policy.delayMs ?? 100), signal);
    }
  }
}
