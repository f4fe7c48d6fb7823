// Model-specific registers (RDMSR/WRMSR, SDM Vol. 4): the few this CPU implements. Any other index
// raises #GP(0), as the SDM requires for MSRs a processor does not have.

import type { MsrDevice } from '../core/msr-bus.js';
import type { Cpu } from './cpu.js';
import { Vector } from './interrupts.js';

export const enum Msr {
  IA32_TSC = 0x10,
  IA32_FEATURE_CONTROL = 0x3a,
  IA32_SYSENTER_CS = 0x174,
  IA32_SYSENTER_ESP = 0x175,
  IA32_SYSENTER_EIP = 0x176,
  IA32_MISC_ENABLE = 0x1a0,
  IA32_PAT = 0x277,
}

/** IA32_PAT: each of the eight entries' type must be 0, 1, 4, 5, 6 or 7 (SDM Vol. 3 12.12.2), else WRMSR #GPs. */
export function patValid(lo: number, hi: number): boolean {
  for (let i = 0; i < 8; i++) {
    const t = ((i < 4 ? lo : hi) >>> ((i & 3) * 8)) & 0xff;
    if (t === 2 || t === 3 || t > 7) return false;
  }
  return true;
}

/** Reads and writes as hi:lo pairs (no BigInt, STYLE rule 5). */
export class MsrFile {
  /** Added to the cycle clock to give the TSC (a WRMSR to IA32_TSC sets it). */
  tscOffset = 0;
  private sysenterCs = 0;
  private sysenterEsp = 0;
  private sysenterEip = 0;
  featureControl = 0;
  private patLo = 0x07040600;
  private patHi = 0x07040600;
  lo = 0;
  hi = 0;

  private readonly devices: MsrDevice[] = [];
  private readonly result = new Int32Array(2);

  constructor(private readonly cpu: Cpu) {}

  /** Lets a device (the local APIC) answer the MSR indices it claims; machine/ wires it. */
  attach(device: MsrDevice): void {
    this.devices.push(device);
  }

  private deviceFor(index: number): MsrDevice | null {
    for (let i = 0; i < this.devices.length; i++) if (this.devices[i].claims(index)) return this.devices[i];
    return null;
  }

  /** RDMSR: leaves the value in lo/hi, or raises #GP(0). */
  read(index: number): void {
    let lo = 0;
    let hi = 0;
    const dev = this.deviceFor(index >>> 0);
    if (dev !== null) {
      this.cpu.scheduler.now = this.cpu.now(); // the device (APIC timer) reads the current time
      if (!dev.rdmsr(index >>> 0, this.result)) this.cpu.raise(Vector.GP, 0);
      this.lo = this.result[0];
      this.hi = this.result[1];
      return;
    }
    switch (index >>> 0) {
      case Msr.IA32_TSC: {
        const t = this.cpu.tsc();
        lo = t % 0x1_0000_0000 | 0;
        hi = Math.floor(t / 0x1_0000_0000) | 0;
        break;
      }
      case Msr.IA32_FEATURE_CONTROL:
        lo = this.featureControl;
        break;
      case Msr.IA32_SYSENTER_CS:
        lo = this.sysenterCs;
        break;
      case Msr.IA32_SYSENTER_ESP:
        lo = this.sysenterEsp;
        break;
      case Msr.IA32_SYSENTER_EIP:
        lo = this.sysenterEip;
        break;
      case Msr.IA32_MISC_ENABLE:
        lo = 1; // fast strings
        break;
      case Msr.IA32_PAT:
        lo = this.patLo;
        hi = this.patHi;
        break;
      default:
        this.cpu.raise(Vector.GP, 0);
    }
    this.lo = lo;
    this.hi = hi;
  }

  /** WRMSR: raises #GP(0) for unknown MSRs and reserved bits. */
  write(index: number, lo: number, hi: number): void {
    const dev = this.deviceFor(index >>> 0);
    if (dev !== null) {
      this.cpu.scheduler.now = this.cpu.now(); // the device (APIC timer) reads the current time
      this.cpu.breakLoop(); // the device may have changed what interrupts are pending
      if (!dev.wrmsr(index >>> 0, lo, hi)) this.cpu.raise(Vector.GP, 0);
      return;
    }
    switch (index >>> 0) {
      case Msr.IA32_TSC:
        this.tscOffset = (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0) - this.cpu.now();
        return;
      case Msr.IA32_FEATURE_CONTROL:
        if ((this.featureControl & 1) !== 0 || hi !== 0 || (lo & ~0x7) !== 0) this.cpu.raise(Vector.GP, 0);
        this.featureControl = lo;
        return;
      case Msr.IA32_SYSENTER_CS:
        this.sysenterCs = lo & 0xffff;
        return;
      case Msr.IA32_SYSENTER_ESP:
        this.sysenterEsp = lo;
        return;
      case Msr.IA32_SYSENTER_EIP:
        this.sysenterEip = lo;
        return;
      case Msr.IA32_MISC_ENABLE:
        if (hi !== 0 || (lo & ~1) !== 0) this.cpu.raise(Vector.GP, 0);
        return;
      case Msr.IA32_PAT:
        if (!patValid(lo, hi)) this.cpu.raise(Vector.GP, 0);
        this.patLo = lo;
        this.patHi = hi;
        return;
      default:
        this.cpu.raise(Vector.GP, 0);
    }
  }
}
