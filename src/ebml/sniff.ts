/** Says what a byte sequence that is not EBML looks like, for error messages ("an MP4 file ('ftyp' box)"). */
export function describeNonEbml(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n === 0) return "empty input";
  const ascii = (s: number, e: number) => String.fromCharCode(...bytes.subarray(s, Math.min(e, n)));
  if (n >= 8 && ["ftyp", "moov", "moof", "mdat", "styp", "free", "wide"].includes(ascii(4, 8))) return `an MP4/QuickTime file ('${ascii(4, 8)}' box)`;
  if (bytes[0] === 0x47 && (n <= 188 || bytes[188] === 0x47)) return "an MPEG-TS stream (0x47 sync bytes every 188 bytes)";
  if (ascii(0, 4) === "RIFF") return `a RIFF file (${ascii(8, 12).trim() || "WAV/AVI"})`;
  if (ascii(0, 4) === "OggS") return "an Ogg stream ('OggS')";
  if (ascii(0, 4) === "fLaC") return "a raw FLAC stream";
  if (ascii(0, 3) === "ID3" || (bytes[0] === 0xff && n > 1 && (bytes[1]! & 0xe0) === 0xe0)) return "an MP3/MPEG audio stream";
  if (ascii(0, 3) === "FLV") return "an FLV file";
  if (bytes[0] === 0x89 && ascii(1, 4) === "PNG") return "a PNG image";
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "a JPEG image";
  if (bytes[0] === 0 && bytes[1] === 0 && (bytes[2] === 1 || (bytes[2] === 0 && bytes[3] === 1))) return "a raw Annex-B video stream (start codes)";
  const head = bytes.subarray(0, Math.min(n, 64));
  if (head.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f) || b >= 0x80)) {
    const text = new TextDecoder("utf-8").decode(head).replace(/\s+/g, " ").trim();
    return `text: "${text.length > 40 ? `${text.slice(0, 40)}…` : text}"`;
  }
  return `unrecognised bytes ${[...bytes.subarray(0, Math.min(n, 8))].map((b) => b.toString(16).padStart(2, "0")).join(" ")}`;
}
