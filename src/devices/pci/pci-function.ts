// Owns one function's config space: type-0 header bytes with RW/RW1C mask tables, BAR sizing/decode/callbacks,
// capability list, command gating, INTx. Leaves registers, DMA and BAR-window mapping to the device and machine/.

import type { AccessSize, BusDevice } from '../../core/bus.js';
import { allOnes, hex } from '../../core/bus.js';
import type { DmaSpace } from '../../core/dma.js';
import type { IrqLine } from '../../core/irq.js';
import { MsiCapability, type MsiOptions, MsiOutcome } from './msi-capability.js';
import {
  BAR_IO_ADDRESS_MASK,
  BAR_MEM_ADDRESS_MASK,
  BAR_MEM_PREFETCHABLE,
  BAR_SPACE_IO,
  HEADER_MASKS,
  HEADER_TYPE_MULTI_FUNCTION,
  PCI_BAR_COUNT,
  PCI_CONFIG_SPACE_SIZE,
  PCI_HEADER_SIZE,
  PciCfg,
  PciCommand,
  PciStatus,
  STATUS_RW1C,
  bdfName,
} from './pci-regs.js';

/** What `barAddress` answers for a BAR that does not decode right now. */
export const BAR_UNMAPPED = -1;

export const enum PciBarKind {
  None = 0,
  /** 32-bit memory BAR (type 00: anywhere below 4 GiB). 64-bit BARs are not modelled (IA-32 platform). */
  Memory32 = 1,
  Io = 2,
}

export interface PciBarSpec {
  kind: 'memory' | 'io';
  /** Bytes; a power of two, 16 B .. 2 GiB for memory, 4 .. 256 B for I/O (PCI 3.0 section 6.2.5.1). */
  size: number;
  /** Memory BARs only: BAR bit 3. */
  prefetchable?: boolean;
  /** The register block behind the BAR (offsets from the BAR's base), or null for a BAR that only sizes. */
  region: BusDevice | null;
}

/** Told when a BAR starts, stops or moves decoding: addresses are bases, or BAR_UNMAPPED. */
export interface PciBarListener {
  barChanged(fn: PciFunction, index: number, previous: number, current: number): void;
}

/** A capability in [0x40, 0x100): the function links it into the list; it is told about writes to its bytes. */
export interface PciCapability {
  readonly id: number;
  readonly offset: number;
  readonly length: number;
  configWritten(offset: number, size: AccessSize): void;
}

export interface PciFunctionOptions {
  name: string;
  vendorId: number;
  deviceId: number;
  revision?: number;
  /** base class << 16 | subclass << 8 | prog-if (Ethernet: 0x020000). */
  classCode: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** 0 none, 1 INTA# .. 4 INTD#. */
  interruptPin?: number;
  /** The DMA space MSIs leave through (required before `addMsi`). */
  dma?: DmaSpace | null;
  /** The INTx line the pin is routed to, if the machine wires one. */
  intx?: IrqLine | null;
  /** Called after a config write (or reset) changed the command register. */
  onCommandChange?: ((previous: number, current: number) => void) | null;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 0x8000_0000 && (n & (n - 1)) === 0;
}

export class PciFunction {
  readonly name: string;
  /** The live configuration space. Read it through configRead/configPeek; write only through configWrite. */
  readonly config = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  /** Per byte: bits software may write. */
  private readonly wmask = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  /** Per byte: bits a written 1 clears (RW1C). */
  private readonly w1cmask = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  /** The configuration space as it is at reset. */
  private readonly resetImage = new Uint8Array(PCI_CONFIG_SPACE_SIZE);

  /** Set when attached to a bus (PciBus.attach); the requester ID DMA and MSI carry. */
  busNumber = 0;
  deviceNumber = 0;
  functionNumber = 0;
  requesterId = 0;
  attached = false;

  readonly dma: DmaSpace | null;
  private readonly intx: IrqLine | null;
  private intxLevel = false;
  private readonly onCommandChange: ((previous: number, current: number) => void) | null;

  private readonly barKinds = new Uint8Array(PCI_BAR_COUNT);
  private readonly barSizes = new Uint32Array(PCI_BAR_COUNT);
  private readonly barDecoded = new Float64Array(PCI_BAR_COUNT).fill(BAR_UNMAPPED);
  private readonly barRegions: (BusDevice | null)[] = new Array<BusDevice | null>(PCI_BAR_COUNT).fill(null);
  private readonly barListeners: PciBarListener[] = [];
  private readonly capabilities: PciCapability[] = [];
  msi: MsiCapability | null = null;

  constructor(options: PciFunctionOptions) {
    this.name = options.name;
    this.dma = options.dma ?? null;
    this.intx = options.intx ?? null;
    this.onCommandChange = options.onCommandChange ?? null;
    this.defineRegister(PciCfg.VendorId, 2, options.vendorId);
    this.defineRegister(PciCfg.DeviceId, 2, options.deviceId);
    this.defineRegister(PciCfg.RevisionId, 1, options.revision ?? 0);
    this.defineRegister(PciCfg.ProgIf, 1, options.classCode & 0xff);
    this.defineRegister(PciCfg.Subclass, 1, (options.classCode >>> 8) & 0xff);
    this.defineRegister(PciCfg.BaseClass, 1, (options.classCode >>> 16) & 0xff);
    this.defineRegister(PciCfg.SubsystemVendorId, 2, options.subsystemVendorId ?? 0);
    this.defineRegister(PciCfg.SubsystemId, 2, options.subsystemId ?? 0);
    this.defineRegister(PciCfg.InterruptPin, 1, options.interruptPin ?? 0);
    for (const [offset, size, writable, rw1c] of HEADER_MASKS) this.defineRegister(offset, size, 0, writable, rw1c);
  }

  // ---- building (machine or owning device, before the guest runs) ----

  /** Sets a register's reset value and its writable / RW1C bits (little-endian across `size` bytes). */
  defineRegister(offset: number, size: AccessSize, reset: number, writable = 0, rw1c = 0): void {
    if (offset < 0 || offset + size > PCI_CONFIG_SPACE_SIZE) {
      throw new RangeError(`${this.name}: config register ${hex(offset)} outside the space`);
    }
    if ((writable & rw1c) !== 0) throw new RangeError(`${this.name}: config bits at ${hex(offset)} both RW and RW1C`);
    for (let i = 0; i < size; i++) {
      const shift = 8 * i;
      this.config[offset + i] = this.resetImage[offset + i] = (reset >>> shift) & 0xff;
      this.wmask[offset + i] = (writable >>> shift) & 0xff;
      this.w1cmask[offset + i] = (rw1c >>> shift) & 0xff;
    }
  }

  /**
   * Declares BAR `index`. The type bits are read-only and the address bits below the size hardwired to 0,
   * so the size probe (write all-ones, read back) answers `~(size - 1) | type bits` by the mask table alone.
   */
  addBar(index: number, spec: PciBarSpec): void {
    if (!Number.isInteger(index) || index < 0 || index >= PCI_BAR_COUNT) {
      throw new RangeError(`${this.name}: no BAR${index}`);
    }
    if (this.barKinds[index] !== PciBarKind.None) throw new RangeError(`${this.name}: BAR${index} defined twice`);
    const io = spec.kind === 'io';
    const [min, max] = io ? [4, 256] : [16, 0x8000_0000];
    if (!isPowerOfTwo(spec.size) || spec.size < min || spec.size > max) {
      const range = `[${min}, ${hex(max)}]`;
      throw new RangeError(`${this.name}: BAR${index} size ${hex(spec.size)} must be a power of two in ${range}`);
    }
    if (io && spec.prefetchable) throw new RangeError(`${this.name}: I/O BAR${index} cannot be prefetchable`);
    const typeBits = io ? BAR_SPACE_IO : spec.prefetchable ? BAR_MEM_PREFETCHABLE : 0;
    const addressMask = io ? BAR_IO_ADDRESS_MASK : BAR_MEM_ADDRESS_MASK;
    this.defineRegister(PciCfg.Bar0 + 4 * index, 4, typeBits, (addressMask & ~(spec.size - 1)) >>> 0);
    this.barKinds[index] = io ? PciBarKind.Io : PciBarKind.Memory32;
    this.barSizes[index] = spec.size;
    this.barRegions[index] = spec.region;
  }

  /** Links a capability at the end of the list (pointer at 0x34, Status bit 4); its ID and next bytes are read-only. */
  addCapability(cap: PciCapability): void {
    const end = cap.offset + cap.length;
    if (cap.offset % 4 !== 0 || cap.offset < PCI_HEADER_SIZE || cap.length < 2 || end > PCI_CONFIG_SPACE_SIZE) {
      const where = `${hex(cap.offset)}+${cap.length}`;
      throw new RangeError(`${this.name}: capability ${hex(cap.id)} at ${where} must be dword aligned in 0x40-0xFF`);
    }
    for (const other of this.capabilities) {
      const otherEnd = (other.offset + other.length + 3) & ~3;
      if (cap.offset < otherEnd && other.offset < end) {
        const them = `${hex(other.id)} at ${hex(other.offset)}`;
        throw new RangeError(`${this.name}: capability ${hex(cap.id)} at ${hex(cap.offset)} overlaps ${them}`);
      }
    }
    const tail = this.capabilities[this.capabilities.length - 1];
    if (tail === undefined) {
      this.defineRegister(PciCfg.CapabilitiesPointer, 1, cap.offset);
      this.setResetBits(PciCfg.Status, PciStatus.CapabilitiesList);
    } else {
      this.defineRegister(tail.offset + 1, 1, cap.offset);
    }
    this.defineRegister(cap.offset, 1, cap.id);
    this.defineRegister(cap.offset + 1, 1, 0);
    this.capabilities.push(cap);
  }

  /** Adds the MSI capability (devices.md 1.12 defaults: at 0xD0, 64-bit capable, one vector, no masking). */
  addMsi(options: Partial<MsiOptions> = {}): MsiCapability {
    if (this.msi !== null) throw new RangeError(`${this.name}: MSI capability added twice`);
    if (this.dma === null) throw new RangeError(`${this.name}: MSI needs a DMA space to send through`);
    this.msi = new MsiCapability(this, options);
    return this.msi;
  }

  /** Header type bit 7: set by the bus on every function of a device that has more than function 0. */
  setMultiFunction(on: boolean): void {
    const layout = this.resetImage[PciCfg.HeaderType] & ~HEADER_TYPE_MULTI_FUNCTION;
    const v = layout | (on ? HEADER_TYPE_MULTI_FUNCTION : 0);
    this.config[PciCfg.HeaderType] = this.resetImage[PciCfg.HeaderType] = v;
  }

  /** Called by PciBus.attach. */
  setAddress(bus: number, device: number, fn: number, requesterId: number): void {
    this.busNumber = bus;
    this.deviceNumber = device;
    this.functionNumber = fn;
    this.requesterId = requesterId;
    this.attached = true;
  }

  addBarListener(listener: PciBarListener): void {
    this.barListeners.push(listener);
  }

  // ---- configuration accesses (config ports, the hypervisor's virtual config space, tests) ----

  /** Reads `size` bytes at `offset`, little-endian. Configuration reads have no side effects here. */
  configRead(offset: number, size: AccessSize): number {
    if (!(offset >= 0 && offset + size <= PCI_CONFIG_SPACE_SIZE)) return allOnes(size);
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.config[offset + i] << (8 * i);
    return value >>> 0;
  }

  configPeek(offset: number, size: AccessSize): number {
    return this.configRead(offset, size);
  }

  /** Writes through the mask tables: read-only bits keep their value, RW1C bits clear where a 1 is written. */
  configWrite(offset: number, size: AccessSize, value: number): void {
    if (!(offset >= 0 && offset + size <= PCI_CONFIG_SPACE_SIZE)) return;
    const previousCommand = this.command;
    for (let i = 0; i < size; i++) {
      const a = offset + i;
      const b = (value >>> (8 * i)) & 0xff;
      const wm = this.wmask[a];
      this.config[a] = ((this.config[a] & ~wm) | (b & wm)) & ~(b & this.w1cmask[a]);
    }
    const end = offset + size;
    const commandChanged = this.command !== previousCommand;
    if (commandChanged || (offset < PciCfg.Bar0 + 4 * PCI_BAR_COUNT && end > PciCfg.Bar0)) this.refreshBars();
    if (commandChanged) {
      this.reevaluateIntx();
      this.msi?.deliverPending();
      this.onCommandChange?.(previousCommand, this.command);
    }
    for (let i = 0; i < this.capabilities.length; i++) {
      const cap = this.capabilities[i];
      if (offset < cap.offset + cap.length && cap.offset < end) cap.configWritten(offset, size);
    }
  }

  /** Back to the reset image (PCI reset / RST#): BARs stop decoding, MSI is disabled, INTx status cleared. */
  reset(): void {
    const previousCommand = this.command;
    this.config.set(this.resetImage);
    this.refreshBars();
    this.reevaluateIntx();
    if (this.command !== previousCommand) this.onCommandChange?.(previousCommand, this.command);
  }

  // ---- what the owning device asks ----

  get command(): number {
    return this.config[PciCfg.Command] | (this.config[PciCfg.Command + 1] << 8);
  }

  get status(): number {
    return this.config[PciCfg.Status] | (this.config[PciCfg.Status + 1] << 8);
  }

  /** Command bit 0: I/O BARs decode. */
  get ioEnabled(): boolean {
    return (this.config[PciCfg.Command] & PciCommand.IoSpace) !== 0;
  }

  /** Command bit 1: memory BARs decode. */
  get memoryEnabled(): boolean {
    return (this.config[PciCfg.Command] & PciCommand.MemorySpace) !== 0;
  }

  /** Command bit 2: the device may DMA and send MSIs (devices.md 1.1, 2.2). */
  get busMasterEnabled(): boolean {
    return (this.config[PciCfg.Command] & PciCommand.BusMaster) !== 0;
  }

  /** Command bit 10: the device must not assert INTx (Interrupt Status still reports the condition). */
  get intxDisabled(): boolean {
    return (this.command & PciCommand.IntxDisable) !== 0;
  }

  barKind(index: number): PciBarKind {
    return this.barKinds[index] as PciBarKind;
  }

  barSize(index: number): number {
    return this.barSizes[index];
  }

  barRegion(index: number): BusDevice | null {
    return this.barRegions[index];
  }

  /** The base BAR `index` decodes at right now, or BAR_UNMAPPED (not defined, space disabled, unprogrammed). */
  barAddress(index: number): number {
    return this.barDecoded[index];
  }

  /**
   * The device's interrupt condition. Sets Status bit 3 (Interrupt Status) and drives the INTx line while
   * INTx is not disabled and MSI is not enabled (PCI 3.0 6.2.2, 6.8.1: with MSI enabled the pin is unused).
   */
  setIntx(level: boolean): void {
    const lo = this.config[PciCfg.Status];
    this.config[PciCfg.Status] = level ? lo | PciStatus.InterruptStatus : lo & ~PciStatus.InterruptStatus;
    this.reevaluateIntx();
  }

  /**
   * The device records an error condition in Status (e.g. Received Master Abort after a failed DMA, bit 13);
   * software clears it by writing 1 (RW1C). Only the RW1C error bits can be set this way.
   */
  raiseStatusErrors(bits: number): void {
    const set = bits & STATUS_RW1C;
    this.config[PciCfg.Status] |= set & 0xff;
    this.config[PciCfg.Status + 1] |= set >>> 8;
  }

  /** Recomputes the INTx line after a change to Interrupt Status, INTx Disable or MSI Enable. */
  reevaluateIntx(): void {
    const pending = (this.config[PciCfg.Status] & PciStatus.InterruptStatus) !== 0;
    const assert = pending && !this.intxDisabled && !(this.msi !== null && this.msi.enabled);
    if (assert === this.intxLevel) return;
    this.intxLevel = assert;
    this.intx?.set(assert);
  }

  /** Whether the function is asserting its INTx line now. */
  get intxAsserted(): boolean {
    return this.intxLevel;
  }

  /** Signals MSI vector `vectorOffset` (see MsiCapability.send); a function without MSI counts nothing. */
  sendMsi(vectorOffset = 0): MsiOutcome {
    return this.msi === null ? MsiOutcome.Disabled : this.msi.send(vectorOffset);
  }

  toString(): string {
    return `${bdfName(this.busNumber, this.deviceNumber, this.functionNumber)} ${this.name}`;
  }

  // ---- internals ----

  private setResetBits(offset: number, bits: number): void {
    this.config[offset] |= bits & 0xff;
    this.resetImage[offset] |= bits & 0xff;
    this.config[offset + 1] |= (bits >>> 8) & 0xff;
    this.resetImage[offset + 1] |= (bits >>> 8) & 0xff;
  }

  /**
   * Decodes every BAR (devices.md 2.3, as QEMU's pci_bar_address): a memory BAR needs Command bit 1, an I/O
   * BAR bit 0; a zero base or one whose last byte reaches 0xFFFFFFFF (the value left by a size probe) is
   * unmapped, and so is an I/O BAR past the 64 KiB port space. Listeners hear about every change.
   */
  private refreshBars(): void {
    const command = this.command;
    for (let i = 0; i < PCI_BAR_COUNT; i++) {
      const kind = this.barKinds[i];
      if (kind === PciBarKind.None) continue;
      const io = kind === PciBarKind.Io;
      let decoded = BAR_UNMAPPED;
      if ((command & (io ? PciCommand.IoSpace : PciCommand.MemorySpace)) !== 0) {
        const addressMask = io ? BAR_IO_ADDRESS_MASK : BAR_MEM_ADDRESS_MASK;
        const base = (this.configRead(PciCfg.Bar0 + 4 * i, 4) & addressMask) >>> 0;
        const last = base + this.barSizes[i] - 1;
        if (base !== 0 && last < (io ? 0x1_0000 : 0xffff_ffff)) decoded = base;
      }
      const previous = this.barDecoded[i];
      if (decoded === previous) continue;
      this.barDecoded[i] = decoded;
      for (let l = 0; l < this.barListeners.length; l++) this.barListeners[l].barChanged(this, i, previous, decoded);
    }
  }
}
