import { createHash } from "node:crypto";

/** 2^92: the step between a stream's consecutive fragment numbers in the service's captures. */
const STEP = 1n << 92n;
/** The leading digits every captured fragment number shares (47 digits in all). */
const BASE = 91343852333000000000000000000000000000000000000n;

/**
 * Fragment numbers as the service makes them: 47-digit decimal strings, increasing within a stream and
 * unique across streams and over time (restarts included). The high part is a server-wide counter that
 * never goes back and never falls behind the clock (microseconds), the low 92 bits a mark of the stream.
 */
export class FragmentNumbers {
  private last = 0n;

  /** Numbers continue after `atLeast` (the highest number issued before a restart, if any). */
  constructor(atLeast: string | null = null) {
    if (atLeast !== null && /^\d+$/.test(atLeast)) this.last = (BigInt(atLeast) - BASE) / STEP;
  }

  /** The next fragment number of the stream named by `streamArn`, at server time `nowMs`. */
  next(streamArn: string, nowMs: number): string {
    const clock = BigInt(Math.floor(nowMs)) * 1000n;
    this.last = clock > this.last ? clock : this.last + 1n;
    return (BASE + this.last * STEP + streamMark(streamArn)).toString();
  }
}

/** A stream's 92-bit mark, from its ARN. */
function streamMark(arn: string): bigint {
  const h = createHash("sha256").update(arn).digest();
  let v = 0n;
  for (let i = 0; i < 12; i++) v = (v << 8n) | BigInt(h[i]!);
  return v & (STEP - 1n);
}
