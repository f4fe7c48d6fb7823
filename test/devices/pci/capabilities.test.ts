// Walks the capability list the way a guest driver does (devices.md 2.4): Status bit 4, pointer at 0x34 with
// the low 2 bits ignored, ID/next pairs, dword aligned, inside 0x40-0xFF, terminated, never looping.

import { describe, expect, it } from 'vitest';
import { PciFunction } from '../../../src/devices/pci/pci-function.js';
import { ConfigPortsDriver, bdf } from './driver.js';
import { RecordingDma, StubNic } from './fakes.js';

/** Returns [offset, id] for each capability, as Linux's pci_find_capability walks it (bounded by 48 hops). */
function walk(read: (reg: number, size: 1 | 2 | 4) => number): [number, number][] {
  if ((read(0x06, 2) & 0x10) === 0) return [];
  const found: [number, number][] = [];
  let pos = read(0x34, 1) & 0xfc;
  for (let ttl = 48; pos !== 0 && ttl > 0; ttl--) {
    expect(pos).toBeGreaterThanOrEqual(0x40);
    expect(pos % 4).toBe(0);
    found.push([pos, read(pos, 1)]);
    pos = read(pos + 1, 1) & 0xfc;
  }
  expect(pos).toBe(0);
  return found;
}

describe('capability list', () => {
  it('has the NIC MSI capability as its only entry, seen through the config ports', () => {
    const d = new ConfigPortsDriver();
    d.bus.attach(new StubNic().pci, 3, 0);
    expect(walk((reg, size) => d.read(bdf(0, 3, 0), reg, size))).toEqual([[0xd0, 0x05]]);
    expect(walk((reg, size) => d.read(bdf(0, 0, 0), reg, size))).toEqual([]);
  });

  it('links several capabilities in the order they were added', () => {
    const dma = new RecordingDma();
    const fn = new PciFunction({ name: 'multi', vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000, dma });
    fn.addCapability({ id: 0x01, offset: 0xc8, length: 8, configWritten() {} });
    fn.addMsi({ offset: 0xd0 });
    fn.addCapability({ id: 0x09, offset: 0x40, length: 4, configWritten() {} });
    expect(walk((reg, size) => fn.configRead(reg, size))).toEqual([
      [0xc8, 0x01],
      [0xd0, 0x05],
      [0x40, 0x09],
    ]);
  });

  it('keeps the ID and next pointers read-only', () => {
    const fn = new StubNic().pci;
    fn.configWrite(0xd0, 2, 0x4411);
    fn.configWrite(0x34, 1, 0x40);
    expect(walk((reg, size) => fn.configRead(reg, size))).toEqual([[0xd0, 0x05]]);
  });
});
