// The 16550A UART (COM1 at 0x3F8, IRQ 4; devices.md section 5): registers, DLAB, loopback, input queue, IIR.
// Output goes to a sink function; where it is mapped and which IRQ line it drives is decided by machine/.

import type { IrqLine } from '../core/irq.js';
import { BytePortDevice } from './byte-port-device.js';

/** Register offsets from the base port (devices.md 5, DLAB = 0 names). */
export const enum UartReg {
  RBR_THR = 0, // DLL when DLAB = 1
  IER = 1, // DLM when DLAB = 1
  IIR_FCR = 2,
  LCR = 3,
  MCR = 4,
  LSR = 5,
  MSR = 6,
  SCR = 7,
}

export const IER_RDA = 0x01; // received data available
export const IER_THRE = 0x02; // transmit holding register empty
export const IER_RLS = 0x04; // receiver line status
export const IER_MS = 0x08; // modem status
export const LCR_DLAB = 0x80;
export const MCR_OUT2 = 0x08;
export const MCR_LOOP = 0x10;
export const LSR_DR = 0x01;
export const LSR_OE = 0x02;
export const LSR_BI = 0x10;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;
const LSR_ERRORS = 0x1e; // OE | PE | FE | BI
export const IIR_NONE = 0x01;
export const IIR_MS = 0x00;
export const IIR_THRE = 0x02;
export const IIR_RDA = 0x04;
export const IIR_RLS = 0x06;
const IIR_FIFO_ENABLED = 0xc0;
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;

/** Bytes the receive queue holds before it reports overrun (the host side can feed faster than a FIFO). */
const RX_QUEUE_BYTES = 4096;

export interface Uart16550Options {
  /** Receives every byte the guest transmits (not called in loopback mode). */
  sink: (byte: number) => void;
  /** The line to the interrupt controller (ISA IRQ 4 for COM1), or null. */
  irq?: IrqLine | null;
  name?: string;
}

/**
 * A 16550A with QEMU's reset values (IER 0, IIR 01, LCR 0, MCR 08, LSR 60, MSR B0, divisor 0x0C).
 * Transmission is instantaneous: THR is empty again by the time the guest can read LSR. The IRQ line is
 * high while an enabled condition is pending and MCR.OUT2 is set (OUT2 gates the IRQ on PCs).
 */
export class Uart16550 extends BytePortDevice {
  readonly name: string;
  readonly length = 8;
  private readonly sink: (byte: number) => void;
  private readonly irq: IrqLine | null;
  private readonly rx = new Uint8Array(RX_QUEUE_BYTES);
  private rxHead = 0;
  private rxCount = 0;
  private ier = 0;
  private lcr = 0;
  private mcr = MCR_OUT2;
  private lsrErrors = 0; // OE/PE/FE/BI bits, cleared by reading LSR
  private msr = 0xb0;
  private scr = 0;
  private fcr = 0;
  private divisor = 0x0c;
  /** The THR-empty interrupt condition: set when THR empties, cleared by reading IIR or writing THR. */
  private thrPending = false;
  private irqLevel = false;
  /** Bytes transmitted by the guest, counted for statistics. */
  transmitted = 0;

  constructor(options: Uart16550Options) {
    super();
    this.sink = options.sink;
    this.irq = options.irq ?? null;
    this.name = options.name ?? 'uart-16550';
  }

  /** Host input: queues bytes as if received on the line; bytes beyond the queue set LSR.OE. */
  feed(bytes: Uint8Array | readonly number[]): void {
    for (let i = 0; i < bytes.length; i++) this.receive(bytes[i] & 0xff);
    this.updateIrq();
  }

  /** The divisor latch (baud = 115200 / divisor). */
  get baudDivisor(): number {
    return this.divisor;
  }

  protected readByte(offset: number): number {
    switch (offset) {
      case UartReg.RBR_THR: {
        if (this.lcr & LCR_DLAB) return this.divisor & 0xff;
        if (this.rxCount === 0) return 0;
        const b = this.rx[this.rxHead];
        this.rxHead = (this.rxHead + 1) % RX_QUEUE_BYTES;
        this.rxCount--;
        this.updateIrq();
        return b;
      }
      case UartReg.IIR_FCR: {
        const iir = this.iir();
        // Reading IIR while it reports THR empty clears that condition (devices.md 5).
        if ((iir & 0x0f) === IIR_THRE) {
          this.thrPending = false;
          this.updateIrq();
        }
        return iir;
      }
      case UartReg.LSR: {
        const lsr = this.lsr();
        if (this.lsrErrors !== 0) {
          this.lsrErrors = 0;
          this.updateIrq();
        }
        return lsr;
      }
      case UartReg.MSR: {
        const msr = this.msrValue();
        this.msr &= 0xf0; // reading MSR clears the delta bits
        return msr;
      }
      default:
        return this.peekByte(offset);
    }
  }

  protected peekByte(offset: number): number {
    switch (offset) {
      case UartReg.RBR_THR:
        if (this.lcr & LCR_DLAB) return this.divisor & 0xff;
        return this.rxCount === 0 ? 0 : this.rx[this.rxHead];
      case UartReg.IER:
        return this.lcr & LCR_DLAB ? this.divisor >>> 8 : this.ier;
      case UartReg.IIR_FCR:
        return this.iir();
      case UartReg.LCR:
        return this.lcr;
      case UartReg.MCR:
        return this.mcr;
      case UartReg.LSR:
        return this.lsr();
      case UartReg.MSR:
        return this.msrValue();
      case UartReg.SCR:
        return this.scr;
      default:
        return 0xff;
    }
  }

  protected writeByte(offset: number, value: number): void {
    switch (offset) {
      case UartReg.RBR_THR:
        if (this.lcr & LCR_DLAB) {
          this.divisor = (this.divisor & 0xff00) | value;
          return;
        }
        this.transmitted++;
        if (this.mcr & MCR_LOOP) this.receive(value);
        else this.sink(value);
        // The byte leaves at once: THR and the shift register are empty again.
        this.thrPending = true;
        break;
      case UartReg.IER:
        if (this.lcr & LCR_DLAB) {
          this.divisor = (this.divisor & 0x00ff) | (value << 8);
          return;
        }
        // Enabling the THRE interrupt while THR is empty raises it (8250 behaviour QEMU models).
        if ((value & IER_THRE) !== 0 && (this.ier & IER_THRE) === 0) this.thrPending = true;
        this.ier = value & 0x0f;
        break;
      case UartReg.IIR_FCR: {
        if (((value ^ this.fcr) & FCR_ENABLE) !== 0 || (value & FCR_CLEAR_RX) !== 0) this.clearRx();
        this.fcr = value & 0xc9; // enable, DMA mode, trigger level; the clear bits self-reset
        break;
      }
      case UartReg.LCR:
        this.lcr = value;
        return;
      case UartReg.MCR:
        this.mcr = value & 0x1f;
        break;
      case UartReg.SCR:
        this.scr = value;
        return;
      default:
        return; // LSR (factory test) and MSR writes are ignored
    }
    this.updateIrq();
  }

  private receive(byte: number): void {
    if (this.rxCount >= RX_QUEUE_BYTES) {
      this.lsrErrors |= LSR_OE;
      return;
    }
    this.rx[(this.rxHead + this.rxCount) % RX_QUEUE_BYTES] = byte;
    this.rxCount++;
  }

  private clearRx(): void {
    this.rxHead = 0;
    this.rxCount = 0;
  }

  private lsr(): number {
    return LSR_THRE | LSR_TEMT | this.lsrErrors | (this.rxCount > 0 ? LSR_DR : 0);
  }

  private msrValue(): number {
    if ((this.mcr & MCR_LOOP) === 0) return this.msr;
    // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD (16550 data sheet, MCR bit 4).
    const m = this.mcr;
    return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4);
  }

  /** IIR in priority order: line status, received data, THR empty, modem status (devices.md 5). */
  private iir(): number {
    const fifo = this.fcr & FCR_ENABLE ? IIR_FIFO_ENABLED : 0;
    return fifo | this.pendingId();
  }

  private pendingId(): number {
    const ier = this.ier;
    if (ier & IER_RLS && this.lsrErrors & LSR_ERRORS) return IIR_RLS;
    if (ier & IER_RDA && this.rxCount > 0) return IIR_RDA;
    if (ier & IER_THRE && this.thrPending) return IIR_THRE;
    if (ier & IER_MS && (this.msrValue() & 0x0f) !== 0) return IIR_MS;
    return IIR_NONE;
  }

  private updateIrq(): void {
    const level = this.pendingId() !== IIR_NONE && (this.mcr & MCR_OUT2) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq?.set(level);
    }
  }
}
