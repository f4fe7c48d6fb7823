// Acceptance and priority (SDM Vol. 3 11.8): IRR -> ISR on acknowledge, PPR from TPR and ISRV, nested
// in-service vectors and EOI order, spurious INTA, illegal vectors and ESR, IPIs through ICR and SELF IPI.

import { describe, expect, it } from 'vitest';
import { makeApic, mmio, mmioWrite, rd32, vectorsOf, wrmsr, x2apic, xapicEnable } from './helpers.js';
import type { LocalApic } from '../../../src/devices/apic/local-apic.js';

const irr = (a: LocalApic): number[] => vectorsOf((i) => rd32(a, 0x820 + i));
const isr = (a: LocalApic): number[] => vectorsOf((i) => rd32(a, 0x810 + i));
const tmr = (a: LocalApic): number[] => vectorsOf((i) => rd32(a, 0x818 + i));
const selfIpi = (a: LocalApic, v: number): boolean => wrmsr(a, 0x83f, v);
const eoi = (a: LocalApic): boolean => wrmsr(a, 0x80b, 0);
const ppr = (a: LocalApic): number => rd32(a, 0x80a);

function ready(apicId = 0): LocalApic {
  const { apic } = makeApic({ apicId });
  x2apic(apic);
  return apic;
}

describe('acceptance, acknowledge and EOI', () => {
  it('a fixed interrupt sets IRR; acknowledge moves it to ISR and returns it; EOI retires it', () => {
    const a = ready();
    expect(a.hasInterrupt()).toBe(false);
    selfIpi(a, 0x41);
    expect(irr(a)).toEqual([0x41]);
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledge()).toBe(0x41);
    expect(irr(a)).toEqual([]);
    expect(isr(a)).toEqual([0x41]);
    expect(ppr(a)).toBe(0x40);
    expect(a.hasInterrupt()).toBe(false);
    expect(eoi(a)).toBe(true);
    expect(isr(a)).toEqual([]);
    expect(ppr(a)).toBe(0);
    expect(a.stats.delivered).toBe(1);
  });

  it('the highest vector is taken first', () => {
    const a = ready();
    for (const v of [0x31, 0x95, 0x52, 0x96]) selfIpi(a, v);
    expect(a.acknowledge()).toBe(0x96);
  });

  it('a second arrival while IRR holds the vector merges; one more can queue behind the one in service', () => {
    const a = ready();
    selfIpi(a, 0x50);
    selfIpi(a, 0x50);
    expect(a.stats.merged).toBe(1);
    expect(a.acknowledge()).toBe(0x50);
    selfIpi(a, 0x50);
    expect(irr(a)).toEqual([0x50]);
    expect(isr(a)).toEqual([0x50]);
    expect(a.hasInterrupt()).toBe(false); // same class as the one in service
    eoi(a);
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledge()).toBe(0x50);
  });

  it('nested: a higher class preempts the one in service; EOIs retire the highest first', () => {
    const a = ready();
    selfIpi(a, 0x40);
    expect(a.acknowledge()).toBe(0x40);
    selfIpi(a, 0x4f); // same class: waits
    expect(a.hasInterrupt()).toBe(false);
    selfIpi(a, 0x60); // higher class: preempts
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledge()).toBe(0x60);
    expect(isr(a)).toEqual([0x40, 0x60]);
    expect(ppr(a)).toBe(0x60);
    eoi(a);
    expect(isr(a)).toEqual([0x40]);
    expect(ppr(a)).toBe(0x40);
    expect(a.hasInterrupt()).toBe(false);
    eoi(a);
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledge()).toBe(0x4f);
  });

  it('EOI with nothing in service is a no-op, counted as spurious', () => {
    const a = ready();
    selfIpi(a, 0x40);
    eoi(a);
    expect(irr(a)).toEqual([0x40]);
    expect(a.stats.spuriousEois).toBe(1);
  });

  it('acknowledge with nothing deliverable returns the spurious vector and changes nothing', () => {
    const a = ready();
    wrmsr(a, 0x80f, 0x1e7);
    expect(a.acknowledge()).toBe(0xe7);
    selfIpi(a, 0x30);
    wrmsr(a, 0x808, 0x30); // TPR raised between the CPU's check and INTA
    expect(a.acknowledge()).toBe(0xe7);
    expect(irr(a)).toEqual([0x30]);
    expect(isr(a)).toEqual([]);
    expect(a.stats.spuriousAcks).toBe(2);
  });

  it('notifies the CPU when an interrupt becomes deliverable, once per rising edge', () => {
    const { apic: a, notified } = makeApic();
    x2apic(a);
    selfIpi(a, 0x40);
    selfIpi(a, 0x41);
    expect(notified()).toBe(1);
    a.acknowledge(); // 0x41 in service; 0x40 same class, held
    a.acknowledge();
    eoi(a);
    eoi(a);
    expect(notified()).toBe(2);
  });

  it('a level-triggered interrupt sets TMR and its EOI is broadcast; edge clears TMR', () => {
    const { apic: a, eoiBroadcasts } = makeApic();
    x2apic(a);
    a.deliverMsi(0xfee00000, 0xc000 | 0x45);
    expect(tmr(a)).toEqual([0x45]);
    a.acknowledge();
    eoi(a);
    expect(eoiBroadcasts).toEqual([0x45]);
    a.deliverMsi(0xfee00000, 0x45);
    expect(tmr(a)).toEqual([]);
    a.acknowledge();
    eoi(a);
    expect(eoiBroadcasts).toEqual([0x45]);
  });
});

describe('PPR and TPR (SDM 11.8.3.1)', () => {
  it('PPR = TPR when TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4', () => {
    const a = ready();
    wrmsr(a, 0x808, 0x35);
    expect(ppr(a)).toBe(0x35);
    selfIpi(a, 0x47);
    a.acknowledge();
    expect(ppr(a)).toBe(0x40);
    wrmsr(a, 0x808, 0x4a);
    expect(ppr(a)).toBe(0x4a);
    wrmsr(a, 0x808, 0x52);
    expect(ppr(a)).toBe(0x52);
  });

  it('an interrupt is presented only when its class is above PPR class', () => {
    const a = ready();
    wrmsr(a, 0x808, 0x50);
    selfIpi(a, 0x5f);
    expect(a.hasInterrupt()).toBe(false);
    selfIpi(a, 0x60);
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledge()).toBe(0x60);
    eoi(a);
    expect(a.hasInterrupt()).toBe(false);
    wrmsr(a, 0x808, 0x4f); // lowering TPR releases the held one
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledge()).toBe(0x5f);
  });

  it('xAPIC TPR at 0x80 and PPR at 0xA0 behave the same', () => {
    const { apic: a } = makeApic();
    xapicEnable(a);
    mmioWrite(a, 0x80, 0x20);
    a.deliverMsi(0xfee00000, 0x2f);
    expect(a.hasInterrupt()).toBe(false);
    a.deliverMsi(0xfee00000, 0x31);
    expect(a.acknowledge()).toBe(0x31);
    expect(mmio(a, 0xa0)).toBe(0x30);
    mmioWrite(a, 0xb0, 0);
    expect(mmio(a, 0x100 + 0x10)).toBe(0);
    expect(mmio(a, 0xa0)).toBe(0x20);
  });
});

describe('illegal vectors and ESR (SDM 11.5.3)', () => {
  it('sending vector 0-15 sets ESR bit 5 and delivers nothing', () => {
    const a = ready();
    wrmsr(a, 0x830, 0x40000 | 0x0f); // self
    selfIpi(a, 3);
    expect(irr(a)).toEqual([]);
    expect(rd32(a, 0x828)).toBe(0); // not latched yet
    wrmsr(a, 0x828, 0);
    expect(rd32(a, 0x828)).toBe(0x20);
    expect(a.stats.illegalVectors).toBe(2);
  });

  it('receiving vector 0-15 (MSI, LVT timer) sets ESR bit 6', () => {
    const a = ready();
    a.deliverMsi(0xfee00000, 0x0e);
    expect(irr(a)).toEqual([]);
    wrmsr(a, 0x828, 0);
    expect(rd32(a, 0x828)).toBe(0x40);
  });

  it('a write latches the errors since the previous write; the next write clears them', () => {
    const a = ready();
    selfIpi(a, 1);
    wrmsr(a, 0x828, 0);
    a.deliverMsi(0xfee00000, 2);
    expect(rd32(a, 0x828)).toBe(0x20);
    wrmsr(a, 0x828, 0);
    expect(rd32(a, 0x828)).toBe(0x40);
    wrmsr(a, 0x828, 0);
    expect(rd32(a, 0x828)).toBe(0);
  });

  it('in xAPIC mode any value written latches', () => {
    const { apic: a } = makeApic();
    xapicEnable(a);
    mmioWrite(a, 0x300, 0x40000 | 5);
    mmioWrite(a, 0x280, 0xffffffff);
    expect(mmio(a, 0x280)).toBe(0x20);
  });

  it('an error raises the LVT error interrupt when unmasked', () => {
    const a = ready();
    wrmsr(a, 0x837, 0xfe);
    selfIpi(a, 4);
    expect(irr(a)).toEqual([0xfe]);
  });
});

describe('IPIs', () => {
  it('SELF IPI: fixed, edge, to this APIC', () => {
    const a = ready();
    expect(selfIpi(a, 0x80)).toBe(true);
    expect(irr(a)).toEqual([0x80]);
    expect(tmr(a)).toEqual([]);
    expect(a.stats.ipis).toBe(1);
  });

  it.each([
    ['shorthand self', 0x40000n, true],
    ['shorthand all including self', 0x80000n, true],
    ['shorthand all excluding self', 0xc0000n, false],
    ['physical, own ID', 7n << 32n, true],
    ['physical, other ID', 8n << 32n, false],
    ['physical broadcast', 0xffffffffn << 32n, true],
    ['logical, own cluster and bit', 0x800n | (0x00000080n << 32n), true],
    ['logical, own cluster, other bit', 0x800n | (0x00000001n << 32n), false],
    ['logical, other cluster', 0x800n | (0x00010080n << 32n), false],
  ])('x2APIC ICR %s: delivered to self = %s', (_name, bits, delivered) => {
    const a = ready(7); // LDR = cluster 0, bit 7
    expect(wrmsr(a, 0x830, bits | 0x55n)).toBe(true);
    expect(irr(a)).toEqual(delivered ? [0x55] : []);
    expect(a.stats.dropped).toBe(delivered ? 0 : 1);
  });

  it.each([
    ['physical, own ID', 0x00000, 0x03000000, true],
    ['physical, other ID', 0x00000, 0x04000000, false],
    ['physical broadcast', 0x00000, 0xff000000, true],
    ['logical flat, matching bit', 0x00800, 0x02000000, true],
    ['logical flat, other bit', 0x00800, 0x01000000, false],
    ['shorthand self', 0x40000, 0, true],
  ])('xAPIC ICR %s: delivered = %s', (_name, lo, hi, delivered) => {
    const { apic: a } = makeApic({ apicId: 3 });
    xapicEnable(a);
    mmioWrite(a, 0xd0, 0x02000000); // logical ID bit 1
    mmioWrite(a, 0x310, hi);
    mmioWrite(a, 0x300, lo | 0x66);
    expect(a.hasInterrupt()).toBe(delivered);
    expect(mmio(a, 0x300)).toBe(lo | 0x66); // delivery status reads idle
  });

  it('xAPIC logical cluster model: cluster in 7:4, members in 3:0', () => {
    const { apic: a } = makeApic();
    xapicEnable(a);
    mmioWrite(a, 0xe0, 0x0fffffff);
    mmioWrite(a, 0xd0, 0x24000000); // cluster 2, member bit 2
    mmioWrite(a, 0x310, 0x14000000);
    mmioWrite(a, 0x300, 0x800 | 0x70);
    expect(a.hasInterrupt()).toBe(false);
    mmioWrite(a, 0x310, 0x24000000);
    mmioWrite(a, 0x300, 0x800 | 0x70);
    expect(a.hasInterrupt()).toBe(true);
  });

  it('NMI, INIT, SIPI, SMI IPIs are counted and dropped', () => {
    const a = ready();
    for (const mode of [2, 4, 5, 6]) expect(wrmsr(a, 0x830, 0x40000 | (mode << 8))).toBe(true);
    expect(irr(a)).toEqual([]);
    expect(a.stats.dropped).toBe(4);
  });

  it('a software-disabled APIC accepts nothing new and presents nothing it holds', () => {
    const a = ready();
    selfIpi(a, 0x40);
    wrmsr(a, 0x80f, 0xff);
    expect(a.hasInterrupt()).toBe(false);
    selfIpi(a, 0x50);
    expect(irr(a)).toEqual([0x40]);
    expect(a.acknowledge()).toBe(0xff);
    wrmsr(a, 0x80f, 0x1ff);
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledge()).toBe(0x40);
  });
});

describe('PIC pass-through (acceptsPicInterrupts)', () => {
  it('open when globally or software-disabled, or LINT0 is unmasked ExtINT; closed otherwise', () => {
    const { apic: a } = makeApic();
    expect(a.acceptsPicInterrupts()).toBe(true); // reset: software-disabled
    xapicEnable(a);
    expect(a.acceptsPicInterrupts()).toBe(false); // LINT0 masked
    mmioWrite(a, 0x350, 0x700);
    expect(a.acceptsPicInterrupts()).toBe(true); // virtual wire
    mmioWrite(a, 0x350, 0x400); // NMI
    expect(a.acceptsPicInterrupts()).toBe(false);
    wrmsr(a, 0x1b, 0xfee00000);
    expect(a.acceptsPicInterrupts()).toBe(true);
  });
});
