// The MSI capability (vmx.md 10.3, devices.md 1.12): layout in both address variants, register write masks,
// kvm-unit-tests' setup sequence, and sendMsi across MSI Enable / Bus Master, multiple messages, masking.

import { beforeEach, describe, expect, it } from 'vitest';
import { DmaStatus } from '../../../src/core/dma.js';
import { MsiOutcome } from '../../../src/devices/pci/msi-capability.js';
import { PciBus } from '../../../src/devices/pci/pci-bus.js';
import { PciFunction } from '../../../src/devices/pci/pci-function.js';
import { RecordingDma, StubNic } from './fakes.js';

/** kvm-unit-tests pci_setup_msi: address low, then (64-bit) upper + data at +8/+C or data at +8, then Enable. */
function setupMsi(fn: PciFunction, address: number, data: number): void {
  const cap = fn.configRead(0x34, 1);
  const control = fn.configRead(cap + 2, 2);
  fn.configWrite(cap + 4, 4, address);
  if (control & 0x80) {
    fn.configWrite(cap + 8, 4, 0);
    fn.configWrite(cap + 12, 4, data);
  } else {
    fn.configWrite(cap + 8, 4, data);
  }
  fn.configWrite(cap + 2, 2, control | 1);
}

function masked(options: { address64: boolean; vectorsLog2: number }): { fn: PciFunction; dma: RecordingDma } {
  const dma = new RecordingDma();
  const fn = new PciFunction({ name: 'masked', vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000, dma });
  fn.addMsi({ ...options, perVectorMasking: true, offset: 0x50 });
  fn.configWrite(0x04, 2, 0x0004);
  return { fn, dma };
}

describe('MSI capability layout', () => {
  it('defaults to devices.md 1.12: at 0xD0, control 0x0080, address D4, upper D8, data DC', () => {
    const nic = new StubNic();
    const fn = nic.pci;
    expect(fn.configRead(0x06, 2) & 0x10).toBe(0x10);
    expect(fn.configRead(0x34, 1)).toBe(0xd0);
    expect(fn.configRead(0xd0, 4)).toBe(0x00800005); // ID 05, next 00, control 0080
    fn.configWrite(0xd4, 4, 0xfee01003);
    fn.configWrite(0xd8, 4, 0x12345678);
    fn.configWrite(0xdc, 4, 0xffff4041);
    expect(fn.configRead(0xd4, 4)).toBe(0xfee01000); // bits 1:0 read 0
    expect(fn.configRead(0xd8, 4)).toBe(0x12345678);
    expect(fn.configRead(0xdc, 4)).toBe(0x00004041); // 16-bit data, upper half reads 0
    expect(fn.configRead(0xe0, 4)).toBe(0); // nothing after the capability
  });

  it('lets software write only Enable and Multiple Message Enable, clamped to Multiple Message Capable', () => {
    const nic = new StubNic();
    nic.pci.configWrite(0xd2, 2, 0xffff);
    expect(nic.pci.configRead(0xd2, 2)).toBe(0x0081);
    const quad = new StubNic({ vectorsLog2: 2 });
    expect(quad.pci.configRead(0xd2, 2)).toBe(0x0084);
    quad.pci.configWrite(0xd2, 2, 0x0050); // asks for 32 vectors: granted 4
    expect(quad.pci.configRead(0xd2, 2)).toBe(0x00a4);
    quad.pci.configWrite(0xd2, 2, 0x0011);
    expect(quad.pci.configRead(0xd2, 2)).toBe(0x0095);
  });

  it('has the 32-bit form: control 0x0000, data at +8, nothing at +C', () => {
    const nic = new StubNic({ address64: false, offset: 0x48 });
    const fn = nic.pci;
    expect(fn.configRead(0x34, 1)).toBe(0x48);
    expect(fn.configRead(0x48, 4)).toBe(0x00000005);
    fn.configWrite(0x50, 4, 0xffffffff);
    expect(fn.configRead(0x50, 4)).toBe(0x0000ffff);
    fn.configWrite(0x54, 4, 0xffffffff);
    expect(fn.configRead(0x54, 4)).toBe(0);
  });

  it('places mask and pending bits after the data for both forms when per-vector masking is capable', () => {
    const m64 = masked({ address64: true, vectorsLog2: 3 }).fn;
    expect(m64.configRead(0x52, 2)).toBe(0x0186);
    m64.configWrite(0x60, 4, 0xffffffff); // mask: 8 vectors -> 8 bits
    m64.configWrite(0x64, 4, 0xffffffff); // pending: read-only
    expect(m64.configRead(0x60, 4)).toBe(0x000000ff);
    expect(m64.configRead(0x64, 4)).toBe(0);
    const m32 = masked({ address64: false, vectorsLog2: 5 }).fn;
    expect(m32.configRead(0x52, 2)).toBe(0x010a);
    m32.configWrite(0x5c, 4, 0xffffffff);
    expect(m32.configRead(0x5c, 4)).toBe(0xffffffff);
    expect(m32.configRead(0x58, 4)).toBe(0); // the data dword's upper half
  });
});

describe('sendMsi', () => {
  let nic: StubNic;
  let bus: PciBus;
  beforeEach(() => {
    nic = new StubNic();
    bus = new PciBus();
    bus.attach(nic.pci, 3, 0);
  });

  it('does nothing but count while MSI is disabled, with or without bus mastering', () => {
    expect(nic.pci.sendMsi()).toBe(MsiOutcome.Disabled);
    nic.pci.configWrite(0x04, 2, 0x0004);
    expect(nic.pci.sendMsi()).toBe(MsiOutcome.Disabled);
    expect(nic.pci.msi!.whileDisabled).toBe(2);
    expect(nic.dma.msis).toEqual([]);
  });

  it('suppresses (and counts) a message while Bus Master is 0', () => {
    setupMsi(nic.pci, 0xfee00000, 0x0041);
    expect(nic.pci.sendMsi()).toBe(MsiOutcome.NoBusMaster);
    expect(nic.pci.msi!.suppressed).toBe(1);
    expect(nic.dma.msis).toEqual([]);
  });

  it('writes data to address from the requester ID when enabled and bus mastering (00:03.0 -> 0x0018)', () => {
    setupMsi(nic.pci, 0xfee00000, 0x0041);
    nic.pci.configWrite(0x04, 2, 0x0006);
    expect(nic.pci.sendMsi()).toBe(MsiOutcome.Sent);
    expect(nic.dma.msis).toEqual([{ requester: 0x0018, address: 0xfee00000, data: 0x0041 }]);
    expect(nic.pci.msi!.sent).toBe(1);
    nic.pci.configWrite(0x04, 2, 0x0002); // bus master off again
    expect(nic.pci.sendMsi()).toBe(MsiOutcome.NoBusMaster);
    expect(nic.dma.msis.length).toBe(1);
  });

  it('puts the vector in the low Multiple-Message-Enable bits of the data', () => {
    const quad = new StubNic({ vectorsLog2: 2 });
    bus.attach(quad.pci, 4, 0);
    setupMsi(quad.pci, 0xfee01000, 0x4060);
    quad.pci.configWrite(0x04, 2, 0x0004);
    quad.pci.sendMsi(3); // one vector granted: offset folds to 0
    quad.pci.configWrite(0xd2, 2, 0x0021); // 4 vectors granted
    quad.pci.sendMsi(3);
    quad.pci.sendMsi(5);
    quad.pci.configWrite(0xd2, 2, 0x0011); // 2 vectors
    quad.pci.sendMsi(3);
    expect(quad.dma.msis.map((m) => m.data)).toEqual([0x4060, 0x4063, 0x4061, 0x4061]);
    expect(quad.dma.msis[0].requester).toBe(0x0020);
  });

  it('counts faults and rejections from the DMA space, and rejects an upper address (not the interrupt window)', () => {
    setupMsi(nic.pci, 0xfee00000, 0x0041);
    nic.pci.configWrite(0x04, 2, 0x0004);
    nic.dma.msiStatus = DmaStatus.Fault;
    expect(nic.pci.sendMsi()).toBe(MsiOutcome.Faulted);
    nic.dma.msiStatus = null;
    nic.pci.configWrite(0xd4, 4, 0x00001000);
    expect(nic.pci.sendMsi()).toBe(MsiOutcome.Rejected);
    nic.pci.configWrite(0xd4, 4, 0xfee00000);
    nic.pci.configWrite(0xd8, 4, 0x00000001);
    expect(nic.pci.sendMsi()).toBe(MsiOutcome.Rejected);
    expect(nic.pci.msi!.faulted).toBe(1);
    expect(nic.pci.msi!.rejected).toBe(2);
    expect(nic.dma.msis).toEqual([]);
  });

  it('a function without the capability sends nothing', () => {
    const plain = new StubNic(false);
    plain.pci.configWrite(0x04, 2, 0x0004);
    expect(plain.pci.sendMsi()).toBe(MsiOutcome.Disabled);
    expect(plain.pci.configRead(0x06, 2) & 0x10).toBe(0);
    expect(plain.pci.configRead(0x34, 1)).toBe(0);
  });
});

describe('per-vector masking', () => {
  it('holds a masked vector pending and sends it when unmasked', () => {
    const { fn, dma } = masked({ address64: true, vectorsLog2: 1 });
    fn.configWrite(0x54, 4, 0xfee00000);
    fn.configWrite(0x5c, 2, 0x0050);
    fn.configWrite(0x52, 2, 0x0011); // enable, 2 vectors
    fn.configWrite(0x60, 4, 0x3);
    expect(fn.sendMsi(1)).toBe(MsiOutcome.Masked);
    expect(fn.configRead(0x64, 4)).toBe(0x2);
    expect(dma.msis).toEqual([]);
    fn.configWrite(0x60, 4, 0x1); // unmask vector 1
    expect(dma.msis.map((m) => m.data)).toEqual([0x0051]);
    expect(fn.configRead(0x64, 4)).toBe(0);
    expect(fn.sendMsi(0)).toBe(MsiOutcome.Masked);
    fn.configWrite(0x04, 2, 0x0000); // no bus master: unmasking keeps it pending
    fn.configWrite(0x60, 4, 0x0);
    expect(fn.configRead(0x64, 4)).toBe(0x1);
    fn.configWrite(0x04, 2, 0x0004); // bus master back on: sent at once
    expect(dma.msis.map((m) => m.data)).toEqual([0x0051, 0x0050]);
    expect(fn.msi!.masked).toBe(2);
  });
});
