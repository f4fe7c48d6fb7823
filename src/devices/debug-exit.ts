// QEMU's isa-debug-exit (devices.md 6.3): any write of v ends the run with status ((v << 1) | 1) & 0xff.
// It only reports the value; stopping the CPU and computing the process status belong to machine/.

import type { AccessSize, BusDevice } from '../core/bus.js';
import { allOnes } from '../core/bus.js';

/** The process status QEMU exits with after the guest writes `value` to isa-debug-exit. */
export function debugExitStatus(value: number): number {
  return ((value << 1) | 1) & 0xff;
}

/**
 * isa-debug-exit configured `iobase=0xf4,iosize=0x04`: a write of any size at any offset calls `onExit`
 * with the value written (QEMU ignores the offset too). Reads return all-ones and have no effect.
 */
export class DebugExit implements BusDevice {
  readonly name = 'isa-debug-exit';
  readonly length = 4;
  /** The last value written, or null if the guest never wrote. */
  lastValue: number | null = null;

  constructor(private readonly onExit: (value: number) => void) {}

  read(_offset: number, size: AccessSize): number {
    return allOnes(size);
  }

  peek(_offset: number, size: AccessSize): number {
    return allOnes(size);
  }

  write(_offset: number, size: AccessSize, value: number): void {
    const v = (value & allOnes(size)) >>> 0;
    this.lastValue = v;
    this.onExit(v);
  }
}
