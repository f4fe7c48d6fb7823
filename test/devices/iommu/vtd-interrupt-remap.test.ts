// VT-d interrupt remapping: remappable MSIs deliver their IRTE's vector and destination, compatibility MSIs
// are blocked while IRE = 1 (unless CFIS), and each interrupt-remapping fault reason is recorded.

import { describe, expect, it } from 'vitest';
import { DmaStatus } from '../../../src/core/dma.js';
import { Gcmd, VtdReg } from '../../../src/devices/iommu/vtd-regs.js';
import { NIC, OTHER, VtdFixture, remappableAddress } from './vtd-fixture.js';

function remapping(s = 0xf): VtdFixture {
  const f = new VtdFixture();
  f.enableRemapping(s);
  return f;
}

describe('VT-d interrupt remapping: delivery', () => {
  it('with IRE off an MSI is delivered unchanged', () => {
    const f = new VtdFixture();
    expect(f.unit.msi(NIC, 0xfee01000, 0x4031)).toBe(DmaStatus.Ok);
    expect(f.sink.msis).toEqual([{ address: 0xfee01000, data: 0x4031 }]);
  });

  it('addresses outside the interrupt window are Rejected', () => {
    const f = remapping();
    expect(f.unit.msi(NIC, 0xfed00000, 0x31)).toBe(DmaStatus.Rejected);
    expect(f.unit.msi(NIC, 2 ** 32 + 0xfee00000, 0x31)).toBe(DmaStatus.Rejected);
    expect(f.sink.msis).toEqual([]);
  });

  it('a remappable MSI delivers the IRTE vector and destination; the data it carried is ignored', () => {
    const f = remapping();
    f.irte(1, 0x41, { dest: 3, sid: NIC, svt: 1 });
    expect(f.unit.msi(NIC, remappableAddress(1), 0xee)).toBe(DmaStatus.Ok);
    expect(f.sink.msis).toEqual([{ address: 0xfee03000, data: 0x41 }]);
  });

  it('the kvm-unit-tests IRTE (FPD, SVT=01, DST unshifted 0) delivers its vector to APIC 0', () => {
    const f = remapping();
    f.irte(2, 0x62, { sid: NIC, svt: 1, fpd: true });
    f.unit.msi(NIC, remappableAddress(2), 0);
    expect(f.sink.msis).toEqual([{ address: 0xfee00000, data: 0x62 }]);
  });

  it('handle bit 15 (address bit 2) and SHV + sub-handle select the index', () => {
    const f = remapping();
    f.irte(0x8001, 0x51);
    f.irte(0x25, 0x52);
    f.unit.msi(NIC, remappableAddress(0x8001), 0);
    f.unit.msi(NIC, remappableAddress(0x20, true), 5);
    expect(f.sink.msis.map((m) => m.data)).toEqual([0x51, 0x52]);
  });

  it('level-triggered IRTEs produce level, asserted messages; DM and RH are carried', () => {
    const f = remapping();
    f.irte(3, 0x70, { tm: 1 });
    const a = f.irt + 3 * 16;
    f.memory.write(a, 4, f.memory.read(a, 4) | (1 << 2) | (1 << 3) | (1 << 5));
    f.unit.msi(NIC, remappableAddress(3), 0);
    expect(f.sink.msis).toEqual([{ address: 0xfee0000c, data: 0x70 | (1 << 8) | (1 << 14) | (1 << 15) }]);
  });

  it('an IRTE change takes effect on the next interrupt (no interrupt-entry cache)', () => {
    const f = remapping();
    f.irte(1, 0x41);
    f.unit.msi(NIC, remappableAddress(1), 0);
    f.irte(1, 0x42);
    f.unit.msi(NIC, remappableAddress(1), 0);
    expect(f.sink.msis.map((m) => m.data)).toEqual([0x41, 0x42]);
  });

  it('a device can only raise the vectors it was given: other SIDs fail validation', () => {
    const f = remapping();
    f.irte(1, 0x41, { sid: NIC, svt: 1 });
    expect(f.unit.msi(OTHER, remappableAddress(1), 0)).toBe(DmaStatus.Fault);
    expect(f.sink.msis).toEqual([]);
    expect(f.frcd(0)).toMatchObject({ reason: 0x26, sid: OTHER });
  });

  it('SQ masks function bits; SVT = 10 checks the bus range', () => {
    const f = remapping();
    f.irte(1, 0x41, { sid: NIC, svt: 1, sq: 3 });
    expect(f.unit.msi(NIC | 5, remappableAddress(1), 0)).toBe(DmaStatus.Ok);
    f.irte(2, 0x42, { sid: 0x0203, svt: 2 });
    expect(f.unit.msi(0x0218, remappableAddress(2), 0)).toBe(DmaStatus.Ok);
    expect(f.unit.msi(0x0418, remappableAddress(2), 0)).toBe(DmaStatus.Fault);
    expect(f.sink.msis.map((m) => m.data)).toEqual([0x41, 0x42]);
  });
});

describe('VT-d interrupt remapping: blocking and faults', () => {
  it('a compatibility-format MSI with IRE on is blocked (FR 0x25)', () => {
    const f = remapping();
    f.unmaskFaults();
    expect(f.unit.msi(NIC, 0xfee00000, 0x41)).toBe(DmaStatus.Fault);
    expect(f.sink.msis).toEqual([{ address: 0xfee00000, data: 0xec }]); // only the fault event
    expect(f.frcd(0)).toMatchObject({ f: true, reason: 0x25, sid: NIC });
  });

  it('with GCMD.CFI (GSTS.CFIS) compatibility MSIs pass through unchanged', () => {
    const f = remapping();
    f.gcmd(Gcmd.CFI);
    expect(f.unit.msi(NIC, 0xfee00000, 0x41)).toBe(DmaStatus.Ok);
    expect(f.sink.msis).toEqual([{ address: 0xfee00000, data: 0x41 }]);
  });

  const cases: { name: string; reason: number; index: number; setup(f: VtdFixture): void; address?: number; data?: number; s?: number }[] = [
    { name: 'IRTE not present', reason: 0x22, index: 7, setup: () => {} },
    { name: 'index beyond the table (S = 0: 2 entries)', reason: 0x21, index: 2, s: 0, setup: () => {} },
    { name: 'reserved bits in the IRTE (IM = 1, posted)', reason: 0x24, index: 4, setup: (f) => f.irte(4, 0, { lo: 1 | (1 << 15) | (0x30 << 16) }) },
    { name: 'reserved bits in the IRTE upper qword', reason: 0x24, index: 4, setup: (f) => f.irte(4, 0x30, { hi: 1 << 20 }) },
    { name: 'SVT = 11 (reserved) fails verification', reason: 0x26, index: 5, setup: (f) => f.irte(5, 0x30, { svt: 3 }) },
    {
      name: 'SHV with data bits 31:16 set',
      reason: 0x20,
      index: 6,
      setup: (f) => f.irte(6, 0x30),
      address: remappableAddress(6, true),
      data: 0x10000,
    },
    {
      name: 'IRT outside RAM',
      reason: 0x23,
      index: 1,
      setup: (f) => {
        f.w64(VtdReg.IRTA, 0, 0x7000_0000 | 0xf);
        f.gcmd(Gcmd.SIRTP);
      },
    },
  ];
  for (const c of cases) {
    it(`${c.name}: FR ${c.reason.toString(16)}, FI carries the index`, () => {
      const f = remapping(c.s ?? 0xf);
      c.setup(f);
      f.unmaskFaults();
      expect(f.unit.msi(NIC, c.address ?? remappableAddress(c.index), c.data ?? 0)).toBe(DmaStatus.Fault);
      expect(f.frcd(0)).toMatchObject({ f: true, reason: c.reason, sid: NIC, lo: 0, hi: (c.index << 16) >>> 0, read: false });
      expect(f.sink.msis).toEqual([{ address: 0xfee00000, data: 0xec }]);
      expect(f.r32(VtdReg.FSTS)).toBe(2);
    });
  }

  it('IRTE FPD suppresses recording of a not-present fault', () => {
    const f = remapping();
    f.irte(1, 0x41, { lo: 2 }); // FPD, P = 0
    expect(f.unit.msi(NIC, remappableAddress(1), 0)).toBe(DmaStatus.Fault);
    expect(f.frcd(0).f).toBe(false);
  });
});
