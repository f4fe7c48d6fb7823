// VT-d fault reporting: every DMA-remapping fault reason this unit produces, with its FRCD contents (reason,
// source ID, address, type), FSTS bits, the fault-event MSI (and IP while masked), FPD, compression and PFO.

import { describe, expect, it } from 'vitest';
import { DmaStatus } from '../../../src/core/dma.js';
import { Gcmd, VtdReg } from '../../../src/devices/iommu/vtd-regs.js';
import { NIC, R, VtdFixture, W } from './vtd-fixture.js';

const one = Uint8Array.of(0x77);

interface Case {
  name: string;
  reason: number;
  setup(f: VtdFixture): void;
  iova: number;
  write: boolean;
  sid?: number;
}

const cases: Case[] = [
  { name: 'root entry not present', reason: 0x01, setup: () => {}, iova: 0x1000, write: true, sid: 0x0100 },
  {
    name: 'context entry not present',
    reason: 0x02,
    setup: (f) => void f.contextEntry(NIC),
    iova: 0x1000,
    write: false,
  },
  {
    name: 'context AW not in SAGAW (AW = 3, 57-bit)',
    reason: 0x03,
    setup: (f) => {
      f.context(NIC);
      const ce = f.contextEntry(NIC);
      f.q64(ce + 8, 0, (NIC << 8) | 3);
    },
    iova: 0x1000,
    write: true,
  },
  { name: 'context TT = 01 without device TLB', reason: 0x03, setup: (f) => void f.context(NIC, { tt: 1 }), iova: 0x1000, write: true },
  { name: 'context TT = 11 (reserved)', reason: 0x03, setup: (f) => void f.context(NIC, { tt: 3 }), iova: 0x1000, write: true },
  {
    name: 'SLPTPTR outside RAM',
    reason: 0x03,
    setup: (f) => {
      f.context(NIC);
      f.q64(f.contextEntry(NIC), 0, 0x7000_0000 | 1);
    },
    iova: 0x1000,
    write: false,
  },
  { name: 'IOVA beyond the 39-bit width', reason: 0x04, setup: (f) => void f.context(NIC), iova: 2 ** 39, write: true },
  { name: 'IOVA beyond the 48-bit width', reason: 0x04, setup: (f) => void f.context(NIC, { levels: 4 }), iova: 2 ** 48 + 0x3000, write: false },
  { name: 'write to a read-only page', reason: 0x05, setup: (f) => void f.map(NIC, 0x1000, 0x10_0000, { perm: R }), iova: 0x1000, write: true },
  { name: 'read from a write-only page', reason: 0x06, setup: (f) => void f.map(NIC, 0x1000, 0x10_0000, { perm: W }), iova: 0x1000, write: false },
  { name: 'not-present leaf (R = W = 0)', reason: 0x06, setup: (f) => void f.map(NIC, 0x1000, 0x10_0000, { perm: 0 }), iova: 0x1000, write: false },
  {
    name: 'read-only at an upper level denies writes below it',
    reason: 0x05,
    setup: (f) => {
      f.map(NIC, 0x1000, 0x10_0000);
      const e = f.entryAt(NIC, 0x1000, 2);
      f.q64(e, 0, (f.qlo(e) & ~3) | R);
    },
    iova: 0x1000,
    write: true,
  },
  {
    name: 'second-level table outside RAM',
    reason: 0x07,
    setup: (f) => {
      f.map(NIC, 0x1000, 0x10_0000);
      f.q64(f.entryAt(NIC, 0x1000, 2), 0, 0x7000_0000 | 3);
    },
    iova: 0x1000,
    write: true,
  },
  {
    name: 'root table outside RAM',
    reason: 0x08,
    setup: (f) => {
      f.w64(VtdReg.RTADDR, 0, 0x7000_0000);
      f.gcmd(Gcmd.SRTP);
    },
    iova: 0x1000,
    write: true,
  },
  {
    name: 'context table outside RAM',
    reason: 0x09,
    setup: (f) => f.q64(f.root, 0, 0x7000_0000 | 1),
    iova: 0x1000,
    write: true,
  },
  {
    name: 'reserved bit in a root entry',
    reason: 0x0a,
    setup: (f) => {
      f.contextEntry(NIC);
      f.q64(f.root, 0, f.qlo(f.root) | 2);
    },
    iova: 0x1000,
    write: true,
  },
  {
    name: 'reserved bits in a root entry upper qword',
    reason: 0x0a,
    setup: (f) => {
      f.contextEntry(NIC);
      f.q64(f.root + 8, 0, 1);
    },
    iova: 0x1000,
    write: true,
  },
  {
    name: 'reserved bit in a context entry',
    reason: 0x0b,
    setup: (f) => {
      f.context(NIC);
      const ce = f.contextEntry(NIC);
      f.q64(ce, 0, f.qlo(ce) | 0x10);
    },
    iova: 0x1000,
    write: true,
  },
  {
    name: 'context address above HAW',
    reason: 0x0b,
    setup: (f) => {
      f.context(NIC);
      const ce = f.contextEntry(NIC);
      f.q64(ce, 0x80, f.qlo(ce));
    },
    iova: 0x1000,
    write: true,
  },
  {
    name: 'SNP (bit 11) set in a PTE',
    reason: 0x0c,
    setup: (f) => void f.map(NIC, 0x1000, 0x10_0000 | 0x800),
    iova: 0x1000,
    write: true,
  },
  {
    name: 'PTE address above HAW',
    reason: 0x0c,
    setup: (f) => {
      const leaf = f.map(NIC, 0x1000, 0x10_0000);
      f.q64(leaf, 0x100, f.qlo(leaf));
    },
    iova: 0x1000,
    write: false,
  },
  {
    name: 'misaligned 2 MiB page frame',
    reason: 0x0c,
    setup: (f) => void f.map(NIC, 0x4000_0000, 0x40_1000, { large: true }),
    iova: 0x4000_0000,
    write: true,
  },
  {
    name: '1 GiB page (PS at level 3; SLLPS has no 1 GiB)',
    reason: 0x0c,
    setup: (f) => {
      f.map(NIC, 0x4000_0000, 0x10_0000);
      const e = f.entryAt(NIC, 0x4000_0000, 3);
      f.q64(e, 0, 0x4000_0000 | 3 | (1 << 7));
    },
    iova: 0x4000_1000,
    write: true,
  },
  {
    name: 'PS at level 4 (reserved)',
    reason: 0x0c,
    setup: (f) => {
      f.map(NIC, 0x1000, 0x10_0000, { levels: 4 });
      const e = f.entryAt(NIC, 0x1000, 4);
      f.q64(e, 0, f.qlo(e) | (1 << 7));
    },
    iova: 0x1000,
    write: true,
  },
];

describe('VT-d DMA fault reasons', () => {
  for (const c of cases) {
    it(`${c.name}: FR ${c.reason.toString(16)}`, () => {
      const f = new VtdFixture(0x40_0000);
      f.enableTranslation();
      c.setup(f);
      f.unmaskFaults();
      const sid = c.sid ?? NIC;
      const before = f.memory.u8.slice();
      const status = c.write ? f.unit.write(sid, c.iova + 0x24, one, 1) : f.unit.read(sid, c.iova + 0x24, new Uint8Array(1), 1);
      expect(status).toBe(DmaStatus.Fault);
      const r = f.frcd(0);
      expect(r.f).toBe(true);
      expect(r.reason).toBe(c.reason);
      expect(r.sid).toBe(sid);
      expect(r.hi * 2 ** 32 + r.lo).toBe(Math.floor((c.iova + 0x24) / 4096) * 4096);
      expect(r.read).toBe(!c.write);
      expect(f.r32(VtdReg.FSTS)).toBe(0x2); // PPF, FRI = 0
      expect(f.sink.msis).toEqual([{ address: 0xfee00000, data: 0xec }]);
      expect(f.r32(VtdReg.FECTL)).toBe(0); // IP cleared once the message went out
      expect(Buffer.compare(before, f.memory.u8)).toBe(0);
    });
  }
});

describe('VT-d fault recording and the fault event', () => {
  function faulting(): VtdFixture {
    const f = new VtdFixture(0x40_0000);
    f.enableTranslation();
    return f;
  }
  const fault = (f: VtdFixture, sid: number, iova = 0x1000) => f.unit.write(sid, iova, one, 1);

  it('while masked: no MSI, FECTL.IP set; unmasking sends it and clears IP', () => {
    const f = faulting();
    f.w32(VtdReg.FEADDR, 0xfee01000);
    f.w32(VtdReg.FEDATA, 0x55);
    fault(f, NIC);
    expect(f.sink.msis).toEqual([]);
    expect(f.r32(VtdReg.FECTL)).toBe(0xc0000000);
    f.w32(VtdReg.FECTL, 0);
    expect(f.sink.msis).toEqual([{ address: 0xfee01000, data: 0x55 }]);
    expect(f.r32(VtdReg.FECTL)).toBe(0);
  });

  it('IP clears when software clears the fault while masked (no MSI then)', () => {
    const f = faulting();
    fault(f, NIC);
    expect(f.r32(VtdReg.FECTL) >>> 30).toBe(3);
    f.clearFrcd(0);
    expect(f.r32(VtdReg.FSTS)).toBe(0);
    expect(f.r32(VtdReg.FECTL)).toBe(0x80000000);
    f.w32(VtdReg.FECTL, 0);
    expect(f.sink.msis).toEqual([]);
  });

  it('a second fault while PPF is set is recorded in the next FRCD without a new event', () => {
    const f = faulting();
    f.unmaskFaults();
    fault(f, NIC);
    fault(f, 0x0100, 0x2000);
    expect(f.frcd(1).reason).toBe(0x01);
    expect(f.frcd(1).sid).toBe(0x0100);
    expect(f.sink.msis.length).toBe(1);
    expect((f.r32(VtdReg.FSTS) >>> 8) & 0xff).toBe(0); // FRI: the first pending record
  });

  it('FRI points at the record that raised PPF; clearing F recomputes PPF', () => {
    const f = faulting();
    fault(f, NIC);
    f.clearFrcd(0);
    fault(f, 0x0200);
    expect(f.r32(VtdReg.FSTS)).toBe((1 << 8) | 2);
    f.clearFrcd(1);
    expect(f.r32(VtdReg.FSTS)).toBe(1 << 8);
  });

  it('faults from a source ID with a pending record are folded into it (compression)', () => {
    const f = faulting();
    fault(f, NIC);
    fault(f, NIC, 0x9000);
    expect(f.frcd(1).f).toBe(false);
    expect(f.unit.snapshot().faultLog.compressed).toBe(1);
  });

  it('PFO: with every FRCD full the next fault sets PFO and is lost; PFO is RW1C', () => {
    const f = faulting();
    for (let i = 0; i < 4; i++) fault(f, 0x0100 * (i + 1));
    expect(f.r32(VtdReg.FSTS) & 1).toBe(0);
    fault(f, 0x0500);
    expect(f.r32(VtdReg.FSTS) & 3).toBe(3);
    for (let i = 0; i < 4; i++) expect(f.frcd(i).sid).toBe(0x0100 * (i + 1));
    // Free one record: still nothing is recorded while PFO is set.
    f.clearFrcd(0);
    fault(f, 0x0600);
    expect(f.frcd(0).f).toBe(false);
    f.w32(VtdReg.FSTS, 1);
    expect(f.r32(VtdReg.FSTS) & 1).toBe(0);
    fault(f, 0x0700);
    expect(f.frcd(0).sid).toBe(0x0700);
    expect(f.unit.snapshot().faultLog.overflowed).toBe(2);
  });

  it('PFO alone keeps IP until it is cleared too', () => {
    const f = faulting();
    for (let i = 0; i < 5; i++) fault(f, 0x0100 * (i + 1));
    for (let i = 0; i < 4; i++) f.clearFrcd(i);
    expect(f.r32(VtdReg.FECTL) >>> 30).toBe(3);
    f.w32(VtdReg.FSTS, 1);
    expect(f.r32(VtdReg.FECTL)).toBe(0x80000000);
  });

  it('FPD suppresses qualified faults but not root-entry faults', () => {
    const f = faulting();
    f.context(NIC, { fpd: true });
    expect(fault(f, NIC)).toBe(DmaStatus.Fault); // not mapped: qualified (FR 6/5)
    expect(f.frcd(0).f).toBe(false);
    expect(f.unit.snapshot().faultLog.suppressed).toBe(1);
    expect(fault(f, 0x0300)).toBe(DmaStatus.Fault); // root not present: not qualified
    expect(f.frcd(0).reason).toBe(0x01);
  });

  it('FPD in a not-present context entry is honoured (evaluated whatever P says)', () => {
    const f = faulting();
    f.q64(f.contextEntry(NIC), 0, 2);
    expect(fault(f, NIC)).toBe(DmaStatus.Fault);
    expect(f.frcd(0).f).toBe(false);
  });

  it('the snapshot decodes pending faults without side effects', () => {
    const f = faulting();
    fault(f, NIC, 0x3000);
    const regsBefore = Array.from({ length: 0x260 / 4 }, (_, i) => f.r32(i * 4));
    const s = f.unit.snapshot();
    expect(s.faults).toEqual([{ index: 0, reason: 0x01, sid: NIC, info: 0x3000, read: false }]);
    expect(Array.from({ length: 0x260 / 4 }, (_, i) => f.r32(i * 4))).toEqual(regsBefore);
  });
});
