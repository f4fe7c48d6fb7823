// IA32_APIC_BASE (SDM Vol. 3 11.4.4, 11.12.5): reset value, legal and illegal mode transitions, reserved bits,
// what each mode does to the MMIO page and the x2APIC MSRs, and the state reset on global disable.

import { describe, expect, it } from 'vitest';
import { APIC_BASE, BASE, BSP, EN, EXTD, makeApic, mmio, mmioWrite, rd32, rdmsr, wrmsr, x2apic } from './helpers.js';

const DISABLED = BASE;
const XAPIC = (BASE | EN) >>> 0;
const X2APIC = (BASE | EN | EXTD) >>> 0;
const u = (x: number): bigint => BigInt(x >>> 0);

describe('IA32_APIC_BASE', () => {
  it('resets to 0xFEE00900: base FEE00000, EN, BSP, xAPIC mode', () => {
    const { apic } = makeApic();
    expect(rdmsr(apic, APIC_BASE)).toBe(u(BASE | EN | BSP));
    expect(apic.apicMode).toBe(1);
    expect(apic.baseAddress).toBe(BASE);
  });

  it('BSP is read-only: a write neither clears nor sets it', () => {
    const bsp = makeApic().apic;
    expect(wrmsr(bsp, APIC_BASE, XAPIC)).toBe(true);
    expect(rd32(bsp, APIC_BASE) & BSP).toBe(BSP);
    const ap = makeApic({ bsp: false }).apic;
    expect(wrmsr(ap, APIC_BASE, XAPIC | BSP)).toBe(true);
    expect(rd32(ap, APIC_BASE) & BSP).toBe(0);
  });

  // [from, to, legal] — SDM 11.12.5 Figure 11-27.
  const transitions: [string, number, number, boolean][] = [
    ['xAPIC -> x2APIC', XAPIC, X2APIC, true],
    ['xAPIC -> disabled', XAPIC, DISABLED, true],
    ['x2APIC -> disabled', X2APIC, DISABLED, true],
    ['disabled -> xAPIC', DISABLED, XAPIC, true],
    ['x2APIC -> xAPIC (must go through disabled)', X2APIC, XAPIC, false],
    ['disabled -> x2APIC (must go through xAPIC)', DISABLED, X2APIC, false],
    ['xAPIC -> invalid (EXTD without EN)', XAPIC, BASE | EXTD, false],
    ['x2APIC -> invalid (EXTD without EN)', X2APIC, BASE | EXTD, false],
    ['disabled -> invalid (EXTD without EN)', DISABLED, BASE | EXTD, false],
    ['xAPIC -> xAPIC', XAPIC, XAPIC, true],
    ['x2APIC -> x2APIC', X2APIC, X2APIC, true],
  ];
  const path: Record<number, number[]> = { [XAPIC]: [], [X2APIC]: [X2APIC], [DISABLED]: [DISABLED] };
  for (const [name, from, to, legal] of transitions) {
    it(`${name}: ${legal ? 'allowed' : '#GP'}`, () => {
      const { apic } = makeApic();
      for (const step of path[from]) expect(wrmsr(apic, APIC_BASE, step)).toBe(true);
      const before = rdmsr(apic, APIC_BASE);
      expect(wrmsr(apic, APIC_BASE, to)).toBe(legal);
      expect(rdmsr(apic, APIC_BASE)).toBe(legal ? u(to | BSP) : before);
    });
  }

  it.each([
    ['bit 0', 1],
    ['bit 7', 0x80],
    ['bit 9', 0x200],
    ['bit 32 (above MAXPHYADDR 32)', 2 ** 32],
    ['bit 63', 2n ** 63n],
  ])('reserved %s set: #GP', (_name, bit) => {
    const { apic } = makeApic();
    expect(wrmsr(apic, APIC_BASE, BigInt(XAPIC) | BigInt(bit))).toBe(false);
    expect(rdmsr(apic, APIC_BASE)).toBe(u(XAPIC | BSP));
  });

  it('a wider MAXPHYADDR admits base bits above 4 GiB', () => {
    let moved = -1;
    const { apic } = makeApic({ maxPhysAddrBits: 36, onBaseChange: (b) => (moved = b) });
    expect(wrmsr(apic, APIC_BASE, (0xfn << 32n) | BigInt(XAPIC))).toBe(true);
    expect(apic.baseAddress).toBe(0xf_fee00000);
    expect(moved).toBe(0xf_fee00000);
    expect(wrmsr(apic, APIC_BASE, (0x10n << 32n) | BigInt(XAPIC))).toBe(false);
  });

  it('moving the base reports it to the machine', () => {
    const moves: number[] = [];
    const { apic } = makeApic({ onBaseChange: (b) => moves.push(b) });
    expect(wrmsr(apic, APIC_BASE, 0xfed00000 | EN)).toBe(true);
    expect(wrmsr(apic, APIC_BASE, 0xfed00000 | EN)).toBe(true);
    expect(moves).toEqual([0xfed00000]);
    expect(apic.baseAddress).toBe(0xfed00000);
  });
});

describe('interfaces per mode (SDM 11.12.2)', () => {
  it('xAPIC: MMIO answers, x2APIC MSRs raise #GP', () => {
    const { apic } = makeApic();
    expect(mmio(apic, 0x30)).toBe(0x00050014);
    expect(rdmsr(apic, 0x803)).toBe('GP');
    expect(wrmsr(apic, 0x808, 0)).toBe(false);
    expect(wrmsr(apic, 0x80b, 0)).toBe(false);
  });

  it('x2APIC: MSRs answer; the MMIO page reads all-ones and ignores writes', () => {
    const { apic } = makeApic();
    x2apic(apic);
    expect(rd32(apic, 0x803)).toBe(0x00050014);
    expect(apic.read(0x30, 4)).toBe(0xffffffff);
    expect(apic.read(0x80, 1)).toBe(0xff);
    mmioWrite(apic, 0x80, 0x50);
    expect(rd32(apic, 0x808)).toBe(0);
    expect(apic.stats.badMmio).toBe(3);
  });

  it('disabled: MMIO reads all-ones, x2APIC MSRs #GP, no interrupts accepted', () => {
    const { apic } = makeApic();
    expect(wrmsr(apic, APIC_BASE, DISABLED)).toBe(true);
    expect(apic.read(0x30, 4)).toBe(0xffffffff);
    expect(rdmsr(apic, 0x803)).toBe('GP');
    apic.deliverMsi(0xfee00000, 0x40);
    expect(apic.hasInterrupt()).toBe(false);
    expect(apic.stats.dropped).toBe(1);
  });

  it('entering x2APIC derives LDR from the ID (cluster << 16 | 1 << (id & 15))', () => {
    const { apic } = makeApic({ apicId: 0x35 });
    x2apic(apic);
    expect(rd32(apic, 0x802)).toBe(0x35);
    expect(rd32(apic, 0x80d)).toBe((3 << 16) | (1 << 5));
  });

  it('the 32-bit x2APIC ID reads whole in x2APIC mode; xAPIC shows its low byte in bits 31:24', () => {
    const { apic } = makeApic({ apicId: 0x1234 });
    expect(mmio(apic, 0x20)).toBe(0x34000000);
    x2apic(apic);
    expect(rd32(apic, 0x802)).toBe(0x1234);
  });

  it('a global disable returns registers to power-up state except the ID; state survives xAPIC -> x2APIC', () => {
    const { apic } = makeApic({ apicId: 3 });
    mmioWrite(apic, 0xf0, 0x1ff);
    mmioWrite(apic, 0x80, 0x20);
    mmioWrite(apic, 0x320, 0x30);
    apic.deliverMsi(0xfee03000, 0x41);
    expect(wrmsr(apic, APIC_BASE, X2APIC)).toBe(true);
    expect(rd32(apic, 0x808)).toBe(0x20);
    expect(rd32(apic, 0x80f)).toBe(0x1ff);
    expect(rd32(apic, 0x822)).toBe(1 << 1);
    expect(wrmsr(apic, APIC_BASE, DISABLED)).toBe(true);
    expect(wrmsr(apic, APIC_BASE, XAPIC)).toBe(true);
    expect(mmio(apic, 0x20)).toBe(0x03000000);
    expect(mmio(apic, 0x80)).toBe(0);
    expect(mmio(apic, 0xf0)).toBe(0xff);
    expect(mmio(apic, 0x220)).toBe(0);
    expect(mmio(apic, 0xe0)).toBe(0xffffffff);
    for (const off of [0x320, 0x330, 0x340, 0x350, 0x360, 0x370]) expect(mmio(apic, off)).toBe(0x10000);
  });

  it('IA32_TSC_DEADLINE is claimed in every mode; it reads 0 while disabled', () => {
    const { apic } = makeApic();
    expect(apic.claims(0x6e0)).toBe(true);
    expect(apic.claims(0x1b)).toBe(true);
    expect(apic.claims(0x800)).toBe(true);
    expect(apic.claims(0x8ff)).toBe(true);
    expect(apic.claims(0x900)).toBe(false);
    expect(apic.claims(0x10)).toBe(false);
    expect(wrmsr(apic, APIC_BASE, DISABLED)).toBe(true);
    expect(rdmsr(apic, 0x6e0)).toBe(0n);
    expect(wrmsr(apic, 0x6e0, 1000)).toBe(true);
  });
});
