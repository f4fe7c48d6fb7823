// Configuration mechanism #1 through the ports (devices.md 2.1): the CONFIG_ADDRESS latch, CONFIG_DATA at
// every size and byte lane, the enable bit, absent functions, and the host bridge's identity (QEMU q35 MCH).

import { beforeEach, describe, expect, it } from 'vitest';
import { PciBus } from '../../../src/devices/pci/pci-bus.js';
import { PciFunction } from '../../../src/devices/pci/pci-function.js';
import { ConfigPortsDriver, bdf } from './driver.js';
import { StubNic } from './fakes.js';

const NIC = bdf(0, 3, 0);
const HOST = bdf(0, 0, 0);

describe('CONFIG_ADDRESS (0xCF8)', () => {
  let d: ConfigPortsDriver;
  beforeEach(() => {
    d = new ConfigPortsDriver();
  });

  it('latches a dword write and reads it back', () => {
    d.ports.write(0xcf8, 4, 0x80000000);
    expect(d.ports.read(0xcf8, 4) >>> 0).toBe(0x80000000); // Linux pci_check_type1 relies on this
    d.ports.write(0xcf8, 4, 0x8001_1a3c);
    expect(d.ports.read(0xcf8, 4) >>> 0).toBe(0x8001_1a3c);
  });

  it('keeps reserved bits 30:24 and 1:0 at 0', () => {
    d.ports.write(0xcf8, 4, 0xffffffff);
    expect(d.ports.read(0xcf8, 4) >>> 0).toBe(0x80fffffc);
    d.ports.write(0xcf8, 4, 0x0000183f);
    expect(d.ports.read(0xcf8, 4) >>> 0).toBe(0x0000183c);
  });

  it('ignores byte and word accesses to 0xCF8-0xCFB (0xCF9 is the PIIX reset register) and reads them all-ones', () => {
    d.ports.write(0xcf8, 4, 0x80001800);
    d.ports.write(0xcf8, 1, 0x12);
    d.ports.write(0xcf9, 1, 0x06);
    d.ports.write(0xcfb, 1, 0x01); // Linux's type-1 probe writes here first
    d.ports.write(0xcf8, 2, 0x3456);
    d.ports.write(0xcfa, 2, 0x7890);
    expect(d.ports.read(0xcf8, 4) >>> 0).toBe(0x80001800);
    expect(d.ports.read(0xcf8, 1)).toBe(0xff);
    expect(d.ports.read(0xcf9, 1)).toBe(0xff);
    expect(d.ports.read(0xcf8, 2)).toBe(0xffff);
    expect(d.ports.read(0xcfa, 2)).toBe(0xffff);
  });
});

describe('CONFIG_DATA (0xCFC-0xCFF)', () => {
  let d: ConfigPortsDriver;
  let nic: StubNic;
  beforeEach(() => {
    d = new ConfigPortsDriver();
    nic = new StubNic();
    d.bus.attach(nic.pci, 3, 0);
  });

  it('reads a dword at 0xCFC', () => {
    d.select(NIC, 0x00);
    expect(d.ports.read(0xcfc, 4) >>> 0).toBe(0x100e8086);
  });

  it('reads words at lanes 0, 1 and 2 and bytes at all four lanes', () => {
    d.select(NIC, 0x00); // bytes 86 80 0E 10
    expect(d.ports.read(0xcfc, 2)).toBe(0x8086);
    expect(d.ports.read(0xcfd, 2)).toBe(0x0e80);
    expect(d.ports.read(0xcfe, 2)).toBe(0x100e);
    expect([0xcfc, 0xcfd, 0xcfe, 0xcff].map((p) => d.ports.read(p, 1))).toEqual([0x86, 0x80, 0x0e, 0x10]);
  });

  it('uses register bits 7:2 only: the lane picks the byte inside the dword', () => {
    d.ports.write(0xcf8, 4, 0x80001800 | 0x08);
    expect(d.ports.read(0xcfc, 4) >>> 0).toBe(0x02000003); // class 020000, revision 03
    expect(d.ports.read(0xcff, 1)).toBe(0x02);
    expect(d.ports.read(0xcfe, 1)).toBe(0x00);
    expect(d.ports.read(0xcfc, 1)).toBe(0x03);
    d.ports.write(0xcf8, 4, 0x80001800 | 0x2c);
    expect(d.ports.read(0xcfc, 2)).toBe(0x1af4);
    expect(d.ports.read(0xcfe, 2)).toBe(0x1100);
  });

  it('writes bytes at their lanes', () => {
    d.write(NIC, 0x0c, 1, 0x10); // cache line size, lane 0
    d.write(NIC, 0x0d, 1, 0x40); // latency timer, lane 1
    d.write(NIC, 0x3c, 1, 0x0b); // interrupt line
    expect(d.read(NIC, 0x0c, 4) >>> 0).toBe(0x00004010);
    expect(d.read(NIC, 0x3c, 4) >>> 0).toBe(0x0000010b); // pin INTA# = 1 beside it
  });

  it('writes a word at lane 2 into offsets 0x0E-0x0F (read-only header type and BIST stay 0)', () => {
    d.write(NIC, 0x0e, 2, 0xffff);
    expect(d.read(NIC, 0x0c, 4)).toBe(0);
    d.write(NIC, 0x0c, 4, 0x12345678);
    expect(d.read(NIC, 0x0c, 4) >>> 0).toBe(0x00005678);
  });

  it('a word write at lane 1 reaches config bytes 1 and 2 of the dword', () => {
    d.write(NIC, 0x0d, 2, 0xab77); // latency timer (RW) and header type (RO)
    expect(d.read(NIC, 0x0c, 4) >>> 0).toBe(0x00007700);
    d.write(NIC, 0x3d, 2, 0x55aa); // interrupt pin and Min_Gnt, both RO
    expect(d.read(NIC, 0x3c, 4) >>> 0).toBe(0x00000100);
  });

  it('a word write at 0xCFF reaches byte 3 only; the byte past CONFIG_DATA is dropped', () => {
    const fn = new PciFunction({ name: 'scratch', vendorId: 0x1234, deviceId: 0x5678, classCode: 0xff0000 });
    fn.defineRegister(0x40, 4, 0, 0xffffffff); // a device-specific RW dword
    d.bus.attach(fn, 4, 0);
    d.select(bdf(0, 4, 0), 0x40);
    d.ports.write(0xcff, 2, 0x99aa);
    expect(d.read(bdf(0, 4, 0), 0x40, 4) >>> 0).toBe(0xaa000000);
    d.select(bdf(0, 4, 0), 0x40);
    d.ports.write(0xcfa, 4, 0x3344_5566); // straddles CONFIG_ADDRESS: bytes at 0xCFC/0xCFD land on lanes 0-1
    expect(d.read(bdf(0, 4, 0), 0x40, 4) >>> 0).toBe(0xaa003344);
    expect(d.ports.read(0xcf8, 4) >>> 0).toBe(0x80002040); // the latch did not move
  });

  it('a dword access straddling 0xCFF reads 0xFF for the bytes past CONFIG_DATA', () => {
    d.select(NIC, 0x00);
    expect(d.ports.read(0xcfe, 4) >>> 0).toBe(0xffff100e);
    expect(d.ports.read(0xcff, 2)).toBe(0xff10);
  });

  it('with the enable bit clear, reads are all-ones and writes are dropped', () => {
    d.ports.write(0xcf8, 4, 0x00001800);
    expect(d.ports.read(0xcfc, 4) >>> 0).toBe(0xffffffff);
    expect(d.ports.read(0xcfe, 2)).toBe(0xffff);
    expect(d.ports.read(0xcfd, 1)).toBe(0xff);
    d.ports.write(0xcf8, 4, 0x0000183c);
    d.ports.write(0xcfc, 1, 0x0b);
    expect(d.read(NIC, 0x3c, 1)).toBe(0x00);
  });

  it('an absent device, function or bus reads all-ones at every size and ignores writes', () => {
    for (const where of [bdf(0, 31, 0), bdf(0, 3, 1), bdf(1, 0, 0), bdf(255, 3, 0)]) {
      expect(d.read(where, 0x00, 4) >>> 0).toBe(0xffffffff);
      expect(d.read(where, 0x02, 2)).toBe(0xffff);
      expect(d.read(where, 0x0e, 1)).toBe(0xff);
      d.write(where, 0x04, 2, 0x0007);
    }
    expect(d.read(bdf(1, 3, 0), 0x00, 4) >>> 0).toBe(0xffffffff); // bus 1 does not alias bus 0
    expect(d.read(NIC, 0x04, 2)).toBe(0); // nothing leaked into the device at 00:03.0
  });

  it('decodes device and function numbers (a function at 00:07.5)', () => {
    const nic2 = new StubNic();
    d.bus.attach(nic2.pci, 7, 5);
    d.write(bdf(0, 7, 5), 0x3c, 1, 0x42);
    expect(d.read(bdf(0, 7, 5), 0x3c, 1)).toBe(0x42);
    expect(nic.pci.configRead(0x3c, 1)).toBe(0);
  });
});

describe('host bridge at 00:00.0', () => {
  it('presents QEMU q35 MCH identity: 8086:29C0 rev 0, class 06/00/00, header type 0', () => {
    const d = new ConfigPortsDriver();
    expect(d.read(HOST, 0x00, 4) >>> 0).toBe(0x29c08086);
    expect(d.read(HOST, 0x08, 4) >>> 0).toBe(0x06000000);
    expect(d.read(HOST, 0x0e, 1)).toBe(0x00);
    expect(d.read(HOST, 0x2c, 4) >>> 0).toBe(0x11001af4);
    expect(d.read(HOST, 0x06, 2) & 0x10).toBe(0); // no capability list
    expect(d.read(HOST, 0x34, 1)).toBe(0);
    for (let bar = 0x10; bar < 0x28; bar += 4) {
      d.write(HOST, bar, 4, 0xffffffff);
      expect(d.read(HOST, bar, 4)).toBe(0);
    }
  });

  it('is the only function on a fresh bus', () => {
    const bus = new PciBus();
    expect(bus.functions).toEqual([bus.hostBridge]);
    expect(bus.functionAt(0, 0, 0)).toBe(bus.hostBridge);
  });
});
