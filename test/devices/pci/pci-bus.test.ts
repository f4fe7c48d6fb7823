// The bus: attaching functions (duplicates rejected at build time), requester IDs, the multi-function bit,
// and PciWindow forwarding the PCI hole in PhysicalMemory / the PortBus to whichever BAR decodes there.

import { describe, expect, it } from 'vitest';
import { PortBus } from '../../../src/core/bus.js';
import { PhysicalMemory } from '../../../src/core/physical-memory.js';
import { PciBus } from '../../../src/devices/pci/pci-bus.js';
import { PciWindow } from '../../../src/devices/pci/pci-window.js';
import { ConfigPortsDriver, bdf } from './driver.js';
import { StubNic } from './fakes.js';

describe('attaching', () => {
  it('gives each function its requester ID bus << 8 | device << 3 | function', () => {
    const bus = new PciBus();
    const a = new StubNic();
    const b = new StubNic();
    bus.attach(a.pci, 3, 0);
    bus.attach(b.pci, 0x1f, 7);
    expect(bus.hostBridge.requesterId).toBe(0x0000);
    expect(a.pci.requesterId).toBe(0x0018);
    expect(b.pci.requesterId).toBe(0x00ff);
    expect(bus.functionAt(0, 3, 0)).toBe(a.pci);
    expect(String(a.pci)).toBe('00:03.0 stub-nic');
  });

  it('rejects a second function at the same address, a function attached twice and bad numbers', () => {
    const bus = new PciBus();
    const a = new StubNic();
    bus.attach(a.pci, 3, 0);
    expect(() => bus.attach(new StubNic().pci, 3, 0)).toThrow(/00:03\.0.*collides with stub-nic/);
    expect(() => bus.attach(new StubNic().pci, 0, 0)).toThrow(/host-bridge/);
    expect(() => bus.attach(a.pci, 4, 0)).toThrow(/attached twice/);
    expect(() => bus.attach(new StubNic().pci, 32, 0)).toThrow(RangeError);
    expect(() => bus.attach(new StubNic().pci, 5, 8)).toThrow(RangeError);
  });

  it('sets the multi-function bit on every function of a device that has more than function 0', () => {
    const d = new ConfigPortsDriver();
    const f0 = new StubNic();
    const f2 = new StubNic();
    d.bus.attach(f0.pci, 5, 0);
    expect(d.read(bdf(0, 5, 0), 0x0e, 1)).toBe(0x00);
    d.bus.attach(f2.pci, 5, 2);
    expect(d.read(bdf(0, 5, 0), 0x0e, 1)).toBe(0x80);
    expect(d.read(bdf(0, 5, 2), 0x0e, 1)).toBe(0x80);
    d.write(bdf(0, 5, 0), 0x0e, 1, 0x00); // read-only
    expect(d.read(bdf(0, 5, 0), 0x0e, 1)).toBe(0x80);
    // Enumeration as devices.md 2.1: fn 0 vendor, then fn 1..7 when bit 7 is set.
    const found: number[] = [];
    for (let dev = 0; dev < 32; dev++) {
      if (d.read(bdf(0, dev, 0), 0, 2) === 0xffff) continue;
      const fns = d.read(bdf(0, dev, 0), 0x0e, 1) & 0x80 ? 8 : 1;
      for (let fn = 0; fn < fns; fn++) if (d.read(bdf(0, dev, fn), 0, 2) !== 0xffff) found.push(bdf(0, dev, fn));
    }
    expect(found).toEqual([0x00, 0x28, 0x2a]);
  });

  it('resets every function', () => {
    const bus = new PciBus();
    const a = new StubNic();
    bus.attach(a.pci, 3, 0);
    a.pci.configWrite(0x04, 2, 0x0007);
    bus.hostBridge.configWrite(0x04, 2, 0x0006);
    bus.reset();
    expect(a.pci.command).toBe(0);
    expect(bus.hostBridge.command).toBe(0);
  });
});

describe('BAR windows', () => {
  function board() {
    const memory = new PhysicalMemory(0x10_0000);
    const ports = new PortBus();
    const d = new ConfigPortsDriver();
    const nic = new StubNic();
    d.bus.attach(nic.pci, 3, 0);
    const mmio = new PciWindow(d.bus.memoryDecode, 0xe000_0000, 0x1ec0_0000, 'pci-hole');
    const io = new PciWindow(d.bus.ioDecode, 0xc000, 0x4000, 'pci-io');
    memory.mapMmio(0xe000_0000, 0x1ec0_0000, mmio);
    ports.map(0xc000, 0x4000, io);
    return { memory, ports, d, nic, mmio, io };
  }

  it('reaches the NIC register file at its BAR0 only while memory space is enabled', () => {
    const { memory, d, nic, mmio } = board();
    const NIC = bdf(0, 3, 0);
    d.write(NIC, 0x10, 4, 0xfeb80000);
    memory.write(0xfeb80008, 4, 0x12345678);
    expect(nic.registers.writes).toBe(0);
    expect(memory.read(0xfeb80008, 4) >>> 0).toBe(0xffffffff);
    expect(mmio.masterAborts).toBe(2);
    d.write(NIC, 0x04, 2, 0x0002);
    memory.write(0xfeb80008, 4, 0x12345678);
    expect(nic.registers.peek(8, 4)).toBe(0x12345678);
    expect(memory.read(0xfeb80008, 4) >>> 0).toBe(0x12345678);
    expect(memory.read(0xfeb9fffc, 4) >>> 0).toBe(0); // last dword of the 128 KiB window
    expect(memory.read(0xfeba0000, 4) >>> 0).toBe(0xffffffff); // past it
    expect(memory.peek(0xfeb80008, 4)).toBe(0x12345678);
    d.write(NIC, 0x10, 4, 0xe0040000); // moved: the old address goes dead
    expect(memory.read(0xfeb80008, 4) >>> 0).toBe(0xffffffff);
    expect(memory.read(0xe0040008, 4) >>> 0).toBe(0x12345678);
  });

  it('reaches the I/O BAR through the port window while I/O space is enabled', () => {
    const { ports, d, nic } = board();
    d.write(bdf(0, 3, 0), 0x14, 4, 0xc040);
    ports.write(0xc044, 4, 0xabcd);
    expect(nic.ioPorts.writes).toBe(0);
    d.write(bdf(0, 3, 0), 0x04, 2, 0x0001);
    ports.write(0xc044, 4, 0xabcd);
    expect(nic.ioPorts.peek(4, 4)).toBe(0xabcd);
    expect(ports.read(0xc044, 2)).toBe(0xabcd);
    expect(ports.read(0xc080, 1)).toBe(0xff);
  });

  it('forwards BAR changes to bus listeners (for a machine that maps windows itself)', () => {
    const { d, nic } = board();
    const seen: string[] = [];
    d.bus.addBarListener({ barChanged: (fn, i, p, c) => seen.push(`${fn.name} BAR${i} ${p} -> ${c}`) });
    nic.pci.configWrite(0x10, 4, 0xe0000000);
    nic.pci.configWrite(0x04, 2, 0x0002);
    expect(seen).toEqual([`stub-nic BAR0 -1 -> ${0xe0000000}`]);
  });
});
