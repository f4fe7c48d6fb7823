// Test fake: an IrqLine that records every level change, for device unit tests.
// Real wiring (lines into the 8259) is machine/'s job; tests only need to see what a device drives.

import type { IrqLine } from '../../src/core/irq.js';

export class RecordingIrq implements IrqLine {
  level = false;
  /** Every set() call, in order. */
  readonly history: boolean[] = [];
  rises = 0;

  set(level: boolean): void {
    if (level && !this.level) this.rises++;
    this.level = level;
    this.history.push(level);
  }
}
