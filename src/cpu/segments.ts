// Segment descriptors: reading them from the GDT/LDT, and loading segment registers with the protected-mode
// checks (SDM Vol. 3 3.4-3.5, 5.5-5.8). Far transfers use these; privilege changes are not implemented yet.

import type { Cpu } from './cpu.js';
import { Seg } from './decoder.js';
import { Vector } from './interrupts.js';

export const enum DescriptorError {
  Ok = 0,
  Null = 1,
  Limit = 2,
}

/** Reads the descriptor a selector names into cpu.descLo/descHi. */
export function readDescriptor(cpu: Cpu, selector: number): DescriptorError {
  if ((selector & 0xfffc) === 0) return DescriptorError.Null;
  const ti = (selector & 4) !== 0;
  const base = ti ? cpu.ldtBase : cpu.gdtBase;
  const limit = ti ? cpu.ldtLimit : cpu.gdtLimit;
  if (ti && (cpu.ldtSel & 0xfffc) === 0) return DescriptorError.Limit;
  const index = selector & 0xfff8;
  if (index + 7 > limit >>> 0) return DescriptorError.Limit;
  cpu.descAddr = (base + index) | 0;
  cpu.descLo = cpu.read32(cpu.descAddr);
  cpu.descHi = cpu.read32((cpu.descAddr + 4) | 0);
  return DescriptorError.Ok;
}

export function descriptorBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
}

export function descriptorLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return ((hi & 0x800000) !== 0 ? (raw << 12) | 0xfff : raw) | 0;
}

/** Access rights in the VMCS layout (SDM Vol. 3 24.4.1): type, S, DPL, P, AVL, L, D/B, G. */
export function descriptorAr(hi: number): number {
  return (hi >>> 8) & 0xf0ff;
}

/** Sets the accessed bit of a code/data descriptor in memory, as the processor does on a load. */
function setAccessed(cpu: Cpu): void {
  if ((cpu.descHi & 0x100) === 0) {
    cpu.descHi |= 0x100;
    cpu.write32((cpu.descAddr + 4) | 0, cpu.descHi);
  }
}

function cache(cpu: Cpu, seg: number, selector: number, lo: number, hi: number): void {
  cpu.segSel[seg] = selector;
  cpu.segBase[seg] = descriptorBase(lo, hi);
  cpu.segLimit[seg] = descriptorLimit(lo, hi);
  cpu.segAr[seg] = descriptorAr(hi);
}

/** MOV/POP to DS, ES, FS, GS, SS (SDM Vol. 2 MOV, "protected mode" pseudocode). */
export function loadDataSegment(cpu: Cpu, seg: number, selector: number): void {
  selector &= 0xffff;
  const rpl = selector & 3;
  const r = readDescriptor(cpu, selector);
  if (seg === Seg.SS) {
    if (r === DescriptorError.Null) cpu.raise(Vector.GP, 0);
    if (r === DescriptorError.Limit) cpu.raise(Vector.GP, selector & 0xfffc);
    const hi = cpu.descHi;
    const type = (hi >>> 8) & 0x1f;
    const dpl = (hi >>> 13) & 3;
    // Writable data, RPL = DPL = CPL.
    if ((type & 0x1a) !== 0x12 || rpl !== cpu.cpl || dpl !== cpu.cpl) cpu.raise(Vector.GP, selector & 0xfffc);
    if ((hi & 0x8000) === 0) cpu.raise(Vector.SS, selector & 0xfffc);
  } else {
    if (r === DescriptorError.Null) {
      // A null selector loads an unusable segment; using it faults later.
      cpu.segSel[seg] = selector;
      cpu.segBase[seg] = 0;
      cpu.segLimit[seg] = 0;
      cpu.segAr[seg] = 0x10000;
      cpu.updateSegChecks();
      return;
    }
    if (r === DescriptorError.Limit) cpu.raise(Vector.GP, selector & 0xfffc);
    const hi = cpu.descHi;
    const type = (hi >>> 8) & 0x1f;
    const dpl = (hi >>> 13) & 3;
    // Data or readable code; for data and non-conforming code, DPL >= max(CPL, RPL).
    if ((type & 0x10) === 0 || (type & 0x1a) === 0x18) cpu.raise(Vector.GP, selector & 0xfffc);
    if ((type & 0x1c) !== 0x1c && dpl < Math.max(cpu.cpl, rpl)) cpu.raise(Vector.GP, selector & 0xfffc);
    if ((hi & 0x8000) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
  }
  setAccessed(cpu);
  cache(cpu, seg, selector, cpu.descLo, cpu.descHi);
  cpu.updateSegChecks();
}

/**
 * Checks and loads CS for a far JMP/CALL/RET to the same privilege level (SDM Vol. 3 5.8.1).
 * Call gates, task switches and privilege changes raise #GP (not implemented).
 */
export function loadCodeSegment(cpu: Cpu, selector: number, offset: number, returning: boolean): void {
  selector &= 0xffff;
  const r = readDescriptor(cpu, selector);
  if (r === DescriptorError.Null) cpu.raise(Vector.GP, 0);
  if (r === DescriptorError.Limit) cpu.raise(Vector.GP, selector & 0xfffc);
  const hi = cpu.descHi;
  const type = (hi >>> 8) & 0x1f;
  const dpl = (hi >>> 13) & 3;
  const rpl = selector & 3;
  if ((type & 0x18) !== 0x18) cpu.raise(Vector.GP, selector & 0xfffc); // not a code segment (gates: later)
  if ((type & 4) !== 0) {
    if (dpl > cpu.cpl) cpu.raise(Vector.GP, selector & 0xfffc); // conforming
  } else if (returning ? rpl !== cpu.cpl : rpl > cpu.cpl || dpl !== cpu.cpl) {
    cpu.raise(Vector.GP, selector & 0xfffc);
  }
  if (returning && rpl !== cpu.cpl) cpu.raise(Vector.GP, selector & 0xfffc);
  if ((hi & 0x8000) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
  const limit = descriptorLimit(cpu.descLo, hi);
  if (offset >>> 0 > limit >>> 0) cpu.raise(Vector.GP, 0);
  setAccessed(cpu);
  loadCsFromDescriptor(cpu, (selector & 0xfffc) | cpu.cpl, cpu.descLo, cpu.descHi);
}

/** Loads the CS cache (after the caller's checks). 16-bit code segments stop the machine: not implemented. */
export function loadCsFromDescriptor(cpu: Cpu, selector: number, lo: number, hi: number): void {
  cache(cpu, Seg.CS, selector, lo, hi);
  if ((hi & 0x400000) === 0) cpu.triggerShutdown('16-bit code segments are not implemented');
  cpu.updateSegChecks();
}

/** LTR (SDM Vol. 2): an available 32-bit TSS in the GDT, marked busy. */
export function loadTaskRegister(cpu: Cpu, selector: number): void {
  selector &= 0xffff;
  if ((selector & 4) !== 0) cpu.raise(Vector.GP, selector & 0xfffc);
  const r = readDescriptor(cpu, selector);
  if (r === DescriptorError.Null) cpu.raise(Vector.GP, 0);
  if (r === DescriptorError.Limit) cpu.raise(Vector.GP, selector & 0xfffc);
  const hi = cpu.descHi;
  const type = (hi >>> 8) & 0x1f;
  if (type !== 0x09 && type !== 0x01) cpu.raise(Vector.GP, selector & 0xfffc);
  if ((hi & 0x8000) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
  cpu.descHi = hi | 0x200; // busy
  cpu.write32((cpu.descAddr + 4) | 0, cpu.descHi);
  cpu.trSel = selector;
  cpu.trBase = descriptorBase(cpu.descLo, hi);
  cpu.trLimit = descriptorLimit(cpu.descLo, hi);
  cpu.trAr = descriptorAr(cpu.descHi);
}

/** LLDT: an LDT descriptor in the GDT, or a null selector. */
export function loadLdt(cpu: Cpu, selector: number): void {
  selector &= 0xffff;
  if ((selector & 0xfffc) === 0) {
    cpu.ldtSel = selector;
    cpu.ldtBase = 0;
    cpu.ldtLimit = 0;
    return;
  }
  if ((selector & 4) !== 0) cpu.raise(Vector.GP, selector & 0xfffc);
  const r = readDescriptor(cpu, selector);
  if (r === DescriptorError.Limit) cpu.raise(Vector.GP, selector & 0xfffc);
  const hi = cpu.descHi;
  if (((hi >>> 8) & 0x1f) !== 0x02) cpu.raise(Vector.GP, selector & 0xfffc);
  if ((hi & 0x8000) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
  cpu.ldtSel = selector;
  cpu.ldtBase = descriptorBase(cpu.descLo, hi);
  cpu.ldtLimit = descriptorLimit(cpu.descLo, hi);
}
