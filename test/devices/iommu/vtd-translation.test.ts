// VT-d DMA translation: identity when off, 3- and 4-level second-level tables, 2 MiB pages, pass-through,
// page-by-page transfers, and IOTLB / context-cache invalidation making changed tables take effect.

import { describe, expect, it } from 'vitest';
import { DmaStatus } from '../../../src/core/dma.js';
import { Gcmd, VtdReg } from '../../../src/devices/iommu/vtd-regs.js';
import { NIC, OTHER, R, RW, VtdFixture, W } from './vtd-fixture.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('VT-d with translation off (GSTS.TES = 0)', () => {
  it('is identity over RAM', () => {
    const f = new VtdFixture();
    expect(f.unit.write(NIC, 0x3ffe, bytes(1, 2, 3, 4), 4)).toBe(DmaStatus.Ok);
    expect([...f.memory.u8.subarray(0x3ffe, 0x4002)]).toEqual([1, 2, 3, 4]);
    const dst = new Uint8Array(4);
    expect(f.unit.read(NIC, 0x3ffe, dst, 4)).toBe(DmaStatus.Ok);
    expect([...dst]).toEqual([1, 2, 3, 4]);
    expect(f.unit.stats.bytesWritten).toBe(4);
  });

  it('is still RAM-only: MMIO and unbacked addresses are Rejected and no device is touched', () => {
    const f = new VtdFixture();
    expect(f.unit.write(NIC, 0xfeb80000, bytes(1, 2, 3, 4), 4)).toBe(DmaStatus.Rejected);
    expect(f.unit.read(NIC, 0xfeb80000, new Uint8Array(4), 4)).toBe(DmaStatus.Rejected);
    expect(f.unit.write(NIC, 0x8000_0000, bytes(1), 1)).toBe(DmaStatus.Rejected);
    expect(f.mmio.accesses).toEqual([]);
    expect(f.r32(VtdReg.FSTS)).toBe(0);
  });
});

describe('VT-d second-level translation', () => {
  it('3-level (AW = 1) maps an IOVA page to a host page, offsets preserved', () => {
    const f = new VtdFixture();
    f.map(NIC, 0x1234_5000, 0x0020_0000);
    f.enableTranslation();
    expect(f.unit.write(NIC, 0x1234_5010, bytes(0xaa, 0xbb), 2)).toBe(DmaStatus.Ok);
    expect([f.memory.u8[0x0020_0010], f.memory.u8[0x0020_0011]]).toEqual([0xaa, 0xbb]);
    expect(f.memory.u8[0x1234_5010 % f.memory.ramBytes]).toBe(0); // nothing at the untranslated address
    const dst = new Uint8Array(2);
    expect(f.unit.read(NIC, 0x1234_5010, dst, 2)).toBe(DmaStatus.Ok);
    expect([...dst]).toEqual([0xaa, 0xbb]);
  });

  it('4-level (AW = 2) translates IOVAs above 4 GiB and 32-bit ones', () => {
    const f = new VtdFixture();
    const high = 2 ** 39 + 0x1000; // needs the level-4 index
    f.map(NIC, high, 0x0030_0000, { levels: 4 });
    f.map(NIC, 0x5000, 0x0030_1000, { levels: 4 });
    f.enableTranslation();
    expect(f.unit.write(NIC, high + 8, bytes(7), 1)).toBe(DmaStatus.Ok);
    expect(f.unit.write(NIC, 0x5008, bytes(9), 1)).toBe(DmaStatus.Ok);
    expect(f.memory.u8[0x0030_0008]).toBe(7);
    expect(f.memory.u8[0x0030_1008]).toBe(9);
  });

  it('2 MiB pages (PS at level 2) map the whole 2 MiB range', () => {
    const f = new VtdFixture();
    f.map(NIC, 0x4000_0000, 0x0040_0000, { large: true });
    f.enableTranslation();
    expect(f.unit.write(NIC, 0x4012_3456, bytes(0x5a), 1)).toBe(DmaStatus.Ok);
    expect(f.memory.u8[0x0052_3456]).toBe(0x5a);
    expect(f.unit.write(NIC, 0x401f_ffff, bytes(0x5b), 1)).toBe(DmaStatus.Ok);
    expect(f.memory.u8[0x005f_ffff]).toBe(0x5b);
  });

  it('a transfer crossing pages translates each page separately', () => {
    const f = new VtdFixture();
    f.map(NIC, 0x1000, 0x0070_0000);
    f.map(NIC, 0x2000, 0x0010_0000); // not contiguous with the first
    f.enableTranslation();
    const src = new Uint8Array(0x20).map((_, i) => i + 1);
    expect(f.unit.write(NIC, 0x1ff0, src, 0x20)).toBe(DmaStatus.Ok);
    expect([...f.memory.u8.subarray(0x0070_0ff0, 0x0070_1000)]).toEqual([...src.subarray(0, 16)]);
    expect([...f.memory.u8.subarray(0x0010_0000, 0x0010_0010)]).toEqual([...src.subarray(16)]);
  });

  it('effective permission is the AND over levels: R-only leaf reads, W-only leaf writes', () => {
    const f = new VtdFixture();
    f.map(NIC, 0x1000, 0x0010_0000, { perm: R });
    f.map(NIC, 0x2000, 0x0010_1000, { perm: W });
    f.enableTranslation();
    expect(f.unit.read(NIC, 0x1000, new Uint8Array(4), 4)).toBe(DmaStatus.Ok);
    expect(f.unit.write(NIC, 0x2000, bytes(1), 1)).toBe(DmaStatus.Ok);
  });

  it('pass-through contexts (TT = 10, ECAP.PT) are identity', () => {
    const f = new VtdFixture();
    f.context(NIC, { tt: 2 });
    f.enableTranslation();
    expect(f.unit.write(NIC, 0x6000, bytes(3), 1)).toBe(DmaStatus.Ok);
    expect(f.memory.u8[0x6000]).toBe(3);
  });

  it('requesters are isolated: another device has its own context', () => {
    const f = new VtdFixture();
    f.map(NIC, 0x1000, 0x0010_0000);
    f.map(OTHER, 0x1000, 0x0020_0000);
    f.enableTranslation();
    f.unit.write(NIC, 0x1000, bytes(1), 1);
    f.unit.write(OTHER, 0x1000, bytes(2), 1);
    expect([f.memory.u8[0x0010_0000], f.memory.u8[0x0020_0000]]).toEqual([1, 2]);
  });

  it('the IOTLB serves repeated accesses without walking', () => {
    const f = new VtdFixture();
    f.map(NIC, 0x1000, 0x0010_0000);
    f.enableTranslation();
    for (let i = 0; i < 5; i++) f.unit.write(NIC, 0x1000 + i, bytes(i), 1);
    const t = f.unit.snapshot().translate;
    expect(t.walks).toBe(1);
    expect(t.iotlbHits).toBe(4);
  });
});

describe('VT-d invalidation makes changed tables take effect', () => {
  function remapped(): { f: VtdFixture; leaf: number } {
    const f = new VtdFixture();
    const leaf = f.map(NIC, 0x1000, 0x0010_0000, { did: 7 });
    f.enableTranslation();
    f.unit.write(NIC, 0x1000, bytes(1), 1); // cached
    f.q64(leaf, 0, 0x0011_0000 | RW); // the guest changes the mapping
    return { f, leaf };
  }
  const newMappingUsed = (f: VtdFixture) => {
    expect(f.unit.write(NIC, 0x1000, bytes(2), 1)).toBe(DmaStatus.Ok);
    expect(f.memory.u8[0x0011_0000]).toBe(2);
    expect(f.memory.u8[0x0010_0000]).toBe(1);
  };

  it('global IOTLB invalidation', () => {
    const { f } = remapped();
    f.w64(VtdReg.IOTLB, (1 << 31) | (1 << 28), 0);
    newMappingUsed(f);
  });

  it('domain-selective IOTLB invalidation', () => {
    const { f } = remapped();
    f.w64(VtdReg.IOTLB, (1 << 31) | (2 << 28) | 7, 0);
    newMappingUsed(f);
  });

  it('page-selective IOTLB invalidation (IVA, AM = 0)', () => {
    const { f } = remapped();
    f.w64(VtdReg.IVA, 0, 0x1000);
    f.w64(VtdReg.IOTLB, (1 << 31) | (3 << 28) | 7, 0);
    newMappingUsed(f);
  });

  it('page-selective invalidation with an address mask covers the aligned range', () => {
    const { f } = remapped();
    f.w64(VtdReg.IVA, 0, 0x0000 | 2); // pages 0-3
    f.w64(VtdReg.IOTLB, (1 << 31) | (3 << 28) | 7, 0);
    newMappingUsed(f);
  });

  it('page-selective invalidation of a 2 MiB mapping through any address inside it', () => {
    const f = new VtdFixture();
    const pde = f.map(NIC, 0x4000_0000, 0x0040_0000, { large: true, did: 3 });
    f.enableTranslation();
    f.unit.write(NIC, 0x4010_0000, bytes(1), 1);
    f.q64(pde, 0, 0x0060_0000 | RW | (1 << 7));
    f.w64(VtdReg.IVA, 0, 0x4000_0000 | 9);
    f.w64(VtdReg.IOTLB, (1 << 31) | (3 << 28) | 3, 0);
    expect(f.unit.write(NIC, 0x4010_0000, bytes(2), 1)).toBe(DmaStatus.Ok);
    expect(f.memory.u8[0x0070_0000]).toBe(2);
  });

  it('global context-cache invalidation picks up a new context entry (new SLPT root)', () => {
    const f = new VtdFixture();
    f.map(NIC, 0x1000, 0x0010_0000, { did: 7 });
    f.enableTranslation();
    f.unit.write(NIC, 0x1000, bytes(1), 1);
    // Re-point the context at a fresh table tree mapping the same IOVA elsewhere.
    const ce = f.contextEntry(NIC);
    f.q64(ce, 0, 0);
    f.map(NIC, 0x1000, 0x0012_0000, { did: 8 });
    f.w64(VtdReg.CCMD, (1 << 31) | (1 << 29), 0);
    expect(f.unit.write(NIC, 0x1000, bytes(2), 1)).toBe(DmaStatus.Ok);
    expect(f.memory.u8[0x0012_0000]).toBe(2);
  });

  it('device-selective context invalidation picks up a context made not present', () => {
    const f = new VtdFixture();
    f.map(NIC, 0x1000, 0x0010_0000, { did: 7 });
    f.enableTranslation();
    f.unit.write(NIC, 0x1000, bytes(1), 1);
    f.q64(f.contextEntry(NIC), 0, 0);
    f.w64(VtdReg.CCMD, (1 << 31) | (3 << 29), NIC << 16);
    expect(f.unit.write(NIC, 0x1000, bytes(2), 1)).toBe(DmaStatus.Fault);
    expect(f.frcd(0).reason).toBe(0x02);
  });

  it('SRTP flushes the caches (a new root table takes effect)', () => {
    const f = new VtdFixture();
    f.map(NIC, 0x1000, 0x0010_0000);
    f.enableTranslation();
    f.unit.write(NIC, 0x1000, bytes(1), 1);
    f.w64(VtdReg.RTADDR, 0, f.page()); // an empty root table
    f.gcmd(Gcmd.SRTP);
    expect(f.unit.write(NIC, 0x1000, bytes(2), 1)).toBe(DmaStatus.Fault);
    expect(f.frcd(0).reason).toBe(0x01);
  });
});
