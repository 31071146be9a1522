import { describe, expect, it } from "vitest";
import { costOf, LoadMeter, WARMUP_WINDOWS } from "../../src/consumer/load-meter.js";

describe("LoadMeter: what a held stream costs its fleet worker", () => {
  it("a stream costs its handler's ms per second, plus 1 ms per MB read, plus 1 for holding it", () => {
    expect(costOf(0, 0, 1)).toBe(1);
    expect(costOf(200, 0, 2)).toBe(101);
    expect(costOf(0, 3e6, 1)).toBe(4);
    expect(costOf(50, 1e6, 0.5)).toBe(103);
  });

  it("keeps the previous holder's measure through the warm-up windows, then measures its own", () => {
    const meter = new LoadMeter(7, 0);
    let t = 0;
    for (let i = 0; i < WARMUP_WINDOWS; i++) {
      meter.add(900, 0); // a backlog burst: not the stream's cost
      expect(meter.sample((t += 1000))).toBe(7);
    }
    meter.add(100, 0);
    expect(meter.sample((t += 1000))).toBeCloseTo(0.9 * 7 + 0.1 * 101);
  });

  it("without a previous measure: null through the warm-up, then the first window's cost as it is", () => {
    const meter = new LoadMeter(null, 0);
    for (let i = 1; i <= WARMUP_WINDOWS; i++) expect(meter.sample(i * 1000)).toBeNull();
    meter.add(40, 2e6);
    expect(meter.sample((WARMUP_WINDOWS + 2) * 1000)).toBe(costOf(40, 2e6, 2));
  });

  it("a window closes only after a second: work added before it counts in it", () => {
    const meter = new LoadMeter(null, 0);
    for (let i = 1; i <= WARMUP_WINDOWS; i++) meter.sample(i * 1000);
    const start = WARMUP_WINDOWS * 1000;
    meter.add(30, 0);
    expect(meter.sample(start + 999)).toBeNull(); // not a second yet: nothing measured, nothing reset
    meter.add(30, 0);
    expect(meter.sample(start + 1500)).toBe(costOf(60, 0, 1.5));
  });

  it("smooths over about ten windows: a steady cost is kept, one spike moves it by a tenth of the difference", () => {
    const meter = new LoadMeter(null, 0);
    let t = 0;
    for (let i = 0; i < WARMUP_WINDOWS; i++) meter.sample((t += 1000));
    for (let i = 0; i < 60; i++) {
      meter.add(100, 0);
      meter.sample((t += 1000));
    }
    expect(meter.load).toBeCloseTo(101);
    meter.add(1100, 0);
    expect(meter.sample((t += 1000))).toBeCloseTo(101 + 0.1 * (1101 - 101));
  });
});
