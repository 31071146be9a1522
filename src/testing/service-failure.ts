import { KvsParserError } from "../ebml/kvs-parser-error.js";

/** A failure the local endpoint answers with: an HTTP status and the service's exception name. */
export class ServiceFailure extends KvsParserError {
  override readonly name = "ServiceFailure";
  /** Always "SERVICE_FAILURE" (the service's exception name is `type`). */
  declare readonly code: "SERVICE_FAILURE";
  /** A failure with its HTTP status and exception type (InvalidArgumentException, …). */
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super("SERVICE_FAILURE", message, { retryable: status >= 500 || status === 429 });
  }
}
