/** A lease as the balancer sees it: who holds it, whether that holder is alive, and what the stream costs. */
export interface LeaseView {
  readonly key: string;
  /** The holder, or null when nobody holds it. */
  readonly owner: string | null;
  /** True when the holder renewed within the lease duration (a lease held by a dead or stalled worker is free). */
  readonly live: boolean;
  /** What reading and handling the stream costs its holder (ms of work per second); null until measured. */
  readonly load: number | null;
  /** The worker that asked the holder to hand the stream over, if any. */
  readonly wantedBy: string | null;
  /** False while the stream settles after a move (it is not moved again so soon). */
  readonly settled: boolean;
}

/** Options of {@link planBalance}. */
export interface BalanceOptions {
  /** How far a worker's load may sit from the mean before streams move (default 0.1: ±10 %). */
  readonly tolerance?: number;
  /** Most handoffs a worker asks for in one round (default 64). */
  readonly maxRequests?: number;
}

/** What one worker should do this round. */
export interface BalancePlan {
  /** Free leases (no holder, or a dead one) to claim (a claim another worker won first is left to it). */
  readonly take: readonly LeaseView[];
  /** Leases of live workers to ask to be handed over (the holder finishes, checkpoints, hands over). */
  readonly request: readonly LeaseView[];
  /** Live workers (this one included). */
  readonly workers: number;
  /** Load per live worker, counting streams asked for as already moved. */
  readonly loads: ReadonlyMap<string, number>;
  /** The mean load per worker. */
  readonly mean: number;
}

/**
 * Decides one round of a fleet worker `me`, from the lease table alone (pure: every worker runs it on
 * what it reads, and conditional writes settle races). Free streams are taken while this worker's load
 * is under the mean. Then, while it is below the mean by more than the tolerance, or a busier worker is
 * above it by more, it asks that worker for the stream that shrinks their difference most (one that costs
 * less than the difference). Each move lowers the sum of squared loads, so rounds converge instead of
 * trading streams back and forth; workers within the tolerance are left alone, and a worker that moves
 * goes on to within half of it. Streams asked for count as their asker's (for every worker, not just the
 * asker), so a second asker does not take a busy worker's excess again. Costs count in whole units of
 * a cheap stream's cost (streams alike cost the same, so measuring noise moves nothing); a stream
 * not measured yet costs the mean of those that are (1 when none is), so streams of unknown cost
 * balance by count.
 */
export function planBalance(me: string, leases: readonly LeaseView[], options: BalanceOptions = {}): BalancePlan {
  const tolerance = options.tolerance ?? 0.1;
  const maxRequests = options.maxRequests ?? 64;
  const measured = leases
    .filter((l) => l.load !== null && l.load > 0)
    .map((l) => l.load!)
    .sort((a, b) => a - b);
  // Costs in whole units of a cheap stream's (the 10th percentile): streams alike cost the same, so their measuring noise moves nothing.
  const unit = measured.length === 0 ? 1 : measured[Math.floor(measured.length / 10)]!;
  const quantize = (c: number) => Math.max(1, Math.round(c / unit)) * unit;
  const unknownCost = measured.length === 0 ? 1 : quantize(measured.reduce((a, b) => a + b, 0) / measured.length);
  const cost = (l: LeaseView) => (l.load !== null && l.load > 0 ? quantize(l.load) : unknownCost);
  const isFree = (l: LeaseView) => l.owner === null || (l.owner !== me && !l.live);
  // Who holds what now: a stream asked for counts as its asker's, so a second asker does not take the same excess again.
  const live = new Set<string>([me]);
  for (const l of leases) if (!isFree(l)) live.add(l.owner!);
  const loads = new Map<string, number>([[me, 0]]);
  const movable = new Map<string, LeaseView[]>();
  for (const l of leases) {
    if (isFree(l)) continue;
    const holder = l.wantedBy !== null && live.has(l.wantedBy) ? l.wantedBy : l.owner!;
    loads.set(holder, (loads.get(holder) ?? 0) + cost(l));
    if (holder !== me && l.wantedBy === null && l.settled) movable.set(holder, [...(movable.get(holder) ?? []), l]);
  }
  const total = leases.reduce((n, l) => n + cost(l), 0);
  const workers = loads.size;
  const mean = total / workers;
  const take: LeaseView[] = [];
  let mine = loads.get(me)!;
  for (const l of leases.filter(isFree).sort((a, b) => cost(b) - cost(a))) {
    if (mine >= mean) break;
    take.push(l);
    mine += cost(l);
  }
  loads.set(me, mine);
  const request: LeaseView[] = [];
  while (request.length < maxRequests) {
    let best: { lease: LeaseView; from: string; gain: number } | null = null;
    for (const [worker, theirs] of movable) {
      const theirsLoad = loads.get(worker)!;
      const gap = theirsLoad - mine;
      // Only a worker outside the tolerance moves a stream (one below it asks, one above it is asked);
      // once it moves, it goes on to within half the tolerance, so the next measure's noise does not start it again.
      const band = request.length === 0 ? tolerance : tolerance / 2;
      if (gap <= 0 || (mine >= mean * (1 - band) && theirsLoad <= mean * (1 + band))) continue;
      for (const l of theirs) {
        const c = cost(l);
        if (c >= gap) continue; // the pair would end further apart
        const gain = gap - Math.abs(gap - 2 * c); // how much the pair's difference shrinks
        if (best === null || gain > best.gain) best = { lease: l, from: worker, gain };
      }
    }
    if (best === null) break;
    request.push(best.lease);
    const c = cost(best.lease);
    mine += c;
    loads.set(me, mine);
    loads.set(best.from, loads.get(best.from)! - c);
    movable.set(
      best.from,
      movable.get(best.from)!.filter((l) => l !== best!.lease),
    );
  }
  return { take, request, workers, loads, mean };
}
