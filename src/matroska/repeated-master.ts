import { KeptBytes } from "../ebml/kept-bytes.js";

/**
 * What the last clean read of one kind of master (the EBML header, Info, Tracks) produced, kept with its
 * bytes: GetMedia repeats the same ones in every fragment, and a repeat is recognised by comparing
 * bytes instead of reading its children again. A read is clean when it ended without anything unknown
 * in it (`mark`, a count of unknown elements met, did not move).
 */
export class RepeatedMaster<T> {
  private bytes: KeptBytes | null = null;
  private value: T | null = null;
  private candidate: KeptBytes | null = null;
  private candidateOffset = -1;
  private candidateMark = 0;

  /**
   * The kept value when `buf[s..e)` repeats the bytes of the last clean read; otherwise null, and these
   * bytes (of the master at `offset`) are held until {@link settle} says how its read ended.
   */
  repeatOf(buf: Uint8Array, s: number, e: number, offset: number, mark: number): T | null {
    if (this.bytes?.matches(buf, s, e)) return this.value;
    this.candidate = new KeptBytes(buf, s, e);
    this.candidateOffset = offset;
    this.candidateMark = mark;
    return null;
  }

  /** The read of the master at `offset` ended with `value`: kept for repeats if its bytes were held and it was clean. */
  settle(offset: number, mark: number, value: T): void {
    if (this.candidate !== null && this.candidateOffset === offset && this.candidateMark === mark) {
      this.bytes = this.candidate;
      this.value = value;
    }
    this.candidate = null;
    this.candidateOffset = -1;
  }
}
