// The MSRs a VM sees when its RDMSR/WRMSR exit (SDM Vol. 4): the TSC through the VMCS TSC offset, a VM-private
// IA32_FEATURE_CONTROL, IA32_MISC_ENABLE and IA32_PAT; anything else is #GP(0), as on a CPU without it.
// Which MSRs pass through without an exit is exits.ts' MSR-bitmap lists.

import { patValid } from '../cpu/msr.js';

/** Reads and writes as hi:lo pairs; false means the guest gets #GP(0). */
export class VirtualMsrs {
  lo = 0;
  hi = 0;
  private featureControl = 0;
  private patLo = 0x07040600;
  private patHi = 0x07040600;

  /** tsc(): the guest's TSC now; setTsc(v): make it read v from now on (the VMCS TSC offset). */
  constructor(
    private readonly tsc: () => number,
    private readonly setTsc: (value: number) => void,
  ) {}

  read(index: number): boolean {
    let lo = 0;
    let hi = 0;
    switch (index >>> 0) {
      case 0x10: {
        const t = this.tsc();
        lo = t % 0x1_0000_0000 | 0;
        hi = Math.floor(t / 0x1_0000_0000) | 0;
        break;
      }
      case 0x3a:
        lo = this.featureControl;
        break;
      case 0x1a0:
        lo = 1;
        break;
      case 0x277:
        lo = this.patLo;
        hi = this.patHi;
        break;
      default:
        return false;
    }
    this.lo = lo;
    this.hi = hi;
    return true;
  }

  write(index: number, lo: number, hi: number): boolean {
    switch (index >>> 0) {
      case 0x10:
        this.setTsc((hi >>> 0) * 0x1_0000_0000 + (lo >>> 0));
        return true;
      case 0x3a:
        // VMX cannot be enabled in the VM (CPUID has no VMX): bit 2 stays 0.
        if ((this.featureControl & 1) !== 0 || hi !== 0 || (lo & ~0x3) !== 0) return false;
        this.featureControl = lo;
        return true;
      case 0x1a0:
        return hi === 0 && (lo & ~1) === 0;
      case 0x277:
        if (!patValid(lo, hi)) return false;
        this.patLo = lo;
        this.patHi = hi;
        return true;
      default:
        return false;
    }
  }
}
