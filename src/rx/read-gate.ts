/**
 * How a slow consumer holds a reader back: the reader asks before reading the next chunk, and waits
 * while the answer is a promise (the socket then fills and TCP slows the sender). Null means go on.
 * `Demand` (rx/demand) is the one the library's sinks use; pass it as a reader's `gate`.
 */
export interface ReadGate {
  wait(): Promise<void> | null;
}
