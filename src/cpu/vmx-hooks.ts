// The CPU's side of VMX (DESIGN.md: vmx/ plugs into the core by composition): the VMX instructions' entry point
// and the non-root intercepts the core calls. vmx/ implements this interface; the core knows nothing more of it.

import type { EventKind } from './interrupts.js';

/** The VMX instructions, as the opcode table dispatches them (SDM Vol. 3 chapter 30). */
export const enum VmxOp {
  Vmxon = 0,
  Vmxoff = 1,
  Vmclear = 2,
  Vmptrld = 3,
  Vmptrst = 4,
  Vmread = 5,
  Vmwrite = 6,
  Vmlaunch = 7,
  Vmresume = 8,
  Vmcall = 9,
  Invept = 10,
  Invvpid = 11,
}

/** I/O exit-qualification bits the core passes with an I/O instruction (SDM Vol. 3 table 28-5). */
export const enum IoFlags {
  In = 1 << 3,
  String = 1 << 4,
  Rep = 1 << 5,
  Immediate = 1 << 6,
}

/** Which control register access a MOV CR, CLTS, LMSW or SMSW is. */
export const enum CrAccess {
  MovTo = 0,
  MovFrom = 1,
  Clts = 2,
  Lmsw = 3,
}

/** Descriptor-table instructions (exit 46: bits 29:28 of the instruction information; exit 47 likewise). */
export const enum DtInstr {
  Sgdt = 0,
  Sidt = 1,
  Lgdt = 2,
  Lidt = 3,
  Sldt = 4,
  Str = 5,
  Lldt = 6,
  Ltr = 7,
}

/**
 * Installed on the CPU by the board when the processor has VMX (CPUID.1:ECX.VMX). Every method that may
 * cause a VM exit does it by switching the CPU to the host and throwing VMEXIT (cpu/fault.ts); a method
 * that returns lets the instruction proceed. Only `instruction` is called outside non-root operation.
 */
export interface VmxHooks {
  /** A VMX instruction at decode slot s: root-mode semantics, #UD outside VMX, or a VM exit in non-root. */
  instruction(op: VmxOp, s: number): void;

  // ---- non-root only (cpu.nonRoot) ----
  /** Events at an instruction boundary, in SDM priority order (MTF, preemption timer, NMI window, NMI,
   *  interrupt window, external interrupt exiting). True when a VM exit happened. */
  boundary(): boolean;
  /** After one instruction ran in single-step mode (monitor trap flag): `faulted` if it raised an exception. */
  afterStep(): void;
  /** Whether a halted guest can still be woken by something pending or scheduled (the board's dead-halt test). */
  wakeable(): boolean;
  /** CPUID, INVD (unconditional), HLT, RDTSC, WBINVD, PAUSE...: exits when its control says so. */
  simple(reason: number, s: number): void;
  invlpg(s: number, lin: number): void;
  /** MOV from CR0/CR4 (the read shadow), CR3 store exiting: returns the value the guest reads. */
  readCr(s: number, cr: number, value: number): number;
  /** MOV to CR0/3/4, CLTS, LMSW: exits, or returns the value to write (guest/host masks applied). */
  writeCr(s: number, cr: number, access: CrAccess, value: number): number;
  movDr(s: number, write: boolean): void;
  io(s: number, port: number, size: number, flags: number): void;
  msr(s: number, write: boolean): void;
  descriptorTable(s: number, instr: DtInstr): void;
  /** An event about to be delivered through the guest IDT: exits if the exception bitmap says so. */
  event(vector: number, kind: EventKind, hasError: boolean, error: number): void;
  /** A triple fault in the guest: always exits (reason 2). */
  tripleFault(): void;
  /** Processor reset (power-on): outside VMX operation, no current VMCS (SDM Vol. 3 table 10-1). */
  reset(): void;
}

/** Guest-physical to host-physical translation in non-root operation with EPT (vmx/ept.ts behind it). */
export interface GuestPhysical {
  /**
   * Returns the host-physical address for `gpa`, or performs the EPT-violation / misconfiguration VM exit.
   * access: 1 read, 2 write, 4 fetch; `walk` = the CPU's own guest paging-structure access; `lin` the linear
   * address being translated (for the exit's guest-linear address).
   */
  translate(gpa: number, access: number, walk: boolean, lin: number): number;
  /** After a successful translate: whether writes may skip the walk, and whether fetches are allowed. */
  readonly lastWritable: boolean;
}
