import { ListStreamsCommand, ListTagsForStreamCommand } from "@aws-sdk/client-kinesis-video";
import type { KvsClients } from "./clients.js";

/** Which streams a fleet reads: a fixed list, a function, or what ListStreams (and stream tags) select. */
export type StreamSelection =
  | readonly string[]
  | (() => Promise<readonly string[]>)
  | { readonly namePrefix?: string; readonly tags?: Readonly<Record<string, string>> };

/** Lists the streams a selection names. */
export async function selectStreams(clients: KvsClients, selection: StreamSelection, signal: AbortSignal): Promise<string[]> {
  if (Array.isArray(selection)) return [...(selection as readonly string[])];
  if (typeof selection === "function") return [...(await selection())];
  const { namePrefix, tags } = selection as { namePrefix?: string; tags?: Readonly<Record<string, string>> };
  const names: { name: string; arn: string }[] = [];
  let next: string | undefined;
  do {
    const page = await clients.control.send(
      new ListStreamsCommand({
        MaxResults: 10000,
        NextToken: next,
        StreamNameCondition: namePrefix ? { ComparisonOperator: "BEGINS_WITH", ComparisonValue: namePrefix } : undefined,
      }),
      { abortSignal: signal },
    );
    for (const s of page.StreamInfoList ?? []) if (s.StreamName && s.Status !== "DELETING") names.push({ name: s.StreamName, arn: s.StreamARN ?? "" });
    next = page.NextToken || undefined;
  } while (next !== undefined);
  if (!tags || Object.keys(tags).length === 0) return names.map((n) => n.name);
  const out: string[] = [];
  for (const n of names) {
    const r = await clients.control.send(new ListTagsForStreamCommand({ StreamName: n.name }), { abortSignal: signal });
    if (Object.entries(tags).every(([k, v]) => r.Tags?.[k] === v)) out.push(n.name);
  }
  return out;
}
