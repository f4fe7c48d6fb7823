// Owns positive decode of the PCI hole: a fixed window (MMIO hole, I/O range) forwarding each access to the live BAR
// there. Leaves which BARs are live to PciFunction and where the hole lies to machine/.

import type { AccessSize, BusDevice } from '../../core/bus.js';
import { allOnes, hex } from '../../core/bus.js';
import { BAR_UNMAPPED, type PciBarKind, type PciFunction } from './pci-function.js';

/** The live BARs of one kind (memory or I/O) across a bus, rebuilt on every BAR change (never on an access). */
export class PciDecodeTable {
  count = 0;
  private bases = new Float64Array(0);
  private ends = new Float64Array(0);
  private regions: (BusDevice | null)[] = [];

  constructor(readonly kind: PciBarKind) {}

  rebuild(functions: readonly PciFunction[]): void {
    const bases: number[] = [];
    const ends: number[] = [];
    const regions: (BusDevice | null)[] = [];
    for (const fn of functions) {
      for (let i = 0; i < 6; i++) {
        const base = fn.barAddress(i);
        if (fn.barKind(i) !== this.kind || base === BAR_UNMAPPED) continue;
        bases.push(base);
        ends.push(base + fn.barSize(i));
        regions.push(fn.barRegion(i));
      }
    }
    this.bases = Float64Array.from(bases);
    this.ends = Float64Array.from(ends);
    this.regions = regions;
    this.count = bases.length;
  }

  /** The entry whose BAR holds [address, address + size), or -1. Overlapping BARs: the first attached wins. */
  find(address: number, size: number): number {
    for (let i = 0; i < this.count; i++) {
      if (address >= this.bases[i] && address + size <= this.ends[i]) return i;
    }
    return -1;
  }

  baseOf(entry: number): number {
    return this.bases[entry];
  }

  regionOf(entry: number): BusDevice | null {
    return this.regions[entry];
  }
}

/**
 * A fixed window [base, base + length) of the memory or I/O space that forwards to live BARs. An access no
 * BAR claims is a master abort: reads all-ones, writes dropped, counted. A live BAR without a region (one
 * that only sizes, like QEMU's no-op e1000 I/O BAR) reads 0 and drops writes.
 */
export class PciWindow implements BusDevice {
  readonly name: string;
  masterAborts = 0;

  constructor(
    private readonly table: PciDecodeTable,
    readonly base: number,
    readonly length: number,
    name = `pci-window@${hex(base)}`,
  ) {
    this.name = name;
  }

  read(offset: number, size: AccessSize): number {
    const entry = this.lookup(offset, size);
    if (entry < 0) {
      this.masterAborts++;
      return allOnes(size);
    }
    const region = this.table.regionOf(entry);
    return region === null ? 0 : region.read(this.base + offset - this.table.baseOf(entry), size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    const entry = this.lookup(offset, size);
    if (entry < 0) {
      this.masterAborts++;
      return;
    }
    this.table.regionOf(entry)?.write(this.base + offset - this.table.baseOf(entry), size, value);
  }

  peek(offset: number, size: AccessSize): number {
    const entry = this.lookup(offset, size);
    if (entry < 0) return allOnes(size);
    const region = this.table.regionOf(entry);
    return region === null ? 0 : region.peek(this.base + offset - this.table.baseOf(entry), size);
  }

  private lookup(offset: number, size: AccessSize): number {
    if (!(offset >= 0 && offset + size <= this.length)) return -1;
    return this.table.find(this.base + offset, size);
  }
}
