// Runs the shared BusDevice contract (test/devices/contract.ts) on the PCI config ports in several states
// and on a PCI window in front of a live BAR.

import { describe, it } from 'vitest';
import type { BusDevice } from '../../../src/core/bus.js';
import { PciConfigPorts } from '../../../src/devices/pci/config-ports.js';
import { PciBus } from '../../../src/devices/pci/pci-bus.js';
import { PciWindow } from '../../../src/devices/pci/pci-window.js';
import { type ContractSubject, checkBusDeviceContract } from '../contract.js';
import { StubNic } from './fakes.js';

function ports(setup: (p: PciConfigPorts, nic: StubNic) => void): () => BusDevice {
  return () => {
    const bus = new PciBus();
    const nic = new StubNic({ perVectorMasking: true, vectorsLog2: 2 });
    bus.attach(nic.pci, 3, 0);
    const p = new PciConfigPorts(bus);
    setup(p, nic);
    return p;
  };
}

function window(): BusDevice {
  const bus = new PciBus();
  const nic = new StubNic();
  bus.attach(nic.pci, 3, 0);
  nic.registers.write(0, 4, 0xdeadbeef);
  nic.pci.configWrite(0x10, 4, 0xe0000000);
  nic.pci.configWrite(0x04, 2, 0x0002);
  return new PciWindow(bus.memoryDecode, 0xdffffff8, 0x20);
}

const subjects: Record<string, ContractSubject> = {
  'pci-config at reset': { make: ports(() => {}), window: 8 },
  'pci-config selecting the host bridge': { make: ports((p) => p.write(0, 4, 0x80000000)), window: 8 },
  'pci-config selecting NIC BAR0, programmed and enabled': {
    make: ports((p, nic) => {
      nic.pci.configWrite(0x10, 4, 0xe0000000);
      nic.pci.configWrite(0x04, 2, 0x0007);
      p.write(0, 4, 0x80001810);
    }),
    window: 8,
  },
  'pci-config selecting the NIC MSI capability, enabled with a pending vector': {
    make: ports((p, nic) => {
      nic.pci.configWrite(0x04, 2, 0x0004);
      nic.pci.configWrite(0xd2, 2, 0x0021);
      nic.pci.configWrite(0xe0, 4, 0x4);
      nic.pci.sendMsi(2);
      p.write(0, 4, 0x800018d0);
    }),
    window: 8,
  },
  'pci-config selecting an absent device': { make: ports((p) => p.write(0, 4, 0x8000f800)), window: 8 },
  'pci-config with the enable bit clear': { make: ports((p) => p.write(0, 4, 0x00001800)), window: 8 },
  'pci window straddling a live BAR': { make: window, window: 0x20 },
};

describe('BusDevice contract (PCI)', () => {
  for (const [name, subject] of Object.entries(subjects)) {
    it(name, () => checkBusDeviceContract(subject));
  }
});
