// The APIC timer (SDM Vol. 3 11.5.4) on the simulated clock: one-shot, periodic, TSC-deadline, divide values,
// current count on read, masking, stopping, mode switches. The timer clock is the cycle clock / divisor.

import { describe, expect, it } from 'vitest';
import { makeApic, rd32, rdmsr, runTo, vectorsOf, wrmsr, x2apic } from './helpers.js';
import type { LocalApic } from '../../../src/devices/apic/local-apic.js';

const irr = (a: LocalApic): number[] => vectorsOf((i) => rd32(a, 0x820 + i));
const ONE_SHOT = 0;
const PERIODIC = 1 << 17;
const TSC_DEADLINE = 2 << 17;

function rig(lvt: number, divide = 0xb /* ÷1 */) {
  const r = makeApic();
  x2apic(r.apic);
  wrmsr(r.apic, 0x83e, divide);
  wrmsr(r.apic, 0x832, lvt);
  return r;
}

describe('one-shot', () => {
  it('counts down at the cycle clock / divisor and fires once at 0', () => {
    const { apic, s } = rig(ONE_SHOT | 0x40);
    s.now = 1000;
    wrmsr(apic, 0x838, 500);
    expect(rd32(apic, 0x839)).toBe(500);
    runTo(s, 1200);
    expect(rd32(apic, 0x839)).toBe(300);
    runTo(s, 1499);
    expect(rd32(apic, 0x839)).toBe(1);
    expect(irr(apic)).toEqual([]);
    runTo(s, 1500);
    expect(irr(apic)).toEqual([0x40]);
    expect(rd32(apic, 0x839)).toBe(0);
    expect(rd32(apic, 0x838)).toBe(500); // initial count stays
    runTo(s, 10_000);
    expect(apic.timer.expiries).toBe(1);
    expect(s.nextDeadline()).toBe(Infinity);
  });

  it('reads 0 once past expiry even before the scheduler ran the timer', () => {
    const { apic, s } = rig(ONE_SHOT | 0x40);
    wrmsr(apic, 0x838, 10);
    s.now = 50;
    expect(rd32(apic, 0x839)).toBe(0);
  });

  it('writing initial count 0 stops it; rewriting restarts from the new count', () => {
    const { apic, s } = rig(ONE_SHOT | 0x40);
    wrmsr(apic, 0x838, 100);
    runTo(s, 50);
    wrmsr(apic, 0x838, 0);
    expect(rd32(apic, 0x839)).toBe(0);
    runTo(s, 1000);
    expect(irr(apic)).toEqual([]);
    wrmsr(apic, 0x838, 100);
    runTo(s, 1099);
    expect(irr(apic)).toEqual([]);
    runTo(s, 1100);
    expect(irr(apic)).toEqual([0x40]);
  });

  it('a masked LVT timer counts and expires without an interrupt', () => {
    const { apic, s } = rig(ONE_SHOT | 0x10000 | 0x40);
    wrmsr(apic, 0x838, 10);
    runTo(s, 100);
    expect(apic.timer.expiries).toBe(1);
    expect(irr(apic)).toEqual([]);
  });

  it('an illegal LVT timer vector sets ESR receive-illegal at expiry', () => {
    const { apic, s } = rig(ONE_SHOT | 0x05);
    wrmsr(apic, 0x838, 10);
    runTo(s, 10);
    wrmsr(apic, 0x828, 0);
    expect(rd32(apic, 0x828)).toBe(0x40);
  });
});

describe('divide configuration', () => {
  // [DCR bits 3,1,0 value, divisor]: SDM Figure 11-10.
  const table: [number, number][] = [
    [0x0, 2],
    [0x1, 4],
    [0x2, 8],
    [0x3, 16],
    [0x8, 32],
    [0x9, 64],
    [0xa, 128],
    [0xb, 1],
  ];
  it.each(table)('DCR %s divides by %s', (dcr, div) => {
    const { apic, s } = rig(ONE_SHOT | 0x40, dcr);
    wrmsr(apic, 0x838, 10);
    runTo(s, 3 * div);
    expect(rd32(apic, 0x839)).toBe(7);
    runTo(s, 10 * div - 1);
    expect(irr(apic)).toEqual([]);
    runTo(s, 10 * div);
    expect(irr(apic)).toEqual([0x40]);
  });

  it('reset divide value is 0 (÷2)', () => {
    const { apic, s } = makeApic();
    x2apic(apic);
    wrmsr(apic, 0x832, 0x40);
    wrmsr(apic, 0x838, 10);
    expect(s.nextDeadline()).toBe(20);
  });

  it('changing the divisor mid-count keeps the count and continues at the new rate', () => {
    const { apic, s } = rig(ONE_SHOT | 0x40, 0xb);
    wrmsr(apic, 0x838, 100);
    runTo(s, 40);
    wrmsr(apic, 0x83e, 0x0); // ÷2
    expect(rd32(apic, 0x839)).toBe(60);
    runTo(s, 40 + 2 * 30);
    expect(rd32(apic, 0x839)).toBe(30);
    runTo(s, 40 + 2 * 60);
    expect(irr(apic)).toEqual([0x40]);
  });
});

describe('periodic', () => {
  it('fires every initial-count * divisor cycles and reloads', () => {
    const { apic, s } = rig(PERIODIC | 0x50, 0x0); // ÷2
    wrmsr(apic, 0x838, 1000); // period 2000 cycles
    const fires: number[] = [];
    for (let t = 0; t <= 10_000; t += 500) {
      runTo(s, t);
      if (irr(apic).includes(0x50)) {
        fires.push(t);
        apic.acknowledge();
        wrmsr(apic, 0x80b, 0);
      }
    }
    expect(fires).toEqual([2000, 4000, 6000, 8000, 10000]);
    expect(apic.timer.expiries).toBe(5);
  });

  it('current count wraps from 1 back to the initial count', () => {
    const { apic, s } = rig(PERIODIC | 0x50);
    wrmsr(apic, 0x838, 100);
    runTo(s, 99);
    expect(rd32(apic, 0x839)).toBe(1);
    runTo(s, 100);
    expect(rd32(apic, 0x839)).toBe(100);
    runTo(s, 130);
    expect(rd32(apic, 0x839)).toBe(70);
    s.now = 260; // late scheduler: the count is still right
    expect(rd32(apic, 0x839)).toBe(40);
  });

  it('does not drift when the scheduler runs late', () => {
    const { apic, s } = rig(PERIODIC | 0x50);
    wrmsr(apic, 0x838, 100);
    s.now = 130;
    s.runDue();
    expect(s.nextDeadline()).toBe(200);
  });

  it('switching periodic -> one-shot lets the current period finish and stops', () => {
    const { apic, s } = rig(PERIODIC | 0x50);
    wrmsr(apic, 0x838, 100);
    runTo(s, 150);
    wrmsr(apic, 0x832, ONE_SHOT | 0x50);
    runTo(s, 1000);
    expect(apic.timer.expiries).toBe(2);
  });
});

describe('TSC-deadline', () => {
  it('fires when the TSC reaches IA32_TSC_DEADLINE, then disarms and reads 0', () => {
    const { apic, s, tscOffset } = rig(TSC_DEADLINE | 0x60);
    tscOffset.value = 1_000_000; // TSC ahead of the cycle clock
    s.now = 100;
    expect(wrmsr(apic, 0x6e0, 1_000_600)).toBe(true);
    expect(rdmsr(apic, 0x6e0)).toBe(1_000_600n);
    expect(s.nextDeadline()).toBe(600);
    runTo(s, 599);
    expect(irr(apic)).toEqual([]);
    runTo(s, 600);
    expect(irr(apic)).toEqual([0x60]);
    expect(rdmsr(apic, 0x6e0)).toBe(0n);
  });

  it('a deadline already passed fires at once; 0 disarms', () => {
    const { apic, s } = rig(TSC_DEADLINE | 0x60);
    s.now = 1000;
    wrmsr(apic, 0x6e0, 10);
    expect(irr(apic)).toEqual([0x60]);
    wrmsr(apic, 0x6e0, 5000);
    wrmsr(apic, 0x6e0, 0);
    expect(s.nextDeadline()).toBe(Infinity);
  });

  it('a 64-bit deadline round-trips through the MSR', () => {
    const { apic } = rig(TSC_DEADLINE | 0x60);
    wrmsr(apic, 0x6e0, 0x12_3456_789an);
    expect(rdmsr(apic, 0x6e0)).toBe(0x12_3456_789an);
  });

  it('initial count is ignored and current count reads 0 in TSC-deadline mode', () => {
    const { apic, s } = rig(TSC_DEADLINE | 0x60);
    wrmsr(apic, 0x838, 100);
    expect(rd32(apic, 0x838)).toBe(0);
    expect(rd32(apic, 0x839)).toBe(0);
    expect(s.nextDeadline()).toBe(Infinity);
  });

  it('outside TSC-deadline mode the MSR reads 0 and writes are ignored', () => {
    const { apic, s } = rig(ONE_SHOT | 0x60);
    expect(wrmsr(apic, 0x6e0, 100)).toBe(true);
    expect(rdmsr(apic, 0x6e0)).toBe(0n);
    expect(s.nextDeadline()).toBe(Infinity);
  });

  it('switching into or out of TSC-deadline mode disarms the timer', () => {
    const { apic, s } = rig(ONE_SHOT | 0x60);
    wrmsr(apic, 0x838, 100);
    wrmsr(apic, 0x832, TSC_DEADLINE | 0x60);
    expect(s.nextDeadline()).toBe(Infinity);
    expect(rd32(apic, 0x838)).toBe(0);
    wrmsr(apic, 0x6e0, 500);
    wrmsr(apic, 0x832, PERIODIC | 0x60);
    expect(s.nextDeadline()).toBe(Infinity);
    runTo(s, 1000);
    expect(irr(apic)).toEqual([]);
  });

  it('works in xAPIC mode too', () => {
    const { apic, s } = makeApic();
    apic.write(0xf0, 4, 0x1ff);
    apic.write(0x320, 4, TSC_DEADLINE | 0x61);
    wrmsr(apic, 0x6e0, 50);
    runTo(s, 50);
    expect(apic.hasInterrupt()).toBe(true);
    expect(apic.acknowledge()).toBe(0x61);
  });
});

describe('xAPIC timer registers', () => {
  it('initial count 0x380, current count 0x390, divide 0x3E0', () => {
    const { apic, s } = makeApic();
    apic.write(0xf0, 4, 0x1ff);
    apic.write(0x3e0, 4, 0x3); // ÷16
    apic.write(0x320, 4, 0x20030);
    apic.write(0x380, 4, 0xffffffff);
    runTo(s, 1600);
    expect(apic.read(0x390, 4)).toBe(0xffffffff - 100);
    expect(apic.read(0x3e0, 4)).toBe(3);
    apic.write(0x390, 4, 5); // read-only
    expect(apic.read(0x390, 4)).toBe(0xffffffff - 100);
  });
});
