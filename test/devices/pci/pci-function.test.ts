// A type-0 function's header (devices.md 2.2/2.3): read-only, RW and RW1C bits, BAR sizing with the exact
// read-back values, command-bit gating of MMIO, I/O, DMA and INTx, BAR change callbacks, reset, build errors.

import { beforeEach, describe, expect, it } from 'vitest';
import { PciFunction } from '../../../src/devices/pci/pci-function.js';
import { RecordingIrq } from '../../helpers/recording-irq.js';
import { RecordingDma, StubNic } from './fakes.js';

/** The probe a driver runs (devices.md 2.3): save, write all-ones, read back, restore. */
function probe(fn: PciFunction, bar: number): number {
  const reg = 0x10 + 4 * bar;
  const saved = fn.configRead(reg, 4);
  fn.configWrite(reg, 4, 0xffffffff);
  const readback = fn.configRead(reg, 4);
  fn.configWrite(reg, 4, saved);
  return readback;
}

function bare(extra: Partial<ConstructorParameters<typeof PciFunction>[0]> = {}): PciFunction {
  const identity = { name: 'bare', vendorId: 0x1234, deviceId: 0xabcd, revision: 7, classCode: 0xff0102 };
  return new PciFunction({ ...identity, ...extra });
}

describe('header bits', () => {
  let nic: StubNic;
  beforeEach(() => {
    nic = new StubNic();
  });

  it('keeps identity and pointer fields read-only', () => {
    const fn = nic.pci;
    const before = [0x00, 0x08, 0x2c, 0x28, 0x30, 0x34, 0x38].map((o) => fn.configRead(o, 4));
    for (const o of [0x00, 0x08, 0x2c, 0x28, 0x30, 0x34, 0x38]) fn.configWrite(o, 4, 0xffffffff);
    for (const o of [0x00, 0x08, 0x2c, 0x28, 0x30, 0x34, 0x38]) fn.configWrite(o, 4, 0);
    expect([0x00, 0x08, 0x2c, 0x28, 0x30, 0x34, 0x38].map((o) => fn.configRead(o, 4))).toEqual(before);
    expect(before[0]).toBe(0x100e8086);
    expect(before[1]).toBe(0x02000003);
    expect(before[3]).toBe(0); // CardBus CIS
    expect(before[4]).toBe(0); // no expansion ROM: the size probe returns 0
  });

  it('lets software write the command bits I/O, memory, bus master, parity, SERR and INTx disable only', () => {
    nic.pci.configWrite(0x04, 2, 0xffff);
    expect(nic.pci.configRead(0x04, 2)).toBe(0x0547);
    nic.pci.configWrite(0x04, 2, 0x0000);
    expect(nic.pci.configRead(0x04, 2)).toBe(0);
  });

  it('treats status error bits as RW1C and the rest as read-only', () => {
    const fn = nic.pci;
    expect(fn.configRead(0x06, 2)).toBe(0x0010); // capabilities list (MSI)
    fn.raiseStatusErrors(0xf900);
    fn.setIntx(true);
    expect(fn.configRead(0x06, 2)).toBe(0xf918);
    fn.configWrite(0x06, 2, 0x0000); // writing 0 changes nothing
    expect(fn.configRead(0x06, 2)).toBe(0xf918);
    fn.configWrite(0x06, 2, 0x2000); // clears received master abort only
    expect(fn.configRead(0x06, 2)).toBe(0xd918);
    fn.configWrite(0x04, 4, 0xffff_0000); // a dword write at 0x04 with command 0: clears all errors
    expect(fn.configRead(0x06, 2)).toBe(0x0018); // interrupt status and capabilities list are read-only
    expect(fn.configRead(0x04, 2)).toBe(0);
  });

  it('has RW cache line size, latency timer and interrupt line; RO pin, header type, BIST, Min_Gnt, Max_Lat', () => {
    nic.pci.configWrite(0x0c, 4, 0xffffffff);
    expect(nic.pci.configRead(0x0c, 4)).toBe(0x0000ffff);
    nic.pci.configWrite(0x3c, 4, 0xffffffff);
    expect(nic.pci.configRead(0x3c, 4)).toBe(0x000001ff);
  });

  it('reads 0 in unused device-specific space and keeps it read-only', () => {
    nic.pci.configWrite(0x40, 4, 0xffffffff);
    expect(nic.pci.configRead(0x40, 4)).toBe(0);
    expect(nic.pci.configRead(0xfc, 4)).toBe(0);
  });
});

describe('BAR sizing', () => {
  it('reads back the size mask with the type bits: 128 KiB memory -> FFFE0000, 64 B I/O -> FFFFFFC1', () => {
    const nic = new StubNic();
    expect(probe(nic.pci, 0)).toBe(0xfffe0000);
    expect(probe(nic.pci, 1)).toBe(0xffffffc1);
    expect((~(0xfffe0000 & 0xfffffff0) + 1) >>> 0).toBe(0x20000);
    expect((~(0xffffffc1 & 0xfffffffc) + 1) >>> 0).toBe(0x40);
  });

  it('leaves unimplemented BARs at 0', () => {
    const nic = new StubNic();
    for (const bar of [2, 3, 4, 5]) expect(probe(nic.pci, bar)).toBe(0);
  });

  it('reports the prefetchable bit and other sizes', () => {
    const fn = bare();
    fn.addBar(0, { kind: 'memory', size: 0x1000, prefetchable: true, region: null });
    fn.addBar(2, { kind: 'memory', size: 16, region: null });
    fn.addBar(3, { kind: 'memory', size: 0x8000_0000, region: null });
    fn.addBar(4, { kind: 'io', size: 4, region: null });
    fn.addBar(5, { kind: 'io', size: 256, region: null });
    expect(probe(fn, 0)).toBe(0xfffff008);
    expect(probe(fn, 2)).toBe(0xfffffff0);
    expect(probe(fn, 3)).toBe(0x80000000);
    expect(probe(fn, 4)).toBe(0xfffffffd);
    expect(probe(fn, 5)).toBe(0xffffff01);
  });

  it('keeps a programmed base aligned to the size and the probe restores it', () => {
    const nic = new StubNic();
    nic.pci.configWrite(0x10, 4, 0xfeb81234);
    expect(nic.pci.configRead(0x10, 4)).toBe(0xfeb80000);
    nic.pci.configWrite(0x14, 4, 0xc03f);
    expect(nic.pci.configRead(0x14, 4)).toBe(0xc001);
    expect(probe(nic.pci, 0)).toBe(0xfffe0000);
    expect(nic.pci.configRead(0x10, 4)).toBe(0xfeb80000);
  });

  it('accepts byte-wise BAR writes', () => {
    const nic = new StubNic();
    for (let i = 0; i < 4; i++) nic.pci.configWrite(0x10 + i, 1, 0xff);
    expect(nic.pci.configRead(0x10, 4)).toBe(0xfffe0000);
    nic.pci.configWrite(0x12, 2, 0xe000);
    expect(nic.pci.configRead(0x10, 4)).toBe(0xe000_0000);
  });
});

describe('command gating', () => {
  let nic: StubNic;
  let events: [number, number, number][];
  beforeEach(() => {
    nic = new StubNic();
    events = [];
    nic.pci.addBarListener({ barChanged: (_fn, index, previous, current) => events.push([index, previous, current]) });
  });

  it('makes the MMIO window live only with memory space enabled and the BAR programmed', () => {
    expect(nic.mmioLive).toBe(false);
    nic.pci.configWrite(0x04, 2, 0x0002); // memory space, BAR still 0
    expect(nic.mmioLive).toBe(false);
    nic.pci.configWrite(0x10, 4, 0xe0000000);
    expect(nic.mmioLive).toBe(true);
    expect(nic.pci.barAddress(0)).toBe(0xe0000000);
    nic.pci.configWrite(0x04, 2, 0x0000);
    expect(nic.mmioLive).toBe(false);
    nic.pci.configWrite(0x04, 2, 0x0002);
    expect(events).toEqual([
      [0, -1, 0xe0000000],
      [0, 0xe0000000, -1],
      [0, -1, 0xe0000000],
    ]);
  });

  it('tells listeners when a live BAR moves, and unmaps it during a size probe', () => {
    nic.pci.configWrite(0x10, 4, 0xe0000000);
    nic.pci.configWrite(0x04, 2, 0x0002);
    nic.pci.configWrite(0x10, 4, 0xfeb80000);
    probe(nic.pci, 0);
    expect(events).toEqual([
      [0, -1, 0xe0000000],
      [0, 0xe0000000, 0xfeb80000],
      [0, 0xfeb80000, -1],
      [0, -1, 0xfeb80000],
    ]);
  });

  it('does not notify when nothing decodes differently', () => {
    nic.pci.configWrite(0x10, 4, 0xe0000000); // memory space off: still unmapped
    nic.pci.configWrite(0x04, 2, 0x0004); // bus master only
    nic.pci.configWrite(0x3c, 1, 0x0b);
    expect(events).toEqual([]);
  });

  it('gates I/O BARs with command bit 0 and keeps them inside the 64 KiB port space', () => {
    nic.pci.configWrite(0x14, 4, 0xc000);
    nic.pci.configWrite(0x04, 2, 0x0002);
    expect(nic.pci.barAddress(1)).toBe(-1);
    nic.pci.configWrite(0x04, 2, 0x0001);
    expect(nic.pci.barAddress(1)).toBe(0xc000);
    expect(nic.pci.barAddress(0)).toBe(-1); // memory BAR off with bit 1 clear
    nic.pci.configWrite(0x14, 4, 0x10000);
    expect(nic.pci.barAddress(1)).toBe(-1);
    nic.pci.configWrite(0x14, 4, 0xffc0);
    expect(nic.pci.barAddress(1)).toBe(0xffc0);
  });

  it('treats a zero base as unmapped', () => {
    nic.pci.configWrite(0x04, 2, 0x0003);
    expect(nic.pci.barAddress(0)).toBe(-1);
    expect(nic.pci.barAddress(1)).toBe(-1);
  });

  it('exposes bus mastering (DMA and MSI allowed) and reports command changes to the device', () => {
    expect(nic.mayDma).toBe(false);
    nic.pci.configWrite(0x04, 2, 0x0006);
    expect(nic.mayDma).toBe(true);
    expect(nic.pci.memoryEnabled).toBe(true);
    expect(nic.pci.ioEnabled).toBe(false);
    nic.pci.configWrite(0x04, 1, 0x02);
    expect(nic.mayDma).toBe(false);
    nic.pci.configWrite(0x05, 1, 0x04);
    expect(nic.pci.intxDisabled).toBe(true);
    expect(nic.commandChanges).toEqual([
      [0x0000, 0x0006],
      [0x0006, 0x0002],
      [0x0002, 0x0402],
    ]);
  });
});

describe('INTx', () => {
  it('asserts the line with Interrupt Status unless INTx Disable or MSI Enable', () => {
    const irq = new RecordingIrq();
    const fn = bare({ interruptPin: 1, intx: irq, dma: new RecordingDma() });
    const msi = fn.addMsi();
    fn.setIntx(true);
    expect(irq.level).toBe(true);
    expect(fn.configRead(0x06, 2) & 0x08).toBe(0x08);
    fn.configWrite(0x04, 2, 0x0400);
    expect(irq.level).toBe(false);
    expect(fn.configRead(0x06, 2) & 0x08).toBe(0x08); // status still reports the condition
    fn.configWrite(0x04, 2, 0x0000);
    expect(irq.level).toBe(true);
    fn.configWrite(msi.controlOffset, 2, 0x0001);
    expect(irq.level).toBe(false);
    fn.configWrite(msi.controlOffset, 2, 0x0000);
    expect(irq.level).toBe(true);
    fn.setIntx(false);
    expect(irq.level).toBe(false);
    expect(fn.configRead(0x06, 2) & 0x08).toBe(0);
    expect(irq.history).toEqual([true, false, true, false, true, false]);
  });
});

describe('reset', () => {
  it('restores the reset image and unmaps BARs', () => {
    const nic = new StubNic();
    const events: number[] = [];
    nic.pci.addBarListener({ barChanged: (_f, _i, _p, current) => events.push(current) });
    nic.pci.configWrite(0x10, 4, 0xe0000000);
    nic.pci.configWrite(0x04, 2, 0x0007);
    nic.pci.configWrite(0x3c, 1, 0x0b);
    nic.pci.configWrite(0xd2, 2, 0x0001);
    nic.pci.reset();
    expect(nic.pci.configRead(0x04, 2)).toBe(0);
    expect(nic.pci.configRead(0x10, 4)).toBe(0);
    expect(nic.pci.configRead(0x3c, 1)).toBe(0);
    expect(nic.pci.configRead(0x00, 4)).toBe(0x100e8086);
    expect(nic.pci.configRead(0x06, 2)).toBe(0x0010);
    expect(nic.pci.msi!.enabled).toBe(false);
    expect(events).toEqual([0xe0000000, -1]);
  });
});

describe('building', () => {
  it('rejects bad or duplicate BARs', () => {
    const fn = bare();
    fn.addBar(0, { kind: 'memory', size: 0x1000, region: null });
    expect(() => fn.addBar(0, { kind: 'memory', size: 0x1000, region: null })).toThrow(RangeError);
    expect(() => fn.addBar(6, { kind: 'memory', size: 0x1000, region: null })).toThrow(RangeError);
    expect(() => fn.addBar(1, { kind: 'memory', size: 0x1800, region: null })).toThrow(RangeError);
    expect(() => fn.addBar(1, { kind: 'memory', size: 8, region: null })).toThrow(RangeError);
    expect(() => fn.addBar(1, { kind: 'io', size: 512, region: null })).toThrow(RangeError);
    expect(() => fn.addBar(1, { kind: 'io', size: 16, prefetchable: true, region: null })).toThrow(RangeError);
  });

  it('rejects misplaced or overlapping capabilities and MSI without a DMA space', () => {
    const fn = bare();
    const cap = (offset: number, length = 4) => ({ id: 0x09, offset, length, configWritten() {} });
    expect(() => fn.addCapability(cap(0x3c))).toThrow(RangeError);
    expect(() => fn.addCapability(cap(0x42))).toThrow(RangeError);
    expect(() => fn.addCapability(cap(0xfc, 8))).toThrow(RangeError);
    fn.addCapability(cap(0x40, 6));
    expect(() => fn.addCapability(cap(0x44))).toThrow(RangeError); // 0x40+6 rounds up to 0x48
    expect(() => fn.addMsi()).toThrow(RangeError);
  });
});
