// The slow paths of linear memory access: TLB fills through paging.ts, page-crossing and MMIO accesses,
// and TLB invalidation. The inline fast paths (RAM hits in the TLB) stay in cpu.ts.

import type { CpuState as Cpu } from './cpu-state.js';
import { TLB_READ, TLB_WRITE } from './cpu-state.js';
import { walk } from './paging.js';

const CR0_PG = 1 << 31;
/** EPT access kinds (vmx/ept.ts EptAccess). */
const EPT_READ = 1;
const EPT_WRITE = 2;
const EPT_FETCH = 4;

export function rmwSlow(cpu: Cpu, lin: number, size: 1 | 2 | 4): number {
  translate(cpu, lin, true);
  if ((lin & 0xfff) + size > 4096) translate(cpu, (lin + size - 1) | 0, true);
  return readSlow(cpu, lin, size);
}

/** Read of `size` bytes at a linear address: page-crossing, MMIO and TLB misses. */
export function readSlow(cpu: Cpu, lin: number, size: 1 | 2 | 4): number {
  if (((lin & 0xfff) + size) > 4096) {
    let v = 0;
    for (let i = 0; i < size; i++) v |= cpu.read8((lin + i) | 0) << (8 * i);
    return size === 4 ? v | 0 : v;
  }
  const pa = translate(cpu, lin, false);
  if (!cpu.memory.isRam(pa)) {
    // A device read: it sees the current time, and may change what is pending (read-to-clear).
    cpu.scheduler.now = cpu.now();
    cpu.breakLoop();
  }
  return cpu.memory.read(pa, size);
}

export function writeSlow(cpu: Cpu, lin: number, size: 1 | 2 | 4, v: number): void {
  if (((lin & 0xfff) + size) > 4096) {
    // Check both pages before writing either (no partial write on a #PF).
    const first = 4096 - (lin & 0xfff);
    translate(cpu, lin, true);
    translate(cpu, (lin + first) | 0, true);
    for (let i = 0; i < size; i++) cpu.write8((lin + i) | 0, (v >>> (8 * i)) & 0xff);
    return;
  }
  const pa = translate(cpu, lin, true);
  if (!cpu.memory.isRam(pa)) {
    cpu.scheduler.now = cpu.now();
    cpu.breakLoop(); // a device may have raised an interrupt
  }
  cpu.memory.write(pa, size, v);
}

/**
 * Linear to physical for an access (SDM Vol. 3 4.3), filling the TLB for RAM pages. Raises #PF.
 */
export function translate(cpu: Cpu, lin: number, write: boolean, fetch = false): number {
  let pa: number;
  let writable = true;
  if ((cpu.cr0 & CR0_PG) === 0) {
    pa = lin;
  } else {
    const r = walk(cpu, lin, write);
    pa = r.pa;
    writable = r.writableDirty;
  }
  const ept = cpu.gpa;
  if (ept !== null) {
    // A VMX guest with EPT: the guest-physical address goes through EPT (SDM Vol. 3 29.3); a violation exits.
    pa = ept.translate(pa, fetch ? EPT_FETCH : write ? EPT_WRITE : EPT_READ, false, lin);
    writable &&= ept.lastWritable;
    if (fetch) return pa; // execute permission is checked on every fetch walk; the data TLB is not filled
  }
  if (cpu.memory.isRam(pa)) {
    const page = lin >>> 12;
    if (cpu.tlb[page] === 0) {
      if (cpu.tlbCount < cpu.tlbFilled.length) cpu.tlbFilled[cpu.tlbCount] = page;
      cpu.tlbCount++;
    }
    cpu.tlb[page] = (pa & ~0xfff) | TLB_READ | (writable ? TLB_WRITE : 0);
  }
  return pa;
}

/** Drops every TLB entry (MOV CR3, CR0.PG/WP, CR4 paging bits). */
export function flushTlb(cpu: Cpu): void {
  if (cpu.tlbCount > cpu.tlbFilled.length) cpu.tlb.fill(0);
  else for (let i = 0; i < cpu.tlbCount; i++) cpu.tlb[cpu.tlbFilled[i]] = 0;
  cpu.tlbCount = 0;
  cpu.code.forgetFetchPage();
  cpu.codeGen = (cpu.codeGen + 1) | 0;
  cpu.breakLoop(); // chained instructions assumed the old mapping
}

/** INVLPG. */
export function flushTlbPage(cpu: Cpu, lin: number): void {
  cpu.tlb[lin >>> 12] = 0;
  cpu.code.forgetFetchPage();
  cpu.codeGen = (cpu.codeGen + 1) | 0;
  cpu.breakLoop();
}

