import { compareFragmentNumbers, isFragmentNumber } from "../kvs/fragment-number.js";
import { KvsParserError } from "../ebml/kvs-parser-error.js";

/** Where an app stands on a stream. */
export interface Checkpoint {
  /** The last fragment the app finished with (decimal string, up to 128 digits). */
  readonly fragmentNumber: string;
  /** The CONTINUATION_TOKEN that resumes right after it, when known. */
  readonly continuationToken: string | null;
  /** When it was written, ms since the epoch. */
  readonly updatedAt: number;
}

/** Conditions a checkpoint write can carry. */
export interface PutOptions {
  /** Only write while this worker holds the app's lease (DynamoDB store). */
  readonly owner?: string;
}

/** The key of a (stream, app) pair in a store or lease table. */
export function checkpointKey(stream: string, app: string): string {
  return `${encodeURIComponent(stream)}|${encodeURIComponent(app)}`;
}

/** Persists checkpoints per (stream, app). A checkpoint never moves backwards. */
export interface CheckpointStore {
  /** The app's checkpoint on the stream, or null when it has none. */
  get(stream: string, app: string): Promise<Checkpoint | null>;
  /**
   * Moves the checkpoint forward (writing the same fragment again is a no-op success). Rejects with
   * {@link CheckpointConflictError} when it would move backwards or the writer lost its lease.
   */
  put(stream: string, app: string, checkpoint: Checkpoint, options?: PutOptions): Promise<void>;
}

/** A checkpoint write refused because it would move backwards or the writer no longer owns the app. */
export class CheckpointConflictError extends KvsParserError {
  override readonly name = "CheckpointConflictError";
  /** Always "CHECKPOINT_CONFLICT". */
  declare readonly code: "CHECKPOINT_CONFLICT";
  /** The checkpoint in the store when the write was refused. */
  readonly current: Checkpoint | null;
  /** What the refused write tried to store. */
  readonly attempted: Checkpoint;

  /** The write of `attempted` was refused; `current` is what the store holds. */
  constructor(message: string, attempted: Checkpoint, current: Checkpoint | null) {
    super("CHECKPOINT_CONFLICT", message, {
      action: "stop processing this stream for this app: another worker owns it or has checkpointed past this one",
    });
    this.attempted = attempted;
    this.current = current;
  }
}

/** Throws TypeError unless the checkpoint holds a valid fragment number. */
export function validateCheckpoint(cp: Checkpoint): void {
  if (!isFragmentNumber(cp.fragmentNumber)) throw new TypeError(`invalid fragment number in checkpoint: ${JSON.stringify(cp.fragmentNumber)}`);
}

/** Throws CheckpointConflictError when `next` would move `current` backwards. */
export function assertForward(current: Checkpoint | null, next: Checkpoint, where: string): void {
  if (current !== null && compareFragmentNumbers(next.fragmentNumber, current.fragmentNumber) < 0) {
    throw new CheckpointConflictError(`${where}: checkpoint would move backwards from ${current.fragmentNumber} to ${next.fragmentNumber}`, next, current);
  }
}

/** Keeps checkpoints in memory (tests, single-process apps that need no restart). */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly items = new Map<string, Checkpoint>();

  /** @inheritdoc */
  async get(stream: string, app: string): Promise<Checkpoint | null> {
    return this.items.get(`${stream}\u0000${app}`) ?? null;
  }

  /** @inheritdoc */
  async put(stream: string, app: string, checkpoint: Checkpoint): Promise<void> {
    validateCheckpoint(checkpoint);
    const key = `${stream}\u0000${app}`;
    assertForward(this.items.get(key) ?? null, checkpoint, `${stream}/${app}`);
    this.items.set(key, { ...checkpoint });
  }
}
