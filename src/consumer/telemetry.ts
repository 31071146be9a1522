import type { Observable } from "rxjs";
import type { FleetMetrics } from "./fleet.js";

/**
 * Publishes a fleet worker's metrics through @opentelemetry/api (an optional peer dependency): per
 * stream lag, queued fragments, fragments and reconnects by cause; per worker leases held and lease
 * events. Without an OpenTelemetry SDK installed by the app these are no-ops. Resolves to a function that
 * stops publishing; resolves to a no-op when @opentelemetry/api is not installed.
 */
export async function publishFleetMetrics(metrics$: Observable<FleetMetrics>, meterName = "kvs-parser"): Promise<() => void> {
  let api: typeof import("@opentelemetry/api");
  try {
    api = await import("@opentelemetry/api");
  } catch {
    return () => {};
  }
  let latest: FleetMetrics | null = null;
  const sub = metrics$.subscribe((m) => (latest = m));
  const meter = api.metrics.getMeter(meterName);
  const behind = meter.createObservableGauge("kvs.stream.millis_behind_now", { unit: "ms", description: "MILLIS_BEHIND_NOW of the last handled fragment" });
  const queued = meter.createObservableGauge("kvs.stream.queued_fragments", { description: "fragments received but not yet handled" });
  const fragments = meter.createObservableCounter("kvs.stream.fragments", { description: "fragments handled" });
  const reconnects = meter.createObservableCounter("kvs.stream.reconnects", { description: "reader reconnects, by cause" });
  const leases = meter.createObservableGauge("kvs.fleet.leases_held", { description: "stream leases this worker holds" });
  const events = meter.createObservableCounter("kvs.fleet.lease_events", { description: "leases taken, stolen (handed to this worker), handed over and lost" });
  const callback: import("@opentelemetry/api").BatchObservableCallback = (result) => {
    const m = latest;
    if (!m) return;
    const base = { app: m.app, worker: m.worker };
    result.observe(leases, m.leasesHeld, base);
    result.observe(events, m.leasesTaken, { ...base, event: "taken" });
    result.observe(events, m.leasesStolen, { ...base, event: "stolen" });
    result.observe(events, m.leasesHandedOver, { ...base, event: "handedOver" });
    result.observe(events, m.leasesLost, { ...base, event: "lost" });
    for (const s of m.perStream) {
      const attrs = { ...base, stream: s.stream };
      if (s.millisBehindNow !== null) result.observe(behind, s.millisBehindNow, attrs);
      result.observe(queued, s.queuedFragments, attrs);
      result.observe(fragments, s.fragments, attrs);
      for (const [cause, n] of Object.entries(s.reconnects)) result.observe(reconnects, n, { ...attrs, cause });
    }
  };
  const observables = [behind, queued, fragments, reconnects, leases, events];
  meter.addBatchObservableCallback(callback, observables);
  return () => {
    meter.removeBatchObservableCallback(callback, observables);
    sub.unsubscribe();
  };
}
