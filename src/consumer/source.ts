import type { Observable } from "rxjs";
import type { KvsClients, StreamRef } from "../aws/clients.js";
import type { StartFrom } from "../aws/get-media.js";
import { liveMedia, type LiveEvent, type LiveMediaOptions } from "../aws/live-media.js";
import type { ReadGate } from "../rx/read-gate.js";
import type { Checkpoint } from "./store.js";

/** What an app asks its source for. */
export interface SourceRequest {
  /** Resume strictly after this fragment (null: no checkpoint yet). */
  readonly after: Checkpoint | null;
  /** Where to start without a checkpoint. */
  readonly from: StartFrom;
  /** The app's queue: the source waits while it is full. */
  readonly gate: ReadGate;
  /** Stops the source (it then completes). */
  readonly signal: AbortSignal;
}

/** Where an app's fragments come from: a live reader of its own, or a share of one (FanOutHub). */
export type FragmentSource = (request: SourceRequest) => Observable<LiveEvent>;

/** Options of the live reader behind {@link liveSource}. */
export type LiveSourceOptions = Omit<LiveMediaOptions, "after" | "from" | "signal" | "gate" | "resumeCutFragments">;

/**
 * A source reading the stream with its own liveMedia() connection, held back by the app's queue; a
 * fragment cut by a failed connection is read again whole.
 */
export function liveSource(clients: KvsClients, stream: StreamRef, options: LiveSourceOptions = {}): FragmentSource {
  return ({ after, from, gate, signal }) =>
    liveMedia(clients, stream, {
      ...options,
      resumeCutFragments: "restart",
      from,
      after: after ? { fragmentNumber: after.fragmentNumber, continuationToken: after.continuationToken } : null,
      gate,
      signal,
    });
}
