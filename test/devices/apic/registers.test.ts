// Register-level behaviour in both interfaces (SDM Vol. 3 11.4-11.6, 11.12.1 Table 11-6): reset values,
// writable bits, read-only and write-only registers, reserved bits and the x2APIC #GP table.

import { describe, expect, it } from 'vitest';
import { makeApic, mmio, mmioWrite, rd32, rdmsr, vectorsOf, wrmsr, x2apic, xapicEnable } from './helpers.js';

describe('xAPIC MMIO registers', () => {
  it('reads the power-up values', () => {
    const { apic } = makeApic({ apicId: 2 });
    const expected: [number, number][] = [
      [0x020, 0x02000000], // ID
      [0x030, 0x00050014], // version 0x14, max LVT entry 5, no EOI-broadcast suppression
      [0x080, 0], // TPR
      [0x090, 0], // APR (not modelled)
      [0x0a0, 0], // PPR
      [0x0b0, 0], // EOI (write-only)
      [0x0d0, 0], // LDR
      [0x0e0, 0xffffffff], // DFR
      [0x0f0, 0xff], // SVR
      [0x280, 0], // ESR
      [0x2f0, 0], // LVT CMCI (absent)
      [0x300, 0],
      [0x310, 0],
      [0x320, 0x10000],
      [0x330, 0x10000],
      [0x340, 0x10000],
      [0x350, 0x10000],
      [0x360, 0x10000],
      [0x370, 0x10000],
      [0x380, 0],
      [0x390, 0],
      [0x3e0, 0],
      [0x3f0, 0], // SELF IPI: x2APIC only
    ];
    for (const [off, v] of expected) expect(mmio(apic, off), `offset ${off.toString(16)}`).toBe(v);
    for (let off = 0x100; off < 0x280; off += 0x10) expect(mmio(apic, off)).toBe(0);
  });

  it('keeps only the writable bits of each register', () => {
    const { apic } = makeApic();
    xapicEnable(apic);
    const cases: [number, number, number][] = [
      [0x080, 0xffffffff, 0xff], // TPR 7:0
      [0x0d0, 0xffffffff, 0xff000000], // LDR 31:24
      [0x0e0, 0x00000000, 0x0fffffff], // DFR: model 31:28, the rest reads 1s
      [0x0f0, 0xffffffff, 0x3ff], // SVR vector, enable, focus
      [0x310, 0xffffffff, 0xff000000], // ICR high: destination 31:24
      [0x320, 0xffffffff, 0x000700ff], // LVT timer: vector, mask, mode
      [0x330, 0xffffffff, 0x000107ff], // thermal
      [0x340, 0xffffffff, 0x000107ff], // perf
      [0x350, 0xffffffff, 0x0001a7ff], // LINT0: + polarity, trigger; remote IRR and status read-only
      [0x360, 0xffffffff, 0x0001a7ff], // LINT1
      [0x370, 0xffffffff, 0x000100ff], // error
      [0x3e0, 0xffffffff, 0xb], // divide: bits 3,1,0
    ];
    for (const [off, w, r] of cases) {
      mmioWrite(apic, off, w);
      expect(mmio(apic, off), `offset ${off.toString(16)}`).toBe(r);
    }
  });

  it('ignores writes to read-only registers (ID, version, PPR, ISR/TMR/IRR, current count)', () => {
    const { apic } = makeApic({ apicId: 1 });
    for (const off of [0x020, 0x030, 0x0a0, 0x100, 0x180, 0x200, 0x270, 0x390]) {
      const before = mmio(apic, off);
      mmioWrite(apic, off, 0xffffffff);
      expect(mmio(apic, off), `offset ${off.toString(16)}`).toBe(before);
    }
  });

  it('answers only aligned 32-bit accesses: other sizes and offsets read 0, writes ignored, counted', () => {
    const { apic } = makeApic();
    mmioWrite(apic, 0x80, 0x40);
    expect(apic.read(0x80, 1)).toBe(0);
    expect(apic.read(0x80, 2)).toBe(0);
    expect(apic.read(0x84, 4)).toBe(0);
    expect(apic.read(0x81, 4)).toBe(0);
    apic.write(0x80, 1, 0x10);
    apic.write(0x84, 4, 0x10);
    expect(mmio(apic, 0x80)).toBe(0x40);
    expect(apic.stats.badMmio).toBe(6);
    expect(apic.peek(0x80, 2)).toBe(0);
    expect(apic.stats.badMmio).toBe(6); // peek counts nothing
    expect(apic.read(0x800, 4)).toBe(0); // beyond the register file, inside the page
  });

  it('writes to reserved offsets are ignored', () => {
    const { apic } = makeApic();
    for (const off of [0x000, 0x010, 0x040, 0x290, 0x3a0, 0x3f0]) {
      mmioWrite(apic, off, 0xffffffff);
      expect(mmio(apic, off)).toBe(0);
    }
  });
});

describe('x2APIC MSRs', () => {
  it('reads the power-up values and the derived LDR', () => {
    const { apic } = makeApic({ apicId: 0x21 });
    x2apic(apic, false);
    expect(rd32(apic, 0x802)).toBe(0x21);
    expect(rd32(apic, 0x803)).toBe(0x00050014);
    expect(rd32(apic, 0x808)).toBe(0);
    expect(rd32(apic, 0x80a)).toBe(0);
    expect(rd32(apic, 0x80d)).toBe((2 << 16) | 2);
    expect(rd32(apic, 0x80f)).toBe(0xff);
    expect(rd32(apic, 0x828)).toBe(0);
    expect(rdmsr(apic, 0x830)).toBe(0n);
    for (let m = 0x832; m <= 0x837; m++) expect(rd32(apic, m)).toBe(0x10000);
    expect(rd32(apic, 0x838)).toBe(0);
    expect(rd32(apic, 0x839)).toBe(0);
    expect(rd32(apic, 0x83e)).toBe(0);
    for (let m = 0x810; m <= 0x827; m++) expect(rd32(apic, m)).toBe(0);
  });

  it('RDMSR returns 0 in EDX for 32-bit registers and the destination for the ICR', () => {
    const { apic } = makeApic();
    x2apic(apic);
    expect(wrmsr(apic, 0x830, (5n << 32n) | 0x4000n | 0x40n)).toBe(true);
    expect(rdmsr(apic, 0x830)).toBe((5n << 32n) | 0x4040n);
    expect(rdmsr(apic, 0x808)).toBe(0n);
  });

  it('writes every read-write register', () => {
    const { apic } = makeApic();
    x2apic(apic);
    const cases: [number, number][] = [
      [0x808, 0xa0],
      [0x80f, 0x3ff],
      [0x832, 0x000600ff & 0x000700ff], // timer with mode 11 bits kept
      [0x833, 0x000107ff],
      [0x834, 0x000107ff],
      [0x835, 0x0001a7ff],
      [0x836, 0x0001a7ff],
      [0x837, 0x000100ff],
      [0x83e, 0xb],
    ];
    for (const [m, v] of cases) {
      expect(wrmsr(apic, m, v), `MSR ${m.toString(16)}`).toBe(true);
      expect(rd32(apic, m), `MSR ${m.toString(16)}`).toBe(v);
    }
  });

  it('LVT read-only bits (delivery status, remote IRR) may be written as 1 and stay 0', () => {
    const { apic } = makeApic();
    x2apic(apic);
    expect(wrmsr(apic, 0x835, 0x5000 | 0x30)).toBe(true);
    expect(rd32(apic, 0x835)).toBe(0x30);
    expect(wrmsr(apic, 0x837, 0x1000 | 0x31)).toBe(true);
    expect(rd32(apic, 0x837)).toBe(0x31);
  });

  // [MSR, why]: RDMSR and WRMSR both raise #GP (SDM Table 11-6, vmx.md 9.2).
  const absent: [number, string][] = [
    [0x800, 'reserved'],
    [0x801, 'reserved'],
    [0x804, 'reserved'],
    [0x807, 'reserved'],
    [0x809, 'APR: not in x2APIC'],
    [0x80c, 'RRD: not in x2APIC'],
    [0x80e, 'DFR: not in x2APIC'],
    [0x829, 'reserved'],
    [0x82e, 'reserved'],
    [0x82f, 'LVT CMCI: not implemented (max LVT entry 5)'],
    [0x831, 'ICR high: the ICR is one 64-bit MSR'],
    [0x83a, 'reserved'],
    [0x83d, 'reserved'],
    [0x840, 'reserved'],
    [0x8ff, 'reserved'],
  ];
  it.each(absent)('MSR %s (%s): #GP on read and write', (msr) => {
    const { apic } = makeApic();
    x2apic(apic);
    expect(rdmsr(apic, msr)).toBe('GP');
    expect(wrmsr(apic, msr, 0)).toBe(false);
  });

  it.each([
    [0x80b, 'EOI'],
    [0x83f, 'SELF IPI'],
  ])('write-only MSR %s (%s): RDMSR #GP', (msr) => {
    const { apic } = makeApic();
    x2apic(apic);
    expect(rdmsr(apic, msr)).toBe('GP');
  });

  const readOnly: [number, string][] = [
    [0x802, 'ID'],
    [0x803, 'version'],
    [0x80a, 'PPR'],
    [0x80d, 'LDR'],
    [0x839, 'current count'],
  ];
  for (let i = 0; i < 8; i++) {
    readOnly.push([0x810 + i, `ISR${i}`], [0x818 + i, `TMR${i}`], [0x820 + i, `IRR${i}`]);
  }
  it.each(readOnly)('read-only MSR %s (%s): WRMSR #GP, even of the current value', (msr) => {
    const { apic } = makeApic();
    x2apic(apic);
    const v = rd32(apic, msr);
    expect(wrmsr(apic, msr, v)).toBe(false);
    expect(wrmsr(apic, msr, 0)).toBe(false);
  });

  // [MSR, value]: reserved bits set (SDM 11.12.1.3: #GP), and EOI/ESR accept only 0.
  const reserved: [number, bigint, string][] = [
    [0x808, 0x100n, 'TPR bit 8'],
    [0x808, 1n << 32n, 'TPR bit 32'],
    [0x80b, 1n, 'EOI non-zero'],
    [0x80b, 1n << 32n, 'EOI bit 32'],
    [0x80f, 0x1000n, 'SVR bit 12 (EOI-broadcast suppression unsupported)'],
    [0x80f, 0x400n, 'SVR bit 10'],
    [0x828, 1n, 'ESR non-zero'],
    [0x830, 1n << 13n, 'ICR bit 13'],
    [0x830, 1n << 16n, 'ICR bit 16'],
    [0x830, 1n << 17n, 'ICR bit 17'],
    [0x830, 1n << 20n, 'ICR bit 20'],
    [0x830, 1n << 31n, 'ICR bit 31'],
    [0x832, 1n << 19n, 'LVT timer bit 19'],
    [0x832, 0x700n, 'LVT timer delivery mode bits'],
    [0x833, 1n << 13n, 'LVT thermal bit 13'],
    [0x835, 1n << 11n, 'LVT LINT0 bit 11'],
    [0x835, 1n << 17n, 'LVT LINT0 bit 17'],
    [0x837, 0x100n, 'LVT error bit 8'],
    [0x838, 1n << 32n, 'initial count bit 32'],
    [0x83e, 4n, 'divide bit 2'],
    [0x83e, 0x10n, 'divide bit 4'],
    [0x83f, 0x100n, 'SELF IPI bit 8'],
    [0x83f, 1n << 32n, 'SELF IPI bit 32'],
  ];
  it.each(reserved)('MSR %s = %s (%s): #GP, register unchanged', (msr, value) => {
    const { apic } = makeApic();
    x2apic(apic);
    const before = msr === 0x80b || msr === 0x83f ? 0n : rdmsr(apic, msr);
    expect(wrmsr(apic, msr, value)).toBe(false);
    if (msr !== 0x80b && msr !== 0x83f) expect(rdmsr(apic, msr)).toBe(before);
  });

  it('ICR bit 12 (delivery status) is ignored in x2APIC, not reserved', () => {
    const { apic } = makeApic();
    x2apic(apic);
    expect(wrmsr(apic, 0x830, 0x1000n | 0x40n | (0n << 32n))).toBe(true);
    expect(rdmsr(apic, 0x830)).toBe(0x40n);
    expect(vectorsOf((i) => rd32(apic, 0x820 + i))).toEqual([0x40]);
  });
});

describe('software enable (SVR bit 8, SDM 11.4.7.2)', () => {
  it('clearing it masks every LVT; while clear, the mask bits cannot be cleared', () => {
    const { apic } = makeApic();
    xapicEnable(apic);
    for (const off of [0x320, 0x330, 0x340, 0x350, 0x360, 0x370]) mmioWrite(apic, off, 0x30);
    expect(mmio(apic, 0x320)).toBe(0x30);
    mmioWrite(apic, 0xf0, 0xff);
    for (const off of [0x320, 0x330, 0x340, 0x350, 0x360, 0x370]) {
      expect(mmio(apic, off)).toBe(0x10030);
      mmioWrite(apic, off, 0x31);
      expect(mmio(apic, off)).toBe(0x10031);
    }
    xapicEnable(apic);
    mmioWrite(apic, 0x320, 0x32);
    expect(mmio(apic, 0x320)).toBe(0x32);
  });

  it('at reset the APIC is software-disabled: LVT writes keep the mask', () => {
    const { apic } = makeApic();
    mmioWrite(apic, 0x320, 0x40);
    expect(mmio(apic, 0x320)).toBe(0x10040);
  });
});
