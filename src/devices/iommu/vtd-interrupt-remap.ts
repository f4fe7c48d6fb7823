// Interrupt remapping for the VT-d unit: decoding remappable-format MSIs, IRTE lookup and validation, and the
// compatibility-format message it yields (VT-d 5.1, 9.10; devices.md 3.8). Enabling, fault recording and
// delivery are vtd.ts's; this file never sends anything.

import type { PhysicalMemory } from '../../core/physical-memory.js';
import { FaultReason } from './vtd-regs.js';

const MSI_FORMAT_REMAPPABLE = 1 << 4;
const MSI_SHV = 1 << 3;
const MSI_HANDLE_15 = 1 << 2;
/** IRTE low dword reserved bits: 14:12, IM (15: posted format, unsupported), 31:24. */
const IRTE_RSVD_LO = 0xff00f000 | 0;
/** SQ values -> which SID bits take part in the SVT=01 comparison (function bits masked). */
const SQ_MASKS = new Uint16Array([0xffff, 0xfffb, 0xfff9, 0xfff8]);

export interface RemapStats {
  remapped: number;
  compatibilityPassed: number;
  faults: number;
}

/**
 * `remap` returns 0 with the message to deliver in outAddress/outData, or a fault reason with the
 * interrupt index in `index` (for FRCD.FI) and the IRTE's FPD in `fpd`. The table is read on every
 * interrupt (no interrupt-entry cache), so an IRTE change takes effect at once.
 */
export class InterruptRemapper {
  readonly stats: RemapStats = { remapped: 0, compatibilityPassed: 0, faults: 0 };
  /** Latched by GCMD.SIRTP from IRTA. */
  tableHi = 0;
  tableLo = 0;
  /** Entries: 2^(IRTA.S + 1). */
  entries = 2;
  outAddress = 0;
  outData = 0;
  index = 0;
  fpd = false;

  constructor(private readonly memory: PhysicalMemory) {}

  latch(irtaHi: number, irtaLo: number): void {
    this.tableHi = irtaHi;
    this.tableLo = (irtaLo & 0xfffff000) >>> 0;
    this.entries = 2 ** ((irtaLo & 0xf) + 1);
  }

  /** A request in the interrupt window while IRES = 1. `cfis`: compatibility format allowed (GSTS.CFIS). */
  remap(sid: number, address: number, data: number, cfis: boolean): number {
    this.index = 0;
    this.fpd = false;
    const fr = this.lookup(sid, address, data, cfis);
    if (fr !== 0) this.stats.faults++;
    return fr;
  }

  private lookup(sid: number, address: number, data: number, cfis: boolean): number {
    if ((address & MSI_FORMAT_REMAPPABLE) === 0) {
      if (!cfis) return FaultReason.IrCompatBlocked;
      this.outAddress = address;
      this.outData = data;
      this.stats.compatibilityPassed++;
      return 0;
    }
    const shv = (address & MSI_SHV) !== 0;
    const handle = ((address >>> 5) & 0x7fff) | ((address & MSI_HANDLE_15) !== 0 ? 0x8000 : 0);
    this.index = shv ? (handle + (data & 0xffff)) & 0xffff : handle;
    if (shv && (data & 0xffff0000) !== 0) return FaultReason.IrRequestReserved;
    if (this.index >= this.entries) return FaultReason.IrIndexBeyondTable;
    const a = this.tableLo + this.index * 16;
    if (this.tableHi !== 0 || a + 16 > this.memory.ramBytes) return FaultReason.IrTableReadError;
    const lo = this.memory.read(a, 4) >>> 0;
    const dst = this.memory.read(a + 4, 4) >>> 0;
    const sidWord = this.memory.read(a + 8, 4) >>> 0;
    const upper = this.memory.read(a + 12, 4) >>> 0;
    this.fpd = (lo & 2) !== 0;
    if ((lo & 1) === 0) return FaultReason.IrEntryNotPresent;
    if ((lo & IRTE_RSVD_LO) !== 0 || (sidWord & 0xfff00000) !== 0 || upper !== 0) return FaultReason.IrEntryReserved;
    if (!sourceValid(sid, sidWord)) return FaultReason.IrSourceIdInvalid;
    // xAPIC destination mode (IRTA.EIME is not supported): the APIC ID is DST[15:8]; other DST bits are
    // ignored, as QEMU does (kvm-unit-tests writes the ID unshifted, which is only right for ID 0).
    const dest = (dst >>> 8) & 0xff;
    const dm = (lo >>> 2) & 1;
    const rh = (lo >>> 3) & 1;
    const tm = (lo >>> 4) & 1;
    const dlm = (lo >>> 5) & 7;
    const vector = (lo >>> 16) & 0xff;
    this.outAddress = (0xfee00000 | (dest << 12) | (rh << 3) | (dm << 2)) >>> 0;
    this.outData = vector | (dlm << 8) | (tm << 14) | (tm << 15); // level-triggered messages assert (SDM 11.11.2)
    this.stats.remapped++;
    return 0;
  }
}

/** IRTE source-ID validation (SVT/SQ/SID, VT-d 9.10; devices.md 3.8 and section 8 item 5 for SVT = 10). */
function sourceValid(sid: number, sidWord: number): boolean {
  const svt = (sidWord >>> 18) & 3;
  const irteSid = sidWord & 0xffff;
  switch (svt) {
    case 0:
      return true;
    case 1: {
      const mask = SQ_MASKS[(sidWord >>> 16) & 3];
      return (sid & mask) === (irteSid & mask);
    }
    case 2: {
      const bus = sid >>> 8;
      const a = irteSid >>> 8;
      const b = irteSid & 0xff;
      return bus >= Math.min(a, b) && bus <= Math.max(a, b);
    }
    default:
      return false; // SVT = 11 is reserved: the request fails verification
  }
}
