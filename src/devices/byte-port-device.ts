// Byte-wide register blocks (8259, 8254, 16550, debug ports): splits 2- and 4-byte accesses into byte accesses.
// Each device supplies readByte/writeByte/peekByte for offsets inside its window; bytes outside read all-ones.

import type { AccessSize, BusDevice } from '../core/bus.js';

/**
 * An ISA device whose registers are one byte wide. A wider access is split into byte accesses at
 * consecutive offsets, low byte first (as QEMU's memory core does for devices with an access size of 1);
 * the bytes that fall outside the window read 0xff and are dropped on writes.
 */
export abstract class BytePortDevice implements BusDevice {
  abstract readonly name: string;
  /** Number of ports in the window. */
  abstract readonly length: number;

  protected abstract readByte(offset: number): number;
  protected abstract writeByte(offset: number, value: number): void;
  protected abstract peekByte(offset: number): number;

  read(offset: number, size: AccessSize): number {
    let value = 0;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const b = o >= 0 && o < this.length ? this.readByte(o) & 0xff : 0xff;
      value |= b << (8 * i);
    }
    return value >>> 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      if (o >= 0 && o < this.length) this.writeByte(o, (value >>> (8 * i)) & 0xff);
    }
  }

  peek(offset: number, size: AccessSize): number {
    let value = 0;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const b = o >= 0 && o < this.length ? this.peekByte(o) & 0xff : 0xff;
      value |= b << (8 * i);
    }
    return value >>> 0;
  }
}
