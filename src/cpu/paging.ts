// 32-bit paging (SDM Vol. 3 4.3): the two-level walk with 4 KiB and 4 MiB pages, accessed and dirty
// bits, CR0.WP, and the #PF error code. The TLB in cpu.ts caches what this returns.

import type { CpuState as Cpu } from './cpu-state.js';
import { Vector } from './interrupts.js';

export const CR4_PSE = 1 << 4;
const CR0_WP = 1 << 16;
const P = 1;
const RW = 2;
const US = 4;
const A = 0x20;
const D = 0x40;
const PS = 0x80;

export interface WalkResult {
  pa: number;
  /** The page may be written without another walk (writable for this CPL and already dirty). */
  writableDirty: boolean;
}

const result: WalkResult = { pa: 0, writableDirty: false };

/** #PF error code bits (SDM Vol. 3 4.7). */
const PF_P = 1;
const PF_W = 2;
const PF_U = 4;
const PF_RSVD = 8;

/**
 * Walks the tables for `lin`. Page-table reads and A/D updates are physical accesses to RAM; a table
 * outside RAM reads as all-ones (not present is not guaranteed then: bit 0 is set, so the reserved-bit
 * rules decide). Raises #PF with CR2 = lin.
 */
export function walk(cpu: Cpu, lin: number, write: boolean): WalkResult {
  const mem = cpu.gpa === null ? cpu.memory : eptTables(cpu, lin);
  const user = cpu.cpl === 3;
  const wp = (cpu.cr0 & CR0_WP) !== 0;
  const pdeAddr = (cpu.cr3 & ~0xfff) | ((lin >>> 22) << 2);
  const pde = mem.read(pdeAddr, 4);
  if ((pde & P) === 0) pageFault(cpu, lin, write, 0);
  if ((pde & PS) !== 0 && (cpu.cr4 & CR4_PSE) !== 0) {
    // 4 MiB page; with no PSE-36 (CPUID), bits 21:13 are reserved.
    if ((pde & 0x3fe000) !== 0) pageFault(cpu, lin, write, PF_P | PF_RSVD);
    checkAccess(cpu, lin, write, user, wp, pde);
    let upd = pde | A;
    if (write) upd |= D;
    if (upd !== pde) mem.write(pdeAddr, 4, upd);
    result.pa = (pde & 0xffc00000) | (lin & 0x3fffff);
    result.writableDirty = (upd & D) !== 0 && canWrite(user, wp, pde);
    return result;
  }
  const pteAddr = (pde & ~0xfff) | (((lin >>> 12) & 0x3ff) << 2);
  const pte = mem.read(pteAddr, 4);
  if ((pte & P) === 0) pageFault(cpu, lin, write, 0);
  const eff = pde & pte;
  checkAccess(cpu, lin, write, user, wp, eff);
  if ((pde & A) === 0) mem.write(pdeAddr, 4, pde | A);
  let upd = pte | A;
  if (write) upd |= D;
  if (upd !== pte) mem.write(pteAddr, 4, upd);
  result.pa = (pte & ~0xfff) | (lin & 0xfff);
  result.writableDirty = (upd & D) !== 0 && canWrite(user, wp, eff);
  return result;
}

/**
 * Guest paging-structure accesses of a VMX guest with EPT: each entry's guest-physical address goes through
 * EPT as a paging-structure access (SDM Vol. 3 29.3.3), which may exit with an EPT violation.
 */
const eptView = {
  cpu: null as unknown as Cpu,
  lin: 0,
  read(gpa: number, size: 4): number {
    const c = this.cpu;
    return c.memory.read(c.gpa!.translate(gpa, 1, true, this.lin), size);
  },
  write(gpa: number, size: 4, v: number): void {
    const c = this.cpu;
    c.memory.write(c.gpa!.translate(gpa, 2, true, this.lin), size, v);
  },
};

function eptTables(cpu: Cpu, lin: number): typeof eptView {
  eptView.cpu = cpu;
  eptView.lin = lin;
  return eptView;
}

function canWrite(user: boolean, wp: boolean, eff: number): boolean {
  if ((eff & RW) !== 0) return !user || (eff & US) !== 0;
  return !user && !wp;
}

function checkAccess(cpu: Cpu, lin: number, write: boolean, user: boolean, wp: boolean, eff: number): void {
  if (user && (eff & US) === 0) pageFault(cpu, lin, write, PF_P);
  if (write && (eff & RW) === 0 && (user || wp)) pageFault(cpu, lin, write, PF_P);
}

function pageFault(cpu: Cpu, lin: number, write: boolean, bits: number): never {
  cpu.cr2Before = cpu.cr2; // a #PF that causes a VM exit leaves CR2 unchanged (SDM Vol. 3 28.1)
  cpu.cr2 = lin | 0;
  let code = bits;
  if (write) code |= PF_W;
  if (cpu.cpl === 3) code |= PF_U;
  cpu.raise(Vector.PF, code);
}
