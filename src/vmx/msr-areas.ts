// MSR accesses VM entry and exit make on the processor's behalf: the guest/host SYSENTER MSRs and the VM-entry
// MSR-load, VM-exit MSR-store and VM-exit MSR-load areas (SDM Vol. 3 27.4, 28.4, 28.6). When they happen is
// vm-entry.ts'/vm-exit.ts'.

import type { Cpu } from '../cpu/cpu.js';
import { FAULT } from '../cpu/fault.js';
import { MSR_LIST_MAX } from './capabilities.js';

/** IA32_FEATURE_CONTROL may not be loaded from an MSR area (SDM 27.4: it is one of the MSRs that fail). */
const IA32_FEATURE_CONTROL = 0x3a;

export function readMsrLo(cpu: Cpu, index: number): number {
  cpu.msr.read(index);
  return cpu.msr.lo;
}

/** A WRMSR on behalf of entry/exit; false when the CPU would raise #GP. */
export function writeMsr(cpu: Cpu, index: number, lo: number, hi = 0): boolean {
  try {
    cpu.msr.write(index, lo, hi);
    return true;
  } catch (e) {
    if (e !== FAULT) throw e;
    cpu.pendingVector = -1;
    return false;
  }
}

/**
 * An MSR-load area: 16-byte entries (index, reserved, value); x2APIC MSRs, IA32_FEATURE_CONTROL and the VMX
 * capability MSRs (`capability`) may not be loaded this way. Returns 0, or the 1-based failing entry.
 */
export function loadMsrList(cpu: Cpu, address: number, count: number, capability: (index: number) => boolean): number {
  const mem = cpu.memory;
  for (let i = 0; i < Math.min(count, MSR_LIST_MAX); i++) {
    const e = (address + 16 * i) >>> 0;
    const index = mem.read(e, 4) >>> 0;
    if (mem.read(e + 4, 4) !== 0 || index >>> 8 === 0x8 || capability(index) || index === IA32_FEATURE_CONTROL) return i + 1;
    if (!writeMsr(cpu, index, mem.read(e + 8, 4), mem.read(e + 12, 4))) return i + 1;
  }
  // Beyond IA32_VMX_MISC's recommended maximum hardware may take a machine check (SDM 27.4): fail at the first
  // entry past it rather than ignore the rest.
  return (count >>> 0) > MSR_LIST_MAX ? MSR_LIST_MAX + 1 : 0;
}

/** The VM-exit MSR-store area: each entry's value := RDMSR(index); false on a failing entry (VMX abort). */
export function storeMsrs(cpu: Cpu, address: number, count: number): boolean {
  if ((count >>> 0) > MSR_LIST_MAX) return false;
  for (let i = 0; i < Math.min(count, MSR_LIST_MAX); i++) {
    const e = (address + 16 * i) >>> 0;
    const index = cpu.memory.read(e, 4) >>> 0;
    if (index >>> 8 === 0x8) return false;
    try {
      cpu.msr.read(index);
    } catch (err) {
      if (err !== FAULT) throw err;
      cpu.pendingVector = -1;
      return false;
    }
    cpu.memory.write(e + 8, 4, cpu.msr.lo);
    cpu.memory.write(e + 12, 4, cpu.msr.hi);
  }
  return true;
}
