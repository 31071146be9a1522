import { ID } from "../ebml/schema.js";
import { concatBytes, element, floatElement, stringElement, uintElement, unknownSizeHeader } from "../ebml/writer.js";
import type { Track } from "../matroska/model.js";

/**
 * A one-track Matroska stream to feed a decoder process codecs that have no Annex-B form (VP8, VP9,
 * AV1, and audio): the header once, then one Cluster per frame with its own timestamp.
 */
export function mkvFeedHeader(track: Track): Uint8Array {
  const entry: Uint8Array[] = [
    uintElement(ID.TrackNumber, 1),
    uintElement(ID.TrackUID, 1),
    uintElement(ID.TrackType, track.typeCode ?? (track.video ? 1 : 2)),
    stringElement(ID.CodecID, track.codecId),
  ];
  if (track.codecPrivate) entry.push(element(ID.CodecPrivate, track.codecPrivate));
  if (track.codecDelayNs) entry.push(uintElement(ID.CodecDelay, track.codecDelayNs));
  if (track.seekPreRollNs) entry.push(uintElement(ID.SeekPreRoll, track.seekPreRollNs));
  if (track.video) {
    const v: Uint8Array[] = [];
    if (track.video.pixelWidth) v.push(uintElement(ID.PixelWidth, track.video.pixelWidth));
    if (track.video.pixelHeight) v.push(uintElement(ID.PixelHeight, track.video.pixelHeight));
    entry.push(element(ID.Video, v));
  }
  if (track.audio) {
    const a: Uint8Array[] = [floatElement(ID.SamplingFrequency, track.audio.samplingFrequency), uintElement(ID.Channels, track.audio.channels)];
    if (track.audio.bitDepth) a.push(uintElement(ID.BitDepth, track.audio.bitDepth));
    entry.push(element(ID.Audio, a));
  }
  return concatBytes([
    element(ID.EBML, [stringElement(ID.DocType, "matroska"), uintElement(ID.DocTypeVersion, 4), uintElement(ID.DocTypeReadVersion, 2)]),
    unknownSizeHeader(ID.Segment),
    element(ID.Info, [uintElement(ID.TimestampScale, 1_000_000), stringElement(ID.MuxingApp, "kvs-parser"), stringElement(ID.WritingApp, "kvs-parser")]),
    element(ID.Tracks, [element(ID.TrackEntry, entry)]),
  ]);
}

/** One frame as a Cluster of its own (`timestampMs` ≥ 0, whole ms), for {@link mkvFeedHeader}'s stream. */
export function mkvFeedFrame(data: Uint8Array, timestampMs: number, keyframe: boolean): Uint8Array {
  const head = Uint8Array.of(0x81, 0, 0, keyframe ? 0x80 : 0);
  return element(ID.Cluster, [uintElement(ID.Timestamp, Math.max(0, Math.round(timestampMs))), element(ID.SimpleBlock, [head, data])]);
}
