// PCI configuration mechanism #1 on ports 0xCF8-0xCFF (devices.md 2.1): the CONFIG_ADDRESS latch and the
// CONFIG_DATA byte lanes. What the selected function answers is PciBus/PciFunction's; mapping is machine/'s.

import type { AccessSize, BusDevice } from '../../core/bus.js';
import { allOnes } from '../../core/bus.js';
import type { PciBus } from './pci-bus.js';
import { CONFIG_ADDRESS_MASK, CONFIG_ENABLE } from './pci-regs.js';

const DATA_OFFSET = 4; // 0xCFC - 0xCF8

/**
 * Map at port 0xCF8, length 8. Offset 0 is CONFIG_ADDRESS: only a dword access at 0xCF8 reaches it (as QEMU;
 * on a PIIX/ICH a byte at 0xCF9 is the reset-control register, which we do not model), so narrower or
 * misaligned accesses to 0xCF8-0xCFB read all-ones and are dropped. Offsets 4-7 are CONFIG_DATA: an access
 * of size s at 0xCFC + k reaches config byte (CONFIG_ADDRESS & 0xFC) + k of the selected function. An access
 * straddling the data window's edges is split into bytes, and bytes outside CONFIG_DATA read 0xFF.
 */
export class PciConfigPorts implements BusDevice {
  readonly name = 'pci-config';
  readonly length = 8;
  /** The CONFIG_ADDRESS latch. */
  address = 0;

  constructor(private readonly bus: PciBus) {}

  read(offset: number, size: AccessSize): number {
    return this.access(offset, size);
  }

  /** Configuration reads have no side effects, so peek is read. */
  peek(offset: number, size: AccessSize): number {
    return this.access(offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset === 0 && size === 4) {
      this.address = (value & CONFIG_ADDRESS_MASK) >>> 0;
    } else if (offset >= DATA_OFFSET && offset + size <= this.length) {
      this.dataWrite(offset - DATA_OFFSET, size, value);
    } else {
      for (let i = 0; i < size; i++) {
        const o = offset + i;
        if (o >= DATA_OFFSET && o < this.length) this.dataWrite(o - DATA_OFFSET, 1, (value >>> (8 * i)) & 0xff);
      }
    }
  }

  private access(offset: number, size: AccessSize): number {
    if (offset === 0 && size === 4) return this.address;
    if (offset >= DATA_OFFSET && offset + size <= this.length) return this.dataRead(offset - DATA_OFFSET, size);
    let value = 0;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const b = o >= DATA_OFFSET && o < this.length ? this.dataRead(o - DATA_OFFSET, 1) : 0xff;
      value |= b << (8 * i);
    }
    return value >>> 0;
  }

  private dataRead(lane: number, size: AccessSize): number {
    const a = this.address;
    if ((a & CONFIG_ENABLE) === 0) return allOnes(size);
    return this.bus.configRead((a >>> 16) & 0xff, (a >>> 11) & 0x1f, (a >>> 8) & 7, (a & 0xfc) + lane, size);
  }

  private dataWrite(lane: number, size: AccessSize, value: number): void {
    const a = this.address;
    if ((a & CONFIG_ENABLE) === 0) return;
    this.bus.configWrite((a >>> 16) & 0xff, (a >>> 11) & 0x1f, (a >>> 8) & 7, (a & 0xfc) + lane, size, value);
  }
}
