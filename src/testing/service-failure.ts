/** A failure the local endpoint answers with: an HTTP status and the service's exception name. */
export class ServiceFailure extends Error {
  /** A failure with its HTTP status and exception type (InvalidArgumentException, …). */
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}
