import { mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ImageDecoder, type ImageFormat } from "../decode/images.js";
import { takeWhile } from "rxjs";
import { parseMkv } from "../rx/parse-mkv.js";
import { intOption, UsageError, type CliIo, type Command } from "./args.js";
import { InputError, namesFile, openInput } from "./input.js";
import { clientsFor, endpointOf, parseFrom, reportStatus, STREAM_HELP, STREAM_OPTIONS } from "./stream-args.js";

const FORMATS: readonly ImageFormat[] = ["jpeg", "png", "rgb24", "rgba", "gray"];
const EXT: Record<ImageFormat, string> = { jpeg: "jpg", png: "png", rgb24: "rgb", rgba: "rgba", gray: "gray" };

/** `kvs-parser images`: a file's (or a live stream's) frames as image files. */
export const imagesCommand: Command = {
  name: "images",
  summary: "decode a file's or a live stream's frames to images (one ffmpeg process)",
  usage: `usage: kvs-parser images FILE|-|STREAM -o DIR [--keyframes] [--format jpeg|png|rgb24|rgba|gray]
                         [--width N] [--height N] [--quality 1-100] [--track N]
                         [--from NOW|EARLIEST|FRAGMENT|TIME] [--count N] [--endpoint URL] [--region R]

Writes one image per frame (or per keyframe with --keyframes) to DIR, named by fragment number and
timestamp. FILE is an MKV or a GetMedia capture (- reads stdin); anything else is a KVS stream name,
read live until interrupted (or --count fragments). ffmpeg comes from FFMPEG_PATH,
@ffmpeg-installer/ffmpeg, or PATH.
${STREAM_HELP}`,
  options: {
    out: { type: "string", short: "o" },
    keyframes: { type: "boolean" },
    format: { type: "string" },
    width: { type: "string" },
    height: { type: "string" },
    quality: { type: "string" },
    track: { type: "string" },
    count: { type: "string" },
    ...STREAM_OPTIONS,
  },
  async run(values, positionals, io) {
    if (positionals.length !== 1) throw new UsageError("images takes one FILE, - or STREAM");
    const dir = values.out;
    if (typeof dir !== "string") throw new UsageError("give the output directory with -o DIR");
    const format = (values.format ?? "jpeg") as ImageFormat;
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
    const target = positionals[0]!;
    const isFile = namesFile(target);
    const input = isFile ? openInput(target) : null;
    mkdirSync(dir, { recursive: true });
    const decoder = new ImageDecoder({
      format,
      keyframesOnly: values.keyframes === true,
      width: intOption(values.width, "--width"),
      height: intOption(values.height, "--height"),
      quality: intOption(values.quality, "--quality"),
      track: intOption(values.track, "--track"),
    });
    const source = input !== null ? parseMkv(input, { gate: decoder.gate }) : await liveSource(target, values, decoder, io);
    let n = 0;
    const stop = () => decoder.close();
    io.signal.addEventListener("abort", stop, { once: true });
    try {
      for await (const img of decoder.iterate(source)) {
        const name = `${img.fragmentNumber ?? String(n).padStart(6, "0")}-${Math.round(img.timestampMs)}.${EXT[format]}`;
        await writeFile(join(dir, name), img.data);
        n++;
        if (!isFile)
          io.out(`${name} ${img.width}x${img.height}${img.serverTimestampMs !== null ? ` server ${new Date(img.serverTimestampMs).toISOString()}` : ""}`);
      }
    } finally {
      io.signal.removeEventListener("abort", stop);
    }
    if (n === 0 && isFile && !io.signal.aborted)
      throw new InputError(
        `no images: ${target === "-" ? "the input" : target} has no ${values.track === undefined ? "video " : `track ${values.track} `}frames to decode`,
      );
    io.out(`${n} images in ${dir}${decoder.dropped ? ` (${decoder.dropped} frames dropped: the decoder fell behind)` : ""}`);
    return 0;
  },
};

async function liveSource(stream: string, values: Record<string, unknown>, decoder: ImageDecoder, io: CliIo) {
  const clients = await clientsFor(values, io);
  const { liveMedia } = await import("../aws/live-media.js");
  const count = intOption(values.count, "--count");
  let fragments = 0;
  const events = liveMedia(clients, stream, {
    from: parseFrom(values.from, "NOW"),
    gate: decoder.gate,
    signal: io.signal,
    onStatus: reportStatus(io, stream, endpointOf(values)),
  });
  // With --count: up to and with the Nth fragment event (its frames come before it).
  return count === undefined ? events : events.pipe(takeWhile((ev) => !(ev.type === "fragment" && ++fragments >= count), true));
}
