// The PC's cascaded 8259A pair (master 0x20/0x21, slave 0xA0/0xA1 on master IRQ2): ICWs, OCWs, IRR/ISR/IMR,
// rotating priority, poll, spurious IRQ7, and the CPU-facing InterruptController. Wiring is left to machine/.

import type { InterruptController, InterruptSignal, IrqLine } from '../core/irq.js';
import { BytePortDevice } from './byte-port-device.js';

const ICW1 = 0x10; // command port, bit 4: initialisation
const ICW1_IC4 = 0x01; // ICW4 follows
const ICW1_SNGL = 0x02; // single (no ICW3)
const OCW3 = 0x08; // command port, bits 4:3 = 01
const CASCADE_IRQ = 2;

/** Where a chip is in its ICW sequence (8259A data sheet, "Initialization command words"). */
const enum InitState {
  Ready = 0,
  Icw2 = 1,
  Icw3 = 2,
  Icw4 = 3,
}

/**
 * One 8259A. Edge-triggered inputs (the PC default; ELCR level mode is not modelled): a rising edge on an
 * input latches its IRR bit. Priority resolution follows the data sheet: the highest-priority unmasked
 * request wins if it beats the highest in-service level.
 */
export class Pic8259Chip extends BytePortDevice {
  readonly length = 2;
  irr = 0;
  imr = 0;
  isr = 0;
  /** Input levels as last seen, for edge detection. */
  private lines = 0;
  /** The IRQ that has the highest priority (rotation), 0 after init. */
  private lowestPriorityOffset = 0;
  vectorBase = 0;
  private readIsr = false;
  private poll = false;
  private specialMask = false;
  private initState = InitState.Ready;
  private expectIcw4 = false;
  private single = false;
  autoEoi = false;
  private rotateOnAutoEoi = false;
  private specialFullyNested = false;
  /** Set once ICW1..ICW4 has completed at least once. */
  initialised = false;

  constructor(
    readonly name: string,
    private readonly isMaster: boolean,
    private readonly changed: () => void,
  ) {
    super();
  }

  /** Drives input `irq` (0-7) to `level`; a rising edge latches IRR. */
  setInput(irq: number, level: boolean): void {
    const bit = 1 << irq;
    if (level) {
      if ((this.lines & bit) === 0) this.irr |= bit;
      this.lines |= bit;
    } else {
      this.lines &= ~bit;
    }
    this.changed();
  }

  /** The priority rank (0 = highest) of the best bit in mask, or 8 if none. */
  private priorityOf(mask: number): number {
    if (mask === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.lowestPriorityOffset) & 7))) === 0) p++;
    return p;
  }

  /** The IRQ this chip would present on INT now, or -1. */
  pendingIrq(): number {
    const p = this.priorityOf(this.irr & ~this.imr);
    if (p === 8) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    // Special fully nested mode lets the slave interrupt the master while one of its IRQs is in service.
    if (this.specialFullyNested && this.isMaster) inService &= ~(1 << CASCADE_IRQ);
    return p < this.priorityOf(inService) ? (p + this.lowestPriorityOffset) & 7 : -1;
  }

  /** The INTA cycle for `irq` on this chip: moves it from IRR to ISR (unless auto-EOI). */
  acknowledgeIrq(irq: number): void {
    const bit = 1 << irq;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.lowestPriorityOffset = (irq + 1) & 7;
    } else {
      this.isr |= bit;
    }
    this.irr &= ~bit;
  }

  private reset(): void {
    this.lines = 0;
    this.irr = 0;
    this.imr = 0;
    this.isr = 0;
    this.lowestPriorityOffset = 0;
    this.vectorBase = 0;
    this.readIsr = false;
    this.poll = false;
    this.specialMask = false;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
    this.expectIcw4 = false;
    this.single = false;
  }

  protected writeByte(offset: number, value: number): void {
    if (offset === 0) {
      if (value & ICW1) {
        this.reset();
        this.initState = InitState.Icw2;
        this.expectIcw4 = (value & ICW1_IC4) !== 0;
        this.single = (value & ICW1_SNGL) !== 0;
      } else if (value & OCW3) {
        if (value & 0x04) this.poll = true;
        if (value & 0x02) this.readIsr = (value & 0x01) !== 0;
        if (value & 0x40) this.specialMask = (value & 0x20) !== 0;
      } else {
        this.ocw2(value);
      }
    } else {
      switch (this.initState) {
        case InitState.Ready:
          this.imr = value; // OCW1
          break;
        case InitState.Icw2:
          this.vectorBase = value & 0xf8;
          this.initState = this.single ? (this.expectIcw4 ? InitState.Icw4 : InitState.Ready) : InitState.Icw3;
          break;
        case InitState.Icw3: // cascade wiring: fixed on a PC (slave on IRQ2), accepted as written
          this.initState = this.expectIcw4 ? InitState.Icw4 : InitState.Ready;
          break;
        case InitState.Icw4:
          this.specialFullyNested = (value & 0x10) !== 0;
          this.autoEoi = (value & 0x02) !== 0;
          this.initState = InitState.Ready;
          break;
      }
      if (this.initState === InitState.Ready) this.initialised = true;
    }
    this.changed();
  }

  /** OCW2: bits 7:5 = R, SL, EOI (8259A data sheet, "Operation command words"). */
  private ocw2(value: number): void {
    const command = value >>> 5;
    switch (command) {
      case 0: // rotate in automatic EOI mode: clear
      case 4: // rotate in automatic EOI mode: set
        this.rotateOnAutoEoi = command === 4;
        break;
      case 1: // non-specific EOI
      case 5: {
        // rotate on non-specific EOI
        const p = this.priorityOf(this.isr);
        if (p !== 8) {
          const irq = (p + this.lowestPriorityOffset) & 7;
          this.isr &= ~(1 << irq);
          if (command === 5) this.lowestPriorityOffset = (irq + 1) & 7;
        }
        break;
      }
      case 3: // specific EOI
        this.isr &= ~(1 << (value & 7));
        break;
      case 6: // set priority: value & 7 becomes the lowest priority
        this.lowestPriorityOffset = (value + 1) & 7;
        break;
      case 7: // rotate on specific EOI
        this.isr &= ~(1 << (value & 7));
        this.lowestPriorityOffset = (value + 1) & 7;
        break;
      default: // 2: no operation
        break;
    }
  }

  protected readByte(offset: number): number {
    if (this.poll) {
      // Poll command: the read acknowledges the highest request (bit 7 = a request was pending).
      this.poll = false;
      const irq = this.pendingIrq();
      if (irq < 0) return 0;
      this.acknowledgeIrq(irq);
      this.changed();
      return 0x80 | irq;
    }
    return this.peekByte(offset);
  }

  protected peekByte(offset: number): number {
    if (this.poll) {
      const irq = this.pendingIrq();
      return irq < 0 ? 0 : 0x80 | irq;
    }
    if (offset === 0) return this.readIsr ? this.isr : this.irr;
    return this.imr;
  }
}

/**
 * The master/slave pair as the CPU sees it (InterruptController) and as devices see it (IRQ lines 0-15).
 * The slave's INT output drives master input 2. With nothing requested, an INTA cycle yields the master's
 * IRQ7 vector (the spurious interrupt), like real hardware.
 */
export class DualPic8259 implements InterruptController {
  readonly master: Pic8259Chip;
  readonly slave: Pic8259Chip;
  /** Told when INTR may have risen, so the CPU re-checks at its next instruction boundary. */
  signal: InterruptSignal | null = null;
  private output = false;
  private readonly lineHandles: IrqLine[] = [];
  /** Spurious acknowledges (INTA with nothing pending), counted for statistics. */
  spurious = 0;

  constructor() {
    const update = (): void => this.update();
    this.master = new Pic8259Chip('pic-master', true, update);
    this.slave = new Pic8259Chip('pic-slave', false, update);
    for (let n = 0; n < 16; n++) {
      const chip = n < 8 ? this.master : this.slave;
      const input = n & 7;
      this.lineHandles.push({ set: (level: boolean) => chip.setInput(input, level) });
    }
  }

  /** The IrqLine of ISA IRQ n (0-15). IRQ 2 is the cascade and should not be used by devices. */
  line(n: number): IrqLine {
    if (!Number.isInteger(n) || n < 0 || n > 15) throw new RangeError(`PIC IRQ ${n} out of range 0-15`);
    return this.lineHandles[n];
  }

  hasInterrupt(): boolean {
    return this.output;
  }

  acknowledge(): number {
    let vector: number;
    const irq = this.master.pendingIrq();
    if (irq < 0) {
      this.spurious++;
      vector = this.master.vectorBase + 7;
    } else {
      this.master.acknowledgeIrq(irq);
      if (irq === CASCADE_IRQ) {
        const slaveIrq = this.slave.pendingIrq();
        if (slaveIrq >= 0) {
          this.slave.acknowledgeIrq(slaveIrq);
          vector = this.slave.vectorBase + slaveIrq;
        } else {
          this.spurious++;
          vector = this.slave.vectorBase + 7;
        }
      } else {
        vector = this.master.vectorBase + irq;
      }
    }
    this.update();
    return vector & 0xff;
  }

  private updating = false;

  private update(): void {
    if (this.updating) return;
    this.updating = true;
    this.master.setInput(CASCADE_IRQ, this.slave.pendingIrq() >= 0);
    this.updating = false;
    const out = this.master.pendingIrq() >= 0;
    if (out && !this.output && this.signal !== null) this.signal.interruptPending = true;
    this.output = out;
  }
}
