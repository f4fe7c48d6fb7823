// The non-root intercepts (SDM Vol. 3 chapter 26 "VMX non-root operation"; digest section 6): which guest
// instructions and events cause a VM exit under the controls decoded at entry, with their exit information.
// The exit itself is vm-exit.ts'; the CPU calls these through cpu/vmx-hooks.ts.

import { Reg } from '../cpu/registers.js';
import { NO_REG, RM_MEM, PFX_OPSIZE, Seg } from '../cpu/decoder.js';
import { VMEXIT } from '../cpu/fault.js';
import { Flag } from '../cpu/flags.js';
import { CrAccess, DtInstr, IoFlags } from '../cpu/vmx-hooks.js';
import { EventKind } from '../cpu/interrupts.js';
import { ExitReason, IntrInfo, IntrType, Pin, Proc, Proc2, ExitCtl } from './controls.js';
import { vmExit } from './vm-exit.js';
import type { Vmx } from './vmx-unit.js';

const PF = 14;
const DF = 8;
const NMI = 2;

/** Exits for the instruction at slot s, fault-like: the saved RIP is the instruction's (SDM 27.2 / 28.3.3). */
function exitForInstruction(vmx: Vmx, reason: number, s: number, qualification: number, guestLinear = 0): never {
  const cpu = vmx.cpu;
  const info = vmx.exitInfo.reset(cpu.instrEip);
  info.qualification = qualification;
  info.guestLinear = guestLinear;
  info.instructionLength = s >= 0 ? cpu.d.len[s] : 0;
  vmExit(vmx, reason);
  throw VMEXIT;
}

/**
 * VM-exit instruction information for an instruction with a ModRM operand (SDM 28.2.5, table "Format of the
 * VM-Exit Instruction-Information Field as Used for VMREAD and VMWRITE" and its siblings): scaling 1:0,
 * reg1 6:3, address size 9:7 (1 = 32-bit), register operand 10, operand size 12:11, segment 17:15, index
 * 21:18 (+ invalid 22), base 26:23 (+ invalid 27), reg2 31:28. Returns the displacement via vmx.exitInfo.
 */
function instructionInfo(vmx: Vmx, s: number): number {
  const cpu = vmx.cpu;
  const d = cpu.d;
  const opSize = (d.pfx[s] & PFX_OPSIZE) !== 0 ? 0 : 1;
  let v = (1 << 7) | (opSize << 11) | ((d.reg[s] & 0xf) << 28);
  if (d.rm[s] !== RM_MEM) {
    v |= ((d.rm[s] & 0xf) << 3) | (1 << 10) | (1 << 22) | (1 << 27);
    vmx.exitInfo.qualification = 0;
  } else {
    v |= d.scale[s] & 3;
    v |= (d.seg[s] & 7) << 15;
    v |= d.index[s] === NO_REG ? 1 << 22 : (d.index[s] & 0xf) << 18;
    v |= d.base[s] === NO_REG ? 1 << 27 : (d.base[s] & 0xf) << 23;
    vmx.exitInfo.qualification = d.disp[s];
  }
  return v | 0;
}

/** VMCALL and every VMX instruction in non-root operation exit unconditionally (SDM 26.1.2). */
export function vmxInstructionExit(vmx: Vmx, s: number, reason: number): never {
  const cpu = vmx.cpu;
  const info = vmx.exitInfo.reset(cpu.instrEip);
  info.instructionLength = cpu.d.len[s];
  // VMCALL, VMLAUNCH, VMRESUME, VMXOFF have no operand: instruction information is undefined (0 here).
  if (reason !== ExitReason.Vmcall && reason !== ExitReason.Vmlaunch && reason !== ExitReason.Vmresume && reason !== ExitReason.Vmxoff) {
    info.instructionInfo = instructionInfo(vmx, s);
  }
  vmExit(vmx, reason);
  throw VMEXIT;
}

/** CPUID/INVD (always), HLT, RDTSC, WBINVD (by control). */
export function simple(vmx: Vmx, reason: number, s: number): void {
  switch (reason) {
    case ExitReason.Hlt:
      if ((vmx.proc & Proc.HltExiting) === 0) return;
      break;
    case ExitReason.Rdtsc:
      if ((vmx.proc & Proc.RdtscExiting) === 0) return;
      break;
    case ExitReason.Wbinvd:
      if ((vmx.proc2 & Proc2.WbinvdExiting) === 0) return;
      break;
  }
  exitForInstruction(vmx, reason, s, 0);
}

export function invlpg(vmx: Vmx, s: number, lin: number): void {
  if ((vmx.proc & Proc.InvlpgExiting) !== 0) exitForInstruction(vmx, ExitReason.Invlpg, s, lin);
}

/** MOV from CR0/CR4 read the shadow for host-owned bits; MOV from CR3 may exit (SDM 26.3). s = -1: SMSW. */
export function readCr(vmx: Vmx, s: number, cr: number, value: number): number {
  if (cr === 0) return (value & ~vmx.cr0Mask) | (vmx.cr0Shadow & vmx.cr0Mask);
  if (cr === 4) return (value & ~vmx.cr4Mask) | (vmx.cr4Shadow & vmx.cr4Mask);
  if (cr === 3 && (vmx.proc & Proc.Cr3StoreExiting) !== 0) {
    exitForInstruction(vmx, ExitReason.CrAccess, s, 3 | (CrAccess.MovFrom << 4) | (vmx.cpu.d.rm[s] << 8));
  }
  return value;
}

/** MOV to CR0/CR3/CR4, CLTS, LMSW (SDM 26.1.3): exit, or the value the real register gets. */
export function writeCr(vmx: Vmx, s: number, cr: number, access: CrAccess, value: number): number {
  const cpu = vmx.cpu;
  if (access === CrAccess.Clts) {
    const tsOwned = (vmx.cr0Mask & 8) !== 0;
    if (tsOwned && (vmx.cr0Shadow & 8) !== 0) exitForInstruction(vmx, ExitReason.CrAccess, s, CrAccess.Clts << 4);
    return tsOwned ? cpu.cr0 : value;
  }
  if (access === CrAccess.Lmsw) {
    const src = value & 0xffff;
    const m = vmx.cr0Mask & 0xf;
    const sh = vmx.cr0Shadow & 0xf;
    if (((m & 1) !== 0 && (src & 1) !== 0 && (sh & 1) === 0) || ((src ^ sh) & m & 0xe) !== 0) {
      // A memory operand: bit 6, and its linear address in the guest-linear address field (SDM 28.2.1).
      const mem = cpu.d.rm[s] === RM_MEM;
      exitForInstruction(vmx, ExitReason.CrAccess, s, (CrAccess.Lmsw << 4) | (mem ? 1 << 6 : 0) | (src << 16), mem ? cpu.ea(s, 2, false) : 0);
    }
    // LMSW writes bits 3:1 and can set (never clear) bit 0, for the guest-owned bits only.
    let v = (cpu.cr0 & ~(0xe & ~m)) | (src & 0xe & ~m);
    if ((m & 1) === 0) v |= src & 1;
    return v;
  }
  const gpr = cpu.d.rm[s] << 8;
  if (cr === 0) {
    if (((value ^ vmx.cr0Shadow) & vmx.cr0Mask) !== 0) exitForInstruction(vmx, ExitReason.CrAccess, s, 0 | gpr);
    return (cpu.cr0 & vmx.cr0Mask) | (value & ~vmx.cr0Mask);
  }
  if (cr === 4) {
    if (((value ^ vmx.cr4Shadow) & vmx.cr4Mask) !== 0) exitForInstruction(vmx, ExitReason.CrAccess, s, 4 | gpr);
    return (cpu.cr4 & vmx.cr4Mask) | (value & ~vmx.cr4Mask);
  }
  if (cr === 3 && (vmx.proc & Proc.Cr3LoadExiting) !== 0) {
    // CR3-target values: a MOV to CR3 of one of the first N targets does not exit (SDM 26.1.3).
    for (let i = 0; i < vmx.cr3TargetCount && i < 4; i++) if (vmx.cr3Targets[i] === (value | 0)) return value;
    exitForInstruction(vmx, ExitReason.CrAccess, s, 3 | gpr);
  }
  return value;
}

export function movDr(vmx: Vmx, s: number, write: boolean): void {
  if ((vmx.proc & Proc.MovDrExiting) === 0) return;
  const d = vmx.cpu.d;
  exitForInstruction(vmx, ExitReason.MovDr, s, (d.reg[s] & 7) | (write ? 0 : 1 << 4) | (d.rm[s] << 8));
}

/** IN/OUT/INS/OUTS (SDM 26.1.3, digest 6.4): I/O bitmaps, else unconditional I/O exiting. */
export function io(vmx: Vmx, s: number, port: number, size: number, flags: number): void {
  const cpu = vmx.cpu;
  let exit: boolean;
  if ((vmx.proc & Proc.UseIoBitmaps) !== 0) {
    exit = port + size > 0x10000;
    for (let p = port; !exit && p < port + size; p++) {
      const bitmap = p < 0x8000 ? vmx.ioBitmapA : vmx.ioBitmapB;
      exit = ((cpu.memory.read(((bitmap + ((p & 0x7fff) >> 3)) >>> 0), 1) >>> (p & 7)) & 1) !== 0;
    }
  } else {
    exit = (vmx.proc & Proc.UnconditionalIoExiting) !== 0;
  }
  if (!exit) return;
  const info = vmx.exitInfo.reset(cpu.instrEip);
  info.qualification = (size - 1) | flags | (port << 16);
  info.instructionLength = cpu.d.len[s];
  if ((flags & IoFlags.String) !== 0) {
    // INS writes ES:EDI, OUTS reads seg:ESI; IA32_VMX_BASIC[54] = 1, so the instruction information holds the
    // address size (32-bit) and, for OUTS, the segment (SDM 28.2.5).
    const isIn = (flags & IoFlags.In) !== 0;
    const seg = isIn ? Seg.ES : cpu.d.seg[s];
    info.guestLinear = (cpu.segBase[seg] + cpu.reg32[isIn ? Reg.EDI : Reg.ESI]) | 0;
    info.instructionInfo = (1 << 7) | (isIn ? 0 : seg << 15);
  }
  vmExit(vmx, ExitReason.IoInstruction);
  throw VMEXIT;
}

/** RDMSR/WRMSR (SDM 26.1.3, digest 6.5): MSR bitmaps, where MSRs outside both ranges always exit. */
export function msr(vmx: Vmx, s: number, write: boolean): void {
  const cpu = vmx.cpu;
  let exit = true;
  if ((vmx.proc & Proc.UseMsrBitmaps) !== 0) {
    const ecx = cpu.reg32[Reg.ECX] >>> 0;
    let offset = -1;
    if (ecx <= 0x1fff) offset = (write ? 0x800 : 0) + (ecx >>> 3);
    else if (ecx >= 0xc0000000 && ecx <= 0xc0001fff) offset = (write ? 0xc00 : 0x400) + ((ecx - 0xc0000000) >>> 3);
    if (offset >= 0) exit = ((cpu.memory.read((vmx.msrBitmap + offset) >>> 0, 1) >>> (ecx & 7)) & 1) !== 0;
  }
  if (exit) exitForInstruction(vmx, write ? ExitReason.Wrmsr : ExitReason.Rdmsr, s, 0);
}

/** LGDT/LIDT/SGDT/SIDT (exit 46), LLDT/LTR/SLDT/STR (exit 47) with descriptor-table exiting (SDM 26.1.3). */
export function descriptorTable(vmx: Vmx, s: number, instr: DtInstr): void {
  if ((vmx.proc2 & Proc2.DescriptorTableExiting) === 0) return;
  const cpu = vmx.cpu;
  const info = vmx.exitInfo.reset(cpu.instrEip);
  info.instructionLength = cpu.d.len[s];
  // Bits 31:28 carry the instruction identity (29:28) instead of reg2.
  info.instructionInfo = (instructionInfo(vmx, s) & 0x0fffffff) | ((instr & 3) << 28);
  vmExit(vmx, instr < DtInstr.Sldt ? ExitReason.GdtrIdtrAccess : ExitReason.LdtrTrAccess);
  throw VMEXIT;
}

/**
 * An exception about to be delivered through the guest IDT (SDM 26.2): the exception bitmap decides, with the
 * #PF error-code mask/match rule. INT n never exits this way; INT3/INTO (type 6) and INT1 (type 5) do.
 */
export function event(vmx: Vmx, vector: number, type: EventKind, hasError: boolean, error: number): void {
  if (type !== EventKind.Exception && type !== EventKind.SoftwareException && type !== EventKind.PrivilegedSoftware) return;
  if (vmx.injecting) return; // an injected event is delivered, never intercepted (SDM 27.6.1)
  let exit = ((vmx.exceptionBitmap >>> vector) & 1) !== 0;
  if (vector === PF) exit = exit === ((error & vmx.pfMask) === vmx.pfMatch);
  if (!exit) return;
  const cpu = vmx.cpu;
  const software = type !== EventKind.Exception;
  const info = vmx.exitInfo.reset(software ? cpu.instrEip : cpu.eip);
  info.interruptionInfo = (vector | (type << 8) | (hasError ? IntrInfo.ErrorCodeValid : 0) | IntrInfo.Valid) | 0;
  if (vector !== DF) info.interruptionInfo |= nmiUnblockingIret(cpu);
  info.interruptionError = hasError ? error : 0;
  if (software) info.instructionLength = (cpu.eip - cpu.instrEip) | 0;
  if (vector === PF) {
    // A #PF that exits leaves CR2 alone; the linear address is the qualification (SDM 28.1).
    info.qualification = cpu.cr2;
    cpu.cr2 = cpu.cr2Before;
  } else if (vector === 1) {
    // The qualification gets this #DB's B3-B0, BD and BS; DR6 is left as it was (SDM 28.1, 28.2.1).
    info.qualification = cpu.dr6 & ~cpu.dr6Before & 0x600f;
    cpu.dr6 = cpu.dr6Before;
  }
  info.vectoring = vector !== DF;
  vmExit(vmx, ExitReason.ExceptionOrNmi);
  throw VMEXIT;
}

export function tripleFault(vmx: Vmx): void {
  const info = vmx.exitInfo.reset(vmx.cpu.eip);
  info.vectoring = false;
  vmExit(vmx, ExitReason.TripleFault);
  throw VMEXIT;
}

/**
 * EPT violation (48) or misconfiguration (49): fault-like (SDM 28.2.1). The saved RIP is instrEip also during
 * event delivery: the instruction for an INT n / INT3 / INTO being delivered (so that re-injecting it with the
 * exit's instruction length pushes the right return address), the return address for any other event.
 */
export function eptExit(vmx: Vmx, misconfig: boolean, qualification: number, gpa: number, lin: number): void {
  const cpu = vmx.cpu;
  const info = vmx.exitInfo.reset(cpu.instrEip);
  info.guestPhysical = gpa;
  if (!misconfig) {
    info.qualification = qualification | nmiUnblockingIret(cpu);
    info.guestLinear = lin;
  }
  vmExit(vmx, misconfig ? ExitReason.EptMisconfig : ExitReason.EptViolation);
}

/**
 * Bit 12 of the exit interruption information (exception exits) and of the EPT-violation qualification: the exit
 * is for a fault on an IRET that ended (virtual-)NMI blocking (SDM 28.2.3). Undefined, and left 0, for an exit
 * during event delivery (IDT-vectoring information valid) and for #DF; IRET unblocks nothing with NMI exiting
 * and no virtual NMIs (cpu.iretKeepsNmiBlocking), where the bit is undefined too.
 */
function nmiUnblockingIret(cpu: Vmx['cpu']): number {
  return cpu.iretUnblockedNmi && cpu.delivering === 0 ? IntrInfo.NmiUnblockingIret : 0;
}

/**
 * Events at an instruction boundary in non-root operation, in SDM priority order (Vol. 3 6.9 and 26.7):
 * pending MTF, VMX-preemption timer, NMI window, NMI (NMI exiting), interrupt window, external interrupt
 * (external-interrupt exiting: RFLAGS.IF does not block it). Returns true when a VM exit happened; false
 * lets the CPU deliver pending events through the guest IDT as usual.
 */
export function boundary(vmx: Vmx): boolean {
  const cpu = vmx.cpu;
  const info = vmx.exitInfo;
  if (vmx.pendingMtf) {
    info.reset(cpu.eip);
    vmExit(vmx, ExitReason.MonitorTrapFlag);
    return true;
  }
  if (vmx.timerDeadline <= cpu.now()) {
    info.reset(cpu.eip);
    vmExit(vmx, ExitReason.PreemptionTimer);
    return true;
  }
  const movSs = cpu.shadow === 2;
  if ((vmx.proc & Proc.NmiWindowExiting) !== 0 && !cpu.nmiBlocked && !movSs) {
    info.reset(cpu.eip);
    vmExit(vmx, ExitReason.NmiWindow);
    return true;
  }
  if (cpu.nmiPending && (vmx.pin & Pin.NmiExiting) !== 0 && !movSs && ((vmx.pin & Pin.VirtualNmis) !== 0 || !cpu.nmiBlocked)) {
    cpu.nmiPending = false;
    info.reset(cpu.eip).interruptionInfo = (NMI | (IntrType.Nmi << 8) | IntrInfo.Valid) | 0;
    vmExit(vmx, ExitReason.ExceptionOrNmi);
    return true;
  }
  if ((vmx.proc & Proc.InterruptWindowExiting) !== 0 && (cpu.flags & Flag.IF) !== 0 && cpu.shadow === 0) {
    info.reset(cpu.eip);
    vmExit(vmx, ExitReason.InterruptWindow);
    return true;
  }
  if ((vmx.pin & Pin.ExternalInterruptExiting) !== 0 && cpu.shadow === 0 && cpu.intc !== null && cpu.intc.hasInterrupt()) {
    info.reset(cpu.eip);
    if ((vmx.exitCtl & ExitCtl.AckInterruptOnExit) !== 0) {
      cpu.scheduler.now = cpu.now();
      info.interruptionInfo = (cpu.intc.acknowledge() | (IntrType.External << 8) | IntrInfo.Valid) | 0;
    }
    vmExit(vmx, ExitReason.ExternalInterrupt);
    return true;
  }
  return false;
}

/** After one instruction with the monitor trap flag: exit 37, trap-like (SDM 26.5.2). */
export function afterStep(vmx: Vmx): void {
  if ((vmx.proc & Proc.MonitorTrapFlag) === 0) return;
  vmx.exitInfo.reset(vmx.cpu.eip);
  vmExit(vmx, ExitReason.MonitorTrapFlag);
}
