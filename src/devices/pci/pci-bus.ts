// Owns PCI bus 0: which function sits at which device/function (duplicates rejected at build time), config access
// by address, live-BAR decode tables. Leaves CONFIG_ADDRESS/DATA ports to config-ports.ts, window mapping to machine/.

import type { AccessSize } from '../../core/bus.js';
import { allOnes } from '../../core/bus.js';
import { createHostBridge } from './host-bridge.js';
import { type PciBarListener, PciBarKind, type PciFunction } from './pci-function.js';
import { bdfName, requesterId } from './pci-regs.js';
import { PciDecodeTable } from './pci-window.js';

/**
 * One PCI bus, number 0 (a flat topology: no PCI-to-PCI bridges). Devices 0-31, functions 0-7; the host
 * bridge sits at 00:00.0. Configuration reads of an empty slot or another bus return all-ones (the
 * master-abort value; vendor ID FFFF means "no device"), writes there are dropped.
 */
export class PciBus implements PciBarListener {
  static readonly BUS_NUMBER = 0;
  readonly hostBridge: PciFunction;
  /** Indexed by devfn = device << 3 | function. */
  private readonly slots = new Array<PciFunction | null>(256).fill(null);
  private readonly attachedFunctions: PciFunction[] = [];
  private readonly listeners: PciBarListener[] = [];
  /** Live 32-bit memory BARs of every function, for PciWindow. */
  readonly memoryDecode = new PciDecodeTable(PciBarKind.Memory32);
  /** Live I/O BARs of every function, for PciWindow. */
  readonly ioDecode = new PciDecodeTable(PciBarKind.Io);

  constructor(hostBridge: PciFunction = createHostBridge()) {
    this.hostBridge = hostBridge;
    this.attach(hostBridge, 0, 0);
  }

  /**
   * Puts `fn` at 00:device.function and gives it its requester ID. A device with any function other than 0
   * gets the multi-function bit (header type bit 7) on all its functions, so enumeration probes them.
   */
  attach(fn: PciFunction, device: number, functionNumber = 0): void {
    if (!Number.isInteger(device) || device < 0 || device > 31) {
      throw new RangeError(`PCI device number ${device} outside 0..31`);
    }
    if (!Number.isInteger(functionNumber) || functionNumber < 0 || functionNumber > 7) {
      throw new RangeError(`PCI function number ${functionNumber} outside 0..7`);
    }
    const where = bdfName(PciBus.BUS_NUMBER, device, functionNumber);
    if (fn.attached) throw new RangeError(`${fn.name} attached twice (again at ${where})`);
    const devfn = (device << 3) | functionNumber;
    const other = this.slots[devfn];
    if (other !== null) throw new RangeError(`PCI ${where}: ${fn.name} collides with ${other.name}`);
    this.slots[devfn] = fn;
    this.attachedFunctions.push(fn);
    fn.setAddress(PciBus.BUS_NUMBER, device, functionNumber, requesterId(PciBus.BUS_NUMBER, device, functionNumber));
    fn.addBarListener(this);
    let multi = false;
    for (let f = 1; f < 8; f++) if (this.slots[(device << 3) | f] !== null) multi = true;
    for (let f = 0; f < 8; f++) this.slots[(device << 3) | f]?.setMultiFunction(multi);
    this.rebuildDecode();
  }

  functionAt(bus: number, device: number, functionNumber: number): PciFunction | null {
    if (bus !== PciBus.BUS_NUMBER || device < 0 || device > 31 || functionNumber < 0 || functionNumber > 7) return null;
    return this.slots[(device << 3) | functionNumber];
  }

  get functions(): readonly PciFunction[] {
    return this.attachedFunctions;
  }

  configRead(bus: number, device: number, functionNumber: number, offset: number, size: AccessSize): number {
    const fn = this.functionAt(bus, device, functionNumber);
    return fn === null ? allOnes(size) : fn.configRead(offset, size);
  }

  configPeek(bus: number, device: number, functionNumber: number, offset: number, size: AccessSize): number {
    const fn = this.functionAt(bus, device, functionNumber);
    return fn === null ? allOnes(size) : fn.configPeek(offset, size);
  }

  configWrite(
    bus: number,
    device: number,
    functionNumber: number,
    offset: number,
    size: AccessSize,
    value: number,
  ): void {
    this.functionAt(bus, device, functionNumber)?.configWrite(offset, size, value);
  }

  /** Machine/ listens here to (re)map BAR windows itself; see PciWindow for the ready-made alternative. */
  addBarListener(listener: PciBarListener): void {
    this.listeners.push(listener);
  }

  barChanged(fn: PciFunction, index: number, previous: number, current: number): void {
    this.rebuildDecode();
    for (let i = 0; i < this.listeners.length; i++) this.listeners[i].barChanged(fn, index, previous, current);
  }

  /** PCI reset of every function (RST#). */
  reset(): void {
    for (const fn of this.attachedFunctions) fn.reset();
  }

  private rebuildDecode(): void {
    this.memoryDecode.rebuild(this.attachedFunctions);
    this.ioDecode.rebuild(this.attachedFunctions);
  }
}
