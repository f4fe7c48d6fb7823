// Owns interrupt causes and their signalling (devices.md 1.4-1.5): ICR/IMS semantics, the MSI edge / INTx level rule,
// ITR throttling and the RDTR/RADV and TIDV/TADV delay timers on the scheduler's clock. Leaves DMA and rings to tx/rx.

import type { Scheduler, Timer } from '../../core/scheduler.js';
import { MsiOutcome } from '../pci/msi-capability.js';
import type { PciFunction } from '../pci/pci-function.js';
import { DELAY_MASK, DELAY_UNIT_NS, E1000Reg, ICR_VALID, ITR_UNIT_NS, Icr, RDTR_FPD } from './e1000-regs.js';
import { type E1000Stats, statIncrement } from './e1000-stats.js';

const ICR = E1000Reg.ICR >>> 2;
const IMS = E1000Reg.IMS >>> 2;
const ITR = E1000Reg.ITR >>> 2;
const RDTR = E1000Reg.RDTR >>> 2;
const RADV = E1000Reg.RADV >>> 2;
const TIDV = E1000Reg.TIDV >>> 2;
const TADV = E1000Reg.TADV >>> 2;

/**
 * The interrupt logic. ICR, IMS, ITR and the delay registers live in the shared register file; this unit
 * changes them only through its methods, and re-evaluates `pending = ICR & IMS` after every change:
 * - MSI (our extension, edge): one message when pending goes from 0 to non-zero; the next needs pending to
 *   return to 0 first (an ICR read, a W1C write, IMC) (devices.md 1.5.2).
 * - INTx (level): the line follows pending != 0; its rising edge is what ITR spaces.
 * - ITR != 0: no assertion earlier than ITR x 256 ns after the previous one; a cause inside the window waits in
 *   ICR and is signalled by a timer when the window ends (devices.md 1.5.3). ITR = 0: no throttling.
 */
export class E1000Interrupts {
  /** Signalled for the current pending episode (an MSI went out, or the INTx line is up). */
  asserted = false;
  private intxLevel = false;
  /** Cycle of the last assertion, and the first cycle ITR allows the next one. */
  lastAssertion = -1;
  throttleUntil = 0;
  private readonly cyclesPerNs: number;
  readonly itrTimer: Timer;
  readonly rdtrTimer: Timer;
  readonly radvTimer: Timer;
  readonly tidvTimer: Timer;
  readonly tadvTimer: Timer;

  constructor(
    private readonly regs: Uint32Array,
    private readonly scheduler: Scheduler,
    private readonly pci: PciFunction,
    private readonly stats: E1000Stats,
    name: string,
  ) {
    this.cyclesPerNs = scheduler.frequencyHz / 1e9;
    this.itrTimer = scheduler.createTimer(`${name}.itr`, () => this.evaluate());
    const rxExpired = (): void => this.rxTimerExpired();
    const txExpired = (): void => this.txTimerExpired();
    this.rdtrTimer = scheduler.createTimer(`${name}.rdtr`, rxExpired);
    this.radvTimer = scheduler.createTimer(`${name}.radv`, rxExpired);
    this.tidvTimer = scheduler.createTimer(`${name}.tidv`, txExpired);
    this.tadvTimer = scheduler.createTimer(`${name}.tadv`, txExpired);
  }

  get pending(): number {
    return (this.regs[ICR] & this.regs[IMS]) >>> 0;
  }

  // ---- register semantics (devices.md 1.5.1) ----

  /** Hardware or ICS sets causes; they are recorded whether or not they are masked. */
  raise(causes: number): void {
    this.regs[ICR] = (this.regs[ICR] | (causes & ICR_VALID)) >>> 0;
    this.evaluate();
  }

  /** ICR read: returns the causes and clears all of them; the interrupt deasserts. */
  readAndClear(): number {
    const value = this.regs[ICR];
    this.regs[ICR] = 0;
    this.evaluate();
    return value;
  }

  /** ICR write: 1s clear those causes (QEMU; devices.md section 8 item 1). */
  clearCauses(bits: number): void {
    this.regs[ICR] = (this.regs[ICR] & ~bits) >>> 0;
    this.evaluate();
  }

  setMask(bits: number): void {
    this.regs[IMS] = (this.regs[IMS] | (bits & ICR_VALID)) >>> 0;
    this.evaluate();
  }

  clearMask(bits: number): void {
    this.regs[IMS] = (this.regs[IMS] & ~bits) >>> 0;
    this.evaluate();
  }

  /** ITR write: the new interval spaces the next assertion from the previous one. */
  setThrottle(value: number): void {
    this.regs[ITR] = value & DELAY_MASK;
    this.throttleUntil = this.lastAssertion < 0 ? 0 : this.lastAssertion + this.itrCycles();
    if (this.itrTimer.armed) this.itrTimer.cancel();
    this.evaluate();
  }

  /** RDTR write: 16-bit delay stored; FPD (bit 31) expires a running packet timer now (devices.md 1.5.4). */
  setRxDelay(value: number): void {
    this.regs[RDTR] = value & DELAY_MASK;
    if ((value & RDTR_FPD) !== 0 && (this.rdtrTimer.armed || this.radvTimer.armed)) this.rxTimerExpired();
  }

  // ---- hardware events ----

  /**
   * A received frame is completely in memory: RXT0 now, or after RDTR (restarted) / RADV (not restarted).
   * `causes` (RXDMT0) are immediate (devices.md 1.5.4).
   */
  rxFrameDone(causes: number): void {
    const rdtr = this.regs[RDTR] & DELAY_MASK;
    if (rdtr === 0) {
      this.raise(causes | Icr.RXT0);
      return;
    }
    this.rdtrTimer.armIn(this.delayCycles(rdtr));
    const radv = this.regs[RADV] & DELAY_MASK;
    if (radv !== 0 && !this.radvTimer.armed) this.radvTimer.armIn(this.delayCycles(radv));
    if (causes !== 0) this.raise(causes);
  }

  /**
   * The end of a transmit pass: `causes` are set now (TXQE, TXDW for RS descriptors without IDE); with
   * `delayedTxdw` (an RS descriptor with IDE was written back) TXDW waits for TIDV (restarted) / TADV.
   */
  txPassDone(causes: number, delayedTxdw: boolean): void {
    if (delayedTxdw) {
      const tidv = this.regs[TIDV] & DELAY_MASK;
      if (tidv === 0) {
        causes |= Icr.TXDW; // TIDV = 0 is "not allowed" (SDM): treated as no delay
      } else {
        this.tidvTimer.armIn(this.delayCycles(tidv));
        const tadv = this.regs[TADV] & DELAY_MASK;
        if (tadv !== 0 && !this.tadvTimer.armed) this.tadvTimer.armIn(this.delayCycles(tadv));
      }
    }
    if (causes !== 0) this.raise(causes);
  }

  /** Back to reset: timers stopped, nothing asserted (the registers are cleared by the owner). */
  reset(): void {
    this.itrTimer.cancel();
    this.rdtrTimer.cancel();
    this.radvTimer.cancel();
    this.tidvTimer.cancel();
    this.tadvTimer.cancel();
    this.asserted = false;
    this.lastAssertion = -1;
    this.throttleUntil = 0;
    if (this.intxLevel) {
      this.intxLevel = false;
      this.pci.setIntx(false);
    }
  }

  /** Re-checks pending against the signalling rule; called after every change and when the ITR window ends. */
  evaluate(): void {
    const pending = this.regs[ICR] & this.regs[IMS];
    if (pending === 0) {
      this.asserted = false;
      if (this.itrTimer.armed) this.itrTimer.cancel();
      if (this.intxLevel) {
        this.intxLevel = false;
        this.pci.setIntx(false);
      }
      return;
    }
    if (this.asserted) {
      // MSI turned off while an episode was signalled: the level now belongs on the pin.
      if (!this.intxLevel && !this.msiEnabled()) this.raiseIntx();
      return;
    }
    const now = this.scheduler.now;
    if (now < this.throttleUntil) {
      if (!this.itrTimer.armed) {
        this.stats.throttled++;
        this.itrTimer.armAt(this.throttleUntil);
      }
      return;
    }
    this.signal(now);
  }

  private signal(now: number): void {
    this.asserted = true;
    this.lastAssertion = now;
    this.throttleUntil = now + this.itrCycles();
    this.stats.interruptsSignalled++;
    statIncrement(this.regs, E1000Reg.IAC);
    if (this.msiEnabled()) {
      if (this.pci.sendMsi() === MsiOutcome.Sent) this.stats.msiSent++;
      else this.stats.msiNotDelivered++;
      return;
    }
    this.raiseIntx();
  }

  private raiseIntx(): void {
    this.intxLevel = true;
    this.stats.intxAsserts++;
    this.pci.setIntx(true);
  }

  private msiEnabled(): boolean {
    return this.pci.msi !== null && this.pci.msi.enabled;
  }

  private rxTimerExpired(): void {
    this.rdtrTimer.cancel();
    this.radvTimer.cancel();
    this.raise(Icr.RXT0);
  }

  private txTimerExpired(): void {
    this.tidvTimer.cancel();
    this.tadvTimer.cancel();
    this.raise(Icr.TXDW);
  }

  private itrCycles(): number {
    return Math.round((this.regs[ITR] & DELAY_MASK) * ITR_UNIT_NS * this.cyclesPerNs);
  }

  private delayCycles(units: number): number {
    return Math.max(1, Math.round(units * DELAY_UNIT_NS * this.cyclesPerNs));
  }
}
