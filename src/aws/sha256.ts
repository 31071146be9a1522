import { createHash, createHmac } from "node:crypto";

/** The SHA-256 that @smithy/signature-v4 needs, on node:crypto (a hash, or an HMAC with a secret). */
export class NodeSha256 {
  private readonly h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  /** A hash, or with `secret` an HMAC. */
  constructor(secret?: unknown) {
    this.h = secret ? createHmac("sha256", secret as string | Uint8Array) : createHash("sha256");
  }
  /** Adds bytes. */
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  /** The digest. */
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}
