// MSI reception (SDM Vol. 3 11.11; vmx.md 10): address 0xFEE / destination 19:12 / DM bit 2, data vector,
// delivery mode, trigger; destination filtering in xAPIC and x2APIC modes.

import { describe, expect, it } from 'vitest';
import { makeApic, mmioWrite, rd32, vectorsOf, x2apic, xapicEnable } from './helpers.js';
import type { LocalApic } from '../../../src/devices/apic/local-apic.js';

const msiAddress = (dest: number, logical = false, rh = false): number =>
  (0xfee00000 | (dest << 12) | (rh ? 8 : 0) | (logical ? 4 : 0)) >>> 0;
const irrOf = (a: LocalApic, x2: boolean): number[] =>
  vectorsOf((i) => (x2 ? rd32(a, 0x820 + i) : a.read(0x200 + i * 0x10, 4)));

describe('MSI', () => {
  it('a fixed MSI to this APIC sets IRR and notifies the CPU', () => {
    const { apic, notified } = makeApic({ apicId: 0 });
    x2apic(apic);
    apic.deliverMsi(msiAddress(0), 0x4000 | 0x41); // Linux: level-assert bit set, edge
    expect(irrOf(apic, true)).toEqual([0x41]);
    expect(notified()).toBe(1);
    expect(apic.acknowledge()).toBe(0x41);
    expect(apic.stats.msis).toBe(1);
  });

  it('lowest-priority is treated as fixed on one CPU', () => {
    const { apic } = makeApic();
    x2apic(apic);
    apic.deliverMsi(msiAddress(0, false, true), 0x100 | 0x42);
    expect(irrOf(apic, true)).toEqual([0x42]);
  });

  it.each([
    [2, 'SMI'],
    [4, 'NMI'],
    [5, 'INIT'],
    [7, 'ExtINT'],
  ])('delivery mode %s (%s) is counted and dropped', (mode) => {
    const { apic } = makeApic();
    x2apic(apic);
    apic.deliverMsi(msiAddress(0), (mode << 8) | 0x43);
    expect(irrOf(apic, true)).toEqual([]);
    expect(apic.stats.dropped).toBe(1);
  });

  it('a level-triggered de-assert message carries no interrupt', () => {
    const { apic } = makeApic();
    x2apic(apic);
    apic.deliverMsi(msiAddress(0), 0x8000 | 0x44);
    expect(irrOf(apic, true)).toEqual([]);
    expect(apic.stats.dropped).toBe(1);
  });

  it('an address outside 0xFEExxxxx is dropped', () => {
    const { apic } = makeApic();
    x2apic(apic);
    apic.deliverMsi(0xfed00000, 0x45);
    expect(irrOf(apic, true)).toEqual([]);
  });

  it.each([
    ['physical, own ID', 5, false, true],
    ['physical, other ID', 6, false, false],
    ['physical broadcast 0xFF', 0xff, false, true],
    ['logical, own bit (x2APIC cluster 0)', 0x20, true, true],
    ['logical, other bit', 0x10, true, false],
  ])('x2APIC mode, %s: accepted = %s', (_name, dest, logical, accepted) => {
    const { apic } = makeApic({ apicId: 5 });
    x2apic(apic);
    apic.deliverMsi(msiAddress(dest, logical), 0x46);
    expect(irrOf(apic, true)).toEqual(accepted ? [0x46] : []);
  });

  it.each([
    ['physical, own ID', 5, false, true],
    ['physical, other ID', 4, false, false],
    ['physical broadcast 0xFF', 0xff, false, true],
    ['logical flat, own bit', 0x08, true, true],
    ['logical flat, other bit', 0x04, true, false],
  ])('xAPIC mode, %s: accepted = %s', (_name, dest, logical, accepted) => {
    const { apic } = makeApic({ apicId: 5 });
    xapicEnable(apic);
    mmioWrite(apic, 0xd0, 0x08000000);
    apic.deliverMsi(msiAddress(dest, logical, logical), 0x47);
    expect(irrOf(apic, false)).toEqual(accepted ? [0x47] : []);
  });

  it('a software-disabled APIC drops MSIs', () => {
    const { apic } = makeApic();
    apic.deliverMsi(msiAddress(0), 0x48);
    expect(irrOf(apic, false)).toEqual([]);
    expect(apic.stats.dropped).toBe(1);
  });

  it('snapshot shows the state without changing it', () => {
    const { apic } = makeApic({ apicId: 1 });
    x2apic(apic);
    apic.deliverMsi(msiAddress(1), 0x8000 | 0x4000 | 0x49);
    apic.deliverMsi(msiAddress(1), 0x4a);
    apic.acknowledge();
    const snap = apic.snapshot();
    expect(snap).toMatchObject({ mode: 'x2apic', id: 1, irr: [0x49], isr: [0x4a], tmr: [0x49], ppr: 0x40 });
    expect(snap.stats.accepted).toBe(2);
    expect(apic.snapshot()).toEqual(snap);
  });
});
