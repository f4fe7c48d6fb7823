// A harmless port window that ignores writes but keeps the last bytes written: POST (0x80), Bochs shutdown (0x8900).
// Deciding what the collected bytes mean (log them, end the run) is left to machine/.

import type { AccessSize, BusDevice } from '../core/bus.js';
import { allOnes } from '../core/bus.js';

/** How many written bytes a sink remembers (older ones are dropped). */
const KEEP_BYTES = 256;

/**
 * Reads return all-ones (as if nothing were there); every byte written is remembered in a small ring so a
 * run can report, e.g., the "Shutdown" string kvm-unit-tests writes to the Bochs port 0x8900.
 */
export class PortSink implements BusDevice {
  private readonly ring = new Uint8Array(KEEP_BYTES);
  private count = 0;
  /** Total writes seen, including those no longer kept. */
  writes = 0;

  constructor(
    readonly name: string,
    readonly length = 1,
  ) {}

  read(_offset: number, size: AccessSize): number {
    return allOnes(size);
  }

  peek(_offset: number, size: AccessSize): number {
    return allOnes(size);
  }

  write(_offset: number, size: AccessSize, value: number): void {
    this.writes++;
    for (let i = 0; i < size; i++) {
      this.ring[this.count % KEEP_BYTES] = (value >>> (8 * i)) & 0xff;
      this.count++;
    }
  }

  /** The bytes written so far (the last 256 at most), oldest first. */
  collected(): Uint8Array {
    const n = Math.min(this.count, KEEP_BYTES);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.ring[(this.count - n + i) % KEEP_BYTES];
    return out;
  }

  /** The collected bytes as a latin1 string, with control characters shown as \xNN. */
  collectedText(): string {
    let s = '';
    for (const b of this.collected()) s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '\\x' + b.toString(16).padStart(2, '0');
    return s;
  }

  clear(): void {
    this.count = 0;
  }
}
