// A guest's-eye PCI configuration driver for tests: everything goes through ports 0xCF8/0xCFC on a PortBus,
// the way a kernel's pci_conf1 accessors do (kvm-unit-tests lib/x86/asm/pci.h style).

import { type AccessSize, PortBus } from '../../../src/core/bus.js';
import { PciConfigPorts } from '../../../src/devices/pci/config-ports.js';
import { PciBus } from '../../../src/devices/pci/pci-bus.js';

export class ConfigPortsDriver {
  readonly ports = new PortBus();
  readonly bus: PciBus;
  readonly device: PciConfigPorts;

  constructor(bus = new PciBus()) {
    this.bus = bus;
    this.device = new PciConfigPorts(bus);
    this.ports.map(0xcf8, 8, this.device);
  }

  /** Selects bus/dev/fn/register with the enable bit set (0x80000000 | bdf << 8 | reg & 0xFC). */
  select(bdf: number, reg: number): void {
    this.ports.write(0xcf8, 4, (0x80000000 | (bdf << 8) | (reg & 0xfc)) >>> 0);
  }

  read(bdf: number, reg: number, size: AccessSize): number {
    this.select(bdf, reg);
    return this.ports.read(0xcfc + (reg & 3), size) >>> 0;
  }

  write(bdf: number, reg: number, size: AccessSize, value: number): void {
    this.select(bdf, reg);
    this.ports.write(0xcfc + (reg & 3), size, value);
  }
}

/** bdf = bus << 8 | device << 3 | function. */
export function bdf(bus: number, device: number, fn: number): number {
  return (bus << 8) | (device << 3) | fn;
}
