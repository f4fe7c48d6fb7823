// Test fakes for the PCI tests: a DMA space that records MSI writes, a register block to put behind a BAR,
// and a stub NIC-like device that composes a PciFunction the way a real device will.

import type { AccessSize, BusDevice } from '../../../src/core/bus.js';
import { DmaStatus, type DmaSpace } from '../../../src/core/dma.js';
import { BAR_UNMAPPED, PciFunction } from '../../../src/devices/pci/pci-function.js';

export interface MsiWrite {
  requester: number;
  address: number;
  data: number;
}

/** Accepts MSIs in the 0xFEEx_xxxx window (as the identity DMA space would) and records them. */
export class RecordingDma implements DmaSpace {
  readonly msis: MsiWrite[] = [];
  msiStatus: DmaStatus | null = null; // force a result, e.g. Fault for an interrupt-remapping fault

  read(): DmaStatus {
    return DmaStatus.Ok;
  }

  write(): DmaStatus {
    return DmaStatus.Ok;
  }

  msi(requester: number, address: number, data: number): DmaStatus {
    if (this.msiStatus !== null) return this.msiStatus;
    if ((address & 0xfff00000) >>> 0 !== 0xfee00000) return DmaStatus.Rejected;
    this.msis.push({ requester, address, data });
    return DmaStatus.Ok;
  }
}

/** A 4 KiB-ish scratch register file: reads return what was written; counts accesses. */
export class ScratchRegisters implements BusDevice {
  readonly bytes: Uint8Array;
  reads = 0;
  writes = 0;

  constructor(
    readonly name: string,
    size: number,
  ) {
    this.bytes = new Uint8Array(size);
  }

  read(offset: number, size: AccessSize): number {
    this.reads++;
    return this.peek(offset, size);
  }

  peek(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= (offset + i < this.bytes.length ? this.bytes[offset + i] : 0xff) << (8 * i);
    return v >>> 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    this.writes++;
    for (let i = 0; i < size; i++) if (offset + i < this.bytes.length) this.bytes[offset + i] = value >>> (8 * i);
  }
}

/**
 * A NIC-shaped stub with the e1000's identity (devices.md 1.1): BAR0 128 KiB memory, BAR1 64-byte I/O,
 * MSI at 0xD0. It records what its PCI function allows: whether its MMIO window is live, DMA, MSI.
 */
export class StubNic {
  readonly registers = new ScratchRegisters('stub-nic-mmio', 0x20000);
  readonly ioPorts = new ScratchRegisters('stub-nic-io', 0x40);
  readonly dma = new RecordingDma();
  readonly pci: PciFunction;
  readonly commandChanges: [number, number][] = [];

  constructor(msi: boolean | Parameters<PciFunction['addMsi']>[0] = true) {
    this.pci = new PciFunction({
      name: 'stub-nic',
      vendorId: 0x8086,
      deviceId: 0x100e,
      revision: 0x03,
      classCode: 0x020000,
      subsystemVendorId: 0x1af4,
      subsystemId: 0x1100,
      interruptPin: 1,
      dma: this.dma,
      onCommandChange: (previous, current) => this.commandChanges.push([previous, current]),
    });
    this.pci.addBar(0, { kind: 'memory', size: 0x20000, region: this.registers });
    this.pci.addBar(1, { kind: 'io', size: 0x40, region: this.ioPorts });
    if (msi !== false) this.pci.addMsi(msi === true ? {} : msi);
  }

  get mmioLive(): boolean {
    return this.pci.barAddress(0) !== BAR_UNMAPPED;
  }

  get mayDma(): boolean {
    return this.pci.busMasterEnabled;
  }
}
