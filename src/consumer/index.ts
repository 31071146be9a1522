// kvs-parser/consumer: checkpointed apps on KVS streams: stores, consume(), leases, in-process fan-out.
export { CheckpointConflictError, MemoryCheckpointStore, type Checkpoint, type CheckpointStore, type PutOptions } from "./store.js";
export { FileCheckpointStore, type BeforeRenameHook } from "./file-store.js";
export { DynamoDbCheckpointStore, DynamoDbLeaseTable, ensureCheckpointTable, TableNotActiveError } from "./dynamodb-store.js";
export { MemoryLeaseTable, LeaseLostError, type FleetLease, type FleetLeaseTable, type LeaseOptions, type LeaseState, type LeaseTable } from "./lease.js";
export { consume, type ConsumeOptions, type Consumer, type ConsumerSummary, type Lag } from "./consume.js";
export type { CheckpointEvery } from "./checkpoint-policy.js";
export type { HandlerErrorPolicy } from "./handler.js";
export { liveSource, type FragmentSource, type SourceRequest, type LiveSourceOptions } from "./source.js";
export { FanOutHub, type FanOutOptions } from "./fan-out.js";
export {
  fleet,
  type Fleet,
  type FleetItem,
  type FleetMetrics,
  type FleetOptions,
  type FleetSummary,
  type StreamMetrics,
} from "./fleet.js";
export type { StreamSelection } from "../aws/stream-selection.js";
export { planBalance, type BalanceOptions, type BalancePlan, type LeaseView } from "./balancer.js";
export { publishFleetMetrics } from "./telemetry.js";
