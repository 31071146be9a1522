import type { MkvParseError } from "../../src/ebml/errors.js";
import type { EbmlSink } from "../../src/ebml/reader.js";

/** An EbmlSink that records every call as a readable line. */
export class RecordingSink implements EbmlSink {
  readonly log: string[] = [];
  masterStart(id: number, offset: number, dataOffset: number, size: number): void {
    this.log.push(`start ${id.toString(16)} @${offset} data@${dataOffset} size ${size}`);
  }
  masterEnd(id: number, offset: number, endOffset: number): void {
    this.log.push(`end ${id.toString(16)} @${offset}-${endOffset}`);
  }
  data(id: number, buf: Uint8Array, start: number, end: number, offset: number, dataOffset: number): void {
    this.log.push(`data ${id.toString(16)} @${offset} data@${dataOffset} [${Buffer.from(buf.subarray(start, end)).toString("hex")}]`);
  }
  skipped(id: number, offset: number, dataOffset: number, size: number, known: boolean): void {
    this.log.push(`skip ${id.toString(16)} @${offset} data@${dataOffset} size ${size} ${known ? "known" : "unknown"}`);
  }
  recovered(error: MkvParseError, resumeOffset: number): void {
    this.log.push(`recovered ${error.code} @${error.offset} resume@${resumeOffset}`);
  }
}

/** Bytes from a hex string (spaces ignored). */
export function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
}
