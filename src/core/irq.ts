// Interrupt plumbing shared by devices and the CPU: level lines into an interrupt controller, and the
// controller's face toward the CPU. Delivery is latched and sampled at instruction boundaries (STYLE rule 3).

/** One interrupt line: a device raises or lowers it; the controller latches. */
export interface IrqLine {
  set(level: boolean): void;
}

/**
 * What the CPU sees of its interrupt controller (8259 now, the local APIC later): whether a maskable
 * interrupt is requested, and the INTA cycle that returns its vector.
 */
export interface InterruptController {
  /** True when INTR is asserted. Must be cheap and side-effect free. */
  hasInterrupt(): boolean;
  /** The interrupt-acknowledge cycle: returns the vector and moves the request in service. */
  acknowledge(): number;
}

/** Set by anything that changes what InterruptController.hasInterrupt would answer, so the CPU re-checks. */
export interface InterruptSignal {
  interruptPending: boolean;
}
