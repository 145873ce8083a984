import { expect } from "chai";
import fc from "fast-check";
import { VirtualClock } from "../../sim/clock.js";
import { noFaults, type SimDevice } from "../../sim/devices/types.js";
import { DurationError, formatDuration, parseDuration } from "../../sim/duration.js";
import { FaultScheduler, FaultSpecError, parseFaultSpec, randomPowerCuts, DEFAULT_POWER_CUT_MS, type FaultTarget } from "../../sim/faults.js";
import { createRng } from "../../sim/random.js";

const H = 3_600_000;
const M = 60_000;

describe("durations", () => {
  it("parses the units and their combinations", () => {
    expect(parseDuration("90m")).to.equal(90 * M);
    expect(parseDuration("6h")).to.equal(6 * H);
    expect(parseDuration("2d")).to.equal(48 * H);
    expect(parseDuration("30s")).to.equal(30_000);
    expect(parseDuration("1h30m")).to.equal(90 * M);
    expect(parseDuration("1d2h3m4s5ms")).to.equal(93_784_005);
    expect(parseDuration("1.5h")).to.equal(90 * M);
    expect(parseDuration(" 10M ")).to.equal(10 * M);
    expect(parseDuration("0s")).to.equal(0);
  });

  it("refuses bad durations with a message", () => {
    for (const [bad, why] of [["", "empty"], ["90", "no unit"], ["h", "bad duration"], ["1x", "bad duration"], ["30m1h", "largest to smallest"], ["1h1h", "largest to smallest"], ["-5m", "bad duration"], ["1h 30m", "bad duration"]]) {
      expect(() => parseDuration(bad), bad).to.throw(DurationError, why);
    }
  });

  it("formats what it parses", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 400 * 86_400_000 }), (ms) => {
      expect(parseDuration(formatDuration(ms))).to.equal(ms);
    }));
  });
});

describe("fault specs", () => {
  it("parses node and device faults", () => {
    expect(parseFaultSpec("wifi-down@2h+30m")).to.deep.include({ kind: "wifi-down", node: undefined, device: undefined, startMs: 2 * H, lengthMs: 30 * M });
    expect(parseFaultSpec("broker-down@6h")).to.deep.include({ kind: "broker-down", startMs: 6 * H, lengthMs: undefined });
    expect(parseFaultSpec("power-cut:air-01@3h+10s")).to.deep.include({ kind: "power-cut", node: "air-01", startMs: 3 * H, lengthMs: 10_000 });
    expect(parseFaultSpec("power-cut:*@1h")).to.deep.include({ node: undefined });
    expect(parseFaultSpec("unplug:pm@1h+2h")).to.deep.include({ kind: "unplug", node: undefined, device: "pm", startMs: H, lengthMs: 2 * H });
    expect(parseFaultSpec("garbage:air-02/sds011@30m+10m")).to.deep.include({ kind: "garbage", node: "air-02", device: "sds011", startMs: 30 * M, lengthMs: 10 * M });
    expect(parseFaultSpec("stuck:esp32-bin/bin@1h30m")).to.deep.include({ kind: "stuck", node: "esp32-bin", device: "bin", startMs: 90 * M });
    expect(parseFaultSpec("WIFI-DOWN@0s")).to.deep.include({ kind: "wifi-down", startMs: 0 });
  });

  it("says what is wrong with a bad spec", () => {
    const cases: Array<[string, string]> = [
      ["wifi-down", 'missing "@<start>"'],
      ["@1h", "missing the kind"],
      ["flood@1h", 'unknown kind "flood"'],
      ["unplug@1h", "needs a device"],
      ["unplug:@1h", "empty target"],
      ["wifi-down:air-01/pm@1h", "targets a node"],
      ["stuck:a/b/c@1h", 'one "/"'],
      ["unplug:p m@1h", 'bad device "p m"'],
      ["power-cut:a$b@1h", 'bad node "a$b"'],
      ["wifi-down@soon", 'bad duration "soon"'],
      ["wifi-down@2h+", "empty duration"],
      ["wifi-down@2h+0s", "more than 0"],
      ["wifi-down@90", "no unit"],
    ];
    for (const [spec, why] of cases) {
      expect(() => parseFaultSpec(spec), spec).to.throw(FaultSpecError, why);
      try { parseFaultSpec(spec); } catch (err) { expect((err as Error).message).to.not.include("\n"); }
    }
  });

  it("never throws anything but a FaultSpecError, whatever the input", () => {
    const kind = fc.constantFrom("wifi-down", "broker-down", "power-cut", "unplug", "garbage", "stuck", "bad-checksum", "x", "");
    const piece = fc.constantFrom("", ":", "@", "+", "/", "*", "pm", "air-01", "1h", "30m", "2d", "1.5h", "h", "9", "-", "..", "1h30m", "\u0000", "é");
    const nearly = fc.tuple(kind, fc.array(piece, { maxLength: 8 })).map(([k, ps]) => k + ps.join(""));
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), nearly), (s) => {
      try {
        const f = parseFaultSpec(s);
        expect(f.startMs).to.be.at.least(0);
        expect(Number.isFinite(f.startMs)).to.equal(true);
      } catch (err) {
        expect(err).to.be.instanceOf(FaultSpecError);
      }
    }), { numRuns: 2000 });
  });
});

class FakeDevice implements SimDevice {
  readonly faults = noFaults();
  constructor(readonly model: string) {}
  currentMa(): number { return 0; }
  active(): boolean { return false; }
}

function fakeNode(id: string, board: string, devices: { [name: string]: string }): FaultTarget & { cuts: Array<[number, number]>; clock?: VirtualClock } {
  const node = {
    id,
    board,
    devices: Object.fromEntries(Object.entries(devices).map(([n, m]) => [n, new FakeDevice(m)])),
    cuts: [] as Array<[number, number]>,
    clock: undefined as VirtualClock | undefined,
    powerCut(ms: number) { node.cuts.push([node.clock!.now(), ms]); },
  };
  return node;
}

describe("fault scheduler", () => {
  const start = Date.UTC(2026, 0, 15);
  function setup() {
    const clock = new VirtualClock(start);
    const nodes = [fakeNode("air-01", "esp32-air", { pm: "sds011", noise: "sen0232" }), fakeNode("air-02", "esp32-air", { pm: "sds011" }), fakeNode("pole-01", "esp32-pole", { pm: "pms5003", lamp: "relay" })];
    for (const n of nodes) n.clock = clock;
    const sched = new FaultScheduler(clock, start, start + 24 * H, nodes);
    return { clock, nodes, sched };
  }

  it("sets device fault flags for their period, by name or model, per node or board", () => {
    const { clock, nodes, sched } = setup();
    sched.schedule(["unplug:sds011@1h+2h", "garbage:pole-01/pm@2h+30m", "stuck:esp32-pole/lamp@5h"].map(parseFaultSpec));
    const [a1, a2, p1] = nodes;
    clock.runUntil(start + H - 1);
    expect(a1.devices.pm.faults.unplugged).to.equal(false);
    clock.runUntil(start + H);
    expect(a1.devices.pm.faults.unplugged).to.equal(true);
    expect(a2.devices.pm.faults.unplugged).to.equal(true);
    expect(p1.devices.pm.faults.unplugged).to.equal(false); // pms5003, not sds011
    expect(a1.devices.noise.faults.unplugged).to.equal(false);
    clock.runUntil(start + 2 * H + M);
    expect(p1.devices.pm.faults.garbage).to.equal(true);
    clock.runUntil(start + 3 * H);
    expect(a1.devices.pm.faults.unplugged).to.equal(false);
    expect(p1.devices.pm.faults.garbage).to.equal(false);
    clock.runUntil(start + 23 * H);
    expect(p1.devices.lamp.faults.stuck).to.equal(true); // no length: to the end of the run
    expect(sched.applied.map((a) => `${a.kind} ${a.node}/${a.device}`)).to.deep.equal([
      "unplug air-01/pm", "unplug air-02/pm", "garbage pole-01/pm", "stuck pole-01/lamp",
    ]);
  });

  it("keeps a flag set while overlapping faults last", () => {
    const { clock, nodes, sched } = setup();
    sched.schedule(["unplug:air-01/pm@1h+2h", "unplug:air-01/pm@2h+2h"].map(parseFaultSpec));
    clock.runUntil(start + 3 * H + M);
    expect(nodes[0].devices.pm.faults.unplugged).to.equal(true);
    clock.runUntil(start + 4 * H);
    expect(nodes[0].devices.pm.faults.unplugged).to.equal(false);
  });

  it("cuts power at the instant for the length, default a few seconds", () => {
    const { clock, nodes, sched } = setup();
    sched.schedule(["power-cut:air-02@3h+10s", "power-cut:esp32-pole@4h"].map(parseFaultSpec));
    clock.runUntil(start + 24 * H);
    expect(nodes[1].cuts).to.deep.equal([[start + 3 * H, 10_000]]);
    expect(nodes[2].cuts).to.deep.equal([[start + 4 * H, DEFAULT_POWER_CUT_MS]]);
    expect(nodes[0].cuts).to.deep.equal([]);
  });

  it("takes Wi-Fi and the broker away for their intervals", () => {
    const { sched } = setup();
    sched.schedule(["wifi-down@2h+30m", "broker-down:pole-01@6h+1h"].map(parseFaultSpec));
    expect(sched.wifiUp("air-01", start + 2 * H - 1)).to.equal(true);
    expect(sched.wifiUp("air-01", start + 2 * H)).to.equal(false);
    expect(sched.wifiUp("pole-01", start + 2 * H + 29 * M)).to.equal(false);
    expect(sched.wifiUp("air-01", start + 2 * H + 30 * M)).to.equal(true);
    expect(sched.brokerReachable("pole-01", start + 6 * H + 5 * M)).to.equal(false);
    expect(sched.brokerReachable("air-01", start + 6 * H + 5 * M)).to.equal(true);
  });

  it("refuses faults that select nothing, and schedules nothing then", () => {
    const { clock, nodes, sched } = setup();
    expect(() => sched.schedule(["unplug:pm@1h", "power-cut:air-09@1h"].map(parseFaultSpec))).to.throw(FaultSpecError, 'no node "air-09"');
    expect(() => sched.schedule([parseFaultSpec("unplug:air-02/lamp@1h")])).to.throw(FaultSpecError, 'no device "lamp"');
    clock.runUntil(start + 2 * H);
    expect(nodes[0].devices.pm.faults.unplugged).to.equal(false);
    expect(sched.applied).to.deep.equal([]);
  });

  it("spreads random power cuts reproducibly over the run", () => {
    const ids = ["a", "b", "c"];
    const one = randomPowerCuts(20, createRng(5), ids, 24 * H);
    const two = randomPowerCuts(20, createRng(5), ids, 24 * H);
    expect(one).to.deep.equal(two);
    expect(one).to.have.length(20);
    for (const f of one) {
      expect(f.startMs).to.be.within(M, 24 * H);
      expect(f.lengthMs).to.be.within(1000, 30_000);
      expect(ids).to.include(f.node);
      expect(parseFaultSpec(f.text)).to.deep.equal(f); // printable and re-usable as --fault
    }
    expect(new Set(one.map((f) => f.node)).size).to.equal(3);
  });
});
