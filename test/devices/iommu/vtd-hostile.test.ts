// Hostile DMA through the VT-d unit (ecosystem.md 5.2 items 1-4): unmapped and read-only targets, page
// crossings into unmapped pages, IOVAs beyond the width, translations into MMIO or beyond RAM, and a seeded
// random check that no byte ever lands outside what the mappings allow.

import { describe, expect, it } from 'vitest';
import { DmaStatus } from '../../../src/core/dma.js';
import { Rng } from '../../../src/core/rng.js';
import { VTD_BASE } from '../../../src/devices/iommu/vtd.js';
import { VtdReg } from '../../../src/devices/iommu/vtd-regs.js';
import { NIC, R, RW, VtdFixture } from './vtd-fixture.js';

const filled = (n: number, v = 0xcc) => new Uint8Array(n).fill(v);

function changedBytes(before: Uint8Array, after: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) out.push(i);
  return out;
}

describe('hostile DMA (ecosystem 5.2)', () => {
  it('1: DMA to an unmapped IOVA faults, is recorded, and never falls through to physical = IOVA', () => {
    const f = new VtdFixture(0x40_0000);
    f.map(NIC, 0x1000, 0x10_0000);
    f.enableTranslation();
    f.unmaskFaults();
    const before = f.memory.u8.slice();
    expect(f.unit.write(NIC, 0x8000, filled(64), 64)).toBe(DmaStatus.Fault);
    expect(changedBytes(before, f.memory.u8)).toEqual([]);
    // The level-2 entry for 0x8000 is absent (R = W = 0): a write is refused with FR 5.
    expect(f.frcd(0)).toMatchObject({ f: true, reason: 0x05, sid: NIC, lo: 0x8000, hi: 0, read: false });
    expect(f.sink.msis.length).toBe(1);
  });

  it('1: a read of an unmapped IOVA hands the device all-ones, not RAM contents', () => {
    const f = new VtdFixture(0x40_0000);
    f.memory.fill(0x8000, 0x100, 0x42);
    f.enableTranslation();
    const dst = new Uint8Array(16);
    expect(f.unit.read(NIC, 0x8000, dst, 16)).toBe(DmaStatus.Fault);
    expect([...dst]).toEqual(new Array(16).fill(0xff));
  });

  it('1: a write to a read-only mapping faults (FR 5) and RAM is unchanged', () => {
    const f = new VtdFixture(0x40_0000);
    f.map(NIC, 0x1000, 0x10_0000, { perm: R });
    f.enableTranslation();
    const before = f.memory.u8.slice();
    expect(f.unit.write(NIC, 0x1000, filled(16), 16)).toBe(DmaStatus.Fault);
    expect(f.frcd(0).reason).toBe(0x05);
    expect(changedBytes(before, f.memory.u8)).toEqual([]);
  });

  it('2: a write crossing from a mapped into an unmapped page writes only the mapped part', () => {
    const f = new VtdFixture(0x40_0000);
    f.map(NIC, 0x1000, 0x10_0000);
    f.enableTranslation();
    const before = f.memory.u8.slice();
    expect(f.unit.write(NIC, 0x1f00, filled(0x200), 0x200)).toBe(DmaStatus.Fault);
    const changed = changedBytes(before, f.memory.u8);
    expect(changed.length).toBe(0x100);
    expect(changed[0]).toBe(0x10_0f00);
    expect(changed[changed.length - 1]).toBe(0x10_0fff);
    expect(f.frcd(0).lo).toBe(0x2000);
  });

  it('2: a read crossing into an unmapped page returns the mapped bytes then all-ones', () => {
    const f = new VtdFixture(0x40_0000);
    f.map(NIC, 0x1000, 0x10_0000);
    f.memory.fill(0x10_0ff0, 0x10, 0x11);
    f.enableTranslation();
    const dst = new Uint8Array(0x20);
    expect(f.unit.read(NIC, 0x1ff0, dst, 0x20)).toBe(DmaStatus.Fault);
    expect([...dst.subarray(0, 0x10)]).toEqual(new Array(16).fill(0x11));
    expect([...dst.subarray(0x10)]).toEqual(new Array(16).fill(0xff));
  });

  it('3: IOVAs beyond the address width fault with FR 4, including 64-bit-sized numbers', () => {
    const f = new VtdFixture(0x40_0000);
    f.map(NIC, 0x1000, 0x10_0000);
    f.enableTranslation();
    for (const iova of [2 ** 39, 2 ** 40 + 0x1000, 2 ** 52, 2 ** 60]) {
      expect(f.unit.write(NIC, iova, filled(4), 4)).toBe(DmaStatus.Fault);
      const pending = f.unit.snapshot().faults;
      expect(pending.map((p) => p.reason)).toEqual([0x04]);
      f.clearFrcd(pending[0].index);
    }
    // Not an address at all: refused without a fault record.
    for (const iova of [-4096, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(f.unit.write(NIC, iova, filled(4), 4)).toBe(DmaStatus.Rejected);
    }
    expect(f.unit.snapshot().faults).toEqual([]);
  });

  it('3: with translation off an IOVA above 4 GiB is Rejected, not wrapped to a low address', () => {
    const f = new VtdFixture(0x40_0000);
    const before = f.memory.u8.slice();
    expect(f.unit.write(NIC, 2 ** 32 + 0x1000, filled(4), 4)).toBe(DmaStatus.Rejected);
    expect(changedBytes(before, f.memory.u8)).toEqual([]);
  });

  it('4: a translation into MMIO (a BAR, the IOMMU page, the LAPIC) is Rejected and no device is touched', () => {
    const f = new VtdFixture(0x40_0000);
    f.memory.mapMmio(VTD_BASE, 0x1000, f.unit.registers);
    f.map(NIC, 0x1000, 0xfeb80000);
    f.map(NIC, 0x2000, VTD_BASE);
    f.map(NIC, 0x3000, 0xfee00000);
    f.enableTranslation();
    const regs = Array.from({ length: 0x100 / 4 }, (_, i) => f.r32(i * 4));
    for (const iova of [0x1000, 0x2000, 0x3000]) {
      expect(f.unit.write(NIC, iova, filled(8), 8)).toBe(DmaStatus.Rejected);
      const dst = new Uint8Array(8);
      expect(f.unit.read(NIC, iova, dst, 8)).toBe(DmaStatus.Rejected);
      expect([...dst]).toEqual(new Array(8).fill(0xff));
    }
    expect(f.mmio.accesses).toEqual([]);
    expect(Array.from({ length: 0x100 / 4 }, (_, i) => f.r32(i * 4))).toEqual(regs);
    expect(f.sink.msis).toEqual([]);
    expect(f.unit.stats.rejected).toBe(6);
  });

  it('4: a translation beyond RAM (unbacked, or above 4 GiB) is Rejected', () => {
    const f = new VtdFixture(0x40_0000);
    f.map(NIC, 0x1000, 0x4000_0000);
    const leaf = f.map(NIC, 0x2000, 0x1000);
    f.q64(leaf, 0x7f, 0x1000 | RW); // host page 0x7f_0000_1000
    f.enableTranslation();
    const before = f.memory.u8.slice();
    expect(f.unit.write(NIC, 0x1000, filled(4), 4)).toBe(DmaStatus.Rejected);
    expect(f.unit.write(NIC, 0x2000, filled(4), 4)).toBe(DmaStatus.Rejected);
    expect(changedBytes(before, f.memory.u8)).toEqual([]);
    expect(f.memory.unclaimedWrites).toBe(0);
  });

  it('4: a page that ends RAM: a transfer running past it stops at the RAM boundary', () => {
    const f = new VtdFixture(0x40_0000);
    f.map(NIC, 0x1000, 0x3f_f000);
    f.map(NIC, 0x2000, 0x40_0000); // just past RAM
    f.enableTranslation();
    const before = f.memory.u8.slice();
    expect(f.unit.write(NIC, 0x1ffc, filled(8), 8)).toBe(DmaStatus.Rejected);
    expect(changedBytes(before, f.memory.u8)).toEqual([0x3f_fffc, 0x3f_fffd, 0x3f_fffe, 0x3f_ffff]);
  });

  it('4: with translation on, a DMA write to the interrupt window is Rejected and raises no MSI', () => {
    const f = new VtdFixture(0x40_0000);
    f.enableTranslation();
    expect(f.unit.write(NIC, 0xfee00000, Uint8Array.of(0x30, 0, 0, 0), 4)).toBe(DmaStatus.Rejected);
    expect(f.sink.msis).toEqual([]);
    expect(f.r32(VtdReg.FSTS)).toBe(0);
  });

  it('malformed requests (length beyond the buffer, negative) are Rejected without touching RAM', () => {
    const f = new VtdFixture(0x40_0000);
    const before = f.memory.u8.slice();
    expect(f.unit.write(NIC, 0x1000, filled(4), 8)).toBe(DmaStatus.Rejected);
    expect(f.unit.write(NIC, 0x1000, filled(4), -1)).toBe(DmaStatus.Rejected);
    expect(f.unit.read(NIC, 0x1000, new Uint8Array(4), 4.5)).toBe(DmaStatus.Rejected);
    expect(f.unit.write(NIC, 0x1000, filled(4), 0)).toBe(DmaStatus.Ok);
    expect(changedBytes(before, f.memory.u8)).toEqual([]);
  });

  it('random DMA never writes outside writable mappings (seeded)', () => {
    const f = new VtdFixture(0x40_0000);
    const rng = new Rng(0x5eed);
    const allowed = new Uint8Array(0x40_0000 / 4096); // host pages writable through some mapping
    for (let p = 0; p < 64; p++) {
      const perm = rng.below(4);
      const hpa = (16 + rng.below(256)) * 4096;
      f.map(NIC, p * 4096, hpa, { perm });
      if (perm & 2) allowed[hpa / 4096] = 1;
    }
    f.enableTranslation();
    const tablesStart = f.memory.ramBytes / 2;
    const before = f.memory.u8.slice();
    for (let i = 0; i < 2000; i++) {
      const iova = rng.below(80 * 4096);
      const len = 1 + rng.below(9000);
      const status = f.unit.write(NIC, iova, filled(len, 1 + rng.below(255)), len);
      expect([DmaStatus.Ok, DmaStatus.Fault, DmaStatus.Rejected]).toContain(status);
      if (rng.below(8) === 0) for (let n = 0; n < 4; n++) f.clearFrcd(n);
      if (rng.below(16) === 0) f.w32(VtdReg.FSTS, 1);
    }
    for (const a of changedBytes(before, f.memory.u8)) {
      expect(a < tablesStart && allowed[Math.floor(a / 4096)] === 1, `byte ${a.toString(16)} written`).toBe(true);
    }
    expect(f.mmio.accesses).toEqual([]);
  });
});
