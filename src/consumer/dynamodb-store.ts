import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KvsParserError } from "../ebml/kvs-parser-error.js";
import { sleep } from "../aws/backoff.js";
import type { FleetLease, FleetLeaseTable, Heartbeat, LeaseState } from "./lease.js";
import { CheckpointConflictError, checkpointKey, validateCheckpoint, type Checkpoint, type CheckpointStore, type PutOptions } from "./store.js";

let sdk: Promise<typeof import("@aws-sdk/client-dynamodb")> | undefined;
/** The DynamoDB client package, loaded on first use: `kvs-parser/consumer` works without it for the other stores. */
function dynamoDb(): Promise<typeof import("@aws-sdk/client-dynamodb")> {
  sdk ??= import("@aws-sdk/client-dynamodb");
  return sdk;
}

/** True when a DynamoDB call failed with the exception of this name (by name: the caller's SDK copy may differ from ours). */
function isError(e: unknown, name: string): boolean {
  return (e as { name?: unknown } | null)?.name === name;
}

/** Fragment numbers have up to 128 digits: padded to this width they compare as strings. */
const KEY_WIDTH = 128;

function sortable(fragmentNumber: string): string {
  return fragmentNumber.replace(/^0+(?=\d)/, "").padStart(KEY_WIDTH, "0");
}

/** Creates the checkpoint/lease table (partition key `pk`, on-demand) if it does not exist, and waits until it is active. */
export async function ensureCheckpointTable(client: DynamoDBClient, tableName: string, timeoutMs = 30_000): Promise<void> {
  try {
    await client.send(
      new (await dynamoDb()).CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  } catch (e) {
    if (!isError(e, "ResourceInUseException")) throw e;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const d = await client.send(new (await dynamoDb()).DescribeTableCommand({ TableName: tableName }));
    if (d.Table?.TableStatus === "ACTIVE") return;
    await sleep(100);
  }
  throw new TableNotActiveError(tableName, timeoutMs);
}

/** A DynamoDB table {@link ensureCheckpointTable} created (or found) did not become ACTIVE in time. */
export class TableNotActiveError extends KvsParserError {
  override readonly name = "TableNotActiveError";
  /** Always "TABLE_NOT_ACTIVE". */
  declare readonly code: "TABLE_NOT_ACTIVE";
  /** The table `tableName` was not ACTIVE after `timeoutMs`. */
  constructor(
    /** The table that is not ACTIVE. */
    readonly tableName: string,
    /** How long ensureCheckpointTable waited. */
    readonly timeoutMs: number,
  ) {
    super("TABLE_NOT_ACTIVE", `DynamoDB table ${tableName} not active after ${timeoutMs} ms`, {
      retryable: true,
      action: "call ensureCheckpointTable again (a new table can take a while), or check the table in DynamoDB",
    });
  }
}

/**
 * Checkpoints (and leases, see {@link DynamoDbLeaseTable}) in one DynamoDB item per (stream, app), for
 * apps spread over machines. Fragment numbers are stored as strings (DynamoDB numbers hold only 38
 * digits); a conditional write on a zero-padded copy keeps checkpoints from moving backwards, and
 * with `owner` only the lease holder can write.
 */
export class DynamoDbCheckpointStore implements CheckpointStore {
  /** Uses `client` and an existing table (see ensureCheckpointTable). */
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  /** @inheritdoc */
  async get(stream: string, app: string): Promise<Checkpoint | null> {
    const r = await this.client.send(
      new (await dynamoDb()).GetItemCommand({ TableName: this.tableName, Key: { pk: { S: checkpointKey(stream, app) } }, ConsistentRead: true }),
    );
    const item = r.Item;
    if (!item?.fragmentNumber?.S) return null;
    return { fragmentNumber: item.fragmentNumber.S, continuationToken: item.continuationToken?.S ?? null, updatedAt: Number(item.updatedAt?.N ?? 0) };
  }

  /** @inheritdoc */
  async put(stream: string, app: string, checkpoint: Checkpoint, options: PutOptions = {}): Promise<void> {
    validateCheckpoint(checkpoint);
    const values: Record<string, AttributeValue> = {
      ":fn": { S: checkpoint.fragmentNumber },
      ":fk": { S: sortable(checkpoint.fragmentNumber) },
      ":ct": checkpoint.continuationToken === null ? { NULL: true } : { S: checkpoint.continuationToken },
      ":ua": { N: String(checkpoint.updatedAt) },
    };
    let condition = "(attribute_not_exists(fragmentKey) OR fragmentKey <= :fk)";
    if (options.owner !== undefined) {
      condition += " AND leaseOwner = :owner";
      values[":owner"] = { S: options.owner };
    }
    try {
      await this.client.send(
        new (await dynamoDb()).UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: checkpointKey(stream, app) } },
          UpdateExpression: "SET fragmentNumber = :fn, fragmentKey = :fk, continuationToken = :ct, updatedAt = :ua",
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (e) {
      if (!isError(e, "ConditionalCheckFailedException")) throw e;
      // On a failed condition no item comes back: read it to say why.
      const current = await this.get(stream, app);
      const lease = await new DynamoDbLeaseTable(this.client, this.tableName).read(checkpointKey(stream, app));
      const why =
        options.owner !== undefined && lease?.owner !== options.owner
          ? `${options.owner} does not hold the lease (held by ${lease?.owner ?? "nobody"})`
          : `checkpoint would move backwards from ${current?.fragmentNumber} to ${checkpoint.fragmentNumber}`;
      throw new CheckpointConflictError(`${stream}/${app}: ${why}`, checkpoint, current);
    }
  }
}

/**
 * Leases stored on the checkpoint items (attributes leaseOwner, leaseCounter; fleets add app and
 * stream), with conditional writes: a checkpoint written with `owner` is fenced by the same item.
 */
export class DynamoDbLeaseTable implements FleetLeaseTable {
  /** Uses `client` and an existing table (see ensureCheckpointTable). */
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  /** @inheritdoc */
  async read(key: string): Promise<LeaseState | null> {
    const r = await this.client.send(
      new (await dynamoDb()).GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: key } },
        ConsistentRead: true,
        ProjectionExpression: "leaseOwner, leaseCounter",
      }),
    );
    if (!r.Item || r.Item.leaseCounter === undefined) return null;
    return { owner: r.Item.leaseOwner?.S ?? null, counter: Number(r.Item.leaseCounter.N ?? 0) };
  }

  /** @inheritdoc */
  async list(app: string): Promise<FleetLease[]> {
    const out: FleetLease[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new (await dynamoDb()).ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          FilterExpression: "app = :app",
          ExpressionAttributeValues: { ":app": { S: app } },
          ProjectionExpression: "pk, #s, leaseOwner, leaseCounter, wantedBy, leaseLoad",
          ExpressionAttributeNames: { "#s": "stream" }, // a reserved word
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        out.push({
          key: item.pk!.S!,
          stream: item.stream?.S ?? "",
          owner: item.leaseOwner?.S ?? null,
          counter: Number(item.leaseCounter?.N ?? 0),
          wantedBy: item.wantedBy?.S ?? null,
          load: item.leaseLoad?.N !== undefined ? Number(item.leaseLoad.N) : null,
        });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** @inheritdoc */
  async register(key: string, app: string, stream: string): Promise<void> {
    await this.client.send(
      new (await dynamoDb()).UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: key } },
        UpdateExpression: "SET app = :app, #s = :s",
        ExpressionAttributeNames: { "#s": "stream" }, // a reserved word
        ExpressionAttributeValues: { ":app": { S: app }, ":s": { S: stream } },
      }),
    );
  }

  /** @inheritdoc */
  async claim(key: string, owner: string, expected: LeaseState | null): Promise<boolean> {
    const values: Record<string, AttributeValue> = { ":me": { S: owner }, ":one": { N: "1" } };
    let condition = "attribute_not_exists(leaseCounter)";
    if (expected !== null) {
      condition = "leaseCounter = :c";
      values[":c"] = { N: String(expected.counter) };
    }
    return this.conditional(key, "SET leaseOwner = :me REMOVE wantedBy ADD leaseCounter :one", condition, values);
  }

  /** @inheritdoc */
  async renew(key: string, owner: string): Promise<boolean> {
    return this.conditional(key, "ADD leaseCounter :one", "leaseOwner = :me", { ":me": { S: owner }, ":one": { N: "1" } });
  }

  /** @inheritdoc */
  async release(key: string, owner: string): Promise<void> {
    await this.conditional(key, "REMOVE leaseOwner, wantedBy ADD leaseCounter :one", "leaseOwner = :me", { ":me": { S: owner }, ":one": { N: "1" } });
  }

  /** @inheritdoc */
  async heartbeat(key: string, owner: string, load: number | null): Promise<Heartbeat> {
    const values: Record<string, AttributeValue> = { ":me": { S: owner }, ":one": { N: "1" } };
    if (load !== null) values[":load"] = { N: String(Math.round(load * 100) / 100) };
    const item = await this.conditionalItem(key, `${load !== null ? "SET leaseLoad = :load " : ""}ADD leaseCounter :one`, "leaseOwner = :me", values);
    return item === null ? { held: false, wantedBy: null } : { held: true, wantedBy: item.wantedBy?.S ?? null };
  }

  /** @inheritdoc */
  async requestHandoff(key: string, owner: string, to: string): Promise<boolean> {
    return this.conditional(key, "SET wantedBy = :to", "leaseOwner = :owner AND attribute_not_exists(wantedBy)", { ":owner": { S: owner }, ":to": { S: to } });
  }

  /** @inheritdoc */
  async handOver(key: string, owner: string, to: string): Promise<boolean> {
    return this.conditional(key, "SET leaseOwner = :to REMOVE wantedBy ADD leaseCounter :one", "leaseOwner = :me", {
      ":me": { S: owner },
      ":to": { S: to },
      ":one": { N: "1" },
    });
  }

  private async conditional(key: string, update: string, condition: string, values: Record<string, AttributeValue>): Promise<boolean> {
    return (await this.conditionalItem(key, update, condition, values)) !== null;
  }

  /** A conditional update; the item as updated, or null when the condition failed. */
  private async conditionalItem(
    key: string,
    update: string,
    condition: string,
    values: Record<string, AttributeValue>,
  ): Promise<Record<string, AttributeValue> | null> {
    try {
      const r = await this.client.send(
        new (await dynamoDb()).UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: key } },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
        }),
      );
      return r.Attributes ?? {};
    } catch (e) {
      if (isError(e, "ConditionalCheckFailedException")) return null;
      throw e;
    }
  }
}
