// Which interrupt controller the CPU's INTR input listens to: the local APIC, with the 8259 pair passed
// through while the APIC lets it (after reset, or LINT0 in ExtINT mode, SDM Vol. 3 11.4.3). Wiring only.

import type { InterruptController } from '../core/irq.js';

/** The APIC side of the router (src/devices/apic/local-apic.ts). */
export interface RoutedApic extends InterruptController {
  acceptsPicInterrupts(): boolean;
}

export class InterruptRouter implements InterruptController {
  constructor(
    private readonly apic: RoutedApic,
    private readonly pic: InterruptController,
  ) {}

  hasInterrupt(): boolean {
    return this.apic.hasInterrupt() || (this.apic.acceptsPicInterrupts() && this.pic.hasInterrupt());
  }

  acknowledge(): number {
    return this.apic.hasInterrupt() ? this.apic.acknowledge() : this.pic.acknowledge();
  }
}
