// Owns the PCI MSI capability (ID 05; vmx.md 10.3, devices.md 1.12): its config registers and `send`, a DWORD write
// through the function's DMA space. Leaves interrupt remapping and LAPIC delivery to the DMA space and MsiSink.

import type { AccessSize } from '../../core/bus.js';
import { DmaStatus } from '../../core/dma.js';
import type { PciCapability, PciFunction } from './pci-function.js';
import { PciCapId } from './pci-regs.js';

/** Message Control bits (vmx.md 10.3). */
export const enum MsiControl {
  Enable = 1 << 0,
  Address64 = 1 << 7,
  PerVectorMasking = 1 << 8,
}
/** Message Control bits 3:1, read-only: log2 of the vectors the function asks for (Multiple Message Capable). */
export const MSI_MMC_SHIFT = 1;
/** Message Control bits 6:4, RW: log2 of the vectors software granted (Multiple Message Enable). */
export const MSI_MME_SHIFT = 4;
const MME_MASK = 7 << MSI_MME_SHIFT;

/** Software may write MSI Enable and Multiple Message Enable; the rest of Message Control is read-only. */
const CONTROL_WRITABLE = MsiControl.Enable | MME_MASK;

export interface MsiOptions {
  /** Config offset of the capability: dword aligned, >= 0x40 (devices.md 1.12 recommends 0xD0). */
  offset: number;
  /** Message Control bit 7: the capability has a Message Upper Address register. */
  address64: boolean;
  /** Multiple Message Capable, 0 (1 vector) .. 5 (32 vectors). */
  vectorsLog2: number;
  /** Message Control bit 8: Mask Bits and Pending Bits registers follow Message Data. */
  perVectorMasking: boolean;
}

export const MSI_DEFAULTS: MsiOptions = { offset: 0xd0, address64: true, vectorsLog2: 0, perVectorMasking: false };

/** What became of one `send`. */
export const enum MsiOutcome {
  /** The DMA space accepted the message write. */
  Sent = 0,
  /** MSI Enable = 0: nothing sent (the device should use INTx, if it may). */
  Disabled = 1,
  /** Bus Master = 0: the function may not issue the write; suppressed. */
  NoBusMaster = 2,
  /** The vector is masked: its Pending bit is set and the message goes out on unmask. */
  Masked = 3,
  /** The DMA space refused it with a fault (e.g. an interrupt-remapping fault, recorded by the IOMMU). */
  Faulted = 4,
  /** Not an interrupt write: the DMA space rejected the address, or the upper address dword is nonzero. */
  Rejected = 5,
}

export class MsiCapability implements PciCapability {
  readonly id = PciCapId.Msi;
  readonly offset: number;
  readonly length: number;
  readonly address64: boolean;
  readonly vectorsLog2: number;
  readonly perVectorMasking: boolean;
  /** Config offsets of the registers (absolute; -1 where the layout has none). */
  readonly controlOffset: number;
  readonly addressOffset: number;
  readonly upperAddressOffset: number;
  readonly dataOffset: number;
  readonly maskOffset: number;
  readonly pendingOffset: number;

  /** Messages the DMA space accepted. */
  sent = 0;
  /** Sends while MSI Enable was 0. */
  whileDisabled = 0;
  /** Sends suppressed because Bus Master was 0. */
  suppressed = 0;
  /** Sends that found their vector masked (left pending). */
  masked = 0;
  faulted = 0;
  rejected = 0;

  constructor(
    private readonly fn: PciFunction,
    options: Partial<MsiOptions> = {},
  ) {
    const o = { ...MSI_DEFAULTS, ...options };
    if (!Number.isInteger(o.vectorsLog2) || o.vectorsLog2 < 0 || o.vectorsLog2 > 5) {
      throw new RangeError(`${fn.name}: MSI Multiple Message Capable ${o.vectorsLog2} outside 0..5`);
    }
    this.offset = o.offset;
    this.address64 = o.address64;
    this.vectorsLog2 = o.vectorsLog2;
    this.perVectorMasking = o.perVectorMasking;
    // Layout (vmx.md 10.3): the data register follows the address (low, then upper if 64-bit capable),
    // and mask/pending follow the data dword when per-vector masking is capable.
    const dataRel = o.address64 ? 0x0c : 0x08;
    this.controlOffset = o.offset + 2;
    this.addressOffset = o.offset + 4;
    this.upperAddressOffset = o.address64 ? o.offset + 8 : -1;
    this.dataOffset = o.offset + dataRel;
    this.maskOffset = o.perVectorMasking ? o.offset + dataRel + 4 : -1;
    this.pendingOffset = o.perVectorMasking ? o.offset + dataRel + 8 : -1;
    this.length = o.perVectorMasking ? dataRel + 12 : dataRel + 2;
    fn.addCapability(this);

    const control =
      (o.vectorsLog2 << MSI_MMC_SHIFT) |
      (o.address64 ? MsiControl.Address64 : 0) |
      (o.perVectorMasking ? MsiControl.PerVectorMasking : 0);
    fn.defineRegister(this.controlOffset, 2, control, CONTROL_WRITABLE);
    fn.defineRegister(this.addressOffset, 4, 0, 0xffff_fffc); // bits 1:0 read 0 (dword aligned)
    if (o.address64) fn.defineRegister(this.upperAddressOffset, 4, 0, 0xffff_ffff);
    fn.defineRegister(this.dataOffset, 2, 0, 0xffff);
    if (o.perVectorMasking) {
      // One mask bit per vector the function can ask for; pending bits are set by the function only.
      const vectors = 1 << o.vectorsLog2;
      fn.defineRegister(this.maskOffset, 4, 0, vectors === 32 ? 0xffff_ffff : (1 << vectors) - 1);
      fn.defineRegister(this.pendingOffset, 4, 0, 0);
    }
  }

  get control(): number {
    return this.fn.configPeek(this.controlOffset, 2);
  }

  get enabled(): boolean {
    return (this.fn.config[this.controlOffset] & MsiControl.Enable) !== 0;
  }

  /** log2 of the vectors software granted (Multiple Message Enable). */
  get enabledVectorsLog2(): number {
    return (this.fn.config[this.controlOffset] & MME_MASK) >>> MSI_MME_SHIFT;
  }

  get address(): number {
    return this.fn.configPeek(this.addressOffset, 4);
  }

  get upperAddress(): number {
    return this.address64 ? this.fn.configPeek(this.upperAddressOffset, 4) : 0;
  }

  get data(): number {
    return this.fn.configPeek(this.dataOffset, 2);
  }

  get maskBits(): number {
    return this.perVectorMasking ? this.fn.configPeek(this.maskOffset, 4) : 0;
  }

  get pendingBits(): number {
    return this.perVectorMasking ? this.fn.configPeek(this.pendingOffset, 4) : 0;
  }

  /**
   * Signals vector `vectorOffset` (0 for a single-vector function). With Multiple Message Enable = n the
   * function replaces the low n bits of Message Data with the vector (vmx.md 10.3); an offset beyond the
   * granted vectors folds onto them (its low n bits). Gating, in order: MSI Enable, Bus Master, the mask.
   */
  send(vectorOffset = 0): MsiOutcome {
    if (!this.enabled) {
      this.whileDisabled++;
      return MsiOutcome.Disabled;
    }
    if (!this.fn.busMasterEnabled) {
      this.suppressed++;
      return MsiOutcome.NoBusMaster;
    }
    const vector = vectorOffset & ((1 << this.enabledVectorsLog2) - 1);
    if (this.perVectorMasking && ((this.maskBits >>> vector) & 1) !== 0) {
      this.setPending(vector, true);
      this.masked++;
      return MsiOutcome.Masked;
    }
    return this.deliver(vector);
  }

  /** After a write to the capability: clamp MME to MMC, deliver pending vectors that became unmasked, fix INTx. */
  configWritten(_offset: number, _size: AccessSize): void {
    const lo = this.fn.config[this.controlOffset];
    if (this.enabledVectorsLog2 > this.vectorsLog2) {
      // Software must not grant more than asked (PCI 3.0 section 6.8.1, Message Control): grant the maximum,
      // as QEMU does.
      this.fn.config[this.controlOffset] = (lo & ~MME_MASK) | (this.vectorsLog2 << MSI_MME_SHIFT);
    }
    this.deliverPending();
    this.fn.reevaluateIntx();
  }

  /**
   * A vector that is pending and no longer masked is sent as soon as the function may send (PCI 3.0 section 6.8,
   * per-vector masking): run after writes to the capability and after the command register changed
   * (Bus Master turned on).
   */
  deliverPending(): void {
    if (!this.perVectorMasking || !this.enabled || !this.fn.busMasterEnabled || this.pendingBits === 0) return;
    const granted = 1 << this.enabledVectorsLog2;
    for (let v = 0; v < granted; v++) {
      if (((this.pendingBits >>> v) & 1) !== 0 && ((this.maskBits >>> v) & 1) === 0) this.deliver(v);
    }
  }

  private deliver(vector: number): MsiOutcome {
    this.setPending(vector, false);
    const granted = 1 << this.enabledVectorsLog2;
    const data = ((this.data & ~(granted - 1)) | vector) & 0xffff;
    if (this.upperAddress !== 0) {
      // A write above 4 GiB is an ordinary memory write, not the interrupt window (IA-32: upper dword = 0).
      this.rejected++;
      return MsiOutcome.Rejected;
    }
    const status = this.fn.dma!.msi(this.fn.requesterId, this.address, data);
    if (status === DmaStatus.Ok) {
      this.sent++;
      return MsiOutcome.Sent;
    }
    if (status === DmaStatus.Fault) {
      this.faulted++;
      return MsiOutcome.Faulted;
    }
    this.rejected++;
    return MsiOutcome.Rejected;
  }

  private setPending(vector: number, on: boolean): void {
    if (!this.perVectorMasking) return;
    const byte = this.pendingOffset + (vector >>> 3);
    const bit = 1 << (vector & 7);
    this.fn.config[byte] = on ? this.fn.config[byte] | bit : this.fn.config[byte] & ~bit;
  }
}
