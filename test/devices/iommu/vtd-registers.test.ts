// VT-d register page: reset values, read-only/RW/W1C/self-clearing behaviour, the GCMD/GSTS protocol, and the
// repo's BusDevice contract. DMA and interrupt behaviour are tested in the other files of this folder.

import { describe, expect, it } from 'vitest';
import { DmaStatus } from '../../../src/core/dma.js';
import { CAP_HI, CAP_LO, ECAP_HI, ECAP_LO, Gcmd, VTD_REGS_END, VtdReg } from '../../../src/devices/iommu/vtd-regs.js';
import { type ContractSubject, checkBusDeviceContract } from '../contract.js';
import { NIC, VtdFixture, remappableAddress } from './vtd-fixture.js';

describe('VT-d registers at reset', () => {
  it('VER 1.0, CAP and ECAP advertise what is implemented', () => {
    const f = new VtdFixture();
    expect(f.r32(VtdReg.VER)).toBe(0x10);
    expect(f.r32(VtdReg.CAP)).toBe(CAP_LO >>> 0);
    expect(f.r32(VtdReg.CAP + 4)).toBe(CAP_HI >>> 0);
    expect(f.r32(VtdReg.ECAP)).toBe(ECAP_LO >>> 0);
    expect(f.r32(VtdReg.ECAP + 4)).toBe(ECAP_HI >>> 0);
    // The values quoted in the report.
    expect([f.r32(VtdReg.CAP + 4), f.r32(VtdReg.CAP)]).toEqual([0x00120384, 0x222f0606]);
    expect(f.r32(VtdReg.ECAP)).toBe(0x00f00f4b);
  });

  it('decodes: ND 6, SAGAW 39+48, MGAW 47, FRO 0x220, 2 MiB only, PSI, NFR 3, MAMV 18; ECAP IR, QI, PT, IRO 0xF0', () => {
    const f = new VtdFixture();
    const lo = f.r32(VtdReg.CAP);
    const hi = f.r32(VtdReg.CAP + 4);
    expect(lo & 7).toBe(6);
    expect((lo >>> 8) & 0x1f).toBe(0b00110);
    expect((lo >>> 16) & 0x3f).toBe(47);
    expect((((hi & 3) << 8) | (lo >>> 24)) * 16).toBe(0x220);
    expect((hi >>> 2) & 0xf).toBe(0b0001);
    expect((hi >>> 7) & 1).toBe(1);
    expect((hi >>> 8) & 0xff).toBe(3);
    expect((hi >>> 16) & 0x3f).toBe(18);
    const e = f.r32(VtdReg.ECAP);
    expect(e & (1 << 3)).not.toBe(0); // IR
    expect(e & (1 << 1)).not.toBe(0); // QI
    expect(e & (1 << 6)).not.toBe(0); // PT
    expect(e & (1 << 4)).toBe(0); // no EIM
    expect(e & (1 << 2)).toBe(0); // no DT
    expect(((e >>> 8) & 0x3ff) * 16).toBe(VtdReg.IVA);
  });

  it('status and control registers reset as the spec says', () => {
    const f = new VtdFixture();
    expect(f.r32(VtdReg.GSTS)).toBe(0);
    expect(f.r32(VtdReg.GCMD)).toBe(0);
    expect(f.r32(VtdReg.FSTS)).toBe(0);
    expect(f.r32(VtdReg.FECTL)).toBe(0x80000000);
    expect(f.r32(VtdReg.IECTL)).toBe(0x80000000);
    expect(f.r32(VtdReg.RTADDR)).toBe(0);
    for (let n = 0; n < 4; n++) expect(f.frcd(n).top).toBe(0);
  });
});

describe('VT-d register access kinds', () => {
  it('CAP/ECAP/VER/GSTS are read-only; GCMD reads 0', () => {
    const f = new VtdFixture();
    for (const o of [VtdReg.VER, VtdReg.CAP, VtdReg.CAP + 4, VtdReg.ECAP, VtdReg.GSTS]) {
      const before = f.r32(o);
      f.w32(o, 0xffffffff);
      expect(f.r32(o)).toBe(before);
    }
    f.w32(VtdReg.GCMD, Gcmd.CFI);
    expect(f.r32(VtdReg.GCMD)).toBe(0);
    expect(f.r32(VtdReg.GSTS)).toBe(Gcmd.CFI >>> 0);
  });

  it('RTADDR keeps bits 63:12 below HAW; IRTA keeps base and S, drops EIME', () => {
    const f = new VtdFixture();
    f.w64(VtdReg.RTADDR, 0xffffffff, 0xffffffff);
    expect([f.r32(VtdReg.RTADDR + 4), f.r32(VtdReg.RTADDR)]).toEqual([0x7f, 0xfffff000]);
    f.w64(VtdReg.IRTA, 0, 0x12345fff);
    expect(f.r32(VtdReg.IRTA)).toBe(0x1234500f);
  });

  it('FEDATA/FEADDR are RW with their masks; FEUADDR reads 0 without EIM', () => {
    const f = new VtdFixture();
    f.w32(VtdReg.FEDATA, 0xffffffff);
    f.w32(VtdReg.FEADDR, 0xffffffff);
    f.w32(VtdReg.FEUADDR, 0xffffffff);
    expect(f.r32(VtdReg.FEDATA)).toBe(0xffff);
    expect(f.r32(VtdReg.FEADDR)).toBe(0xfffffffc);
    expect(f.r32(VtdReg.FEUADDR)).toBe(0);
  });

  it('FECTL.IM is RW, IP is read-only', () => {
    const f = new VtdFixture();
    f.w32(VtdReg.FECTL, 0x40000000);
    expect(f.r32(VtdReg.FECTL)).toBe(0);
    f.w32(VtdReg.FECTL, 0x80000000);
    expect(f.r32(VtdReg.FECTL)).toBe(0x80000000);
  });

  it('CCMD.ICC self-clears and CAIG reports the granularity done', () => {
    const f = new VtdFixture();
    for (const cirg of [1, 2, 3]) {
      f.w64(VtdReg.CCMD, (1 << 31) | (cirg << 29), (NIC << 16) | 5);
      const hi = f.r32(VtdReg.CCMD + 4);
      expect(hi >>> 31).toBe(0);
      expect((hi >>> 27) & 3).toBe(cirg);
      expect((hi >>> 29) & 3).toBe(cirg);
    }
  });

  it('IOTLB.IVT self-clears; IAIG reports global/domain/page, and 0 for AM > MAMV', () => {
    const f = new VtdFixture();
    for (const iirg of [1, 2, 3]) {
      f.w64(VtdReg.IOTLB, (1 << 31) | (iirg << 28) | 7, 0);
      const hi = f.r32(VtdReg.IOTLB + 4);
      expect(hi >>> 31).toBe(0);
      expect((hi >>> 25) & 3).toBe(iirg);
    }
    f.w64(VtdReg.IVA, 0, 0x1000 | 19);
    f.w64(VtdReg.IOTLB, (1 << 31) | (3 << 28) | 7, 0);
    expect((f.r32(VtdReg.IOTLB + 4) >>> 25) & 3).toBe(0);
  });

  it('narrow and unaligned writes are ignored and counted; narrow reads return the bytes', () => {
    const f = new VtdFixture();
    f.unit.registers.write(VtdReg.FEDATA, 2, 0x1234);
    f.unit.registers.write(VtdReg.FEDATA + 1, 4, 0x1234);
    expect(f.r32(VtdReg.FEDATA)).toBe(0);
    expect(f.unit.stats.badRegisterWrites).toBe(2);
    expect(f.unit.registers.read(VtdReg.FECTL + 3, 1)).toBe(0x80);
    expect(f.unit.registers.read(VtdReg.CAP + 2, 2)).toBe(0x222f);
  });

  it('offsets past the registers read 0 and ignore writes', () => {
    const f = new VtdFixture();
    f.w32(0x800, 0xffffffff);
    expect(f.r32(0x800)).toBe(0);
    expect(f.r32(0xffc)).toBe(0);
    expect(f.unit.registers.read(0x1000, 4)).toBe(0);
  });
});

describe('VT-d GCMD/GSTS protocol', () => {
  it('SRTP sets RTPS; TE then sets TES; clearing TE clears TES and keeps RTPS', () => {
    const f = new VtdFixture();
    f.w64(VtdReg.RTADDR, 0, f.root);
    f.gcmd(Gcmd.SRTP);
    expect(f.r32(VtdReg.GSTS)).toBe(Gcmd.SRTP >>> 0);
    f.gcmd(Gcmd.TE);
    expect(f.r32(VtdReg.GSTS)).toBe((Gcmd.SRTP | Gcmd.TE) >>> 0);
    f.gcmd(Gcmd.TE, false);
    expect(f.r32(VtdReg.GSTS)).toBe(Gcmd.SRTP >>> 0);
  });

  it('SIRTP sets IRTPS; IRE and CFI are persistent and follow GCMD', () => {
    const f = new VtdFixture();
    f.w64(VtdReg.IRTA, 0, f.irt | 3);
    f.gcmd(Gcmd.SIRTP);
    f.gcmd(Gcmd.IRE);
    expect(f.r32(VtdReg.GSTS)).toBe((Gcmd.SIRTP | Gcmd.IRE) >>> 0);
    f.gcmd(Gcmd.CFI);
    expect(f.r32(VtdReg.GSTS) & Gcmd.CFI).not.toBe(0);
    f.gcmd(Gcmd.IRE, false);
    expect(f.r32(VtdReg.GSTS)).toBe((Gcmd.SIRTP | Gcmd.CFI) >>> 0);
    expect(f.unit.snapshot().irtEntries).toBe(16);
  });

  it('the protocol mask (GSTS & 0x96FFFFFF) does not re-trigger one-shot commands', () => {
    const f = new VtdFixture();
    f.w64(VtdReg.RTADDR, 0, f.root);
    f.gcmd(Gcmd.SRTP);
    f.w64(VtdReg.RTADDR, 0, f.irt); // a new pointer, not yet latched
    f.gcmd(Gcmd.TE);
    expect(f.unit.snapshot().rootTable).toBe(f.root);
  });

  it('SFL, EAFL and WBF are not supported and change nothing', () => {
    const f = new VtdFixture();
    f.w32(VtdReg.GCMD, (Gcmd.SFL | Gcmd.EAFL | Gcmd.WBF) >>> 0);
    expect(f.r32(VtdReg.GSTS)).toBe(0);
  });

  it('the kvm-unit-tests sequence works: QIE (poll QIES), SRTP, SIRTP, TE (poll TES), IRE (poll IRES)', () => {
    const f = new VtdFixture();
    f.gcmd(Gcmd.QIE);
    expect(f.r32(VtdReg.GSTS) & Gcmd.QIE).not.toBe(0);
    f.w64(VtdReg.RTADDR, 0, f.root);
    f.gcmd(Gcmd.SRTP);
    f.w64(VtdReg.IRTA, 0, f.irt | 0xf);
    f.gcmd(Gcmd.SIRTP);
    f.gcmd(Gcmd.TE);
    f.gcmd(Gcmd.IRE);
    const s = f.unit.snapshot();
    expect([s.translation, s.interruptRemapping, s.queuedInvalidation]).toEqual([true, true, true]);
    // Its map(): context with FPD = 1, DID = SID, AW = 1, TT = 0; its IRTE: FPD, SVT = 01, SID = the bdf.
    f.map(NIC, 0x2000, 0x30_0000, { fpd: true, did: NIC });
    f.irte(1, 0x55, { fpd: true, svt: 1, sid: NIC });
    expect(f.unit.write(NIC, 0x2004, Uint8Array.of(0xab), 1)).toBe(DmaStatus.Ok);
    expect(f.memory.u8[0x30_0004]).toBe(0xab);
    expect(f.unit.msi(NIC, remappableAddress(1), 0)).toBe(DmaStatus.Ok);
    expect(f.sink.msis).toEqual([{ address: 0xfee00000, data: 0x55 }]);
    expect(f.unit.write(NIC, 0x9000, Uint8Array.of(1), 1)).toBe(DmaStatus.Fault); // unmapped: blocked, FPD: not logged
    expect(f.r32(VtdReg.FSTS)).toBe(0);
  });
});

describe('VT-d register page BusDevice contract', () => {
  const window = VTD_REGS_END;
  const subjects: Record<string, ContractSubject> = {
    'at reset': { make: () => new VtdFixture(0x10_0000).unit.registers, window },
    'translating, with pending faults and an event pending': {
      make: () => {
        const f = new VtdFixture(0x10_0000);
        f.enableTranslation();
        f.enableRemapping();
        f.unit.write(NIC, 0x5000, new Uint8Array(4), 4);
        f.unit.read(0x0100, 0x7000, new Uint8Array(4), 4);
        return f.unit.registers;
      },
      window,
    },
  };
  for (const [name, subject] of Object.entries(subjects)) it(name, () => checkBusDeviceContract(subject));
});
