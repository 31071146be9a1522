// Checkpointed cursors: stores, leases, consume(), in-process fan-out.
export { CheckpointConflictError, MemoryCheckpointStore, type Checkpoint, type CheckpointStore, type PutOptions } from "./store.js";
export { FileCheckpointStore, type BeforeRenameHook } from "./file-store.js";
export { DynamoDbCheckpointStore, DynamoDbLeaseTable, ensureCheckpointTable, checkpointKey } from "./dynamodb-store.js";
export { acquireLease, MemoryLeaseTable, type Lease, type LeaseOptions, type LeaseState, type LeaseTable } from "./lease.js";
export { consume, type ConsumeOptions, type Consumer, type ConsumerSummary, type FragmentSource, type Lag } from "./consume.js";
export { FanOutHub, type FanOutOptions } from "./fan-out.js";
