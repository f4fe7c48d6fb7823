// Test helper: a VMX test bench driven through the typed API (src/vmx/vmx-unit.ts). It owns a small machine
// (RAM, ports, scheduler, CPU with VMX), a guest with a flat GDT and a recording IDT behind EPT, and a VMCS
// that passes every entry check; tests change controls, run the guest to its next VM exit and read the exit.
//
//   const b = vmxBench('cpuid\nhlt');
//   const e = b.run();                  // { reason: 10, qualification: 0, rip: GUEST_CODE, length: 2, ... }
//
// Guest-physical layout (identity-mapped by EPT, 2 MiB pages, first 16 MiB):
//   GUEST_GDT  null, flat code 0x08, flat data 0x10, TSS 0x18
//   GUEST_IDT  32 interrupt gates (+ vector 0x40, 0x80); gate v points at STUB_BASE + v, a one-byte `hlt`
//   GUEST_CODE the guest's instructions; GUEST_DATA free; GUEST_STACK initial ESP
// Host-only memory (not mapped by EPT): VMXON region, VMCS, bitmaps, EPT tables from 16 MiB up.

import { PortBus } from '../../src/core/bus.js';
import { PhysicalMemory } from '../../src/core/physical-memory.js';
import { Scheduler } from '../../src/core/scheduler.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { assemble } from '../../src/asm/index.js';
import { Vmx, type VmxResult } from '../../src/vmx/vmx-unit.js';
import { EptBuilder } from '../../src/vmx/ept.js';
import { VmcsField as F, GUEST_SEGMENT_FIELDS } from '../../src/vmx/vmcs-fields.js';
import { TRUE_ENTRY_CTLS, TRUE_EXIT_CTLS, TRUE_PIN_CTLS, TRUE_PROC_CTLS, VMCS_REVISION } from '../../src/vmx/capabilities.js';
import { Proc, Proc2 } from '../../src/vmx/controls.js';
import type { CpuStop } from '../../src/cpu/cpu.js';
import type { InterruptController } from '../../src/core/irq.js';
import type { BusDevice } from '../../src/core/bus.js';

export const GUEST_GDT = 0x800;
export const GUEST_IDT = 0x1000;
export const STUB_BASE = 0x1800;
export const GUEST_TSS = 0x1c00;
export const GUEST_CODE = 0x10000;
export const GUEST_DATA = 0x20000;
export const GUEST_STACK = 0x90000;
export const GUEST_RAM = 16 << 20;
export const VMXON_REGION = 0x1000000;
export const VMCS_REGION = 0x1001000;
export const IO_BITMAP_A = 0x1002000;
export const IO_BITMAP_B = 0x1003000;
export const MSR_BITMAP = 0x1004000;
const EPT_POOL = 0x1100000;
/** Guest 32-bit paging (guestPaging): a page directory and one page table identity-mapping 0-4 MiB. */
export const GUEST_PD = 0x30000;
export const GUEST_PT = 0x31000;
/** Host-only: the VM-entry / VM-exit MSR areas tests may fill, root-mode code, its page directory and GDT. */
export const MSR_AREA = 0x1005000;
export const HOST_CODE = 0x1010000;
export const HOST_STACK = 0x1020000;
const HOST_PD = 0x1006000;
const HOST_GDT = 0x1007000;

/** A fake interrupt controller: vectors requested by the test, acknowledged in order (core/irq.ts contract). */
export class TestInterruptController implements InterruptController {
  readonly pending: number[] = [];
  readonly acknowledged: number[] = [];

  hasInterrupt(): boolean {
    return this.pending.length > 0;
  }

  acknowledge(): number {
    const v = this.pending.shift();
    if (v === undefined) throw new Error('INTA with no interrupt requested');
    this.acknowledged.push(v);
    return v;
  }
}

/** A port device that records accesses (to see that a non-exiting I/O instruction reached the bus). */
export class RecordingPorts implements BusDevice {
  readonly name = 'recording-ports';
  readonly log: { offset: number; size: number; write: boolean; value: number }[] = [];
  readValue = 0x5a5a5a5a;

  read(offset: number, size: 1 | 2 | 4): number {
    const v = size === 4 ? this.readValue >>> 0 : this.readValue & (size === 2 ? 0xffff : 0xff);
    this.log.push({ offset, size, write: false, value: v });
    return v;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    this.log.push({ offset, size, write: true, value });
  }

  peek(): number {
    return this.readValue;
  }
}

export interface ExitView {
  stop: CpuStop;
  reason: number;
  qualification: number;
  rip: number;
  length: number;
  info: number;
  interruptionInfo: number;
  interruptionError: number;
  idtVectoring: number;
  idtVectoringError: number;
  guestLinear: number;
  guestPhysical: number;
}

export class VmxBench {
  readonly memory = new PhysicalMemory(32 << 20);
  readonly ports = new PortBus();
  readonly scheduler = new Scheduler();
  readonly cpu: Cpu;
  readonly vmx: Vmx;
  readonly ept: EptBuilder;
  private nextPage = EPT_POOL;
  launched = false;
  /** The CPU's interrupt controller (nothing requested until a test asks). */
  readonly intc = new TestInterruptController();

  constructor(
    code: Uint8Array,
    readonly symbols: ReadonlyMap<string, number> = new Map(),
  ) {
    this.cpu = new Cpu({ memory: this.memory, ports: this.ports, scheduler: this.scheduler });
    this.vmx = Vmx.install(this.cpu);
    this.cpu.intc = this.intc;
    this.ept = new EptBuilder(this.memory, () => {
      const p = this.nextPage;
      this.nextPage += 0x1000;
      this.memory.fill(p, 0x1000, 0);
      return p;
    });
    for (let gpa = 0; gpa < GUEST_RAM; gpa += 0x200000) this.ept.map2m(gpa, gpa, 7);
    this.buildGuestTables();
    this.memory.writeBytes(GUEST_CODE, code);
    // The "host" is TypeScript: the root-mode CPU state only has to satisfy VMXON (PE, NE, PG, VMXE).
    const cpu = this.cpu;
    cpu.cr0 = 0x80000031 | 0;
    cpu.cr4 = 0x2000;
    this.vmx.enableInFeatureControl();
    this.memory.write(VMXON_REGION, 4, VMCS_REVISION);
    this.memory.write(VMCS_REGION, 4, VMCS_REVISION);
    expectOk(this.vmx.apiVmxon(VMXON_REGION), 'VMXON');
    expectOk(this.vmx.apiVmclear(VMCS_REGION), 'VMCLEAR');
    expectOk(this.vmx.apiVmptrld(VMCS_REGION), 'VMPTRLD');
    this.defaultVmcs();
  }

  private buildGuestTables(): void {
    const m = this.memory;
    // GDT: null, code, data, 32-bit TSS.
    m.write(GUEST_GDT + 8, 4, 0x0000ffff);
    m.write(GUEST_GDT + 12, 4, 0x00cf9b00);
    m.write(GUEST_GDT + 16, 4, 0x0000ffff);
    m.write(GUEST_GDT + 20, 4, 0x00cf9300);
    m.write(GUEST_GDT + 24, 4, ((GUEST_TSS & 0xffff) << 16) | 0x67);
    m.write(GUEST_GDT + 28, 4, (GUEST_TSS & 0xff000000) | 0x8b00 | ((GUEST_TSS >>> 16) & 0xff));
    for (let v = 0; v < 256; v++) {
      const target = STUB_BASE + v;
      m.write(GUEST_IDT + v * 8, 4, (0x08 << 16) | (target & 0xffff));
      m.write(GUEST_IDT + v * 8 + 4, 4, (target & 0xffff0000) | 0x8e00);
    }
    m.fill(STUB_BASE, 256, 0xf4); // hlt
  }

  /** A guest in flat 32-bit protected mode, paging off (unrestricted guest + EPT), CPL 0, IF = 0. */
  private defaultVmcs(): void {
    const w = (f: number, v: number): void => this.write(f, v);
    w(F.PinControls, TRUE_PIN_CTLS.allowed0);
    w(F.ProcControls, TRUE_PROC_CTLS.allowed0 | Proc.SecondaryControls);
    w(F.ProcControls2, Proc2.EnableEpt | Proc2.UnrestrictedGuest);
    w(F.ExitControls, TRUE_EXIT_CTLS.allowed0);
    w(F.EntryControls, TRUE_ENTRY_CTLS.allowed0);
    w(F.EptPointer, this.ept.eptpLo(false));
    w(F.IoBitmapA, IO_BITMAP_A);
    w(F.IoBitmapB, IO_BITMAP_B);
    w(F.MsrBitmap, MSR_BITMAP);
    w(F.VmcsLinkPointer, -1);
    w(F.VmcsLinkPointer + 1, -1);
    // Host (TypeScript): flat selectors, paging on; nothing runs there.
    w(F.HostCr0, 0x80000031 | 0);
    w(F.HostCr4, 0x2000);
    w(F.HostCsSelector, 0x08);
    for (const f of [F.HostEsSelector, F.HostSsSelector, F.HostDsSelector, F.HostFsSelector, F.HostGsSelector]) w(f, 0x10);
    w(F.HostTrSelector, 0x18);
    // Guest.
    w(F.GuestCr0, 0x31);
    w(F.GuestCr4, 0x2000);
    w(F.Cr4GuestHostMask, 0x2000); // the guest sees CR4.VMXE = 0
    w(F.Cr0GuestHostMask, 0x20); // and CR0.NE as it set it
    w(F.Cr0ReadShadow, 0x11);
    w(F.GuestDr7, 0x400);
    const seg = (i: number, sel: number, base: number, limit: number, ar: number): void => {
      const f = GUEST_SEGMENT_FIELDS[i];
      w(f.selector, sel);
      w(f.base, base);
      w(f.limit, limit);
      w(f.ar, ar);
    };
    seg(1, 0x08, 0, -1, 0xc09b);
    for (const i of [0, 2, 3, 4, 5]) seg(i, 0x10, 0, -1, 0xc093);
    seg(6, 0, 0, 0, 0x10000);
    seg(7, 0x18, GUEST_TSS, 0x67, 0x8b);
    w(F.GuestGdtrBase, GUEST_GDT);
    w(F.GuestGdtrLimit, 0x1f);
    w(F.GuestIdtrBase, GUEST_IDT);
    w(F.GuestIdtrLimit, 0x7ff);
    w(F.GuestRsp, GUEST_STACK);
    w(F.GuestRip, GUEST_CODE);
    w(F.GuestRflags, 0x2);
  }

  write(field: number, value: number): void {
    const r = this.vmx.apiVmwrite(field, value);
    if (r.status !== 'succeed') throw new Error(`VMWRITE ${field.toString(16)}: ${r.status} ${r.error}`);
  }

  read(field: number): number {
    const v = this.vmx.vmread(field);
    if (v === null) throw new Error(`VMREAD ${field.toString(16)} failed`);
    return v;
  }

  /** Sets bits in a control field. */
  set(field: number, bits: number): this {
    this.write(field, this.read(field) | bits);
    return this;
  }

  clear(field: number, bits: number): this {
    this.write(field, this.read(field) & ~bits);
    return this;
  }

  /** Enters the guest (VMLAUNCH the first time, VMRESUME after). */
  enter(): VmxResult {
    const r = this.launched ? this.vmx.apiVmresume() : this.vmx.apiVmlaunch();
    if (r.status === 'succeed') this.launched = true;
    return r;
  }

  /** Enters and runs the guest until a VM exit (or the cycle budget); returns the exit. */
  run(maxCycles = 1_000_000): ExitView {
    const r = this.enter();
    if (r.status !== 'succeed') throw new Error(`VM entry: ${r.status} ${r.error} ${r.check ?? ''}`);
    return this.resume(maxCycles);
  }

  /** Runs the CPU (already in the guest) until a VM exit, a halt with nothing to wake it, or the budget. */
  resume(maxCycles = 1_000_000): ExitView {
    const until = this.scheduler.now + maxCycles;
    let stop: CpuStop;
    for (;;) {
      stop = this.cpu.run(Math.min(until, this.scheduler.nextDeadline()));
      this.scheduler.runDue();
      if (stop === 'vmexit' || stop === 'shutdown' || stop === 'stop' || this.scheduler.now >= until) break;
      if (stop === 'halt') {
        const next = this.scheduler.nextDeadline();
        if (next === Infinity || next > until) break;
        this.scheduler.now = next;
        this.scheduler.runDue();
      }
    }
    return this.exitView(stop);
  }

  exitView(stop: CpuStop): ExitView {
    return {
      stop,
      reason: this.read(F.ExitReason),
      qualification: this.read(F.ExitQualification),
      rip: this.read(F.GuestRip),
      length: this.read(F.ExitInstructionLength),
      info: this.read(F.ExitInstructionInfo),
      interruptionInfo: this.read(F.ExitInterruptionInfo),
      interruptionError: this.read(F.ExitInterruptionErrorCode),
      idtVectoring: this.read(F.IdtVectoringInfo),
      idtVectoringError: this.read(F.IdtVectoringErrorCode),
      guestLinear: this.read(F.GuestLinearAddress),
      guestPhysical: this.read(F.GuestPhysicalAddress),
    };
  }

  /** Skips the exiting instruction (what a VMM does after emulating it) and resumes. */
  skip(): this {
    this.write(F.GuestRip, (this.read(F.GuestRip) + this.read(F.ExitInstructionLength)) | 0);
    return this;
  }

  /** The address of label `name` in the guest source. */
  sym(name: string): number {
    const v = this.symbols.get(name);
    if (v === undefined) throw new Error(`no label ${name}`);
    return v;
  }

  /** Writes a 64-bit field (FULL then HIGH). */
  write64(field: number, lo: number, hi: number): void {
    this.write(field, lo);
    this.write(field + 1, hi);
  }

  // ---- events

  /** Requests external interrupt `vector` now, or when the clock reaches `atCycle`. */
  interrupt(vector: number, atCycle?: number): void {
    if (atCycle === undefined) {
      this.intc.pending.push(vector);
      this.cpu.breakLoop();
      return;
    }
    const t = this.scheduler.createTimer('test-irq-at', () => {
      this.intc.pending.push(vector);
      this.cpu.breakLoop();
    });
    t.armAt(atCycle);
  }

  /** Raises the NMI pin now, or when the clock reaches `atCycle`. */
  nmi(atCycle?: number): void {
    if (atCycle === undefined) {
      this.cpu.raiseNmi();
      return;
    }
    this.scheduler.createTimer('test-nmi-at', () => this.cpu.raiseNmi()).armAt(atCycle);
  }

  // ---- bitmaps

  /** Sets (or clears) the bit for `port` in I/O bitmap A (0000-7FFF) or B (8000-FFFF). */
  ioBit(port: number, on = true): this {
    const at = (port < 0x8000 ? IO_BITMAP_A : IO_BITMAP_B) + ((port & 0x7fff) >>> 3);
    const v = this.memory.read(at, 1);
    this.memory.write(at, 1, on ? v | (1 << (port & 7)) : v & ~(1 << (port & 7)));
    return this;
  }

  /**
   * Sets (or clears) the MSR-bitmap bit of `msr` (SDM Vol. 3 24.6.9): read bitmap low 000-3FF, high 400-7FF,
   * write bitmap low 800-BFF, high C00-FFF.
   */
  msrBit(msr: number, write: boolean, on = true): this {
    const high = msr >>> 0 >= 0xc0000000;
    const index = high ? (msr >>> 0) - 0xc0000000 : msr;
    if (index < 0 || index > 0x1fff) throw new RangeError(`MSR ${msr.toString(16)} is outside both bitmap ranges`);
    const at = MSR_BITMAP + (write ? 0x800 : 0) + (high ? 0x400 : 0) + (index >>> 3);
    const v = this.memory.read(at, 1);
    this.memory.write(at, 1, on ? v | (1 << (index & 7)) : v & ~(1 << (index & 7)));
    return this;
  }

  // ---- guest paging and EPT

  /**
   * Turns on 32-bit paging in the guest: a page directory at GUEST_PD whose first entry points at a page
   * table (GUEST_PT) identity-mapping 0-4 MiB with 4 KiB pages, present and writable, supervisor.
   */
  guestPaging(): this {
    this.memory.fill(GUEST_PD, 0x1000, 0);
    this.memory.write(GUEST_PD, 4, GUEST_PT | 3);
    for (let i = 0; i < 1024; i++) this.memory.write(GUEST_PT + i * 4, 4, (i << 12) | 3);
    this.write(F.GuestCr0, this.read(F.GuestCr0) | 0x80000001);
    this.write(F.GuestCr3, GUEST_PD);
    return this;
  }

  /** The guest PTE (a GPA) that maps linear address `lin` (below 4 MiB) under guestPaging. */
  guestPte(lin: number): number {
    return GUEST_PT + ((lin >>> 12) & 0x3ff) * 4;
  }

  /** Sets the guest PTE of `lin` (flags in bits 11:0, frame = identity unless given). */
  setGuestPte(lin: number, flags: number, frame = lin & ~0xfff): this {
    this.memory.write(this.guestPte(lin), 4, (frame & ~0xfff) | (flags & 0xfff));
    return this;
  }

  /**
   * Gives the EPT mapping of the 4 KiB page at `gpa` permissions `perms` (bits 2:0; 0 = not present) and
   * memory type `memType`, splitting its 2 MiB page into identity-mapped 4 KiB pages (RWX) first. Invalidates
   * the EPT TLB (INVEPT all-context) so that a change between exits takes effect.
   */
  ept4k(gpa: number, perms: number, memType = 6): this {
    const base = gpa & ~0x1fffff;
    const pde = this.ept.entryAddress(base, 2);
    if (pde >= 0 && (this.memory.read(pde, 4) & 0x80) !== 0) {
      this.ept.unmap(base);
      for (let p = base; p < base + 0x200000; p += 0x1000) this.ept.map4k(p, p, 7);
    }
    this.ept.map4k(gpa & ~0xfff, gpa & ~0xfff, perms, memType);
    this.vmx.apiInvept(2, 0);
    return this;
  }

  // ---- guest memory

  /** `count` dwords of guest memory from GPA `at` (identity EPT). */
  dwords(at: number, count: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(this.memory.read(at + 4 * i, 4) >>> 0);
    return out;
  }

  /** The dwords on top of the guest stack at the last exit (saved RSP): e.g. an event's EIP, CS, EFLAGS. */
  stack(count: number): number[] {
    return this.dwords(this.read(F.GuestRsp) >>> 0, count);
  }

  // ---- root-mode code

  /**
   * Runs `source` (BITS 32, ORG HOST_CODE) in VMX root operation, flat segments, paging on through 4 MiB
   * identity pages, CPL 0, until it executes HLT. For the VMX instructions' flag conventions as machine code
   * sees them. Returns the CPU stop reason.
   */
  runRoot(source: string, maxCycles = 100_000): CpuStop {
    const r = assemble(`bits 32\norg 0x${HOST_CODE.toString(16)}\n${source}\n`, { fileName: 'vmx-root.asm' });
    if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}: ${e.message}`).join('\n'));
    this.memory.writeBytes(HOST_CODE, r.bytes);
    const m = this.memory;
    for (let i = 0; i < 8; i++) m.write(HOST_PD + 4 * i, 4, ((i << 22) | 0x83) >>> 0); // 4 MiB, P RW PS
    m.write(HOST_GDT + 8, 4, 0x0000ffff);
    m.write(HOST_GDT + 12, 4, 0x00cf9b00);
    m.write(HOST_GDT + 16, 4, 0x0000ffff);
    m.write(HOST_GDT + 20, 4, 0x00cf9300);
    const cpu = this.cpu;
    cpu.cr4 |= 0x10; // PSE
    cpu.cr3 = HOST_PD;
    cpu.gdtBase = HOST_GDT;
    cpu.gdtLimit = 0x17;
    for (let s = 0; s < 6; s++) {
      cpu.segSel[s] = s === 1 ? 0x08 : 0x10;
      cpu.segBase[s] = 0;
      cpu.segLimit[s] = -1;
      cpu.segAr[s] = s === 1 ? 0xc09b : 0xc093;
    }
    cpu.cpl = 0;
    cpu.updateSegChecks();
    cpu.flushTlb();
    cpu.reg32[4] = HOST_STACK;
    cpu.eip = HOST_CODE;
    cpu.halted = false;
    return cpu.run(this.scheduler.now + maxCycles);
  }
}

function expectOk(r: VmxResult, what: string): void {
  if (r.status !== 'succeed') throw new Error(`${what}: ${r.status} ${r.error} ${r.check ?? ''}`);
}

/** Assembles `source` (BITS 32, ORG GUEST_CODE) and builds a bench with it. */
export function vmxBench(source: string): VmxBench {
  const r = assemble(`bits 32\norg 0x${GUEST_CODE.toString(16)}\n${source}\n`, { fileName: 'vmx-test.asm' });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}: ${e.message}`).join('\n'));
  return new VmxBench(r.bytes, r.symbols);
}
