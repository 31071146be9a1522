import { GetImagesCommand, type GetImagesCommandOutput } from "@aws-sdk/client-kinesis-video-archived-media";
import { Observable } from "rxjs";
import type { TimeRange } from "./archive.js";
import { streamParams, type KvsClients, type StreamRef } from "./clients.js";
import { toKvsServiceError } from "./errors.js";

/** The longest range one GetImages call takes (ms). */
export const IMAGES_MAX_RANGE_MS = 300_000;
/** The shortest sampling interval GetImages takes (ms). */
export const IMAGES_MIN_INTERVAL_MS = 200;

/** One timestamp of a GetImages answer: an image, or why there is none. */
export interface ArchivedImage {
  readonly timestamp: Date;
  /** The JPEG or PNG bytes (decoded from the service's base64), or null with `error` set. */
  readonly image: Uint8Array | null;
  /** NO_MEDIA: nothing was recorded at that time; MEDIA_ERROR: the media there could not make an image. */
  readonly error: "NO_MEDIA" | "MEDIA_ERROR" | null;
}

/** Options of {@link getImages}. */
export interface GetImagesOptions {
  /** The range; longer than 300 s is asked for in 300 s windows. */
  readonly range: TimeRange;
  /** One image per this many ms (at least 200; default 1000). */
  readonly samplingIntervalMs?: number;
  /** Default "JPEG". */
  readonly format?: "JPEG" | "PNG";
  /** JPEG quality 1-100 (the service's default 80). */
  readonly jpegQuality?: number;
  readonly widthPixels?: number;
  readonly heightPixels?: number;
  /** Images per page (the service sends at most 25 a page whatever is asked). */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

/**
 * GetImages over a time range, every page followed: one {@link ArchivedImage} per sampled timestamp,
 * in time order, a timestamp without media reported as such (`error: "NO_MEDIA"`) rather than left out.
 * Ranges longer than the service's 300 s are asked for in windows. Errors are KvsServiceError.
 */
export function getImages(clients: KvsClients, stream: StreamRef, options: GetImagesOptions): Observable<ArchivedImage> {
  return new Observable<ArchivedImage>((subscriber) => {
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const interval = Math.max(IMAGES_MIN_INTERVAL_MS, options.samplingIntervalMs ?? 1000);
    const run = async () => {
      signal.throwIfAborted();
      const endpoint = await clients.dataEndpoint(stream, "GET_IMAGES", signal);
      const client = clients.archivedClient(endpoint);
      const start = options.range.start.getTime();
      const end = options.range.end.getTime();
      // Windows of whole sampling intervals, so the samples fall where one call over the range would put them.
      const windowMs = Math.max(interval, Math.floor(IMAGES_MAX_RANGE_MS / interval) * interval);
      for (let from = start; from < end || from === start; from += windowMs) {
        const to = Math.min(end, from + windowMs);
        let next: string | undefined;
        do {
          signal.throwIfAborted();
          let page: GetImagesCommandOutput;
          try {
            page = await client.send(
              new GetImagesCommand({
                ...streamParams(stream),
                ImageSelectorType: options.range.timestampType ?? "SERVER_TIMESTAMP",
                StartTimestamp: new Date(from),
                // Each window's end is left out unless it is the range's: the next window starts there.
                EndTimestamp: new Date(to === end ? to : to - 1),
                SamplingInterval: interval,
                Format: options.format ?? "JPEG",
                FormatConfig: options.jpegQuality !== undefined ? { JPEGQuality: String(options.jpegQuality) } : undefined,
                WidthPixels: options.widthPixels,
                HeightPixels: options.heightPixels,
                MaxResults: options.pageSize,
                NextToken: next,
              }),
              { abortSignal: signal },
            );
          } catch (e) {
            throw toKvsServiceError(e, "GetImages");
          }
          for (const img of page.Images ?? []) {
            subscriber.next({
              timestamp: img.TimeStamp ?? new Date(0),
              image: img.ImageContent ? new Uint8Array(Buffer.from(img.ImageContent, "base64")) : null,
              error: img.ImageContent ? null : img.Error === "MEDIA_ERROR" ? "MEDIA_ERROR" : "NO_MEDIA",
            });
          }
          next = page.NextToken || undefined;
        } while (next !== undefined);
        if (to >= end) break;
      }
    };
    run().then(
      () => subscriber.complete(),
      (e: unknown) => {
        if (!stop.signal.aborted) subscriber.error(e);
      },
    );
    return () => stop.abort();
  });
}
